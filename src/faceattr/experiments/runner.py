"""Train-then-evaluate for one experiment, with budgets.

``smoke`` runs every experiment end to end on a few hundred real images in minutes (64 px
inputs, one short epoch) so CI can check the whole pipeline; ``full`` is the configuration
as written (the paper's setup). Runs resume from ``last.pt``; a finished run (one with a
``summary.json``) is reused, not retrained: delete its folder to train it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceattr.training import fit, load_config

REPO_CONFIGS = Path(__file__).resolve().parents[3] / "configs"

#: Overrides each budget applies on top of an experiment's config.
BUDGETS: dict[str, list[str]] = {
    "smoke": ["data.img_size=64", "data.resize=72", "train.epochs=1",
              "train.max_steps_per_epoch=3", "train.progress=false", "train.batch_size=16"],
    "full": [],
}
#: Evaluation size per budget (None = the whole split).
EVAL_LIMIT: dict[str, int | None] = {"smoke": 64, "full": None}


@dataclass
class Experiment:
    """One trained configuration: ``config`` is relative to the repository's ``configs/``."""

    key: str
    config: str
    overrides: list[str] = field(default_factory=list)
    smoke_overrides: list[str] = field(default_factory=list)


def config_path(relative: str) -> Path:
    path = REPO_CONFIGS / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path}: experiment config not found")
    return path


def train(exp: Experiment, *, data_root: str | Path, out_root: Path, budget: str,
          extra: list[str] | None = None) -> tuple[Path, dict[str, Any]]:
    """Train (or resume, or reuse) one experiment; returns ``(run_dir, summary)``."""
    overrides = [*BUDGETS[budget], *exp.overrides, *(extra or [])]
    if budget == "smoke":
        overrides += exp.smoke_overrides
    config = load_config(config_path(exp.config), overrides)
    run_dir = out_root / "runs" / exp.key
    summary_file = run_dir / "summary.json"  # written only when a run has finished
    if summary_file.is_file():
        return run_dir, json.loads(summary_file.read_text())
    summary = fit(config, data_root=data_root, out_dir=run_dir, resume=True)
    return run_dir, summary


def evaluate_run(run_dir: Path, *, data_root: str | Path, out_root: Path, budget: str,
                 name: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """``faceattr evaluate`` on the run's best checkpoint; returns metrics.json's content."""
    from faceattr.evaluation.run import evaluate

    out = out_root / "eval" / (name or run_dir.name)
    kwargs.setdefault("limit", EVAL_LIMIT[budget])
    kwargs.setdefault("plots", budget == "full")
    return evaluate(run_dir, data_root=data_root, out_dir=out, **kwargs)


def pct(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage string ('-' for None/NaN)."""
    if value is None or value != value:
        return "-"
    return f"{100 * value:.{digits}f}"
