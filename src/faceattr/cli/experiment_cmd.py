"""``faceattr experiment paper000|paper004 [--budget smoke|full] [--out DIR]``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

NAME = "experiment"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(NAME, help="reproduce a paper's experiments (paper000, paper004)")
    parser.add_argument("paper", choices=["paper000", "paper004"])
    parser.add_argument("--variant", default="paper", choices=["paper", "celeba", "mtfl"],
                        help="paper004 only: the paper's VGG-16 subset study, or MobileNetV2 "
                        "on all CelebA images with landmarks, or on MTFL")
    parser.add_argument("--budget", default="smoke", choices=["smoke", "full"],
                        help="smoke: every experiment on a few hundred images in minutes; "
                        "full: the paper's setup (hours on a CPU)")
    parser.add_argument("--data-root", default=os.environ.get("FACEATTR_DATA", "../shared/data"))
    parser.add_argument("--out", default=None,
                        help="default: runs/experiments/PAPER[-VARIANT]-BUDGET")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from faceattr.experiments import paper000, paper004

    if args.paper == "paper000":
        out = Path(args.out or f"runs/experiments/paper000-{args.budget}")
        results = paper000.run(data_root=args.data_root, out_root=out, budget=args.budget)
    else:
        out = Path(args.out or f"runs/experiments/paper004-{args.variant}-{args.budget}")
        results = paper004.run(data_root=args.data_root, out_root=out, budget=args.budget,
                               variant=args.variant)
    print((out / "results.md").read_text())
    print(f"wrote {out / 'results.md'} and results.json ({results['seconds']:.0f} s)")
    return 0
