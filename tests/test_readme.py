"""The README's Python examples run as they stand (in order, in a fresh folder)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_examples_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "the README has no Python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert (tmp_path / "example-model" / "weights.safetensors").is_file()


def test_every_test_the_guarantees_name_exists():
    """The README's "What nnenc guarantees" table names its tests: each must be in tests/."""
    section = README.read_text().split("## What nnenc guarantees", 1)[1].split("\n## ", 1)[0]
    named = []
    for cell in re.findall(r"^\|.*\| (`.*`) \|$", section, flags=re.MULTILINE):
        file = None
        for ref in re.findall(r"`([^`]+)`", cell):
            module, _, test = ref.rpartition("::")
            file = module or file
            named.append((file, test))
    assert len(named) >= 10
    tests = README.parent / "tests"
    missing = [f"{f}::{t}" for f, t in named if f"def {t}(" not in (tests / f).read_text()]
    assert not missing, missing
