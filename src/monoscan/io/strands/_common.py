"""Shared helpers for the strand format modules (private)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from monoscan.core.errors import FormatError, InputError, MonoscanError
from monoscan.core.strands import Strands

#: Default strand diameter written when a strand set has no widths: 0.08 mm (human hair).
DEFAULT_WIDTH_M = 0.08e-3

#: Largest file a reader accepts (a 100,000 x 100-point hairstyle is ~120 MB in .data).
MAX_FILE_BYTES = 4 * 1024**3


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """Read a whole input file, turning OS problems into :class:`InputError`."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not a strand file")
    if size > MAX_FILE_BYTES:
        raise FormatError(f"{p}: file is too large ({size} bytes) for a strand file")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None


def make_strands(
    path: str | os.PathLike,
    points: np.ndarray,
    counts: np.ndarray,
    widths: np.ndarray | None = None,
    colors: np.ndarray | None = None,
) -> Strands:
    """Build :class:`Strands` from parsed arrays, reporting bad values as :class:`FormatError`."""
    points = np.asarray(points)
    if points.size and not np.all(np.isfinite(points)):
        bad = int(np.count_nonzero(~np.isfinite(points).all(axis=-1)))
        raise FormatError(f"{Path(path)}: {bad} points are NaN or infinite")
    for name, arr in (("widths", widths), ("colours", colors)):
        if arr is not None and arr.size and not np.all(np.isfinite(arr)):
            raise FormatError(f"{Path(path)}: {name} contain NaN or infinite values")
    try:
        return Strands(points, counts, widths=widths, colors=colors)
    except InputError as exc:
        raise FormatError(f"{Path(path)}: {exc}") from None


def check_strands(strands: object) -> Strands:
    """Writers accept only :class:`Strands`."""
    if not isinstance(strands, Strands):
        raise InputError(f"expected a Strands object, got {type(strands).__name__}")
    return strands


def widths_or_default(strands: Strands, width: float | None) -> np.ndarray:
    """Per-point diameters in metres: ``width`` if given, else the stored ones, else 0.08 mm."""
    if width is not None:
        w = float(width)
        if not (np.isfinite(w) and w >= 0):
            raise InputError("width must be a finite number >= 0 (metres)")
        return np.full(strands.n_points, w, dtype=np.float32)
    if strands.widths is not None:
        return np.asarray(strands.widths, dtype=np.float32)
    return np.full(strands.n_points, DEFAULT_WIDTH_M, dtype=np.float32)


def chains_from_edges(
    path: str | os.PathLike, n_vertices: int, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Order a line set into polylines.

    Returns ``(order, counts)``: vertex indices strand after strand and points per strand.
    Each connected component must be a simple path (every vertex has at most two edges, no
    cycles). A path runs from its lower-index end; vertices with no edge are dropped. Fast path
    for the common layout where edges join consecutive vertices ``(i, i + 1)``.
    """
    p = Path(path)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if len(edges) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if edges.min() < 0 or edges.max() >= n_vertices:
        raise FormatError(f"{p}: an edge refers to a vertex outside 0..{n_vertices - 1}")
    if np.any(edges[:, 0] == edges[:, 1]):
        raise FormatError(f"{p}: an edge joins a vertex to itself")
    a, b = edges.min(axis=1), edges.max(axis=1)
    if np.all(b == a + 1) and np.all(np.diff(a) > 0):
        # Consecutive layout: strands break wherever vertex i is not joined to i + 1.
        linked = np.zeros(n_vertices, dtype=bool)
        linked[a] = True  # vertex a is joined to a + 1
        idx = np.unique(edges)
        # A strand ends at every used vertex that is not joined to the next one.
        ends = np.flatnonzero(~linked[idx]) + 1
        counts = np.diff(np.concatenate([[0], ends])).astype(np.int64)
        return idx, counts
    degree = np.bincount(edges.ravel(), minlength=n_vertices)
    if degree.max() > 2:
        raise FormatError(f"{p}: a vertex has more than two edges (not a set of polylines)")
    nbr = np.full((n_vertices, 2), -1, dtype=np.int64)
    fill = np.zeros(n_vertices, dtype=np.int64)
    for u, v in edges:
        nbr[u, fill[u]] = v
        fill[u] += 1
        nbr[v, fill[v]] = u
        fill[v] += 1
    visited = np.zeros(n_vertices, dtype=bool)
    order: list[int] = []
    counts: list[int] = []
    for start in np.flatnonzero(degree == 1):
        if visited[start]:
            continue
        prev, cur, n = -1, int(start), 0
        while cur != -1:
            visited[cur] = True
            order.append(cur)
            n += 1
            x, y = nbr[cur]
            nxt = x if x != prev else y
            prev, cur = cur, int(nxt)
            if cur != -1 and visited[cur]:
                raise FormatError(f"{p}: line set contains a cycle")
        counts.append(n)
    if np.any(~visited & (degree > 0)):
        raise FormatError(f"{p}: line set contains a closed loop (not a set of polylines)")
    return np.asarray(order, dtype=np.int64), np.asarray(counts, dtype=np.int64)


def wrap_errors(path: str | os.PathLike, exc: Exception) -> MonoscanError:
    """Turn an unexpected parsing exception into a one-line :class:`FormatError`."""
    if isinstance(exc, MonoscanError):
        return exc
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return FormatError(f"{Path(path)}: malformed file ({msg[:200]})")
