"""The one GLB the viewer shows for a result: every 3D layer of it, each switchable.

``<model-viewer>`` displays a single glTF, so the meshes the pipeline wrote (head, face, hair
volume, relief, body) and the strands (as ``LINES`` with per-vertex colours) are merged here
into one binary glTF, in memory, never written into the result folder. Each layer is one root
node named ``monoscan_layer_<key>`` (:data:`LAYER_NODE_PREFIX`), which the page's checkboxes
show and hide. Everything stays in the world frame (metres, y up, z toward the camera, origin
between the ears), which is glTF's own frame; a ``reconstruct --body`` run's ``body/`` mesh is
in the same frame as its head.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monoscan.io.gltf import GLB_BIN, GLB_JSON, pack_glb, pad4
from monoscan.io.results import (
    BODY_DIR,
    HAIR_VOLUME,
    MESH_FORMATS,
    RELIEF,
    STRAND_FILES,
    mesh_name,
)

__all__ = [
    "LAYERS",
    "LAYER_NODE_PREFIX",
    "Layer",
    "Scene",
    "ShownLayer",
    "build_scene",
    "merge_glb",
    "scene_files",
    "scene_glb",
    "split_glb",
]


@dataclass(frozen=True)
class Layer:
    """A kind of 3D layer a result may hold.

    Attributes
    ----------
    key : str
        Short name (``head``, ``strands``...); the node ``monoscan_layer_<key>`` holds it.
    label : str
        What the page's checkbox says.
    files : tuple of str
        Candidate files, relative to the result folder; the first readable one is shown.
    strands : bool
        The files are hair strands (drawn as coloured lines), not meshes.
    """

    key: str
    label: str
    files: tuple[str, ...]
    strands: bool = False


def _meshes(name: str, folder: str = "") -> tuple[str, ...]:
    # GLB first: it is what the browser reads, with no conversion.
    order = ("glb", *(f for f in MESH_FORMATS if f != "glb"))
    return tuple(f"{folder}{mesh_name(name, fmt)}" for fmt in order)


#: Strand files, first readable one wins.
STRAND_CANDIDATES = (
    STRAND_FILES["glb"],
    "strands.glb",
    STRAND_FILES["ply"],
    STRAND_FILES["data"],
    STRAND_FILES["usdc"],
)
#: Every layer the viewer knows, in the order the page lists them. ``body/body.*`` is what
#: ``reconstruct --body`` writes, ``body.*`` what ``monoscan body`` writes.
LAYERS = (
    Layer("head", "head (textured)", _meshes("head")),
    Layer("strands", "hair strands (coloured)", STRAND_CANDIDATES, strands=True),
    Layer("hair_volume", "hair volume (translucent)", (HAIR_VOLUME,)),
    Layer("face", "face mesh (textured)", _meshes("face")),
    Layer("relief", "relief (2.5D, photo colours)", (RELIEF,)),
    Layer("body", "body", _meshes("body") + _meshes("body", f"{BODY_DIR}/")),
)
#: Name prefix of the root node of each layer in the merged GLB.
LAYER_NODE_PREFIX = "monoscan_layer_"
#: At most this many strands go to the browser (an evenly spaced subset).
MAX_VIEW_STRANDS = 4000
#: The hair volume is drawn as a translucent shell around the strands (linear RGBA).
HAIR_VOLUME_RGBA = (0.20, 0.12, 0.06, 0.35)


@dataclass(frozen=True)
class ShownLayer:
    """A layer of one result's scene: which file it comes from, and whether it starts on."""

    key: str
    label: str
    file: str
    on: bool


@dataclass(frozen=True)
class Scene:
    """A result's merged 3D scene (:func:`build_scene`).

    Attributes
    ----------
    glb : bytes or None
        The merged GLB; None when no layer could be read.
    layers : tuple of ShownLayer
        The layers in it, in :data:`LAYERS` order.
    notes : tuple of str
        One short line per file left out (unreadable, not merged).
    """

    glb: bytes | None
    layers: tuple[ShownLayer, ...]
    notes: tuple[str, ...]


_log = logging.getLogger(__name__)

# glTF top-level arrays and the fields that point into each of them.
_REFS = {
    "nodes": {"mesh": "meshes", "children": "nodes", "skin": "skins", "camera": "cameras"},
    "meshes": {},
    "accessors": {"bufferView": "bufferViews"},
    "bufferViews": {},
    "materials": {},
    "textures": {"source": "images", "sampler": "samplers"},
    "images": {"bufferView": "bufferViews"},
    "samplers": {},
    "skins": {"joints": "nodes", "inverseBindMatrices": "accessors", "skeleton": "nodes"},
    "cameras": {},
}


def split_glb(data: bytes) -> tuple[dict, bytes]:
    """(JSON, binary chunk) of GLB bytes."""
    magic, version, _ = struct.unpack_from("<4sII", data, 0)
    if magic != b"glTF" or version != 2:
        raise ValueError("not a glTF 2 binary")
    pos, js, binary = 12, None, b""
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from("<II", data, pos)
        chunk = data[pos + 8 : pos + 8 + length]
        pos += 8 + length
        if kind == GLB_JSON and js is None:
            js = json.loads(chunk.decode("utf-8"))
        elif kind == GLB_BIN and not binary:
            binary = chunk
    if js is None:
        raise ValueError("GLB without a JSON chunk")
    return js, binary


def merge_glb(parts: list[bytes], names: list[str] | None = None) -> bytes:
    """Merge GLB files (each with at most one embedded buffer) into one scene.

    Every part's default scene's root nodes become root nodes of the merged scene; indices are
    shifted, binary chunks concatenated (4-byte aligned). Extensions used by any part are kept.
    With ``names`` (one per part), each part's root nodes become the children of one new root
    node of that name instead.
    """
    if names is not None and len(names) != len(parts):
        raise ValueError("one name per part")
    out: dict = {"asset": {"version": "2.0", "generator": "monoscan viewer"}, "scene": 0}
    binary = b""
    roots: list[int] = []
    used: set[str] = set()
    for k, data in enumerate(parts):
        js, blob = split_glb(data)
        offsets = {key: len(out.get(key, [])) for key in _REFS}
        base = len(binary)
        binary += pad4(blob)
        for key, refs in _REFS.items():
            for item in js.get(key, []):
                item = json.loads(json.dumps(item))
                for field, target in refs.items():
                    if field in item:
                        v = item[field]
                        item[field] = (
                            [i + offsets[target] for i in v]
                            if isinstance(v, list)
                            else v + offsets[target]
                        )
                if key == "bufferViews":
                    item["buffer"] = 0
                    item["byteOffset"] = item.get("byteOffset", 0) + base
                if key == "meshes":
                    for prim in item.get("primitives", []):
                        prim["attributes"] = {
                            a: i + offsets["accessors"] for a, i in prim["attributes"].items()
                        }
                        if "indices" in prim:
                            prim["indices"] += offsets["accessors"]
                        if "material" in prim:
                            prim["material"] += offsets["materials"]
                        for target in prim.get("targets", []):
                            for a in target:
                                target[a] += offsets["accessors"]
                if key == "materials":
                    _shift_textures(item, offsets["textures"])
                out.setdefault(key, []).append(item)
        scenes = js.get("scenes") or [{"nodes": list(range(len(js.get("nodes", []))))}]
        scene = scenes[js.get("scene", 0)]
        part_roots = [n + offsets["nodes"] for n in scene.get("nodes", [])]
        if names is None:
            roots.extend(part_roots)
        else:
            out.setdefault("nodes", []).append({"name": names[k], "children": part_roots})
            roots.append(len(out["nodes"]) - 1)
        used.update(js.get("extensionsUsed", []))
    out["scenes"] = [{"nodes": roots}]
    out["buffers"] = [{"byteLength": len(binary)}]
    if used:
        out["extensionsUsed"] = sorted(used)
    return pack_glb(out, binary)


def _shift_textures(obj, offset: int) -> None:
    """Shift every ``{"index": i}`` texture reference inside a material."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k.endswith("Texture") and isinstance(v, dict) and "index" in v:
                v["index"] += offset
            _shift_textures(v, offset)
    elif isinstance(obj, list):
        for v in obj:
            _shift_textures(v, offset)


def _mesh_glb(path: Path, obj_unit_m: float = 1.0) -> bytes:
    """GLB bytes of a mesh file; raises when it cannot be read or holds no mesh."""
    if path.suffix == ".glb":
        data = path.read_bytes()
        split_glb(data)  # raises on anything that is not a GLB
        return data
    import trimesh

    # trimesh reads an OBJ's material and texture only from inside the file's folder.
    scene = trimesh.load(path, force="scene")
    if scene.is_empty:
        raise ValueError("no mesh in it")
    if path.suffix == ".obj" and obj_unit_m != 1.0:
        scene = scene.scaled(obj_unit_m)
    return scene.export(file_type="glb")


def _strands_glb(path: Path) -> bytes:
    from monoscan.io.strands import read_strands
    from monoscan.io.strands.glb import encode_glb

    strands = read_strands(path)
    if strands.n_strands == 0:
        raise ValueError("no strands in it")
    if strands.n_strands > MAX_VIEW_STRANDS:
        keep = np.linspace(0, strands.n_strands - 1, MAX_VIEW_STRANDS).round().astype(int)
        strands = strands.subset(np.unique(keep))
    return encode_glb(strands, colors="auto")


def _tint_glb(data: bytes, rgba: tuple[float, float, float, float]) -> bytes:
    """The GLB with every primitive drawn in one (alpha-blended when ``rgba[3] < 1``) colour."""
    js, blob = split_glb(data)
    material = {
        "name": "monoscan_tint",
        "pbrMetallicRoughness": {
            "baseColorFactor": [float(c) for c in rgba],
            "metallicFactor": 0.0,
            "roughnessFactor": 0.9,
        },
        "doubleSided": False,
    }
    if rgba[3] < 1.0:
        material["alphaMode"] = "BLEND"
    js["materials"] = [*js.get("materials", []), material]
    for mesh in js.get("meshes", []):
        for prim in mesh.get("primitives", []):
            prim["material"] = len(js["materials"]) - 1
            prim.get("attributes", {}).pop("COLOR_0", None)
    return pack_glb(js, blob)


def _inside(base: Path, p: Path) -> bool:
    """``p`` (``base/name`` or ``base/sub/name``, ``base`` resolved) is a regular file really
    in that folder: neither the file nor its sub-folder links out."""
    try:
        folder = p.parent
        return p.is_file() and folder.resolve() == folder and p.resolve().parent == folder
    except (OSError, RuntimeError):
        return False


def _present(d: Path) -> list[tuple[Layer, list[Path]]]:
    """(layer, its candidate files present) for every layer with one, in :data:`LAYERS` order."""
    base = d.resolve()
    out = []
    for layer in LAYERS:
        paths = [d / n for n in layer.files if _inside(base, base / n)]
        if paths:
            out.append((layer, paths))
    return out


def scene_files(result_dir: str | os.PathLike) -> dict[str, Path]:
    """Layer key -> the first candidate file present for it in ``result_dir`` (links out and
    non-files ignored); the file actually shown may be a later one when that cannot be read."""
    return {layer.key: paths[0] for layer, paths in _present(Path(result_dir))}


def _first_readable(
    paths: list[Path], read, what: str, notes: list[str]
) -> tuple[Path | None, bytes | None]:
    for path in paths:
        try:
            return path, read(path)
        except Exception as exc:  # noqa: BLE001  a broken file is a note; the next one is tried
            _log.warning("%s: %s not shown: %s", path, what, exc)
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
            notes.append(f"{_rel(path)} cannot be read as a {what}; not shown ({reason})")
    return None, None


def _rel(path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.parent.name == BODY_DIR else path.name


def _defaults(keys: list[str]) -> set[str]:
    """Layers shown when the page opens: the head (else the face) and the strands; a body
    alone (``monoscan body``) is shown; otherwise the first layer there is."""
    on = {k for k in ("head", "strands") if k in keys}
    if "head" not in keys and "face" in keys:
        on.add("face")
    if not on and "body" in keys:
        on.add("body")
    if not on and keys:
        on.add(keys[0])
    return on


_CACHE: OrderedDict[tuple, Scene] = OrderedDict()
_CACHE_LOCK = threading.Lock()
#: Scenes kept in memory, so a page and its ``scene.glb`` request build it once.
_CACHE_SIZE = 4


def _stamp(paths: list[Path]) -> tuple:
    out = []
    for p in paths:
        st = p.stat()
        out.append((str(p), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def build_scene(result_dir: str | os.PathLike, obj_unit_m: float = 1.0) -> Scene:
    """Every 3D layer of ``result_dir`` merged into one GLB (see :data:`LAYERS`).

    A file that cannot be read is left out (the layer's next candidate is tried, and the rest
    of the scene is still shown); a short line saying so goes to ``notes``. ``obj_unit_m`` is
    the length unit of OBJ meshes in metres (a synthetic scene's ``head.obj`` is in
    millimetres); every other file is in metres already. The last few scenes built are kept in
    memory, keyed on their files' size and modification time.
    """
    d = Path(result_dir)
    present = _present(d)
    try:
        key = (str(d.resolve()), obj_unit_m, _stamp([p for _, ps in present for p in ps]))
    except OSError:
        key = None
    if key is not None:
        with _CACHE_LOCK:
            if key in _CACHE:
                _CACHE.move_to_end(key)
                return _CACHE[key]
    scene = _build(present, obj_unit_m)
    if key is not None:
        with _CACHE_LOCK:
            _CACHE[key] = scene
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return scene


def _build(present: list[tuple[Layer, list[Path]]], obj_unit_m: float) -> Scene:
    notes: list[str] = []
    found: list[tuple[Layer, Path, bytes]] = []
    for layer, paths in present:
        if layer.strands:
            path, part = _first_readable(paths, _strands_glb, "strands file", notes)
        else:
            path, part = _first_readable(paths, lambda p: _mesh_glb(p, obj_unit_m), "mesh", notes)
        if part is None:
            continue
        try:
            if layer.key == "hair_volume":
                part = _tint_glb(part, HAIR_VOLUME_RGBA)
            merge_glb([part], [LAYER_NODE_PREFIX + layer.key])  # one that cannot merge: a note
        except Exception as exc:  # noqa: BLE001  an odd but valid GLB: the rest is still shown
            _log.warning("%s: not merged: %s", path, exc)
            notes.append(f"{_rel(path)} could not be added to the 3D scene ({type(exc).__name__})")
            continue
        found.append((layer, path, part))
    if not found:
        return Scene(None, (), tuple(notes))
    on = _defaults([layer.key for layer, _, _ in found])
    glb = merge_glb(
        [part for _, _, part in found], [LAYER_NODE_PREFIX + layer.key for layer, _, _ in found]
    )
    layers = tuple(
        ShownLayer(layer.key, layer.label, _rel(path), layer.key in on) for layer, path, _ in found
    )
    return Scene(glb, layers, tuple(notes))


def scene_glb(
    result_dir: str | os.PathLike, notes: list[str] | None = None, obj_unit_m: float = 1.0
) -> bytes | None:
    """GLB bytes of the result's layers merged (:func:`build_scene`), or None when it has none;
    lines about files left out are appended to ``notes``."""
    scene = build_scene(result_dir, obj_unit_m)
    if notes is not None:
        notes.extend(scene.notes)
    return scene.glb
