"""Numbers the two papers published, with their source, for reports to set beside ours.

Values are copied as printed: paper 000 in percent, paper 004's rates as fractions except NME
and FR, which it prints in percent. :func:`as_fraction` converts a printed value to the
fractions used everywhere else in ``faceattr``.

- Paper 000: "Face Attribute Recognition Using Efficient Neural Networks" (BSc thesis, 2025),
  Table 1 "Evaluation metrics of the models". CelebA, about 5,000 training images, 25,000
  evaluation images, global threshold 0.5. "Accuracy" is the mean label-wise accuracy;
  precision, recall and F1 are support-weighted over the 40 attributes. "Weighted" columns use
  BCE with positive weights (negatives / positives per attribute), "not weighted" plain BCE.
- Paper 004: "Gender classification and landmark detection in celebrity face images",
  Table VI "Test performance of each trained model". VGG-16, a 500-image gender-balanced
  CelebA subset with 50 test images. Gender metrics treat male as the positive class; NME is
  normalised per image, FR uses NME > 0.1, AUC is the area under its operating curve.
"""

from __future__ import annotations

from typing import Any

PAPER000 = "Face Attribute Recognition Using Efficient Neural Networks (BSc thesis, 2025)"
PAPER004 = "Gender classification and landmark detection in celebrity face images"

#: Paper 000, Table 1: one column per backbone and loss (values in percent).
PAPER000_TABLE1: dict[str, Any] = {
    "paper": PAPER000,
    "table": "Table 1: Evaluation metrics of the models",
    "units": "percent",
    "setup": "CelebA, ~5,000 training / 25,000 evaluation images, global threshold 0.5",
    #: row label -> key of ``metrics.json["attributes"]``
    "rows": {"Accuracy": "mean_accuracy", "Precision": "precision_weighted",
             "Recall": "recall_weighted", "F1": "f1_weighted"},
    "columns": [
        {"model": "ShuffleNetV2", "backbone": "shufflenet_v2_x1_0", "loss": "not weighted",
         "Accuracy": 86.08, "Precision": 50.31, "Recall": 49.83, "F1": 50.79},
        {"model": "ShuffleNetV2", "backbone": "shufflenet_v2_x1_0", "loss": "weighted",
         "Accuracy": 66.94, "Precision": 60.55, "Recall": 51.40, "F1": 55.60},
        {"model": "MobileNetV2", "backbone": "mobilenet_v2", "loss": "not weighted",
         "Accuracy": 87.99, "Precision": 72.36, "Recall": 63.36, "F1": 67.56},
        {"model": "MobileNetV2", "backbone": "mobilenet_v2", "loss": "weighted",
         "Accuracy": 87.25, "Precision": 72.64, "Recall": 59.68, "F1": 65.52},
        {"model": "EfficientNetB0", "backbone": "efficientnet_b0", "loss": "not weighted",
         "Accuracy": 88.63, "Precision": 73.62, "Recall": 64.72, "F1": 68.88},
        {"model": "EfficientNetB0", "backbone": "efficientnet_b0", "loss": "weighted",
         "Accuracy": 88.01, "Precision": 74.58, "Recall": 62.86, "F1": 68.22},
    ],
}

#: Paper 004, Table VI: one row per model; None where the model has no such head.
PAPER004_TABLE6: dict[str, Any] = {
    "paper": PAPER004,
    "table": "Table VI: Test performance of each trained model",
    "units": "gender metrics and AUC as fractions; NME, NME std and FR in percent",
    "setup": "VGG-16, 500-image gender-balanced CelebA subset, 50 test images",
    "gender_columns": {"Accuracy": "accuracy", "Recall": "recall", "Precision": "precision",
                       "F1": "f1", "AUC ROC": "roc_auc"},
    "rows": [
        {"model": 1, "name": "single-task gender", "accuracy": 0.9600, "recall": 0.9600,
         "precision": 0.9600, "f1": 0.9600, "roc_auc": 0.9984, "nme_percent": None,
         "nme_std_percent": None, "fr_10_percent": None, "operating_curve_auc": None,
         "inference_ms": 4.7134},
        {"model": 2, "name": "single-task landmarks", "accuracy": None, "recall": None,
         "precision": None, "f1": None, "roc_auc": None, "nme_percent": 6.2618,
         "nme_std_percent": 3.5099, "fr_10_percent": 17.6, "operating_curve_auc": 0.9275,
         "inference_ms": 4.7523},
        {"model": 3, "name": "multi-task", "accuracy": 0.9400, "recall": 0.9200,
         "precision": 0.9583, "f1": 0.9388, "roc_auc": 0.9920, "nme_percent": 6.3802,
         "nme_std_percent": 3.2614, "fr_10_percent": 17.6, "operating_curve_auc": 0.9260,
         "inference_ms": 5.6764},
        {"model": 4, "name": "multi-task + self-attention", "accuracy": 0.9600, "recall": 1.000,
         "precision": 0.9259, "f1": 0.9615, "roc_auc": 0.9952, "nme_percent": 7.2158,
         "nme_std_percent": 3.8830, "fr_10_percent": 20.0, "operating_curve_auc": 0.9167,
         "inference_ms": 5.8463},
    ],
}


def as_fraction(value: float | None, units: str) -> float | None:
    """A printed value as a fraction: ``percent`` divides by 100, ``fraction`` keeps it."""
    if value is None:
        return None
    if units not in ("percent", "fraction"):
        raise ValueError(f"unknown units {units!r}; expected 'percent' or 'fraction'")
    return value / 100.0 if units == "percent" else float(value)
