"""Score the prior and the learned hair maps on cached scenes, as ``monoscan bench`` does.

Reads the cache of ``scripts/prepare_hair_maps_data.py`` (the pipeline's own inputs and its
prior maps on renders, the truth in the same crop) and computes, per set, the hair metrics of
:func:`monoscan.evaluation.synthetic.score_scene` (HairSale both conventions, strand-map
undirected error, HairRida on local pairs, depth order on random pairs; same pair sampling and
seeds) for the prior maps and for the learned network
(:func:`monoscan.hair.learned.learned_hair_maps`).
The cached sets ``test_frontal`` and ``train_frontal`` (seeds 0-99) are the scenes of
``monoscan bench --synthetic 100 --split test|train --seed 0``. Example::

    python scripts/score_hair_maps.py --sets test_frontal,train_frontal --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from monoscan.evaluation.synthetic import _pairs  # noqa: E402
from monoscan.hair.learned import MODEL_PATH, blend_orientation, learned_hair_maps  # noqa: E402
from monoscan.metrics.hair2d import hair_rida, hair_sale, orientation_error  # noqa: E402

VARIANTS = ("prior", "learned", "learned_snap", "learned_mix", "learned_blend")
NAMES = {
    "hair_sale_deg": "HairSale (deg)",
    "hair_sale_capped90_deg": "HairSale capped 90 (deg)",
    "strand_undirected_deg": "strand map undirected (deg)",
    "hair_rida_pct": "HairRida (%)",
    "hair_depth_ordinal_pct": "hair depth ordinal (%)",
}


def score_maps(direction, depth, mask, gt_mask, gt_dir, gt_z, seed: int) -> dict:
    """The hair metrics of ``score_scene`` for one scene."""
    rng = np.random.default_rng([seed, 23])
    out = {}
    sale = hair_sale(direction, gt_dir, mask, gt_mask)
    if sale.n_pixels:
        out["hair_sale_deg"] = sale.deg
        out["hair_sale_capped90_deg"] = sale.deg_capped90
    both = mask & gt_mask
    if both.any():
        out["strand_undirected_deg"] = orientation_error(direction, gt_dir, both)
    pairs, labels = _pairs(gt_mask, gt_z, rng, 2000, local=True, min_dz=0.002)
    r = hair_rida(depth, pairs, labels, mask)
    if r.n_used:
        out["hair_rida_pct"] = r.percent
    pairs, labels = _pairs(gt_mask, gt_z, rng, 2000, local=False, min_dz=0.005)
    r = hair_rida(depth, pairs, labels, mask)
    if r.n_used:
        out["hair_depth_ordinal_pct"] = r.percent
    return out


def score_set(folder: Path, model: Path, variants=VARIANTS) -> dict:
    vals: dict[str, dict[str, list[float]]] = {v: {k: [] for k in NAMES} for v in variants}
    files = sorted(folder.glob("*.npz"))
    skipped = len(list(folder.glob("*.skip")))
    for p in files:
        z = np.load(p)
        mask, gt_mask = z["mask"], z["gt_mask"]
        gt_dir, gt_z = z["gt_direction"].astype(np.float32), z["gt_depth_m"].astype(np.float32)
        theta = z["orientation"].astype(np.float32)
        maps = {
            "prior": (z["prior_direction"].astype(np.float32), z["prior_depth"].astype(np.float32))
        }
        if len(variants) > 1:
            lm = learned_hair_maps(
                mask,
                theta,
                z["confidence"].astype(np.float32),
                z["face_depth_m"].astype(np.float32),
                z["body"],
                model_path=model,
                blend=False,
            )
            maps["learned"] = (lm.direction, lm.depth)
            t = np.stack([np.cos(theta), np.sin(theta)], -1)
            s = np.sign((t * lm.direction).sum(-1, keepdims=True))
            maps["learned_snap"] = (
                np.where(mask[..., None], s * t, 0).astype(np.float32),
                lm.depth,
            )
            # Gabor where it is confident, the network elsewhere.
            conf = z["confidence"].astype(np.float32)
            hi = conf >= np.percentile(conf[mask], 50) if mask.any() else conf > 0
            mix = np.where((mask & hi)[..., None], s * t, lm.direction).astype(np.float32)
            maps["learned_mix"] = (mix, lm.depth)
            maps["learned_blend"] = (blend_orientation(lm.direction, theta, conf, mask), lm.depth)
        for v in variants:
            sc = score_maps(*maps[v], mask, gt_mask, gt_dir, gt_z, int(p.stem))
            for k, x in sc.items():
                vals[v][k].append(x)
    return {
        "scenes": len(files),
        "no_face": skipped,
        **{
            v: {k: (float(np.mean(x)) if x else None) for k, x in vals[v].items()} for v in variants
        },
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=REPO / ".work" / "hm" / "cache")
    ap.add_argument("--sets", default="test_frontal,train_frontal")
    ap.add_argument("--model", type=Path, default=MODEL_PATH)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    res = {s: score_set(args.cache / s, args.model) for s in args.sets.split(",")}
    sets = list(res)
    print("metric".ljust(30) + "".join(f"{s}: {v}".rjust(26) for s in sets for v in VARIANTS))
    for k, name in NAMES.items():
        row = name.ljust(30)
        for s in sets:
            for v in VARIANTS:
                x = res[s][v][k]
                row += ("-" if x is None else f"{x:.1f}").rjust(26)
        print(row)
    print(
        "scenes: "
        + ", ".join(f"{s} {res[s]['scenes']} (no face {res[s]['no_face']})" for s in sets)
    )
    if args.json:
        args.json.write_text(json.dumps({"model": str(args.model), "sets": res}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
