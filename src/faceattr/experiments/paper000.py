"""Paper 000 (face attributes with efficient networks): experiments 1-4 and their report.

1. single 40-way head: ShuffleNetV2, MobileNetV2, EfficientNet-B0 x {unweighted, weighted BCE}
2. 40 binary heads, weighted BCE, loss modes ``concat`` and ``per_head``
3. inference time per image, single vs multiple heads (PyTorch eager, ONNX Runtime)
4. thresholds on the best model: fixed 0.5, label-wise tuned (accuracy, F1), instance-wise
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from faceattr.evaluation.published import PAPER000_TABLE1
from faceattr.experiments.runner import Experiment, evaluate_run, pct, train

BACKBONES = {"shufflenetv2": ("shufflenet_v2_x1_0", "ShuffleNetV2"),
             "mobilenetv2": ("mobilenet_v2", "MobileNetV2"),
             "efficientnetb0": ("efficientnet_b0", "EfficientNetB0")}
#: The smoke budget trains on 96 and validates on 64 real images (the full one: 5,000 / 4,535).
SMOKE = ["data.train=[{dataset: celeba, root: celeba, split: train,"
         " subset: {kind: random, n: 96, seed: 0}}]",
         "data.val=[{dataset: celeba, root: celeba, split: val,"
         " subset: {kind: random, n: 64, seed: 0}}]"]
SINGLE = [Experiment(f"single_{b}_{w}", f"paper000/single_{b}_{w}.yaml", smoke_overrides=SMOKE)
          for b in BACKBONES for w in ("unweighted", "weighted")]
HEADS40 = [Experiment(f"heads40_{b}_{m}", f"paper000/heads40_{b}_{m}.yaml",
                      smoke_overrides=SMOKE)
           for b in BACKBONES for m in ("concat", "per_head")]
HEADLINE = ("mean_accuracy", "precision_weighted", "recall_weighted", "f1_weighted")
#: Paper 000, Table 2: inference time per preprocessed image in ms (its GPU-less setup is not
#: stated beyond "a single image that is already preprocessed").
PAPER000_TABLE2 = {"ShuffleNetV2": {"single": 53.21, "multiple": 53.87},
                   "MobileNetV2": {"single": 140.50, "multiple": 143.56},
                   "EfficientNetB0": {"single": 185.70, "multiple": 187.94}}


def paper_value(model: str, weighted: bool, metric: str) -> float:
    """A Table 1 number (percent) for a backbone label, loss weighting and metrics.json key."""
    row = {v: k for k, v in PAPER000_TABLE1["rows"].items()}[metric]
    loss = "weighted" if weighted else "not weighted"
    column = next(c for c in PAPER000_TABLE1["columns"]
                  if c["model"] == model and c["loss"] == loss)
    return float(column[row])


def run(*, data_root: str | Path, out_root: Path, budget: str = "smoke",
        timing_runs: int | None = None) -> dict[str, Any]:
    """Run every experiment; write ``results.json`` and ``results.md`` in ``out_root``."""
    out_root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results: dict[str, Any] = {"budget": budget, "experiments": {}}
    runs: dict[str, Path] = {}
    for exp in SINGLE + HEADS40:
        run_dir, summary = train(exp, data_root=data_root, out_root=out_root, budget=budget)
        metrics = evaluate_run(run_dir, data_root=data_root, out_root=out_root, budget=budget)
        runs[exp.key] = run_dir
        results["experiments"][exp.key] = {
            "config": exp.config, "run": str(run_dir), "train": summary,
            "test": {k: metrics["attributes"][k] for k in (*HEADLINE, "exact_match",
                                                            "hamming_accuracy", "f1_macro")},
            "accuracy_vs_positives_slope": metrics["attributes"].get(
                "accuracy_vs_positives", {}).get("slope"),
            "per_attribute_accuracy": {n: v["accuracy"] for n, v in
                                       metrics["attributes"]["per_attribute"].items()},
            "images": metrics["images"], "pretrained": metrics["pretrained"],
            "params": metrics["params"],
        }
    results["inference_time"] = _timings(budget, timing_runs)
    best = max(results["experiments"], key=lambda k: results["experiments"][k]["train"]
               .get("last", {}).get("val_attr_mean_accuracy", 0.0))
    results["thresholds"] = _thresholds(runs[best], best, data_root, out_root, budget)
    results["seconds"] = round(time.perf_counter() - start, 1)
    (out_root / "results.json").write_text(json.dumps(results, indent=2, default=str))
    (out_root / "results.md").write_text(report(results))
    return results


def _timings(budget: str, runs: int | None) -> list[dict[str, Any]]:
    from faceattr.inference.benchmark import benchmark_backbone

    size, runs = (64, runs or 5) if budget == "smoke" else (224, runs or 100)
    rows = []
    for key, (backbone, label) in BACKBONES.items():
        for layout in ("single", "multiple"):
            row = benchmark_backbone(backbone, layout, size=size, runs=runs, batch=8,
                                     runtimes=("pytorch", "onnx_fp32"))
            rows.append({"key": key, "label": label, "heads": layout, "size": size,
                         "runs": runs, "pytorch_p50_ms": row["pytorch"]["p50_ms"],
                         "onnx_p50_ms": row["onnx_fp32"]["p50_ms"], "params": row["params"],
                         "mflops": row["mflops"]})
    return rows


def _thresholds(run_dir: Path, key: str, data_root: str | Path, out_root: Path,
                budget: str) -> dict[str, Any]:
    rows: dict[str, Any] = {"model": key}
    fixed = evaluate_run(run_dir, data_root=data_root, out_root=out_root, budget=budget,
                         name=f"{key}-fixed", instancewise=True,
                         val_limit=256 if budget == "smoke" else None)
    rows["fixed_0.5"] = {k: fixed["attributes"][k] for k in HEADLINE}
    iw = fixed["attributes"].get("instancewise") or {}
    rows["instancewise"] = {k: iw.get(k) for k in HEADLINE}
    for criterion in ("accuracy", "f1"):
        tuned = evaluate_run(run_dir, data_root=data_root, out_root=out_root, budget=budget,
                             name=f"{key}-tuned-{criterion}", thresholds="tuned",
                             criterion=criterion,
                             val_limit=256 if budget == "smoke" else None)
        rows[f"labelwise_tuned_{criterion}"] = {k: tuned["attributes"][k] for k in HEADLINE}
    return rows


def report(results: dict[str, Any]) -> str:
    """Markdown: our numbers in the paper's table layouts, the paper's beside them."""
    exps = results["experiments"]
    lines = [f"# Paper 000 reproduction ({results['budget']} budget)", "",
             "Test split: CelebA test partition present under the data root "
             f"({next(iter(exps.values()))['images']} images evaluated). Our numbers are "
             "percent on that split; the paper's are on its own 25,000-image evaluation set.",
             "", "## Experiment 1: single head (paper Table 1)", "",
             "| metric | backbone | ours unweighted | ours weighted | paper unweighted | "
             "paper weighted |", "|---|---|---|---|---|---|"]
    for key, (_, label) in BACKBONES.items():
        for metric in HEADLINE:
            ours = [exps[f"single_{key}_{w}"]["test"][metric] for w in ("unweighted",
                                                                          "weighted")]
            paper = [paper_value(label, w, metric) for w in (False, True)]
            lines.append(f"| {metric} | {label} | {pct(ours[0])} | {pct(ours[1])} | "
                         f"{paper[0]:.2f} | {paper[1]:.2f} |")
    lines += ["", "Pretrained backbones: " + ", ".join(
        f"{label} {'yes' if exps[f'single_{k}_weighted']['pretrained'] else 'NO (from scratch)'}"
        for k, (_, label) in BACKBONES.items()), "",
        "## Experiment 2: 40 heads, weighted BCE", "",
        "| backbone | loss mode | accuracy | precision | recall | F1 |",
        "|---|---|---|---|---|---|"]
    for key, (_, label) in BACKBONES.items():
        for mode in ("concat", "per_head"):
            t = exps[f"heads40_{key}_{mode}"]["test"]
            lines.append(f"| {label} | {mode} | " + " | ".join(pct(t[m]) for m in HEADLINE)
                         + " |")
    lines += ["", "## Accuracy vs number of positives (slope of the least-squares line, "
              "accuracy per positive)", "", "| run | slope |", "|---|---|"]
    for key, exp in exps.items():
        slope = exp.get("accuracy_vs_positives_slope")
        lines.append(f"| {key} | {slope:.3g} |" if slope is not None else f"| {key} | - |")
    lines += ["", "## Experiment 3: inference time per image (paper Table 2)", "",
              "| backbone | heads | PyTorch eager p50 ms | ONNX Runtime p50 ms | paper ms |",
              "|---|---|---|---|---|"]
    for row in results["inference_time"]:
        paper = PAPER000_TABLE2[row["label"]][row["heads"]]
        lines.append(f"| {row['label']} | {row['heads']} | {row['pytorch_p50_ms']:.2f} | "
                     f"{row['onnx_p50_ms']:.2f} | {paper:.2f} |")
    size = results["inference_time"][0]["size"]
    lines += ["", f"Batch 1, {size}x{size} preprocessed input, median of "
              f"{results['inference_time'][0]['runs']} runs after warm-up.", "",
              f"## Experiment 4: thresholds on the best model ({results['thresholds']['model']})",
              "", "| strategy | accuracy | precision | recall | F1 |", "|---|---|---|---|---|"]
    for name, row in results["thresholds"].items():
        if name != "model":
            lines.append(f"| {name} | " + " | ".join(pct(row.get(m)) for m in HEADLINE) + " |")
    lines += ["", f"Wall time for the whole study: {results['seconds']:.0f} s.", ""]
    return "\n".join(lines)
