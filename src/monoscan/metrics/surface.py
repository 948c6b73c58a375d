"""Distances between point sets and surfaces: nearest vertex, point-to-surface, Chamfer, F-score.

Units are whatever the inputs use (H3DS: mm; bodies: convert to cm before or after).

:class:`SurfaceTree` answers exact closest-point queries on a triangle mesh with libigl's AABB
tree (a bounding-volume hierarchy in C++, float64, queries on all cores): about a microsecond
of CPU a query and a microsecond a triangle to build. 80,000 points near an 80,000-vertex mesh
take 0.23 s, build included, against 1.2 s for this module's former vectorised search over the
triangles around the nearest vertices (an upper bound, up to 1 mm off on a noisy surface) and
4.3 s for its former certified one. :func:`point_to_surface` uses it with ``exact=True``; its
fast mode (the default, kept for the body and face metrics) is that upper bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from monoscan.metrics.nn import PointTree

__all__ = [
    "SurfaceDistances",
    "SurfaceTree",
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


class SurfaceTree:
    """Exact closest points on a triangle mesh: libigl's AABB tree, built once, queried often.

    Parameters
    ----------
    vertices : (V, 3) array_like
        Any unit; a private float64 copy is kept.
    faces : (F, 3) array_like of int
        Triangles, at least one. Degenerate ones count as the segment or point they are;
        unreferenced vertices are not part of the surface.

    Examples
    --------
    >>> square = SurfaceTree([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], [[0, 1, 2], [0, 2, 3]])
    >>> square.query([[0.25, 0.5, 2.0], [2.0, 0.5, 0.0]]).distances.tolist()
    [2.0, 1.0]
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        import igl

        self.vertices = np.array(vertices, dtype=np.float64, order="C", copy=True)
        self.faces = np.array(faces, dtype=np.int64, order="C", copy=True)
        if self.vertices.ndim != 2 or self.vertices.shape[1] != 3:
            raise ValueError(f"vertices must be (V, 3), got shape {self.vertices.shape}")
        if self.faces.ndim != 2 or self.faces.shape[1] != 3 or len(self.faces) == 0:
            raise ValueError(f"a surface tree needs (F, 3) faces, got shape {self.faces.shape}")
        if self.faces.min() < 0 or self.faces.max() >= len(self.vertices):
            raise ValueError("face indices out of range")
        if not np.isfinite(self.vertices).all() and not (
            np.isfinite(self.vertices[np.unique(self.faces)]).all()
        ):
            raise ValueError("the surface has NaN or infinite vertices")
        self.vertices.setflags(write=False)
        self.faces.setflags(write=False)
        self._tree = igl.AABB()
        self._tree.init(self.vertices, self.faces)

    def __len__(self) -> int:
        return len(self.faces)

    def query(self, points: np.ndarray) -> SurfaceDistances:
        """Closest point of the surface to each point (same unit and frame as the vertices).

        Returns
        -------
        SurfaceDistances
            Euclidean distances, closest points and the triangle each lies on; exact (the
            distance to every triangle is computed in float64 wherever the tree cannot rule
            the triangle out).
        """
        q = _points(points, "points")
        order = _spatial_order(q) if len(q) >= _SORT_QUERIES_MIN else None
        if order is not None:
            q = q[order]  # neighbours in space query one after the other: the tree stays cached
        sq, tri, closest = self._tree.squared_distance(self.vertices, self.faces, q)
        out = SurfaceDistances(np.sqrt(sq), np.asarray(closest), np.asarray(tri, np.int64))
        if order is None:
            return out
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return SurfaceDistances(out.distances[back], out.closest[back], out.triangle[back])


#: Queries sorted along a space-filling curve first from this many points on (20-25 % faster
#: in file order, 3x on a shuffled vertex order).
_SORT_QUERIES_MIN = 2048


def _spatial_order(points: np.ndarray) -> np.ndarray:
    """Permutation putting points in Morton (Z-curve) order, 10 bits per axis."""
    lo = points.min(axis=0)
    extent = float((points.max(axis=0) - lo).max()) or 1.0
    cell = np.minimum((points - lo) * (1023.0 / extent), 1023.0).astype(np.uint32)
    code = np.zeros(len(points), dtype=np.uint32)
    for axis in range(3):
        x = cell[:, axis]
        x = (x | (x << 16)) & 0x030000FF
        x = (x | (x << 8)) & 0x0300F00F
        x = (x | (x << 4)) & 0x030C30C3
        x = (x | (x << 2)) & 0x09249249
        code |= x << axis
    return np.argsort(code, kind="stable")


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
        False (default): the closest point over the triangles around the ``k`` nearest
        vertices, an upper bound (never below the truth) that misses the true closest point
        where the nearest vertices' triangles do not hold it (thin triangles, noisy surfaces).
        True: exact, with a :class:`SurfaceTree` (faster too, unless the mesh is much larger
        than the query; build the tree once to query a mesh several times).
    k : int
        Nearest vertices whose triangles are candidates (fast mode).

    Returns
    -------
    SurfaceDistances
    """
    points = _points(points, "points")
    if len(mesh.faces) == 0:
        raise ValueError("point_to_surface needs a mesh with faces")
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    if exact:
        return SurfaceTree(verts, faces).query(points)
    return _p2s_fast(points, verts, faces, verts[faces], k=k, workers=workers)


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
