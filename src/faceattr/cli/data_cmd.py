"""``faceattr data info --root DIR`` and ``faceattr data cache``."""

from __future__ import annotations

import argparse
import json
import time

NAME = "data"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(NAME, help="inspect datasets and build the decoded-image cache")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="what a CelebA or MTFL root holds")
    info.add_argument("--root", required=True, help="dataset root folder")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(run=run_info)
    cache = actions.add_parser("cache", help="decode and resize a CelebA split once")
    cache.add_argument("--root", required=True, help="CelebA root folder")
    cache.add_argument("--split", default="train", choices=["train", "val", "test", "all"])
    cache.add_argument("--size", type=int, default=224, help="crop size in pixels")
    cache.add_argument("--resize", type=int, default=256, help="shorter side before the crop")
    cache.add_argument("--cache-dir", default=None, help="default: $FACEATTR_CACHE or "
                       "~/.cache/faceattr")
    cache.set_defaults(run=run_cache)


def run_info(args: argparse.Namespace) -> int:
    from faceattr.data.info import describe_root, format_info

    info = describe_root(args.root)
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


def run_cache(args: argparse.Namespace) -> int:
    from faceattr.data.cache import CachedDataset
    from faceattr.data.celeba import CelebA

    dataset = CelebA(args.root, args.split)
    start = time.perf_counter()
    cached = CachedDataset(dataset, size=args.size, resize=args.resize,
                           cache_dir=args.cache_dir, progress=True)
    seconds = time.perf_counter() - start
    print(f"{len(cached):,} images cached at {cached.cache.path} in {seconds:.1f} s "
          f"({cached.skipped} undecodable images skipped)")
    return 0
