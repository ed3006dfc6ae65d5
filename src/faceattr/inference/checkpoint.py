"""Load a trained :class:`~faceattr.models.FaceModel` from a run folder or a checkpoint file.

A checkpoint written by the training engine holds ``model`` (state dict), ``meta`` (backbone
and head specs, input size, resize, mean/std, attribute and landmark names, whether the
backbone started from ImageNet weights, ...) and ``config`` (the resolved training config).
Preprocessing at inference is taken from ``meta`` only.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from faceattr.models import FaceModel, build_model
from faceattr.training.checkpoint import load_checkpoint


def resolve_checkpoint(source: str | Path) -> Path:
    """A run folder -> its ``best.pt`` (else ``last.pt``); a file -> itself."""
    path = Path(source)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"{path}: run folder has no best.pt or last.pt")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint or run folder")
    return path


def load_model(source: str | Path, *, device: str | torch.device = "cpu"
               ) -> tuple[FaceModel, dict[str, Any]]:
    """Rebuild the model of a checkpoint, load its weights, put it in eval mode.

    Returns ``(model, meta)``; ``meta["checkpoint"]`` is the file that was loaded and
    ``meta["epoch"]`` the epoch it was saved after.
    """
    path = resolve_checkpoint(source)
    ckpt = load_checkpoint(path)
    if "model" not in ckpt or "meta" not in ckpt:
        raise ValueError(f"{path}: not a faceattr checkpoint (no 'model'/'meta' entries)")
    meta = copy.deepcopy(ckpt["meta"])
    spec = copy.deepcopy(meta["model"])
    spec["pretrained"] = False  # the checkpoint's weights replace any ImageNet ones
    model = build_model(spec)
    model.load_state_dict(ckpt["model"])
    model.to(device).eval()
    meta["checkpoint"] = str(path)
    meta["epoch"] = ckpt.get("state", {}).get("epoch")
    meta["config"] = ckpt.get("config")
    return model, meta
