"""Tests for monoscan.datasets.h3ds on an H3DS-shaped fixture built here."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _h3ds_fixtures as fx

from monoscan.core.errors import FormatError, InputError
from monoscan.datasets.h3ds import (
    H3DS,
    decompose_projection,
    find_prediction,
    find_predictions,
    load_config,
    read_landmarks,
    read_region,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("h3ds")
    facts = fx.write_dataset(root, subdivisions=3)
    return root, facts


def test_config_scenes_tags_views(dataset):
    root, _ = dataset
    ds = H3DS(root, "v2")
    assert ds.config.version == "0.4"
    assert ds.scenes() == ["scene_a", "scene_b"]
    assert ds.tags() == {"h3d-net", "sira++"}
    assert ds.scenes({"h3d-net"}) == ["scene_a"]
    assert ds.scenes(["sira++"]) == ["scene_a", "scene_b"]
    assert ds.views_configs("scene_a") == ["1", "3"]
    assert ds.views("scene_a", "3") == (0, 1, 2)
    assert ds.views("scene_a") == (0, 1, 2)
    assert ds.is_available()
    with pytest.raises(InputError, match="unknown H3DS tag"):
        ds.scenes({"nope"})
    with pytest.raises(InputError, match="no view subset"):
        ds.views("scene_a", "8")
    with pytest.raises(InputError, match="not in the H3DS config"):
        ds.info("zzz")


def test_missing_file_makes_dataset_unavailable(tmp_path):
    fx.write_dataset(tmp_path, ("s",), subdivisions=2, views=2)
    ds = H3DS(tmp_path)
    assert ds.is_available()
    (tmp_path / "s" / "mask" / "mask_0001.png").unlink()
    assert not ds.is_available()
    assert ds.missing_files() == [tmp_path / "s" / "mask" / "mask_0001.png"]


def test_discovery_without_config(tmp_path):
    fx.write_dataset(tmp_path, ("s1", "s2"), subdivisions=2, views=2)
    (tmp_path / "config_v2.toml").unlink()
    ds = H3DS(tmp_path)
    assert ds.config.source is None
    assert ds.scenes() == ["s1", "s2"]
    assert ds.info("s1").views == 2


def test_mesh_landmarks_regions(dataset):
    root, facts = dataset
    ds = H3DS(root)
    mesh = ds.load_mesh("scene_a")
    np.testing.assert_allclose(mesh.vertices, facts["meshes"]["scene_a"].vertices, atol=1e-6)
    assert ds.load_landmarks("scene_a") == facts["landmarks"]["scene_a"]
    for r in ("face", "face_sphere", "nose"):
        np.testing.assert_array_equal(ds.load_region("scene_a", r), facts["regions"]["scene_a"][r])
    with pytest.raises(InputError, match="unknown H3DS region"):
        ds.load_region("scene_a", "ears")


def test_cameras_decompose_to_known_k_and_pose(dataset):
    root, facts = dataset
    ds = H3DS(root)
    cams = ds.load_cameras("scene_a")
    assert len(cams) == 3
    P = facts["cameras"]["scene_a"]["world_mat_1"]
    cam = cams[1]
    np.testing.assert_allclose(cam.K, [[800, 0, 32], [0, 800, 24], [0, 0, 1]], atol=1e-6)
    # Camera 1 of 3 sits on the ring at angle 0: centre (0, 0, 600) mm.
    np.testing.assert_allclose(cam.pose[:3, 3], [0, 0, 600], atol=1e-6)
    # Re-projection through K [R^T | -R^T C]^-1 equals the original matrix (up to scale).
    R = cam.pose[:3, :3].T
    t = -R @ cam.pose[:3, 3]
    P2 = cam.K @ np.column_stack([R, t])
    np.testing.assert_allclose(P2 / P2[2, 3], P[:3] / P[2, 3], atol=1e-9)
    # A view subset selects cameras.
    assert len(ds.load_cameras("scene_a", "1")) == 1


def test_normalised_scene(dataset):
    root, facts = dataset
    ds = H3DS(root)
    S = ds.normalization_matrix("scene_a")
    # scale_mat_0 = diag(130) with centre (0, 5, 0): normalised = (x - c) / 130.
    mesh = ds.load_mesh("scene_a", normalized=True)
    expected = (np.asarray(facts["meshes"]["scene_a"].vertices) - [0, 5, 0]) / 130.0
    np.testing.assert_allclose(mesh.vertices, expected, atol=1e-6)
    assert S.shape == (4, 4)
    cams = ds.load_cameras("scene_a", normalized=True)
    # Camera centre in the normalised frame is (C - c) / 130.
    np.testing.assert_allclose(cams[1].pose[:3, 3], np.array([0, -5, 600]) / 130.0, atol=1e-6)
    scene = ds.load_scene("scene_a", "3")
    assert len(scene.images) == len(scene.masks) == len(scene.cameras) == 3
    assert scene.images[0].shape == (48, 64, 3)
    assert scene.masks[0].dtype == bool and scene.masks[0].sum() == 30 * 30


def test_decompose_projection_3x4():
    K = np.array([[500.0, 0, 100], [0, 400, 80], [0, 0, 1]])
    R = np.eye(3)
    C = np.array([1.0, 2.0, 3.0])
    P = K @ np.column_stack([R, -R @ C])
    cam = decompose_projection(P * 7.0)  # scale must not matter
    np.testing.assert_allclose(cam.K, K, atol=1e-9)
    np.testing.assert_allclose(cam.pose[:3, 3], C, atol=1e-9)
    np.testing.assert_allclose(cam.pose[:3, :3], np.eye(3), atol=1e-9)


def test_bad_files(tmp_path):
    (tmp_path / "l.txt").write_text("nose_tip 12\nleft_eye x\n")
    with pytest.raises(FormatError, match="line 2"):
        read_landmarks(tmp_path / "l.txt")
    (tmp_path / "r.txt").write_text("1\n2\nthree\n")
    with pytest.raises(FormatError, match="non-integer"):
        read_region(tmp_path / "r.txt")
    with pytest.raises(InputError, match="not found"):
        read_region(tmp_path / "none.txt")
    (tmp_path / "c.toml").write_text("version = 1\n")
    with pytest.raises(FormatError, match=r"no \[scenes\]"):
        load_config(tmp_path / "c.toml")
    (tmp_path / "d.toml").write_text("version = = 1\n")
    with pytest.raises(FormatError, match="not valid TOML"):
        load_config(tmp_path / "d.toml")
    with pytest.raises(InputError, match="not found"):
        H3DS(tmp_path / "absent")
    with pytest.raises(InputError, match="config not found"):
        H3DS(tmp_path, tmp_path / "missing.toml")


def test_find_predictions_layouts(dataset, tmp_path):
    root, _ = dataset
    ds = H3DS(root)
    (tmp_path / "scene_a").mkdir()
    (tmp_path / "scene_a" / "head.obj").write_text("v 0 0 0\n")
    (tmp_path / "scene_a" / "h3ds_landmarks.txt").write_text("nose_tip 0\n")
    (tmp_path / "scene_b.ply").write_text("ply\n")
    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "scene_b.obj").write_text("v 0 0 0\n")
    (tmp_path / "3" / "scene_b_landmarks.txt").write_text("nose_tip 0\n")
    a = find_prediction(tmp_path, "scene_a")
    assert a.unit == "m" and a.landmarks.name == "h3ds_landmarks.txt"
    b = find_prediction(tmp_path, "scene_b")
    assert b.unit == "mm" and b.landmarks is None and b.path.suffix == ".ply"
    found = find_predictions(tmp_path, ds)
    assert set(found["scene_a"]) == {"default"}
    assert set(found["scene_b"]) == {"3", "default"}
    assert found["scene_b"]["3"].landmarks.name == "scene_b_landmarks.txt"
    # The head with its hair layer, scored with its own landmark file.
    (tmp_path / "scene_a" / "head_with_hair.obj").write_text("v 0 0 0\n")
    (tmp_path / "scene_a" / "h3ds_landmarks_with_hair.txt").write_text("nose_tip 0\n")
    h = find_predictions(tmp_path, ds, mesh_name="head_with_hair")["scene_a"]["default"]
    assert h.path.name == "head_with_hair.obj"
    assert h.landmarks.name == "h3ds_landmarks_with_hair.txt"
    with pytest.raises(InputError, match="unknown mesh 'hair'"):
        find_prediction(tmp_path, "scene_a", "hair")
