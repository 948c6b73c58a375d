"""Tests for monoscan.hair.depth (silhouette inflation + face boundary condition)."""

from __future__ import annotations

import numpy as np
import pytest

from monoscan.core.errors import InputError
from monoscan.hair.depth import hair_depth, hair_depth_vis, inflate_silhouette, normalize_depth


def disc(size=101, radius=40.5, c=50):
    y, x = np.mgrid[0:size, 0:size]
    return (x - c) ** 2 + (y - c) ** 2 < radius**2


def test_inflation_of_a_disc_is_a_hemisphere():
    h = inflate_silhouette(disc())
    # -laplace(phi) = 4 with phi = 0 half a pixel outside the last pixel: R ~ 41.
    assert h[50, 50] == pytest.approx(41.0, abs=1.0)
    for r in (10, 20, 30):
        assert h[50, 50 + r] == pytest.approx(np.sqrt(41.0**2 - r**2), rel=0.04)
    assert (h[~disc()] == 0).all()


def test_normalised_map_follows_hairstep_convention():
    m = disc()
    hd = hair_depth(m)
    assert hd.metres is None and hd.metres_per_pixel is None
    n = hd.normalized
    assert n.dtype == np.float32 and n.shape == m.shape
    assert n[m].max() == pytest.approx(1.0) and n[m].min() == pytest.approx(0.0)
    assert (n[~m] == 0).all()
    assert n[50, 50] > n[50, 80] > n[50, 88]  # closer in the middle
    np.testing.assert_allclose(normalize_depth(np.full((3, 3), 2.0), np.ones((3, 3))), 1.0)


def scene(size=256):
    """A face (ellipsoid depth, metres) with hair on top, a fringe over the forehead, and
    long hair down both sides of the face."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    cx, cy, ax, ay = 128, 140, 45, 60
    e = 1 - ((x - cx) / ax) ** 2 - ((y - cy) / ay) ** 2
    face = np.where(e > 0, 0.04 + 0.06 * np.sqrt(np.clip(e, 0, 1)), np.nan)
    head = (x - cx) ** 2 / 75**2 + (y - 120) ** 2 / 85**2 < 1
    hair = head & ~(e > 0)  # hair around the face...
    hair |= (e > 0) & (y < 100)  # ...a fringe over the forehead...
    hair |= (np.abs(x - cx) > 45) & (np.abs(x - cx) < 75) & (y > 120) & (y < 240)  # ...sides
    return hair, face.astype(np.float32)


def test_face_boundary_condition_puts_fringe_in_front():
    hair, face = scene()
    mpp = 0.002
    hd = hair_depth(hair, face, metres_per_pixel=mpp)
    z = hd.metres
    assert hd.metres_per_pixel == mpp
    assert np.isnan(z[~hair]).all() and np.isfinite(z[hair]).all()
    fringe = hair & np.isfinite(face)
    # The fringe lies on the face, within a few mm of face + 5 mm thickness.
    assert np.nanmean(z[fringe] - face[fringe]) == pytest.approx(0.005, abs=0.004)
    assert (z[fringe] > face[fringe]).mean() > 0.9
    # Hair down the sides, beside the face, is behind the forehead fringe.
    sides = hair & (np.abs(np.mgrid[0:256, 0:256][1] - 128) > 55)
    sides &= np.mgrid[0:256, 0:256][0] > 200
    assert np.mean(z[fringe]) > np.mean(z[sides]) + 0.02
    n = hd.normalized
    assert n[fringe].mean() > n[sides].mean()
    assert n[hair].max() == pytest.approx(1.0) and (n[~hair] == 0).all()


def test_orientation_and_full_resolution_solve_agree_roughly():
    hair, face = scene(128)
    theta = np.full(hair.shape, np.pi / 2, np.float32)
    a = hair_depth(hair, face, theta, metres_per_pixel=0.004, solve_scale=1.0).metres
    b = hair_depth(hair, face, theta, metres_per_pixel=0.004, solve_scale=0.5).metres
    assert np.nanmean(np.abs(a - b)) < 0.005
    # Estimated scale from the face width (0.14 m over the face's widest row).
    est = hair_depth(hair, face)
    assert est.metres_per_pixel == pytest.approx(0.14 / 45, rel=0.1)


def test_vis_and_errors():
    m = disc()
    vis = hair_depth_vis(hair_depth(m).normalized, m)
    assert vis.shape == (101, 101, 3) and vis.dtype == np.uint8
    assert not vis[~m].any() and vis[50, 50].sum() > vis[50, 88].sum()
    with pytest.raises(InputError, match="face_depth shape"):
        hair_depth(m, np.zeros((5, 5)))
    with pytest.raises(InputError, match="orientation shape"):
        hair_depth(m, orientation=np.zeros((5, 5)))
    with pytest.raises(InputError, match="metres_per_pixel"):
        hair_depth(m, np.full(m.shape, np.nan))
    empty = hair_depth(np.zeros((8, 8), bool))
    assert not empty.normalized.any()


def test_db1_rank_correlation_with_true_hair_depth():
    from PIL import Image
    from scipy.stats import spearmanr
    from test_orientation import DB1, _db1

    _, mask, _ = _db1()
    truth = np.array(Image.open(DB1 / "hair_depth.png")).astype(np.float64)  # 512, closer=bigger
    sel = mask & (truth > 0)
    ours = hair_depth(mask).normalized
    rho = spearmanr(ours[sel], truth[sel]).correlation
    plain = spearmanr(inflate_silhouette(mask)[sel], truth[sel]).correlation
    # Measured: 0.32 with the head-sphere prior, -0.55 for plain silhouette inflation.
    assert rho > 0.25
    assert plain < 0.0


def test_hair_not_touching_the_face_still_solves():
    # The correction's face boundary is empty here (the face lies under the hair only).
    from monoscan.hair.depth import _solve_correction

    hair = np.zeros((20, 20), bool)
    hair[5:15, 5:15] = True
    face_z = np.full((20, 20), np.nan)
    face_z[8:12, 8:12] = 0.01
    r = _solve_correction(hair, np.zeros((20, 20)), face_z, None, 0.005, 0.1, 1.0)
    assert r.dtype == np.float64 and np.isfinite(r).all()
    assert r[10, 10] > 0 and r[~hair].max() == 0
