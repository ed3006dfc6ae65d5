"""ONNX export: outputs within 1e-4 of PyTorch on real images; int8 runs and stays close."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from faceattr.cli.main import main
from faceattr.inference import load_model
from faceattr.inference.export import celeba_images, export_onnx, run_onnx, session
from faceattr.training import fit, load_config

TINY = Path(__file__).parent / "configs" / "tiny.yaml"


@pytest.fixture(scope="module")
def run_dir(celeba_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    config = load_config(TINY, ["train.epochs=1", f"data.cache_dir={out / 'cache'}",
                                "model.heads={attributes: {}, gender: {}, landmarks: {}}",
                                "loss={attributes: {pos_weight: true}, gender: {},"
                                " landmarks: {}}"])
    fit(config, data_root=celeba_root.parent, out_dir=out / "run")
    return out / "run"


def test_onnx_matches_pytorch_on_real_images(run_dir: Path, celeba_root: Path,
                                             tmp_path: Path) -> None:
    model, meta = load_model(run_dir)
    path = export_onnx(model, meta, tmp_path / "m.onnx")
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["outputs"] == ["attributes", "gender", "landmarks"]
    assert config["input_size"] == [64, 64] and len(config["attr_names"]) == 40
    images, _ = celeba_images(celeba_root.parent, "test", meta, limit=40)
    onnx_out = run_onnx(session(path), images, batch_size=7)  # odd batch: dynamic axis works
    with torch.no_grad():
        ref = model(torch.from_numpy(images))
    np.testing.assert_allclose(onnx_out["attributes"], torch.sigmoid(ref["attributes"]),
                               atol=1e-4)
    np.testing.assert_allclose(onnx_out["gender"], torch.sigmoid(ref["gender"]), atol=1e-4)
    np.testing.assert_allclose(onnx_out["landmarks"], ref["landmarks"], atol=1e-4)
    assert not model.training  # export leaves the model in eval mode


def test_export_cli_int8(run_dir: Path, celeba_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.int8.onnx"
    assert main(["export", str(run_dir), "--int8", "--out", str(out), "--data-root",
                 str(celeba_root.parent), "--calib-images", "32", "--check-images", "64"]) == 0
    config = json.loads((tmp_path / "config.json").read_text())
    check = config["int8_check"]
    assert check["images"] == 64 and check["max_abs_diff_fp32"] < 1e-4
    assert abs(check["onnx_int8"] - check["pytorch_fp32"]) < 0.05
    assert out.stat().st_size < 0.5 * (tmp_path / "m.int8.fp32.onnx").stat().st_size


def test_export_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "nope"), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "no such checkpoint or run folder" in capsys.readouterr().err


def test_benchmark_cli_writes_figures(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert main(["benchmark", "--backbones", "mobilenet_v2", "--heads", "single,multiple",
                 "--size", "64", "--runs", "3", "--batch", "2", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r["heads"] for r in report["results"]] == ["single", "multiple"]
    row = report["results"][0]
    assert row["params"] == 2_275_112 and row["mflops"] > 0
    for runtime in ("pytorch", "onnx_fp32", "onnx_int8"):
        assert 0 < row[runtime]["p50_ms"] <= row[runtime]["p95_ms"]
        assert row[runtime]["images_per_s"] > 0
