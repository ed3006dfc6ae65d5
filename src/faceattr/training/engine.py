"""The training loop: ``fit(config, data_root=..., out_dir=...)``.

One epoch = one pass over the training batches, then a validation pass. Every epoch appends a
row to ``log.csv`` (and TensorBoard when ``train.tensorboard``), writes ``last.pt``
atomically, and ``best.pt`` when the validation loss improves (paper 004 keeps the epoch with
the lowest validation loss). ``resume=True`` continues from ``last.pt`` with the model,
optimizer, schedule, loss weights and RNG states restored, so the following epochs are the
same as in an uninterrupted run. Under ``torchrun`` the model is wrapped in DDP and the data
sharded; only rank 0 writes files.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from faceattr.data.celeba import LANDMARK_NAMES
from faceattr.losses import build_loss, positive_weights
from faceattr.models import build_model, count_parameters
from faceattr.training import distributed
from faceattr.training.checkpoint import atomic_save, load_checkpoint, rng_state, set_rng_state
from faceattr.training.config import save_config
from faceattr.training.data import DatasetFactory, build_loader
from faceattr.training.evaluate import evaluate_outputs, predict_batches
from faceattr.training.optim import build_optimizer, build_scheduler
from faceattr.training.runtime import DTYPES, Runtime, amp_dtype

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _freeze_bn(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


class CsvLog:
    """``log.csv``: one row per epoch; on resume, rows after the resumed epoch are dropped."""

    def __init__(self, path: Path, keep_epochs: int) -> None:
        self.path = path
        rows: list[dict[str, str]] = []
        if path.is_file() and keep_epochs > 0:
            with path.open() as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["epoch"]) <= keep_epochs]
        self.rows: list[dict[str, Any]] = rows

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        fields: list[str] = []
        for r in self.rows:
            fields += [k for k in r if k not in fields]
        tmp = self.path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(tmp, self.path)


def fit(config: dict[str, Any], *, data_root: str | Path, out_dir: str | Path,
        resume: bool = False) -> dict[str, Any]:
    """Train as ``config`` says; returns the summary also written to ``summary.json``."""
    out_dir = Path(out_dir)
    device = torch.device("cuda" if torch.cuda.is_available()
                          and config["train"].get("device", "auto") != "cpu" else "cpu")
    info = distributed.init(device)
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    if config["train"].get("threads"):
        torch.set_num_threads(int(config["train"]["threads"]))
    seed = int(config["seed"])
    seed_everything(seed)
    tcfg, dcfg = config["train"], config["data"]
    size = int(dcfg["img_size"])
    if info.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, out_dir / "config.yaml")

    factory = DatasetFactory(data_root)
    attr_names = factory.attr_names(dcfg["train"])
    train_set = factory.build_many(dcfg["train"], attr_names)
    val_set = factory.build_many(dcfg["val"], attr_names)
    per_rank = int(tcfg["batch_size"]) // info.world_size
    if per_rank * info.world_size != int(tcfg["batch_size"]):
        raise ValueError(f"batch_size {tcfg['batch_size']} is not divisible by the "
                         f"{info.world_size} processes")
    model_spec = json.loads(json.dumps(config["model"]))
    heads = model_spec.setdefault("heads", {})
    if "attributes" in heads:
        heads["attributes"]["num_labels"] = len(attr_names)
    freeze_bn = bool(model_spec.pop("freeze_bn", False))
    model = build_model(model_spec)
    if not model.backbone.pretrained and config["model"].get("pretrained"):
        log.warning("%s: no ImageNet weights could be loaded; training from scratch",
                    model.backbone.name)
    runtime = Runtime(device=device, size=size, amp=amp_dtype(tcfg.get("amp", "auto"), device),
                      dtype=DTYPES[str(tcfg.get("dtype", "float32"))],
                      channels_last=bool(tcfg.get("channels_last", True)),
                      mean=tuple(model.backbone.input_mean), std=tuple(model.backbone.input_std))
    if runtime.amp is not None and runtime.dtype != torch.float32:
        raise ValueError("train.dtype float64 is for exact checks: set train.amp=none")
    model.to(device, runtime.dtype)
    if runtime.channels_last:
        model.to(memory_format=torch.channels_last)
    loader_args = {"batch_size": per_rank, "seed": seed, "rank": info.rank,
                   "world_size": info.world_size, "mean": runtime.mean, "std": runtime.std}
    train_loader = build_loader(train_set, dcfg, train=True, **loader_args)
    val_loader = build_loader(val_set, dcfg, train=False, **loader_args)
    train_labels = train_set.label_arrays()
    loss_spec = dict(config["loss"])
    for task in ("attributes", "gender", "landmarks"):
        if task in model.tasks:
            loss_spec.setdefault(task, {})
    wants_weights = (loss_spec.get("attributes") or {}).get("pos_weight") is True
    pos_weight = positive_weights(train_labels["attrs"]) if wants_weights else None
    criterion = build_loss(loss_spec, attr_pos_weight=pos_weight).to(device, runtime.dtype)
    params = list(model.parameters()) + list(criterion.parameters())
    optimizer = build_optimizer(params, config["optim"])
    epochs = int(tcfg["epochs"])
    steps = len(train_loader)
    if tcfg.get("max_steps_per_epoch"):
        steps = min(steps, int(tcfg["max_steps_per_epoch"]))
    scheduler = build_scheduler(optimizer, config["schedule"], epochs=epochs,
                                steps_per_epoch=steps)
    scaler = torch.amp.GradScaler("cuda", enabled=runtime.amp == torch.float16
                                  and device.type == "cuda")
    net: nn.Module = model
    if info.enabled:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    state = {"epoch": 0, "best_val_loss": math.inf, "best_epoch": 0, "stale": 0}
    last = out_dir / "last.pt"
    if resume and last.is_file():
        ckpt = load_checkpoint(last)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        criterion.load_state_dict(ckpt["loss"])
        scaler.load_state_dict(ckpt["scaler"])
        state = ckpt["state"]
        set_rng_state(ckpt["rng"][min(info.rank, len(ckpt["rng"]) - 1)])
        log.warning("resuming %s after epoch %d", out_dir, state["epoch"])
    elif resume:
        log.warning("--resume: no %s yet, starting from scratch", last)

    meta = {
        "name": config["name"], "tasks": list(model.tasks), "model": model.config,
        "params": count_parameters(model), "input_size": [size, size],
        "resize": int(dcfg["resize"]), "mean": list(runtime.mean), "std": list(runtime.std),
        "attr_names": attr_names, "landmark_names": list(LANDMARK_NAMES),
        "landmarks": "normalised (x / W, y / H) of the model input",
        "pretrained": model.backbone.pretrained, "weights_source": model.backbone.weights_source,
        "train_images": len(train_set), "val_images": len(val_set),
        "skipped_train_images": getattr(train_loader, "skipped", 0),
        "world_size": info.world_size, "amp": str(runtime.amp).replace("torch.", ""),
        "licence": "trained on CelebA/MTFL: non-commercial research only",
    }
    if info.is_main:
        (out_dir / "meta.json").write_text(json.dumps(meta, indent=2))
        print(f"[faceattr] {config['name']}: {model.backbone.name} "
              f"({'ImageNet-pretrained' if model.backbone.pretrained else 'FROM SCRATCH'}), "
              f"{meta['params']:,} params, {len(train_set):,} train / {len(val_set):,} val "
              f"images, {info.world_size} process(es), amp={meta['amp']}", flush=True)
    csv_log = CsvLog(out_dir / "log.csv", state["epoch"])
    writer = _tensorboard(out_dir, tcfg, info)
    patience = int(tcfg.get("early_stopping") or 0)

    for epoch in range(state["epoch"] + 1, epochs + 1):
        train_loader.set_epoch(epoch)
        net.train()
        if freeze_bn:
            _freeze_bn(net)
        totals: dict[str, float] = {}
        seen, start = 0, time.perf_counter()
        bar = _bar(steps, info.is_main and tcfg.get("progress", True), f"epoch {epoch}/{epochs}")
        for step, batch in enumerate(train_loader):
            if step >= steps:
                break
            images = runtime.images(batch)
            targets = runtime.targets(batch, model.tasks)
            with runtime.autocast():
                outputs = runtime.outputs(net(images))
            loss, parts = criterion(outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            n = len(images)
            seen += n
            totals["loss"] = totals.get("loss", 0.0) + float(loss.detach()) * n
            for k, v in parts.items():
                totals[k] = totals.get(k, 0.0) + float(v.detach()) * n
            bar.update(1)
            bar.set_postfix(loss=f"{totals['loss'] / seen:.4f}", refresh=False,
                            img_s=f"{seen * info.world_size / (time.perf_counter() - start):.1f}")
        bar.close()
        train_seconds = time.perf_counter() - start
        seen, totals = distributed.sum_counts(seen, totals, info)
        outputs_val, batch_val = predict_batches(model, val_loader, runtime, info=info)
        val = evaluate_outputs(outputs_val, batch_val, criterion, model.tasks, runtime)
        row: dict[str, Any] = {
            "epoch": epoch, "lr": optimizer.param_groups[0]["lr"],
            **{f"train_{k}": round(v / max(seen, 1), 6) for k, v in totals.items()},
            **{f"val_{k}": round(v, 6) for k, v in val.items()},
            "train_images_per_s": round(seen / train_seconds, 2),
            "epoch_seconds": round(time.perf_counter() - start, 1),
        }
        improved = val["loss"] < state["best_val_loss"]
        if improved:
            state.update(best_val_loss=val["loss"], best_epoch=epoch, stale=0)
        else:
            state["stale"] += 1
        state["epoch"] = epoch
        rngs = distributed.gather_objects(rng_state(), info)
        if info.is_main:
            csv_log.append(row)
            if writer is not None:
                for k, v in row.items():
                    if k != "epoch" and isinstance(v, int | float):
                        writer.add_scalar(k, v, epoch)
                writer.flush()
            ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "loss": criterion.state_dict(),
                    "scaler": scaler.state_dict(), "state": dict(state), "rng": rngs,
                    "config": config, "meta": meta, "metrics": row}
            atomic_save(ckpt, last)
            if improved:
                atomic_save(ckpt, out_dir / "best.pt")
            print(f"[faceattr] epoch {epoch}: " + ", ".join(
                f"{k}={v}" for k, v in row.items() if k != "epoch"), flush=True)
        distributed.barrier(info)
        if patience and state["stale"] >= patience:
            if info.is_main:
                print(f"[faceattr] early stop: no val-loss improvement for {patience} epochs",
                      flush=True)
            break

    summary = {"run": str(out_dir), "epochs_run": state["epoch"],
               "best_epoch": state["best_epoch"], "best_val_loss": state["best_val_loss"],
               "pretrained": meta["pretrained"], "params": meta["params"],
               "last": csv_log.rows[-1] if csv_log.rows else None}
    if info.is_main:
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    if writer is not None:
        writer.close()
    distributed.shutdown(info)
    return summary


def _bar(total: int, enabled: bool, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="batch", mininterval=5.0,
                dynamic_ncols=True)


def _tensorboard(out_dir: Path, tcfg: dict[str, Any], info: distributed.DistInfo) -> Any:
    if not (tcfg.get("tensorboard") and info.is_main):
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(out_dir / "tensorboard"))
