"""The ICT head's eyes, its neutral expression and its blend shapes (GLB morph targets, USD)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh
from _gltf import accessor, read_glb
from conftest import shared

import monoscan
from monoscan.core.errors import InputError
from monoscan.head.eyes import fit_eyeballs, iris_colour
from monoscan.head.ict import load_ict_model
from monoscan.head.ict_head import (
    EYE_CAP_INSET_M,
    closed_skin_surface,
    expression_rig,
    without_expression,
)

HEAD_ONLY = dict(strands=0, hair=False, person=False, formats=("obj", "glb"))


@pytest.fixture(scope="module")
def rigged(astronaut_path, tmp_path_factory):
    """The astronaut reconstructed with blend shapes, and its result folder."""
    options = monoscan.Options(blendshapes=True, **HEAD_ONLY)
    recon = monoscan.reconstruct(astronaut_path, options)
    out = tmp_path_factory.mktemp("rig")
    folder = monoscan.write_outputs(recon, out, options).parent
    return recon, folder


def _sparse(gltf, binary, index):
    """Dense (count, 3) values of a sparse accessor without a bufferView."""
    acc = gltf["accessors"][index]
    assert "bufferView" not in acc  # zeros, then the sparse values
    sparse = acc["sparse"]
    values = np.zeros((acc["count"], 3))
    views = gltf["bufferViews"]
    idx_view = views[sparse["indices"]["bufferView"]]
    val_view = views[sparse["values"]["bufferView"]]
    idx = np.frombuffer(binary, "<u4", sparse["count"], idx_view.get("byteOffset", 0))
    val = np.frombuffer(binary, "<f4", 3 * sparse["count"], val_view.get("byteOffset", 0))
    values[idx] = val.reshape(-1, 3)
    return values


def test_eyes_sit_in_the_sockets_and_hide_the_eye_caps(rigged):
    recon, _ = rigged
    head = recon.head
    left, right = head.eyes
    assert (left.side, right.side) == ("left", "right")
    # the subject's left eye is on +x; interpupillary distance of an adult
    assert left.centre[0] > right.centre[0]
    assert 0.050 < np.linalg.norm(left.centre - right.centre) < 0.075
    for eye in head.eyes:
        ball = trimesh.Trimesh(eye.vertices, eye.faces, process=False)
        assert ball.is_watertight and ball.volume > 0
        assert 0.010 < eye.radius_m < 0.016
        # the head's eye cap lies just inside the eyeball's sphere, so the eye covers it
        near = np.linalg.norm(head.vertices - eye.centre, axis=1)
        cap = np.abs(near - (eye.radius_m - EYE_CAP_INSET_M)) < 1e-6
        assert cap.sum() >= 4
        # and the eye looks out of the face, toward the camera
        assert eye.gaze[2] > 0.8
    skin = trimesh.Trimesh(head.vertices, head.faces, process=False)
    assert skin.is_watertight and skin.is_winding_consistent and skin.volume > 0


def test_eyes_turn_to_the_photographed_iris(rigged):
    recon, _ = rigged
    head, camera = recon.head, recon.camera
    points = np.array(recon.face.points, np.float64)
    still = fit_eyeballs(head.ict, recon.photo.rgb, camera, points)
    # move both irises 2 mm to the subject's left in the photo (world +x)
    shifted = points.copy()
    shifted[468:478, 0] += 0.002 / camera.metres_per_pixel
    turned = fit_eyeballs(head.ict, recon.photo.rgb, camera, shifted)
    for a, b in zip(still, turned, strict=True):
        assert b.gaze[0] - a.gaze[0] > 0.05  # turned toward +x
        # the cornea's apex projects onto the iris centre found in the photo
        apex = b.centre + b.gaze * np.linalg.norm(b.vertices - b.centre, axis=1).max()
        found = [shifted[468, :2], shifted[473, :2]]
        px = camera.world_to_photo(apex[None])[0, :2]
        assert min(np.linalg.norm(px - f) for f in found) < 0.5


def test_iris_colour_is_the_iris_not_the_pupil_lashes_or_highlight():
    img = np.full((64, 64, 3), 235, np.uint8)  # sclera
    yy, xx = np.mgrid[:64, :64] + 0.5
    r = np.hypot(xx - 32, yy - 32)
    img[r < 12] = (40, 90, 160)  # blue iris
    img[r < 4] = (5, 5, 5)  # pupil
    img[(np.abs(xx - 36) < 2) & (np.abs(yy - 28) < 2)] = 255  # a highlight
    img[yy < 23] = (30, 20, 20)  # the upper lid and lashes over the iris's top
    rgb = iris_colour(img, np.array([32.0, 32.0]), 12.0)
    assert np.abs(rgb.astype(int) - (40, 90, 160)).max() <= 3


def test_blue_eyes_come_out_blue():
    photo = shared("portraits", "hairstep__Amy-Adams-10_1920x1440.png")
    recon = monoscan.reconstruct(photo, monoscan.Options(**HEAD_ONLY))
    for eye in recon.head.eyes:
        r, g, b = eye.iris_rgb.astype(int)
        assert b > r + 30 and b > g  # blue-grey irises, not skin or brown
        iris = np.all(eye.vertex_colors == eye.iris_rgb, axis=1)
        assert iris.sum() >= 20  # painted on the ball


def test_head_glb_carries_the_eyes_as_separate_meshes(rigged):
    _, folder = rigged
    gltf, binary = read_glb(folder / "head.glb")
    assert [n["name"] for n in gltf["nodes"]] == ["head", "eye_left", "eye_right"]
    for mesh in gltf["meshes"][1:]:
        colour = accessor(gltf, binary, mesh["primitives"][0]["attributes"]["COLOR_0"])
        assert colour.max() > 0.5 and colour.min() < 0.01  # white sclera, dark pupil (linear)
    # the head mesh itself is head.obj, vertex for vertex
    obj = monoscan.io.meshes.load_mesh(folder / "head.obj")
    head = accessor(gltf, binary, gltf["meshes"][0]["primitives"][0]["attributes"]["POSITION"])
    assert np.allclose(head, obj.vertices, atol=1e-6)
    result = json.loads((folder / "result.json").read_text())
    assert "eye_left, eye_right" in result["artifacts"]["head.glb"]["meaning"]


def test_neutral_expression_removes_the_fitted_expression(rigged):
    recon, _ = rigged
    head = recon.head
    neutral = without_expression(head)
    model = load_ict_model()
    fit = head.ict
    assert fit.expression.max() > 0.05  # the astronaut smiles
    expected = closed_skin_surface(fit.to_world(model.vertices(fit.identity)), head.eyes)[0]
    assert np.allclose(neutral.vertices, expected, atol=1e-6)
    moved = np.linalg.norm(neutral.vertices - head.vertices, axis=1)
    n = len(model.neutral)
    still = np.abs(model.expression).max(axis=(0, 2)) == 0  # vertices no shape moves
    assert moved[:n][still].max() < 1e-6 and moved.max() > 0.002
    # same vertex ids, faces, texture and eyes: only the shape changed
    assert neutral.faces is head.faces and neutral.texture is head.texture
    assert neutral.eyes == head.eyes


def test_neutral_expression_from_the_command_line(astronaut_path, tmp_path):
    from monoscan.cli import main

    args = ["reconstruct", str(astronaut_path), "-o", str(tmp_path), "--quiet", "--no-hair"]
    args += ["--strands", "0", "--no-person", "--formats", "obj"]
    assert main([*args, "--expression", "neutral"]) == 0
    folder = tmp_path / "astronaut"
    neutral = monoscan.io.meshes.load_mesh(folder / "head.obj")
    fit = json.loads((folder / "head_fit.json").read_text())["ict"]
    assert fit["expression_in_head"] is False and max(fit["expression"].values()) > 0.05
    assert main([*args, "--overwrite"]) == 0
    photo = monoscan.io.meshes.load_mesh(folder / "head.obj")
    assert len(photo.vertices) == len(neutral.vertices)
    assert np.abs(photo.vertices - neutral.vertices).max() > 0.002


def test_expression_options_need_the_ict_head():
    with pytest.raises(InputError, match="need the ICT head"):
        monoscan.Options(head_model="parametric", blendshapes=True)
    with pytest.raises(InputError, match="unknown expression 'happy'"):
        monoscan.Options(expression="happy")


def test_blendshape_glb_morph_targets_rebuild_the_photo_expression(rigged):
    recon, folder = rigged
    head = recon.head
    rig = expression_rig(head)
    gltf, binary = read_glb(folder / "expressions.glb")
    mesh = gltf["meshes"][0]
    names = mesh["extras"]["targetNames"]
    assert len(names) == 57 and "jawOpen" in names and "eyeBlink_L" in names
    assert np.allclose(mesh["weights"], head.ict.expression, atol=1e-6)
    primitive = mesh["primitives"][0]
    base = accessor(gltf, binary, primitive["attributes"]["POSITION"]).astype(np.float64)
    shown = base.copy()
    for w, target in zip(mesh["weights"], primitive["targets"], strict=True):
        shown += w * _sparse(gltf, binary, target["POSITION"])
    # the first vertices are the closed skin's (the rest repeat them at UV seams); the photo's
    # expression comes back everywhere but on the two eye caps, which stay inside the eyes
    n = len(rig.vertices)
    err = np.linalg.norm(shown[:n] - head.vertices[:n], axis=1)
    assert np.sort(err)[-3] < 1e-4 and err.max() < 0.003  # offsets under 10 um are dropped
    assert [nd["name"] for nd in gltf["nodes"]] == ["head", "eye_left", "eye_right"]
    jaw = _sparse(gltf, binary, primitive["targets"][names.index("jawOpen")]["POSITION"])
    assert jaw[:, 1].min() < -0.005  # opening the jaw drops the chin by more than 5 mm


def test_blendshape_usd_rebuilds_the_photo_expression(rigged):
    from monoscan.io.blendshapes import read_blendshape_usd

    recon, folder = rigged
    head = recon.head
    usd = read_blendshape_usd(folder / "expressions.usdc")
    assert len(usd["names"]) == 57 and usd["extra"] == {"Eye_left": 770, "Eye_right": 770}
    assert np.allclose(usd["weights"], head.ict.expression, atol=1e-6)
    shown = usd["vertices"] + np.tensordot(usd["weights"], usd["offsets"], axes=1)
    err = np.linalg.norm(shown - head.vertices[: len(shown)], axis=1)
    assert np.sort(err)[-3] < 1e-4 and err.max() < 0.003  # offsets under 10 um are dropped
    assert usd["texture"] == "expressions.png" and (folder / "expressions.png").exists()
