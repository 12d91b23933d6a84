"""Comparison tables from a results folder: numbers first (each encoder's Kendall tau and SNE
minus each baseline, with paired 95% bootstrap intervals: :mod:`analysis.intervals`), formatting
after (markdown and LaTeX, best encoder per column in bold, the label-noise reference as its own
row, ``*`` on a difference whose interval excludes 0).

A task's score is the mean over its seeds and scored (source, target) pairs (the cross-dataset
off-diagonal, say) of the tau on each test split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.intervals import Group, detectable_difference, excludes_zero, task_intervals
from analysis.protocol import LEARNING_CURVE
from analysis.results import roles, row_file, tested_on_mixed_zoos

METRIC = "kendall_tau"
ABSENT = "—"
"""A table cell with no results behind it (an encoder not run on a task, or not yet)."""
INCOMPLETE = "Incomplete (results still being computed):"


def seed_list(seeds) -> str:
    """``seed 0`` or ``seeds 0, 1, 3``."""
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


@dataclass(frozen=True)
class Table:
    """``estimate``, ``low`` and ``high`` frames of the same shape (a 95% interval per cell;
    NaN estimate = n/a). ``reference`` rows (predictors whose role is ``reference``: the
    label-noise reference) are shown but never bold."""

    title: str
    estimate: pd.DataFrame
    low: pd.DataFrame
    high: pd.DataFrame
    reference: tuple[str, ...] = ()
    signed: bool = False
    """Differences: shown with their sign, ``*`` where the interval excludes 0, no bold."""
    detectable: dict = field(default_factory=dict)
    """Column -> the smallest difference the run would detect (differences tables)."""
    incomplete: dict = field(default_factory=dict)
    """Column -> the seeds it was computed on, where fewer than the results' (a run still in
    progress: the seeds on which every encoder shown has rows)."""
    pending: dict = field(default_factory=dict)
    """Column -> its (source, target) pairs left out because some encoder has no rows on them
    yet (a run still in progress)."""
    absent: dict = field(default_factory=dict)
    """Column -> the rows with no results on it at all (not run, or not yet): shown as
    :data:`ABSENT`, not n/a, which says an encoder ran and cannot read the zoo."""
    progress: tuple[str, ...] = ()
    """Notes on what the results folders still lack (:mod:`analysis.progress`)."""

    def cell(self, row, column, bold: bool = False, latex: bool = False) -> str:
        if row in self.absent.get(column, ()):
            return ABSENT
        m, lo, hi = (frame.loc[row, column] for frame in (self.estimate, self.low, self.high))
        if pd.isna(m):
            return "n/a"
        number = "{:+.3f}" if self.signed else "{:.3f}"
        text = number.format(m)
        if not pd.isna(lo):
            text += f" [{number.format(lo)}, {number.format(hi)}]"
        if self.signed and excludes_zero(lo, hi):
            text += " *"
        if bold:
            return f"\\textbf{{{text}}}" if latex else f"**{text}**"
        return text

    def best(self) -> dict:
        """Column -> the row with the highest estimate (reference rows excluded; none for
        differences)."""
        if self.signed:
            return {}
        candidates = self.estimate.drop(
            index=[r for r in self.reference if r in self.estimate.index]
        )
        return {
            c: candidates[c].astype(float).idxmax()
            for c in candidates.columns
            if candidates[c].notna().any()
        }

    def notes(self) -> list[str]:
        notes = []
        if self.incomplete:
            over = "; ".join(f"{c}: {seed_list(s)}" for c, s in self.incomplete.items())
            notes.append(
                f"{INCOMPLETE} some columns are means over fewer seeds, those on which every "
                f"encoder shown has rows ({over})."
            )
        if self.pending:
            left = "; ".join(
                f"{c}: " + ", ".join(f"{a} → {b}" for a, b in pairs)
                for c, pairs in self.pending.items()
            )
            notes.append(
                f"{INCOMPLETE} zoo pairs some encoder has no rows on yet are left out of every "
                f"encoder's score ({left})."
            )
        if any(self.absent.values()):
            notes.append(
                f"{ABSENT}: no rows on this task (not run, or not yet); n/a: ran, and cannot "
                "read the zoo."
            )
        notes += self.progress
        if self.detectable:
            sizes = ", ".join(f"{c}: {v:.3f}" for c, v in self.detectable.items())
            notes.append(
                "Smallest difference this run detects four times in five (2.8 bootstrap "
                f"standard errors of a paired difference, median over baselines): {sizes}."
            )
        return notes

    def to_markdown(self) -> str:
        best = self.best()
        columns = self.estimate.columns
        header = "| | " + " | ".join(map(str, columns)) + " |"
        lines = [f"**{self.title}**", "", header, "|---" * (len(columns) + 1) + "|"]
        for row in self.estimate.index:
            cells = [self.cell(row, c, best.get(c) == row) for c in columns]
            name = f"*{row}*" if row in self.reference else str(row)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        notes = self.notes()
        return "\n\n".join(["\n".join(lines), *notes])

    def to_latex(self) -> str:
        best = self.best()

        def escape(text) -> str:
            return str(text).replace("_", "\\_").replace("&", "\\&").replace("→", "$\\to$")

        columns = "l" + "c" * len(self.estimate.columns)
        lines = [
            f"% {self.title}",
            *(f"% {note}" for note in self.notes()),
            f"\\begin{{tabular}}{{{columns}}}",
            "\\toprule",
            " & " + " & ".join(escape(c) for c in self.estimate.columns) + " \\\\",
            "\\midrule",
        ]
        for row in self.estimate.index:
            cells = [
                self.cell(row, c, best.get(c) == row, latex=True) for c in self.estimate.columns
            ]
            name = f"\\textit{{{escape(row)}}}" if row in self.reference else escape(row)
            lines.append(f"{name} & " + " & ".join(cells) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines)


def default_variant(rows: pd.DataFrame) -> pd.Series:
    """Rows of an encoder's preset configuration (not an ablation variant)."""
    return rows["variant"].isna() | (rows["variant"] == "")


def references(rows: pd.DataFrame) -> pd.Series:
    """Which rows are a reference's (a boolean mask), not a compared predictor's."""
    return roles(rows) == "reference"


def _pairs(rows: pd.DataFrame, diagonal: bool) -> list[tuple[str, str]]:
    pairs = rows[~references(rows)][["source", "target"]].drop_duplicates()
    pairs = [tuple(p) for p in pairs.itertuples(index=False)]
    return [p for p in pairs if (p[0] == p[1]) == diagonal]


def _scored(rows: pd.DataFrame, experiment: str) -> pd.DataFrame:
    picked = rows[(rows["experiment"] == experiment) & default_variant(rows)].copy()
    picked.loc[picked["status"] != "ok", METRIC] = np.nan
    return picked


TRANSFER_TASKS = {
    "held-out-arch": "held-out architectures",
    "small-to-large": "larger architectures",
}


MIXED_IN_DIST = "mixed zoo, in distribution"


def _tasks(rows: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, list]]:
    """Task name -> (its rows, the (source, target) pairs it averages): in-distribution,
    cross-dataset (off-diagonal average), each cross-architecture direction, in-distribution on
    a mixed zoo (its own column: encoders that read one architecture are n/a there, and would
    be n/a in the whole in-distribution column), and the transfer to held-out and to larger
    architectures of a mixed zoo."""
    columns: dict[str, tuple[pd.DataFrame, list]] = {}
    scored = _scored(rows, "in-dist")
    mixed = tested_on_mixed_zoos(scored)
    in_dist, in_mixed = scored[~mixed], scored[mixed]
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
    if not in_mixed.empty:
        columns[MIXED_IN_DIST] = (in_mixed, _pairs(in_mixed, diagonal=True))
    for experiment, task in TRANSFER_TASKS.items():
        frame = _scored(rows, experiment)
        if not frame.empty:
            columns[task] = (frame, _pairs(frame, diagonal=True))
    return columns


def read_predictions(results: Path, row) -> pd.DataFrame:
    """A scored row's test networks: ``model_id``, ``unit`` (its training run), ``true`` and
    ``predicted`` (for the label-noise reference: the two halves' accuracies)."""
    table = pd.read_csv(row_file(row, "predictions", results))
    table["unit"] = table["run_id"] if "run_id" in table else table["model_id"]
    return table


def _groups(
    frame: pd.DataFrame, pairs: list, results: Path, scorers: list[str], key: str = "encoder"
) -> tuple[list[Group], list[int]]:
    """One :class:`Group` per (pair, seed) where every scorer (a value of column ``key``) has
    predictions, and the seeds of those groups."""
    groups, seeds = [], set()
    if not scorers:  # every encoder n/a on the task
        return groups, []
    for (source, target), seed in sorted(
        {(p, s) for p in pairs for s in frame["seed"].unique()}, key=str
    ):
        here = frame[(frame["target"] == target) & (frame["seed"] == seed)]
        scored = here[(here["source"] == source) | references(here)]
        tables = {r[key]: r for _, r in scored.iterrows()}
        if not all(name in tables for name in scorers):
            continue
        seeds.add(int(seed))
        merged = None
        for name in scorers:
            table = read_predictions(results, tables[name]).set_index("model_id")
            columns = {"true": f"true:{name}", "predicted": f"predicted:{name}"}
            part = table[["unit", "true", "predicted"]].rename(columns=columns)
            merged = part if merged is None else merged.join(part.drop(columns="unit"))
        groups.append(
            Group(
                merged["unit"].to_numpy(),
                {name: merged[f"true:{name}"].to_numpy(float) for name in scorers},
                {name: merged[f"predicted:{name}"].to_numpy(float) for name in scorers},
            )
        )
    return groups, sorted(seeds)


def _readable(frame: pd.DataFrame, pairs: list, encoder: str) -> bool:
    """Whether ``encoder`` scored every pair of the task (not n/a) on some seed."""
    mine = frame[frame["encoder"] == encoder].set_index(["source", "target"])
    return all(p in mine.index and mine.loc[[p], METRIC].notna().all() for p in pairs)


class _Cells:
    """A table's estimates and interval ends, filled a cell at a time."""

    def __init__(self, index: list[str], columns: list[str]):
        self.estimate = pd.DataFrame(index=index, columns=columns, dtype=float)
        self.low, self.high = self.estimate.copy(), self.estimate.copy()

    def put(self, row: str, column: str, interval) -> None:
        self.estimate.loc[row, column] = interval.estimate
        self.low.loc[row, column] = interval.low
        self.high.loc[row, column] = interval.high


def _task_scorers(
    frame: pd.DataFrame, pairs: list, encoders: list[str], shown: list[str]
) -> tuple[list, list[str], list[str], list]:
    """Of one task: (the pairs it is scored on, who is scored, who is absent, the pairs left
    out because some encoder has not reached them yet)."""
    wanted = set(pairs)
    on_pairs = [p in wanted for p in zip(frame["source"], frame["target"], strict=True)]
    ran = frame[~references(frame) & np.array(on_pairs, dtype=bool)]
    absent = [e for e in encoders if e not in set(ran["encoder"])]
    ran = ran[ran["encoder"].isin(ran.loc[ran[METRIC].notna(), "encoder"])]  # not all n/a
    ran_pairs = {  # (a groupby-apply of sets unpacks them when one encoder ran)
        name: set(zip(f["source"], f["target"], strict=True)) for name, f in ran.groupby("encoder")
    }
    left_out = [p for p in pairs if not all(p in done for done in ran_pairs.values())]
    waiting = []
    if left_out and len(left_out) < len(pairs):
        waiting = left_out
        pairs = [p for p in pairs if p not in left_out]
    elif left_out:  # no pair every encoder has reached: those that have not wait
        absent += [e for e, done in ran_pairs.items() if not set(pairs) <= done]
    scorers = [e for e in encoders if e not in absent and _readable(frame, pairs, e)]
    # a reference is scored where it has rows on every target (else it would leave out, for
    # every encoder, the pairs it has not reached yet)
    targets = {t for _, t in pairs}
    reached = frame[references(frame)].groupby("encoder")["target"].agg(set)
    for name in shown:
        if name in reached and targets <= reached[name]:
            scorers.append(name)
        else:
            absent.append(name)
    return pairs, scorers, absent, waiting


PAIRED = "paired bootstrap over the test splits' training runs"


def _absent_differences(absent: dict, encoder: str, others: list[str]) -> dict:
    """Per task, the differences that are not shown: all of them where ``encoder`` is absent,
    else those with an absent encoder."""
    return {
        t: gone
        for t, names in absent.items()
        if (gone := others if encoder in names else [o for o in others if o in names])
    }


def comparison_tables(
    rows: pd.DataFrame, results: str | Path, encoder: str = "sne", seed: int = 0
) -> tuple[Table, Table]:
    """The summary (every encoder's tau per task, :func:`_tasks`) and ``encoder`` minus each
    other encoder, from one paired bootstrap per task over the saved predictions."""
    results = Path(results)
    columns = _tasks(rows)
    frames = [frame for frame, _ in columns.values()]
    encoders = sorted({e for f in frames for e in f.loc[~references(f), "encoder"]})
    shown = sorted({e for f in frames for e in f.loc[references(f), "encoder"]})
    scores = _Cells([*encoders, *shown], list(columns))
    others = [e for e in encoders if e != encoder]
    gaps = _Cells(others, list(columns))
    detectable, incomplete, pending, absent = {}, {}, {}, {}
    all_seeds = rows["seed"].nunique()
    for task, (frame, task_pairs) in columns.items():
        pairs, scorers, absent[task], waiting = _task_scorers(frame, task_pairs, encoders, shown)
        if waiting:
            pending[task] = waiting
        differences = [(encoder, o) for o in others if encoder in scorers and o in scorers]
        groups, seeds = _groups(frame, pairs, results, scorers)
        if not groups:
            continue
        if len(seeds) < all_seeds:
            incomplete[task] = seeds
        found = task_intervals(groups, scorers, differences, seed=seed)
        for name in scorers:
            scores.put(name, task, found[name])
        for pair in differences:
            gaps.put(pair[1], task, found[pair])
        if differences:
            detectable[task] = detectable_difference(found)
    seeds = f"{all_seeds} seeds" if not incomplete else "the seeds in the note"
    about = f"mean over {seeds} (and a task's zoo pairs); [95% interval]: {PAIRED}"
    notes = {"incomplete": incomplete, "pending": pending}
    summary = Table(
        f"Kendall tau on the test split, {about}",
        scores.estimate,
        scores.low,
        scores.high,
        tuple(shown),
        absent={t: names for t, names in absent.items() if names},
        **notes,
    )
    difference = Table(
        f"{encoder} minus each encoder, Kendall tau, {about}; * the interval excludes 0",
        gaps.estimate,
        gaps.low,
        gaps.high,
        (),
        signed=True,
        detectable=detectable,
        absent=_absent_differences(absent, encoder, others),
        **notes,
    )
    return summary, difference


def cross_dataset_matrix(rows: pd.DataFrame, encoder: str) -> Table:
    """Source x target Kendall tau of one encoder (the diagonal is in-distribution): mean over
    seeds, [lowest, highest] seed."""
    frame = _scored(rows, "cross-dataset")
    frame = frame[frame["encoder"] == encoder]
    stats = frame.groupby(["source", "target"])[METRIC].agg(["mean", "min", "max"])
    mean = stats["mean"].unstack("target")
    low = stats["min"].unstack("target").reindex_like(mean)
    high = stats["max"].unstack("target").reindex_like(mean)
    return Table(
        f"{encoder}: cross-dataset Kendall tau (rows: trained on, columns: tested on), mean "
        "over seeds [lowest, highest seed]",
        mean,
        low,
        high,
        (),
    )


def ablation_table(rows: pd.DataFrame, results: str | Path, seed: int = 0) -> pd.DataFrame:
    """Variant -> tau with its 95% interval, its difference from the encoder's preset
    configuration with an interval (one paired bootstrap over every variant's predictions),
    train seconds and peak memory (means); ``preset`` marks the preset configuration's job under
    each factor's name for it (no difference is computed for those: it is the same job)."""
    frame = rows[(rows["experiment"] == "ablate") & ~references(rows)].copy()
    if frame.empty:
        return pd.DataFrame()
    frame = frame[frame["status"] == "ok"]
    frame[["factor", "value"]] = frame["variant"].str.split("=", n=1, expand=True)
    variants = list(dict.fromkeys(frame["variant"]))
    base = _base_variant(frame)
    # the preset's aliases (pooling=mean, positional=True, ... are the preset's own job)
    presets = set()
    if base is not None:
        presets = set(frame.loc[frame["config"] == _config_of(frame, base), "variant"])
    pairs = sorted({(s, t) for s, t in zip(frame["source"], frame["target"], strict=True)})
    groups, seeds = _groups(frame, pairs, Path(results), variants, key="variant")
    gaps = [(v, base) for v in variants if base is not None and v not in presets]
    found = task_intervals(groups, variants, gaps, seed)
    table = frame.groupby(["factor", "value", "variant"]).agg(
        train_seconds=("train_seconds", "mean"),
        peak_rss_mb=("peak_rss_mb", "mean"),
        seeds=("seed", "nunique"),
    )
    table = table.reset_index()
    table["preset"] = table["variant"].isin(presets)
    table["tau"] = [found[v].estimate for v in table["variant"]]
    table["tau_low"] = [found[v].low for v in table["variant"]]
    table["tau_high"] = [found[v].high for v in table["variant"]]
    for column, attribute in (("gap", "estimate"), ("gap_low", "low"), ("gap_high", "high")):
        table[column] = [
            getattr(found[(v, base)], attribute) if (v, base) in found else np.nan
            for v in table["variant"]
        ]
    order = {factor: i for i, factor in enumerate(dict.fromkeys(frame["factor"]))}
    table["_factor"] = table["factor"].map(order)
    table["_value"] = pd.to_numeric(table["value"], errors="coerce")
    table = table.sort_values(["_factor", "_value", "value"], kind="stable")
    table = table.drop(columns=["_factor", "_value"]).reset_index(drop=True)
    table.attrs["base"] = base
    table.attrs["detectable"] = detectable_difference(found)
    if len(seeds) < frame["seed"].nunique():
        table.attrs["incomplete_seeds"] = seeds
    return table


def _config_of(frame: pd.DataFrame, variant: str) -> str:
    return frame.loc[frame["variant"] == variant, "config"].iloc[0]


def _base_variant(frame: pd.DataFrame) -> str | None:
    """The variant with the preset configuration: the one whose job has aliases under every
    factor, i.e. the settings that several variant names share; ``None`` while that job has no
    rows (an ablation in progress: no other variant may stand in for it) or with one factor,
    whose base value has no alias to tell it by."""
    shared = frame.groupby("config")["variant"].nunique()
    if shared.empty or shared.max() < 2:
        return None
    return sorted(frame.loc[frame["config"] == shared.idxmax(), "variant"])[0]


def ablation_markdown(table: pd.DataFrame, progress: tuple[str, ...] = ()) -> str:
    """The ablation table; ``progress``: what the run still has to do (:mod:`analysis.progress`),
    said under the title."""
    base = table.attrs.get("base")
    preset = f"({base} and its equals)" if base else "(no rows of it yet, so no differences)"
    lines = [
        "**SNE ablations** (one factor at a time from the preset configuration "
        f"{preset}; Kendall tau [95% interval], and the difference from the "
        "preset configuration, paired; * the interval excludes 0)",
        "",
        "| factor | value | Kendall tau | minus preset | train s | peak RSS (MB) |",
        "|---|---|---|---|---|---|",
    ]
    notes = list(progress)
    seeds = table.attrs.get("incomplete_seeds")
    if seeds is not None:
        notes.append(
            f"{INCOMPLETE} Kendall tau over the seeds on which every variant has rows: "
            f"{seed_list(seeds)}."
        )
    for note in reversed(notes):
        lines[1:1] = ["", note]
    for r in table.itertuples(index=False):
        tau = f"{r.tau:.3f} [{r.tau_low:.3f}, {r.tau_high:.3f}]"
        if r.preset:
            gap = "(preset)"
        elif pd.isna(r.gap):
            gap = "—"
        else:
            mark = " *" if excludes_zero(r.gap_low, r.gap_high) else ""
            gap = f"{r.gap:+.3f} [{r.gap_low:+.3f}, {r.gap_high:+.3f}]{mark}"
        lines.append(
            f"| {r.factor} | {r.value} | {tau} | {gap} | {r.train_seconds:.1f} | "
            f"{r.peak_rss_mb:.0f} |"
        )
    detectable = table.attrs.get("detectable", float("nan"))
    if not np.isnan(detectable):
        lines += [
            "",
            "Smallest difference from the preset this run detects four times in five (2.8 "
            f"bootstrap standard errors of a paired difference, median over variants): "
            f"{detectable:.3f}.",
        ]
    return "\n".join(lines)


def learning_curve_table(rows: pd.DataFrame, results: str | Path, seed: int = 0) -> pd.DataFrame:
    """Per training-set size (``networks``) and encoder: Kendall tau on the fixed test split
    with its 95% interval, from one paired bootstrap per size over the seeds on which every
    encoder of that size has rows (``seeds``), and SNE minus the encoder (``gap``, paired)
    where SNE is among them."""
    frame = rows[(rows["experiment"] == "learning-curve") & (rows["status"] == "ok")].copy()
    if frame.empty:
        return pd.DataFrame()
    frame["networks"] = frame["variant"].str.removeprefix(f"{LEARNING_CURVE}=").astype(int)
    records = []
    for size, part in frame.groupby("networks", sort=True):
        encoders = sorted(set(part["encoder"]))
        pairs = sorted({(s, t) for s, t in zip(part["source"], part["target"], strict=True)})
        groups, seeds = _groups(part, pairs, Path(results), encoders)
        if not groups:
            continue
        gaps = [("sne", e) for e in encoders if e != "sne" and "sne" in encoders]
        found = task_intervals(groups, encoders, gaps, seed)
        for encoder in encoders:
            gap = found.get(("sne", encoder))
            records.append(
                {
                    "networks": int(size),
                    "encoder": encoder,
                    "tau": found[encoder].estimate,
                    "tau_low": found[encoder].low,
                    "tau_high": found[encoder].high,
                    "gap": np.nan if gap is None else gap.estimate,
                    "gap_low": np.nan if gap is None else gap.low,
                    "gap_high": np.nan if gap is None else gap.high,
                    "seeds": len(seeds),
                    "n_train": float(part.loc[part["encoder"] == encoder, "n_train"].mean()),
                }
            )
    return pd.DataFrame(records)


def _size_row(cells: pd.DataFrame, encoder: str, sizes: list[int], cell) -> str:
    """One markdown row of ``encoder``: ``cell(row)`` per size, a dash where it has none."""
    texts = []
    for n in sizes:
        r = cells.loc[(encoder, n)] if (encoder, n) in cells.index else None
        texts.append("—" if r is None else cell(r))
    return f"| {encoder} | " + " | ".join(texts) + " |"


def _gap_cell(r) -> str:
    if pd.isna(r["gap"]):
        return "—"
    mark = " *" if excludes_zero(r["gap_low"], r["gap_high"]) else ""
    return f"{r['gap']:+.3f} [{r['gap_low']:+.3f}, {r['gap_high']:+.3f}]{mark}"


def learning_curve_markdown(table: pd.DataFrame) -> str:
    """Encoders down, training-set sizes across: Kendall tau [95% interval]; then SNE minus
    each encoder at each size, paired (* the interval excludes 0)."""
    sizes = sorted(set(table["networks"]))
    seeds = sorted(set(table["seeds"]))
    head = "| | " + " | ".join(f"{n} networks" for n in sizes) + " |"
    rule = "|---" * (len(sizes) + 1) + "|"
    lines = [
        "**Learning curves** (Kendall tau on one fixed test split against the number of "
        "training networks, train and validation together; 95% intervals from a paired "
        f"bootstrap over test runs and {', '.join(map(str, seeds))} seeds)",
        "",
        head,
        rule,
    ]
    cells = table.set_index(["encoder", "networks"])
    tau = lambda r: f"{r['tau']:.3f} [{r['tau_low']:.3f}, {r['tau_high']:.3f}]"  # noqa: E731
    lines += [_size_row(cells, e, sizes, tau) for e in sorted(set(table["encoder"]))]
    gaps = table.dropna(subset=["gap"])
    if not gaps.empty:
        lines += ["", "SNE minus each encoder (paired; `*`: the 95% interval excludes 0):", ""]
        lines += [head, rule]
        lines += [_size_row(cells, e, sizes, _gap_cell) for e in sorted(set(gaps["encoder"]))]
    return "\n".join(lines)


NEAR_CHANCE = 0.02
"""A network within 2 accuracy points of chance (``1 / num_classes``) counts as near chance."""


def zoo_table(zoos: dict[str, Path]) -> pd.DataFrame:
    """Per zoo, its final checkpoints (finite ones): runs, test images, the share near chance,
    the test-accuracy quartiles, and the label-noise reference (Kendall tau between the
    accuracies on the two halves of the test set, over every run)."""
    from nnenc import load_zoo
    from nnenc.metrics import kendall_tau
    from nnenc.zoo.splits import final_checkpoints

    records = []
    for name, path in zoos.items():
        zoo = load_zoo(path)
        final = final_checkpoints(zoo).filter(finite=True).metrics
        dataset = zoo.info.get("build", {}).get("dataset", {})
        classes = dataset.get("num_classes", 10)
        accuracy = final["test_accuracy"].to_numpy(float)
        quartiles = np.quantile(accuracy, [0.25, 0.5, 0.75])
        records.append(
            {
                "zoo": name,
                "runs": zoo.metrics["run_id"].nunique(),
                "finite_runs": final["run_id"].nunique(),
                "test_images": dataset.get("test", np.nan),
                "near_chance": float(np.mean(np.abs(accuracy - 1 / classes) <= NEAR_CHANCE)),
                "q25": quartiles[0],
                "median": quartiles[1],
                "q75": quartiles[2],
                "label_noise": kendall_tau(
                    final["test_accuracy_half1"].to_numpy(float),
                    final["test_accuracy_half2"].to_numpy(float),
                ),
            }
        )
    return pd.DataFrame(records)


def zoo_markdown(table: pd.DataFrame) -> str:
    lines = [
        "**The zoos** (each run's final checkpoint; near chance: within 2 points of 1/10; "
        "label-noise reference: Kendall tau between the two halves of the test set)",
        "",
        "| zoo | runs (finite) | test images | near chance | test accuracy quartiles | "
        "label-noise reference |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples(index=False):
        images = "?" if pd.isna(r.test_images) else f"{int(r.test_images):,}"
        lines.append(
            f"| {r.zoo} | {r.runs:,} ({r.finite_runs:,}) | {images} | {r.near_chance:.0%} | "
            f"{r.q25:.3f} / {r.median:.3f} / {r.q75:.3f} | {r.label_noise:.3f} |"
        )
    return "\n".join(lines)
