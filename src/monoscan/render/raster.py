"""A small vectorised z-buffer rasteriser for orthographic views, and bilinear image sampling.

Pixel (row r, column c) has its centre at photo coordinates (c + 0.5, r + 0.5): the photo
frame's origin is the top-left pixel corner.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rasterize", "sample_image"]


def rasterize(
    xy: np.ndarray,
    z: np.ndarray,
    faces: np.ndarray,
    shape: tuple[int, int],
    nearest: str = "max",
    chunk: int = 1_000_000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rasterise triangles keeping, per pixel, the largest (``"max"``) or smallest ``z``.

    Parameters
    ----------
    xy : (N, 2) float
        Vertex positions in px (x right, y down).
    z : (N,) float
        Per-vertex value used for the depth test (larger = closer for ``"max"``).
    faces : (F, 3) int
        Triangles.
    shape : (H, W)
        Output size.
    nearest : {"max", "min"}
        Which z wins.
    chunk : int
        Candidate pixels processed at once (memory bound).

    Returns
    -------
    depth : (H, W) float64
        Interpolated z of the winning triangle, NaN where no triangle covers the pixel centre.
    face : (H, W) int64
        Index of the winning triangle, -1 where empty.
    bary : (H, W, 3) float64
        Barycentric weights of the pixel centre in the winning triangle (0 where empty).
    """
    h, w = int(shape[0]), int(shape[1])
    xy = np.asarray(xy, np.float64)
    z = np.asarray(z, np.float64)
    faces = np.asarray(faces, np.int64)
    sign = 1.0 if nearest == "max" else -1.0
    best = np.full(h * w, -np.inf)
    face_out = np.full(h * w, -1, np.int64)
    bary_out = np.zeros((h * w, 3))
    if len(faces) == 0:
        return np.full((h, w), np.nan), face_out.reshape(h, w), bary_out.reshape(h, w, 3)
    t = xy[faces]  # (F, 3, 2)
    x0 = np.clip(np.ceil(t[..., 0].min(1) - 0.5), 0, w).astype(np.int64)
    x1 = np.clip(np.floor(t[..., 0].max(1) - 0.5), -1, w - 1).astype(np.int64)
    y0 = np.clip(np.ceil(t[..., 1].min(1) - 0.5), 0, h).astype(np.int64)
    y1 = np.clip(np.floor(t[..., 1].max(1) - 0.5), -1, h - 1).astype(np.int64)
    nx = np.maximum(x1 - x0 + 1, 0)
    ny = np.maximum(y1 - y0 + 1, 0)
    count = nx * ny
    # Edge-function coefficients for barycentrics.
    a, b, c = t[:, 0], t[:, 1], t[:, 2]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    valid = (np.abs(area) > 1e-12) & (count > 0)
    idx = np.nonzero(valid)[0]
    csum = np.cumsum(count[idx])
    start = 0
    while start < len(idx):
        base = csum[start - 1] if start > 0 else 0
        stop = int(np.searchsorted(csum, base + chunk, side="right"))
        stop = max(stop, start + 1)
        fi = idx[start:stop]
        cnt = count[fi]
        rep = np.repeat(np.arange(len(fi)), cnt)
        offs = np.cumsum(cnt) - cnt
        local = np.arange(int(cnt.sum())) - offs[rep]
        f = fi[rep]
        px = x0[f] + local % nx[f]
        py = y0[f] + local // nx[f]
        cx = px + 0.5
        cy = py + 0.5
        ar = area[f]
        w0 = ((b[f, 0] - cx) * (c[f, 1] - cy) - (b[f, 1] - cy) * (c[f, 0] - cx)) / ar
        w1 = ((c[f, 0] - cx) * (a[f, 1] - cy) - (c[f, 1] - cy) * (a[f, 0] - cx)) / ar
        w2 = 1.0 - w0 - w1
        eps = -1e-9
        inside = (w0 >= eps) & (w1 >= eps) & (w2 >= eps)
        f, px, py, w0, w1, w2 = (
            f[inside],
            px[inside],
            py[inside],
            w0[inside],
            w1[inside],
            w2[inside],
        )
        zz = sign * (w0 * z[faces[f, 0]] + w1 * z[faces[f, 1]] + w2 * z[faces[f, 2]])
        pix = py * w + px
        order = np.lexsort((-zz, pix))
        pix, zz, f = pix[order], zz[order], f[order]
        w0, w1, w2 = w0[order], w1[order], w2[order]
        first = np.ones(len(pix), bool)
        first[1:] = pix[1:] != pix[:-1]
        pix, zz, f = pix[first], zz[first], f[first]
        wb = np.stack([w0[first], w1[first], w2[first]], 1)
        better = zz > best[pix]
        pix, zz, f, wb = pix[better], zz[better], f[better], wb[better]
        best[pix] = zz
        face_out[pix] = f
        bary_out[pix] = wb
        start = stop
    depth = np.where(np.isfinite(best), sign * best, np.nan)
    return depth.reshape(h, w), face_out.reshape(h, w), bary_out.reshape(h, w, 3)


def sample_image(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of an (H, W, C) uint8 or float32 image at pixel coordinates (any
    count; pixel centres at integers), in the image's dtype."""
    import cv2

    n = len(x)
    cols = 1024
    rows = max(1, -(-n // cols))
    mx = np.zeros(rows * cols, np.float32)
    my = np.zeros(rows * cols, np.float32)
    mx[:n], my[:n] = x, y
    out = cv2.remap(
        image,
        mx.reshape(rows, cols),
        my.reshape(rows, cols),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return out.reshape(rows * cols, -1)[:n].astype(image.dtype)
