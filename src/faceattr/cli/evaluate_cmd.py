"""``faceattr evaluate RUN_DIR_OR_CHECKPOINT --data-root DIR --out DIR [options]``.

Writes ``metrics.json``, ``predictions.npz``, the figures and ``report.md``/``report.html``
into ``--out`` (a user folder: the example grid shows faces). ``--thresholds tuned`` fits
label-wise thresholds on the validation split of the same dataset and also writes
``thresholds.json`` beside the checkpoint; it refuses ``--split val`` and MTFL.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

NAME = "evaluate"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(NAME, help="evaluate a run or checkpoint and write metrics + report")
    parser.add_argument("source", metavar="RUN_DIR_OR_CHECKPOINT")
    parser.add_argument("--data-root", default=os.environ.get("FACEATTR_DATA", "../shared/data"),
                        help="folder holding celeba/ and mtfl/ (default: $FACEATTR_DATA)")
    parser.add_argument("--out", required=True, help="output folder for metrics and report")
    parser.add_argument("--dataset", choices=("celeba", "mtfl"), default=None,
                        help="default: the model's training dataset")
    parser.add_argument("--split", choices=("train", "val", "test"), default="test")
    parser.add_argument("--thresholds", choices=("fixed", "tuned"), default="fixed",
                        help="fixed: global 0.5; tuned: label-wise, fitted on the val split")
    parser.add_argument("--tune-criterion", choices=("accuracy", "f1"), default="accuracy")
    parser.add_argument("--instancewise", action="store_true",
                        help="also fit instance-wise thresholds on val (implied by tuned)")
    parser.add_argument("--limit", type=int, default=None,
                        help="evaluate a seeded random subset of N images of the split")
    parser.add_argument("--val-limit", type=int, default=None,
                        help="fit thresholds on a seeded random subset of N val images")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--cache-dir", default=None,
                        help="decoded-image cache (default: the training config's or "
                             "$FACEATTR_CACHE)")
    parser.add_argument("--examples", type=int, default=16, help="faces in examples.png")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from faceattr.evaluation import EvaluationError, evaluate

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        metrics = evaluate(args.source, data_root=args.data_root, out_dir=args.out,
                           dataset=args.dataset, split=args.split, thresholds=args.thresholds,
                           criterion=args.tune_criterion, limit=args.limit,
                           val_limit=args.val_limit, instancewise=args.instancewise,
                           batch_size=args.batch_size, device=args.device,
                           cache_dir=args.cache_dir, plots=not args.no_plots,
                           examples=args.examples)
    except (EvaluationError, FileNotFoundError) as err:
        print(f"faceattr {NAME}: error: {err}", file=sys.stderr)
        return 2
    summary = {k: metrics[k] for k in ("dataset", "split", "images", "seconds")}
    for task, keys in (("attributes", ("mean_accuracy", "exact_match", "f1_weighted")),
                       ("gender", ("accuracy", "roc_auc")),
                       ("landmarks", ("nme_mean", "fr_10", "operating_curve_auc"))):
        if task in metrics:
            summary[task] = {k: metrics[task].get(k) for k in keys}
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}/metrics.json, report.md, report.html")
    return 0
