"""A small vectorised z-buffer triangle rasteriser (private to monoscan.head).

Samples sit at integer coordinates ``(col, row)``; a triangle covers a sample when the sample
lies inside it (edges included). The nearest triangle (largest depth) wins.
"""

from __future__ import annotations

import numpy as np

# Candidate (triangle, sample) pairs handled per chunk, to bound memory.
_CHUNK = 4_000_000


def rasterize(xy: np.ndarray, depth: np.ndarray, faces: np.ndarray, shape: tuple[int, int]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rasterise triangles with a depth test (larger depth = nearer, wins).

    Parameters
    ----------
    xy : (V, 2) float
        Vertex positions in sample units: x = column, y = row.
    depth : (V,) float
        Per-vertex depth; larger is nearer.
    faces : (F, 3) int
    shape : (rows, cols)

    Returns
    -------
    tri : (rows, cols) int64
        Winning triangle per sample, -1 where none.
    bary : (rows, cols, 3) float64
        Barycentric coordinates of the sample in its triangle (zeros where none).
    zbuf : (rows, cols) float64
        Interpolated depth (-inf where none).
    """
    rows, cols = shape
    xy = np.asarray(xy, np.float64)
    depth = np.asarray(depth, np.float64)
    faces = np.asarray(faces, np.int64)
    a, b, c = xy[faces[:, 0]], xy[faces[:, 1]], xy[faces[:, 2]]
    lo = np.floor(np.minimum(np.minimum(a, b), c) + 1e-9).astype(np.int64)
    hi = np.floor(np.maximum(np.maximum(a, b), c)).astype(np.int64)
    lo[:, 0] = np.clip(lo[:, 0], 0, cols)
    lo[:, 1] = np.clip(lo[:, 1], 0, rows)
    hi[:, 0] = np.clip(hi[:, 0], -1, cols - 1)
    hi[:, 1] = np.clip(hi[:, 1], -1, rows - 1)
    nx = np.maximum(hi[:, 0] - lo[:, 0] + 1, 0)
    ny = np.maximum(hi[:, 1] - lo[:, 1] + 1, 0)
    count = nx * ny
    tri_out = np.full(rows * cols, -1, np.int64)
    bary_out = np.zeros((rows * cols, 3))
    z_out = np.full(rows * cols, -np.inf)
    keep = np.flatnonzero(count > 0)
    if len(keep) == 0:
        return tri_out.reshape(rows, cols), bary_out.reshape(rows, cols, 3), \
            z_out.reshape(rows, cols)
    csum = np.cumsum(count[keep])
    start = 0
    while start < len(keep):
        base = csum[start - 1] if start else 0
        stop = int(np.searchsorted(csum, base + _CHUNK, side="right"))
        stop = max(stop, start + 1)
        _raster_chunk(keep[start:stop], lo, nx, count, a, b, c, depth, faces,
                      cols, tri_out, bary_out, z_out)
        start = stop
    return tri_out.reshape(rows, cols), bary_out.reshape(rows, cols, 3), z_out.reshape(rows, cols)


def _raster_chunk(idx, lo, nx, count, a, b, c, depth, faces, cols, tri_out, bary_out, z_out):
    cnt = count[idx]
    t = np.repeat(idx, cnt)
    offsets = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    px = lo[t, 0] + offsets % nx[t]
    py = lo[t, 1] + offsets // nx[t]
    ax, ay = a[t, 0], a[t, 1]
    v0x, v0y = b[t, 0] - ax, b[t, 1] - ay
    v1x, v1y = c[t, 0] - ax, c[t, 1] - ay
    wx, wy = px - ax, py - ay
    den = v0x * v1y - v1x * v0y
    ok = np.abs(den) > 1e-12
    den = np.where(ok, den, 1.0)
    l1 = (wx * v1y - v1x * wy) / den
    l2 = (v0x * wy - wx * v0y) / den
    l0 = 1.0 - l1 - l2
    eps = -1e-9
    inside = ok & (l0 >= eps) & (l1 >= eps) & (l2 >= eps)
    t, px, py, l0, l1, l2 = t[inside], px[inside], py[inside], l0[inside], l1[inside], l2[inside]
    f = faces[t]
    z = l0 * depth[f[:, 0]] + l1 * depth[f[:, 1]] + l2 * depth[f[:, 2]]
    pix = py * cols + px
    # Depth test: keep the nearest candidate per pixel (also against earlier chunks).
    order = np.lexsort((-z, pix))
    pix, z = pix[order], z[order]
    first = np.ones(len(pix), bool)
    first[1:] = pix[1:] != pix[:-1]
    sel = order[first]
    pix, z = pix[first], z[first]
    better = z > z_out[pix]
    pix, sel, z = pix[better], sel[better], z[better]
    tri_out[pix] = t[sel]
    z_out[pix] = z
    bary_out[pix] = np.stack([l0[sel], l1[sel], l2[sel]], axis=1)


def sample_image(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of an (H, W, C) uint8 image at pixel coordinates (any count)."""
    import cv2

    n = len(x)
    cols = 1024
    rows = max(1, -(-n // cols))
    mx = np.zeros(rows * cols, np.float32)
    my = np.zeros(rows * cols, np.float32)
    mx[:n], my[:n] = x, y
    out = cv2.remap(image, mx.reshape(rows, cols), my.reshape(rows, cols), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(rows * cols, -1)[:n].astype(np.uint8)
