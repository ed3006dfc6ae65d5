"""Validation inside the training loop: predictions over a loader and the epoch's numbers.

Full evaluation reports (every metric of both papers, plots) are ``faceattr evaluate``'s job;
this module gives the validation loss (for best-checkpoint selection) and one headline number
per task: attribute mean label-wise accuracy at 0.5, gender accuracy at 0.5, landmark NME
(inter-ocular).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from faceattr.metrics import attribute_metrics, binary_metrics, landmark_metrics
from faceattr.models.heads import landmarks_to_pixels
from faceattr.training import distributed
from faceattr.training.runtime import Runtime

TARGET_KEYS = ("attrs", "gender", "landmarks", "index")


@torch.no_grad()
def predict_batches(model: torch.nn.Module, loader: Any, runtime: Runtime, *,
                    info: distributed.DistInfo | None = None
                    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Model outputs (in ``runtime.dtype``, on the CPU) and the batches' labels for every
    image of ``loader``, gathered over ranks, de-duplicated and sorted by row index."""
    info = info or distributed.DistInfo()
    model.eval()
    outputs: dict[str, list[torch.Tensor]] = {}
    targets: dict[str, list[torch.Tensor]] = {k: [] for k in TARGET_KEYS}
    for batch in loader:
        images = runtime.images(batch)
        with runtime.autocast():
            out = runtime.outputs(model(images))
        for k, v in out.items():
            outputs.setdefault(k, []).append(v.cpu())
        index = batch.get("index")
        if index is None:  # the plain loader: positions are consecutive
            start = sum(len(t) for t in targets["index"])
            index = torch.arange(start, start + len(images))
        for k in TARGET_KEYS:
            targets[k].append(index if k == "index" else batch[k])
    local = ({k: torch.cat(v) for k, v in outputs.items()},
             {k: torch.cat(v) for k, v in targets.items()})
    parts = distributed.gather_objects(local, info)
    merged_out = {k: torch.cat([p[0][k] for p in parts]) for k in local[0]}
    merged_tgt = {k: torch.cat([p[1][k] for p in parts]) for k in local[1]}
    _, first = np.unique(merged_tgt["index"].numpy(), return_index=True)
    keep = torch.from_numpy(first)
    return ({k: v[keep] for k, v in merged_out.items()},
            {k: v[keep] for k, v in merged_tgt.items()})


def evaluate_outputs(outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor],
                     criterion: torch.nn.Module, tasks: tuple[str, ...], runtime: Runtime
                     ) -> dict[str, float]:
    """Validation loss (total and per task) plus one headline metric per task."""
    size = runtime.size
    with torch.no_grad():
        loss, parts = criterion({k: v.to(runtime.device) for k, v in outputs.items()},
                                runtime.targets(batch, tasks))
    result = {"loss": float(loss), **{k: float(v) for k, v in parts.items()}}
    if "attributes" in outputs:
        truth = batch["attrs"].numpy()
        observed = ~np.isnan(truth).all(axis=0)
        if observed.any():
            scores = torch.sigmoid(outputs["attributes"]).double().numpy()
            result["attr_mean_accuracy"] = attribute_metrics(
                truth[:, observed], scores[:, observed])["mean_accuracy"]
    if "gender" in outputs:
        truth = batch["gender"].numpy()
        ok = ~np.isnan(truth)
        if ok.any() and len(np.unique(truth[ok])) == 2:
            result["gender_accuracy"] = binary_metrics(
                truth[ok], torch.sigmoid(outputs["gender"]).double().numpy()[ok])["accuracy"]
    if "landmarks" in outputs:
        truth = batch["landmarks"].numpy()
        ok = np.isfinite(truth).all(axis=(1, 2))
        if ok.any():
            pred = landmarks_to_pixels(outputs["landmarks"], size, size).double().numpy()
            result["landmark_nme"] = landmark_metrics(truth[ok], pred[ok])["nme_mean"]
    return result
