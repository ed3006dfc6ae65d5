"""Paper 004 (gender + 5 landmarks, single vs multi-task, self-attention): experiments 1-5.

1. single-task gender: Adam / Adamax / Adagrad / RMSprop, best by validation loss
2. single-task landmarks: L1 / L2 / smooth L1 / Huber / Wing (with the best optimizer), best by
   validation NME (losses of different kinds are not comparable)
3. multi-task: the lambda grid of Table III plus learned uncertainty weighting (best optimizer
   and landmark loss), best by validation NME
4. self-attention heads, d_k in {32, ..., 512}, best by validation loss (same loss for all)
5. the four chosen models on the test split (Table VI), with inference time

Three variants: ``paper`` (VGG-16, the 500-image balanced CelebA subset, 405/45/50), ``celeba``
(ImageNet MobileNetV2 on every CelebA image with landmarks: train/val/test partitions) and
``mtfl`` (ImageNet MobileNetV2 on MTFL training.txt with a 10% validation hold-out, tested on
testing.txt).
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from faceattr.experiments.runner import Experiment, evaluate_run, pct, train

OPTIMIZERS = ("adam", "adamax", "adagrad", "rmsprop")
LOSSES = ("l1", "l2", "smooth_l1", "huber", "wing")
LAMBDAS = ("l1_1", "l1_5", "l5_1", "l1_20", "l20_1", "uncertainty")
D_KS = (32, 64, 128, 256, 512)

_MTFL = "{dataset: mtfl, root: mtfl, split: train, subset: {kind: holdout, fraction: 0.1, "
VARIANTS: dict[str, dict[str, Any]] = {
    "paper": {"overrides": [], "test": {"dataset": "celeba", "root": "celeba", "split": "all",
                                        "require_landmarks": True,
                                        "subset": {"kind": "paper004", "n": 500,
                                                   "part": "test", "seed": 0}}},
    "celeba": {"overrides": [
        "model.backbone=mobilenet_v2",
        "data.train=[{dataset: celeba, root: celeba, split: train, require_landmarks: true}]",
        "data.val=[{dataset: celeba, root: celeba, split: val}]", "train.batch_size=64"],
        "test": {"dataset": "celeba", "root": "celeba", "split": "test"}},
    "mtfl": {"overrides": [
        "model.backbone=mobilenet_v2", f"data.train=[{_MTFL}part: train, seed: 0}}}}]",
        f"data.val=[{_MTFL}part: val, seed: 0}}}}]", "train.batch_size=64"],
        "test": {"dataset": "mtfl", "root": "mtfl", "split": "test"}},
}


def _best_row(run_dir: Path) -> dict[str, float]:
    """The log row of the epoch with the lowest validation loss (the checkpoint kept)."""
    with (run_dir / "log.csv").open() as fh:
        rows = [{k: float(v) for k, v in r.items() if v not in ("", None)}
                for r in csv.DictReader(fh)]
    return min(rows, key=lambda r: r["val_loss"])


def run(*, data_root: str | Path, out_root: Path, budget: str = "smoke",
        variant: str = "paper") -> dict[str, Any]:
    """Run experiments 1-5 for ``variant``; write ``results.json`` and ``results.md``."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {list(VARIANTS)}")
    out_root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    base = list(VARIANTS[variant]["overrides"])
    results: dict[str, Any] = {"budget": budget, "variant": variant, "experiments": {}}

    def step(key: str, config: str, extra: list[str]) -> dict[str, Any]:
        exp = Experiment(f"{variant}_{key}", config, overrides=[*base, *extra])
        run_dir, summary = train(exp, data_root=data_root, out_root=out_root, budget=budget)
        row = _best_row(run_dir)
        results["experiments"][key] = {"config": config, "run": str(run_dir), "val": row,
                                       "pretrained": summary.get("pretrained"),
                                       "epochs_run": summary.get("epochs_run")}
        return results["experiments"][key]

    gender = {o: step(f"gender_{o}", f"paper004/gender_{o}.yaml", []) for o in OPTIMIZERS}
    best_opt = min(gender, key=lambda o: gender[o]["val"]["val_loss"])
    opt = [f"optim.name={best_opt}"]
    marks = {loss: step(f"landmarks_{loss}", f"paper004/landmarks_{loss}.yaml", opt)
             for loss in LOSSES}
    best_loss = min(marks, key=lambda k: marks[k]["val"].get("val_landmark_nme", 9e9))
    chosen = [*opt, f"loss.landmarks={{kind: {best_loss}}}"]
    multi = {lam: step(f"multitask_{lam}", f"paper004/multitask_{lam}.yaml", chosen)
             for lam in LAMBDAS}
    best_lam = min(multi, key=lambda k: multi[k]["val"].get("val_landmark_nme", 9e9))
    attention = {dk: step(f"attention_dk{dk}", f"paper004/attention_dk{dk}.yaml", chosen)
                 for dk in D_KS}
    best_dk = min(attention, key=lambda k: attention[k]["val"]["val_loss"])
    results["chosen"] = {"optimizer": best_opt, "landmark_loss": best_loss,
                         "multitask": best_lam, "attention_d_k": best_dk}
    finals = {1: f"gender_{best_opt}", 2: f"landmarks_{best_loss}",
              3: f"multitask_{best_lam}", 4: f"attention_dk{best_dk}"}
    results["test"] = {}
    for number, key in finals.items():
        run_dir = Path(results["experiments"][key]["run"])
        metrics = evaluate_run(run_dir, data_root=data_root, out_root=out_root, budget=budget,
                               spec=VARIANTS[variant]["test"])
        results["test"][number] = {"key": key, "images": metrics["images"],
                                   "gender": metrics.get("gender"),
                                   "landmarks": metrics.get("landmarks"),
                                   "inference_ms": _inference_ms(run_dir, budget)}
    results["seconds"] = round(time.perf_counter() - start, 1)
    (out_root / "results.json").write_text(json.dumps(results, indent=2, default=str))
    (out_root / "results.md").write_text(report(results))
    return results


def _inference_ms(run_dir: Path, budget: str) -> float:
    """Median batch-1 latency (ms) of the run's model in PyTorch eager on this CPU."""
    from faceattr.inference.benchmark import benchmark_model
    from faceattr.inference.checkpoint import load_model

    model, meta = load_model(run_dir)
    row = benchmark_model(model, size=int(meta["input_size"][0]),
                          runs=5 if budget == "smoke" else 50, batch=4,
                          runtimes=("pytorch",))
    return row["pytorch"]["p50_ms"]


def report(results: dict[str, Any]) -> str:
    """Markdown: validation tables I-IV and the test table VI, the paper's layout."""
    exps, v = results["experiments"], results["variant"]
    lines = [f"# Paper 004 reproduction: variant `{v}`, {results['budget']} budget", "",
             f"Chosen: {results['chosen']}", "",
             "## Validation (best epoch by validation loss)", "",
             "| experiment | val loss | gender acc | landmark NME % | pretrained |",
             "|---|---|---|---|---|"]
    for key, exp in exps.items():
        row = exp["val"]
        lines.append(f"| {key} | {row['val_loss']:.4f} | {pct(row.get('val_gender_accuracy'))}"
                     f" | {pct(row.get('val_landmark_nme'))} | "
                     f"{'yes' if exp['pretrained'] else 'no (from scratch)'} |")
    lines += ["", "## Test (paper Table VI layout)", "",
              "| model | run | images | accuracy | recall | precision | F1 | AUC ROC | "
              "NME % | FR@0.1 % | operating AUC | ms |", "|" + "---|" * 12]
    for number, row in results["test"].items():
        g, lm = row["gender"] or {}, row["landmarks"] or {}
        nme = (f"{100 * lm['nme_mean']:.2f} ± {100 * lm['nme_std']:.2f}" if lm else "-")
        lines.append(
            f"| {number} | {row['key']} | {row['images']} | "
            + " | ".join(f"{g[k]:.4f}" if g.get(k) is not None else "-"
                         for k in ("accuracy", "recall", "precision", "f1", "roc_auc"))
            + f" | {nme} | {pct(lm.get('fr_10'), 1)} | "
            + (f"{lm['operating_curve_auc']:.4f}" if lm else "-")
            + f" | {row['inference_ms']:.2f} |")
    lines += ["", f"Wall time: {results['seconds']:.0f} s.", ""]
    return "\n".join(lines)
