"""``nnenc report RESULTS``: tables and figures from a saved results folder, no retraining."""

from __future__ import annotations

from pathlib import Path

from analysis import plots
from analysis.jobs import LABEL_NOISE
from analysis.results import ResultsStore
from analysis.tables import (
    Table,
    ablation_markdown,
    ablation_table,
    cross_dataset_matrix,
    difference_table,
    summary_table,
)
from nnenc.zoo.atomic import atomic_path, write_csv


def _write(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")


def _write_table(folder: Path, name: str, table: Table) -> str:
    """``name``.md and ``name``.tex; returns the markdown."""
    markdown = table.to_markdown()
    _write(folder / f"{name}.md", markdown)
    _write(folder / f"{name}.tex", table.to_latex())
    return markdown


def write_report(results: str | Path) -> str:
    """Write ``tables/`` (markdown + LaTeX) and ``figures/`` (PNG + PDF) into ``results``;
    returns the markdown of the tables."""
    results = Path(results)
    rows = ResultsStore(results).rows()
    if rows.empty:
        raise ValueError(f"{results}: no results yet; run `nnenc bench ... --out {results}` first")
    tables, figures = results / "tables", results / "figures"
    sections = []
    summary = summary_table(rows)
    if len(summary.mean.columns):
        sections.append(_write_table(tables, "summary", summary))
        plots.task_bars(summary, figures / "tasks")
        if "sne" in set(rows["encoder"]):
            sections.append(_write_table(tables, "sne-vs-baselines", difference_table(rows)))
    cross = rows[rows["experiment"] == "cross-dataset"]
    for encoder in sorted(set(cross["encoder"]) - {LABEL_NOISE}):
        matrix = cross_dataset_matrix(rows, encoder)
        sections.append(_write_table(tables, f"cross-dataset-{encoder}", matrix))
    if not cross.empty:
        plots.cross_dataset_heatmaps(rows, figures / "cross-dataset-heatmaps")
        plots.encoding_embedding(
            rows, results, figures / "embedding-cross-dataset", "cross-dataset"
        )
    if (rows["experiment"] == "cross-arch").any():
        plots.encoding_embedding(rows, results, figures / "embedding-cross-arch", "cross-arch")
    ablations = ablation_table(rows)
    if not ablations.empty:
        text = ablation_markdown(ablations)
        _write(tables / "ablations.md", text)
        write_csv(ablations, tables / "ablations.csv")
        sections.append(text)
        plots.ablation_curves(ablations, figures / "ablations")
    plots.best_scatter(rows, results, figures / "best-scatter")
    return "\n\n".join(sections)
