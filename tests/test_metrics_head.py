"""Tests for monoscan.metrics.head: H3DS protocol, extras, tables, parity with h3ds 0.4.0."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import trimesh

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _h3ds_fixtures as fx

from monoscan.errors import InputError
from monoscan.metrics.head import (
    check_head_size,
    error_colors,
    evaluate_scene,
    heatmap_mesh,
    results_csv,
    results_json,
    results_markdown,
)


@pytest.fixture(scope="module")
def head():
    gt = fx.synthetic_head(4)
    lms = fx.landmark_ids(gt)
    return gt, lms, fx.regions(gt, lms)


def test_extra_vertex_by_hand(head):
    gt, lms, regs = head
    # Prediction = GT plus one vertex 40 mm in front of the nose tip: ICP keeps the identity
    # (every GT vertex matches itself exactly), so the distances are known.
    tip = gt.vertices[lms["nose_tip"]]
    extra = tip + [0, 0, 40.0]
    v = np.vstack([gt.vertices, extra])
    pred = trimesh.Trimesh(v, gt.faces, process=False)
    ev = evaluate_scene(gt, lms, regs, pred, lms, surface=False)
    full = ev.regions["full_head"]
    np.testing.assert_allclose(full.gt_to_pred, 0.0, atol=1e-9)
    n = len(gt.vertices)
    d_extra = np.linalg.norm(gt.vertices - extra, axis=1).min()
    assert full.summary()["pred_to_gt_mm"] == pytest.approx(d_extra / (n + 1), rel=1e-9)
    assert full.summary()["gt_to_pred_mm"] == pytest.approx(0.0, abs=1e-9)
    # face_sphere: GT is cut to the region; pred->GT is measured against the cut.
    fs = ev.regions["face_sphere"]
    region_v = gt.vertices[regs["face_sphere"]]
    brute = np.sqrt(((v[:, None] - region_v[None]) ** 2).sum(-1)).min(axis=1)
    assert fs.summary()["pred_to_gt_mm"] == pytest.approx(brute.mean(), rel=1e-9)
    assert len(fs.gt_to_pred) == len(regs["face_sphere"])
    s = full.summary()
    # 1 of n+1 predicted vertices is beyond 5 mm; all GT vertices are matched.
    assert s["precision_5mm"] == pytest.approx(n / (n + 1))
    assert s["recall_1mm"] == 1.0
    assert s["fscore_5mm"] == pytest.approx(2 * (n / (n + 1)) / (1 + n / (n + 1)))


def test_surface_distance_of_inflated_sphere():
    # GT: sphere r=100 (mm); prediction: same tessellation at r=102 -> vertex and surface
    # distances from GT vertices are 2 mm (surface slightly less: chords).
    gt = trimesh.creation.icosphere(4, radius=100.0)
    pred = trimesh.creation.icosphere(4, radius=102.0)
    regs = {"face": np.arange(len(gt.vertices))}
    ev = evaluate_scene(gt, None, regs, pred, None, regions=[None], surface=True)
    s = ev.summary()["full_head"]
    # ICP with scale shrinks the prediction onto the GT exactly.
    assert s["gt_to_pred_mm"] == pytest.approx(0.0, abs=1e-6)
    assert s["gt_to_pred_surface_mm"] == pytest.approx(0.0, abs=1e-6)
    assert s["fscore_1mm"] == 1.0


def test_landmarks_fix_a_large_misalignment(head):
    gt, lms, regs = head
    pred, _m = fx.misaligned_prediction(gt, noise_mm=0.0)
    with_l = evaluate_scene(gt, lms, regs, pred, lms, surface=False).summary()
    assert with_l["full_head"]["gt_to_pred_mm"] < 1e-6
    assert with_l["face_sphere"]["gt_to_pred_mm"] < 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        without = evaluate_scene(gt, lms, regs, pred, None, surface=False)
    assert without.summary()["full_head"]["gt_to_pred_mm"] > 1.0
    assert any("skipped" in n for n in without.notes)


def test_bad_input_errors(head):
    gt, lms, regs = head
    pred = trimesh.Trimesh(gt.vertices.copy(), gt.faces, process=False)
    bad = dict(lms)
    bad.pop("left_eye")
    bad["lefteye"] = 3
    with pytest.raises(InputError, match=r"lack \['left_eye'\]"):
        evaluate_scene(gt, lms, regs, pred, bad)
    far = dict(lms, nose_tip=10**7)
    with pytest.raises(InputError, match="out of range"):
        evaluate_scene(gt, lms, regs, pred, far)
    nan = trimesh.Trimesh(
        np.where(np.arange(len(gt.vertices))[:, None] == 5, np.nan, gt.vertices),
        gt.faces,
        process=False,
    )
    with pytest.raises(InputError, match="NaN"):
        evaluate_scene(gt, lms, regs, nan, lms)
    empty = trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), int), process=False)
    with pytest.raises(InputError, match="no vertices"):
        evaluate_scene(gt, lms, regs, empty, None)
    with pytest.raises(InputError, match="outside"):
        evaluate_scene(gt, lms, {**regs, "face_sphere": np.array([0, 10**6])}, pred, lms)
    with pytest.raises(InputError, match="not available"):
        evaluate_scene(gt, lms, {"face_sphere": regs["face_sphere"]}, pred, lms)


def test_wrong_unit_warns(head):
    gt, _lms, _regs = head
    with pytest.warns(UserWarning, match=r"looks like metres \(multiply by 1000\)"):
        msg = check_head_size(np.asarray(gt.vertices) / 1000.0, "prediction")
    assert "prediction spans 0.22" in msg
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_head_size(gt.vertices) is None  # 220 mm tall: fine


def test_error_colors_by_hand():
    c = error_colors(np.array([0.0, 2.5, 5.0, 50.0, 1.25]))
    np.testing.assert_array_equal(
        c[:, :3], [[0, 255, 0], [255, 255, 0], [255, 0, 0], [255, 0, 0], [128, 255, 0]]
    )
    assert (c[:, 3] == 255).all()


def test_heatmap_ply_round_trip(tmp_path, head):
    from monoscan.io.meshes import load_mesh, save_mesh

    gt, _lms, _regs = head
    err = np.linspace(0, 10, len(gt.vertices))
    save_mesh(tmp_path / "h.ply", heatmap_mesh(gt.vertices, gt.faces, err))
    back = load_mesh(tmp_path / "h.ply")
    np.testing.assert_array_equal(back.visual.vertex_colors, error_colors(err))


RESULTS = {
    "s1": {
        "1": {
            "face_sphere": {"gt_to_pred_mm": 1.5, "pred_to_gt_mm": 2.0},
            "full_head": {"gt_to_pred_mm": 13.0, "pred_to_gt_mm": 9.0},
        },
        "3": {
            "face_sphere": {"gt_to_pred_mm": 1.0, "pred_to_gt_mm": 2.0},
            "full_head": {"gt_to_pred_mm": 10.0, "pred_to_gt_mm": 9.0},
        },
    },
    "s2": {
        "1": {
            "face_sphere": {"gt_to_pred_mm": 1.62, "pred_to_gt_mm": 2.0},
            "full_head": {"gt_to_pred_mm": 14.32, "pred_to_gt_mm": 9.0},
        }
    },
}


def test_results_tables(tmp_path):
    md = results_markdown(RESULTS, tmp_path / "t.md")
    lines = md.splitlines()
    assert lines[2] == "| scene | 1 views | 3 views |"
    assert lines[4] == "| s1 | 1.50 / 13.00 | 1.00 / 10.00 |"
    assert lines[5] == "| s2 | 1.62 / 14.32 |  |"
    assert lines[6] == "| **mean** | **1.56 / 13.66** | **1.00 / 10.00** |"
    assert (tmp_path / "t.md").read_text() == md
    doc = json.loads(results_json(RESULTS, tmp_path / "r.json", unit="mm"))
    assert doc["scenes"]["s1"]["3"]["full_head"]["gt_to_pred_mm"] == 10.0
    assert doc["unit"] == "mm"
    assert json.loads((tmp_path / "r.json").read_text()) == doc
    csv_text = results_csv(RESULTS, tmp_path / "r.csv")
    rows = csv_text.strip().splitlines()
    assert rows[0] == "scene,views,region,gt_to_pred_mm,pred_to_gt_mm"
    assert len(rows) == 1 + 6
    assert "s2,1,full_head,14.32,9.0" in rows


# -- parity with the reference ---------------------------------------------------------------


def _reference():
    if importlib.util.find_spec("h3ds") is None:
        pytest.skip("h3ds not installed (pip install --no-deps h3ds==0.4.0 toml)")
    if not hasattr(np, "int"):
        np.int = int  # shim for h3ds 0.4.0 load_region on NumPy >= 1.24
    if "gdown" not in sys.modules and importlib.util.find_spec("gdown") is None:
        sys.modules["gdown"] = types.ModuleType("gdown")  # h3ds uses it only to download
    try:
        import h3ds.dataset
        from h3ds.mesh import Mesh
    except ImportError as exc:
        pytest.skip(f"h3ds not importable: {exc}")
    return h3ds.dataset.H3DS, Mesh


@pytest.fixture(scope="module")
def parity_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("parity")
    facts = fx.write_dataset(root, ("scene_a",), subdivisions=4, views=1)
    return root, facts


@pytest.mark.parametrize(
    "case", ["misaligned+landmarks", "misaligned", "remeshed+landmarks", "remeshed"]
)
def test_parity_with_h3ds_reference(parity_dataset, tmp_path, case):
    H3DSRef, MeshRef = _reference()
    from monoscan.datasets.h3ds import H3DS
    from monoscan.io.meshes import load_mesh

    root, facts = parity_dataset
    gt_mesh = facts["meshes"]["scene_a"]
    if case.startswith("misaligned"):
        pred, _m = fx.misaligned_prediction(gt_mesh, seed=1)
        pred_l = facts["landmarks"]["scene_a"]
    else:
        pred, pred_l = fx.remeshed_prediction(3)
    if not case.endswith("landmarks"):
        pred_l = None
    fx.write_obj(tmp_path / "pred.obj", pred)
    ref = H3DSRef(str(root), config_path=str(root / "config_v2.toml"))
    mp = MeshRef().load(str(tmp_path / "pred.obj"))
    ds = H3DS(root)
    regs = {r: ds.load_region("scene_a", r) for r in ("face", "face_sphere")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = evaluate_scene(
            ds.load_mesh("scene_a"),
            ds.load_landmarks("scene_a"),
            regs,
            load_mesh(tmp_path / "pred.obj"),
            pred_l,
            surface=False,
        ).summary()
    for region in ("face_sphere", None):
        a, b, _g, _p = ref.evaluate_scene("scene_a", mp, pred_l, region)
        mine = ours[region or "full_head"]
        assert mine["gt_to_pred_mm"] == pytest.approx(float(a.mean()), rel=1e-6)
        assert mine["pred_to_gt_mm"] == pytest.approx(float(b.mean()), rel=1e-6)
        assert mine["n_gt_vertices"] == len(a) and mine["n_pred_vertices"] == len(b)
