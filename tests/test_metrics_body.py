"""Tests for monoscan.metrics.body (centimetres)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from monoscan.core.errors import InputError
from monoscan.metrics.body import evaluate_body


def _plate(z=0.0, size=1.0):
    h = size / 2
    return trimesh.Trimesh(
        [[-h, -h, z], [h, -h, z], [h, h, z], [-h, h, z]], [[0, 1, 2], [0, 2, 3]], process=False
    )


def test_parallel_plates_by_hand():
    # Two 1 m plates 2 cm apart (metres in): every sample is exactly 2 cm from the other plate.
    s = evaluate_body(_plate(0.02), _plate(0.0), unit="m", samples=2000, thresholds_cm=(1.0, 3.0))
    assert s.p2s_cm == pytest.approx(2.0)
    assert s.s2p_cm == pytest.approx(2.0)
    assert s.chamfer_cm == pytest.approx(2.0)
    assert s.normal_consistency == pytest.approx(1.0)
    assert s.fscore_percent == {1.0: 0.0, 3.0: 100.0}
    assert s.summary()["fscore_3cm"] == 100.0


def test_units_and_asymmetry():
    # GT in mm, prediction in cm; the prediction is half the plate: S2P > P2S.
    gt = _plate(0.0, size=1000.0)  # mm
    half = trimesh.Trimesh(
        [[-50, -50, 0], [0, -50, 0], [0, 50, 0], [-50, 50, 0]],
        [[0, 1, 2], [0, 2, 3]],
        process=False,
    )  # cm
    s = evaluate_body(half, gt, unit="cm", gt_unit="mm", samples=4000)
    assert s.p2s_cm == pytest.approx(0.0, abs=1e-9)  # every predicted point is on the GT
    # GT points on the right half are |x| cm away: mean over the plate = 0.5 * 25 cm.
    assert s.s2p_cm == pytest.approx(12.5, rel=0.05)


def test_box_identical_and_seeded():
    box = trimesh.creation.box([0.5, 1.7, 0.3])
    a = evaluate_body(box, box, samples=1000, seed=3)
    assert a.chamfer_cm == pytest.approx(0.0, abs=1e-9)
    assert a.normal_consistency == pytest.approx(1.0)
    b = evaluate_body(box, box, samples=1000, seed=3)
    assert a == b or a.summary() == b.summary()


def test_bad_inputs():
    pts = trimesh.Trimesh(np.random.default_rng(0).normal(size=(10, 3)), np.zeros((0, 3), int))
    with pytest.raises(InputError, match="no faces"):
        evaluate_body(pts, _plate())
    with pytest.raises(InputError, match="unknown unit"):
        evaluate_body(_plate(), _plate(), unit="ft")
    with pytest.warns(UserWarning, match="expected 50-250 cm"):
        evaluate_body(_plate(size=1.0), _plate(size=1.0), unit="cm", samples=200)
