"""Drop strand segments that cannot be seen, before rendering (exact for the truth maps).

A dense style has 10k-50k strands; seen from one camera almost all of their length is behind
other hair, yet the renderer (:func:`monoscan.render.scene.render`) samples every segment.
:func:`cull_hidden` removes segments that are certainly hidden:

1. Every fifth strand is sampled as the renderer samples it, giving, per pixel, the nearest
   depth of that subset (``zbuf``; the full set's nearest depth is at least as near).
2. A segment (or, for a long segment this leaves visible, each of its pieces at most 4 px
   long) whose nearest end is farther than
   ``zbuf`` at every pixel it can touch (the minimum of ``zbuf`` over a window around its
   middle pixel at least as large as the piece) is hidden: some sample of the subset lies in
   front of each of its samples. A window with a pixel without a subset sample never hides
   anything. A segment tested in pieces is hidden when all its pieces are.

The kept segments are returned as runs (strand pieces). Which sample wins each pixel, so the
hair mask, direction and depth maps, are exactly those of rendering every segment. Only the
soft coverage (and so the alpha of the hair's fringe and the darkening of the skin under it)
counts fewer samples, and the root-to-tip lightening is matched per run on average.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cull_hidden"]

#: Window half-sizes (pixels) of the min-filtered depth for whole segments.
_LEVELS = (1, 2, 4, 8, 16)
#: Longest piece of a long segment tested against one window, pixels.
_PIECE = 4.0


def _samples(uv: np.ndarray, z: np.ndarray, seg: np.ndarray, w: int, h: int, per_px: float):
    """Pixels and depths of the renderer's samples along segments ``seg`` (start indices)."""
    u0, u1 = uv[seg], uv[seg + 1]
    length = np.sqrt(((u1 - u0) ** 2).sum(1))
    k = np.minimum(np.maximum(1, np.ceil(length * per_px)).astype(np.int64), 64)
    rep = np.repeat(np.arange(len(seg), dtype=np.int64), k)
    local = np.arange(int(k.sum()), dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
    t = (local.astype(np.float32) + np.float32(0.5)) / k.astype(np.float32)[rep]
    du = (u1 - u0)[rep]
    col = np.floor(u0[rep, 0] + du[:, 0] * t + 0.5).astype(np.int64)
    row = np.floor(u0[rep, 1] + du[:, 1] * t + 0.5).astype(np.int64)
    sz = z[seg][rep] + (z[seg + 1] - z[seg])[rep] * t
    ok = (col >= 0) & (col < w) & (row >= 0) & (row < h)
    return row[ok] * w + col[ok], sz[ok].astype(np.float32)


def cull_hidden(
    view,
    points: np.ndarray,
    counts: np.ndarray,
    colors: np.ndarray,
    *,
    tip_lighten: float = 0.15,
    samples_per_px: float = 1.05,
    stride: int = 5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strand pieces that may be visible from ``view`` (module docstring).

    Parameters
    ----------
    view : monoscan.render.scene.View
    points : (P, 3) float
        World frame, metres; strands concatenated, root first.
    counts : (S,) int
    colors : (S, 3) float
        Per-strand albedo.
    tip_lighten, samples_per_px : float
        As the :class:`~monoscan.render.scene.StrandLayer` that will draw the pieces.
    stride : int
        Every ``stride``-th strand makes the depth buffer.

    Returns
    -------
    points : (P', 3) float64
    counts : (R,) int64
        Points per piece (each >= 2).
    colors : (R, 3) float64
        Per-piece albedo (the strand's, lightened by the piece's mean place along it and
        divided by the renderer's own mean lightening of a piece).
    """
    import cv2

    pts = np.asarray(points, np.float64)
    counts = np.asarray(counts, np.int64)
    colors = np.asarray(colors, np.float64)
    if len(pts) == 0:
        return pts.reshape(0, 3), counts[:0], colors[:0]
    h, w = view.shape
    sid = np.repeat(np.arange(len(counts)), counts)
    seg = np.flatnonzero(sid[:-1] == sid[1:])
    uv, z = view.project(pts)
    uv, z = uv.astype(np.float32), z.astype(np.float32)
    sub = seg[sid[seg] % stride == 0]
    pix, sz = _samples(uv, z, sub, w, h, samples_per_px)
    zbuf = np.full(h * w, -1e30, np.float32)
    np.maximum.at(zbuf, pix, sz)
    zbuf = zbuf.reshape(h, w)
    # First each whole segment, against the minimum of zbuf over a (2 r + 1)^2 window around
    # its middle pixel, r >= its half-extent; then, in pieces at most _PIECE px long, the
    # long segments that this left visible.
    u0, u1 = uv[seg], uv[seg + 1]
    du = u1 - u0
    extent = np.abs(du).max(axis=1)
    eroded = {}

    def window_min(r: int) -> np.ndarray:
        if r not in eroded:
            eroded[r] = cv2.erode(zbuf, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
        return eroded[r]

    def hidden_at(mid: np.ndarray, zfar: np.ndarray, r: int) -> np.ndarray:
        ok = (mid[:, 0] >= 0) & (mid[:, 0] < w) & (mid[:, 1] >= 0) & (mid[:, 1] < h)
        out = np.zeros(len(mid), bool)
        out[ok] = zfar[ok] < window_min(r)[mid[ok, 1], mid[ok, 0]]
        return out

    hidden = np.zeros(len(seg), bool)
    mid_all = np.floor(0.5 * (u0 + u1) + 0.5).astype(np.int64)
    zfar_all = np.maximum(z[seg], z[seg + 1])
    half = np.ceil(0.5 * extent).astype(np.int64) + 1
    for r in _LEVELS:
        sel = np.flatnonzero((half <= r) & ~hidden & (half > r // 2))
        if len(sel):
            hidden[sel] = hidden_at(mid_all[sel], zfar_all[sel], r)
    long = np.flatnonzero(~hidden & (extent > _PIECE))
    if len(long):
        n_p = np.ceil(extent[long] / _PIECE).astype(np.int64)
        rep = np.repeat(np.arange(len(long), dtype=np.int64), n_p)
        j = np.arange(int(n_p.sum()), dtype=np.int64) - np.repeat(np.cumsum(n_p) - n_p, n_p)
        npr = n_p[rep].astype(np.float32)
        jf = j.astype(np.float32)
        ta, tb = jf / npr, (jf + 1) / npr
        sl = long[rep]
        mid = np.floor(u0[sl] + du[sl] * (0.5 * (ta + tb))[:, None] + 0.5).astype(np.int64)
        z0, dz = z[seg][sl], (z[seg + 1] - z[seg])[sl]
        zfar = z0 + dz * np.where(dz > 0, tb, ta)
        piece_hidden = hidden_at(mid, zfar, int(np.ceil(_PIECE / 2)) + 1)
        visible = np.bincount(rep, weights=~piece_hidden, minlength=len(long))
        hidden[long] = visible == 0
    keep_seg = np.zeros(len(pts), bool)  # by the index of the segment's first point
    keep_seg[seg[~hidden]] = True
    keep_pt = keep_seg.copy()
    keep_pt[1:] |= keep_seg[:-1]
    prev = np.zeros(len(pts), bool)
    prev[1:] = keep_seg[:-1]
    start = keep_pt & ~prev
    run = np.cumsum(start)[keep_pt] - 1
    n_runs = int(start.sum())
    out_counts = np.bincount(run, minlength=n_runs).astype(np.int64)
    # The lightening: the renderer ramps each piece from 0 to tip_lighten; the strand's own
    # place along it runs from f0 to f1. Match the mean.
    first = np.cumsum(counts) - counts
    frac = (np.arange(len(pts)) - np.repeat(first, counts)) / np.maximum(
        np.repeat(counts, counts) - 1, 1
    )
    starts = np.flatnonzero(start)
    ends = starts + out_counts - 1
    f_mean = 0.5 * (frac[starts] + frac[ends])
    strand_of = sid[starts]
    scale = (1 + tip_lighten * f_mean) / (1 + 0.5 * tip_lighten)
    return pts[keep_pt], out_counts, colors[strand_of] * scale[:, None]
