"""HTTP service in-process (FastAPI TestClient): real model and images, every bad input, limits.

The model is a tiny one trained here for one step (like tests/test_analyzer.py); the service
runs with detection off, so each upload is taken as an aligned face crop.
"""

from __future__ import annotations

import importlib.util
import io
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from faceattr.serving import ServiceSettings, create_app
from faceattr.serving.deps import get_analyzer
from faceattr.training import fit, load_config
from helpers import png_header_only

with warnings.catch_warnings():  # "Using httpx with starlette.testclient is deprecated"
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

TINY = Path(__file__).parent / "configs" / "tiny.yaml"


def train_tiny(celeba_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny model per test session, shared by the service, web page and load tests."""
    run = tmp_path_factory.getbasetemp() / "serving-model" / "run"
    if not (run / "best.pt").is_file():
        config = load_config(TINY, ["train.epochs=1", "train.max_steps_per_epoch=1",
                                    f"data.cache_dir={run.parent / 'cache'}",
                                    "model.heads={attributes: {}, gender: {}, landmarks: {}}",
                                    "loss={attributes: {}, gender: {}, landmarks: {}}"])
        fit(config, data_root=celeba_root.parent, out_dir=run)
    return run


@pytest.fixture(scope="session")
def model_dir(celeba_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(celeba_root, tmp_path_factory)


@pytest.fixture(scope="module")
def jpeg(celeba_root: Path) -> bytes:
    return (celeba_root / "img_align_celeba" / "000004.jpg").read_bytes()


@pytest.fixture(scope="module")
def client(model_dir: Path) -> Iterator[Any]:
    app = create_app(ServiceSettings(model=str(model_dir), detect=False))
    with TestClient(app) as c:
        yield c


def _post(client: Any, data: bytes, name: str = "face.jpg", field: str = "image") -> Any:
    return client.post("/v1/analyze", files={field: (name, data)})


def _encode(image: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def _assert_usable(client: Any, jpeg: bytes) -> None:
    assert client.get("/health").status_code == 200
    assert _post(client, jpeg).status_code == 200


def test_analyze_real_photo(client: Any, jpeg: bytes, model_dir: Path) -> None:
    import faceattr

    response = _post(client, jpeg)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["image"] == {"width": 178, "height": 218}
    assert body["model"] == "tiny" and body["ms"] > 0
    assert len(body["faces"]) == 1
    face = body["faces"][0]
    assert len(face["attributes"]) == 40 and len(face["landmarks"]) == 5
    assert all(len(p) == 2 for p in face["landmarks"])
    assert all(0 <= p <= 1 for p in face["attributes"].values())
    assert face["gender"]["label"] in ("male", "female")
    assert face["box"] == [0.0, 0.0, 177.0, 217.0]
    # the same objects as `faceattr predict --no-detect` (less its "image" key)
    expected = faceattr.load(model_dir, detector=None).predict(jpeg, detect=False)
    assert body["faces"] == expected


def test_health_docs_and_openapi(client: Any) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model_loaded"] and health["model"] == "tiny"
    assert health["detect"] is False and health["uptime_s"] >= 0
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    schema = client.get("/openapi.json").json()
    assert {"/v1/analyze", "/health"} <= set(schema["paths"])
    responses = schema["paths"]["/v1/analyze"]["post"]["responses"]
    assert {"200", "413", "415", "422", "503", "504"} <= set(responses)


def test_web_page_and_assets_served(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'id="file"' in page.text
    for asset, kind in (("app.js", "javascript"), ("style.css", "css")):
        response = client.get(f"/static/{asset}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
    assert client.get("/static/nope.js").status_code == 404


BAD_INPUTS: dict[str, tuple[Callable[[bytes], dict[str, Any]], int, str, str]] = {
    # name: (request kwargs from the real JPEG, status, error code, message fragment)
    "empty file": (lambda j: {"files": {"image": ("e.jpg", b"")}}, 422, "invalid_image",
                   "empty payload"),
    "empty body": (lambda j: {"content": b""}, 422, "invalid_request", "field 'image'"),
    "text file": (lambda j: {"files": {"image": ("a.txt", b"hello, not a photo\n" * 20)}},
                  415, "unsupported_image", "not a recognised image format"),
    "truncated jpeg": (lambda j: {"files": {"image": ("t.jpg", j[: len(j) // 2])}}, 422,
                       "invalid_image", "truncated or corrupt"),
    "1x1 png": (lambda j: {"files": {"image": ("p.png", _encode(Image.new("RGB", (1, 1)),
                                                                 "PNG"))}},
                422, "invalid_image", "at least 8 pixels"),
    "20000x20000 png header": (lambda j: {"files": {"image": ("b.png",
                                                              png_header_only(20000, 20000))}},
                               413, "image_too_large", "decompression bomb"),
    "7000x7000 png header": (lambda j: {"files": {"image": ("b.png",
                                                            png_header_only(7000, 7000))}},
                             413, "image_too_large", "over the limit of 40,000,000"),
    "wrong field name": (lambda j: {"files": {"file": ("face.jpg", j)}}, 422,
                         "invalid_request", "field 'image'"),
    "malformed multipart": (lambda j: {"content": b"--xx\r\n-4.5e+16--xx--\r\n",
                                       "headers": {"content-type":
                                                   "multipart/form-data; boundary=xx"}},
                            400, "invalid_multipart", "field 'image'"),
    "json body": (lambda j: {"json": {"image": "face.jpg"}}, 422, "invalid_request",
                  "field 'image'"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_has_status_and_message(case: str, client: Any, jpeg: bytes) -> None:
    make, status, error, fragment = BAD_INPUTS[case]
    response = client.post("/v1/analyze", **make(jpeg))
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and fragment in body["detail"]
    _assert_usable(client, jpeg)


@pytest.mark.parametrize("kind", ["RGBA png", "CMYK jpeg", "CMYK tiff", "16-bit png",
                                  "grey png"])
def test_other_image_modes_succeed(kind: str, client: Any, jpeg: bytes) -> None:
    rgb = Image.open(io.BytesIO(jpeg)).convert("RGB")
    if kind == "RGBA png":
        data = _encode(rgb.convert("RGBA"), "PNG")
    elif kind.startswith("CMYK"):
        data = _encode(rgb.convert("CMYK"), kind.split()[1].upper())
    elif kind == "16-bit png":
        grey = np.asarray(rgb.convert("L")).astype(np.uint16) * 257
        image = Image.fromarray(grey)
        assert image.mode.startswith("I;16")
        data = _encode(image, "PNG")
    else:
        data = _encode(rgb.convert("L"), "PNG")
    response = _post(client, data, name=f"face.{kind.split()[1]}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["image"] == {"width": 178, "height": 218}
    assert len(body["faces"]) == 1 and len(body["faces"][0]["landmarks"]) == 5


class SlowFake:
    """An analyzer that takes ``seconds`` per call and answers one fixed face."""

    def __init__(self, seconds: float) -> None:
        self.meta = {"name": "slow-fake"}
        self.seconds = seconds
        self.started = threading.Event()

    def predict(self, image: Any, *, detect: bool = True) -> list[dict[str, Any]]:
        self.started.set()
        time.sleep(self.seconds)
        return [{"box": [0.0, 0.0, float(image.width - 1), float(image.height - 1)],
                 "attributes": {"Smiling": 0.5}, "gender": {"label": "female", "p_male": 0.1},
                 "landmarks": [[1.0, 2.0]] * 5, "detection_score": None}]


def _fake_app(fake: SlowFake, **settings: Any) -> Any:
    app = create_app(ServiceSettings(model=None, detect=False, **settings))
    app.dependency_overrides[get_analyzer] = lambda: fake
    return app


def test_oversize_upload_413(jpeg: bytes) -> None:
    app = _fake_app(SlowFake(0.0), max_upload_mb=0.02)  # 20,000 bytes; the JPEG is ~11 kB
    big = jpeg + b"\0" * 30_000
    with TestClient(app) as client:
        assert _post(client, jpeg).status_code == 200
        response = _post(client, big)  # Content-Length over the cap: refused unread
        assert response.status_code == 413
        assert response.json()["error"] == "upload_too_large"
        assert "upload limit is 20,000 bytes" in response.json()["detail"]

        boundary = "faceattrboundary"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
                f"filename=\"big.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def chunks() -> Iterator[bytes]:  # no Content-Length: chunked, counted as it streams
            yield head
            for i in range(0, len(big), 4096):
                yield big[i:i + 4096]
            yield tail

        response = client.post("/v1/analyze", content=chunks(),
                               headers={"content-type": f"multipart/form-data; "
                                                        f"boundary={boundary}"})
        assert response.status_code == 413, response.text
        assert response.json()["detail"].startswith("request body is over the limit; the "
                                                    "upload limit is 20,000 bytes")
        # a file just over the limit whose body is within the multipart allowance
        response = _post(client, jpeg + b"\0" * (20_001 - len(jpeg)))
        assert response.status_code == 413
        assert "uploaded file is over 20,000 bytes" in response.json()["detail"]
        assert _post(client, jpeg).status_code == 200


def test_timeout_504_then_still_usable(jpeg: bytes) -> None:
    fake = SlowFake(1.0)
    with TestClient(_fake_app(fake, timeout_s=0.2)) as client:
        start = time.perf_counter()
        response = _post(client, jpeg)
        assert time.perf_counter() - start < 0.9
        assert response.status_code == 504
        assert response.json()["error"] == "timeout"
        assert "timed out after 0.2 s" in response.json()["detail"]
        assert client.get("/health").status_code == 200
        fake.seconds = 0.0
        time.sleep(1.0)  # the abandoned call finishes and frees its slot
        assert client.get("/health").json()["in_flight"] == 0
        assert _post(client, jpeg).status_code == 200


def test_busy_503_when_saturated(jpeg: bytes) -> None:
    fake = SlowFake(1.0)
    app = _fake_app(fake, max_concurrency=1, max_queue=0, timeout_s=10)
    with TestClient(app) as client:
        first: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: first.update(r=_post(client, jpeg)))
        thread.start()
        assert fake.started.wait(5)
        assert client.get("/health").json()["in_flight"] == 1
        response = _post(client, jpeg)
        assert response.status_code == 503
        assert response.json()["error"] == "busy" and "retry" in response.json()["detail"]
        assert response.headers["retry-after"] == "1"
        thread.join(10)
        assert first["r"].status_code == 200
        assert first["r"].json()["model"] == "slow-fake"
        fake.seconds = 0.0
        assert _post(client, jpeg).status_code == 200


def test_no_model_503(jpeg: bytes) -> None:
    with TestClient(create_app(ServiceSettings(model=None, detect=False))) as client:
        assert client.get("/health").json()["model_loaded"] is False
        response = _post(client, jpeg)
        assert response.status_code == 503 and response.json()["error"] == "no_model"


def _import_or_skip(name: str) -> Any:
    """Import an optional test tool: skip when missing, but fail under CI=true."""
    try:
        return importlib.import_module(name)
    except ImportError:
        message = f"{name} is not installed (.ci/install-browser.sh installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def test_fuzz_from_openapi_schema(model_dir: Path) -> None:
    """Generated requests, valid and invalid: never a 5xx, every answer as documented.

    Driven with hypothesis directly (schemathesis' pytest plugin does not support pytest 9).
    The "schema-valid data is accepted" check is off: any bytes fit the schema's binary
    ``image`` field, but only real images are accepted (the rest get a documented 415/422).
    """
    schemathesis = _import_or_skip("schemathesis")
    hypothesis = _import_or_skip("hypothesis")
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    app = create_app(ServiceSettings(model=str(model_dir), detect=False, max_upload_mb=1))
    api_schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    modes = schemathesis.GenerationMode
    strategy = hypothesis.strategies.one_of(api_schema.as_strategy(modes.POSITIVE),
                                            api_schema.as_strategy(modes.NEGATIVE))
    seen: list[tuple[str, int]] = []

    @hypothesis.given(case=strategy)
    @hypothesis.settings(max_examples=40, deadline=5000, derandomize=True, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    def check(case: Any) -> None:
        response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
        seen.append((case.path, response.status_code))

    check()
    assert {path for path, _ in seen} == {"/v1/analyze", "/health"}
    assert all(status < 500 for _, status in seen), seen


def test_serve_command(model_dir: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    from faceattr.cli.main import main

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    assert main(["serve", "--model", str(model_dir), "--no-detect", "--port", "8123",
                 "--max-upload-mb", "2", "--max-concurrency", "1", "--timeout-s", "5"]) == 0
    (call,) = calls
    assert (call["host"], call["port"]) == ("127.0.0.1", 8123)
    settings = call["app"].state.settings
    assert settings == ServiceSettings(model=str(model_dir), detect=False, max_upload_mb=2,
                                       max_concurrency=1, timeout_s=5, threads=settings.threads)
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out
    assert main(["serve", "--model", "/no/such/run", "--no-detect"]) == 2
    assert "no such model file or run folder" in capsys.readouterr().err
    assert main(["serve", "--model", str(model_dir), "--no-detect", "--max-concurrency",
                 "0"]) == 2
    assert "--max-concurrency >= 1" in capsys.readouterr().err


def test_with_face_detection(model_dir: Path, jpeg: bytes) -> None:
    """Detection on (the default): only where faceattr.inference.detect is installed."""
    if importlib.util.find_spec("faceattr.inference.detect") is None:
        pytest.skip("faceattr.inference.detect is not available yet")
    with TestClient(create_app(ServiceSettings(model=str(model_dir)))) as client:
        assert client.get("/health").json()["detect"] is True
        response = _post(client, jpeg)
        assert response.status_code == 200, response.text
        faces = response.json()["faces"]
        assert len(faces) >= 1
        x0, y0, x1, y1 = faces[0]["box"]
        assert 0 <= x0 < x1 <= 178 and 0 <= y0 < y1 <= 218
        assert len(faces[0]["landmarks"]) == 5 and len(faces[0]["attributes"]) == 40
