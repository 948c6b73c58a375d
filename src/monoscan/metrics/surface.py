"""Distances between point sets and surfaces: nearest vertex, point-to-surface, Chamfer, F-score.

Units are whatever the inputs use (H3DS: mm; bodies: convert to cm before or after).

:func:`point_to_surface` finds the closest point on the triangles around the nearest vertices
(KD-tree), vectorised; with
``exact=True`` every answer is certified against a lower bound, falling back to trimesh's exact
R-tree search for the points the bound cannot settle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from monoscan.metrics.nn import PointTree

__all__ = [
    "SurfaceDistances",
    "chamfer",
    "closest_points_on_triangles",
    "fscore",
    "nearest_vertex_distances",
    "normal_consistency",
    "point_to_surface",
    "sample_surface",
]


def _points(x: np.ndarray | trimesh.Trimesh, name: str) -> np.ndarray:
    arr = np.asarray(x.vertices if isinstance(x, trimesh.Trimesh) else x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{name} must be an (N, 3) array, got shape {arr.shape}")
    if len(arr) == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    return arr


def nearest_vertex_distances(
    source: np.ndarray, target: np.ndarray | PointTree, *, workers: int = -1
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each source point to the nearest target point (and its index).

    This is the H3DS "chamfer" (vertex to vertex, no surface sampling).

    Parameters
    ----------
    source : (N, 3) array_like
    target : (M, 3) array_like or PointTree built on it
    workers : int
        Query threads (-1: all cores); results do not depend on it.

    Returns
    -------
    distances : (N,) float64
    indices : (N,) int64 into ``target``
    """
    source = _points(source, "source")
    tree = target if isinstance(target, PointTree) else PointTree(_points(target, "target"))
    d, ix = tree.query(source, k=1, workers=workers)
    return d, ix


def closest_points_on_triangles(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Closest point of triangle ``i`` to point ``i``, vectorised (Ericson, RTCD 5.1.5).

    Parameters
    ----------
    points : (N, 3) array
    triangles : (N, 3, 3) array of corner coordinates

    Returns
    -------
    (N, 3) array of closest points.
    """
    p = np.asarray(points, dtype=np.float64)
    a, b, c = (np.asarray(triangles, dtype=np.float64)[:, i] for i in range(3))
    ab, ac, ap = b - a, c - a, p - a
    d1 = np.einsum("ij,ij->i", ab, ap)
    d2 = np.einsum("ij,ij->i", ac, ap)
    bp = p - b
    d3 = np.einsum("ij,ij->i", ab, bp)
    d4 = np.einsum("ij,ij->i", ac, bp)
    cp = p - c
    d5 = np.einsum("ij,ij->i", ab, cp)
    d6 = np.einsum("ij,ij->i", ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va + vb + vc
        v = np.where(denom != 0, vb / denom, 0.0)
        w = np.where(denom != 0, vc / denom, 0.0)
        result = a + ab * v[:, None] + ac * w[:, None]  # inside the face
        # Edge BC
        t_bc = np.clip((d4 - d3) / ((d4 - d3) + (d5 - d6)), 0, 1)
        on_bc = (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0)
        result = np.where(on_bc[:, None], b + (c - b) * t_bc[:, None], result)
        # Edge AC
        t_ac = np.clip(d2 / (d2 - d6), 0, 1)
        on_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
        result = np.where(on_ac[:, None], a + ac * t_ac[:, None], result)
        # Edge AB
        t_ab = np.clip(d1 / (d1 - d3), 0, 1)
        on_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
        result = np.where(on_ab[:, None], a + ab * t_ab[:, None], result)
    # Vertex regions last: they take precedence.
    result = np.where(((d6 >= 0) & (d5 <= d6))[:, None], c, result)
    result = np.where(((d3 >= 0) & (d4 <= d3))[:, None], b, result)
    result = np.where(((d1 <= 0) & (d2 <= 0))[:, None], a, result)
    # Degenerate triangles (zero area) that fell through: use the nearest corner.
    bad = ~np.isfinite(result).all(axis=1)
    if bad.any():
        corners = np.stack([a[bad], b[bad], c[bad]], axis=1)
        k = np.argmin(((corners - p[bad, None]) ** 2).sum(-1), axis=1)
        result[bad] = corners[np.arange(len(k)), k]
    return result


@dataclass(frozen=True)
class SurfaceDistances:
    """Result of :func:`point_to_surface`.

    Attributes
    ----------
    distances : (N,) float64
        Euclidean distance to the closest point of the surface.
    closest : (N, 3) float64
        That closest point.
    triangle : (N,) int64
        Index of the face it lies on.
    """

    distances: np.ndarray
    closest: np.ndarray
    triangle: np.ndarray


def point_to_surface(
    points: np.ndarray,
    mesh: trimesh.Trimesh,
    *,
    exact: bool = False,
    k: int = 2,
    workers: int = -1,
) -> SurfaceDistances:
    """Distance from each point to the closest point on the triangles of ``mesh``.

    Parameters
    ----------
    points : (N, 3) array_like
        Query points (same units as the mesh).
    mesh : trimesh.Trimesh
        Target surface with at least one face.
    exact : bool
        False (default, fast): the closest point over the triangles around the ``k`` nearest
        vertices. This is the true closest point unless the mesh has long, thin triangles near
        the query (the result is then an upper bound, never below the truth); tests check it
        against trimesh's exact search. True: every answer is certified (triangle-centroid
        neighbours widened until a lower bound proves it, then trimesh's exact R-tree search
        for the rest); several times slower far from the surface.
    k : int
        Nearest vertices whose triangles are candidates (fast mode); centroid neighbours in the
        first pass (exact mode).

    Returns
    -------
    SurfaceDistances
    """
    points = _points(points, "points")
    if len(mesh.faces) == 0:
        raise ValueError("point_to_surface needs a mesh with faces")
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    tris = verts[faces]
    if not exact:
        return _p2s_fast(points, verts, faces, tris, k=k, workers=workers)
    d, c, t = _p2s(points, tris, np.arange(len(tris)), k=max(k, 16), workers=workers, depth=0)
    return SurfaceDistances(d, c, t)


def _nearest_k(points: np.ndarray, data: np.ndarray, k: int, workers: int):
    """k nearest neighbours of ``points`` among ``data`` (exact)."""
    return PointTree(data, leafsize=32).query(points, k=k, workers=workers)


def _p2s_fast(points, verts, faces, tris, *, k, workers) -> SurfaceDistances:
    # Candidates: the triangles around the ``k`` nearest (referenced) vertices.
    used = np.unique(faces)
    kk = min(k, len(used))
    _d, vix = _nearest_k(points, verts[used], kk, workers)
    vix = used[np.asarray(vix).reshape(len(points), kk)]
    order = np.argsort(faces.ravel(), kind="stable")
    sorted_v = faces.ravel()[order]
    rings = []
    for col in range(kk):
        start = np.searchsorted(sorted_v, vix[:, col], side="left")
        stop = np.searchsorted(sorted_v, vix[:, col], side="right")
        valence = stop - start
        width = int(valence.max())
        cols = np.arange(width)
        mask = cols[None, :] < valence[:, None]
        ring = order[np.where(mask, start[:, None] + cols[None, :], start[:, None])] // 3
        rings.append(ring)
    cand_ix = np.concatenate(rings, axis=1)
    m = cand_ix.shape[1]
    first = _first_occurrences(cand_ix)
    best_d = np.empty(len(points))
    best_p = np.empty((len(points), 3))
    best_t = np.empty(len(points), dtype=np.int64)
    chunk = max(1, 2_000_000 // m)
    for s in range(0, len(points), chunk):
        q = points[s : s + chunk]
        ix = cand_ix[s : s + chunk]
        # Each distinct (point, triangle) pair once: rings are padded to the widest one and
        # neighbouring rings share triangles, so a third or more of the pairs are repeats.
        keep = first[s : s + chunk].ravel()
        row = np.repeat(np.arange(len(q)), m)[keep]
        cand = np.zeros((len(q) * m, 3))
        cand[keep] = closest_points_on_triangles(q[row], tris[ix.ravel()[keep]])
        dd = np.full(len(q) * m, np.inf)
        dd[keep] = np.sqrt(((cand[keep] - q[row]) ** 2).sum(-1))
        cand = cand.reshape(len(q), m, 3)
        dd = dd.reshape(len(q), m)
        j = np.argmin(dd, axis=1)  # a repeat never beats its first occurrence: same ties
        rows = np.arange(len(q))
        best_d[s : s + chunk] = dd[rows, j]
        best_p[s : s + chunk] = cand[rows, j]
        best_t[s : s + chunk] = ix[rows, j]
    return SurfaceDistances(best_d, best_p, best_t)


def _first_occurrences(ix: np.ndarray) -> np.ndarray:
    """(N, m) bool: True where ``ix[i, j]`` does not appear earlier in row ``i``."""
    order = np.argsort(ix, axis=1, kind="stable")  # equal values keep their column order
    srt = np.take_along_axis(ix, order, axis=1)
    first_sorted = np.ones(ix.shape, dtype=bool)
    first_sorted[:, 1:] = srt[:, 1:] != srt[:, :-1]
    first = np.empty(ix.shape, dtype=bool)
    np.put_along_axis(first, order, first_sorted, axis=1)
    return first


def _p2s(points, tris, ids, *, k, workers, depth):
    centroids = tris.mean(axis=1)
    radii = np.sqrt(((tris - centroids[:, None]) ** 2).sum(-1)).max(axis=1)
    # A few huge triangles would make the certification bound useless for everyone: search
    # them separately (recursively) and keep the nearer answer.
    limit = 2.0 * float(np.percentile(radii, 99))
    large = radii > limit
    if large.any() and depth < 8:
        small = ~large
        d1, c1, t1 = _p2s(points, tris[small], ids[small], k=k, workers=workers, depth=depth + 1)
        d2, c2, t2 = _p2s(points, tris[large], ids[large], k=k, workers=workers, depth=depth + 1)
        take = d2 < d1
        return (np.where(take, d2, d1), np.where(take[:, None], c2, c1), np.where(take, t2, t1))
    radius = float(radii.max())
    tree = PointTree(centroids)
    n = len(points)
    best_d = np.full(n, np.inf)
    best_p = np.zeros((n, 3))
    best_t = np.zeros(n, dtype=np.int64)
    todo = np.arange(n)
    nf = len(centroids)
    kk = min(k, nf)
    while len(todo):
        q = points[todo]
        dist_c, ix = tree.query(q, k=kk, workers=workers)
        dist_c = dist_c.reshape(len(q), kk)
        ix = ix.reshape(len(q), kk)
        cand = closest_points_on_triangles(np.repeat(q, kk, axis=0), tris[ix.ravel()])
        cand = cand.reshape(len(q), kk, 3)
        dd = np.sqrt(((cand - q[:, None]) ** 2).sum(-1))
        j = np.argmin(dd, axis=1)
        rows = np.arange(len(q))
        best_d[todo] = dd[rows, j]
        best_p[todo] = cand[rows, j]
        best_t[todo] = ids[ix[rows, j]]
        if kk == nf:
            break
        # Any triangle outside the kk nearest centroids is at least dist_c[:, -1] - radius away.
        certified = best_d[todo] <= dist_c[:, -1] - radius
        todo = todo[~certified]
        if len(todo) and kk >= 256:
            # Far from the surface many triangles are nearly equidistant and the bound above
            # certifies slowly; trimesh's exact R-tree search settles these points.
            sub = trimesh.Trimesh(
                tris.reshape(-1, 3), np.arange(3 * nf).reshape(-1, 3), process=False
            )
            c, dd, tri = trimesh.proximity.closest_point(sub, points[todo])
            better = dd < best_d[todo]
            sel = todo[better]
            best_d[sel] = dd[better]
            best_p[sel] = c[better]
            best_t[sel] = ids[tri[better]]
            break
        kk = min(kk * 4, nf)
    return best_d, best_p, best_t


def chamfer(d_ab: np.ndarray, d_ba: np.ndarray) -> float:
    """Symmetric Chamfer distance: the mean of the two directed mean distances."""
    return 0.5 * (float(np.mean(d_ab)) + float(np.mean(d_ba)))


def fscore(d_pred_to_gt: np.ndarray, d_gt_to_pred: np.ndarray, threshold: float) -> dict:
    """F-score at ``threshold`` (Tanks and Temples / Knapitsch et al. 2017 convention).

    precision = fraction of predicted points within ``threshold`` of the ground truth,
    recall = fraction of ground-truth points within ``threshold`` of the prediction,
    F = 2PR / (P + R) (0 when both are 0). Distances ``<= threshold`` count as matched.

    Returns
    -------
    dict with ``precision``, ``recall``, ``fscore`` in [0, 1].
    """
    p = float(np.mean(np.asarray(d_pred_to_gt) <= threshold))
    r = float(np.mean(np.asarray(d_gt_to_pred) <= threshold))
    f = 0.0 if p + r == 0 else 2 * p * r / (p + r)
    return {"precision": p, "recall": r, "fscore": f}


def normal_consistency(normals_a: np.ndarray, normals_b_matched: np.ndarray) -> float:
    """Mean absolute cosine between unit normals paired row by row (1 = perfectly consistent)."""
    a = np.asarray(normals_a, dtype=np.float64)
    b = np.asarray(normals_b_matched, dtype=np.float64)
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    ok = (na > 0) & (nb > 0)
    cos = np.abs((a[ok] * b[ok]).sum(1)) / (na[ok] * nb[ok])
    return float(np.mean(cos)) if len(cos) else float("nan")


def sample_surface(
    mesh: trimesh.Trimesh, count: int, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Area-uniform random points on ``mesh`` with the normal of the face each lies on.

    Returns
    -------
    points : (count, 3)
    normals : (count, 3) unit face normals
    """
    if len(mesh.faces) == 0:
        raise ValueError("cannot sample a surface with no faces")
    rng = np.random.default_rng(seed)
    tris = np.asarray(mesh.vertices, dtype=np.float64)[np.asarray(mesh.faces)]
    cross = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    area = np.linalg.norm(cross, axis=1)
    if area.sum() <= 0:
        raise ValueError("cannot sample a surface of zero area")
    face = rng.choice(len(tris), size=count, p=area / area.sum())
    u, v = rng.random(count), rng.random(count)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tris[face]
    pts = t[:, 0] + (t[:, 1] - t[:, 0]) * u[:, None] + (t[:, 2] - t[:, 0]) * v[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        normals = cross[face] / area[face, None]
    return pts, np.nan_to_num(normals)
