"""Comparison tables from a results table: numbers first (mean and std over seeds), formatting
after (markdown and LaTeX, best encoder per column in bold, the label-noise reference as its own
row).

Averages over several zoo pairs (the cross-dataset off-diagonal, say) are taken per seed first,
then their mean and std over seeds are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.jobs import LABEL_NOISE

METRIC = "kendall_tau"


@dataclass(frozen=True)
class Table:
    """``mean`` and ``std`` frames of the same shape; NaN mean = n/a. ``reference`` rows (the
    label-noise reference) are shown but never bold."""

    title: str
    mean: pd.DataFrame
    std: pd.DataFrame
    reference: tuple[str, ...] = (LABEL_NOISE,)
    signed: bool = False
    """Differences: shown with their sign, and no best in bold."""
    notes: pd.DataFrame | None = None
    """Text after a cell's numbers (same shape as ``mean``), e.g. seeds won."""

    def cell(self, row, column, bold: bool = False, latex: bool = False) -> str:
        m, s = self.mean.loc[row, column], self.std.loc[row, column]
        if pd.isna(m):
            return "n/a"
        pm = " $\\pm$ " if latex else " ± "
        value = f"{m:+.3f}" if self.signed else f"{m:.3f}"
        text = value if pd.isna(s) else f"{value}{pm}{s:.3f}"
        if self.notes is not None and isinstance(self.notes.loc[row, column], str):
            text += f" {self.notes.loc[row, column]}"
        if bold:
            return f"\\textbf{{{text}}}" if latex else f"**{text}**"
        return text

    def best(self) -> dict:
        """Column -> the row with the highest mean (reference rows excluded; none for
        differences)."""
        if self.signed:
            return {}
        candidates = self.mean.drop(index=[r for r in self.reference if r in self.mean.index])
        return {
            c: candidates[c].idxmax() for c in candidates.columns if candidates[c].notna().any()
        }

    def to_markdown(self) -> str:
        best = self.best()
        header = "| | " + " | ".join(map(str, self.mean.columns)) + " |"
        lines = [f"**{self.title}**", "", header, "|---" * (len(self.mean.columns) + 1) + "|"]
        for row in self.mean.index:
            cells = [self.cell(row, c, best.get(c) == row) for c in self.mean.columns]
            name = f"*{row}*" if row in self.reference else str(row)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def to_latex(self) -> str:
        best = self.best()

        def escape(text) -> str:
            return str(text).replace("_", "\\_").replace("&", "\\&").replace("→", "$\\to$")

        columns = "l" + "c" * len(self.mean.columns)
        lines = [
            f"% {self.title}",
            f"\\begin{{tabular}}{{{columns}}}",
            "\\toprule",
            " & " + " & ".join(escape(c) for c in self.mean.columns) + " \\\\",
            "\\midrule",
        ]
        for row in self.mean.index:
            cells = [self.cell(row, c, best.get(c) == row, latex=True) for c in self.mean.columns]
            name = f"\\textit{{{escape(row)}}}" if row in self.reference else escape(row)
            lines.append(f"{name} & " + " & ".join(cells) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines)


def default_variant(rows: pd.DataFrame) -> pd.Series:
    """Rows of an encoder's preset configuration (not an ablation variant)."""
    return rows["variant"].isna() | (rows["variant"] == "")


def _per_seed(rows: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Seed x encoder: the mean over ``pairs`` (NaN if any pair is n/a)."""
    if rows.empty or not pairs:
        return pd.DataFrame()
    wanted = pd.MultiIndex.from_tuples(pairs, names=["source", "target"])
    picked = rows.set_index(["source", "target"])
    picked = picked[picked.index.isin(wanted)].reset_index()
    per_seed = picked.groupby(["encoder", "seed"])[METRIC].agg(
        lambda x: x.mean() if len(x) == len(pairs) and x.notna().all() else np.nan
    )
    return per_seed.unstack("encoder")


def _pairs(rows: pd.DataFrame, diagonal: bool) -> list[tuple[str, str]]:
    pairs = rows[rows["encoder"] != LABEL_NOISE][["source", "target"]].drop_duplicates()
    pairs = [tuple(p) for p in pairs.itertuples(index=False)]
    return [p for p in pairs if (p[0] == p[1]) == diagonal]


def _label_noise_for(rows: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.Series:
    """The reference for a set of pairs: the label-noise tau of their targets, averaged."""
    noise = rows[rows["encoder"] == LABEL_NOISE]
    targets = sorted({t for _, t in pairs})
    per_seed = noise[noise["target"].isin(targets)].groupby("seed")[METRIC].mean()
    return pd.Series({"mean": per_seed.mean(), "std": per_seed.std()})


def _scored(rows: pd.DataFrame, experiment: str) -> pd.DataFrame:
    picked = rows[(rows["experiment"] == experiment) & default_variant(rows)].copy()
    picked.loc[picked["status"] != "ok", METRIC] = np.nan
    return picked


def _tasks(rows: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, list]]:
    """Task name -> (its rows, the (source, target) pairs it averages): in-distribution,
    cross-dataset (off-diagonal average), and each cross-architecture direction."""
    columns: dict[str, tuple[pd.DataFrame, list]] = {}
    in_dist = _scored(rows, "in-dist")
    cross = _scored(rows, "cross-dataset")
    if not in_dist.empty:
        columns["in-distribution"] = (in_dist, _pairs(in_dist, diagonal=True))
    elif not cross.empty:
        columns["in-distribution"] = (cross, _pairs(cross, diagonal=True))
    if not cross.empty:
        columns["cross-dataset"] = (cross, _pairs(cross, diagonal=False))
    arch = _scored(rows, "cross-arch")
    for pair in sorted(_pairs(arch, diagonal=False)):
        columns[f"{pair[0]} → {pair[1]}"] = (arch, [pair])
    return columns


def summary_table(rows: pd.DataFrame) -> Table:
    """Encoders x tasks (:func:`_tasks`); Kendall tau, mean ± std over seeds."""
    columns = _tasks(rows)
    encoders = sorted(
        {e for frame, _ in columns.values() for e in frame["encoder"] if e != LABEL_NOISE}
    )
    mean = pd.DataFrame(index=[*encoders, LABEL_NOISE], columns=list(columns), dtype=float)
    std = mean.copy()
    for name, (frame, pairs) in columns.items():
        per_seed = _per_seed(frame[frame["encoder"] != LABEL_NOISE], pairs)
        for encoder in per_seed.columns:
            mean.loc[encoder, name] = per_seed[encoder].mean()
            std.loc[encoder, name] = per_seed[encoder].std()
        noise = _label_noise_for(frame, pairs)
        mean.loc[LABEL_NOISE, name], std.loc[LABEL_NOISE, name] = noise["mean"], noise["std"]
    return Table("Kendall tau on the test split, mean ± std over seeds", mean, std)


def difference_table(rows: pd.DataFrame, encoder: str = "sne") -> Table:
    """``encoder`` minus each other encoder, per task (:func:`_tasks`): the Kendall tau
    difference paired by seed (same seeds, so the same splits), mean ± std over seeds, and the
    seeds on which ``encoder`` was ahead. n/a where either cannot run."""
    columns = _tasks(rows)
    others = sorted(set(rows["encoder"]) - {encoder, LABEL_NOISE})
    mean = pd.DataFrame(index=others, columns=list(columns), dtype=float)
    std, notes = mean.copy(), pd.DataFrame(index=others, columns=list(columns), dtype=object)
    for name, (frame, pairs) in columns.items():
        per_seed = _per_seed(frame[frame["encoder"] != LABEL_NOISE], pairs)
        if encoder not in per_seed:
            continue
        for other in others:
            if other not in per_seed:
                continue
            gap = (per_seed[encoder] - per_seed[other]).dropna()
            if gap.empty:
                continue
            mean.loc[other, name], std.loc[other, name] = gap.mean(), gap.std()
            notes.loc[other, name] = f"({int((gap > 0).sum())}/{len(gap)})"
    return Table(
        f"{encoder} minus each encoder, Kendall tau paired by seed: mean ± std over seeds "
        f"(seeds where {encoder} is ahead)",
        mean,
        std,
        (),
        signed=True,
        notes=notes,
    )


def cross_dataset_matrix(rows: pd.DataFrame, encoder: str) -> Table:
    """Source x target Kendall tau of one encoder (the diagonal is in-distribution)."""
    frame = _scored(rows, "cross-dataset")
    frame = frame[frame["encoder"] == encoder]
    stats = frame.groupby(["source", "target"])[METRIC].agg(["mean", "std"])
    mean = stats["mean"].unstack("target")
    std = stats["std"].unstack("target").reindex_like(mean)
    return Table(
        f"{encoder}: cross-dataset Kendall tau (rows: trained on, columns: tested on)",
        mean,
        std,
        (),
    )


def ablation_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Variant -> tau (mean, std over seeds), train seconds and peak memory (means)."""
    frame = rows[(rows["experiment"] == "ablate") & (rows["encoder"] != LABEL_NOISE)].copy()
    if frame.empty:
        return pd.DataFrame()
    frame[["factor", "value"]] = frame["variant"].str.split("=", n=1, expand=True)
    table = frame.groupby(["factor", "value"]).agg(
        tau_mean=(METRIC, "mean"),
        tau_std=(METRIC, "std"),
        train_seconds=("train_seconds", "mean"),
        peak_rss_mb=("peak_rss_mb", "mean"),
        seeds=("seed", "nunique"),
    )
    table = table.reset_index()
    order = {factor: i for i, factor in enumerate(dict.fromkeys(frame["factor"]))}
    table["_factor"] = table["factor"].map(order)
    table["_value"] = pd.to_numeric(table["value"], errors="coerce")
    table = table.sort_values(["_factor", "_value", "value"], kind="stable")
    return table.drop(columns=["_factor", "_value"]).reset_index(drop=True)


def ablation_markdown(table: pd.DataFrame) -> str:
    lines = [
        "**SNE ablations** (one factor at a time; Kendall tau mean ± std over seeds)",
        "",
        "| factor | value | Kendall tau | train s | peak RSS (MB) |",
        "|---|---|---|---|---|",
    ]
    for r in table.itertuples(index=False):
        spread = "" if pd.isna(r.tau_std) else f" ± {r.tau_std:.3f}"
        lines.append(
            f"| {r.factor} | {r.value} | {r.tau_mean:.3f}{spread} | {r.train_seconds:.1f} | "
            f"{r.peak_rss_mb:.0f} |"
        )
    return "\n".join(lines)
