"""The ICT Face Model (MIT): a statistical head, and its fit to the photo's landmarks.

The model (``monoscan/models/ict_head.npz``, made by ``scripts/build_ict_head.py`` from the ICT
Face Model Light of the USC Institute for Creative Technologies, MIT licence in
``monoscan/models/ICT_FACEKIT_LICENSE``) is the kit's skin surface (face, skull, ears, neck;
11,248 vertices) as a linear model::

    vertices = neutral + sum_i identity_i * a_i + sum_j expression_j * b_j

with 100 identity components (principal components of light-stage scans, one unit = one
standard deviation) and 57 ARKit-style expression shapes (``b`` in [0, 1]). Model frame: metres,
y up, z forward (out of the face), x to the subject's left, origin inside the head.

:func:`fit_ict` fits identity, expression and a similarity (scale, rotation, translation) to
3D points on the face, here MediaPipe's face-mesh landmarks lifted to the world frame: each of
the 468 mesh points has a fixed place on the ICT skin (a triangle and barycentric weights,
``mediapipe_faces`` / ``mediapipe_bary``). The fit alternates a weighted similarity Procrustes
with a bounded, regularised linear least-squares solve for the coefficients; the depth of the
landmarks (less certain than their position in the photo) counts less.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.geometry import similarity_transform

__all__ = [
    "EYEBALL_PARTS",
    "ICT_MODEL_PATH",
    "IctFit",
    "IctModel",
    "fit_ict",
    "fit_ict_to_landmarks",
    "load_ict_model",
    "occlusion_weights",
]

ICT_MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "ict_head.npz"

#: Rows of ``IctModel.eyeball_neutral`` per eye and layer (the kit's vertex ranges 21451-24590
#: minus 21451): the outer ball (sclera, with the cornea's bulge) and the inner iris ball.
EYEBALL_PARTS = {
    "left_sclera": slice(0, 770),
    "left_iris": slice(770, 1570),
    "right_sclera": slice(1570, 2340),
    "right_iris": slice(2340, 3140),
}

#: Landmark noise the fit expects, in the photo plane and in depth (metres).
SIGMA_XY_M = 0.002
SIGMA_Z_M = 0.005
#: Weight of the expression prior (identity has a unit Gaussian prior).
EXPRESSION_PRIOR = 0.3
#: Identity coefficients are kept within this many standard deviations.
IDENTITY_BOUND = 3.0
#: Weight of a landmark under an occluder (:func:`occlusion_weights`): measured on the real
#: scan's renders, the detected landmarks weighted so fit better than re-fitted ones.
OCCLUDED_WEIGHT = 0.2


@dataclass(frozen=True)
class IctModel:
    """The ICT skin as a linear model (model frame, metres; see the module docstring).

    Attributes
    ----------
    neutral : (V, 3) float64
    identity : (100, V, 3) float32
        Identity components (one standard deviation each).
    expression : (57, V, 3) float32
        Expression shapes minus the neutral.
    expression_names : tuple of str
    faces : (F, 3) int32
        Triangles of the skin (open at the neck, eyes and mouth).
    uv_coords : (T, 2) float32
        The kit's texture coordinates (UDIM: u spans several tiles, v up).
    face_uv : (F, 3) int32
        Per triangle corner, its row of ``uv_coords`` (the layout has seams, so a vertex may
        have several).
    landmarks68 : (68,) int32
        iBUG-68 landmark vertex ids (the kit's).
    mediapipe_faces, mediapipe_bary : (468, 3) int32, (468, 3) float32
        Where each MediaPipe face-mesh point lies on the skin: three vertex ids and weights.
    eyeball_neutral : (E, 3) float64
        The kit's eyeballs (sclera then iris mesh of the subject's left eye, then of the right:
        :data:`EYEBALL_PARTS`), model frame.
    eyeball_identity : (100, E, 3) float32
        Their identity components (the eyes move with the skull; no expression shapes).
    eyeball_faces : (G, 3) int32
        Triangles over ``eyeball_neutral``.
    """

    neutral: np.ndarray
    identity: np.ndarray
    expression: np.ndarray
    expression_names: tuple[str, ...]
    faces: np.ndarray
    uv_coords: np.ndarray
    face_uv: np.ndarray
    landmarks68: np.ndarray
    mediapipe_faces: np.ndarray
    mediapipe_bary: np.ndarray
    eyeball_neutral: np.ndarray
    eyeball_identity: np.ndarray
    eyeball_faces: np.ndarray

    def vertices(
        self, identity: np.ndarray | None = None, expression: np.ndarray | None = None
    ) -> np.ndarray:
        """(V, 3) skin vertices (model frame, metres) for the given coefficients."""
        v = self.neutral.copy()
        if identity is not None:
            k = len(identity)
            v += np.tensordot(np.asarray(identity, np.float64), self.identity[:k], axes=1)
        if expression is not None:
            v += np.tensordot(np.asarray(expression, np.float64), self.expression, axes=1)
        return v

    def eyeballs(self, identity: np.ndarray | None = None) -> np.ndarray:
        """(E, 3) eyeball vertices (model frame, metres) for the given identity."""
        v = self.eyeball_neutral.copy()
        if identity is not None:
            k = len(identity)
            v += np.tensordot(np.asarray(identity, np.float64), self.eyeball_identity[:k], axes=1)
        return v

    def mediapipe_points(self, vertices: np.ndarray) -> np.ndarray:
        """(468, 3) MediaPipe face-mesh points on a skin ``vertices`` (any frame)."""
        return _points(np.asarray(vertices, np.float64), self.mediapipe_faces, self.mediapipe_bary)


@lru_cache(maxsize=1)
def load_ict_model(path: str | None = None) -> IctModel:
    """The shipped ICT model (read once per process)."""
    with np.load(path or ICT_MODEL_PATH) as d:
        return IctModel(
            neutral=d["neutral"].astype(np.float64),
            identity=d["identity"].astype(np.float32),
            expression=d["expression"].astype(np.float32),
            expression_names=tuple(str(n) for n in d["expression_names"]),
            faces=d["faces"].astype(np.int32),
            uv_coords=d["uv_coords"].astype(np.float32),
            face_uv=d["face_uv"].astype(np.int32),
            landmarks68=d["landmarks68"].astype(np.int32),
            mediapipe_faces=d["mediapipe_faces"].astype(np.int32),
            mediapipe_bary=d["mediapipe_bary"].astype(np.float32),
            eyeball_neutral=d["eyeball_neutral"].astype(np.float64),
            eyeball_identity=d["eyeball_identity"].astype(np.float32),
            eyeball_faces=d["eyeball_faces"].astype(np.int32),
        )


@dataclass(frozen=True)
class IctFit:
    """A fitted ICT head: ``world = scale * model @ rotation.T + translation``.

    Attributes
    ----------
    identity : (n,) float64
        Identity coefficients (standard deviations).
    expression : (57,) float64
        Expression weights in [0, 1].
    scale : float
        Model metres to world metres (1 when the camera's scale is right).
    rotation : (3, 3) float64
        Model frame to world frame (world: x right in the photo, y up, z toward the camera).
    translation : (3,) float64
        World metres.
    model_vertices : (V, 3) float64
        The fitted skin in the model frame.
    residual_mm : float
        RMS distance of the fitted points to the targets, in the photo plane (mm).
    """

    identity: np.ndarray
    expression: np.ndarray
    scale: float
    rotation: np.ndarray
    translation: np.ndarray
    model_vertices: np.ndarray
    residual_mm: float

    @property
    def vertices(self) -> np.ndarray:
        """(V, 3) fitted skin in the world frame (metres)."""
        return self.to_world(self.model_vertices)

    def to_world(self, points: np.ndarray) -> np.ndarray:
        return self.scale * np.asarray(points, np.float64) @ self.rotation.T + self.translation

    def to_model(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, np.float64) - self.translation) @ self.rotation / self.scale

    def to_json(self) -> dict:
        names = load_ict_model().expression_names
        return {
            "model": "ICT Face Model Light (USC ICT, MIT licence), skin",
            "frame": "model: metres, y up, z forward, x subject's left; "
            "world = scale * rotation @ model + translation",
            "identity": np.round(self.identity, 5).tolist(),
            "expression": {
                n: round(float(w), 5) for n, w in zip(names, self.expression, strict=True)
            },
            "scale": self.scale,
            "rotation": self.rotation.tolist(),
            "translation": self.translation.tolist(),
            "residual_mm": self.residual_mm,
        }


def _points(values: np.ndarray, faces: np.ndarray, bary: np.ndarray) -> np.ndarray:
    """Barycentric points of per-vertex ``values`` (..., V, 3) -> (..., K, 3)."""
    return np.einsum("...kjc,kj->...kc", values[..., faces, :], bary)


def fit_ict(
    model: IctModel,
    targets: np.ndarray,
    faces: np.ndarray,
    bary: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    n_identity: int = 100,
    expression: bool = True,
    iterations: int = 6,
    sigma_xy: float = SIGMA_XY_M,
    sigma_z: float = SIGMA_Z_M,
) -> IctFit:
    """Fit identity, expression and a similarity to 3D target points.

    Parameters
    ----------
    model : IctModel
    targets : (K, 3) array
        World points (metres; z is the less certain depth axis).
    faces, bary : (K, 3) int and (K, 3) float arrays
        Where each target lies on the model's skin (a vertex ``v`` is ``[v, v, v]``,
        ``[1, 0, 0]``).
    weights : (K,) array in [0, 1], optional
        Trust in each target (0 drops it).
    n_identity : int
        Identity components used (the first, largest ones).
    expression : bool
        Fit the expression shapes too.
    iterations : int
        Alternations of similarity and coefficients.

    Returns
    -------
    IctFit
    """
    from scipy.optimize import lsq_linear

    p = np.asarray(targets, np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or len(p) != len(faces) or not np.isfinite(p).all():
        raise InputError(f"expected ({len(faces)}, 3) finite target points, got {p.shape}")
    w = np.ones(len(p)) if weights is None else np.clip(np.asarray(weights, np.float64), 0, 1)
    base = _points(model.neutral, faces, bary)
    basis = [_points(model.identity[:n_identity], faces, bary)]
    if expression:
        basis.append(_points(model.expression, faces, bary))
    basis = np.concatenate(basis).astype(np.float64)  # (n, K, 3)
    n = len(basis)
    lower = np.r_[np.full(n_identity, -IDENTITY_BOUND), np.zeros(n - n_identity)]
    upper = np.r_[np.full(n_identity, IDENTITY_BOUND), np.ones(n - n_identity)]
    prior = np.sqrt(np.r_[np.ones(n_identity), np.full(n - n_identity, EXPRESSION_PRIOR)])
    axis = np.array([1 / sigma_xy, 1 / sigma_xy, 1 / sigma_z])
    row_w = (np.sqrt(w)[:, None] * axis[None]).ravel()
    x = np.zeros(n)
    for _ in range(iterations):
        current = base + np.tensordot(x, basis, axes=1)
        s, rot, t = similarity_transform(current, p, weights=w)
        # Residual s R (base + basis x) + t - p is linear in x.
        jac = (s * basis @ rot.T).reshape(n, -1).T * row_w[:, None]
        rhs = (p - t - s * base @ rot.T).ravel() * row_w
        # The bounded solve on the Cholesky factor of the normal equations: the same
        # minimiser as on the (3K + n, n) system, with cheap active-set steps.
        chol = np.linalg.cholesky(jac.T @ jac + np.diag(prior**2)).T
        qtb = np.linalg.solve(chol.T, jac.T @ rhs)
        x = lsq_linear(chol, qtb, bounds=(lower, upper), method="bvls").x
    current = base + np.tensordot(x, basis, axes=1)
    s, rot, t = similarity_transform(current, p, weights=w)
    fitted = s * current @ rot.T + t
    keep = w > 0
    residual = np.sqrt(np.mean(np.sum((fitted - p)[keep, :2] ** 2, axis=1))) * 1000
    ident, expr = x[:n_identity], x[n_identity:] if expression else np.zeros(0)
    return IctFit(
        identity=ident,
        expression=np.pad(expr, (0, len(model.expression) - len(expr))),
        scale=float(s),
        rotation=rot,
        translation=t,
        model_vertices=model.vertices(ident, expr if expression else None),
        residual_mm=float(residual),
    )


def fit_ict_to_landmarks(
    landmarks_world: np.ndarray, weights: np.ndarray | None = None, **kwargs
) -> IctFit:
    """Fit the shipped model to MediaPipe face-mesh landmarks in the world frame.

    Parameters
    ----------
    landmarks_world : (468 or 478, 3) array
        ``camera.photo_to_world(face.points)`` (metres); the 10 iris points are not used.
    weights : (468 or 478,) array, optional
        Trust in each landmark, e.g. lower under an occluder.
    **kwargs
        Passed to :func:`fit_ict`.
    """
    lm = np.asarray(landmarks_world, np.float64)
    if lm.ndim != 2 or lm.shape[1] != 3 or len(lm) < 468:
        raise InputError(f"expected (468 or 478, 3) face landmarks, got shape {lm.shape}")
    model = load_ict_model()
    w = None if weights is None else np.asarray(weights, np.float64)[:468]
    return fit_ict(model, lm[:468], model.mediapipe_faces, model.mediapipe_bary, w, **kwargs)


def occlusion_weights(
    points_px: np.ndarray, occlusion: np.ndarray, weight: float = OCCLUDED_WEIGHT
) -> np.ndarray:
    """Per-landmark weights for :func:`fit_ict_to_landmarks`: ``weight`` where the (H, W)
    ``occlusion`` mask covers the landmark (photo pixels), else 1."""
    mask = np.asarray(occlusion, bool)
    h, w = mask.shape[:2]
    x = np.clip(np.round(np.asarray(points_px)[:, 0] - 0.5).astype(int), 0, w - 1)
    y = np.clip(np.round(np.asarray(points_px)[:, 1] - 0.5).astype(int), 0, h - 1)
    return np.where(mask[y, x], weight, 1.0)
