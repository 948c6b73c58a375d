"""Regenerate docs/viewer.png: ``monoscan view`` on a real run, in headless Chromium.

    python scripts/make_viewer_figure.py [--keep DIR]

Writes scikit-image's astronaut (public domain) to ``DIR/photos/astronaut.png``, runs

    python -m monoscan reconstruct DIR/photos/astronaut.png --out DIR/results --body -q

serves ``DIR/results`` as ``monoscan view`` does, opens ``/astronaut/`` in Debian's Chromium
(driven by PyPI ``playwright``; ``apt-get install -y chromium``) at 1280 x 900, waits until the
scene is drawn with its first layers (the textured head and the coloured strands; the hair
volume, face, relief and body switches off), turns the camera to ``25deg 80deg`` and
screenshots the page's header, 3D view and layer switches. ``DIR`` is a temporary folder
unless ``--keep`` names one. Each step's command and timing is printed.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
CHROMIUM = "/usr/bin/chromium"
ORBIT = "25deg 80deg auto"
READY = (
    "() => { const m = document.querySelector('model-viewer');"
    " return !!(m && m.loaded && m.dataset.layers); }"
)


def reconstruct(work: Path) -> Path:
    """Run the CLI on the astronaut; the results folder."""
    from skimage import data

    from monoscan.io.images import save_png

    photo = save_png(work / "photos" / "astronaut.png", data.astronaut())
    results = work / "results"
    cmd = [sys.executable, "-m", "monoscan", "reconstruct", str(photo)]
    cmd += ["--out", str(results), "--body", "--overwrite", "-q"]
    print("$", shlex.join(cmd), flush=True)
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    print(f"  {time.perf_counter() - t:.1f} s", flush=True)
    return results


def screenshot(results: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    from monoscan.viewer.server import serve_in_thread

    srv, url = serve_in_thread(results, port=0)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            print("open", url + "astronaut/", flush=True)
            page.goto(url + "astronaut/")
            page.wait_for_function(READY, timeout=180_000)
            page.evaluate(
                "o => { customElements.get('model-viewer').minimumRenderScale = 1;"
                " document.querySelector('model-viewer').cameraOrbit = o; }",
                ORBIT,
            )
            page.wait_for_timeout(4000)  # the camera eases to the new orbit
            if errors:
                raise SystemExit(f"the page logged errors: {errors}")
            top = page.locator("header").bounding_box()
            section = page.locator("section:has(model-viewer)").bounding_box()
            clip = {
                "x": 0,
                "y": top["y"],
                "width": section["x"] + section["width"] + 18,
                "height": section["y"] + section["height"] + 8 - top["y"],
            }
            page.screenshot(path=str(out), clip=clip)
            browser.close()
    finally:
        srv.shutdown()
        srv.server_close()
    print("wrote", out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        screenshot(reconstruct(work), DOCS / "viewer.png")


if __name__ == "__main__":
    main()
