"""SNE's forward as nnenc computed it up to commit 26cda78 (2026-11-27), written plainly: every
chunk padded to ``chunk_size`` and masked, each level padded to its longest set and masked,
attention through ``nn.MultiheadAttention``'s own forward. The fast forward must give the same
encodings from the same weights (tests/test_sne.py).
"""

from __future__ import annotations

import torch

from nnenc.encoders.inputs import sinusoidal
from nnenc.encoders.set_layers import ISAB, MAB, SAB, SetEncoder


def _mab(mab: MAB, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    padding = None if mask is None else ~mask
    h = x + mab.attention(x, y, y, key_padding_mask=padding, need_weights=False)[0]
    return h + mab.feed_forward(h)


def _set_encoder(encoder: SetEncoder, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    for block in encoder.blocks:
        if isinstance(block, SAB):
            x = _mab(block.block, x, x, mask)
        else:
            assert isinstance(block, ISAB)
            h = _mab(block.to_inducing, block.inducing.expand(len(x), -1, -1), x, mask)
            x = _mab(block.from_inducing, x, h, None)
    pool = encoder.pool
    if pool.kind == "pma":
        return _mab(pool.block, pool.seed.expand(len(x), -1, -1), pool.pre(x), mask)[:, 0]
    weight = mask.unsqueeze(-1).to(x.dtype)
    if pool.kind == "sum":
        return (x * weight).sum(1)
    if pool.kind == "mean":
        return (x * weight).sum(1) / weight.sum(1).clamp(min=1)
    return x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


def _padded(x: torch.Tensor, segment: torch.Tensor, n_segments: int):
    counts = torch.bincount(segment, minlength=n_segments)
    position = torch.arange(len(segment)) - (torch.cumsum(counts, 0) - counts)[segment]
    out = x.new_zeros(n_segments, int(counts.max()), x.shape[-1])
    mask = torch.zeros(n_segments, int(counts.max()), dtype=torch.bool)
    out[segment, position] = x
    mask[segment, position] = True
    return out, mask


def reference_forward(sne, features) -> torch.Tensor:
    """The encodings ``(B, out_dim)`` of the :class:`~nnenc.encoders.sne.ChunkedNetwork` list
    ``features``, computed as nnenc's SNE did on 2026-11-27."""
    values = torch.cat([f.values for f in features])
    mask = torch.cat([f.mask for f in features])
    layer_offsets = torch.cumsum(torch.tensor([0] + [len(f.layer_kind) for f in features]), 0)
    chunk_layer = torch.cat(
        [f.layer + int(o) for f, o in zip(features, layer_offsets, strict=False)]
    )
    layer_kind = torch.cat([f.layer_kind for f in features])
    layer_index = torch.cat([torch.arange(len(f.layer_kind)) for f in features])
    layer_network = torch.cat([torch.full((len(f.layer_kind),), n) for n, f in enumerate(features)])
    chunks = _set_encoder(sne.chunk_encoder, sne.embed_value(values), mask)
    if sne.positional:
        chunks = (
            chunks
            + sinusoidal(torch.cat([f.unit for f in features]), sne.hidden)
            + sinusoidal(torch.cat([f.piece for f in features]), sne.hidden)
            + sinusoidal(layer_index[chunk_layer], sne.hidden)
            + sne.kind_embedding(layer_kind[chunk_layer])
        )
    padded, layer_mask = _padded(sne.to_layer(chunks), chunk_layer, len(layer_kind))
    layers = _set_encoder(sne.layer_encoder, padded, layer_mask)
    if sne.positional:
        layers = layers + sinusoidal(layer_index, sne.hidden) + sne.kind_embedding(layer_kind)
    padded, network_mask = _padded(sne.to_network(layers), layer_network, len(features))
    return sne.project(_set_encoder(sne.network_encoder, padded, network_mask))
