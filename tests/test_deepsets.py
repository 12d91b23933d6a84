import pytest
import torch

from baselines.deepsets import parameter_set
from nnenc import NetworkParams, get_architecture
from nnenc.encoders import create_encoder, work
from nnenc.encoders.inputs import sinusoidal


def _network(arch: str, seed: int) -> NetworkParams:
    torch.manual_seed(seed)
    return NetworkParams.from_module(get_architecture(arch).build())


def _forward_of_2026_11_27(encoder, networks) -> torch.Tensor:
    """DeepSets as nnenc computed it up to commit 26cda78: every place encoding per element,
    pooled with ``index_add_``."""
    sets = [parameter_set(n) for n in networks]
    sizes = torch.tensor([len(s.values) for s in sets])
    layer = torch.cat([s.layer for s in sets])
    elements = encoder.phi(
        encoder.embed_value(torch.cat([s.values for s in sets]))
        + encoder.kind(torch.cat([s.layer_kind[s.layer] for s in sets]))
        + encoder.role(torch.cat([s.is_bias for s in sets]))
        + sinusoidal(layer, encoder.hidden)
        + encoder.depth(
            torch.cat([s.layer / max(len(s.layer_kind) - 1, 1) for s in sets]).unsqueeze(-1)
        )
    )
    pooled = elements.new_zeros(len(sets), encoder.hidden)
    pooled.index_add_(0, torch.repeat_interleave(torch.arange(len(sets)), sizes), elements)
    if encoder.pooling == "mean":
        pooled = pooled / sizes.unsqueeze(-1).to(pooled.dtype)
    return encoder.rho(pooled)


@pytest.mark.parametrize("pooling", ["mean", "sum"])
@pytest.mark.parametrize("layout", ["device", "gpu"])
def test_the_fast_forward_equals_the_forward_of_2026_11_27(pooling, layout, monkeypatch):
    """Places encoded per (network, layer, role) slot and networks pooled a size at a time, in
    device-sized groups (or, forced here on the CPU, the GPU's one call per size), give the
    encodings and gradients of the per-element forward, on a batch of three architectures."""
    if layout == "gpu":
        monkeypatch.setattr(work, "work_layout", lambda device: work.GPU)
    torch.manual_seed(0)
    encoder = create_encoder("deepsets", hidden=16, out_dim=8, pooling=pooling).eval()
    encoder.embed_value.fit(torch.randn(1000) * 0.05)
    networks = [_network("cnn-small", 0), _network("mlp", 1), _network("cnn-dense", 2)]
    fast = encoder(encoder.collate([encoder.featurize(n) for n in networks]))
    today = _forward_of_2026_11_27(encoder, networks)
    torch.testing.assert_close(fast, today, atol=1e-5, rtol=1e-5)
    weights = torch.randn_like(fast)
    parameters = list(encoder.parameters())
    for a, b in zip(
        torch.autograd.grad((fast * weights).sum(), parameters),
        torch.autograd.grad((today * weights).sum(), parameters),
        strict=True,
    ):  # float32 sums over ~15,000 elements in another order: equal to 1e-4 of the norm
        assert (a - b).norm() <= 1e-4 * b.norm()


def test_a_cpu_group_holds_what_its_elements_keep_alive_one_cnn_small_network(monkeypatch):
    """On a CPU, a group is sized by the ``LIVE_PER_ELEMENT`` tensors of ``hidden`` floats each
    element keeps alive in training: at the defaults (hidden 64) one ``cnn-small`` network
    (4,970 parameters) per group, where the largest tensor alone would have let three through
    (they page-faulted, README Speed); the GPU layout takes all four at once, and both give the
    same encodings."""
    encoder = create_encoder("deepsets").eval()
    encoder.embed_value.fit(torch.randn(1000) * 0.05)
    batch = encoder.collate([encoder.featurize(_network("cnn-small", s)) for s in range(4)])
    calls = []
    encoder.phi.register_forward_hook(lambda module, args, out: calls.append(len(out)))
    on_cpu = encoder(batch)
    assert calls == [1, 1, 1, 1]
    calls.clear()
    monkeypatch.setattr(work, "work_layout", lambda device: work.GPU)
    torch.testing.assert_close(encoder(batch), on_cpu, atol=1e-6, rtol=1e-5)
    assert calls == [4]
