"""The binary glTF (GLB) container: one JSON chunk and one binary chunk, 4-byte aligned.

Every GLB monoscan writes (meshes, strands, the viewer's merged scene) is packed here.
"""

from __future__ import annotations

import json
import struct

__all__ = ["GLB_BIN", "GLB_JSON", "pack_glb", "pad4"]

#: Chunk types of the GLB container (glTF 2.0, "Binary glTF Layout").
GLB_JSON, GLB_BIN = 0x4E4F534A, 0x004E4942


def pad4(data: bytes, fill: bytes = b"\x00") -> bytes:
    """``data`` padded with ``fill`` to a multiple of 4 bytes."""
    return data + fill * (-len(data) % 4)


def pack_glb(gltf: dict, binary: bytes) -> bytes:
    """GLB bytes of a glTF JSON document and its one binary buffer (the JSON padded with
    spaces, the buffer with zeros, as the specification asks)."""
    js = pad4(json.dumps(gltf, separators=(",", ":")).encode("utf-8"), b" ")
    binary = pad4(binary)
    total = 12 + 8 + len(js) + 8 + len(binary)
    return b"".join(
        [
            struct.pack("<4sII", b"glTF", 2, total),
            struct.pack("<II", len(js), GLB_JSON),
            js,
            struct.pack("<II", len(binary), GLB_BIN),
            binary,
        ]
    )
