"""The encoder contract as a check anyone can run, as scikit-learn's ``check_estimator`` is.

A plug-in author runs ``check_encoder(MyEncoder)`` (or parametrises their tests with
:func:`parametrize_encoders`); nnenc's own tests run it over every registered encoder, entry
points included. Each check builds the encoder from its class's :meth:`test_config
<nnenc.encoders.base.WeightEncoder.test_config>` (a small configuration declared beside it) and
feeds it freshly initialised networks of the preset architectures. Every failing check is
reported, each naming what is wrong, in one :class:`EncoderContractError`.

The checks: it encodes a batch to ``(n, out_dim)`` finite values that differ between networks;
it encodes mixed architectures or refuses them with an :class:`EncoderInputError` that says
"architecture"; the same seed gives the same encoder and encoding, another seed another; an
encoding does not depend on the rest of its batch; gradients reach every parameter; its
``config`` rebuilds it and a state dict saved through safetensors restores its encoding; a
network with no layers or with NaN weights is refused with an :class:`EncoderInputError`.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from nnenc.architectures import get_architecture
from nnenc.encoders.base import EncoderInputError, WeightEncoder, encoder_class, encoder_names
from nnenc.params import NetworkParams


class EncoderContractError(AssertionError):
    """An encoder fails the contract; the message lists every failed check and why."""


def network(architecture: str, seed: int) -> NetworkParams:
    """A freshly initialised preset network (the global RNG is left as it was)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return NetworkParams.from_module(get_architecture(architecture).build())


def _build(cls: type[WeightEncoder], seed: int = 0) -> WeightEncoder:
    torch.manual_seed(seed)
    return cls(**cls.test_config()).eval()


def _encodes_a_batch(cls):
    encoder = _build(cls)
    out = encoder.encode([network("cnn-small", s) for s in range(3)])
    assert out.shape == (3, encoder.out_dim), (
        f"3 networks gave shape {tuple(out.shape)}, not (3, out_dim={encoder.out_dim})"
    )
    assert torch.isfinite(out).all(), "the encoding holds NaN or infinite values"
    assert not torch.allclose(out[0], out[1]), "two different networks got the same encoding"


def _mixed_architectures(cls):
    encoder = _build(cls)
    mixed = [network("cnn-small", 0), network("mlp", 1), network("cnn-dense", 2)]
    if encoder.accepts_mixed:
        out = encoder.encode(mixed)
        assert out.shape == (3, encoder.out_dim), (
            f"accepts_mixed is True, but a mixed batch gave shape {tuple(out.shape)}"
        )
        return
    try:
        encoder.encode(mixed)
    except EncoderInputError as err:
        assert "architecture" in str(err), f"the refusal does not say 'architecture': {err}"
    else:
        raise AssertionError("accepts_mixed is False, but a mixed batch was encoded")


def _deterministic(cls):
    networks = [network("cnn-small", 0), network("cnn-small", 1)]
    a, b = _build(cls, 3).encode(networks), _build(cls, 3).encode(networks)
    assert torch.allclose(a, b), "the same seed gave another encoder or encoding"
    assert not torch.allclose(a, _build(cls, 4).encode(networks)), (
        "another seed gave the same encoding: the parameters do not depend on the seed"
    )


def _batch_invariant(cls):
    encoder = _build(cls)
    target = network("cnn-small", 0)
    others = ["cnn-dense", "cnn-small"] if encoder.accepts_mixed else ["cnn-small", "cnn-small"]
    alone = encoder.encode([target])[0]
    together = encoder.encode([network(others[0], 5), target, network(others[1], 6)])[1]
    assert torch.allclose(together, alone, atol=1e-5, rtol=1e-4), (
        "a network's encoding changed with the rest of its batch (largest difference "
        f"{(together - alone).abs().max().item():.3g})"
    )


def _gradients(cls):
    encoder = _build(cls).train()
    encoder.encode([network("cnn-small", s) for s in range(2)]).pow(2).sum().backward()
    missing = [n for n, p in encoder.named_parameters() if p.grad is None]
    assert not missing, f"parameters that get no gradient: {missing}"
    bad = [n for n, p in encoder.named_parameters() if not torch.isfinite(p.grad).all()]
    assert not bad, f"parameters with non-finite gradients: {bad}"
    assert any(p.grad.abs().sum() > 0 for p in encoder.parameters()), "every gradient is zero"


def _save_and_load(cls):
    encoder = _build(cls, 1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w.safetensors"
        save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, path)
        again = cls(**encoder.config).eval()
        again.load_state_dict(load_file(path))
    networks = [network("cnn-small", 0)]
    assert torch.allclose(again.encode(networks), encoder.encode(networks)), (
        "rebuilt from its config and loaded from safetensors, it encodes differently"
    )


def _bad_networks(cls):
    encoder = _build(cls)
    for label, bad, expected in (
        ("a network with no layers", NetworkParams(()), "no layers"),
        ("a network with a NaN weight", _with_nan(network("cnn-small", 0)), "NaN or infinite"),
    ):
        try:
            encoder.featurize(bad)
        except EncoderInputError as err:
            assert expected in str(err), f"{label}: the error does not say {expected!r}: {err}"
        else:
            raise AssertionError(f"{label} was featurized instead of refused (EncoderInputError)")


def _with_nan(good: NetworkParams) -> NetworkParams:
    broken = good.map(lambda t: t.clone())
    broken[1].weight.view(-1)[0] = math.nan
    return broken


CHECKS: dict[str, Callable[[type[WeightEncoder]], None]] = {
    "encodes a batch to (n, out_dim)": _encodes_a_batch,
    "encodes or refuses mixed architectures": _mixed_architectures,
    "same seed, same encoding": _deterministic,
    "an encoding does not depend on its batch": _batch_invariant,
    "gradients reach every parameter": _gradients,
    "config and safetensors restore it": _save_and_load,
    "bad networks get a clear error": _bad_networks,
}


def check_encoder(cls: type[WeightEncoder]) -> None:
    """Run every contract check on ``cls``; raise :class:`EncoderContractError` listing the
    ones that fail (an exception a check did not expect counts as a failure, with its type)."""
    if not (isinstance(cls, type) and issubclass(cls, WeightEncoder)):
        raise EncoderContractError(f"{cls!r} is not a WeightEncoder subclass")
    failures = []
    for label, check in CHECKS.items():
        try:
            check(cls)
        except Exception as err:  # a failed check, or an exception it did not expect
            failures.append(f"- {label}: {type(err).__name__}: {err}")
    if failures:
        raise EncoderContractError(
            f"{cls.__name__} ({cls.name or 'unnamed'}) fails {len(failures)} of {len(CHECKS)} "
            "contract checks:\n" + "\n".join(failures)
        )


def parametrize_encoders():
    """``pytest.mark.parametrize("encoder_cls", ...)`` over every registered encoder (entry
    points included), with the names as ids: ``@parametrize_encoders()`` above a test that
    calls ``check_encoder(encoder_cls)``."""
    import pytest

    names = encoder_names()
    return pytest.mark.parametrize("encoder_cls", [encoder_class(n) for n in names], ids=names)
