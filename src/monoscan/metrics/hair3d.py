"""3D hair metrics: voxel occupancy and orientation, strand point precision / recall / F1.

Protocol (the 3D hair metrics of NeuralHDHair and HairStep):

* **Occupancy.** Both hairstyles are voxelised on one grid (default 128^3 cubic voxels) over
  a shared box: the cube around the union of both bounding boxes, padded by one voxel.
  A voxel is occupied if any strand passes through it (segments are densified to half a
  voxel before binning, so sparse samples leave no holes). IoU = |P & G| / |P | G|,
  precision = |P & G| / |P|, recall = |P & G| / |G|.
* **Orientation error.** Each occupied voxel's orientation is the principal eigenvector of
  the summed outer products of the unit tangents falling in it (an undirected average). The
  error is the undirected angle between prediction and ground truth, in degrees (0-90),
  over the voxels occupied in both; mean and median are reported.
* **Strand points.** Both strand sets are resampled along their arcs to points at most
  ``spacing`` apart (default 1 mm, so point density does not decide the score). A point
  matches if some point of the other set lies within ``d`` AND its tangent is within
  ``a`` degrees, undirected. Precision = matched predicted points / predicted points,
  recall = matched ground-truth points / ground-truth points, F1 their harmonic mean, at
  (2 mm, 20 deg), (3 mm, 30 deg), (4 mm, 40 deg). Exact (not approximate) neighbour search
  with :class:`scipy.spatial.cKDTree`.

All coordinates are metres in one shared frame (align before calling).

NeuralHDHair's 3D orientation volume (``Ori_gt.mat``) is read by
:func:`monoscan.io.volumes.read_neuralhdhair_orientation` into the same voxel convention as
:func:`voxelize`, so it can be compared with voxelised strands.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

from monoscan.core.errors import InputError
from monoscan.core.strands import Strands
from monoscan.core.volumes import OrientationVolume, VoxelGrid

__all__ = [
    "DEFAULT_THRESHOLDS",
    "OrientationVolume",
    "VoxelGrid",
    "evaluate_strands",
    "occupancy_metrics",
    "orientation_error",
    "point_match",
    "shared_grid",
    "strand_point_metrics",
    "voxelize",
]

#: (distance in metres, angle in degrees) pairs of the strand point metrics.
DEFAULT_THRESHOLDS: tuple[tuple[float, float], ...] = ((0.002, 20.0), (0.003, 30.0), (0.004, 40.0))


def shared_grid(*strands: Strands, resolution: int = 128, padding: int = 1) -> VoxelGrid:
    """A cubic-voxel grid of ``resolution^3`` covering every given strand set.

    The cube is centred on the union of the bounding boxes, with side = the largest extent
    scaled so that ``padding`` empty voxels remain on each side.
    """
    pts = [s.points for s in strands if s.n_points]
    if not pts:
        raise InputError("cannot build a voxel grid around empty strand sets")
    if resolution < 2 * padding + 1:
        raise InputError("resolution too small for the padding")
    allp = np.concatenate(pts).astype(np.float64)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    extent = float(np.max(hi - lo))
    extent = extent if extent > 0 else 1e-3
    size = extent / (resolution - 2 * padding)
    centre = (lo + hi) / 2
    start = centre - size * resolution / 2
    return VoxelGrid(tuple(start.tolist()), (size, size, size), (resolution,) * 3)


def _dense_samples(strands: Strands, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points and unit tangents along every segment, at most ``step`` apart (metres)."""
    seg = strands.segments
    if len(seg) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3))
    p = strands.points.astype(np.float64)
    a, b = p[seg[:, 0]], p[seg[:, 1]]
    d = b - a
    length = np.linalg.norm(d, axis=1)
    n = np.maximum(np.ceil(length / step).astype(np.int64), 1)
    which = np.repeat(np.arange(len(seg)), n)
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    t = (np.arange(len(which)) - first[which] + 0.5) / n[which]
    pts = a[which] + d[which] * t[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        tan = np.where(length[:, None] > 0, d / np.where(length > 0, length, 1)[:, None], 0)
    return pts, tan[which]


def voxelize(strands: Strands, grid: VoxelGrid) -> OrientationVolume:
    """Voxelise strands: occupancy and undirected mean orientation per voxel.

    Segments are sampled every half voxel; a voxel is occupied if a sample falls in it.
    Orientation is the principal eigenvector of the summed tangent outer products, signed to
    agree with the summed (growth-directed) tangents.
    """
    step = 0.5 * float(np.min(grid.voxel_size))
    pts, tan = _dense_samples(strands, step)
    ijk, inside = grid.index(pts)
    ijk, tan = ijk[inside], tan[inside]
    shape = tuple(int(v) for v in grid.shape)
    flat = np.ravel_multi_index(ijk.T, shape) if len(ijk) else np.zeros(0, np.int64)
    uniq, inv = np.unique(flat, return_inverse=True)
    occupancy = np.zeros(shape, dtype=bool)
    occupancy.ravel()[uniq] = True
    orientation = np.zeros(shape + (3,), dtype=np.float32)
    if len(uniq):
        tensor = np.zeros((len(uniq), 3, 3))
        for a in range(3):
            for b in range(a, 3):
                w = np.bincount(inv, weights=tan[:, a] * tan[:, b], minlength=len(uniq))
                tensor[:, a, b] = tensor[:, b, a] = w
        _, vecs = np.linalg.eigh(tensor)
        main = vecs[:, :, -1]
        directed = np.stack(
            [np.bincount(inv, weights=tan[:, c], minlength=len(uniq)) for c in range(3)], axis=1
        )
        sign = np.where(np.sum(main * directed, axis=1) < 0, -1.0, 1.0)
        orientation.reshape(-1, 3)[uniq] = main * sign[:, None]
    return OrientationVolume(grid, occupancy, orientation)


def occupancy_metrics(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """IoU, precision and recall of two boolean occupancy grids of the same shape."""
    p, g = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if p.shape != g.shape:
        raise InputError(f"occupancy grids differ in shape: {p.shape} vs {g.shape}")
    inter = int(np.count_nonzero(p & g))
    union = int(np.count_nonzero(p | g))
    n_p, n_g = int(np.count_nonzero(p)), int(np.count_nonzero(g))
    return {
        "iou": inter / union if union else float("nan"),
        "precision": inter / n_p if n_p else float("nan"),
        "recall": inter / n_g if n_g else float("nan"),
        "pred_voxels": n_p,
        "gt_voxels": n_g,
        "shared_voxels": inter,
    }


def orientation_error(
    pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None
) -> dict[str, float]:
    """Undirected angle (degrees, 0-90) between two orientation fields ``(..., 3)``.

    Computed over ``mask`` (default: voxels where both vectors are non-zero). Vectors need
    not be unit length.
    """
    a = np.asarray(pred, dtype=np.float64)
    b = np.asarray(gt, dtype=np.float64)
    if a.shape != b.shape or a.shape[-1] != 3:
        raise InputError(f"orientation fields must share a (..., 3) shape: {a.shape} vs {b.shape}")
    na, nb = np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1)
    valid = (na > 0) & (nb > 0)
    if mask is not None:
        valid &= np.asarray(mask, dtype=bool)
    if not np.any(valid):
        return {"mean_deg": float("nan"), "median_deg": float("nan"), "n_voxels": 0}
    cos = np.abs(np.sum(a[valid] * b[valid], axis=-1)) / (na[valid] * nb[valid])
    ang = np.degrees(np.arccos(np.clip(cos, 0.0, 1.0)))
    return {
        "mean_deg": float(ang.mean()),
        "median_deg": float(np.median(ang)),
        "n_voxels": int(valid.sum()),
    }


def point_match(
    points: np.ndarray,
    tangents: np.ndarray,
    ref_points: np.ndarray,
    ref_tangents: np.ndarray,
    distance: float | Sequence[float],
    angle_deg: float | Sequence[float],
    *,
    tree: cKDTree | None = None,
) -> np.ndarray:
    """For each point, whether a reference point lies within ``distance`` (metres) with a
    tangent within ``angle_deg`` degrees, ignoring tangent sign.

    ``distance`` and ``angle_deg`` may be equal-length sequences (several thresholds in one
    neighbour search). Returns (N,) bool, or (T, N) bool for T thresholds.

    Exact: neighbours are fetched nearest first in growing batches until every threshold is
    decided (a match found, the distance bound passed, or all neighbours checked).
    """
    scalar = np.ndim(distance) == 0
    dists = np.atleast_1d(np.asarray(distance, dtype=np.float64))
    cos_min = np.cos(np.radians(np.atleast_1d(np.asarray(angle_deg, dtype=np.float64))))
    if dists.shape != cos_min.shape:
        raise InputError("distance and angle_deg must have the same number of thresholds")
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    t = np.asarray(tangents, dtype=np.float64).reshape(-1, 3)
    rt = np.asarray(ref_tangents, dtype=np.float64).reshape(-1, 3)
    n_ref = len(rt)
    out = np.zeros((len(dists), len(p)), dtype=bool)
    if len(p) and n_ref:
        tree = tree if tree is not None else cKDTree(np.asarray(ref_points, dtype=np.float64))
        bound = float(dists.max())
        todo = np.arange(len(p))
        k = 8
        while len(todo):
            kk = min(k, n_ref)
            undecided = np.zeros(len(todo), dtype=bool)
            # Chunks bound the memory of the (n, k) neighbour arrays to ~100 MB.
            chunk = max(1, 2_000_000 // kk)
            for lo in range(0, len(todo), chunk):
                part = todo[lo : lo + chunk]
                dist, idx = tree.query(p[part], k=kk, distance_upper_bound=bound, workers=-1)
                dist, idx = dist.reshape(len(part), kk), idx.reshape(len(part), kk)
                near = np.isfinite(dist)
                safe = np.where(near, idx, 0)
                cos = np.abs(np.einsum("nkc,nc->nk", rt[safe], t[part]))
                for i, (d, c) in enumerate(zip(dists, cos_min, strict=True)):
                    hit = np.any((dist <= d) & (cos >= c - 1e-9), axis=1)
                    out[i, part[hit]] = True
                    # Undecided: no hit, all fetched neighbours within d, and more exist.
                    undecided[lo : lo + len(part)] |= ~hit & (dist[:, -1] <= d) & (kk < n_ref)
            todo = todo[undecided]
            k *= 4
    return out[0] if scalar else out


def strand_point_metrics(
    pred: Strands,
    gt: Strands,
    thresholds: Sequence[tuple[float, float]] = DEFAULT_THRESHOLDS,
    *,
    spacing: float | None = 0.001,
) -> list[dict[str, float]]:
    """Strand point precision, recall and F1 at each (distance m, angle deg) threshold.

    ``spacing`` (metres) resamples both sets along their arcs first; ``None`` uses the
    points as given. See the module docstring for the protocol.
    """
    if spacing is not None:
        pred = pred.resample_spacing(spacing)
        gt = gt.resample_spacing(spacing)
    pp, pt = pred.points.astype(np.float64), pred.tangents
    gp, gtan = gt.points.astype(np.float64), gt.tangents
    d = [float(x) for x, _ in thresholds]
    a = [float(y) for _, y in thresholds]
    if len(pp) and len(gp):
        prec = point_match(pp, pt, gp, gtan, d, a).mean(axis=1)
        rec = point_match(gp, gtan, pp, pt, d, a).mean(axis=1)
    else:
        prec = rec = np.zeros(len(d))
    rows = []
    for i in range(len(d)):
        p_, r_ = float(prec[i]), float(rec[i])
        f1 = 2 * p_ * r_ / (p_ + r_) if p_ + r_ > 0 else 0.0
        rows.append(
            {"distance_mm": d[i] * 1000.0, "angle_deg": a[i], "precision": p_, "recall": r_,
             "f1": f1}
        )  # fmt: skip
    return rows


def evaluate_strands(
    pred: Strands,
    gt: Strands,
    *,
    resolution: int = 128,
    thresholds: Sequence[tuple[float, float]] = DEFAULT_THRESHOLDS,
    spacing: float | None = 0.001,
) -> dict:
    """All 3D hair metrics of ``pred`` against ``gt`` (both metres, same frame).

    Returns
    -------
    dict
        ``{"occupancy": {...}, "orientation": {...}, "points": [...], "grid": {...},
        "n_strands": {...}}`` with the keys of :func:`occupancy_metrics`,
        :func:`orientation_error` and :func:`strand_point_metrics`.
    """
    if not isinstance(pred, Strands) or not isinstance(gt, Strands):
        raise InputError("evaluate_strands needs two Strands objects")
    grid = shared_grid(pred, gt, resolution=resolution)
    vp, vg = voxelize(pred, grid), voxelize(gt, grid)
    return {
        "occupancy": occupancy_metrics(vp.occupancy, vg.occupancy),
        "orientation": orientation_error(
            vp.orientation, vg.orientation, vp.occupancy & vg.occupancy
        ),
        "points": strand_point_metrics(pred, gt, thresholds, spacing=spacing),
        "grid": {
            "resolution": resolution,
            "voxel_mm": float(grid.voxel_size[0] * 1000.0),
            "lo_m": list(grid.lo),
        },
        "n_strands": {"pred": pred.n_strands, "gt": gt.n_strands},
    }
