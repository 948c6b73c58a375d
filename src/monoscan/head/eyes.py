"""Eyeballs for the fitted ICT head: placed by the fit, turned to the photo's gaze, coloured.

Each eye is the kit's outer eyeball mesh (sclera with the cornea's bulge) moved with the
fitted identity and head pose. A sphere fitted to it gives the eye's centre and radius; the
eye is turned about that centre so the cornea's apex lies on the ray through the iris centre
MediaPipe found (the camera is orthographic, so that ray runs along z), at most
:data:`MAX_GAZE_DEG` from the model's straight-ahead gaze. Vertex colours paint the pupil, the
iris (its colour sampled in the photo, :func:`iris_colour`) with a darker limbal ring, and the
sclera, by the angle from the gaze axis: the iris spans the visible iris diameter the camera's
scale is set from (:data:`monoscan.core.camera.IRIS_DIAMETER_M`). World frame, metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monoscan.core.camera import IRIS_DIAMETER_M, Camera
from monoscan.head.ict import EYEBALL_PARTS, IctFit, load_ict_model

__all__ = ["Eyeball", "fit_eyeballs", "iris_colour"]

#: The eyes turn at most this far from the model's straight-ahead gaze (degrees).
MAX_GAZE_DEG = 30.0
#: Pupil radius, metres (a photo's pupil in daylight: 1-2.5 mm).
PUPIL_RADIUS_M = 0.002
#: Colours (sRGB) of the sclera and the pupil, and of the iris when the photo gives none.
SCLERA_RGB = (226, 220, 212)
PUPIL_RGB = (14, 11, 10)
DEFAULT_IRIS_RGB = (92, 64, 44)
#: The outer part of the iris (as a fraction of its radius) darkens to the limbal ring.
LIMBUS_START = 0.8
# MediaPipe's 478-point mesh: each iris's centre, then its ring (right, top, left, bottom).
_IRIS_POINTS = ((468, 469, 470, 471, 472), (473, 474, 475, 476, 477))


@dataclass(frozen=True)
class Eyeball:
    """One eye of the fitted head (world frame, metres).

    Attributes
    ----------
    side : str
        ``"left"`` or ``"right"``: the subject's.
    vertices : (V, 3) float32
    faces : (F, 3) int32
        Outward normals; a closed ball.
    vertex_colors : (V, 3) uint8
        sRGB: pupil, iris, sclera.
    centre : (3,) float64
        Centre of the sphere fitted to the eyeball.
    radius_m : float
        That sphere's radius (the cornea bulges a little beyond it).
    gaze : (3,) float64
        Unit direction the eye looks in.
    iris_rgb : (3,) uint8
        The iris colour painted (from the photo when it showed the iris).
    """

    side: str
    vertices: np.ndarray
    faces: np.ndarray
    vertex_colors: np.ndarray
    centre: np.ndarray
    radius_m: float
    gaze: np.ndarray
    iris_rgb: np.ndarray


def _fit_sphere(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere through ``points``: centre and radius."""
    a = np.c_[2 * points, np.ones(len(points))]
    x = np.linalg.lstsq(a, (points**2).sum(1), rcond=None)[0]
    centre = x[:3]
    return centre, float(np.sqrt(x[3] + centre @ centre))


def _rotation_between(a: np.ndarray, b: np.ndarray, max_angle: float = np.pi) -> np.ndarray:
    """Rotation taking unit vector ``a`` toward unit vector ``b`` about their common normal,
    by their angle or ``max_angle`` (radians) if that is less (Rodrigues' formula)."""
    axis = np.cross(a, b)
    s = np.linalg.norm(axis)
    if s < 1e-12:
        return np.eye(3)
    k = axis / s
    angle = min(float(np.arctan2(s, a @ b)), max_angle)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def iris_colour(photo_rgb: np.ndarray, centre_px: np.ndarray, radius_px: float) -> np.ndarray:
    """Typical iris colour (sRGB uint8) in a photo: the pixels between 0.35 and 0.85 of the
    iris radius around its centre (no pupil, no limbus), the darkest and brightest fifth by
    luminance (lashes, the lid's shadow, highlights) dropped, the rest's median."""
    rgb = np.asarray(photo_rgb)
    h, w = rgb.shape[:2]
    r = max(float(radius_px), 1.0)
    x0, y0 = (int(np.floor(c - r)) for c in centre_px[:2])
    ys, xs = np.mgrid[
        max(y0, 0) : min(y0 + 2 * int(r) + 3, h), max(x0, 0) : min(x0 + 2 * int(r) + 3, w)
    ]
    d = np.hypot(xs + 0.5 - centre_px[0], ys + 0.5 - centre_px[1]) / r
    ring = (d >= 0.35) & (d <= 0.85)
    if ring.sum() < 4:
        return np.array(DEFAULT_IRIS_RGB, np.uint8)
    c = rgb[ys[ring], xs[ring]].astype(np.float64)
    lum = c @ np.array([0.299, 0.587, 0.114])
    lo, hi = np.percentile(lum, [20, 80])
    keep = (lum >= lo) & (lum <= hi)
    return np.round(np.median(c[keep] if keep.sum() >= 3 else c, axis=0)).astype(np.uint8)


def _paint(directions: np.ndarray, gaze: np.ndarray, apex_m: float, iris: np.ndarray):
    """Pupil, iris with a limbal ring, and sclera by the angle from the gaze axis."""
    angle = np.arccos(np.clip(directions @ gaze, -1, 1))
    iris_angle = np.arcsin(min(1.0, IRIS_DIAMETER_M / 2 / apex_m))
    pupil_angle = np.arcsin(min(1.0, PUPIL_RADIUS_M / apex_m))
    t = angle / iris_angle  # 0 at the centre, 1 at the iris's edge
    limbus = np.clip((t - LIMBUS_START) / (1 - LIMBUS_START), 0, 1)[:, None]
    colour = np.where(
        (t <= 1)[:, None], iris * (1 - 0.55 * limbus), np.asarray(SCLERA_RGB, np.float64)
    )
    colour[angle <= pupil_angle] = PUPIL_RGB
    return np.clip(np.round(colour), 0, 255).astype(np.uint8)


def fit_eyeballs(
    fit: IctFit,
    photo_rgb: np.ndarray | None = None,
    camera: Camera | None = None,
    face_points_px: np.ndarray | None = None,
) -> tuple[Eyeball, Eyeball]:
    """The fitted head's two eyes, turned to the photo's gaze and coloured from its irises.

    Parameters
    ----------
    fit : IctFit
    photo_rgb : (H, W, 3) uint8, optional
    camera : Camera, optional
        The camera the fit's landmarks were lifted with.
    face_points_px : (478, 2+) array, optional
        MediaPipe's face mesh with its 10 iris points (photo pixels). Without it (or the
        photo and camera) the eyes look straight ahead and take :data:`DEFAULT_IRIS_RGB`.

    Returns
    -------
    (Eyeball, Eyeball)
        The subject's left eye, then the right.
    """
    model = load_ict_model()
    balls = model.eyeballs(fit.identity)
    use_photo = (
        photo_rgb is not None
        and camera is not None
        and face_points_px is not None
        and len(face_points_px) >= 478
    )
    irises = []
    if use_photo:
        pts = np.asarray(face_points_px, np.float64)
        for centre, *ring in _IRIS_POINTS:
            radius = float(np.mean(np.linalg.norm(pts[ring, :2] - pts[centre, :2], axis=1)))
            irises.append((pts[centre, :2], radius))
    eyes = []
    for side in ("left", "right"):
        part = EYEBALL_PARTS[f"{side}_sclera"]
        faces = model.eyeball_faces
        faces = faces[((faces >= part.start) & (faces < part.stop)).all(1)] - part.start
        centre_m, radius_m = _fit_sphere(balls[part])
        offsets = balls[part] - centre_m
        dist = np.linalg.norm(offsets, axis=1)
        forward = offsets[dist >= np.percentile(dist, 97)].mean(0)  # the cornea's apex
        forward = fit.rotation @ (forward / np.linalg.norm(forward))
        centre = fit.to_world(centre_m[None])[0]
        vertices = fit.to_world(balls[part])
        apex = fit.scale * float(dist.max())
        gaze, iris = forward, np.array(DEFAULT_IRIS_RGB, np.uint8)
        if use_photo:
            centre_px = camera.world_to_photo(centre[None])[0, :2]
            iris_px, iris_r = min(irises, key=lambda i: np.linalg.norm(i[0] - centre_px))
            iris = iris_colour(photo_rgb, iris_px, iris_r)
            # Orthographic camera: the iris centre's ray runs along z through its world x, y.
            seen_xy = camera.photo_to_world(np.r_[iris_px, 0.0][None])[0, :2]
            lateral = (seen_xy - centre[:2]) / apex
            if np.linalg.norm(lateral) < 1:
                wanted = np.r_[lateral, np.sqrt(1 - lateral @ lateral)]
                rot = _rotation_between(forward, wanted, np.radians(MAX_GAZE_DEG))
                vertices = (vertices - centre) @ rot.T + centre
                gaze = rot @ forward
        directions = (vertices - centre) / np.linalg.norm(vertices - centre, axis=1)[:, None]
        eyes.append(
            Eyeball(
                side=side,
                vertices=vertices.astype(np.float32),
                faces=faces.astype(np.int32),
                vertex_colors=_paint(directions, gaze, apex, iris.astype(np.float64)),
                centre=centre,
                radius_m=fit.scale * radius_m,
                gaze=gaze,
                iris_rgb=iris,
            )
        )
    return eyes[0], eyes[1]
