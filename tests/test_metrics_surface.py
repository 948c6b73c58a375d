"""Tests for monoscan.metrics.surface and monoscan.metrics.alignment (hand-computed values)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from monoscan.core.geometry import apply_transform
from monoscan.metrics.alignment import icp, procrustes, similarity_from_landmarks
from monoscan.metrics.surface import (
    SurfaceTree,
    chamfer,
    closest_points_on_triangles,
    fscore,
    nearest_vertex_distances,
    normal_consistency,
    point_to_surface,
    sample_surface,
)

SQUARE = trimesh.Trimesh(
    [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], [[0, 1, 2], [0, 2, 3]], process=False
)


def test_nearest_vertex_distances_by_hand():
    src = np.array([[0, 0, 0], [3, 0, 0], [0, 0, 10.0]])
    tgt = np.array([[1, 0, 0], [3, 4, 0], [0, 0, 7.0]])
    d, ix = nearest_vertex_distances(src, tgt)
    np.testing.assert_allclose(d, [1.0, 2.0, 3.0])  # (3,0,0) is 2 from (1,0,0), 4 from (3,4,0)
    np.testing.assert_array_equal(ix, [0, 0, 2])


def test_closest_point_regions_by_hand():
    tri = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0.0]])
    pts = np.array(
        [
            [0.5, 0.5, 3.0],  # above the interior -> foot point
            [-1.0, -1.0, 0.0],  # vertex region of A
            [3.0, -1.0, 0.0],  # vertex region of B
            [1.0, -2.0, 1.0],  # edge AB
            [2.0, 2.0, 0.0],  # edge BC, foot (1, 1, 0)
            [-3.0, 1.0, 0.0],  # edge AC, foot (0, 1, 0)
        ]
    )
    c = closest_points_on_triangles(pts, np.repeat(tri[None], len(pts), axis=0))
    np.testing.assert_allclose(
        c, [[0.5, 0.5, 0], [0, 0, 0], [2, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], atol=1e-12
    )


@pytest.mark.parametrize("exact", [False, True])
def test_point_to_surface_square_by_hand(exact):
    pts = np.array([[0.25, 0.5, 2.0], [2.0, 0.5, 0.0], [2.0, 2.0, 0.0], [0.5, 0.5, -0.1]])
    r = point_to_surface(pts, SQUARE, exact=exact)
    np.testing.assert_allclose(r.distances, [2.0, 1.0, np.sqrt(2.0), 0.1], atol=1e-12)
    np.testing.assert_allclose(r.closest[0], [0.25, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(r.closest[2], [1.0, 1.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("exact", [False, True])
def test_point_to_surface_matches_trimesh(exact):
    rng = np.random.default_rng(3)
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=50.0)
    pts = rng.normal(size=(3000, 3)) * 40
    r = point_to_surface(pts, mesh, exact=exact)
    _c, d, _t = trimesh.proximity.closest_point(mesh, pts)
    np.testing.assert_allclose(r.distances, d, atol=1e-9)
    # The reported triangle really holds the closest point.
    np.testing.assert_allclose(np.linalg.norm(r.closest - pts, axis=1), r.distances, atol=1e-9)


def test_point_to_surface_with_one_huge_triangle():
    big = trimesh.Trimesh([[-500, -500, 80], [500, -500, 80], [0, 500, 80]], [[0, 1, 2]])
    mesh = trimesh.util.concatenate([trimesh.creation.icosphere(3, radius=50.0), big])
    pts = np.random.default_rng(0).normal(size=(500, 3)) * 60
    r = point_to_surface(pts, mesh, exact=True)
    _c, d, _t = trimesh.proximity.closest_point(mesh, pts)
    np.testing.assert_allclose(r.distances, d, atol=1e-9)


def test_surface_tree_is_exact_near_far_and_on_degenerate_triangles():
    rng = np.random.default_rng(11)
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=50.0)
    v = np.asarray(sphere.vertices) + rng.normal(scale=1.0, size=sphere.vertices.shape)
    f = np.asarray(sphere.faces)
    # A sliver, a triangle collapsed to a segment and one collapsed to a point, far out.
    extra_v = np.array([[200, 0, 0], [260, 0, 0], [230, 1e-9, 0], [0, 200, 0], [0, 260, 0]])
    extra_f = np.array([[0, 1, 2], [3, 4, 4], [3, 3, 3]]) + len(v)
    mesh = trimesh.Trimesh(np.vstack([v, extra_v]), np.vstack([f, extra_f]), process=False)
    near = v[rng.integers(0, len(v), 3000)] + rng.normal(scale=2.0, size=(3000, 3))
    far = rng.normal(size=(1000, 3)) * 300
    pts = np.vstack([near, far])  # more than 2048: queried in Morton order
    r = SurfaceTree(mesh.vertices, mesh.faces).query(pts)
    _c, d, _t = trimesh.proximity.closest_point(mesh, pts)
    np.testing.assert_allclose(r.distances, d, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(r.closest - pts, axis=1), r.distances, atol=1e-9)
    # The reported triangle holds the closest point.
    own = closest_points_on_triangles(pts, np.asarray(mesh.triangles)[r.triangle])
    np.testing.assert_allclose(np.linalg.norm(own - pts, axis=1), r.distances, atol=1e-9)
    # The answer does not depend on the order of the queries.
    perm = rng.permutation(len(pts))
    again = SurfaceTree(mesh.vertices, mesh.faces).query(pts[perm])
    np.testing.assert_array_equal(again.distances, r.distances[perm])
    # point_to_surface(exact=True) is this tree.
    np.testing.assert_array_equal(point_to_surface(pts, mesh, exact=True).distances, r.distances)


def test_surface_tree_bad_inputs():
    with pytest.raises(ValueError, match="needs \\(F, 3\\) faces"):
        SurfaceTree(SQUARE.vertices, np.zeros((0, 3), int))
    with pytest.raises(ValueError, match="out of range"):
        SurfaceTree(SQUARE.vertices, [[0, 1, 4]])
    with pytest.raises(ValueError, match="NaN"):
        SurfaceTree([[0, 0, 0], [1, 0, 0], [np.nan, 1, 0]], [[0, 1, 2]])
    # An unreferenced NaN vertex is not part of the surface.
    ok = SurfaceTree([[0, 0, 0], [1, 0, 0], [0, 1, 0], [np.nan, 0, 0]], [[0, 1, 2]])
    assert ok.query([[0, 0, 2.0]]).distances.tolist() == [2.0]


def test_chamfer_and_fscore_by_hand():
    d_ab = np.array([0.5, 1.5, 3.0, 0.0])  # mean 1.25
    d_ba = np.array([1.0, 2.0])  # mean 1.5
    assert chamfer(d_ab, d_ba) == pytest.approx(1.375)
    f = fscore(d_ab, d_ba, 1.0)  # precision 2/4, recall 1/2
    assert f == pytest.approx({"precision": 0.5, "recall": 0.5, "fscore": 0.5})
    f = fscore(d_ab, d_ba, 2.0)  # precision 3/4, recall 2/2 -> F = 2*0.75/1.75
    assert f["fscore"] == pytest.approx(1.5 / 1.75)
    assert fscore(d_ab, d_ba, 0.0)["recall"] == 0.0


def test_normal_consistency_by_hand():
    a = np.array([[0, 0, 1.0], [0, 0, 2.0], [1, 0, 0.0]])
    b = np.array([[0, 0, -1.0], [0, 1, 1.0], [1, 0, 0.0]])
    # |cos| = 1, 1/sqrt(2), 1
    assert normal_consistency(a, b) == pytest.approx((2 + 1 / np.sqrt(2)) / 3)


def test_sample_surface_lies_on_mesh_and_is_seeded():
    pts, nrm = sample_surface(SQUARE, 1000, seed=1)
    assert pts.shape == (1000, 3)
    np.testing.assert_allclose(pts[:, 2], 0.0)
    assert (pts[:, :2] >= 0).all() and (pts[:, :2] <= 1).all()
    np.testing.assert_allclose(np.abs(nrm[:, 2]), 1.0)
    pts2, _ = sample_surface(SQUARE, 1000, seed=1)
    np.testing.assert_array_equal(pts, pts2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        nearest_vertex_distances(np.array([[np.nan, 0, 0]]), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="empty"):
        nearest_vertex_distances(np.zeros((0, 3)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="faces"):
        point_to_surface(np.zeros((1, 3)), trimesh.Trimesh(np.zeros((3, 3)), np.zeros((0, 3))))


# -- alignment -------------------------------------------------------------------------------


def _similarity(angle, axis, scale, t):
    m = trimesh.transformations.rotation_matrix(np.radians(angle), axis)
    m[:3, :3] *= scale
    m[:3, 3] = t
    return m


def test_procrustes_recovers_similarity():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 3))
    m = _similarity(30, [1, 2, 3], 2.5, [1, -2, 3])
    b = apply_transform(a, m)
    found, moved, cost = procrustes(a, b, reflection=False)
    np.testing.assert_allclose(found, m, atol=1e-12)
    np.testing.assert_allclose(moved, b, atol=1e-12)
    assert cost < 1e-20


def test_procrustes_no_reflection_keeps_det_positive():
    a = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]])
    b = a * np.array([-1, 1, 1])  # a mirror image
    m, _t, _c = procrustes(a, b, reflection=False)
    assert np.linalg.det(m[:3, :3]) > 0
    m2, _t, c2 = procrustes(a, b, reflection=True)
    assert np.linalg.det(m2[:3, :3]) < 0 and c2 < 1e-20


def test_procrustes_and_icp_match_trimesh_defaults():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(500, 3))
    b = apply_transform(a, _similarity(10, [0, 1, 0], 1.2, [0.1, 0.2, 0.3]))
    b += rng.normal(scale=0.01, size=b.shape)
    for refl in (True, False):
        ours = procrustes(a, b, reflection=refl)
        ref = trimesh.registration.procrustes(a, b, reflection=refl)
        np.testing.assert_allclose(ours[0], ref[0], rtol=0, atol=1e-13)
        assert ours[2] == pytest.approx(ref[2], rel=1e-12)
    target = trimesh.creation.icosphere(4, radius=100).vertices
    source = apply_transform(target[::3], _similarity(4, [0, 1, 0], 1.03, [2, 1, -1]))
    ours = icp(source, target)
    ref = trimesh.registration.icp(source, target)
    np.testing.assert_allclose(ours[0], ref[0], atol=1e-10)
    assert ours[2] == pytest.approx(ref[2], rel=1e-9, abs=1e-20)


def test_similarity_from_landmarks_errors():
    with pytest.raises(ValueError, match="at least 3"):
        similarity_from_landmarks(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="equal shape"):
        similarity_from_landmarks(np.zeros((4, 3)), np.zeros((3, 3)))
