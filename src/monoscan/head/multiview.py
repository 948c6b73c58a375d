"""Several photos of one person fused into one reconstruction (issue 5).

Each view gives MediaPipe's 478 landmarks in that view's own world frame (metres, x right,
y up, z toward that camera; :meth:`monoscan.face.camera.Camera.photo_to_world`). A single view
observes x and y; z is MediaPipe's learned guess. The fusion:

1. the reference view is the most frontal one (smallest yaw of the line between the face's
   sides, landmarks 234 and 454); its photo gives the texture, hair and the output frame;
2. every other view is brought into the reference frame by a weighted similarity Procrustes
   (Umeyama) on the landmarks both views see well (per-landmark facing weight: the z of the
   landmark's mesh normal in that view, squared), with one robust re-weighting; or, when the
   cameras are known (H3DS ``cameras.npz``), with the cameras' relative rotation and only
   scale and translation from the landmarks;
3. each landmark is the information-weighted mean of its views: a view's point counts with the
   inverse covariance ``R diag(1, 1, 1 / DEPTH_SIGMA_RATIO**2) R^T`` times its facing weight.
   With a ratio above 1 a side view would pin the reference view's depth while the reference
   keeps its image-plane positions; on the rendered head scan (benchmarks/bench_scan.py,
   yaws -30/0/+30) ratios 1, 3 and 10 gave face_sphere 1.54, 1.61, 1.92 mm (studio light) and
   1.49, 1.54, 1.87 mm (side light): MediaPipe's depth is no worse than its x, y there, so the
   default is 1 (a facing-weighted mean). Tuned on one scan: treat as a first setting;
4. the fused landmarks, back in the reference photo's pixels, replace the detected ones in
   :func:`monoscan.pipeline.reconstruct` (face mesh, head fit, H3DS landmarks, strands); the
   run over several photos is :func:`monoscan.pipeline.views.reconstruct_views`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.geometry import similarity_transform, vertex_normals

__all__ = [
    "DEPTH_SIGMA_RATIO",
    "FusedLandmarks",
    "frontal_yaw_deg",
    "fuse_landmarks",
    "landmark_facing",
]

#: How much less certain MediaPipe's depth (z) is than its image-plane x, y (sigma ratio).
DEPTH_SIGMA_RATIO = 1.0
#: Landmark weight floor (points seen edge-on still count a little).
_MIN_FACING = 0.02
#: Robust re-weighting scale of the Procrustes residuals, metres.
_ROBUST_M = 0.003
# Face sides in front of the ears; their line is horizontal in the image for a frontal face.
_SIDES = (234, 454)
# Iris centre/ring landmarks take the normal of their eye (corner landmarks).
_IRIS_EYE = {range(468, 473): (33, 133), range(473, 478): (263, 362)}


def frontal_yaw_deg(world: np.ndarray) -> float:
    """Yaw of the face in a view's world frame, degrees (0 frontal; sign: x toward z)."""
    d = np.asarray(world, np.float64)[_SIDES[1]] - np.asarray(world, np.float64)[_SIDES[0]]
    return float(np.degrees(np.arctan2(d[2], d[0])))


def landmark_facing(world: np.ndarray) -> np.ndarray:
    """How much each of the 478 landmarks faces its camera: clip(n_z, 0, 1) ** 2 (+ a floor).

    ``n`` is the outward normal of MediaPipe's 468-point mesh at the landmark, in the view's
    world frame (z toward the camera); iris points use their eye's corners.
    """
    from monoscan.face.topology import N_MESH_VERTICES, mesh_triangles

    p = np.asarray(world, np.float64)
    f = mesh_triangles()
    n = vertex_normals(p[:N_MESH_VERTICES], f)
    if n[:, 2].mean() < 0:  # orientation of the triangle list: outward faces the camera
        n = -n
    nz = n[:, 2]
    out = np.empty(len(p))
    out[:N_MESH_VERTICES] = nz
    for rng, (a, b) in _IRIS_EYE.items():
        for i in rng:
            if i < len(p):
                out[i] = 0.5 * (nz[a] + nz[b])
    return np.clip(out, 0.0, 1.0) ** 2 + _MIN_FACING


@dataclass(frozen=True)
class FusedLandmarks:
    """Result of :func:`fuse_landmarks`.

    Attributes
    ----------
    points : (478, 3) float64
        Fused landmarks in the reference view's world frame, metres.
    reference : int
        Index of the reference view.
    transforms : list of (scale, (3, 3) rotation, (3,) translation)
        View frame -> reference frame, per view.
    residual_mm : list of float
        Weighted RMS distance of each view's aligned landmarks to the fused ones, mm.
    yaw_deg : list of float
        Estimated yaw of the face per view.
    """

    points: np.ndarray
    reference: int
    transforms: list
    residual_mm: list
    yaw_deg: list


def fuse_landmarks(
    worlds: Sequence[np.ndarray],
    reference: int | None = None,
    rotations: Sequence[np.ndarray] | None = None,
) -> FusedLandmarks:
    """Fuse per-view 3D landmarks of one face into the reference view's frame.

    Parameters
    ----------
    worlds : sequence of (478, 3) arrays
        Landmarks of each view in that view's world frame (metres).
    reference : int, optional
        The reference view (default: the most frontal).
    rotations : sequence of (3, 3), optional
        Known rotations view frame -> reference frame (from calibrated cameras); default:
        estimated from the landmarks.

    Returns
    -------
    FusedLandmarks
    """
    ws = [np.asarray(w, np.float64) for w in worlds]
    if not ws:
        raise InputError("no views to fuse")
    if any(w.shape != ws[0].shape or w.ndim != 2 or w.shape[1] != 3 for w in ws):
        raise InputError("all views need landmark arrays of the same (N, 3) shape")
    yaws = [frontal_yaw_deg(w) for w in ws]
    ref = int(np.argmin(np.abs(yaws))) if reference is None else int(reference)
    facing = [landmark_facing(w) for w in ws]
    transforms, aligned = [], []
    for k, w in enumerate(ws):
        if k == ref:
            transforms.append((1.0, np.eye(3), np.zeros(3)))
            aligned.append(w)
            continue
        weight = np.minimum(facing[k], facing[ref])
        known = None if rotations is None else rotations[k]
        s, rot, t = similarity_transform(w, ws[ref], weight, known)
        for _ in range(2):  # robust re-weighting (Cauchy) on the residuals
            r = np.linalg.norm(s * w @ rot.T + t - ws[ref], axis=1)
            s, rot, t = similarity_transform(w, ws[ref], weight / (1 + (r / _ROBUST_M) ** 2), known)
        transforms.append((s, rot, t))
        aligned.append(s * w @ rot.T + t)
    # Information-weighted mean per landmark.
    info_local = np.diag([1.0, 1.0, 1.0 / DEPTH_SIGMA_RATIO**2])
    a_sum = np.zeros((len(ws[0]), 3, 3))
    b_sum = np.zeros((len(ws[0]), 3))
    for (_s, rot, _t), p, f in zip(transforms, aligned, facing, strict=True):
        info = rot @ info_local @ rot.T
        a = f[:, None, None] * info[None]
        a_sum += a
        b_sum += np.einsum("nij,nj->ni", a, p)
    fused = np.linalg.solve(a_sum, b_sum[..., None])[..., 0]
    residual = [
        float(np.sqrt((f * ((p - fused) ** 2).sum(1)).sum() / f.sum()) * 1000)
        for p, f in zip(aligned, facing, strict=True)
    ]
    return FusedLandmarks(fused, ref, transforms, residual, yaws)
