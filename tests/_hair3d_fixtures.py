"""Synthetic head + hair scenes with known geometry for the 3D hair tests.

A 512x512 photo, identity crop, orthographic camera of 1 mm per pixel whose world origin
(between the ears) projects to pixel (256, 230). The head is an ellipsoid (semi-axes 0.078,
0.11, 0.10 m, centre (0, 0.02, -0.01)) plus a neck cylinder; the scalp is the part of the
ellipsoid above the tilted plane ``y' = 0.6 z'`` (relative to its centre): hairline 6 cm above
the centre at the front, nape 6 cm below it at the back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from monoscan.core.camera import Camera
from monoscan.core.crop import Crop

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SEMI = np.array([0.078, 0.11, 0.10])
CENTRE = np.array([0.0, 0.02, -0.01])
MPP = 0.001
SIZE = 512


def camera() -> Camera:
    return Camera(
        metres_per_pixel=MPP,
        origin_px=np.array([256.0, 230.0, 0.0]),
        scale_method="test",
        iris_diameter_px=float("nan"),
    )


def crop() -> Crop:
    return Crop(
        image=np.zeros((SIZE, SIZE, 3), np.uint8),
        photo_to_crop=np.eye(3),
        photo_size=(SIZE, SIZE),
        box=(0.0, 0.0, float(SIZE)),
    )


def head_mesh(neck: bool = True) -> trimesh.Trimesh:
    """Ellipsoid head (+ neck cylinder), closed parts, world metres."""
    sph = trimesh.creation.icosphere(subdivisions=4, radius=1.0)
    sph.apply_scale(SEMI)
    sph.apply_translation(CENTRE)
    parts = [sph]
    if neck:
        cyl = trimesh.creation.cylinder(radius=0.05, height=0.2, sections=48)
        cyl.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
        cyl.apply_translation([0.0, -0.16, -0.02])
        parts.append(cyl)
    return trimesh.util.concatenate(parts)


def inside_head(points: np.ndarray) -> np.ndarray:
    """Analytic inside test of the ellipsoid and neck cylinder."""
    p = np.asarray(points, np.float64)
    q = (p - CENTRE) / SEMI
    ell = (q**2).sum(1) < 1.0
    r = np.hypot(p[:, 0], p[:, 2] + 0.02)
    cyl = (r < 0.05) & (p[:, 1] > -0.26) & (p[:, 1] < -0.06)
    return ell | cyl


def scalp_roots(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Roots on the scalp (uniform on the sphere before scaling, rejection above the plane)."""
    rng = np.random.default_rng(seed)
    out = []
    while sum(len(o) for o in out) < n:
        d = rng.normal(size=(4 * n, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        p = d * SEMI
        keep = p[:, 1] > 0.6 * p[:, 2]
        out.append(p[keep])
    p = np.concatenate(out)[:n]
    normals = p / SEMI**2
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return p + CENTRE, normals


def _ellipsoid_front_z(x: np.ndarray, y: np.ndarray, grow: float) -> np.ndarray:
    """Front z of the ellipsoid grown by ``grow`` metres (NaN outside its silhouette)."""
    semi = SEMI + grow
    q = 1 - ((x - CENTRE[0]) / semi[0]) ** 2 - ((y - CENTRE[1]) / semi[1]) ** 2
    with np.errstate(invalid="ignore"):
        return np.where(q > 0, CENTRE[2] + semi[2] * np.sqrt(q), np.nan)


def pixel_world_xy() -> tuple[np.ndarray, np.ndarray]:
    v, u = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    return (u - 256.0) * MPP, -(v - 230.0) * MPP


def short_hair(thickness: float = 0.015) -> tuple[np.ndarray, np.ndarray]:
    """A cap of hair hugging the head: mask and front depth (world z, m) in the crop."""
    x, y = pixel_world_xy()
    zf = _ellipsoid_front_z(x, y, thickness)
    # Hair above ear level, except the face (an ellipse over the lower front).
    face = ((x / 0.062) ** 2 + ((y - 0.0) / 0.075) ** 2) < 1.0
    mask = np.isfinite(zf) & (y > 0.0) & ~face
    return mask, np.where(mask, zf, np.nan).astype(np.float32)


def long_hair(bottom: float = -0.26) -> tuple[np.ndarray, np.ndarray]:
    """Short cap plus two curtains of hair beside the face and neck down to ``bottom`` m."""
    mask, zf = short_hair(0.02)
    x, y = pixel_world_xy()
    curtain = (np.abs(x) > 0.055) & (np.abs(x) < 0.12) & (y <= 0.02) & (y > bottom)
    zc = 0.01 + 0.02 * np.cos((np.abs(x) - 0.0875) / 0.0325 * np.pi / 2)
    zf = np.where(curtain & ~mask, zc, zf)
    mask = mask | curtain
    return mask, np.where(mask, zf, np.nan).astype(np.float32)


def down_direction() -> np.ndarray:
    """(H, W, 2) growth directions all pointing down the image."""
    d = np.zeros((SIZE, SIZE, 2), np.float32)
    d[..., 1] = 1.0
    return d
