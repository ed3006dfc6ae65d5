"""``report.md`` and a self-contained ``report.html`` from ``metrics.json`` and the figures.

The numbers are set in the papers' table layouts (paper 000 Table 1, paper 004 Table VI)
next to the published values of :mod:`faceattr.evaluation.published`. The document is built
once as a list of blocks and rendered twice, so the two files always say the same thing.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from faceattr.evaluation.published import PAPER000_TABLE1, PAPER004_TABLE6

Block = tuple[str, Any]

ACCURACY_NOTE = (
    "Paper 000 calls its accuracy 'subset accuracy' but defines it as correct labels over all "
    "labels. Both readings are reported: the mean label-wise accuracy and exact match (all 40 "
    "labels of an image right, scikit-learn's subset accuracy). The paper's numbers match the "
    "label-wise mean: its 88.63% sits above the majority-class baseline (about 80% on CelebA), "
    "while exact match of such models is a few percent. Its 'Accuracy' row is compared with "
    "mean_accuracy here.")
NME_NOTE = (
    "NME is normalised per image by the inter-ocular distance, which for 5-point annotations is "
    "the distance between the eye centres (inter-pupil). It is computed in model-input pixels "
    "(resize shorter side, centre crop). That map is a similarity up to the rounding of the "
    "resized size, and NME is a ratio of distances, so it equals the NME in original image "
    "pixels; the original-pixel value is listed as a check.")


def _pct(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}"


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _setup(m: dict[str, Any]) -> list[Block]:
    mach = m["machine"]
    rows = [
        ["checkpoint", f"{m['checkpoint']} (epoch {m.get('epoch')})"],
        ["backbone", f"{m['backbone']}, {m['params']:,} parameters" if m.get("params")
         else m["backbone"]],
        ["ImageNet-pretrained backbone", "yes" if m["pretrained"] else "no (from scratch)"],
        ["heads", ", ".join(m["tasks"])],
        ["trained on", m["train_dataset"]],
        ["evaluated on", f"{m['dataset']} split {m['split']}, {m['images']:,} images"
         + (f" (random subset of {m['subset']['n']})" if m.get("subset") else "")],
        ["input", f"resize {m['resize']}, centre crop {m['input_size'][0]} px"],
        ["thresholds", m["thresholds"] + (f", criterion {m['threshold_criterion']}, fitted on "
                                          f"{m['thresholds_fitted_on']['split']} "
                                          f"({m['thresholds_fitted_on']['images']} images)"
                                          if m.get("thresholds_fitted_on") else "")],
        ["thresholds saved with the model", m.get("thresholds_saved_with_model") or "-"],
        ["machine", f"{mach['cpu']}, {mach['cores']} cores, torch {mach['torch']} "
                    f"({mach['torch_threads']} threads), load {mach['load_average_1min']}"],
        ["wall time", f"{m['seconds']} s"],
    ]
    return [("h2", "Setup"), ("table", (["", ""], rows))]


def _attributes(a: dict[str, Any], figures: dict[str, str]) -> list[Block]:
    if not a.get("per_attribute"):
        return [("h2", "Attributes"), ("p", a.get("reason", "not evaluated"))]
    t = PAPER000_TABLE1
    cols = [f"{c['model']} {c['loss']}" for c in t["columns"]]
    ours = [("this model", a)]
    if "global_0.5" in a:
        ours.append(("this model, global 0.5", a["global_0.5"]))
    if a["instancewise"].get("available"):
        ours.append(("this model, instance-wise", a["instancewise"]))
    header = ["", *cols, *(name for name, _ in ours)]
    rows = [[label, *(f"{c[label]:.2f}" for c in t["columns"]),
             *(_pct(block[key]) for _, block in ours)] for label, key in t["rows"].items()]
    blocks: list[Block] = [
        ("h2", "Attributes"),
        ("p", f"Layout of {t['paper']}, {t['table']} (percent; published columns: "
              f"{t['setup']}; precision, recall and F1 support-weighted over attributes). "
              f"This model: {a['attributes_evaluated']} labelled attributes, thresholds "
              f"{a['thresholds']}."),
        ("table", (header, rows)),
        ("h3", "Which accuracy"),
        ("p", ACCURACY_NOTE),
        ("table", (["reading", "value (%)"], [
            ["mean label-wise accuracy (the paper's 'Accuracy')", _pct(a["mean_accuracy"])],
            ["Hamming accuracy (correct entries / entries)", _pct(a["hamming_accuracy"])],
            ["exact match (subset accuracy, all labels right)", _pct(a["exact_match"])],
            ["majority-class baseline of this split", _pct(a["majority_baseline_mean_accuracy"])],
            ["F1 macro", _pct(a["f1_macro"])],
            ["mean balanced accuracy", _pct(a["mean_balanced_accuracy"])]])),
    ]
    iw = a["instancewise"]
    blocks.append(("p", "Instance-wise thresholds (ridge regression of the per-image best "
                        f"threshold, fitted on {iw['fitted_on']['split']}, "
                        f"{iw['fitted_on']['images']} images): see the last column."
                   if iw.get("available") else f"Instance-wise thresholds: {iw['reason']}."))
    pos = a.get("accuracy_vs_positives") or {}
    if pos:
        blocks.append(("p", f"Accuracy vs number of positives (paper 000, figures 10-12): "
                            f"positives counted in the {pos['positives_counted_in']}; "
                            f"least-squares slope {_num(pos['slope'], 6)} per positive, "
                            f"Pearson r {_num(pos['pearson_r'], 3)}."))
    for key in ("attribute_accuracy", "accuracy_vs_positives"):
        if key in figures:
            blocks.append(("img", (figures[key], key.replace("_", " "))))
    per = [[n, str(v["support"]), _num(v["threshold"], 3), _pct(v["accuracy"]),
            _pct(v["precision"]), _pct(v["recall"]), _pct(v["f1"]), _num(v["roc_auc"])]
           for n, v in a["per_attribute"].items()]
    blocks += [("h3", "Per attribute"),
               ("table", (["attribute", "positives (this split)", "threshold", "accuracy %",
                           "precision %", "recall %", "F1 %", "ROC AUC"], per))]
    return blocks


def _gender(g: dict[str, Any], figures: dict[str, str]) -> list[Block]:
    t = PAPER004_TABLE6
    if "accuracy" not in g:
        return [("h2", "Gender"), ("p", g.get("reason", "not evaluated"))]
    keys = list(t["gender_columns"].values())
    rows = [[f"{r['model']}: {r['name']} (published)", *(_num(r[k]) for k in keys)]
            for r in t["rows"] if r["accuracy"] is not None]
    rows.append(["this model", *(_num(g[k]) for k in keys)])
    cm = g["confusion_matrix"]
    blocks: list[Block] = [
        ("h2", "Gender"),
        ("p", f"Layout of {t['paper']}, {t['table']} ({t['setup']}). Male is the "
              f"positive class. Source: {g['source']}, threshold {g['threshold']:.3f}, "
              f"{g['images']} images."),
        ("table", (["model", *t["gender_columns"]], rows)),
        ("p", f"Confusion matrix (rows true, columns predicted; female, male): "
              f"TN {cm[0][0]}, FP {cm[0][1]}, FN {cm[1][0]}, TP {cm[1][1]}."),
    ]
    for key in ("gender_roc", "gender_confusion"):
        if key in figures:
            blocks.append(("img", (figures[key], key.replace("_", " "))))
    return blocks


def _landmarks(lm: dict[str, Any], figures: dict[str, str]) -> list[Block]:
    t = PAPER004_TABLE6
    if "nme_mean" not in lm:
        return [("h2", "Landmarks"), ("p", lm.get("reason", "not evaluated"))]
    rows = [[f"{r['model']}: {r['name']} (published)",
             f"{r['nme_percent']:.4f} ± {r['nme_std_percent']:.4f}", f"{r['fr_10_percent']:.1f}",
             _num(r["operating_curve_auc"])] for r in t["rows"] if r["nme_percent"] is not None]
    rows.append(["this model", f"{_pct(lm['nme_mean'], 4)} ± {_pct(lm['nme_std'], 4)}",
                 _pct(lm["fr_10"], 1), _num(lm["operating_curve_auc"])])
    points = ", ".join(f"{n} {_pct(v)}" for n, v in zip(lm["point_names"], lm["nme_per_point"],
                                                         strict=True))
    blocks: list[Block] = [
        ("h2", "Landmarks"),
        ("p", f"Layout of {t['paper']}, {t['table']} ({t['setup']}); "
              f"{lm['images']} images with annotations."),
        ("table", (["model", "NME (%)", "FR0.1 (%)", "AUC (operating curve)"], rows)),
        ("p", f"CED-AUC on [0, 0.1]: {_num(lm['ced_auc'])}. NME per point (%): {points}. "
              f"NME in original image pixels: {_pct(lm.get('nme_mean_original_pixels'), 4)} %."),
        ("p", NME_NOTE),
    ]
    if "landmark_curves" in figures:
        blocks.append(("img", (figures["landmark_curves"], "CED and operating curve")))
    return blocks


def build(m: dict[str, Any]) -> list[Block]:
    """The report as blocks: ``(kind, content)`` with kind h1/h2/h3/p/table/img."""
    figures = m.get("files", {})
    blocks: list[Block] = [("h1", f"Evaluation: {m['backbone']} on {m['dataset']} {m['split']}")]
    blocks += _setup(m)
    if "attributes" in m:
        blocks += _attributes(m["attributes"], figures)
    if "gender" in m:
        blocks += _gender(m["gender"], figures)
    if "landmarks" in m:
        blocks += _landmarks(m["landmarks"], figures)
    if "learning_curves" in figures:
        blocks += [("h2", "Learning curves"), ("img", (figures["learning_curves"], "log.csv"))]
    if "examples" in figures:
        blocks += [("h2", "Examples"),
                   ("p", "Evenly spaced evaluated images: predicted landmarks as dots, "
                         "annotations as crosses; gender and the two top attributes above."),
                   ("img", (figures["examples"], "example predictions"))]
    blocks += [("h2", "Comparability"),
               ("p", "Published figures come from other training sets, test sets and (paper "
                     "004) a VGG-16 on 50 test images; they are context, not a like-for-like "
                     "benchmark. All values here are recomputable from predictions.npz.")]
    return blocks


def to_markdown(blocks: list[Block]) -> str:
    """Render blocks as GitHub-flavoured Markdown (images linked by relative path)."""
    lines: list[str] = []
    for kind, content in blocks:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + content, ""]
        elif kind == "p":
            lines += [content, ""]
        elif kind == "table":
            header, rows = content
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
            lines.append("")
        elif kind == "img":
            lines += [f"![{content[1]}]({content[0]})", ""]
    return "\n".join(lines)


def to_html(blocks: list[Block], folder: Path) -> str:
    """Render blocks as one HTML page with the PNGs embedded as data URIs."""
    body: list[str] = []
    for kind, content in blocks:
        if kind in ("h1", "h2", "h3", "p"):
            body.append(f"<{kind}>{html.escape(content)}</{kind}>")
        elif kind == "table":
            header, rows = content
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in header)
            cells = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
                            + "</tr>" for row in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
        elif kind == "img":
            data = base64.b64encode((folder / content[0]).read_bytes()).decode("ascii")
            body.append(f'<figure><img src="data:image/png;base64,{data}" '
                        f'alt="{html.escape(content[1])}"><figcaption>'
                        f"{html.escape(content[1])}</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}"
             "table{border-collapse:collapse;margin:1rem 0;font-size:.85rem}"
             "td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}"
             "td:first-child,th:first-child{text-align:left}img{max-width:100%}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>faceattr evaluation</title><style>{style}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_report(out: Path, metrics: dict[str, Any]) -> dict[str, str]:
    """Write ``report.md`` and ``report.html`` into ``out``; returns their names."""
    blocks = build(metrics)
    (out / "report.md").write_text(to_markdown(blocks))
    (out / "report.html").write_text(to_html(blocks, out))
    return {"report_md": "report.md", "report_html": "report.html"}
