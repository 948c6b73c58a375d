"""The ICT head fit (``monoscan.head.ict``): synthetic recovery and real-photo landmarks.

1. Synthetic truth: random ICT identities (N(0, 1) coefficients, clipped at 3) and expressions
   (a few shapes at random weights), random pose; the targets are the model's own MediaPipe
   correspondence points with noise (1 mm in the photo plane, 3 mm in depth). Per-vertex error
   of the fitted face region (ICT vertices 0-6705, the kit's "narrow face") after similarity
   alignment, for the whole shape, the identity (neutral expression on both sides) and the
   expression (the expression displacement alone).
2. Real photos: 68-point NME on ``../shared/data/landmarks_aflw2000`` of the fitted model's
   landmarks against the hand re-annotations: where MediaPipe's 68-point mapping puts them on
   the fitted skin, and at the kit's own 68 landmark vertices (Multi-PIE conventions, whose jaw
   line differs); beside MediaPipe's own 68 points (``landmarks68_from_mesh``).

    python benchmarks/bench_ict_fit.py [--scenes 50] [--seed 0]

The fit is timed with one BLAS thread, as the ``monoscan`` command runs it
(``monoscan.cli.BLAS_THREADS``; set ``OPENBLAS_NUM_THREADS=2`` to compare: 0.42 s against
0.19 s per fit on an idle 2-core machine).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from monoscan.cli import single_threaded_blas

single_threaded_blas()  # before NumPy loads

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, peak_rss_mb, print_table

FACE = slice(0, 6706)


def aligned_error_mm(pred: np.ndarray, true: np.ndarray) -> float:
    from monoscan.core.geometry import similarity_transform

    s, rot, t = similarity_transform(pred, true)
    return float(np.linalg.norm(s * pred @ rot.T + t - true, axis=1).mean() * 1000)


def synthetic(n: int, seed: int) -> list[list]:
    from scipy.spatial.transform import Rotation

    from monoscan.head.ict import fit_ict, load_ict_model

    model = load_ict_model()
    rng = np.random.default_rng(seed)
    err_all, err_id, err_ex, times = [], [], [], []
    for _ in range(n):
        ident = np.clip(rng.normal(size=100), -3, 3)
        expr = np.zeros(len(model.expression))
        on = rng.choice(len(expr), size=4, replace=False)
        expr[on] = rng.uniform(0, 0.7, 4)
        true = model.vertices(ident, expr)
        rot = Rotation.from_euler("yxz", rng.uniform([-30, -15, -10], [30, 15, 10]), True)
        pts = np.einsum(
            "kjc,kj->kc", true[model.mediapipe_faces], model.mediapipe_bary
        ) @ rot.as_matrix().T + [0.0, 0.0, -0.5]
        pts += rng.normal(size=pts.shape) * [0.001, 0.001, 0.003]
        t0 = time.perf_counter()
        fit = fit_ict(model, pts, model.mediapipe_faces, model.mediapipe_bary)
        times.append(time.perf_counter() - t0)
        err_all.append(aligned_error_mm(fit.model_vertices[FACE], true[FACE]))
        err_id.append(
            aligned_error_mm(model.vertices(fit.identity)[FACE], model.vertices(ident)[FACE])
        )
        disp_fit = fit.model_vertices - model.vertices(fit.identity)
        disp_true = true - model.vertices(ident)
        err_ex.append(float(np.linalg.norm(disp_fit - disp_true, axis=1)[FACE].mean() * 1000))
    return [
        ["synthetic face, whole shape (mm)", float(np.mean(err_all)), float(np.median(err_all))],
        ["synthetic face, identity (mm)", float(np.mean(err_id)), float(np.median(err_id))],
        ["synthetic face, expression (mm)", float(np.mean(err_ex)), float(np.median(err_ex))],
        ["fit time (s)", float(np.mean(times)), float(np.median(times))],
    ]


def aflw() -> list[list]:
    from monoscan.face.camera import estimate_camera
    from monoscan.head.ict import fit_ict_to_landmarks, load_ict_model
    from monoscan.io.images import load_image
    from monoscan.metrics.face import landmark_nme
    from monoscan.perception.face import detect_face_landmarks
    from monoscan.perception.landmarks68 import landmarks68_from_mesh

    model = load_ict_model()
    ours, kit_ids, mediapipe = [], [], []
    for gt_file in sorted((SHARED_DATA / "landmarks_aflw2000").glob("*_gt.npz")):
        gt = np.load(gt_file)["pts68_2d_reannotated"]
        photo = load_image(gt_file.with_name(gt_file.name.replace("_gt.npz", ".jpg")))
        face = detect_face_landmarks(photo.rgb)
        camera = estimate_camera(face.points)
        fit = fit_ict_to_landmarks(camera.photo_to_world(face.points))
        # The fitted model's 68 points where MediaPipe's 68-point mapping puts them, and at
        # the kit's own (Multi-PIE) landmark vertices.
        on_model = camera.world_to_photo(model.mediapipe_points(fit.vertices))
        ours.append(landmark_nme(landmarks68_from_mesh(on_model)[:, :2], gt))
        kit = camera.world_to_photo(fit.vertices[model.landmarks68])[:, :2]
        kit_ids.append(landmark_nme(kit, gt))
        mediapipe.append(landmark_nme(face.landmarks68[:, :2], gt))
    return [
        ["AFLW2000 68-pt NME, ICT fit (%)", 100 * float(np.mean(ours)), 100 * np.median(ours)],
        [
            "AFLW2000 68-pt NME, ICT fit, kit ids (%)",
            100 * float(np.mean(kit_ids)),
            100 * np.median(kit_ids),
        ],
        [
            "AFLW2000 68-pt NME, MediaPipe (%)",
            100 * float(np.mean(mediapipe)),
            100 * np.median(mediapipe),
        ],
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows = synthetic(args.scenes, args.seed)
    if (SHARED_DATA / "landmarks_aflw2000").is_dir():
        rows += aflw()
    rows.append(["peak memory (MB)", peak_rss_mb(), ""])
    print_table(["metric", "mean", "median"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
