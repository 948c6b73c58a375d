"""The clothed parametric body (:mod:`monoscan.body.clothed`): closed, on the silhouette,
behind ``--model parametric`` only."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import trimesh

from monoscan.body.clothed import ClothedOptions, clothed_body
from monoscan.body.mesh import world_to_photo
from monoscan.render.raster import rasterize

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fullbody"
needs_data = pytest.mark.skipif(
    not (DATA / "pifu__ryota.png").exists(), reason="../shared/data/fullbody not present"
)


def _iou(a, b):
    return float((a & b).sum() / (a | b).sum())


def _silhouette(vertices, faces, scale, origin, shape):
    p = world_to_photo(vertices, scale, origin)
    depth, _, _ = rasterize(p[:, :2], p[:, 2], faces, shape)
    return np.isfinite(depth)


def _closed_manifold(mesh: trimesh.Trimesh) -> None:
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume > 0
    assert len(trimesh.graph.connected_components(mesh.face_adjacency)) == 1
    assert mesh.euler_number == 2  # one sphere: no handles, no seam


def test_clothed_body_grows_to_a_wider_silhouette_and_stays_closed():
    """The model's own body, its silhouette widened by 2 cm (a loose layer): the clothed body
    fills it, the naked one does not."""
    from scipy.ndimage import binary_dilation

    from monoscan.body.model import load_body_model

    model = load_body_model()
    verts, _ = model.pose(None, None)
    scale = 0.005  # m per px: a 1.7 m body is 340 px tall
    shape = (420, 300)
    origin = np.array([150.0, 60.0, 0.0])
    naked_sil = _silhouette(verts, model.faces, scale, origin, shape)
    mask = binary_dilation(naked_sil, iterations=4)  # 2 cm
    result = SimpleNamespace(
        mask=mask,
        scale=scale,
        map_scale=1.0,
        origin_px=origin,
        front_depth=np.where(mask, 0.1, np.nan).astype(np.float32),
    )
    naked = SimpleNamespace(vertices=verts)
    rgb = np.full(shape + (3,), 90, np.uint8)
    c = clothed_body(naked, result, rgb, ClothedOptions(iterations=3))
    _closed_manifold(c.mesh)
    sil = _silhouette(c.mesh.vertices, c.mesh.faces, scale, origin, shape)
    before, after = _iou(naked_sil, mask), _iou(sil, mask)
    print(f"IoU with a 2 cm wider mask: naked {before:.3f}, clothed {after:.3f}")
    assert after > before + 0.05 and after > 0.9
    # a loose layer, not a balloon: displacements of a few cm at most
    assert np.percentile(np.abs(c.displacement), 95) < 0.05
    assert (np.asarray(c.mesh.visual.vertex_colors)[:, :3] == 90).all()


@pytest.fixture(scope="module")
def ryota():
    if not (DATA / "pifu__ryota.png").exists():
        pytest.skip("../shared/data/fullbody not present")
    from monoscan.body.fit import fit_reconstruction
    from monoscan.body.reconstruct import reconstruct_body
    from monoscan.io.images import load_image

    rgb = load_image(DATA / "pifu__ryota.png").rgb
    result = reconstruct_body(rgb)
    naked = fit_reconstruction(result)
    return rgb, result, naked, clothed_body(naked, result, rgb)


@needs_data
def test_clothed_body_on_a_real_photo_is_closed_and_on_the_true_silhouette(ryota):
    from PIL import Image

    rgb, result, naked, c = ryota
    _closed_manifold(c.mesh)
    gt = np.asarray(Image.open(DATA / "pifu__ryota_mask.png")) > 127
    s, o = result.scale / result.map_scale, result.origin_px * result.map_scale
    iou = _iou(_silhouette(c.mesh.vertices, c.mesh.faces, s, o, gt.shape), gt)
    from monoscan.body.model import load_body_model

    iou_naked = _iou(_silhouette(naked.vertices, load_body_model().faces, s, o, gt.shape), gt)
    print(f"pifu__ryota IoU vs the true mask: clothed {iou:.4f}, naked {iou_naked:.4f}")
    # measured 0.960 (naked 0.79; the silhouette body 0.9775; the person mask the body is
    # made from scores 0.978): issue 18's 0.97 is not reached yet (the feet, the fingers).
    # 0.951 while vertices that left the outline lost their targets and the armpits, where
    # the hoodie joins arm and torso, opened again at every other solve
    assert iou >= 0.955 and iou > iou_naked + 0.05
    # the naked body stays under the hoodie: with no room for clothes in the fit's outline
    # term the weight slider went to 0.95 (measured 0.74)
    assert naked.fit.phenotype[3] < 0.85
    # colours from the photo (grey hoodie, black trousers), not the white background
    assert np.asarray(c.mesh.visual.vertex_colors)[:, :3].astype(float).mean() < 200
    # metric and plausible: the fitted stature, an adult's volume and depth
    assert 1.55 < c.mesh.extents[1] < 1.85
    # depth 0.63 m measured: the fit leans the body forward (MediaPipe's world landmarks lean
    # people seen from above; body.fit's world_depth_sigma_m), head ahead of the feet
    assert 0.05 < c.mesh.volume < 0.13 and 0.15 < c.mesh.extents[2] < 0.7


@needs_data
def test_cli_default_body_unchanged_and_parametric_body_is_clothed(tmp_path, ryota):
    from monoscan.cli import main
    from monoscan.io.meshes import load_mesh

    _, result, _, c = ryota
    src = str(DATA / "pifu__ryota.png")
    assert main(["body", src, "--out", str(tmp_path / "plain"), "-q"]) == 0
    plain = tmp_path / "plain" / "pifu__ryota"
    res = json.loads((plain / "result.json").read_text())
    assert "body_naked.obj" not in res["files"] and "clothed" not in res["timings_s"]
    assert res["artifacts"]["body.obj"]["meaning"].startswith("closed body mesh, vertex")
    # without the flag body.* is today's silhouette surface, vertex for vertex
    mesh = load_mesh(plain / "body.ply")
    assert len(mesh.vertices) == len(result.mesh.vertices)
    np.testing.assert_allclose(
        np.sort(mesh.vertices, 0), np.sort(result.mesh.vertices, 0), atol=1e-5
    )

    assert main(["body", src, "--out", str(tmp_path / "p"), "--model", "parametric", "-q"]) == 0
    par = tmp_path / "p" / "pifu__ryota"
    res = json.loads((par / "result.json").read_text())
    assert {"body_naked.obj", "body.obj", "body.glb", "body.ply"} <= set(res["files"])
    assert (
        "clothed" in res["timings_s"]
        and "parametric body" in res["artifacts"]["body.obj"]["meaning"]
    )
    for name in ("body.obj", "body.ply"):
        m = load_mesh(par / name)
        assert len(m.vertices) == len(c.mesh.vertices), name
        assert m.is_watertight and m.is_winding_consistent and m.volume > 0, name
    assert res["mesh"]["vertices"] == len(c.mesh.vertices) and res["mesh"]["watertight"]
    # body.glb is rigged (monoscan.body.rig; tests/test_body_rig.py), the plain one is not
    import _gltf

    from monoscan.body.model import BONE_NAMES

    gltf, _ = _gltf.read_glb(par / "body.glb")
    assert [gltf["nodes"][j]["name"] for j in gltf["skins"][0]["joints"]] == list(BONE_NAMES)
    weights = gltf["meshes"][0]["primitives"][0]["attributes"]["WEIGHTS_0"]
    assert gltf["accessors"][weights]["count"] == len(c.mesh.vertices)
    assert "rigged" in res["artifacts"]["body.glb"]["meaning"] and "rig" in res["timings_s"]
    assert "skins" not in _gltf.read_glb(plain / "body.glb")[0]


def test_clothed_render_of_the_model_is_recovered_to_about_a_centimetre():
    """Issue 18's synthetic truth: a clothed render of the model itself (one seed), fitted and
    clothed by the pipeline's own stages, lands near the truth, and the clothing brings the
    surface closer to it than the naked fit (measured: Chamfer 0.98 cm, naked 1.23 cm)."""
    from monoscan.evaluation.body_fit import clothing_offsets, synthetic_clothed_fit

    points = np.random.default_rng(0).normal(0, 0.3, (500, 3))
    d = clothing_offsets(points, np.random.default_rng(1))
    assert d.min() >= 0.005 and d.max() <= 0.04
    row = synthetic_clothed_fit((0,))["scenes"][0]
    assert row["chamfer_cm"] < 1.2
    assert row["p2s_cm"] < 1.1
    assert row["chamfer_cm"] < row["naked_chamfer_cm"] - 0.1
