"""The learned hair volume (monoscan.hair.learned3d) and its place in the 3D hair stage."""

from __future__ import annotations

import json
from pathlib import Path

import _hair3d_fixtures as fx
import numpy as np
import pytest

from monoscan.core.errors import InputError
from monoscan.hair.learned3d import (
    CONTEXT_SIZE,
    METADATA_PATH,
    MODEL_PATH,
    N_CONTEXT_MAPS,
    N_FEATURES,
    VolumeMaps,
    candidate_voxels,
    crop_context_maps,
    learned_volume,
)
from monoscan.hair.reconstruct3d import hair_strands
from monoscan.hair.volume import column_crop_coords, hair_occupancy


def _prior(kind: str):
    mask, zf = fx.short_hair(0.015) if kind == "short" else fx.long_hair()
    roots, _ = fx.scalp_roots(3000, seed=1)
    occ = hair_occupancy(mask, zf, fx.crop(), fx.camera(), fx.head_mesh(), roots=roots)
    return occ, mask, zf


@pytest.fixture(scope="module")
def short():
    return _prior("short")


@pytest.fixture(scope="module")
def long():
    return _prior("long")


def _learned(prior_mask_zf):
    occ, mask, zf = prior_mask_zf
    return learned_volume(occ, mask, fx.down_direction(), zf, None, fx.crop(), fx.camera())


def test_model_is_shipped_small_and_says_how_it_was_made():
    assert MODEL_PATH.exists() and MODEL_PATH.stat().st_size < 2 * 1024 * 1024
    meta = json.loads(METADATA_PATH.read_text())
    assert meta["training_commands"] and meta["data"]["prepare_commands"]
    assert meta["onnx_vs_torch_max_abs"] < 1e-3
    assert 0.05 <= meta["threshold"] <= 0.95
    # Scored on held-out (validation) styles, with the training styles' number beside it.
    assert meta["best_val"]["iou"] > 0.3 and "iou" in meta["train_subset"]


def test_features_are_the_documented_quantities(short):
    occ, mask, zf = short
    maps = VolumeMaps.build(occ, mask, fx.down_direction(), zf, None, fx.crop(), fx.camera())
    idx = np.argwhere(candidate_voxels(occ))[::97]
    f = maps.features(idx)
    assert f.shape == (len(idx), N_FEATURES) and f.dtype == np.float32
    assert np.isfinite(f).all()
    hd = occ.head_distance[tuple(idx.T)]
    np.testing.assert_allclose(f[:, 13], np.clip(hd / 0.05, -1, 4), atol=1e-6)
    # Feature 17: inside the prior volume positive, outside negative.
    inside = occ.grid[tuple(idx.T)]
    assert (f[inside, 17] > 0).all() and (f[~inside, 17] < 0).all()
    # Growth directions point down the image (feature 6 = image y) wherever there is hair.
    on_hair = f[:, 0] > 0.99
    assert on_hair.any() and np.allclose(f[on_hair, 6], 1.0, atol=1e-3)
    # Position relative to the voxelised head's centre, decimetres.
    world = occ.to_world(idx)
    np.testing.assert_allclose(f[:, 14:17] * 0.1 + maps.centre, world, atol=1e-5)


def test_context_maps_and_crop_columns_for_a_2d_encoder(short):
    occ, mask, zf = short
    maps = VolumeMaps.build(occ, mask, fx.down_direction(), zf, None, fx.crop(), fx.camera())
    c = maps.context
    assert c.shape == (N_CONTEXT_MAPS, CONTEXT_SIZE, CONTEXT_SIZE) and c.dtype == np.float32
    # area-resized hair mask; growth direction down the image (y) on hair, 0 off it
    k = mask.shape[0] // CONTEXT_SIZE
    small = mask.reshape(CONTEXT_SIZE, k, CONTEXT_SIZE, k).mean((1, 3))
    np.testing.assert_allclose(c[0], small, atol=1e-5)
    np.testing.assert_allclose(c[2], small, atol=1e-5)
    assert np.abs(c[1]).max() < 1e-6 and (c[4] == 0).all()
    # hair depth relative to its median over the hair, decimetres
    full = crop_context_maps(mask, fx.down_direction(), zf, np.zeros_like(mask), size=512)
    hair = mask > 0
    np.testing.assert_allclose(full[3][hair], (zf[hair] - np.median(zf[hair])) / 0.1, atol=1e-4)
    assert (full[3][~hair] == 0).all()
    # each voxel's column in the crop, as the per-voxel features sample it
    idx = np.argwhere(candidate_voxels(occ))[::211]
    u, v = column_crop_coords(occ.origin, occ.voxel_size, occ.shape, fx.crop(), fx.camera())
    np.testing.assert_array_equal(
        maps.crop_uv(idx), np.c_[u[idx[:, 0], idx[:, 1]], v[idx[:, 0], idx[:, 1]]]
    )


def test_learned_volume_is_outside_the_head_with_unit_directions(short):
    vol, field = _learned(short)
    occ = short[0]
    assert vol.grid.shape == occ.grid.shape and vol.info["learned"]
    assert vol.n_voxels > 1000
    assert (occ.head_distance[vol.grid] > 0.002).all()
    norms = np.linalg.norm(field[vol.grid], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-4)
    assert (field[~vol.grid] == 0).all()
    # Every scalp root has hair around it (no bald patch where the network says little).
    roots, _ = fx.scalp_roots(3000, seed=1)
    ri = np.rint(vol.to_index(roots)).astype(int)
    near = [vol.grid[i - 2 : i + 3, j - 2 : j + 3, k - 2 : k + 3].any() for i, j, k in ri]
    assert np.mean(near) > 0.97
    # Coarse to fine: far fewer network evaluations than candidate voxels.
    assert vol.info["evaluated_voxels"] < 0.5 * candidate_voxels(occ).sum()


def test_long_hair_reaches_lower_than_short_hair(short, long):
    s, _ = _learned(short)
    lg, _ = _learned(long)
    assert lg.voxel_points()[:, 1].min() < s.voxel_points()[:, 1].min() - 0.08
    # The short cap hugs the head: nothing far from it.
    assert np.percentile(short[0].head_distance[s.grid], 99) < 0.05


def test_strands_grow_in_the_learned_field(long):
    occ, mask, zf = long
    strands, vol = hair_strands(
        mask,
        fx.down_direction(),
        zf,
        fx.crop(),
        fx.camera(),
        fx.head_mesh(),
        n_strands=800,
        seed=3,
        volume_model="learned",
    )
    assert vol.info["learned"] and "learned_volume" in vol.info["timings_s"]
    assert strands.n_strands > 400
    not_root = np.ones(strands.n_points, bool)
    not_root[np.cumsum(strands.counts) - strands.counts] = False  # roots lie on the scalp
    assert fx.inside_head(strands.points[not_root]).mean() < 0.002
    # Long curtains: some strands end well below the chin.
    tips = strands.points[np.cumsum(strands.counts) - 1]
    assert tips[:, 1].min() < -0.12


def test_unknown_volume_model_is_an_input_error(short):
    _, mask, zf = short
    with pytest.raises(InputError, match="unknown volume model 'magic'"):
        hair_strands(
            mask,
            fx.down_direction(),
            zf,
            fx.crop(),
            fx.camera(),
            fx.head_mesh(),
            n_strands=100,
            volume_model="magic",
        )


def test_learned_volume_beats_the_prior_on_a_held_out_style():
    """One test-split scene through the whole pipeline: the 3D hair scored against truth."""
    import monoscan
    from monoscan.evaluation.synthetic import score_scene
    from monoscan.pipeline.options import Options
    from monoscan.synth.generate import generate_scene
    from monoscan.synth.scene import corpus_scene

    scene = generate_scene(corpus_scene("test", 3, 512, 512, views="frontal"))
    scores = {}
    for model in ("prior", "learned"):
        recon = monoscan.reconstruct(
            scene.image, Options(strands=3000, formats=(), hair_model=model)
        )
        assert recon.hair_volume.info.get("learned", False) == (model == "learned")
        scores[model] = score_scene(scene, recon)
    assert scores["learned"]["occupancy_iou"] > scores["prior"]["occupancy_iou"] + 0.05
    assert scores["learned"]["occupancy_recall"] > scores["prior"]["occupancy_recall"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's TorchScript ONNX exporter
def test_a_model_with_a_2d_encoder_gets_the_inputs_it_was_trained_on(short, tmp_path):
    # scripts/train_hair_volume.py --context: features, crop uv and crop maps of one scene
    torch = pytest.importorskip("torch")
    import sys

    from monoscan.hair.learned3d import predict_voxels

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from train_hair_volume import build_model

    occ, mask, zf = short
    maps = VolumeMaps.build(occ, mask, fx.down_direction(), zf, None, fx.crop(), fx.camera())
    idx = np.argwhere(candidate_voxels(occ))[::53]
    torch.manual_seed(0)
    model = build_model(16, 1, context=True).eval()
    feeds = (
        torch.from_numpy(maps.features(idx)[None]),
        torch.from_numpy(maps.crop_uv(idx)[None]),
        torch.from_numpy(maps.context[None]),
    )
    path = tmp_path / "context.onnx"
    torch.onnx.export(
        model,
        feeds,
        str(path),
        input_names=["features", "uv", "maps"],
        output_names=["voxels"],
        dynamic_axes={"features": {1: "n"}, "uv": {1: "n"}, "voxels": {1: "n"}},
        opset_version=17,
        dynamo=False,
    )
    with torch.no_grad():
        ref = model(*feeds)[0].numpy()
    prob, dirs = predict_voxels(maps, idx, model_path=path)
    np.testing.assert_allclose(prob, 1 / (1 + np.exp(-ref[:, 0])), atol=1e-5)
    d = ref[:, 1:4] / np.linalg.norm(ref[:, 1:4], axis=1, keepdims=True)
    np.testing.assert_allclose(dirs, d, atol=1e-4)
