"""Quick orthographic line renders of strands (and an optional head mesh) with OpenCV.

For looking at results, README images and debugging; not a renderer for production.
Views: ``front`` looks down -z (subject's left on the image's right), ``side`` shows the
subject's left side (looking down -x), ``back`` looks down +z; ``yaw_deg`` turns the subject
about the vertical axis for turntables.
"""

from __future__ import annotations

import cv2
import numpy as np

from monoscan.geometry import rotation_y
from monoscan.hair.strands import Strands

__all__ = ["render_strands", "render_views"]

_YAW = {"front": 0.0, "side": 90.0, "back": 180.0, "other_side": -90.0}


def render_strands(
    strands: Strands,
    view: str | float = "front",
    size: int = 512,
    *,
    head=None,
    centre: np.ndarray | None = None,
    extent_m: float = 0.5,
    max_strands: int = 4000,
    seed: int = 0,
) -> np.ndarray:
    """Render strands as depth-shaded lines (closer = brighter), (size, size, 3) uint8 RGB.

    ``view`` is a name (front, side, back, other_side) or a yaw angle in degrees. ``head`` is
    a mesh (``vertices``, ``faces``) drawn as flat grey triangles, painter-sorted.
    """
    yaw = _YAW[view] if isinstance(view, str) else float(view)
    r = rotation_y(-yaw)
    img = np.full((size, size, 3), 255, np.uint8)
    c = np.zeros(3) if centre is None else np.asarray(centre, np.float64)
    scale = size / extent_m

    def proj(p):
        q = (np.asarray(p, np.float64) - c) @ r.T
        uv = np.stack([q[:, 0] * scale + size / 2, -q[:, 1] * scale + size / 2], axis=1)
        return uv, q[:, 2]

    items = []  # (depth, kind, data)
    if head is not None:
        v = np.asarray(head.vertices, np.float64)
        f = np.asarray(head.faces, np.int64)
        uv, z = proj(v)
        n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]) @ r.T
        nz = n[:, 2] / np.maximum(np.linalg.norm(n, axis=1), 1e-12)
        vis = nz > 0
        shade = (120 + 100 * nz[vis]).astype(int)
        zt = z[f[vis]].mean(1)
        for t, s_, zz in zip(f[vis], shade, zt):
            items.append((zz, 0, (uv[t], s_)))
    rng = np.random.default_rng(seed)
    sel = np.arange(strands.n_strands)
    if len(sel) > max_strands:
        sel = np.sort(rng.choice(len(sel), max_strands, replace=False))
    sub = strands.subset(sel)
    if sub.n_points:
        uv, z = proj(sub.points)
        seg = sub.segments
        zs = z[seg].mean(1)
        lo, hi = (np.percentile(z, 2), np.percentile(z, 98)) if len(z) else (0, 1)
        b = np.clip((zs - lo) / max(hi - lo, 1e-6), 0, 1)
        for (i, j), zz, bb in zip(seg, zs, b):
            items.append((zz, 1, (uv[i], uv[j], bb)))
    items.sort(key=lambda it: it[0])
    for _, kind, data in items:
        if kind == 0:
            pts, s_ = data
            cv2.fillConvexPoly(img, np.round(pts * 16).astype(np.int32), (int(s_),) * 3,
                               lineType=cv2.LINE_AA, shift=4)
        else:
            a, bpt, bb = data
            col = (int(40 + 150 * bb), int(25 + 90 * bb), int(10 + 40 * bb))
            cv2.line(img, tuple(np.round(a * 16).astype(int)), tuple(np.round(bpt * 16).astype(int)),
                     col, 1, cv2.LINE_AA, shift=4)
    return img


def render_views(strands: Strands, views=("front", "side", "back"), size: int = 384,
                 **kwargs) -> np.ndarray:
    """Several views side by side, (size, size * len(views), 3) uint8 RGB."""
    return np.hstack([render_strands(strands, v, size, **kwargs) for v in views])
