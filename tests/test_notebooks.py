"""Every notebook runs top to bottom in a fresh kernel on tiny settings, and is stored without
outputs."""

import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _execute(name: str, parameters: dict, cwd: Path) -> nbformat.NotebookNode:
    """Run ``name`` with ``parameters`` injected after its ``parameters`` cell (papermill's
    convention) in a fresh kernel; any cell that raises fails the run."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    tagged = [i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name}: needs exactly one cell tagged 'parameters'"
    injected = "\n".join(f"{key} = {value!r}" for key, value in parameters.items())
    notebook.cells.insert(tagged[0] + 1, nbformat.v4.new_code_cell(injected))
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return notebook


def _assert_git_ignores_what_it_wrote(cwd: Path) -> None:
    """Everything a notebook wrote into its folder (``cwd`` stands for ``notebooks/``) is
    ignored by the repository's .gitignore: run from a clone, it leaves ``git status`` clean."""
    root = NOTEBOOKS.parent
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    written = sorted(cwd.iterdir())
    assert written, "the notebook wrote nothing: nothing to check"
    paths = [f"notebooks/{p.name}" + ("/any-file" if p.is_dir() else "") for p in written]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], cwd=root, capture_output=True, text=True
    ).stdout.split()
    assert sorted(ignored) == sorted(paths), f"not git-ignored: {set(paths) - set(ignored)}"


def _outputs(notebook) -> str:
    return "\n".join(
        output.get("text", "") + str(output.get("data", {}).get("text/markdown", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def test_quickstart_runs(tmp_path):
    parameters = {"runs": 8, "epochs": 1, "resolution": 16, "train_epochs": 1}
    notebook = _execute("01_quickstart.ipynb", parameters, tmp_path)
    text = _outputs(notebook)
    assert "measured test accuracy" in text and "saved and reloaded" in text
    assert (tmp_path / "quickstart-work" / "sne-model" / "weights.safetensors").is_file()
    _assert_git_ignores_what_it_wrote(tmp_path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("02_cross_dataset.ipynb", "label-noise reference"),
        ("03_cross_architecture.ipynb", "cross-architecture directions"),
        ("04_ablations.ipynb", "chunk_size"),
    ],
)
def test_results_notebooks_run_on_saved_results(name, expected, tiny_bench, tmp_path):
    _, results, _ = tiny_bench
    notebook = _execute(name, {"results_dir": str(results)}, tmp_path)
    assert expected in _outputs(notebook)
    _assert_git_ignores_what_it_wrote(tmp_path)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: strip outputs"
            )
