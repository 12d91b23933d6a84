"""Sets of different sizes, encoded a size at a time: no padding, no masks.

A level of SNE encodes many sets at once (every chunk of a batch, every layer, every network).
Their sizes differ, but only a few sizes occur (a ``cnn-small`` batch has chunks of 32, 17 and 10
parameters, layers of 80, 16 and 10 chunks). :class:`SetBuckets` groups the sets by size once
per batch (in ``collate``, on the CPU), so that each size goes through the set encoder as one
dense ``(sets, size, ...)`` tensor, in groups sized for the device
(:class:`~nnenc.encoders.work.WorkLayout`), and the results come back in set order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from nnenc.encoders.work import WorkLayout


@dataclass(frozen=True)
class SetBuckets:
    """Where the sets of a flat element tensor lie, grouped by size.

    Attributes:
        sizes: the set size of each bucket, largest first.
        counts: the number of sets in each bucket.
        rows: per bucket, ``(sets * size,)`` element rows, set after set (ascending set index);
            ``None`` where the bucket is the first ``sets * size`` elements in order (nothing to
            gather).
        restore: ``(n_sets,)`` the place of each set in the buckets' joined output; ``None``
            where that is the identity.
    """

    sizes: tuple[int, ...]
    counts: tuple[int, ...]
    rows: tuple[torch.Tensor | None, ...]
    restore: torch.Tensor | None

    @classmethod
    def of(cls, sizes: torch.Tensor, starts: torch.Tensor | None = None) -> SetBuckets:
        """Buckets for sets of ``sizes`` ``(n_sets,)`` whose elements start at element rows
        ``starts`` (default: one after another, in set order)."""
        sizes = sizes.long()
        if starts is None:
            starts = torch.cumsum(sizes, 0) - sizes
        contiguous = torch.equal(starts, torch.cumsum(sizes, 0) - sizes)
        order = torch.sort(sizes, descending=True, stable=True).indices
        bucket_sizes, counts = torch.unique_consecutive(sizes[order], return_counts=True)
        if len(bucket_sizes) == 1 and contiguous:
            return cls((int(bucket_sizes[0]),), (len(sizes),), (None,), None)
        rows, first = [], 0
        for size, count in zip(bucket_sizes.tolist(), counts.tolist(), strict=True):
            sets = order[first : first + count]
            rows.append((starts[sets, None] + torch.arange(size, device=starts.device)).reshape(-1))
            first += count
        restore = torch.empty_like(order)
        restore[order] = torch.arange(len(order), device=order.device)
        return cls(tuple(bucket_sizes.tolist()), tuple(counts.tolist()), tuple(rows), restore)

    def to(self, device: torch.device | str) -> SetBuckets:
        return SetBuckets(
            self.sizes,
            self.counts,
            tuple(None if r is None else r.to(device) for r in self.rows),
            None if self.restore is None else self.restore.to(device),
        )

    def encode(
        self,
        encoder: Callable[..., torch.Tensor],
        *elements: torch.Tensor,
        temporary_elements: Callable[[int], int] | None = None,
        layout: WorkLayout | None = None,
    ) -> torch.Tensor:
        """``encoder`` on every set -> ``(n_sets, ...)``, in set order.

        Args:
            encoder: ``(sets, size, *element_shape)`` for each of ``elements`` ->
                ``(sets, *out_shape)``.
            elements: one or more ``(n_elements, *element_shape)`` tensors whose rows the
                buckets index (several: what each element carries, e.g. values and places).
            temporary_elements: floats in the encoder's largest temporary for one set of a size
                (sizes the groups, with ``layout``); ``None``: each bucket in one call.
            layout: the device's work layout.
        """
        outputs = []
        for size, count, rows in zip(self.sizes, self.counts, self.rows, strict=True):
            buckets = [self._take(e, size, count, rows) for e in elements]
            if temporary_elements is None or layout is None:
                outputs.append(encoder(*buckets))
                continue
            group = layout.sets_per_group(temporary_elements(size))
            outputs += [
                encoder(*parts) for parts in zip(*(b.split(group) for b in buckets), strict=True)
            ]
        joined = outputs[0] if len(outputs) == 1 else torch.cat(outputs)
        return joined if self.restore is None else joined.index_select(0, self.restore)

    @staticmethod
    def _take(elements: torch.Tensor, size: int, count: int, rows: torch.Tensor | None):
        """One bucket's sets of ``elements``: ``(count, size, *element_shape)``."""
        if rows is None:  # the first count * size elements: all of them, as a rule
            taken = elements if len(elements) == count * size else elements[: count * size]
        else:  # index_select: its gradient is summed by index_add, not an accumulating index_put
            taken = elements.index_select(0, rows)
        return taken.view(count, size, *elements.shape[1:])
