"""Hair strands: one object for a whole hairstyle (polylines, root to tip).

:class:`Strands` stores every strand's points in one ``(P, 3)`` float32 array plus a per-strand
point count, the layout every strand file format uses. Derived quantities (offsets, roots,
tips, lengths, tangents, segment index pairs) are computed on first use and cached; the object
itself is immutable, and every operation returns a new one.

Frame and units: points are in the monoscan world frame, metres, y up, right-handed, x to the
subject's left, z toward the camera, origin between the ears (``docs/ARCHITECTURE.md``,
"Frames and units"). Readers
of other frames convert at the I/O boundary (:mod:`monoscan.io.strands`).

Examples
--------
>>> import numpy as np
>>> s = Strands.from_list([np.zeros((3, 3)), np.ones((2, 3))])
>>> s.n_strands, s.n_points, s.counts.tolist()
(2, 5, [3, 2])
>>> s.segments.tolist()
[[0, 1], [1, 2], [3, 4]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from monoscan.core.errors import InputError

__all__ = ["Strands"]


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False, repr=False)
class Strands:
    """A set of hair strands stored as concatenated polylines, each ordered root to tip.

    Parameters
    ----------
    points : (P, 3) array_like
        All points of all strands, strand after strand, each strand root first. Metres, world
        frame (y up). Stored as float32.
    counts : (S,) array_like of int
        Number of points of each strand; ``counts.sum() == P``. Zero and one-point strands are
        allowed (USC-HairSalon files use them to mark bald roots).
    widths : (P,) array_like, optional
        Per-point strand diameter in metres (float32), or None.
    colors : (P, 3) array_like, optional
        Per-point linear RGB in [0, 1] (float32), or None.

    Raises
    ------
    monoscan.core.errors.InputError
        If shapes disagree, counts are negative or do not sum to P, or values are not finite.
    """

    points: np.ndarray
    counts: np.ndarray
    widths: np.ndarray | None = field(default=None)
    colors: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # overflow -> inf -> rejected
                points = np.array(self.points, dtype=np.float32, copy=True)
            counts_in = np.asarray(self.counts)
        except (TypeError, ValueError) as exc:
            raise InputError(f"strand arrays are not numeric: {exc}") from None
        if points.size == 0:
            points = points.reshape(0, 3)
        if points.ndim != 2 or points.shape[1] != 3:
            raise InputError(f"strand points must have shape (P, 3), got {points.shape}")
        if counts_in.ndim != 1:
            raise InputError(f"strand counts must be 1-D, got shape {counts_in.shape}")
        if (
            counts_in.size
            and not np.issubdtype(counts_in.dtype, np.integer)
            and (not np.all(np.isfinite(counts_in)) or np.any(counts_in != np.round(counts_in)))
        ):
            raise InputError("strand counts must be integers")
        counts = counts_in.astype(np.int64, copy=True)
        if np.any(counts < 0):
            raise InputError("strand counts must be >= 0")
        if int(counts.sum()) != len(points):
            raise InputError(
                f"strand counts sum to {int(counts.sum())} but there are {len(points)} points"
            )
        if not np.all(np.isfinite(points)):
            raise InputError("strand points contain NaN or infinite values")
        object.__setattr__(self, "points", _readonly(points))
        object.__setattr__(self, "counts", _readonly(counts))
        for name, width in (("widths", 1), ("colors", 3)):
            value = getattr(self, name)
            if value is None:
                continue
            with np.errstate(over="ignore", invalid="ignore"):
                arr = np.array(value, dtype=np.float32, copy=True)
            want = (len(points),) if width == 1 else (len(points), 3)
            if arr.shape != want:
                raise InputError(f"strand {name} must have shape {want}, got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise InputError(f"strand {name} contain NaN or infinite values")
            object.__setattr__(self, name, _readonly(arr))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_list(
        cls,
        strands: Sequence[np.ndarray],
        widths: Sequence[np.ndarray] | None = None,
        colors: Sequence[np.ndarray] | None = None,
    ) -> Strands:
        """Build from a list of ``(n_i, 3)`` arrays (metres, root first)."""
        arrays = [np.asarray(s, dtype=np.float32).reshape(-1, 3) for s in strands]
        counts = np.array([len(a) for a in arrays], dtype=np.int64)
        points = np.concatenate(arrays) if arrays else np.zeros((0, 3), np.float32)
        w = np.concatenate([np.ravel(x) for x in widths]) if widths is not None else None
        c = np.concatenate([np.reshape(x, (-1, 3)) for x in colors]) if colors is not None else None
        if w is not None and not len(w):
            w = np.zeros(0, np.float32)
        return cls(points, counts, widths=w, colors=c)

    @classmethod
    def concatenate(cls, items: Sequence[Strands]) -> Strands:
        """Join several strand sets into one (attributes kept only if every set has them)."""
        if not items:
            return cls(np.zeros((0, 3), np.float32), np.zeros(0, np.int64))
        points = np.concatenate([s.points for s in items])
        counts = np.concatenate([s.counts for s in items])
        widths = (
            np.concatenate([s.widths for s in items])
            if all(s.widths is not None for s in items)
            else None
        )
        colors = (
            np.concatenate([s.colors for s in items])
            if all(s.colors is not None for s in items)
            else None
        )
        return cls(points, counts, widths=widths, colors=colors)

    # ------------------------------------------------------------------ sizes and indexing
    @property
    def n_strands(self) -> int:
        """Number of strands S (including empty ones)."""
        return len(self.counts)

    @property
    def n_points(self) -> int:
        """Total number of points P."""
        return len(self.points)

    def __len__(self) -> int:
        return self.n_strands

    def __repr__(self) -> str:
        return f"Strands(n_strands={self.n_strands}, n_points={self.n_points})"

    @cached_property
    def offsets(self) -> np.ndarray:
        """(S + 1,) int64: strand ``i`` is ``points[offsets[i]:offsets[i + 1]]``."""
        out = np.zeros(self.n_strands + 1, dtype=np.int64)
        np.cumsum(self.counts, out=out[1:])
        return _readonly(out)

    @cached_property
    def strand_index(self) -> np.ndarray:
        """(P,) int64: the strand each point belongs to."""
        return _readonly(np.repeat(np.arange(self.n_strands, dtype=np.int64), self.counts))

    def strand(self, i: int) -> np.ndarray:
        """Points of strand ``i`` as a read-only ``(n_i, 3)`` view, root first."""
        if not -self.n_strands <= i < self.n_strands:
            raise IndexError(f"strand index {i} out of range for {self.n_strands} strands")
        i %= self.n_strands
        return self.points[self.offsets[i] : self.offsets[i + 1]]

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(self.n_strands):
            yield self.points[self.offsets[i] : self.offsets[i + 1]]

    # ------------------------------------------------------------------ derived geometry
    @cached_property
    def roots(self) -> np.ndarray:
        """(S, 3) float32 first point of each strand; NaN rows for empty strands."""
        out = np.full((self.n_strands, 3), np.nan, dtype=np.float32)
        nz = self.counts > 0
        out[nz] = self.points[self.offsets[:-1][nz]]
        return _readonly(out)

    @cached_property
    def tips(self) -> np.ndarray:
        """(S, 3) float32 last point of each strand; NaN rows for empty strands."""
        out = np.full((self.n_strands, 3), np.nan, dtype=np.float32)
        nz = self.counts > 0
        out[nz] = self.points[self.offsets[1:][nz] - 1]
        return _readonly(out)

    @cached_property
    def segments(self) -> np.ndarray:
        """(E, 2) int64 point-index pairs of consecutive points within a strand (line sets)."""
        if self.n_points < 2:
            return _readonly(np.zeros((0, 2), dtype=np.int64))
        start = np.arange(self.n_points - 1, dtype=np.int64)
        same = self.strand_index[:-1] == self.strand_index[1:]
        start = start[same]
        return _readonly(np.stack([start, start + 1], axis=1))

    @cached_property
    def segment_lengths(self) -> np.ndarray:
        """(E,) float64 length of each segment in metres, in :attr:`segments` order."""
        p = self.points.astype(np.float64)
        s = self.segments
        return _readonly(np.linalg.norm(p[s[:, 1]] - p[s[:, 0]], axis=1))

    @cached_property
    def lengths(self) -> np.ndarray:
        """(S,) float64 arc length of each strand in metres (0 for strands with < 2 points)."""
        which = self.strand_index[self.segments[:, 0]]
        out = np.bincount(which, weights=self.segment_lengths, minlength=self.n_strands)
        return _readonly(out.astype(np.float64))

    @cached_property
    def tangents(self) -> np.ndarray:
        """(P, 3) float32 unit growth direction (root to tip) at each point.

        Central differences inside a strand, one-sided at its ends; zero vectors for
        one-point strands and for repeated points.
        """
        p = self.points.astype(np.float64)
        n = self.n_points
        d = np.zeros((n, 3))
        if n >= 2:
            same = self.strand_index[:-1] == self.strand_index[1:]
            diff = np.where(same[:, None], p[1:] - p[:-1], 0.0)
            d[:-1] += diff  # forward difference
            d[1:] += diff  # backward difference
        norm = np.linalg.norm(d, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(norm > 0, d / np.where(norm > 0, norm, 1.0), 0.0)
        return _readonly(t.astype(np.float32))

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3) float32 axis-aligned min and max corner in metres (NaN if there are no points)."""
        if self.n_points == 0:
            return np.full((2, 3), np.nan, dtype=np.float32)
        return np.stack([self.points.min(axis=0), self.points.max(axis=0)])

    # ------------------------------------------------------------------ operations
    def subset(self, mask: np.ndarray | Sequence[int] | Sequence[bool]) -> Strands:
        """Keep the strands selected by a boolean mask of length S or by strand indices."""
        sel = np.asarray(mask)
        if sel.dtype == bool:
            if sel.shape != (self.n_strands,):
                raise InputError(f"strand mask must have shape ({self.n_strands},)")
            idx = np.flatnonzero(sel)
        else:
            idx = sel.astype(np.int64).ravel()
            if idx.size and (idx.min() < -self.n_strands or idx.max() >= self.n_strands):
                raise InputError("strand index out of range")
            idx = idx % max(self.n_strands, 1)
        counts = self.counts[idx]
        starts = self.offsets[:-1][idx]
        # Point indices of every selected strand, in selection order.
        total = int(counts.sum())
        first = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        pidx = first + np.arange(total, dtype=np.int64)
        return Strands(
            self.points[pidx],
            counts,
            widths=None if self.widths is None else self.widths[pidx],
            colors=None if self.colors is None else self.colors[pidx],
        )

    def transform(self, matrix: np.ndarray) -> Strands:
        """Apply a 4x4 homogeneous transform to every point (widths scale by cbrt |det A|)."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.shape != (4, 4) or not np.all(np.isfinite(m)):
            raise InputError("transform must be a finite 4x4 matrix")
        p = self.points.astype(np.float64)
        h = p @ m[:3, :3].T + m[:3, 3]
        w = p @ m[3, :3] + m[3, 3]
        if not np.allclose(m[3], [0, 0, 0, 1]):
            if np.any(np.abs(w) < 1e-12):
                raise InputError("projective transform sends a point to infinity")
            h = h / w[:, None]
        widths = self.widths
        if widths is not None:
            widths = widths * np.cbrt(abs(np.linalg.det(m[:3, :3])))
        return Strands(h, self.counts, widths=widths, colors=self.colors)

    def resample(self, n_points_per_strand: int) -> Strands:
        """Resample each strand to ``n`` points evenly spaced along its arc length.

        Strands with fewer than two points or zero length are dropped (they have no direction
        to resample along). Roots and tips are kept exactly; widths and colours are
        interpolated linearly along the arc.
        """
        n = int(n_points_per_strand)
        if n < 2:
            raise InputError("n_points_per_strand must be >= 2")
        keep = (self.counts >= 2) & (self.lengths > 0)
        return self._resample(keep, np.full(self.n_strands, n, dtype=np.int64))

    def resample_spacing(self, spacing: float) -> Strands:
        """Resample each strand to points ``<= spacing`` metres apart along its arc.

        Every strand gets ``ceil(length / spacing) + 1`` evenly spaced points (root and tip
        kept). Strands with fewer than two points or zero length are dropped.
        """
        spacing = float(spacing)
        if not spacing > 0:
            raise InputError("spacing must be > 0")
        keep = (self.counts >= 2) & (self.lengths > 0)
        n = np.ceil(self.lengths / spacing - 1e-9).astype(np.int64) + 1
        return self._resample(keep, np.maximum(n, 2))

    def _resample(self, keep: np.ndarray, n_new: np.ndarray) -> Strands:
        src = self.subset(keep)
        n_new = n_new[keep]
        if src.n_strands == 0:
            return src
        # Cumulative arc length at each source point, restarting at every root.
        seg = np.zeros(src.n_points)
        seg[1:] = np.linalg.norm(np.diff(src.points.astype(np.float64), axis=0), axis=1)
        seg[src.offsets[:-1]] = 0.0
        cum = np.cumsum(seg)
        cum -= np.repeat(cum[src.offsets[:-1]], src.counts)
        total = src.lengths
        # Target arc positions per new point.
        sid = np.repeat(np.arange(src.n_strands), n_new)
        new_off = np.concatenate([[0], np.cumsum(n_new)])
        k = np.arange(len(sid)) - new_off[sid]
        target = k / (n_new[sid] - 1) * total[sid]
        # Locate the source segment of each target: search in (strand id, arc) order.
        key_src = src.strand_index * 1.0
        scale = float(total.max()) * 2 + 1.0
        src_key = key_src * scale + cum
        tgt_key = sid * scale + target
        j = np.searchsorted(src_key, tgt_key, side="right") - 1
        lo_lim = src.offsets[:-1][sid]
        hi_lim = src.offsets[1:][sid] - 2
        j = np.clip(j, lo_lim, hi_lim)
        span = cum[j + 1] - cum[j]
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(span > 0, (target - cum[j]) / np.where(span > 0, span, 1.0), 0.0)
        f = np.clip(f, 0.0, 1.0)[:, None]

        def lerp(a: np.ndarray | None) -> np.ndarray | None:
            if a is None:
                return None
            a2 = a.astype(np.float64).reshape(len(a), -1)
            out = a2[j] * (1 - f) + a2[j + 1] * f
            return out.reshape((len(j),) + a.shape[1:])

        return Strands(lerp(src.points), n_new, widths=lerp(src.widths), colors=lerp(src.colors))
