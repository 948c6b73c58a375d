"""The synthetic person's body: monoscan's parametric head with a nose, lips and brows added,
a painted face, and a torso (private helper of :mod:`monoscan.synth`).

Everything is in the canonical head frame of :mod:`monoscan.head.model` (metres, y up, x to the
subject's left, z out of the face, origin between the ear canals). The face is painted as a
3D albedo function of the surface point (eyes, irises, brows, lips, nostrils), so no texture
image is needed and the same function colours any renderer sample.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from monoscan.head.model import (
    HeadShape,
    anchor_points,
    head_bounds,
    head_sdf,
    part_sdfs,
    scalp_mask,
    smooth_union,
)

__all__ = ["H3DS_LANDMARKS", "SynthHead", "build_head", "face_albedo", "torso_mesh"]

#: H3DS landmark names and the anchor each comes from.
H3DS_LANDMARKS = {
    "right_eye": "right_eye",
    "left_eye": "left_eye",
    "nose_tip": "nose_tip",
    "nose_base": "nose_base",
    "right_lips": "right_mouth",
    "left_lips": "left_mouth",
}


@dataclass(frozen=True)
class SynthHead:
    """A closed synthetic head mesh with its distance field.

    Attributes
    ----------
    vertices : (V, 3) float64
        Canonical head frame, metres.
    faces : (F, 3) int64
        Outward-facing triangles.
    shape : HeadShape
    anchors : dict
        Named anchor points (see :func:`monoscan.head.model.anchor_points`).
    sdf_lo : (3,) float64
        Corner of the distance grid (metres).
    sdf_spacing : float
        Grid spacing (metres).
    sdf : (I, J, K) float32
        Signed distance on the grid (negative inside).
    scalp : (V,) bool
        Vertices where hair may grow.
    """

    vertices: np.ndarray
    faces: np.ndarray
    shape: HeadShape
    anchors: dict
    sdf_lo: np.ndarray
    sdf_spacing: float
    sdf: np.ndarray
    scalp: np.ndarray

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Trilinear signed distance (metres) at (N, 3) head-frame points (large outside grid)."""
        from scipy.ndimage import map_coordinates

        q = (np.asarray(points, np.float64) - self.sdf_lo) / self.sdf_spacing
        return map_coordinates(self.sdf, q.T, order=1, mode="nearest")

    def gradient(self, points: np.ndarray, eps: float = 0.002) -> np.ndarray:
        """Unit outward direction of the distance field at (N, 3) points (central differences)."""
        p = np.asarray(points, np.float64)
        g = np.empty_like(p)
        for i in range(3):
            e = np.zeros(3)
            e[i] = eps
            g[:, i] = self.distance(p + e) - self.distance(p - e)
        n = np.linalg.norm(g, axis=1, keepdims=True)
        return g / np.maximum(n, 1e-12)

    @functools.cached_property
    def _unit_gradient_grid(self) -> np.ndarray:
        g = np.stack(np.gradient(self.sdf.astype(np.float32)), axis=-1)
        return (g / np.maximum(np.linalg.norm(g, axis=-1, keepdims=True), 1e-12)).astype(np.float32)

    def _nearest_voxel(self, points: np.ndarray) -> np.ndarray:
        lo = self.sdf_lo.astype(np.float32)
        q = (np.asarray(points, np.float32) - lo) * np.float32(1.0 / self.sdf_spacing)
        q += np.float32(0.5)
        shape = self.sdf.shape
        i = np.clip(q[:, 0], 0, shape[0] - 1).astype(np.int32)
        j = np.clip(q[:, 1], 0, shape[1] - 1).astype(np.int32)
        k = np.clip(q[:, 2], 0, shape[2] - 1).astype(np.int32)
        return (i.astype(np.int64) * shape[1] + j) * shape[2] + k

    def coarse_distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance at the nearest grid node (within about 3 mm of :meth:`distance`;
        a cheap test of which points are near the head)."""
        return self.sdf.reshape(-1)[self._nearest_voxel(points)]

    def coarse_gradient(self, points: np.ndarray) -> np.ndarray:
        """Unit outward direction at the nearest grid node (a cheap :meth:`gradient`)."""
        return self._unit_gradient_grid.reshape(-1, 3)[self._nearest_voxel(points)]

    def landmark_ids(self) -> dict[str, int]:
        """H3DS landmark name -> index of the vertex nearest to its anchor."""
        out = {}
        for name, anchor in H3DS_LANDMARKS.items():
            d = np.linalg.norm(self.vertices - self.anchors[anchor], axis=1)
            out[name] = int(np.argmin(d))
        return out


def _features_sdf(p: np.ndarray, s: HeadShape) -> np.ndarray:
    """Nose, nostril wings, lips and brow ridge, as one signed distance."""
    a = anchor_points(s)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    tip, base = a["nose_tip"], a["nose_base"]
    top = np.array([0.0, 0.010, 0.088 * s.face_depth / 0.095])
    r = 0.0085
    tip_c = tip - np.array([0.0, 0.0, r])
    ab = tip_c - top
    t = np.clip(((p - top) @ ab) / (ab @ ab), 0.0, 1.0)
    radius = 0.006 + (r - 0.006) * t
    nose = np.linalg.norm(p - (top + t[:, None] * ab), axis=1) - radius

    def ell(c, rad):
        k0 = np.sqrt(
            ((x - c[0]) / rad[0]) ** 2 + ((y - c[1]) / rad[1]) ** 2 + ((z - c[2]) / rad[2]) ** 2
        )
        k1 = np.sqrt(
            ((x - c[0]) / rad[0] ** 2) ** 2
            + ((y - c[1]) / rad[1] ** 2) ** 2
            + ((z - c[2]) / rad[2] ** 2) ** 2
        )
        return k0 * (k0 - 1.0) / np.maximum(k1, 1e-12)

    wings = ell((0.0, base[1] + 0.004, base[2] - 0.004), (0.016, 0.008, 0.009))
    mouth_y = a["right_mouth"][1]
    lips = ell((0.0, mouth_y, a["right_mouth"][2] + 0.003), (0.024, 0.011, 0.008))
    brow = ell((0.0, a["right_eye"][1] + 0.018, a["right_eye"][2] - 0.004), (0.058, 0.010, 0.012))
    out = smooth_union(nose, wings, 0.004)
    out = smooth_union(out, lips, 0.004)
    return smooth_union(out, brow, 0.006)


def synth_sdf(points: np.ndarray, shape: HeadShape) -> np.ndarray:
    """Signed distance (metres) of the synthetic head: parametric head + facial features."""
    p = np.asarray(points, np.float64).reshape(-1, 3)
    return smooth_union(
        head_sdf(p.astype(np.float32), shape).astype(np.float64), _features_sdf(p, shape), 0.006
    )


def build_head(shape: HeadShape | None = None, spacing: float = 0.0035) -> SynthHead:
    """Mesh the synthetic head (marching cubes at ``spacing`` metres)."""
    from skimage.measure import marching_cubes

    s = shape or HeadShape()
    lo, hi = head_bounds(s, margin=0.03)
    hi = hi + np.array([0.0, 0.0, 0.03])
    n = np.ceil((hi - lo) / spacing).astype(int) + 1
    axes = [lo[i] + spacing * np.arange(n[i]) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    field = synth_sdf(grid, s).reshape(n).astype(np.float32)
    verts, faces, _, _ = marching_cubes(
        field, 0.0, spacing=(spacing,) * 3, gradient_direction="descent"
    )
    verts = verts.astype(np.float64) + lo
    scalp = scalp_mask(verts, s)
    return SynthHead(
        vertices=verts,
        faces=faces.astype(np.int64),
        shape=s,
        anchors=anchor_points(s),
        sdf_lo=lo,
        sdf_spacing=float(spacing),
        sdf=field,
        scalp=scalp,
    )


def part_labels(points: np.ndarray, shape: HeadShape) -> np.ndarray:
    """Parsing label of head-surface points: 2 face skin, 4 ears, 1 neck (body)."""
    p = np.asarray(points, np.float64).reshape(-1, 3)
    d = part_sdfs(p.astype(np.float32), shape)
    lab = np.full(len(p), 2, np.uint8)
    others = np.minimum(np.minimum(d["cranium"], d["midface"]), d["jaw"])
    # Neck: below the jaw line and nearer to the neck part than to the skull.
    jaw_line = -shape.chin_drop * (0.55 + 0.45 * np.clip(p[:, 2] / 0.08, 0.0, 1.0))
    lab[(d["neck"] < others - 0.002) & (p[:, 1] < jaw_line + 0.01)] = 1
    lab[d["ears"] < 0.004] = 4
    return lab


def _ellipse(u: np.ndarray, v: np.ndarray, cu: float, cv: float, ru: float, rv: float):
    return ((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2


def face_albedo(
    points: np.ndarray,
    shape: HeadShape,
    skin: np.ndarray,
    iris: np.ndarray,
    brow: np.ndarray,
    lip: np.ndarray,
) -> np.ndarray:
    """Painted albedo (sRGB in [0, 1]) of head-surface points.

    Parameters
    ----------
    points : (N, 3) float
        Head-frame points on the surface, metres.
    shape : HeadShape
    skin, iris, brow, lip : (3,) float
        Colours (sRGB, [0, 1]).

    Returns
    -------
    (N, 3) float64
    """
    p = np.asarray(points, np.float64).reshape(-1, 3)
    a = anchor_points(shape)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    out = np.tile(np.asarray(skin, np.float64), (len(p), 1))
    front = z > 0.035
    # Cheeks a little redder.
    cheek = np.exp(-(_ellipse(np.abs(x), y, 0.042, -0.018, 0.022, 0.018)))
    out = out * (1 - 0.12 * cheek[:, None]) + 0.12 * cheek[:, None] * np.array([0.85, 0.45, 0.42])
    eye_y = a["right_eye"][1]
    ax = np.abs(x)
    ex = a["left_eye"][0]
    # Eyes: almond opening, iris, pupil, upper lid line, lashes.
    lid = _ellipse(ax, y, ex, eye_y, 0.0145, 0.0058 * (1.0 - 0.35 * ((ax - ex) / 0.0145) ** 2))
    opening = front & (lid < 1.0)
    r_eye = np.hypot(ax - ex, y - eye_y)
    sclera = np.array([0.86, 0.84, 0.80])
    col = np.where((r_eye < 0.0058)[:, None], np.asarray(iris)[None], sclera[None])
    col = np.where((r_eye < 0.0024)[:, None], np.array([0.03, 0.03, 0.03])[None], col)
    ring = (r_eye > 0.0050) & (r_eye < 0.0058)
    col = np.where(ring[:, None], 0.5 * col, col)
    out = np.where(opening[:, None], col, out)
    upper = front & (lid >= 1.0) & (lid < 1.9) & (y > eye_y) & (np.abs(ax - ex) < 0.016)
    out = np.where(upper[:, None], 0.25 * out + 0.75 * np.array([0.07, 0.05, 0.04]), out)
    lower = front & (lid >= 1.0) & (lid < 1.45) & (y <= eye_y)
    out = np.where(lower[:, None], 0.6 * out + 0.4 * np.array([0.25, 0.15, 0.13]), out)
    shade = front & (lid >= 1.9) & (lid < 4.0)
    out = np.where(shade[:, None], out * 0.88, out)
    # Brows: an arc above each eye, thicker towards the nose.
    t = (ax - 0.012) / 0.046
    arc_y = eye_y + 0.019 + 0.006 * np.sin(np.pi * np.clip(t, 0, 1)) - 0.004 * t
    thick = 0.0042 * (1.0 - 0.55 * np.clip(t, 0, 1))
    brow_m = front & (t > 0) & (t < 1) & (np.abs(y - arc_y) < thick)
    out = np.where(brow_m[:, None], np.asarray(brow)[None], out)
    # Lips: upper and lower, a dark line between, corners at the mouth anchors.
    mx = a["left_mouth"][0]
    my = a["left_mouth"][1]
    half = np.clip(1.0 - (x / mx) ** 2, 0.0, 1.0)
    up_h = 0.0065 * np.sqrt(half) * (1.0 - 0.25 * np.exp(-((x / 0.004) ** 2)))
    lo_h = 0.0085 * np.sqrt(half)
    lips = front & (np.abs(x) < mx) & (y < my + up_h) & (y > my - lo_h)
    out = np.where(lips[:, None], np.asarray(lip)[None], out)
    line = front & (np.abs(x) < mx) & (np.abs(y - my) < 0.0012 + 0.0008 * half)
    out = np.where(line[:, None], np.array([0.22, 0.08, 0.08])[None], out)
    # Nostrils.
    nb = a["nose_base"]
    nostril = (
        front
        & (_ellipse(ax, y, 0.0065, nb[1] + 0.0015, 0.0042, 0.0024) < 1.0)
        & (z > nb[2] - 0.012)
    )
    out = np.where(nostril[:, None], 0.3 * out, out)
    return np.clip(out, 0.0, 1.0)


def torso_mesh(
    shape: HeadShape, width: float = 0.40, depth: float = 0.22, n_u: int = 48, n_v: int = 24
) -> tuple[np.ndarray, np.ndarray]:
    """Shoulders and chest as a closed super-ellipsoid below the neck (head frame, metres)."""
    top = -0.015 - shape.neck_length * np.cos(np.radians(shape.neck_lean)) + 0.03
    ry = 0.20
    centre = np.array([0.0, top - ry, -0.035])
    u = np.linspace(-np.pi, np.pi, n_u, endpoint=False)
    v = np.linspace(-np.pi / 2, np.pi / 2, n_v)
    uu, vv = np.meshgrid(u, v, indexing="ij")

    def sp(w, e):
        return np.sign(w) * np.abs(w) ** e

    e_xz, e_y = 0.6, 0.35
    xs = 0.5 * width * sp(np.cos(vv), e_y) * sp(np.cos(uu), e_xz)
    zs = 0.5 * depth * sp(np.cos(vv), e_y) * sp(np.sin(uu), e_xz)
    ys = ry * sp(np.sin(vv), e_y)
    verts = np.stack([xs, ys, zs], axis=-1).reshape(-1, 3) + centre
    faces = []
    for i in range(n_u):
        i2 = (i + 1) % n_u
        for j in range(n_v - 1):
            a, b = i * n_v + j, i2 * n_v + j
            c, d = i2 * n_v + j + 1, i * n_v + j + 1
            faces.append((a, d, c))
            faces.append((a, c, b))
    return verts, np.asarray(faces, np.int64)
