"""Topology, camera scale, crop transform and the dense textured face mesh."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from monoscan.core.camera import IRIS_DIAMETER_M
from monoscan.face.camera import estimate_camera
from monoscan.face.mesh import build_face_mesh
from monoscan.face.topology import mesh_triangles
from monoscan.io.meshes import load_mesh, save_mesh
from monoscan.perception.crop import hairstep_crop
from monoscan.perception.face import detect_face_landmarks


@pytest.fixture(scope="module")
def astronaut_face(astronaut_rgb):
    return detect_face_landmarks(astronaut_rgb)


def test_topology_has_852_consistently_wound_triangles(astronaut_face):
    tris = mesh_triangles()
    assert tris.shape == (852, 3) and tris.min() == 0 and tris.max() == 467
    cam = estimate_camera(astronaut_face.points)
    mesh = trimesh.Trimesh(cam.photo_to_world(astronaut_face.points[:468]), tris, process=False)
    assert mesh.is_winding_consistent
    assert mesh.face_normals[:, 2].mean() > 0.5  # out of the face, toward the camera


def test_camera_scale_comes_from_the_iris(astronaut_face):
    cam = estimate_camera(astronaut_face.points)
    assert cam.scale_method == "iris"
    assert cam.metres_per_pixel * cam.iris_diameter_px == pytest.approx(IRIS_DIAMETER_M)
    world = cam.photo_to_world(astronaut_face.points)
    np.testing.assert_allclose(cam.world_to_photo(world), astronaut_face.points, atol=1e-3)
    # Adult face: between the face-side vertices 234/454 about 12-16 cm.
    assert 0.10 < np.linalg.norm(world[234] - world[454]) < 0.18
    # Frame: y up (forehead above chin), x to the subject's left, z toward the camera.
    assert world[10, 1] > world[152, 1]
    assert world[263, 0] > world[33, 0]  # subject's left eye corner at larger x
    assert world[1, 2] > world[234, 2]  # nose tip closer to the camera than the face side


def test_camera_without_iris_uses_the_face_width_prior(astronaut_face):
    cam = estimate_camera(astronaut_face.points[:468])
    assert cam.scale_method == "face_width_prior"
    world = cam.photo_to_world(astronaut_face.points[:468])
    assert np.linalg.norm(world[234, :2] - world[454, :2]) == pytest.approx(
        0.140
    )  # in the image plane


def test_crop_transform_round_trips_and_samples_the_photo(astronaut_rgb, astronaut_face):
    crop = hairstep_crop(astronaut_rgb, astronaut_face.points)
    assert crop.image.shape == (512, 512, 3)
    pts = astronaut_face.points[:, :2].astype(np.float64)
    np.testing.assert_allclose(crop.to_photo(crop.to_crop(pts)), pts, atol=1e-6)
    # Face height is 1/2.2 of the crop side, as in HairStep's crops.
    c = crop.to_crop(astronaut_face.points[:468])
    assert np.ptp(c[:, 1]) == pytest.approx(512 / 2.2, rel=0.02)
    # A crop pixel shows the photo pixel the transform names (smooth region, 1 px tolerance).
    x, y = crop.to_crop(np.array([[230.0, 100.0]]))[0]
    assert (
        np.abs(
            crop.image[round(y), round(x)].astype(int) - astronaut_rgb[100, 230].astype(int)
        ).max()
        < 40
    )
    back = crop.warp_to_photo(crop.image)
    assert back.shape == astronaut_rgb.shape
    whole = hairstep_crop(astronaut_rgb[:, :256])  # no face: pad to square, resize
    assert whole.box == (-128.0, 0.0, 512.0) and whole.image[:, :100].max() == 0
    # The photo occupies crop columns 128..383: the window, black padding either side.
    assert whole.photo_window == (128, 0, 384, 512)
    assert whole.image[:, :128].max() == 0 and whole.image[:, 384:].max() == 0
    assert whole.image[:, 128].max() > 0 and whole.image[:, 383].max() > 0
    # Half scale: the photo spans crop columns 64..191.
    half = hairstep_crop(astronaut_rgb[:, :256], size=256)
    assert half.photo_window == (64, 0, 192, 256)
    x0, y0, x1, y1 = crop.photo_window
    assert 0 <= x0 < x1 <= 512 and 0 <= y0 < y1 <= 512


def test_dense_textured_mesh_exports(tmp_path, astronaut_rgb, astronaut_face):
    cam = estimate_camera(astronaut_face.points)
    fm = build_face_mesh(astronaut_rgb, astronaut_face.points, cam, subdivisions=2)
    assert fm.vertices.shape == (6990, 3) and fm.faces.shape == (13632, 3)
    assert fm.uv.min() >= 0 and fm.uv.max() <= 1 and fm.texture.ndim == 3
    ext = np.ptp(fm.vertices, axis=0)
    assert 0.10 < ext[0] < 0.20 and 0.12 < ext[1] < 0.24 and 0.03 < ext[2] < 0.15
    written = save_mesh(tmp_path / "face.obj", fm.to_trimesh())
    assert [p.name for p in written] == ["face.obj", "face.mtl", "face.png"]
    back = load_mesh(tmp_path / "face.obj")
    assert back.vertices.shape == fm.vertices.shape and back.visual.kind == "texture"
    np.testing.assert_allclose(back.vertices, fm.vertices, atol=1e-6)
    save_mesh(tmp_path / "face.glb", fm.to_trimesh())
    glb = trimesh.load(tmp_path / "face.glb", force="mesh")
    assert len(glb.faces) == len(fm.faces) and glb.visual.material.baseColorTexture is not None
    save_mesh(tmp_path / "face.ply", fm.to_trimesh(textured=False))
    ply = trimesh.load(tmp_path / "face.ply", process=False)
    assert len(ply.vertices) == 6990
    # Colour at the nose tip (vertex 1) equals the photo's colour there.
    x, y = astronaut_face.points[1, :2]
    np.testing.assert_allclose(
        ply.visual.vertex_colors[1, :3], astronaut_rgb[round(y), round(x)], atol=25
    )


def test_crop_grows_to_hold_long_hair_up_to_four_face_heights(astronaut_rgb, astronaut_face):
    pts = astronaut_face.points
    face_h = np.ptp(pts[:468, 1])
    plain = hairstep_crop(astronaut_rgb, pts)
    hair = np.zeros(astronaut_rgb.shape[:2], bool)
    x0, x1 = int(pts[:, 0].min()), int(pts[:, 0].max())
    y_top = int(pts[:, 1].min()) - 20
    hair[y_top : y_top + int(2.8 * face_h), x0 - 30 : x1 + 30] = True  # hair to the chest
    grown = hairstep_crop(astronaut_rgb, pts, hair)
    assert plain.box[2] == pytest.approx(2.2 * face_h, rel=1e-6)
    _, top, side = grown.box
    assert side > plain.box[2] and side <= 4.0 * face_h + 1e-6
    assert top <= y_top and top + side >= y_top + 2.8 * face_h - 1  # all of the hair inside
    hair[:] = True  # hair everywhere: capped at 4 face heights
    assert hairstep_crop(astronaut_rgb, pts, hair).box[2] == pytest.approx(4.0 * face_h, rel=1e-6)
