"""Cache the training data of the learned hair maps: the product's own inputs on renders.

Every scene of the synthetic corpus (:func:`monoscan.synth.scene.corpus_scene`, one hairstyle
split, fixed seeds) is rendered in memory and run through the product's one-photo pipeline
(:func:`monoscan.reconstruct` without head, occlusion or strands). What the pipeline computed
on the *rendered image* (hair mask from our segmentation, Gabor orientation and confidence,
the fitted face's depth, the body label, the prior direction and depth: ``hair_model="prior"``)
is stored with the
scene's truth brought into the same 512 crop (exactly as ``monoscan bench`` scores it)::

    DIR/<split>_<views>/<seed>.npz

A scene whose face the pipeline does not find (back views) is recorded as ``<seed>.skip``.
Existing files are kept, so a stopped run resumes; the files depend only on (split, seed,
views). Example (the corpus of ``src/monoscan/models/hair_maps.json``)::

    nice -n 10 python scripts/prepare_hair_maps_data.py --split val --seed 200000 --n 60 \\
        --views frontal --workers 2
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path

# One BLAS and OpenMP thread per worker, set before NumPy loads (spawned workers inherit it):
# threads that wait for a core the other worker holds slow small solves up to 200x.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

F16 = np.float16


def _init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    cv2.setNumThreads(1)


def views_for(seed: int, views: str) -> str:
    """``mixed``: two frontal scenes for one wide one (by seed), else ``views`` itself."""
    if views == "mixed":
        return "wide" if seed % 3 == 0 else "frontal"
    return views


def prepare_one(split: str, seed: int, views: str, out: str) -> str:
    """Render scene ``seed``, run the pipeline on it and write its cache file."""
    import monoscan
    from monoscan.core.errors import MonoscanError
    from monoscan.pipeline.options import Options
    from monoscan.synth.generate import generate_scene
    from monoscan.synth.scene import corpus_scene

    path = Path(out) / f"{seed}.npz"
    if path.exists() or path.with_suffix(".skip").exists():
        return "cached"
    if split == "bench":  # the original benchmark scenes (``monoscan bench`` without --split)
        scene = generate_scene(seed, width=512, height=512)
    else:
        scene = generate_scene(corpus_scene(split, seed, 512, 512, views=views_for(seed, views)))
    try:
        recon = monoscan.reconstruct(
            scene.image,
            Options(head=False, occlusion=False, strands=0, formats=(), hair_model="prior"),
        )
    except MonoscanError as exc:
        path.with_suffix(".skip").write_text(f"{type(exc).__name__}: {exc}\n")
        return "skip"
    crop, hair = recon.crop, recon.hair
    gt_mask = crop.from_photo(scene.hair_mask.astype(np.uint8), nearest=True) > 0
    gt_dir = crop.from_photo(scene.direction.astype(np.float32), nearest=True)
    gt_z = crop.from_photo(
        np.nan_to_num(scene.hair_depth_m, nan=-1e3).astype(np.float32), nearest=True
    )
    gt_z = np.where(gt_mask, gt_z, np.nan).astype(np.float32)
    body = (hair.parsing != 0) & (hair.parsing != 3)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        image=crop.image.astype(np.uint8),
        mask=hair.hair_mask.astype(bool),
        probability=hair.hair_probability.astype(F16),
        orientation=hair.orientation.astype(F16),
        confidence=hair.confidence.astype(F16),
        face_depth_m=hair.face_depth_m.astype(F16),
        body=body,
        parsing=hair.parsing.astype(np.uint8),
        prior_direction=hair.direction.astype(F16),
        prior_depth=hair.depth.astype(F16),
        prior_depth_m=(
            np.full(gt_z.shape, np.nan, np.float32) if hair.depth_m is None else hair.depth_m
        ).astype(np.float32),
        gt_mask=gt_mask,
        gt_direction=gt_dir.astype(F16),
        gt_depth_m=gt_z,
        style=np.array(scene.params.style),
        yaw_deg=np.float32(scene.params.yaw_deg),
    )
    os.replace(tmp, path)
    return "ok"


def run_seeds(prepare, seeds, name: str, workers: int) -> None:
    """``prepare(seed) -> "ok" | "skip" | "cached"`` for every seed, in ``workers`` spawned
    processes (one: in this one), with a count every 20 seeds."""
    t0 = time.time()
    counts: dict[str, int] = {}
    if workers <= 1:
        _init()
        results = (prepare(s) for s in seeds)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init)
        futs = [pool.submit(prepare, s) for s in seeds]
        results = (f.result() for f in futs)
    for i, r in enumerate(results):
        counts[r] = counts.get(r, 0) + 1
        if (i + 1) % 20 == 0:
            print(f"{name}: {i + 1}/{len(seeds)} {counts} {time.time() - t0:.0f} s", flush=True)
    print(f"{name}: done {counts} in {time.time() - t0:.0f} s", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", required=True, choices=("train", "val", "test", "bench"))
    ap.add_argument("--seed", type=int, required=True, help="first seed")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--views", default="mixed", choices=("mixed", "frontal", "wide"))
    ap.add_argument("--out", type=Path, default=REPO / ".work" / "hm" / "cache")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    out = args.out / f"{args.split}_{args.views}"
    out.mkdir(parents=True, exist_ok=True)
    run_seeds(
        functools.partial(prepare_one, args.split, views=args.views, out=str(out)),
        range(args.seed, args.seed + args.n),
        out.name,
        args.workers,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
