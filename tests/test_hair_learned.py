"""The learned hair maps (monoscan.hair.learned) and the --hair-model switch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from monoscan.core.errors import InputError
from monoscan.hair import learned
from monoscan.hair.learned import (
    METADATA_PATH,
    MODEL_PATH,
    N_INPUTS,
    hair_map_inputs,
    learned_hair_maps,
)


def _toy_crop(size: int = 512):
    """A disc of hair above a face-shaped depth bump, with vertical strands."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    c = size / 2
    hair = ((x - c) ** 2 + (y - 0.45 * size) ** 2 < (0.3 * size) ** 2) & (y < 0.5 * size)
    face_region = (x - c) ** 2 / (0.15 * size) ** 2 + (y - 0.6 * size) ** 2 / (0.2 * size) ** 2 < 1
    face = np.where(face_region, 0.08 - 1e-6 * ((x - c) ** 2 + (y - 0.6 * size) ** 2), np.nan)
    orientation = np.full((size, size), np.pi / 2, np.float32)
    confidence = np.where(hair, 0.3, 0.0).astype(np.float32)
    body = (y > 0.8 * size) & ~hair
    return hair, orientation, confidence, face.astype(np.float32), body


def test_models_fit_the_size_budget_and_say_how_they_were_made():
    sizes = sum(p.stat().st_size for p in MODEL_PATH.parent.glob("hair_*.onnx"))
    assert MODEL_PATH.exists()
    assert sizes <= 25 * 1024 * 1024
    meta = json.loads(METADATA_PATH.read_text())
    assert meta["training_commands"] and meta["data"]["prepare_commands"]
    assert meta["input_size"] in (128, 256) and meta["onnx_vs_torch_max_abs"] < 1e-3


def test_inputs_have_the_documented_channels():
    hair, theta, conf, face, body = _toy_crop()
    x = hair_map_inputs(hair, theta, conf, face, body, size=256)
    assert x.shape == (N_INPUTS, 256, 256) and x.dtype == np.float32
    assert np.isfinite(x).all()
    assert x[0].max() == pytest.approx(1.0) and x[0].min() == 0.0
    # vertical strands: cos 2t = -1 inside the hair
    assert x[1][x[0] == 1].mean() == pytest.approx(-1.0, abs=1e-5)
    assert x[4].max() == 1.0 and 0.5 < x[5].max() < 0.9  # face depth in decimetres
    assert x[7, 0, 0] < 0 < x[7, 0, -1] and x[8, 0, 0] < 0 < x[8, -1, 0]
    with pytest.raises(InputError):
        hair_map_inputs(hair, theta[:10], conf, face, body)


def test_onnx_maps_are_unit_directions_and_normalised_depth_inside_the_hair():
    hair, theta, conf, face, body = _toy_crop()
    out = learned_hair_maps(hair, theta, conf, face, body)
    assert out.direction.shape == (512, 512, 2) and out.depth.shape == (512, 512)
    n = np.linalg.norm(out.direction, axis=-1)
    np.testing.assert_allclose(n[hair], 1.0, atol=1e-4)
    assert (n[~hair] == 0).all() and (out.depth[~hair] == 0).all()
    assert out.depth[hair].min() >= 0 and out.depth[hair].max() == pytest.approx(1.0)
    assert np.isnan(out.depth_m[~hair]).all() and np.isfinite(out.depth_m[hair]).all()
    # strands on top of a head grow down-ish over the sides, never all against gravity
    assert out.direction[hair][:, 1].mean() > -0.5


def test_a_missing_model_file_is_reported(tmp_path):
    hair, theta, conf, face, body = _toy_crop(64)
    assert not learned.model_available(tmp_path / "none.onnx")
    with pytest.raises(FileNotFoundError):
        learned_hair_maps(hair, theta, conf, face, body, model_path=tmp_path / "none.onnx")


def test_options_and_cli_take_the_hair_model():
    from monoscan.cli import build_parser
    from monoscan.commands.reconstruct import options_from_args
    from monoscan.pipeline.options import Options

    assert Options().hair_model == "learned"
    with pytest.raises(InputError):
        Options(hair_model="magic")
    args = build_parser().parse_args(["hairstep", "x.png", "-o", "out", "--hair-model", "prior"])
    args.formats = ""
    args.no_hair = False
    assert options_from_args(args).hair_model == "prior"


@pytest.fixture(scope="module")
def scene_and_maps():
    import monoscan
    from monoscan.pipeline.options import Options
    from monoscan.synth.generate import generate_scene
    from monoscan.synth.scene import corpus_scene

    scene = generate_scene(corpus_scene("test", SCENE_SEED, 512, 512, views="frontal"))
    out = {}
    for model in ("prior", "learned"):
        opts = Options(head=False, occlusion=False, strands=0, formats=(), hair_model=model)
        out[model] = monoscan.reconstruct(scene.image, opts)
    return scene, out


#: A test-split (held-out hairstyles) scene of the benchmark.
SCENE_SEED = 3


def test_the_flag_switches_the_maps_and_learned_beats_the_prior(scene_and_maps):
    from monoscan.metrics.hair2d import hair_sale

    scene, recon = scene_and_maps
    p, q = recon["prior"].hair, recon["learned"].hair
    np.testing.assert_array_equal(p.hair_mask, q.hair_mask)
    np.testing.assert_array_equal(p.orientation, q.orientation)
    assert not np.array_equal(p.direction, q.direction)
    assert not np.array_equal(p.strand_map, q.strand_map)
    assert not np.array_equal(p.depth, q.depth)
    crop = recon["prior"].crop
    gt_mask = crop.from_photo(scene.hair_mask.astype(np.uint8), nearest=True) > 0
    gt_dir = crop.from_photo(scene.direction.astype(np.float32), nearest=True)
    sale = {
        k: hair_sale(r.hair.direction, gt_dir, r.hair.hair_mask, gt_mask).deg
        for k, r in recon.items()
    }
    assert sale["learned"] < sale["prior"] - 5.0, sale
