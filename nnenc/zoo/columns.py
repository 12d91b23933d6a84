"""The columns of a zoo's metrics table: those every zoo has and those with a fixed meaning."""

from __future__ import annotations

REQUIRED_COLUMNS: tuple[str, ...] = (
    "model_id",
    "run_id",
    "architecture",
    "row",
    "epoch",
    "test_accuracy",
)
"""Columns every zoo's metrics table has. ``row`` indexes the architecture's weight array."""

STANDARD_COLUMNS: tuple[str, ...] = (
    *REQUIRED_COLUMNS,
    "test_accuracy_half1",
    "test_accuracy_half2",
    "test_loss",
    "train_accuracy",
    "train_loss",
    "dataset",
    "status",
    "finite",
)
"""Columns with a fixed meaning where present; the rest are hyperparameters and extras."""
