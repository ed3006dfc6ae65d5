"""Where and how tensors run: device, precision, memory format, input normalisation.

:class:`Runtime` turns a loader batch into model inputs and loss targets, so the training loop,
validation and benchmarks prepare batches the same way.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch

from faceattr.data.transforms import IMAGENET_MEAN, IMAGENET_STD, normalize_batch
from faceattr.models.heads import landmarks_to_normalised

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for ``train.amp``: ``none``, ``bf16``, ``fp16`` or ``auto`` (bf16 where
    the hardware runs it natively -- CUDA with bf16, CPUs with AVX512-BF16 or AMX -- else fp16
    on CUDA and full precision on other CPUs)."""
    mode = str(mode).lower()
    if mode in ("none", "fp32", "false"):
        return None
    if mode == "bf16":
        return torch.bfloat16
    if mode == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    try:
        return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None
    except (AttributeError, RuntimeError):
        return None


@dataclass(frozen=True)
class Runtime:
    """``size`` is the square model input in pixels; ``mean``/``std`` the backbone's input
    normalisation (RGB, [0, 1] scale); ``dtype`` float32, or float64 for exact numerical
    checks (then ``amp`` must be None)."""

    device: torch.device
    size: int
    amp: torch.dtype | None = None
    dtype: torch.dtype = torch.float32
    channels_last: bool = True
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD

    def images(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """uint8 batches (the fast path) are normalised here; float ones come normalised."""
        images = batch["image"]
        if images.dtype == torch.uint8:
            images = normalize_batch(images, self.mean, self.std)
        memory = torch.channels_last if self.channels_last else torch.contiguous_format
        return images.to(self.device, self.dtype, non_blocking=True).contiguous(
            memory_format=memory)

    def targets(self, batch: dict[str, torch.Tensor], tasks: tuple[str, ...]
                ) -> dict[str, torch.Tensor]:
        """Loss targets for ``tasks``; landmarks normalised to the input (x / W, y / H)."""
        out: dict[str, torch.Tensor] = {}
        if "attributes" in tasks:
            out["attributes"] = batch["attrs"]
        if "gender" in tasks:
            out["gender"] = batch["gender"]
        if "landmarks" in tasks:
            out["landmarks"] = landmarks_to_normalised(batch["landmarks"].double(), self.size,
                                                       self.size)
        return {k: v.to(self.device, self.dtype) for k, v in out.items()}

    def autocast(self) -> Any:
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp)

    def outputs(self, outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Model outputs in the loss precision (autocast may give bf16/fp16)."""
        return {k: v.to(self.dtype) for k, v in outputs.items()}
