"""Several results folders read as one comparison (analysis/combine.py, ``nnenc report A B
--out C``): a later run adds an encoder to an earlier run's tasks, and folders that would not
pair up are refused."""

import copy
import json
import shutil

import optuna
import pytest
from conftest import TINY_BENCH
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from analysis.combine import combine_results
from analysis.config import BenchConfig
from analysis.report import write_report
from analysis.results import FOLDER, ResultsFormatError, ResultsStore, row_keys, write_table
from analysis.runner import run_benchmark
from analysis.tables import comparison_tables
from analysis.tuning import reuse_searches
from nnenc.cli import main


@pytest.fixture(scope="module")
def two_folders(tiny_bench):
    """The tiny benchmark, and a second run that adds STATNN to its cross-dataset task (its
    preset has SNE too, whose search it shares with the first run's)."""
    _, first, root = tiny_bench
    raw = copy.deepcopy(TINY_BENCH)
    raw["encoders"] = {"sne": TINY_BENCH["encoders"]["sne"], "statnn": {}}
    raw["tuning"]["reuse"] = str(first)
    raw["experiments"] = {"cross-dataset": {"zoos": ["digits", "shapes"], "encoders": ["statnn"]}}
    second = root / "more"
    run_benchmark(
        BenchConfig.from_dict(raw),
        ["cross-dataset"],
        second,
        workers=1,
        progress=False,
        zoo_root=root,
    )
    return first, second, root


def test_a_later_run_adds_its_encoder_to_the_earlier_runs_tables(two_folders, tmp_path):
    first, second, _ = two_folders
    combined = combine_results([first, second])
    rows = combined.rows
    # both ran the label-noise reference: read once
    assert not (row_keys(rows) + "|" + rows["target"]).duplicated().any()
    assert set(rows[FOLDER]) == {str(first), str(second)}
    statnn = rows[rows["encoder"] == "statnn"]
    assert len(statnn) == 2 * 2 * 2 and set(statnn[FOLDER]) == {str(second)}
    # the earlier encoders' numbers are what they were alone; STATNN's are read from its folder
    alone, _ = comparison_tables(ResultsStore(first).rows(), first)
    both, difference = comparison_tables(rows, first)
    for encoder in ("sne", "mlp", "statnn-trees"):
        assert both.estimate.loc[encoder, "cross-dataset"] == pytest.approx(
            alone.estimate.loc[encoder, "cross-dataset"]
        )
    assert both.estimate.loc["statnn", "cross-dataset"] == both.estimate.loc["statnn"].max()
    assert difference.estimate.loc["statnn", "cross-dataset"] == pytest.approx(
        both.estimate.loc["sne", "cross-dataset"] - both.estimate.loc["statnn", "cross-dataset"]
    )

    out = tmp_path / "both"
    assert main(["report", str(first), str(second), "--out", str(out)]) == 0
    text = (out / "tables" / "summary.md").read_text()
    assert "| statnn |" in text and "| sne |" in text
    assert (out / "figures" / "tasks.png").stat().st_size > 1000
    assert not (second / "tables").exists(), "a combined report wrote into a results folder"


def test_the_later_run_shares_the_earlier_search_and_runs_only_its_listed_encoders(two_folders):
    """The same trials, start times included: copied, not run again."""
    first, second, _ = two_folders
    trials = [
        [
            (t.params, t.value, t.datetime_start)
            for t in optuna.load_study(study_name="sne", storage=storage).trials
        ]
        for storage in (
            JournalStorage(JournalFileBackend(str(folder / "tuning" / "sne.log")))
            for folder in (first, second)
        )
    ]
    assert trials[0] == trials[1] and len(trials[0]) == TINY_BENCH["tuning"]["trials"]
    earlier = json.loads((first / "tuning.json").read_text())["choices"]["sne"]
    later = json.loads((second / "tuning.json").read_text())["choices"]["sne"]
    assert later["config"] == earlier["config"] and later["training"] == earlier["training"]
    assert set(ResultsStore(second).rows()["encoder"]) == {"statnn", "label-noise"}


def test_a_search_of_another_spec_is_not_reused(two_folders):
    first, _, root = two_folders
    raw = copy.deepcopy(TINY_BENCH)
    raw["tuning"] = {**raw["tuning"], "trials": 3, "reuse": str(first)}
    zoo = json.loads((first / "meta.json").read_text())["zoos"]["digits"]
    with pytest.raises(ValueError, match=r"tuning.reuse: .* ran other searches: its search spec"):
        reuse_searches(BenchConfig.from_dict(raw), root / "other", zoo)
    assert not (root / "other").exists()


def test_several_folders_need_a_report_folder_of_their_own(two_folders):
    first, second, _ = two_folders
    with pytest.raises(ValueError, match="needs --out"):
        write_report(first, second)


def _edit_meta(folder, change):
    meta = json.loads((folder / "meta.json").read_text())
    change(meta)
    (folder / "meta.json").write_text(json.dumps(meta))


def test_folders_whose_splits_or_tuning_would_not_pair_are_refused(two_folders, tmp_path):
    first, second, _ = two_folders
    seeds = shutil.copytree(second, tmp_path / "seeds")
    _edit_meta(seeds, lambda meta: meta["config"].update(seeds=[0, 1, 2]))
    with pytest.raises(ResultsFormatError, match=r"seeds is \[0, 1, 2\] in .*seeds but \[0, 1\]"):
        combine_results([first, seeds])

    zoo = shutil.copytree(second, tmp_path / "zoo")
    _edit_meta(zoo, lambda meta: meta["zoos"].update(digits="/elsewhere/digits"))
    with pytest.raises(ResultsFormatError, match="zoo 'digits' is /elsewhere/digits"):
        combine_results([first, zoo])

    rebuilt = shutil.copytree(second, tmp_path / "rebuilt")
    _edit_meta(rebuilt, lambda meta: meta["zoo_digests"].update(digits="0" * 64))
    with pytest.raises(ResultsFormatError, match="zoo 'digits' held other networks when"):
        combine_results([first, rebuilt])

    retuned = shutil.copytree(first, tmp_path / "retuned")
    summary = json.loads((retuned / "tuning.json").read_text())
    summary["choices"]["sne"]["training"]["lr"] *= 2
    (retuned / "tuning.json").write_text(json.dumps(summary))
    with pytest.raises(ResultsFormatError, match="sne was tuned to other settings"):
        combine_results([first, retuned])


def test_an_encoder_set_up_otherwise_for_other_experiments_is_read_with_a_note(
    two_folders, tmp_path
):
    """The mixed preset's GMN pads kernels to 5x5 for the mixed zoo's tasks, the full preset's
    reads 3x3 on its own: each table column still holds one configuration, so the folders are
    read as one, and the report says which of its columns ran with which settings. On a shared
    experiment the same difference is refused (the test above)."""
    first, _, _ = two_folders

    def keep_sne_rows(folder, experiment):
        store = ResultsStore(folder)
        rows = store.rows().drop(columns=[FOLDER, "role"], errors="ignore")
        other = (rows["encoder"] == "sne") & (rows["experiment"] != experiment)
        write_table(rows[~other.to_numpy()], folder / "results.csv")

    one = shutil.copytree(first, tmp_path / "one")
    keep_sne_rows(one, "cross-dataset")
    other = shutil.copytree(first, tmp_path / "other")
    keep_sne_rows(other, "cross-arch")
    summary = json.loads((other / "tuning.json").read_text())
    summary["choices"]["sne"]["training"]["lr"] *= 2
    (other / "tuning.json").write_text(json.dumps(summary))
    doubled = summary["choices"]["sne"]["training"]["lr"]
    combined = combine_results([one, other])
    sne = combined.rows[combined.rows["encoder"] == "sne"]
    assert set(sne["experiment"]) == {"cross-dataset", "cross-arch"}
    (note,) = combined.meta["settings_notes"]
    assert note.startswith(f"sne's cross-arch rows (`{other}`) ran with ")
    assert f'"lr": {doubled}' in note.split("; its other rows")[0]
    assert f"Note: {note}." in write_report(one, other, out=tmp_path / "report")


def test_in_distribution_rows_on_a_mixed_zoo_may_run_with_their_own_configuration(
    two_folders, tmp_path
):
    """The full preset's GMN reads 3x3 kernels in distribution, the mixed preset's pads them to
    5x5 in distribution on the mixed zoo: two table columns ("in-distribution" and "mixed zoo,
    in distribution"), one configuration each, so the folders are read as one with a note. The
    same difference on in-distribution rows of single-architecture zoos in both is refused."""
    first, _, _ = two_folders

    def sne_in_dist(folder, tested):
        store = ResultsStore(folder)
        rows = store.rows().drop(columns=[FOLDER, "role"], errors="ignore")
        rows = rows[(rows["encoder"] != "sne") | (rows["experiment"] == "cross-dataset")].copy()
        sne = rows["encoder"] == "sne"
        rows.loc[sne, "experiment"] = "in-dist"
        rows.loc[sne, "test_architectures"] = tested
        write_table(rows, folder / "results.csv")

    one = shutil.copytree(first, tmp_path / "one")
    sne_in_dist(one, "cnn-small")
    for name, tested in [("mixed", "cnn-small mlp"), ("single", "cnn-small")]:
        other = shutil.copytree(first, tmp_path / name)
        sne_in_dist(other, tested)
        summary = json.loads((other / "tuning.json").read_text())
        summary["choices"]["sne"]["training"]["lr"] *= 2
        (other / "tuning.json").write_text(json.dumps(summary))
        if name == "mixed":
            (note,) = combine_results([one, other]).meta["settings_notes"]
            assert note.startswith(f"sne's in-dist on a mixed zoo rows (`{other}`) ran with ")
        else:
            with pytest.raises(ResultsFormatError, match="both have its rows on in-dist:"):
                combine_results([one, other])
