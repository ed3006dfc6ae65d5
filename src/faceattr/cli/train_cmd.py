"""``faceattr train --config CONFIG.yaml [--data-root DIR] [--out RUN_DIR] [key=value ...]``.

Runs unchanged under ``torchrun --nproc-per-node N -m faceattr.cli.main train ...``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

NAME = "train"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(NAME, help="train a model from a YAML config")
    parser.add_argument("--config", required=True, help="YAML file (see configs/)")
    parser.add_argument("--data-root", default=os.environ.get("FACEATTR_DATA", "../shared/data"),
                        help="folder holding celeba/ and mtfl/ (default: $FACEATTR_DATA)")
    parser.add_argument("--out", default=None, help="run folder (default: runs/<name>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from RUN_DIR/last.pt if it exists")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="config overrides, e.g. train.epochs=3 optim.lr=3e-4")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from faceattr.training import fit, load_config

    config = load_config(args.config, args.overrides)
    out = Path(args.out) if args.out else Path("runs") / str(config["name"])
    summary = fit(config, data_root=args.data_root, out_dir=out, resume=args.resume)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary, indent=2, default=str))
    return 0
