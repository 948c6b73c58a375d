"""Read a GLB file's JSON and accessors in tests, independently of the writers under test."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

_DTYPES = {5121: "u1", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def read_glb(path: str | Path) -> tuple[dict, bytes]:
    """(glTF JSON, binary chunk) of a GLB file; asserts the container is well formed."""
    raw = Path(path).read_bytes()
    magic, version, total = struct.unpack_from("<4sII", raw)
    assert (magic, version, total) == (b"glTF", 2, len(raw))
    js_len, js_type = struct.unpack_from("<II", raw, 12)
    assert js_type == 0x4E4F534A and js_len % 4 == 0
    gltf = json.loads(raw[20 : 20 + js_len])
    bin_len, bin_type = struct.unpack_from("<II", raw, 20 + js_len)
    assert bin_type == 0x004E4942 and bin_len % 4 == 0
    binary = raw[28 + js_len : 28 + js_len + bin_len]
    assert gltf["buffers"][0]["byteLength"] <= len(binary)
    return gltf, binary


def accessor(gltf: dict, binary: bytes, index: int) -> np.ndarray:
    """The values of accessor ``index`` (tightly packed views only), shape (count, width)."""
    acc = gltf["accessors"][index]
    view = gltf["bufferViews"][acc["bufferView"]]
    assert "byteStride" not in view
    dtype = np.dtype(_DTYPES[acc["componentType"]])
    width = _WIDTH[acc["type"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    assert start % dtype.itemsize == 0  # glTF alignment rule
    data = np.frombuffer(binary, dtype, acc["count"] * width, start)
    return data.reshape(acc["count"], width)


def primitives(gltf: dict) -> list[dict]:
    return [p for mesh in gltf["meshes"] for p in mesh["primitives"]]


def material_of(gltf: dict, primitive: dict) -> dict:
    """The primitive's material; asserts it has one and it is a metallic-roughness PBR one."""
    assert "material" in primitive, "primitive without a material"
    material = gltf["materials"][primitive["material"]]
    assert "pbrMetallicRoughness" in material
    return material


def image_bytes(gltf: dict, binary: bytes, texture_index: int) -> bytes:
    image = gltf["images"][gltf["textures"][texture_index]["source"]]
    view = gltf["bufferViews"][image["bufferView"]]
    start = view.get("byteOffset", 0)
    return binary[start : start + view["byteLength"]]
