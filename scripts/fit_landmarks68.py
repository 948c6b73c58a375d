"""Fit the MediaPipe-mesh -> iBUG-68 vertex table on the AFLW2000 photos, with leave-one-out.

Usage (from the repository root, with ../shared beside it)::

    python scripts/fit_landmarks68.py [--data ../shared/data/landmarks_aflw2000] [--k 8]

For each of the 68 landmarks it starts from the hand-chosen vertices in
``monoscan.perception.landmarks68.MESH_TO_68_INITIAL``, takes the ``k`` mesh vertices nearest to
that point (mean normalised image distance over the photos) and every midpoint of two of them as
candidates, and keeps the candidate with the lowest mean error against the hand-placed
landmarks. It prints the leave-one-out NME (each photo scored by a table fitted on the other
seven: the honest number) and the table fitted on all photos, to paste into landmarks68.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from monoscan.io.images import load_image
from monoscan.perception.face import detect_face_landmarks
from monoscan.perception.landmarks68 import MESH_TO_68_INITIAL


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/landmarks_aflw2000")
    ap.add_argument("--k", type=int, default=8)
    args = ap.parse_args()
    files = sorted(Path(args.data).glob("*_gt.npz"))
    pts, gts = [], []
    for f in files:
        gts.append(np.load(f)["pts68_2d_reannotated"].astype(np.float64))
        photo = load_image(f.with_name(f.name.replace("_gt.npz", ".jpg")))
        pts.append(detect_face_landmarks(photo.rgb).points[:468, :2].astype(np.float64))
    P, G = np.stack(pts), np.stack(gts)
    norm = np.sqrt(np.prod(np.ptp(G, axis=1), axis=1))  # sqrt(w*h) of each GT box
    n = len(files)

    def error(ids, photos, i):
        pos = P[photos][:, list(ids)].mean(axis=1)
        return np.linalg.norm(pos - G[photos, i], axis=1) / norm[photos]

    candidates = []
    for ids in MESH_TO_68_INITIAL:
        start = P[:, list(ids)].mean(axis=1)
        dist = (np.linalg.norm(P - start[:, None], axis=2) / norm[:, None]).mean(axis=0)
        near = [int(v) for v in np.argsort(dist)[: args.k]]
        candidates.append(
            [(a,) for a in near]
            + [tuple(sorted((a, b))) for j, a in enumerate(near) for b in near[j + 1 :]]
        )

    def fit(photos):
        return [
            min(c, key=lambda ids: error(ids, photos, i).mean()) for i, c in enumerate(candidates)
        ]

    loo, initial = [], []
    for t in range(n):
        table = fit([j for j in range(n) if j != t])
        loo.append(np.mean([error(ids, [t], i)[0] for i, ids in enumerate(table)]))
        initial.append(np.mean([error(ids, [t], i)[0] for i, ids in enumerate(MESH_TO_68_INITIAL)]))
    table = fit(list(range(n)))
    fitted = np.mean([error(ids, list(range(n)), i).mean() for i, ids in enumerate(table)])
    print("photo               initial NME   leave-one-out NME")
    for f, a, b in zip(files, initial, loo, strict=True):
        print(f"{f.stem:20s} {a * 100:8.2f} %   {b * 100:8.2f} %")
    print(f"{'mean':20s} {np.mean(initial) * 100:8.2f} %   {np.mean(loo) * 100:8.2f} %")
    print(f"table fitted on all {n} photos, in-sample NME {fitted * 100:.2f} %")
    print("MESH_TO_68 = (")
    for k in range(0, 68, 8):
        print("    " + " ".join(f"{ids}," for ids in table[k : k + 8]))
    print(")")


if __name__ == "__main__":
    main()
