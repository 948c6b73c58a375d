"""Orthographic shaded previews of a mesh (front, side, back...), no OpenGL needed.

Private helper for looking at heads during development and in tests; pure NumPy/OpenCV.
"""

from __future__ import annotations

import numpy as np

from monoscan.geometry import rotation_y
from monoscan.render.raster import rasterize, sample_image

#: View name -> yaw of the camera around the world y axis (degrees; 0 looks at the face).
VIEWS = {"front": 0.0, "left": 90.0, "back": 180.0, "right": -90.0, "three_quarter": 35.0}


def render(vertices: np.ndarray, faces: np.ndarray, view: str | float = "front",
           size: int = 512, colors: np.ndarray | None = None, uv: np.ndarray | None = None,
           texture: np.ndarray | None = None, background: int = 255) -> np.ndarray:
    """Render a mesh orthographically with simple Lambert shading.

    Parameters
    ----------
    vertices : (V, 3)
        World frame (y up, z toward the front camera), any unit.
    faces : (F, 3) int
    view : str or float
        A name from :data:`VIEWS` or a camera yaw in degrees ("left" shows the subject's left
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
    yaw = VIEWS[view] if isinstance(view, str) else float(view)
    v = np.asarray(vertices, np.float64) @ rotation_y(-yaw).T
    f = np.asarray(faces, np.int64)
    lo, hi = v.min(0), v.max(0)
    centre = 0.5 * (lo + hi)
    scale = 0.9 * size / max(hi[0] - lo[0], hi[1] - lo[1], 1e-12)
    xy = np.stack([(v[:, 0] - centre[0]) * scale + size / 2,
                   (centre[1] - v[:, 1]) * scale + size / 2], axis=1)
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


def render_views(vertices, faces, views=("front", "left", "back"), size: int = 384,
                 **kwargs) -> np.ndarray:
    """Several :func:`render` views side by side, (size, size * len(views), 3) uint8."""
    return np.concatenate([render(vertices, faces, v, size, **kwargs) for v in views], axis=1)
