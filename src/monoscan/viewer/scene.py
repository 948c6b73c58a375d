"""The one GLB the viewer shows for a result: the face (or head) mesh plus the hair strands.

``<model-viewer>`` displays a single glTF, so the mesh GLB the pipeline wrote and the strands
(as ``LINES`` with per-vertex colours) are merged here into one binary glTF, in memory, never
written into the result folder. Everything stays in the world frame (metres, y up, z toward
the camera), which is glTF's own frame.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from pathlib import Path

import numpy as np

from monoscan.io.gltf import GLB_BIN, GLB_JSON, pack_glb, pad4
from monoscan.io.results import MESH_FORMATS, STRAND_FILES, mesh_name

__all__ = ["MESH_CANDIDATES", "STRAND_CANDIDATES", "merge_glb", "scene_glb", "split_glb"]

#: Mesh files shown, first readable one wins (a head already contains the face; ``body.*`` is
#: what ``monoscan body`` writes).
MESH_CANDIDATES = tuple(
    mesh_name(name, fmt) for name in ("head", "face", "body") for fmt in MESH_FORMATS
)
#: Strand files shown, first found wins.
STRAND_CANDIDATES = (
    STRAND_FILES["glb"],
    "strands.glb",
    STRAND_FILES["ply"],
    STRAND_FILES["data"],
    STRAND_FILES["usdc"],
)
#: At most this many strands go to the browser (an evenly spaced subset).
MAX_VIEW_STRANDS = 4000

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


def merge_glb(parts: list[bytes]) -> bytes:
    """Merge GLB files (each with at most one embedded buffer) into one scene.

    Every part's default scene's root nodes become root nodes of the merged scene; indices are
    shifted, binary chunks concatenated (4-byte aligned). Extensions used by any part are kept.
    """
    out: dict = {"asset": {"version": "2.0", "generator": "monoscan viewer"}, "scene": 0}
    binary = b""
    roots: list[int] = []
    used: set[str] = set()
    for data in parts:
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
        roots.extend(n + offsets["nodes"] for n in scene.get("nodes", []))
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


def _inside(base: Path, p: Path) -> bool:
    """A regular file really inside the folder ``base`` (resolved), no link out."""
    try:
        return p.is_file() and p.resolve().parent == base
    except (OSError, RuntimeError):
        return False


def scene_files(result_dir: str | os.PathLike) -> tuple[Path | None, Path | None]:
    """(mesh file, strands file) the viewer shows for ``result_dir``; None where absent."""
    meshes, strands = _candidates(Path(result_dir))
    return next(iter(meshes), None), next(iter(strands), None)


def _candidates(d: Path) -> tuple[list[Path], list[Path]]:
    base = d.resolve()
    meshes = [d / n for n in MESH_CANDIDATES if _inside(base, d / n)]
    strands = [d / n for n in STRAND_CANDIDATES if _inside(base, d / n)]
    return meshes, strands


def _first_readable(paths: list[Path], read, what: str, notes: list[str] | None) -> bytes | None:
    for path in paths:
        try:
            return read(path)
        except Exception as exc:  # noqa: BLE001  a broken file is a note; the next one is tried
            _log.warning("%s: %s not shown: %s", path, what, exc)
            if notes is not None:
                reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
                notes.append(f"{path.name} cannot be read as a {what}; not shown ({reason})")
    return None


def scene_glb(
    result_dir: str | os.PathLike, notes: list[str] | None = None, obj_unit_m: float = 1.0
) -> bytes | None:
    """GLB bytes of the result's mesh and strands merged, or None when it has neither.

    A mesh or strands file that cannot be read is left out (the next candidate is tried, and
    the rest of the scene is still shown); a short line saying so goes to ``notes``.
    ``obj_unit_m`` is the length unit of OBJ meshes in metres (a synthetic scene's
    ``head.obj`` is in millimetres); every other file is in metres already.
    """
    meshes, strands = _candidates(Path(result_dir))
    parts = [
        part
        for part in (
            _first_readable(meshes, lambda p: _mesh_glb(p, obj_unit_m), "mesh", notes),
            _first_readable(strands, _strands_glb, "strands file", notes),
        )
        if part is not None
    ]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    try:
        return merge_glb(parts)
    except Exception as exc:  # noqa: BLE001  an odd but valid GLB: show the mesh alone
        _log.warning("%s: strands not merged: %s", result_dir, exc)
        if notes is not None:
            notes.append(f"the strands could not be added to the mesh ({type(exc).__name__})")
        return parts[0]
