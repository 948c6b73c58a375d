"""Occlusion: the mask finds pasted occluders, spares clean skin, and handling helps landmarks."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared

from monoscan.face.occlusion import (
    face_region_mask,
    fill_occluded,
    handle_occlusion,
    landmark_visibility,
    occlusion_mask,
)
from monoscan.synth.occluders import occluder_mask, paste_occluder


@pytest.fixture(scope="module")
def astronaut_face(astronaut_rgb):
    from monoscan.perception.face import detect_face_landmarks

    return detect_face_landmarks(astronaut_rgb)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_clean_face_is_mostly_unoccluded(astronaut_rgb, astronaut_face):
    mask = occlusion_mask(astronaut_rgb, astronaut_face.points)
    region = face_region_mask(mask.shape, astronaut_face.points)
    assert mask.shape == astronaut_rgb.shape[:2]
    assert not (mask & ~region).any()  # only inside the face outline
    assert mask.sum() / region.sum() < 0.08


@pytest.mark.parametrize(
    ("kind", "seed", "min_iou"), [("bar", 1, 0.5), ("hand", 4, 0.4), ("bangs", 2, 0.4)]
)
def test_mask_finds_pasted_occluder(astronaut_rgb, astronaut_face, kind, seed, min_iou):
    pts = astronaut_face.points
    clean = occlusion_mask(astronaut_rgb, pts)
    occluded, true = paste_occluder(astronaut_rgb, pts, kind, seed)
    true &= face_region_mask(true.shape, pts)
    mask = occlusion_mask(occluded, pts)
    # Score what is new against the clean photo's mask (real hair over the face is not pasted).
    assert _iou(mask & ~clean, true & ~clean) > min_iou
    # The landmarks under the occluder are the ones flagged hidden.
    hidden = ~landmark_visibility(mask, pts)
    truly_hidden = ~landmark_visibility(true, pts)
    assert (hidden & truly_hidden).sum() >= 0.5 * truly_hidden.sum() > 0


def test_hair_segmentation_joins_the_mask(astronaut_rgb, astronaut_face):
    pts = astronaut_face.points
    hair = occluder_mask(astronaut_rgb.shape[:2], pts, "bangs", 0)
    mask = occlusion_mask(astronaut_rgb, pts, hair_mask_photo=hair)
    inside = hair & face_region_mask(hair.shape, pts)
    assert (mask & inside).sum() > 0.9 * inside.sum()


def test_fill_changes_only_the_masked_region(astronaut_rgb):
    mask = np.zeros(astronaut_rgb.shape[:2], bool)
    mask[200:240, 220:300] = True
    painted = astronaut_rgb.copy()
    painted[mask] = (0, 255, 0)
    filled = fill_occluded(painted, mask)
    assert np.array_equal(filled[:150], astronaut_rgb[:150])
    # The green bar is gone: the fill looks like its surroundings, not like the bar.
    assert np.abs(filled[mask].astype(int) - (0, 255, 0)).sum(1).mean() > 150
    with pytest.raises(ValueError):
        fill_occluded(painted, mask, method="nope")


def test_handling_moves_landmarks_towards_truth():
    """On a real AFLW2000 photo with a bar over the eye, handled landmarks beat unhandled ones."""
    from monoscan.io.images import load_image
    from monoscan.perception.face import detect_face_landmarks
    from monoscan.perception.landmarks68 import landmarks68_from_mesh

    data = shared("landmarks_aflw2000")
    gt = np.load(data / "image00408_gt.npz")["pts68_2d_reannotated"].astype(np.float64)
    rgb = load_image(data / "image00408.jpg").rgb
    face = detect_face_landmarks(rgb)
    norm = np.sqrt(np.prod(np.ptp(gt, axis=0)))

    def nme(points):
        return np.linalg.norm(landmarks68_from_mesh(points)[:, :2] - gt, axis=1).mean() / norm

    occluded, _ = paste_occluder(rgb, face.points, "bar", 1001)
    seen = detect_face_landmarks(occluded)
    handled = handle_occlusion(occluded, seen)
    assert handled.refitted and handled.fraction > 0.03
    assert nme(handled.points) < nme(seen.points) - 0.01  # 8.1 % -> 5.5 % when measured


def test_pipeline_writes_occlusion_mask(astronaut_rgb, tmp_path):
    from monoscan.io.images import load_image
    from monoscan.pipeline import Options, reconstruct, write_outputs

    # A green bar over the eyes: the written mask must find it, at the photo's size.
    photo = astronaut_rgb.copy()
    photo[95:112, 185:265] = (0, 200, 0)
    options = Options(person=False, hair=False, strands=0, formats=("obj",))
    recon = reconstruct(photo, options)
    assert recon.occlusion.shape == photo.shape[:2]
    result = write_outputs(recon, tmp_path, options)
    mask = load_image(result.parent / "occlusion_mask.png").rgb[..., 0]
    assert mask.shape == photo.shape[:2]
    assert set(np.unique(mask)) <= {0, 255}
    bar = np.zeros(mask.shape, bool)
    bar[95:112, 185:265] = True
    bar &= face_region_mask(mask.shape, recon.face.points)
    assert (mask[bar] == 255).mean() > 0.8
    # The face texture no longer shows the bar (it was inpainted).
    tex = recon.face_mesh.texture.reshape(-1, 3).astype(int)
    assert (np.abs(tex - (0, 200, 0)).sum(1) < 60).mean() < 0.002
    assert "occlusion_mask.png" in result.read_text()
    assert "occlusion" in recon.timings
