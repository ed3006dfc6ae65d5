"""Inference speed of backbones and runtimes on this machine.

For each backbone (ImageNet-initialised where weights are available, else random: speed does
not depend on the weights) and head layout, :func:`benchmark_model` measures

* ``params`` and ``mflops`` (forward FLOPs of one image, counted by
  ``torch.utils.flop_counter``, 2 FLOPs per multiply-add),
* ``p50_ms`` / ``p95_ms`` at batch 1 (median and 95th percentile over ``runs`` timed calls
  after ``warmup`` untimed ones), and ``images_per_s`` at batch 32,

for PyTorch eager (fp32, channels-last), ONNX Runtime fp32 and ONNX Runtime int8 (static
QDQ, calibrated on ``calibration`` images). Inputs are preprocessed tensors: decoding and
resizing are not timed, as in paper 000's Table 2.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from faceattr.inference.export import export_onnx, quantize_int8, session
from faceattr.models import FaceModel, build_model, count_parameters

HEAD_LAYOUTS: dict[str, dict[str, Any]] = {
    "single": {"attributes": {"type": "multilabel", "num_labels": 40}},
    "multiple": {"attributes": {"type": "per_label", "num_labels": 40}},
    "multitask": {"attributes": {"type": "multilabel", "num_labels": 40}, "gender": {},
                  "landmarks": {}},
}


def _timings(fn: Callable[[], Any], *, warmup: int, runs: int) -> np.ndarray:
    for _ in range(warmup):
        fn()
    times = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        fn()
        times[i] = (time.perf_counter() - start) * 1000.0
    return times


def count_flops(model: torch.nn.Module, size: int) -> int:
    """Forward FLOPs for one ``(1, 3, size, size)`` image."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    return int(counter.get_total_flops())


def benchmark_model(model: FaceModel, *, size: int = 224, runs: int = 50, warmup: int = 10,
                    batch: int = 32, calibration: np.ndarray | None = None,
                    runtimes: tuple[str, ...] = ("pytorch", "onnx_fp32", "onnx_int8"),
                    threads: int | None = None) -> dict[str, Any]:
    """Speed of one model in each runtime (see module docstring)."""
    model.eval()
    result: dict[str, Any] = {"params": count_parameters(model),
                              "mflops": round(count_flops(model, size) / 1e6, 1)}
    one = torch.randn(1, 3, size, size)
    many = torch.randn(batch, 3, size, size)
    if "pytorch" in runtimes:
        model.to(memory_format=torch.channels_last)
        one_cl, many_cl = (t.contiguous(memory_format=torch.channels_last) for t in (one, many))
        with torch.inference_mode():
            t1 = _timings(lambda: model(one_cl), warmup=warmup, runs=runs)
            tb = _timings(lambda: model(many_cl), warmup=2, runs=max(3, runs // 10))
        model.to(memory_format=torch.contiguous_format)
        result["pytorch"] = _summary(t1, tb, batch)
    onnx_runtimes = [r for r in runtimes if r.startswith("onnx")]
    if onnx_runtimes:
        with tempfile.TemporaryDirectory() as tmp:
            meta = {"input_size": [size, size], "resize": size, "mean": [0.5] * 3,
                    "std": [0.5] * 3, "tasks": list(model.tasks), "model": model.config}
            fp32 = export_onnx(model, meta, Path(tmp) / "model.onnx")
            paths = {"onnx_fp32": fp32}
            if "onnx_int8" in runtimes:
                calib = calibration if calibration is not None else many.numpy()
                paths["onnx_int8"] = quantize_int8(fp32, Path(tmp) / "model.int8.onnx", calib)
            for name in onnx_runtimes:
                sess = session(paths[name], threads=threads)
                x1, xb = one.numpy(), many.numpy()
                t1 = _timings(lambda s=sess, x=x1: s.run(None, {"image": x}),
                              warmup=warmup, runs=runs)
                tb = _timings(lambda s=sess, x=xb: s.run(None, {"image": x}),
                              warmup=2, runs=max(3, runs // 10))
                result[name] = _summary(t1, tb, batch)
    if "pytorch" in result and "onnx_fp32" in result:
        result["onnx_fp32_speedup_vs_pytorch"] = round(
            result["pytorch"]["p50_ms"] / result["onnx_fp32"]["p50_ms"], 2)
    if "pytorch" in result and "onnx_int8" in result:
        result["onnx_int8_speedup_vs_pytorch"] = round(
            result["pytorch"]["p50_ms"] / result["onnx_int8"]["p50_ms"], 2)
    return result


def _summary(batch1_ms: np.ndarray, batched_ms: np.ndarray, batch: int) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(batch1_ms, 50)), 3),
            "p95_ms": round(float(np.percentile(batch1_ms, 95)), 3),
            "images_per_s": round(batch / (float(np.median(batched_ms)) / 1000.0), 1)}


def benchmark_backbone(backbone: str, layout: str = "single", **kwargs: Any) -> dict[str, Any]:
    """:func:`benchmark_model` for a fresh ``backbone`` with the ``layout`` heads."""
    torch.manual_seed(0)
    model = build_model({"backbone": backbone, "pretrained": False,
                         "heads": HEAD_LAYOUTS[layout]})
    return {"backbone": backbone, "heads": layout, **benchmark_model(model, **kwargs)}
