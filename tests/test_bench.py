"""``monoscan bench``: the pipeline scored on synthetic scenes; a broken stage shows."""

from __future__ import annotations

import dataclasses
import functools
import json

import numpy as np
import pytest

from monoscan.cli import main
from monoscan.evaluation.synthetic import METRICS, format_table, run_bench

_CACHE: dict[bytes, object] = {}


def _cached_predict(image: np.ndarray):
    from monoscan.pipeline import Options, reconstruct

    key = image.tobytes() if isinstance(image, np.ndarray) else str(image).encode()
    if key not in _CACHE:
        _CACHE[key] = reconstruct(image, Options(strands=400))
    return _CACHE[key]


def _shifted_predict(image: np.ndarray):
    """The real pipeline with its hair stage broken: every hair map moved 20 px right."""
    recon = _cached_predict(image)
    hair = recon.hair

    def shift(a):
        return np.roll(a, 20, axis=1)

    broken = dataclasses.replace(
        hair,
        hair_mask=shift(hair.hair_mask),
        direction=shift(hair.direction),
        depth=shift(hair.depth),
        orientation=shift(hair.orientation),
    )
    return dataclasses.replace(recon, hair=broken)


@pytest.fixture(scope="module")
def good():
    return run_bench(2, seed=40, predict=_cached_predict, full_3d=False)


def test_bench_scores_the_pipeline(good):
    m = good["metrics"]
    assert list(m) == list(METRICS)
    assert good["scenes"] == 2 and m["face_found"] == 1.0
    assert 0.3 < m["hair_iou"] <= 1.0
    assert 0 <= m["hair_sale_deg"] <= 180 and 0 <= m["strand_undirected_deg"] <= 90
    assert 0 <= m["hair_rida_pct"] <= 100
    assert m["landmark_nme_6pt"] < 0.3
    assert 0 < m["face_mesh_face_sphere_mm"] < 30
    for k in good["missing"]:
        assert m[k] is None
    assert good["seconds"]["generate"] > 0 and "hair_maps" in good["seconds"]
    table = format_table(good)
    assert "hair_iou" in table and "seconds" in table


def test_a_broken_stage_makes_the_table_worse(good):
    bad = run_bench(2, seed=40, predict=_shifted_predict, full_3d=False)
    g, b = good["metrics"], bad["metrics"]
    assert b["hair_iou"] < g["hair_iou"] - 0.1
    assert b["strand_undirected_deg"] > g["strand_undirected_deg"]
    # Landmarks and the face mesh were not broken.
    assert b["landmark_nme_6pt"] == pytest.approx(g["landmark_nme_6pt"])


def test_bench_cli_writes_stable_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert (
        main(["bench", "--synthetic", "1", "--seed", "40", "--json", str(out), "-q", "--no-3d"])
        == 0
    )
    doc = json.loads(out.read_text())
    assert doc["scenes"] == 1
    assert set(doc["metrics"]) == set(METRICS)
    assert {"generate", "pipeline"} <= set(doc["seconds"])
    assert "hair_iou" in capsys.readouterr().out
    assert main(["bench", "--synthetic", "-1"]) == 2


def test_3d_metrics_when_a_head_and_strands_are_grown():
    r = run_bench(1, seed=41, predict=_cached_predict, n_strands=400)
    m = r["metrics"]
    if any("3D stage failed" in f for f in r["failures"]):
        pytest.skip(f"the head/hair 3D modules failed: {r['failures']}")
    for k in (
        "occupancy_iou",
        "occupancy_precision",
        "occupancy_recall",
        "strand_f1_2mm_20deg",
        "strand_f1_4mm_40deg",
    ):
        assert m[k] is not None and 0.0 <= m[k] <= 1.0, k
    assert m["strand_f1_4mm_40deg"] >= m["strand_f1_2mm_20deg"]
    assert 0 < m["head_face_sphere_mm"] < 30 and 0 < m["head_full_mm"] < 60
    stages = set(r["seconds"])
    assert r["missing"] == []
    assert {"head", "strands"} <= stages or {"head_3d", "strands_3d"} <= stages


def test_scoring_the_truth_against_itself_is_perfect():
    """A prediction that is the ground truth scores perfectly (checks the plumbing)."""
    import trimesh

    from monoscan.evaluation.synthetic import score_scene
    from monoscan.synth.generate import generate_scene

    scene = generate_scene(42, width=256, height=256)
    recon = _cached_predict(scene.image)
    head = trimesh.Trimesh(scene.head_vertices, scene.head_faces, process=False)
    crop = recon.crop
    mask = crop.from_photo(scene.hair_mask.astype(np.uint8), nearest=True) > 0
    truth = dataclasses.replace(
        recon.hair,
        hair_mask=mask,
        direction=crop.from_photo(scene.direction, nearest=True),
        depth=np.where(mask, crop.from_photo(scene.hair_depth, nearest=True), 0.0),
    )
    m = score_scene(scene, dataclasses.replace(recon, hair=truth), head=head, strands=scene.strands)
    assert m["head_full_mm"] < 0.5 and m["head_face_sphere_mm"] < 0.5
    assert m["occupancy_iou"] > 0.99 and m["strand_f1_2mm_20deg"] > 0.99
    assert m["hair_iou"] == 1.0 and m["hair_sale_deg"] < 0.5
    assert m["strand_undirected_deg"] < 0.5
    assert m["hair_rida_pct"] > 99.0 and m["hair_depth_ordinal_pct"] > 99.0


def test_photo_checks_without_truth(tmp_path):
    """--photos: success rate, time, hair IoU where a mask exists, face reprojection IoU."""
    from monoscan.evaluation.synthetic import photo_checks
    from monoscan.io.images import save_png
    from monoscan.synth.generate import generate_scene

    scene = generate_scene(43)
    save_png(tmp_path / "person.png", scene.image)
    save_png(tmp_path / "person_mask.png", scene.hair_mask.astype(np.uint8) * 255)
    save_png(tmp_path / "blank.png", np.full((200, 200, 3), 128, np.uint8))
    r = photo_checks(tmp_path, predict=_cached_predict)
    m = r["metrics"]
    assert m["photo_success_rate"] == 0.5  # the blank photo has no face
    assert any("blank.png" in f for f in r["failures"])
    assert 0.3 < m["photo_hair_iou"] <= 1.0
    assert 0.3 < m["photo_face_reprojection_iou"] <= 1.0
    assert m["photo_seconds"] >= 0
    with pytest.raises(Exception, match="photos folder not found"):
        photo_checks(tmp_path / "nope", predict=_cached_predict)


def test_twenty_scene_benchmark():
    """Issue 7: a 20-scene benchmark in the default run (about 1 min at 384 px, no 3D).

    Bounds sit about 20 % behind the values measured when this was written (seed 100:
    hair IoU 0.84, undirected strand error 23 deg, HairRida 57 %, 6-point NME 0.068,
    face mesh face_sphere 3.4 mm), so a regression in any stage fails here.
    """
    from monoscan.pipeline import Options, reconstruct

    predict = functools.partial(reconstruct, options=Options(head=False, strands=0))
    r = run_bench(20, seed=100, predict=predict, full_3d=False, size=384)
    m = r["metrics"]
    assert r["scenes"] == 20 and r["failures"] == []
    assert m["face_found"] >= 0.95
    assert m["hair_iou"] > 0.7
    assert m["strand_undirected_deg"] < 30
    assert m["hair_rida_pct"] > 52
    assert m["landmark_nme_6pt"] < 0.09
    assert m["face_mesh_face_sphere_mm"] < 4.5


def test_head_alignment_takes_a_moved_prediction_back_onto_the_truth():
    """What the hair-volume training data uses to bring the truth into the prediction's frame."""
    import trimesh

    from monoscan.evaluation.synthetic import head_alignment
    from monoscan.synth.generate import generate_scene

    scene = generate_scene(42, width=256, height=256)
    c, s = np.cos(0.1), np.sin(0.1)
    moved = np.array([[c, 0, s, 0.01], [0, 1, 0, -0.02], [-s, 0, c, 0.005], [0, 0, 0, 1.0]])
    moved[:3, :3] *= 1.05
    v = scene.head_vertices @ moved[:3, :3].T + moved[:3, 3]
    head = trimesh.Trimesh(v, scene.head_faces, process=False)
    to_truth = head_alignment(scene, head, scene.landmarks)
    back = v @ to_truth[:3, :3].T + to_truth[:3, 3]
    assert np.abs(back - scene.head_vertices).max() < 1e-4  # metres
