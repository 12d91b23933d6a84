"""Every registered encoder, and STATNN's trees, learns to rank real trained networks.

The zoo was built by the zoo builder and is kept in the repository (tests/fixture_zoos.py: 64
cnn-small runs on digits, 320 networks, fp32, split 50/25/25 by run). Each predictor gets one
short fp32 training with each of its seeds (:data:`SEEDS`, or :data:`SEEDS_OF`); the median over
those of its best validation Kendall tau must exceed :data:`VAL_TAU` (or its own,
:data:`VAL_TAU_OF`), and of its test tau :data:`TEST_TAU` (:data:`TEST_TAU_OF`).

Why most train once (``python benchmarks/learning_thresholds.py --build-seeds 0 --seeds 0 1 2 3 4 5
6 7 8 9 --threads 1``, 2026-12-07, a 2-core AMD EPYC with AVX2 and no bf16 while a benchmark
shared it; the kept zoo is build seed 0's, so the training seed is what varies): the lowest of
10 single trainings per predictor, validation / test tau, was gmn 0.454 / 0.378, deepsets 0.279
/ 0.284, mlp 0.394 / 0.290, nfn-np 0.273 / 0.449, nfn-hnp 0.338 / 0.404, ng-pna 0.410 / 0.534,
statnn 0.571 / 0.486; STATNN's trees gave 0.516 / 0.518 whatever the seed. Every single
training cleared its thresholds, which sit well below those lowest values, so the medians over
three seeds cost a minute of ``make test`` for nothing on a zoo that no longer changes. A
machine whose fp32 kernels sum in another order (a native-bf16 CPU) trains as another seed
would. GMN, DeepSets and the flat MLP keep the median over three seeds: single trainings of
theirs fell to test tau 0.21, 0.13 and 0.22 on the builds measured below (the MLP's on the
native-bf16 CPU), too close to the threshold to rest on one.

The history of the thresholds, measured when the zoo was built anew for each session:
Why medians and these thresholds (``python benchmarks/learning_thresholds.py``, 2026-11-28, on a
2-core AMD EPYC with native bf16 and on the same CPU capped to AVX2, no bf16: build seeds 0-2 x
training seeds 0-4 per predictor). A single training's test tau rests on 16 test runs and swings
widely: as low as 0.13 (DeepSets), 0.21 (GMN), 0.22 (the flat MLP, for this very zoo and seed
0 on the bf16 CPU) where the same predictors' medians sit at 0.43-0.59. The median over seeds
0-2 was at least 0.436 (validation) and 0.380 (test) for every predictor, zoo and CPU; over any
3 of the 5 seeds at least 0.416 and 0.286. The thresholds sit well below those; chance gives
tau 0 +- 0.08 on 80 networks.

The NFN and neural-graph baselines (added later; ``python benchmarks/learning_thresholds.py
--build-seeds 0 --predictors nfn-np nfn-hnp ng-pna``, 2026-11-28, the bf16 CPU while a benchmark
shared it; build seed 0 x training seeds 0-4): validation tau nfn-np 0.296-0.314, nfn-hnp
0.339-0.392, ng-pna 0.417-0.461; test tau 0.449-0.488, 0.409-0.468, 0.501-0.603. NFN's
validation taus sit below the others' (their test taus do not), so its validation thresholds
are its own (:data:`VAL_TAU_OF`), half its lowest.

SNE and DeepSets train 5 epochs, not 10, to keep ``make test`` well inside the CI's 10 minutes
(``python benchmarks/learning_thresholds.py --predictors sne deepsets``, 2026-12-03, a 2-core
AMD EPYC with AVX2 and no bf16, nothing else running; build seeds 0-2 x training seeds 0-4;
not measured on a native-bf16 CPU, whose fp32 kernels sum in another order). SNE: validation
tau 0.418-0.528, test 0.362-0.576: every one of its 15 single trainings cleared the common
thresholds by a wide margin, so SNE trained once. DeepSets: validation
0.250-0.593, test 0.292-0.577; its median over seeds 0-2 at least 0.412 (validation) and 0.377
(test) per build seed, over any 3 of the 5 seeds at least 0.309 and 0.320: its validation
threshold is its own too, half that lowest. The NFNs at 5 epochs (``--epochs 5``) fell to
validation tau 0.05-0.16 on build seed 1, so they keep 10.

The NFNs' layers are 8, 8, 4 channels wide, not the default 16, 16, 5: half the training time
(``python benchmarks/learning_thresholds.py --predictors nfn-np nfn-hnp --threads 1``,
2026-12-03, the AVX2 EPYC while a benchmark shared it; build seeds 0-2 x training seeds 0-4).
Medians over training seeds 0-2, per build seed 0 / 1 / 2: nfn-np validation 0.320 / 0.250 /
0.256, test 0.483 / 0.281 / 0.372; nfn-hnp validation 0.368 / 0.077 / 0.241, test 0.449 / 0.298
/ 0.137. With the default channels (build seeds 1-2 only) nfn-hnp was no better: validation
0.151 / 0.243, test 0.283 / 0.120. NFN_HNP learns weakly on some builds of this small zoo, so
its thresholds (half its lowest medians, :data:`TEST_TAU_OF`) only tell learning from chance
(tau 0 +- 0.08); nfn-np's validation threshold is half its lowest median too.

The probing encoders, 16 probes and a 2-layer MLP 64 wide (``python
benchmarks/learning_thresholds.py --predictors probe probegen --threads 1``, 2026-12-07, a 2-core
AMD EPYC with AVX2 and no bf16 while a benchmark shared it; build seeds 0-2 x training seeds
0-4): single trainings reached validation tau 0.569-0.696 (probe) and 0.525-0.738 (probegen),
test tau 0.362-0.644 and 0.408-0.688: the common thresholds sit well below their lowest single
training, so each trained once, to keep ``make test`` inside the CI's minutes.
"""

import statistics

import pytest

from baselines.statnn import StatnnTrees
from nnenc.encoders import encoder_names
from nnenc.predict.performance import PerformancePredictor

SHORT = {
    "sne": ({"chunk_size": 16, "hidden": 16, "heads": 2, "out_dim": 16}, {"lr": 3e-3, "epochs": 5}),
    "deepsets": ({"hidden": 32}, {"lr": 3e-3, "epochs": 5}),
    "gmn": ({}, {"lr": 3e-3}),
    "mlp": ({}, {"lr": 1e-3}),
    "statnn": ({}, {"lr": 3e-3}),
    "nfn-np": ({"hidden": 128, "hchannels": [8, 8, 4]}, {"lr": 3e-3}),
    "nfn-hnp": ({"hidden": 128, "hchannels": [8, 8, 4]}, {"lr": 3e-3}),
    "ng-pna": ({"hidden": 16, "depth": 2}, {"lr": 3e-3}),
    "probe": ({"probes": 16, "hidden": 64, "layers": 2}, {"lr": 3e-3}),
    "probegen": ({"probes": 16, "hidden": 64, "layers": 2}, {"lr": 3e-3}),
}
"""Per encoder: small encoder config, training overrides (SNE and DeepSets, the slowest to
train, clear the thresholds in 5 epochs, measured below; the NFNs do not)."""
TRAINING = {"epochs": 10, "batch_size": 16, "precision": "fp32"}
"""Every predictor's training: fp32 on every CPU (``auto`` would train in bf16 where the CPU has
it natively, a different computation)."""


SEEDS = (0,)
"""One training each: every single training measured on the kept zoo cleared its thresholds."""
SEEDS_OF = {name: (0, 1, 2) for name in ("gmn", "deepsets", "mlp")}
"""The median over three: their single trainings came close to the thresholds on some builds."""
VAL_TAU = 0.3
VAL_TAU_OF = {"nfn-np": 0.12, "nfn-hnp": 0.04, "deepsets": 0.15}
TEST_TAU = 0.2
TEST_TAU_OF = {"nfn-hnp": 0.07}


def training_of(name: str) -> dict:
    """The training arguments ``name``'s learning test gives its predictor."""
    return {**TRAINING, **SHORT.get(name, ({}, {}))[1]}


def _check_learned(
    make_predictor, splits, val_tau: float = VAL_TAU, test_tau: float = TEST_TAU, seeds=SEEDS
):
    """Train one predictor per seed; the medians of best validation and test tau must clear
    the thresholds."""
    val, test = [], []
    for seed in seeds:
        predictor = make_predictor(seed)
        history = predictor.fit(splits.train, splits.val, progress=False)
        val.append(float(history["val_kendall_tau"].max()))
        test.append(predictor.evaluate(splits.test)["kendall_tau"])
    assert statistics.median(val) > val_tau, val
    assert statistics.median(test) > test_tau, test


@pytest.mark.parametrize("name", encoder_names())
def test_encoder_learns_on_a_real_zoo(name, trained_zoo_splits):
    config = SHORT.get(name, ({}, {}))[0]
    _check_learned(
        lambda seed: PerformancePredictor(name, config, seed=seed, **training_of(name)),
        trained_zoo_splits,
        VAL_TAU_OF.get(name, VAL_TAU),
        TEST_TAU_OF.get(name, TEST_TAU),
        SEEDS_OF.get(name, SEEDS),
    )


def test_statnn_trees_learn_on_a_real_zoo(trained_zoo_splits):
    _check_learned(lambda seed: StatnnTrees(seed=seed), trained_zoo_splits)
