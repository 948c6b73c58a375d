"""Cache the training data of the learned hair volume: voxel features and 3D truth.

Every scene of the synthetic corpus (:func:`monoscan.synth.scene.corpus_scene`, one hairstyle
split, fixed seeds) is rendered in memory and run through the product's one-photo pipeline
(:func:`monoscan.reconstruct` with the learned hair maps and the ICT head, strands off). On
what the pipeline computed from the *rendered image* the prior volume is built exactly as
:func:`monoscan.hair.reconstruct3d.hair_strands` builds it, and the voxel features of
:mod:`monoscan.hair.learned3d` are taken on its grid. The truth strands are brought into the
prediction's frame by the H3DS protocol's alignment of the true head onto the predicted one
(as ``monoscan bench`` scores), resampled every 2 mm and voxelised on the same grid: a voxel is
hair when a true strand point falls in it; its direction is the mean tangent there.

Voxels are drawn in four strata (true hair; prior hair that is not; within 12 mm of either;
all other candidates), up to ``--per-stratum`` each, with weights ``stratum size / drawn`` so
a weighted loss is the loss over all candidate voxels::

    DIR/<split>_<views>/<seed>.npz   features (N, 20) f16, occupied (N,) bool,
                                     direction (N, 3) f16, weight (N,) f32,
                                     uv (N, 2) f16, crop_maps (5, 128, 128) f16

``uv`` is each voxel's column in the 512 HairStep crop (pixels) and ``crop_maps`` the 2D
stage's maps on the crop, area-resized to 128
(:func:`monoscan.hair.learned3d.crop_context_maps`): what a 2D encoder needs for
pixel-aligned context features beyond the 20 per-voxel ones.

A scene whose face or head the pipeline does not find is recorded as ``<seed>.skip``.
Existing files are kept, so a stopped run resumes. Example (the corpus of
``src/monoscan/models/hair_volume.json``)::

    nice -n 10 python scripts/prepare_hair_volume_data.py --split train --seed 300000 --n 2000 \\
        --views mixed --workers 2
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path

# One BLAS and OpenMP thread per worker, set before NumPy loads (spawned workers inherit it):
# threads that wait for a core the other worker holds slow small solves up to 200x.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from prepare_hair_maps_data import run_seeds  # noqa: E402


def scene_volume_data(scene, recon, n_strands: int = 10_000, seed: int = 0):
    """(maps, prior Occupancy, truth occupancy grid, truth direction grid) of one scene."""
    from monoscan.evaluation.synthetic import head_alignment
    from monoscan.hair.learned3d import VolumeMaps
    from monoscan.hair.reconstruct3d import kept_roots
    from monoscan.hair.volume import hair_occupancy

    hair, crop, camera, head = recon.hair, recon.crop, recon.camera, recon.head
    mask = np.asarray(hair.hair_mask) > 0
    body = hair.parsing == 1
    roots, _, _, _ = kept_roots(head, mask, crop, camera, n_strands, seed)
    prior = hair_occupancy(mask, hair.depth_m, crop, camera, head, roots=roots, body_mask_crop=body)
    maps = VolumeMaps.build(prior, mask, hair.direction, hair.depth_m, body, crop, camera)
    to_truth = head_alignment(scene, head, recon.head_landmarks)
    truth = scene.strands.transform(np.linalg.inv(to_truth)).resample_spacing(0.002)
    idx = np.rint(prior.to_index(truth.points)).astype(np.int64)
    ok = np.all((idx >= 0) & (idx < np.array(prior.shape)), axis=1)
    idx, tang = idx[ok], truth.tangents[ok]
    occ = np.zeros(prior.shape, bool)
    occ[tuple(idx.T)] = True
    lin = np.ravel_multi_index(idx.T, prior.shape)
    dsum = np.zeros((occ.size, 3), np.float32)
    np.add.at(dsum, lin, tang.astype(np.float32))
    dsum = dsum.reshape(prior.shape + (3,))
    return maps, prior, occ, dsum


def prepare_one(split: str, seed: int, *, views: str, out: str, per_stratum: int) -> str:
    """Render scene ``seed``, run the pipeline on it and write its cache file."""
    from prepare_hair_maps_data import views_for
    from scipy import ndimage

    import monoscan
    from monoscan.core.errors import MonoscanError
    from monoscan.hair.learned3d import candidate_voxels
    from monoscan.pipeline.options import Options
    from monoscan.synth.generate import generate_scene
    from monoscan.synth.scene import corpus_scene

    path = Path(out) / f"{seed}.npz"
    if path.exists() or path.with_suffix(".skip").exists():
        return "cached"
    scene = generate_scene(corpus_scene(split, seed, 512, 512, views=views_for(seed, views)))
    try:
        recon = monoscan.reconstruct(scene.image, Options(strands=0, formats=()))
        if recon.head is None or recon.hair is None or recon.hair.depth_m is None:
            raise MonoscanError("no head or no hair depth")
        maps, prior, occ, dsum = scene_volume_data(scene, recon)
    except (MonoscanError, ValueError, np.linalg.LinAlgError) as exc:
        path.with_suffix(".skip").write_text(f"{type(exc).__name__}: {exc}\n")
        return "skip"
    cand = candidate_voxels(prior)
    truth = occ & cand
    pri = prior.grid & cand & ~truth
    near = ndimage.binary_dilation(truth | prior.grid, iterations=3) & cand & ~truth & ~pri
    rest = cand & ~truth & ~pri & ~near
    rng = np.random.default_rng([seed, 41])
    parts, weights = [], []
    for stratum in (truth, pri, near, rest):
        idx = np.argwhere(stratum)
        if not len(idx):
            continue
        take = rng.choice(len(idx), min(per_stratum, len(idx)), replace=False)
        parts.append(idx[take])
        weights.append(np.full(len(take), len(idx) / len(take), np.float32))
    idx = np.concatenate(parts)
    d = dsum[tuple(idx.T)]
    d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-6)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        features=maps.features(idx).astype(np.float16),
        occupied=occ[tuple(idx.T)],
        direction=d.astype(np.float16),
        weight=np.concatenate(weights),
        uv=maps.crop_uv(idx).astype(np.float16),
        crop_maps=maps.context.astype(np.float16),
        n_truth=np.int64(truth.sum()),
        n_prior=np.int64((prior.grid & cand).sum()),
        n_both=np.int64((prior.grid & truth).sum()),
        style=np.array(scene.params.style),
        yaw_deg=np.float32(scene.params.yaw_deg),
    )
    os.replace(tmp, path)
    return "ok"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", required=True, choices=("train", "val", "test"))
    ap.add_argument("--seed", type=int, required=True, help="first seed")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--views", default="mixed", choices=("mixed", "frontal", "wide"))
    ap.add_argument("--per-stratum", type=int, default=10_000)
    ap.add_argument("--out", type=Path, default=REPO / ".work" / "hv" / "cache")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    out = args.out / f"{args.split}_{args.views}"
    out.mkdir(parents=True, exist_ok=True)
    prepare = functools.partial(
        prepare_one, args.split, views=args.views, out=str(out), per_stratum=args.per_stratum
    )
    run_seeds(prepare, range(args.seed, args.seed + args.n), out.name, args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
