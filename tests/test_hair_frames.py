"""Conversion between our world frame and the USC-HairSalon frame."""

from __future__ import annotations

from dataclasses import dataclass

import _hair3d_fixtures as fx
import numpy as np
import pytest

from monoscan.core.errors import InputError
from monoscan.core.strands import Strands
from monoscan.hair.frames import (
    CANONICAL_ANCHORS,
    USC_ANCHORS,
    USC_SCALE,
    from_usc_frame,
    measure_usc_anchors,
    to_usc_frame,
    usc_similarity,
    world_to_usc_matrix,
)

USC_HEAD = fx.DATA / "hair3d" / "usc_hairsalon_head_model.obj"


@dataclass(frozen=True)
class Pose:
    scale: float
    rotation: np.ndarray
    translation: np.ndarray


def _rot(axis, deg):
    a = np.radians(deg)
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(a) * kx + (1 - np.cos(a)) * kx @ kx


def _strands():
    rng = np.random.default_rng(0)
    return Strands.from_list([rng.normal(0, 0.1, (n, 3)) for n in (2, 5, 9)])


@pytest.mark.parametrize(
    "pose", [None, Pose(1.07, _rot([0.2, 1, 0.1], 25), np.array([0.01, -0.02, 0.03]))]
)
def test_round_trip_is_exact(pose):
    s = _strands()
    back = from_usc_frame(to_usc_frame(s, pose), pose)
    np.testing.assert_allclose(back.points, s.points, atol=2e-7)
    np.testing.assert_array_equal(back.counts, s.counts)


def test_default_similarity_maps_anchors_onto_the_usc_head():
    m = usc_similarity()
    assert m[0, 0] == pytest.approx(USC_SCALE)
    np.testing.assert_allclose(m[:3, :3], USC_SCALE * np.eye(3))  # no rotation
    assert 1.1 < USC_SCALE < 1.35  # the USC head is larger than an average adult's
    for k, p in CANONICAL_ANCHORS.items():
        q = m[:3, :3] @ np.asarray(p) + m[:3, 3]
        assert np.linalg.norm(q - USC_ANCHORS[k]) < 0.015, k


def test_fitted_pose_is_undone():
    pose = Pose(1.1, _rot([0, 1, 0], 30), np.array([0.0, 0.01, -0.02]))
    canon = np.array([CANONICAL_ANCHORS["nose_tip"], CANONICAL_ANCHORS["crown"]])
    world = pose.scale * canon @ pose.rotation.T + pose.translation
    s = to_usc_frame(Strands.from_list([world]), pose)
    direct = to_usc_frame(Strands.from_list([canon]))
    np.testing.assert_allclose(s.points, direct.points, atol=1e-6)


def test_stored_anchors_match_the_usc_head_file():
    if not USC_HEAD.exists():
        pytest.skip("../shared/data/hair3d/usc_hairsalon_head_model.obj is not available")
    measured = measure_usc_anchors(USC_HEAD)
    for k, p in USC_ANCHORS.items():
        np.testing.assert_allclose(measured[k], p, atol=1e-5)


def test_our_head_lands_on_the_usc_head():
    if not USC_HEAD.exists():
        pytest.skip("../shared/data/hair3d/usc_hairsalon_head_model.obj is not available")
    import trimesh
    from scipy.spatial import cKDTree

    usc = trimesh.load(USC_HEAD, process=False, force="mesh")
    tree = cKDTree(np.asarray(usc.vertices))
    try:
        from monoscan.head.model import model_mesh

        v = np.asarray(model_mesh()[0], np.float64)  # canonical parametric head
    except ImportError:  # head model not available: the synthetic ellipsoid head
        v = np.asarray(fx.head_mesh(neck=False).vertices) - [0.0, 0.02, -0.01] + [0, 0.03, 0]
    v = v[v[:, 1] > -0.02]  # the cranium, above the ears
    p = to_usc_frame(Strands(v, [len(v)])).points
    d, _ = tree.query(p)
    assert np.median(d) < 0.02
    assert np.percentile(d, 90) < 0.04
    # And the USC head's top lies within 2 cm of ours.
    assert abs(p[:, 1].max() - USC_ANCHORS["crown"][1]) < 0.02


def test_bad_pose_and_file():
    with pytest.raises(InputError, match="fitted head"):
        world_to_usc_matrix(object())
    with pytest.raises(InputError, match="no such file"):
        measure_usc_anchors("/nonexistent/head.obj")
