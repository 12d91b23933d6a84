"""Bad input and faults, one test per case found by trying nnenc as a careful (and a careless)
user would: each failed (crashed, misread or lost data) before the fix it names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from analysis.results import KEY_ROWS, ResultsStore
from nnenc import ZooFormatError, get_architecture, load_zoo
from nnenc.cli import main
from nnenc.io.locks import FolderBusyError, WriterLock
from nnenc.io.seals import seal
from nnenc.params import NetworkParams
from nnenc.predict.performance import PerformancePredictor
from nnenc.zoo import ZooWriter
from nnenc.zoo.accuracies import as_fractions
from nnenc.zoo.checkpoints import load_network, load_state_dict, save_state_dict
from nnenc.zoo.synthetic import write_checkpoint_folder

REPO = Path(__file__).resolve().parents[1]


def _python(code: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def _mlp_shard(rows: int, start: int, seed: int):
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal((rows, get_architecture("mlp").num_params)).astype(np.float32)
    metrics = pd.DataFrame(
        {
            "model_id": [f"m{start + i}" for i in range(rows)],
            "run_id": [f"r{start + i}" for i in range(rows)],
            "architecture": "mlp",
            "row": range(rows),
            "epoch": 0,
            "test_accuracy": rng.uniform(0, 1, rows),
        }
    )
    return metrics, {"mlp": weights}


def _native_zoo(path: Path, shards: int = 2, rows: int = 3) -> Path:
    with ZooWriter(path, "z", {"mlp": get_architecture("mlp")}) as writer:
        for k in range(shards):
            writer.write_shard(f"{k:05d}", *_mlp_shard(rows, rows * k, seed=k))
        writer.finalize()
    return path


# --- 1. one writer per folder ------------------------------------------------------------------
HOLD_ZOO_LOCK = """
    import sys, time
    from nnenc import get_architecture
    from nnenc.zoo import ZooWriter
    writer = ZooWriter(sys.argv[1], "z", {"mlp": get_architecture("mlp")})
    print("holding", flush=True)
    time.sleep(60)
"""


def _hold(code: str, folder: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout.readline().strip() == "holding"
    return process


def test_a_second_writer_of_a_zoo_fails_at_once_and_the_first_zoo_survives(tmp_path):
    """Before: a second build into the same folder passed its "finished?" check and finalized
    its own shards over the first build's zoo (15 networks left of 64). Two real processes."""
    zoo = tmp_path / "zoo"
    holder = _hold(HOLD_ZOO_LOCK, zoo)
    try:
        with pytest.raises(FolderBusyError, match=rf"pid {holder.pid}\) is writing .*zoo"):
            ZooWriter(zoo, "z", {"mlp": get_architecture("mlp")})
        # the CLI says so too, with exit status 2, before any training
        second = subprocess.run(
            [sys.executable, "-m", "nnenc.cli", "zoo", "build", "--dataset", "digits",
             "--arch", "mlp", "--runs", "4", "--epochs", "1", "--out", str(zoo)],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        assert second.returncode == 2, second.stderr
        assert f"another nnenc process (pid {holder.pid})" in second.stderr
    finally:
        holder.kill()
        holder.wait()
    # the lock died with its process: the folder can be written again (kill -9 leaves no
    # stale lock)
    _native_zoo(zoo)
    assert len(load_zoo(zoo)) == 6


def test_a_second_benchmark_into_one_results_folder_is_refused(tmp_path, nnenc_cache):
    out = tmp_path / "results"
    with WriterLock(out):
        result = subprocess.run(
            [sys.executable, "-m", "nnenc.cli", "bench", "in-dist", "--preset", "quick",
             "--out", str(out)],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
    assert result.returncode == 2
    assert f"another nnenc process (pid {os.getpid()}) is writing" in result.stderr
    assert not (out / "results.csv").exists()


# --- 2. results rows cannot be torn --------------------------------------------------------------
def _results(path: Path) -> ResultsStore:
    store = ResultsStore(path, {"name": "t"}, zoos={})
    for seed, tau in enumerate((-0.30414, 0.69586, 1.69586)):
        store.append(
            [
                {"experiment": "e", "encoder": "sne", "variant": "", "source": "s", "seed": seed,
                 "target": target, "status": "ok", "kendall_tau": tau,
                 "config": json.dumps({"hidden": 8, "seed": seed})}
                for target in ("a", "b")
            ]
        )  # fmt: skip
    return store


@pytest.mark.parametrize("cut", ["key", "config", "number", "status", "newline", "line end"])
def test_a_torn_results_tail_is_dropped_with_a_warning_and_its_job_reruns(tmp_path, cut):
    """Before: a cut inside the key made every seed a float (all jobs reran, 21 duplicate rows),
    a cut inside the JSON config crashed ``nnenc report``, a cut mid-number turned -0.30414 into
    -0.30 and a cut after ``,ok,`` showed the metrics as n/a. A cut at the end of a whole line
    (the last row lost whole) is found by the table's end line."""
    _results(tmp_path)
    table = tmp_path / "results.csv"
    text = table.read_text()
    last = text.rstrip("\n").split("\n")[-2]  # the last row (the end line follows it)
    marks = {"key": "sne,", "config": '""hidden', "number": "1.69", "status": ",ok,",
             "newline": last[-1]}  # fmt: skip
    if cut == "line end":
        table.write_text(text[: text.rindex(last)])
        expected = r"results.csv: damaged: its end line is missing"
    else:
        position = text.rindex(last) + last.index(marks[cut]) + len(marks[cut]) - 1
        table.write_text(text[:position])
        expected = r"results.csv: damaged: its end line is missing.* 1 torn or altered row"
    with pytest.warns(UserWarning, match=expected):
        store = ResultsStore(tmp_path, {"name": "t"})
    rows = store.rows()
    assert len(rows) == 5 and rows["seed"].dtype.kind == "i"
    assert sorted(rows["kendall_tau"].round(5).unique()) == [-0.30414, 0.69586, 1.69586]
    assert store.done_keys() == {"e|sne||s|0", "e|sne||s|1"}  # seed 2 lost a row: it reruns
    store.append(
        [{"experiment": "e", "encoder": "sne", "variant": "", "source": "s", "seed": 2,
          "target": t, "status": "ok", "kendall_tau": 1.69586, "config": "{}"} for t in "ab"]
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = ResultsStore(tmp_path, {"name": "t"}).rows()
    assert len(again) == 6 and not again.duplicated(["seed", "target"]).any()
    assert set(again[KEY_ROWS]) == {2}


def test_an_edited_results_cell_is_caught_by_its_checksum(tmp_path):
    _results(tmp_path)
    table = tmp_path / "results.csv"
    table.write_text(table.read_text().replace("0.69586", "0.99586", 1))
    assert "0.99586" in table.read_text()
    with pytest.warns(UserWarning, match="line"):
        assert len(ResultsStore(tmp_path, {"name": "t"}).rows()) == 5


# --- 3. percentages judged per value -------------------------------------------------------------
def test_one_accuracy_above_one_is_refused_not_a_reason_to_rescale_the_column():
    """Before: one 1.01 among fractions divided every accuracy of the column by 100."""
    metrics = pd.DataFrame({"test_accuracy": [0.5, 0.7, 1.01, 0.2]})
    with pytest.raises(ZooFormatError, match=r"'test_accuracy' mixes .*row 2: 1.01"):
        as_fractions(metrics, "src")
    assert as_fractions(pd.DataFrame({"test_accuracy": [50.0, 71.0, 12.5]}), "s")[
        "test_accuracy"
    ].tolist() == [0.5, 0.71, 0.125]
    with pytest.raises(ZooFormatError, match=r"mixes .*row 1: 0.5"):
        as_fractions(pd.DataFrame({"test_accuracy": [50.0, 0.5, 60.0]}), "s")
    with pytest.raises(ZooFormatError, match=r"outside \[0, 100\] \(row 0: 130.0"):
        as_fractions(pd.DataFrame({"test_accuracy": [130.0, 50.0]}), "s")


def test_a_checkpoint_folder_with_an_outlier_accuracy_names_its_metrics_file(tmp_path):
    folder = write_checkpoint_folder(tmp_path / "ckpt", networks=3)
    table = pd.read_csv(folder / "metrics.csv")
    table.loc[1, "test_accuracy"] = 1.01
    table.to_csv(folder / "metrics.csv", index=False)
    with pytest.raises(ZooFormatError, match="ckpt: column 'test_accuracy' mixes"):
        load_zoo(folder)


# --- 4. paths stay inside the zoo ----------------------------------------------------------------
@pytest.mark.parametrize("escape", ["../outside/x.safetensors", "ABSOLUTE", "link.safetensors",
                                    "../../../../etc/passwd"])  # fmt: skip
def test_a_metrics_table_cannot_point_outside_its_folder(tmp_path, escape):
    """Before: such paths were read, and ``../../../../etc/passwd`` crashed with IndexError."""
    folder = write_checkpoint_folder(tmp_path / "ckpt", networks=2)
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder / "net_0001.safetensors").rename(outside / "x.safetensors")
    (folder / "link.safetensors").symlink_to(outside / "x.safetensors")
    table = pd.read_csv(folder / "metrics.csv")
    table.loc[1, "file"] = str(outside / "x.safetensors") if escape == "ABSOLUTE" else escape
    table.to_csv(folder / "metrics.csv", index=False)
    with pytest.raises(ZooFormatError, match=r"metrics.csv: line 3: path .* leads outside"):
        load_zoo(folder)


def test_a_manifest_cannot_point_outside_its_zoo(tmp_path):
    zoo = _native_zoo(tmp_path / "zoo")
    (zoo / "weights" / "mlp.npy").rename(tmp_path / "mlp.npy")
    manifest = json.loads((zoo / "manifest.json").read_text())
    manifest["architectures"]["mlp"]["file"] = "../mlp.npy"
    (zoo / "manifest.json").write_text(json.dumps(seal(manifest)))
    with pytest.raises(ZooFormatError, match=r"manifest.json: architecture 'mlp': path .* leads"):
        load_zoo(zoo)


# --- 5. crashes become errors --------------------------------------------------------------------
def test_a_text_file_given_as_a_checkpoint_is_a_clear_error(tmp_path):
    """Before: ``IndexError: pop from empty list``."""
    text = tmp_path / "notes.pt"
    text.write_text("these are not weights\n" * 10)
    with pytest.raises(ZooFormatError, match=r"notes.pt: not a readable PyTorch checkpoint"):
        load_state_dict(text)


def test_a_scalar_weight_is_a_clear_error_naming_the_file(tmp_path):
    """Before: ``IndexError`` in params.py."""
    path = tmp_path / "scalar.pt"
    torch.save({"layer.weight": torch.tensor(1.0)}, path)
    with pytest.raises(ZooFormatError, match=r"scalar.pt: .*'layer.weight' is a 0-d scalar"):
        load_network(path)


def test_a_safetensors_header_larger_than_its_file_is_refused_before_reading(tmp_path):
    """Before: a header declaring a 1.5 GiB tensor ran 300 s and reached 7.1 GB of memory."""
    path = tmp_path / "big.safetensors"
    header = json.dumps(
        {"w.weight": {"dtype": "F32", "shape": [20000, 20000], "data_offsets": [0, 1_600_000_000]}}
    ).encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header + bytes(4096))
    started = time.perf_counter()
    with pytest.raises(ZooFormatError, match=r"big.safetensors: tensor 'w.weight' declares"):
        load_state_dict(path)
    with open(path, "r+b") as handle:  # now a sparse file of the declared length
        handle.truncate(8 + len(header) + 1_600_000_000)
    with pytest.raises(ZooFormatError, match=r"big.safetensors: a sparse file"):
        load_state_dict(path)
    assert time.perf_counter() - started < 5


FILL_DISK = """
    import resource, signal, sys
    from nnenc.cli import main
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails (EFBIG) like a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
    sys.exit(main(["zoo", "build", "--dataset", "digits", "--arch", "mlp", "--runs", "4",
                   "--epochs", "1", "--chunk-size", "1", "--workers", "1", "--precision", "fp32",
                   "--out", sys.argv[1]]))
"""


def test_a_build_that_runs_out_of_space_stops_with_a_message_and_leaves_no_temporary(tmp_path):
    """Before: a full disk killed the build with SIGBUS (a memory-mapped write) and left a
    3.8 MB ``.tmp`` in ``weights/``. Here a file size limit stands in for the full disk: the
    shards (40 kB each) fit under it, the joined weights file does not."""
    zoo = tmp_path / "zoo"
    code = textwrap.dedent(FILL_DISK)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code, str(zoo), "300000"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "nnenc: error: cannot write" in result.stderr and "rerun" in result.stderr
    assert not [p for p in zoo.rglob("*.tmp")]
    assert (zoo / "shards").is_dir() and not (zoo / "manifest.json").exists()
    resumed = subprocess.run(
        [sys.executable, "-c", code, str(zoo), str(1 << 30)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert len(load_zoo(zoo)) == 8  # 4 runs x checkpoints at epochs 0 and 1


# --- 6. no silent wrong results ------------------------------------------------------------------
def test_nan_written_into_weights_after_the_build_is_found(tmp_path):
    """Before: the stored ``finite`` column was trusted: "diverged: 0" and train kept them. Now
    the row's checksum finds the change; in a zoo written before row checksums, the stale
    ``finite`` column is ignored and the weights are scanned."""
    zoo = tmp_path / "zoo"
    with ZooWriter(zoo, "z", {"mlp": get_architecture("mlp")}) as writer:
        metrics, weights = _mlp_shard(4, 0, seed=0)
        writer.write_shard("00000", metrics.assign(finite=True), weights)
        writer.finalize()
    assert load_zoo(zoo).summary()["nonfinite_weights"] == 0
    time.sleep(0.01)
    array = np.load(zoo / "weights" / "mlp.npy", mmap_mode="r+")
    array[2, 5] = np.nan
    array.flush()
    del array
    os.utime(zoo / "weights" / "mlp.npy")
    with pytest.raises(ZooFormatError, match=r"mlp.npy: weight row\(s\) \[2\] do not match"):
        load_zoo(zoo).summary()
    manifest = json.loads((zoo / "manifest.json").read_text())
    del manifest["architectures"]["mlp"]["checksums"]
    (zoo / "manifest.json").write_text(json.dumps(seal(manifest)))
    # deleting the row checksums does not turn the check off
    with pytest.raises(ZooFormatError, match=r"manifest.json: architecture 'mlp' names no row"):
        load_zoo(zoo)


def test_two_metrics_rows_for_one_weight_row_are_refused(tmp_path):
    zoo = _native_zoo(tmp_path / "zoo")
    table = pd.read_csv(zoo / "metrics.csv.gz")
    table.loc[3, "row"] = table.loc[2, "row"]
    table.to_csv(zoo / "metrics.csv.gz", index=False)
    with pytest.raises(ZooFormatError, match=r"metrics.csv.gz: 2 rows point at a weight row"):
        load_zoo(zoo)


def test_checkpoints_labelled_with_another_architecture_are_refused(tmp_path):
    """Before: MLP checkpoints labelled ``cnn-small`` loaded as cnn-small."""
    folder = write_checkpoint_folder(tmp_path / "ckpt", networks=2, architecture="mlp")
    table = pd.read_csv(folder / "metrics.csv").assign(architecture="cnn-small")
    table.to_csv(folder / "metrics.csv", index=False)
    with pytest.raises(ZooFormatError, match=r"net_0000.safetensors: declared architecture "):
        load_zoo(folder)


# --- 7. predict on a zoo with diverged networks --------------------------------------------------
def test_predict_on_a_published_zoo_with_diverged_rows_scores_the_finite_ones(tmp_path, capsys):
    """Before: "drop diverged networks first (zoo.filter(finite=True))", which a CLI user cannot
    do."""
    from nnenc.zoo.synthetic import write_small_cnn_zoo

    zoo = write_small_cnn_zoo(tmp_path / "zoo", runs=12, nonfinite_rows=[4, 30], seed=2)
    model = tmp_path / "model"
    assert main(["train", "--zoo", str(zoo), "--out", str(model), "--encoder", "statnn",
                 "--epochs", "1"]) == 0  # fmt: skip
    capsys.readouterr()
    csv = tmp_path / "predicted.csv"
    assert main(["predict", "--model", str(model), "--zoo", str(zoo), "--out", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "skipped 2 of 108 networks with NaN or infinite weights" in out
    assert "(106 networks with finite weights, 2 skipped): kendall_tau" in out
    predicted = pd.read_csv(csv)["predicted"]
    assert predicted.isna().sum() == 2 and predicted.notna().sum() == 106


# --- 8. errors that say what is wrong ------------------------------------------------------------
def test_a_non_numeric_accuracy_names_the_file_and_column(tmp_path):
    zoo = _native_zoo(tmp_path / "zoo")
    table = pd.read_csv(zoo / "metrics.csv.gz")
    table["test_accuracy"] = table["test_accuracy"].astype(object)
    table.loc[1, "test_accuracy"] = "abc"
    table.to_csv(zoo / "metrics.csv.gz", index=False)
    with pytest.raises(ZooFormatError, match=r"metrics.csv.gz: column 'test_accuracy' holds "
                                             r"values that are not numbers \(row 1: 'abc'"):  # fmt: skip
        load_zoo(zoo)


def test_an_empty_zoo_is_a_clear_error(tmp_path):
    """Before: "zero-size array to reduction operation"."""
    folder = write_checkpoint_folder(tmp_path / "ckpt", networks=1)
    pd.read_csv(folder / "metrics.csv").iloc[:0].to_csv(folder / "metrics.csv", index=False)
    with pytest.raises(ZooFormatError, match="lists no checkpoints"):
        load_zoo(folder)
    with ZooWriter(tmp_path / "native", "z", {"mlp": get_architecture("mlp")}) as writer:
        writer.finalize()
    with pytest.raises(ZooFormatError, match=r"metrics.csv.gz: holds no networks"):
        load_zoo(tmp_path / "native")
    zoo = load_zoo(_native_zoo(tmp_path / "zoo"))
    with pytest.raises(ValueError, match=r"the train split of 'z' holds no networks"):
        PerformancePredictor("statnn").fit(zoo.filter(epoch=99), zoo)


def test_random_bytes_as_weights_are_not_said_to_hold_python_objects(tmp_path):
    zoo = _native_zoo(tmp_path / "zoo")
    (zoo / "weights" / "mlp.npy").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ZooFormatError, match=r"mlp.npy: not a .npy array") as caught:
        load_zoo(zoo)
    assert "objects" not in str(caught.value)


def test_safetensors_with_wrong_names_or_shapes_name_the_file(tmp_path):
    path = tmp_path / "odd.safetensors"
    save_file({"layer.bias": torch.zeros(3)}, path)
    with pytest.raises(ZooFormatError, match=r"odd.safetensors: .*biases without weights"):
        load_network(path)
    save_file({"layer.weight": torch.zeros(3, 2), "layer.bias": torch.zeros(4)}, path)
    with pytest.raises(ZooFormatError, match=r"odd.safetensors: .*bias shape \(4,\)"):
        load_network(path)


def test_a_manifest_without_architectures_says_what_is_missing(tmp_path, capsys):
    """Before: "nnenc: error: architectures"."""
    zoo = _native_zoo(tmp_path / "zoo")
    manifest = json.loads((zoo / "manifest.json").read_text())
    del manifest["architectures"]
    (zoo / "manifest.json").write_text(json.dumps(seal(manifest)))
    assert main(["zoo", "info", str(zoo)]) == 2
    assert "manifest.json: needs 'architectures'" in capsys.readouterr().err


# --- 9. layer order of safetensors checkpoints ---------------------------------------------------
class HiddenThenHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = torch.nn.ModuleList([torch.nn.Conv2d(1, 16, 3), torch.nn.Conv2d(16, 16, 3)])
        self.hidden = torch.nn.Linear(16, 16)
        self.fc = torch.nn.Linear(16, 10)


def test_safetensors_layers_are_read_in_network_order_not_name_order(tmp_path):
    """Before: conv, conv, ``fc`` (16->10), ``hidden`` (16->16): the graph encoder refused it,
    SNE and STATNN encoded the wrong order silently."""
    state = HiddenThenHead().state_dict()
    path = tmp_path / "net.safetensors"
    save_file(dict(state), path)  # plain safetensors: no order recorded, names sorted
    assert list(load_file(path))[-4:] == ["fc.bias", "fc.weight", "hidden.bias", "hidden.weight"]
    network = load_network(path)
    assert [la.name for la in network.layers] == ["convs.0", "convs.1", "hidden", "fc"]
    assert network.layers[-1].activation is None


def test_numbered_layers_past_ten_keep_their_numeric_order(tmp_path):
    mlp = torch.nn.Sequential(*[torch.nn.Linear(8, 8) for _ in range(11)], torch.nn.Linear(8, 3))
    path = tmp_path / "deep.safetensors"
    save_file(dict(mlp.state_dict()), path)
    names = [la.name for la in load_network(path).layers]
    assert names == [str(i) for i in range(12)]


def test_an_order_written_by_nnenc_is_kept_and_an_ambiguous_one_is_refused(tmp_path):
    blocks = torch.nn.ModuleDict(
        {"encoder": torch.nn.Linear(8, 8), "decoder": torch.nn.Linear(8, 8)}
    )
    ambiguous = tmp_path / "blocks.safetensors"
    save_file(dict(blocks.state_dict()), ambiguous)
    with pytest.raises(ZooFormatError, match=r"blocks.safetensors: the layer order is lost .* "
                                             r"more than one order chains"):  # fmt: skip
        load_network(ambiguous)
    stated = tmp_path / "stated.safetensors"
    save_state_dict(blocks.state_dict(), stated)
    assert [la.name for la in load_network(stated).layers] == ["encoder", "decoder"]
    assert NetworkParams.from_state_dict(blocks.state_dict()).layers[0].name == "encoder"


# --- 10. workers die with their parent -----------------------------------------------------------
def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        found |= {int(c) for c in children}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_killing_a_build_ends_its_workers_and_resource_tracker(tmp_path):
    """Before: after ``kill -9`` of a build, its two workers and the resource tracker were still
    alive 100 s later."""
    build = _python(
        """
        import sys
        from nnenc.cli import main
        sys.exit(main(["zoo", "build", "--dataset", "digits", "--arch", "cnn-small",
                       "--runs", "64", "--epochs", "30", "--chunk-size", "8", "--workers", "2",
                       "--precision", "fp32", "--out", sys.argv[1]]))
        """.replace("sys.argv[1]", repr(str(tmp_path / "zoo"))),
        start_new_session=True,
    )
    deadline = time.time() + 120
    children: set[int] = set()
    while time.time() < deadline and len(children) < 3:  # two workers + the resource tracker
        time.sleep(0.5)
        children = _children(build.pid)
    assert len(children) >= 2, (
        f"workers did not start: {build.stderr.read() if build.poll() else ''}"
    )
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    deadline = time.time() + 15
    while time.time() < deadline and any(_alive(c) for c in children):
        time.sleep(0.5)
    assert not [c for c in children if _alive(c)]


# --- permissions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_get_the_users_umask(tmp_path, umask):
    """Before: every atomically written file was ``-rw-------`` (mkstemp), whatever the umask:
    a zoo shared on a cluster file system could not be read by the group."""
    before = os.umask(umask)
    try:
        zoo = _native_zoo(tmp_path / "zoo")
    finally:
        os.umask(before)
    files = [p for p in zoo.rglob("*") if p.is_file()]
    assert {p.relative_to(zoo).as_posix() for p in files} >= {
        "manifest.json", "metrics.csv.gz", "weights/mlp.npy", "weights/mlp.crc32.npy"
    }  # fmt: skip
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o666 & ~umask)}
