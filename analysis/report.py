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


def write_report(results: str | Path, *more: str | Path, out: str | Path | None = None) -> str:
    """Write ``tables/`` (markdown + LaTeX) and ``figures/`` (PNG + PDF) into ``out`` (default:
    ``results``); returns the markdown of the tables. With ``more`` folders, their rows are read
    with ``results``' as one comparison (:func:`analysis.combine.combine_results`), and ``out``
    must be given: each folder keeps its own report."""
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
    tables, figures = target / "tables", target / "figures"
    sections = [_preamble(meta)]
    zoos = {name: Path(path) for name, path in meta.get("zoos", {}).items()}
    zoos = {name: path for name, path in zoos.items() if (path / "manifest.json").is_file()}
    if zoos:
        table = zoo_table(zoos)
        write_csv(table, tables / "zoos.csv")
        sections.append(zoo_markdown(table))
        _write(tables / "zoos.md", sections[-1])
    progress = tuple(_progress(folder) for folder in [results, *more])
    progress = tuple(note for note in progress if note)
    sections += progress
    summary, difference = comparison_tables(rows, results)
    summary, difference = (replace(t, progress=progress) for t in (summary, difference))
    if len(summary.estimate.columns):
        sections.append(_write_table(tables, "summary", summary))
        if "sne" in set(rows["encoder"]):
            sections.append(_write_table(tables, "sne-vs-baselines", difference))
        plots.save(plots.task_bars(summary, difference), figures / "tasks")
    cross = rows[rows["experiment"] == "cross-dataset"]
    for encoder in sorted(set(cross.loc[~references(cross), "encoder"])):
        matrix = cross_dataset_matrix(rows, encoder)
        sections.append(_write_table(tables, f"cross-dataset-{encoder}", matrix))
    if not cross.empty:
        plots.save(plots.cross_dataset_heatmaps(rows), figures / "cross-dataset-heatmaps")
        embedding = plots.encoding_embedding(rows, results, "cross-dataset")
        plots.save(embedding, figures / "embedding-cross-dataset")
    if (rows["experiment"] == "cross-arch").any():
        plots.save(
            plots.encoding_embedding(rows, results, "cross-arch"), figures / "embedding-cross-arch"
        )
    ablations = ablation_table(rows, results)
    if not ablations.empty:
        pending = tuple(n for n in (_progress(f, "ablate") for f in [results, *more]) if n)
        text = ablation_markdown(ablations, pending)
        _write(tables / "ablations.md", text)
        write_csv(ablations, tables / "ablations.csv")
        sections.append(text)
        incomplete = bool(pending) or "incomplete_seeds" in ablations.attrs
        plots.save(plots.ablation_curves(ablations, incomplete), figures / "ablations")
    curves = learning_curve_table(rows, results)
    if not curves.empty:
        write_csv(curves, tables / "learning-curves.csv")
        sections.append(learning_curve_markdown(curves))
        _write(tables / "learning-curves.md", sections[-1])
        plots.save(plots.learning_curves(curves), figures / "learning-curves")
    histories = training_histories([results, *more])
    if not histories.empty:
        convergence = convergence_table(histories)
        write_csv(convergence, tables / "convergence.csv")
        sections.append(convergence_markdown(convergence))
        _write(tables / "convergence.md", sections[-1])
        plots.save(plots.validation_curves(histories, convergence), figures / "validation-curves")
    plots.save(plots.best_scatter(rows, results), figures / "best-scatter")
    return "\n\n".join(sections)
