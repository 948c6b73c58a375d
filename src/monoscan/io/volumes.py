"""Volumes on disk: NeuralHDHair's 3D hair orientation (``Ori_gt.mat``)."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from monoscan.core.errors import FormatError, InputError
from monoscan.core.volumes import OrientationVolume, VoxelGrid

__all__ = ["NEURALHDHAIR_GRID", "read_neuralhdhair_orientation"]

#: NeuralHDHair's voxel grid (its data loaders): 128 x 128 x 96 voxels of 0.01015625 m over
#: x, y in [-0.65, 0.65], z in [-0.4875, 0.4875], y up, z toward the camera.
NEURALHDHAIR_GRID = VoxelGrid(
    lo=(-0.65, -0.65, -0.4875), voxel_size=(0.01015625,) * 3, shape=(128, 128, 96)
)

_ORI_SHAPE = (128, 128, 288)
# MATLAB 5 data types (miINT8 ... miUINT64) and numeric array classes (mxDOUBLE ... mxUINT64).
_MI_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8",
             13: "u8"}  # fmt: skip
_MI_INT8, _MI_INT32, _MI_UINT32, _MI_MATRIX, _MI_COMPRESSED = 1, 5, 6, 14, 15
_MX_CLASSES = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4",
               14: "i8", 15: "u8"}  # fmt: skip
#: Largest file accepted (Ori stored uncompressed as complex doubles is ~75 MB).
_MAX_MAT_BYTES = 1024**3


def read_neuralhdhair_orientation(path: str | os.PathLike) -> OrientationVolume:
    """Read NeuralHDHair's 3D orientation volume (``Ori_gt.mat``, key ``Ori``).

    The file stores a ``(128, 128, 288)`` array: image rows (top to bottom), image columns,
    then 3 components x 96 depth slices (component-major; slice 0 nearest the camera). Its
    vectors are in the hair's world frame (x right in the image, y up, z toward the camera),
    pointing along growth. This returns them on :data:`NEURALHDHAIR_GRID` with voxel
    ``(i, j, k)`` along increasing (x, y, z), the convention of :func:`voxelize`.

    Raises
    ------
    FormatError
        Not a MATLAB file, no ``Ori`` key, or an unexpected shape.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    ori = _read_mat_array(p, "Ori", _ORI_SHAPE)
    if ori.dtype == bool or np.iscomplexobj(ori):
        raise FormatError(f"{p}: 'Ori' holds {ori.dtype} values, expected real numbers")
    if not np.all(np.isfinite(ori)):
        raise FormatError(f"{p}: 'Ori' contains NaN or infinite values")
    v = ori.reshape(128, 128, 3, 96).astype(np.float32)  # row, col, component, slice
    v = np.transpose(v, (1, 0, 3, 2))  # col (x), row, slice, component
    v = v[:, ::-1, ::-1, :]  # row 0 is the top (max y); slice 0 the front (max z)
    norm = np.linalg.norm(v, axis=-1)
    occ = norm > 0.5
    unit = np.where(occ[..., None], v / np.where(occ, norm, 1.0)[..., None], 0.0)
    return OrientationVolume(NEURALHDHAIR_GRID, occ, np.ascontiguousarray(unit, dtype=np.float32))


def _read_mat_array(p: Path, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Variable ``name`` of a MATLAB 5 ``.mat`` file: a numeric array of exactly ``shape``.

    A small reader of its own rather than :func:`scipy.io.loadmat`, whose compiled parser can
    crash the interpreter on a corrupted file (an unknown data type code). Every size is
    checked against the bytes present before anything is allocated; compressed variables are
    inflated only when they are the one wanted, up to the size that ``shape`` allows, and their
    checksum is verified.
    """
    size = p.stat().st_size
    if size > _MAX_MAT_BYTES:
        raise FormatError(f"{p}: file is too large ({size} bytes) for an orientation volume")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if len(data) < 128 or data[126:128] not in (b"IM", b"MI"):
        raise FormatError(f"{p}: not a readable MATLAB file (no MATLAB 5 header)")
    e = "<" if data[126:128] == b"IM" else ">"
    (version,) = struct.unpack_from(e + "H", data, 124)
    if version != 0x0100:
        raise FormatError(
            f"{p}: not a readable MATLAB file (version 0x{version:04x}; "
            "MATLAB 7.3 / HDF5 files are not supported, save with -v7)"
        )
    # Room for a complex double array of ``shape`` plus its headers.
    cap = 16 * int(np.prod(shape)) + 4096
    pos = 128
    while pos < len(data):
        mdtype, body, pos = _mat_element(data, pos, e, p)
        found = None
        if mdtype == _MI_COMPRESSED:
            found = _mat_compressed(body, e, p, name, shape, cap)
        elif mdtype == _MI_MATRIX:
            found = _mat_matrix(body, e, p, name, shape)
        if found is not None:
            return found
    raise FormatError(f"{p}: no '{name}' array in the MATLAB file")


def _mat_element(buf: bytes | memoryview, pos: int, e: str, p: Path) -> tuple[int, bytes, int]:
    """One data element at ``pos``: ``(type, payload, position of the next element)``."""
    if pos + 8 > len(buf):
        raise FormatError(f"{p}: truncated MATLAB file (data element header at byte {pos})")
    word, nbytes = struct.unpack_from(e + "II", buf, pos)
    if word >> 16:  # small element: type and size share the first word, data the second
        n = word >> 16
        if n > 4:
            raise FormatError(f"{p}: malformed MATLAB data element at byte {pos}")
        return word & 0xFFFF, buf[pos + 4 : pos + 4 + n], pos + 8
    start = pos + 8
    if nbytes > len(buf) - start:
        raise FormatError(
            f"{p}: truncated MATLAB file (an element of {nbytes} bytes at byte {pos} "
            f"runs past the end)"
        )
    padded = nbytes if word == _MI_COMPRESSED else -(-nbytes // 8) * 8
    return word, buf[start : start + nbytes], start + padded


def _mat_compressed(
    body: bytes, e: str, p: Path, name: str, shape: tuple[int, ...], cap: int
) -> np.ndarray | None:
    inflate = zlib.decompressobj()
    try:
        head = inflate.decompress(body, 256)  # tag, flags, dimensions and name
        if len(head) < 8:
            raise FormatError(f"{p}: truncated compressed variable")
        mdtype, nbytes = struct.unpack_from(e + "II", head, 0)
        if mdtype != _MI_MATRIX:
            return None
        if _mat_name(head[8:], e, p) != name:
            return None
        if nbytes > cap:
            raise FormatError(f"{p}: '{name}' claims {nbytes} bytes, more than {shape} can hold")
        chunks, have = [head], len(head)
        while have < 8 + nbytes and not inflate.eof:
            chunk = inflate.decompress(inflate.unconsumed_tail, 8 + nbytes - have)
            if not chunk:
                break
            chunks.append(chunk)
            have += len(chunk)
        inner = b"".join(chunks)
        if len(inner) < 8 + nbytes:
            raise FormatError(f"{p}: truncated compressed variable '{name}'")
        if not inflate.eof:  # read to the end of the stream, which checks its checksum
            inflate.decompress(inflate.unconsumed_tail, 64)
            if not inflate.eof:
                raise FormatError(f"{p}: compressed variable '{name}' is longer than it says")
    except zlib.error as exc:
        raise FormatError(f"{p}: corrupted compressed MATLAB data ({exc})") from None
    return _mat_matrix(memoryview(inner)[8 : 8 + nbytes], e, p, name, shape)


def _mat_name(body: bytes, e: str, p: Path) -> str:
    """The name of a matrix element (its third sub-element), from the start of its payload."""
    pos = 0
    for _ in range(2):  # array flags, dimensions
        if pos + 8 > len(body):
            return ""
        word, nbytes = struct.unpack_from(e + "II", body, pos)
        pos += 8 if word >> 16 else 8 + -(-nbytes // 8) * 8
    try:
        mdtype, raw, _ = _mat_element(body, pos, e, p)
    except FormatError:
        return ""
    return bytes(raw).decode("latin-1") if mdtype == _MI_INT8 else ""


def _mat_matrix(
    body: bytes | memoryview, e: str, p: Path, name: str, shape: tuple[int, ...]
) -> np.ndarray | None:
    """A matrix element's array if it is variable ``name``, else None."""
    flags_type, flags, pos = _mat_element(body, 0, e, p)
    dims_type, dims_raw, pos = _mat_element(body, pos, e, p)
    name_type, raw_name, pos = _mat_element(body, pos, e, p)
    if name_type != _MI_INT8 or bytes(raw_name).decode("latin-1") != name:
        return None
    if flags_type != _MI_UINT32 or len(flags) != 8:
        raise FormatError(f"{p}: '{name}' has malformed array flags")
    if dims_type != _MI_INT32 or len(dims_raw) < 8 or len(dims_raw) % 4:
        raise FormatError(f"{p}: '{name}' has malformed dimensions")
    (word,) = struct.unpack_from(e + "I", flags, 0)
    cls, is_complex, is_logical = word & 0xFF, bool(word & 0x800), bool(word & 0x200)
    if cls not in _MX_CLASSES:
        raise FormatError(f"{p}: '{name}' is not a numeric array (MATLAB class {cls})")
    dims = tuple(int(d) for d in np.frombuffer(dims_raw, e + "i4"))
    if dims != shape:
        raise FormatError(f"{p}: '{name}' has shape {dims}, expected {shape}")
    count = int(np.prod(shape))
    parts = []
    for _ in range(2 if is_complex else 1):
        mdtype, raw, pos = _mat_element(body, pos, e, p)
        if mdtype not in _MI_TYPES:
            raise FormatError(f"{p}: '{name}' has data of unknown MATLAB type {mdtype}")
        dt = np.dtype(e + _MI_TYPES[mdtype])
        if len(raw) != count * dt.itemsize:
            raise FormatError(
                f"{p}: '{name}' holds {len(raw) // dt.itemsize} values, expected {count}"
            )
        with np.errstate(all="ignore"):
            parts.append(np.frombuffer(raw, dt, count).astype(_MX_CLASSES[cls]))
    values = parts[0] if not is_complex else parts[0] + 1j * parts[1]
    if is_logical:
        values = values != 0
    return values.reshape(shape, order="F")
