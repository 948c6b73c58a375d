"""USC-HairSalon ``.data`` strands (also used by HairStep, HairNet and Digital Salon).

Layout, all little-endian: ``int32 num_strands``, then for every strand ``int32 n`` followed
by ``n`` float32 xyz triples, root first. No magic number, no thickness. Strands with 0 or 1
point mark bald roots. Native unit metres, y up (the USC-HairSalon head frame); some
distributions use centimetres, read them with ``unit="cm"`` in :func:`read_strands`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from monoscan.core.errors import FormatError, InputError
from monoscan.core.strands import Strands
from monoscan.io.atomic import atomic_path
from monoscan.io.strands._common import check_strands, make_strands, read_file_bytes

__all__ = ["encode_data", "parse_data", "read_data", "write_data"]


def parse_data(data: bytes, path: str | os.PathLike = "<bytes>") -> Strands:
    """Parse the bytes of a ``.data`` file; raise :class:`FormatError` if malformed."""
    p = Path(path)
    size = len(data)
    if size < 4:
        raise FormatError(f"{p}: file too short for a .data header ({size} bytes)")
    n_strands = int(np.frombuffer(data, "<i4", 1, 0)[0])
    if n_strands < 0:
        raise FormatError(f"{p}: negative strand count {n_strands}")
    if 4 + 4 * n_strands > size:
        raise FormatError(
            f"{p}: header claims {n_strands} strands but the file has only {size} bytes"
        )
    if n_strands == 0:
        if size != 4:
            raise FormatError(f"{p}: {size - 4} unexpected bytes after an empty strand list")
        return make_strands(p, np.zeros((0, 3), np.float32), np.zeros(0, np.int64))
    words = np.frombuffer(data, "<i4", (size - 4) // 4, 4) if size >= 8 else None
    # Fast path: every strand has the same number of points (HairStep, USC, Digital Salon).
    first = int(np.frombuffer(data, "<i4", 1, 4)[0])
    if first >= 0 and size == 4 + n_strands * (4 + 12 * first) and words is not None:
        rec = words.reshape(n_strands, 1 + 3 * first)
        if np.all(rec[:, 0] == first):
            pts = rec[:, 1:].copy().view("<f4").reshape(-1, 3)
            return make_strands(p, pts, np.full(n_strands, first, np.int64))
    counts = np.empty(n_strands, dtype=np.int64)
    starts = np.empty(n_strands, dtype=np.int64)
    pos = 4
    for i in range(n_strands):
        if pos + 4 > size:
            raise FormatError(f"{p}: truncated: file ends inside strand {i} of {n_strands}")
        n = int.from_bytes(data[pos : pos + 4], "little", signed=True)
        if n < 0:
            raise FormatError(f"{p}: strand {i} has a negative point count {n}")
        pos += 4
        if pos + 12 * n > size:
            raise FormatError(
                f"{p}: truncated: strand {i} claims {n} points but the file ends first"
            )
        counts[i], starts[i] = n, pos
        pos += 12 * n
    if pos != size:
        raise FormatError(f"{p}: {size - pos} unexpected bytes after the last strand")
    # Gather all point floats in one go (float index = byte offset / 4).
    total = int(counts.sum())
    first_float = np.repeat(
        starts // 4 - 1 - np.concatenate([[0], np.cumsum(3 * counts)[:-1]]), 3 * counts
    )
    flat = words[first_float + np.arange(3 * total)] if total else np.zeros(0, "<i4")
    pts = flat.view("<f4").reshape(-1, 3)
    return make_strands(p, pts, counts)


def read_data(path: str | os.PathLike) -> Strands:
    """Read a USC-HairSalon ``.data`` file (values as stored, normally metres, y up)."""
    return parse_data(read_file_bytes(path), path)


def encode_data(strands: Strands) -> bytes:
    """Encode strands as ``.data`` bytes (float32 xyz as stored, root first)."""
    s = check_strands(strands)
    if s.n_strands > np.iinfo(np.int32).max or s.n_points > np.iinfo(np.int32).max:
        raise InputError("too many strands or points for the .data format (int32 counts)")
    out = np.empty(1 + s.n_strands + 3 * s.n_points, dtype="<i4")
    out[0] = s.n_strands
    # Word position of each strand's count: 1 + (points before it) * 3 + (strands before it).
    count_pos = 1 + 3 * s.offsets[:-1] + np.arange(s.n_strands)
    out[count_pos] = s.counts
    is_point = np.ones(len(out), dtype=bool)
    is_point[0] = False
    is_point[count_pos] = False
    out[is_point] = np.ascontiguousarray(s.points, dtype="<f4").view("<i4").ravel()
    return out.tobytes()


def write_data(path: str | os.PathLike, strands: Strands) -> Path:
    """Write a USC-HairSalon ``.data`` file atomically; returns the path."""
    payload = encode_data(strands)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return Path(path)
