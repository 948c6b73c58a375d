"""The training corpus: style catalogue and splits, every style kind, exact reproduction, and
truth that matches the render (monoscan.synth.catalogue / styles / densify / corpus)."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from monoscan.core.errors import InputError, MonoscanError
from monoscan.synth.catalogue import (
    N_VARIANTS,
    PROC_KINDS,
    SPLITS,
    catalogue,
    draw_style,
    parse_style,
    split_of,
)
from monoscan.synth.generate import VOLUME_FILES, generate_scene, hair_volume, write_scene
from monoscan.synth.scene import SceneParams, corpus_scene
from monoscan.synth.styles import Augment, build_style, proc_params

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hair3d"
HAVE_USC = (SHARED / "usc_hairsalon_guide_strands").is_dir()


@pytest.fixture(scope="module")
def head():
    from monoscan.synth.generate import _head_variant

    return _head_variant(0)[0]


# ---------------------------------------------------------------------------- catalogue


def test_no_base_style_in_two_splits_and_mirrors_follow_their_base():
    styles = catalogue()
    split_by_base: dict[str, set[str]] = {}
    for s in styles:
        split_by_base.setdefault(s.base, set()).add(s.split)
        assert s.split == split_of(s.id) == split_of(s.base)
    assert all(len(v) == 1 for v in split_by_base.values())
    ids = {s.id for s in styles}
    for s in styles:  # every style comes with its mirror
        assert (s.base + ":mirror") in ids and s.base in ids
    # The splits partition the catalogue.
    parts = [{s.id for s in catalogue(sp)} for sp in SPLITS]
    assert sum(map(len, parts)) == len(ids) and set().union(*parts) == ids


def test_split_sizes_and_every_kind_in_every_split():
    bases = [s for s in catalogue() if not s.mirror]
    counts = Counter(s.split for s in bases)
    n = len(bases)
    assert 0.72 < counts["train"] / n < 0.88
    assert 0.05 < counts["val"] / n < 0.15 and 0.05 < counts["test"] / n < 0.15
    for kind in PROC_KINDS:
        got = {s.split for s in bases if s.kind == kind}
        assert got == set(SPLITS), kind
    if HAVE_USC:
        usc = [s for s in bases if s.family == "usc"]
        assert len(usc) == 343
        assert {s.split for s in usc} == set(SPLITS)


def test_split_rule_is_fixed():
    # The rule is a pure function of the id: pinned values guard against a silent change.
    assert split_of("proc:afro:0") == split_of("proc:afro:0:mirror")
    assert [split_of(f"usc:{i:05d}") for i in (1, 2, 3)] == [
        parse_style(f"usc:{i:05d}").split for i in (1, 2, 3)
    ]
    snapshot = {sid: split_of(sid) for sid in ("usc:00001", "harolongo", "proc:braid:7")}
    assert snapshot == {sid: split_of(sid) for sid in snapshot}


def test_parse_style_rejects_unknown_ids():
    for bad in ("usc:1", "proc:mohawk:1", f"proc:afro:{N_VARIANTS}", "proc:afro:01", "x"):
        with pytest.raises(InputError, match="unknown style id"):
            parse_style(bad)
    assert parse_style("proc:afro:3:mirror").mirror


def test_draw_style_stays_in_its_split():
    for split in SPLITS:
        drawn = [draw_style(split, seed) for seed in range(150)]
        assert {s.split for s in drawn} == {split}
        assert len({s.kind for s in drawn}) >= 8  # many kinds get drawn
    assert draw_style("test", 5) == draw_style("test", 5)


def test_corpus_scene_records_style_and_split():
    p = corpus_scene("val", 3)
    assert p.split == "val" and parse_style(p.style).split == "val"
    assert p == corpus_scene("val", 3)
    assert SceneParams.loads(p.dumps()) == p
    assert 10_000 <= p.n_strands <= 50_000
    with pytest.raises(InputError, match="is in split"):
        replace(p, split="train" if p.split != "train" else "test")
    yaws = [corpus_scene("train", s).yaw_deg for s in range(80)]
    assert min(yaws) < -60 and max(yaws) > 60 and any(abs(y) > 90 for y in yaws)
    frontal = [corpus_scene("train", s, views="frontal").yaw_deg for s in range(40)]
    assert max(abs(y) for y in frontal) <= 30


# ---------------------------------------------------------------------------- styles


@pytest.mark.parametrize("kind", PROC_KINDS)
def test_every_kind_grows_strands_on_the_scalp(head, kind):
    variant = N_VARIANTS - 1  # for bald: a fringe variant
    spec = parse_style(f"proc:{kind}:{variant}")
    s = build_style(head, spec, 1500, np.random.default_rng(0))
    assert s.n_strands > 300, kind
    assert np.all(s.counts >= 2)
    d = head.distance(s.roots.astype(np.float64))
    assert np.median(np.abs(d)) < 0.004, kind
    # Almost no point inside the head (points off the grid's bottom are not looked up).
    p = s.points.astype(np.float64)
    on_grid = p[:, 1] >= head.sdf_lo[1]
    assert np.mean(head.distance(p[on_grid]) < -0.002) < 0.01, kind


def test_fully_bald_variants_have_no_hair(head):
    spec = parse_style("proc:bald:0")
    assert not proc_params("bald", 0)["fringe"]
    assert build_style(head, spec, 1000, np.random.default_rng(0)).n_strands == 0


def test_mirror_is_the_style_reflected(head):
    a = build_style(head, parse_style("proc:ponytail:4"), 800, np.random.default_rng(1))
    b = build_style(head, parse_style("proc:ponytail:4:mirror"), 800, np.random.default_rng(1))
    assert np.array_equal(a.counts, b.counts)
    assert np.allclose(a.points * np.array([-1, 1, 1]), b.points)


def test_augmentations_change_length_and_curl(head):
    spec = parse_style("proc:straight:0")
    base = build_style(head, spec, 800, np.random.default_rng(2))
    short = build_style(head, spec, 800, np.random.default_rng(2), Augment(length=0.7))
    assert np.median(short.lengths) < 0.85 * np.median(base.lengths)
    wavy = build_style(head, spec, 800, np.random.default_rng(2), Augment(wave=0.008))
    # A wave adds length along the same path.
    assert np.median(wavy.lengths) > np.median(base.lengths)


@pytest.mark.skipif(not HAVE_USC, reason="development data ../shared/data/hair3d absent")
def test_usc_style_is_densified_from_its_five_guides(head):
    s = build_style(head, parse_style("usc:00100"), 3000, np.random.default_rng(0))
    assert s.n_strands == 3000
    # The guides' lengths (0.31-0.48 m on the USC head) survive the densification.
    assert 0.15 < np.median(s.lengths) < 0.5


# ---------------------------------------------------------------------------- scenes


@pytest.fixture(scope="module")
def corpus_scene_pair():
    p = replace(corpus_scene("train", 11, 256, 256), yaw_deg=20.0, n_strands=12_000)
    return generate_scene(p), generate_scene(p, cull=False)


def test_culling_keeps_the_truth_maps(corpus_scene_pair):
    a, b = corpus_scene_pair
    assert np.array_equal(a.hair_mask, b.hair_mask)
    same = (a.direction == b.direction).all(-1)[a.hair_mask]
    assert same.mean() > 0.999
    assert np.abs(a.image.astype(int) - b.image).mean() < 1.0


def test_strands_project_into_the_rendered_hair(corpus_scene_pair):
    scene, _ = corpus_scene_pair
    uv, _ = scene.view.project(scene.strands.points.astype(np.float64))
    h, w = scene.hair_mask.shape
    px = np.rint(uv).astype(int)
    ok = (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
    assert ok.mean() > 0.95
    col, row = px[ok, 0], px[ok, 1]
    # Every strand point is seen as hair or hidden behind the person.
    assert scene.body_mask[row, col].mean() > 0.99
    assert scene.hair_mask[row, col].mean() > 0.5
    # And the hair mask is where strand points are (within 2 px).
    import cv2

    hit = np.zeros((h, w), np.uint8)
    hit[row, col] = 1
    near = cv2.dilate(hit, np.ones((5, 5), np.uint8)) > 0
    assert near[scene.hair_mask].mean() > 0.99


def test_hair_volume_in_the_usc_frame(tmp_path, corpus_scene_pair):
    from monoscan.io.strands import read_strands

    scene, _ = corpus_scene_pair
    vol = hair_volume(scene)
    assert vol.occupancy.shape == (128, 128, 128) and vol.occupancy.sum() > 500
    n = np.linalg.norm(vol.orientation[vol.occupancy], axis=1)
    assert np.allclose(n, 1.0, atol=1e-3)
    write_scene(scene, tmp_path, volumes=True)
    for name in VOLUME_FILES:
        assert (tmp_path / name).is_file()
    z = np.load(tmp_path / "volume.npz")
    assert np.array_equal(z["occupancy"], vol.occupancy)
    assert np.allclose(z["lo"], [-0.3, 1.0, -0.3])
    usc = read_strands(tmp_path / "strands_usc.data")
    # The hair sits on the USC head: y of the roots between the ears and the crown.
    assert 1.5 < np.median(usc.roots[:, 1]) < 1.95
    doc = json.loads((tmp_path / "scene.json").read_text())
    assert doc["style"]["split"] == "train" and "volume.npz" in doc["files"]


def _cli(tmp: Path, *extra: str):
    from monoscan.commands.synth_scenes import register_scenes

    parser = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true")
    register_scenes(parser.add_subparsers(dest="kind"), common)
    args = parser.parse_args(["scenes", "--out", str(tmp), "-q", *extra])
    return args.func(args)


def test_cli_split_is_reproducible_byte_for_byte(tmp_path):
    argv = ("--split", "test", "--n", "2", "--seed", "7", "--size", "128")
    assert _cli(tmp_path / "a", *argv) == 0
    assert _cli(tmp_path / "b", *argv) == 0
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert files_a == files_b and len(files_a) >= 2 * 15
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    for seed in (7, 8):
        doc = json.loads((tmp_path / "a" / f"scene_{seed:06d}" / "scene.json").read_text())
        assert doc["style"]["split"] == "test" and doc["params"]["split"] == "test"
        assert parse_style(doc["params"]["style"]).split == "test"
        assert "timings_s" not in doc
    with pytest.raises(InputError, match="--split"):
        _cli(tmp_path / "c", "--split", "test", "--n", "1", "--hair", "procedural")
    with pytest.raises(InputError, match="go with --split"):
        _cli(tmp_path / "c", "--n", "1", "--volumes")


def test_bench_split_scores_only_that_splits_styles():
    from monoscan.core.errors import NoFaceError
    from monoscan.evaluation.synthetic import format_split_table, format_table, run_bench

    def no_face(image):
        raise NoFaceError("no face (test)")

    r = run_bench(4, seed=0, predict=no_face, size=128, split="test", full_3d=False)
    assert r["split"] == "test" and sum(r["styles"].values()) == 4
    assert all(parse_style(s).split == "test" for s in r["styles"])
    assert len(r["failures"]) == 4 and r["metrics"]["face_found"] == 0.0
    assert "test hairstyles" in format_table(r)
    t = format_split_table({"train": r, "test": r})
    assert "train" in t.splitlines()[1] and "test" in t.splitlines()[1]
    assert issubclass(NoFaceError, MonoscanError)
