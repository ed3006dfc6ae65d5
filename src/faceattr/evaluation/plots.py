"""The evaluation figures, as PNG files (matplotlib, Agg; no pyplot global state).

Every function takes numbers already computed by :mod:`faceattr.evaluation.run` and writes
one file. :func:`example_grid` draws faces: call it only with a user output folder.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from faceattr.data.images import load_rgb
from faceattr.data.transforms import CenterCrop, Compose, ResizeShorter
from faceattr.evaluation.predict import Predictions
from faceattr.inference.draw import POINT_COLOURS
from faceattr.metrics import ced_curve, nme_per_image

DPI = 110


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> str:
    fig.savefig(path, format="png")
    return path.name


def attribute_accuracy(per_attribute: dict[str, dict[str, Any]], path: Path) -> str:
    """Bar chart of the label-wise accuracy of every attribute (paper 000, figure 10)."""
    names = list(per_attribute)
    acc = [per_attribute[n]["accuracy"] or 0.0 for n in names]
    fig = _figure(max(6.0, 0.28 * len(names) + 2), 4.2)
    ax = fig.add_subplot()
    ax.bar(range(len(names)), acc, color="#4c72b0")
    ax.axhline(float(np.mean(acc)), color="#c44e52", lw=1, ls="--",
               label=f"mean {np.mean(acc):.3f}")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("label-wise accuracy")
    ax.legend(loc="lower right")
    return _save(fig, path)


def accuracy_vs_positives(per_attribute: dict[str, dict[str, Any]], block: dict[str, Any],
                          path: Path) -> str:
    """Accuracy per attribute against its number of positives, with the regression line
    (paper 000, figures 11-12)."""
    names = list(per_attribute)
    x = np.array([block["positives"][n] for n in names], dtype=np.float64)
    y = np.array([per_attribute[n]["accuracy"] for n in names], dtype=np.float64)
    fig = _figure(6.4, 4.4)
    ax = fig.add_subplot()
    ax.scatter(x, y, s=18, color="#4c72b0")
    for xi, yi, n in zip(x, y, names, strict=True):
        ax.annotate(n, (xi, yi), fontsize=5, alpha=0.7, xytext=(2, 2),
                    textcoords="offset points")
    if block.get("slope") is not None and np.isfinite(block["slope"]):
        grid = np.linspace(x.min(), x.max(), 50)
        r = block.get("pearson_r")
        ax.plot(grid, block["slope"] * grid + block["intercept"], color="#c44e52",
                label=f"fit: slope {block['slope']:.2e}"
                      + (f", r = {r:.2f}" if r is not None and np.isfinite(r) else ""))
        ax.legend(loc="lower left")
    ax.set_xlabel(f"positives per attribute ({block['positives_counted_in']})")
    ax.set_ylabel("label-wise accuracy")
    return _save(fig, path)


def gender_roc(y_true: np.ndarray, y_score: np.ndarray, auc: float | None, path: Path) -> str:
    """ROC curve of the male-vs-female scores."""
    from sklearn.metrics import roc_curve

    seen = ~np.isnan(y_true)
    fpr, tpr, _ = roc_curve(y_true[seen].astype(int), y_score[seen])
    fig = _figure(4.4, 4.2)
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, color="#4c72b0", label=f"AUC {auc:.4f}" if auc is not None else "ROC")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    ax.set_xlabel("false positive rate (female called male)")
    ax.set_ylabel("true positive rate (male recall)")
    ax.legend(loc="lower right")
    return _save(fig, path)


def confusion(matrix: list[list[int]], path: Path) -> str:
    """Confusion matrix of gender, rows = true class, columns = predicted (0 female, 1 male)."""
    cm = np.asarray(matrix)
    fig = _figure(3.8, 3.4)
    ax = fig.add_subplot()
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center",
                color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks([0, 1], ["female", "male"])
    ax.set_yticks([0, 1], ["female", "male"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return _save(fig, path)


def landmark_curves(nme: np.ndarray, block: dict[str, Any], path: Path) -> str:
    """CED on [0, 0.1] and paper 004's operating curve (success rate vs NME threshold)."""
    fig = _figure(8.4, 3.6)
    left, right = fig.subplots(1, 2)
    x, y = ced_curve(nme)
    left.plot(100 * x, y, color="#4c72b0")
    left.set_title(f"CED, AUC@0.1 = {block['ced_auc']:.4f}")
    left.set_xlabel("NME (% of inter-ocular distance)")
    left.set_ylabel("fraction of images")
    x, y = ced_curve(nme, max_error=1.0, steps=101)
    right.plot(100 * x, y, color="#55a868")
    right.set_title(f"operating curve, AUC = {block['operating_curve_auc']:.4f}")
    right.set_xlabel("NME threshold (%)")
    right.set_ylabel("success rate (1 - FR)")
    for ax in (left, right):
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def learning_curves(log_csv: Path, path: Path) -> str | None:
    """Train/val loss and the validation headline metrics per epoch from ``log.csv``."""
    if not log_csv.is_file():
        return None
    with log_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return None

    def col(key: str) -> np.ndarray:
        return np.array([float(r[key]) if r.get(key) not in (None, "") else np.nan
                         for r in rows])

    epochs = col("epoch")
    metrics = [k for k in ("val_attr_mean_accuracy", "val_gender_accuracy", "val_landmark_nme")
               if k in rows[0]]
    fig = _figure(8.4, 3.6)
    left, right = fig.subplots(1, 2)
    for key in ("train_loss", "val_loss"):
        if key in rows[0]:
            left.plot(epochs, col(key), marker="o", label=key)
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    left.legend()
    for key in metrics:
        right.plot(epochs, col(key), marker="o", label=key)
    right.set_xlabel("epoch")
    right.legend()
    return _save(fig, path)


def example_grid(pred: Predictions, meta: dict[str, Any], path: Path, *, n: int = 16) -> str:
    """Up to ``n`` evaluated faces with predicted (dots) and true (crosses) landmarks."""
    rows = np.unique(np.linspace(0, len(pred) - 1, min(n, len(pred))).round().astype(int))
    prep = Compose([ResizeShorter(int(meta["resize"])), CenterCrop(int(meta["input_size"][0]))])
    cols = min(4, len(rows))
    grid = (len(rows) + cols - 1) // cols
    fig = _figure(2.3 * cols, 2.6 * grid)
    axes = np.atleast_1d(fig.subplots(grid, cols, squeeze=False)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, i in zip(axes, rows, strict=False):
        face = np.asarray(prep({"image": load_rgb(pred.paths[i])})["image"])
        ax.imshow(face)
        ax.set_xlim(-0.5, face.shape[1] - 0.5)  # points off the crop must not shrink it
        ax.set_ylim(face.shape[0] - 0.5, -0.5)
        lines = []
        if pred.gender_score is not None:
            lines.append(f"{'male' if pred.gender_score[i] > 0.5 else 'female'} "
                         f"{pred.gender_score[i]:.2f}")
        if pred.attr_score is not None:
            top = np.argsort(-pred.attr_score[i])[:2]
            lines += [f"{pred.attr_names[j]} {pred.attr_score[i, j]:.2f}" for j in top]
        if pred.landmarks_pred is not None:
            for (x, y), colour in zip(pred.landmarks_pred[i], POINT_COLOURS, strict=True):
                ax.scatter([x], [y], s=14, c=colour, edgecolors="black", linewidths=0.5)
            if np.isfinite(pred.landmarks_true[i]).all():
                t = pred.landmarks_true[i]
                ax.scatter(t[:, 0], t[:, 1], s=14, c="white", marker="x", linewidths=0.8)
        ax.set_title("\n".join(lines), fontsize=6)
    return _save(fig, path)


def make_figures(out: Path, metrics: dict[str, Any], pred: Predictions, meta: dict[str, Any],
                 *, examples: int = 16) -> dict[str, str]:
    """Write every figure the evaluated heads allow; returns ``{figure: file name}``."""
    files: dict[str, str] = {}
    attrs = metrics.get("attributes") or {}
    if attrs.get("per_attribute"):
        files["attribute_accuracy"] = attribute_accuracy(attrs["per_attribute"],
                                                         out / "attribute_accuracy.png")
        files["accuracy_vs_positives"] = accuracy_vs_positives(
            attrs["per_attribute"], attrs["accuracy_vs_positives"],
            out / "accuracy_vs_positives.png")
    gender = metrics.get("gender") or {}
    if "confusion_matrix" in gender and pred.gender_score is not None:
        if gender.get("roc_auc") is not None and np.isfinite(gender["roc_auc"]):
            files["gender_roc"] = gender_roc(pred.gender_true, pred.gender_score,
                                             gender["roc_auc"], out / "gender_roc.png")
        files["gender_confusion"] = confusion(gender["confusion_matrix"],
                                              out / "gender_confusion.png")
    landmarks = metrics.get("landmarks") or {}
    if "nme_mean" in landmarks and pred.landmarks_pred is not None:
        nme = nme_per_image(pred.landmarks_true, pred.landmarks_pred)
        files["landmark_curves"] = landmark_curves(nme, landmarks, out / "landmark_curves.png")
    curves = learning_curves(Path(meta["checkpoint"]).with_name("log.csv"),
                             out / "learning_curves.png")
    if curves:
        files["learning_curves"] = curves
    if examples > 0:
        files["examples"] = example_grid(pred, meta, out / "examples.png", n=examples)
    return files
