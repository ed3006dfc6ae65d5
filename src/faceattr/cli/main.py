"""``faceattr`` entry point: one sub-command per module, each with ``register`` and ``run``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from faceattr import __version__
from faceattr.cli import (
    benchmark_cmd,
    data_cmd,
    demo_cmd,
    evaluate_cmd,
    experiment_cmd,
    export_cmd,
    predict_cmd,
    serve_cmd,
    train_cmd,
)
from faceattr.data.errors import DataError
from faceattr.training.config import ConfigError

#: Sub-commands in the order ``faceattr --help`` lists them.
COMMANDS = [data_cmd, train_cmd, evaluate_cmd, predict_cmd, export_cmd, benchmark_cmd,
            experiment_cmd, serve_cmd, demo_cmd]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceattr",
        description="Face attributes, gender and 5-point landmarks with efficient networks.")
    parser.add_argument("--version", action="version", version=f"faceattr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args) or 0)
    except (DataError, ConfigError, FileNotFoundError) as err:
        print(f"faceattr {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
