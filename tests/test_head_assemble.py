"""The assembled head: one closed textured mesh with the photo's face, landmarks and roots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from monoscan.core.errors import InputError
from monoscan.datasets.h3ds import read_landmarks
from monoscan.face.camera import estimate_camera
from monoscan.face.mesh import build_face_mesh
from monoscan.head.assemble import HeadMesh, assemble_head, face_fidelity
from monoscan.head.fit import fit_head
from monoscan.head.landmarks import (
    H3DS_LANDMARKS,
    MEDIAPIPE_FOR_H3DS,
    h3ds_landmark_ids,
    write_h3ds_landmarks,
)
from monoscan.head.scalp import sample_scalp_roots, scalp_triangles
from monoscan.io.images import load_image
from monoscan.io.meshes import load_mesh, save_mesh
from monoscan.perception.face import detect_face_landmarks

PORTRAITS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "portraits"
#: A turned face, a pitched face and a 224-pixel photo run by default; all portraits when slow.
DEFAULT_PORTRAITS = (
    "deep3dfacerecon__000006.jpg",
    "hairstep__0d285f5be7fa09c3dbbf1c9334047888.png",
    "deca__IMG_0392_inputs.jpg",
)


def _reconstruct(rgb):
    face = detect_face_landmarks(rgb)
    camera = estimate_camera(face.points)
    world = camera.photo_to_world(face.points)
    face_mesh = build_face_mesh(rgb, face.points, camera)
    fitted = fit_head(world)
    head = assemble_head(face_mesh, fitted, rgb, camera)
    return head, face_mesh, world, camera


@pytest.fixture(scope="module")
def astronaut(astronaut_rgb):
    return _reconstruct(astronaut_rgb)


def _check_closed(head: HeadMesh):
    mesh = trimesh.Trimesh(head.vertices, head.faces, process=False)
    assert mesh.is_watertight, "not watertight"
    assert mesh.is_winding_consistent, "winding not consistent"
    assert mesh.is_volume and mesh.volume > 0, "not an outward-oriented volume"
    assert len(mesh.split(only_watertight=False)) == 1
    # Manifold vertices too: every vertex's faces form one fan (Euler characteristic 2).
    assert len(head.vertices) - len(mesh.edges_unique) + len(head.faces) == 2
    return mesh


def _head_size(head: HeadMesh, world: np.ndarray) -> tuple[float, float]:
    """(chin-to-crown height, greatest head breadth without the ears), metres."""
    from monoscan.head.model import part_sdfs

    q = head.head.to_head(head.vertices)
    chin = head.head.to_head(world[152][None])[0]
    s = head.head.scale
    keep = (part_sdfs(q, head.head.shape)["ears"] > 0.01) & (q[:, 1] > -0.01) & (q[:, 1] < 0.1)
    slabs = np.round(q[keep, 1] / 0.005)
    width = max(np.ptp(q[keep][slabs == k, 0]) for k in np.unique(slabs))
    return float((q[:, 1].max() - chin[1]) * s), float(width * s)


def _check_texture_off_face(head: HeadMesh) -> None:
    """Inside every triangle off the face the texture is skin (texture coordinates never jump
    across the photo), except a few at the centre of the flat cut under the neck."""
    from monoscan.render.raster import sample_image

    f = head.faces[~head.face_region[head.faces].any(1)]
    res = head.texture.shape[0]
    bad = np.zeros(len(f), bool)
    for b in ([1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0], [0, 0.5, 0.5], [0.5, 0, 0.5]):
        p = np.einsum("k,fkj->fj", np.array(b), head.uv[f].astype(float))
        c = sample_image(head.texture, p[:, 0] * res - 0.5, (1 - p[:, 1]) * res - 0.5)
        bad |= np.abs(c.astype(int) - head.skin_color.astype(int)).sum(1) > 30
    q = head.head.to_head(head.vertices[f[bad]].mean(1))
    bottom = head.head.to_head(head.vertices)[:, 1].min()
    assert bad.sum() <= 20 and (q[:, 1] < bottom + 0.01).all(), bad.sum()


def _check_head(head, face_mesh, world, camera, rgb):
    _check_closed(head)
    _check_texture_off_face(head)
    assert 20_000 <= len(head.vertices) <= 60_000
    height, width = _head_size(head, world)
    assert 0.20 <= height <= 0.26
    assert 0.13 <= width <= 0.18
    fid = face_fidelity(head, face_mesh)
    assert fid["n"] > 500
    assert fid["mean_mm"] < 1.0 and fid["p95_mm"] < 2.0, fid
    ids = h3ds_landmark_ids(head.vertices, world)
    for name, idx in MEDIAPIPE_FOR_H3DS.items():
        assert np.linalg.norm(head.vertices[ids[name]] - world[idx]) < 0.005, name
    assert np.linalg.norm(head.vertices[ids["nose_tip"]] - face_mesh.vertices[1]) < 0.005
    return fid


def test_astronaut_head_is_closed_sized_and_faithful(astronaut, astronaut_rgb):
    head, face_mesh, world, camera = astronaut
    fid = _check_head(head, face_mesh, world, camera, astronaut_rgb)
    # Measured on the astronaut: mean 0.15 mm, p95 0.6 mm over 5 cm around the nose tip.
    assert fid["mean_mm"] < 0.5
    assert set(head.timings) >= {"sdf", "marching_cubes", "texture"}


def test_face_texture_comes_from_the_photo_and_the_rest_is_skin(astronaut, astronaut_rgb):
    head, _, world, camera = astronaut
    assert head.face_region.sum() > 3000
    # Off the face every vertex is the skin colour.
    other = head.vertex_colors[~head.face_region].astype(int)
    assert np.abs(other - head.skin_color.astype(int)).max() <= 3
    # Skin colour is a plausible skin tone from the astronaut's face (light, red > green > blue).
    r, g, b = head.skin_color.astype(int)
    assert r > g > b and r > 150
    # In the middle of the face the vertex colours are the photo's at the vertex projection.
    near_nose = head.face_region & (np.linalg.norm(head.vertices - world[1], axis=1) < 0.03)
    px = np.round(camera.world_to_photo(head.vertices[near_nose])[:, :2]).astype(int)
    photo = astronaut_rgb[px[:, 1], px[:, 0]].astype(int)
    assert np.abs(photo - head.vertex_colors[near_nose].astype(int)).mean() < 12
    _check_texture_off_face(head)
    # UVs are valid texture coordinates; the texture is an image.
    assert head.uv.min() >= 0 and head.uv.max() <= 1
    assert head.texture.dtype == np.uint8 and head.texture.shape[2] == 3


def test_files_round_trip_closed_with_landmarks(astronaut, tmp_path):
    head, _, world, _ = astronaut
    ids = h3ds_landmark_ids(head.vertices, world)
    for suffix, textured in ((".obj", True), (".ply", False), (".glb", True)):
        save_mesh(tmp_path / f"head{suffix}", head.to_trimesh(textured=textured))
    assert (tmp_path / "head.png").exists() and (tmp_path / "head.mtl").exists()
    for suffix in (".obj", ".ply", ".glb"):
        loaded = load_mesh(tmp_path / f"head{suffix}")
        assert len(loaded.vertices) == len(head.vertices)
        assert loaded.is_watertight and loaded.is_winding_consistent
        np.testing.assert_allclose(loaded.vertices, head.vertices, atol=1e-5)
    path = write_h3ds_landmarks(tmp_path / "h3ds_landmarks.txt", ids)
    assert path.read_text().splitlines()[0] == f"right_eye {ids['right_eye']}"
    back = read_landmarks(path)
    assert list(back) == list(H3DS_LANDMARKS) and back == ids
    # Subject's right at negative x; mouth below the nose base below the nose tip.
    v = head.vertices
    assert v[ids["right_eye"], 0] < v[ids["left_eye"], 0]
    assert v[ids["right_lips"], 0] < v[ids["left_lips"], 0]
    assert v[ids["right_lips"], 1] < v[ids["nose_base"], 1] < v[ids["nose_tip"], 1]


def test_landmark_writer_rejects_bad_ids(tmp_path):
    with pytest.raises(InputError, match="missing"):
        write_h3ds_landmarks(tmp_path / "x.txt", {"right_eye": 1})
    ids = dict.fromkeys(H3DS_LANDMARKS, 3)
    ids["nose_tip"] = -1
    with pytest.raises(InputError, match="nose_tip"):
        write_h3ds_landmarks(tmp_path / "x.txt", ids)
    assert not (tmp_path / "x.txt").exists()


def test_scalp_roots(astronaut):
    head = astronaut[0]
    pts, normals = sample_scalp_roots(head, 3000, seed=7)
    assert pts.shape == normals.shape == (3000, 3)
    np.testing.assert_array_equal(pts, sample_scalp_roots(head, 3000, seed=7)[0])
    assert not np.allclose(pts[:10], sample_scalp_roots(head, 3000, seed=8)[0][:10])
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-9)
    # On the surface, on scalp triangles.
    mesh = trimesh.Trimesh(head.vertices, head.faces, process=False)
    _, dist, tri = trimesh.proximity.closest_point(mesh, pts[:500])
    assert dist.max() < 5e-4
    assert np.isin(tri, scalp_triangles(head)).mean() > 0.99
    # None on the face: at least 1 cm from every face vertex; none below the nape or on the chin.
    from scipy.spatial import cKDTree

    d_face, _ = cKDTree(head.vertices[head.face_region]).query(pts)
    assert d_face.min() > 0.0095
    q = head.head.to_head(pts)
    assert q[:, 1].min() > -0.05
    assert (q[:, 1] > 0.06).mean() > 0.5  # most of the scalp is on the top of the head
    # Normals point outward (away from the head's centre).
    centre = head.head.to_world(np.array([[0.0, 0.03, 0.0]]))[0]
    assert ((normals * (pts - centre)).sum(1) > 0).mean() > 0.97
    with pytest.raises(InputError):
        sample_scalp_roots(head, -1)
    assert sample_scalp_roots(head, 0)[0].shape == (0, 3)


def test_bad_inputs(astronaut, astronaut_rgb):
    head, face_mesh, _, camera = astronaut
    with pytest.raises(InputError, match="spacing"):
        assemble_head(face_mesh, head.head, astronaut_rgb, camera, spacing=0.05)
    with pytest.raises(InputError, match="uint8"):
        assemble_head(face_mesh, head.head, astronaut_rgb.astype(float), camera)


def _portrait(name):
    path = PORTRAITS / name
    if not path.exists():
        pytest.skip(f"development data not found: {path}")
    return load_image(path).rgb


@pytest.mark.parametrize("name", DEFAULT_PORTRAITS)
def test_portrait_heads(name):
    rgb = _portrait(name)
    _check_head(*_reconstruct(rgb), rgb)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in PORTRAITS.glob("*")) if PORTRAITS.exists() else ["(no portraits)"],
)
def test_all_portrait_heads(name):
    rgb = _portrait(name)
    _check_head(*_reconstruct(rgb), rgb)
