"""Topology of MediaPipe's 468-point face mesh: its 852 triangles and named vertex groups.

MediaPipe does not ship the triangle list as such, but the literal of
``face_mesh_connections.FACEMESH_TESSELATION`` in its source lists the edges in triangle order
``(a, b), (b, c), (c, a)``. Python turns that literal into a frozenset, which loses the order,
so we read the source text of ``mediapipe/python/solutions/face_mesh_connections.py``
instead.
"""

from __future__ import annotations

import ast
import functools
import inspect

import numpy as np

__all__ = ["FACE_OVAL", "N_MESH_VERTICES", "mesh_triangles"]

N_MESH_VERTICES = 468

#: The closed outline of the face mesh, from the forehead centre clockwise in the image
#: (towards the subject's left first).
FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)


@functools.cache
def mesh_triangles() -> np.ndarray:
    """(852, 3) int32 triangles of the 468-vertex face mesh, wound consistently.

    Winding is counter-clockwise seen from the front of the face in a y-up frame (so face
    normals point out of the face, toward the camera for a frontal face).
    """
    from mediapipe.python.solutions import face_mesh_connections

    tree = ast.parse(inspect.getsource(face_mesh_connections))
    edges = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "FACEMESH_TESSELATION" for t in node.targets
        ):
            edges = ast.literal_eval(node.value.args[0])
            break
    if edges is None or len(edges) % 3:
        raise RuntimeError("cannot read FACEMESH_TESSELATION from mediapipe's source")
    edges = np.asarray(edges, dtype=np.int32).reshape(-1, 3, 2)
    # Each triple of edges is (a, b), (b, c), (c, a): the triangle is the edges' first ends.
    tris = edges[:, :, 0]
    if not np.array_equal(edges[:, :, 1], np.roll(tris, -1, axis=1)):
        raise RuntimeError("FACEMESH_TESSELATION is not in triangle order")
    return np.ascontiguousarray(tris)
