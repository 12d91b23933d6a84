"""The documentation says what the code does: the README's examples run, the guarantees page
names tests that exist, the encoders page documents every registered encoder's keys, and the
speed page's figures files round-trip."""

import inspect
import re
from pathlib import Path

import pytest

from analysis.speed import COLUMNS, read, record, speed_markdown
from nnenc.encoders import encoder_names
from nnenc.encoders.base import ENCODERS, encoder_class
from nnenc.predict.registry import PREDICTORS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def test_readme_python_examples_run(tmp_path, monkeypatch):
    """Every ```python block of the README, in order, in one namespace, in a fresh folder; the
    encoder it registers is taken out of the registry afterwards."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 2, "the README has lost its Python examples"
    monkeypatch.chdir(tmp_path)
    ENCODERS.names()  # load the entry points before the registry is copied
    monkeypatch.setattr(ENCODERS, "_classes", dict(ENCODERS._classes))
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert (tmp_path / "example-model" / "weights.safetensors").is_file()
    assert "weight-moments" in ENCODERS.names()


def test_the_readme_stays_short():
    assert len(README.read_text().splitlines()) <= 250


def test_every_test_the_guarantees_name_exists():
    """The guarantees page's table names its tests: each must be in tests/."""
    page = (DOCS / "guarantees.md").read_text()
    named = []
    for cell in re.findall(r"^\|.*\| (`.*`) \|$", page, flags=re.MULTILINE):
        file = None
        for ref in re.findall(r"`([^`]+)`", cell):
            module, _, test = ref.rpartition("::")
            file = module or file
            named.append((file, test))
    assert len(named) >= 10
    missing = [f"{f}::{t}" for f, t in named if f"def {t}(" not in (ROOT / "tests" / f).read_text()]
    assert not missing, missing


def _section(page: str, name: str) -> str:
    found = re.search(rf"^## `{re.escape(name)}`\n(.*?)(?=^## |\Z)", page, re.M | re.S)
    assert found, f"docs/encoders.md has no section for {name}"
    return found.group(1)


@pytest.mark.parametrize("name", sorted({*encoder_names(), *PREDICTORS.names()} - {"label-noise"}))
def test_the_encoders_page_documents_every_key(name):
    """Each registered encoder (and STATNN's trees) has a section with a formula or its
    definition, and names every constructor argument, the `--set` keys."""
    cls = PREDICTORS.find(name) or encoder_class(name)
    section = _section((DOCS / "encoders.md").read_text(), name)
    keys = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")]
    missing = [key for key in keys if f"`{key}`" not in section]
    assert not missing, f"{name}: docs/encoders.md does not name {missing}"


def test_speed_figures_round_trip_into_the_speed_table(tmp_path):
    """record appends rows with where they came from; speed_markdown draws them newest first;
    a file of other columns is refused, naming it."""
    for value in (1.5, 2.25):
        record(
            "demo",
            {"training": (value, "networks/s")},
            threads=2,
            precision="fp32",
            command="python benchmarks/demo.py",
            folder=tmp_path,
        )
    rows = read(tmp_path / "demo.csv")
    assert [row["value"] for row in rows] == ["1.5", "2.25"]
    assert rows[0]["native_bf16"] in {"yes", "no"} and rows[0]["cpu"]
    table = speed_markdown(tmp_path)
    assert "### `benchmarks/demo.py`" in table and "| training | 2.25 networks/s |" in table
    assert table.index("| training | 1.5 networks/s |") < table.index("2.25")  # one run, in order
    assert "threads, fp32, commit" in table and "`python benchmarks/demo.py`" in table
    torn = (tmp_path / "demo.csv").read_text().splitlines()
    torn[1] = torn[1].replace(",2,fp32,", ",2,fp32,extra,")  # an unquoted comma
    (tmp_path / "demo.csv").write_text("\n".join(torn) + "\n")
    with pytest.raises(ValueError, match=r"demo\.csv, line 2: .*quote a field"):
        read(tmp_path / "demo.csv")
    (tmp_path / "demo.csv").unlink()
    (tmp_path / "bad.csv").write_text("date,value\n2026-01-01,3\n")
    with pytest.raises(ValueError, match=r"bad\.csv: columns"):
        speed_markdown(tmp_path)


def test_the_committed_speed_files_read():
    """Every figures file under benchmarks/results has the columns and a date on each row."""
    files = sorted((ROOT / "benchmarks" / "results").glob("*.csv"))
    assert files
    for path in files:
        rows = read(path)
        assert rows, path
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["date"]) for row in rows), path
        assert set(rows[0]) == set(COLUMNS)


def test_the_top_level_names_the_docs_use_are_there():
    """``nnenc.create_encoder``, ``nnenc.PerformancePredictor`` and ``nnenc.load_zoo`` are the
    names the getting-started page uses; each is the object its module defines."""
    import nnenc
    from nnenc.encoders.base import create_encoder
    from nnenc.predict.performance import PerformancePredictor
    from nnenc.zoo.loading import load_zoo

    assert nnenc.create_encoder is create_encoder
    assert nnenc.PerformancePredictor is PerformancePredictor
    assert nnenc.load_zoo is load_zoo
    assert {"create_encoder", "PerformancePredictor", "load_zoo"} <= set(nnenc.__all__)
