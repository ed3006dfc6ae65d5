"""What a dataset root holds: used by ``faceattr data info``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from faceattr.data import celeba, mtfl
from faceattr.data.errors import DatasetNotFoundError


def detect_kind(root: str | Path) -> str:
    """``"celeba"`` or ``"mtfl"``, from the files under ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"{root}: dataset root not found")
    if (root / celeba.ATTR_FILE).is_file() or (root / celeba.IMAGE_DIR).is_dir():
        return "celeba"
    if any((root / name).is_file() for name in mtfl.SPLIT_FILES.values()):
        return "mtfl"
    raise DatasetNotFoundError(
        f"{root}: neither a CelebA root ({celeba.ATTR_FILE}, {celeba.IMAGE_DIR}/) nor an MTFL "
        f"root ({', '.join(mtfl.SPLIT_FILES.values())})")


def describe_root(root: str | Path) -> dict[str, Any]:
    """A JSON-ready summary: images found, rows, partitions, label positive rates."""
    kind = detect_kind(root)
    return _describe_celeba(Path(root)) if kind == "celeba" else _describe_mtfl(Path(root))


def _describe_celeba(root: Path) -> dict[str, Any]:
    index = celeba.load_celeba_index(root)
    partitions = {name: int((index.partition == code).sum()) for name, code in
                  celeba.SPLITS.items()}
    with_landmarks = index.has_landmarks
    return {
        "dataset": "celeba",
        "root": str(root),
        "images": len(index.files),
        "partitions": partitions,
        "identities": len(np.unique(index.identity[index.identity >= 0])),
        "landmarks": {name: int(with_landmarks[index.partition == code].sum())
                      for name, code in celeba.SPLITS.items()},
        "bboxes": int((~np.isnan(index.bboxes).any(axis=1)).sum()),
        "skipped": index.skipped,
        "attribute_positive_rate": {
            name: round(float(index.attrs[:, j].mean()), 4) if len(index.files) else None
            for j, name in enumerate(index.attr_names)},
    }


def _describe_mtfl(root: Path) -> dict[str, Any]:
    splits: dict[str, Any] = {}
    for split, filename in mtfl.SPLIT_FILES.items():
        if not (root / filename).is_file():
            continue
        index = mtfl.load_mtfl_index(root, split)
        found = sum((root / f).is_file() for f in index.files)
        splits[split] = {
            "file": filename,
            "rows": len(index.files),
            "images": found,
            "rows_without_image": len(index.files) - found,
            "attribute_positive_rate": {name: round(float(index.attrs[:, j].mean()), 4)
                                        for j, name in enumerate(mtfl.ATTRIBUTE_NAMES)},
            "pose": {name: int((index.pose == k + 1).sum())
                     for k, name in enumerate(mtfl.POSE_NAMES)},
        }
    return {"dataset": "mtfl", "root": str(root), "splits": splits}


def format_info(info: dict[str, Any]) -> str:
    """Human-readable text for :func:`describe_root`'s result."""
    lines = [f"{info['dataset']} at {info['root']}"]
    if info["dataset"] == "celeba":
        lines.append(f"  images found: {info['images']:,} "
                     f"({info['identities']:,} identities)")
        lines.append("  partitions:   " + ", ".join(f"{k} {v:,}"
                                                    for k, v in info["partitions"].items()))
        lines.append("  landmarks:    " + ", ".join(f"{k} {v:,}"
                                                    for k, v in info["landmarks"].items()))
        lines.append(f"  bboxes:       {info['bboxes']:,}")
        for reason, count in info["skipped"].items():
            lines.append(f"  skipped:      {count:,} {reason}")
        lines.append("  attribute positive rates:")
        for name, rate in info["attribute_positive_rate"].items():
            lines.append(f"    {name:<22} {rate:6.1%}" if rate is not None else f"    {name}")
    else:
        for split, s in info["splits"].items():
            lines.append(f"  {split} ({s['file']}): {s['rows']:,} rows, {s['images']:,} images "
                         f"found, {s['rows_without_image']:,} rows without an image")
            lines.append("    positive rates: " + ", ".join(
                f"{k} {v:.1%}" for k, v in s["attribute_positive_rate"].items()))
            lines.append("    pose: " + ", ".join(f"{k} {v:,}" for k, v in s["pose"].items()))
    return "\n".join(lines)
