"""The Predictor protocol and the registry: every predictor the benchmark runs, by name."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nnenc.metrics import kendall_tau
from nnenc.predict.protocol import EncodingPredictor, Predictor
from nnenc.predict.registry import (
    create_predictor,
    predictor_names,
    predictor_role,
    register_predictor,
)


@pytest.mark.parametrize("name", predictor_names())
def test_every_registered_predictor_follows_the_protocol(name):
    predictor = create_predictor(name, seed=3)
    assert isinstance(predictor, Predictor)
    assert predictor_role(name) in ("predictor", "reference")
    assert isinstance(predictor.target, str) and predictor.target


def test_names_resolve_to_their_predictors():
    from baselines.statnn import StatnnTrees
    from nnenc.predict.performance import PerformancePredictor
    from nnenc.predict.references import LabelNoiseReference

    assert isinstance(create_predictor("sne", {"chunk_size": 8}), EncodingPredictor)
    trees = create_predictor("statnn-trees", {"max_leaf_nodes": 15}, {"epochs": 3}, seed=7)
    assert isinstance(trees, StatnnTrees) and trees.seed == 7 and not trees.saveable
    assert isinstance(create_predictor("label-noise"), LabelNoiseReference)
    assert isinstance(create_predictor("mlp"), PerformancePredictor)
    assert predictor_role("label-noise") == "reference" and predictor_role("sne") == "predictor"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match=r"unknown predictor 'snee'.*sne.*statnn-trees"):
        create_predictor("snee")


def test_registration_is_checked():
    class Nameless:
        role = "predictor"

    with pytest.raises(ValueError, match="has no name"):
        register_predictor(Nameless)

    class NoRole:
        name = "no-role"
        role = "judge"

    with pytest.raises(ValueError, match="role must be one of"):
        register_predictor(NoRole)


def test_label_noise_reference_scores_one_half_against_the_other(trained_zoo_splits):
    small_zoo = trained_zoo_splits.test
    reference = create_predictor("label-noise")
    half1 = small_zoo.metrics["test_accuracy_half1"].to_numpy(float)
    half2 = small_zoo.metrics["test_accuracy_half2"].to_numpy(float)
    np.testing.assert_array_equal(reference.predict(small_zoo), half2)
    assert reference.evaluate(small_zoo)["kendall_tau"] == pytest.approx(kendall_tau(half1, half2))
    with pytest.raises(TypeError, match="reads a zoo's metrics"):
        reference.predict(list(small_zoo)[:2])
    with pytest.raises(NotImplementedError, match="nothing to save"):
        reference.save("anywhere")


def test_tables_and_plots_import_without_torch():
    """`python -X importtime -c "import analysis.tables"` in test form: rendering the results
    imports neither torch nor the predictors."""
    code = (
        "import sys, analysis.tables, analysis.plots, analysis.report\n"
        "heavy = sorted(m for m in ('torch', 'sklearn', 'analysis.jobs') if m in sys.modules)\n"
        "print(','.join(heavy))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() in ("", "sklearn"), found.stdout
    tables = "import sys, analysis.tables; print('torch' in sys.modules, 'sklearn' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", tables], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "False False"


def test_every_baseline_is_found_by_name_in_a_fresh_process():
    """A fresh process knows only what the entry points declare (the mixed preset named
    ng-pna, which its module registered on import but pyproject did not declare: unknown
    encoder). Every encoder a baselines module registers must be found by name."""
    import pkgutil

    import baselines

    modules = [f"baselines.{m.name}" for m in pkgutil.iter_modules(baselines.__path__)]
    code = (
        "import importlib, sys\n"
        "from nnenc.encoders import encoder_names\n"
        "declared = set(encoder_names())\n"
        f"for module in {modules!r}:\n"
        "    importlib.import_module(module)\n"
        "print(sorted(set(encoder_names()) - declared))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", f"registered but not declared: {found.stdout}"
