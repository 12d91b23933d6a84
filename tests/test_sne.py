from dataclasses import replace

import pytest
import torch
from sne_reference import reference_forward

from nnenc import NetworkParams, get_architecture
from nnenc.encoders import create_encoder, work
from nnenc.encoders.set_layers import SetEncoder
from nnenc.views.chunks import pad_chunk


def _network(arch: str = "cnn-small", seed: int = 0, mlp_input: int = 14) -> NetworkParams:
    """A freshly initialised network; the MLP on 14 x 14 inputs (its layers as at 28 x 28, a
    third of the weights: the equivalence tests below encode it many times)."""
    torch.manual_seed(seed)
    spec = get_architecture(arch)
    if spec.family == "mlp":
        spec = replace(spec, input_size=mlp_input)
    return NetworkParams.from_module(spec.build())


def _sne(**config):
    torch.manual_seed(0)
    return create_encoder("sne", **{"hidden": 16, "heads": 2, "out_dim": 8, **config}).eval()


def test_pad_chunk_lays_out_each_unit_and_masks_the_padding():
    net = _network()
    chunks = pad_chunk(net, chunk_size=32)
    # conv1: 16 units x (16*9 + 1 = 145 values) -> 5 chunks per unit
    first_conv1 = (chunks.layer == 1).nonzero()[0, 0]
    unit_row = torch.cat([net[1].weight[0].reshape(-1), net[1].bias[:1]])
    got = chunks.values[first_conv1 : first_conv1 + 5][chunks.mask[first_conv1 : first_conv1 + 5]]
    assert torch.equal(got, unit_row)
    assert int(chunks.mask.sum()) == net.num_params
    assert len(chunks.values) == 16 + 80 + 80 + 10
    assert (chunks.values[~chunks.mask] == 0).all()


def test_padding_does_not_change_the_encoding():
    encoder = _sne(chunk_size=32)
    features = encoder.featurize(_network())
    noise = torch.randn_like(features.values) * 100
    noisy = replace(features, values=torch.where(features.mask, features.values, noise))
    torch.testing.assert_close(
        encoder(encoder.collate([noisy])), encoder(encoder.collate([features]))
    )


@pytest.mark.parametrize(
    "layer_config",
    [
        {},
        {"layer_pool": "pma"},
        {"layer_pool": "max", "layer_depth": 2},
        {"layer_pool": "sum", "layer_set": "none"},
        {"layer_set": "sab"},  # not streamable: padded in bounded groups instead
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_processing_chunks_in_small_groups_gives_the_same_encoding(layer_config, stream):
    """Groups of 3 chunks: streaming, every layer of more chunks is streamed through the layer
    encoder (running softmax), from the batch (forward) or from the weights (encode); not
    streaming, chunk groups are concatenated. With gradients on, so streaming is the explicit
    switch, not the grad mode."""
    big = _sne(chunk_size=16, **layer_config)
    # a chunk's largest temporary: 16 values x 3 * 16 projections
    small = _sne(chunk_size=16, max_group_elements=16 * 48 * 3, **layer_config)
    small.load_state_dict(big.state_dict())
    assert small.chunk_group == 3
    # the MLP on 7 x 7 inputs: its first layer still streams hundreds of chunks, in groups of 3
    networks = [_network("cnn-small", 0), _network("mlp", 1, mlp_input=7)]
    batch = small.collate([small.featurize(n) for n in networks])
    expected = big.encode(networks)
    # encode() streams each network from its weights; forward() streams the batch's layers
    streamed = small.encode(networks, stream=stream)
    torch.testing.assert_close(streamed, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(small(batch, stream=stream), expected, atol=1e-5, rtol=1e-5)
    streamed.sum().backward()  # differentiable either way
    assert small.project.weight.grad is not None


def test_streaming_under_bf16_autocast_gives_the_batched_encoding():
    """Under bf16 autocast (what ``--precision bf16`` and ``auto`` on native-bf16 CPUs run), a
    network with streamed layers and whole ones encodes as the batched network does, within bf16
    rounding: the layer encodings come back in bf16 and are put in layer order, not written
    into an fp32 buffer (that failed with "Index put requires the source and destination
    dtypes match")."""
    big = _sne(chunk_size=16)
    # groups of 32 chunks: of cnn-small's layers (16, 160, 160, 20 chunks) and the MLP's
    # (416, 96, 30), the first and last stay whole and the others stream
    small = _sne(chunk_size=16, max_group_elements=16 * 48 * 32)
    small.load_state_dict(big.state_dict())
    assert small.chunk_group == 32
    networks = [_network("cnn-small", 0), _network("mlp", 1)]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        expected = big.encode(networks, stream=False).float()
        streamed = small.encode(networks, stream=True).float()
        one = small.encode_streaming(networks[1]).float()
    assert torch.isfinite(streamed).all()
    torch.testing.assert_close(streamed, expected, atol=0.05, rtol=0.05)
    torch.testing.assert_close(one, expected[1], atol=0.05, rtol=0.05)


@pytest.mark.parametrize(
    "config",
    [
        {"chunk_pool": "mean", "layer_pool": "max", "network_pool": "sum"},
        {"chunk_set": "none", "layer_set": "sab", "network_set": "isab"},
        {"positional": False},
        {"chunk_size": 8, "chunk_depth": 2},
        {"chunk_size": 256},
    ],
)
def test_ablation_options_build_and_encode(config):
    encoder = _sne(**config)
    out = encoder.encode([_network("cnn-small", 0), _network("cnn-dense", 1)])
    assert out.shape == (2, 8) and torch.isfinite(out).all()


def test_positional_encodings_tell_layer_order_apart():
    net = _network("mlp")
    swapped = NetworkParams((net[1], net[0], net[2]), "mlp")  # same sets, other order
    with_positions, without = _sne(), _sne(positional=False)
    without.load_state_dict(with_positions.state_dict(), strict=False)
    a, b = with_positions.encode([net, swapped])
    assert not torch.allclose(a, b, atol=1e-4)


def test_unknown_options_are_refused():
    with pytest.raises(ValueError, match="unknown pooling 'median'"):
        _sne(layer_pool="median")
    with pytest.raises(ValueError, match="unknown set-to-set type 'lstm'"):
        _sne(chunk_set="lstm")


def test_isab_in_slices_equals_isab_at_once():
    from nnenc.encoders.set_layers import ISAB

    torch.manual_seed(0)
    whole, sliced = ISAB(16, 2, inducing=4), ISAB(16, 2, inducing=4, slice_rows=7)
    sliced.load_state_dict(whole.state_dict())
    x, mask = torch.randn(3, 40, 16), torch.rand(3, 40) > 0.2
    torch.testing.assert_close(sliced(x, mask), whole(x, mask))


TODAY_CONFIGS = [
    {},
    {"chunk_size": 16, "chunk_pool": "pma", "layer_pool": "max", "network_pool": "sum"},
    {"chunk_size": 8, "chunk_depth": 2, "layer_set": "sab", "network_set": "isab"},
    {"chunk_set": "none", "positional": False, "layer_pool": "pma"},
]


@pytest.mark.parametrize("config", TODAY_CONFIGS)
@pytest.mark.parametrize("layout", ["device", "gpu"])
@pytest.mark.parametrize("grad", [False, True])
def test_the_fast_forward_equals_the_forward_of_2026_11_27(config, layout, grad, monkeypatch):
    """The same weights give the same encodings as the padded, masked forward nnenc had before
    its sets were bucketed by size (tests/sne_reference.py), on a batch of three architectures,
    with the CPU's grouping and with the GPU's one call per size (forced here on the CPU)."""
    if layout == "gpu":
        monkeypatch.setattr(work, "work_layout", lambda device: work.GPU)
    encoder = _sne(**config)
    encoder.embed_value.fit(torch.randn(1000) * 0.05)
    networks = [_network("cnn-small", 0), _network("mlp", 1), _network("cnn-dense", 2)]
    features = [encoder.featurize(n) for n in networks]
    with torch.set_grad_enabled(grad):
        fast = encoder(encoder.collate(features))
        today = reference_forward(encoder, features)
    torch.testing.assert_close(fast, today, atol=1e-5, rtol=1e-5)
    if grad:  # and the same gradients, so training follows the same path
        weights = torch.randn_like(fast)
        parameters = [p for p in encoder.parameters() if p.requires_grad]
        fast_grads = torch.autograd.grad((fast * weights).sum(), parameters, allow_unused=True)
        today_grads = torch.autograd.grad((today * weights).sum(), parameters, allow_unused=True)
        for a, b in zip(fast_grads, today_grads, strict=True):
            assert (a is None) == (b is None)
            if a is not None:
                torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_a_gpu_layout_encodes_each_size_in_one_call_and_a_cpu_layout_in_groups(monkeypatch):
    """Forced on the CPU: the GPU layout sends every chunk of one length through the chunk
    encoder at once; the CPU layout cuts the same chunks into groups of ``chunk_group``."""
    calls = []
    forward = SetEncoder.forward

    def counted(self, x, mask=None):
        calls.append(len(x))
        return forward(self, x, mask)

    monkeypatch.setattr(SetEncoder, "forward", counted)
    monkeypatch.setattr(work, "work_layout", lambda device: work.CPU)
    networks = [_network("cnn-small", seed) for seed in range(40)]
    encoder = _sne(chunk_size=32, hidden=32, heads=4)
    batch = encoder.collate([encoder.featurize(n) for n in networks])
    # per network: 128 full chunks (32 values), 42 of 17 and 16 of 10; layers of 80 chunks
    # (conv2, conv3), 16 (conv1) and 10 (the dense layer); networks of 4 layers
    with torch.no_grad():
        encoder(batch)
    assert encoder.chunk_group == 256
    chunk_calls, layer_calls, network_calls = calls[:-4], calls[-4:-1], calls[-1:]
    # chunks of 17 and 10 hold 17 * 96 and 10 * 96 floats in their largest temporary
    assert chunk_calls == [256] * 20 + [642, 642, 40 * 42 - 2 * 642] + [40 * 16]
    assert layer_calls == [80, 40, 40] and network_calls == [40]
    calls.clear()
    monkeypatch.setattr(work, "work_layout", lambda device: work.GPU)
    with torch.no_grad():
        encoder(batch)
    assert calls[:-4] == [40 * 128, 40 * 42, 40 * 16] and calls[-4:] == layer_calls + network_calls


def test_the_cpu_groups_do_not_grow_with_the_torch_threads(monkeypatch):
    """A CPU group's largest temporary holds ``CPU_GROUP_ELEMENTS`` floats whatever the
    process's torch threads (larger ones are page-faulted in on every call): SNE's chunk group
    at the defaults (4,096 floats per chunk of 32) is 256 chunks on 1, 2 or 8 threads, so the
    encodings do not depend on the thread count through the groups; an explicit
    ``max_group_elements`` overrides it."""
    encoder = _sne(chunk_size=32, hidden=32, heads=4)
    for threads in (1, 2, 8):
        monkeypatch.setattr(torch, "get_num_threads", lambda threads=threads: threads)
        assert encoder.chunk_group == 256
    assert _sne(chunk_size=32, hidden=32, heads=4, max_group_elements=4096 * 3).chunk_group == 3
