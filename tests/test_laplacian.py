"""Tests for monoscan.core.laplacian.grid_laplacian."""

import numpy as np
import pytest
from scipy.sparse.linalg import spsolve

from monoscan.core.laplacian import grid_laplacian


def test_hand_built_matrix_and_border():
    solve = np.zeros((3, 3), bool)
    solve[1, 1] = solve[1, 2] = True  # centre and its right neighbour (on the grid edge)
    lap = grid_laplacian(solve)
    # Centre: 4 edges, one to the other unknown; right pixel: 3 edges (grid edge on the right).
    assert lap.matrix.toarray().tolist() == [[4, -1], [-1, 3]]
    k, ny, nx, w = lap.border
    assert sorted(zip(k.tolist(), ny.tolist(), nx.tolist(), strict=True)) == [
        (0, 0, 1),
        (0, 1, 0),
        (0, 2, 1),
        (1, 0, 2),
        (1, 2, 2),
    ]
    assert np.all(w == 1)


def test_reach_cuts_edges_and_weights_apply():
    solve = np.array([[False, True, False]])
    reach = np.array([[True, True, False]])
    lap = grid_laplacian(solve, reach=reach, weight=lambda dy, dx, ys, xs: np.full(len(ys), 2.5))
    assert lap.matrix.toarray().tolist() == [[2.5]]  # only the edge to the left remains
    assert lap.border_rhs(np.array([[4.0, 0.0, 100.0]])).tolist() == [10.0]


def test_harmonic_fill_of_a_linear_ramp_is_exact():
    # A linear function is harmonic: solving with its values on the border gives it back.
    y, x = np.mgrid[0:12, 0:15]
    ramp = 0.3 * x - 0.7 * y + 2.0
    solve = np.zeros(ramp.shape, bool)
    solve[1:-1, 1:-1] = True
    lap = grid_laplacian(solve)
    got = spsolve(lap.matrix.tocsc(), lap.border_rhs(ramp))
    assert got == pytest.approx(ramp[lap.ys, lap.xs], abs=1e-10)
    # Only the pixels touching the frame are border edges' sources.
    assert len(lap.border[0]) == 2 * (10 + 13)


def test_no_border_gives_a_float_rhs():
    lap = grid_laplacian(np.ones((3, 4), bool))  # the whole grid: no edge leaves it
    rhs = lap.border_rhs(np.zeros((3, 4)))
    assert rhs.dtype == np.float64 and rhs.shape == (12,) and not rhs.any()
