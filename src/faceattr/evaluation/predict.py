"""Model predictions on one dataset split, as numpy arrays in the model's label layout.

Images go through the model's own preprocessing (resize shorter side, centre crop, mean/std
from the checkpoint meta), the same loader the training engine validates with. Landmarks are
``(N, 5, 2)`` ``(x, y)`` pixels of the model input; ``matrix`` maps original image pixels to
input pixels, so both frames are available.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceattr.data.transforms import invert_points
from faceattr.models.heads import landmarks_to_pixels
from faceattr.training.data import DatasetFactory, build_loader
from faceattr.training.evaluate import predict_batches
from faceattr.training.runtime import Runtime

DATASETS = ("celeba", "mtfl")
SPLITS = ("train", "val", "test")


class EvaluationError(ValueError):
    """An evaluation request that cannot be carried out as asked (the message says why)."""


@dataclass
class Predictions:
    """Labels and model outputs of one split, rows in dataset order.

    ``attr_true``/``attr_score`` are ``(N, A)`` in the model's attribute order (NaN = not
    labelled), ``gender_*`` ``(N,)`` with 1 = male, ``landmarks_*`` ``(N, 5, 2)`` input pixels
    (NaN rows = no annotation), ``matrix`` ``(N, 2, 3)`` original -> input pixels or None.
    Scores are sigmoid probabilities; a head the model lacks gives None.
    """

    spec: dict[str, Any]
    files: list[str]
    paths: list[Path]
    attr_names: list[str]
    attr_true: np.ndarray
    attr_score: np.ndarray | None
    gender_true: np.ndarray
    gender_score: np.ndarray | None
    gender_source: str | None
    landmarks_true: np.ndarray
    landmarks_pred: np.ndarray | None
    matrix: np.ndarray | None
    skipped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.files)

    def to_original(self, points: np.ndarray) -> np.ndarray | None:
        """``(N, 5, 2)`` input-pixel points mapped back to original image pixels."""
        if self.matrix is None:
            return None
        return np.stack([invert_points(p, m) for p, m in zip(points, self.matrix, strict=True)])

    def save(self, path: Path, thresholds: np.ndarray | None = None) -> Path:
        """Write the arrays to ``path`` (``.npz``; loads without ``allow_pickle``)."""
        arrays: dict[str, np.ndarray] = {
            "files": np.asarray(self.files, dtype=str),
            "attr_names": np.asarray(self.attr_names, dtype=str),
            "y_true": self.attr_true, "gender_true": self.gender_true,
            "landmarks_true": self.landmarks_true}
        if self.attr_score is not None:
            arrays["y_score"] = self.attr_score
        if thresholds is not None:
            arrays["thresholds"] = thresholds
        if self.gender_score is not None:
            arrays["gender_score"] = self.gender_score
        if self.landmarks_pred is not None:
            arrays["landmarks_pred"] = self.landmarks_pred
        if self.matrix is not None:
            arrays["matrix"] = self.matrix
        np.savez_compressed(path, **arrays)
        return path


def training_dataset(meta: dict[str, Any]) -> str:
    """The dataset of the model's first training entry (``celeba`` if unknown)."""
    specs = ((meta.get("config") or {}).get("data") or {}).get("train") or [{}]
    return str(specs[0].get("dataset", "celeba"))


def dataset_spec(meta: dict[str, Any], dataset: str | None, split: str, *,
                 limit: int | None = None, seed: int = 0) -> dict[str, Any]:
    """The data spec for ``dataset``/``split``; ``limit`` takes a seeded random subset.

    The root is the one the model was trained from for that dataset, else the dataset name,
    relative to the data root. MTFL has ``train`` (training.txt) and ``test`` (testing.txt).
    """
    dataset = dataset or training_dataset(meta)
    if dataset not in DATASETS:
        raise EvaluationError(f"unknown dataset {dataset!r}; expected one of {DATASETS}")
    if split not in SPLITS:
        raise EvaluationError(f"unknown split {split!r}; expected one of {SPLITS}")
    if dataset == "mtfl" and split == "val":
        raise EvaluationError("MTFL has no validation split (only training.txt and "
                              "testing.txt); use --split train or --split test")
    train_specs = ((meta.get("config") or {}).get("data") or {}).get("train") or []
    root = next((s.get("root", dataset) for s in train_specs
                 if s.get("dataset", "celeba") == dataset), dataset)
    spec: dict[str, Any] = {"dataset": dataset, "root": root, "split": split}
    if limit is not None:
        if limit < 1:
            raise EvaluationError(f"--limit must be >= 1, got {limit}")
        spec["subset"] = {"kind": "random", "n": int(limit), "seed": seed}
    return spec


def _columns(model_names: list[str], data_names: list[str]) -> list[int | None]:
    """For each model attribute, its column in the dataset's label matrix (None if absent)."""
    where = {n: j for j, n in enumerate(data_names)}
    return [where.get(n) for n in model_names]


def predict(model: torch.nn.Module, meta: dict[str, Any], factory: DatasetFactory,
            spec: dict[str, Any], *, batch_size: int = 64, device: str = "cpu",
            cache_dir: str | Path | None = None) -> Predictions:
    """Run ``model`` over the split ``spec`` names; raises :class:`EvaluationError` when the
    split has no image under the data root."""
    attr_names = list(meta.get("attr_names") or [])
    dataset = factory.build_many([spec], attr_names)
    where = factory.data_root / spec["root"]
    if len(dataset) == 0:
        raise EvaluationError(f"{spec['dataset']} split {spec['split']!r} has no images under "
                              f"{where} (a partial download holds only some partitions)")
    size = int(meta["input_size"][0])
    data_cfg = dict((meta.get("config") or {}).get("data") or {})
    data_cfg.update(img_size=size, resize=int(meta["resize"]))
    if cache_dir is not None:
        data_cfg["cache_dir"] = str(cache_dir)
    mean, std = tuple(meta["mean"]), tuple(meta["std"])
    loader = build_loader(dataset, data_cfg, batch_size=batch_size, train=False, seed=0,
                          mean=mean, std=std)
    runtime = Runtime(device=torch.device(device), size=size, mean=mean, std=std)
    outputs, targets = predict_batches(model, loader, runtime)
    rows = targets["index"].numpy()
    if rows.size == 0:
        raise EvaluationError(f"no image of {where} split {spec['split']!r} could be decoded")
    data_attrs = targets["attrs"].double().numpy()
    cols = _columns(attr_names, list(dataset.attr_names))
    attr_true = np.full((len(rows), len(attr_names)), np.nan)
    for j, c in enumerate(cols):
        if c is not None:
            attr_true[:, j] = data_attrs[:, c]
    attr_score = gender_score = landmarks_pred = None
    gender_source = None
    if "attributes" in outputs:
        attr_score = torch.sigmoid(outputs["attributes"].double()).numpy()
    if "gender" in outputs:
        gender_score = torch.sigmoid(outputs["gender"].double()).reshape(-1).numpy()
        gender_source = "gender_head"
    elif attr_score is not None and "Male" in attr_names:
        gender_score = attr_score[:, attr_names.index("Male")].copy()
        gender_source = "attributes.Male"
    if "landmarks" in outputs:
        landmarks_pred = landmarks_to_pixels(outputs["landmarks"].double(), size, size).numpy()
    cache = getattr(loader, "cache", None)
    return Predictions(
        spec=spec, files=[str(dataset.labels(int(r))["file"]) for r in rows],
        paths=[dataset.image_path(int(r)) for r in rows], attr_names=attr_names,
        attr_true=attr_true, attr_score=attr_score,
        gender_true=targets["gender"].double().numpy(), gender_score=gender_score,
        gender_source=gender_source,
        landmarks_true=targets["landmarks"].double().numpy(), landmarks_pred=landmarks_pred,
        matrix=None if cache is None else np.asarray(cache.matrices[rows], dtype=np.float64),
        skipped=int(getattr(loader, "skipped", 0)))


def training_positives(factory: DatasetFactory, meta: dict[str, Any]) -> np.ndarray | None:
    """Positives per model attribute in the model's training set, or None if unreadable."""
    specs = ((meta.get("config") or {}).get("data") or {}).get("train") or []
    names = list(meta.get("attr_names") or [])
    try:
        dataset = factory.build_many(specs, names)
    except (OSError, ValueError):  # DataError and DatasetNotFoundError included
        return None
    if len(dataset) == 0:
        return None
    attrs = dataset.label_arrays()["attrs"].astype(np.float64)
    cols = _columns(names, list(dataset.attr_names))
    return np.array([np.nansum(attrs[:, c] == 1) if c is not None else np.nan for c in cols])
