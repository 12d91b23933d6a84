"""How set work is laid out on each device: the one place that sizes it.

SNE and the other set encoders push many small sets (a chunk of 32 scalars, a layer of 80
chunks) through attention blocks. Sets of equal size go through together, without padding or
masks; how many at once, and which attention kernel runs them, depends on the device:

- **CPU**: groups whose largest temporary holds :data:`CPU_GROUP_ELEMENTS` floats (4 MB in
  fp32), whatever the number of torch threads. Larger temporaries are allocated by glibc with
  ``mmap``, or handed back to the system when freed, and are page-faulted in, zeroed, on every
  call, and they fall out of the cores' caches (the measurements that chose the size are in
  docs/speed.md, "Why the code is shaped so"). How the groups should grow on more than 2 cores
  is not measured.
  Attention is computed with two batched matrix products: for heads of dimension 8 and sets
  of 32, PyTorch's fused CPU kernel was slower in training.
- **GPU**: a whole bucket in one call (a group is bounded only by :data:`GPU_GROUP_ELEMENTS`,
  for memory), through the fused kernel :func:`torch.nn.functional.scaled_dot_product_attention`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

CPU_GROUP_ELEMENTS = 2**20
GPU_GROUP_ELEMENTS = 2**28


@dataclass(frozen=True)
class WorkLayout:
    """How one device runs set work.

    Attributes:
        group_elements: bound on the floats in the largest temporary of one group of sets.
        fused_attention: use :func:`torch.nn.functional.scaled_dot_product_attention` (else
            two batched matrix products and a softmax).
    """

    group_elements: int
    fused_attention: bool

    def sets_per_group(self, set_elements: int) -> int:
        """How many sets whose largest temporary holds ``set_elements`` floats go at once."""
        return max(1, self.group_elements // max(1, set_elements))


GPU = WorkLayout(GPU_GROUP_ELEMENTS, fused_attention=True)
CPU = WorkLayout(CPU_GROUP_ELEMENTS, fused_attention=False)


def work_layout(device: torch.device | str) -> WorkLayout:
    """The layout for ``device``: :data:`GPU` for CUDA devices, :data:`CPU` otherwise."""
    return GPU if torch.device(device).type == "cuda" else CPU
