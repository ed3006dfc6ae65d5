"""ONNX export (fp32) and int8 quantisation (ONNX Runtime static QDQ) of a FaceModel.

The exported graph takes ``image``: ``(N, 3, H, W)`` float32, normalised with the mean/std in
the ``config.json`` written beside it, and returns, for the tasks the model has:
``attributes`` ``(N, A)`` probabilities, ``gender`` ``(N,)`` probability of male, and
``landmarks`` ``(N, 5, 2)`` normalised ``(x / W, y / H)`` of the input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from faceattr.models import FaceModel

TASK_ORDER = ("attributes", "gender", "landmarks")


class ExportWrapper(nn.Module):
    """A FaceModel with probabilities on its outputs, returned as a tuple in TASK_ORDER."""

    def __init__(self, model: FaceModel) -> None:
        super().__init__()
        self.model = model
        self.tasks = tuple(t for t in TASK_ORDER if t in model.tasks)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(x)
        return tuple(out[t] if t == "landmarks" else torch.sigmoid(out[t]) for t in self.tasks)


def export_onnx(model: FaceModel, meta: dict[str, Any], path: str | Path, *,
                opset: int = 17) -> Path:
    """Write ``path`` (ONNX, dynamic batch) and ``config.json`` beside it; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper = ExportWrapper(model).eval()
    height, width = meta["input_size"]
    example = torch.zeros(1, 3, height, width)
    # the legacy exporter restores the wrapper's mode afterwards, so keep everything in eval
    torch.onnx.export(wrapper, (example,), str(path), input_names=["image"],
                      output_names=list(wrapper.tasks), opset_version=opset, dynamo=False,
                      dynamic_axes={"image": {0: "batch"}, **{t: {0: "batch"}
                                                              for t in wrapper.tasks}})
    model.eval()
    write_config(meta, path, outputs=list(wrapper.tasks))
    return path


def write_config(meta: dict[str, Any], model_path: Path, **extra: Any) -> Path:
    """``config.json`` beside an exported model: everything inference needs, nothing else."""
    keys = ("name", "tasks", "input_size", "resize", "mean", "std", "attr_names",
            "landmark_names", "landmarks", "pretrained", "params", "licence")
    config = {k: meta[k] for k in keys if k in meta}
    config["architecture"] = meta.get("model")
    config["thresholds"] = meta.get("thresholds")
    config.update(extra)
    out = model_path.with_name("config.json")
    out.write_text(json.dumps(config, indent=2))
    return out


def session(path: str | Path, *, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session with all graph optimisations."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def quantize_int8(fp32_path: str | Path, int8_path: str | Path,
                  calibration: np.ndarray, *, per_channel: bool = True) -> Path:
    """Static int8 quantisation (QDQ, signed int8 weights and activations) calibrated on
    ``calibration`` ``(N, 3, H, W)`` float32 normalised images (a few hundred are enough)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches: Iterator[np.ndarray] = iter(np.array_split(
                calibration, max(1, len(calibration) // 16)))

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {"image": np.ascontiguousarray(batch)}

    int8_path = Path(int8_path)
    prepared = int8_path.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
    try:
        quantize_static(str(prepared), str(int8_path), Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=per_channel, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8)
    finally:
        prepared.unlink(missing_ok=True)
    config = fp32_path if isinstance(fp32_path, Path) else Path(fp32_path)
    if config.with_name("config.json").is_file() and config.parent != int8_path.parent:
        int8_path.with_name("config.json").write_text(config.with_name("config.json").read_text())
    return int8_path


def run_onnx(sess: Any, images: np.ndarray, batch_size: int = 64) -> dict[str, np.ndarray]:
    """Outputs of an exported model for ``(N, 3, H, W)`` float32 images, by output name."""
    names = [o.name for o in sess.get_outputs()]
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for start in range(0, len(images), batch_size):
        outs = sess.run(None, {"image": np.ascontiguousarray(images[start:start + batch_size])})
        for n, o in zip(names, outs, strict=True):
            parts[n].append(o)
    return {n: np.concatenate(v) for n, v in parts.items()}


def celeba_images(data_root: str | Path, split: str, meta: dict[str, Any], *,
                  limit: int | None = None, seed: int = 0
                  ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Normalised ``(N, 3, H, W)`` float32 CelebA images of ``split`` (a seeded subset of
    ``limit``) preprocessed as ``meta`` says, with their labels (``attrs``, ``gender``,
    ``landmarks`` in input pixels)."""
    from faceattr.data.celeba import CelebA
    from faceattr.data.loader import FastLoader
    from faceattr.data.transforms import normalize_batch

    full = CelebA(Path(data_root) / "celeba", split)
    rows = None
    if limit is not None and limit < len(full):
        rows = np.sort(np.random.default_rng(seed).choice(len(full), limit, replace=False))
    dataset = CelebA(Path(data_root) / "celeba", split, index=full.index, indices=rows)
    loader = FastLoader(dataset, batch_size=128, size=int(meta["input_size"][0]),
                        resize=int(meta["resize"]))
    images, labels = [], {"attrs": [], "gender": [], "landmarks": []}
    for batch in loader:
        images.append(normalize_batch(batch["image"], meta["mean"], meta["std"])
                      .contiguous().numpy())
        for k in labels:
            labels[k].append(batch[k].numpy())
    return np.concatenate(images), {k: np.concatenate(v) for k, v in labels.items()}
