"""Training engine: YAML configs, the epoch loop, checkpoints, DDP."""

from faceattr.training.config import load_config
from faceattr.training.engine import fit

__all__ = ["fit", "load_config"]
