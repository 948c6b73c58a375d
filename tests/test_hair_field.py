"""3D orientation field: lifting, propagation, scalp tangency and gravity."""

from __future__ import annotations

import _hair3d_fixtures as fx
import numpy as np
import pytest

from monoscan.core.errors import InputError
from monoscan.hair.field import lift_directions, orientation_field
from monoscan.hair.volume import hair_occupancy


def test_lift_directions_hand_computed():
    voxel = 0.004
    x = np.arange(5) * voxel
    depth = np.tile(0.5 * x[:, None], (1, 5))  # dz/dx = 0.5, dz/dy = 0
    d2 = np.zeros((5, 5, 2))
    d2[..., 0] = 1.0  # growing to the image's right = world +x
    v = lift_directions(d2, depth, voxel)
    np.testing.assert_allclose(v[2, 2], np.array([1.0, 0.0, 0.5]) / np.sqrt(1.25), atol=1e-6)
    d2[..., 0], d2[..., 1] = 0.0, 1.0  # growing down the image = world -y, no slope along y
    v = lift_directions(d2, depth, voxel)
    np.testing.assert_allclose(v[2, 2], [0.0, -1.0, 0.0], atol=1e-6)
    # Unknown depth: no slope; zero 2D direction stays zero.
    d2[0, 0] = 0.0
    v = lift_directions(d2, np.full((5, 5), np.nan), voxel)
    np.testing.assert_allclose(v[1, 1], [0.0, -1.0, 0.0], atol=1e-6)
    assert np.all(v[0, 0] == 0)


@pytest.fixture(scope="module")
def scene():
    head = fx.head_mesh()
    roots, _ = fx.scalp_roots(3000, seed=2)
    mask, zf = fx.long_hair()
    occ = hair_occupancy(mask, zf, fx.crop(), fx.camera(), head, roots=roots)
    field = orientation_field(occ, fx.down_direction(), zf, mask, fx.crop(), fx.camera())
    return occ, field, mask, zf


def test_field_is_unit_on_the_volume(scene):
    occ, field, _, _ = scene
    assert field.shape == occ.shape + (3,)
    n = np.linalg.norm(field[occ.grid], axis=1)
    np.testing.assert_allclose(n, 1.0, atol=1e-4)


def test_visible_directions_are_kept(scene):
    occ, field, mask, zf = scene
    idx = np.argwhere(occ.grid)
    pts = occ.to_world(idx)
    u = np.rint(pts[:, 0] / fx.MPP + 256).astype(int)
    v = np.rint(-pts[:, 1] / fx.MPP + 230).astype(int)
    # Visible curtain voxels beside the neck: 2D says straight down.
    sel = mask[v, u] & (pts[:, 1] < -0.1) & (pts[:, 2] > zf[v, u] - 0.008)
    assert sel.sum() > 100
    f = field[idx[sel, 0], idx[sel, 1], idx[sel, 2]]
    angle = np.degrees(np.arccos(np.clip(-f[:, 1], -1, 1)))
    assert np.median(angle) < 10


def test_gravity_far_from_the_scalp_and_tangent_near_it(scene):
    occ, field, _, _ = scene
    idx = np.argwhere(occ.grid)
    d = occ.head_distance[idx[:, 0], idx[:, 1], idx[:, 2]]
    f = field[idx[:, 0], idx[:, 1], idx[:, 2]]
    far = d > 0.06
    assert far.sum() > 100
    assert np.median(f[far, 1]) < -0.9  # falls
    # Near the scalp the field never points into the head.
    from monoscan.hair.field import _head_normals

    near = d < 0.01
    nrm = _head_normals(occ.head_distance, idx[near])
    assert ((f[near] * nrm).sum(1) > -1e-3).all()


def test_field_input_checks(scene):
    occ, _, mask, zf = scene
    with pytest.raises(InputError, match=r"\(H, W, 2\)"):
        orientation_field(occ, np.zeros((512, 512)), zf, mask, fx.crop(), fx.camera())
