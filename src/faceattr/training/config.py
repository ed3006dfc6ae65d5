"""Experiment configs: plain YAML files in ``configs/``, one per experiment.

A config is a nested dict. :func:`load_config` reads a file (which may name a ``base:`` file,
relative to itself, that it extends), merges it over :data:`DEFAULTS`, and applies
command-line overrides written ``dotted.key=value`` where the
value is parsed as YAML (``train.epochs=3``, ``optim.name=sgd``, ``model.pretrained=false``).
The resolved config is saved in the run folder so a run can always be repeated.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

DEFAULTS: dict[str, Any] = {
    "name": "run",
    "seed": 0,
    "model": {"backbone": "mobilenet_v2", "pretrained": True, "freeze_bn": False,
              "heads": {}},
    "loss": {"weighting": "fixed"},
    "data": {"img_size": 224, "resize": 256, "flip_p": 0.5, "fast": True, "workers": 2,
             "cache_dir": None, "train": [], "val": []},
    "optim": {"name": "adam", "lr": 1.0e-4, "weight_decay": 0.0, "momentum": 0.9},
    "schedule": {"name": "none", "warmup_epochs": 0, "step_size": 10, "gamma": 0.1},
    "train": {"epochs": 20, "batch_size": 64, "early_stopping": 0, "amp": "auto",
              "channels_last": True, "threads": None, "tensorboard": False,
              "progress": True, "max_steps_per_epoch": None},
}


class ConfigError(ValueError):
    """A config file or override is malformed."""


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge: values in ``update`` win; lists are replaced, not merged."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_overrides(config: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides (values parsed as YAML)."""
    config = copy.deepcopy(config)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw else None
        except yaml.YAMLError as err:
            raise ConfigError(f"override {item!r}: value is not valid YAML ({err})") from None
        node = config
        parts = key.strip().split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return config


def read_yaml(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """One config file with its ``base:`` chain resolved (the file's own keys win)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    if path in _seen:
        raise ConfigError(f"{path}: 'base' chain loops back to itself")
    try:
        user = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(user, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    base = user.pop("base", None)
    if base is None:
        return user
    return merge(read_yaml(path.parent / base, (*_seen, path)), user)


def load_config(path: str | Path | None, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Read a YAML config (and its ``base``), merge it over :data:`DEFAULTS`, apply overrides."""
    user = read_yaml(path) if path is not None else {}
    return apply_overrides(merge(DEFAULTS, user), overrides)


def save_config(config: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config, sort_keys=False))
