"""monoscan.evaluation.head_scan: a real head scan rendered, reconstructed and scored (issue 5)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared

from monoscan.core.errors import InputError
from monoscan.evaluation.head_scan import (
    FACE_SPHERE_MM,
    evaluate_against_scan,
    h3ds_points_from_flame51,
    load_head_scan,
    render_head_scan,
    scan_summary,
)

#: Frontal view, studio light, face_sphere mean gt->pred measured 1.73 mm
#: (benchmarks/bench_scan.py); the threshold leaves 30 % margin.
FRONTAL_FACE_SPHERE_MAX_MM = 1.73 * 1.3


def test_h3ds_points_from_flame51_mapping():
    lm = np.arange(51 * 3, dtype=np.float64).reshape(51, 3)
    pts = h3ds_points_from_flame51(lm)
    assert list(pts) == [
        "right_eye",
        "left_eye",
        "nose_tip",
        "nose_base",
        "right_lips",
        "left_lips",
    ]
    np.testing.assert_allclose(pts["nose_tip"], lm[13])
    np.testing.assert_allclose(pts["right_eye"], lm[19:25].mean(0))
    with pytest.raises(InputError):
        h3ds_points_from_flame51(np.zeros((68, 3)))


@pytest.fixture(scope="module")
def scan():
    return load_head_scan(shared("head_scan"))


def test_scan_landmarks_and_regions(scan):
    v = scan.vertices
    # Every vertex of the file, unreferenced ones included, as H3DS reads a scan (the
    # MANIFEST's count; trimesh.load would drop 62).
    assert len(v) == 47_653
    lm = {k: v[i] for k, i in scan.landmarks.items()}
    # subject's right is -x; the nose tip is the front-most landmark
    assert lm["right_eye"][0] < 0 < lm["left_eye"][0]
    assert lm["right_lips"][0] < 0 < lm["left_lips"][0]
    assert lm["nose_tip"][2] == max(p[2] for p in lm.values())
    d = np.linalg.norm(v[scan.regions["face_sphere"]] - scan.nose_tip, axis=1) * 1000
    assert d.max() <= FACE_SPHERE_MM
    assert 5_000 < len(scan.regions["face_sphere"]) < len(v)


@pytest.fixture(scope="module")
def frontal(scan):
    import monoscan
    from monoscan.pipeline import Options

    r = render_head_scan(scan, 0.0, "studio")
    return monoscan.reconstruct(r.image, Options(hair=False, person=False, strands=0))


def test_frontal_render_face_sphere(scan, frontal):
    v = np.asarray(frontal.head.vertices, np.float64)
    ev = evaluate_against_scan(scan, v, frontal.head.faces, frontal.head_landmarks)
    numbers = scan_summary(ev, scan, v)
    assert numbers["face_gt_to_pred_mm"] < FRONTAL_FACE_SPHERE_MAX_MM
    assert numbers["face_gt_to_pred_surface_mm"] <= numbers["face_gt_to_pred_mm"] + 1e-9
    assert numbers["face_pred_to_gt_cut_mm"] < 2 * FRONTAL_FACE_SPHERE_MAX_MM


def test_broken_predictions_score_worse(scan, frontal):
    v = np.asarray(frontal.head.vertices, np.float64)
    f, lm = frontal.head.faces, frontal.head_landmarks

    def face(vertices):
        ev = evaluate_against_scan(scan, vertices, f, lm, surface=False, regions=("face_sphere",))
        return scan_summary(ev)["face_gt_to_pred_mm"]

    good = face(v)
    c = v.mean(0)
    # The protocol aligns with a similarity: a uniformly scaled head scores the same ...
    assert face(c + 1.2 * (v - c)) == pytest.approx(good, rel=0.02)
    # ... a wrong shape (20 % wider and 20 % flatter) clearly worse (measured 3.6 vs 1.7 mm).
    assert face(c + (v - c) * [1.2, 1.0, 0.8]) > 1.5 * good
