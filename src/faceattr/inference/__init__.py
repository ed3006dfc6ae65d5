"""Inference: loading trained models, predicting on images."""

from faceattr.inference.checkpoint import load_model, resolve_checkpoint

__all__ = ["load_model", "resolve_checkpoint"]
