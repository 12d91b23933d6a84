"""Every committed job's keys, as the code computes them: what a move of code must leave as it is,
so that no finished job of a committed results folder runs again.

For each row of the committed results folders' ``results.csv`` that trained a saved predictor,
the job is rebuilt from its cells (experiment, encoder, variant, source, seed and its ``config``
cell) and two keys are computed: its rows' key (:func:`analysis.results.job_key`) and its
training's key (:func:`analysis.jobs.training_key`, under the folder's zoos, split and
protocol, for the precision the row trained in). A training key names the folder under
``predictors/`` where a resumed run finds what it trained.

``python tests/job_keys.py`` writes them to ``tests/data/job_keys.json`` (run it before a
restructuring, commit the file); ``tests/test_job_keys.py`` computes them again.
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis.context import RunContext, RunInputs
from analysis.jobs import Job, training_key
from analysis.results import ResultsStore

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("results/full", "results/mixed", "results/mixed-in-dist")
PINNED = ROOT / "tests" / "data" / "job_keys.json"


def row_jobs(folder: Path) -> list[tuple[Job, str, dict]]:
    """(job, precision, row) for each row of ``folder`` that trained a saved predictor."""
    rows = ResultsStore(folder).rows().astype(object).where(lambda t: t.notna(), "")
    trained = {p.name for p in (folder / "predictors").iterdir()}
    jobs = []
    for row in rows.to_dict("records"):
        if row["role"] != "predictor":
            continue
        settings = json.loads(row["config"]) if row["config"] else {}
        job = Job(
            row["experiment"],
            row["encoder"],
            row["source"],
            (row["source"],),
            int(row["seed"]),
            row["variant"],
            settings.get("encoder", {}),
            settings.get("training", {}),
        )
        prefix = f"{job.encoder}_{job.source}_s{job.seed}_"
        if any(name.startswith(prefix) for name in trained):
            jobs.append((job, row["precision"] or "auto", row))
    return jobs


def keys_of(folder: Path, only: set[str] | None = None) -> list[dict]:
    """The keys of every job of ``folder`` that trained a saved predictor (of those whose rows'
    keys are in ``only``, where given)."""
    meta = json.loads((folder / "meta.json").read_text())
    config = meta["config"]
    split, protocol = tuple(config["split"]), config.get("protocol", "final")
    keys = []
    seen = set()
    for job, precision, _ in row_jobs(folder):
        if only is not None and job.key not in only:
            continue
        inputs = RunInputs.of(
            meta["zoos"], split, protocol, folder, RunContext(precision=precision)
        )
        key = training_key(job, inputs)
        if (job.key, key) in seen:
            continue
        seen.add((job.key, key))
        keys.append({"job": job.key, "training": key, "precision": precision})
    return keys


def main() -> None:
    pinned = {folder: keys_of(ROOT / folder) for folder in FOLDERS}
    PINNED.parent.mkdir(exist_ok=True)
    PINNED.write_text(json.dumps(pinned, indent=1) + "\n")
    found = 0
    for folder, keys in pinned.items():
        trained = {p.name.rsplit("_", 1)[-1] for p in (ROOT / folder / "predictors").iterdir()}
        found += sum(k["training"] in trained for k in keys)
    total = sum(len(k) for k in pinned.values())
    print(
        f"{total} jobs pinned in {PINNED.relative_to(ROOT)}; {found} of their training keys name "
        "a predictor folder (the rest were trained under keys of an earlier code, or not kept)"
    )


if __name__ == "__main__":
    main()
