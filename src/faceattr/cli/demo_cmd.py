"""``faceattr demo``: the README's main job.

Until the bundled default model lands (issue 7), the demo walks the data layer end to end on
the real data: it reads both dataset roots under ``$FACEATTR_DATA``, decodes one image of each
through the training transform, and prints what it found.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

NAME = "demo"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(NAME, help="run the main demo on the real data")
    parser.add_argument("--data", default=os.environ.get("FACEATTR_DATA", "../shared/data"),
                        help="folder holding celeba/ and mtfl/ (default: $FACEATTR_DATA)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from faceattr.data import transforms as T
    from faceattr.data.celeba import CelebA
    from faceattr.data.info import describe_root, format_info
    from faceattr.data.mtfl import MTFL

    data = Path(args.data)
    pipeline = T.build(224, 256)
    for name, make in (("celeba", lambda r: CelebA(r, "test")),
                       ("mtfl", lambda r: MTFL(r, "test"))):
        root = data / name
        print(format_info(describe_root(root)))
        dataset = make(root)
        sample = pipeline(dataset[0])
        points = ", ".join(f"({x:.1f}, {y:.1f})" for x, y in sample["landmarks"].tolist())
        print(f"  first test image {sample['file']}: tensor {tuple(sample['image'].shape)}, "
              f"landmarks in 224x224 input pixels: {points}\n")
    print("No trained model is bundled yet (issue 7); this demo shows the data layer only.")
    return 0
