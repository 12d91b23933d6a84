"""The results folder: one tidy table with a row per (experiment, encoder, variant, source,
target, seed), beside a ``meta.json`` that says what wrote it.

::

    RESULTS/
      meta.json          format + version, the benchmark configuration, zoo paths and digests,
                         nnenc version
      tuning.json        each encoder's tuned settings and trials (analysis/tuning.py)
      results.csv        the table (rewritten atomically after every finished job), each row
                         ending in a checksum of its cells
      predictions/       per scored target: model_id, true, predicted  (for scatter plots)
      encodings/         per scored target: the encoder's (n, d) outputs (.npy, for embeddings)
      predictors/        each trained predictor (safetensors + config, fit.json), reused by jobs
                         that would train the same one
      tables/, figures/  written by ``nnenc report``

A rerun skips the jobs whose rows are there (resumable). A folder written by another
configuration, or by an older or newer results format, is refused rather than mixed or misread;
a configuration that only adds encoders (:func:`configuration_changes`) is recorded and goes on,
since the rows already there were computed as it would compute them.
The table is read strictly: a row whose cells do not match its checksum (a torn tail, a bit
flip, an edit) is dropped with a warning that names it, and its job runs again; a job's new rows
replace any of its rows left from before.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analysis.protocol import BenchSpec
from nnenc.cache import cache_dir
from nnenc.io.atomic import atomic_path, write_json
from nnenc.io.errors import FileFormatError
from nnenc.version import package_version

FORMAT = "nnenc-results"
FORMAT_VERSION = 2
KEY = ["experiment", "encoder", "variant", "source", "seed"]
"""A job's key: its rows are done together. ``encoder`` is the predictor's registered name
(:mod:`nnenc.predict.registry`); ``role`` says whether it is a predictor or a reference."""
ZOO_DIGESTS = "zoo_digests"
"""``meta.json``'s key for what each zoo held when its rows were computed (zoo name -> digest)."""
REQUESTED = "experiments_requested"
"""``meta.json``'s key for the experiments ``nnenc bench`` was asked to run into the folder (over
all its calls): what the folder is complete without (``make demo`` asks for two of the quick
preset's four). Folders written before it have none: every experiment of their preset counts."""
ROLE = "role"
LEGACY_REFERENCE = "label-noise"
"""Rows written before rows named their ``role`` had one reference, under this name."""
CHECKSUM = "checksum"
END = "#end"
"""The first cell of the table's last line, beside the number of rows: a table cut at a line's
end is told from a shorter one."""
TUNING = "tuning.json"
FOLDER = "folder"
"""Added to rows as they are read: the results folder whose files (predictions, encodings) the
row's are. Several folders' rows can be read as one (:mod:`analysis.combine`)."""
KEY_ROWS = "key_rows"
"""How many rows a job wrote under a row's key (one per target): a key is done only when all of
them are there, so a job one of whose rows was dropped as torn runs again."""


REUSE = "reuse"
"""``tuning.reuse``: an earlier results folder whose searches a run shares
(:func:`analysis.tuning.reuse_searches`)."""


def search_spec(raw: dict) -> dict:
    """What decides how a configuration's test splits are drawn and its encoders tuned: the
    seeds, the split, the protocol and the tuning spec (less where its searches were copied
    from). Results of two configurations with the same spec pair up."""
    tuning = {k: v for k, v in (raw.get("tuning") or {}).items() if k != REUSE}
    return {
        "seeds": raw.get("seeds"),
        "split": raw.get("split"),
        "protocol": raw.get("protocol"),
        "tuning": tuning,
    }


def row_checksum(header: list[str], cells: list[str]) -> str:
    """CRC-32 of the header's and a row's cells as written (joined by bytes no CSV cell of ours
    holds): a damaged header fails every row instead of renaming a column silently."""
    return f"{zlib.crc32((chr(30).join(header) + chr(29) + chr(31).join(cells)).encode()):08x}"


def write_table(table: pd.DataFrame, target: Path) -> None:
    """Write ``table`` as CSV with a :data:`CHECKSUM` column and an :data:`END` line, atomically."""
    header, *records = csv.reader(io.StringIO(table.to_csv(index=False)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*header, CHECKSUM])
    writer.writerows([*record, row_checksum(header, record)] for record in records)
    writer.writerow([END, str(len(records))])
    with atomic_path(target) as tmp:
        tmp.write_text(buffer.getvalue())


def read_table(path: Path) -> pd.DataFrame:
    """The rows of ``path`` whose checksums hold; whatever else is dropped with a warning.

    A table written before rows carried checksums is read as it stands, less rows with the wrong
    number of cells (a torn last line).
    """
    text = path.read_bytes().decode("utf-8", errors="replace")  # bad bytes fail checksums
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        lines = []
    if not lines or not set(KEY) <= set(lines[0]):
        _warn_damaged(path, "it is empty or its header is damaged, so no row can be read")
        return pd.DataFrame()
    header, records = lines[0], lines[1:]
    checked = header[-1] == CHECKSUM
    problems = []
    if checked:
        if records and records[-1] == [END, str(len(records) - 1)]:
            records = records[:-1]
        else:  # cut at a line's end: the rows are whole, but later ones are gone
            problems.append(
                f"its end line is missing, so rows after line {len(records) + 1} may be lost"
            )
    kept, dropped = [], []
    for number, record in enumerate(records, start=2):
        whole = len(record) == len(header)
        if whole and (not checked or record[-1] == row_checksum(header[:-1], record[:-1])):
            kept.append(record[:-1] if checked else record)
        else:
            dropped.append(number)
    if dropped:
        listed = ", ".join(map(str, dropped[:10])) + (" ..." if len(dropped) > 10 else "")
        problems.append(
            f"{len(dropped)} torn or altered row(s) (line(s) {listed}) whose checksums do not "
            "match their cells were dropped"
        )
    if not kept and not problems:  # nnenc never writes a table without rows
        problems.append("it holds no rows (a header cut short, or rows lost)")
    if problems:
        _warn_damaged(path, "; ".join(problems))
    if not kept:
        return pd.DataFrame()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header[:-1] if checked else header, *kept])
    buffer.seek(0)
    # only empty cells are missing: a status of "n/a" is a value
    return pd.read_csv(buffer, keep_default_na=False, na_values=[""])


def _warn_damaged(path: Path, problem: str) -> None:
    warnings.warn(
        f"{path}: damaged: {problem}; the jobs of what is missing run again on the next "
        "benchmark run",
        stacklevel=3,
    )


class ResultsFormatError(FileFormatError):
    """A results folder (or a file of one) this nnenc cannot use; the message names it, says
    why and what to do."""


def _read_json(path: Path, what: str) -> dict:
    """A JSON object nnenc wrote into a results folder; a damaged one is refused naming it."""
    try:
        found = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ResultsFormatError(
            path,
            f"cannot read {what} ({err}): the file is damaged or was cut short; restore "
            "it from version control or a copy (the rows in results.csv are kept)",
        ) from err
    if not isinstance(found, dict):
        raise ResultsFormatError(path, f"not {what} (the JSON is not an object)")
    return found


def read_meta(path: Path) -> dict:
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        raise ResultsFormatError(
            path,
            "no meta.json, so this is not a results folder of nnenc "
            f"(format {FORMAT} v{FORMAT_VERSION}), or one written before that format; run the "
            "benchmark into a new folder",
        )
    meta = _read_json(meta_path, "the results folder's configuration")
    version = meta.get("format_version")
    if meta.get("format") != FORMAT or version != FORMAT_VERSION:
        raise ResultsFormatError(
            meta_path,
            f"results format {meta.get('format')!r} version {version!r}; this "
            f"nnenc reads {FORMAT!r} version {FORMAT_VERSION} only. Rerun the benchmark into a "
            "new folder (or use the nnenc version that wrote it)",
        )
    return meta


def configuration_changes(recorded: dict, config: dict) -> list[str]:
    """What ``config`` changes of the ``recorded`` configuration of a results folder, other than
    adding encoders: ``[]`` where it only adds encoders (to ``encoders``, or to the encoders an
    experiment runs: :meth:`~analysis.protocol.BenchSpec.experiment_encoders`) or orders them
    otherwise, which leaves every row the folder holds as it was computed; otherwise the names of
    the settings that differ (``seeds``, ``encoders.sne``, ``experiments.in-dist``, ...)."""
    old, new = BenchSpec.read(recorded), BenchSpec.read(config)
    changed = [
        key
        for key in sorted(set(recorded) | set(config))
        if key not in ("encoders", "experiments") and recorded.get(key) != config.get(key)
    ]
    changed += [
        f"encoders.{name}" for name, spec in old.encoders.items() if new.encoders.get(name) != spec
    ]
    for name in sorted(set(old.experiments) | set(new.experiments)):
        kept = (
            name in old.experiments
            and name in new.experiments
            and _without_encoders(old.experiments[name]) == _without_encoders(new.experiments[name])
            and set(old.experiment_encoders(name)) <= set(new.experiment_encoders(name))
        )
        if not kept:
            changed.append(f"experiments.{name}")
    return changed


def _without_encoders(experiment: dict) -> dict:
    return {key: value for key, value in experiment.items() if key != "encoders"}


class ResultsStore:
    """A results folder, opened to read (``config=None``) or to add rows for ``config``."""

    def __init__(
        self,
        path: str | Path,
        config: dict | None = None,
        zoos: dict | None = None,
        digests: dict[str, str] | None = None,
        experiments: Sequence[str] = (),
    ):
        """``zoos``: where each zoo is; ``digests``: what each holds (:meth:`nnenc.Zoo.digest`);
        ``experiments``: those this call runs (added to :data:`REQUESTED`). All are recorded in
        ``meta.json`` (with ``zoos``); a zoo whose digest is not the one recorded (rebuilt, on
        another machine or in another precision) is refused, since its rows could not be paired
        with the folder's."""
        self.path = Path(path)
        exists = (self.path / "meta.json").is_file() or (self.path / "results.csv").is_file()
        if config is None or exists:
            self.meta = read_meta(self.path)
            if config is not None and self.meta["config"] != config:
                changed = configuration_changes(self.meta["config"], config)
                if changed:
                    raise ResultsFormatError(
                        self.path,
                        "holds results of another configuration (preset "
                        f"{self.meta['config'].get('name')!r}; {', '.join(changed)} differ): a "
                        "preset may add encoders to a folder's experiments, nothing else; write "
                        "to another --out folder, or delete this one to start again",
                    )
                self.meta["config"] = config  # encoders added: recorded with the zoos below
        else:
            self.meta = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "config": config,
                "nnenc_version": package_version(),
            }
        if digests:
            recorded = self.meta.get(ZOO_DIGESTS, {})
            changed = [
                name for name, digest in digests.items() if recorded.get(name, digest) != digest
            ]
            if changed:
                raise ResultsFormatError(
                    self.path,
                    f"its rows were computed on other zoos than {', '.join(changed)} "
                    f"now at {', '.join(str((zoos or {}).get(n, '?')) for n in changed)} (rebuilt, "
                    "on another machine or in another precision: their accuracies differ), so new "
                    "rows could not be paired with its rows. Write to another --out folder, or "
                    "move this one away to start again; nothing was changed",
                )
            self.meta[ZOO_DIGESTS] = {**recorded, **digests}
        if zoos is not None:
            self.meta["zoos"] = {
                **self.meta.get("zoos", {}),
                **{k: str(v) for k, v in zoos.items()},
            }
            requested = self.meta.get(REQUESTED, [])
            self.meta[REQUESTED] = requested + [e for e in experiments if e not in requested]
            write_json(self.meta, self.path / "meta.json")
        table = self.path / "results.csv"
        self._rows = read_table(table) if table.is_file() else pd.DataFrame()
        if not self._rows.empty and "device" not in self._rows:
            self._rows["device"] = "cpu"  # written before rows named their device: CPU only
        if not self._rows.empty:
            self._rows[ROLE] = roles(self._rows)

    def rows(self) -> pd.DataFrame:
        """The rows, each with its :data:`FOLDER`."""
        rows = self._rows.copy()
        if not rows.empty:
            rows[FOLDER] = str(self.path)
        return rows

    def finished_rows(self) -> pd.DataFrame:
        """:meth:`rows`, refusing a folder that has none yet (its benchmark not started, or
        still building zoos) with the command that computes them."""
        rows = self.rows()
        if rows.empty:
            raise ResultsFormatError(
                self.path,
                f"no finished result rows yet; `{resume_command(self.meta, self.path)}`"
                " computes them (it resumes where a run stopped), or read another results folder",
            )
        return rows

    def tuning(self) -> dict | None:
        """``tuning.json``: the tuning spec and each encoder's choice (None: not tuned)."""
        path = self.path / TUNING
        return _read_json(path, "the tuning's choices") if path.is_file() else None

    def done_keys(self) -> set[str]:
        """Keys all of whose rows are there (rows written before :data:`KEY_ROWS` count as
        complete)."""
        if self._rows.empty:
            return set()
        keys = row_keys(self._rows)
        expected = self._rows.get(KEY_ROWS, pd.Series(0, index=self._rows.index))
        expected = expected.fillna(0).to_numpy()
        found = keys.map(keys.value_counts()).to_numpy()
        complete = pd.Series(found >= expected, index=keys.to_numpy())
        return {key for key, ok in complete.groupby(level=0).all().items() if ok}

    def precisions(self) -> dict[str, set[str]]:
        """Per encoder, the precisions its trained rows computed in (``fp32``, ``bf16``; rows
        that name none, such as a job that could not train, are left out)."""
        rows = self._rows
        if rows.empty or "precision" not in rows:
            return {}
        trained = rows[rows["precision"].notna() & (roles(rows) == "predictor")]
        return {encoder: set(group) for encoder, group in trained.groupby("encoder")["precision"]}

    def settings(self) -> dict[str, set[str]]:
        """Each job key's settings as its rows recorded them (``config`` cells, as canonical
        JSON; rows without one are left out)."""
        if self._rows.empty or "config" not in self._rows:
            return {}
        found: dict[str, set[str]] = {}
        for key, cell in zip(row_keys(self._rows), self._rows["config"], strict=True):
            if isinstance(cell, str):
                found.setdefault(key, set()).add(canonical_json(cell))
        return found

    def append(self, rows: list[dict]) -> None:
        """Add a finished job's rows, replacing rows of the same keys (left by a job whose other
        rows were dropped as torn), and rewrite the table atomically."""
        new = pd.DataFrame(rows)
        keys = row_keys(new)
        new[KEY_ROWS] = keys.map(keys.value_counts())
        if not self._rows.empty:
            stale = row_keys(self._rows).isin(set(row_keys(new)))
            self._rows = self._rows[~stale.to_numpy()]
        self._rows = pd.concat([self._rows, new], ignore_index=True)
        write_table(self._rows, self.path / "results.csv")


def requested_experiments(meta: dict) -> list[str]:
    """The experiments asked of the results folder whose ``meta.json`` is ``meta``
    (:data:`REQUESTED`), or for a folder that does not record them, every one of its preset."""
    declared = list(meta.get("config", {}).get("experiments") or {})
    requested = meta.get(REQUESTED)
    return declared if not requested else [e for e in declared if e in requested]


def resume_command(
    meta: dict, path: str | Path, precisions: dict[str, set[str]] | None = None
) -> str:
    """The ``nnenc bench`` command that writes (or resumes) the results folder ``path`` whose
    ``meta.json`` is ``meta``: the experiments asked of it (:func:`requested_experiments`), the
    preset by name, ``--zoo-cache`` when its zoos were kept outside the machine's cache, and
    ``--precision`` when every trained row so far (``precisions``:
    :meth:`ResultsStore.precisions`) computed in one precision that the flag can choose, so
    that a machine where ``auto`` resolves otherwise finishes the folder as it began (rows of
    both precisions: ``auto`` on a CPU with native bf16 wrote them, and ``auto`` resumes)."""
    config = meta.get("config", {})
    experiments = " ".join(requested_experiments(meta)) or "EXPERIMENT ..."
    command = f"nnenc bench {experiments} --preset {config.get('name', 'PRESET')} --out {path}"
    zoo_root = _zoo_root(meta.get("zoos", {}).values())
    if zoo_root is not None and zoo_root.resolve() != cache_dir().resolve():
        command += f" --zoo-cache {zoo_root}"
    # what --precision can name besides auto (nnenc.precision.PRECISIONS; STATNN's trees: fp64)
    chosen = set().union(*(precisions or {}).values()) & {"fp32", "bf16"}
    if len(chosen) == 1:
        command += f" --precision {chosen.pop()}"
    return command


def _zoo_root(zoos) -> Path | None:
    """The folder ``ROOT`` whose ``ROOT/zoos/`` holds every zoo in ``zoos`` (how ``--zoo-cache
    ROOT`` lays them out), or None when they have no such common root."""
    parents = {Path(zoo).parent for zoo in zoos}
    if len(parents) != 1:
        return None
    (parent,) = parents
    return parent.parent if parent.name == "zoos" else None


def canonical_json(text: str) -> str:
    """``text`` (JSON) with sorted keys and no spacing choices: equal values, equal strings."""
    return json.dumps(json.loads(text), sort_keys=True)


def roles(rows: pd.DataFrame) -> pd.Series:
    """Each row's role (``predictor`` or ``reference``), from rows written before the column
    too."""
    legacy = rows["encoder"].map(
        lambda name: "reference" if name == LEGACY_REFERENCE else "predictor"
    )
    if ROLE not in rows:
        return legacy
    return rows[ROLE].where(rows[ROLE].notna(), legacy)


MIXED_ZOO_IN_DIST = "in-dist on a mixed zoo"
"""The configuration scope (:func:`configuration_scopes`) of in-distribution rows on a zoo of
several architectures."""


def tested_on_mixed_zoos(rows: pd.DataFrame) -> pd.Series:
    """Rows tested on a zoo of several architectures (rows written before ``test_architectures``
    was recorded for every experiment have none: one architecture, as their zoos had)."""
    tested = rows.get("test_architectures", pd.Series("", index=rows.index, dtype=object))
    return tested.fillna("").astype(str).str.contains(" ")


def configuration_scopes(rows: pd.DataFrame) -> pd.Series:
    """Where each row's encoder must have run with one configuration: its experiment, with the
    in-distribution rows on a zoo of several architectures apart (the tables give them their own
    column: ``analysis.tables.MIXED_IN_DIST``)."""
    scopes = rows["experiment"].astype(str)
    apart = tested_on_mixed_zoos(rows) & (scopes == "in-dist")
    return scopes.where(~apart, MIXED_ZOO_IN_DIST)


def job_key(experiment: str, encoder: str, variant: str, source: str, seed: int) -> str:
    """The key of a job's rows (:data:`KEY`'s cells joined)."""
    return "|".join([experiment, encoder, variant or "", source, str(seed)])


def output_name(
    experiment: str, encoder: str, variant: str, source: str, seed: int, target: str
) -> str:
    """File stem of a job's predictions and encodings for ``target``."""
    variant = (variant or "").replace("=", "-") or "default"
    return f"{experiment}_{encoder}_{variant}_{source}_s{seed}__{target}"


def row_output_name(row) -> str:
    """:func:`output_name` of a results row."""
    variant = row.get("variant")
    variant = "" if not isinstance(variant, str) else variant
    cells = (row["experiment"], row["encoder"], variant, row["source"], int(row["seed"]))
    return output_name(*cells, row["target"])


def row_file(row, kind: str, results: str | Path) -> Path:
    """A row's ``predictions`` (``.csv.gz``) or ``encodings`` (``.npy``) file: in the row's
    :data:`FOLDER`, or in ``results`` for rows that do not name one."""
    folder = row.get(FOLDER) if hasattr(row, "get") else None
    folder = Path(folder) if isinstance(folder, str) and folder else Path(results)
    suffix = {"predictions": ".csv.gz", "encodings": ".npy"}[kind]
    return folder / kind / f"{row_output_name(row)}{suffix}"


def row_keys(rows: pd.DataFrame) -> pd.Series:
    """Each row's job key (:func:`job_key`)."""
    return rows[KEY].astype(object).fillna("").astype(str).agg("|".join, axis=1)
