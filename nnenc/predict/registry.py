"""The registry of predictors: every name a benchmark or ``nnenc train`` can run.

A registered encoder's name gives that encoder plus a head
(:class:`~nnenc.predict.performance.PerformancePredictor`). Other predictors register their class with
:func:`register_predictor` (other packages through the ``nnenc.predictors`` entry-point group):
STATNN's trees (``statnn-trees``) and :class:`LabelNoiseReference` (``label-noise``). Each
follows :class:`nnenc.predict.protocol.Predictor` and builds itself from a benchmark's settings with a
``from_settings(config, training, seed, device)`` class method.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from nnenc.encoders.base import create_encoder, encoder_class, encoder_names
from nnenc.predict.performance import PerformancePredictor, training_precision
from nnenc.predict.protocol import ROLES, Predictor
from nnenc.predict.training import EffectiveSettings, TrainingConfig
from nnenc.registry import Registry

PREDICTORS = Registry("predictor", "nnenc.predictors", before_loading=encoder_names)
"""Predictors other than an encoder plus a head. Loading the entry points loads the encoders'
first: a package's encoders and predictors often share modules."""


def register_predictor(cls: type) -> type:
    """Class decorator: make ``cls`` (a :class:`~nnenc.predict.protocol.Predictor` with a ``name``,
    a ``role`` and ``from_settings``) creatable by :func:`create_predictor`."""
    if not getattr(cls, "name", ""):
        raise ValueError(f"{cls.__name__} has no name")
    if getattr(cls, "role", None) not in ROLES:
        raise ValueError(f"{cls.__name__}.role must be one of {ROLES}")
    if not callable(getattr(cls, "from_settings", None)):
        raise ValueError(f"{cls.__name__} has no from_settings(config, training, seed, device)")
    return PREDICTORS.add(cls.name, cls)


def predictor_names() -> list[str]:
    """Every name :func:`create_predictor` takes: the encoders' and the registered ones'."""
    return sorted({*encoder_names(), *PREDICTORS.names()})


def _check_name(name: str) -> type | None:
    cls = PREDICTORS.find(name)
    if cls is None and name not in encoder_names():
        raise KeyError(f"unknown predictor {name!r}; known: {', '.join(predictor_names())}")
    return cls


def predictor_role(name: str) -> str:
    """``predictor`` or ``reference`` (see :data:`nnenc.predict.protocol.ROLES`)."""
    cls = _check_name(name)
    return PerformancePredictor.role if cls is None else cls.role


def search_space(name: str) -> dict:
    """What a tuner may vary for ``name`` (``WeightEncoder.search_space``'s form)."""
    cls = _check_name(name)
    return dict((encoder_class(name) if cls is None else cls).search_space)


def settings(name: str, config: dict, training: dict, device: str = "cpu") -> EffectiveSettings:
    """The settings a predictor really runs with: defaults filled in (``positional=True`` is the
    same run as the default; a constant learning rate needs no schedule options:
    :func:`nnenc.budget.effective_budget`), an encoder's precision resolved for ``device``."""
    if _check_name(name) is not None:
        return EffectiveSettings.of(config, training)
    options = TrainingConfig.from_options(training)
    precision = training_precision(name, options.precision, device)
    with torch.random.fork_rng():  # building the encoder draws its initial weights
        encoder = create_encoder(name, **config).config
    return EffectiveSettings.of(encoder, replace(options, precision=precision))


def create_predictor(
    name: str,
    config: dict | None = None,
    training: dict | None = None,
    seed: int = 0,
    device: str = "cpu",
) -> Predictor:
    """The predictor called ``name`` with ``config`` (an encoder's options, or the predictor's
    own) and ``training`` (:class:`~nnenc.predict.training.TrainingConfig` options)."""
    cls = _check_name(name)
    config, training = dict(config or {}), dict(training or {})
    if cls is not None:
        return cls.from_settings(config, training, seed=seed, device=device)
    return PerformancePredictor(name, config, **{**training, "seed": seed, "device": device})


def load_predictor(name: str, path: str | Path, device: str = "cpu") -> Predictor:
    """The predictor called ``name`` that ``save`` wrote into ``path``."""
    cls = _check_name(name)
    if cls is None:
        return PerformancePredictor.load(path, device=device)
    if not cls.saveable:
        raise ValueError(f"{name} predictors are not saved; fit one again")
    return cls.load(path, device=device)
