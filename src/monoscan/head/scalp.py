"""Hair roots on the scalp of an assembled head.

The scalp is the set of :class:`~monoscan.head.assemble.HeadMesh` vertices flagged in
``HeadMesh.scalp``: above the forehead hairline and the ears and down the back of the head to
the nape hairline, in the fitted head's frame (see :func:`monoscan.head.model.scalp_mask`), and
never within 1 cm of the photographed face. Roots are drawn on the triangles whose three
vertices are all scalp, uniformly by area.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from monoscan.core.errors import InputError

if TYPE_CHECKING:  # annotations only: no import cost, no import cycle
    from monoscan.head.assemble import HeadMesh

__all__ = ["sample_scalp_roots", "scalp_triangles"]


def scalp_triangles(head: HeadMesh) -> np.ndarray:
    """Indices of the head's triangles that lie entirely on the scalp."""
    return np.flatnonzero(head.scalp[head.faces].all(axis=1))


def sample_scalp_roots(head: HeadMesh, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample hair-root positions uniformly by area on the scalp.

    Parameters
    ----------
    head : HeadMesh
        An assembled head (:func:`monoscan.head.assemble.assemble_head`).
    n : int
        Number of roots (>= 0).
    seed : int
        Seed of the random generator; the same seed gives the same roots.

    Returns
    -------
    points : (n, 3) float64
        Root positions on the head surface, world frame, metres.
    normals : (n, 3) float64
        Unit outward surface normals there (vertex normals interpolated barycentrically).

    Raises
    ------
    InputError
        ``n < 0`` or a head without scalp triangles.
    """
    if int(n) != n or n < 0:
        raise InputError(f"number of roots must be a whole number >= 0, got {n}")
    n = int(n)
    tris = scalp_triangles(head)
    if len(tris) == 0:
        raise InputError("the head has no scalp triangles to grow hair from")
    v = head.vertices.astype(np.float64)
    f = head.faces[tris]
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(tris), size=n, p=area / area.sum())
    r1, r2 = rng.random(n), rng.random(n)
    s = np.sqrt(r1)
    w = np.stack([1.0 - s, s * (1.0 - r2), s * r2], axis=1)
    corners = v[f[pick]]
    points = np.einsum("nk,nkj->nj", w, corners)
    vn = head.vertex_normals()[f[pick]]
    normals = np.einsum("nk,nkj->nj", w, vn)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return points, normals
