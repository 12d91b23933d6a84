"""A predictor's training budget: its epoch cap, early-stopping patience and learning-rate
schedule, checked before anything trains, and the rule that says whether a training was stopped
by its cap while it was still improving.

The schedules are PyTorch's own (``torch.optim.lr_scheduler``): ``none`` keeps the learning rate
constant, ``cosine`` anneals it to zero over the cap (``CosineAnnealingLR``), ``plateau`` halves
it (``schedule_factor``) after ``schedule_patience`` epochs without a better validation Kendall
tau (``ReduceLROnPlateau``, mode ``max``). This module imports no torch: a report applies the
cap rule to recorded histories.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

SCHEDULES = ("none", "cosine", "plateau")
SCHEDULE_DEFAULTS = {"schedule": "none", "schedule_patience": 5, "schedule_factor": 0.5}
"""The schedule's training options. Left at ``none`` they are dropped from a training's
effective settings (:func:`effective_budget`), so a training from before schedules existed keeps
its key."""
CAP_SHARE = 0.1
"""A training whose best validation epoch lies in the last 10% of its epoch cap ended at its cap
still improving: a longer budget might have found better weights."""


def _whole(settings: Mapping, key: str, least: int) -> list[str]:
    value = settings.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        return [f"{key} must be a whole number of at least {least}, got {value!r}"]
    return []


def budget_problems(settings: Mapping) -> list[str]:
    """What is wrong with the budget keys of ``settings`` (training options), each naming its
    key and what to give instead; empty where the budget can run."""
    problems = [*_whole(settings, "epochs", 1), *_whole(settings, "patience", 1)]
    problems += _whole(settings, "batch_size", 1)
    lr = settings.get("lr")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        problems.append(f"lr must be a positive number, got {lr!r}")
    if not problems and settings["patience"] > settings["epochs"]:
        problems.append(
            f"patience ({settings['patience']}) is larger than epochs ({settings['epochs']}): "
            "early stopping could never stop a training; give patience at most epochs"
        )
    schedule = settings.get("schedule", "none")
    if schedule not in SCHEDULES:
        problems.append(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    elif schedule == "plateau":
        wait = _whole(settings, "schedule_patience", 1)
        problems += wait
        factor = settings.get("schedule_factor")
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < 1:
            problems.append(f"schedule_factor must lie between 0 and 1, got {factor!r}")
        patience = settings.get("patience")
        if not wait and isinstance(patience, int) and settings["schedule_patience"] >= patience:
            problems.append(
                f"schedule_patience ({settings['schedule_patience']}) must be smaller than "
                f"patience ({patience}): else training stops before the learning rate is lowered"
            )
    return problems


def check_budget(settings: Mapping, where: str = "training") -> None:
    """Refuse ``settings`` whose budget cannot run, naming each bad key (``where``: what the
    settings are, for the message)."""
    problems = budget_problems(settings)
    if problems:
        raise ValueError(f"{where}: " + "; ".join(problems))


def effective_budget(settings: Mapping) -> dict:
    """``settings`` less the schedule's options where the schedule is ``none`` (they change
    nothing then)."""
    if settings.get("schedule", "none") != "none":
        return dict(settings)
    return {k: v for k, v in settings.items() if k not in SCHEDULE_DEFAULTS}


def best_epoch(val_taus: Sequence[float]) -> int:
    """The epoch (from 0) whose weights a training keeps: the first with the highest validation
    tau (an undefined tau never counts as best)."""
    best, at = -math.inf, 0
    for epoch, tau in enumerate(val_taus):
        if tau == tau and tau > best:  # NaN != NaN
            best, at = tau, epoch
    return at


def cap_window(epochs: int) -> int:
    """The first epoch (from 0) of the last :data:`CAP_SHARE` of a cap of ``epochs``."""
    return epochs - math.ceil(CAP_SHARE * epochs)


def ended_improving(best: int, epochs: int) -> bool:
    """Whether a training whose best epoch (from 0) was ``best`` under a cap of ``epochs`` ended
    at its cap still improving (its best epoch at or after :func:`cap_window`)."""
    return best >= cap_window(epochs)
