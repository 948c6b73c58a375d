"""Arrays and maps on disk: ``.npy`` read safely and written atomically, and HairStep's
strand-map encoding.

Strand map (HairStep, CVPR 2023), an RGB uint8 image at the 512 crop:

- R = 255 on hair, 127 on body (not hair), 0 elsewhere (``R = hair + 0.5 body``);
- G = ``0.5 + 0.5 d_up`` and B = ``0.5 - 0.5 d_right`` on hair, 0 elsewhere, where ``d`` is
  the unit growth direction (root to tip), ``d_up`` its component toward the top of the
  image and ``d_right`` toward the right.

With ``d = (dx, dy)`` in image axes (x right, y down): ``G = 0.5 - 0.5 dy``,
``B = 0.5 - 0.5 dx``; decoding is ``d = (1 - 2B, 1 - 2G)`` on pixels with ``R > 0.99 * 255``.
"""

from __future__ import annotations

import io
import math
import os
import struct
import tokenize
from pathlib import Path
from typing import BinaryIO

import numpy as np

from monoscan.core.errors import FormatError, InputError
from monoscan.core.masks import as_mask
from monoscan.io.atomic import write_bytes

__all__ = ["decode_strand_map", "encode_strand_map", "read_npy", "read_npy_header", "save_npy"]

#: Longest ``.npy`` header accepted (NumPy itself writes a few hundred bytes at most).
MAX_NPY_HEADER = 65536


def read_npy_header(
    fh: BinaryIO, source: str | os.PathLike
) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Read and check the header of a ``.npy`` stream; leaves ``fh`` at the first data byte.

    Unlike :func:`numpy.lib.format.read_array_header_1_0`, the header length is checked before
    the header is read, so a corrupted length cannot make it allocate gigabytes.

    Returns
    -------
    shape, fortran_order, dtype
        As stored. :class:`~monoscan.core.errors.FormatError` (naming ``source``) when the
        bytes are not a ``.npy`` header or the shape has negative sizes.
    """
    prefix = fh.read(8)
    if len(prefix) < 8 or prefix[:6] != b"\x93NUMPY":
        raise FormatError(f"{source}: not a .npy file (no NUMPY magic)")
    major, minor = prefix[6], prefix[7]
    if (major, minor) not in ((1, 0), (2, 0)):
        raise FormatError(f"{source}: unsupported .npy version {major}.{minor}")
    size_format = "<H" if major == 1 else "<I"
    raw_len = fh.read(struct.calcsize(size_format))
    if len(raw_len) < struct.calcsize(size_format):
        raise FormatError(f"{source}: truncated .npy header")
    (length,) = struct.unpack(size_format, raw_len)
    if length > MAX_NPY_HEADER:
        raise FormatError(f"{source}: .npy header claims {length} bytes, more than allowed")
    header = fh.read(length)
    if len(header) < length:
        raise FormatError(f"{source}: truncated .npy header")
    stream = io.BytesIO(prefix + raw_len + header)
    version = np.lib.format.read_magic(stream)
    try:  # NumPy's own parser, on bytes already in memory
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    except (
        ValueError,
        SyntaxError,
        TypeError,
        RecursionError,
        MemoryError,
        UnicodeError,
        tokenize.TokenError,
    ) as exc:
        msg = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise FormatError(f"{source}: malformed .npy header ({msg})") from None
    if any(d < 0 for d in shape):
        raise FormatError(f"{source}: .npy header has a negative size in shape {shape}")
    return tuple(shape), bool(fortran), dtype


def read_npy(path: str | os.PathLike) -> np.ndarray:
    """Read a ``.npy`` array without pickles, checking its header against the file's size.

    Raises
    ------
    InputError
        Missing file or a directory.
    FormatError
        Not a ``.npy`` file, Python objects (pickles), or a header whose shape does not match
        the data that follows (truncated file, or a corrupted shape claiming gigabytes).
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not a .npy file")
    try:
        with open(p, "rb") as fh:
            shape, fortran, dtype = read_npy_header(fh, p)
            if dtype.hasobject:
                raise FormatError(f"{p}: holds Python objects; refusing to unpickle")
            need = math.prod(shape) * dtype.itemsize
            have = os.fstat(fh.fileno()).st_size - fh.tell()
            if need != have:
                raise FormatError(
                    f"{p}: .npy header claims shape {shape} of {dtype} ({need} bytes) "
                    f"but {have} data bytes follow"
                )
            data = bytearray(need)
            if fh.readinto(data) != need:
                raise FormatError(f"{p}: truncated .npy data")
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    count = math.prod(shape)
    array = np.frombuffer(data, dtype, count) if dtype.itemsize else np.zeros(count, dtype)
    return array.reshape(shape, order="F" if fortran else "C")


def save_npy(path: str | os.PathLike, array: np.ndarray, allow_pickle: bool = False) -> Path:
    """Write ``array`` as ``.npy`` atomically (pickled objects only when asked)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=allow_pickle)
    return write_bytes(path, buf.getvalue())


def encode_strand_map(
    direction: np.ndarray, hair_mask: np.ndarray, body_mask: np.ndarray | None = None
) -> np.ndarray:
    """Encode growth directions as a HairStep strand map.

    Parameters
    ----------
    direction : (H, W, 2) float
        Growth direction ``(dx, dy)`` in image axes (x right, y down); normalised here, zero
        vectors encode as (G, B) = (128, 128) on hair.
    hair_mask : (H, W) bool or uint8
        Hair pixels (R = 255).
    body_mask : (H, W) bool or uint8, optional
        Body pixels; those not in the hair get R = 127.

    Returns
    -------
    (H, W, 3) uint8
        The strand map.

    Examples
    --------
    >>> d = np.zeros((1, 1, 2)); d[0, 0] = (0, 1)  # growing straight down
    >>> encode_strand_map(d, np.ones((1, 1), bool))[0, 0].tolist()
    [255, 0, 128]
    """
    d = np.asarray(direction, np.float64)
    if d.ndim != 3 or d.shape[2] != 2:
        raise InputError(f"direction must be (H, W, 2), got shape {d.shape}")
    shape = d.shape[:2]
    hair = as_mask(hair_mask, "hair_mask", shape)
    n = np.hypot(d[..., 0], d[..., 1])
    n = np.where(np.isfinite(n) & (n > 1e-9), n, np.inf)
    dx, dy = d[..., 0] / n, d[..., 1] / n
    g = np.clip(np.rint((0.5 - 0.5 * dy) * 255.0), 0, 255)
    b = np.clip(np.rint((0.5 - 0.5 * dx) * 255.0), 0, 255)
    out = np.zeros(shape + (3,), np.uint8)
    if body_mask is not None:
        body = as_mask(body_mask, "body_mask", shape)
        out[..., 0] = np.where(body, 127, 0)
    out[..., 0] = np.where(hair, 255, out[..., 0])
    out[..., 1] = np.where(hair, g, 0)
    out[..., 2] = np.where(hair, b, 0)
    return out


def decode_strand_map(strand_map: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode a HairStep strand map.

    Parameters
    ----------
    strand_map : (H, W, 3) uint8
        RGB strand map (an alpha channel, if any, is ignored).

    Returns
    -------
    direction : (H, W, 2) float32
        Unit growth directions ``(dx, dy)`` (x right, y down) on hair, 0 elsewhere.
    hair_mask : (H, W) bool
        ``R > 0.99 * 255``.
    body_mask : (H, W) bool
        Body but not hair: ``0.25 * 255 < R <= 0.99 * 255``.
    """
    a = np.asarray(strand_map)
    if a.ndim != 3 or a.shape[2] < 3:
        raise InputError(f"strand map must be (H, W, 3) RGB, got shape {a.shape}")
    if a.dtype != np.uint8:
        raise InputError(f"strand map must be uint8, got {a.dtype}")
    r = a[..., 0].astype(np.float32) / 255.0
    hair = r > 0.99
    body = (r > 0.25) & ~hair
    dx = 1.0 - 2.0 * a[..., 2].astype(np.float32) / 255.0
    dy = 1.0 - 2.0 * a[..., 1].astype(np.float32) / 255.0
    n = np.hypot(dx, dy)
    ok = hair & (n > 1e-3)
    n = np.where(ok, n, 1.0)
    d = np.stack([np.where(ok, dx / n, 0.0), np.where(ok, dy / n, 0.0)], axis=-1)
    return d.astype(np.float32), hair, body
