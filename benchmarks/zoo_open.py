"""Benchmark: opening a zoo of the published Small CNN Zoo size does not read it into memory.

Makes (once, then reuses) a synthetic zoo of 270,000 x 4,970 float32 rows (5.4 GB) in the
published layout under ``bench-data/`` (git-ignored, never committed), then, in a fresh process
for each measurement, reports:

- peak RSS and wall time to ``nnenc.load_zoo`` it (memory-mapped weights + metrics table);
- wall time and peak RSS to read 1,000 random rows (PyTorch order) and to build 1,000
  ``NetworkParams``;
- wall time and peak RSS of the full scan for non-finite rows (what ``nnenc zoo info`` does).

Page cache: with ``--drop-caches`` (root only) the OS cache is dropped before each measurement,
so reads come from disk; otherwise the figures are for a warm cache, as the output says.

    python benchmarks/zoo_open.py [--data bench-data] [--drop-caches]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from analysis.speed import record

RUNS, STEPS = 30_000, 9  # 270,000 rows, as the published zoos

MEASURE = r"""
import json, sys, time
import numpy as np

def rss_mb():
    # VmHWM: this process's peak resident set. (ru_maxrss would carry the parent's peak
    # over fork/exec on Linux.)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

import nnenc  # imports (torch, pandas) are counted before the clock starts
base = rss_mb()
start = time.perf_counter()
zoo = nnenc.load_zoo(sys.argv[1])
opened = time.perf_counter() - start
after_open = rss_mb()
rows = np.random.default_rng(0).choice(len(zoo), 1000, replace=False)
start = time.perf_counter()
flat = zoo.flat(rows)
read = time.perf_counter() - start
after_read = rss_mb()
start = time.perf_counter()
nets = [zoo[int(i)] for i in rows]
params = time.perf_counter() - start
start = time.perf_counter()
nonfinite = int((~zoo.finite_mask()).sum())
scan = time.perf_counter() - start
print(json.dumps({
    "networks": len(zoo), "params_per_network": int(flat.shape[1]),
    "rss_after_imports_mb": base, "open_s": opened, "peak_rss_after_open_mb": after_open,
    "read_1000_rows_s": read, "peak_rss_after_read_mb": after_read,
    "networkparams_1000_s": params, "peak_rss_before_scan_mb": after_read,
    "finite_scan_all_rows_s": scan, "nonfinite_rows": nonfinite, "peak_rss_end_mb": rss_mb(),
}))
"""


def make_zoo(path: Path) -> Path:
    from nnenc.zoo.synthetic import write_small_cnn_zoo

    if (path / "metrics.csv.gz").exists():
        print(f"reusing {path}")
        return path
    start = time.perf_counter()
    write_small_cnn_zoo(path, runs=RUNS, seed=0, block_runs=1024, progress=True)
    print(f"made {path} in {time.perf_counter() - start:.0f} s")
    return path


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument("--drop-caches", action="store_true")
    args = parser.parse_args()
    path = make_zoo(args.data / "small-cnn-zoo-270k")
    size_gb = (path / "weights.npy").stat().st_size / 1e9
    cold = drop_caches() if args.drop_caches else False
    result = json.loads(
        subprocess.run(
            [sys.executable, "-c", MEASURE, str(path)], check=True, capture_output=True, text=True
        ).stdout
    )
    result.update(
        {
            "weights_file_gb": round(size_gb, 2),
            "page_cache": "dropped (cold)" if cold else "warm (not dropped)",
            "date": date.today().isoformat(),
            "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        }
    )
    print(json.dumps(result, indent=2))
    print(
        f"\nopen {result['networks']:,} x {result['params_per_network']:,} "
        f"({size_gb:.1f} GB): {result['open_s']:.2f} s, peak RSS "
        f"{result['peak_rss_after_open_mb']:.0f} MB "
        f"(after imports: {result['rss_after_imports_mb']:.0f} MB); "
        f"1,000 random rows: {result['read_1000_rows_s'] * 1000:.0f} ms, peak RSS "
        f"{result['peak_rss_after_read_mb']:.0f} MB; full non-finite scan: "
        f"{result['finite_scan_all_rows_s']:.1f} s, peak RSS {result['peak_rss_end_mb']:.0f} MB; "
        f"page cache {result['page_cache']}"
    )
    cache = "cold cache" if cold else "warm cache"
    figures = {
        f"load_zoo, {result['networks']:,} networks, {cache}": (result["open_s"], "s"),
        f"read 1,000 random rows, {cache}": (result["read_1000_rows_s"], "s"),
        f"full scan for non-finite rows, {cache}": (result["finite_scan_all_rows_s"], "s"),
        f"full scan, {cache}, peak RSS": (result["peak_rss_end_mb"], "MB"),
    }
    record("zoo_open", figures, threads=1, precision="fp32")


if __name__ == "__main__":
    main()
