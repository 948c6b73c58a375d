"""Full body from one photo: time per stage, peak memory, silhouette IoU.

Usage::

    python benchmarks/bench_body.py [--sizes 1024 2048] [--photos NAME ...]
        [--model none|parametric]

Each run happens in its own process (so peak memory is per photo) on the photos of
``../shared/data/fullbody`` at their own size, plus ``2k2k__DSC02780.jpg`` (2048 x 2048)
scaled to each of ``--sizes`` (1024: 1 MP, 2048: 4 MP; the issues' targets). Prints one
Markdown row per run: stage times (s, wall clock), total CPU seconds of the process
(``cpu_s``, less sensitive to other jobs on a shared machine), Poisson depth, vertices, closed,
peak RSS (MiB), and the IoU of the mesh re-projected onto the photo against the ground-truth
mask (``pifu__ryota`` only) and against the silhouette the pipeline used. 2K2K's Poisson step
alone takes 1-10 min per person.

``--model parametric`` runs ``monoscan body --model parametric`` as a user does
(:func:`monoscan.pipeline.body.run_body`, files written to a temporary folder) and adds the
fit, clothing, rig and write times; ``total`` is then the whole run, photo in memory to files
written (issue 18's targets: <= 15 s at 1 MP, <= 30 s at 4 MP, peak <= 1.5 GB).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, peak_rss_mb, print_table, run_isolated

FULLBODY = SHARED_DATA / "fullbody"


def one(path: str, size: int | None, model: str = "none") -> dict:
    """Run one photo in this process; returns the row as a dict."""
    import tempfile
    import time

    import cv2
    import numpy as np

    from monoscan.body.mesh import world_to_photo
    from monoscan.body.reconstruct import BodyOptions, reconstruct_body
    from monoscan.io.images import load_image
    from monoscan.pipeline.body import run_body
    from monoscan.render.raster import rasterize

    t = time.perf_counter()
    cpu = time.process_time()
    rgb = load_image(path).rgb
    if size:
        h, w = rgb.shape[:2]
        f = size / max(h, w)
        rgb = cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    load_s = time.perf_counter() - t
    options = BodyOptions(max_size=max(rgb.shape[:2]))
    if model == "none":
        res = reconstruct_body(rgb, options)
        extra = {}
    else:
        with tempfile.TemporaryDirectory() as tmp:
            res, _folder = run_body(rgb, tmp, options, model=model)
        extra = {k: res.timings[k] for k in ("parametric_fit", "clothed", "rig", "write")}
    m = res.mesh
    p = world_to_photo(m.vertices, res.scale, res.origin_px)
    sil = np.isfinite(rasterize(p[:, :2], p[:, 2], m.faces, rgb.shape[:2])[0])
    used = res.mask
    row = {
        "photo": Path(path).stem + (f"@{size}" if size else ""),
        "px": f"{rgb.shape[1]}x{rgb.shape[0]}",
        "load": load_s,
        **{
            k: res.timings.get(k, 0.0)
            for k in ("pose", "mask", "depth", "points", "poisson", "colour")
        },
        **extra,
        "total": res.timings["total"] + sum(extra.values()),
        "cpu_s": time.process_time() - cpu,
        "depth_lvl": res.poisson_depth,
        "vertices": len(m.vertices),
        "closed": bool(m.is_watertight),
        "peak_MiB": peak_rss_mb(),
        "IoU_used": float((sil & used).sum() / (sil | used).sum()),
        "IoU_gt": "",
    }
    gt_path = Path(path).with_name(Path(path).stem + "_mask.png")
    if gt_path.exists() and not size:
        gt = cv2.imread(str(gt_path), cv2.IMREAD_GRAYSCALE) > 127
        row["IoU_gt"] = float((sil & gt).sum() / (sil | gt).sum())
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1024, 2048])
    ap.add_argument("--photos", nargs="*", default=None)
    ap.add_argument("--model", choices=("none", "parametric"), default="none")
    ap.add_argument("--_one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._one:
        print(json.dumps(one(args._one[0], int(args._one[1]) or None, args._one[2])))
        return
    if not FULLBODY.is_dir():
        sys.exit(f"{FULLBODY} not found")
    photos = args.photos or sorted(
        p.name for p in FULLBODY.iterdir() if p.suffix in (".jpg", ".png") and "_mask" not in p.name
    )
    jobs = [(FULLBODY / p, 0) for p in photos]
    jobs += [(FULLBODY / "2k2k__DSC02780.jpg", s) for s in args.sizes]
    rows = []
    for path, size in jobs:
        row = run_isolated(__file__, path, size, args.model)
        rows.append(list(row.values()))
        header = list(row)
        print(f"done {row['photo']}", file=sys.stderr)
    print_table(header, rows)


if __name__ == "__main__":
    main()
