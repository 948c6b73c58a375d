"""Tests for the ``monoscan eval`` command group (head, body, face; hair/strands hooks)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _h3ds_fixtures as fx

from monoscan.cli import build_parser, main


@pytest.fixture(scope="module")
def h3ds_case(tmp_path_factory):
    root = tmp_path_factory.mktemp("evalcli")
    facts = fx.write_dataset(root / "ds", subdivisions=3)
    pred = root / "pred"
    pred.mkdir()
    for sid, mesh in facts["meshes"].items():
        p, _m = fx.misaligned_prediction(mesh, seed=2)
        fx.write_obj(pred / f"{sid}.obj", p)
        (pred / f"{sid}_landmarks.txt").write_text(
            "".join(f"{n} {i}\n" for n, i in facts["landmarks"][sid].items())
        )
    # A monoscan output folder for view subset "1" of scene_a: head.obj in metres.
    out = pred / "1" / "scene_a"
    out.mkdir(parents=True)
    gt = facts["meshes"]["scene_a"]
    fx.write_obj(out / "head.obj", trimesh.Trimesh(np.asarray(gt.vertices) / 1000.0, gt.faces))
    (out / "h3ds_landmarks.txt").write_text(
        "".join(f"{n} {i}\n" for n, i in facts["landmarks"]["scene_a"].items())
    )
    return root, facts


def test_eval_head_writes_tables(h3ds_case, capsys):
    root, _facts = h3ds_case
    rc = main(
        [
            "eval",
            "head",
            "--dataset",
            str(root / "ds"),
            "--predictions",
            str(root / "pred"),
            "--json",
            str(root / "r.json"),
            "--csv",
            str(root / "r.csv"),
            "--markdown",
            str(root / "r.md"),
            "--heatmaps",
            str(root / "hm"),
            "--quiet",
        ]
    )
    assert rc == 0
    doc = json.loads((root / "r.json").read_text())
    assert set(doc["scenes"]) == {"scene_a", "scene_b"}
    assert set(doc["scenes"]["scene_a"]) == {"1", "default"}
    cell = doc["scenes"]["scene_a"]["default"]
    assert {"face_sphere", "full_head"} <= set(cell)
    for region in ("face_sphere", "full_head"):
        assert {
            "gt_to_pred_mm",
            "pred_to_gt_mm",
            "fscore_1mm",
            "fscore_2.5mm",
            "fscore_5mm",
            "gt_to_pred_surface_mm",
        } <= set(cell[region])
    # Same numbers as the Python API.
    from monoscan.datasets.h3ds import H3DS, read_landmarks
    from monoscan.io.meshes import load_mesh
    from monoscan.metrics.head import evaluate_scene

    ds = H3DS(root / "ds")
    regs = {r: ds.load_region("scene_b", r) for r in ("face", "face_sphere")}
    ev = evaluate_scene(
        ds.load_mesh("scene_b"),
        ds.load_landmarks("scene_b"),
        regs,
        load_mesh(root / "pred" / "scene_b.obj"),
        read_landmarks(root / "pred" / "scene_b_landmarks.txt"),
    )
    assert doc["scenes"]["scene_b"]["default"]["full_head"]["gt_to_pred_mm"] == pytest.approx(
        ev.summary()["full_head"]["gt_to_pred_mm"], rel=1e-12
    )
    # The metres folder was converted to mm: a perfect prediction (up to the 1 um rounding of
    # the 6-decimal OBJ written in metres).
    assert doc["scenes"]["scene_a"]["1"]["full_head"]["gt_to_pred_mm"] < 1e-3
    # The noise is 0.5 mm per axis: mean error around 0.7 mm.
    assert 0.3 < cell["full_head"]["gt_to_pred_mm"] < 1.0
    md = (root / "r.md").read_text()
    assert "| scene | 1 views | default |" in md and "**mean**" in md
    rows = (root / "r.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3 * 2
    assert min(p.name for p in (root / "hm").iterdir()) == "scene_a_1_face_sphere.ply"
    assert capsys.readouterr().out == ""  # --quiet


def test_eval_head_warns_on_wrong_unit(tmp_path, h3ds_case, capsys):
    root, facts = h3ds_case
    pred = tmp_path / "p"
    pred.mkdir()
    gt = facts["meshes"]["scene_a"]
    # Plain files are read as mm; this one is in metres and has no landmarks.
    fx.write_obj(pred / "scene_a.obj", trimesh.Trimesh(np.asarray(gt.vertices) / 1000, gt.faces))
    rc = main(
        [
            "eval",
            "head",
            "--dataset",
            str(root / "ds"),
            "--predictions",
            str(pred),
            "--no-surface",
            "--scenes",
            "scene_a",
        ]
    )
    assert rc == 0
    captured = capsys.readouterr()
    assert "warning: predicted mesh spans" in captured.err
    assert "looks like metres" in captured.err
    assert "| scene_a |" in captured.out


def test_eval_head_errors(tmp_path, h3ds_case, capsys):
    root, _ = h3ds_case
    assert (
        main(["eval", "head", "--dataset", str(tmp_path / "nope"), "--predictions", str(tmp_path)])
        == 2
    )
    assert "error: H3DS folder not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert (
        main(
            [
                "eval",
                "head",
                "--dataset",
                str(root / "ds"),
                "--predictions",
                str(tmp_path / "empty"),
            ]
        )
        == 2
    )
    assert "no predictions for any of the 2 scenes" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "scene_a.obj").write_text("v 0 0 0\nv nan 1 0\nv 0 1 0\nf 1 2 3\n")
    assert (
        main(["eval", "head", "--dataset", str(root / "ds"), "--predictions", str(bad), "-q"]) == 2
    )
    assert "NaN" in capsys.readouterr().err


def test_eval_body_cli(tmp_path, capsys):
    def plate(z):
        return trimesh.Trimesh(
            [[-0.5, -0.5, z], [0.5, -0.5, z], [0.5, 0.5, z], [-0.5, 0.5, z]], [[0, 1, 2], [0, 2, 3]]
        )

    plate(0.02).export(tmp_path / "a.ply")
    plate(0.0).export(tmp_path / "b.ply")
    rc = main(
        [
            "eval",
            "body",
            "--pred",
            str(tmp_path / "a.ply"),
            "--gt",
            str(tmp_path / "b.ply"),
            "--samples",
            "500",
            "--json",
            str(tmp_path / "b.json"),
        ]
    )
    assert rc == 0
    assert "chamfer_cm=2.0000" in capsys.readouterr().out
    assert json.loads((tmp_path / "b.json").read_text())["p2s_cm"] == pytest.approx(2.0)
    assert (
        main(["eval", "body", "--pred", str(tmp_path / "x.ply"), "--gt", str(tmp_path / "b.ply")])
        == 2
    )
    assert "not found" in capsys.readouterr().err


def test_eval_face_nme_cli(tmp_path, capsys):
    gt = np.zeros((68, 2))
    gt[:, 0] = np.linspace(0, 100, 68)
    gt[:, 1] = np.linspace(0, 25, 68)
    np.save(tmp_path / "gt.npy", gt)
    np.save(tmp_path / "p.npy", gt + [3.0, 4.0])
    assert (
        main(
            [
                "eval",
                "face",
                "--lmk-pred",
                str(tmp_path / "p.npy"),
                "--lmk-gt",
                str(tmp_path / "gt.npy"),
            ]
        )
        == 0
    )
    assert "nme=0.1000" in capsys.readouterr().out
    assert main(["eval", "face"]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err


def test_hair_and_strands_hooks_appear_when_present():
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if a.dest == "command")
    eval_parser = sub.choices["eval"]
    eval_sub = next(a for a in eval_parser._subparsers._group_actions)
    names = set(eval_sub.choices)
    assert {"head", "body", "face"} <= names
    for mod, name in (
        ("monoscan.commands.eval_hair", "hair"),
        ("monoscan.commands.eval_strands", "strands"),
    ):
        assert (name in names) == (importlib.util.find_spec(mod) is not None)


def test_eval_face_scan_to_mesh_cli(tmp_path, capsys):
    plate = trimesh.Trimesh(
        [[-100, -100, 0], [100, -100, 0], [100, 100, 0], [-100, 100, 0]],
        [[0, 1, 2], [0, 2, 3]],
    )
    plate.export(tmp_path / "pred.obj")
    lm = np.array([[-50.0, -50, 0], [50, -50, 0], [0, 60, 0], [10, 10, 0]])
    np.savetxt(tmp_path / "lm.txt", lm)
    # The "scan": points 2 mm above the plate, in metres.
    scan = np.array([[0, 0, 2.0], [20, 10, 2.0], [-30, 40, 2.0]]) / 1000.0
    trimesh.PointCloud(scan).export(tmp_path / "scan.ply")
    np.save(tmp_path / "scan_lm.npy", lm / 1000.0)
    rc = main(
        [
            "eval",
            "face",
            "--scan",
            str(tmp_path / "scan.ply"),
            "--scan-unit",
            "m",
            "--scan-landmarks",
            str(tmp_path / "scan_lm.npy"),
            "--pred",
            str(tmp_path / "pred.obj"),
            "--pred-landmarks",
            str(tmp_path / "lm.txt"),
            "--json",
            str(tmp_path / "f.json"),
        ]
    )
    assert rc == 0
    out = json.loads((tmp_path / "f.json").read_text())
    # Refinement may lift the plate onto the points; the landmark fit alone gives 2 mm.
    assert 0.0 <= out["median_mm"] <= 2.0 + 1e-9
    assert "median_mm=" in capsys.readouterr().out
    assert main(["eval", "face", "--scan", str(tmp_path / "scan.ply")]) == 2
    assert "needs --scan-landmarks" in capsys.readouterr().err
