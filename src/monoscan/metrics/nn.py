"""Exact nearest-neighbour search in 3D: the one KD-tree type the metrics share.

:class:`PointTree` answers with pykdtree (a KD-tree in C, exact in float64): on the H3DS
evaluation's queries it is 2-4x faster than scipy's ``cKDTree``, with the same distances to the
last bit (``benchmarks/bench_eval.py``). Where pykdtree is not installed it falls back to
``cKDTree``; the answers are the same up to exact distance ties.

Threads: pykdtree splits each query over an OpenMP team, whose threads spin at the barrier; on
a 2-core machine shared with other work, a team whose second thread is descheduled takes twice
as long as one thread (an 80,000-vertex H3DS evaluation: 0.58 s against 0.29 s). So pykdtree's
own OpenMP runtime (its wheel carries one) is pinned to one thread when this module imports it,
and a large query is split over ``workers`` Python threads instead (pykdtree releases the GIL):
the same speed on an idle machine, no spinning on a busy one. Results do not depend on it.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def _import_pykdtree():
    """pykdtree's KDTree (None if missing) and whether its OpenMP was pinned to one thread."""
    if "pykdtree.kdtree" in sys.modules:  # imported before us: its threads are as they are
        return sys.modules["pykdtree.kdtree"].KDTree, False
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"  # read once, when its OpenMP library loads
    try:
        from pykdtree.kdtree import KDTree
    except ImportError:  # pragma: no cover
        return None, False
    finally:
        if saved is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = saved
    return KDTree, True


_PyKDTree, _PINNED = _import_pykdtree()
#: Queries of at least this many points are split over ``workers`` threads.
_THREADED_MIN = 8192


def usable_cores() -> int:
    """CPUs this process may run on (at most 64)."""
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 64))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, min(os.cpu_count() or 1, 64))


__all__ = ["PointTree", "usable_cores"]


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
            Threads (-1: all cores) for a query of 8192 points or more (module docstring).
            Results do not depend on it.

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
        threads = usable_cores() if workers < 0 else max(workers, 1)
        if _PINNED and threads > 1 and len(q) >= _THREADED_MIN:
            bounds = np.linspace(0, len(q), threads + 1).astype(int)
            with ThreadPoolExecutor(threads) as pool:
                parts = list(
                    pool.map(
                        lambda ab: self._tree.query(q[ab[0] : ab[1]], k=k),
                        zip(bounds[:-1], bounds[1:], strict=True),
                    )
                )
            d = np.concatenate([p[0] for p in parts])
            i = np.concatenate([p[1] for p in parts])
        else:
            d, i = self._tree.query(q, k=k)
        i = i.astype(np.int64)
        missing = i >= len(self.data)  # pykdtree marks them with the largest index
        if missing.any():
            i[missing] = len(self.data)
            d[missing] = np.inf
        return d, i
