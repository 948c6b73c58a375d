"""Strands as PLY: a line set (vertices + 2-index edges) or a point cloud of equal strands.

Line-set layout (written by default, the layout Open3D and HairStep use)::

    element vertex P   property float x, y, z   [property uchar red, green, blue]
    element edge E     property int vertex1, vertex2

Edges join consecutive points of a strand, root to tip, so strands are recovered as the
connected paths of the edge graph (each path read from its lower-index end). Point-only
layout: ``element vertex`` only, ``N`` strands of ``L`` points each in strand order; ``L`` comes
from ``points_per_strand=`` or a ``comment points_per_strand L`` header line (written by
:func:`write_ply` with ``layout="points"``). ASCII and both binary encodings are read;
binary little-endian is written unless ``ascii=True``. Values as stored (monoscan: metres,
y up). Strands with fewer than two points have no edge and are not written as lines.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from monoscan.core.errors import FormatError, InputError
from monoscan.core.strands import Strands
from monoscan.io.atomic import atomic_path
from monoscan.io.strands._common import (
    chains_from_edges,
    check_strands,
    make_strands,
    read_file_bytes,
)

__all__ = ["encode_ply", "parse_ply", "read_ply", "write_ply"]

_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip
_MAX_HEADER = 65536


class _Element:
    def __init__(self, name: str, count: int) -> None:
        self.name = name
        self.count = count
        self.props: list[tuple[str, str, str | None]] = []  # (name, type, list count type)

    @property
    def has_list(self) -> bool:
        return any(c is not None for _, _, c in self.props)


def _parse_header(data: bytes, p: Path) -> tuple[str, list[_Element], list[str], int]:
    if not data.startswith(b"ply"):
        raise FormatError(f"{p}: not a PLY file (no 'ply' magic)")
    m = re.search(rb"end_header[ \t]*\r?\n", data[:_MAX_HEADER])
    if m is None:
        raise FormatError(f"{p}: PLY header has no end_header line within 64 KiB")
    try:
        lines = data[: m.start()].decode("ascii").splitlines()
    except UnicodeDecodeError:
        raise FormatError(f"{p}: PLY header is not ASCII text") from None
    fmt = None
    elements: list[_Element] = []
    comments: list[str] = []
    for raw in lines[1:]:
        words = raw.split()
        if not words:
            continue
        key = words[0]
        if key == "format":
            if len(words) < 2 or words[1] not in (
                "ascii",
                "binary_little_endian",
                "binary_big_endian",
            ):
                raise FormatError(f"{p}: unknown PLY format line {raw!r}")
            fmt = words[1]
        elif key in ("comment", "obj_info"):
            comments.append(" ".join(words[1:]))
        elif key == "element":
            if len(words) != 3 or not re.fullmatch(r"\d+", words[2]):
                raise FormatError(f"{p}: bad PLY element line {raw!r}")
            elements.append(_Element(words[1], int(words[2])))
        elif key == "property":
            if not elements:
                raise FormatError(f"{p}: PLY property before any element")
            if len(words) == 5 and words[1] == "list":
                if words[2] not in _TYPES or words[3] not in _TYPES:
                    raise FormatError(f"{p}: unknown PLY list type in {raw!r}")
                elements[-1].props.append((words[4], _TYPES[words[3]], _TYPES[words[2]]))
            elif len(words) == 3 and words[1] in _TYPES:
                elements[-1].props.append((words[2], _TYPES[words[1]], None))
            else:
                raise FormatError(f"{p}: bad PLY property line {raw!r}")
        else:
            raise FormatError(f"{p}: unknown PLY header line {raw!r}")
    if fmt is None:
        raise FormatError(f"{p}: PLY header has no format line")
    return fmt, elements, comments, m.end()


def _read_binary(
    data: bytes, pos: int, el: _Element, endian: str, p: Path
) -> tuple[dict[str, np.ndarray], int]:
    size = len(data)
    if not el.has_list:
        dt = np.dtype([(n, endian + t) for n, t, _ in el.props])
        need = el.count * dt.itemsize
        if pos + need > size:
            raise FormatError(
                f"{p}: truncated: element '{el.name}' claims {el.count} rows "
                f"({need} bytes) but only {size - pos} bytes remain"
            )
        arr = np.frombuffer(data, dt, el.count, pos)
        return {n: arr[n] for n, _, _ in el.props}, pos + need
    # Rows with list properties: each row holds at least its count fields.
    min_row = sum(np.dtype(c or t).itemsize for _, t, c in el.props)
    if pos + el.count * min_row > size:
        raise FormatError(f"{p}: truncated: element '{el.name}' claims {el.count} rows")
    cols: dict[str, list] = {n: [] for n, _, _ in el.props}
    for _ in range(el.count):
        for n, t, c in el.props:
            if c is None:
                dt = np.dtype(endian + t)
                if pos + dt.itemsize > size:
                    raise FormatError(f"{p}: truncated inside element '{el.name}'")
                cols[n].append(np.frombuffer(data, dt, 1, pos)[0])
                pos += dt.itemsize
            else:
                ct, dt = np.dtype(endian + c), np.dtype(endian + t)
                if pos + ct.itemsize > size:
                    raise FormatError(f"{p}: truncated inside element '{el.name}'")
                k = int(np.frombuffer(data, ct, 1, pos)[0])
                pos += ct.itemsize
                if k < 0 or pos + k * dt.itemsize > size:
                    raise FormatError(f"{p}: bad list length {k} in element '{el.name}'")
                cols[n].append(np.frombuffer(data, dt, k, pos))
                pos += k * dt.itemsize
    return {n: _stack(v) for n, v in cols.items()}, pos


def _stack(values: list) -> np.ndarray:
    if values and isinstance(values[0], np.ndarray):
        lengths = {len(v) for v in values}
        if len(lengths) == 1:
            return np.stack(values)
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    return np.asarray(values)


def _read_ascii(
    tokens: list[bytes], pos: int, el: _Element, p: Path
) -> tuple[dict[str, np.ndarray], int]:
    if not el.has_list:
        k = len(el.props)
        need = el.count * k
        if pos + need > len(tokens):
            raise FormatError(
                f"{p}: truncated: element '{el.name}' claims {el.count} rows but the file ends"
            )
        try:
            block = np.array(tokens[pos : pos + need], dtype=np.float64).reshape(el.count, k)
        except ValueError:
            raise FormatError(f"{p}: non-numeric value in element '{el.name}'") from None
        out = {}
        for i, (n, t, _) in enumerate(el.props):
            col = block[:, i]
            if np.dtype(t).kind in "iu":
                info = np.iinfo(t)
                ok = np.isfinite(col) & (col == np.round(col)) & (col >= info.min)
                if not np.all(ok & (col <= info.max)):
                    raise FormatError(
                        f"{p}: element '{el.name}' property '{n}' holds a value that is not "
                        f"an integer in {info.min}..{info.max}"
                    )
            with np.errstate(over="ignore"):  # float overflow -> inf, refused with the points
                out[n] = col.astype(t)
        return out, pos + need
    if pos + el.count * len(el.props) > len(tokens):
        raise FormatError(f"{p}: truncated: element '{el.name}' claims {el.count} rows")
    cols: dict[str, list] = {n: [] for n, _, _ in el.props}
    try:
        for _ in range(el.count):
            for n, _, c in el.props:
                if c is None:
                    cols[n].append(float(tokens[pos]))
                    pos += 1
                else:
                    k = int(tokens[pos])
                    if k < 0 or pos + 1 + k > len(tokens):
                        raise FormatError(f"{p}: bad list length {k} in element '{el.name}'")
                    cols[n].append(np.array(tokens[pos + 1 : pos + 1 + k], dtype=np.float64))
                    pos += 1 + k
    except (IndexError, ValueError):
        raise FormatError(f"{p}: malformed or truncated ASCII element '{el.name}'") from None
    return {n: _stack(v) for n, v in cols.items()}, pos


def parse_ply(
    data: bytes, path: str | os.PathLike = "<bytes>", *, points_per_strand: int | None = None
) -> Strands:
    """Parse PLY bytes as strands; raise :class:`FormatError` if malformed. See module doc."""
    p = Path(path)
    fmt, elements, comments, pos = _parse_header(data, p)
    parsed: dict[str, dict[str, np.ndarray]] = {}
    if fmt == "ascii":
        tokens = data[pos:].split()
        t = 0
        for el in elements:
            parsed[el.name], t = _read_ascii(tokens, t, el, p)
        if t != len(tokens):
            raise FormatError(f"{p}: {len(tokens) - t} unexpected values after the last element")
    else:
        endian = "<" if fmt == "binary_little_endian" else ">"
        for el in elements:
            parsed[el.name], pos = _read_binary(data, pos, el, endian, p)
        if pos != len(data):
            raise FormatError(f"{p}: {len(data) - pos} unexpected bytes after the last element")
    if "vertex" not in parsed:
        raise FormatError(f"{p}: PLY file has no vertex element")
    vert = parsed["vertex"]
    if not all(k in vert for k in "xyz"):
        raise FormatError(f"{p}: PLY vertices lack x, y, z properties")
    try:
        with np.errstate(all="ignore"):
            points = np.stack([np.asarray(vert[k], dtype=np.float64) for k in "xyz"], axis=1)
    except (TypeError, ValueError):
        raise FormatError(f"{p}: PLY x, y, z must be scalar properties") from None
    points = points.reshape(-1, 3)
    colors = None
    if all(k in vert for k in ("red", "green", "blue")):
        try:
            rgb = np.stack(
                [np.asarray(vert[k], dtype=np.float64) for k in ("red", "green", "blue")], 1
            )
        except (TypeError, ValueError):
            raise FormatError(f"{p}: PLY colours must be scalar properties") from None
        kind = {n: t for n, t, _ in next(e for e in elements if e.name == "vertex").props}
        colors = rgb / 255.0 if kind["red"] in ("u1", "i1") else rgb
        colors = np.clip(colors, 0.0, 1.0) if np.all(np.isfinite(colors)) else colors
    n_vert = len(points)
    if parsed.get("edge") is not None and any(e.name == "edge" and e.count for e in elements):
        edges = _edge_pairs(parsed["edge"], p)
        order, counts = chains_from_edges(p, n_vert, edges)
        return make_strands(
            p, points[order], counts, colors=None if colors is None else colors[order]
        )
    if points_per_strand is None:
        for c in comments:
            m = re.fullmatch(r"points_per_strand\s+(\d+)", c.strip())
            if m:
                points_per_strand = int(m.group(1))
    if points_per_strand is None:
        raise FormatError(
            f"{p}: PLY has no edges; pass points_per_strand to read it as a strand point cloud"
        )
    L = int(points_per_strand)
    if L < 1 or n_vert % L:
        raise FormatError(f"{p}: {n_vert} vertices do not split into strands of {L} points")
    counts = np.full(n_vert // L, L, dtype=np.int64)
    return make_strands(p, points, counts, colors=colors)


def _edge_pairs(edge: dict[str, np.ndarray], p: Path) -> np.ndarray:
    if "vertex1" in edge and "vertex2" in edge:
        a, b = edge["vertex1"], edge["vertex2"]
    elif "vertex_indices" in edge or len(edge) == 1:
        lst = edge.get("vertex_indices", next(iter(edge.values())))
        if lst.dtype == object or lst.ndim != 2 or lst.shape[1] != 2:
            raise FormatError(f"{p}: PLY edges must have exactly two vertex indices")
        a, b = lst[:, 0], lst[:, 1]
    else:
        raise FormatError(f"{p}: PLY edge element lacks vertex1/vertex2")
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        raise FormatError(f"{p}: PLY edge indices must be scalars") from None
    pairs = np.stack([a, b], axis=1)
    if not np.all(np.isfinite(pairs)) or np.any(pairs != np.round(pairs)):
        raise FormatError(f"{p}: PLY edge indices must be integers")
    return pairs.astype(np.int64)


def read_ply(path: str | os.PathLike, *, points_per_strand: int | None = None) -> Strands:
    """Read strands from a PLY line set or point cloud (values as stored)."""
    return parse_ply(read_file_bytes(path), path, points_per_strand=points_per_strand)


def encode_ply(strands: Strands, *, layout: str = "lines", ascii: bool = False) -> bytes:
    """Encode strands as PLY bytes; ``layout`` is ``"lines"`` or ``"points"``."""
    s = check_strands(strands)
    if layout not in ("lines", "points"):
        raise InputError(f"PLY layout must be 'lines' or 'points', not {layout!r}")
    # A line set cannot hold one-point strands (no edge); no layout holds empty ones.
    min_count = 2 if layout == "lines" else 1
    s = s.subset(s.counts >= min_count) if np.any(s.counts < min_count) else s
    header = ["ply", f"format {'ascii' if ascii else 'binary_little_endian'} 1.0",
              "comment monoscan strands: metres, y up, each strand root to tip"]  # fmt: skip
    if layout == "points":
        if s.n_strands and np.any(s.counts != s.counts[0]):
            raise InputError("PLY point layout needs equal strand lengths; resample first")
        header.append(f"comment points_per_strand {int(s.counts[0]) if s.n_strands else 1}")
    header += [f"element vertex {s.n_points}", "property float x", "property float y",
               "property float z"]  # fmt: skip
    if s.colors is not None:
        header += ["property uchar red", "property uchar green", "property uchar blue"]
    edges = s.segments if layout == "lines" else np.zeros((0, 2), np.int64)
    if layout == "lines":
        header += [f"element edge {len(edges)}", "property int vertex1", "property int vertex2"]
    header.append("end_header")
    head = ("\n".join(header) + "\n").encode("ascii")
    vdt = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if s.colors is not None:
        vdt += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    vert = np.empty(s.n_points, dtype=vdt)
    for i, k in enumerate("xyz"):
        vert[k] = s.points[:, i]
    if s.colors is not None:
        rgb = np.clip(np.round(np.asarray(s.colors) * 255), 0, 255).astype(np.uint8)
        for i, k in enumerate(("red", "green", "blue")):
            vert[k] = rgb[:, i]
    if ascii:
        rows = [" ".join(_fmt(v) for v in r) for r in vert.tolist()]
        rows += [f"{a} {b}" for a, b in edges.tolist()]
        return head + ("\n".join(rows) + "\n").encode("ascii")
    return head + vert.tobytes() + edges.astype("<i4").tobytes()


def _fmt(v: float) -> str:
    if isinstance(v, float):
        return repr(float(np.float32(v)))
    return str(v)


def write_ply(
    path: str | os.PathLike, strands: Strands, *, layout: str = "lines", ascii: bool = False
) -> Path:
    """Write strands as PLY atomically (see :func:`encode_ply`); returns the path."""
    payload = encode_ply(strands, layout=layout, ascii=ascii)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return Path(path)
