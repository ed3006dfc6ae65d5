"""faceattr.metrics against scikit-learn and against hand computations.

The attribute and gender metrics are checked on the real CelebA test labels with the scores of
a genuine (imperfect) model: for each attribute, a logistic regression fitted on the train
split that predicts it from the other 39 true labels. Random-noise and NaN-masked cases cover
the edge cases. Landmark metrics are checked on hand-made images (numbers worked out with plain
Python math) and on the real CelebA landmarks shifted by a known offset.
"""

from __future__ import annotations

import doctest
import inspect
import json
import math
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    hamming_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

import faceattr.metrics as fm
from faceattr.metrics import (
    InstancewiseModel,
    apply_thresholds,
    attribute_metrics,
    binary_metrics,
    ced_auc,
    ced_curve,
    fit_instancewise,
    instancewise_thresholds,
    landmark_metrics,
    nme_per_image,
    tune_labelwise_thresholds,
)
from faceattr.metrics import attributes as attributes_mod
from faceattr.metrics import binary as binary_mod
from faceattr.metrics import landmarks as landmarks_mod
from faceattr.metrics import thresholds as thresholds_mod

AVERAGE_KEYS = ["mean_accuracy", "exact_match", "hamming_accuracy", "precision_weighted",
                "recall_weighted", "f1_weighted", "f1_macro", "mean_balanced_accuracy"]
PER_ATTRIBUTE_KEYS = ["accuracy", "precision", "recall", "f1", "roc_auc", "support", "threshold"]


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def predictor(celeba_index):
    """Labels and logistic-regression scores on the real val and test splits."""
    splits = {s: celeba_index.attrs[celeba_index.select(s)].astype(np.float64)
              for s in ("train", "val", "test")}
    assert splits["test"].shape == (2265, 40)
    scores = {s: np.empty_like(splits[s]) for s in ("val", "test")}
    for j in range(40):
        others = np.delete(np.arange(40), j)
        model = LogisticRegression(max_iter=500).fit(splits["train"][:, others],
                                                     splits["train"][:, j])
        for s in scores:
            scores[s][:, j] = model.predict_proba(splits[s][:, others])[:, 1]
    return {"names": list(celeba_index.attr_names), "y_val": splits["val"],
            "s_val": scores["val"], "y_test": splits["test"], "s_test": scores["test"]}


def _sklearn_reference(y: np.ndarray, s: np.ndarray, pred: np.ndarray) -> dict:
    """Every number of attribute_metrics computed with scikit-learn (no missing labels)."""
    yi = y.astype(int)
    p, r, f, support = precision_recall_fscore_support(yi, pred, average=None, zero_division=0.0)
    pw, rw, fw, _ = precision_recall_fscore_support(yi, pred, average="weighted",
                                                    zero_division=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        balanced = [balanced_accuracy_score(yi[:, j], pred[:, j]) for j in range(y.shape[1])]
    return {
        "mean_accuracy": np.mean([accuracy_score(yi[:, j], pred[:, j])
                                  for j in range(y.shape[1])]),
        "exact_match": accuracy_score(yi, pred),
        "hamming_accuracy": 1.0 - hamming_loss(yi, pred),
        "precision_weighted": pw, "recall_weighted": rw, "f1_weighted": fw,
        "f1_macro": f1_score(yi, pred, average="macro", zero_division=0.0),
        "mean_balanced_accuracy": np.mean(balanced),
        "precision": p, "recall": r, "f1": f, "support": support,
    }


def _check_against_sklearn(m: dict, y: np.ndarray, s: np.ndarray, pred: np.ndarray,
                           names: list[str]) -> None:
    ref = _sklearn_reference(y, s, pred)
    for key in AVERAGE_KEYS:
        assert m[key] == pytest.approx(ref[key], abs=1e-12), key
    for j, name in enumerate(names):
        a = m["per_attribute"][name]
        assert a["accuracy"] == pytest.approx(accuracy_score(y[:, j], pred[:, j]), abs=1e-12)
        assert a["precision"] == pytest.approx(ref["precision"][j], abs=1e-12)
        assert a["recall"] == pytest.approx(ref["recall"][j], abs=1e-12)
        assert a["f1"] == pytest.approx(ref["f1"][j], abs=1e-12)
        assert a["support"] == ref["support"][j] == int(y[:, j].sum())
        if 0 < y[:, j].sum() < len(y):
            assert a["roc_auc"] == pytest.approx(roc_auc_score(y[:, j], s[:, j]), abs=1e-12)
        else:
            assert math.isnan(a["roc_auc"])


# ----------------------------------------------------------------------------- attributes

def test_attribute_metrics_match_sklearn_on_real_predictor(predictor) -> None:
    y, s, names = predictor["y_test"], predictor["s_test"], predictor["names"]
    m = attribute_metrics(y, s, names=names)
    assert list(m) == [*AVERAGE_KEYS, "per_attribute"]
    assert list(m["per_attribute"]) == names
    assert all(list(v) == PER_ATTRIBUTE_KEYS for v in m["per_attribute"].values())
    pred = (s > 0.5).astype(int)
    _check_against_sklearn(m, y, s, pred, names)
    assert all(v["threshold"] == 0.5 for v in m["per_attribute"].values())
    # a genuine, imperfect model: above the majority baseline, far from perfect, and the
    # two readings of the thesis' "subset accuracy" are far apart
    majority = np.maximum(y.mean(0), 1 - y.mean(0)).mean()
    assert majority == pytest.approx(0.8045, abs=1e-4)
    assert majority + 0.03 < m["mean_accuracy"] < 0.95
    assert m["exact_match"] < 0.1 < m["mean_accuracy"]
    assert m["hamming_accuracy"] == pytest.approx(m["mean_accuracy"], abs=1e-12)
    assert m["per_attribute"]["Male"]["roc_auc"] > 0.9
    assert json.loads(json.dumps(m)) == m  # JSON-ready (no NaN here: every AUC is defined)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_attribute_metrics_match_sklearn_on_random_noise(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, a = 300, 7
    y = (rng.random((n, a)) < rng.uniform(0.05, 0.9, a)).astype(float)
    s = rng.random((n, a))
    y[:, 0] = 0  # no positive: recall 0/0, AUC undefined
    s[:, 1] *= 0.4  # never predicted positive: precision 0/0
    y[:, 2] = 1  # no negative
    thresholds = rng.uniform(0.3, 0.7, a)
    thresholds[1] = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zero_division is handled, never warned
        m = attribute_metrics(y, s, thresholds=thresholds)
    names = [f"attr_{j}" for j in range(a)]
    _check_against_sklearn(m, y, s, (s > thresholds).astype(int), names)
    assert m["per_attribute"]["attr_0"]["recall"] == 0.0
    assert m["per_attribute"]["attr_1"]["precision"] == 0.0
    assert math.isnan(m["per_attribute"]["attr_2"]["roc_auc"])
    assert [m["per_attribute"][k]["threshold"] for k in names] == thresholds.tolist()


def test_attribute_metrics_skip_missing_labels(predictor) -> None:
    y, s = predictor["y_test"].copy(), predictor["s_test"]
    rng = np.random.default_rng(7)
    missing = rng.random(y.shape) < 0.1
    missing[:, 5] = True  # an attribute with no observed label at all
    y[missing] = np.nan
    m = attribute_metrics(y, s)
    pred = (s > 0.5).astype(int)
    obs = ~missing
    accs, f1s, precs, recs, sup = [], [], [], [], []
    for j in range(40):
        a = m["per_attribute"][f"attr_{j}"]
        if j == 5:
            assert a["support"] == 0 and math.isnan(a["accuracy"])
            continue
        t, p = y[obs[:, j], j].astype(int), pred[obs[:, j], j]
        pj, rj, fj, _ = precision_recall_fscore_support(t, p, average="binary",
                                                        zero_division=0.0)
        assert a["accuracy"] == pytest.approx(accuracy_score(t, p), abs=1e-12)
        assert (a["precision"], a["recall"], a["f1"]) == pytest.approx((pj, rj, fj), abs=1e-12)
        assert a["roc_auc"] == pytest.approx(roc_auc_score(t, s[obs[:, j], j]), abs=1e-12)
        assert a["support"] == t.sum()
        accs.append(accuracy_score(t, p))
        precs.append(pj), recs.append(rj), f1s.append(fj), sup.append(t.sum())
    assert m["mean_accuracy"] == pytest.approx(np.mean(accs), abs=1e-12)
    assert m["f1_macro"] == pytest.approx(np.mean(f1s), abs=1e-12)
    assert m["precision_weighted"] == pytest.approx(np.average(precs, weights=sup), abs=1e-12)
    assert m["recall_weighted"] == pytest.approx(np.average(recs, weights=sup), abs=1e-12)
    assert m["f1_weighted"] == pytest.approx(np.average(f1s, weights=sup), abs=1e-12)
    assert m["hamming_accuracy"] == pytest.approx(
        1 - hamming_loss(y[obs].astype(int), pred[obs]), abs=1e-12)
    assert m["hamming_accuracy"] != pytest.approx(m["mean_accuracy"], abs=1e-9)
    # attribute 5 is missing everywhere, so no image is complete; without it, ~1.4 % are
    m2 = attribute_metrics(np.delete(y, 5, 1), np.delete(s, 5, 1))
    complete = ~np.delete(missing, 5, 1).any(axis=1)
    assert math.isnan(m["exact_match"]) and complete.sum() > 10
    assert m2["exact_match"] == accuracy_score(np.delete(y, 5, 1)[complete].astype(int),
                                               np.delete(pred, 5, 1)[complete])
    # the scores behind a missing label cannot move any metric
    s_other = s.copy()
    s_other[missing] = 1.0 - s_other[missing]
    assert json.dumps(attribute_metrics(y, s_other)) == json.dumps(m)


def test_threshold_shapes_and_errors() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random((50, 4)) < 0.4).astype(float)
    s = rng.random((50, 4))
    per_image = rng.uniform(0.2, 0.8, (50, 1))
    per_entry = rng.uniform(0.2, 0.8, (50, 4))
    for t in (per_image, per_entry):
        m = attribute_metrics(y, s, thresholds=t)
        _check_against_sklearn(m, y, s, (s > t).astype(int), [f"attr_{j}" for j in range(4)])
        assert all(v["threshold"] is None for v in m["per_attribute"].values())
    m = attribute_metrics(y, s, thresholds=[[0.1, 0.2, 0.3, 0.4]])
    assert [v["threshold"] for v in m["per_attribute"].values()] == [0.1, 0.2, 0.3, 0.4]
    assert apply_thresholds([[0.5, 0.50001]], 0.5).tolist() == [[0, 1]]  # strictly greater
    for bad in (np.full(50, 0.5), np.full((4, 1), 0.5), [np.nan] * 4, np.zeros((2, 2, 2))):
        with pytest.raises(ValueError):
            apply_thresholds(s, bad)
    with pytest.raises(ValueError, match="1/0"):
        attribute_metrics(2 * y - 1, s)  # -1/+1 CelebA coding
    with pytest.raises(ValueError, match="finite"):
        attribute_metrics(y, np.where(y > 0, np.nan, s))
    with pytest.raises(ValueError, match="shape"):
        attribute_metrics(y, s[:, :3])
    with pytest.raises(ValueError, match="names"):
        attribute_metrics(y, s, names=["a", "b"])
    with pytest.raises(TypeError):
        attribute_metrics(y, s, 0.5)  # extras are keyword-only


# ----------------------------------------------------------------------------- label-wise

@pytest.mark.parametrize("criterion", ["accuracy", "f1", "balanced_accuracy"])
def test_labelwise_thresholds_improve_or_equal_on_val(predictor, criterion: str) -> None:
    y, s = predictor["y_val"].astype(int), predictor["s_val"]
    t = tune_labelwise_thresholds(y, s, criterion=criterion)
    assert t.shape == (40,) and np.isfinite(t).all()
    metric = {"accuracy": accuracy_score, "balanced_accuracy": balanced_accuracy_score,
              "f1": lambda a, b: f1_score(a, b, zero_division=0.0)}[criterion]
    gains = []
    for j in range(40):
        tuned = metric(y[:, j], (s[:, j] > t[j]).astype(int))
        default = metric(y[:, j], (s[:, j] > 0.5).astype(int))
        assert tuned >= default - 1e-12, (j, tuned, default)
        gains.append(tuned - default)
    assert max(gains) > 0.01  # the tuning does something on a real model
    if criterion == "accuracy":
        m = attribute_metrics(y, s, thresholds=t)
        assert m["mean_accuracy"] >= attribute_metrics(y, s)["mean_accuracy"]


@pytest.mark.parametrize("criterion", ["accuracy", "f1", "balanced_accuracy"])
def test_labelwise_thresholds_are_optimal_by_brute_force(criterion: str) -> None:
    rng = np.random.default_rng(11)
    y = (rng.random((60, 5)) < [0.1, 0.3, 0.5, 0.7, 0.0]).astype(int)
    s = np.round(np.clip(0.3 * y + rng.random((60, 5)) * 0.7, 0, 1), 2)  # ties included
    t = tune_labelwise_thresholds(y, s, criterion=criterion)
    metric = {"accuracy": accuracy_score, "balanced_accuracy": balanced_accuracy_score,
              "f1": lambda a, b: f1_score(a, b, zero_division=0.0)}[criterion]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(5):
            # "score > c" for c in {below all} + unique scores: every possible split
            every_split = np.concatenate([[-1.0], np.unique(s[:, j])])
            best = max(metric(y[:, j], (s[:, j] > c).astype(int)) for c in every_split)
            assert metric(y[:, j], (s[:, j] > t[j]).astype(int)) == pytest.approx(best)


def test_labelwise_tie_breaking_and_grid() -> None:
    # two optimal cuts (0.15 and 0.85) equally far from 0.5: the lower wins
    assert tune_labelwise_thresholds([[0], [1], [0], [1]],
                                     [[0.1], [0.2], [0.8], [0.9]]) == pytest.approx([0.15])
    # 0.5 already optimal: it is kept rather than moved to the midpoint 0.45
    assert tune_labelwise_thresholds([[0], [0], [1], [1]],
                                     [[0.1], [0.2], [0.7], [0.9]]).tolist() == [0.5]
    # a moved threshold lies mid-gap between two scores
    assert tune_labelwise_thresholds([[0], [0], [0], [1]],
                                     [[0.1], [0.6], [0.7], [0.9]]).tolist() == [0.8]
    grid_t = tune_labelwise_thresholds([[0], [0], [0], [1]], [[0.1], [0.6], [0.7], [0.9]],
                                       grid=[0.3, 0.65, 0.75])
    assert grid_t.tolist() == [0.75]
    # NaN labels are left out; an all-NaN attribute keeps 0.5
    y = np.array([[0, np.nan], [np.nan, np.nan], [1, np.nan], [1, np.nan]])
    s = np.array([[0.1, 0.3], [0.95, 0.2], [0.3, 0.1], [0.4, 0.9]])
    assert tune_labelwise_thresholds(y, s).tolist() == [0.2, 0.5]
    with pytest.raises(ValueError):
        tune_labelwise_thresholds(y, s, criterion="recall")
    with pytest.raises(ValueError):
        tune_labelwise_thresholds(y, s, grid=[])


def test_tuning_sees_only_the_split_it_is_given(predictor) -> None:
    y_val, s_val = predictor["y_val"], predictor["s_val"]
    y_test, s_test = predictor["y_test"], predictor["s_test"]
    inputs = (y_val.copy(), s_val.copy())
    t_val = tune_labelwise_thresholds(y_val, s_val)
    assert np.array_equal(y_val, inputs[0]) and np.array_equal(s_val, inputs[1])
    perm = np.random.default_rng(0).permutation(len(y_val))
    assert np.array_equal(tune_labelwise_thresholds(y_val[perm], s_val[perm]), t_val)
    # the result depends on exactly the rows passed: test rows or val + test give other values
    t_test = tune_labelwise_thresholds(y_test, s_test)
    t_both = tune_labelwise_thresholds(np.vstack([y_val, y_test]), np.vstack([s_val, s_test]))
    assert not np.array_equal(t_test, t_val) and not np.array_equal(t_both, t_val)
    # reporting never re-tunes: the thresholds come back as given
    m = attribute_metrics(y_test, s_test, thresholds=t_val)
    assert [v["threshold"] for v in m["per_attribute"].values()] == t_val.tolist()
    assert "y_val" not in inspect.signature(attribute_metrics).parameters
    # tuning on the reported split is optimistic: per attribute it beats val-tuned thresholds
    m_oracle = attribute_metrics(y_test, s_test, thresholds=t_test)
    for name in m["per_attribute"]:
        assert m_oracle["per_attribute"][name]["accuracy"] >= m["per_attribute"][name]["accuracy"]
    assert m_oracle["mean_accuracy"] > m["mean_accuracy"]


# ----------------------------------------------------------------------------- instance-wise

def test_instancewise_max_fraction() -> None:
    s = np.array([[0.8, 0.5, 0.3], [0.4, 0.1, 0.2], [0.05, 0.01, 0.02]])
    t = instancewise_thresholds(s, fraction=0.5)
    assert t.shape == (3, 1) and t.ravel().tolist() == [0.4, 0.2, 0.025]
    assert apply_thresholds(s, t).tolist() == [[1, 1, 0], [1, 0, 0], [1, 0, 0]]
    assert instancewise_thresholds(s, method="max_fraction", fraction=1.0).ravel()[0] == 0.8
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError):
            instancewise_thresholds(s, fraction=bad)
    with pytest.raises(ValueError, match="fit_instancewise"):
        instancewise_thresholds(s, method="regression")


def test_instancewise_regression_recovers_a_moving_threshold() -> None:
    rng = np.random.default_rng(5)
    base = np.array([0.9, 0.55, 0.45, 0.1])  # labels 1, 1, 0, 0 in every image

    def images(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        shift = rng.uniform(-0.3, 0.3, (n, 1))  # per-image calibration offset
        return np.tile([1.0, 1.0, 0.0, 0.0], (n, 1)), base + shift, shift

    y_val, s_val, shift_val = images(200)
    # a missing label does not count: were this positive read as 0, the cut at 0.725 + shift
    # would be the only error-free one for these images
    y_val[np.flatnonzero(shift_val[:, 0] >= 0)[:30], 1] = np.nan
    model = fit_instancewise(y_val, s_val, method="regression", alpha=1e-9)
    y_new, s_new, shift = images(200)
    t = instancewise_thresholds(s_new, model=model)
    assert np.allclose(t, 0.5 + shift, atol=1e-6)  # the midpoint of each image's gap
    assert np.array_equal(apply_thresholds(s_new, t), y_new)
    assert not np.array_equal(apply_thresholds(s_new, 0.5), y_new)
    again = InstancewiseModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert np.array_equal(instancewise_thresholds(s_new, model=again), t)


def test_instancewise_cardinality_is_top_k() -> None:
    rng = np.random.default_rng(9)
    a = 5
    s = rng.random((100, a))
    for k in range(a + 3):
        t = instancewise_thresholds(s, model=InstancewiseModel("cardinality", np.zeros(a), k))
        pred = apply_thresholds(s, t)
        top = np.argsort(-s, axis=1)[:, :min(k, a)]
        expect = np.zeros_like(pred)
        np.put_along_axis(expect, top, 1, axis=1)
        assert np.array_equal(pred, expect), k

    def images(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = (rng.random((n, a)) < rng.random((n, 1))).astype(float)
        return y, np.where(y > 0, 0.8, 0.2) + rng.uniform(-0.02, 0.02, (n, a))

    y_val, s_val = images(300)
    y_val[0, 0] = np.nan  # images with a missing label are left out of the count fit
    model = fit_instancewise(y_val, s_val, method="cardinality", alpha=1e-9)
    y_new, s_new = images(300)
    assert np.array_equal(apply_thresholds(s_new, instancewise_thresholds(s_new, model=model)),
                          y_new)
    with pytest.raises(ValueError, match="needs model"):
        instancewise_thresholds(s_new, method="regression", model=model)


def test_instancewise_on_real_predictor(predictor) -> None:
    y_val, s_val = predictor["y_val"], predictor["s_val"]
    y, s = predictor["y_test"], predictor["s_test"]
    majority = np.maximum(y.mean(0), 1 - y.mean(0)).mean()
    for method in ("regression", "cardinality"):
        model = fit_instancewise(y_val, s_val, method=method)
        assert model.method == method and model.coef.shape == (40,)
        t = instancewise_thresholds(s, model=model)
        assert t.shape == (len(y), 1) and np.isfinite(t).all()
        m = attribute_metrics(y, s, thresholds=t)
        pred = apply_thresholds(s, t)
        assert m["hamming_accuracy"] == pytest.approx(1 - hamming_loss(y.astype(int), pred))
        assert m["hamming_accuracy"] > majority
        assert all(v["threshold"] is None for v in m["per_attribute"].values())


# ----------------------------------------------------------------------------- gender

def test_binary_metrics_match_sklearn_on_real_gender(predictor) -> None:
    j = predictor["names"].index("Male")
    y, s = predictor["y_test"][:, j], predictor["s_test"][:, j]
    m = binary_metrics(y, s)
    assert list(m) == ["accuracy", "precision", "recall", "f1", "roc_auc", "confusion_matrix",
                       "support"]
    pred = (s > 0.5).astype(int)
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0.0)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred), abs=1e-12)
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((p, r, f), abs=1e-12)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert m["confusion_matrix"] == confusion_matrix(y, pred).tolist()
    (tn, fp), (fn, tp) = m["confusion_matrix"]
    assert m["support"] == tp + fn == int(y.sum()) and tn + fp + fn + tp == len(y)
    assert all(type(v) is int for row in m["confusion_matrix"] for v in row)
    assert m["recall"] == pytest.approx(tp / (tp + fn)) and 0.85 < m["accuracy"] < 0.99
    # same numbers as the Male entry of the multi-label report
    a = attribute_metrics(predictor["y_test"], predictor["s_test"],
                          names=predictor["names"])["per_attribute"]["Male"]
    assert all(a[k] == m[k] for k in ("accuracy", "precision", "recall", "f1", "roc_auc"))


def test_binary_metrics_noise_missing_and_edge_cases() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(400) < 0.45).astype(float)
    s = np.clip(0.25 * y + rng.random(400) * 0.75, 0, 1)
    y[rng.random(400) < 0.1] = np.nan
    m = binary_metrics(y, s, threshold=0.6)
    seen = ~np.isnan(y)
    t, p = y[seen].astype(int), (s[seen] > 0.6).astype(int)
    assert m["accuracy"] == pytest.approx(accuracy_score(t, p))
    assert m["f1"] == pytest.approx(f1_score(t, p))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(t, s[seen]))
    assert m["confusion_matrix"] == confusion_matrix(t, p).tolist()
    assert sum(map(sum, m["confusion_matrix"])) == seen.sum() < 400
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        never = binary_metrics([1, 0, 1], [0.2, 0.1, 0.5])  # 0.5 is not > 0.5: female
        one_class = binary_metrics([1, 1], [0.9, 0.2])
    assert (never["precision"], never["recall"], never["f1"]) == (0.0, 0.0, 0.0)
    assert never["confusion_matrix"] == [[1, 0], [2, 0]]
    assert math.isnan(one_class["roc_auc"]) and one_class["confusion_matrix"] == [[0, 0], [1, 1]]
    with pytest.raises(ValueError):
        binary_metrics([np.nan, np.nan], [0.1, 0.2])
    with pytest.raises(ValueError):
        binary_metrics([[1, 0]], [[0.1, 0.2]])


# ----------------------------------------------------------------------------- landmarks

def _hand_images() -> tuple[np.ndarray, np.ndarray]:
    a = [(30, 40), (72, 40), (51, 60), (35, 80), (67, 80)]  # eyes 42 px apart
    b = [(20, 20), (50, 60), (40, 70), (30, 90), (60, 95)]  # eyes 50 px apart (3-4-5)
    e = [(10, 10), (30, 10), (20, 20), (12, 30), (28, 30)]  # eyes 20 px apart
    truth = np.array([a, b, a, [*a[:2], (np.nan, np.nan), *a[3:]], e], dtype=float)
    pred = truth.copy()
    pred[0] += (2, 0)  # every point 2 px off
    pred[1, 0] += (1, 1)  # only the left eye, sqrt(2) px off
    pred[2] += (6, 8)  # every point 10 px off
    pred[3] = 0.0  # no ground truth (NaN nose): skipped
    pred[4] += (0, 2)  # every point 2 px off: NME exactly 0.10
    return truth, pred


def _hand_area(errors: list[float], max_error: float, steps: int) -> float:
    xs = [max_error * k / (steps - 1) for k in range(steps)]
    ys = [sum(e <= x for e in errors) / len(errors) for x in xs]
    return sum((xs[k + 1] - xs[k]) * (ys[k] + ys[k + 1]) / 2 for k in range(steps - 1)) / max_error


def test_landmark_metrics_by_hand() -> None:
    truth, pred = _hand_images()
    nme_a, nme_b, nme_c, nme_e = 2 / 42, math.sqrt(2) / 50 / 5, 10 / 42, 2 / 20
    nme = nme_per_image(truth, pred)
    assert nme[[0, 1, 2, 4]] == pytest.approx([nme_a, nme_b, nme_c, nme_e], rel=1e-12)
    assert math.isnan(nme[3])
    assert np.array_equal(nme, nme_per_image(truth, pred, normalization="inter_pupil"),
                          equal_nan=True)
    # tight boxes: A/C 42 x 40 (diagonal 58), B 40 x 75 (diagonal 85), E 20 x 20
    bbox = nme_per_image(truth, pred, normalization="bbox")
    diag = nme_per_image(truth, pred, normalization="diagonal")
    px = [2, math.sqrt(2) / 5, 10, 2]  # mean pixel error per image
    assert bbox[[0, 1, 2, 4]] == pytest.approx(
        [px[0] / math.sqrt(42 * 40), px[1] / math.sqrt(40 * 75), px[2] / math.sqrt(42 * 40),
         px[3] / 20], rel=1e-12)
    assert diag[[0, 1, 2, 4]] == pytest.approx(
        [px[0] / 58, px[1] / 85, px[2] / 58, px[3] / math.sqrt(800)], rel=1e-12)
    boxes = np.array([[0, 0, 100, 100]] * 5, dtype=float)
    boxes[1] = np.nan
    boxed = nme_per_image(truth, pred, normalization="bbox", boxes=boxes)
    assert np.isnan(boxed[[1, 3]]).all()
    assert boxed[[0, 2, 4]] == pytest.approx([0.02, 0.1, 0.02], rel=1e-12)

    m = landmark_metrics(truth, pred)
    errors = [nme_a, nme_b, nme_c, nme_e]
    mean = sum(errors) / 4
    assert m["images"] == 4 and m["normalization"] == "inter_ocular"
    assert m["nme_mean"] == pytest.approx(mean, rel=1e-12)
    assert m["nme_std"] == pytest.approx(
        math.sqrt(sum((e - mean) ** 2 for e in errors) / 4), rel=1e-12)
    others = (2 / 42 + 0 + 10 / 42 + 0.1) / 4
    assert m["nme_per_point"] == pytest.approx(
        [(2 / 42 + math.sqrt(2) / 50 + 10 / 42 + 0.1) / 4] + [others] * 4, rel=1e-12)
    assert m["fr_10"] == 0.25  # image C only; E sits exactly on 0.10, which is no failure
    assert m["ced_auc"] == pytest.approx(_hand_area(errors, 0.10, 1001), abs=1e-12)
    assert m["operating_curve_auc"] == pytest.approx(_hand_area(errors, 1.0, 101), abs=1e-12)
    # the continuous areas, within the documented 1 / (2 (steps - 1))
    assert m["ced_auc"] == pytest.approx((1 - nme_a / 0.1 + 1 - nme_b / 0.1) / 4, abs=5e-4)
    assert m["operating_curve_auc"] == pytest.approx(1 - mean, abs=5e-3)
    strict = landmark_metrics(truth, pred, failure_threshold=0.05)
    assert strict["fr_10"] == 0.5 and strict["failure_threshold"] == 0.05


def test_ced_curve_by_hand() -> None:
    errors = [0.0, 0.03, 0.05, 0.2, np.nan]
    x, y = ced_curve(errors, max_error=0.1, steps=5)
    assert x.tolist() == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1])
    assert y.tolist() == [0.25, 0.25, 0.75, 0.75, 0.75]
    area = 0.025 * ((0.25 + 0.25) / 2 + (0.25 + 0.75) / 2 + (0.75 + 0.75) / 2 * 2)
    assert ced_auc(errors, max_error=0.1, steps=5) == pytest.approx(area / 0.1)
    x, y = ced_curve([0.5, 2.0], max_error=1.0, steps=101)  # the operating curve
    assert len(x) == 101 and y[49] == 0.0 and y[50] == 0.5 and y[100] == 0.5
    assert ced_auc([0.0, 0.0]) == 1.0 and ced_auc([0.11, 0.3]) == 0.0
    assert ced_auc([0.1]) == pytest.approx(1 / 2000)  # counted at the last point only
    for bad in ([np.nan], [], [-0.1]):
        with pytest.raises(ValueError):
            ced_curve(bad)


def test_landmark_metrics_on_real_celeba_shift(celeba_index) -> None:
    truth = celeba_index.landmarks[celeba_index.select("test")].astype(np.float64)
    assert truth.shape == (2265, 5, 2)
    has = ~np.isnan(truth).any(axis=(1, 2))
    pred = np.where(np.isnan(truth), 0.0, truth + np.array([2.0, 0.0]))
    d = np.hypot(*(truth[:, 0] - truth[:, 1]).T)
    nme = nme_per_image(truth, pred)
    assert np.allclose(nme[has], 2 / d[has], rtol=1e-12, atol=0)
    assert np.isnan(nme[~has]).all()
    m = landmark_metrics(truth, pred)
    expected = 2 / d[has]
    assert m["images"] == has.sum() > 1000
    assert m["nme_mean"] == pytest.approx(expected.mean(), rel=1e-12)
    assert m["nme_std"] == pytest.approx(expected.std(), rel=1e-9)
    assert m["nme_per_point"] == pytest.approx([expected.mean()] * 5, rel=1e-12)
    assert m["fr_10"] == pytest.approx(np.mean(expected > 0.1))
    assert 0 < m["fr_10"] < 0.5  # eyes under 20 px apart fail a 2 px shift
    assert m["ced_auc"] == pytest.approx(np.maximum(0, 1 - expected / 0.1).mean(), abs=5e-4)
    assert m["operating_curve_auc"] == pytest.approx(1 - expected.mean(), abs=5e-3)
    # the same shift in y, and the shift moves nothing when applied to both
    down = np.where(np.isnan(truth), 0.0, truth + np.array([0.0, 2.0]))
    assert np.allclose(nme_per_image(truth, down)[has], expected, rtol=1e-12)
    clean = np.where(np.isnan(truth), 0.0, truth)
    assert landmark_metrics(truth, clean)["nme_mean"] == 0.0


def test_landmark_input_errors() -> None:
    truth, pred = _hand_images()
    with pytest.raises(ValueError, match="finite"):
        nme_per_image(truth, np.where(np.isnan(truth), np.nan, pred))
    with pytest.raises(ValueError, match=r"\(N, 5, 2\)"):
        nme_per_image(truth[:, :4], pred[:, :4])
    with pytest.raises(ValueError, match="normalization"):
        nme_per_image(truth, pred, normalization="face")
    with pytest.raises(ValueError, match="boxes"):
        nme_per_image(truth, pred, normalization="bbox", boxes=np.ones((2, 4)))
    coincident = truth[:1].copy()
    coincident[0, 1] = coincident[0, 0]
    with pytest.raises(ValueError, match="zero"):
        nme_per_image(coincident, pred[:1])
    with pytest.raises(ValueError, match="ground-truth"):
        landmark_metrics(truth[3:4], pred[3:4])


# ----------------------------------------------------------------------------- API

def test_public_api_and_doctests() -> None:
    for name in fm.__all__:
        assert getattr(fm, name) is not None
    for func in (attribute_metrics, binary_metrics, tune_labelwise_thresholds,
                 instancewise_thresholds, fit_instancewise, nme_per_image, landmark_metrics,
                 ced_curve, ced_auc):
        params = list(inspect.signature(func).parameters.values())
        first_kw = next(i for i, p in enumerate(params) if p.kind is p.KEYWORD_ONLY)
        assert all(p.kind is p.KEYWORD_ONLY for p in params[first_kw:]), func.__name__
        doc = inspect.getdoc(func) or ""
        assert all(section in doc for section in ("Parameters", "Returns", "Examples"))
    for module in (attributes_mod, binary_mod, landmarks_mod, thresholds_mod):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, module.__name__
