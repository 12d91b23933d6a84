"""Compute precision for a device: ``fp32``, ``bf16``, or ``auto``, bf16 only where the device
runs it natively and faster than fp32.

bf16 doubles matrix throughput on CPUs with AVX-512-BF16 or AMX and on GPUs from Ampere on;
elsewhere it is emulated: on an AVX2-only x86 CPU a 512 x 512 bf16 matrix product runs ~35x
slower than fp32, and the Small CNN Zoo's convolutions 5-8x slower. ``auto`` therefore measures
rather than guesses: a timed probe multiplies 256 x 256 matrices in each precision on the device
(well under a second), and bf16 is chosen only if it is at least :data:`BF16_MIN_SPEEDUP` times
faster. The probe runs once per machine; its result is cached in ``$NNENC_CACHE/precision.json``
under a fingerprint of the device (CPU model and bf16 flags, torch's CPU capability, the
instruction-set caps ``ONEDNN_MAX_CPU_ISA``/``ATEN_CPU_CAPABILITY``, or the GPU's name and
compute capability) and the torch version, so a changed machine is probed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
import warnings
from contextlib import AbstractContextManager, nullcontext
from functools import cache

import torch

from nnenc.cache import cache_dir
from nnenc.io.atomic import write_json

PRECISIONS = ("auto", "fp32", "bf16")
BF16_MIN_SPEEDUP = 1.2
"""bf16 is chosen by ``auto`` only when the probe finds it at least this much faster than fp32
(native bf16 measured 2.4x on a 2-core AMD EPYC with AVX-512-BF16; emulated bf16 0.03x with the
same CPU capped to AVX2)."""
PROBE_FILE = "precision.json"
ISA_CAPS = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")


def check_device(device: str) -> str:
    """``device`` if torch can compute there (``cpu``, or ``cuda`` with a GPU it sees), else a
    clear error saying what to do."""
    if device not in ("cpu", "cuda"):
        raise ValueError(f"--device {device!r}: use cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"--device cuda: no CUDA device is available here: this torch ({torch.__version__}) "
            "sees no CUDA GPU; use --device cpu, or a CUDA build of torch on a machine with a GPU"
        )
    return device


def check_precision(precision: str) -> str:
    """``precision`` if it is one nnenc knows, else a clear error."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    return precision


def _isa_caps() -> tuple[tuple[str, str], ...]:
    return tuple((name, os.environ[name]) for name in ISA_CAPS if name in os.environ)


@cache
def _cpu_description(isa_caps: tuple[tuple[str, str], ...]) -> dict:
    """The CPU's facts, read once per process (and per set of ISA caps)."""
    model, flags = platform.processor(), ""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not model:
                    model = value.strip()
                elif key.strip() in ("flags", "Features") and not flags:
                    flags = value
    except OSError:
        pass
    return {
        "cpu": model or platform.machine(),
        "bf16_flags": sorted(f for f in flags.split() if "bf16" in f or f.startswith("amx")),
        "capability": torch.backends.cpu.get_cpu_capability(),
        "isa_caps": dict(isa_caps),
    }


def describe_device(device: torch.device | str) -> dict:
    """What decides bf16 speed on ``device``: the fingerprint the probe is cached under."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        found = {
            "gpu": torch.cuda.get_device_name(index),
            "capability": list(torch.cuda.get_device_capability(index)),
            "cuda": torch.version.cuda,
        }
    else:
        found = _cpu_description(_isa_caps())
    return {"device": device.type, **found, "torch": torch.__version__}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops(
    dtype: torch.dtype, device: torch.device | str = "cpu", size: int = 256, seconds: float = 0.05
) -> float:
    """Measured FLOP/s of ``size`` x ``size`` matrix products in ``dtype`` on ``device`` with
    this process's torch threads (the best of repeated timings over about ``seconds``)."""
    device = torch.device(device)
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    a @ b  # warm-up: kernels chosen, memory touched
    _synchronize(device)
    best, spent = float("inf"), 0.0
    while spent < seconds:
        started = time.perf_counter()
        a @ b
        _synchronize(device)
        elapsed = time.perf_counter() - started
        best, spent = min(best, elapsed), spent + elapsed
    return 2 * size**3 / best


def probe(device: torch.device | str = "cpu") -> dict:
    """The precision probe's result for ``device``: fp32 and bf16 FLOP/s and the precision
    ``auto`` picks, from the cache when this machine was probed before (and from memory when
    this process asked before: it is asked on every forward pass)."""
    return _probe(str(torch.device(device)), _isa_caps())


@cache
def _probe(device: str, isa_caps: tuple[tuple[str, str], ...]) -> dict:
    description = json.dumps(describe_device(device), sort_keys=True)
    key = hashlib.sha256(description.encode()).hexdigest()[:16]
    path = cache_dir() / PROBE_FILE
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    if isinstance(known.get(key), dict) and known[key].get("precision") in ("fp32", "bf16"):
        return known[key]
    facts = json.loads(description)
    fp32 = matmul_flops(torch.float32, device)
    bf16 = matmul_flops(torch.bfloat16, device)
    result = {
        **facts,
        "fp32_gflops": round(fp32 / 1e9, 1),
        "bf16_gflops": round(bf16 / 1e9, 1),
        "precision": "bf16" if bf16 >= BF16_MIN_SPEEDUP * fp32 else "fp32",
        "probed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    try:
        write_json({**known, key: result}, path)
    except OSError as err:  # a read-only home still gets the right precision, unprobed later
        warnings.warn(f"could not cache the precision probe in {path}: {err}", stacklevel=3)
    return result


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """``fp32`` or ``bf16``: ``precision`` itself, or for ``auto`` what the probe picks for
    ``device``. Asking for ``bf16`` where the probe finds it slow warns with the measured
    factor (it is allowed: a zoo started in bf16 can be finished anywhere)."""
    check_precision(precision)
    if precision == "auto":
        return probe(device)["precision"]
    if precision == "bf16":
        found = probe(device)
        if found["precision"] != "bf16":
            slower = found["fp32_gflops"] / max(found["bf16_gflops"], 1e-9)
            warnings.warn(
                f"bf16 is not native on this {found['device']} ({found.get('cpu') or found.get('gpu')}): "
                f"matrix products run {slower:.1f}x slower than in fp32; --precision auto "
                "picks fp32 here",
                stacklevel=2,
            )
    return precision


def autocast(precision: str, device: torch.device | str = "cpu") -> AbstractContextManager:
    """A context in which the forward pass runs in ``precision`` (``fp32`` or ``bf16``, already
    resolved): bf16 autocast of matrix products and convolutions, or nothing (a disabled
    autocast still costs its entry and exit on every batch)."""
    if precision != "bf16":
        return nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
