"""Small geometry helpers shared by the mesh-building stages."""

from __future__ import annotations

import numpy as np

__all__ = ["apply_transform", "rotation_y", "similarity_transform", "vertex_normals"]


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals; counter-clockwise faces give outward normals.

    A vertex no face uses gets a zero normal. Area weighting (the plain sum of face cross
    products) keeps slivers from marching-cubes surfaces from tilting their neighbours.
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, f[:, k], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-30)


def rotation_y(deg: float) -> np.ndarray:
    """(3, 3) rotation by ``deg`` degrees about +y (right-handed: +z turns toward +x)."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def similarity_transform(
    src: np.ndarray,
    dst: np.ndarray,
    weights: np.ndarray | None = None,
    rotation: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale ``s``, rotation ``R`` and translation ``t`` minimising
    ``sum_i w_i |s R src_i + t - dst_i|^2`` (Umeyama; no reflection).

    Parameters
    ----------
    src, dst : (N, 3) arrays
        Corresponding points, same unit.
    weights : (N,) array, optional
        Non-negative, not all zero; default all equal.
    rotation : (3, 3) array, optional
        A known rotation: only scale and translation are solved.

    Returns
    -------
    scale : float
    rotation : (3, 3) float64
    translation : (3,) float64
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    w = np.full(len(src), 1.0 / len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    a, b = src - mu_s, dst - mu_d
    if rotation is None:
        u, _sig, vt = np.linalg.svd((b * w[:, None]).T @ a)
        d = np.ones(3)
        if np.linalg.det(u) * np.linalg.det(vt) < 0:
            d[2] = -1.0
        rot = u @ np.diag(d) @ vt
    else:
        rot = np.asarray(rotation, np.float64)
    s = float((w * ((a @ rot.T) * b).sum(1)).sum() / (w * (a * a).sum(1)).sum())
    return s, rot, mu_d - s * rot @ mu_s


def apply_transform(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 4x4 homogeneous transform to ``(N, 3)`` points; returns a new float64 array.

    ``matrix @ [p, 1]`` per row, written out per coordinate: trimesh's ``transform_points``
    numbers to rounding, with no temporary (4, N) copy and no BLAS threads spinning against
    the KD-tree query threads of the evaluation.
    """
    points = np.asarray(points, dtype=np.float64)
    matrix = np.asarray(matrix, dtype=np.float64)
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    out = np.empty((len(points), 3))
    for i in range(3):
        out[:, i] = matrix[i, 0] * x + matrix[i, 1] * y + matrix[i, 2] * z + matrix[i, 3]
    return out
