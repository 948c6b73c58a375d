"""Strand growth: exact steps in known fields, stopping rules, stubs, curls, speed."""

from __future__ import annotations

import time

import _hair3d_fixtures as fx
import numpy as np
import pytest

from monoscan.core.errors import InputError
from monoscan.core.strands import Strands
from monoscan.core.volumes import Occupancy
from monoscan.hair.field import orientation_field
from monoscan.hair.growth import add_curls, estimate_curliness, grow_strands
from monoscan.hair.reconstruct3d import hair_strands
from monoscan.hair.volume import hair_occupancy

VOX = 0.004


def box_volume(shape=(30, 60, 30), occupied=None):
    """Occupancy of a box (world origin at voxel 0), head far away."""
    grid = np.zeros(shape, bool) if occupied is not None else np.ones(shape, bool)
    if occupied is not None:
        grid[occupied] = True
    return Occupancy(
        grid=grid,
        origin=np.zeros(3),
        voxel_size=VOX,
        head_distance=np.ones(shape, np.float32),
        head_inside=np.zeros(shape, bool),
    )


def down_field(shape):
    f = np.zeros(shape + (3,), np.float32)
    f[..., 1] = -1.0
    return f


def test_straight_down_field_gives_straight_strands_with_exact_steps():
    occ = box_volume()
    field = down_field(occ.shape)
    rng = np.random.default_rng(0)
    n = 200
    roots = np.stack(
        [rng.uniform(0.02, 0.09, n), np.full(n, 0.2), rng.uniform(0.02, 0.09, n)], axis=1
    )
    normals = np.tile([0.0, -1.0, 0.0], (n, 1))
    s = grow_strands(field, occ, roots, normals, None, step_m=0.005, max_points=100)
    assert s.n_strands == n
    np.testing.assert_allclose(s.roots, roots, atol=1e-6)
    np.testing.assert_allclose(s.segment_lengths, 0.005, atol=1e-5)
    # x and z never change; y decreases until the strand leaves the box (y = -half a voxel).
    for strand, root in zip(s, roots, strict=True):
        np.testing.assert_allclose(
            strand[:, [0, 2]], np.tile(root[[0, 2]], (len(strand), 1)), atol=1e-6
        )
    assert np.all(s.tips[:, 1] >= -0.5 * VOX)
    assert np.all(s.tips[:, 1] < 0.005)
    assert np.all(s.counts == 41)  # 0.2 m / 5 mm + root


def test_max_points_caps_length():
    occ = box_volume()
    s = grow_strands(
        down_field(occ.shape),
        occ,
        [[0.05, 0.2, 0.05]],
        [[0, -1, 0]],
        None,
        step_m=0.004,
        max_points=10,
    )
    assert s.counts.tolist() == [10]
    assert s.lengths[0] == pytest.approx(9 * 0.004, abs=1e-6)


def test_sharp_turn_stops_a_strand():
    occ = box_volume()
    field = down_field(occ.shape)
    field[:, :25, :] = [1.0, 0.0, 0.0]  # below y = 0.1 m the field turns 90 degrees
    s = grow_strands(
        field, occ, [[0.02, 0.2, 0.05]], [[0, -1, 0]], None, step_m=0.005, max_turn_deg=40
    )
    assert s.n_strands == 1
    tip = s.tips[0]
    assert 0.09 < tip[1] < 0.11  # stopped at the kink
    assert tip[0] == pytest.approx(0.02, abs=1e-6)


def test_stubs_are_dropped():
    sel = np.zeros((30, 60, 30), bool)
    sel[:, :, :15] = True  # a tall box for z < 0.06
    sel[:, 45:, 15:] = True  # only a 6 cm ledge for z >= 0.06
    occ = box_volume(occupied=sel)
    roots = np.array([[0.05, 0.23, 0.03]] * 5 + [[0.05, 0.23, 0.09]])
    s = grow_strands(down_field(occ.shape), occ, roots, np.tile([0, -1, 0], (6, 1)), None)
    # Long strands are ~0.23 m; the ledge strand (~0.06 m) is under 0.3 x the mean: dropped.
    assert s.n_strands == 5
    assert np.all(s.roots[:, 2] < 0.06)


def test_root_subset_is_seeded():
    occ = box_volume()
    rng = np.random.default_rng(1)
    roots = np.stack(
        [rng.uniform(0.02, 0.09, 50), np.full(50, 0.2), rng.uniform(0.02, 0.09, 50)], axis=1
    )
    normals = np.tile([0.0, -1.0, 0.0], (50, 1))
    a = grow_strands(down_field(occ.shape), occ, roots, normals, 20, seed=3)
    b = grow_strands(down_field(occ.shape), occ, roots, normals, 20, seed=3)
    assert a.n_strands == 20
    np.testing.assert_array_equal(a.points, b.points)
    # Every root is one of the given roots.
    d = np.linalg.norm(a.roots[:, None] - roots[None], axis=2).min(1)
    assert d.max() < 1e-6
    with pytest.raises(InputError, match="same length"):
        grow_strands(down_field(occ.shape), occ, roots, normals[:3])


def test_add_curls_makes_helices_of_the_requested_radius():
    line = np.stack([np.zeros(200), -np.arange(200) * 0.002, np.zeros(200)], axis=1)
    s = Strands.from_list([line])
    c = add_curls(s, 0.01, 0.03, ramp_m=0.03)
    off = c.points - s.points
    r = np.linalg.norm(off[:, [0, 2]], axis=1)
    assert r[0] == 0.0  # the root stays on the scalp
    np.testing.assert_allclose(r[50:], 0.01, atol=1e-6)  # after the ramp: the full radius
    np.testing.assert_allclose(off[:, 1], 0.0, atol=1e-6)  # offsets are perpendicular
    # One turn per period: the offset angle advances 2 pi every 3 cm (15 points).
    ang = np.unwrap(np.arctan2(off[50:, 2], off[50:, 0]))
    assert abs(ang[15] - ang[0]) == pytest.approx(2 * np.pi, abs=0.05)


def _wavy_orientation(amplitude_px, period_px, size=256):
    y, _ = np.mgrid[0:size, 0:size].astype(np.float64)
    k = 2 * np.pi / period_px
    # Strands x = x0 + A sin(k y): tangent (A k cos(k y), 1).
    theta = np.arctan2(1.0, amplitude_px * k * np.cos(k * y)) % np.pi
    return theta, np.ones((size, size), bool)


def test_curliness_estimate_separates_curly_from_straight():
    theta, mask = _wavy_orientation(6.0, 40.0)
    amp, period = estimate_curliness(theta, mask, metres_per_pixel=0.001)
    assert period == pytest.approx(0.040, rel=0.15)
    assert amp == pytest.approx(0.006, rel=0.35)
    rng = np.random.default_rng(0)
    straight = np.pi / 2 + np.radians(2) * rng.standard_normal(mask.shape)
    a0, _ = estimate_curliness(straight, mask, metres_per_pixel=0.001)
    assert a0 < 0.2 * amp


@pytest.fixture(scope="module")
def grown():
    head = fx.head_mesh()
    roots, normals = fx.scalp_roots(15000, seed=0)
    out = {}
    for name, (mask, zf) in {"short": fx.short_hair(), "long": fx.long_hair()}.items():
        s, occ = hair_strands(
            mask,
            fx.down_direction(),
            zf,
            fx.crop(),
            fx.camera(),
            head,
            roots=roots,
            root_normals=normals,
            n_strands=10_000,
        )
        out[name] = (s, occ)
    return out, roots


def test_full_chain_strands_are_outside_the_head_and_rooted_on_the_scalp(grown):
    out, roots = grown
    for s, _ in out.values():
        # Stubs dropped, then topped up from the 5,000 spare roots.
        assert s.n_strands >= 9000
        p = s.points.astype(np.float64)
        not_root = np.ones(len(p), bool)
        not_root[s.offsets[:-1]] = False
        assert not fx.inside_head(p[not_root]).any()
        # Roots are among the given scalp roots (on the ellipsoid, above the scalp plane).
        from scipy.spatial import cKDTree

        assert cKDTree(roots).query(s.roots)[0].max() < 1e-6
        q = (s.roots.astype(np.float64) - fx.CENTRE) / fx.SEMI
        np.testing.assert_allclose((q**2).sum(1), 1.0, atol=1e-4)
        rel = s.roots - fx.CENTRE
        assert np.all(rel[:, 1] > 0.6 * rel[:, 2] - 1e-6)


def test_full_chain_short_stays_short_long_falls(grown):
    out, _ = grown
    short, occ_s = out["short"]
    long_, _ = out["long"]
    d = occ_s.head_distance_at(short.points)
    assert d.max() < 0.035
    assert short.points[:, 1].min() > fx.CENTRE[1] - 0.1
    chin = fx.CENTRE[1] - fx.SEMI[1]
    below = (long_.tips[:, 1] < chin).sum()
    assert below > 1000  # many long strands end below the chin
    assert long_.points[:, 1].min() < -0.2
    assert long_.lengths.mean() > 2 * short.lengths.mean()


def test_ten_thousand_strands_in_under_five_seconds():
    head = fx.head_mesh()
    roots, normals = fx.scalp_roots(10_000, seed=4)
    mask, zf = fx.long_hair()
    occ = hair_occupancy(mask, zf, fx.crop(), fx.camera(), head, roots=roots)
    field = orientation_field(occ, fx.down_direction(), zf, mask, fx.crop(), fx.camera())
    t = time.perf_counter()
    s = grow_strands(field, occ, roots, normals, 10_000)
    dt = time.perf_counter() - t
    assert s.n_strands > 5000
    assert dt < 5.0


def test_visible_roots_drop_scalp_the_photo_shows_bare():
    from monoscan.hair.reconstruct3d import visible_roots

    mask, _ = fx.short_hair()
    roots, normals = fx.scalp_roots(4000, seed=5)
    keep = visible_roots(roots, normals, mask, fx.crop(), fx.camera())
    back = normals[:, 2] < -0.1
    assert keep[back].all()  # hidden by the head: always allowed
    # A mask with no hair at all keeps only the hidden (back-facing) roots.
    none = visible_roots(roots, normals, np.zeros_like(mask), fx.crop(), fx.camera())
    np.testing.assert_array_equal(none, back)
    # Front-facing roots on the hair are kept.
    assert keep[~back].mean() > 0.9


def test_full_chain_is_deterministic_and_coloured():
    head = fx.head_mesh()
    mask, zf = fx.short_hair()
    img = np.zeros((fx.SIZE, fx.SIZE, 3), np.uint8)
    img[mask] = (200, 120, 40)
    from monoscan.core.crop import Crop

    crop = Crop(
        image=img,
        photo_to_crop=np.eye(3),
        photo_size=(fx.SIZE, fx.SIZE),
        box=(0.0, 0.0, float(fx.SIZE)),
    )
    runs = [
        hair_strands(
            mask, fx.down_direction(), zf, crop, fx.camera(), head, n_strands=1500, seed=7
        )[0]
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].points, runs[1].points)
    s = runs[0]
    assert s.n_strands > 1000  # roots from the fallback scalp sampler of the head mesh
    # Median hair colour (sRGB 200, 120, 40) in linear RGB, jittered by +-20 % per strand.
    lin = ((np.array([200, 120, 40]) / 255 + 0.055) / 1.055) ** 2.4
    ratio = s.colors / lin
    assert ratio.min() > 0.79 and ratio.max() < 1.21


def test_uneven_ends_shorten_long_strands_only():
    from monoscan.core.strands import Strands
    from monoscan.hair.growth import uneven_ends

    # 200 long strands (40 cm, 81 points) and 200 short ones (5 cm, 11 points), straight down.
    def straight(n_strands, n_points, length):
        y = -np.linspace(0, length, n_points)
        pts = np.zeros((n_strands, n_points, 3))
        pts[:, :, 0] = np.arange(n_strands)[:, None] * 0.001
        pts[:, :, 1] = y
        return pts.reshape(-1, 3), np.full(n_strands, n_points)

    lp, lc = straight(200, 81, 0.40)
    sp, sc = straight(200, 11, 0.05)
    s = Strands(
        np.concatenate([lp, sp]), np.concatenate([lc, sc]), colors=np.ones((len(lp) + len(sp), 3))
    )
    out = uneven_ends(s, fraction=0.15, seed=1)
    lengths = out.lengths
    assert out.n_strands == s.n_strands and out.colors.shape == (out.n_points, 3)
    long_l, short_l = lengths[:200], lengths[200:]
    np.testing.assert_allclose(short_l, 0.05)  # short hair kept whole
    assert long_l.min() >= 0.40 * 0.85 - 0.005 and long_l.max() <= 0.40 + 1e-6
    assert long_l.std() > 0.01  # the ends are uneven
    # roots unchanged, same seed same result
    np.testing.assert_array_equal(
        out.points[np.cumsum(out.counts) - out.counts], s.points[np.cumsum(s.counts) - s.counts]
    )
    np.testing.assert_array_equal(uneven_ends(s, fraction=0.15, seed=1).counts, out.counts)
