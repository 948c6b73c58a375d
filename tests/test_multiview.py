"""monoscan.head.multiview: several views of one person fused (issue 5)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared

from monoscan.core.errors import InputError
from monoscan.core.geometry import rotation_y
from monoscan.datasets.h3ds import read_h3ds_cameras
from monoscan.head.multiview import frontal_yaw_deg, fuse_landmarks, landmark_facing
from monoscan.pipeline.views import _camera_index, _relative_rotations


@pytest.fixture(scope="module")
def world(astronaut_rgb):
    from monoscan.face.camera import estimate_camera
    from monoscan.perception.face import detect_face_landmarks

    face = detect_face_landmarks(astronaut_rgb)
    return estimate_camera(face.points).photo_to_world(face.points)


def test_facing_weights(world):
    f = landmark_facing(world)
    assert f.shape == (478,) and np.all(f > 0) and np.all(f <= 1.02)
    assert f[1] > f[234]  # the nose tip faces the camera more than the face's side


def test_fuse_recovers_exact_views(world):
    # The same face seen turned, rescaled and moved: fusion recovers the reference frame.
    views = [
        world,
        1.1 * world @ rotation_y(25).T + [0.01, 0.0, -0.2],
        0.9 * world @ rotation_y(-35).T + [0.0, 0.02, 0.1],
    ]
    fused = fuse_landmarks(views)
    assert fused.reference == int(np.argmin(np.abs(fused.yaw_deg)))
    ref = views[fused.reference]
    np.testing.assert_allclose(fused.points, ref, atol=1e-6)
    assert max(fused.residual_mm) < 1e-3
    assert abs(frontal_yaw_deg(views[1]) - frontal_yaw_deg(views[0])) == pytest.approx(25, abs=1)


def test_fuse_with_known_rotations(world):
    views = [world, world @ rotation_y(30).T]
    fused = fuse_landmarks(views, reference=0, rotations=[np.eye(3), rotation_y(-30)])
    np.testing.assert_allclose(fused.points, world, atol=1e-6)
    with pytest.raises(InputError):
        fuse_landmarks([world, world[:468]])


def test_read_h3ds_cameras(tmp_path):
    k = np.array([[1000.0, 0, 320], [0, 1000.0, 240], [0, 0, 1]])
    rots = [rotation_y(0), rotation_y(40), rotation_y(-40)]
    mats = {
        f"world_mat_{i}": np.vstack([k @ np.hstack([r, [[0], [0], [500]]]), [0, 0, 0, 1]])
        for i, r in enumerate(rots)
    }
    np.savez(tmp_path / "cameras.npz", scale_mat_0=np.eye(4), **mats)
    got = read_h3ds_cameras(tmp_path / "cameras.npz")
    assert sorted(got) == [0, 1, 2]
    for i, r in enumerate(rots):
        np.testing.assert_allclose(got[i], r, atol=1e-9)
    rel = _relative_rotations([got[i] for i in range(3)], 0)
    np.testing.assert_allclose(rel[0], np.eye(3), atol=1e-9)
    # view 1 -> reference: ours = F R_ref R_1^T F with F = diag(1, -1, -1); flipping y and z
    # turns the inverse yaw back into the same yaw
    np.testing.assert_allclose(rel[1], rotation_y(40), atol=1e-9)
    assert _camera_index("scene/image/img_0007.jpg", 0) == 7
    assert _camera_index(np.zeros((2, 2, 3)), 3) == 3


def test_three_scan_views_no_worse_than_one():
    import monoscan
    from monoscan.evaluation.head_scan import load_head_scan, render_head_scan, score_reconstruction
    from monoscan.pipeline import Options
    from monoscan.pipeline.views import reconstruct_views

    scan = load_head_scan(shared("head_scan"))
    options = Options(hair=False, person=False, strands=0)
    images = [render_head_scan(scan, yaw, "studio").image for yaw in (-30.0, 0.0, 30.0)]
    one = score_reconstruction(scan, monoscan.reconstruct(images[1], options), surface=False)
    three_recon = reconstruct_views(images, options)
    three = score_reconstruction(scan, three_recon, surface=False)
    assert any("fused 3 views" in n for n in three_recon.notes)
    assert three["face_gt_to_pred_mm"] <= one["face_gt_to_pred_mm"] + 0.02
    # every view colours the face it sees: the turned views add the sides of the face
    one_recon = monoscan.reconstruct(images[1], options)
    assert three_recon.head.face_region.mean() > one_recon.head.face_region.mean() + 0.03


def test_other_views_project_the_head_onto_their_own_face():
    """The frame chain of a PhotoView: reconstruction world -> reference pixels -> reference
    view world -> this view's world -> its pixels lands the fused landmarks on the landmarks
    detected in that view."""
    from monoscan.evaluation.head_scan import load_head_scan, render_head_scan
    from monoscan.face.camera import estimate_camera
    from monoscan.perception.face import detect_face_landmarks
    from monoscan.pipeline.views import _photo_view

    scan = load_head_scan(shared("head_scan"))
    images = [render_head_scan(scan, yaw, "studio").image for yaw in (0.0, 30.0)]
    faces = [detect_face_landmarks(im) for im in images]
    cams = [estimate_camera(f.points) for f in faces]
    fused = fuse_landmarks([c.photo_to_world(f.points) for c, f in zip(cams, faces, strict=True)])
    ref = fused.reference
    other = 1 - ref
    points_px = cams[ref].world_to_photo(fused.points)
    recon_camera = estimate_camera(points_px)
    view = _photo_view(
        type("P", (), {"rgb": images[other]})(),
        cams[other],
        fused.transforms[other],
        cams[ref],
        recon_camera,
        None,
    )
    px, _ = view.project(recon_camera.photo_to_world(points_px))
    error = np.linalg.norm(px - faces[other].points[:, :2], axis=1)
    assert np.median(error) < 3.0  # pixels, on a 640 px render
    assert abs(np.linalg.norm(view.toward_camera) - 1) < 1e-9


def test_cli_same_person(tmp_path, astronaut_rgb):
    import cv2

    from monoscan.cli import main
    from monoscan.io.images import save_png

    a = save_png(tmp_path / "front.png", astronaut_rgb)
    b = save_png(tmp_path / "other.png", cv2.resize(astronaut_rgb, (480, 480)))
    code = main(
        [
            "reconstruct",
            str(a),
            str(b),
            "--same-person",
            "--out",
            str(tmp_path / "out"),
            "--no-hair",
            "--no-person",
            "--strands",
            "0",
            "--formats",
            "obj",
            "--quiet",
        ]
    )
    assert code == 0
    assert (tmp_path / "out" / "front" / "result.json").is_file()
    assert (tmp_path / "out" / "front" / "head.obj").is_file()
    assert not (tmp_path / "out" / "other").exists()


def test_cli_cameras_need_same_person(tmp_path, astronaut_rgb, capsys):
    from monoscan.cli import main
    from monoscan.io.images import save_png

    a = save_png(tmp_path / "front.png", astronaut_rgb)
    code = main(
        [
            "reconstruct",
            str(a),
            "--cameras",
            str(tmp_path / "cameras.npz"),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ]
    )
    assert code == 2
    assert "--cameras only applies with --same-person" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
