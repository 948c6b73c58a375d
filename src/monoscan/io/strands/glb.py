"""Strands as a binary glTF (``.glb``) with ``LINES`` primitives, for web viewers.

glTF is metres, y up, right-handed with +z toward the viewer: the monoscan world frame, so
points are written unchanged. One mesh, one primitive with ``mode = 1`` (LINES),
``POSITION`` (float32 VEC3), optional ``COLOR_0`` (float32 VEC3) and uint32 ``indices``
holding the segment pairs of every strand, root to tip. Colours (``colors=``): ``"auto"``
uses the stored colours if any else ``"direction"`` (0.5 + 0.5 * unit growth direction,
the usual normal-map colouring), or ``"none"``. ``COLOR_0`` is linear RGB in glTF, as
:class:`~monoscan.core.strands.Strands` colours are, so they are written unchanged.

The primitive is bound to a PBR material (``metallicFactor`` 0): with ``COLOR_0`` its
``baseColorFactor`` is white (the vertex colours are the colour); without, it is the default
hair colour (:data:`monoscan.core.colour.DARK_BROWN_SRGB`, linearised). Blender, Unreal and
three.js show vertex colours only through a material.

Blender: its glTF importer (4.2) turns ``LINES`` into loose mesh edges, which do not render,
and drops ``COLOR_0`` on them. The colours therefore also go under the application-specific
attribute ``_COLOR_0`` (:data:`BLENDER_COLOR`; the same accessor, no extra bytes), which
Blender imports as a point attribute of that name: give the edges a thickness (geometry nodes
Mesh to Curve) and read it with an Attribute node. For hair in Blender prefer the USD file.

:func:`read_glb` reads back the ``LINES`` primitives of a GLB (any writer) as strands.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np

from monoscan.core.colour import DARK_BROWN_SRGB, srgb_to_linear
from monoscan.core.errors import FormatError, InputError
from monoscan.core.strands import Strands
from monoscan.io.atomic import atomic_path
from monoscan.io.gltf import GLB_BIN, GLB_JSON, pack_glb, pad4
from monoscan.io.strands._common import (
    chains_from_edges,
    check_strands,
    make_strands,
    read_file_bytes,
)

__all__ = ["BLENDER_COLOR", "encode_glb", "parse_glb", "read_glb", "write_glb"]

#: Name of the application-specific copy of ``COLOR_0`` that Blender imports on line primitives.
BLENDER_COLOR = "_COLOR_0"

_COMPONENT = {5120: "i1", 5121: "u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
_NCOMP = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def encode_glb(strands: Strands, *, colors: str = "auto") -> bytes:
    """Encode strands as GLB bytes (see module doc for the layout and ``colors``)."""
    s = check_strands(strands)
    if colors not in ("auto", "direction", "none"):
        raise InputError(f"GLB colors must be 'auto', 'direction' or 'none', not {colors!r}")
    if np.any(s.counts < 2):
        s = s.subset(s.counts >= 2)
    if s.n_points >= 2**32:
        raise InputError("too many points for a GLB (uint32 indices)")
    pos = np.ascontiguousarray(s.points, dtype="<f4")
    idx = s.segments.astype("<u4").ravel()
    col = None
    if colors == "auto" and s.colors is not None:
        col = np.clip(np.asarray(s.colors, "<f4"), 0, 1)
    elif colors in ("auto", "direction"):
        col = (0.5 + 0.5 * s.tangents).astype("<f4")
    blobs = [pos.tobytes(), idx.tobytes()] + ([col.tobytes()] if col is not None else [])
    views, offset, binary = [], 0, b""
    for i, blob in enumerate(blobs):
        target = 34963 if i == 1 else 34962
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(blob), "target": target})
        binary += pad4(blob)
        offset = len(binary)
    lo = pos.min(axis=0).tolist() if len(pos) else [0.0, 0.0, 0.0]
    hi = pos.max(axis=0).tolist() if len(pos) else [0.0, 0.0, 0.0]
    accessors = [
        {"bufferView": 0, "componentType": 5126, "count": len(pos), "type": "VEC3",
         "min": lo, "max": hi},
        {"bufferView": 1, "componentType": 5125, "count": len(idx), "type": "SCALAR"},
    ]  # fmt: skip
    attributes = {"POSITION": 0}
    if col is not None:
        accessors.append(
            {"bufferView": 2, "componentType": 5126, "count": len(col), "type": "VEC3"}
        )
        attributes["COLOR_0"] = 2
        # The same accessor again under an application-specific name: Blender's glTF importer
        # keeps COLOR_0 only on triangles but imports "_" attributes on any primitive.
        attributes[BLENDER_COLOR] = 2
    base = [1.0, 1.0, 1.0] if col is not None else srgb_to_linear(DARK_BROWN_SRGB / 255.0).tolist()
    material = {
        "name": "hair_strands_material",
        "pbrMetallicRoughness": {"baseColorFactor": [*base, 1.0], "metallicFactor": 0.0,
                                 "roughnessFactor": 0.6},
    }  # fmt: skip
    gltf = {
        "asset": {"version": "2.0", "generator": "monoscan"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "hair_strands"}],
        "meshes": [{"name": "hair_strands",
                    "primitives": [{"attributes": attributes, "indices": 1, "mode": 1,
                                    "material": 0}],
                    "extras": {"n_strands": s.n_strands, "units": "m", "up": "y"}}],
        "materials": [material],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
    }  # fmt: skip
    return pack_glb(gltf, binary)


def write_glb(path: str | os.PathLike, strands: Strands, *, colors: str = "auto") -> Path:
    """Write strands as a GLB line set atomically; returns the path."""
    payload = encode_glb(strands, colors=colors)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return Path(path)


def _chunks(data: bytes, p: Path) -> tuple[dict, bytes]:
    if len(data) < 20:
        raise FormatError(f"{p}: file too short for a GLB")
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    if magic != b"glTF":
        raise FormatError(f"{p}: not a GLB file (magic {magic!r})")
    if version != 2:
        raise FormatError(f"{p}: unsupported glTF container version {version}")
    if total != len(data):
        raise FormatError(f"{p}: GLB header says {total} bytes but the file has {len(data)}")
    pos, js, binary = 12, None, b""
    while pos < len(data):
        if pos + 8 > len(data):
            raise FormatError(f"{p}: truncated GLB chunk header")
        length, kind = struct.unpack_from("<II", data, pos)
        pos += 8
        if pos + length > len(data):
            raise FormatError(f"{p}: GLB chunk of {length} bytes runs past the end of the file")
        chunk = data[pos : pos + length]
        pos += length
        if kind == GLB_JSON and js is None:
            try:
                js = json.loads(chunk.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise FormatError(f"{p}: GLB JSON chunk is not valid JSON ({exc})") from None
            except RecursionError:
                raise FormatError(f"{p}: GLB JSON chunk is nested too deeply") from None
        elif kind == GLB_BIN and not binary:
            binary = chunk
    if not isinstance(js, dict):
        raise FormatError(f"{p}: GLB has no JSON chunk")
    return js, binary


def _accessor(js: dict, binary: bytes, i: object, p: Path) -> np.ndarray:
    try:
        acc = js["accessors"][i]
        view = js["bufferViews"][acc["bufferView"]]
        if view.get("buffer", 0) != 0:
            raise FormatError(f"{p}: GLB accessor refers to an external buffer")
        dtype = np.dtype(_COMPONENT[acc["componentType"]])
        ncomp = _NCOMP[acc["type"]]
        count = int(acc["count"])
        start = int(view.get("byteOffset", 0)) + int(acc.get("byteOffset", 0))
        stride = int(view.get("byteStride", 0)) or dtype.itemsize * ncomp
    except FormatError:
        raise
    except (KeyError, IndexError, TypeError, ValueError):
        raise FormatError(f"{p}: GLB accessor {i!r} is malformed") from None
    if count < 0 or start < 0 or stride < dtype.itemsize * ncomp:
        raise FormatError(f"{p}: GLB accessor {i} has a negative or inconsistent size")
    end = start + (count - 1) * stride + dtype.itemsize * ncomp if count else start
    if end > len(binary) or end > start + int(view.get("byteLength", 0)):
        raise FormatError(f"{p}: GLB accessor {i} runs past its buffer")
    if count == 0:
        return np.zeros((0, ncomp), dtype=dtype)
    raw = np.frombuffer(binary, np.uint8, end - start, start)
    rows = np.lib.stride_tricks.as_strided(
        raw, shape=(count, dtype.itemsize * ncomp), strides=(stride, 1)
    )
    return np.ascontiguousarray(rows).view(dtype).reshape(count, ncomp)


def parse_glb(data: bytes, path: str | os.PathLike = "<bytes>") -> Strands:
    """Parse GLB bytes: all ``LINES`` primitives (node transforms ignored) as strands."""
    p = Path(path)
    js, binary = _chunks(data, p)
    parts = []
    meshes = js.get("meshes", [])
    if not isinstance(meshes, list):
        raise FormatError(f"{p}: GLB 'meshes' is not a list")
    for mesh in meshes:
        prims = mesh.get("primitives", []) if isinstance(mesh, dict) else None
        if not isinstance(prims, list):
            raise FormatError(f"{p}: GLB mesh has malformed primitives")
        for prim in prims:
            if not isinstance(prim, dict) or prim.get("mode", 4) != 1:
                continue
            attrs = prim.get("attributes")
            if not isinstance(attrs, dict) or "POSITION" not in attrs:
                raise FormatError(f"{p}: GLB line primitive has no POSITION")
            with np.errstate(invalid="ignore"):  # signalling NaNs: refused with the points
                pos = _accessor(js, binary, attrs["POSITION"], p).astype(np.float64)
            if pos.shape[1] != 3:
                raise FormatError(f"{p}: GLB POSITION must be VEC3")
            if "indices" in prim:
                idx = _accessor(js, binary, prim["indices"], p).ravel().astype(np.int64)
            else:
                idx = np.arange(len(pos), dtype=np.int64)
            if len(idx) % 2:
                raise FormatError(f"{p}: GLB LINES index count {len(idx)} is odd")
            col = None
            if "COLOR_0" in attrs:
                c = _accessor(js, binary, attrs["COLOR_0"], p)
                if len(c) != len(pos):
                    raise FormatError(f"{p}: GLB COLOR_0 count differs from POSITION")
                scale = (
                    {1: 255.0, 2: 65535.0}.get(c.dtype.itemsize, 1.0)
                    if c.dtype.kind == "u"
                    else 1.0
                )
                with np.errstate(invalid="ignore"):
                    col = c[:, :3].astype(np.float64) / scale
            order, counts = chains_from_edges(p, len(pos), idx.reshape(-1, 2))
            parts.append((pos[order], counts, None if col is None else col[order]))
    if not parts:
        raise FormatError(f"{p}: GLB contains no LINES primitive")
    colors = None
    if all(x[2] is not None for x in parts):
        colors = np.concatenate([x[2] for x in parts])
    return make_strands(
        p, np.concatenate([x[0] for x in parts]), np.concatenate([x[1] for x in parts]),
        colors=colors,
    )  # fmt: skip


def read_glb(path: str | os.PathLike) -> Strands:
    """Read the ``LINES`` primitives of a GLB file as strands (values as stored)."""
    return parse_glb(read_file_bytes(path), path)
