"""Tests for monoscan.perception.parsing (labels from hair, person and face masks)."""

from __future__ import annotations

import numpy as np
import pytest

from monoscan.core.errors import InputError
from monoscan.perception.parsing import (
    BACKGROUND,
    BODY,
    EARS,
    FACE,
    HAIR,
    PALETTE,
    ear_ellipses,
    parse,
    parsing_vis,
)


def face_points(cx=100.0, cy=110.0, ax=40.0, ay=55.0, yaw_squash=1.0):
    """468 synthetic mesh points on an ellipse, with the named points the parser uses."""
    t = np.linspace(0, 2 * np.pi, 468, endpoint=False)
    p = np.stack([cx + ax * np.cos(t), cy + ay * np.sin(t)], -1)
    p[33], p[133] = (cx - 25, cy - 10), (cx - 10, cy - 10)  # right eye (image left)
    p[362], p[263] = (cx + 10, cy - 10), (cx + 25, cy - 10)  # left eye
    p[61], p[291] = (cx - 15, cy + 30), (cx + 15, cy + 30)  # mouth corners
    p[1], p[2] = (cx, cy + 10), (cx, cy + 15)  # nose tip, base
    p[234] = (cx - ax * yaw_squash, cy)  # right cheek (image left)
    p[454] = (cx + ax, cy)
    return p


def test_precedence_hair_over_face_body():
    h, w = 220, 200
    hair = np.zeros((h, w), bool)
    hair[40:75, 60:140] = True  # bangs over the forehead
    person = np.zeros((h, w), np.float32)
    person[30:, 40:160] = 0.9
    lab = parse(hair, person, face_points())
    assert lab.dtype == np.uint8
    assert lab[60, 100] == HAIR  # bangs stay hair
    assert lab[110, 100] == FACE
    assert lab[200, 50] == BODY
    assert lab[10, 10] == BACKGROUND and lab[200, 190] == BACKGROUND
    assert lab[50, 100] == HAIR
    # Forehead above the mesh (person pixel, no hair) counts as skin, not body.
    lab2 = parse(np.zeros((h, w), bool), person, face_points())
    assert lab2[50, 100] == FACE


def test_ears_beside_the_face_and_hidden_when_turned():
    h, w = 220, 200
    person = np.zeros((h, w), bool)
    person[20:, 20:180] = True
    pts = face_points()
    ells = ear_ellipses(pts)
    assert len(ells) == 2
    (cx_r, cy_r), (ax, ay), ang = ells[0]
    # Right ear (image left): 0.06 W outside the cheek, W = 80; half-way eyes..nose base.
    assert cx_r == pytest.approx(60 - 0.06 * 80)
    assert cy_r == pytest.approx(((110 - 10) + (110 + 15)) / 2)
    assert ax == pytest.approx(0.09 * 80) and ay == pytest.approx(0.55 * 40)
    assert ang == pytest.approx(0.0, abs=1e-6)
    lab = parse(np.zeros((h, w), bool), person, pts)
    assert lab[round(cy_r), round(cx_r) - 3] == EARS
    assert lab[round(cy_r), 200 - round(cx_r) + 3] == EARS
    # Hair over an ear stays hair.
    hair = np.zeros((h, w), bool)
    hair[90:140, 40:62] = True
    assert not (parse(hair, person, pts)[90:140, 40:62] == EARS).any()
    # Head turned: the right cheek collapses onto the nose, that ear is hidden.
    turned = face_points(yaw_squash=0.1)
    assert len(ear_ellipses(turned)) == 1


def test_without_person_or_face():
    hair = np.zeros((4, 4), np.uint8)
    hair[0] = 255
    lab = parse(hair)
    assert (lab[0] == HAIR).all() and (lab[1:] == BACKGROUND).all()


def test_vis_and_errors():
    lab = np.array([[0, 1, 2], [3, 4, 0]], np.uint8)
    vis = parsing_vis(lab)
    assert (vis[1, 0] == PALETTE[HAIR]).all() and (vis[0, 0] == 0).all()
    img = np.full((2, 3, 3), 200, np.uint8)
    blend = parsing_vis(lab, img, alpha=0.5)
    assert (blend[0, 0] == 200).all()
    np.testing.assert_array_equal(blend[1, 1], np.rint(0.5 * 200 + 0.5 * PALETTE[EARS]))
    with pytest.raises(InputError, match="unknown label"):
        parsing_vis(np.full((2, 2), 9, np.uint8))
    with pytest.raises(InputError, match="person_mask shape"):
        parse(np.zeros((4, 4), bool), np.zeros((3, 3)))
    with pytest.raises(InputError, match="face_points"):
        parse(np.zeros((4, 4), bool), None, np.zeros((10, 2)))
