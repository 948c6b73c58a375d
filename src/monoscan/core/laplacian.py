"""Sparse 4-neighbour Laplacians on pixel grids, for harmonic fills and inflations.

Several stages solve a Poisson-type equation on a subset of an image's pixels (hair depth
inflation and correction, the relief's depth fill). They differ only in the edge weights and in
what lies beyond the solved pixels; :func:`grid_laplacian` builds the shared part: the
weighted graph Laplacian of the solved pixels and the list of edges that leave them, whose
known values the caller moves to the right-hand side.

Pixels are ``(row, column)`` = ``(y, x)`` of a row-major ``(H, W)`` grid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

__all__ = ["GridLaplacian", "grid_laplacian"]

#: The four neighbour offsets (dy, dx), in the order edges are built.
NEIGHBOURS = ((0, 1), (0, -1), (1, 0), (-1, 0))


class GridLaplacian(NamedTuple):
    """The system of :func:`grid_laplacian`.

    Attributes
    ----------
    matrix : (n, n) scipy.sparse.csr_matrix
        Sum of a pixel's edge weights on the diagonal, minus the weight towards each solved
        neighbour off it. Edges to unsolved pixels count on the diagonal only.
    ys, xs : (n,) int arrays
        The solved pixels, in unknown order (row-major).
    border : tuple of (k, ny, nx, w) arrays
        Every edge from a solved pixel (unknown ``k``) to an unsolved pixel ``(ny, nx)``, with
        its weight ``w``. A Dirichlet value ``g`` there adds ``w * g`` to row ``k`` of the
        right-hand side (``np.bincount(k, w * g, n)``).
    """

    matrix: sp.csr_matrix
    ys: np.ndarray
    xs: np.ndarray
    border: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

    @property
    def n(self) -> int:
        return len(self.ys)

    def border_rhs(self, values: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        """Right-hand side ``(n,)`` of Dirichlet ``values`` (H, W) on the border pixels
        (only those where ``where`` (H, W) is True, if given)."""
        k, ny, nx, w = self.border
        contrib = w * values[ny, nx]
        if where is not None:
            contrib = np.where(where[ny, nx], contrib, 0.0)
        return np.bincount(k, contrib, minlength=self.n).astype(np.float64)  # int64 if empty


def grid_laplacian(
    solve: np.ndarray,
    *,
    reach: np.ndarray | None = None,
    weight: Callable[[int, int, np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> GridLaplacian:
    """Weighted 4-neighbour graph Laplacian of the ``solve`` pixels of a grid.

    Parameters
    ----------
    solve : (H, W) bool
        The unknown pixels.
    reach : (H, W) bool, optional
        Pixels an edge may lead to (default: every pixel of the grid). Neighbours outside the
        grid or outside ``reach`` have no edge (a free, Neumann border); unsolved neighbours
        inside it are a Dirichlet border (see :attr:`GridLaplacian.border`).
    weight : callable, optional
        ``weight(dy, dx, ys, xs) -> (n,)`` edge weights from the solved pixels ``(ys, xs)``
        towards their ``(dy, dx)`` neighbours (default 1).

    Returns
    -------
    GridLaplacian

    Examples
    --------
    >>> lap = grid_laplacian(np.array([[False, True, True, False]]))
    >>> lap.matrix.toarray()
    array([[ 2., -1.],
           [-1.,  2.]])
    >>> lap.border_rhs(np.array([[3.0, 0.0, 0.0, 5.0]]))
    array([3., 5.])
    """
    solve = np.asarray(solve, bool)
    h, w = solve.shape
    idx = np.full(solve.shape, -1, np.int64)
    ys, xs = np.nonzero(solve)
    n = len(ys)
    idx[ys, xs] = np.arange(n)
    diag = np.zeros(n)
    rows, cols, vals = [np.arange(n)], [np.arange(n)], []
    bk, by, bx, bw = [], [], [], []
    for dy, dx in NEIGHBOURS:
        yn, xn = ys + dy, xs + dx
        ok = (yn >= 0) & (yn < h) & (xn >= 0) & (xn < w)
        yn, xn = np.clip(yn, 0, h - 1), np.clip(xn, 0, w - 1)
        if reach is not None:
            ok &= reach[yn, xn]
        wgt = np.ones(n) if weight is None else np.asarray(weight(dy, dx, ys, xs), np.float64)
        wgt = np.where(ok, wgt, 0.0)
        diag += wgt
        nb = idx[yn, xn]
        inner = ok & (nb >= 0)
        rows.append(np.nonzero(inner)[0])
        cols.append(nb[inner])
        vals.append(-wgt[inner])
        outer = np.nonzero(ok & (nb < 0))[0]
        bk.append(outer)
        by.append(yn[outer])
        bx.append(xn[outer])
        bw.append(wgt[outer])
    matrix = sp.csr_matrix(
        (np.concatenate([diag] + vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, n),
    )
    border = tuple(np.concatenate(a) for a in (bk, by, bx, bw))
    return GridLaplacian(matrix, ys, xs, border)
