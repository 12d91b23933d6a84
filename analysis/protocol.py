"""What a benchmark runs, as a results folder records it: the experiments, the zoos, encoders and
seeds of a preset, and the pairs of zoos each experiment trains and tests on.

:class:`BenchSpec` is a preset read as it is; :class:`analysis.config.BenchConfig` is one checked
against the registered datasets, architectures and encoders (which imports them, and torch). A
report reads the spec a folder's ``meta.json`` records, so nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXPERIMENTS = (
    "in-dist",
    "cross-dataset",
    "cross-arch",
    "held-out-arch",
    "small-to-large",
    "ablate",
    "learning-curve",
)
"""``held-out-arch`` and ``small-to-large`` train on a mixed zoo and test on architectures its
training split never had (:data:`nnenc.zoo.splits.TRANSFERS`); ``learning-curve`` trains on
subsets of one zoo of growing size and tests on one fixed split
(:func:`nnenc.zoo.splits.learning_curve_splits`)."""
TRANSFER = {"held-out-arch": "held-out", "small-to-large": "larger"}
"""Experiments that test on architectures the training split never had, and their split
(:data:`nnenc.zoo.splits.TRANSFERS`)."""
ABLATION_FACTORS = ("chunk_size", "pooling", "positional", "logit_invariance")
LEARNING_CURVE = "networks"
"""A learning-curve run's variant is ``networks=N``: N networks (train and validation) drawn."""
MIN_TEST_RUNS = 30
"""The fewest training runs a test split may hold: with fewer, a Kendall tau's 95% interval is
wider than +-0.25 and no comparison can be read from it."""


def split_counts(runs: int, split: tuple[float, float, float]) -> tuple[int, int, int]:
    """Train, val and test runs of a zoo of ``runs`` runs, rounded as
    :func:`nnenc.zoo.splits.split_by_group` cuts them."""
    cuts = [round(sum(split[: i + 1]) * runs) for i in range(2)]
    return cuts[0], cuts[1] - cuts[0], runs - cuts[1]


def experiment_zoos(spec: dict) -> list[str]:
    """The zoos an experiment's spec names (``zoos:`` list, or one ``zoo:`` for ablations)."""
    return [*spec.get("zoos", []), *([spec["zoo"]] if "zoo" in spec else [])]


@dataclass(frozen=True)
class BenchSpec:
    """A benchmark configuration read as it is (see :mod:`analysis.config` for the checked one)."""

    name: str
    seeds: tuple[int, ...]
    split: tuple[float, float, float]
    zoos: dict[str, dict]
    encoders: dict[str, dict]
    training: dict
    experiments: dict[str, dict]
    protocol: str = "final"
    tuning: dict = field(default_factory=dict)
    """``{zoo, trials, seed}``: every encoder's search on ``zoo``'s validation split (see
    :mod:`analysis.tuning`); empty: the presets' settings as given."""
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def read(cls, raw: dict) -> BenchSpec:
        """``raw`` read as it is, unchecked: for a configuration a results folder recorded
        (checked by :meth:`analysis.config.BenchConfig.from_dict` when its benchmark ran;
        checking it again would import every registered encoder). Zoos without a ``path`` get the ``build`` defaults."""
        build = dict(raw.get("build") or {})
        zoos = {}
        for name, spec in (raw.get("zoos") or {}).items():
            spec = dict(spec or {})
            zoos[name] = spec if "path" in spec else {**build, **spec}
        return cls(
            name=str(raw.get("name", "custom")),
            seeds=tuple(int(s) for s in raw.get("seeds", (0,))),
            split=tuple(raw.get("split", (0.6, 0.2, 0.2))),
            zoos=zoos,
            encoders={name: dict(spec or {}) for name, spec in (raw.get("encoders") or {}).items()},
            training=dict(raw.get("training") or {}),
            experiments={
                name: dict(spec or {}) for name, spec in (raw.get("experiments") or {}).items()
            },
            protocol=raw.get("protocol", "final"),
            tuning=dict(raw.get("tuning") or {}),
            raw=raw,
        )

    def experiment_encoders(self, name: str) -> list[str]:
        """The encoders experiment ``name`` runs: its ``encoders`` list, else every encoder of
        the preset (an ablation runs its one ``encoder``)."""
        spec = self.experiment(name)
        if name == "ablate":
            return [spec.get("encoder", "sne")]
        return list(spec.get("encoders", self.encoders))

    def experiment_variants(self, name: str) -> list[str]:
        """The variant names each encoder of experiment ``name`` runs under: ``factor=value``
        per ablation value, ``networks=N`` per learning-curve size, else the one ``""``."""
        spec = self.experiment(name)
        if name == "ablate":
            factors = spec.get("factors", {})
            return [f"{factor}={value}" for factor, values in factors.items() for value in values]
        if name == "learning-curve":
            return [f"{LEARNING_CURVE}={size}" for size in spec.get("sizes", [])]
        return [""]

    def experiment_pairs(
        self, name: str, architectures: dict[str, str]
    ) -> list[tuple[str, tuple[str, ...]]]:
        """(source zoo, target zoos) of each training experiment ``name`` runs per encoder and
        seed; ``architectures`` maps each zoo to its architecture (cross-arch pairs zoos of
        different ones)."""
        spec = self.experiment(name)
        zoos = list(spec.get("zoos", []))
        if name == "in-dist" or name in TRANSFER:
            return [(z, (z,)) for z in zoos]
        if name == "cross-dataset":
            return [(z, tuple(zoos)) for z in zoos]
        if name == "cross-arch":
            pairs = []
            for source in zoos:
                others = tuple(t for t in zoos if architectures[t] != architectures[source])
                if others:
                    pairs.append((source, (source, *others)))
            return pairs
        return [(spec["zoo"], (spec["zoo"],))]

    def experiment(self, name: str) -> dict:
        if name not in self.experiments:
            raise ValueError(
                f"preset {self.name!r} has no {name!r} experiment; it has: "
                f"{', '.join(self.experiments) or 'none'}"
            )
        return self.experiments[name]
