"""The web page end to end: real server on 127.0.0.1, headless Chromium, a real CelebA photo.

Needs Debian's chromium (/usr/bin/chromium) and the playwright Python package (no bundled
browser); missing ones skip the test outside CI and fail it under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from faceattr.serving import ServiceSettings, create_app
from faceattr.serving.local import serve_in_thread

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("FACEATTR_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _require_browser() -> None:
    missing = []
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        missing.append(f"chromium ({CHROMIUM}; .ci/install-browser.sh installs it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package")
    if missing:
        message = "web page test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def base_url(celeba_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from test_service import train_tiny

    _require_browser()
    model = train_tiny(celeba_root, tmp_path_factory)
    with serve_in_thread(create_app(ServiceSettings(model=str(model), detect=False))) as url:
        yield url


@pytest.fixture(scope="module")
def page(base_url: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def test_upload_shows_landmarks_gender_and_bars(page, base_url: str,
                                                celeba_root: Path) -> None:
    from playwright.sync_api import expect

    page.goto(base_url + "/")
    expect(page.locator("#service")).to_contain_text("model tiny")
    photo = celeba_root / "img_align_celeba" / "000004.jpg"
    page.set_input_files("#file", str(photo))
    page.wait_for_selector("body[data-state=done]")
    canvas = page.locator("#canvas")
    expect(canvas).to_have_attribute("data-landmarks", "5")
    expect(canvas).to_have_attribute("data-boxes", "1")
    assert (canvas.get_attribute("width"), canvas.get_attribute("height")) == ("178", "218")
    points = json.loads(canvas.get_attribute("data-points") or "[]")
    assert len(points) == 1 and len(points[0]) == 5 and all(len(p) == 2 for p in points[0])
    bars = page.locator("#attributes li.bar")
    expect(bars).to_have_count(40)
    probabilities = [float(p) for p in bars.evaluate_all("els => els.map(e => e.dataset.p)")]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0 <= p <= 1 for p in probabilities)
    expect(page.locator(".face .gender")).to_have_text(
        re.compile(r"^(male|female) \(\d+%\)$"))
    assert page.locator("#error").is_hidden()
    # the canvas really shows the photo (not blank): sample its pixels
    spread = page.evaluate("""() => {
        const c = document.getElementById('canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let lo = 255, hi = 0;
        for (let i = 0; i < d.length; i += 4) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }
        return hi - lo; }""")
    assert spread > 100
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-page.png"), full_page=True)


def test_api_error_is_shown(page, base_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(base_url + "/")
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a photo")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("body[data-state=error]")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("Error 415: not a recognised image format")
