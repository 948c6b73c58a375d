"""Occlusion handling on the AFLW2000 photos with synthetic occluders pasted over the faces.

Usage (from the repository root, with ../shared beside it)::

    python benchmarks/bench_occlusion.py [--data ../shared/data/landmarks_aflw2000] [--per-kind 2]
                                         [--no-hair]

For every photo, ``--per-kind`` occluders of each kind (hand-shaped blobs, bars, bangs;
``monoscan.synth.occluders``, fixed seeds) are pasted one at a time over the face found on the
clean photo. Each occluded photo is scored four ways with the 68-point NME of
``scripts/fit_landmarks68.py`` (normalised by sqrt(w*h) of the ground-truth box):

- ``clean``: landmarks on the photo without occluder (the floor);
- ``occluded``: landmarks on the occluded photo, no handling;
- ``handled``: ``monoscan.face.occlusion.handle_occlusion`` (estimated mask, inpaint, re-fit);
- ``oracle mask``: the same inpaint + re-fit (and mean with the detection) with the true
  occluder mask instead of the estimated one (what a perfect mask would give).

The last row scores the handling on the clean photos (what it costs when nothing was pasted).
A second table shows how far the parametric head fit (``monoscan.head.fit.fit_head``) moves
from its fit on the clean photo: on the occluded photo's landmarks, on the handled landmarks
(what the pipeline does), and on the handled landmarks with the occluded ones down-weighted.

It also prints the estimated mask's IoU with the true occluder mask (inside the face outline,
where the mask is defined) and the fraction of the clean faces the mask flags.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import print_table

from monoscan.face.camera import estimate_camera
from monoscan.face.occlusion import (
    face_region_mask,
    fill_occluded,
    handle_occlusion,
)
from monoscan.head.fit import fit_head
from monoscan.io.images import load_image
from monoscan.perception.face import detect_face_landmarks, landmarks_in_box
from monoscan.perception.landmarks68 import landmarks68_from_mesh
from monoscan.synth.occluders import OCCLUDER_KINDS, paste_occluder


def nme(points: np.ndarray | None, gt: np.ndarray) -> float:
    if points is None:
        return float("nan")
    norm = np.sqrt(np.prod(np.ptp(gt, axis=0)))
    return float(np.linalg.norm(landmarks68_from_mesh(points)[:, :2] - gt, axis=1).mean() / norm)


def head_drift(reference, camera, points: np.ndarray, weights=None) -> float:
    """Mean distance (mm) between head fits: anchors and the corners of a 18 cm box."""
    fit = fit_head(camera.photo_to_world(points), weights=weights)
    corners = np.array(np.meshgrid([-0.09, 0.09], [-0.09, 0.09], [-0.09, 0.09])).reshape(3, -1).T

    def key_points(f):
        return np.concatenate([np.stack(list(f.anchors().values())), f.to_world(corners)])

    return float(np.linalg.norm(key_points(fit) - key_points(reference), axis=1).mean() * 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/landmarks_aflw2000")
    ap.add_argument("--per-kind", type=int, default=2)
    ap.add_argument(
        "--no-hair", action="store_true", help="do not give the hair segmentation to the mask"
    )
    args = ap.parse_args()
    seg = None
    if not args.no_hair:
        from monoscan.hair.segmentation import segment_hair as seg
    files = sorted(Path(args.data).glob("*_gt.npz"))
    rows: dict[str, list] = {k: [] for k in OCCLUDER_KINDS}
    clean_rows, times = [], []
    for f in files:
        gt = np.load(f)["pts68_2d_reannotated"].astype(np.float64)
        rgb = load_image(f.with_name(f.name.replace("_gt.npz", ".jpg"))).rgb
        face = detect_face_landmarks(rgb)
        clean = nme(face.points, gt)
        oval = face_region_mask(rgb.shape[:2], face.points)
        res = handle_occlusion(rgb, face, seg(rgb).mask if seg else None)
        clean_mask = res.mask
        camera = estimate_camera(face.points)
        ref_head = fit_head(camera.photo_to_world(face.points))
        clean_rows.append(
            [
                clean,
                nme(res.points, gt),
                clean_mask.sum() / oval.sum(),
                head_drift(ref_head, camera, res.points),
                head_drift(ref_head, camera, res.points, res.weights),
            ]
        )
        for k, kind in enumerate(OCCLUDER_KINDS):
            for s in range(args.per_kind):
                occ, true = paste_occluder(rgb, face.points, kind, seed=1000 * k + s)
                true &= oval
                seen = detect_face_landmarks(occ)
                hair = seg(occ).mask if seg else None
                t0 = time.perf_counter()
                res = handle_occlusion(occ, seen, hair)
                times.append(time.perf_counter() - t0)
                oracle = landmarks_in_box(fill_occluded(occ, true), seen.box)
                oracle = None if oracle is None else (seen.points + oracle) / 2
                iou = (res.mask & true).sum() / max((res.mask | true).sum(), 1)
                # What the mask already flags on the clean photo is mostly real hair over the
                # face: the second IoU leaves those pixels out.
                new = res.mask & ~clean_mask
                iou_new = (new & true).sum() / max((new | (true & ~clean_mask)).sum(), 1)
                drift = [
                    head_drift(ref_head, camera, seen.points),
                    head_drift(ref_head, camera, res.points),
                    head_drift(ref_head, camera, res.points, res.weights),
                ]
                rows[kind].append(
                    [
                        clean,
                        nme(seen.points, gt),
                        nme(res.points, gt),
                        nme(oracle, gt),
                        iou,
                        iou_new,
                        *drift,
                    ]
                )
    table, head_table = [], []
    for kind in (*OCCLUDER_KINDS, "all"):
        r = np.array([x for v in rows.values() for x in v] if kind == "all" else rows[kind])
        table.append(
            [
                kind,
                len(r),
                *(np.nanmean(r[:, :4], 0) * 100).tolist(),
                *np.nanmean(r[:, 4:6], 0).tolist(),
            ]
        )
        head_table.append([kind, len(r), *np.nanmean(r[:, 6:], 0).tolist()])
    c = np.array(clean_rows)
    table.append(
        [
            "none (clean photo)",
            len(c),
            float(c[:, 0].mean() * 100),
            "-",
            float(c[:, 1].mean() * 100),
            "-",
            "-",
            "-",
        ]
    )
    print(
        f"{len(files)} photos, {args.per_kind} occluders of each kind per photo, "
        f"hair segmentation {'off' if args.no_hair else 'on'}; NME in %"
    )
    print_table(
        [
            "occluder",
            "n",
            "clean",
            "occluded",
            "handled",
            "oracle mask",
            "mask IoU",
            "IoU (new pixels)",
        ],
        table,
    )
    head_table.append(["none (clean photo)", len(c), 0.0, *c[:, 3:5].mean(0).tolist()])
    print(
        "\nhead fit drift: mean distance (mm) of the fitted head's anchors and bounding-box "
        "corners from the fit on the clean photo (same camera)"
    )
    print_table(
        [
            "occluder",
            "n",
            "occluded",
            "handled (pipeline)",
            "handled, occluded landmarks weight 0.2",
        ],
        head_table,
    )
    print(
        f"clean faces: the mask flags {c[:, 2].mean() * 100:.1f} % of the face on average "
        f"(max {c[:, 2].max() * 100:.1f} %)"
    )
    print(f"handle_occlusion on occluded photos: median {np.median(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
