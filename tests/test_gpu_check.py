"""``benchmarks/gpu_check.sh slim`` / ``unslim``: ``results/`` leaves the index for a device call
(what the device tool sends: tracked files and untracked ones git does not ignore) and comes
back as in HEAD. Run on a scratch git repository holding a copy of the script."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def check(repo: Path, verb: str) -> subprocess.CompletedProcess:
    script = repo / "benchmarks" / "gpu_check.sh"
    return subprocess.run(["bash", str(script), verb], capture_output=True, text=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository like ours: a .gitignore that re-includes results/full/, results tracked."""
    git(tmp_path, "init", "-q")
    (tmp_path / "benchmarks").mkdir()
    shutil.copy(SCRIPT, tmp_path / "benchmarks" / "gpu_check.sh")
    (tmp_path / ".gitignore").write_text("results/*\n!results/full/\n")
    (tmp_path / "results" / "full").mkdir(parents=True)
    (tmp_path / "results" / "full" / "table.csv").write_text("a,b\n1,2\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "start")
    return tmp_path


def sent(repo: Path) -> set[str]:
    """What the device tool would send: tracked files and untracked ones git does not ignore."""
    return set(git(repo, "ls-files", "--cached", "--others", "--exclude-standard").split())


def test_slim_leaves_results_on_disk_but_out_of_what_is_sent_and_unslim_restores_it(repo):
    assert "results/full/table.csv" in sent(repo)
    assert check(repo, "slim").returncode == 0
    assert "results/full/table.csv" not in sent(repo)  # the !results/full/ rule does not revive it
    assert (repo / "results" / "full" / "table.csv").read_text() == "a,b\n1,2\n"
    assert "code.py" in sent(repo)
    done = check(repo, "unslim")
    assert done.returncode == 0, done.stderr
    assert "results/full/table.csv" in sent(repo)
    assert git(repo, "status", "--porcelain") == ""
    assert "/results/" not in (repo / ".git" / "info" / "exclude").read_text().splitlines()


def test_slim_refuses_while_results_has_uncommitted_changes(repo):
    (repo / "results" / "full" / "table.csv").write_text("a,b\n3,4\n")
    refused = check(repo, "slim")
    assert refused.returncode == 1
    assert "uncommitted changes" in refused.stderr
    assert "results/full/table.csv" in git(repo, "ls-files")


def test_slim_twice_says_it_is_already_slim_and_unslim_still_restores(repo):
    assert check(repo, "slim").returncode == 0
    again = check(repo, "slim")
    assert again.returncode == 0, again.stderr
    assert "already out of the index" in again.stdout
    assert check(repo, "unslim").returncode == 0
    assert git(repo, "status", "--porcelain") == ""
