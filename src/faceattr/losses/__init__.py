"""Training losses: masked attribute/gender BCE, landmark regression, multi-task weighting.

Conventions shared by every loss: NaN in a target means "missing label" and is ignored; losses
are means over the observed entries and are 0 (with a zero gradient) when nothing is observed.
Attribute and gender targets are 1.0 / 0.0 (gender 1.0 = male) against raw logits; landmarks
are ``(N, 5, 2)`` coordinates normalised to the input size.
"""

from faceattr.losses._factory import build_loss
from faceattr.losses.classification import (
    AttributeLoss,
    FocalLoss,
    MaskedBCEWithLogits,
    positive_weights,
)
from faceattr.losses.landmarks import LANDMARK_KINDS, LandmarkLoss, huber, l1, l2, smooth_l1, wing
from faceattr.losses.multitask import TASKS, MultiTaskLoss

__all__ = [
    "LANDMARK_KINDS",
    "TASKS",
    "AttributeLoss",
    "FocalLoss",
    "LandmarkLoss",
    "MaskedBCEWithLogits",
    "MultiTaskLoss",
    "build_loss",
    "huber",
    "l1",
    "l2",
    "positive_weights",
    "smooth_l1",
    "wing",
]
