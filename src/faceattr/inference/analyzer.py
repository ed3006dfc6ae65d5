"""``FaceAnalyzer``: photo in, one :class:`Face` per face out (attributes, gender, landmarks).

Pipeline for an in-the-wild photo: detect faces and their 5 points, warp each face to the
CelebA alignment (similarity transform), run the model on the aligned crop with the
preprocessing its ``config.json`` / checkpoint meta prescribes (resize shorter side, centre
crop, normalise), and map the predicted landmarks back to original-image pixels. With
``detect=False`` the whole image is taken as an already aligned face crop.

The model is a PyTorch run folder / checkpoint, or an exported ``.onnx`` file with its
``config.json`` beside it (ONNX Runtime; the fast CPU path), or ``"default"`` for the model
bundled with the package.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from faceattr.data import transforms as T
from faceattr.data.images import load_rgb, to_rgb

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "assets" / "default"


@dataclass
class Face:
    """One face. Pixel coordinates are in the original image (x right, y down)."""

    box: list[float]  # x0, y0, x1, y1
    attributes: dict[str, float]  # name -> probability the attribute is present
    gender: dict[str, Any]  # {"label": "male" | "female", "p_male": float}
    landmarks: list[list[float]]  # 5 x [x, y]: l-eye, r-eye, nose, l-mouth, r-mouth
    detection_score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("extra")
        out.update(self.extra)
        return out


class _TorchBackend:
    def __init__(self, source: str | Path) -> None:
        import torch

        from faceattr.inference.checkpoint import load_model

        self.torch = torch
        self.model, self.meta = load_model(source)

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
        torch = self.torch
        with torch.inference_mode():
            out = self.model(torch.from_numpy(images))
        result = {k: v.numpy() for k, v in out.items()}
        for task in ("attributes", "gender"):
            if task in result:
                result[task] = 1.0 / (1.0 + np.exp(-result[task]))
        return result


class _OnnxBackend:
    def __init__(self, path: Path, threads: int | None) -> None:
        from faceattr.inference.export import session

        self.session = session(path, threads=threads)
        self.meta = json.loads(path.with_name("config.json").read_text())
        self.names = [o.name for o in self.session.get_outputs()]

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
        outs = self.session.run(None, {"image": images.astype(np.float32)})
        return dict(zip(self.names, outs, strict=True))


def _backend(model: str | Path, threads: int | None) -> Any:
    path = DEFAULT_MODEL_DIR / "model.onnx" if str(model) == "default" else Path(model)
    if str(model) == "default" and not path.is_file():
        raise FileNotFoundError(f"{path}: the bundled default model is not installed "
                                "(it ships with the package once issue 7's model is trained)")
    if path.suffix == ".onnx" or (path.is_dir() and (path / "model.onnx").is_file()):
        return _OnnxBackend(path if path.suffix == ".onnx" else path / "model.onnx", threads)
    return _TorchBackend(path)


class FaceAnalyzer:
    """Detect, align and analyse faces.

    Parameters
    ----------
    model : ``"default"``, a run folder / ``.pt`` checkpoint, or an ``.onnx`` file.
    detector : detector name for :func:`faceattr.inference.detect.create_detector`, or None
        to only accept already aligned crops.
    threads : intra-op threads for ONNX Runtime (default: all cores).
    """

    def __init__(self, model: str | Path = "default", *, detector: str | None = "mtcnn",
                 threads: int | None = None) -> None:
        self.backend = _backend(model, threads)
        self.meta = self.backend.meta
        self.attr_names: list[str] = list(self.meta.get("attr_names", []))
        size = int(self.meta["input_size"][0])
        self.preprocess = T.Compose([T.ResizeShorter(int(self.meta["resize"])),
                                     T.CenterCrop(size), T.ToTensor(),
                                     T.Normalize(self.meta["mean"], self.meta["std"])])
        self.size = size
        self._detector_name = detector
        self._detector: Any = None

    @property
    def detector(self) -> Any:
        if self._detector is None and self._detector_name is not None:
            from faceattr.inference.detect import create_detector

            self._detector = create_detector(self._detector_name)
        return self._detector

    def get(self, image: Any, *, detect: bool = True) -> list[Face]:
        """Faces in ``image`` (path, bytes, PIL image or ``(H, W[, C])`` numpy array)."""
        picture = to_rgb(image) if isinstance(image, Image.Image | np.ndarray) else load_rgb(
            image)
        if not detect:
            crops = [(picture, np.array([[1.0, 0, 0], [0, 1.0, 0]]),
                      [0.0, 0.0, float(picture.width - 1), float(picture.height - 1)], None)]
        else:
            if self.detector is None:
                raise ValueError("no detector configured: pass detect=False for aligned crops")
            from faceattr.inference.align import align_face

            crops = []
            for det in self.detector.detect(picture):
                aligned, matrix = align_face(picture, np.asarray(det.landmarks))
                crops.append((aligned, matrix, [float(v) for v in det.box], float(det.score)))
        if not crops:
            return []
        samples = [self.preprocess({"image": crop}) for crop, *_ in crops]
        batch = np.stack([s["image"].numpy() for s in samples])
        out = self.backend(batch)
        faces = []
        for i, (sample, (_, align_matrix, box, score)) in enumerate(
                zip(samples, crops, strict=True)):
            faces.append(self._face(out, i, sample["matrix"], align_matrix, box, score))
        return faces

    def predict(self, image: Any, *, detect: bool = True) -> list[dict[str, Any]]:
        """:meth:`get` as plain JSON-ready dicts."""
        return [face.to_dict() for face in self.get(image, detect=detect)]

    def _face(self, out: dict[str, np.ndarray], i: int, crop_matrix: np.ndarray,
              align_matrix: np.ndarray, box: list[float], score: float | None) -> Face:
        attributes = ({n: round(float(p), 4) for n, p in zip(self.attr_names,
                                                               out["attributes"][i],
                                                               strict=True)}
                      if "attributes" in out else {})
        if "gender" in out:
            p_male = float(np.asarray(out["gender"])[i])
        else:
            p_male = attributes.get("Male", float("nan"))
        landmarks: list[list[float]] = []
        if "landmarks" in out:
            points = out["landmarks"][i] * np.array([self.size, self.size])  # input pixels
            points = T.invert_points(points, crop_matrix)  # aligned-crop pixels
            points = T.invert_points(points, align_matrix)  # original pixels
            landmarks = [[round(float(x), 2), round(float(y), 2)] for x, y in points]
        return Face(box=[round(v, 2) for v in box], attributes=attributes,
                    gender={"label": "male" if p_male > 0.5 else "female",
                            "p_male": round(p_male, 4)},
                    landmarks=landmarks, detection_score=score)


def load(model: str | Path = "default", **kwargs: Any) -> FaceAnalyzer:
    """``faceattr.load()``: a ready :class:`FaceAnalyzer` (see its parameters)."""
    return FaceAnalyzer(model, **kwargs)
