"""``faceattr benchmark [--backbones ...] [--heads single,multiple] [--out FILE.json]``."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

NAME = "benchmark"
DEFAULT = "shufflenet_v2_x1_0,mobilenet_v2,efficientnet_b0,efficientnet_lite0,mobilenet_v3_large"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(NAME, help="inference speed of every backbone and runtime here")
    parser.add_argument("--backbones", default=DEFAULT, help="comma-separated registry names")
    parser.add_argument("--heads", default="single", help="comma-separated: single, multiple, "
                        "multitask")
    parser.add_argument("--runtimes", default="pytorch,onnx_fp32,onnx_int8")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--runs", type=int, default=50, help="timed batch-1 calls")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from faceattr.inference.benchmark import benchmark_backbone

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for backbone in args.backbones.split(","):
        for layout in args.heads.split(","):
            row = benchmark_backbone(backbone, layout, size=args.size, runs=args.runs,
                                     batch=args.batch, threads=args.threads,
                                     runtimes=tuple(args.runtimes.split(",")))
            rows.append(row)
            print(json.dumps(row), flush=True)
    report = {"machine": f"{platform.processor() or platform.machine()}, "
                         f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
              "torch": torch.__version__, "date": time.strftime("%Y-%m-%d %H:%M"),
              "load_average_1min": round(os.getloadavg()[0], 2), "input_size": args.size,
              "results": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.out}")
    return 0
