"""``faceattr predict [--model M] IMAGE_OR_DIR... [--no-detect] [--json] [--out DIR]``.

Prints one JSON object per face (``image``, ``box``, ``attributes``, ``gender``,
``landmarks`` in original pixels); ``--out`` also writes annotated copies of the images.
A photo with no face gives no object and a message on stderr, not an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

NAME = "predict"
SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(NAME, help="attributes, gender and landmarks for photos")
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR")
    parser.add_argument("--model", default="default",
                        help="'default', a run folder, a checkpoint or an .onnx file")
    parser.add_argument("--no-detect", action="store_true",
                        help="treat each image as an already aligned face crop")
    parser.add_argument("--detector", default="mtcnn")
    parser.add_argument("--json", action="store_true", help="one JSON array instead of lines")
    parser.add_argument("--out", default=None, help="folder for annotated images")
    parser.set_defaults(run=run)


def _expand(inputs: list[str]) -> list[Path]:
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths += sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        else:
            paths.append(path)
    return paths


def run(args: argparse.Namespace) -> int:
    from faceattr.data.errors import ImageDecodeError
    from faceattr.data.images import load_rgb
    from faceattr.inference.analyzer import FaceAnalyzer
    from faceattr.inference.draw import annotate

    analyzer = FaceAnalyzer(args.model, detector=None if args.no_detect else args.detector)
    out_dir = Path(args.out) if args.out else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    results, failures = [], 0
    for path in _expand(args.inputs):
        try:
            image = load_rgb(path)
        except ImageDecodeError as err:
            print(f"faceattr predict: skipping {err}", file=sys.stderr)
            failures += 1
            continue
        faces = [{"image": str(path), **f} for f in analyzer.predict(image,
                                                                     detect=not args.no_detect)]
        if not faces:
            print(f"faceattr predict: no face found in {path}", file=sys.stderr)
        results += faces
        if not args.json:
            for face in faces:
                print(json.dumps(face))
        if out_dir:
            annotate(image, faces).save(out_dir / f"{path.stem}.annotated.jpg", quality=92)
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failures and not results else 0
