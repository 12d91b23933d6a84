"""Figures from a results folder (matplotlib + seaborn): cross-dataset heatmaps per encoder,
grouped bars per task, predicted vs true for the best run, ablation curves, and a 2-D embedding
(PCA) of network encodings coloured by zoo and by accuracy (as the SNE paper's figure 2).

Each function draws and returns its Figure (``None`` when the results hold nothing to draw), so
that a notebook can restyle or compose it; the single-panel ones draw into a given ``ax=``.
:func:`save` writes a Figure as PNG and PDF (the PDF without a creation date, so that the same
results give the same bytes).

The backend is left to matplotlib (headless machines fall back to Agg by themselves), so that
importing this module in a notebook does not switch off inline figures.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.intervals import excludes_zero
from analysis.results import row_file
from analysis.tables import Table, cross_dataset_matrix, default_variant, references
from nnenc.budget import cap_window


def save(figure: plt.Figure | None, path: Path) -> list[Path]:
    """Write ``path``.png and ``path``.pdf and close the figure; nothing for ``None``."""
    if figure is None:
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix in (".png", ".pdf"):
        metadata = {"CreationDate": None} if suffix == ".pdf" else None
        figure.savefig(path.with_suffix(suffix), dpi=150, bbox_inches="tight", metadata=metadata)
        written.append(path.with_suffix(suffix))
    plt.close(figure)
    return written


def cross_dataset_heatmaps(rows: pd.DataFrame) -> plt.Figure | None:
    """Source x target Kendall tau per encoder, on one colour scale fitted to all of them."""
    frame = rows[(rows["experiment"] == "cross-dataset") & ~references(rows)]
    encoders = sorted(frame["encoder"].unique())
    if not encoders:
        return None
    matrices = {e: cross_dataset_matrix(rows, e).estimate.astype(float) for e in encoders}
    values = np.concatenate([m.to_numpy().ravel() for m in matrices.values()])
    low, high = np.nanmin(values), np.nanmax(values)
    if not high > low:
        low, high = low - 0.05, high + 0.05
    columns = min(3, len(encoders))
    grid = math.ceil(len(encoders) / columns)
    figure, axes = plt.subplots(grid, columns, figsize=(4.2 * columns, 3.6 * grid), squeeze=False)
    for ax, encoder in zip(axes.flat, encoders, strict=False):
        sns.heatmap(
            matrices[encoder], annot=True, fmt=".2f", vmin=low, vmax=high, cmap="viridis", ax=ax,
            cbar=False,
        )  # fmt: skip
        ax.set_title(encoder)
        ax.set_xlabel("tested on")
        ax.set_ylabel("trained on")
    for ax in list(axes.flat)[len(encoders) :]:
        ax.set_visible(False)
    figure.suptitle("Cross-dataset Kendall tau (mean over seeds)")
    figure.tight_layout()
    scale = plt.cm.ScalarMappable(plt.Normalize(low, high), cmap="viridis")
    figure.colorbar(scale, ax=axes, shrink=0.8, label="Kendall tau")
    return figure


def _interval_bars(ax, table: Table, rows: list[str], tasks: list[str], colors: dict) -> None:
    """A group of bars per task, one per row of ``table`` (in its encoder's colour), with its
    95% interval; n/a marked, and "no rows" where the table has none (not run, or not yet); for
    differences, ``*`` above (or below) a bar whose interval excludes 0."""
    width = 0.8 / len(rows)
    for i, name in enumerate(rows):
        x = np.arange(len(tasks)) + (i - (len(rows) - 1) / 2) * width
        value = table.estimate.loc[name, tasks].to_numpy(float)
        low = table.low.loc[name, tasks].to_numpy(float)
        high = table.high.loc[name, tasks].to_numpy(float)
        error = np.nan_to_num(np.stack([value - low, high - value]))
        ax.bar(
            x, np.nan_to_num(value), width, yerr=error, label=name, color=colors[name], capsize=2
        )
        for task, xi, v, lo, hi in zip(tasks, x, value, low, high, strict=True):
            if np.isnan(v):
                mark = "no rows" if name in table.absent.get(task, ()) else "n/a"
                ax.text(
                    xi, 0.01, mark, ha="center", va="bottom", fontsize=9, rotation=90,
                    fontweight="bold", color="dimgray",
                )  # fmt: skip
            elif table.signed and excludes_zero(lo, hi):
                y, va = (hi, "bottom") if v > 0 else (lo, "top")
                ax.text(xi, y, "*", ha="center", va=va, fontsize=11, fontweight="bold")
    ax.set_xticks(np.arange(len(tasks)), tasks, rotation=15)


def task_bars(summary: Table, difference: Table) -> plt.Figure | None:
    """Two panels of grouped bars, a group per task: each encoder's Kendall tau (the
    label-noise reference as a dashed line over each group), and SNE minus each baseline
    (``*``: the interval excludes 0); error bars are 95% intervals."""
    encoders = [e for e in summary.estimate.index if e not in summary.reference]
    tasks = list(summary.estimate.columns)
    if not tasks or not encoders:
        return None
    others = [e for e in difference.estimate.index if difference.estimate.loc[e].notna().any()]
    panels = 2 if others else 1
    size = (max(6.5, 1.5 * len(tasks) * len(encoders) / 3), 4 * panels + 0.8)
    figure, axes = plt.subplots(panels, 1, figsize=size, squeeze=False)
    colors = dict(zip(encoders, sns.color_palette("tab10", len(encoders)), strict=True))
    top = axes[0, 0]
    _interval_bars(top, summary, encoders, tasks, colors)
    for t, task in enumerate(tasks):
        for name in summary.reference:
            reference = summary.estimate.loc[name, task]
            if not np.isnan(reference):
                top.hlines(reference, t - 0.45, t + 0.45, colors="black", linestyles="--")
    top.set_ylabel("Kendall tau")
    top.set_title("Kendall tau per task, 95% intervals (dashed: label-noise reference)")
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    if others:
        bottom = axes[1, 0]
        _interval_bars(bottom, difference, others, tasks, colors)
        bottom.axhline(0, color="black", linewidth=0.8)
        bottom.set_ylabel("SNE minus baseline")
        bottom.set_title("SNE minus each baseline, paired 95% intervals (*: excludes 0)")
        bottom.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    if summary.incomplete or summary.pending:
        figure.suptitle(
            "Incomplete: results still being computed (the tables' notes say what is left out)",
            color="firebrick",
        )
    figure.tight_layout()
    return figure


def best_scatter(
    rows: pd.DataFrame, results: Path, ax: plt.Axes | None = None
) -> plt.Figure | None:
    """Predicted vs true test accuracy for the best in-distribution run: the highest tau over
    every encoder and seed (so the best of several seeds, not a typical one)."""
    scored = rows[
        (rows["status"] == "ok")
        & ~references(rows)
        & (rows["source"] == rows["target"])
        & default_variant(rows)
    ]
    if scored.empty:
        return None
    best = scored.loc[scored["kendall_tau"].idxmax()]
    seeds = scored.loc[scored["encoder"] == best["encoder"], "seed"].nunique()
    table = pd.read_csv(row_file(best, "predictions", results))
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(table["true"], table["predicted"], s=12, alpha=0.7)
    low = min(table["true"].min(), table["predicted"].min())
    high = max(table["true"].max(), table["predicted"].max())
    ax.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("true test accuracy")
    ax.set_ylabel("predicted test accuracy")
    ax.set_title(
        f"best of {seeds} seeds: {best['encoder']} on {best['target']} "
        f"(seed {int(best['seed'])}), tau {best['kendall_tau']:.3f}",
        fontsize=9,
    )
    return ax.figure


def ablation_curves(table: pd.DataFrame, incomplete: bool = False) -> plt.Figure | None:
    """Per factor: Kendall tau (95% interval), training time and peak memory (means over seeds)
    against its values, the preset configuration ringed; ``incomplete``: the run still has
    ablation runs to do, said in red."""
    if table.empty:
        return None
    factors = list(dict.fromkeys(table["factor"]))
    figure, axes = plt.subplots(3, len(factors), figsize=(3.4 * len(factors), 7), squeeze=False)
    for column, factor in enumerate(factors):
        part = table[table["factor"] == factor]
        x = np.arange(len(part))
        for row, (field, label) in enumerate(
            [
                ("tau", "Kendall tau"),
                ("train_seconds", "train s (mean)"),
                ("peak_rss_mb", "peak MB (mean)"),
            ]
        ):
            ax = axes[row, column]
            error = None
            if field == "tau":
                error = np.stack([part["tau"] - part["tau_low"], part["tau_high"] - part["tau"]])
            ax.errorbar(x, part[field], yerr=error, marker="o", capsize=3)
            preset = part["preset"].to_numpy(bool)
            ax.plot(x[preset], part[field][preset], "o", ms=12, mfc="none", mec="black")
            ax.set_xticks(x, part["value"])
            ax.ticklabel_format(axis="y", useOffset=False, style="plain")
            if column == 0:
                ax.set_ylabel(label)
            if row == 0:
                ax.set_title(factor)
    figure.suptitle(
        "SNE ablations, one factor at a time (error bars: 95% intervals over test runs "
        "and seeds; ringed: the preset configuration)"
    )
    if incomplete:
        figure.suptitle(
            "SNE ablations, incomplete:\nresults still being computed",
            color="firebrick",
        )
    figure.tight_layout()
    return figure


def encoding_embedding(
    rows: pd.DataFrame, results: Path, experiment: str, encoder: str = "sne"
) -> plt.Figure | None:
    """PCA of one trained encoder's encodings of every target's test networks, coloured by zoo
    (left) and by true test accuracy (right): how the encoder places networks of different
    datasets (or architectures), and whether accuracy runs along it. The axes give each
    component's share of the variance."""
    frame = rows[
        (rows["experiment"] == experiment)
        & (rows["encoder"] == encoder)
        & (rows["status"] == "ok")
        & default_variant(rows)
    ]
    if frame.empty:
        return None
    first = frame.sort_values(["seed", "source"]).iloc[0]
    parts, labels, accuracies = [], [], []
    for _, row in frame[
        (frame["source"] == first["source"]) & (frame["seed"] == first["seed"])
    ].iterrows():
        file = row_file(row, "encodings", results)
        if file.is_file():
            parts.append(np.load(file, allow_pickle=False))
            labels += [row["target"]] * len(parts[-1])
            truth = row_file(row, "predictions", results)
            accuracies.append(pd.read_csv(truth)["true"].to_numpy(float))
    if not parts:
        return None
    from sklearn.decomposition import PCA  # only here: rendering tables needs no scikit-learn

    pca = PCA(n_components=2, random_state=0)
    points = pca.fit_transform(np.concatenate(parts))
    share = 100 * pca.explained_variance_ratio_
    figure, (by_zoo, by_accuracy) = plt.subplots(1, 2, figsize=(11, 4.5))
    sns.scatterplot(x=points[:, 0], y=points[:, 1], hue=labels, s=14, ax=by_zoo)
    by_zoo.legend(title="test networks of", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    shown = by_accuracy.scatter(
        points[:, 0], points[:, 1], c=np.concatenate(accuracies), s=14, cmap="viridis"
    )
    figure.colorbar(shown, ax=by_accuracy, label="true test accuracy")
    for ax in (by_zoo, by_accuracy):
        ax.set_xlabel(f"PC 1 ({share[0]:.0f}% of variance)")
        ax.set_ylabel(f"PC 2 ({share[1]:.0f}% of variance)")
    figure.suptitle(
        f"{encoder} encodings (trained on {first['source']}, seed {int(first['seed'])}), "
        f"{experiment}"
    )
    figure.tight_layout()
    return figure


def validation_curves(histories: pd.DataFrame, convergence: pd.DataFrame) -> plt.Figure | None:
    """Validation Kendall tau against epoch, one panel per encoder and a thin line per training
    (:func:`analysis.convergence.training_histories`); the last 10% of each cap shaded, where a
    best epoch means the training ended still improving (counted in the panel's title from
    ``convergence``, :func:`analysis.convergence.convergence_table`)."""
    if histories.empty:
        return None
    encoders = sorted(set(histories["encoder"]))
    columns = min(4, len(encoders))
    rows = math.ceil(len(encoders) / columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(3.6 * columns, 2.8 * rows), squeeze=False, sharey=True
    )
    counts = convergence.set_index("encoder")
    for ax, encoder in zip(axes.flat, encoders, strict=False):
        part = histories[histories["encoder"] == encoder]
        for _, curve in part.groupby(["folder", "training"]):
            ax.plot(curve["epoch"], curve["val_kendall_tau"], lw=0.6, alpha=0.45)
        for cap in sorted(set(part["cap"])):
            ax.axvspan(cap_window(cap) + 1, cap, color="0.85", zorder=0)  # epochs from 1
        row = counts.loc[encoder]
        ax.set_title(
            f"{encoder}: {row['ended_improving']} of {row['trainings']} ended improving",
            fontsize=9,
            color="black" if row["meets_rule"] else "firebrick",
        )
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("validation Kendall tau")
    for ax in list(axes.flat)[len(encoders) :]:
        ax.set_visible(False)
    figure.suptitle("Validation curves of every training (shaded: the last 10% of the cap)")
    figure.tight_layout()
    return figure


def learning_curves(table: pd.DataFrame) -> plt.Figure | None:
    """Kendall tau (95% interval) against the number of training networks, log x axis, a line
    per encoder (:func:`analysis.tables.learning_curve_table`)."""
    if table.empty:
        return None
    figure, ax = plt.subplots(figsize=(6.4, 4.2))
    for encoder, part in table.groupby("encoder", sort=True):
        part = part.sort_values("networks")
        error = np.stack([part["tau"] - part["tau_low"], part["tau_high"] - part["tau"]])
        ax.errorbar(part["networks"], part["tau"], yerr=error, marker="o", capsize=3, label=encoder)
    ax.set_xscale("log")
    sizes = sorted(set(table["networks"]))
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training networks (train + validation)")
    ax.set_ylabel("Kendall tau on the fixed test split")
    ax.set_title("Learning curves (error bars: 95% intervals over test runs and seeds)")
    ax.legend(fontsize=8)
    figure.tight_layout()
    return figure
