"""Tests for monoscan.metrics.face: NoW-style scan-to-mesh and 68-point NME."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from monoscan.core.errors import InputError
from monoscan.core.geometry import apply_transform
from monoscan.metrics.face import landmark_nme, scan_to_mesh

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

PLATE = trimesh.Trimesh(
    [[-100, -100, 0], [100, -100, 0], [100, 100, 0], [-100, 100, 0]],
    [[0, 1, 2], [0, 2, 3]],
    process=False,
)
PLATE_LMKS = np.array([[-50.0, -50, 0], [50, -50, 0], [0, 60, 0], [10, 10, 0]])


def test_scan_to_mesh_by_hand():
    # Scan points 1, 2, 3, 6 mm above a plate, landmarks identical: no motion, no refinement.
    scan = np.array([[0, 0, 1.0], [10, 5, 2.0], [-20, 30, 3.0], [40, -40, 6.0]])
    s = scan_to_mesh(scan, PLATE_LMKS, PLATE, PLATE_LMKS, refine_iterations=0)
    assert s.median_mm == pytest.approx(2.5)
    assert s.mean_mm == pytest.approx(3.0)
    assert s.std_mm == pytest.approx(np.std([1, 2, 3, 6]))
    np.testing.assert_allclose(s.transform, np.eye(4), atol=1e-12)


def test_scan_to_mesh_undoes_a_similarity():
    sphere = trimesh.creation.icosphere(4, radius=80.0)
    scan = np.asarray(sphere.vertices)
    lm_idx = [0, 10, 200, 700, 1500]
    m = trimesh.transformations.rotation_matrix(0.4, [0.2, 1, 0.1])
    m[:3, :3] *= 0.001  # the prediction is in metres and rotated
    m[:3, 3] = [0.1, -0.2, 0.3]
    pred = trimesh.Trimesh(apply_transform(scan, m), sphere.faces, process=False)
    s = scan_to_mesh(scan, scan[lm_idx], pred, np.asarray(pred.vertices)[lm_idx])
    assert s.mean_mm < 1e-6 and s.median_mm < 1e-6


def test_scan_to_mesh_refinement_reduces_landmark_error():
    sphere = trimesh.creation.icosphere(4, radius=80.0)
    scan = np.asarray(sphere.vertices)
    lm_idx = [0, 10, 200, 700, 1500]
    rng = np.random.default_rng(0)
    noisy = scan[lm_idx] + rng.normal(scale=3.0, size=(5, 3))  # sloppy landmarks
    s0 = scan_to_mesh(scan, noisy, sphere, scan[lm_idx], refine_iterations=0)
    s1 = scan_to_mesh(scan, noisy, sphere, scan[lm_idx], refine_iterations=10)
    assert s1.mean_mm < s0.mean_mm
    assert s1.mean_mm < 0.5


def test_scan_to_mesh_crop_and_errors():
    scan = np.array([[0, 0, 1.0], [90, 90, 5.0]])
    s = scan_to_mesh(
        scan,
        PLATE_LMKS,
        PLATE,
        PLATE_LMKS,
        refine_iterations=0,
        crop_radius_mm=30.0,
        crop_center=[0, 0, 0],
    )
    assert s.mean_mm == pytest.approx(1.0) and len(s.distances) == 1
    with pytest.raises(InputError, match="differ in count"):
        scan_to_mesh(scan, PLATE_LMKS, PLATE, PLATE_LMKS[:3])
    with pytest.raises(InputError, match="NaN"):
        scan_to_mesh(np.array([[np.nan, 0, 0]]), PLATE_LMKS, PLATE, PLATE_LMKS)
    with pytest.raises(InputError, match="no scan points"):
        scan_to_mesh(scan + 1000, PLATE_LMKS, PLATE, PLATE_LMKS, crop_radius_mm=1.0)


def test_real_head_scan_against_a_moved_copy():
    path = DATA / "head_scan" / "scan.obj"
    if not path.is_file():
        pytest.skip(f"shared data missing: {path}")
    from monoscan.io.meshes import load_mesh

    scan = load_mesh(path)
    lmks = np.load(DATA / "head_scan" / "scan_lmks.npy") * 1000.0  # metres -> mm
    pts = np.asarray(scan.vertices) * 1000.0
    m = trimesh.transformations.rotation_matrix(0.2, [0, 1, 0])
    m[:3, 3] = [5.0, 2.0, -3.0]
    pred = trimesh.Trimesh(apply_transform(pts, m), scan.faces, process=False)
    # Each predicted vertex moved along its normal by U(-0.5, 0.5) mm: a similarity cannot
    # remove that, so the scan-to-mesh error is about the mean |offset| (0.25 mm) or less
    # (the surface between vertices is closer than the vertices).
    offset = np.random.default_rng(0).uniform(-0.5, 0.5, len(pts))
    pred.vertices = np.asarray(pred.vertices) + offset[:, None] * pred.vertex_normals
    s = scan_to_mesh(pts[::5], lmks, pred, apply_transform(lmks, m), refine_iterations=2)
    assert 0.05 < s.median_mm < 0.3
    assert s.mean_mm < 0.35
    # The found transform undoes the motion.
    np.testing.assert_allclose(s.transform @ m, np.eye(4), atol=0.05)


def test_nme_by_hand():
    rng = np.random.default_rng(0)
    gt = np.column_stack([rng.uniform(0, 100, 68), rng.uniform(0, 25, 68)])
    gt[0] = [0, 0]
    gt[1] = [100, 25]  # bounding box exactly 100 x 25 -> normaliser sqrt(2500) = 50
    pred = gt + [3.0, 4.0]  # every point off by 5
    assert landmark_nme(pred, gt) == pytest.approx(0.1)
    with pytest.raises(InputError, match="68"):
        landmark_nme(pred[:67], gt[:67])
    with pytest.raises(InputError, match="equal shape"):
        landmark_nme(pred, gt[:, :1])


def test_nme_on_aflw2000_fits():
    files = sorted((DATA / "landmarks_aflw2000").glob("*_gt.npz"))
    if not files:
        pytest.skip("AFLW2000 shared data missing")
    values = []
    for f in files:
        z = np.load(f)
        values.append(landmark_nme(z["pts68_3d"][:, :2], z["pts68_2d_reannotated"]))
    # The 3DMM fits and the hand re-annotations agree to a few percent (published NMEs of
    # good methods on AFLW2000-3D are 3-4 %).
    assert 0.005 < np.mean(values) < 0.08
