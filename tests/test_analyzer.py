"""FaceAnalyzer / faceattr.load on aligned crops: inputs of every kind, exact point mapping."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import faceattr
from faceattr.cli.main import main
from faceattr.data import transforms as T
from faceattr.data.celeba import CelebA
from faceattr.training import fit, load_config

TINY = Path(__file__).parent / "configs" / "tiny.yaml"


@pytest.fixture(scope="module")
def run_dir(celeba_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("analyzer")
    config = load_config(TINY, ["train.epochs=1", "train.max_steps_per_epoch=1",
                                f"data.cache_dir={out / 'cache'}",
                                "model.heads={attributes: {}, gender: {}, landmarks: {}}",
                                "loss={attributes: {}, gender: {}, landmarks: {}}"])
    fit(config, data_root=celeba_root.parent, out_dir=out / "run")
    return out / "run"


def test_inputs_of_every_kind_agree(run_dir: Path, celeba_root: Path) -> None:
    analyzer = faceattr.load(run_dir, detector=None)
    path = celeba_root / "img_align_celeba" / "000004.jpg"
    image = Image.open(path)
    by_path = analyzer.predict(path, detect=False)
    assert len(by_path) == 1
    face = by_path[0]
    assert set(face) >= {"box", "attributes", "gender", "landmarks"}
    assert len(face["attributes"]) == 40 and len(face["landmarks"]) == 5
    assert face["gender"]["label"] in ("male", "female") and 0 <= face["gender"]["p_male"] <= 1
    assert face["box"] == [0.0, 0.0, 177.0, 217.0]
    for other in (image, np.asarray(image), path.read_bytes()):
        assert analyzer.predict(other, detect=False) == by_path
    grey = analyzer.predict(image.convert("L"), detect=False)[0]  # other modes are accepted
    rgba = analyzer.predict(image.convert("RGBA"), detect=False)[0]
    assert len(grey["landmarks"]) == len(rgba["landmarks"]) == 5


def test_landmarks_map_back_to_original_pixels(run_dir: Path, celeba_root: Path,
                                               celeba_index) -> None:
    """A backend that outputs the true points (normalised input coordinates) must come back
    as the true points in original-image pixels."""
    analyzer = faceattr.load(run_dir, detector=None)
    dataset = CelebA(celeba_root, "test", index=celeba_index)
    size, resize = analyzer.size, int(analyzer.meta["resize"])
    for i in (0, 100, 2000):
        sample = dataset[i]
        moved = T.Compose([T.ResizeShorter(resize), T.CenterCrop(size)])(sample)["landmarks"]
        real = analyzer.backend

        def fake(images, moved=moved, real=real):
            out = real(images)
            out["landmarks"] = (moved / size)[None].astype(np.float32)
            return out

        analyzer.backend = fake
        face = analyzer.predict(sample["image"], detect=False)[0]
        analyzer.backend = real
        np.testing.assert_allclose(face["landmarks"], sample["landmarks"], atol=0.01)


def test_predict_cli_no_detect(run_dir: Path, celeba_root: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("000004.jpg", "000034.jpg"):
        (folder / name).write_bytes((celeba_root / "img_align_celeba" / name).read_bytes())
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    assert main(["predict", "--model", str(run_dir), "--no-detect", "--json", "--out",
                 str(out), str(folder)]) == 0
    captured = capsys.readouterr()
    faces = json.loads(captured.out)
    assert [Path(f["image"]).name for f in faces] == ["000004.jpg", "000034.jpg"]
    assert "broken.jpg: not a recognised image format" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["000004.annotated.jpg",
                                                      "000034.annotated.jpg"]


def test_default_model_missing_is_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from faceattr.inference import analyzer

    monkeypatch.setattr(analyzer, "DEFAULT_MODEL_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="bundled default model is not installed"):
        faceattr.load("default")


def test_presets() -> None:
    names = faceattr.list_models("*_multitask")
    assert "mobilenet_v2_multitask" in names and len(names) == len(faceattr.list_models(
        "*_attr40"))
    model = faceattr.create_model("shufflenet_v2_x1_0_attr40_heads", pretrained=False)
    assert model.tasks == ("attributes",) and model.config["heads"]["attributes"]["type"] \
        == "per_label"
    with pytest.raises(ValueError, match="unknown model"):
        faceattr.create_model("resnet50_attr40")
