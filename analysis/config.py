"""Benchmark configurations: a YAML preset (``quick``, ``full``, or a file of your own) plus
``KEY=VALUE`` overrides, checked whole before anything is built or trained.

A preset names the zoos (a build spec for ``nnenc.builder``, or a ``path`` to a zoo on disk), the
encoders with their options, the training defaults, the seeds, the split, and what each
experiment runs on. ``analysis/presets/quick.yaml`` is the documented example.

Checking a preset imports the registered datasets, architectures and encoders (and torch); the
configuration as read and the protocol's constants are in :mod:`analysis.protocol`, which a report
uses without them.
"""

from __future__ import annotations

import copy
import difflib
from importlib import resources
from pathlib import Path

import yaml

from analysis.protocol import (
    ABLATION_FACTORS,
    EXPERIMENTS,
    MIN_TEST_RUNS,
    BenchSpec,
    experiment_zoos,
    split_counts,
)
from nnenc.io.assignments import parse_assignments


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


def _preset_tree(preset: str, extending: tuple[str, ...] = ()) -> dict:
    """The preset ``preset`` read as YAML, with the preset it ``extends`` under it."""
    if preset in extending:
        raise ValueError(
            f"presets extend each other in a loop: {' -> '.join([*extending, preset])}"
        )
    try:
        raw = yaml.safe_load(_preset_text(preset)) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"preset {preset}: not valid YAML ({err})") from None
    base = raw.pop("extends", None) if isinstance(raw, dict) else None
    if base is None:
        return raw
    return {**_preset_tree(str(base), (*extending, preset)), **raw}


def _preset_text(preset: str) -> str:
    path = Path(preset)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise FileNotFoundError(f"preset file {path} does not exist")
        return path.read_text()
    if preset in preset_names():
        return (resources.files("analysis") / "presets" / f"{preset}.yaml").read_text()
    raise ValueError(
        f"unknown preset {preset!r}; valid: {', '.join(preset_names())}, or a .yaml file"
    )


PRESET_KEYS = (
    "name",
    "seeds",
    "split",
    "protocol",
    "build",
    "zoos",
    "training",
    "tuning",
    "encoders",
    "experiments",
)
ENCODER_KEYS = ("config", "training")


def _unknown(keys, known: tuple[str, ...], where: str) -> list[str]:
    problems = []
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown key '{where}{key}'{hint}; valid: {', '.join(known)}")
    return problems


def _shape_problems(raw: object) -> list[str]:
    """What makes ``raw`` no preset at all: not a mapping, unknown or misspelt keys, seeds that
    are not whole numbers, a split that is not a list, sections that are not mappings."""
    if not isinstance(raw, dict):
        return [f"a preset is a mapping of keys ({', '.join(PRESET_KEYS)}), got {raw!r:.80}"]
    problems = _unknown(raw, PRESET_KEYS, "")
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in seeds
    ):
        problems.append(f"seeds must list whole numbers, e.g. [0, 1, 2], got {seeds!r}")
    if "split" in raw and not isinstance(raw["split"], list):
        problems.append(
            f"split must list three fractions, e.g. [0.4, 0.2, 0.4], got {raw['split']!r}"
        )
    for section in ("build", "zoos", "training", "tuning", "encoders", "experiments"):
        if raw.get(section) is not None and not isinstance(raw[section], dict):
            problems.append(f"{section} must be a mapping, got {raw[section]!r:.80}")
    encoders = raw.get("encoders")
    for name, spec in (encoders or {}).items() if isinstance(encoders, dict) else ():
        if spec is not None and not isinstance(spec, dict):
            problems.append(f"encoders.{name} must be a mapping (config, training), got {spec!r}")
        elif spec:
            problems += _unknown(spec, ENCODER_KEYS, f"encoders.{name}.")
    return problems


def _learning_curve_problems(spec: dict, zoos: dict) -> list[str]:
    """What is wrong with a ``learning-curve`` experiment's ``zoo``, ``sizes`` and
    ``test_runs``."""
    problems = []
    sizes, test_runs = spec.get("sizes"), spec.get("test_runs")
    whole = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    if not isinstance(sizes, list) or not sizes or not all(whole(n) and n >= 2 for n in sizes):
        problems.append(
            f"learning-curve.sizes must list numbers of training networks (each at least 2), "
            f"e.g. [50, 100, 200], got {sizes!r}"
        )
        sizes = None
    if not whole(test_runs) or test_runs < MIN_TEST_RUNS:
        problems.append(
            f"learning-curve.test_runs must be a whole number of at least {MIN_TEST_RUNS}, got "
            f"{test_runs!r}"
        )
        test_runs = None
    runs = zoos.get(spec.get("zoo"), {}).get("runs")
    if sizes and test_runs and whole(runs) and max(sizes) + test_runs > runs:
        problems.append(
            f"learning-curve: zoo {spec['zoo']!r} has {runs} runs, fewer than its largest size "
            f"({max(sizes)}) plus test_runs ({test_runs})"
        )
    return problems


def _training_problems(config: BenchSpec) -> list[str]:
    """What would stop an encoder's training from running (:mod:`nnenc.budget`), each naming the
    preset key: checked here so a bad budget is refused before anything is written."""
    from nnenc.predict.training import TrainingConfig

    problems = []
    scopes = {"training": config.training}
    for name, spec in config.encoders.items():
        if isinstance(spec, dict) and spec.get("training"):
            scopes[f"encoders.{name}.training"] = {**config.training, **spec["training"]}
    for scope, training in scopes.items():
        try:
            options = TrainingConfig.from_options(training)
        except (TypeError, ValueError) as err:
            problems.append(f"{scope}: {err}")
            continue
        problems += [f"{scope}: {problem}" for problem in options.problems()]
    return problems


class BenchConfig(BenchSpec):
    """A benchmark configuration checked whole (see the module docstring)."""

    @classmethod
    def load(cls, preset: str, overrides: list[str] | None = None) -> BenchConfig:
        """A preset by name (``quick``, ``full``) or a YAML file, with overrides applied. A
        preset that ``extends: BASE`` (a name or a file) is BASE with each of its top-level
        keys replaced by the preset's: the same zoos, encoders and seeds, say, and other
        experiments."""
        tree = _preset_tree(preset)
        try:
            return cls.from_dict(apply_overrides(tree, overrides or []))
        except ValueError as err:
            if preset in preset_names() or str(preset) in str(err):
                raise
            raise ValueError(f"{preset}: {err}") from err  # name the file that holds the problem

    @classmethod
    def from_dict(cls, raw: dict) -> BenchConfig:
        from nnenc.architectures import architecture_names
        from nnenc.datasets import dataset_names
        from nnenc.predict.registry import predictor_names, predictor_role

        shape = _shape_problems(raw)
        if shape:
            raise ValueError("benchmark configuration: " + "; ".join(shape))
        problems: list[str] = []
        config = cls.read(raw)
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
        problems += _training_problems(config)
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
            if name == "learning-curve":
                problems += _learning_curve_problems(spec, zoos)
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
