"""``make test`` (or ``make demo``) from a fresh clone, as CI runs it: the wall time, the
environment's installation included, appended to ``benchmarks/results/fresh_clone.csv``.

    python benchmarks/fresh_clone.py test [--repo .] [--keep]

It clones the repository's committed HEAD into a temporary folder (uncommitted changes are not
timed), with ``NNENC_CACHE`` an empty folder of its own, so nothing built before is reused.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis.speed import record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["test", "demo"])
    parser.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--keep", action="store_true", help="leave the clone for a look")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nnenc-fresh-"))
    clone = folder / "nnenc"
    subprocess.run(["git", "clone", "--quiet", args.repo, str(clone)], check=True)
    env = {**os.environ, "NNENC_CACHE": str(folder / "cache")}
    start = time.perf_counter()
    done = subprocess.run(["make", args.target], cwd=clone, env=env)
    wall = time.perf_counter() - start
    print(f"make {args.target} from a fresh clone: {wall:.0f} s, exit {done.returncode}")
    if done.returncode == 0:
        record(
            "fresh_clone",
            {f"make {args.target} from a fresh clone, wall time": (wall, "s")},
            threads=os.cpu_count() or 1,
            precision="auto",
            command=f"python benchmarks/fresh_clone.py {args.target}",
        )
    if not args.keep:
        subprocess.run(["rm", "-rf", str(folder)], check=False)
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
