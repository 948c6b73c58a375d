"""Per-stage time and peak memory of the 2D hair stages on HairStep's 512x512 portraits.

Stages timed: Gabor orientation (32 orientations, 2 refinement passes), growth direction,
strand-map encoding, hair depth (silhouette inflation only, and with a face depth map made
from the MediaPipe mesh so the face-boundary solve runs). Hair masks come from
``monoscan.hair.segmentation`` and landmarks from ``monoscan.perception.face`` (not timed).
OpenCV runs on one thread (``cv2.setNumThreads(1)``) unless ``--threads`` says otherwise.

Times are process CPU seconds (best of ``--repeat``), i.e. one-core cost, which stays
meaningful on a shared machine; peak memory is tracemalloc's (NumPy buffers included).

    python benchmarks/bench_hair2d.py [--data ../shared/data/portraits] [--repeat 3]
        [--threads 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
from scipy.interpolate import griddata

from monoscan.hair.depth import hair_depth
from monoscan.hair.direction import growth_direction
from monoscan.hair.orientation import hair_orientation
from monoscan.hair.segmentation import segment_hair
from monoscan.io.images import load_image
from monoscan.io.maps import encode_strand_map
from monoscan.perception.face import detect_face_landmarks

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "portraits"


def measure(fn, repeat):
    """(result, CPU seconds, peak MiB): best-of-``repeat`` process CPU time, which on a
    single OpenCV thread is the one-core cost even on a busy machine (wall time is printed
    too), and the tracemalloc peak of one more run."""
    cpu, wall = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    measure.last_wall = min(wall)
    return out, min(cpu), peak / 2**20


def face_depth_from_mesh(points, shape):
    """Rough metric face depth (m, closer = larger) interpolated from the mesh's relative z."""
    mpp = 0.14 / float(np.linalg.norm(points[454, :2] - points[234, :2]))
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    z = griddata(points[:468, :2], -points[:468, 2] * mpp + 0.07, (xx, yy), method="linear")
    return z.astype(np.float32), mpp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    files = sorted(glob.glob(str(args.data / "hairstep__*.png")))
    if not files:
        raise SystemExit(f"no hairstep__*.png portraits in {args.data}")
    rows = []
    for f in files:
        rgb = load_image(f).rgb
        hair = segment_hair(rgb).mask
        lm = detect_face_landmarks(rgb)
        fz, mpp = face_depth_from_mesh(lm.points, hair.shape)
        (theta, conf), t_or, m_or = measure(
            lambda rgb=rgb, hair=hair: hair_orientation(rgb, hair), args.repeat
        )
        d, t_dir, m_dir = measure(
            lambda t=theta, h=hair, lm=lm, c=conf: growth_direction(t, h, lm.landmarks68, c),
            args.repeat,
        )
        _, t_enc, m_enc = measure(lambda d=d, h=hair: encode_strand_map(d, h), args.repeat)
        _, t_d0, m_d0 = measure(lambda h=hair, t=theta: hair_depth(h, None, t), args.repeat)
        _, t_d1, m_d1 = measure(
            lambda h=hair, f=fz, t=theta, s=mpp: hair_depth(h, f, t, metres_per_pixel=s),
            args.repeat,
        )
        wall_depth = measure.last_wall
        rows.append(
            {
                "image": Path(f).stem.replace("hairstep__", ""),
                "hair_px": int(hair.sum()),
                "depth_face_wall_s": wall_depth,
                "orientation_s": t_or,
                "direction_s": t_dir,
                "encode_s": t_enc,
                "depth_noface_s": t_d0,
                "depth_face_s": t_d1,
                "orientation_MiB": m_or,
                "direction_MiB": m_dir,
                "encode_MiB": m_enc,
                "depth_noface_MiB": m_d0,
                "depth_face_MiB": m_d1,
            }
        )
        r = rows[-1]
        print(
            f"{r['image'][:28]:<28} hair {r['hair_px']:>6} px  CPU: orient {t_or:.3f}s "
            f"dir {t_dir:.3f}s enc {t_enc:.3f}s depth {t_d0:.3f}/{t_d1:.3f}s  peak MiB "
            f"{m_or:.0f}/{m_dir:.0f}/{m_d0:.0f}/{m_d1:.0f}",
            flush=True,
        )
    keys = [k for k in rows[0] if k.endswith(("_s", "_MiB")) and "wall" not in k]
    med = {k: statistics.median(r[k] for r in rows) for k in keys}
    print("median over", len(rows), "images:", ", ".join(f"{k} {v:.3f}" for k, v in med.items()))
    strand = med["orientation_s"] + med["direction_s"] + med["encode_s"]
    print(
        f"strand map total (orientation + direction + encode): {strand:.3f} CPU s "
        f"(target <= 0.5 s on one core); times are CPU seconds, best of --repeat"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"threads": args.threads, "rows": rows, "median": med}, indent=2)
        )


if __name__ == "__main__":
    main()
