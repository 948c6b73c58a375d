"""Fit the parametric head (:mod:`monoscan.head.model`) to the face landmarks.

The fit is a robust weighted least-squares problem over the head's pose (rotation, translation),
its overall scale and four face-related shape parameters (cranium width, jaw width, chin drop,
face depth):

* anchor residuals: the model's named face anchors (eyes, nasion, nose tip, nose base, mouth
  corners, chin) against the corresponding MediaPipe landmarks, in the world frame; x and y
  count fully, z (MediaPipe's relative depth) with weight :data:`DEPTH_WEIGHT`;
* surface residuals: landmarks on the face outline (cheek sides in front of the ears, jaw,
  upper forehead) should lie on the model's surface (its signed distance there);
* priors: the scale and shape factors stay near the average adult (Gaussian, a few percent).

The residuals use a soft-L1 loss, so a few bad landmarks (occlusion, expression) do not drag
the head. Parameters of the head nobody sees in a frontal photo (length, height, back) keep
their average values; the cranium follows the face's fitted scale only half-way (in log,
:data:`CRANIUM_SCALE_EXPONENT`), since head size varies less than the metric scale estimated
from the iris.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.geometry import similarity_transform
from monoscan.head.model import HeadShape, anchor_points, head_sdf

__all__ = ["ANCHOR_LANDMARKS", "DEPTH_WEIGHT", "SURFACE_LANDMARKS", "FittedHead", "fit_head"]

#: Model anchor -> MediaPipe landmark index (468/473: iris centres; "right" is the subject's).
ANCHOR_LANDMARKS = {
    "right_eye": 468,
    "left_eye": 473,
    "nasion": 168,
    "nose_tip": 1,
    "nose_base": 2,
    "right_mouth": 61,
    "left_mouth": 291,
    "chin": 152,
}
#: Without iris landmarks (468-point meshes) the eye is the midpoint of its two corners.
_EYE_CORNERS = {"right_eye": (33, 133), "left_eye": (263, 362)}

#: Face-outline landmarks that should lie on the head's surface: cheek sides in front of the
#: ears (234/454, 127/356, 93/323), jaw (132/361, 58/288) and upper forehead (10, 109, 338).
SURFACE_LANDMARKS = (234, 454, 127, 356, 93, 323, 132, 361, 58, 288, 10, 109, 338)

#: Weight of the depth (z) component of anchor residuals relative to x and y.
DEPTH_WEIGHT = 0.35

#: Fraction of the head's pitch and roll (relative to the camera's upright) that the neck
#: does not follow.
NECK_FOLLOW = 0.7

#: The cranium's world size is the average times ``scale ** CRANIUM_SCALE_EXPONENT`` (the
#: face itself follows ``scale`` fully).
CRANIUM_SCALE_EXPONENT = 0.5
_CRANIUM_FIELDS = ("length", "width", "height", "back", "crown")

_ANCHOR_SIGMA = 0.003  # m
_SURFACE_SIGMA = 0.006  # m
_SCALE_SIGMA = 0.10  # log scale
_SHAPE_SIGMA = 0.07  # relative
_SHAPE_FIELDS = ("width", "jaw_width", "chin_drop", "face_depth")


@dataclass(frozen=True)
class FittedHead:
    """The parametric head placed in the world frame.

    ``world = scale * rotation @ head + translation`` for a point ``head`` in the canonical head
    frame (metres, y up, x subject's left, z forward, origin between the ear canals).

    Attributes
    ----------
    shape : HeadShape
        Fitted shape in the canonical frame (before ``scale``).
    scale : float
    rotation : (3, 3) float64
        Head -> world rotation (a proper rotation).
    translation : (3,) float64
        Where the head origin (between the ear canals) lies in the world frame, metres.
    anchor_rms_mm : float
        RMS of the anchor residuals in x and y after the fit, millimetres.
    surface_rms_mm : float
        RMS distance of the face-outline landmarks to the model surface, millimetres.
    """

    shape: HeadShape
    scale: float
    rotation: np.ndarray
    translation: np.ndarray
    anchor_rms_mm: float = float("nan")
    surface_rms_mm: float = float("nan")

    def to_world(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) canonical head frame -> (N, 3) world frame, metres."""
        p = np.asarray(points, np.float64).reshape(-1, 3)
        return self.scale * p @ self.rotation.T + self.translation

    def to_head(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world frame -> (N, 3) canonical head frame, metres (float64)."""
        p = np.asarray(points, np.float64).reshape(-1, 3)
        return (p - self.translation) @ self.rotation / self.scale

    def sdf(self, points: np.ndarray) -> np.ndarray:
        """Signed distance (world metres, negative inside) of the fitted head at world points."""
        return self.scale * head_sdf(self.to_head(points), self.shape)

    def anchors(self) -> dict[str, np.ndarray]:
        """Named anchor points (:func:`~monoscan.head.model.anchor_points`) in the world frame."""
        return {k: self.to_world(v)[0] for k, v in anchor_points(self.shape).items()}

    @property
    def head_height(self) -> float:
        """Chin (menton) to the top of the head, metres."""
        return self.scale * (self.shape.height + self.shape.chin_drop)

    def to_json(self) -> dict:
        from dataclasses import asdict

        return {
            "model": "monoscan parametric head",
            "frame": "head: metres, y up, x subject's left, z forward, origin between the ears; "
            "world = scale * rotation @ head + translation",
            "shape": asdict(self.shape),
            "scale": self.scale,
            "rotation": self.rotation.tolist(),
            "translation": self.translation.tolist(),
            "anchor_rms_mm": self.anchor_rms_mm,
            "surface_rms_mm": self.surface_rms_mm,
        }


def landmark_anchor_targets(landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """World positions of the model's face anchors from (468 or 478, 3) world landmarks."""
    lm = np.asarray(landmarks, np.float64)
    out = {}
    for name, idx in ANCHOR_LANDMARKS.items():
        if name in _EYE_CORNERS and len(lm) <= idx:
            a, b = _EYE_CORNERS[name]
            out[name] = 0.5 * (lm[a] + lm[b])
        else:
            out[name] = lm[idx]
    return out


def _rotvec_to_matrix(r: np.ndarray) -> np.ndarray:
    theta = float(np.linalg.norm(r))
    if theta < 1e-12:
        return np.eye(3)
    k = r / theta
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(theta) * kx + (1 - np.cos(theta)) * kx @ kx


def _matrix_to_rotvec(m: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_matrix(m).as_rotvec()


def fit_head(
    landmarks_world: np.ndarray, prior: HeadShape | None = None, weights: np.ndarray | None = None
) -> FittedHead:
    """Fit the parametric head to face landmarks in the world frame.

    Parameters
    ----------
    landmarks_world : (478, 3) or (468, 3) array
        MediaPipe face-mesh landmarks in the world frame (metres), e.g.
        ``camera.photo_to_world(face.points)``.
    prior : HeadShape, optional
        Average shape the fit starts from and is pulled towards.
    weights : (478,) or (468,) array in [0, 1], optional
        Trust in each landmark (0: drop it from the fit), e.g. lower for landmarks an occluder
        covers (``monoscan.face.occlusion``). Default: all 1.

    Returns
    -------
    FittedHead

    Raises
    ------
    InputError
        Wrong shape or non-finite landmarks.
    """
    from scipy.optimize import least_squares

    lm = np.asarray(landmarks_world, np.float64)
    if lm.ndim != 2 or lm.shape[1] != 3 or len(lm) < 468:
        raise InputError(f"expected (468 or 478, 3) face landmarks, got shape {lm.shape}")
    if not np.isfinite(lm).all():
        raise InputError("face landmarks contain NaN or infinite values")
    if weights is None:
        wts = np.ones(len(lm))
    else:
        wts = np.asarray(weights, np.float64)
        if wts.shape != (len(lm),) or not np.isfinite(wts).all() or (wts < 0).any():
            raise InputError(f"expected {len(lm)} non-negative landmark weights, got {wts.shape}")
    prior = prior or HeadShape()
    targets = landmark_anchor_targets(lm)
    names = list(targets)
    dst = np.stack([targets[k] for k in names])
    surf = lm[list(SURFACE_LANDMARKS)]
    w_anchor = landmark_anchor_targets(np.repeat(wts[:, None], 3, axis=1))
    w_anchor = np.stack([w_anchor[k][0] for k in names])[:, None]
    w_surf = wts[list(SURFACE_LANDMARKS)]
    base = anchor_points(prior)
    s0, r0, t0 = similarity_transform(np.stack([base[k] for k in names]), dst)
    if not np.isfinite(s0) or s0 <= 0:
        raise InputError("face landmarks are degenerate (cannot place a head on them)")
    w_axis = np.array([1.0, 1.0, DEPTH_WEIGHT])

    def unpack(x):
        factors = np.exp(x[7:])
        shape = replace(
            prior, **{f: getattr(prior, f) * factors[i] for i, f in enumerate(_SHAPE_FIELDS)}
        )
        return _rotvec_to_matrix(x[:3]), x[3:6], float(np.exp(x[6])), shape

    def residuals(x):
        rot, t, s, shape = unpack(x)
        anchors = anchor_points(shape)
        src = np.stack([anchors[k] for k in names])
        r_anchor = ((s * src @ rot.T + t - dst) * w_axis * w_anchor / _ANCHOR_SIGMA).ravel()
        head_pts = (surf - t) @ rot / s
        r_surf = w_surf * s * head_sdf(head_pts, shape) / _SURFACE_SIGMA
        r_prior = np.concatenate([[x[6] / _SCALE_SIGMA], x[7:] / _SHAPE_SIGMA])
        return np.concatenate([r_anchor, r_surf, r_prior])

    x0 = np.concatenate([_matrix_to_rotvec(r0), t0, [np.log(s0)], np.zeros(len(_SHAPE_FIELDS))])
    sol = least_squares(residuals, x0, loss="soft_l1", f_scale=2.0, x_scale="jac", max_nfev=200)
    rot, t, s, shape = unpack(sol.x)
    # The cranium is not seen in a frontal photo and head size varies less than the face's
    # metric scale (which carries the iris prior's error): it follows the scale only part-way.
    k = s ** (CRANIUM_SCALE_EXPONENT - 1.0)
    shape = replace(shape, **{f: getattr(shape, f) * k for f in _CRANIUM_FIELDS})
    # A nodding or tilted head sits on a neck that stays closer to upright.
    up = rot @ np.array([0.0, 1.0, 0.0])
    pitch = np.degrees(np.arctan2(up[2], up[1]))
    roll = np.degrees(np.arctan2(-up[0], up[1]))
    shape = replace(shape, neck_pitch=-NECK_FOLLOW * pitch, neck_roll=-NECK_FOLLOW * roll)
    anchors = anchor_points(shape)
    src = np.stack([anchors[k] for k in names])
    res_xy = (s * src @ rot.T + t - dst)[:, :2]
    surf_d = s * head_sdf((surf - t) @ rot / s, shape)
    return FittedHead(
        shape=shape,
        scale=s,
        rotation=rot,
        translation=np.asarray(t, np.float64),
        anchor_rms_mm=float(np.sqrt((res_xy**2).sum(1).mean()) * 1000),
        surface_rms_mm=float(np.sqrt((surf_d**2).mean()) * 1000),
    )
