"""PyTorch's own distributed engine: DDP processes started by ``torchrun``.

``torchrun --nproc-per-node 2 -m faceattr.cli.main train --config ...`` sets ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`init` reads them and joins the process group (gloo
on CPU, NCCL on CUDA). Without them everything runs in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init(device: torch.device) -> DistInfo:
    """Join the process group if launched by torchrun; a no-op otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    """Every rank's ``obj`` (in rank order) on every rank."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def sum_counts(seen: int, totals: dict[str, float], info: DistInfo
               ) -> tuple[int, dict[str, float]]:
    """Sum an image count and per-key running totals over ranks (same key order everywhere)."""
    if not info.enabled:
        return seen, totals
    keys = sorted(totals)
    packed = torch.tensor([float(seen)] + [totals[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(packed)
    return int(packed[0]), {k: float(v) for k, v in zip(keys, packed[1:].tolist(), strict=True)}


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
