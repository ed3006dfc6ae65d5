"""The training engine on real CelebA/MTFL images: learning, resume, DDP, configs."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from faceattr.data import transforms as T
from faceattr.data.celeba import CelebA
from faceattr.losses import build_loss, positive_weights
from faceattr.models import build_model, list_backbones
from faceattr.training.config import ConfigError, apply_overrides, load_config
from faceattr.training.engine import fit

TINY = Path(__file__).parent / "configs" / "tiny.yaml"
CLI = [sys.executable, "-m", "faceattr.cli.main"]


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "log.csv").open() as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def real_batch(celeba_root: Path, celeba_index) -> dict[str, torch.Tensor]:
    dataset = CelebA(celeba_root, "val", T.build(64, 72), index=celeba_index)
    samples = [dataset[i] for i in range(8)]
    return {"image": torch.stack([s["image"] for s in samples]),
            "attrs": torch.stack([torch.from_numpy(s["attrs"]) for s in samples]),
            "landmarks": torch.stack([s["landmarks"] for s in samples]) / 64.0}


@pytest.mark.parametrize("backbone", list_backbones())
def test_every_backbone_learns_on_real_images(backbone: str, real_batch: dict) -> None:
    torch.manual_seed(0)
    model = build_model({"backbone": backbone, "pretrained": False,
                         "heads": {"attributes": {"num_labels": 40, "dropout": 0.0},
                                   "landmarks": {}}})
    criterion = build_loss({"attributes": {}, "landmarks": {"kind": "l1"}})
    # VGG-16 has no BatchNorm: from scratch it needs a smaller step than the others
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4 if backbone == "vgg16" else 1e-3)
    model.train()
    losses = []
    for _ in range(10):
        loss, _ = criterion(model(real_batch["image"]),
                            {"attributes": real_batch["attrs"],
                             "landmarks": real_batch["landmarks"]})
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.8 * losses[0], losses


def test_config_overrides() -> None:
    config = load_config(TINY, ["train.epochs=7", "optim.name=sgd", "model.heads.gender={}",
                                "data.train=[{dataset: mtfl, split: train}]"])
    assert config["train"]["epochs"] == 7 and config["optim"]["name"] == "sgd"
    assert config["model"]["heads"]["gender"] == {} and config["data"]["train"][0]["dataset"] \
        == "mtfl"
    assert config["train"]["batch_size"] == 16  # untouched keys keep the file's value
    with pytest.raises(ConfigError, match="not of the form key=value"):
        apply_overrides(config, ["train.epochs"])
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("nope.yaml")


def test_fit_writes_run_folder(celeba_root: Path, tmp_path: Path) -> None:
    config = load_config(TINY, ["train.epochs=2", f"data.cache_dir={tmp_path / 'cache'}"])
    summary = fit(config, data_root=celeba_root.parent, out_dir=tmp_path / "run")
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} >= {"config.yaml", "meta.json", "log.csv",
                                                "last.pt", "best.pt", "summary.json"}
    assert not [p for p in run.iterdir() if ".tmp" in p.name]
    rows = _rows(run)
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    assert 0.3 < float(rows[-1]["val_attr_mean_accuracy"]) <= 1.0
    assert summary["pretrained"] is True and summary["epochs_run"] == 2
    ckpt = torch.load(run / "last.pt", weights_only=False)
    assert ckpt["meta"]["pretrained"] is True and len(ckpt["meta"]["attr_names"]) == 40
    assert ckpt["meta"]["model"]["backbone"] == "mobilenet_v2"


def test_multitask_run_on_celeba_and_mtfl(celeba_root: Path, tmp_path: Path) -> None:
    """Attributes from CelebA, landmarks + gender from both: missing labels are masked."""
    config = load_config(TINY, [
        "train.epochs=1", f"data.cache_dir={tmp_path / 'cache'}",
        "model.heads={attributes: {}, gender: {}, landmarks: {}}",
        "loss={attributes: {pos_weight: false}, gender: {}, landmarks: {kind: wing}}",
        "data.train=[{dataset: celeba, root: celeba, split: train, require_landmarks: true,"
        " subset: {kind: random, n: 32}}, {dataset: mtfl, root: mtfl, split: train,"
        " subset: {kind: random, n: 32}}]",
        "data.val=[{dataset: mtfl, root: mtfl, split: test, subset: {kind: random, n: 24}}]",
    ])
    fit(config, data_root=celeba_root.parent, out_dir=tmp_path / "run")
    row = _rows(tmp_path / "run")[0]
    for key in ("train_attributes", "train_gender", "train_landmarks", "val_landmark_nme",
                "val_gender_accuracy", "val_attr_mean_accuracy"):
        assert np.isfinite(float(row[key])), key
    assert float(row["val_landmark_nme"]) > 0


def test_early_stopping(celeba_root: Path, tmp_path: Path) -> None:
    config = load_config(TINY, ["train.epochs=6", "train.early_stopping=1", "optim.lr=0.5",
                                "optim.name=sgd", f"data.cache_dir={tmp_path / 'cache'}"])
    summary = fit(config, data_root=celeba_root.parent, out_dir=tmp_path / "run")
    assert summary["epochs_run"] < 6
    assert summary["epochs_run"] == summary["best_epoch"] + 1


def _train_cmd(out: Path, cache: Path, data_root: Path, *extra: str) -> list[str]:
    return [*CLI, "train", "--config", str(TINY), "--data-root", str(data_root),
            "--out", str(out), f"data.cache_dir={cache}", *extra]


def test_resume_after_kill_continues_exactly(celeba_root: Path, tmp_path: Path) -> None:
    data_root, cache = celeba_root.parent, tmp_path / "cache"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(_train_cmd(tmp_path / "full", cache, data_root), check=True, env=env,
                   capture_output=True)
    killed = subprocess.Popen(_train_cmd(tmp_path / "cut", cache, data_root), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (tmp_path / "cut" / "last.pt").exists():  # killed as soon as epoch 1 is saved
        assert time.time() < deadline and killed.poll() is None
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert len(_rows(tmp_path / "cut")) < 3  # it really was interrupted
    subprocess.run([*_train_cmd(tmp_path / "cut", cache, data_root), "--resume"], check=True,
                   env=env, capture_output=True)
    full, resumed = _rows(tmp_path / "full"), _rows(tmp_path / "cut")
    assert [r["epoch"] for r in resumed] == ["1", "2", "3"]
    for a, b in zip(full, resumed, strict=True):
        for key in ("train_loss", "val_loss", "val_attr_mean_accuracy"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-6, abs=1e-7), key


def test_ddp_two_processes_match_one(celeba_root: Path, tmp_path: Path) -> None:
    """torchrun with 2 gloo processes x 8 images == 1 process x 16 images.

    BatchNorm is frozen and dropout off: on a CPU there is no SyncBatchNorm, so per-rank batch
    statistics would (correctly) differ from the single-process ones. float64, because in
    float32 a batch of 16 and two batches of 8 sum their gradients in a different order, and
    those 1e-7 differences grow over a few steps to ~1e-3 in the loss; in float64 they stay
    far below the tolerance while a real mistake (a missing gradient average, a wrong shard)
    changes the loss at the first decimal.
    """
    data_root, cache = celeba_root.parent, tmp_path / "cache"
    extra = ["train.epochs=2", "model.freeze_bn=true", "model.heads.attributes.dropout=0.0",
             "train.dtype=float64", "train.amp=none"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(_train_cmd(tmp_path / "one", cache, data_root, *extra), check=True,
                   env=env, capture_output=True)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                "--master-port", "29517", "-m", "faceattr.cli.main"]
    result = subprocess.run([*torchrun, *_train_cmd(tmp_path / "two", cache, data_root,
                                                    *extra)[len(CLI):]],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    one, two = _rows(tmp_path / "one"), _rows(tmp_path / "two")
    assert len(one) == len(two) == 2
    for a, b in zip(one, two, strict=True):
        for key in ("train_loss", "val_loss", "val_attr_mean_accuracy"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-6, abs=1e-7), key
    meta = (tmp_path / "two" / "meta.json").read_text()
    assert '"world_size": 2' in meta


def test_positive_weights_from_real_train_split(celeba_index) -> None:
    labels = celeba_index.attrs[celeba_index.select("train")].astype(np.float32)
    weights = positive_weights(labels).numpy()
    positives = labels.sum(0)
    np.testing.assert_allclose(weights, (len(labels) - positives) / positives, rtol=1e-5)


def test_config_base_chain(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("name: base\ntrain: {epochs: 5, batch_size: 8}\n")
    (tmp_path / "child.yaml").write_text("base: base.yaml\nname: child\ntrain: {epochs: 2}\n")
    config = load_config(tmp_path / "child.yaml")
    assert config["name"] == "child" and config["train"]["epochs"] == 2
    assert config["train"]["batch_size"] == 8 and config["optim"]["name"] == "adam"
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="loops back"):
        load_config(tmp_path / "loop.yaml")
