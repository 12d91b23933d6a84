"""Benchmark configurations: a YAML preset (``quick``, ``full``, or a file of your own) plus
``KEY=VALUE`` overrides, checked whole before anything is built or trained.

A preset names the zoos (a build spec for ``nnenc.builder``, or a ``path`` to a zoo on disk), the
encoders with their options, the training defaults, the seeds, the split, and what each
experiment runs on. ``analysis/presets/quick.yaml`` is the documented example.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from nnenc.io.assignments import parse_assignments

EXPERIMENTS = (
    "in-dist",
    "cross-dataset",
    "cross-arch",
    "held-out-arch",
    "small-to-large",
    "ablate",
)
"""``held-out-arch`` and ``small-to-large`` train on a mixed zoo and test on architectures its
training split never had (:data:`nnenc.zoo.splits.TRANSFERS`)."""
TRANSFER = {"held-out-arch": "held-out", "small-to-large": "larger"}
"""Experiments that test on architectures the training split never had, and their split
(:data:`nnenc.zoo.splits.TRANSFERS`)."""
ABLATION_FACTORS = ("chunk_size", "pooling", "positional", "logit_invariance")
MIN_TEST_RUNS = 30
"""The fewest training runs a test split may hold: with fewer, a Kendall tau's 95% interval is
wider than +-0.25 and no comparison can be read from it."""


def split_counts(runs: int, split: tuple[float, float, float]) -> tuple[int, int, int]:
    """Train, val and test runs of a zoo of ``runs`` runs, rounded as
    :func:`nnenc.zoo.splits.split_by_group` cuts them."""
    cuts = [round(sum(split[: i + 1]) * runs) for i in range(2)]
    return cuts[0], cuts[1] - cuts[0], runs - cuts[1]


def preset_names() -> list[str]:
    folder = resources.files("analysis") / "presets"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def _set(tree: dict, dotted: str, value) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
        if not isinstance(tree, dict):
            raise ValueError(f"override {dotted!r}: {key!r} is not a section")
    tree[leaf] = value


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """``["seeds=[0,1]", "training.epochs=3"]`` applied to a copy of ``raw`` (values are YAML)."""
    raw = copy.deepcopy(raw)
    for key, value in parse_assignments(overrides).items():
        _set(raw, key, value)
    return raw


def experiment_zoos(spec: dict) -> list[str]:
    """The zoos an experiment's spec names (``zoos:`` list, or one ``zoo:`` for ablations)."""
    return [*spec.get("zoos", []), *([spec["zoo"]] if "zoo" in spec else [])]


@dataclass(frozen=True)
class BenchConfig:
    """A checked benchmark configuration (see the module docstring)."""

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
    def load(cls, preset: str, overrides: list[str] | None = None) -> BenchConfig:
        """A preset by name (``quick``, ``full``) or a YAML file, with overrides applied."""
        path = Path(preset)
        if path.suffix in (".yaml", ".yml") or path.exists():
            if not path.is_file():
                raise FileNotFoundError(f"preset file {path} does not exist")
            text = path.read_text()
        elif preset in preset_names():
            text = (resources.files("analysis") / "presets" / f"{preset}.yaml").read_text()
        else:
            raise ValueError(
                f"unknown preset {preset!r}; valid: {', '.join(preset_names())}, or a .yaml file"
            )
        raw = yaml.safe_load(text) or {}
        return cls.from_dict(apply_overrides(raw, overrides or []))

    @classmethod
    def from_dict(cls, raw: dict) -> BenchConfig:
        from nnenc.architectures import architecture_names
        from nnenc.datasets import dataset_names
        from nnenc.predictors import predictor_names, predictor_role

        problems: list[str] = []
        config = cls.recorded(raw)
        zoos, encoders, experiments = config.zoos, config.encoders, config.experiments
        known_encoders = [n for n in predictor_names() if predictor_role(n) == "predictor"]
        for name, spec in zoos.items():
            if "path" not in spec:
                if spec.get("dataset") not in dataset_names():
                    problems.append(
                        f"zoo {name!r}: unknown dataset {spec.get('dataset')!r}; valid: "
                        f"{', '.join(dataset_names())}"
                    )
                mixed = spec.get("architecture") == "mixed" and "architecture_space" in spec
                if spec.get("architecture") not in architecture_names() and not mixed:
                    problems.append(
                        f"zoo {name!r}: unknown architecture {spec.get('architecture')!r}; "
                        f"valid: {', '.join(architecture_names())}, or mixed with an "
                        "architecture_space"
                    )
        for name in encoders:
            if name not in known_encoders:
                problems.append(
                    f"unknown encoder {name!r}; valid: {', '.join(sorted(known_encoders))}"
                )
        for name, spec in experiments.items():
            if name not in EXPERIMENTS:
                problems.append(f"unknown experiment {name!r}; valid: {', '.join(EXPERIMENTS)}")
                continue
            for zoo in experiment_zoos(spec):
                if zoo not in zoos:
                    problems.append(
                        f"experiment {name!r} names zoo {zoo!r}, which the preset does not "
                        f"define; defined: {', '.join(zoos) or 'none'}"
                    )
            listed = spec.get("encoders")
            if listed is not None and (
                not isinstance(listed, list) or not set(listed) <= set(encoders) or not listed
            ):
                problems.append(
                    f"experiment {name!r}: encoders must list some of the preset's encoders "
                    f"({', '.join(encoders) or 'none'}), got {listed!r}"
                )
            if name == "ablate":
                unknown = sorted(set(spec.get("factors", {})) - set(ABLATION_FACTORS))
                if unknown:
                    problems.append(
                        f"ablate: unknown factor(s) {unknown}; valid: {', '.join(ABLATION_FACTORS)}"
                    )
                if spec.get("encoder", "sne") not in known_encoders:
                    problems.append(f"ablate: unknown encoder {spec.get('encoder')!r}")
        split = config.split
        if len(split) != 3 or abs(sum(split) - 1) > 1e-6:
            problems.append(f"split must be three fractions summing to 1, got {list(split)}")
        if len(split) == 3:
            for name, spec in zoos.items():
                runs = spec.get("runs")
                test_runs = split_counts(runs, split)[2] if isinstance(runs, int) else None
                if test_runs is not None and test_runs < MIN_TEST_RUNS:
                    problems.append(
                        f"zoo {name!r}: a test split of {split[2]:g} of {runs} runs holds "
                        f"{test_runs} runs, fewer than {MIN_TEST_RUNS}, too few to rank "
                        "encoders; build more runs or give the test split more"
                    )
        protocol, tuning = config.protocol, config.tuning
        from nnenc.zoo.splits import PROTOCOLS

        if protocol not in PROTOCOLS:
            problems.append(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        if tuning:
            if tuning.get("zoo") not in zoos:
                problems.append(
                    f"tuning.zoo names {tuning.get('zoo')!r}, which the preset does not define"
                )
            if "reuse" in tuning and not isinstance(tuning["reuse"], str):
                problems.append(
                    f"tuning.reuse must be a results folder's path, got {tuning['reuse']!r}"
                )
            if not isinstance(tuning.get("trials"), int) or tuning["trials"] < 1:
                problems.append(
                    f"tuning.trials must be a positive integer, got {tuning.get('trials')!r}"
                )
        if not config.seeds:
            problems.append("seeds: give at least one")
        if problems:
            raise ValueError("benchmark configuration: " + "; ".join(problems))
        return config

    @classmethod
    def recorded(cls, raw: dict) -> BenchConfig:
        """``raw`` read as it is, unchecked: for a configuration a results folder recorded
        (checked by :meth:`from_dict` when its benchmark ran; checking it again would import
        every registered encoder). Zoos without a ``path`` get the ``build`` defaults."""
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
