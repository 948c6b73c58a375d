"""Convert strands between monoscan's world frame and the USC-HairSalon frame.

USC-HairSalon ``.data`` hairstyles (and HairStep's outputs) live in the frame of the USC
reference head (``usc_hairsalon_head_model.obj``: metres, y up, facing +z, the head spans
y 1.548-1.887 and is about 1.2x an average adult head). Our strands live in the world frame
(metres, y up, x to the subject's left, z toward the camera, origin between the face's sides),
in which the fitted head may be turned and scaled.

The conversion is ``usc = S (world -> head) (p)``:

1. **World -> canonical head frame** (metres, y up, x subject's left, z forward, origin
   between the ear canals; :mod:`monoscan.head.fit`): with a fitted head (an object with
   ``scale``, ``rotation``, ``translation`` such that ``world = scale R head + t``) its
   inverse; without one the world frame is taken as the head frame (identity), which is right
   to within the head's turn and about 1-2 cm of origin offset.
2. **Canonical head -> USC**: a similarity without rotation (both frames are y up, facing
   +z), ``usc = s head + t``, the least-squares fit of four anchors: ``crown`` (top of the
   head), ``nose_tip``, ``back`` (the back-most point of the skull above the nose) and
   ``ear_mid`` (midway between the ears). Their canonical positions are those of the default
   parametric head (:func:`monoscan.head.model.anchor_points`, and the model mesh's back-most
   point); their USC positions were measured once on the USC head with
   :func:`measure_usc_anchors` (the ears there are the centroids of the outer ear vertices)
   and are stored below as numbers. The result: ``s = USC_SCALE``, ``t = USC_TRANSLATION``.
   :func:`usc_similarity` refits from other anchors (e.g. measured at run time).

Both directions are exact inverses (up to float32 rounding of the strand points).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from monoscan.core.errors import FormatError, InputError
from monoscan.core.strands import Strands

if TYPE_CHECKING:  # annotations only: no import cost, no import cycle
    from monoscan.head.fit import FittedHead

__all__ = [
    "CANONICAL_ANCHORS",
    "USC_ANCHORS",
    "USC_SCALE",
    "USC_TRANSLATION",
    "from_usc_frame",
    "measure_usc_anchors",
    "to_usc_frame",
    "usc_similarity",
    "world_to_usc_matrix",
]

#: Anchors of the default parametric head in the canonical head frame, metres.
CANONICAL_ANCHORS: dict[str, tuple[float, float, float]] = {
    "crown": (0.0, 0.130, -0.010),
    "nose_tip": (0.0, -0.026, 0.114),
    "back": (0.0, 0.041, -0.0955),
    "ear_mid": (0.0, 0.0, 0.0),
}

#: The same anchors measured on ``usc_hairsalon_head_model.obj`` (USC frame, metres).
USC_ANCHORS: dict[str, tuple[float, float, float]] = {
    "crown": (-0.000164, 1.887230, -0.003413),
    "nose_tip": (-0.005874, 1.699983, 0.136588),
    "back": (0.002568, 1.779405, -0.120367),
    "ear_mid": (-0.001040, 1.729233, -0.008988),
}


def _fit_similarity(src: dict, dst: dict) -> tuple[float, np.ndarray]:
    keys = [k for k in src if k in dst]
    if len(keys) < 2:
        raise InputError("at least two shared anchors are needed for the USC transform")
    a = np.array([src[k] for k in keys], np.float64)
    b = np.array([dst[k] for k in keys], np.float64)
    ac, bc = a - a.mean(0), b - b.mean(0)
    s = float((ac * bc).sum() / (ac * ac).sum())
    if not s > 0:
        raise InputError("anchors give a non-positive scale")
    return s, b.mean(0) - s * a.mean(0)


def usc_similarity(ours: dict | None = None, usc: dict | None = None) -> np.ndarray:
    """4x4 canonical-head -> USC similarity (uniform scale + translation) from anchors.

    ``ours`` and ``usc`` map anchor names to (3,) positions; defaults
    :data:`CANONICAL_ANCHORS` and :data:`USC_ANCHORS`.
    """
    s, t = _fit_similarity(ours or CANONICAL_ANCHORS, usc or USC_ANCHORS)
    m = np.eye(4)
    m[:3, :3] *= s
    m[:3, 3] = t
    return m


_DEFAULT = usc_similarity()
#: Scale of the default canonical -> USC similarity.
USC_SCALE: float = float(_DEFAULT[0, 0])
#: Translation (metres, USC frame) of the default canonical -> USC similarity.
USC_TRANSLATION: np.ndarray = _DEFAULT[:3, 3].copy()


def measure_usc_anchors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Measure the four anchors on the USC head OBJ (see the module docstring).

    ``crown``: highest vertex; ``nose_tip``: front-most vertex; ``back``: back-most vertex
    above the nose tip; ``ear_mid``: midpoint of the centroids of the vertices in the outer
    10 % of the head's width on each side (the ears).
    """
    import trimesh

    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    try:
        mesh = trimesh.load(path, process=False, force="mesh")
    except Exception as exc:  # noqa: BLE001 - trimesh raises many types for bad files
        raise FormatError(f"{path}: cannot read the head mesh ({exc})") from None
    v = np.asarray(mesh.vertices, np.float64)
    if v.ndim != 2 or len(v) < 10:
        raise FormatError(f"{path}: the head mesh has too few vertices")
    crown = v[np.argmax(v[:, 1])]
    nose = v[np.argmax(v[:, 2])]
    above = v[v[:, 1] > nose[1]]
    back = above[np.argmin(above[:, 2])]
    xmin, xmax = v[:, 0].min(), v[:, 0].max()
    w = xmax - xmin
    left = v[v[:, 0] > xmax - 0.1 * w].mean(0)
    right = v[v[:, 0] < xmin + 0.1 * w].mean(0)
    return {"crown": crown, "nose_tip": nose, "back": back, "ear_mid": (left + right) / 2}


def _world_to_head(head) -> np.ndarray:
    m = np.eye(4)
    if head is None:
        return m
    if not hasattr(head, "scale") and hasattr(head, "head"):  # an assembled HeadMesh
        head = head.head
    try:
        s = float(head.scale)
        r = np.asarray(head.rotation, np.float64).reshape(3, 3)
        t = np.asarray(head.translation, np.float64).reshape(3)
    except (AttributeError, TypeError, ValueError):
        raise InputError("head must have scale, rotation and translation (a fitted head)") from None
    if not s > 0 or not np.all(np.isfinite(r)) or not np.all(np.isfinite(t)):
        raise InputError("fitted head pose is not finite or has a non-positive scale")
    # head = R^T (world - t) / s
    m[:3, :3] = r.T / s
    m[:3, 3] = -(r.T @ t) / s
    return m


def world_to_usc_matrix(
    head: FittedHead | None = None, similarity: np.ndarray | None = None
) -> np.ndarray:
    """4x4 matrix taking world points to the USC frame (module docstring).

    Parameters
    ----------
    head : fitted head, optional
        Object with ``scale``, ``rotation`` (3x3, head -> world), ``translation`` (3,).
    similarity : (4, 4), optional
        Canonical head -> USC transform (default :func:`usc_similarity`).
    """
    sim = _DEFAULT if similarity is None else np.asarray(similarity, np.float64)
    return sim @ _world_to_head(head)


def to_usc_frame(
    strands: Strands, head: FittedHead | None = None, similarity: np.ndarray | None = None
) -> Strands:
    """Strands from the world frame into the USC-HairSalon frame (metres, y up)."""
    return strands.transform(world_to_usc_matrix(head, similarity))


def from_usc_frame(
    strands: Strands, head: FittedHead | None = None, similarity: np.ndarray | None = None
) -> Strands:
    """Strands from the USC-HairSalon frame into the world frame (inverse of
    :func:`to_usc_frame` with the same arguments)."""
    return strands.transform(np.linalg.inv(world_to_usc_matrix(head, similarity)))
