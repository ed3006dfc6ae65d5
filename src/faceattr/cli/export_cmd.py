"""``faceattr export MODEL --format onnx [--int8] --out FILE``.

With ``--int8`` the fp32 model is exported first (``FILE`` with ``.fp32.onnx``), calibrated on
CelebA train images, quantised, and the mean label-wise accuracy change is measured on CelebA
val images (PyTorch fp32 vs ONNX fp32 vs ONNX int8), printed and stored in ``config.json``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

NAME = "export"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(NAME, help="export a model to ONNX (fp32 or int8)")
    parser.add_argument("model", help="run folder or checkpoint file")
    parser.add_argument("--format", default="onnx", choices=["onnx"])
    parser.add_argument("--int8", action="store_true", help="static int8 quantisation")
    parser.add_argument("--out", required=True, help="output .onnx file")
    parser.add_argument("--data-root", default=os.environ.get("FACEATTR_DATA", "../shared/data"),
                        help="for --int8: calibration (CelebA train) and check (CelebA val)")
    parser.add_argument("--calib-images", type=int, default=256)
    parser.add_argument("--check-images", type=int, default=0,
                        help="CelebA val images for the accuracy check (0 = all)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from faceattr.inference import load_model
    from faceattr.inference.export import (
        celeba_images,
        export_onnx,
        quantize_int8,
        run_onnx,
        session,
        write_config,
    )
    from faceattr.metrics import attribute_metrics

    model, meta = load_model(args.model)
    out = Path(args.out)
    fp32 = out.with_suffix(".fp32.onnx") if args.int8 else out
    export_onnx(model, meta, fp32)
    print(f"wrote {fp32}")
    if not args.int8:
        return 0
    calib, _ = celeba_images(args.data_root, "train", meta, limit=args.calib_images)
    quantize_int8(fp32, out, calib)
    images, labels = celeba_images(args.data_root, "val", meta,
                                   limit=args.check_images or None)
    with torch.no_grad():
        logits = torch.cat([model(torch.from_numpy(images[i:i + 64]))["attributes"]
                            for i in range(0, len(images), 64)])
    scores = {"pytorch_fp32": torch.sigmoid(logits).numpy(),
              "onnx_fp32": run_onnx(session(fp32), images)["attributes"],
              "onnx_int8": run_onnx(session(out), images)["attributes"]}
    check = {k: round(attribute_metrics(labels["attrs"], v)["mean_accuracy"], 5)
             for k, v in scores.items()}
    check["max_abs_diff_fp32"] = float(np.abs(scores["onnx_fp32"]
                                              - scores["pytorch_fp32"]).max())
    check["images"] = len(images)
    check["split"] = "celeba val"
    write_config(meta, out, outputs=list(meta["tasks"]), quantization="static int8 QDQ",
                 int8_check=check)
    print(json.dumps(check, indent=2))
    print(f"wrote {out}")
    return 0
