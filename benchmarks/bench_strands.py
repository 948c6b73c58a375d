"""3D strands from one photo: time per stage and peak memory, for 10,000 and 100,000 strands.

Usage::

    python benchmarks/bench_strands.py [--strands 10000 100000] [--photos NAME ...]

Each (photo, strand count) runs in its own process (so peak memory is per run) on portraits
from ``../shared/data/portraits``. Stages (seconds, wall clock): ``recon`` is everything
before the hair geometry (load, face, crop, camera, face mesh, HairStep maps:
:func:`monoscan.pipeline.reconstruct` without person/pose), ``head`` the parametric head fit
and assembly, then the stages of :func:`monoscan.hair.reconstruct3d.hair_strands`: ``roots``,
``volume``, ``field``, ``curl`` (curliness estimate), ``growth``; ``strands`` is the sum of
those five and ``total`` the photo -> strands time. ``cpu_s`` is the process CPU time (less
sensitive to other jobs on a shared machine); ``peak_MiB`` the peak resident memory.
Targets (issue 4): photo -> 10,000 strands <= 5 s, 100,000 <= 20 s, peak <= 2 GB.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, peak_rss_mb, print_table, run_isolated

PORTRAITS = SHARED_DATA / "portraits"
DEFAULT = [
    "hairstep__5914e5debe3331898796dd11f5cd5a30.png",
    "hairstep__29dc6387017754215b532130750e2370.png",
    "hairstep__Amy-Adams-10_1920x1440.png",
]


def one(path: str, n: int) -> dict:
    import time

    from monoscan.hair.reconstruct3d import hair_strands
    from monoscan.head.assemble import assemble_head
    from monoscan.head.fit import fit_head
    from monoscan.pipeline import Options, reconstruct

    t0 = time.perf_counter()
    cpu = time.process_time()
    r = reconstruct(path, Options(person=False))
    t1 = time.perf_counter()
    fitted = fit_head(r.camera.photo_to_world(r.face.points))
    head = assemble_head(r.face_mesh, fitted, r.photo.rgb, r.camera)
    t2 = time.perf_counter()
    hm = r.hair
    strands, occ = hair_strands(
        hm.hair_mask,
        hm.direction,
        hm.depth_m,
        r.crop,
        r.camera,
        head,
        orientation_crop=hm.orientation,
        body_mask_crop=hm.parsing == 1,
        n_strands=n,
        seed=0,
    )
    t3 = time.perf_counter()
    ts = occ.info["timings_s"]
    return {
        "photo": Path(path).stem[:24],
        "n_req": n,
        "n_out": strands.n_strands,
        "points": strands.n_points,
        "recon": t1 - t0,
        "head": t2 - t1,
        "roots": ts["roots"],
        "volume": ts["volume"],
        "field": ts["field"],
        "curl": ts["curliness"],
        "growth": ts["growth"],
        "strands": t3 - t2,
        "total": t3 - t0,
        "cpu_s": time.process_time() - cpu,
        "voxels": occ.n_voxels,
        "peak_MiB": peak_rss_mb(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strands", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--photos", nargs="*", default=None)
    ap.add_argument("--_one", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._one:
        print(json.dumps(one(args._one[0], int(args._one[1]))))
        return
    if not PORTRAITS.is_dir():
        sys.exit(f"{PORTRAITS} not found")
    rows, header = [], []
    for name in args.photos or DEFAULT:
        for n in args.strands:
            row = run_isolated(__file__, PORTRAITS / name, n)
            rows.append(list(row.values()))
            header = list(row)
            print(f"done {name} {n}", file=sys.stderr)
    print_table(header, rows)


if __name__ == "__main__":
    main()
