"""How set work is laid out on each device: the one place that sizes it.

SNE and the other set encoders push many small sets (a chunk of 32 scalars, a layer of 80
chunks) through attention blocks. Sets of equal size go through together, without padding or
masks; how many at once, and which attention kernel runs them, depends on the device:

- **CPU**: groups whose largest temporary stays near :data:`CPU_GROUP_ELEMENTS_PER_THREAD`
  floats (4 MB) per torch thread. Larger tensors are allocated by glibc with ``mmap`` and
  page-faulted in, zeroed, on every call, and fall out of the cores' caches; measured on a
  2-core AMD EPYC with AVX-512 (2026-11-28), a training step of SNE's chunk level over 4,096
  chunks took 432 ms in one call and 181-200 ms in groups of 512-1,024 chunks (the same one
  call took 181 ms with glibc's mmap threshold raised, which a library cannot do for its
  users); on a 2-core AMD EPYC with AVX2 only (2026-12-03, SNE's training steps on ``cnn-small``
  networks, median of 3), groups of 2^20 floats per thread beat a fixed 2^22: 61 against 45
  networks/s on 1 thread (49-59 against 42-44 with two such processes side by side), 84
  against 72 on 2 threads. Attention is computed with two batched matrix products: for heads of
  dimension 8 and sets of 32, PyTorch's fused CPU kernel was 2x slower in training.
- **GPU**: a whole bucket in one call (a group is bounded only by :data:`GPU_GROUP_ELEMENTS`,
  for memory), through the fused kernel :func:`torch.nn.functional.scaled_dot_product_attention`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

CPU_GROUP_ELEMENTS_PER_THREAD = 2**20
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


def cpu_layout(threads: int | None = None) -> WorkLayout:
    """The CPU's layout for ``threads`` torch threads (default: this process's
    :func:`torch.get_num_threads`): groups grow with the threads that share them."""
    threads = torch.get_num_threads() if threads is None else threads
    return WorkLayout(CPU_GROUP_ELEMENTS_PER_THREAD * max(1, threads), fused_attention=False)


def work_layout(device: torch.device | str) -> WorkLayout:
    """The layout for ``device``: :data:`GPU` for CUDA devices, :func:`cpu_layout` otherwise."""
    return GPU if torch.device(device).type == "cuda" else cpu_layout()
