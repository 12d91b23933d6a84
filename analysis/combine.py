"""Several results folders read as one comparison: ``nnenc report A B --out C``.

A later benchmark can add encoders to an earlier one's tasks without training the earlier ones
again (the mixed preset adds NFN and the neural-graph network to the full preset's
cross-dataset table). Their rows pair up only if they were drawn the same way, so the folders
must agree on what decides a test split and a tuned setting: the seeds, the split fractions and
protocol, the tuning spec, the zoo each shared zoo name points to, and each shared encoder's
tuned settings where both folders have its rows on one experiment (one table column, one
configuration). An encoder set up otherwise for other experiments (the mixed preset's GMN pads
kernels to 5x5 for the mixed zoo's tasks, the full preset's reads 3x3 on its own) is read with
a note that says which columns ran with which settings. Anything else is refused with what
differs. A job in several folders is read from the first one given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.results import (
    ZOO_DIGESTS,
    ResultsFormatError,
    ResultsStore,
    configuration_scopes,
    row_keys,
    search_spec,
)


@dataclass(frozen=True)
class Results:
    """Rows (each with its folder) and the meta they are read with."""

    rows: pd.DataFrame
    meta: dict


def _tuned(store: ResultsStore) -> dict[str, str]:
    summary = store.tuning() or {}
    return {
        name: json.dumps({"config": c["config"], "training": c["training"]}, sort_keys=True)
        for name, c in summary.get("choices", {}).items()
    }


def _scopes(store: ResultsStore, encoder: str) -> set[str]:
    """The experiments ``encoder`` has rows on in ``store``, in-distribution rows on a mixed zoo
    apart (:func:`~analysis.results.configuration_scopes`: their own table column)."""
    rows = store.rows()
    return set() if rows.empty else set(configuration_scopes(rows[rows["encoder"] == encoder]))


def combine_results(folders: list[str | Path]) -> Results:
    """The rows of ``folders`` as one table, after checking that they pair up (see the module
    docstring); one folder is read as it is."""
    stores = [ResultsStore(folder) for folder in folders]
    first = stores[0]
    config = first.meta.get("config", {})
    zoos = dict(first.meta.get("zoos", {}))
    digests = dict(first.meta.get(ZOO_DIGESTS, {}))
    tuned = _tuned(first)
    tuned_in = dict.fromkeys(tuned, first)
    problems, notes = [], []
    for store in stores[1:]:
        other = store.meta.get("config", {})
        theirs, ours = search_spec(other), search_spec(config)
        for key in ours:
            if theirs[key] != ours[key]:
                problems.append(
                    f"{key} is {theirs[key]!r} in {store.path} but {ours[key]!r} in {first.path}"
                )
        for name, path in store.meta.get("zoos", {}).items():
            if zoos.setdefault(name, path) != path:
                problems.append(
                    f"zoo {name!r} is {path} in {store.path} but {zoos[name]} in {first.path}: "
                    "another zoo under one name"
                )
        for name, digest in store.meta.get(ZOO_DIGESTS, {}).items():
            if digests.setdefault(name, digest) != digest:
                problems.append(
                    f"zoo {name!r} held other networks when {store.path} was computed than when "
                    f"{first.path} was (rebuilt in between): their rows do not pair up"
                )
        for name, settings in _tuned(store).items():
            origin = tuned_in.setdefault(name, store)
            if tuned.setdefault(name, settings) == settings:
                continue
            theirs_exps, ours_exps = _scopes(store, name), _scopes(origin, name)
            if theirs_exps & ours_exps:
                problems.append(
                    f"{name} was tuned to other settings in {store.path} than in {origin.path}, "
                    f"and both have its rows on {', '.join(sorted(theirs_exps & ours_exps))}: "
                    "one encoder has one configuration in a table column (give the second run "
                    f"tuning.reuse: {origin.path} to share the first one's searches)"
                )
            elif theirs_exps:
                notes.append(
                    f"{name}'s {', '.join(sorted(theirs_exps))} rows (`{store.path}`) ran with "
                    f"{settings}; its other rows (`{origin.path}`) with {tuned[name]}"
                )
    if problems:
        raise ResultsFormatError(
            ", ".join(str(store.path) for store in stores),
            "these results folders cannot be read as one comparison: " + "; ".join(problems),
        )
    parts, seen = [], set()
    for store in stores:
        rows = store.rows()
        if rows.empty:
            continue
        keys = row_keys(rows)
        parts.append(rows[~keys.isin(seen).to_numpy()])
        seen |= set(keys)
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    meta = {**first.meta, "zoos": zoos, ZOO_DIGESTS: digests}
    if len(stores) > 1:
        meta["combined"] = [str(store.path) for store in stores]
        meta["settings_notes"] = notes
        meta["config"] = {
            **config,
            "name": " + ".join(str(s.meta["config"].get("name")) for s in stores),
        }
    return Results(rows, meta)
