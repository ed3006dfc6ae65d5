"""``evaluate(source, ...)``: predictions, the metrics of both papers, thresholds, the files.

Thresholds (paper 000, section 2.1.2): ``fixed`` is the global 0.5; ``tuned`` fits one
threshold per attribute on the validation split of the same dataset (criterion accuracy or
F1) and reports the requested split with them. Thresholds are never fitted on the split being
reported: ``split="val"`` with ``thresholds="tuned"`` is refused, and so is MTFL, which has no
validation split. The instance-wise strategy (:func:`fit_instancewise`, regression method) is
fitted on the same validation predictions and reported as an extra block.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceattr.evaluation.predict import (
    EvaluationError,
    Predictions,
    dataset_spec,
    predict,
    training_dataset,
    training_positives,
)
from faceattr.inference.checkpoint import load_model
from faceattr.metrics import (
    DEFAULT_THRESHOLD,
    LANDMARK_NAMES,
    attribute_metrics,
    binary_metrics,
    fit_instancewise,
    instancewise_thresholds,
    landmark_metrics,
    nme_per_image,
    tune_labelwise_thresholds,
)
from faceattr.training.data import DatasetFactory

log = logging.getLogger(__name__)

THRESHOLDS = ("fixed", "tuned")
CRITERIA = ("accuracy", "f1")
#: The averaged attribute metrics (``attribute_metrics`` without ``per_attribute``).
HEADLINE = ("mean_accuracy", "exact_match", "hamming_accuracy", "precision_weighted",
            "recall_weighted", "f1_weighted", "f1_macro", "mean_balanced_accuracy")
FRAME_NOTE = ("model-input pixels (resize shorter side, centre crop); NME is a ratio of "
              "distances, so it is the same in original pixels up to the rounding of the "
              "resized size (see nme_mean_original_pixels)")


def clean(value: Any) -> Any:
    """``value`` with numpy scalars/arrays as Python objects and NaN/inf as None (JSON)."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def labelled_columns(y_true: np.ndarray) -> np.ndarray:
    """Attributes with at least one observed label in ``y_true`` (N, A)."""
    return np.flatnonzero(~np.isnan(y_true).all(axis=0))


def majority_baseline(y_true: np.ndarray) -> float:
    """Mean label-wise accuracy of predicting each attribute's majority class of ``y_true``."""
    rate = np.nanmean(y_true, axis=0)
    return float(np.mean(np.maximum(rate, 1.0 - rate)))


def instancewise_block(pred: Predictions, val: Predictions | None, cols: np.ndarray,
                       reason: str) -> tuple[dict[str, Any], Any]:
    """Headline metrics with instance-wise thresholds fitted on ``val`` (or why not)."""
    if val is None or val.attr_score is None:
        return {"available": False, "reason": reason}, None
    assert pred.attr_score is not None
    model = fit_instancewise(val.attr_true[:, cols], val.attr_score[:, cols],
                             method="regression")
    t = instancewise_thresholds(pred.attr_score[:, cols], model=model)
    m = attribute_metrics(pred.attr_true[:, cols], pred.attr_score[:, cols], thresholds=t)
    block = {"available": True, "method": "regression",
             "fitted_on": {"dataset": val.spec["dataset"], "split": val.spec["split"],
                           "images": len(val)},
             **{k: m[k] for k in HEADLINE},
             "threshold_mean": float(t.mean()), "threshold_std": float(t.std())}
    return block, model


def attribute_block(pred: Predictions, thresholds: np.ndarray, *, strategy: str,
                    criterion: str | None, val: Predictions | None,
                    val_reason: str) -> tuple[dict[str, Any], Any]:
    """``attribute_metrics`` on the labelled attributes plus baselines and instance-wise."""
    assert pred.attr_score is not None
    cols = labelled_columns(pred.attr_true)
    if cols.size == 0:
        return {"available": False, "reason": f"{pred.spec['dataset']} labels none of the "
                "model's attributes"}, None
    names = [pred.attr_names[j] for j in cols]
    truth, score = pred.attr_true[:, cols], pred.attr_score[:, cols]
    block = attribute_metrics(truth, score, thresholds=thresholds[cols], names=names)
    block["thresholds"] = "labelwise_tuned" if strategy == "tuned" else "global_0.5"
    block["criterion"] = criterion
    block["majority_baseline_mean_accuracy"] = majority_baseline(truth)
    if strategy == "tuned":
        fixed = attribute_metrics(truth, score, thresholds=DEFAULT_THRESHOLD)
        block["global_0.5"] = {k: fixed[k] for k in HEADLINE}
    block["instancewise"], model = instancewise_block(pred, val, cols, val_reason)
    block["attributes_evaluated"] = len(cols)
    block["attributes_unlabelled"] = [n for j, n in enumerate(pred.attr_names) if j not in cols]
    return block, model


def gender_block(pred: Predictions, thresholds: np.ndarray) -> dict[str, Any] | None:
    """``binary_metrics`` of the gender head, or of the ``Male`` attribute output."""
    if pred.gender_score is None:
        return None
    seen = ~np.isnan(pred.gender_true)
    if not seen.any():
        return {"available": False, "source": pred.gender_source,
                "reason": "no gender label in this split"}
    threshold = DEFAULT_THRESHOLD
    if pred.gender_source == "attributes.Male":
        threshold = float(thresholds[pred.attr_names.index("Male")])
    block = binary_metrics(pred.gender_true, pred.gender_score, threshold=threshold)
    return {**block, "source": pred.gender_source, "threshold": threshold,
            "images": int(seen.sum())}


def landmark_block(pred: Predictions) -> dict[str, Any] | None:
    """``landmark_metrics`` (inter-ocular NME) in input pixels, plus the original-pixel NME."""
    if pred.landmarks_pred is None:
        return None
    if not np.isfinite(pred.landmarks_true).all(axis=(1, 2)).any():
        return {"available": False, "reason": "no landmark annotation in this split"}
    block = landmark_metrics(pred.landmarks_true, pred.landmarks_pred)
    block["point_names"] = list(LANDMARK_NAMES)
    block["frame"] = FRAME_NOTE
    truth, guess = pred.to_original(pred.landmarks_true), pred.to_original(pred.landmarks_pred)
    block["nme_mean_original_pixels"] = (None if truth is None or guess is None else float(
        np.nanmean(nme_per_image(truth, guess))))
    return block


def positives_block(per_attribute: dict[str, dict[str, Any]], train: np.ndarray | None,
                    names: list[str]) -> dict[str, Any]:
    """Accuracy against the number of positives per attribute, with its least-squares line
    (paper 000, figures 10-12). Positives are counted in the model's training set when it can
    be read under the data root, else in the evaluated split (``support``)."""
    attrs = list(per_attribute)
    if train is not None and np.isfinite(train[[names.index(a) for a in attrs]]).all():
        counts = train[[names.index(a) for a in attrs]].astype(np.float64)
        source = "training set of the model"
    else:
        counts = np.array([per_attribute[a]["support"] for a in attrs], dtype=np.float64)
        source = "evaluated split (support)"
    acc = np.array([per_attribute[a]["accuracy"] for a in attrs], dtype=np.float64)
    ok = np.isfinite(acc)
    slope = intercept = r = float("nan")
    if ok.sum() >= 2 and np.ptp(counts[ok]) > 0:
        slope, intercept = (float(v) for v in np.polyfit(counts[ok], acc[ok], 1))
        if np.ptp(acc[ok]) > 0:
            r = float(np.corrcoef(counts[ok], acc[ok])[0, 1])
    return {"positives_counted_in": source, "positives": dict(zip(attrs, counts.tolist(),
                                                                   strict=True)),
            "slope": slope, "intercept": intercept, "pearson_r": r}


def machine() -> dict[str, Any]:
    """Where the evaluation ran (CPU, cores, torch threads, load)."""
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "load_average_1min": round(os.getloadavg()[0], 2), "platform": platform.platform()}


def _thresholds_file(meta: dict[str, Any], thresholds: np.ndarray, criterion: str,
                     val: Predictions, instancewise: Any) -> dict[str, Any]:
    return {"strategy": "labelwise", "criterion": criterion,
            "fitted_on": {"dataset": val.spec["dataset"], "split": val.spec["split"],
                          "images": len(val), "subset": val.spec.get("subset")},
            "checkpoint": meta["checkpoint"], "attr_names": list(meta["attr_names"]),
            "thresholds": {n: float(t) for n, t in zip(meta["attr_names"], thresholds,
                                                       strict=True)},
            "instancewise": None if instancewise is None else instancewise.to_dict()}


def _check(split: str, thresholds: str, criterion: str, dataset: str,
           tasks: tuple[str, ...]) -> None:
    if thresholds not in THRESHOLDS:
        raise EvaluationError(f"unknown --thresholds {thresholds!r}; expected {THRESHOLDS}")
    if criterion not in CRITERIA:
        raise EvaluationError(f"unknown --tune-criterion {criterion!r}; expected {CRITERIA}")
    if thresholds != "tuned":
        return
    if "attributes" not in tasks:
        raise EvaluationError("--thresholds tuned needs an attributes head; this model has "
                              f"{list(tasks)}")
    if split == "val":
        raise EvaluationError("refusing to tune thresholds on the split being reported "
                              "(--split val --thresholds tuned): thresholds are fitted on val, "
                              "so report --split test (or train), or use --thresholds fixed")
    if dataset == "mtfl":
        raise EvaluationError("MTFL has no validation split to tune thresholds on; use "
                              "--thresholds fixed (or evaluate on CelebA)")


def evaluate(source: str | Path, *, data_root: str | Path, out_dir: str | Path,
             dataset: str | None = None, split: str = "test", thresholds: str = "fixed",
             criterion: str = "accuracy", limit: int | None = None,
             val_limit: int | None = None, instancewise: bool = False, batch_size: int = 64,
             device: str = "cpu", cache_dir: str | Path | None = None,
             plots: bool = True, examples: int = 16,
             spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate a run folder or checkpoint; write ``metrics.json``, ``predictions.npz``,
    the plots and ``report.md``/``report.html`` to ``out_dir``; return the metrics.

    ``limit``/``val_limit`` evaluate (tune on) a seeded random subset of that many images.
    ``spec`` (a config-style data entry, e.g. paper 004's subset test part) replaces the
    ``dataset``/``split``/``limit`` choice of the images to report on.
    The validation split is predicted when ``thresholds="tuned"`` or ``instancewise``.
    Raises :class:`EvaluationError` for a request that cannot be honoured and
    ``FileNotFoundError`` for a missing run folder or checkpoint.
    """
    start = time.perf_counter()
    model, meta = load_model(source, device=device)
    tasks = tuple(meta.get("tasks") or model.tasks)
    if spec is not None:
        dataset, split = spec.get("dataset", "celeba"), spec.get("split", split)
    dataset = dataset or training_dataset(meta)
    _check(split, thresholds, criterion, dataset, tasks)
    factory = DatasetFactory(data_root)
    if spec is None:
        spec = dataset_spec(meta, dataset, split, limit=limit)
    elif limit is not None and "subset" not in spec:
        spec = {**spec, "subset": {"kind": "random", "n": int(limit), "seed": 0}}
    run = {"batch_size": batch_size, "device": device, "cache_dir": cache_dir}
    want_val = "attributes" in tasks and (thresholds == "tuned" or instancewise)
    val, val_reason = None, "not requested (pass --instancewise or --thresholds tuned)"
    if want_val and split == "val":
        val_reason = "instance-wise thresholds are never fitted on the reported split (val)"
    elif want_val and dataset == "mtfl":
        val_reason = "MTFL has no validation split"
    elif want_val:
        val_spec = dataset_spec(meta, dataset, "val", limit=val_limit)
        try:
            val = predict(model, meta, factory, val_spec, **run)
        except EvaluationError as err:
            if thresholds == "tuned":
                raise EvaluationError(f"--thresholds tuned fits on the validation split, but "
                                      f"{err}; use --thresholds fixed") from err
            val_reason = str(err)
    pred = predict(model, meta, factory, spec, **run)
    n_attrs = len(meta.get("attr_names") or [])
    cut = np.full(n_attrs, DEFAULT_THRESHOLD)
    if thresholds == "tuned":
        assert val is not None and val.attr_score is not None
        cut = tune_labelwise_thresholds(val.attr_true, val.attr_score, criterion=criterion)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, Any] = {
        "dataset": dataset, "split": split, "images": len(pred),
        "backbone": meta["model"]["backbone"], "pretrained": bool(meta.get("pretrained")),
        "params": meta.get("params"), "checkpoint": meta["checkpoint"],
        "epoch": meta.get("epoch"), "tasks": list(tasks),
        "thresholds": "labelwise_tuned" if thresholds == "tuned" else "global_0.5",
        "threshold_criterion": criterion if thresholds == "tuned" else None,
        "thresholds_fitted_on": None if val is None or thresholds != "tuned" else {
            "dataset": dataset, "split": "val", "images": len(val)},
        "data_root": str(data_root), "subset": spec.get("subset"),
        "skipped_images": pred.skipped, "input_size": list(meta["input_size"]),
        "resize": meta["resize"], "train_dataset": training_dataset(meta),
        "machine": machine(),
    }
    iw_model = None
    if pred.attr_score is not None:
        metrics["attributes"], iw_model = attribute_block(
            pred, cut, strategy=thresholds, criterion=metrics["threshold_criterion"], val=val,
            val_reason=val_reason)
    gender = gender_block(pred, cut)
    if gender is not None:
        metrics["gender"] = gender
    landmarks = landmark_block(pred)
    if landmarks is not None:
        metrics["landmarks"] = landmarks

    used = cut if pred.attr_score is not None else None
    files = {"metrics": "metrics.json",
             "predictions": pred.save(out / "predictions.npz", used).name}
    if val is not None:
        files["predictions_val"] = val.save(out / "predictions_val.npz").name
    if thresholds == "tuned":
        assert val is not None
        saved = _thresholds_file(meta, cut, criterion, val, iw_model)
        (out / "thresholds.json").write_text(json.dumps(clean(saved), indent=2))
        files["thresholds"] = "thresholds.json"
        beside = Path(meta["checkpoint"]).with_name("thresholds.json")
        try:
            beside.write_text(json.dumps(clean(saved), indent=2))
            metrics["thresholds_saved_with_model"] = str(beside)
        except OSError as err:
            log.warning("could not write %s: %s", beside, err)
            metrics["thresholds_saved_with_model"] = None
    metrics["files"] = files
    positives = None
    if metrics.get("attributes", {}).get("per_attribute"):
        positives = positives_block(metrics["attributes"]["per_attribute"],
                                    training_positives(factory, meta), pred.attr_names)
        metrics["attributes"]["accuracy_vs_positives"] = positives
    if plots:
        from faceattr.evaluation.plots import make_figures

        files.update(make_figures(out, metrics, pred, meta, examples=examples))
    metrics["seconds"] = round(time.perf_counter() - start, 2)
    from faceattr.evaluation.report import write_report

    files.update(write_report(out, clean(metrics)))
    (out / "metrics.json").write_text(json.dumps(clean(metrics), indent=2))
    return clean(metrics)
