"""The contract every weight encoder follows, and the one registry that finds them by name.

A :class:`WeightEncoder` turns networks into vectors in two steps, like a PyG transform plus a
model: :meth:`~WeightEncoder.featurize` runs once per network in the data pipeline (its result
is cacheable), :meth:`~WeightEncoder.collate` joins features into a batch, and
:meth:`~WeightEncoder.forward` maps a batch to ``(B, out_dim)``. Encoders are created by name,
``create_encoder("sne", chunk_size=32)``; other packages add theirs through the
``nnenc.encoders`` entry-point group.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from nnenc.params import NetworkParams
from nnenc.registry import Registry
from nnenc.views import EncoderInputError


class WeightEncoder(nn.Module):
    """Base class: ``featurize`` once per network, ``collate`` per batch, ``forward`` to
    ``(B, out_dim)``.

    The base class owns the contract, as PyG's ``MessagePassing`` owns ``propagate``:
    :meth:`featurize` checks the network (some layers, finite weights) and calls the
    subclass's ``_featurize``; :meth:`collate` refuses an empty batch and calls ``_collate``.
    Subclasses define those two and ``forward``, never ``featurize`` or ``collate`` themselves.
    They set ``name``, ``accepts_mixed`` (whether one batch may hold several architectures;
    where it may not, :meth:`collate` refuses a mixed batch, and each feature carries its
    ``architecture`` name and the ``shapes`` that fix its layout) and ``out_dim``, and store each constructor argument as an attribute of the same name:
    :attr:`config` is read from them (as scikit-learn's ``get_params``), so the encoder can be
    rebuilt by :func:`create_encoder`.

    Shapes:
        input: the batch :meth:`collate` makes of ``B`` networks' features (each encoder's own
        keys, documented on its ``_collate``)
        output: ``(B, out_dim)``
    """

    name: ClassVar[str] = ""
    accepts_mixed: ClassVar[bool] = True
    trains_faster_in_bf16: ClassVar[bool] = False
    """Whether bf16 autocast trains this encoder measurably faster than fp32 where the device
    runs bf16 natively (``benchmarks/encoders_train.py``); ``--precision auto`` picks bf16 only
    for such encoders. Casting costs more than it saves for small or scatter-bound models."""
    search_space: ClassVar[dict] = {"training.lr": ("log", 3e-4, 3e-3)}
    """What a benchmark's tuner may vary (``analysis/tuning.py``, the same number of trials
    for every encoder): ``"config.KEY"`` (a constructor argument) or ``"training.KEY"`` (a
    :class:`~nnenc.predict.performance.PerformancePredictor` option) -> ``("log", low, high)`` or
    ``("choice", [values])``. Encoders declare their own: learning rate, width and depth."""
    out_dim: int
    _OWNED: ClassVar[tuple[str, ...]] = (
        "featurize",
        "collate",
        "config",
        "check_network",
        "check_one_architecture",
    )

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        owned = [name for name in cls._OWNED if name in vars(cls)]
        if owned:
            raise TypeError(
                f"{cls.__name__} defines {', '.join(owned)}: WeightEncoder owns these (they run "
                "the checks every encoder makes); define _featurize(params) and "
                "_collate(features) instead, and store each constructor argument as an "
                "attribute of the same name (config is read from them)"
            )

    @classmethod
    def options(cls) -> list[str]:
        """The constructor's keyword arguments (what :attr:`config` holds)."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        return [
            p.name
            for p in parameters
            if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]

    @property
    def config(self) -> dict:
        """The constructor's arguments as this encoder holds them now (tuples as lists, so the
        config is what its JSON reads back): ``create_encoder(name, **config)`` rebuilds it."""
        config = {}
        for key in self.options():
            try:
                value = getattr(self, key)
            except AttributeError:  # not re-raised as one: nn.Module would mask the message
                raise TypeError(
                    f"{type(self).__name__} keeps no attribute {key!r} for its constructor "
                    f"argument {key!r}: store it (self.{key} = {key}); config is read from "
                    "the attributes named as the arguments"
                ) from None
            if isinstance(value, nn.Module | torch.Tensor):
                raise TypeError(
                    f"{type(self).__name__}.{key} is a {type(value).__name__}, not the value of "
                    f"its constructor argument {key!r}: name the module otherwise"
                )
            config[key] = _plain(value)
        return config

    @classmethod
    def test_config(cls) -> dict:
        """A small configuration for the contract checks (:func:`nnenc.testing.check_encoder`):
        fast to build and run. Default: the constructor's defaults."""
        return {}

    def featurize(self, params: NetworkParams) -> Any:
        """One network's features (cacheable): the checks every encoder makes
        (:meth:`check_network`), then the subclass's ``_featurize``."""
        self.check_network(params)
        return self._featurize(params)

    def collate(self, features: Sequence[Any]) -> Any:
        """Features of one or more networks joined into a batch (``_collate``); a batch that
        mixes architectures is refused where the encoder does not accept one."""
        features = list(features)
        if not features:
            raise EncoderInputError("cannot collate an empty list of networks")
        self.check_one_architecture(features)
        return self._collate(features)

    def check_one_architecture(self, features: Sequence[Any]) -> None:
        """Where ``accepts_mixed`` is False: refuse features of more than one layout (their
        ``shapes``), naming the architectures. Encoders of one architecture call it on their
        training features too (``fit_inputs``)."""
        if self.accepts_mixed:
            return
        layouts = {f.shapes: f.architecture for f in features}
        if len(layouts) > 1:
            raise EncoderInputError(
                f"{self.name} reads one architecture at a time; these networks have "
                f"{len(layouts)} ({', '.join(sorted(set(layouts.values())))}): it cannot do the "
                "cross-architecture tasks (sne, deepsets, statnn and gmn can)"
            )

    def _featurize(self, params: NetworkParams) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no _featurize(params)")

    def _collate(self, features: list[Any]) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no _collate(features)")

    def fit_inputs(self, features: Sequence[Any]) -> None:
        """Fit data-dependent input normalisation on the training set's features (called once by
        the predictor before training; saved with the weights). Default: nothing to fit."""

    def batch_to(self, batch: Any, device: torch.device | str) -> Any:
        """Move a collated batch to ``device``: a dict whose values are tensors, or objects
        with a ``to(device)`` method, are moved; other values are kept as they are."""
        return {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}

    def encode(self, networks: Sequence[NetworkParams]) -> torch.Tensor:
        """Featurize, collate and encode: ``(len(networks), out_dim)``."""
        first = next(self.parameters(), None)  # an encoder sized by its data may have none yet
        device = "cpu" if first is None else first.device
        return self(self.batch_to(self.collate([self.featurize(n) for n in networks]), device))

    def check_network(self, params: NetworkParams) -> None:
        """The checks every encoder makes: some layers, finite weights."""
        where = f"network ({params.architecture})"
        if len(params) == 0:
            raise EncoderInputError(f"{where}: has no layers; there is nothing to encode")
        for layer in params:
            if not layer.is_finite():
                raise EncoderInputError(
                    f"{where}: layer {layer.name!r} has NaN or infinite weights; drop diverged "
                    "networks first (zoo.filter(finite=True))"
                )

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config.items())


def _plain(value: Any) -> Any:
    """``value`` with tuples as lists, at any depth (a config as JSON reads it back)."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


ENCODERS = Registry("encoder", "nnenc.encoders")
"""Packages (baselines/ included) register encoders through the ``nnenc.encoders`` entry-point
group in their metadata, e.g. ``[project.entry-points."nnenc.encoders"] mlp =
"baselines.flat_mlp:FlatMLP"``."""


def register_encoder(cls: type[WeightEncoder]) -> type[WeightEncoder]:
    """Class decorator: make ``cls`` creatable as ``create_encoder(cls.name)``."""
    return ENCODERS.add(cls.name, cls)


def encoder_names() -> list[str]:
    return ENCODERS.names()


def encoder_class(name: str) -> type[WeightEncoder]:
    """The class registered as ``name``."""
    return ENCODERS.get(name)


def encoder_options(name: str) -> dict[str, object]:
    """The options of encoder ``name`` (its constructor's keyword arguments) and their defaults
    (``inspect.Parameter.empty`` where there is none)."""
    cls = encoder_class(name)
    parameters = inspect.signature(cls.__init__).parameters
    return {key: parameters[key].default for key in cls.options()}


def create_encoder(name: str, **config) -> WeightEncoder:
    """The encoder registered as ``name``, built with ``config``; an option it does not have is
    refused with the closest one it has."""
    cls: Callable[..., WeightEncoder] = encoder_class(name)
    options = encoder_options(name)
    open_ended = any(
        p.kind is p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values()
    )
    for key in [] if open_ended else config:
        if key not in options:
            close = difflib.get_close_matches(key, options, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise ValueError(
                f"unknown option {key!r} for {name}{hint} Its options: {', '.join(options)} "
                "(nnenc encoders lists them with their defaults)"
            )
    for key, value in config.items():
        problem = _option_type_problem(options.get(key, inspect.Parameter.empty), value)
        if problem:
            raise ValueError(f"option {key!r} of {name}: {problem}, got {value!r}")
    return cls(**config)


def _option_type_problem(default: object, value: object) -> str:
    """Why ``value`` cannot stand where the constructor's default is ``default`` (a flag must be
    true or false, a count a whole number, a rate a number), or ``""``. Options without a
    default, or whose default is None or of another kind, are the constructor's to check."""
    if isinstance(default, bool):
        return "" if isinstance(value, bool) else "must be true or false"
    if isinstance(value, bool) and isinstance(default, (int, float)):
        return "must be a number, not true or false"
    if isinstance(default, int):
        return "" if isinstance(value, int) else "must be a whole number"
    if isinstance(default, float):
        return "" if isinstance(value, (int, float)) else "must be a number"
    if isinstance(default, str):
        return "" if isinstance(value, str) else "must be a name (text)"
    return ""
