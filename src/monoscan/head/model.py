"""monoscan's own parametric head: skull, jaw, neck and ears from a few analytic shapes.

Nothing here is registered from scans or taken from another head model: the head is a smooth
union of an egg-shaped cranium (an ellipsoid narrowed at the forehead, its top sheared back by
``crown``), a mid-face ellipsoid, two capsules along the mandible, a capped elliptic neck and
two flattened ellipsoid ears, with average adult proportions (anthropometric means: head length
about 19 cm, breadth 15 cm, ear canal to vertex 13 cm, menton to vertex about 23 cm). It is
described by its signed distance function (:func:`head_sdf`), which :mod:`monoscan.head.assemble`
unions with the face from the photo before extracting one closed surface.

Canonical head frame
--------------------
Metres; right-handed; y up, x to the subject's left, z forward (out of the face); the origin is
midway between the two ear canals. With the head in the Frankfurt horizontal the eyes sit about
1 cm above the origin and the nose tip about 11.5 cm in front of it.

Anchor points (:func:`anchor_points`) are named positions on the canonical head used for fitting
and for downstream stages: ``right_eye``/``left_eye`` (iris centres on the cornea; "right" is the
subject's right, at negative x), ``nasion``, ``nose_tip``, ``nose_base`` (subnasale),
``right_mouth``/``left_mouth`` (mouth corners), ``chin`` (menton), ``right_ear``/``left_ear``
(ear-canal entrances on the skin), ``crown`` (top of the head) and ``nape`` (back of the neck at
the hairline).

The scalp (:func:`scalp_mask`) is where hair roots grow: above the forehead hairline, above the
ears, and down the back of the head to the nape hairline; never on the ears.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from monoscan.core.geometry import rotation_y

__all__ = [
    "ANCHOR_NAMES",
    "HeadShape",
    "anchor_points",
    "head_sdf",
    "model_mesh",
    "part_sdfs",
    "scalp_mask",
    "smooth_union",
]

ANCHOR_NAMES = (
    "right_eye",
    "left_eye",
    "nasion",
    "nose_tip",
    "nose_base",
    "right_mouth",
    "left_mouth",
    "chin",
    "right_ear",
    "left_ear",
    "crown",
    "nape",
)


@dataclass(frozen=True)
class HeadShape:
    """Shape parameters of the parametric head (metres and degrees; defaults: average adult).

    Attributes
    ----------
    length : float
        Glabella to the back of the head (opisthocranion).
    width : float
        Greatest breadth of the cranium above the ears (eurion to eurion).
    height : float
        Ear canal to the top of the head (vertex), vertically.
    back : float
        Ear canal to the back of the head, horizontally.
    crown : float
        How far the top of the head is pushed back (a shear of the cranium's upper half).
    jaw_width : float
        Between the angles of the jaw (gonion to gonion).
    chin_drop : float
        Ear canal to the bottom of the chin (menton), vertically.
    face_depth : float
        Ear canal to the front of the mid-face, horizontally.
    neck_radius : float
        Neck radius front to back (the side-to-side radius is 8 % larger).
    neck_length : float
        Along the neck from the base of the skull to the flat, horizontal cut at its bottom.
    neck_lean : float
        Lean of the neck from the vertical, degrees: the head sits forward of the neck's base,
        so going down the neck moves back by this angle.
    neck_pitch, neck_roll : float
        Bend of the neck relative to the head about the head's x (forward positive) and z
        axes, degrees. The fit sets them so that a nodding or tilted head sits on a neck that
        stays closer to upright.
    ear_length : float
        Top to bottom of the ear.
    ear_height : float
        Ear centre above the ear canal.
    ear_back : float
        Ear centre behind the ear canal.
    ear_flare : float
        Angle between the ear and the side of the head, degrees.
    """

    length: float = 0.192
    width: float = 0.150
    height: float = 0.130
    back: float = 0.095
    crown: float = 0.010
    jaw_width: float = 0.108
    chin_drop: float = 0.105
    face_depth: float = 0.095
    neck_radius: float = 0.052
    neck_length: float = 0.15
    neck_lean: float = 12.0
    neck_pitch: float = 0.0
    neck_roll: float = 0.0
    ear_length: float = 0.062
    ear_height: float = 0.006
    ear_back: float = 0.010
    ear_flare: float = 22.0

    def scaled(self, s: float) -> HeadShape:
        """Every length multiplied by ``s`` (angles unchanged)."""
        values = {
            f.name: getattr(self, f.name) * (1.0 if f.name in _ANGLES else s) for f in fields(self)
        }
        return replace(self, **values)


_ANGLES = ("neck_lean", "neck_pitch", "neck_roll", "ear_flare")


def anchor_points(shape: HeadShape | None = None) -> dict[str, np.ndarray]:
    """Named anchor points in the canonical head frame (metres).

    Face anchors follow average adult facial proportions (interpupillary distance 63 mm, nose
    tip 39 mm below the eyes, mouth corners 53 mm apart, menton 118 mm below the eyes), placed
    where MediaPipe's face mesh puts the corresponding landmarks (its "nasion" 168 sits between
    the eyes, below the true nasion; its eye points are iris centres on the cornea); their
    depth is scaled with ``face_depth`` and the chin's height with ``chin_drop``.
    """
    s = shape or HeadShape()
    fz = s.face_depth / 0.095
    cy = s.chin_drop / 0.105
    ear_x = 0.5 * s.width * 0.955
    return {
        "right_eye": np.array([-0.0315, 0.013, 0.076 * fz]),
        "left_eye": np.array([0.0315, 0.013, 0.076 * fz]),
        "nasion": np.array([0.0, 0.017, 0.092 * fz]),
        "nose_tip": np.array([0.0, -0.026, 0.114 * fz]),
        "nose_base": np.array([0.0, -0.033, 0.099 * fz]),
        "right_mouth": np.array([-0.0265, -0.0565 * cy, 0.077 * fz]),
        "left_mouth": np.array([0.0265, -0.0565 * cy, 0.077 * fz]),
        "chin": np.array([0.0, -s.chin_drop, 0.077 * fz]),
        "right_ear": np.array([-ear_x, 0.0, 0.0]),
        "left_ear": np.array([ear_x, 0.0, 0.0]),
        "crown": np.array([0.0, s.height, -s.crown]),
        "nape": np.array([0.0, -0.045, -0.068]),
    }


# ------------------------------------------------------------------------------------------
# Signed distance primitives (negative inside; approximate distances, exact zero sets)


def smooth_union(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum of two signed distances with blend radius ``k`` (metres)."""
    if k <= 0:
        return np.minimum(a, b)
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def _ellipsoid(x, y, z, rx: float, ry: float, rz: float) -> np.ndarray:
    """Approximate signed distance to an origin-centred ellipsoid (Quilez's bound)."""
    k0 = np.sqrt((x / rx) ** 2 + (y / ry) ** 2 + (z / rz) ** 2)
    k1 = np.sqrt((x / (rx * rx)) ** 2 + (y / (ry * ry)) ** 2 + (z / (rz * rz)) ** 2)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-12)


def _capsule(x, y, z, a, b, radius: float) -> np.ndarray:
    bx, by, bz = (float(b[i] - a[i]) for i in range(3))
    px, py, pz = x - float(a[0]), y - float(a[1]), z - float(a[2])
    h = np.clip((px * bx + py * by + pz * bz) / (bx * bx + by * by + bz * bz), 0.0, 1.0)
    return np.sqrt((px - h * bx) ** 2 + (py - h * by) ** 2 + (pz - h * bz) ** 2) - radius


def _rot_x(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_z(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _cranium_geometry(s: HeadShape) -> tuple[np.ndarray, np.ndarray]:
    """Centre and semi-axes of the cranium ellipsoid."""
    b = 0.77 * s.height
    centre = np.array([0.0, s.height - b, 0.5 * s.length - s.back])
    return centre, np.array([0.5 * s.width, b, 0.5 * s.length])


def _ear_frames(s: HeadShape) -> list[tuple[np.ndarray, np.ndarray]]:
    """(centre, rotation head<-ear) of the right and left ear."""
    centre, radii = _cranium_geometry(s)
    y, z = s.ear_height, -s.ear_back
    inside = 1.0 - ((y - centre[1]) / radii[1]) ** 2 - ((z - centre[2]) / radii[2]) ** 2
    side_x = radii[0] * np.sqrt(max(inside, 0.05)) + 0.0025
    frames = []
    for sign in (-1.0, 1.0):
        # Tilt the top back by 15 deg, then flare the back rim outwards.
        rot = rotation_y(-sign * s.ear_flare) @ _rot_x(-15.0)
        frames.append((np.array([sign * side_x, y, z]), rot))
    return frames


def part_sdfs(points: np.ndarray, shape: HeadShape | None = None) -> dict[str, np.ndarray]:
    """Signed distances (metres, negative inside) of the head's parts at ``points``.

    Parameters
    ----------
    points : (N, 3) array
        Canonical head frame, metres. Evaluated in the array's float precision (float32 is
        accepted and faster).
    shape : HeadShape, optional

    Returns
    -------
    dict
        ``cranium``, ``midface``, ``jaw``, ``neck``, ``ears`` -> (N,) float arrays.
    """
    s = shape or HeadShape()
    p = np.asarray(points)
    if p.dtype not in (np.float32, np.float64):
        p = p.astype(np.float64)
    p = p.reshape(-1, 3)
    x, y, z = (np.ascontiguousarray(p[:, i]) for i in range(3))
    out = {}

    # Cranium: ellipsoid, 12 % narrower at the forehead, top sheared back by `crown`.
    centre, radii = _cranium_geometry(s)
    qx, qy, qz = x - centre[0], y - centre[1], z - centre[2]
    qz = qz + s.crown * np.clip(qy * (1.0 / radii[1]), 0.0, 1.0)
    front = np.clip(qz * (1.0 / radii[2]), 0.0, 1.0)
    qx = qx / (1.0 - 0.12 * front * front)
    out["cranium"] = _ellipsoid(qx, qy, qz, *radii)

    # Mid-face (cheeks, maxilla): an ellipsoid ending at the face front.
    chin_y = -s.chin_drop
    mid_c = (0.0, 0.42 * chin_y, s.face_depth - 0.062)
    out["midface"] = _ellipsoid(
        x - mid_c[0], y - mid_c[1], z - mid_c[2], 0.43 * s.jaw_width + 0.015, 0.060, 0.062
    )

    # Mandible: two capsules from the jaw angles meeting at the chin.
    chin = np.array([0.0, chin_y + 0.014, s.face_depth - 0.026])
    jaw = None
    for sign in (-1.0, 1.0):
        gonion = np.array([sign * (0.5 * s.jaw_width - 0.014), 0.64 * chin_y, -0.004])
        d = _capsule(x, y, z, gonion, chin, 0.014)
        jaw = d if jaw is None else smooth_union(jaw, d, 0.01)
    out["jaw"] = jaw

    # Neck: elliptic cylinder leaning forward, flat rounded cut at the bottom.
    top = (0.0, -0.015, -0.022)
    lean = np.radians(s.neck_lean)
    ay, az = -np.cos(lean), -np.sin(lean)
    qx, qy, qz = x - top[0], y - top[1], z - top[2]
    if s.neck_pitch or s.neck_roll:
        # Rotate the neck about its top: work in the neck's own frame (q @ R).
        rot = _rot_z(s.neck_roll) @ _rot_x(s.neck_pitch)
        qx, qy, qz = (
            qx * rot[0, 0] + qy * rot[1, 0] + qz * rot[2, 0],
            qx * rot[0, 1] + qy * rot[1, 1] + qz * rot[2, 1],
            qx * rot[0, 2] + qy * rot[1, 2] + qz * rot[2, 2],
        )
    along = qy * ay + qz * az
    # Perpendicular to the axis in the y-z plane: (0, az, -ay) up to sign.
    across = qy * az - qz * ay
    rx, rz = 1.08 * s.neck_radius, s.neck_radius
    rounding = 0.008
    d_rad = (np.sqrt((qx / rx) ** 2 + (across / rz) ** 2) - 1.0) * rz + rounding
    # Horizontal cut at the bottom; the top end is buried in the head.
    bottom_y = top[1] - s.neck_length * np.cos(lean)
    d_ax = np.maximum(bottom_y - top[1] - qy, -along - 0.06) + rounding
    out["neck"] = (
        np.minimum(np.maximum(d_rad, d_ax), 0.0)
        + np.sqrt(np.maximum(d_rad, 0.0) ** 2 + np.maximum(d_ax, 0.0) ** 2)
        - rounding
    )

    # Ears: flattened ellipsoids, tilted back and flared.
    ears = None
    radii_ear = (0.0055, 0.5 * s.ear_length, 0.29 * s.ear_length)
    for c, rot in _ear_frames(s):
        ex, ey, ez = x - c[0], y - c[1], z - c[2]
        # (p - c) @ rot, component by component.
        u = ex * rot[0, 0] + ey * rot[1, 0] + ez * rot[2, 0]
        v = ex * rot[0, 1] + ey * rot[1, 1] + ez * rot[2, 1]
        w = ex * rot[0, 2] + ey * rot[1, 2] + ez * rot[2, 2]
        d = _ellipsoid(u, v, w, *radii_ear)
        ears = d if ears is None else np.minimum(ears, d)
    out["ears"] = ears
    return out


def head_sdf(points: np.ndarray, shape: HeadShape | None = None) -> np.ndarray:
    """Signed distance to the parametric head (metres; negative inside, approximate).

    Parameters
    ----------
    points : (N, 3) array
        Canonical head frame, metres.
    shape : HeadShape, optional

    Returns
    -------
    (N,) float64
    """
    d = part_sdfs(points, shape)
    out = smooth_union(d["cranium"], d["midface"], 0.025)
    out = smooth_union(out, d["jaw"], 0.015)
    out = smooth_union(out, d["neck"], 0.03)
    return smooth_union(out, d["ears"], 0.005)


def head_bounds(shape: HeadShape | None = None, margin: float = 0.01) -> np.ndarray:
    """(2, 3) axis-aligned box (head frame, metres) holding the whole head, plus ``margin``."""
    s = shape or HeadShape()
    lean = np.radians(s.neck_lean)
    bottom = -0.015 - s.neck_length * np.cos(lean)
    swing = s.neck_length * np.sin(np.radians(abs(s.neck_pitch) + abs(s.neck_roll)))
    lo = np.array([-0.5 * s.width - 0.03 - swing, bottom - swing, -s.back - 0.02 - swing])
    hi = np.array([0.5 * s.width + 0.03 + swing, s.height + 0.01, s.face_depth + 0.04])
    return np.stack([lo - margin, hi + margin])


#: Scalp boundary: azimuth around the vertical axis (degrees from the front, either side) and
#: the lowest scalp height there, relative to the ear canal (metres, average head).
_SCALP_AZIMUTH = (0.0, 40.0, 70.0, 112.0, 130.0, 150.0, 165.0, 180.0)
_SCALP_MIN_Y = (0.072, 0.060, 0.046, 0.046, 0.005, -0.032, -0.042, -0.045)


def scalp_mask(points: np.ndarray, shape: HeadShape | None = None) -> np.ndarray:
    """Which points belong to the scalp (where hair roots grow).

    The scalp is bounded below by a height that depends on the azimuth ``atan2(x, z)`` around
    the vertical axis: the forehead hairline (7 cm above the ear canal, about 6 cm above the
    eyes) in front, 4.6 cm over the ears, falling behind the ears to the nape hairline
    (4.5 cm below the ear canal) at the back. Points within 6 mm of an ear are excluded. Heights
    scale with ``height / 0.130``.

    Parameters
    ----------
    points : (N, 3) array
        Canonical head frame, metres (on or near the head surface).
    shape : HeadShape, optional

    Returns
    -------
    (N,) bool
    """
    s = shape or HeadShape()
    p = np.asarray(points, np.float64).reshape(-1, 3)
    azimuth = np.degrees(np.abs(np.arctan2(p[:, 0], p[:, 2])))
    min_y = np.interp(azimuth, _SCALP_AZIMUTH, _SCALP_MIN_Y) * (s.height / 0.130)
    ears = part_sdfs(p, s)["ears"]
    return (p[:, 1] >= min_y) & (ears > 0.006)


def model_mesh(
    shape: HeadShape | None = None, spacing: float = 0.003
) -> tuple[np.ndarray, np.ndarray]:
    """The bare parametric head as a closed triangle mesh (canonical frame, metres).

    Returns
    -------
    vertices : (V, 3) float64
    faces : (F, 3) int64
        Outward normals (counter-clockwise seen from outside).
    """
    from skimage.measure import marching_cubes

    s = shape or HeadShape()
    lo, hi = head_bounds(s)
    n = np.ceil((hi - lo) / spacing).astype(int) + 1
    axes = [lo[i] + spacing * np.arange(n[i]) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    field = head_sdf(grid.astype(np.float32), s).reshape(n)
    verts, faces, _, _ = marching_cubes(
        field, 0.0, spacing=(spacing,) * 3, gradient_direction="descent"
    )
    return verts + lo, faces.astype(np.int64)
