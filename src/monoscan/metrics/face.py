"""Face reconstruction metrics: NoW-style scan-to-mesh error and 68-point landmark NME.

Scan-to-mesh (NoW benchmark convention, Sanyal et al. 2019): the predicted mesh is aligned to the
scan by a similarity transform (scale, no reflection) from corresponding 3D landmarks, the
alignment is refined by iterating closest points from the scan onto the predicted surface, and
the distances from every scan point to the predicted surface are summarised as median, mean and
standard deviation in millimetres.

NME: mean Euclidean error over the 68 iBUG landmarks divided by ``sqrt(w * h)`` of the
ground-truth landmarks' bounding box (the AFLW2000-3D convention), as a fraction (x100 for %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from monoscan.core.errors import InputError
from monoscan.core.geometry import apply_transform
from monoscan.metrics.alignment import procrustes, similarity_from_landmarks
from monoscan.metrics.surface import point_to_surface

__all__ = ["FaceScore", "landmark_nme", "scan_to_mesh"]


@dataclass(frozen=True)
class FaceScore:
    """NoW-style scan-to-mesh result (mm).

    Attributes
    ----------
    median_mm, mean_mm, std_mm : float
    distances : (N,) float64
        Per scan point distance to the aligned predicted surface.
    transform : (4, 4)
        Similarity applied to the prediction (prediction -> scan frame).
    """

    median_mm: float
    mean_mm: float
    std_mm: float
    distances: np.ndarray
    transform: np.ndarray

    def summary(self) -> dict[str, float]:
        return {"median_mm": self.median_mm, "mean_mm": self.mean_mm, "std_mm": self.std_mm}


def _as_points(x, name: str, dims: int = 3) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != dims or len(a) == 0:
        raise InputError(f"{name} must be a non-empty (N, {dims}) array, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise InputError(f"{name} contains NaN or infinite values")
    return a


def scan_to_mesh(
    scan_points: np.ndarray,
    scan_landmarks: np.ndarray,
    pred: trimesh.Trimesh,
    pred_landmarks: np.ndarray,
    *,
    refine_iterations: int = 10,
    crop_radius_mm: float | None = None,
    crop_center: np.ndarray | None = None,
) -> FaceScore:
    """NoW-style scan-to-mesh distance after landmark alignment (mm).

    Parameters
    ----------
    scan_points : (N, 3)
        Ground-truth scan vertices, mm.
    scan_landmarks : (K, 3)
        Landmarks on the scan (K >= 3), mm.
    pred : trimesh.Trimesh
        Predicted face mesh (any unit and frame; the similarity fixes both).
    pred_landmarks : (K, 3)
        The same landmarks on the prediction, same order.
    refine_iterations : int
        Closest-point refinement rounds (similarity, no reflection); 0 keeps the landmark fit.
    crop_radius_mm, crop_center : optional
        Keep only scan points within this radius of ``crop_center`` (default: the mean of the
        scan landmarks), like NoW's face crop.

    Returns
    -------
    FaceScore
    """
    scan = _as_points(scan_points, "scan points")
    sl = _as_points(scan_landmarks, "scan landmarks")
    pl = _as_points(pred_landmarks, "predicted landmarks")
    if sl.shape != pl.shape:
        raise InputError(f"scan and predicted landmarks differ in count: {len(sl)} vs {len(pl)}")
    if len(pred.faces) == 0:
        raise InputError("predicted face mesh has no faces")
    if crop_radius_mm is not None:
        c = sl.mean(axis=0) if crop_center is None else np.asarray(crop_center, dtype=np.float64)
        scan = scan[np.linalg.norm(scan - c, axis=1) <= crop_radius_mm]
        if len(scan) == 0:
            raise InputError(f"no scan points within {crop_radius_mm} mm of the crop centre")
    total = similarity_from_landmarks(pl, sl)
    faces = np.asarray(pred.faces)
    pv = np.asarray(pred.vertices, dtype=np.float64)
    mesh = trimesh.Trimesh(apply_transform(pv, total), faces, process=False)
    res = point_to_surface(scan, mesh)
    for _ in range(refine_iterations):
        # Move the prediction so its closest points land on the scan points.
        m, _t, _c = procrustes(res.closest, scan, reflection=False, scale=True)
        new_total = m @ total
        mesh = trimesh.Trimesh(apply_transform(pv, new_total), faces, process=False)
        new = point_to_surface(scan, mesh)
        if new.distances.mean() >= res.distances.mean() - 1e-9:
            if new.distances.mean() <= res.distances.mean():
                res, total = new, new_total
            break
        res, total = new, new_total
    d = res.distances
    return FaceScore(float(np.median(d)), float(np.mean(d)), float(np.std(d)), d, total)


def landmark_nme(pred: np.ndarray, gt: np.ndarray) -> float:
    """Normalised mean error of 2D (or 3D, using x and y for the box) landmarks.

    ``mean_i ||pred_i - gt_i|| / sqrt(w * h)`` with ``w, h`` the width and height of the
    ground-truth landmarks' bounding box (in x and y). Returns a fraction (0.035 = 3.5 %).
    """
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    if p.shape != g.shape or p.ndim != 2 or p.shape[1] not in (2, 3):
        raise InputError(
            f"landmarks must be two (K, 2|3) arrays of equal shape, got {p.shape}, {g.shape}"
        )
    if p.shape[0] != 68:
        raise InputError(f"NME uses the 68 iBUG landmarks, got {p.shape[0]}")
    if not (np.isfinite(p).all() and np.isfinite(g).all()):
        raise InputError("landmarks contain NaN or infinite values")
    w, h = np.ptp(g[:, 0]), np.ptp(g[:, 1])
    if w <= 0 or h <= 0:
        raise InputError("ground-truth landmarks have a degenerate bounding box")
    return float(np.mean(np.linalg.norm(p - g, axis=1)) / np.sqrt(w * h))
