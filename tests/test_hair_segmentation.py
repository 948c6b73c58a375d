"""Tests for monoscan.hair.segmentation and ``monoscan segment-hair``."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from monoscan.cli import main
from monoscan.core.errors import InputError
from monoscan.hair import segmentation as hs
from monoscan.hair.segmentation import letterbox, segment_hair, unletterbox
from monoscan.metrics.hair2d import mask_iou
from monoscan.perception.face import detect_faces
from monoscan.perception.person import segment_person

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hair_seg"
needs_data = pytest.mark.skipif(
    not (DATA / "celeb_val").is_dir(), reason=f"hair segmentation data not found at {DATA}"
)

# Validation images: CelebAMask-HQ val, and Figaro frames that are multiples of 10 (the
# documented Figaro validation split: never trained on), one per hair type.
CELEB_VAL = ["28509", "28530", "28560", "28590", "28620", "28650"]
FIGARO_VAL = [
    "Frame00020",
    "Frame00170",
    "Frame00320",
    "Frame00480",
    "Frame00630",
    "Frame00800",
    "Frame00920",
]
# Mean IoU the shipped model reaches on exactly these images (measured 2026-11-30 with
# flip averaging, no person gate: celeb 0.851, figaro 0.937; full sets: celeb_val 0.859,
# figaro_val 0.902) minus a margin.
MIN_MEAN_IOU = {"celeb_val": 0.78, "figaro_val": 0.88}


def _read(split: str, stem: str) -> tuple[np.ndarray, np.ndarray]:
    folder = DATA / ("figaro_train" if split == "figaro_val" else split)
    rgb = cv2.cvtColor(cv2.imread(str(folder / "images" / f"{stem}.jpg")), cv2.COLOR_BGR2RGB)
    mask = cv2.imread(str(folder / "masks" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE) > 127
    return rgb, mask


def test_model_shipped_small():
    assert hs.MODEL_PATH.is_file()
    assert hs.MODEL_PATH.stat().st_size <= 25 * 2**20
    meta = hs.model_metadata()
    assert meta["input_size"] > 0 and 0 < meta["threshold"] < 1


def test_mask_iou_hand_values():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2, :2] = True  # 4 pixels
    b[:2, :3] = True  # 6 pixels, 4 shared
    assert mask_iou(a, b) == pytest.approx(4 / 6)
    assert mask_iou(a, np.zeros_like(a)) == 0.0
    assert mask_iou(np.zeros_like(a), np.zeros_like(a)) == 1.0
    with pytest.raises(InputError, match="does not match"):
        mask_iou(a, np.zeros((3, 4), bool))


def test_letterbox_places_and_restores():
    img = np.zeros((40, 100), np.float32)
    img[10:30, 20:60] = 1.0
    sq, box = letterbox(img, 50)
    # 100x100 square, photo 30 rows down; halved.
    assert sq.shape == (50, 50)
    assert (box.side, box.top, box.left) == (100, 30, 0)
    assert sq[:14].max() == 0 and sq[36:].max() == 0  # the zero padding
    assert sq[25, 20] == pytest.approx(1.0)
    back = unletterbox(sq, box)
    assert back.shape == (40, 100)
    assert mask_iou(back >= 0.5, img > 0.5) > 0.95


@pytest.mark.parametrize("shape", [(1, 1, 3), (37, 101, 3), (257, 63, 3), (513, 511, 3)])
def test_output_has_input_size(shape):
    rgb = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    seg = segment_hair(rgb)
    assert seg.probability.shape == shape[:2] and seg.probability.dtype == np.float32
    assert seg.mask.shape == shape[:2] and seg.mask.dtype == bool
    assert seg.probability.min() >= 0.0 and seg.probability.max() <= 1.0
    assert np.array_equal(seg.mask, seg.probability >= seg.threshold)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((32, 32, 3), np.float32), "dtype float32"),
        (np.zeros((32, 32), np.uint8), "shape"),
        (np.zeros((32, 32, 4), np.uint8), "shape"),
        (np.zeros((0, 32, 3), np.uint8), "empty"),
        ([[0, 0, 0]], "list"),
    ],
)
def test_bad_input_raises(bad, match):
    with pytest.raises(InputError, match=match):
        segment_hair(bad)


def test_session_is_cached():
    segment_hair(np.zeros((8, 8, 3), np.uint8))
    sess = hs._session(hs.MODEL_PATH, 1)
    segment_hair(np.zeros((9, 9, 3), np.uint8))
    assert hs._session(hs.MODEL_PATH, 1) is sess


@needs_data
@pytest.mark.parametrize("split, stems", [("celeb_val", CELEB_VAL), ("figaro_val", FIGARO_VAL)])
def test_iou_on_real_validation_images(split, stems):
    ious = []
    for stem in stems:
        rgb, truth = _read(split, stem)
        seg = segment_hair(rgb)
        assert seg.mask.shape == truth.shape
        ious.append(mask_iou(seg.mask, truth))
    assert np.mean(ious) >= MIN_MEAN_IOU[split], ious
    assert min(ious) >= MIN_MEAN_IOU[split] - 0.25, ious


def test_person_gate_removes_hair_off_the_person():
    rgb = np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    plain = segment_hair(rgb)
    person = np.ones((64, 80), np.float32)
    person[:, :40] = 0.0  # left half: no person
    gated = segment_hair(rgb, person=person)
    assert not gated.mask[:, :40].any() and not gated.probability[:, :40].any()
    assert np.array_equal(gated.mask[:, 40:], plain.mask[:, 40:])
    assert np.array_equal(gated.mask, gated.probability >= gated.threshold)
    with pytest.raises(InputError, match="person map shape"):
        segment_hair(rgb, person=person[:10])


def test_person_gate_map_modes():
    blank = np.full((96, 128, 3), 200, np.uint8)
    assert hs.person_gate_map(blank, "off") is None
    assert hs.person_gate_map(blank, "auto") is None  # no face: a close-up of hair
    on = hs.person_gate_map(blank, "on")
    assert on.shape == (96, 128) and on.dtype == np.float32
    with pytest.raises(ValueError, match="mode must be"):
        hs.person_gate_map(blank, "sometimes")


@needs_data
def test_person_gate_helps_on_hair_coloured_background():
    # 28595 (brown wood) and 28633 (dark panelling): background the network alone partly calls
    # hair. Measured IoU without -> with the gate: 0.56 -> 0.78 and 0.53 -> 0.80.
    for stem in ("28595", "28633"):
        rgb, truth = _read("celeb_val", stem)
        plain = mask_iou(segment_hair(rgb).mask, truth)
        person = hs.person_gate_map(rgb, "auto")
        assert person is not None  # a face is found in these portraits
        gated = mask_iou(segment_hair(rgb, person=person).mask, truth)
        assert gated > plain + 0.05, (stem, plain, gated)


@needs_data
def test_cli_person_off_is_the_network_alone(tmp_path):
    good = DATA / "celeb_val" / "images" / f"{CELEB_VAL[3]}.jpg"
    assert main(["segment-hair", str(good), "--out", str(tmp_path), "--person", "off", "-q"]) == 0
    written = cv2.imread(str(tmp_path / good.stem / "hair_mask.png"), cv2.IMREAD_UNCHANGED)
    rgb, _ = _read("celeb_val", CELEB_VAL[3])
    assert np.array_equal(written == 255, segment_hair(rgb).mask)


@pytest.mark.xfail(
    strict=True,
    reason="known weakness: training has no hair-free photos, so a featureless image gets a "
    "hair-shaped prior (measured 12-27% of pixels on blank white/grey/black)",
)
def test_no_hair_on_blank_image():
    seg = segment_hair(np.full((200, 300, 3), 255, np.uint8))
    assert seg.area_fraction < 0.02


@needs_data
def test_cli_writes_masks_and_reports_bad_images(tmp_path, capsys):
    good = DATA / "celeb_val" / "images" / f"{CELEB_VAL[1]}.jpg"
    figaro = DATA / "figaro_train" / "images" / f"{FIGARO_VAL[0]}.jpg"
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not really a jpeg")
    out = tmp_path / "out"
    code = main(["segment-hair", str(good), str(bad), str(figaro), "--out", str(out), "-q"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("error:") == 1 and "broken.jpg" in captured.err
    for path, stem, split in [
        (good, CELEB_VAL[1], "celeb_val"),
        (figaro, FIGARO_VAL[0], "figaro_val"),
    ]:
        written = cv2.imread(str(out / path.stem / "hair_mask.png"), cv2.IMREAD_UNCHANGED)
        rgb, truth = _read(split, stem)
        assert written.dtype == np.uint8 and written.shape == truth.shape
        assert set(np.unique(written)) <= {0, 255}
        assert mask_iou(written == 255, truth) >= MIN_MEAN_IOU[split] - 0.1
        # Same pixels as the Python API: a portrait (face found) is gated by the person map,
        # a close-up of hair is not.
        person = segment_person(rgb) if detect_faces(rgb) else None
        assert (person is not None) == (split == "celeb_val")
        assert np.array_equal(written == 255, segment_hair(rgb, person=person).mask)
    assert not (out / "broken").exists()
    assert not list(out.rglob(".*"))  # no temp files left behind


@needs_data
def test_cli_all_good_exit_zero(tmp_path, capsys):
    good = DATA / "celeb_val" / "images" / f"{CELEB_VAL[1]}.jpg"
    code = main(["segment-hair", str(good), "--out", str(tmp_path), "--save-probability"])
    assert code == 0
    assert "hair_mask.png" in capsys.readouterr().out
    prob = cv2.imread(str(tmp_path / good.stem / "hair_probability.png"), cv2.IMREAD_UNCHANGED)
    assert prob.shape == (512, 512) and prob.max() > 200


def test_cli_rejects_bad_threshold(tmp_path, capsys):
    code = main(["segment-hair", "x.jpg", "--out", str(tmp_path), "--threshold", "1.5"])
    assert code == 2
    assert "error: --threshold" in capsys.readouterr().err
