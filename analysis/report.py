"""``nnenc report RESULTS [MORE ...] [--out DIR]``: tables and figures from saved results folders,
no retraining."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from analysis import plots
from analysis.combine import combine_results
from analysis.convergence import convergence_markdown, convergence_table, training_histories
from analysis.progress import missing_runs, progress_note
from analysis.results import ResultsStore, resume_command
from analysis.tables import (
    Table,
    ablation_markdown,
    ablation_table,
    comparison_tables,
    cross_dataset_matrix,
    learning_curve_markdown,
    learning_curve_table,
    references,
    zoo_markdown,
    zoo_table,
)
from nnenc.io.atomic import atomic_path, write_csv


def _write(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")


def _write_table(folder: Path, name: str, table: Table) -> str:
    """``name``.md and ``name``.tex; returns the markdown."""
    markdown = table.to_markdown()
    _write(folder / f"{name}.md", markdown)
    _write(folder / f"{name}.tex", table.to_latex())
    return markdown


def _preamble(meta: dict) -> str:
    """What the tables are: the preset, its protocol, and whether they are a smoke test."""
    config = meta.get("config", {})
    protocol = config.get("protocol", "all-checkpoints (results written before protocols)")
    protocol = {
        "final": "each run's final checkpoint, split by training run",
        "all-checkpoints": "every checkpoint of every run, split by training run",
    }.get(protocol, protocol)
    split = config.get("split", "?")
    text = (
        f"Preset `{config.get('name', '?')}`: networks drawn as {protocol} "
        f"(train/val/test fractions {split}), seeds {config.get('seeds', '?')}."
    )
    if meta.get("combined"):
        text += f" Rows of {', '.join(f'`{f}`' for f in meta['combined'])}, read as one."
        for note in meta.get("settings_notes", []):
            text += f" Note: {note}."
    if config.get("name") == "quick":
        text = (
            "**A smoke test** (the quick preset: small zoos, short trainings): it shows the "
            "pipeline runs, not how the encoders compare. " + text
        )
    return text


def _progress(folder: str | Path, experiment: str | None = None) -> str:
    """What ``folder``'s preset still has to run (:mod:`analysis.progress`), of ``experiment``
    or of all, or ``""``."""
    store = ResultsStore(folder)
    missing = missing_runs(store.meta, store.rows())
    missing = [m for m in missing if experiment in (None, m.experiment)]
    if not missing:
        return ""
    return progress_note(missing, resume_command(store.meta, folder, store.precisions()))


class _Report:
    """What ``nnenc report`` gathers: titled markdown sections and the figures drawn, written
    as ``REPORT.md``, the one page that holds them all (the docs' results page includes it)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.sections: list[tuple[str, str]] = []
        self.figures: list[tuple[str, Path]] = []

    def add(self, title: str, markdown: str) -> None:
        self.sections.append((title, markdown))

    def figure(self, title: str, figure, name: str) -> None:
        written = plots.save(figure, self.target / "figures" / name)
        self.figures += [(title, path) for path in written if path.suffix == ".png"]

    def text(self) -> str:
        """The tables' markdown, as printed by ``nnenc report``."""
        return "\n\n".join(markdown for _, markdown in self.sections)

    def page(self, sources: list[Path]) -> str:
        names = ", ".join(f"`{Path(folder).as_posix()}`" for folder in sources)
        blocks = [
            f"# Results: {names}",
            "Written by `nnenc report` from the rows; "
            "every table is also in `tables/` (markdown and LaTeX), every figure in "
            "`figures/` (PNG and PDF).",
        ]
        for title, markdown in self.sections:
            blocks += [f"## {title}", markdown] if title else [markdown]
        if self.figures:
            blocks.append("## Figures")
        for title, path in self.figures:
            blocks += [f"### {title}", f"![{title}]({path.relative_to(self.target).as_posix()})"]
        return "\n\n".join(blocks)


def write_report(results: str | Path, *more: str | Path, out: str | Path | None = None) -> str:
    """Write ``tables/`` (markdown + LaTeX), ``figures/`` (PNG + PDF) and ``REPORT.md`` (every
    table and figure on one page) into ``out`` (default: ``results``); returns the markdown of
    the tables. With ``more`` folders, their rows are read with ``results``' as one comparison
    (:func:`analysis.combine.combine_results`), and ``out`` must be given: each folder keeps
    its own report."""
    results = Path(results)
    if more and out is None:
        raise ValueError(
            "a report of several results folders needs --out, a folder of its own (each "
            "results folder keeps its own report)"
        )
    combined = combine_results([results, *more])
    rows, meta = combined.rows, combined.meta
    if rows.empty:
        raise ValueError(f"{results}: no results yet; run `{resume_command(meta, results)}` first")
    target = Path(out) if out is not None else results
    tables = target / "tables"
    report = _Report(target)
    report.add("", _preamble(meta))
    zoos = {name: Path(path) for name, path in meta.get("zoos", {}).items()}
    zoos = {name: path for name, path in zoos.items() if (path / "manifest.json").is_file()}
    if zoos:
        table = zoo_table(zoos)
        write_csv(table, tables / "zoos.csv")
        text = zoo_markdown(table)
        report.add("Zoos", text)
        _write(tables / "zoos.md", text)
    progress = tuple(_progress(folder) for folder in [results, *more])
    progress = tuple(note for note in progress if note)
    for note in progress:
        report.add("Still to run", note)
    summary, difference = comparison_tables(rows, results)
    summary, difference = (replace(t, progress=progress) for t in (summary, difference))
    if len(summary.estimate.columns):
        report.add("Kendall tau per task", _write_table(tables, "summary", summary))
        if "sne" in set(rows["encoder"]):
            text = _write_table(tables, "sne-vs-baselines", difference)
            report.add("SNE minus each encoder", text)
        report.figure("Kendall tau per task", plots.task_bars(summary, difference), "tasks")
    _cross_dataset(report, rows, results, tables)
    ablations = ablation_table(rows, results)
    if not ablations.empty:
        pending = tuple(n for n in (_progress(f, "ablate") for f in [results, *more]) if n)
        text = ablation_markdown(ablations, pending)
        _write(tables / "ablations.md", text)
        write_csv(ablations, tables / "ablations.csv")
        report.add("SNE ablations", text)
        incomplete = bool(pending) or "incomplete_seeds" in ablations.attrs
        report.figure(
            "SNE ablations: tau against time and memory",
            plots.ablation_curves(ablations, incomplete),
            "ablations",
        )
    _training(report, rows, [results, *more], tables)
    report.figure(
        "Predicted against true, best run", plots.best_scatter(rows, results), "best-scatter"
    )
    _write(target / "REPORT.md", report.page([results, *more]))
    return report.text()


def _cross_dataset(report: _Report, rows, results: Path, tables: Path) -> None:
    """The source x target matrices, their heatmaps and the encodings' embeddings."""
    cross = rows[rows["experiment"] == "cross-dataset"]
    for encoder in sorted(set(cross.loc[~references(cross), "encoder"])):
        matrix = cross_dataset_matrix(rows, encoder)
        text = _write_table(tables, f"cross-dataset-{encoder}", matrix)
        report.add(f"Cross-dataset, {encoder}: source x target", text)
    if not cross.empty:
        report.figure(
            "Cross-dataset heatmaps", plots.cross_dataset_heatmaps(rows), "cross-dataset-heatmaps"
        )
        embedding = plots.encoding_embedding(rows, results, "cross-dataset")
        report.figure("Encodings across datasets (PCA)", embedding, "embedding-cross-dataset")
    if (rows["experiment"] == "cross-arch").any():
        embedding = plots.encoding_embedding(rows, results, "cross-arch")
        report.figure("Encodings across architectures (PCA)", embedding, "embedding-cross-arch")


def _training(report: _Report, rows, folders: list[Path], tables: Path) -> None:
    """Learning curves over training-set sizes, and how each training converged."""
    curves = learning_curve_table(rows, folders[0])
    if not curves.empty:
        write_csv(curves, tables / "learning-curves.csv")
        text = learning_curve_markdown(curves)
        report.add("Learning curves", text)
        _write(tables / "learning-curves.md", text)
        report.figure("Learning curves", plots.learning_curves(curves), "learning-curves")
    histories = training_histories(folders)
    if not histories.empty:
        convergence = convergence_table(histories)
        write_csv(convergence, tables / "convergence.csv")
        text = convergence_markdown(convergence)
        report.add("Convergence", text)
        _write(tables / "convergence.md", text)
        curves = plots.validation_curves(histories, convergence)
        report.figure("Validation curves", curves, "validation-curves")
