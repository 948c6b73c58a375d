"""The fitted body's skeleton and skin weights, for a GLB that Blender can pose (issue 18).

:func:`body_skin` turns a :class:`~monoscan.body.fit.NakedBody` into a
:class:`~monoscan.io.meshes.Skin`: one joint per bone of :data:`~monoscan.body.model.BONE_NAMES`
(the model's 19-bone rig), placed in the fitted pose, and the four largest linear blend
skinning weights of each vertex. The mesh is bound in the pose it is written in (the
fitted pose), so the GLB shows the same surface as ``body.obj`` to every reader, skinning or
not, and turning a bone turns the vertices it drives about that joint, as
:meth:`~monoscan.body.model.BodyModel.pose` does.

Joint frames. Each joint's rest frame (:func:`bone_frames`) has its +y axis along its bone,
toward its main child (the child that continues the chain from its parent; the spine for the
root; a leaf toward the middle of what it drives: foot, hand, head), and its +z axis toward
the body's front, so Blender draws the bones along the limbs. In the bind pose that frame is
turned by the joint's fitted global rotation and sits at the fitted joint, in the world
frame of ``body.obj`` (metres, x to the subject's left, y up, z toward the camera).

Weights of another surface (the clothed body, :mod:`monoscan.body.clothed`):
:func:`transfer_weights` interpolates the model's weights barycentrically at the closest
point of the fitted body's surface. For the clothed body the query points are where each of
its vertices started on the naked body (``ClothedBody.naked_vertices``), not where the
clothes moved it: that correspondence is exact (the clothed body is the naked one
subdivided and displaced along its normals), and a skirt's vertex keeps the weights of the
leg it grew from rather than those of whichever leg is nearest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from monoscan.body.model import BONE_NAMES, BodyModel, load_body_model
from monoscan.io.meshes import Skin

if TYPE_CHECKING:
    from monoscan.body.fit import NakedBody

__all__ = ["body_skin", "bone_frames", "top_weights", "transfer_weights"]


def top_weights(weights: np.ndarray, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest weights of each row and their columns, renormalised to sum to 1.

    Parameters
    ----------
    weights : (V, J) array_like
        Non-negative skinning weights (rows sum to about 1).
    k : int
        Influences kept per vertex (glTF's ``JOINTS_0`` / ``WEIGHTS_0`` hold four).

    Returns
    -------
    joints : (V, k) int64
        Column of each kept weight, largest first.
    kept : (V, k) float64
        The kept weights divided by their sum (a row with no weight goes to its first
        column, weight 1).
    """
    w = np.clip(np.asarray(weights, np.float64), 0.0, None)
    if w.ndim != 2 or w.shape[1] == 0:
        raise ValueError(f"weights must be (V, J), got shape {w.shape}")
    k = min(k, w.shape[1])
    joints = np.argsort(-w, axis=1, kind="stable")[:, :k]
    kept = np.take_along_axis(w, joints, axis=1)
    total = kept.sum(1, keepdims=True)
    empty = total[:, 0] <= 0
    kept[empty] = 0.0
    kept[empty, 0] = 1.0
    kept /= np.where(empty[:, None], 1.0, total)
    return joints, kept


def transfer_weights(
    points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Per-vertex ``weights`` interpolated at the closest surface point of each of ``points``.

    Parameters
    ----------
    points : (N, 3) array_like
        Query points (same frame and unit as ``vertices``).
    vertices, faces : (V, 3), (F, 3) array_like
        The surface the weights live on.
    weights : (V, J) array_like
        One row per vertex.

    Returns
    -------
    (N, J) float64
        Barycentric interpolation on the closest triangle (exact for points on the surface:
        a midpoint of an edge gets the mean of its two ends' rows).
    """
    from monoscan.metrics.surface import SurfaceTree

    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    w = np.asarray(weights, np.float64)
    if len(w) != len(v):
        raise ValueError(f"{len(w)} weight rows for {len(v)} vertices")
    hit = SurfaceTree(v, f).query(np.asarray(points, np.float64))
    tri = f[hit.triangle]
    a, b, c = v[tri[:, 0]], v[tri[:, 1]], v[tri[:, 2]]
    e0, e1, e2 = b - a, c - a, hit.closest - a
    d00, d01, d11 = (e0 * e0).sum(1), (e0 * e1).sum(1), (e1 * e1).sum(1)
    d20, d21 = (e2 * e0).sum(1), (e2 * e1).sum(1)
    den = d00 * d11 - d01 * d01
    ok = den > 1e-30
    safe = np.where(ok, den, 1.0)
    bary = np.empty((len(tri), 3))
    bary[:, 1] = np.where(ok, (d11 * d20 - d01 * d21) / safe, 0.0)
    bary[:, 2] = np.where(ok, (d00 * d21 - d01 * d20) / safe, 0.0)
    bary[:, 0] = 1.0 - bary[:, 1] - bary[:, 2]  # a degenerate triangle: its first corner
    bary = np.clip(bary, 0.0, None)
    bary /= bary.sum(1, keepdims=True)
    return np.einsum("nc,ncj->nj", bary, w[tri])


def bone_frames(
    joints: np.ndarray, parents: np.ndarray, tips: np.ndarray | None = None
) -> np.ndarray:
    """Rest frames (J, 3, 3) of the joints: columns x, y, z, with +y along the bone.

    A joint's bone points to its main child: the child whose direction from the joint is
    closest to the direction the chain came in (+y, up, for a root). A leaf points to its
    row of ``tips`` (:func:`body_skin` gives the middle of the vertices the joint drives:
    the foot, the hand, the head), or continues its parent's bone when ``tips`` is None or
    that row is not finite. +z is the front (model +z) made orthogonal to the bone (up, +y,
    for a bone that points to the front or back); x = y cross z.
    """
    j = np.asarray(joints, np.float64)
    parents = np.asarray(parents)
    n = len(j)
    children = [[c for c in range(n) if parents[c] == k] for k in range(n)]

    def unit(x):
        length = np.linalg.norm(x)
        return x / length if length > 1e-12 else np.array([0.0, 1.0, 0.0])

    incoming = [
        np.array([0.0, 1.0, 0.0]) if p < 0 else unit(j[k] - j[p]) for k, p in enumerate(parents)
    ]
    frames = np.empty((n, 3, 3))
    for k in range(n):
        if children[k]:
            dirs = [unit(j[c] - j[k]) for c in children[k]]
            y = dirs[int(np.argmax([d @ incoming[k] for d in dirs]))]
        elif tips is not None and np.isfinite(tips[k]).all():
            y = unit(np.asarray(tips[k], np.float64) - j[k])
        else:
            y = incoming[k]
        ref = np.array([0.0, 0.0, 1.0]) if abs(y[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
        z = unit(ref - (ref @ y) * y)
        frames[k] = np.stack([np.cross(y, z), y, z], axis=1)
    return frames


def body_skin(
    naked: NakedBody,
    points: np.ndarray | None = None,
    model: BodyModel | None = None,
    influences: int = 4,
) -> Skin:
    """The skeleton of a fitted body in its world frame and the skin weights of a surface.

    Parameters
    ----------
    naked : NakedBody
        :func:`monoscan.body.fit.fit_reconstruction`'s result.
    points : (N, 3) array_like or None
        One point per vertex of the surface to skin, on (or near) the naked body, world frame
        (m): for the clothed body, ``ClothedBody.naked_vertices``. Their weights are the
        model's, interpolated on the closest naked-body triangle (:func:`transfer_weights`).
        None: the naked body's own vertices, with the model's weights.
    model : BodyModel or None
        The body model (:func:`~monoscan.body.model.load_body_model` by default).
    influences : int
        Joints per vertex (at most 4, glTF's limit for one ``JOINTS_0`` set).

    Returns
    -------
    Skin
        Joints named by :data:`~monoscan.body.model.BONE_NAMES`, bind transforms of the
        fitted pose (rotation: the joint's fitted global rotation times its
        :func:`bone_frames` rest frame, leaves aimed at the middle of the vertices they
        drive; translation: the fitted joint in the world frame),
        and the ``influences`` largest weights of each vertex, renormalised.
    """
    model = model or load_body_model()
    fit = naked.fit
    rest_vertices, rest_joints = model.rest(fit.phenotype)
    a = model.joint_transforms(rest_joints, fit.rotvecs)
    posed = a[:, :, 3] + np.einsum("kij,kj->ki", a[:, :, :3], rest_joints)
    # leaves aim at the middle (bounding box: the face's dense vertices do not pull the
    # head's bone forward) of the vertices they mostly drive
    tips = np.full((model.n_joints, 3), np.nan)
    for k in range(model.n_joints):
        driven = rest_vertices[model.skin_weights[:, k] >= 0.5]
        if len(driven):
            tips[k] = (driven.min(0) + driven.max(0)) / 2
    frames = bone_frames(rest_joints, model.parents, tips)
    bind = np.zeros((model.n_joints, 4, 4))
    bind[:, :3, :3] = np.matmul(a[:, :, :3], frames)
    bind[:, :3, 3] = naked.world_scale * posed + np.asarray(naked.world_offset, np.float64)
    bind[:, 3, 3] = 1.0
    if points is None:
        weights = model.skin_weights
    else:
        weights = transfer_weights(points, naked.vertices, model.faces, model.skin_weights)
    joints, kept = top_weights(weights, min(influences, 4))
    return Skin(
        names=tuple(BONE_NAMES),
        parents=np.asarray(model.parents, np.int64),
        bind=bind,
        joints=joints,
        weights=kept,
    )
