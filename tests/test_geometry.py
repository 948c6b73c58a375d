"""Shared geometry helpers: rotations, similarity fits, vertex normals."""

from __future__ import annotations

import numpy as np

from monoscan.core.geometry import rotation_y, similarity_transform, vertex_normals


def test_rotation_y_turns_z_toward_x():
    np.testing.assert_allclose(rotation_y(90.0) @ [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(rotation_y(30.0) @ rotation_y(-30.0), np.eye(3), atol=1e-12)


def test_similarity_transform_recovers_a_known_one_and_honours_weights():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(50, 3))
    rot = rotation_y(25.0)
    dst = 1.3 * src @ rot.T + [0.1, -0.2, 0.3]
    s, r, t = similarity_transform(src, dst)
    assert abs(s - 1.3) < 1e-12
    np.testing.assert_allclose(r, rot, atol=1e-12)
    np.testing.assert_allclose(t, [0.1, -0.2, 0.3], atol=1e-12)
    # A wild outlier with weight 0 changes nothing; with weight 1 it does.
    bad = dst.copy()
    bad[0] += 5.0
    w = np.ones(50)
    w[0] = 0.0
    assert abs(similarity_transform(src, bad, w)[0] - 1.3) < 1e-12
    assert abs(similarity_transform(src, bad)[0] - 1.3) > 1e-3
    # A known rotation: only scale and translation are solved.
    s, r, t = similarity_transform(src, dst, rotation=rot)
    assert abs(s - 1.3) < 1e-12 and np.allclose(r, rot)


def test_vertex_normals_of_a_tetrahedron_point_outward():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    n = vertex_normals(v, f)
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0)
    assert (np.einsum("ij,ij->i", n, v - v.mean(0)) > 0).all()
