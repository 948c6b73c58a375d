"""Exact nearest-neighbour search in 3D: the one KD-tree type the metrics share.

:class:`PointTree` answers with pykdtree (an OpenMP KD-tree, exact in float64): on the H3DS
evaluation's queries it is 2-4x faster than scipy's ``cKDTree`` with both cores, with the same
distances to the last bit (``benchmarks/bench_eval.py``). Where pykdtree is not installed it
falls back to ``cKDTree``; the answers are the same up to exact distance ties.
"""

from __future__ import annotations

import numpy as np

try:  # pragma: no branch - which one is installed decides
    from pykdtree.kdtree import KDTree as _PyKDTree
except ImportError:  # pragma: no cover
    _PyKDTree = None

__all__ = ["PointTree"]


class PointTree:
    """A KD-tree on ``points`` for exact k-nearest queries.

    Parameters
    ----------
    points : (M, 3) array_like
        Any unit; a private float64 copy is kept, so later edits of the caller's array do not
        reach the tree.
    leafsize : int
        Points per leaf.

    Attributes
    ----------
    data : (M, 3) float64
        The points (read-only).
    """

    def __init__(self, points: np.ndarray, leafsize: int = 16) -> None:
        self.data = np.array(points, dtype=np.float64, order="C", copy=True)
        if self.data.ndim != 2 or self.data.shape[1] != 3 or len(self.data) == 0:
            raise ValueError(f"a point tree needs (M, 3) points, got shape {self.data.shape}")
        self.data.setflags(write=False)
        if _PyKDTree is not None:
            self._tree = _PyKDTree(self.data, leafsize=leafsize)
        else:  # pragma: no cover
            from scipy.spatial import cKDTree

            # Unbalanced (sliding-midpoint) trees answer queries far from a curved surface
            # (the back of a head against 'face_sphere') 3-4x faster than balanced ones.
            self._tree = cKDTree(
                self.data, leafsize=leafsize, balanced_tree=False, compact_nodes=False
            )

    def __len__(self) -> int:
        return len(self.data)

    def query(
        self, points: np.ndarray, k: int = 1, *, workers: int = -1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distances to and indices of the ``k`` nearest tree points of each point.

        Parameters
        ----------
        points : (N, 3) array_like
            Same unit and frame as the tree's points.
        k : int
        workers : int
            Threads of the scipy fallback (-1: all cores); pykdtree uses OpenMP's
            ``OMP_NUM_THREADS``. Results do not depend on it.

        Returns
        -------
        distances : (N,) or (N, k) float64
            Euclidean; ``inf`` where the tree holds fewer than ``k`` points.
        indices : (N,) or (N, k) int64
            Rows of :attr:`data`; ``len(self)`` where there is no neighbour.
        """
        q = np.ascontiguousarray(points, dtype=np.float64)
        if q.ndim != 2 or q.shape[1] != 3:
            raise ValueError(f"queries must be (N, 3) points, got shape {q.shape}")
        if len(q) == 0:
            shape = (0,) if k == 1 else (0, k)
            return np.zeros(shape), np.zeros(shape, dtype=np.int64)
        if _PyKDTree is None:  # pragma: no cover
            d, i = self._tree.query(q, k=k, workers=workers)
            return d, np.asarray(i, dtype=np.int64)
        d, i = self._tree.query(q, k=k)
        i = i.astype(np.int64)
        missing = i >= len(self.data)  # pykdtree marks them with the largest index
        if missing.any():
            i[missing] = len(self.data)
            d[missing] = np.inf
        return d, i
