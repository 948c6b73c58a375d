"""Reference h3ds 0.4.0 evaluate_scene vs monoscan's, same 50,000-vertex pair, one process.

Usage::

    pip install --no-deps h3ds==0.4.0 toml      # reference, test/benchmark only
    python benchmarks/bench_eval.py [--vertices 50000] [--repeat 3]

Builds a synthetic H3DS scene (ground truth and a misaligned, noisy prediction, both with
``--vertices`` vertices) in a temporary folder, then times:

* reference: loading the prediction with ``h3ds.mesh.Mesh`` and ``H3DS.evaluate_scene`` for
  'face_sphere' and for the full head (the two numbers of an H3DS table cell);
* monoscan: ``evaluate_scene`` from the same files (loading the scan, landmarks and regions
  included), vertex distances only (``surface=False``), and again with the point-to-surface
  and F-score extras.

Prints both sets of means, their largest relative difference, the times and the ratio.
The reference needs two shims to run on NumPy >= 1.24 (``np.int``) and without gdown.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import _h3ds_fixtures as fx


def _import_reference():
    if not hasattr(np, "int"):
        np.int = int  # h3ds 0.4.0 load_region uses the removed alias
    try:
        import gdown  # noqa: F401
    except ImportError:
        sys.modules["gdown"] = types.ModuleType("gdown")  # only used to download
    import h3ds.dataset
    from h3ds.mesh import Mesh

    return h3ds.dataset.H3DS, Mesh


def _write_scene(root: Path, n: int) -> tuple[Path, dict]:
    gt = fx.synthetic_head(n_vertices=n)
    d = root / "scene"
    fx.write_obj(d / "full_head.obj", gt)
    lms = fx.landmark_ids(gt)
    (d / "landmarks.txt").write_text("".join(f"{k} {i}\n" for k, i in lms.items()))
    (d / "regions").mkdir(parents=True, exist_ok=True)
    for name, idx in fx.regions(gt, lms).items():
        (d / "regions" / f"{name}.txt").write_text("".join(f"{i}\n" for i in idx))
    (root / "version.txt").write_text("0.4\n")
    (root / "config.toml").write_text("version = 0.4\n[scenes]\n[scenes.scene]\nviews = 1\n")
    pred, _m = fx.misaligned_prediction(gt, noise_mm=0.3)
    fx.write_obj(root / "pred.obj", pred)
    return d, lms


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vertices", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    ap.add_argument("--sweep-views", type=int, default=0,
                    help="also time one scene with N view-subset predictions, as a v2 sweep "
                    "does per scene (reference: 2 calls per subset; monoscan: "
                    "evaluate_dataset, ground truth loaded once)")
    args = ap.parse_args(argv)

    from monoscan.datasets.h3ds import read_landmarks, read_region
    from monoscan.io.meshes import load_mesh
    from monoscan.metrics.head import evaluate_scene

    try:
        H3DSRef, MeshRef = _import_reference()
    except ImportError as exc:
        print(f"reference h3ds not importable ({exc}); pip install --no-deps h3ds==0.4.0 toml")
        return 1

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        scene_dir, lms = _write_scene(root, args.vertices)
        ref = H3DSRef(str(root), config_path=str(root / "config.toml"))

        def run_ref():
            pred_ref = MeshRef().load(str(root / "pred.obj"))
            out = {}
            for region in ("face_sphere", None):
                a, b, _gt, _p = ref.evaluate_scene("scene", pred_ref, lms, region)
                out[region or "full_head"] = (float(a.mean()), float(b.mean()))
            return out

        def run_ours(surface):
            gt = load_mesh(scene_dir / "full_head.obj")
            gt_l = read_landmarks(scene_dir / "landmarks.txt")
            regs = {r: read_region(scene_dir / "regions" / f"{r}.txt")
                    for r in ("face", "face_sphere")}
            pred = load_mesh(root / "pred.obj")
            ev = evaluate_scene(gt, gt_l, regs, pred, lms, surface=surface)
            return {k: (v.summary()["gt_to_pred_mm"], v.summary()["pred_to_gt_mm"])
                    for k, v in ev.regions.items()}, ev

        def best(fn):
            times, result = [], None
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                result = fn()
                times.append(time.perf_counter() - t0)
            return min(times), result

        t_ref, r_ref = best(run_ref)
        t_ours, (r_ours, _ev) = best(lambda: run_ours(False))
        t_full, (_r, ev_full) = best(lambda: run_ours(True))

    if args.sweep_views:
        _sweep(args, H3DSRef, MeshRef)
    print(f"pair: {args.vertices} GT vertices, {args.vertices} predicted vertices, "
          f"best of {args.repeat}")
    worst = 0.0
    for region in ("face_sphere", "full_head"):
        (ra, rb), (oa, ob) = r_ref[region], r_ours[region]
        rel = max(abs(oa - ra) / abs(ra), abs(ob - rb) / abs(rb))
        worst = max(worst, rel)
        print(f"  {region:12s} reference gt->pred {ra:.6f} pred->gt {rb:.6f} mm | "
              f"monoscan {oa:.6f} {ob:.6f} mm | rel diff {rel:.1e}")
    s = ev_full.summary()["face_sphere"]
    print(f"  extras (face_sphere): gt->pred surface {s['gt_to_pred_surface_mm']:.4f} mm, "
          f"F-score@1/2.5/5mm {s['fscore_1mm']:.3f}/{s['fscore_2.5mm']:.3f}/{s['fscore_5mm']:.3f}")
    print(f"reference h3ds 0.4.0 (load + 2 evaluate_scene): {t_ref:.3f} s")
    print(f"monoscan evaluate_scene (vertex metrics):      {t_ours:.3f} s  "
          f"-> {t_ref / t_ours:.1f}x faster")
    print(f"monoscan with point-to-surface + F-score:      {t_full:.3f} s  "
          f"-> {t_ref / t_full:.1f}x")
    print(f"largest relative difference of the means: {worst:.1e}")
    return 0


def _sweep(args, H3DSRef, MeshRef) -> None:
    import warnings

    from monoscan.datasets.h3ds import H3DS
    from monoscan.metrics.head import evaluate_dataset

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _scene_dir, lms = _write_scene(root, args.vertices)
        views = [str(v) for v in range(1, args.sweep_views + 1)]
        cfg = "version = 0.4\n[scenes]\n[scenes.scene]\nviews = 1\n"
        cfg += "[scenes.scene.default_views_configs]\n" + "".join(f"{v} = [0]\n" for v in views)
        (root / "config.toml").write_text(cfg)
        preds = root / "preds"
        for v in views:
            (preds / v).mkdir(parents=True)
            (preds / v / "scene.obj").write_bytes((root / "pred.obj").read_bytes())
            (preds / v / "scene_landmarks.txt").write_text(
                "".join(f"{k} {i}\n" for k, i in lms.items()))
        ref = H3DSRef(str(root), config_path=str(root / "config.toml"))
        t0 = time.perf_counter()
        for v in views:
            mp = MeshRef().load(str(preds / v / "scene.obj"))
            for region in ("face_sphere", None):
                ref.evaluate_scene("scene", mp, lms, region)
        t_ref = time.perf_counter() - t0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            evaluate_dataset(H3DS(root, root / "config.toml"), preds, surface=False, quiet=True)
            t_ours = time.perf_counter() - t0
    print(f"sweep of 1 scene x {len(views)} view subsets: reference {t_ref:.2f} s, monoscan "
          f"{t_ours:.2f} s -> {t_ref / t_ours:.1f}x; 59 scenes would take "
          f"{59 * t_ref / 60:.1f} vs {59 * t_ours / 60:.1f} min")


if __name__ == "__main__":
    sys.exit(main())
