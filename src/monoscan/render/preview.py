"""Quick orthographic previews without OpenGL: shaded meshes and depth-shaded strand lines.

For looking at results, the README figures, turntables in tests and debugging; pure NumPy and
OpenCV on the one rasteriser (:mod:`monoscan.render.raster`). The photo-like renderer of the
synthetic scenes is :mod:`monoscan.render.scene`.

Meshes (:func:`render_mesh`): the camera turns about the world y axis by the view's yaw
("left" shows the subject's left side). Strands (:func:`render_strands`): ``front`` looks down
-z (subject's left on the image's right), ``side`` shows the subject's left side (looking down
-x), ``back`` looks down +z; a number is a yaw in degrees for turntables.
"""

from __future__ import annotations

import cv2
import numpy as np

from monoscan.core.geometry import rotation_y
from monoscan.core.strands import Strands
from monoscan.render.raster import rasterize, sample_image

__all__ = [
    "MESH_VIEWS",
    "STRAND_VIEWS",
    "mesh_views",
    "render_mesh",
    "render_strands",
    "strand_views",
]

#: View name -> yaw of the camera around the world y axis (degrees; 0 looks at the face).
MESH_VIEWS = {"front": 0.0, "left": 90.0, "back": 180.0, "right": -90.0, "three_quarter": 35.0}


def render_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    view: str | float = "front",
    size: int = 512,
    colors: np.ndarray | None = None,
    uv: np.ndarray | None = None,
    texture: np.ndarray | None = None,
    background: int = 255,
) -> np.ndarray:
    """Render a mesh orthographically with simple Lambert shading.

    Parameters
    ----------
    vertices : (V, 3)
        World frame (y up, z toward the front camera), any unit.
    faces : (F, 3) int
    view : str or float
        A name from :data:`MESH_VIEWS` or a camera yaw in degrees ("left" shows the subject's left
        side: the camera sits at +x).
    size : int
        Output side in pixels (the mesh fills 90 % of it).
    colors : (V, 3) uint8, optional
        Vertex colours; grey when neither colours nor a texture are given.
    uv, texture : optional
        Per-vertex texture coordinates (v up) and the texture image; take precedence.

    Returns
    -------
    (size, size, 3) uint8
    """
    yaw = MESH_VIEWS[view] if isinstance(view, str) else float(view)
    v = np.asarray(vertices, np.float64) @ rotation_y(-yaw).T
    f = np.asarray(faces, np.int64)
    lo, hi = v.min(0), v.max(0)
    centre = 0.5 * (lo + hi)
    scale = 0.9 * size / max(hi[0] - lo[0], hi[1] - lo[1], 1e-12)
    xy = np.stack(
        [(v[:, 0] - centre[0]) * scale + size / 2, (centre[1] - v[:, 1]) * scale + size / 2], axis=1
    )
    _, tri, bary = rasterize(xy, v[:, 2], f, (size, size))
    hit = tri >= 0
    out = np.full((size, size, 3), background, np.uint8)
    if not hit.any():
        return out
    t = tri[hit]
    w = bary[hit]
    corners = f[t]
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-30)
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, f[:, k], fn)
    vn /= np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-30)
    n = np.einsum("pk,pkj->pj", w, vn[corners])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
    light = np.array([0.3, 0.4, 1.0])
    light /= np.linalg.norm(light)
    shade = 0.35 + 0.65 * np.clip(n @ light, 0.0, 1.0)
    if uv is not None and texture is not None:
        tex = np.asarray(texture)
        puv = np.einsum("pk,pkj->pj", w, np.asarray(uv, np.float64)[corners])
        mx = (puv[:, 0] * tex.shape[1] - 0.5).astype(np.float32)
        my = ((1.0 - puv[:, 1]) * tex.shape[0] - 0.5).astype(np.float32)
        base = sample_image(tex, mx, my).astype(np.float64)
    elif colors is not None:
        base = np.einsum("pk,pkj->pj", w, np.asarray(colors, np.float64)[corners, :3])
    else:
        base = np.full((len(t), 3), 200.0)
    out[hit] = np.clip(base * shade[:, None], 0, 255).astype(np.uint8)
    return out


def mesh_views(
    vertices, faces, views=("front", "left", "back"), size: int = 384, **kwargs
) -> np.ndarray:
    """Several :func:`render_mesh` views side by side, (size, size * len(views), 3) uint8."""
    return np.concatenate([render_mesh(vertices, faces, v, size, **kwargs) for v in views], axis=1)


#: View name -> yaw of the subject about the world y axis (degrees) for :func:`render_strands`.
STRAND_VIEWS = {"front": 0.0, "side": 90.0, "back": 180.0, "other_side": -90.0}


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
    colored: bool = True,
) -> np.ndarray:
    """Render strands as depth-shaded lines (closer = brighter), (size, size, 3) uint8 RGB.

    ``view`` is a name (front, side, back, other_side) or a yaw angle in degrees. ``head`` is
    a mesh (``vertices``, ``faces``) drawn as flat grey triangles, painter-sorted. Strands
    with colours are drawn in them (``colored``), shaded by depth; others in a fixed brown.
    """
    yaw = STRAND_VIEWS[view] if isinstance(view, str) else float(view)
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
        for t, s_, zz in zip(f[vis], shade, zt, strict=True):
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
        if colored and sub.colors is not None:
            from monoscan.core.colour import linear_to_srgb

            srgb = linear_to_srgb(np.asarray(sub.colors, np.float64)[seg[:, 0]]) * 255.0
            seg_rgb = srgb * (0.55 + 0.45 * b)[:, None]
        else:
            seg_rgb = np.stack([40 + 150 * b, 25 + 90 * b, 10 + 40 * b], axis=1)
        for (i, j), zz, rgb in zip(seg, zs, seg_rgb, strict=True):
            items.append((zz, 1, (uv[i], uv[j], rgb)))
    items.sort(key=lambda it: it[0])
    for _, kind, data in items:
        if kind == 0:
            pts, s_ = data
            cv2.fillConvexPoly(
                img,
                np.round(pts * 16).astype(np.int32),
                (int(s_),) * 3,
                lineType=cv2.LINE_AA,
                shift=4,
            )
        else:
            a, bpt, rgb = data
            col = tuple(int(c) for c in np.clip(rgb, 0, 255))
            cv2.line(
                img,
                tuple(np.round(a * 16).astype(int)),
                tuple(np.round(bpt * 16).astype(int)),
                col,
                1,
                cv2.LINE_AA,
                shift=4,
            )
    return img


def strand_views(
    strands: Strands, views=("front", "side", "back"), size: int = 384, **kwargs
) -> np.ndarray:
    """Several views side by side, (size, size * len(views), 3) uint8 RGB."""
    return np.hstack([render_strands(strands, v, size, **kwargs) for v in views])
