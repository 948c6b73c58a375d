"""Tests for monoscan.datasets.hisa (HiSa/HiDa layout) and ``monoscan eval hair``."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from monoscan.core.errors import FormatError, InputError
from monoscan.datasets.hisa import (
    HisaSample,
    list_samples,
    parse_svg_strokes,
    rasterize_strokes,
    read_camera,
    read_relative_depth,
    read_sample,
    read_split,
    strokes_to_strand_map,
    write_camera,
    write_sample,
    write_split,
)
from monoscan.io.maps import decode_strand_map

SVG = """<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 256 256">
  <g transform="translate(10,0)">
    <path d="M 0 10 L 20 10 l 0 20 Z" fill="none"/>
    <path d="m 100 100 c 0 10, 10 20, 20 20 H 150 V 160 q 5 5 10 0"/>
  </g>
  <polyline points="5,5 5,25 6,45"/>
  <line x1="1" y1="2" x2="3" y2="4" transform="scale(2)"/>
</svg>
"""


def test_parse_svg_paths_transforms_and_viewbox():
    s = parse_svg_strokes(SVG, samples_per_curve=4)
    assert len(s) == 4
    # Path 1: M L l Z with the group translate(10, 0).
    np.testing.assert_allclose(s[0], [[10, 10], [30, 10], [30, 30], [10, 10]])
    # Path 2: relative cubic from (110, 100) ending at (130, 120); H and V absolute; q relative.
    p = s[1]
    np.testing.assert_allclose(p[0], [110, 100])
    np.testing.assert_allclose(p[4], [130, 120])  # end of the 4-sample cubic
    np.testing.assert_allclose(p[5], [160, 120])  # H 150 (+10)
    np.testing.assert_allclose(p[6], [160, 160])  # V 160
    np.testing.assert_allclose(p[-1], [170, 160])  # q end (+10, +0)
    np.testing.assert_allclose(s[2], [[5, 5], [5, 25], [6, 45]])
    np.testing.assert_allclose(s[3], [[2, 4], [6, 8]])
    # With a raster shape the 256 view box maps onto 512 pixels.
    s2 = parse_svg_strokes(SVG, shape=(512, 512), samples_per_curve=4)
    np.testing.assert_allclose(s2[2], 2 * s[2])


def test_svg_refuses_entities_and_garbage():
    with pytest.raises(FormatError, match="entities"):
        parse_svg_strokes('<!DOCTYPE x [<!ENTITY a "b">]><svg/>')
    with pytest.raises(FormatError, match="SVG"):
        parse_svg_strokes("<svg><path d='M 1 2 L 3'/>")
    with pytest.raises(FormatError, match="lacks numbers"):
        parse_svg_strokes("<svg><path d='M 1 2 L 3'/></svg>")


def test_rasterize_direction_from_stroke_order():
    right = [np.array([[10.0, 20.0], [50.0, 20.0]])]
    d, cov = rasterize_strokes(right, (40, 64), width=3)
    assert cov[20, 30] and cov[19, 30] and cov[21, 30] and not cov[25, 30]
    np.testing.assert_allclose(d[20, 30], [1, 0], atol=1e-6)
    d2, _ = rasterize_strokes([s[::-1] for s in right], (40, 64))
    np.testing.assert_allclose(d2[20, 30], [-1, 0], atol=1e-6)
    # Fill: every hair pixel takes the nearest stroke's direction; outside hair is 0.
    hair = np.zeros((40, 64), bool)
    hair[5:35, 5:60] = True
    down = [np.array([[40.0, 5.0], [40.0, 35.0]])]
    d3, _ = rasterize_strokes(right + down, (40, 64), hair_mask=hair)
    np.testing.assert_allclose(d3[30, 10], [1, 0], atol=1e-6)  # nearer the horizontal stroke
    np.testing.assert_allclose(d3[10, 45], [0, 1], atol=1e-6)  # nearer the vertical one
    assert not d3[~hair].any() and (np.linalg.norm(d3[hair], axis=-1) > 0.99).all()
    sm = strokes_to_strand_map(down, hair)
    assert sm[10, 10].tolist() == [255, 0, 128] and sm[0, 0].tolist() == [0, 0, 0]


def test_camera_round_trip_and_hairstep_format(tmp_path):
    cam = {
        "ortho_ratio": 0.2,
        "scale": np.array([363.1]),
        "center": np.array([[0.0], [1.64], [-0.03]]),
        "R": np.eye(3) * 0.9,
    }
    path = write_camera(tmp_path / "camera_param" / "a.npy", cam)
    # HairStep reads its own files with np.load(allow_pickle=True).item().
    raw = np.load(path, allow_pickle=True).item()
    assert set(raw) == {"ortho_ratio", "scale", "center", "R"}
    back = read_camera(path)
    assert back["ortho_ratio"] == pytest.approx(0.2)
    np.testing.assert_allclose(back["scale"], [363.1], rtol=1e-6)
    np.testing.assert_allclose(back["center"], cam["center"], rtol=1e-6)
    np.testing.assert_allclose(back["R"], cam["R"], rtol=1e-6)


def test_camera_reader_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    bad = tmp_path / "evil.npy"
    np.save(bad, np.array({"scale": Evil()}, dtype=object), allow_pickle=True)
    with pytest.raises(FormatError, match="refusing"):
        read_camera(bad)
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(FormatError):
        read_camera(tmp_path / "junk.npy")
    assert pickle  # imported for the Evil class protocol


def test_relative_depth_conventions(tmp_path):
    np.save(tmp_path / "p.npy", np.array([[1, 2, 3, 4], [5, 6, 7, 8]]))
    np.save(tmp_path / "l.npy", np.array([1, 0]))
    pairs, labels = read_relative_depth(tmp_path / "p.npy", tmp_path / "l.npy")
    assert pairs[1].tolist() == [5, 6, 7, 8]
    assert labels.tolist() == [1, -1]  # {0, 1} labels read as {-1, +1}
    pairs_yx, _ = read_relative_depth(tmp_path / "p.npy", tmp_path / "l.npy", "yx")
    assert pairs_yx[0].tolist() == [2, 1, 4, 3]
    np.save(tmp_path / "l3.npy", np.array([1, 0, -1]))
    with pytest.raises(FormatError, match="labels"):
        read_relative_depth(tmp_path / "p.npy", tmp_path / "l3.npy")


def make_sample(name="s1", size=64):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    hair = np.zeros((size, size), bool)
    hair[4:40, 8:56] = True
    body = np.zeros((size, size), bool)
    body[40:, :] = True
    strokes = [
        np.array([[10.0 + 6 * i, 6.0], [12.0 + 6 * i, 20.0], [14.0 + 6 * i, 38.0]])
        for i in range(7)
    ]
    sm = strokes_to_strand_map(strokes, hair, body)
    depth = np.zeros((size, size), np.float32)
    depth[hair] = np.linspace(0, 1, int(hair.sum()), dtype=np.float32)
    pairs = np.array([[10, 10, 10, 30], [20, 5, 20, 35], [2, 2, 10, 10]])
    labels = np.array([-1, -1, 1])
    cam = {"ortho_ratio": 0.2, "scale": [300.0], "center": [[0], [1.6], [0]], "R": np.eye(3)}
    return HisaSample(name, image, hair, body, strokes, sm, cam, pairs, labels, depth)


def test_sample_round_trip(tmp_path):
    s = make_sample()
    written = write_sample(tmp_path, s)
    assert len(written) == 9
    assert (tmp_path / "stroke" / "s1.svg").is_file()
    assert (tmp_path / "relative_depth" / "labels" / "s1.npy").is_file()
    write_split(tmp_path, "train", ["s1"])
    (tmp_path / "split_test.json").write_text(json.dumps(["s1.png"]))
    assert list_samples(tmp_path) == ["s1"]
    assert read_split(tmp_path, "train") == ["s1"] and read_split(tmp_path, "test") == ["s1"]
    r = read_sample(tmp_path, "s1")
    assert (r.image == s.image).all() and (r.hair_mask == s.hair_mask).all()
    assert (r.body_mask == s.body_mask).all() and (r.strand_map == s.strand_map).all()
    assert len(r.strokes) == 7
    for a, b in zip(r.strokes, s.strokes, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3)
    assert (r.pairs == s.pairs).all() and (r.labels == s.labels).all()
    np.testing.assert_array_equal(r.depth, s.depth)
    np.testing.assert_allclose(r.camera["center"].ravel(), [0, 1.6, 0], atol=1e-6)
    # Strand map re-rasterised from the re-read SVG equals the stored one.
    again = strokes_to_strand_map(r.strokes, r.hair_mask, r.body_mask)
    assert (again == r.strand_map).mean() > 0.999
    # Directions: strokes run downward (root at the top).
    d = r.direction
    assert (d[r.hair_mask][:, 1] > 0.9).all()
    with pytest.raises(InputError, match="no such sample"):
        read_sample(tmp_path, "nope")
    with pytest.raises(InputError, match="invalid sample name"):
        write_sample(tmp_path, HisaSample("../x", s.image))


def test_eval_hair_cli(tmp_path, capsys):
    from monoscan.cli import main

    gt = tmp_path / "gt"
    s = make_sample()
    write_sample(gt, s)
    write_sample(gt, make_sample("s2"))
    pred = tmp_path / "pred"
    # s1 in monoscan's layout: same hair, left half of the directions reversed, and a depth
    # that orders the pairs: pair 0 right, pair 1 wrong, pair 2 skipped (A outside hair).
    (pred / "s1").mkdir(parents=True)
    d, hair, body = decode_strand_map(s.strand_map)
    d2 = d.copy()
    d2[:, :32] *= -1
    from monoscan.io.images import save_png
    from monoscan.io.maps import encode_strand_map, save_npy

    save_png(pred / "s1" / "strand_map.png", encode_strand_map(d2, hair, body))
    save_png(pred / "s1" / "hair_mask.png", hair.astype(np.uint8) * 255)
    depth = np.zeros((64, 64), np.float32)
    depth[hair] = 0.5
    depth[30, 10], depth[10, 10] = 0.9, 0.1  # pair 0: B (10, 30) closer -> label -1 correct
    depth[5, 20], depth[35, 20] = 0.8, 0.2  # pair 1: A closer, label -1 -> wrong
    save_npy(pred / "s1" / "hair_depth.npy", depth)
    out_json = tmp_path / "m.json"
    rc = main(["eval", "hair", "--pred", str(pred), "--gt", str(gt), "--json", str(out_json)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "s1" in text and "mean" in text and "without a prediction" in text
    rep = json.loads(out_json.read_text())
    m = rep["per_image"]["s1"]
    frac = (hair[:, :32].sum()) / hair.sum()  # reversed share of the hair pixels
    assert m["hairsale_deg"] == pytest.approx(180 * frac, abs=0.5)
    assert m["hairsale_capped90_deg"] == pytest.approx(90 * frac, abs=0.5)
    assert m["orientation_error_deg"] == pytest.approx(0.0, abs=0.5)
    assert m["hair_iou"] == pytest.approx(1.0)
    assert m["hairrida_percent"] == pytest.approx(50.0) and m["n_pairs"] == 2
    assert rep["missing"] == ["s2"] and rep["n_images"] == 1
    assert rep["mean"]["hair_iou"] == pytest.approx(1.0)
    # Errors are one-line messages with exit code 2.
    assert main(["eval", "hair", "--pred", str(tmp_path / "none"), "--gt", str(gt)]) == 2
    assert "folder not found" in capsys.readouterr().err
