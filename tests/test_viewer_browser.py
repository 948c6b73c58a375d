"""The viewer in a real browser: headless Chromium draws the textured face in the 3D canvas.

Needs Debian's ``chromium`` (``apt-get install -y chromium chromium-driver``) and PyPI
``playwright`` (driven with ``executable_path``; Playwright's own browser download is not
used). WebGL runs on SwiftShader, so a frame takes seconds on a busy 2-core machine.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest

import monoscan
from monoscan.pipeline import Options
from monoscan.viewer.report import write_report
from monoscan.viewer.server import serve_in_thread

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(
        "Chromium not found (apt-get install -y chromium chromium-driver)", allow_module_level=True
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright not installed (pip install playwright)"
)

LOADED = "() => { const m = document.querySelector('model-viewer'); return !!(m && m.loaded); }"


@pytest.fixture(scope="module")
def results(tmp_path_factory, astronaut_path):
    root = tmp_path_factory.mktemp("browser") / "results"
    recon = monoscan.reconstruct(astronaut_path, Options())
    monoscan.write_outputs(recon, root)
    return root


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _render(browser, url: str) -> tuple[np.ndarray, list[str]]:
    """Open ``url``, wait for the model, return the 3D view's pixels and every request made."""
    from PIL import Image

    page = browser.new_page(viewport={"width": 900, "height": 800})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.wait_for_function(LOADED, timeout=120_000)
    page.wait_for_timeout(1000)  # the first frames after load
    png = page.locator("model-viewer").screenshot()
    page.close()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.float32), requests


def _assert_mesh_drawn(img: np.ndarray) -> None:
    h, w = img.shape[:2]
    # Background: the page's fixed model-viewer colour #2b2f3a, seen in the corners.
    corners = np.concatenate(
        [
            img[5:25, 5:25].reshape(-1, 3),
            img[5:25, -25:-5].reshape(-1, 3),
            img[-25:-5, 5:25].reshape(-1, 3),
        ]
    )
    np.testing.assert_allclose(corners.mean(axis=0), [0x2B, 0x2F, 0x3A], atol=6)
    centre = img[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3]
    diff = np.abs(centre - np.array([0x2B, 0x2F, 0x3A])).sum(axis=2)
    # The face covers the middle of the view, in skin colours (red > blue), with texture detail.
    assert (diff > 60).mean() > 0.6
    face = centre[diff > 60]
    assert face[:, 0].mean() > face[:, 2].mean() + 15
    assert face.std(axis=0).mean() > 10
    assert img.std() > 20  # not blank


def test_served_page_shows_the_textured_mesh(browser, results):
    srv, url = serve_in_thread(results, port=0)
    try:
        img, requests = _render(browser, url + "astronaut/")
    finally:
        srv.shutdown()
        srv.server_close()
    _assert_mesh_drawn(img)
    assert all(r.startswith((url, "blob:", "data:")) for r in requests), requests


@pytest.mark.slow  # another ~25 s of software WebGL; test_viewer.py checks the file statically
def test_report_opens_offline_from_disk(browser, results):
    report = write_report(results / "astronaut")
    img, requests = _render(browser, report.as_uri())
    _assert_mesh_drawn(img)
    # Nothing but the file itself and in-page data: fetched; no network at all.
    assert not [r for r in requests if r.startswith(("http:", "https:", "ws:"))], requests
