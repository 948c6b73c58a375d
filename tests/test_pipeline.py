"""End to end: reconstruct() on real photos, result.json, atomic and overwrite-safe outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh
from conftest import shared

import monoscan
from monoscan.core.errors import InputError
from monoscan.hair.segmentation import PERSON_FLOOR, segment_hair
from monoscan.pipeline import Options


@pytest.fixture(scope="module")
def astronaut_result(tmp_path_factory, astronaut_path):
    out = tmp_path_factory.mktemp("out")
    recon = monoscan.reconstruct(astronaut_path)
    return recon, monoscan.write_outputs(recon, out)


def test_result_json_lists_every_artifact(astronaut_result):
    recon, result_path = astronaut_result
    result = json.loads(result_path.read_text())
    folder = result_path.parent
    assert folder.name == "astronaut"
    assert result["schema_version"] == "1.0"
    assert result["input"]["sha256"] == recon.photo.sha256
    assert result["camera"]["scale_method"] == "iris"
    for stage in ("load", "face_landmarks", "crop", "face_mesh", "write"):
        assert result["timings_s"][stage] >= 0
    assert {"numpy", "mediapipe", "trimesh"} <= set(result["versions"])
    for name, meta in result["artifacts"].items():
        assert (folder / name).is_file(), name
        assert meta["meaning"] and meta["units"]
        for companion in meta.get("companions", []):
            assert (folder / companion).is_file()
    expected = {
        "face.obj",
        "face.glb",
        "face.ply",
        "landmarks68.npy",
        "landmarks68_photo.npy",
        "crop.png",
        "crop.json",
        "overlay.png",
        "person_mask.png",
    }
    assert expected <= set(result["artifacts"])
    assert not list(folder.glob(".*"))  # no temporary files


def test_files_reread(astronaut_result):
    recon, result_path = astronaut_result
    folder = result_path.parent
    lm_crop = np.load(folder / "landmarks68.npy")
    lm_photo = np.load(folder / "landmarks68_photo.npy")
    assert lm_crop.shape == lm_photo.shape == (68, 3)
    crop = json.loads((folder / "crop.json").read_text())
    m = np.asarray(crop["photo_to_crop"])
    np.testing.assert_allclose(lm_photo[:, :2] @ m[:2, :2].T + m[:2, 2], lm_crop[:, :2], atol=1e-3)
    assert lm_crop[:, :2].min() > 0 and lm_crop[:, :2].max() < 512
    obj = trimesh.load(folder / "face.obj", process=False)
    assert len(obj.vertices) == len(recon.face_mesh.vertices) and obj.visual.kind == "texture"
    assert not obj.is_watertight  # a face is an open surface; result.json says so
    assert (
        json.loads((folder / "result.json").read_text())["artifacts"]["face.obj"]["watertight"]
        is False
    )


def test_refuses_to_overwrite_and_replaces_with_overwrite(astronaut_result):
    recon, result_path = astronaut_result
    out = result_path.parent.parent
    with pytest.raises(InputError, match="already holds a result; use --overwrite"):
        monoscan.write_outputs(recon, out)
    assert monoscan.write_outputs(recon, out, overwrite=True) == result_path


def test_failed_write_leaves_no_result(tmp_path, astronaut_result, monkeypatch):
    recon, _ = astronaut_result
    from monoscan.render import overlay

    def broken(_):
        raise RuntimeError("disk full")

    monkeypatch.setattr(overlay, "draw_overlay", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        monoscan.write_outputs(recon, tmp_path)
    folder = tmp_path / "astronaut"
    assert not (folder / "result.json").exists()  # the folder does not look complete
    assert not list(folder.glob(".*"))  # and no temporary file is left


def test_options_are_validated():
    with pytest.raises(InputError, match="unknown format"):
        Options(formats=("obj", "fbx"))
    with pytest.raises(InputError, match="face index must be >= 0"):
        Options(face_index=-1)


def test_every_portrait_reconstructs():
    folder = shared("portraits")
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    assert len(photos) >= 18
    for photo in photos:
        recon = monoscan.reconstruct(photo, Options(person=False, hair=False, subdivisions=1))
        extent = np.ptp(recon.face_mesh.vertices, axis=0)
        assert 0.09 < extent[0] < 0.22, (photo.name, extent)  # metric face width
        assert recon.landmarks68_crop[:, :2].min() > -5 and recon.landmarks68_crop.max() < 517


def test_head_and_strands_are_written_and_reread(astronaut_result):
    from monoscan.io.strands import read_strands

    recon, result_path = astronaut_result
    folder = result_path.parent
    head = trimesh.load(folder / "head.obj", process=False, force="mesh")
    ply = trimesh.load(folder / "head.ply", process=False)
    # The textured OBJ is split where its UV layout has seams: the closed mesh's vertices come
    # first, in order, so landmark ids hold for both files.
    n = len(recon.head.vertices)
    assert len(ply.vertices) == n <= len(head.vertices)
    np.testing.assert_allclose(head.vertices[:n], ply.vertices, atol=1e-6)
    assert ply.is_watertight and ply.is_winding_consistent and ply.volume > 0
    height = np.ptp(ply.vertices[:, 1])
    assert 0.20 < height < 0.40  # chin-to-crown plus neck, metres
    ids = dict(line.split() for line in (folder / "h3ds_landmarks.txt").read_text().splitlines())
    assert set(ids) == {"right_eye", "left_eye", "nose_tip", "nose_base", "right_lips", "left_lips"}
    nose = ply.vertices[int(ids["nose_tip"])]
    assert np.linalg.norm(nose - recon.face_mesh.vertices[1]) < 0.005
    assert ply.vertices[int(ids["right_eye"]), 0] < ply.vertices[int(ids["left_eye"]), 0]
    strands = read_strands(folder / "strands.data")
    assert strands.n_strands == recon.strands.n_strands >= 9000
    np.testing.assert_allclose(strands.points, recon.strands.points, atol=1e-6)
    assert set(json.loads(result_path.read_text())["artifacts"]) >= {
        "strands.hair",
        "strands.usdc",
        "strands.ply",
        "hair.glb",
        "hair_volume.obj",
        "strands_usc.data",
        "head.glb",
    }
    # Roots on the scalp, above the eyes; no strand point deep inside the head.
    roots = strands.roots
    assert np.median(roots[:, 1]) > recon.face_mesh.vertices[:468, 1].max() - 0.05
    from trimesh.proximity import signed_distance

    sample = strands.points[:: max(1, strands.n_points // 3000)]
    assert np.mean(signed_distance(ply, sample) > 0.003) < 0.01


def test_hair_maps_are_written_in_hairstep_conventions(astronaut_result):
    from PIL import Image

    recon, result_path = astronaut_result
    folder = result_path.parent
    mask = np.asarray(Image.open(folder / "hair_mask.png"))
    assert mask.shape == (512, 512) and set(np.unique(mask)) <= {0, 255}
    hair = mask == 255
    assert 0.03 < hair.mean() < 0.5  # the astronaut's short hair is found
    smap = np.asarray(Image.open(folder / "strand_map.png"))
    assert smap.shape == (512, 512, 3)
    assert np.array_equal(smap[..., 0] == 255, hair)  # R = 255 exactly on hair
    # Decoded directions are unit vectors on hair (monoscan.io.maps.decode_strand_map).
    g, b = smap[..., 1] / 255.0, smap[..., 2] / 255.0
    d = np.stack([1 - 2 * b, 1 - 2 * g], -1)[hair]
    assert np.median(np.linalg.norm(d, axis=1)) == pytest.approx(1.0, abs=0.05)
    depth = np.load(folder / "hair_depth.npy")
    assert depth.dtype == np.float32 and depth.shape == (512, 512)
    assert depth[~hair].max() == 0 and depth[hair].min() >= 0 and depth[hair].max() == 1
    parsing = np.asarray(Image.open(folder / "parsing.png"))
    assert set(np.unique(parsing)) <= {0, 1, 2, 3, 4}
    assert np.array_equal(parsing == 3, hair)  # hair stays hair, also over the face
    photo_mask = np.asarray(Image.open(folder / "hair_mask_photo.png"))
    assert photo_mask.shape == recon.photo.rgb.shape[:2]
    # Hair only on the person (the segmentation's person gate).
    person = recon.crop.from_photo(recon.person_mask)
    assert not hair[person < PERSON_FLOOR].any()


def test_hair_is_segmented_on_the_photo_part_of_the_crop():
    # deca__exp_5's crop reaches past the photo on every side (black padding).
    photo = shared("portraits", "deca__exp_5.jpg")
    recon = monoscan.reconstruct(photo, Options(head=False, strands=0))
    x0, y0, x1, y1 = recon.crop.photo_window
    assert x0 > 0 and y0 > 0 and x1 < 512 and y1 < 512
    outside = np.ones((512, 512), bool)
    outside[y0:y1, x0:x1] = False
    assert recon.hair.hair_probability[outside].max() == 0
    padding = np.ones((512, 512), bool)  # beyond the 1 px rim that mixes photo and black
    padding[y0 - 1 : y1 + 1, x0 - 1 : x1 + 1] = False
    assert recon.crop.image[padding].max() == 0
    # The window's probability is the network's on exactly that part of the crop.
    window = np.ascontiguousarray(recon.crop.image[y0:y1, x0:x1])
    person = recon.crop.from_photo(recon.person_mask)[y0:y1, x0:x1]
    np.testing.assert_array_equal(
        recon.hair.hair_probability[y0:y1, x0:x1], segment_hair(window, person=person).probability
    )


def test_no_hair_means_no_strands_but_a_result(monkeypatch, astronaut_rgb):
    import monoscan.hair.segmentation as seg

    real = seg.segment_hair

    def bald(rgb, **kw):
        out = real(rgb, **kw)
        return type(out)(
            probability=out.probability * 0, mask=out.mask & False, threshold=out.threshold
        )

    monkeypatch.setattr(seg, "segment_hair", bald)
    recon = monoscan.reconstruct(astronaut_rgb, Options(person=False))
    assert recon.strands is None and recon.head is not None
    assert "no hair found in the photo: no strands grown" in recon.notes
