"""Hair volume (occupancy) on synthetic heads with known geometry."""

from __future__ import annotations

import _hair3d_fixtures as fx
import numpy as np
import pytest

from monoscan.core.errors import InputError
from monoscan.hair.reconstruct3d import occupancy_surface
from monoscan.hair.volume import hair_occupancy, voxelize_mesh


@pytest.fixture(scope="module")
def head():
    return fx.head_mesh()


@pytest.fixture(scope="module")
def roots():
    return fx.scalp_roots(3000, seed=1)


@pytest.fixture(scope="module")
def short_occ(head, roots):
    mask, zf = fx.short_hair(0.015)
    return hair_occupancy(mask, zf, fx.crop(), fx.camera(), head, roots=roots[0])


@pytest.fixture(scope="module")
def long_occ(head, roots):
    mask, zf = fx.long_hair()
    return hair_occupancy(mask, zf, fx.crop(), fx.camera(), head, roots=roots[0])


def test_voxelize_matches_analytic_solid(head):
    origin = np.array([-0.1, -0.28, -0.13])
    shape = (51, 108, 61)
    inside = voxelize_mesh(head.vertices, head.faces, origin, 0.004, shape)
    idx = np.argwhere(np.ones(shape, bool))
    pts = origin + idx * 0.004
    truth = fx.inside_head(pts).reshape(shape)
    agree = (inside == truth).mean()
    assert agree > 0.995
    # Volume within 2 % of the analytic ellipsoid + neck (minus their overlap, voxel count).
    assert inside.sum() == pytest.approx(truth.sum(), rel=0.02)


def test_no_hair_inside_head(short_occ, long_occ):
    for occ in (short_occ, long_occ):
        pts = occ.voxel_points()
        assert len(pts) > 1000
        assert not fx.inside_head(pts).any()
        assert occ.head_distance_at(pts).min() > 0.0


def test_short_hair_stays_short_all_around(short_occ):
    pts = short_occ.voxel_points()
    d = short_occ.head_distance_at(pts)
    # The mask hugs the head by 1.5 cm: nothing farther than 3 cm from the head, anywhere.
    assert d.max() <= 0.03
    back = pts[:, 2] < fx.CENTRE[2] - 0.05
    assert back.sum() > 500  # the back of the head is covered...
    assert d[back].max() <= 0.03  # ...thinly
    # and the back does not hang below the nape (scalp ends 6 cm below the head centre).
    assert pts[back, 1].min() > fx.CENTRE[1] - 0.09


def test_long_hair_falls_behind_the_shoulders(long_occ, short_occ):
    pts = long_occ.voxel_points()
    low_back = pts[(pts[:, 1] < -0.15) & (pts[:, 2] < -0.03)]
    assert len(low_back) > 200
    assert pts[:, 1].min() < -0.24  # as low as the mask (-0.26 m)
    assert long_occ.volume_m3 > 3 * short_occ.volume_m3


def test_visible_surface_and_face_respected(short_occ):
    mask, zf = fx.short_hair(0.015)
    occ = short_occ
    pts = occ.voxel_points()
    u = np.rint(pts[:, 0] / fx.MPP + 256).astype(int)
    v = np.rint(-pts[:, 1] / fx.MPP + 230).astype(int)
    on_hair = mask[v, u]
    # Nothing in front of the visible hair surface (half a voxel of tolerance + sampling).
    front = zf[v[on_hair], u[on_hair]]
    ok = np.isfinite(front)
    assert np.all(pts[on_hair][ok, 2] <= front[ok] + occ.voxel_size)
    # Voxels projecting onto the face (not hair) are behind the head, never in front of it.
    assert np.all(pts[~on_hair, 2] < fx.CENTRE[2])


def test_occupancy_surface_is_closed(short_occ):
    mesh = occupancy_surface(short_occ)
    assert mesh.is_watertight
    assert mesh.volume > 0
    assert mesh.volume == pytest.approx(short_occ.volume_m3, rel=0.35)


def test_bad_inputs(head):
    mask, zf = fx.short_hair()
    with pytest.raises(InputError, match="hair mask is empty"):
        hair_occupancy(np.zeros_like(mask), zf, fx.crop(), fx.camera(), head)
    with pytest.raises(InputError, match="does not match"):
        hair_occupancy(mask, zf[:10], fx.crop(), fx.camera(), head)
    with pytest.raises(InputError, match="triangle mesh"):
        hair_occupancy(mask, zf, fx.crop(), fx.camera(), object())
