"""The parametric head model: closed surface, average adult size, anchors, scalp."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from monoscan.head.model import (
    ANCHOR_NAMES,
    HeadShape,
    anchor_points,
    head_sdf,
    model_mesh,
    part_sdfs,
    scalp_mask,
    smooth_union,
)


@pytest.fixture(scope="module")
def mesh():
    v, f = model_mesh(spacing=0.004)
    return trimesh.Trimesh(v, f, process=False)


def test_model_mesh_is_closed_and_outward(mesh):
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.is_volume
    assert mesh.volume > 0
    # An adult head with neck: 3.5-6 litres.
    assert 0.0035 < mesh.volume < 0.006


def test_model_has_average_adult_size(mesh):
    s = HeadShape()
    a = anchor_points(s)
    assert a["crown"][1] - a["chin"][1] == pytest.approx(0.235)  # menton to vertex
    v = mesh.vertices
    assert v[:, 1].max() == pytest.approx(s.height, abs=0.004)  # top of the head
    cranium = v[v[:, 1] > 0.05]  # above the ears
    assert np.ptp(cranium[:, 0]) == pytest.approx(s.width, abs=0.006)
    assert np.ptp(cranium[:, 2]) == pytest.approx(s.length, abs=0.01)
    # Ears stick out beyond the cranium at ear level.
    ears = v[np.abs(v[:, 1]) < 0.02]
    assert np.ptp(ears[:, 0]) > s.width + 0.01


def test_sdf_sign_and_anchors_on_the_surface():
    s = HeadShape()
    inside = np.array([[0, 0.05, 0], [0, -0.1, -0.02], [0.04, 0.0, 0.02]])
    outside = np.array([[0, 0.3, 0], [0.2, 0, 0], [0, 0, 0.2], [0, -0.3, 0]])
    assert (head_sdf(inside, s) < 0).all()
    assert (head_sdf(outside, s) > 0).all()
    a = anchor_points(s)
    assert set(a) == set(ANCHOR_NAMES)
    assert abs(head_sdf(a["crown"][None], s)[0]) < 0.002
    # Signed distance is about metric: 5 cm above the crown reads about 5 cm.
    assert head_sdf((a["crown"] + [0, 0.05, 0])[None], s)[0] == pytest.approx(0.05, abs=0.004)
    # Frame: subject's right at negative x, eyes above the origin, nose in front.
    assert a["right_eye"][0] < 0 < a["left_eye"][0]
    assert a["nose_tip"][2] > a["right_eye"][2] > 0
    assert a["chin"][1] < a["nose_base"][1] < a["nose_tip"][1] < a["right_eye"][1]


def test_float32_matches_float64():
    rng = np.random.default_rng(1)
    p = rng.uniform(-0.15, 0.15, (2000, 3))
    np.testing.assert_allclose(head_sdf(p.astype(np.float32)), head_sdf(p), atol=2e-6)


def test_shape_scaling_and_parameters_act():
    s = HeadShape()
    big = s.scaled(1.1)
    assert big.width == pytest.approx(0.165) and big.ear_flare == s.ear_flare
    p = np.array([[0.5 * s.width + 0.004, 0.06, 0.0]])  # just outside the average cranium
    assert head_sdf(p, s)[0] > 0 > head_sdf(p, big)[0]
    narrow_neck = HeadShape(neck_radius=0.04)
    q = np.array([[0.0, -0.15, -0.098]])  # 47 mm behind the neck axis
    assert head_sdf(q, s)[0] < 0 < head_sdf(q, narrow_neck)[0]


def test_smooth_union_is_below_both():
    a = np.linspace(-0.05, 0.05, 11)
    b = a[::-1].copy()
    u = smooth_union(a, b, 0.01)
    assert (u <= np.minimum(a, b) + 1e-12).all()
    np.testing.assert_allclose(smooth_union(a, b + 1.0, 0.01), a)  # far apart: plain min


def test_scalp_region():
    s = HeadShape()
    a = anchor_points(s)
    pts = np.stack(
        [
            a["crown"],
            a["nose_tip"],
            a["chin"],
            a["right_ear"],
            a["left_ear"],
            [0.0, 0.0, -0.095],  # back of the head at ear level
            [0.0, -0.07, -0.07],  # below the nape hairline
            [0.0, 0.09, 0.085],
        ]
    )  # upper forehead, above the hairline
    assert scalp_mask(pts, s).tolist() == [True, False, False, False, False, True, False, True]
    # Never on the ears: every point near an ear is excluded.
    v, _ = model_mesh(s, spacing=0.004)
    on_ear = part_sdfs(v, s)["ears"] < 0.002
    assert on_ear.any() and not scalp_mask(v[on_ear], s).any()


def test_rasteriser_and_preview():
    from monoscan.render.preview import render_mesh
    from monoscan.render.raster import rasterize

    # Two overlapping triangles: the nearer (larger depth) wins; coverage is exact.
    # Pixel centres sit at +0.5, so shifting by 0.5 samples at integer coordinates.
    xy = np.array([[0, 0], [8, 0], [0, 8], [0, 0], [8, 0], [0, 8]], float) + 0.5
    depth = np.array([0, 0, 0, 1, 1, 1], float)
    z, tri, bary = rasterize(xy, depth, np.array([[0, 1, 2], [3, 4, 5]]), (10, 10))
    covered = tri >= 0
    assert covered.sum() == 45  # samples with x + y <= 8
    assert (tri[covered] == 1).all() and (z[covered] == 1).all()
    np.testing.assert_allclose(bary[covered].sum(1), 1.0)
    v, f = model_mesh(spacing=0.006)
    front = render_mesh(v, f, "front", size=96)
    side = render_mesh(v, f, "left", size=96)
    assert front.shape == (96, 96, 3) and (front[48, 48] < 255).all()
    # The head is narrower seen from the front than from the side (it is longer than wide).
    assert (front.min(2) < 255).any(0).sum() < (side.min(2) < 255).any(0).sum()
