"""``faceattr evaluate`` on a tiny model trained on real CelebA images, checked against sklearn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from faceattr.cli.main import main
from faceattr.data import transforms as T
from faceattr.evaluation import EvaluationError, evaluate
from faceattr.inference.checkpoint import load_model
from faceattr.metrics import tune_labelwise_thresholds
from faceattr.training.config import load_config
from faceattr.training.data import DatasetFactory
from faceattr.training.engine import fit

TINY = Path(__file__).parent / "configs" / "tiny.yaml"
FIGURES = ("attribute_accuracy.png", "accuracy_vs_positives.png", "gender_roc.png",
           "gender_confusion.png", "landmark_curves.png", "learning_curves.png", "examples.png")
HEADLINE = ("mean_accuracy", "exact_match", "hamming_accuracy", "precision_weighted",
            "recall_weighted", "f1_weighted", "f1_macro", "mean_balanced_accuracy")


@pytest.fixture(scope="module")
def run_dir(celeba_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-head MobileNetV2 trained for 2 epochs on 64 CelebA train images at 64 px."""
    tmp = tmp_path_factory.mktemp("evaluate")
    config = load_config(TINY, [
        "train.epochs=2", f"data.cache_dir={tmp / 'cache'}",
        "model.heads={attributes: {}, gender: {}, landmarks: {}}",
        "loss={attributes: {pos_weight: false}, gender: {}, landmarks: {kind: l1}}",
        "data.train=[{dataset: celeba, root: celeba, split: train, require_landmarks: true,"
        " subset: {kind: random, n: 64, seed: 0}}]",
        "data.val=[{dataset: celeba, root: celeba, split: val, subset: {kind: random, n: 48}}]",
    ])
    fit(config, data_root=celeba_root.parent, out_dir=tmp / "run")
    return tmp / "run"


@pytest.fixture(scope="module")
def celeba_eval(run_dir: Path, celeba_root: Path) -> tuple[int, Path]:
    """The CLI on 64 CelebA test images (fixed thresholds, every figure)."""
    out = run_dir.parent / "eval_celeba"
    code = main(["evaluate", str(run_dir), "--data-root", str(celeba_root.parent),
                 "--out", str(out), "--limit", "64"])
    return code, out


def _metrics(out: Path) -> dict[str, Any]:
    return json.loads((out / "metrics.json").read_text())


def _fractions(block: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        assert block[key] is None or 0.0 <= block[key] <= 1.0, (key, block[key])


def _nme(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    ok = np.isfinite(truth).all(axis=(1, 2))
    d = np.sqrt(((truth[ok, 0] - truth[ok, 1]) ** 2).sum(axis=1))
    return np.sqrt(((pred[ok] - truth[ok]) ** 2).sum(axis=2)).mean(axis=1) / d


def test_cli_writes_metrics_report_and_figures(celeba_eval: tuple[int, Path]) -> None:
    code, out = celeba_eval
    assert code == 0
    for name in ("metrics.json", "predictions.npz", "report.md", "report.html", *FIGURES):
        assert (out / name).stat().st_size > 0, name
    report = (out / "report.md").read_text()
    assert "88.63" in report and "0.9984" in report and "6.2618" in report  # published
    assert "label-wise mean" in report and "original image pixels" in report
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(FIGURES) and "<table>" in page


def test_metrics_layout_and_ranges(celeba_eval: tuple[int, Path]) -> None:
    m = _metrics(celeba_eval[1])
    for key in ("dataset", "split", "images", "backbone", "pretrained", "params",
                "checkpoint", "thresholds", "machine", "seconds"):
        assert key in m, key
    assert (m["dataset"], m["split"], m["images"], m["backbone"]) == ("celeba", "test", 64,
                                                                      "mobilenet_v2")
    assert m["pretrained"] is True and m["thresholds"] == "global_0.5"
    a = m["attributes"]
    _fractions(a, HEADLINE)
    assert len(a["per_attribute"]) == 40
    for row in a["per_attribute"].values():
        assert set(row) == {"accuracy", "precision", "recall", "f1", "roc_auc", "support",
                            "threshold"}
        _fractions(row, ("accuracy", "precision", "recall", "f1", "roc_auc"))
        assert row["threshold"] == 0.5
    assert a["instancewise"]["available"] is False
    assert a["accuracy_vs_positives"]["positives_counted_in"] == "training set of the model"
    g = m["gender"]
    assert g["source"] == "gender_head" and np.sum(g["confusion_matrix"]) == 64
    _fractions(g, ("accuracy", "precision", "recall", "f1", "roc_auc"))
    lm = m["landmarks"]
    for key in ("nme_mean", "nme_std", "nme_per_point", "fr_10", "ced_auc",
                "operating_curve_auc", "normalization"):
        assert key in lm, key
    _fractions(lm, ("fr_10", "ced_auc", "operating_curve_auc"))
    assert lm["normalization"] == "inter_ocular" and lm["images"] == 64


def test_metrics_equal_sklearn_on_saved_predictions(celeba_eval: tuple[int, Path],
                                                    celeba_index: Any) -> None:
    m, saved = _metrics(celeba_eval[1]), np.load(celeba_eval[1] / "predictions.npz")
    files = list(saved["files"])
    rows = [celeba_index.files.index(f) for f in files]
    assert (celeba_index.partition[rows] == 2).all()  # official test partition
    np.testing.assert_array_equal(saved["y_true"], celeba_index.attrs[rows])
    y, score = saved["y_true"].astype(int), saved["y_score"]
    pred = (score > 0.5).astype(int)
    a = m["attributes"]
    per_label = [accuracy_score(y[:, j], pred[:, j]) for j in range(y.shape[1])]
    assert a["mean_accuracy"] == pytest.approx(np.mean(per_label))
    assert a["exact_match"] == pytest.approx(accuracy_score(y, pred))
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="weighted", zero_division=0)
    assert (a["precision_weighted"], a["recall_weighted"], a["f1_weighted"]) == \
        pytest.approx((p, r, f))
    assert a["f1_macro"] == pytest.approx(precision_recall_fscore_support(
        y, pred, average="macro", zero_division=0)[2])
    for j, name in enumerate(saved["attr_names"]):
        if 0 < y[:, j].sum() < len(y):
            assert a["per_attribute"][name]["roc_auc"] == pytest.approx(
                roc_auc_score(y[:, j], score[:, j]))
    g, gy, gs = m["gender"], saved["gender_true"].astype(int), saved["gender_score"]
    gp = (gs > 0.5).astype(int)
    p, r, f, _ = precision_recall_fscore_support(gy, gp, average="binary", zero_division=0)
    assert (g["accuracy"], g["precision"], g["recall"], g["f1"], g["roc_auc"]) == \
        pytest.approx((accuracy_score(gy, gp), p, r, f, roc_auc_score(gy, gs)))
    assert g["confusion_matrix"] == confusion_matrix(gy, gp).tolist()


def test_saved_scores_are_the_models_outputs(celeba_eval: tuple[int, Path], run_dir: Path,
                                             celeba_root: Path) -> None:
    """Rows of predictions.npz belong to their files: recompute 6 with the plain pipeline."""
    saved = np.load(celeba_eval[1] / "predictions.npz")
    model, meta = load_model(run_dir)
    prep = T.build(64, 72, mean=meta["mean"], std=meta["std"])
    from faceattr.data.images import load_rgb

    images = torch.stack([prep({"image": load_rgb(celeba_root / "img_align_celeba" / f)})
                          ["image"] for f in saved["files"][:6]])
    with torch.no_grad():
        out = model(images)
    np.testing.assert_allclose(torch.sigmoid(out["attributes"]).numpy(), saved["y_score"][:6],
                               atol=1e-4)
    np.testing.assert_allclose(torch.sigmoid(out["gender"]).numpy(), saved["gender_score"][:6],
                               atol=1e-4)
    np.testing.assert_allclose(out["landmarks"].numpy() * 64, saved["landmarks_pred"][:6],
                               atol=1e-3)  # normalised (x / W, y / H) -> input pixels


def test_nme_by_hand_in_input_and_original_pixels(celeba_eval: tuple[int, Path],
                                                  celeba_index: Any) -> None:
    lm, saved = _metrics(celeba_eval[1])["landmarks"], np.load(celeba_eval[1] / "predictions.npz")
    truth, pred, matrix = saved["landmarks_true"], saved["landmarks_pred"], saved["matrix"]
    nme = _nme(truth, pred)
    assert lm["nme_mean"] == pytest.approx(nme.mean()) and lm["nme_std"] == pytest.approx(
        nme.std())
    assert lm["fr_10"] == pytest.approx((nme > 0.1).mean())
    # the annotations mapped back through the saved matrices are CelebA's original points
    inverse = np.linalg.inv(np.concatenate([matrix, np.tile([[[0, 0, 1]]], (len(matrix), 1, 1))],
                                           axis=1))
    def back(p: np.ndarray) -> np.ndarray:
        return np.einsum("nij,nkj->nki", inverse[:, :2, :2], p) + inverse[:, None, :2, 2]

    rows = [celeba_index.files.index(f) for f in saved["files"]]
    np.testing.assert_allclose(back(truth), celeba_index.landmarks[rows], atol=1e-3)
    original = _nme(back(truth), back(pred))
    assert lm["nme_mean_original_pixels"] == pytest.approx(original.mean(), rel=1e-5)
    assert lm["nme_mean_original_pixels"] == pytest.approx(lm["nme_mean"], rel=5e-3)


def test_mtfl_test_split(run_dir: Path, mtfl_root: Path, tmp_path: Path) -> None:
    m = evaluate(run_dir, data_root=mtfl_root.parent, out_dir=tmp_path, dataset="mtfl",
                 limit=40, plots=False)
    saved = np.load(tmp_path / "predictions.npz")
    assert (m["dataset"], m["split"], m["images"]) == ("mtfl", "test", 40)
    assert not any(f.startswith("lfw_5590") for f in saved["files"])  # testing.txt is AFLW
    a = m["attributes"]
    assert sorted(a["per_attribute"]) == ["Eyeglasses", "Male", "Smiling"]
    assert len(a["attributes_unlabelled"]) == 37
    y, s = saved["y_true"], saved["y_score"]
    cols = [list(saved["attr_names"]).index(n) for n in ("Eyeglasses", "Male", "Smiling")]
    per = [accuracy_score(y[:, j], s[:, j] > 0.5) for j in cols]
    assert a["mean_accuracy"] == pytest.approx(np.mean(per))
    gy, gs = saved["gender_true"], saved["gender_score"]
    assert m["gender"]["accuracy"] == pytest.approx(accuracy_score(gy, gs > 0.5))
    nme = _nme(saved["landmarks_true"], saved["landmarks_pred"])
    assert m["landmarks"]["nme_mean"] == pytest.approx(nme.mean())
    assert m["landmarks"]["images"] == 40


def test_attribute_only_model_reports_gender_from_male(run_dir: Path, celeba_root: Path,
                                                       tmp_path: Path) -> None:
    """Drop the gender and landmark heads: gender then comes from the ``Male`` output."""
    ckpt = torch.load(run_dir / "best.pt", weights_only=False)
    ckpt["model"] = {k: v for k, v in ckpt["model"].items()
                     if not k.startswith(("heads.gender", "heads.landmarks"))}
    ckpt["meta"]["model"]["heads"] = {"attributes": ckpt["meta"]["model"]["heads"]["attributes"]}
    ckpt["meta"]["tasks"] = ["attributes"]
    torch.save(ckpt, tmp_path / "attrs.pt")
    m = evaluate(tmp_path / "attrs.pt", data_root=celeba_root.parent, out_dir=tmp_path / "out",
                 limit=32, plots=False)
    assert "landmarks" not in m and m["tasks"] == ["attributes"]
    assert m["gender"]["source"] == "attributes.Male"
    assert m["gender"]["accuracy"] == m["attributes"]["per_attribute"]["Male"]["accuracy"]
    assert m["gender"]["recall"] == m["attributes"]["per_attribute"]["Male"]["recall"]


def test_tuned_thresholds_fit_on_val(run_dir: Path, celeba_root: Path, tmp_path: Path) -> None:
    (run_dir / "thresholds.json").unlink(missing_ok=True)
    m = evaluate(run_dir, data_root=celeba_root.parent, out_dir=tmp_path, thresholds="tuned",
                 criterion="f1", limit=48, val_limit=40, plots=False)
    saved = json.loads((tmp_path / "thresholds.json").read_text())
    assert json.loads((run_dir / "thresholds.json").read_text()) == saved
    assert saved["fitted_on"]["split"] == "val" and saved["criterion"] == "f1"
    assert m["thresholds"] == "labelwise_tuned" and m["thresholds_fitted_on"]["images"] == 40
    # independent val predictions: the plain transform pipeline on the same 40 val images
    model, meta = load_model(run_dir)
    val = DatasetFactory(celeba_root.parent).build(
        {"dataset": "celeba", "root": "celeba", "split": "val",
         "subset": {"kind": "random", "n": 40, "seed": 0}}, meta["attr_names"],
        T.build(64, 72, mean=meta["mean"], std=meta["std"]))
    samples = [val[i] for i in range(len(val))]
    with torch.no_grad():
        logits = model(torch.stack([s["image"] for s in samples]))["attributes"]
    expected = tune_labelwise_thresholds(np.stack([s["attrs"] for s in samples]),
                                         torch.sigmoid(logits).double().numpy(), criterion="f1")
    got = np.array([saved["thresholds"][n] for n in meta["attr_names"]])
    np.testing.assert_allclose(got, expected, atol=1e-4)
    a = m["attributes"]
    assert [a["per_attribute"][n]["threshold"] for n in meta["attr_names"]] == \
        pytest.approx(got)
    test = np.load(tmp_path / "predictions.npz")
    assert not set(test["files"]) & {s["file"] for s in samples}
    y, pred = test["y_true"].astype(int), (test["y_score"] > got).astype(int)
    assert a["mean_accuracy"] == pytest.approx(np.mean(
        [accuracy_score(y[:, j], pred[:, j]) for j in range(40)]))
    assert a["instancewise"]["available"] is True and "global_0.5" in a
    _fractions(a["instancewise"], HEADLINE)


def test_refuses_to_tune_on_the_reported_split(run_dir: Path, celeba_root: Path,
                                               tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    base = ["evaluate", str(run_dir), "--data-root", str(celeba_root.parent), "--out",
            str(tmp_path), "--thresholds", "tuned"]
    assert main([*base, "--split", "val"]) == 2
    assert "refusing to tune thresholds on the split being reported" in capsys.readouterr().err
    assert main([*base, "--dataset", "mtfl"]) == 2
    assert "MTFL has no validation split" in capsys.readouterr().err
    assert not (tmp_path / "metrics.json").exists()


def test_data_root_with_only_a_test_partition(run_dir: Path, celeba_root: Path,
                                              celeba_index: Any, tmp_path: Path) -> None:
    root = tmp_path / "data" / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    for name in ("list_attr_celeba.txt", "list_eval_partition.txt",
                 "list_landmarks_align_celeba.txt", "identity_CelebA.txt"):
        (root / name).symlink_to(celeba_root / name)
    for row in celeba_index.select("test")[:40]:
        name = celeba_index.files[row]
        (root / "img_align_celeba" / name).symlink_to(celeba_root / "img_align_celeba" / name)
    m = evaluate(run_dir, data_root=root.parent, out_dir=tmp_path / "fixed", plots=False)
    assert m["images"] == 40 and (tmp_path / "fixed" / "report.md").is_file()
    assert m["attributes"]["accuracy_vs_positives"]["positives_counted_in"] == \
        "evaluated split (support)"  # no train images here
    with pytest.raises(EvaluationError, match=r"fits on the validation split.*no images"):
        evaluate(run_dir, data_root=root.parent, out_dir=tmp_path / "tuned",
                 thresholds="tuned", plots=False)


def test_missing_run_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tmp_path / "nope"), "--data-root", str(tmp_path),
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("faceattr evaluate: error:") and "no such checkpoint" in err
