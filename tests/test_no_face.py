"""Photos without a face (issue 16, part 3): a back view gets the HairStep maps alone.

The synthetic back view is scene 62 of the corpus's test styles, procedural hair only (a bun
seen from behind, yaw 175 deg), so it does not depend on ../shared/data. Measured when this
was written: hair IoU 0.944 in the crop against the scene's true hair mask; over the 10
procedural test-style back views with |yaw| > 120 deg among seeds 0-119 that have hair and no
face found, 0.61-0.96 (mean 0.91). Bounds sit below.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared
from PIL import Image

from monoscan.cli import main
from monoscan.io.images import load_image, save_png
from monoscan.metrics.hair2d import mask_iou
from monoscan.pipeline.photo import NEEDS_FACE

BACK_VIEW_SEED = 62
MIN_IOU = 0.85


@pytest.fixture(scope="module")
def back_view():
    from monoscan.synth.generate import generate_scene
    from monoscan.synth.scene import corpus_scene

    params = corpus_scene("test", BACK_VIEW_SEED, 512, 512, views="wide", real_styles=False)
    assert abs(params.yaw_deg) > 120  # seen from behind
    return generate_scene(params)


@pytest.fixture(scope="module")
def back_view_path(back_view, tmp_path_factory):
    return save_png(tmp_path_factory.mktemp("back") / "back.png", back_view.image)


def _true_hair_in_crop(scene, crop) -> np.ndarray:
    return crop.from_photo(scene.hair_mask.astype(np.uint8), nearest=True) > 0


@pytest.mark.parametrize("hair_model", ["learned", "prior"])
def test_back_view_gives_the_hair_maps_alone(back_view, hair_model):
    import monoscan

    recon = monoscan.reconstruct(back_view.image, monoscan.Options(hair_model=hair_model))
    assert recon.face is None and recon.camera is None and recon.face_mesh is None
    assert recon.head is None and recon.strands is None and recon.relief is None
    hair = recon.hair
    assert hair.strand_map.shape == (512, 512, 3) and hair.direction.shape == (512, 512, 2)
    iou = mask_iou(hair.hair_mask, _true_hair_in_crop(back_view, recon.crop))
    assert iou > MIN_IOU, iou
    inside = hair.depth[hair.hair_mask]
    assert inside.min() >= 0 and inside.max() <= 1 and inside.max() > 0.5
    assert hair.depth_m is None  # no metric scale without a face
    assert not np.isfinite(hair.face_depth_m).any()
    assert set(recon.skipped) == set(NEEDS_FACE)
    assert any("no face found" in n and "hair maps only" in n for n in recon.notes)
    # The crop frames the hair: all of it inside, and it is not a speck in the crop.
    assert recon.crop.box[2] < max(back_view.image.shape[:2])
    assert 0.05 < hair.hair_mask.mean() < 0.6


def test_body_still_runs_without_a_face(back_view):
    import monoscan

    recon = monoscan.reconstruct(back_view.image, monoscan.Options(body=True, strands=0))
    assert recon.face is None and recon.body is not None  # about 5 s
    assert "body" not in recon.skipped


def test_hairstep_and_reconstruct_commands_on_a_back_view(back_view, back_view_path, tmp_path):
    for command in ("hairstep", "reconstruct"):
        out = tmp_path / command
        assert main([command, str(back_view_path), "--out", str(out), "--quiet"]) == 0
        folder = out / "back"
        result = json.loads((folder / "result.json").read_text())
        assert result["face"] is None and result["camera"] is None
        assert "hair_mask.png" in result["artifacts"] and "strand_map.png" in result["artifacts"]
        assert "hair_depth_m.npy" not in result["artifacts"]
        assert not (folder / "face.obj").exists() and not (folder / "head.obj").exists()
        assert set(result["skipped"]) >= {"face", "relief"}
        if command == "reconstruct":
            assert set(result["skipped"]) == set(NEEDS_FACE)
        assert any("skipped without a face" in n for n in result["notes"])
        # The written maps read back and match the scene's hair.
        mask = load_image(folder / "hair_mask.png").rgb[..., 0] > 127
        strand_map = load_image(folder / "strand_map.png").rgb
        assert strand_map.shape == (512, 512, 3)
        assert (strand_map[..., 0][mask] == 255).all()  # R = hair
        crop = json.loads((folder / "crop.json").read_text())
        from monoscan.core.crop import Crop

        c = Crop(
            image=np.zeros((512, 512, 3), np.uint8),
            photo_to_crop=np.array(crop["photo_to_crop"]),
            photo_size=tuple(crop["photo_size_wh"]),
            box=tuple(crop["box_left_top_side_px"]),
        )
        assert mask_iou(mask, _true_hair_in_crop(back_view, c)) > MIN_IOU
        depth = np.load(folder / "hair_depth.npy")
        assert depth.shape == (512, 512) and depth[mask].max() > 0.5


@pytest.mark.parametrize("what", ["grey", "rocket", "grass"])
def test_neither_face_nor_hair_is_an_error(what, tmp_path, capsys):
    """The hair network alone calls 47 % of a plain grey image and 90 % of grass hair: without
    a face, only hair on a person counts."""
    from skimage import data

    if what == "grey":
        rgb = np.full((240, 320, 3), 128, np.uint8)
    else:  # a rocket on its launch pad (sky, trees, no person); a lawn
        rgb = getattr(data, what)()
        rgb = np.stack([rgb] * 3, -1) if rgb.ndim == 2 else rgb
    Image.fromarray(rgb).save(tmp_path / f"{what}.png")
    capsys.readouterr()
    code = main(["hairstep", str(tmp_path / f"{what}.png"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        f"error: {tmp_path / f'{what}.png'}: no face found in the photo, and no hair on a "
        "person either: nothing to reconstruct"
    ]
    assert not (tmp_path / "o" / what / "result.json").exists()


def test_hair_square_frames_the_hair_as_hairstep_frames_a_head():
    from monoscan.perception.crop import hair_square, hairstep_crop

    yy, xx = np.mgrid[0:600, 0:800]
    head = (xx - 500) ** 2 + (yy - 200) ** 2 < 60**2  # a head of hair 120 px wide
    cx, cy, side = hair_square(head)
    assert cx == pytest.approx(500, abs=2) and side == pytest.approx(2.2 * 120, rel=0.05)
    assert cy - side / 2 == pytest.approx(140 - 0.1 * side, abs=3)  # hair top 0.1 side down
    # The shoulders set the scale when seen; long hair grows the square, within 4 / 2.2 of it.
    assert hair_square(head, shoulder_width=300)[2] == pytest.approx(1.36 * 300)
    long = head | ((abs(xx - 500) < 60) & (yy > 200) & (yy < 560))
    assert 1.0 * 400 < hair_square(long)[2] < 1.04 * 421  # the hair is 421 px tall
    assert hair_square(long, shoulder_width=150)[2] == pytest.approx(1.36 * 150 * 4 / 2.2)
    assert hair_square(np.zeros((50, 50), bool)) is None
    crop = hairstep_crop(np.zeros((600, 800, 3), np.uint8), None, head)
    assert crop.box[2] == pytest.approx(side)


def test_hair_on_person_keeps_whole_pieces():
    from monoscan.hair.segmentation import hair_on_person

    hair = np.zeros((40, 60), bool)
    hair[5:25, 5:25] = True  # a piece one fifth on the person: kept whole
    hair[5:25, 40:55] = True  # a piece off the person: dropped
    person = np.zeros((40, 60), np.float32)
    person[20:40, 0:30] = 0.9
    kept = hair_on_person(hair, person)
    assert kept[5:25, 5:25].all() and not kept[:, 30:].any()
    assert not hair_on_person(hair, np.zeros_like(person)).any()


def test_braids_from_behind_real_photo():
    """Figaro1k braids (frames 601-750 of its training split) are mostly seen from behind; on
    the 99 where no face is found the hair IoU in the crop was 0.916 on average (median 0.930,
    lowest 0.45 on a photo whose mask looks shifted; two more, where the person segmentation
    sees no person at all, are refused)."""
    import monoscan

    root = shared("hair_seg", "figaro_train")
    for frame, bound in ((604, 0.9), (700, 0.9)):  # measured 0.957, 0.975
        recon = monoscan.reconstruct(root / "images" / f"Frame{frame:05d}.jpg")
        assert recon.face is None
        truth = load_image(root / "masks" / f"Frame{frame:05d}.png").rgb[..., 0] > 127
        truth_crop = recon.crop.from_photo(truth.astype(np.uint8), nearest=True) > 0
        assert mask_iou(recon.hair.hair_mask, truth_crop) > bound
