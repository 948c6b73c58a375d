"""Cem Yuksel's ``.hair`` format (www.cemyuksel.com/research/hairmodels).

A 128-byte little-endian header, then the arrays its flags announce::

    0-3    "HAIR" magic (lower-case "hair", written by NeuralHDHair, is accepted on read)
    4-7    uint32 number of strands
    8-11   uint32 total number of points
    12-15  uint32 flags: bit0 segments array, bit1 points array, bit2 thickness array,
           bit3 transparency array, bit4 colour array
    16-19  uint32 default segments per strand (used when there is no segments array)
    20-23  float32 default thickness;  24-27 float32 default transparency
    28-39  float32[3] default colour;  40-127 char[88] file information
    then   uint16[S] segments per strand (points - 1), float32[P,3] points root to tip,
           float32[P] thickness, float32[P] transparency, float32[P,3] colour

The format carries no unit; monoscan writes metres, y up, and thickness as the strand
diameter in metres. On read, per-point thickness becomes :attr:`Strands.widths` and colour
:attr:`Strands.colors`; transparency is checked and dropped, defaults are ignored.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from monoscan.core.errors import FormatError, InputError
from monoscan.core.strands import Strands
from monoscan.io.atomic import atomic_path
from monoscan.io.strands._common import (
    check_strands,
    make_strands,
    read_file_bytes,
    widths_or_default,
)

__all__ = ["encode_hair", "parse_hair", "read_hair", "write_hair"]

HEADER_SIZE = 128
FLAG_SEGMENTS, FLAG_POINTS, FLAG_THICKNESS, FLAG_TRANSPARENCY, FLAG_COLOR = 1, 2, 4, 8, 16
_INFO = b"monoscan strands; metres, y up; thickness = diameter in metres"


def parse_hair(data: bytes, path: str | os.PathLike = "<bytes>") -> Strands:
    """Parse the bytes of a ``.hair`` file; raise :class:`FormatError` if malformed."""
    p = Path(path)
    size = len(data)
    if size < HEADER_SIZE:
        raise FormatError(f"{p}: file too short for a .hair header ({size} of 128 bytes)")
    if data[:4] not in (b"HAIR", b"hair"):
        raise FormatError(f"{p}: not a .hair file (magic {data[:4]!r}, expected b'HAIR')")
    n_strands, n_points, flags, default_segments = struct.unpack_from("<4I", data, 4)
    if flags & ~0x1F:
        raise FormatError(f"{p}: unknown flag bits 0x{flags:x} in the header")
    if not flags & FLAG_POINTS:
        raise FormatError(f"{p}: the file has no points array (flag bit 1 not set)")
    expected = HEADER_SIZE + 12 * n_points
    if flags & FLAG_SEGMENTS:
        expected += 2 * n_strands
    expected += 4 * n_points * (bool(flags & FLAG_THICKNESS) + bool(flags & FLAG_TRANSPARENCY))
    expected += 12 * n_points * bool(flags & FLAG_COLOR)
    if size < expected:
        raise FormatError(
            f"{p}: truncated: header claims {n_strands} strands and {n_points} points "
            f"({expected} bytes) but the file has {size} bytes"
        )
    if size > expected:
        raise FormatError(f"{p}: {size - expected} unexpected bytes after the declared arrays")
    pos = HEADER_SIZE
    if flags & FLAG_SEGMENTS:
        counts = np.frombuffer(data, "<u2", n_strands, pos).astype(np.int64) + 1
        pos += 2 * n_strands
    else:
        counts = np.full(n_strands, int(default_segments) + 1, dtype=np.int64)
    if int(counts.sum()) != n_points:
        raise FormatError(
            f"{p}: segment counts add up to {int(counts.sum())} points "
            f"but the header says {n_points}"
        )
    points = np.frombuffer(data, "<f4", 3 * n_points, pos).reshape(-1, 3)
    pos += 12 * n_points
    widths = colors = None
    if flags & FLAG_THICKNESS:
        widths = np.frombuffer(data, "<f4", n_points, pos)
        pos += 4 * n_points
        if n_points and not np.all(np.isfinite(widths) & (widths >= 0)):
            raise FormatError(f"{p}: thickness values must be finite and >= 0")
    if flags & FLAG_TRANSPARENCY:
        alpha = np.frombuffer(data, "<f4", n_points, pos)
        pos += 4 * n_points
        if n_points and not np.all(np.isfinite(alpha)):
            raise FormatError(f"{p}: transparency values are NaN or infinite")
    if flags & FLAG_COLOR:
        colors = np.frombuffer(data, "<f4", 3 * n_points, pos).reshape(-1, 3)
        pos += 12 * n_points
    return make_strands(p, points, counts, widths=widths, colors=colors)


def read_hair(path: str | os.PathLike) -> Strands:
    """Read a Cem Yuksel ``.hair`` file (values as stored; monoscan writes metres, y up)."""
    return parse_hair(read_file_bytes(path), path)


def encode_hair(strands: Strands, *, width: float | None = None, colors: bool = True) -> bytes:
    """Encode strands as ``.hair`` bytes.

    Writes the segments, points and thickness arrays (thickness = ``width`` if given, else the
    stored widths, else 0.08 mm), plus the colour array when the strands carry colours and
    ``colors`` is true. Strands with no points cannot be represented and are skipped.
    """
    s = check_strands(strands)
    if np.any(s.counts == 0):
        s = s.subset(s.counts > 0)
    if s.n_strands and int(s.counts.max()) > 65536:
        raise InputError("a strand has more than 65,536 points, the .hair format limit")
    if s.n_strands >= 2**32 or s.n_points >= 2**32:
        raise InputError("too many strands or points for the .hair format")
    thickness = widths_or_default(s, width)
    write_colors = bool(colors) and s.colors is not None
    flags = FLAG_SEGMENTS | FLAG_POINTS | FLAG_THICKNESS | (FLAG_COLOR if write_colors else 0)
    header = struct.pack(
        "<4s4I5f88s",
        b"HAIR",
        s.n_strands,
        s.n_points,
        flags,
        0,
        float(thickness[0]) if len(thickness) else 0.0,
        1.0,
        0.0,
        0.0,
        0.0,
        _INFO,
    )
    assert len(header) == HEADER_SIZE
    parts = [
        header,
        (s.counts - 1).astype("<u2").tobytes(),
        np.ascontiguousarray(s.points, "<f4").tobytes(),
        thickness.astype("<f4").tobytes(),
    ]
    if write_colors:
        parts.append(np.ascontiguousarray(s.colors, "<f4").tobytes())
    return b"".join(parts)


def write_hair(
    path: str | os.PathLike, strands: Strands, *, width: float | None = None, colors: bool = True
) -> Path:
    """Write a Cem Yuksel ``.hair`` file atomically; returns the path. See :func:`encode_hair`."""
    payload = encode_hair(strands, width=width, colors=colors)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return Path(path)
