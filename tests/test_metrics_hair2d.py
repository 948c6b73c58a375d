"""Tests for monoscan.metrics.hair2d against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from monoscan.core.errors import InputError
from monoscan.metrics.hair2d import hair_rida, hair_sale, mask_iou, orientation_error


def unit(deg):
    r = np.radians(deg)
    return np.stack([np.cos(r), np.sin(r)], -1)


def test_hair_sale_both_conventions():
    pred = unit(np.array([[0.0, 0.0, 0.0, 0.0, 0.0]]))
    gt = unit(np.array([[0.0, 60.0, 180.0, 120.0, 90.0]]))
    m = np.ones((1, 5), bool)
    r = hair_sale(pred, gt, m, m)
    # Per pixel: 0, 60, 180, 120, 90 -> mean 90; capped: 0, 60, 90, 90, 90 -> 66.
    assert r.deg == pytest.approx(90.0)
    assert r.deg_capped90 == pytest.approx(66.0)
    assert r.n_pixels == 5


def test_hair_sale_mask_intersection_and_zero_vectors():
    pred = unit(np.array([[0.0, 0.0, 0.0, 0.0]]))
    pred[0, 3] = 0  # undefined direction: skipped
    gt = unit(np.array([[90.0, 30.0, 180.0, 10.0]]))
    pm = np.array([[1, 1, 0, 1]], bool)
    gm = np.array([[0, 1, 1, 1]], np.uint8) * 255
    r = hair_sale(pred * 3.0, gt, pm, gm)  # lengths do not matter
    assert r.n_pixels == 1 and r.deg == pytest.approx(30.0)
    empty = hair_sale(pred, gt, np.zeros((1, 4), bool), gm)
    assert empty.n_pixels == 0 and np.isnan(empty.deg)


def test_hair_rida_hand_computed():
    depth = np.array([[0.9, 0.5, 0.0], [0.1, 0.5, 0.7]])
    pairs = np.array(
        [
            [0, 0, 1, 0],  # A 0.9 vs B 0.5, label +1 (A closer): correct
            [0, 1, 2, 1],  # 0.1 vs 0.7, label +1: wrong
            [1, 0, 1, 1],  # 0.5 vs 0.5 tie, label -1: wrong (ties count wrong)
            [2, 1, 1, 1],  # 0.7 vs 0.5, label -1: wrong
            [2, 0, 0, 0],  # A outside predicted hair (depth 0): skipped
            [0, 0, 2, 1],  # label 0: skipped
            [5, 0, 0, 0],  # outside the image: skipped
            [1, 1, 0, 1],  # 0.5 vs 0.1, label +1: correct
        ]
    )
    labels = np.array([1, 1, -1, -1, 1, 0, 1, 1])
    r = hair_rida(depth, pairs, labels)
    assert (r.n_correct, r.n_used, r.n_total) == (2, 5, 8)
    assert r.percent == pytest.approx(40.0)
    # An explicit mask overrides depth > 0.
    m = np.ones((2, 3), bool)
    assert hair_rida(depth, pairs, labels, m).n_used == 6
    with pytest.raises(InputError, match="labels"):
        hair_rida(depth, pairs, labels[:3])
    with pytest.raises(InputError, match="pairs"):
        hair_rida(depth, np.zeros((3, 3)), np.zeros(3))


def test_mask_iou():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2] = True  # 8 pixels
    b[1:3] = True  # 8 pixels, 4 shared
    assert mask_iou(a, b) == pytest.approx(4 / 12)
    assert mask_iou(a, a) == 1.0
    assert mask_iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
    assert mask_iou(a.astype(np.uint8) * 255, b) == pytest.approx(1 / 3)


def test_orientation_error_undirected():
    pred = np.radians(np.array([[0.0, 10.0, 170.0, 45.0]]))
    gt = np.radians(np.array([[180.0, 100.0, 10.0, 135.0]]))
    m = np.ones((1, 4), bool)
    # Differences modulo 180: 0, 90, 20, 90 -> mean 50.
    assert orientation_error(pred, gt, m) == pytest.approx(50.0)
    # Vectors work too, and their sign is ignored.
    assert orientation_error(unit(np.degrees(pred)), -unit(np.degrees(gt)), m) == pytest.approx(
        50.0
    )
    assert np.isnan(orientation_error(pred, gt, np.zeros((1, 4), bool)))
