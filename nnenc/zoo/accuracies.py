"""Accuracy columns as fractions: percentages recognised per column, from all its values."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from nnenc.io.errors import ZooFormatError

ACCURACY_COLUMNS = ("test_accuracy", "test_accuracy_half1", "test_accuracy_half2", "train_accuracy")


def as_fractions(
    metrics: pd.DataFrame, source: str, columns: Sequence[str] = ACCURACY_COLUMNS
) -> pd.DataFrame:
    """Accuracies in [0, 1], each column judged as a whole from every value it holds.

    A column is read as fractions when all its values lie in [0, 1], and as percentages (divided
    by 100) when all lie in [0, 100] and none is in (0, 1): below 1% a 10-class accuracy is
    implausible, and such a value would be ambiguous. Any other column (one outlier of 1.01 among
    fractions, a 0.5 among percentages, a value outside [0, 100], text) is refused with its rows,
    never rescaled as a whole.
    """
    metrics = metrics.copy()
    for column in columns:
        if column not in metrics.columns:
            continue
        values = pd.to_numeric(metrics[column], errors="coerce")
        text = values.isna() & metrics[column].notna()
        known = values.dropna()
        if text.any():
            problem = f"holds values that are not numbers ({_rows(metrics[column][text])})"
        elif known.between(0.0, 1.0).all():
            metrics[column] = values
            continue
        elif known.between(0.0, 100.0).all() and not known.between(0.0, 1.0, "right").any():
            metrics[column] = values / 100.0
            continue
        elif not known.between(0.0, 100.0).all():
            problem = f"holds values outside [0, 100] ({_rows(known[~known.between(0.0, 100.0)])})"
        else:
            minority = known.between(0.0, 1.0, "right")
            if minority.sum() * 2 > len(known):
                minority = ~minority
            problem = (
                "mixes fractions in [0, 1] with percentages above 1 "
                f"({_rows(known[minority])} disagree with the rest)"
            )
        raise ZooFormatError(
            source,
            f"column {column!r} {problem}; accuracies must be all fractions or all percentages: "
            "correct those rows",
        )
    return metrics


def _rows(values: pd.Series, shown: int = 5) -> str:
    listed = ", ".join(f"row {i}: {v!r}" for i, v in list(values.items())[:shown])
    more = f" and {len(values) - shown} more" if len(values) > shown else ""
    return listed + more
