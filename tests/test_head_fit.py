"""Fitting the parametric head to face landmarks: known-answer recovery and real photos."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from monoscan.core.errors import InputError
from monoscan.face.camera import estimate_camera
from monoscan.head.fit import (
    ANCHOR_LANDMARKS,
    SURFACE_LANDMARKS,
    FittedHead,
    fit_head,
)
from monoscan.head.model import HeadShape, anchor_points, head_sdf
from monoscan.perception.face import detect_face_landmarks


@pytest.fixture(scope="module")
def astronaut_world(astronaut_rgb):
    face = detect_face_landmarks(astronaut_rgb)
    return estimate_camera(face.points).photo_to_world(face.points)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("yxz", [yaw, pitch, roll], degrees=True).as_matrix()


def _project_to_surface(q: np.ndarray, shape: HeadShape) -> np.ndarray:
    eps = 1e-5
    for _ in range(6):
        d = head_sdf(q, shape)
        g = np.stack(
            [
                (head_sdf(q + e, shape) - head_sdf(q - e, shape)) / (2 * eps)
                for e in np.eye(3) * eps
            ],
            1,
        )
        q = q - d[:, None] * g / np.linalg.norm(g, axis=1, keepdims=True) ** 2
    return q


def test_recovers_a_known_pose_and_scale(astronaut_world):
    """Landmarks made from the model itself, moved by a known similarity, are fitted back."""
    shape = HeadShape()
    start = fit_head(astronaut_world)
    # Synthetic landmarks in the canonical frame: anchors exactly, outline points on the
    # surface (projected from where the photo put them), everything else from the photo.
    lm_head = start.to_head(astronaut_world)
    anchors = anchor_points(shape)
    for name, idx in ANCHOR_LANDMARKS.items():
        lm_head[idx] = anchors[name]
    surf = list(SURFACE_LANDMARKS)
    lm_head[surf] = _project_to_surface(lm_head[surf], shape)
    rot = _rotation(20.0, -8.0, 5.0)
    scale, trans = 1.07, np.array([0.004, -0.01, -0.09])
    lm_world = scale * lm_head @ rot.T + trans
    fit = fit_head(lm_world, prior=shape)
    assert fit.scale == pytest.approx(scale, rel=0.01)
    angle = np.degrees(np.arccos(np.clip((np.trace(fit.rotation.T @ rot) - 1) / 2, -1, 1)))
    assert angle < 1.0
    np.testing.assert_allclose(fit.translation, trans, atol=0.0015)
    # The cranium follows the scale only half-way, so the outline points sit ~2 mm off it.
    assert fit.anchor_rms_mm < 0.5 and fit.surface_rms_mm < 3.0
    assert fit.shape.width * fit.scale == pytest.approx(shape.width * scale**0.5, rel=0.03)
    # The neck bends back towards upright: a head pitched down by 8 deg gets +5.6 deg of neck.
    assert fit.shape.neck_pitch == pytest.approx(-0.7 * -8.0, abs=1.0)


def test_astronaut_fit_is_plausible(astronaut_world):
    fit = fit_head(astronaut_world)
    assert isinstance(fit, FittedHead)
    assert 0.85 < fit.scale < 1.15
    assert 0.20 < fit.head_height < 0.26
    assert fit.anchor_rms_mm < 6.0 and fit.surface_rms_mm < 3.0
    # Facing the camera: the head's forward axis points at the camera within 20 deg.
    forward = fit.rotation @ np.array([0.0, 0.0, 1.0])
    assert np.degrees(np.arccos(forward[2])) < 20.0
    # The fitted anchors land on the landmarks they were fitted to (x/y within 1 cm).
    a = fit.anchors()
    for name, idx in ANCHOR_LANDMARKS.items():
        assert np.linalg.norm(a[name][:2] - astronaut_world[idx, :2]) < 0.010, name
    # Ears sit beside the face, behind it.
    assert a["right_ear"][0] < astronaut_world[234, 0] < astronaut_world[454, 0] < a["left_ear"][0]
    assert a["right_ear"][2] < astronaut_world[1, 2] - 0.07


def test_frames_round_trip(astronaut_world):
    fit = fit_head(astronaut_world)
    p = np.random.default_rng(0).normal(size=(50, 3)) * 0.1
    np.testing.assert_allclose(fit.to_head(fit.to_world(p)), p, atol=1e-12)
    np.testing.assert_allclose(
        fit.sdf(fit.to_world(p)), fit.scale * head_sdf(p, fit.shape), atol=1e-12
    )
    assert fit.to_json()["scale"] == fit.scale


def test_fit_without_iris_landmarks(astronaut_world):
    with_iris = fit_head(astronaut_world)
    without = fit_head(astronaut_world[:468])
    assert without.scale == pytest.approx(with_iris.scale, rel=0.05)
    assert np.linalg.norm(without.translation - with_iris.translation) < 0.01


def test_prior_shape_is_respected(astronaut_world):
    wide = fit_head(astronaut_world, prior=replace(HeadShape(), width=0.17))
    assert wide.shape.width > fit_head(astronaut_world).shape.width


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((10, 3)), "expected"),
        (np.zeros((478, 2)), "expected"),
        (np.full((478, 3), np.nan), "NaN"),
        (np.zeros((478, 3)), "degenerate"),
    ],
)
def test_bad_landmarks_raise_input_error(bad, message):
    with pytest.raises(InputError, match=message):
        fit_head(bad)


def test_weights_drop_corrupted_landmarks(astronaut_world):
    bad = astronaut_world.copy()
    corrupted = [ANCHOR_LANDMARKS[k] for k in ("chin", "right_mouth", "left_mouth")] + [
        132,
        361,
        58,
        288,
    ]
    bad[corrupted] += (0.0, -0.03, 0.01)  # an occluder dragged the jaw 3 cm down
    weights = np.ones(len(bad))
    weights[corrupted] = 0.0
    # With weight 0 the corrupted landmarks have no say: same fit as without corruption.
    reference = fit_head(astronaut_world, weights=weights)

    def gap(fit):
        return np.linalg.norm(fit.to_world(np.eye(3) * 0.1) - reference.to_world(np.eye(3) * 0.1))

    assert gap(fit_head(bad, weights=weights)) < 1e-4
    assert gap(fit_head(bad)) > 5e-3
    with pytest.raises(InputError):
        fit_head(astronaut_world, weights=np.ones(3))
