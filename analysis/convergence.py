"""Did every training converge? The validation curves a results folder's predictors recorded,
and per encoder how many trainings ended at their epoch cap still improving.

Each trained predictor's ``predictors/NAME/config.json`` holds its training options (the epoch
cap) and its history (one validation Kendall tau per epoch); git keeps these files and leaves the
weights beside them out. A training *ended improving* when its best validation epoch lies in the
last 10% of its cap (:func:`nnenc.budget.ended_improving`); the benchmark's rule is that fewer
than 10% of an encoder's trainings may (:data:`RULE_SHARE`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from nnenc.budget import best_epoch, ended_improving

RULE_SHARE = 0.1
"""The largest share of an encoder's trainings that may end at their cap still improving."""


def training_histories(folders: Sequence[str | Path]) -> pd.DataFrame:
    """One row per epoch of every training the results ``folders`` hold: ``encoder``,
    ``training`` (the predictor's folder name), ``folder``, ``cap`` (its epoch cap), ``epoch``
    (from 1), ``val_kendall_tau``, and ``lr`` where recorded. Predictors without a history (the
    trees, which are not saved) are not in it."""
    frames = []
    for folder in folders:
        for config_path in sorted(Path(folder, "predictors").glob("*/config.json")):
            config = json.loads(config_path.read_text())
            history = pd.DataFrame(config.get("history") or [])
            if history.empty or "val_kendall_tau" not in history:
                continue
            frame = pd.DataFrame(
                {
                    "encoder": config["encoder"],
                    "training": config_path.parent.name,
                    "folder": str(folder),
                    "cap": int(config["training"]["epochs"]),
                    "epoch": range(1, len(history) + 1),
                    "val_kendall_tau": history["val_kendall_tau"].astype(float),
                }
            )
            if "lr" in history:
                frame["lr"] = history["lr"].astype(float)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def convergence_table(histories: pd.DataFrame) -> pd.DataFrame:
    """Per encoder: ``trainings``, ``ended_improving`` (how many ended at their cap still
    improving) and its ``share``, the median ``best_epoch`` and ``epochs_run``, the ``cap``(s),
    and ``meets_rule`` (share under :data:`RULE_SHARE`)."""
    if histories.empty:
        return pd.DataFrame()
    per_training = []
    for (encoder, _, _), curve in histories.groupby(["encoder", "folder", "training"], sort=True):
        cap = int(curve["cap"].iloc[0])
        best = best_epoch(curve["val_kendall_tau"].tolist())
        per_training.append(
            {
                "encoder": encoder,
                "cap": cap,
                "best_epoch": best + 1,
                "epochs_run": len(curve),
                "ended_improving": ended_improving(best, cap),
            }
        )
    trainings = pd.DataFrame(per_training)
    table = trainings.groupby("encoder", sort=True).agg(
        trainings=("cap", "size"),
        ended_improving=("ended_improving", "sum"),
        best_epoch=("best_epoch", "median"),
        epochs_run=("epochs_run", "median"),
        cap=("cap", lambda caps: "/".join(str(c) for c in sorted(set(caps)))),
    )
    table["share"] = table["ended_improving"] / table["trainings"]
    table["meets_rule"] = table["share"] < RULE_SHARE
    return table.reset_index()


def convergence_markdown(table: pd.DataFrame) -> str:
    """The convergence table as the report prints it, with what its columns mean."""
    lines = [
        "**Convergence** (every training of an encoder plus a head; *ended improving*: its best "
        "validation epoch in the last 10% of its epoch cap, so a longer budget might have found "
        f"better weights; the rule: under {RULE_SHARE:.0%} of an encoder's trainings)",
        "",
        "| encoder | trainings | ended improving | median best epoch | median epochs run | "
        "cap | rule |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples(index=False):
        verdict = "met" if r.meets_rule else "**not met**"
        lines.append(
            f"| {r.encoder} | {r.trainings} | {r.ended_improving} ({r.share:.0%}) | "
            f"{r.best_epoch:g} | {r.epochs_run:g} | {r.cap} | {verdict} |"
        )
    return "\n".join(lines)
