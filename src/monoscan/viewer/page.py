"""HTML pages of the viewer: the results index and one page per result.

One page serves both uses:

* the live server (:mod:`monoscan.viewer.server`) links images, the 3D scene and the
  JavaScript by URL (``inline=False``);
* ``report.html`` (:mod:`monoscan.viewer.report`) embeds all of them as ``data:`` URIs
  (``inline=True``), so it opens offline straight from disk and fetches nothing.

A folder is shown when it holds one of the files of :data:`KINDS`: ``result.json`` (every
command's result: reconstruct, body...), ``scene.json`` (a synthetic scene) or ``batch.json``
(a batch's output folder). Whatever that file holds, the page renders: what cannot be shown
(unreadable or malformed JSON, a key of the wrong type, a listed file missing, a path or link
leading out of the folder, a mesh that cannot be read) becomes a short line under *Problems*.
Nothing outside the folder is ever read: paths in the JSON are only checked, and a file is
only shown when its real path (links resolved) lies inside the folder.

The 3D view shows every layer the folder holds (textured head, coloured strands, hair volume,
face, relief, body: :data:`monoscan.viewer.scene.LAYERS`) as one merged GLB, each layer switched
by a labelled checkbox under the view (the head and the strands on at first).
It is Google's ``<model-viewer>`` web component (three.js inside), vendored unmodified
from npm into ``viewer/static/`` by ``scripts/build_viewer_assets.sh``: orbit with the mouse,
zoom with the wheel. It was chosen over viser because a single ES module file works both from
the server and inlined into an offline HTML file, whereas viser's client needs its websocket
server running.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from monoscan.io import results

__all__ = [
    "IMAGE_VIEWS",
    "KINDS",
    "STATIC_DIR",
    "ViewedFolder",
    "folder_layers",
    "folder_scene",
    "index_page",
    "is_viewable",
    "list_results",
    "read_folder",
    "result_page",
]

STATIC_DIR = Path(__file__).with_name("static")
VIEWER_JS = "model-viewer.min.js"
#: URL prefix of the vendored JavaScript on the live server.
STATIC_URL = "/-/static/"
#: What ``monoscan synth`` writes last into each synthetic scene's folder.
SCENE_JSON = "scene.json"
#: The file that makes a folder viewable, and what the folder then is; first found wins.
KINDS = (
    (results.RESULT_JSON, "result"),
    (SCENE_JSON, "synthetic scene"),
    (results.BATCH_JSON, "batch"),
)
#: ``<model-viewer>``'s exposure. Under its ``neutral`` environment and default tone mapping
#: (Khronos PBR Neutral), exposure 1 shows a surface facing the camera brighter than its base
#: colour (sRGB 128 -> 140; more at the earlier 1.1), so a textured head looked paler than the
#: photo its texture came from. At 0.85 a camera-facing surface shows its sRGB base colour:
#: 128 -> 128, 200 -> 205, 40 -> 28 (the tone mapper's black offset), and the head's face the
#: photo's skin colour (``tests/test_viewer_browser.py``).
EXPOSURE = 0.85
#: A description file larger than this is not read.
MAX_JSON_BYTES = 64 * 2**20
#: At most this many file names are quoted in one problem line.
_NAMES_SHOWN = 5

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
#layers{width:616px;margin:8px 0 0;background:#fff;border:1px solid #ddd;border-radius:6px;
font-size:14px}#layers label{display:inline-block;margin:3px 14px 3px 0;white-space:nowrap}
#layers-note{font-size:12px;color:#555}
table{border-collapse:collapse;background:#fff;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
pre{background:#fff;padding:8px;font-size:12px;max-height:480px;overflow:auto}
.failed{color:#b00}.card{width:220px}.card img{max-width:208px;max-height:208px}
"""

# Top-level keys the page reads, per kind, with the JSON types they may have. A key of another
# type is left out of the page (a problem line says so); other keys are only shown verbatim.
_OBJECT, _LIST, _TEXT, _NULL = (dict,), (list,), (str,), (type(None),)
_NUMBER = (int, float)
_EXPECTED = {
    "result": {
        "schema_version": _TEXT,
        "input": _OBJECT + _NULL,
        "face": _OBJECT + _NULL,
        "camera": _OBJECT + _NULL,
        "hair3d": _OBJECT + _NULL,
        "mesh": _OBJECT + _NULL,
        "artifacts": _OBJECT,
        "files": _LIST + _OBJECT,
        "timings_s": _OBJECT,
        "notes": _LIST,
    },
    "synthetic scene": {
        "params": _OBJECT,
        "files": _OBJECT,
        "counts": _OBJECT,
        "timings_s": _OBJECT,
    },
    "batch": {"items": _LIST, "counts": _OBJECT, "wall_s": _NUMBER},
}
# Blocks of scalars shown as ``block.key`` rows, and long top-level texts not shown as rows.
_BLOCKS = ("camera", "metrics", "hair3d", "strands", "head", "body", "mesh", "params", "counts")
_NOT_ROWS = {"schema_version", "frame", "projection", "world_frame"}


@dataclass(frozen=True)
class ViewedFolder:
    """A folder the viewer shows, as read and checked (see :func:`read_folder`).

    Attributes
    ----------
    path : Path
        The folder.
    kind : str
        ``"result"``, ``"synthetic scene"`` or ``"batch"`` (:data:`KINDS`).
    doc : str
        The file that describes it (``result.json``...).
    data : dict
        That file's top-level object without the keys of a wrong type; ``{}`` when unreadable.
    raw : object
        What the file held, as parsed (None when unreadable); shown verbatim on the page.
    problems : tuple of str
        One short line per problem found.
    """

    path: Path
    kind: str
    doc: str
    data: dict
    raw: object
    problems: tuple[str, ...]


def _esc(value) -> str:
    # Lone surrogates (from a non-UTF-8 file name or a "\ud800" in JSON) become "?".
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    return html.escape(text, quote=True)


def _url(name: str) -> str:
    """A file or folder name as a relative URL, escaped for an attribute."""
    return _esc(quote(name, safe=""))


def _short(text, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def viewer_js() -> bytes:
    """The vendored ``model-viewer.min.js`` (raises FileNotFoundError if not built)."""
    return (STATIC_DIR / VIEWER_JS).read_bytes()


def _inside(base: Path, path: Path) -> bool:
    """True when ``path``'s real location (links resolved) lies inside the real ``base``."""
    try:
        return path.resolve().is_relative_to(base.resolve())
    except (OSError, RuntimeError, ValueError):
        return False


def _is_plain_file(base: Path, path: Path) -> bool:
    """A regular file (not a FIFO or device, which could block a read) really inside ``base``."""
    try:
        return path.is_file() and _inside(base, path)
    except OSError:
        return False


def _present(path: Path) -> bool:
    try:
        return path.exists() or path.is_symlink()
    except OSError:
        return False


def _read_json(base: Path, name: str) -> tuple[object, str | None]:
    """(parsed value, None) or (None, why it cannot be read) for ``base/name``."""
    path = base / name
    try:
        if not _inside(base, path):
            return None, f"{name} links outside the folder; not read"
        if not path.is_file():
            return None, f"{name} is not a regular file"
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            return None, f"{name} is too large to read ({size} bytes)"
        return json.loads(path.read_bytes().decode("utf-8")), None
    except UnicodeDecodeError:
        return None, f"{name} is not UTF-8 text"
    except json.JSONDecodeError as exc:
        return None, (
            f"{name} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}; "
            "truncated?)"
        )
    except RecursionError:
        return None, f"{name} is nested too deeply to read"
    except ValueError as exc:
        return None, f"{name} is not valid JSON ({_short(exc, 120)})"
    except OSError as exc:
        return None, f"cannot read {name} ({exc.strerror or exc})"


def _type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {dict: "an object", list: "a list", str: "text"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )


def _names_line(what: str, names: list[str]) -> str:
    shown = ", ".join(_short(n, 80) for n in names[:_NAMES_SHOWN])
    more = f" (+{len(names) - _NAMES_SHOWN} more)" if len(names) > _NAMES_SHOWN else ""
    return f"{what}: {shown}{more}"


def _listed(data: dict) -> dict[str, str]:
    """Files the description lists (``artifacts``, companions, ``files``) -> their meaning."""
    out: dict[str, str] = {}
    artifacts = data.get("artifacts") or {}
    for name, meta in artifacts.items():
        meaning = meta.get("meaning", "") if isinstance(meta, dict) else ""
        out[name] = meaning if isinstance(meaning, str) else ""
    for meta in artifacts.values():
        companions = meta.get("companions") if isinstance(meta, dict) else None
        for c in companions if isinstance(companions, list) else ():
            out.setdefault(c if isinstance(c, str) else repr(c), "")
    files = data.get("files")
    if isinstance(files, dict):
        for name, meaning in files.items():
            out.setdefault(name, meaning if isinstance(meaning, str) else "")
    elif isinstance(files, list):
        for name in files:
            out.setdefault(name if isinstance(name, str) else repr(name), "")
    return out


def _companions(data: dict) -> set[str]:
    out = set()
    for meta in (data.get("artifacts") or {}).values():
        companions = meta.get("companions") if isinstance(meta, dict) else None
        if isinstance(companions, list):
            out.update(c for c in companions if isinstance(c, str))
    return out


def _check_listed(folder: Path, data: dict) -> list[str]:
    """Problems with the files the description lists: outside the folder, or missing."""
    outside, linked, missing = [], [], []
    for name in _listed(data):
        bad = (
            not name
            or name.startswith("/")
            or "\\" in name
            or "\x00" in name
            or ".." in name.split("/")
        )
        if bad:
            outside.append(name)
            continue
        path = folder / name
        try:
            if not _present(path):
                missing.append(name)
            elif not _inside(folder, path):
                linked.append(name)
            elif name.endswith("/") and not path.is_dir():
                missing.append(name)
        except OSError:
            missing.append(name)
    problems = []
    if outside:
        problems.append(_names_line("listed paths leading out of the folder (ignored)", outside))
    if linked:
        problems.append(_names_line("listed files linking outside the folder (not shown)", linked))
    if missing:
        problems.append(_names_line("listed files missing", missing))
    return problems


def _check(kind: str, doc: str, raw: object) -> tuple[dict, list[str]]:
    """(the usable top-level object, problems) of a parsed description of ``kind``."""
    if not isinstance(raw, dict):
        return {}, [f"{doc} holds {_type_name(raw)}, not an object"]
    problems = []
    data = dict(raw)
    for key, types in _EXPECTED[kind].items():
        if key in data and (
            not isinstance(data[key], types) or (isinstance(data[key], bool) and bool not in types)
        ):
            expected = " or ".join(dict.fromkeys(_type_name(t()) for t in types))
            problems.append(
                f"{doc}: {key!r} is {_type_name(data[key])}, expected {expected}; not shown"
            )
            del data[key]
    if kind == "result":
        version = raw.get("schema_version")
        if version is None:
            problems.append(
                f"{doc} has no schema_version (an older or foreign result); shown as far as "
                "possible"
            )
        elif version != results.SCHEMA_VERSION:
            problems.append(
                f"{doc} has schema_version {_short(json.dumps(version), 40)}; this viewer reads "
                f"{results.SCHEMA_VERSION}; shown as far as possible"
            )
        if "artifacts" not in raw:
            problems.append(f"{doc} lists no artifacts")
    return data, problems


def read_folder(folder: str | os.PathLike) -> ViewedFolder | None:
    """Read and check the folder's description (:data:`KINDS`); None when it has none.

    Never raises for what the folder holds: every problem is a line in ``problems``.
    """
    folder = Path(folder)
    for doc, kind in KINDS:
        if _present(folder / doc):
            raw, problem = _read_json(folder, doc)
            if problem is not None:
                return ViewedFolder(folder, kind, doc, {}, None, (problem,))
            data, problems = _check(kind, doc, raw)
            if kind != "batch":
                problems += _check_listed(folder, data)
            return ViewedFolder(folder, kind, doc, data, raw, tuple(problems))
    return None


def is_viewable(folder: str | os.PathLike) -> bool:
    """True for a real folder (not a link) holding one of the files of :data:`KINDS`."""
    folder = Path(folder)
    try:
        return (
            not folder.is_symlink()
            and folder.is_dir()
            and any(_present(folder / doc) for doc, _ in KINDS)
        )
    except OSError:
        return False


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def list_results(root: str | os.PathLike) -> list[str]:
    """Names of the sub-folders of ``root`` the viewer shows (:func:`is_viewable`), sorted.

    Symbolic links are not followed (the server never leaves ``root``); names starting with
    ``.`` or ``-`` and names that are not UTF-8 are skipped. Raises OSError when ``root``
    cannot be listed.
    """
    root = Path(root)
    return [
        p.name
        for p in sorted(root.iterdir())
        if not p.name.startswith((".", "-")) and _utf8(p.name) and is_viewable(p)
    ]


def _pictures(result_dir: Path, result: dict) -> list[tuple[str, str]]:
    """(file, caption) of the pictures to show: the known views first, then any other PNG
    file the description lists (textures, which are companions, and nested files excluded)."""
    shown = [(f, c) for f, c in IMAGE_VIEWS if (result_dir / f).is_file()]
    names = {f for f, _ in shown}
    if "parsing_vis.png" in names:
        shown = [(f, c) for f, c in shown if f != "parsing.png"]
        names.discard("parsing.png")
    names.add("parsing.png")
    companions = _companions(result)
    for f, meaning in _listed(result).items():
        if (
            f.endswith(".png")
            and f not in names
            and f not in companions
            and "/" not in f
            and "\\" not in f
            and not f.startswith(".")
            and (result_dir / f).is_file()
        ):
            names.add(f)
            shown.append((f, meaning))
    return shown


def _scalar(value) -> str | None:
    """A JSON scalar as table text; None for objects, lists and null."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (int, str)):
        return _short(value)
    return None


def _metrics_rows(result: dict) -> list[tuple[str, str]]:
    """(label, text) rows of a checked description (any kind): every value is type-checked
    here, whatever the description holds below its top level."""
    rows: list[tuple[str, str]] = []
    inp = result.get("input")
    if isinstance(inp, dict) and inp:
        w, h = _scalar(inp.get("width")), _scalar(inp.get("height"))
        if w is not None and h is not None:
            rows.append(("photo", f"{w} x {h} px"))
        if isinstance(inp.get("path"), str):
            rows.append(("photo file", _short(inp["path"])))
    face = result.get("face")
    if isinstance(face, dict) and face:
        if "faces_found" in face:
            rows.append(("faces found", _scalar(face["faces_found"]) or "?"))
        score = face.get("detector_score")
        if isinstance(score, (int, float)) and not isinstance(score, bool):
            rows.append(("face detector score", f"{score:.3f}"))
    for key, value in result.items():
        text = _scalar(value)
        if text is not None and key not in _NOT_ROWS:
            rows.append((key, text))
    for key in _BLOCKS:
        block = result.get(key)
        if isinstance(block, dict):
            for k, v in block.items():
                text = _scalar(v)
                if text is not None:
                    rows.append((f"{key}.{k}", text))
    artifacts = result.get("artifacts")
    for name, meta in (artifacts if isinstance(artifacts, dict) else {}).items():
        if isinstance(meta, dict) and "vertices" in meta:
            vertices, faces = _scalar(meta["vertices"]), _scalar(meta.get("faces"))
            rows.append((name, f"{vertices} vertices, {faces} faces"))
    timings = result.get("timings_s")
    if isinstance(timings, dict) and timings:
        seconds = [v for v in timings.values() if isinstance(v, (int, float))]
        if seconds and not any(isinstance(v, bool) for v in seconds):
            rows.append(("total time", f"{sum(seconds):.2f} s"))
    notes = result.get("notes")
    for note in notes if isinstance(notes, list) else ():
        rows.append(("note", _short(note)))
    items = result.get("items")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and item.get("status") == "failed":
            rows.append(("failed", _failure(item)))
    return rows


def _failure(item: dict) -> str:
    inp, err = str(item.get("input")), str(item.get("error"))
    return _short(err if err.startswith(inp) else f"{inp}: {err}")


def folder_scene(
    folder: str | os.PathLike, notes: list[str] | None = None, kind: str | None = None
) -> bytes | None:
    """The 3D scene (GLB bytes) shown for a folder, or None; see :func:`folder_layers`."""
    scene = folder_layers(folder, kind)
    if scene is None:
        return None
    if notes is not None:
        notes.extend(scene.notes)
    return scene.glb


def folder_layers(folder: str | os.PathLike, kind: str | None = None):
    """The 3D scene of a folder with its layers (:class:`monoscan.viewer.scene.Scene`), or
    None for a batch folder; see :func:`monoscan.viewer.scene.build_scene`. A synthetic
    scene's ``head.obj`` is in millimetres (``monoscan synth`` writes it so); everything else
    is in metres."""
    from monoscan.viewer.scene import build_scene

    folder = Path(folder)
    if kind is None:
        entry = read_folder(folder)
        kind = entry.kind if entry is not None else "result"
    if kind == "batch":
        return None
    return build_scene(folder, obj_unit_m=0.001 if kind == "synthetic scene" else 1.0)


# Shows and hides the layers of the merged scene (root nodes named ``monoscan_layer_<key>``)
# as their checkboxes say, and frames the camera again when the visible extent outgrows the
# framed one (the body turned on) or shrinks to under half of it (turned off again).
# <model-viewer> has no public API for node visibility: its three.js scene is the element's
# own property keyed by the symbol described "scene" (checked with the vendored 4.4.0 in
# tests/test_viewer_browser.py). Without it the switches are disabled and say so.
# ``data-layers`` on the element counts the switches applied, for tests.
_LAYER_JS = """
const mv = document.getElementById("scene");
const boxes = [...document.querySelectorAll("#layers input[data-layer]")];
const prefix = "monoscan_layer_";
function threeScene() {
  const key = Object.getOwnPropertySymbols(mv).find((s) => s.description === "scene");
  const scene = key && mv[key];
  return scene && typeof scene.traverse === "function" ? scene : null;
}
let applied = 0;
let framed = null;
async function apply() {
  const scene = threeScene();
  if (!scene) {
    boxes.forEach((b) => (b.disabled = true));
    document.getElementById("layers-note").textContent =
      "(this model-viewer cannot switch layers; all are shown)";
    mv.dataset.layers = "unsupported";
    return;
  }
  const on = new Set(boxes.filter((b) => b.checked).map((b) => b.dataset.layer));
  scene.traverse((o) => {
    if (o.name && o.name.startsWith(prefix)) o.visible = on.has(o.name.slice(prefix.length));
  });
  if (typeof scene.updateBoundingBox === "function") scene.updateBoundingBox();
  const box = scene.boundingBox;
  if (box && !box.isEmpty()) {
    // Frame again when what is shown outgrows the framed box or shrinks to under half of it.
    const size = (b) => b.max.distanceTo(b.min);
    const outgrown =
      !framed || !framed.clone().expandByScalar(0.02 * size(framed)).containsBox(box);
    if (outgrown || size(box) < 0.5 * size(framed)) {
      await mv.updateFraming();
      framed = box.clone();
    }
  }
  if (typeof scene.queueRender === "function") scene.queueRender();
  mv.dataset.layers = String(++applied);
}
mv.addEventListener("load", apply);
boxes.forEach((b) => b.addEventListener("change", apply));
if (mv.loaded) apply();
"""


def _layer_switches(layers) -> str:
    """The labelled checkboxes of the scene's layers and the script that applies them."""
    if not layers:
        return ""
    boxes = "".join(
        f'<label title="{_esc(layer.file)}"><input type="checkbox" data-layer="{_esc(layer.key)}"'
        f"{' checked' if layer.on else ''}> {_esc(layer.label)}</label>"
        for layer in layers
    )
    return (
        f'<fieldset id="layers"><legend>Layers</legend>{boxes}'
        f'<span id="layers-note"></span></fieldset><script type="module">{_LAYER_JS}</script>'
    )


def _figure(folder: Path, fname: str, caption: str, inline: bool, problems: dict) -> str:
    path = folder / fname
    # Only files really inside the folder (no symbolic link out) are shown or embedded.
    if not _is_plain_file(folder, path):
        if _present(path):
            problems[f"{fname} links outside the folder or is not a file; not shown"] = None
        return ""
    if inline:
        try:
            src = _data_uri(path.read_bytes(), "image/png")
        except OSError as exc:
            problems[f"cannot read {fname} ({exc.strerror or exc})"] = None
            return ""
    else:
        src = _url(fname)
    return (
        f'<figure><img src="{src}" alt="{_esc(fname)}">'
        f"<figcaption>{_esc(fname)}: {_esc(caption)}</figcaption></figure>"
    )


def _dump(raw: object) -> str:
    if raw is None:
        return "(not readable)"
    try:
        return json.dumps(raw, indent=2)
    except (RecursionError, ValueError) as exc:
        return f"(cannot be shown: {type(exc).__name__})"


def result_page(result_dir: str | os.PathLike, *, inline: bool, name: str | None = None) -> str:
    """HTML page of one folder: a result, a synthetic scene or a batch output (:data:`KINDS`).

    Always returns a page: problems with the folder are listed on it.

    Parameters
    ----------
    result_dir : path
        ``OUT/<stem>/`` with ``result.json`` (or ``scene.json``, ``batch.json``).
    inline : bool
        Embed pictures, the 3D scene and the JavaScript (``report.html``); otherwise link them
        relative to the page (``<name>/...`` on the live server, served at ``/<name>/``).
    name : str, optional
        Title; default the folder name.
    """
    folder = Path(result_dir)
    name = name or folder.name
    entry = read_folder(folder)
    if entry is None:
        entry = ViewedFolder(
            folder, "result", results.RESULT_JSON, {}, None, (f"no {results.RESULT_JSON}",)
        )
    problems = dict.fromkeys(entry.problems)  # ordered, without repeats

    figures = []
    if entry.kind != "batch":
        try:
            for fname, caption in _pictures(folder, entry.data):
                figures.append(_figure(folder, fname, caption, inline, problems))
        except OSError as exc:
            problems[f"cannot list the pictures ({exc.strerror or exc})"] = None

    try:
        scene = folder_layers(folder, entry.kind)
        glb, layers = (scene.glb, scene.layers) if scene is not None else (None, ())
        problems.update(dict.fromkeys(scene.notes if scene is not None else ()))
    except Exception as exc:  # noqa: BLE001  a page is always shown; the problem is listed
        logging.getLogger(__name__).warning("%s: no 3D scene", folder, exc_info=True)
        glb, layers = None, ()
        problems[f"the 3D scene could not be made ({type(exc).__name__})"] = None
    if glb is None:
        model = "<p>No mesh in this result.</p>"
    else:
        src = _data_uri(glb, "model/gltf-binary") if inline else "scene.glb"
        model = (
            f'<model-viewer id="scene" src="{src}" alt="3D view of {_esc(name)}" '
            'camera-controls interaction-prompt="none" shadow-intensity="0" '
            f'exposure="{EXPOSURE}" camera-orbit="0deg 85deg auto" '
            'environment-image="neutral"></model-viewer>'
            f"{_layer_switches(layers)}"
            "<p>Drag to orbit, wheel to zoom, right-drag to pan. Metres, y up.</p>"
        )
    script = f'<script type="module" src="{STATIC_URL}{VIEWER_JS}"></script>'
    if inline:
        try:
            js = _data_uri(viewer_js(), "text/javascript")
            script = f'<script type="module" src="{js}"></script>'
        except OSError:
            script = ""
            problems["the 3D viewer's JavaScript is not installed (viewer/static)"] = None

    rows = "".join(
        f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in _metrics_rows(entry.data)
    )
    kind = "" if entry.kind == "result" else f"<p>A {_esc(entry.kind)} folder.</p>"
    if entry.kind == "batch" and not inline:
        kind += "<p>To see its results: <code>monoscan view</code> this folder.</p>"
    issues = "".join(f'<li class="failed">{_esc(_short(p))}</li>' for p in problems)
    issues = f"<h2>Problems</h2><ul>{issues}</ul>" if issues else ""
    back = "" if inline else '<a href="../">all results</a>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>monoscan: {_esc(name)}</title>
<style>{_CSS}</style>{script}</head>
<body><header><h1>monoscan: {_esc(name)}</h1>{back}</header><main>{kind}{issues}
<div class="grid"><section><h2>3D</h2>{model}</section>
<section><h2>Metrics</h2><table>{rows}</table></section></div>
<h2>Pictures</h2><div class="grid">{"".join(figures) or "<p>none</p>"}</div>
<h2>{_esc(entry.doc)}</h2><details><summary>show</summary><pre>{_esc(_dump(entry.raw))}</pre>
</details></main></body></html>
"""


def index_page(root: str | os.PathLike) -> str:
    """HTML list of the folders under ``root`` (with ``batch.json`` failures, if any).

    Always returns a page: a folder with problems is marked, a root that cannot be listed or
    an unreadable ``batch.json`` is a line under *Problems*.
    """
    root = Path(root)
    problems: list[str] = []
    try:
        names = list_results(root)
    except OSError as exc:
        names = []
        problems.append(f"cannot list {root.name or root} ({exc.strerror or exc})")
    cards = []
    for name in names:
        entry = read_folder(root / name)
        img = ""
        if entry is not None and entry.kind != "batch":
            try:
                pictures = _pictures(root / name, entry.data)
            except OSError:
                pictures = []
            thumb = next(
                (f for f, _ in pictures if _is_plain_file(root / name, root / name / f)), None
            )
            if thumb:
                img = f'<img src="{_url(name)}/{_url(thumb)}" alt="">'
        label = _esc(name)
        if entry is not None and entry.kind != "result":
            label += f" ({_esc(entry.kind)})"
        if entry is not None and entry.problems:
            label += ' <span class="failed">(problems)</span>'
        cards.append(
            f'<figure class="card"><a href="{_url(name)}/">{img}</a>'
            f'<figcaption><a href="{_url(name)}/">{label}</a></figcaption>'
            "</figure>"
        )
    failed = []
    if _present(root / results.BATCH_JSON):
        batch, problem = _read_json(root, results.BATCH_JSON)
        if problem is not None:
            problems.append(problem)
        else:
            data, found = _check("batch", results.BATCH_JSON, batch)
            problems += found
            items = data.get("items") or []
            failed = [i for i in items if isinstance(i, dict) and i.get("status") == "failed"]
    fails = "".join(f'<li class="failed">{_esc(_failure(i))}</li>' for i in failed)
    issues = "".join(f'<li class="failed">{_esc(_short(p))}</li>' for p in problems)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>monoscan results</title>
<style>{_CSS}</style></head>
<body><header><h1>monoscan results: {len(cards)}</h1></header><main>
{f"<h2>Problems</h2><ul>{issues}</ul>" if issues else ""}
<div class="grid" id="results">{"".join(cards) or "<p>No results yet.</p>"}</div>
{f"<h2>Failed</h2><ul>{fails}</ul>" if fails else ""}
</main></body></html>
"""
