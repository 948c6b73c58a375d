"""Per-stage time and peak memory of load + perception + face mesh over the portraits.

    python benchmarks/bench_face.py [--photos ../shared/data/portraits] [--threads 1]

Runs the pipeline up to the face mesh, person mask, pose and hair maps (no head, no strands:
``benchmarks/bench_head.py`` and ``bench_strands.py`` measure those) on every photo, after one
warm-up photo (model loading is reported separately), in one process. Target (issue 2):
load + face landmarks + crop + camera + face mesh <= 0.3 s per ~1 MP photo on one core;
``import monoscan`` <= 1 s; peak RSS <= 1 GB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from _common import SHARED_DATA, peak_rss_mb, print_table

FACE_STAGES = ("load", "face_landmarks", "crop", "camera", "face_mesh")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default=str(SHARED_DATA / "portraits"))
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for OpenCV")
    args = ap.parse_args()

    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import monoscan"], check=True)
    import_s = time.perf_counter() - t

    import cv2

    cv2.setNumThreads(args.threads)
    import monoscan
    from monoscan.pipeline import Options

    photos = sorted(
        (p for p in os.scandir(args.photos) if p.name.lower().endswith((".jpg", ".jpeg", ".png"))),
        key=lambda p: p.name,
    )
    t = time.perf_counter()
    options = Options(head=False, strands=0)
    monoscan.reconstruct(photos[0].path, options)  # loads every model once
    warmup_s = time.perf_counter() - t
    rows, totals = [], []
    for p in photos:
        recon = monoscan.reconstruct(p.path, options)
        tm = recon.timings
        face_total = sum(tm[s] for s in FACE_STAGES)
        totals.append(face_total)
        mp = recon.photo.width * recon.photo.height / 1e6
        rows.append(
            [p.name[:34], f"{mp:.2f}"]
            + [tm[s] * 1000 for s in FACE_STAGES]
            + [face_total * 1000, tm["person_segmentation"] * 1000, tm["pose"] * 1000]
        )
    print_table(
        ["photo", "MP"]
        + [f"{s} ms" for s in FACE_STAGES]
        + ["face total ms", "person ms", "pose ms"],
        rows,
    )
    totals.sort()
    print(
        f"\nface pipeline per photo: median {totals[len(totals) // 2] * 1000:.0f} ms, "
        f"max {totals[-1] * 1000:.0f} ms (target <= 300 ms per ~1 MP photo)"
    )
    print(f"first photo incl. model loading: {warmup_s:.2f} s")
    print(f"import monoscan (fresh interpreter): {import_s:.2f} s (target <= 1 s)")
    print(f"peak RSS: {peak_rss_mb():.0f} MiB (target <= 1024 MiB)")


if __name__ == "__main__":
    main()
