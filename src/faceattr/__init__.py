"""faceattr: 40 CelebA face attributes, gender and 5-point landmarks with efficient networks.

Conventions used everywhere: attribute labels are 1/0 (the files' +1/-1), gender is 1 for male,
landmarks are ``(5, 2)`` ``(x, y)`` pixel coordinates in the order left eye, right eye, nose,
left mouth corner, right mouth corner ("left" = the image's left).

The top level exports only ``load``/``FaceAnalyzer`` (inference) and ``create_model`` /
``list_models`` (model presets); they are imported lazily so ``import faceattr`` is cheap.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["FaceAnalyzer", "create_model", "list_models", "load"]


def __getattr__(name: str) -> Any:
    if name in ("FaceAnalyzer", "load"):
        from faceattr.inference import analyzer

        return getattr(analyzer, name)
    if name in ("create_model", "list_models"):
        from faceattr.models import presets

        return getattr(presets, name)
    raise AttributeError(f"module 'faceattr' has no attribute {name!r}")
