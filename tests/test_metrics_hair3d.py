"""Tests for monoscan.metrics.hair3d and the ``monoscan eval strands`` command."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from monoscan.core.errors import FormatError, InputError
from monoscan.core.strands import Strands
from monoscan.core.volumes import VoxelGrid
from monoscan.io.strands import read_strands, write_strands
from monoscan.io.volumes import NEURALHDHAIR_GRID, read_neuralhdhair_orientation
from monoscan.metrics.hair3d import (
    evaluate_strands,
    occupancy_metrics,
    orientation_error,
    point_match,
    shared_grid,
    strand_point_metrics,
    voxelize,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
HAROLONGO = DATA / "hair3d" / "digital_salon_harolongo" / "harolongo.data"
NEURALHDHAIR = DATA / "hair3d" / "neuralhdhair_DB1"
needs_hair3d = pytest.mark.skipif(
    not HAROLONGO.exists() or not NEURALHDHAIR.exists(), reason="../shared/data/hair3d missing"
)


def _translate(s: Strands, offset) -> Strands:
    m = np.eye(4)
    m[:3, 3] = offset
    return s.transform(m)


def _comb(n: int = 10, gap: float = 0.02, length: float = 0.1) -> Strands:
    """``n`` straight vertical strands, ``gap`` metres apart along x, 11 points each."""
    y = np.linspace(0, -length, 11)
    return Strands.from_list(
        [np.stack([np.full(11, i * gap), y, np.zeros(11)], 1) for i in range(n)]
    )


# ----------------------------------------------------------------------------- hand computed
def test_occupancy_metrics_hand_computed():
    p = np.zeros((2, 2, 2), bool)
    g = np.zeros((2, 2, 2), bool)
    p[0, 0, :] = True  # 2 voxels
    g[0, :, 0] = True  # 2 voxels, 1 shared
    g[1, 1, 1] = True  # 3 gt voxels
    m = occupancy_metrics(p, g)
    assert m["iou"] == pytest.approx(1 / 4)
    assert m["precision"] == pytest.approx(1 / 2)
    assert m["recall"] == pytest.approx(1 / 3)
    assert (m["pred_voxels"], m["gt_voxels"], m["shared_voxels"]) == (2, 3, 1)
    with pytest.raises(InputError):
        occupancy_metrics(p, g[0])


def test_orientation_error_hand_computed_undirected():
    a = np.array([[1, 0, 0], [1, 0, 0], [0, 2, 0], [1, 0, 0], [0, 0, 0]], float)
    b = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, np.sqrt(3)], [0, 0, 5], [1, 0, 0]], float)
    e = orientation_error(a, b)
    # 0, 0 (opposite = same line), 60, 90; the zero vector is skipped.
    assert e["n_voxels"] == 4
    assert e["mean_deg"] == pytest.approx(150 / 4)
    assert e["median_deg"] == pytest.approx(30)
    e = orientation_error(a, b, mask=np.array([0, 0, 1, 0, 0], bool))
    assert e["mean_deg"] == pytest.approx(60)


def test_point_match_distance_and_angle_thresholds():
    ref = np.array([[0.001, 0, 0]])
    deg25 = np.radians(25)
    ref_t = np.array([[np.cos(deg25), np.sin(deg25), 0]])
    pts, tan = np.zeros((1, 3)), np.array([[-1.0, 0, 0]])  # opposite sign: undirected
    hits = point_match(pts, tan, ref, ref_t, [0.002, 0.003, 0.004], [20, 30, 40])
    assert hits[:, 0].tolist() == [False, True, True]
    assert not point_match(pts, tan, ref, ref_t, 0.0009, 40)[0]


def test_point_match_is_exact_with_many_wrong_neighbours():
    # 500 reference points at distance 0.1 mm with perpendicular tangents, and one at 1.9 mm
    # with the right tangent: the match must still be found (neighbour batches grow).
    ref = np.concatenate([np.full((500, 3), 1e-4) * [1, 0, 0], [[0.0019, 0, 0]]])
    ref_t = np.concatenate([np.tile([0, 1, 0], (500, 1)), [[1, 0, 0]]]).astype(float)
    assert point_match(np.zeros((1, 3)), [[1, 0, 0]], ref, ref_t, 0.002, 20)[0]
    assert not point_match(np.zeros((1, 3)), [[1, 0, 0]], ref[:500], ref_t[:500], 0.002, 20)[0]


def test_strand_point_metrics_known_answers_on_a_comb():
    comb = _comb()
    for row in strand_point_metrics(comb, comb):
        assert (row["precision"], row["recall"], row["f1"]) == (1.0, 1.0, 1.0)
    # Shifted by 10 mm, halfway between strands 20 mm apart: nothing within 4 mm.
    for row in strand_point_metrics(_translate(comb, [0.01, 0, 0]), comb):
        assert row["f1"] == 0.0
    # Shifted by 2.5 mm: matched at 3 and 4 mm, not at 2 mm.
    f1 = [r["f1"] for r in strand_point_metrics(_translate(comb, [0.0025, 0, 0]), comb)]
    assert f1 == [0.0, 1.0, 1.0]
    # Half of the strands removed: precision 1, recall exactly 1/2.
    half = comb.subset(np.arange(10) % 2 == 0)
    for row in strand_point_metrics(half, comb):
        assert row["precision"] == 1.0 and row["recall"] == pytest.approx(0.5, abs=1e-9)
        assert row["f1"] == pytest.approx(2 / 3)
    # One strand tilted by 35 degrees about its middle: beyond 20 and 30 deg, within 40 deg
    # for the points within 4 mm of the original, |u| sin 35 <= 4 mm, about 14 % of them.
    one = comb.subset([0])
    c, s = np.cos(np.radians(35)), np.sin(np.radians(35))
    mid = one.points.mean(0)
    tilted = Strands((one.points - mid) @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T + mid,
                     one.counts)  # fmt: skip
    rows = strand_point_metrics(tilted, one)
    assert rows[0]["f1"] == 0.0 and rows[1]["f1"] == 0.0
    assert rows[2]["f1"] == pytest.approx(2 * 0.004 / np.sin(np.radians(35)) / 0.1, abs=0.03)


def test_voxelize_a_straight_strand():
    grid = VoxelGrid(lo=(0, 0, 0), voxel_size=(0.01, 0.01, 0.01), shape=(10, 10, 10))
    s = Strands.from_list([[[0.001, 0.055, 0.055], [0.099, 0.055, 0.055]]])
    v = voxelize(s, grid)
    assert v.occupancy.sum() == 10
    assert v.occupancy[:, 5, 5].all()
    np.testing.assert_allclose(v.orientation[:, 5, 5], np.tile([1, 0, 0], (10, 1)), atol=1e-6)
    assert np.all(v.orientation[~v.occupancy] == 0)
    ijk, inside = grid.index(np.array([[0.5, 0.5, 0.5], [0.015, 0.0, 0.099]]))
    assert inside.tolist() == [False, True] and ijk[1].tolist() == [1, 0, 9]


def test_shared_grid_covers_both_sets_with_cubic_voxels():
    a = _comb()
    b = _translate(a, [0, 0, 0.3])
    g = shared_grid(a, b, resolution=64)
    assert g.shape == (64, 64, 64)
    assert len(set(g.voxel_size)) == 1
    for s in (a, b):
        _, inside = g.index(s.points)
        assert inside.all()
    with pytest.raises(InputError):
        shared_grid(Strands.from_list([]))


def test_evaluate_strands_identity_and_disjoint():
    comb = _comb()
    e = evaluate_strands(comb, comb)
    assert e["occupancy"]["iou"] == 1.0
    assert e["orientation"]["mean_deg"] == pytest.approx(0.0, abs=1e-4)
    assert [r["f1"] for r in e["points"]] == [1.0, 1.0, 1.0]
    far = evaluate_strands(_translate(comb, [0, 0, 0.05]), comb)
    assert far["occupancy"]["iou"] == 0.0 and np.isnan(far["orientation"]["mean_deg"])


# ----------------------------------------------------------------------------- real data
@needs_hair3d
def test_harolongo_against_perturbed_copies():
    hair = read_strands(HAROLONGO, unit="cm")
    # A sparse subset (every 40th strand, ~200 strands) keeps the default run fast and
    # makes strands far enough apart for "per-strand" answers.
    sub = hair.subset(np.arange(0, hair.n_strands, 40))
    same = evaluate_strands(sub, sub, spacing=0.002)
    assert same["occupancy"]["iou"] == 1.0
    assert same["orientation"]["median_deg"] == pytest.approx(0.0, abs=1e-4)
    assert [r["f1"] for r in same["points"]] == [1.0, 1.0, 1.0]
    shifted = evaluate_strands(_translate(sub, [0.01, 0, 0]), sub, spacing=0.002)
    f1 = [r["f1"] for r in shifted["points"]]
    assert f1[0] < 0.15 and f1[0] < f1[1] < f1[2] < 0.5
    rng = np.random.default_rng(0)
    keep = rng.random(sub.n_strands) < 0.5
    half = evaluate_strands(sub.subset(keep), sub, spacing=0.002)
    assert half["occupancy"]["precision"] == 1.0
    kept = sub.lengths[keep].sum() / sub.lengths.sum()  # fraction of hair length kept
    assert 0.4 < kept < 0.6
    # Recall is the kept fraction, raised a little where removed strands pass through the
    # same voxels (or within 2 mm) as kept ones, near the scalp.
    assert kept - 0.01 <= half["occupancy"]["recall"] <= kept + 0.1
    rows = half["points"]
    assert all(r["precision"] == 1.0 for r in rows)
    assert kept - 0.01 <= rows[0]["recall"] <= kept + 0.1
    assert rows[0]["recall"] < rows[1]["recall"] < rows[2]["recall"]


@needs_hair3d
@pytest.mark.slow
def test_harolongo_full_density():
    """Full 7,905 strands: dense hair lets neighbouring strands match (documented)."""
    hair = read_strands(HAROLONGO, unit="cm")
    shifted = evaluate_strands(_translate(hair, [0.01, 0, 0]), hair)
    f1 = [r["f1"] for r in shifted["points"]]
    assert 0.2 < f1[0] < f1[1] < f1[2] < 0.9
    keep = np.random.default_rng(0).random(hair.n_strands) < 0.5
    rows = strand_point_metrics(hair.subset(keep), hair)
    assert all(r["precision"] == 1.0 for r in rows) and rows[0]["recall"] > 0.9


@needs_hair3d
def test_neuralhdhair_orientation_volume_matches_its_strands():
    vol = read_neuralhdhair_orientation(NEURALHDHAIR / "Ori_gt.mat")
    assert vol.grid == NEURALHDHAIR_GRID
    assert vol.occupancy.shape == (128, 128, 96) and vol.orientation.shape == (128, 128, 96, 3)
    assert vol.occupancy.sum() == 66211
    norms = np.linalg.norm(vol.orientation[vol.occupancy], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    # Its own result strands, voxelised on the same grid, land in the volume with the same
    # growth direction: this pins the axis order and flips of the reader.
    strands = read_strands(NEURALHDHAIR / "result.hair")
    mine = voxelize(strands, NEURALHDHAIR_GRID)
    occ = occupancy_metrics(mine.occupancy, vol.occupancy)
    assert occ["precision"] > 0.8
    shared = mine.occupancy & vol.occupancy
    err = orientation_error(mine.orientation, vol.orientation, shared)
    assert err["median_deg"] < 6.0 and err["mean_deg"] < 15.0
    directed = np.sum(mine.orientation[shared] * vol.orientation[shared], axis=1)
    assert directed.mean() > 0.9
    # Mirroring y breaks the agreement (the test would catch a wrong flip).
    mirrored = strands.transform(np.diag([1.0, -1.0, 1.0, 1.0]) @ np.diag([1, 1, 1, 1.0]))
    mirrored = _translate(mirrored, [0, 0.5, 0])
    bad = voxelize(mirrored, NEURALHDHAIR_GRID)
    assert occupancy_metrics(bad.occupancy, vol.occupancy)["precision"] < 0.6


def test_neuralhdhair_reader_errors(tmp_path):
    from scipy.io import savemat

    savemat(tmp_path / "wrong_key.mat", {"Occ": np.zeros((2, 2))})
    with pytest.raises(FormatError, match="no 'Ori'"):
        read_neuralhdhair_orientation(tmp_path / "wrong_key.mat")
    savemat(tmp_path / "shape.mat", {"Ori": np.zeros((128, 128, 3))})
    with pytest.raises(FormatError, match="expected"):
        read_neuralhdhair_orientation(tmp_path / "shape.mat")
    (tmp_path / "junk.mat").write_bytes(b"not a mat file" * 20)
    with pytest.raises(FormatError, match="junk.mat"):
        read_neuralhdhair_orientation(tmp_path / "junk.mat")
    with pytest.raises(InputError, match="no such file"):
        read_neuralhdhair_orientation(tmp_path / "missing.mat")


# ----------------------------------------------------------------------------- CLI
def _eval_parser() -> argparse.ArgumentParser:
    from monoscan.commands import eval_strands

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true")
    parser = argparse.ArgumentParser(prog="monoscan eval")
    eval_strands.register(parser.add_subparsers(dest="what"), common)
    return parser


def test_cli_eval_strands_table_and_json(tmp_path, capsys):
    comb = _comb()
    pred = write_strands(tmp_path / "pred.ply", _translate(comb, [0.0025, 0, 0]))
    gt = write_strands(tmp_path / "gt.data", comb, unit="mm")
    args = _eval_parser().parse_args(
        ["strands", "--pred", str(pred), "--gt", str(gt), "--gt-unit", "mm",
         "--json", str(tmp_path / "out" / "m.json")]
    )  # fmt: skip
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "occupancy" in out and "orientation" in out
    assert "2.0 mm   20 deg  0.0000     0.0000   0.0000" in out
    assert "4.0 mm   40 deg  1.0000     1.0000   1.0000" in out
    result = json.loads((tmp_path / "out" / "m.json").read_text())
    assert [r["f1"] for r in result["points"]] == [0.0, 1.0, 1.0]
    assert result["n_strands"] == {"pred": 10, "gt": 10}


def test_cli_eval_strands_bad_input(tmp_path):
    (tmp_path / "bad.data").write_bytes(b"\x05\x00")
    write_strands(tmp_path / "gt.data", _comb())
    args = _eval_parser().parse_args(
        ["strands", "--pred", str(tmp_path / "bad.data"), "--gt", str(tmp_path / "gt.data")]
    )
    with pytest.raises(FormatError, match="too short"):
        args.func(args)


@pytest.mark.skipif(
    importlib.util.find_spec("monoscan.commands.eval") is None, reason="eval group not built yet"
)
def test_monoscan_eval_strands_through_the_main_cli(tmp_path, capsys):
    from monoscan.cli import main

    comb = _comb()
    write_strands(tmp_path / "gt.hair", comb)
    write_strands(tmp_path / "pred.glb", comb.subset(np.arange(10) % 2 == 0))
    argv = ["eval", "strands", "--pred", str(tmp_path / "pred.glb"), "--gt",
            str(tmp_path / "gt.hair"), "--json", str(tmp_path / "m.json")]  # fmt: skip
    assert main(argv) == 0
    rows = json.loads((tmp_path / "m.json").read_text())["points"]
    assert [r["recall"] for r in rows] == [0.5, 0.5, 0.5]
    assert main(["eval", "strands", "--pred", str(tmp_path / "nope.data"), "--gt", "x.hair"]) == 2
    assert "error: " in capsys.readouterr().err
