"""Speed figures as rows, not prose: each script in ``benchmarks/`` appends what it measured to
``benchmarks/results/<script>.csv`` (:func:`record`), and the docs' speed page is the table
:func:`speed_markdown` draws from those files at build time.

A row says where its figure came from: the date, the commit, the CPU model, whether it runs
bf16 natively, the torch threads and the precision, then the figure's name, value and unit.
Reading needs nothing heavier than the standard library, so the docs build stays light.
"""

from __future__ import annotations

import csv
import datetime
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from nnenc.io.atomic import atomic_path

COLUMNS = (
    "date",
    "commit",
    "cpu",
    "native_bf16",
    "threads",
    "precision",
    "figure",
    "value",
    "unit",
    "command",
)
RUN = tuple(column for column in COLUMNS if column not in ("figure", "value", "unit"))
"""The columns one run of a script shares; its figures are grouped by them."""
RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def commit() -> str:
    """The checkout's short commit hash (``+changes`` where tracked files differ from it), or
    ``unknown`` outside a git checkout."""
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    ).stdout.strip()
    return found.stdout.strip() + ("+changes" if dirty else "")


def machine() -> dict[str, str]:
    """The CPU model and whether torch runs bf16 natively on it (AVX-512-BF16 or AMX, not held
    below them by ``ONEDNN_MAX_CPU_ISA``/``ATEN_CPU_CAPABILITY``), as the precision probe sees
    it."""
    from nnenc.precision import describe_device  # torch: only scripts that measure need it

    found = describe_device("cpu")
    cpu = found["cpu"]
    if found["isa_caps"]:
        cpu += " (" + " ".join(f"{k}={v}" for k, v in found["isa_caps"].items()) + ")"
    native = bool(found["bf16_flags"]) and not found["isa_caps"]
    return {"cpu": cpu, "native_bf16": "yes" if native else "no"}


def record(
    script: str,
    figures: Mapping[str, tuple[float, str]],
    *,
    threads: int | str,
    precision: str,
    command: str | None = None,
    folder: Path = RESULTS,
) -> Path:
    """Append ``figures`` (name -> (value, unit)) to ``folder/<script>.csv``, one row each,
    with today's date, the commit, this machine and ``command`` (default: the running
    script's command line), and say so on stdout; returns the file. The file is rewritten
    whole and atomically, so an interrupted script leaves the old rows."""
    path = folder / f"{script}.csv"
    rows = read(path)
    stamp = {
        "date": datetime.date.today().isoformat(),
        "commit": commit(),
        **machine(),
        "threads": str(threads),
        "precision": precision,
        "command": command if command is not None else "python " + " ".join(sys.argv),
    }
    for name, (value, unit) in figures.items():
        rows.append({**stamp, "figure": name, "value": f"{value:.4g}", "unit": unit})
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(figures)} figures appended to {path}")
    return path


def read(path: Path) -> list[dict[str, str]]:
    """The rows of one figures file (none if it does not exist); a file of other columns is
    refused, naming it."""
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(
                f"{path}: columns {reader.fieldnames}, expected {list(COLUMNS)}; "
                "a speed figures file is written by analysis.speed.record"
            )
        rows = list(reader)
    for line, row in enumerate(rows, start=2):
        if None in row or None in row.values():
            raise ValueError(
                f"{path}, line {line}: {len(row.get(None, []))} fields too many or too few; "
                "quote a field that holds a comma, or rewrite the row with analysis.speed.record"
            )
    return rows


def speed_markdown(folder: Path = RESULTS) -> str:
    """The figures of every script's CSV in ``folder``: a section per script, and in it one small
    table per run (date, machine, threads, precision, commit and command), newest first."""
    sections = []
    for path in sorted(folder.glob("*.csv")):
        runs: dict[tuple, list[dict[str, str]]] = {}
        for row in read(path):
            runs.setdefault(tuple(row[key] for key in RUN), []).append(row)
        if not runs:
            continue
        lines = [f"### `benchmarks/{path.stem}.py`"]
        for where in sorted(runs, key=lambda key: key[RUN.index("date")], reverse=True):
            run = runs[where][0]
            bf16 = "native bf16" if run["native_bf16"] == "yes" else "no native bf16"
            lines += [
                "",
                f"**{run['date']}**, {run['cpu']} ({bf16}), {run['threads']} threads, "
                f"{run['precision']}, commit {run['commit']}: `{run['command']}`",
                "",
                "| figure | value |",
                "|---|---|",
            ]
            for row in runs[where]:
                lines.append(
                    f"| {row['figure']} | {row['value']} {row['unit']} |".replace("  |", " |")
                )
        sections.append("\n".join(lines))
    return "\n\n".join(sections)
