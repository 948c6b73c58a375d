"""Synthetic scenes: deterministic, and every written map agrees with the written truth."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from monoscan.core.errors import FormatError, InputError
from monoscan.io.images import load_image
from monoscan.io.maps import decode_strand_map
from monoscan.io.meshes import load_mesh
from monoscan.io.strands import read_strands
from monoscan.render.scene import View
from monoscan.synth.generate import FACE_SPHERE_MM, SCENE_FILES, generate_scene, write_scene
from monoscan.synth.hairstyles import HairParams, grow_hair
from monoscan.synth.scene import SceneParams, random_scene

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, object]:
    scene = generate_scene(4, camera="perspective", hair_source="procedural")
    out = tmp_path_factory.mktemp("scene")
    write_scene(scene, out)
    return out, scene


def _samples(strands, view: View, per_px: float = 3.0):
    """Project strand segments densely: pixel (col, row), world z, 2D growth direction."""
    pts = strands.points.astype(np.float64)
    sid = strands.strand_index
    seg = np.flatnonzero(sid[:-1] == sid[1:])
    uv, _ = view.project(pts)
    u0, u1 = uv[seg], uv[seg + 1]
    k = np.maximum(1, np.ceil(np.linalg.norm(u1 - u0, axis=1) * per_px)).astype(int)
    rep = np.repeat(np.arange(len(seg)), k)
    t = (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k) + 0.5) / k[rep]
    su = u0[rep] + (u1 - u0)[rep] * t[:, None]
    z = pts[seg, 2][rep] + (pts[seg + 1, 2] - pts[seg, 2])[rep] * t
    d = (u1 - u0)[rep]
    col, row = np.rint(su[:, 0]).astype(int), np.rint(su[:, 1]).astype(int)
    ok = (col >= 0) & (col < view.width) & (row >= 0) & (row < view.height)
    return col[ok], row[ok], z[ok], d[ok]


def test_writes_every_file(written):
    out, scene = written
    for name in SCENE_FILES:
        assert (out / name).is_file(), name
    doc = json.loads((out / "scene.json").read_text())
    assert SceneParams.from_json(doc["params"]) == scene.params
    assert doc["counts"]["strands"] == scene.strands.n_strands


def test_deterministic_by_seed(tmp_path):
    a = generate_scene(11)
    b = generate_scene(11)
    assert np.array_equal(a.image, b.image)
    write_scene(a, tmp_path / "a")
    write_scene(b, tmp_path / "b")
    for name in ("image.png", "strand_map.png", "strands.data", "head.obj"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    c = generate_scene(12)
    assert not np.array_equal(a.image, c.image)
    # The parameters alone rebuild the scene.
    again = generate_scene(SceneParams.loads(a.params.dumps()))
    assert np.array_equal(again.image, a.image)


def test_scene_params_json_round_trip_and_errors():
    p = random_scene(3)
    assert SceneParams.loads(p.dumps()) == p
    assert SceneParams.loads(json.dumps({"params": p.to_json()})) == p
    with pytest.raises(FormatError, match="unknown scene parameter"):
        SceneParams.from_json({**p.to_json(), "bogus": 1})
    with pytest.raises(FormatError, match="not valid JSON"):
        SceneParams.loads("{")
    with pytest.raises(InputError, match="camera must be"):
        SceneParams(seed=0, camera="fisheye")


def test_strand_map_is_the_projection_of_the_strands(written):
    out, _ = written
    view = View.from_json(json.loads((out / "camera.json").read_text()))
    strands = read_strands(out / "strands.data")
    direction, hair, body = decode_strand_map(load_image(out / "strand_map.png").rgb)
    depth_m = np.load(out / "hair_depth_m.npy")
    col, row, z, d = _samples(strands, view)
    on = hair[row, col]
    # The sample that is visible: its depth is the recorded hair depth there.
    vis = on & (np.abs(z - np.nan_to_num(depth_m[row, col], nan=-9)) < 2e-4)
    assert vis.sum() > 1000
    dn = d[vis] / np.linalg.norm(d[vis], axis=1, keepdims=True)
    cos = (dn * direction[row[vis], col[vis]]).sum(1)
    err = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    assert np.median(err) < 5.0
    assert np.mean(err < 20) > 0.9
    # The undirected orientation agrees with the strand map (mod 180 deg).
    ori = np.load(out / "orientation.npy")
    assert ori.min() >= 0 and ori.max() < np.pi
    ang = np.arctan2(direction[..., 1], direction[..., 0]) % np.pi
    diff = np.abs(ang - ori)[hair]
    diff = np.minimum(diff, np.pi - diff)
    assert np.degrees(np.median(diff)) < 1.0
    # Body pixels are encoded with R = 127, and hair lies inside the body mask.
    body_mask = load_image(out / "body_mask.png").rgb[..., 0] > 127
    assert np.all(body_mask[hair]) and body.sum() > 0 and np.all(body_mask[body])


def test_hair_depth_is_the_strands_z(written):
    out, _ = written
    view = View.from_json(json.loads((out / "camera.json").read_text()))
    strands = read_strands(out / "strands.data")
    depth = np.load(out / "hair_depth.npy")
    depth_m = np.load(out / "hair_depth_m.npy")
    hair = load_image(out / "hair_mask.png").rgb[..., 0] > 127
    # HairStep convention: [0, 1] in the mask, 0 outside, larger = closer.
    assert depth[hair].min() == 0.0 and depth[hair].max() == 1.0 and np.all(depth[~hair] == 0)
    assert np.all(np.isfinite(depth_m[hair])) and np.all(np.isnan(depth_m[~hair]))
    col, row, z, _ = _samples(strands, view)
    top = np.full(hair.shape, -np.inf)
    np.maximum.at(top, (row, col), z)
    rng = np.random.default_rng(0)
    ys, xs = np.nonzero(hair & np.isfinite(top))
    pick = rng.choice(len(xs), 2000)
    rho = spearmanr(top[ys[pick], xs[pick]], depth_m[ys[pick], xs[pick]]).statistic
    assert rho > 0.95
    rho = spearmanr(depth[ys[pick], xs[pick]], depth_m[ys[pick], xs[pick]]).statistic
    assert rho > 0.999
    # The hair mask is where strands are drawn.
    assert np.mean(np.isfinite(top[hair])) > 0.99


def test_parsing_labels(written):
    out, scene = written
    parsing = np.asarray(load_image(out / "parsing.png").rgb[..., 0])
    hair = load_image(out / "hair_mask.png").rgb[..., 0] > 127
    assert set(np.unique(parsing)) <= {0, 1, 2, 3, 4}
    assert np.array_equal(parsing == 3, hair)
    assert (parsing == 2).sum() > 2000  # face skin
    assert (parsing == 1).sum() > 2000  # clothes and neck
    # The eyes are face skin, the image corners background.
    for name in ("right_eye", "left_eye", "nose_tip"):
        x, y = np.rint(scene.landmarks_px[name]).astype(int)
        assert parsing[y, x] in (2, 3), name
    assert parsing[0, 0] == 0


def test_head_obj_in_millimetres_with_landmarks_and_regions(written):
    out, _ = written
    mesh = load_mesh(out / "head.obj")
    ext = mesh.extents
    assert 140 < ext[0] < 260 and 250 < ext[1] < 450  # head with neck, mm
    lm = dict(line.split() for line in (out / "landmarks.txt").read_text().splitlines())
    assert set(lm) == {"right_eye", "left_eye", "nose_tip", "nose_base", "right_lips", "left_lips"}
    ids = {k: int(v) for k, v in lm.items()}
    assert all(0 <= i < len(mesh.vertices) for i in ids.values())
    v = np.asarray(mesh.vertices)
    # Eyes ~63 mm apart, the right eye on the subject's right (toward -x before any yaw).
    assert 50 < np.linalg.norm(v[ids["right_eye"]] - v[ids["left_eye"]]) < 75
    nose = v[ids["nose_tip"]]
    sphere = np.loadtxt(out / "regions" / "face_sphere.txt", dtype=int)
    face = np.loadtxt(out / "regions" / "face.txt", dtype=int)
    assert np.all(np.linalg.norm(v[sphere] - nose, axis=1) <= FACE_SPHERE_MM + 1e-3)
    assert ids["nose_tip"] in set(sphere) and len(face) > 100
    # Strands in metres in the same frame: roots on the scalp, a few mm from the head.
    roots = read_strands(out / "strands.data").roots * 1000.0
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(v).query(roots)
    assert np.median(dist) < 5.0


def test_orthographic_and_perspective_cameras(tmp_path):
    for kind in ("orthographic", "perspective"):
        s = generate_scene(7, camera=kind, width=256, height=256)
        cam = s.view.to_json()
        assert cam["kind"] == kind and cam["width"] == 256
        v = View.from_json(cam)
        uv, _ = v.project(s.head_vertices[[s.landmarks["nose_tip"]]])
        assert np.allclose(uv[0], s.landmarks_px["nose_tip"])
        assert 0 < uv[0, 0] < 256 and 0 < uv[0, 1] < 256
        assert s.hair_mask.sum() > 500


def test_procedural_styles_grow_from_the_scalp():
    from monoscan.synth.generate import _head_variant

    head = _head_variant(0)[0]
    for params, lo, hi in [
        (HairParams(curl="straight", length="short", n_strands=300), 0.04, 0.1),
        (HairParams(curl="curly", length="long", n_strands=300), 0.2, 0.45),
        (HairParams(length="medium", ponytail=True, n_strands=300), 0.1, 0.5),
    ]:
        s = grow_hair(head, params)
        assert s.n_strands == 300
        d = head.distance(s.roots.astype(np.float64))
        assert np.abs(d).max() < 0.003
        assert lo < np.median(s.lengths) < hi
        # No point deep inside the head.
        assert head.distance(s.points.astype(np.float64)).min() > -0.004


def test_generator_works_without_the_real_styles(monkeypatch):
    monkeypatch.setenv("MONOSCAN_HAROLONGO", "/nonexistent/harolongo.data")
    monkeypatch.setenv("MONOSCAN_USC_GUIDES", "/nonexistent/guides")
    s = generate_scene(1, hair_source="harolongo", width=128, height=128)
    assert s.params.hair_source == "procedural" and s.strands.n_strands > 0


@pytest.mark.skipif(
    not (SHARED / "hair3d" / "digital_salon_harolongo").is_dir(),
    reason="development data ../shared/data/hair3d absent",
)
def test_real_styles_sit_on_the_head():
    s = generate_scene(2, hair_source="harolongo", width=256, height=256)
    assert s.params.hair_source == "harolongo" and s.strands.n_strands > 1000
    guides = sorted((SHARED / "hair3d" / "usc_hairsalon_guide_strands").glob("*.data"))
    if guides:
        u = generate_scene(3, hair_source="usc:" + guides[0].stem, width=256, height=256)
        assert u.params.hair_source.startswith("usc:") and u.hair_mask.sum() > 500


def test_cli_writes_scenes(tmp_path):
    from monoscan.commands.synth_scenes import register_scenes

    parser = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true")
    register_scenes(parser.add_subparsers(dest="kind"), common)
    args = parser.parse_args(
        ["scenes", "--n", "2", "--seed", "5", "--out", str(tmp_path), "--size", "128", "-q"]
    )
    assert args.func(args) == 0
    for seed in (5, 6):
        assert (tmp_path / f"scene_{seed:06d}" / "scene.json").is_file()
    bad = parser.parse_args(["scenes", "--n", "1", "--out", str(tmp_path), "--hair", "x"])
    with pytest.raises(InputError, match="--hair"):
        bad.func(bad)


def test_mediapipe_finds_the_rendered_faces():
    from monoscan.core.errors import NoFaceError
    from monoscan.perception.face import detect_face_landmarks

    found, err = 0, []
    for seed in (20, 21, 22):
        s = generate_scene(seed)
        try:
            f = detect_face_landmarks(s.image)
        except NoFaceError:
            continue
        found += 1
        eyes = np.array([f.landmarks68[36:42, :2].mean(0), f.landmarks68[42:48, :2].mean(0)])
        gt = np.array([s.landmarks_px["right_eye"], s.landmarks_px["left_eye"]])
        err.append(np.linalg.norm(eyes - gt, axis=1).mean() / np.linalg.norm(gt[0] - gt[1]))
    assert found >= 2
    assert np.median(err) < 0.15


def test_speed_reported():
    generate_scene(30)  # warm the head cache
    t = time.perf_counter()
    for seed in (31, 32):
        generate_scene(seed)
    per = (time.perf_counter() - t) / 2
    print(f"synthetic scene at 512x512: {per:.2f} s")
    assert per < 15.0
