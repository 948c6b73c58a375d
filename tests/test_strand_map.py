"""Tests for monoscan.hair.strand_map (HairStep encoding and visualisations)."""

from __future__ import annotations

import numpy as np
import pytest

from monoscan.core.errors import InputError
from monoscan.hair.strand_map import direction_vis, map_to_photo, orientation_vis
from monoscan.io.maps import decode_strand_map, encode_strand_map


def test_encoding_exact_values():
    d = np.array([[[0, 1], [1, 0], [0, -1], [-1, 0], [0.6, -0.8]]], np.float64)
    hair = np.ones((1, 5), bool)
    sm = encode_strand_map(d, hair)
    # G = 0.5 + 0.5 d_up, B = 0.5 - 0.5 d_right; d_up = -dy, d_right = dx.
    assert sm[0].tolist() == [
        [255, 0, 128],  # down
        [255, 128, 0],  # right
        [255, 255, 128],  # up
        [255, 128, 255],  # left
        [255, round((0.5 + 0.4) * 255), round((0.5 - 0.3) * 255)],  # up-right (0.6, -0.8)
    ]


def test_body_and_background_channels():
    d = np.zeros((2, 3, 2))
    d[..., 1] = 2.0  # not unit length: normalised
    hair = np.array([[1, 0, 0], [1, 1, 0]], bool)
    body = np.array([[1, 1, 0], [0, 1, 1]], np.uint8) * 255
    sm = encode_strand_map(d, hair, body)
    assert sm[..., 0].tolist() == [[255, 127, 0], [255, 255, 127]]
    assert (sm[..., 1:][~hair] == 0).all()
    assert (sm[..., 1][hair] == 0).all() and (sm[..., 2][hair] == 128).all()


def test_round_trip_angles_and_masks():
    rng = np.random.default_rng(1)
    ang = rng.uniform(0, 2 * np.pi, (64, 64))
    d = np.stack([np.cos(ang), np.sin(ang)], -1)
    hair = rng.random((64, 64)) > 0.3
    body = ~hair & (rng.random((64, 64)) > 0.5)
    dec, hair2, body2 = decode_strand_map(encode_strand_map(d, hair, body))
    assert (hair2 == hair).all() and (body2 == body).all()
    cos = np.clip((dec[hair] * d[hair]).sum(-1), -1, 1)
    assert np.degrees(np.arccos(cos)).max() < 0.6  # 8-bit quantisation
    assert not dec[~hair].any()


def test_orientation_vis_is_undirected():
    t = np.array([[0.2, 0.2 + np.pi, 1.0]], np.float32)
    m = np.array([[1, 1, 0]], bool)
    rgb = orientation_vis(t, m)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 3, 3)
    assert (rgb[0, 0] == rgb[0, 1]).all() and not rgb[0, 2].any()
    dv = direction_vis(np.array([[[1.0, 0.0], [-1.0, 0.0]]]), np.ones((1, 2), bool))
    assert not (dv[0, 0] == dv[0, 1]).all()  # opposite directions differ


def test_map_to_photo_affine():
    vis = np.zeros((4, 4, 3), np.uint8)
    vis[1, 2] = (200, 100, 50)
    a = np.array([[2.0, 0, 10], [0, 2.0, 20], [0, 0, 1]])  # crop (x, y) -> (2x + 10, 2y + 20)
    out = map_to_photo(vis, a, (40, 30), convention="corners")
    assert out.shape == (40, 30, 3)
    ys, xs = np.nonzero(out.any(axis=2))
    # Corner convention: crop pixel 2 spans [2, 3) -> photo [14, 16): pixels 14 and 15.
    assert set(xs) == {14, 15} and set(ys) == {22, 23}
    # Centre convention (Crop's): crop centre 2 -> photo centre 14; 2x2 pixels around it.
    out_c = map_to_photo(vis, a, (40, 30))
    ys, xs = np.nonzero(out_c.any(axis=2))
    assert len(xs) == 4 and 14 in xs and 22 in ys
    photo = np.full((40, 30, 3), 100, np.uint8)
    blend = map_to_photo(vis, a, (40, 30), photo, alpha=0.5, convention="corners")
    assert blend[22, 14].tolist() == [150, 100, 75]
    assert blend[0, 0].tolist() == [100, 100, 100]
    with pytest.raises(InputError, match="3x3"):
        map_to_photo(vis, np.eye(2), (40, 30))
    with pytest.raises(InputError, match="convention"):
        map_to_photo(vis, a, (40, 30), convention="middle")


def test_errors():
    with pytest.raises(InputError, match="direction"):
        encode_strand_map(np.zeros((4, 4)), np.ones((4, 4), bool))
    with pytest.raises(InputError, match="hair_mask"):
        encode_strand_map(np.zeros((4, 4, 2)), np.ones((3, 4), bool))
    with pytest.raises(InputError, match="uint8"):
        decode_strand_map(np.zeros((4, 4, 3), np.float32))
