"""Small geometry helpers shared by the mesh-building stages."""

from __future__ import annotations

import numpy as np

__all__ = ["vertex_normals"]


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
