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

from monoscan.core.errors import InputError
from monoscan.evaluation.h3ds import results_csv, results_json, results_markdown
from monoscan.metrics.head import check_head_size, error_colors, evaluate_scene, heatmap_mesh


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


def test_gt_tree_cache_follows_the_mesh_and_regions(head):
    gt0, lms, regs = head
    gt = trimesh.Trimesh(np.asarray(gt0.vertices).copy(), gt0.faces, process=False)
    pred, _m = fx.misaligned_prediction(gt0, seed=4)

    def fresh(g, r):  # a new mesh object: nothing cached for it
        g = trimesh.Trimesh(np.asarray(g.vertices).copy(), g.faces, process=False)
        return evaluate_scene(g, lms, r, pred, lms, surface=False).summary()

    first = evaluate_scene(gt, lms, regs, pred, lms, surface=False).summary()
    assert evaluate_scene(gt, lms, regs, pred, lms, surface=False).summary() == first
    nose = dict(regs, face_sphere=regs["nose"])  # same name, other vertices
    assert evaluate_scene(gt, lms, nose, pred, lms, surface=False).summary() == fresh(gt, nose)
    gt.vertices[:] *= 1.02  # in place: the cached trees must not survive it
    assert evaluate_scene(gt, lms, regs, pred, lms, surface=False).summary() == fresh(gt, regs)


def test_bad_meshes(head):
    gt, lms, regs = head
    pred = trimesh.Trimesh(gt.vertices.copy(), gt.faces, process=False)
    nan_gt = trimesh.Trimesh(
        np.where(np.arange(len(gt.vertices))[:, None] == 2, np.inf, gt.vertices),
        gt.faces,
        process=False,
    )
    with pytest.raises(InputError, match="ground-truth mesh has NaN or infinite"):
        evaluate_scene(nan_gt, lms, regs, pred, lms)
    empty = trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), int), process=False)
    with pytest.raises(InputError, match="ground-truth mesh has no vertices"):
        evaluate_scene(empty, lms, regs, pred, lms)
    wild = trimesh.Trimesh(gt.vertices.copy(), np.asarray(gt.faces) + 5, process=False)
    with pytest.raises(InputError, match=r"predicted mesh has face indices outside \[0, "):
        evaluate_scene(gt, lms, regs, wild, lms)
    # trimesh triangulates quads itself; other mesh-like objects may not.
    quads = types.SimpleNamespace(vertices=gt.vertices, faces=np.zeros((4, 4), dtype=np.int64))
    with pytest.raises(InputError, match=r"faces of shape \(4, 4\), not triangles"):
        evaluate_scene(gt, lms, regs, quads, lms)
    points = trimesh.Trimesh(gt.vertices.copy(), np.zeros((0, 3), int), process=False)
    ev = evaluate_scene(gt, lms, regs, points, lms)  # a point cloud: vertex metrics only
    assert ev.regions["full_head"].gt_to_pred_surface is None


def test_surface_distances_are_exact(head):
    from monoscan.metrics.head import cut_faces

    gt, lms, regs = head
    pred, _m = fx.misaligned_prediction(gt, seed=4, noise_mm=0.8)
    ev = evaluate_scene(gt, lms, regs, pred, lms, surface=True)
    for name, score in ev.regions.items():
        aligned = ev.aligned_vertices(np.asarray(pred.vertices), name)
        idx = score.gt_indices
        gt_v = np.asarray(gt.vertices) if idx is None else np.asarray(gt.vertices)[idx]
        gt_f = np.asarray(gt.faces) if idx is None else cut_faces(gt.faces, idx, len(gt.vertices))
        pred_mesh = trimesh.Trimesh(aligned, pred.faces, process=False)
        region_mesh = trimesh.Trimesh(gt_v, gt_f, process=False)
        _c, g2p, _t = trimesh.proximity.closest_point(pred_mesh, gt_v)
        _c, p2g, _t = trimesh.proximity.closest_point(region_mesh, aligned)
        np.testing.assert_allclose(score.gt_to_pred_surface, g2p, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(score.pred_to_gt_surface, p2g, rtol=1e-9, atol=1e-9)
        # The surface is never farther than the nearest vertex.
        assert (score.gt_to_pred_surface <= score.gt_to_pred + 1e-9).all()


def test_dataset_reads_ahead_with_the_same_results(tmp_path):
    """Several scenes and view subsets (read ahead in a thread) score as one at a time."""
    from monoscan.datasets.h3ds import H3DS, read_landmarks
    from monoscan.evaluation.h3ds import evaluate_dataset
    from monoscan.io.meshes import load_mesh, save_mesh

    facts = fx.write_dataset(tmp_path / "ds", ("scene_a", "scene_b"), subdivisions=3, views=3)
    preds = tmp_path / "preds"
    for k, sid in enumerate(("scene_a", "scene_b")):
        gt, lms = facts["meshes"][sid], facts["landmarks"][sid]
        for j, views in enumerate(("1", "3", None)):
            folder = preds if views is None else preds / views
            folder.mkdir(parents=True, exist_ok=True)
            pred, _m = fx.misaligned_prediction(gt, seed=10 * k + j, noise_mm=0.4)
            suffix = ".ply" if (k, j) == (0, 1) else ".obj"  # one read in this thread
            save_mesh(folder / f"{sid}{suffix}", pred)
            (folder / f"{sid}_landmarks.txt").write_text(
                "".join(f"{n} {i}\n" for n, i in lms.items())
            )
    ds = H3DS(tmp_path / "ds")
    got = evaluate_dataset(ds, preds, surface=True, quiet=True)
    for sid in ("scene_a", "scene_b"):
        gt = ds.load_mesh(sid)
        regs = {r: ds.load_region(sid, r) for r in ("face", "face_sphere")}
        for views in ("1", "3", "default"):
            folder = preds if views == "default" else preds / views
            path = next(p for p in (folder / f"{sid}.ply", folder / f"{sid}.obj") if p.is_file())
            lms = read_landmarks(folder / f"{sid}_landmarks.txt")
            one = evaluate_scene(gt, ds.load_landmarks(sid), regs, load_mesh(path), lms)
            assert got[sid][views] == one.summary()


def test_dataset_helper_process_scores_the_same_and_raises_its_errors(tmp_path):
    """Scenes shared with a helper process: same summaries, same order, heatmaps written,
    and a bad file stops the run with its message whichever process read it."""
    from monoscan.core.errors import FormatError
    from monoscan.datasets.h3ds import H3DS
    from monoscan.evaluation.h3ds import evaluate_dataset
    from monoscan.io.meshes import save_mesh

    ids = ("scene_a", "scene_b", "scene_c", "scene_d")
    facts = fx.write_dataset(tmp_path / "ds", ids, subdivisions=3, views=1)
    preds = tmp_path / "preds"
    preds.mkdir()
    for k, sid in enumerate(ids):
        pred, _m = fx.misaligned_prediction(facts["meshes"][sid], seed=k, noise_mm=0.4)
        save_mesh(preds / f"{sid}.obj", pred)
        lms = facts["landmarks"][sid]
        (preds / f"{sid}_landmarks.txt").write_text("".join(f"{n} {i}\n" for n, i in lms.items()))
    ds = H3DS(tmp_path / "ds")
    here = evaluate_dataset(ds, preds, quiet=True, processes=1)
    shared = evaluate_dataset(ds, preds, quiet=True, processes=2, heatmap_dir=tmp_path / "maps")
    assert list(shared) == list(here) == list(ids)
    assert shared == here
    assert len(list((tmp_path / "maps").glob("*.ply"))) == 2 * len(ids)
    (preds / "scene_c.obj").write_text("v 0 0 0\nv 1 0 0\nf 1 2\n")
    with pytest.raises(FormatError, match="a face needs at least 3 vertices"):
        evaluate_dataset(ds, preds, quiet=True, processes=2)
    # Whichever process read it: the helper posts its error for the main process to raise.
    import multiprocessing
    import queue

    from monoscan.datasets.h3ds import find_predictions
    from monoscan.evaluation.h3ds import _helper_main, _ScoreOptions

    groups = [(sid, list(per.items())) for sid, per in find_predictions(preds, ds, ids).items()]
    messages = queue.Queue()
    counter = multiprocessing.get_context("spawn").Value("i", 2)  # scene_c comes next
    _helper_main(ds, groups, _ScoreOptions(True, "auto", None), [0, 1, 2, 3], counter, messages)
    kind, _g, error = messages.get_nowait()
    assert kind == "error" and isinstance(error, FormatError)
    assert messages.get_nowait() == ("finished", None, None)


def test_dataset_bad_files(tmp_path):
    from monoscan.core.errors import FormatError
    from monoscan.datasets.h3ds import H3DS
    from monoscan.evaluation.h3ds import evaluate_dataset

    facts = fx.write_dataset(tmp_path / "ds", ("scene_a",), subdivisions=3, views=1)
    gt, lms = facts["meshes"]["scene_a"], facts["landmarks"]["scene_a"]

    def run(name, obj_text, landmarks=None):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "scene_a.obj").write_text(obj_text)
        if landmarks is not None:
            (folder / "scene_a_landmarks.txt").write_text(
                "".join(f"{n} {i}\n" for n, i in landmarks.items())
            )
        return evaluate_dataset(H3DS(tmp_path / "ds"), folder, surface=True, quiet=True)

    v_lines = "".join(f"v {x:.6f} {y:.6f} {z:.6f}\n" for x, y, z in np.asarray(gt.vertices))
    tris = "".join(f"f {a} {b} {c}\n" for a, b, c in np.asarray(gt.faces) + 1)
    # Quads (here each triangle with its first corner repeated) are triangulated on reading.
    quads = "".join(f"f {a} {b} {c} {a}\n" for a, b, c in np.asarray(gt.faces) + 1)
    by_tris = run("tris", v_lines + tris, lms)["scene_a"]["default"]
    by_quads = run("quads", v_lines + quads, lms)["scene_a"]["default"]
    for region, summary in by_tris.items():
        assert by_quads[region] == pytest.approx(summary, rel=1e-12, abs=1e-12)
    with pytest.raises(FormatError, match="a face needs at least 3 vertices"):
        run("line", v_lines + "f 1 2\n")
    renamed = {f"{n}_x": i for n, i in lms.items()}
    with pytest.raises(InputError, match=r"predicted landmarks lack \['right_eye'"):
        run("names", v_lines + tris, renamed)
    (tmp_path / "ds" / "scene_a" / "regions" / "face.txt").unlink()
    with pytest.raises(InputError, match="region file not found"):
        run("no_region", v_lines + tris, lms)
    (tmp_path / "ds" / "scene_a" / "full_head.obj").unlink()
    with pytest.raises(InputError, match="mesh file not found"):
        run("no_scan", v_lines + tris, lms)


def test_wrong_unit_warns(head):
    gt, _lms, _regs = head
    with pytest.warns(UserWarning, match=r"looks like metres \(multiply by 1000\)"):
        msg = check_head_size(np.asarray(gt.vertices) / 1000.0, "prediction")
    assert "prediction spans 0.22" in msg
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_head_size(gt.vertices) is None  # 220 mm tall: fine
    with pytest.warns(UserWarning, match="spans 2200 units"):
        check_head_size(np.asarray(gt.vertices) * 10.0)  # too tall: warned, no unit guessed


def test_evaluate_scene_notes_wrong_unit(head):
    gt, _lms, regs = head
    metres = trimesh.Trimesh(np.asarray(gt.vertices) / 1000.0, gt.faces, process=False)
    with pytest.warns(UserWarning, match="predicted mesh spans 0.22 units"):
        ev = evaluate_scene(gt, None, regs, metres, None, surface=False)
    assert any("looks like metres" in n for n in ev.notes)


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


# -- incremental nearest neighbours (ICP matches) --------------------------------------------


def _random_similarity(rng, angle_deg: float, scale_dev: float, shift_mm: float) -> np.ndarray:
    axis = rng.normal(size=3)
    m = trimesh.transformations.rotation_matrix(np.radians(angle_deg), axis, rng.normal(size=3))
    m[:3, :3] *= 1.0 + rng.uniform(-scale_dev, scale_dev)
    m[:3, 3] += rng.uniform(-shift_mm, shift_mm, 3)
    return m


def test_nearest_tracker_equals_fresh_queries():
    from scipy.spatial import cKDTree

    from monoscan.metrics.alignment import NearestTracker
    from monoscan.metrics.nn import PointTree

    rng = np.random.default_rng(7)
    targets = rng.uniform(-50.0, 50.0, (4000, 3))  # mm; mean spacing ~6 mm
    tree = cKDTree(targets)  # scipy's answers are the reference
    points = rng.uniform(-60.0, 60.0, (3000, 3))
    tracker = NearestTracker(PointTree(targets), workers=1)
    kept = changed = 0
    previous = None
    # Steps from micrometre ICP refinements up to several millimetres, where many neighbours
    # change: a skip rule that ignored the motion, or the gap, would keep stale matches.
    for step in range(40):
        size = 10.0 ** rng.uniform(-4, 0.5)
        points = trimesh.transform_points(
            points, _random_similarity(rng, 2.0 * size, 0.01 * size, size)
        )
        dist, index = tracker.query(points)
        ref_dist, ref_index = tree.query(points)
        np.testing.assert_array_equal(index, ref_index)
        np.testing.assert_allclose(dist, ref_dist, rtol=1e-12, atol=1e-12)
        if step:
            kept += len(points) - tracker.requeried
            changed += int((index != previous).sum())
        else:
            assert tracker.requeried == len(points)
        previous = index
    assert kept > 0.5 * 39 * len(points)  # most points skip the tree...
    assert changed > 2000  # ...while neighbours do change along the way
    # A subset starts from the parent's state and stays exact.
    rows = rng.choice(len(points), 500, replace=False)
    sub = tracker.subset(rows)
    moved = points[rows] + rng.normal(scale=0.5, size=(500, 3))
    np.testing.assert_array_equal(sub.query(moved)[1], tree.query(moved)[1])
    assert sub.requeried < 500


def test_point_tree_equals_scipy():
    from scipy.spatial import cKDTree

    from monoscan.metrics.nn import PointTree

    rng = np.random.default_rng(3)
    data = rng.normal(size=(5000, 3)) * [80.0, 100.0, 60.0]
    queries = rng.normal(size=(2000, 3)) * 150.0  # near and far from the data
    mine, ref = PointTree(data), cKDTree(data.copy())
    for k in (1, 2, 5):
        d, i = mine.query(queries, k)
        rd, ri = ref.query(queries, k)
        np.testing.assert_array_equal(i, ri)
        np.testing.assert_array_equal(d, rd)  # bit for bit: the parity tests rely on it
        assert i.dtype == np.int64
    # Edits of the caller's array do not reach the tree.
    data[:] = 0.0
    np.testing.assert_array_equal(mine.query(queries[:10])[1], ref.query(queries[:10])[1])
    # Fewer points than k: infinite distance, index len(tree), as scipy.
    d, i = PointTree([[0.0, 0.0, 0.0]]).query([[1.0, 0.0, 0.0]], 2)
    assert d[0, 0] == 1.0 and np.isinf(d[0, 1]) and i[0, 1] == 1
    assert PointTree(data).query(np.zeros((0, 3)))[0].shape == (0,)
    with pytest.raises(ValueError, match=r"\(M, 3\) points"):
        PointTree(np.zeros((4, 2)))


def test_icp_with_tracker_equals_trimesh():
    # The tracked ICP reproduces trimesh's (fresh query each iteration) transform.
    gt = fx.synthetic_head(4)
    pred, _m = fx.misaligned_prediction(gt, seed=3, noise_mm=0.5)
    from monoscan.metrics.alignment import icp

    small = trimesh.transformations.rotation_matrix(np.radians(3.0), [0, 1, 0.2])
    small[:3, 3] = [2.0, -1.0, 1.5]
    src = trimesh.transform_points(np.asarray(pred.vertices), small)
    ours, _t, cost = icp(src, pred.vertices)
    ref, _t2, ref_cost = trimesh.registration.icp(src, pred.vertices)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9)
    assert cost == pytest.approx(ref_cost, rel=1e-9, abs=1e-12)
