"""Choosing the compute precision and device for a run."""

from __future__ import annotations

import torch


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_has_fast_bf16() -> bool:
    # AMX / AVX512-BF16 run bf16 matmuls ~2x faster than fp32 here; older CPUs emulate bf16 slowly.
    cpu = torch.cpu
    return bool(
        getattr(cpu, "_is_amx_tile_supported", lambda: False)()
        or getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
    )


def training_precision(requested: str, dev: torch.device) -> str:
    """'bf16' or 'fp32'; 'auto' picks bf16 where the hardware computes it natively."""
    if requested != "auto":
        return requested
    if dev.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


def evaluation_precision(dev: torch.device) -> str:
    # Held-out log-prob differences are small sums of many tokens: score them in fp32 on CPU so that
    # base and adapter are compared without bf16 rounding noise (methods.md §0.5 autocast trap).
    return "bf16" if dev.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
