"""Commands whose implementation lands with later issues.

Each is listed by ``faceattr --help`` and, when run, says plainly that it is not implemented
yet and exits with status 2; nothing here pretends to work.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Pending:
    name: str
    help: str
    issue: int

    def register(self, sub: argparse._SubParsersAction) -> None:
        parser = sub.add_parser(self.name, help=f"{self.help} [not implemented yet]")
        parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        parser.set_defaults(run=self.run)

    def run(self, args: argparse.Namespace) -> int:
        print(f"faceattr {self.name}: not implemented yet (tracked in issue {self.issue})",
              file=sys.stderr)
        return 2


PENDING = [
    Pending("evaluate", "evaluate a run or checkpoint and write metrics + report", 4),
    Pending("experiment", "reproduce a paper's experiments (paper000, paper004)", 5),
    Pending("serve", "HTTP service with a web page", 8),
]
