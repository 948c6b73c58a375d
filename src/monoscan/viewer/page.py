"""HTML pages of the viewer: the results index and one page per result.

One page serves both uses:

* the live server (:mod:`monoscan.viewer.server`) links images, the 3D scene and the
  JavaScript by URL (``inline=False``);
* ``report.html`` (:mod:`monoscan.viewer.report`) embeds all of them as ``data:`` URIs
  (``inline=True``), so it opens offline straight from disk and fetches nothing.

The 3D view is Google's ``<model-viewer>`` web component (three.js inside), vendored unmodified
from npm into ``viewer/static/`` by ``scripts/build_viewer_assets.sh``: orbit with the mouse,
zoom with the wheel. It was chosen over viser because a single ES module file works both from
the server and inlined into an offline HTML file, whereas viser's client needs its websocket
server running.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

from monoscan.io import results
from monoscan.io.results import load_result

__all__ = ["IMAGE_VIEWS", "STATIC_DIR", "index_page", "list_results", "result_page"]

STATIC_DIR = Path(__file__).with_name("static")
VIEWER_JS = "model-viewer.min.js"
#: URL prefix of the vendored JavaScript on the live server.
STATIC_URL = "/-/static/"

#: Picture files shown when present, with their captions, in this order.
IMAGE_VIEWS = (
    (results.OVERLAY, "photo with landmarks, face box, person outline, hair"),
    ("crop.png", "HairStep crop (512x512)"),
    ("hair_mask.png", "hair mask"),
    ("parsing_vis.png", "parsing (coloured labels)"),
    ("parsing.png", "parsing labels"),
    ("strand_map.png", "strand map (growth direction)"),
    ("hair_depth_vis.png", "hair depth (closer = brighter)"),
    ("person_mask.png", "person mask"),
)

_CSS = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f4f6;color:#1b1d22}
header{background:#1b1d22;color:#fff;padding:10px 18px}header a{color:#9cf}
main{padding:14px 18px}h1{font-size:20px;margin:0}h2{font-size:16px;margin:18px 0 8px}
.grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;background:#fff;padding:6px;border-radius:6px;box-shadow:0 1px 3px #0002}
figure img{max-width:300px;max-height:300px;display:block}
figcaption{font-size:12px;color:#555;max-width:300px}
model-viewer{width:640px;height:520px;background:#2b2f3a;border-radius:6px}
table{border-collapse:collapse;background:#fff;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
pre{background:#fff;padding:8px;font-size:12px;max-height:480px;overflow:auto}
.failed{color:#b00}.card{width:220px}.card img{max-width:208px;max-height:208px}
"""


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def viewer_js() -> bytes:
    """The vendored ``model-viewer.min.js`` (raises FileNotFoundError if not built)."""
    return (STATIC_DIR / VIEWER_JS).read_bytes()


def list_results(root: str | os.PathLike) -> list[str]:
    """Names of the sub-folders of ``root`` holding a readable ``result.json``, sorted.

    Symbolic links are not followed (the server never leaves ``root``).
    """
    root = Path(root)
    names = []
    for p in sorted(root.iterdir()):
        if (
            p.is_dir()
            and not p.is_symlink()
            and not p.name.startswith((".", "-"))
            and load_result(p) is not None
        ):
            names.append(p.name)
    return names


def _pictures(result_dir: Path, result: dict) -> list[tuple[str, str]]:
    """(file, caption) of the pictures to show: the known views first, then any other PNG
    artifact listed in result.json (textures, which are companions, excluded)."""
    shown = [(f, c) for f, c in IMAGE_VIEWS if (result_dir / f).is_file()]
    names = {f for f, _ in shown}
    if "parsing_vis.png" in names:
        shown = [(f, c) for f, c in shown if f != "parsing.png"]
        names.discard("parsing.png")
    names.add("parsing.png")
    artifacts = result.get("artifacts") or {}
    companions = {
        c for m in artifacts.values() if isinstance(m, dict) for c in m.get("companions") or []
    }
    for f, meta in artifacts.items():
        if (
            f.endswith(".png")
            and f not in names
            and f not in companions
            and "/" not in f
            and "\\" not in f
            and not f.startswith(".")
        ):
            meaning = meta.get("meaning", "") if isinstance(meta, dict) else ""
            shown.append((f, str(meaning)))
    return shown


def _metrics_rows(result: dict) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    inp = result.get("input") or {}
    if inp:
        rows.append(("photo", f"{inp.get('width')} x {inp.get('height')} px"))
    face = result.get("face") or {}
    if face:
        rows.append(("faces found", str(face.get("faces_found"))))
        if face.get("detector_score") is not None:
            rows.append(("face detector score", f"{face['detector_score']:.3f}"))
    for key in ("camera", "metrics", "hair", "strands", "head", "body"):
        block = result.get(key)
        if isinstance(block, dict):
            for k, v in block.items():
                if isinstance(v, (int, float, str, bool)):
                    rows.append((f"{key}.{k}", f"{v:.4g}" if isinstance(v, float) else str(v)))
    for name, meta in (result.get("artifacts") or {}).items():
        if isinstance(meta, dict) and "vertices" in meta:
            rows.append((name, f"{meta['vertices']} vertices, {meta.get('faces')} faces"))
    timings = result.get("timings_s") or {}
    if timings:
        rows.append(("total time", f"{sum(timings.values()):.2f} s"))
    for note in result.get("notes") or []:
        rows.append(("note", str(note)))
    return rows


def result_page(result_dir: str | os.PathLike, *, inline: bool, name: str | None = None) -> str:
    """HTML page of one result folder.

    Parameters
    ----------
    result_dir : path
        ``OUT/<stem>/`` with ``result.json``.
    inline : bool
        Embed pictures, the 3D scene and the JavaScript (``report.html``); otherwise link them
        relative to the page (``<name>/...`` on the live server, served at ``/<name>/``).
    name : str, optional
        Title; default the folder name.
    """
    from monoscan.viewer.scene import scene_glb

    result_dir = Path(result_dir)
    name = name or result_dir.name
    result = load_result(result_dir) or {}

    figures = []
    base = result_dir.resolve()
    for fname, caption in _pictures(result_dir, result):
        path = result_dir / fname
        # Only files really inside the folder (no symbolic link out) are shown or embedded.
        if path.is_file() and path.resolve().parent == base:
            src = _data_uri(path.read_bytes(), "image/png") if inline else _esc(fname)
            figures.append(
                f'<figure><img src="{src}" alt="{_esc(fname)}">'
                f"<figcaption>{_esc(fname)}: {_esc(caption)}</figcaption></figure>"
            )

    glb = scene_glb(result_dir)
    if glb is None:
        model = "<p>No mesh in this result.</p>"
    else:
        src = _data_uri(glb, "model/gltf-binary") if inline else "scene.glb"
        model = (
            f'<model-viewer id="scene" src="{src}" alt="3D face and hair of {_esc(name)}" '
            'camera-controls interaction-prompt="none" shadow-intensity="0" '
            'exposure="1.1" camera-orbit="0deg 85deg auto" '
            'environment-image="neutral"></model-viewer>'
            "<p>Drag to orbit, wheel to zoom, right-drag to pan. Metres, y up.</p>"
        )
    if inline:
        script = (
            f'<script type="module" src="{_data_uri(viewer_js(), "text/javascript")}"></script>'
        )
    else:
        script = f'<script type="module" src="{STATIC_URL}{VIEWER_JS}"></script>'

    rows = "".join(
        f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in _metrics_rows(result)
    )
    back = "" if inline else '<a href="../">all results</a>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>monoscan: {_esc(name)}</title>
<style>{_CSS}</style>{script}</head>
<body><header><h1>monoscan: {_esc(name)}</h1>{back}</header><main>
<div class="grid"><section><h2>3D</h2>{model}</section>
<section><h2>Metrics</h2><table>{rows}</table></section></div>
<h2>Pictures</h2><div class="grid">{"".join(figures) or "<p>none</p>"}</div>
<h2>result.json</h2><details><summary>show</summary><pre>{_esc(json.dumps(result, indent=2))}</pre>
</details></main></body></html>
"""


def index_page(root: str | os.PathLike) -> str:
    """HTML list of the results under ``root`` (with ``batch.json`` failures, if any)."""
    root = Path(root)
    cards = []
    for name in list_results(root):
        thumb = next((f for f, _ in IMAGE_VIEWS if (root / name / f).is_file()), None)
        img = f'<img src="{_esc(name)}/{thumb}" alt="">' if thumb else ""
        cards.append(
            f'<figure class="card"><a href="{_esc(name)}/">{img}</a>'
            f'<figcaption><a href="{_esc(name)}/">{_esc(name)}</a></figcaption>'
            "</figure>"
        )
    failed = []
    try:
        batch = json.loads((root / results.BATCH_JSON).read_text(encoding="utf-8"))
        failed = [i for i in batch.get("items", []) if i.get("status") == "failed"]
    except (OSError, ValueError, AttributeError):
        pass
    fails = "".join(
        f'<li class="failed">{_esc(err if err.startswith(inp) else f"{inp}: {err}")}</li>'
        for inp, err in ((str(i.get("input")), str(i.get("error"))) for i in failed)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>monoscan results</title>
<style>{_CSS}</style></head>
<body><header><h1>monoscan results: {len(cards)}</h1></header><main>
<div class="grid" id="results">{"".join(cards) or "<p>No results yet.</p>"}</div>
{f"<h2>Failed</h2><ul>{fails}</ul>" if fails else ""}
</main></body></html>
"""
