"""3D strands from one photo: time per stage and peak memory, for 10,000 and 100,000 strands.

Usage::

    python benchmarks/bench_strands.py [--strands 10000 100000] [--photos NAME ...]
        [--hair-model learned|prior]

Each (photo, strand count) runs in a fresh process (so imports, model loading and peak memory
are its own) on portraits from ``../shared/data/portraits``, as a user runs it:
:func:`monoscan.pipeline.reconstruct` with ``Options(strands=N, person=False)``. Columns
(seconds, wall clock): ``import`` (``import monoscan.pipeline``), ``recon`` every stage before
the head (load, face, crop, camera, face mesh, HairStep maps, occlusion; model loading
included), ``head`` (the ICT head fit and assembly), ``strands`` (the 3D hair stage) and its
parts ``roots``, ``volume`` (the prior volume), ``learned`` (the learned volume and field) or
``field`` (the prior's diffused field), ``curl`` and ``growth``; ``to_strands`` = import +
recon + head + strands, the photo -> strands time from a fresh interpreter; ``after``
(``head_with_hair`` and ``relief``, which the pipeline writes too). ``cpu_s`` is the process
CPU time (less sensitive to other jobs on a shared machine); ``peak_MiB`` the peak resident
memory. Targets (issue 17): photo -> 10,000 strands <= 5 s, 100,000 <= 20 s, peak <= 1.5 GB.
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


def one(path: str, n: int, hair_model: str = "learned") -> dict:
    import time

    t0 = time.perf_counter()
    cpu = time.process_time()
    from monoscan.pipeline import Options, reconstruct

    t_import = time.perf_counter() - t0
    r = reconstruct(path, Options(strands=n, person=False, hair_model=hair_model))
    t = r.timings
    ts = r.hair_volume.info["timings_s"]
    recon = sum(v for k, v in t.items() if k not in ("head", "strands", "head_with_hair", "relief"))
    return {
        "photo": Path(path).stem[:24],
        "n_req": n,
        "n_out": r.strands.n_strands,
        "points": r.strands.n_points,
        "import": t_import,
        "recon": recon,
        "head": t["head"],
        "strands": t["strands"],
        "roots": ts["roots"],
        "volume": ts["volume"],
        "learned": ts.get("learned_volume", 0.0),
        "field": ts.get("field", 0.0),
        "curl": ts["curliness"],
        "growth": ts["growth"],
        "to_strands": t_import + recon + t["head"] + t["strands"],
        "after": t.get("head_with_hair", 0.0) + t.get("relief", 0.0),
        "cpu_s": time.process_time() - cpu,
        "voxels": r.hair_volume.n_voxels,
        "peak_MiB": peak_rss_mb(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strands", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--photos", nargs="*", default=None)
    ap.add_argument("--hair-model", choices=("learned", "prior"), default="learned")
    ap.add_argument("--_one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._one:
        print(json.dumps(one(args._one[0], int(args._one[1]), args._one[2])))
        return
    if not PORTRAITS.is_dir():
        sys.exit(f"{PORTRAITS} not found")
    rows, header = [], []
    for name in args.photos or DEFAULT:
        for n in args.strands:
            row = run_isolated(__file__, PORTRAITS / name, n, args.hair_model)
            rows.append(list(row.values()))
            header = list(row)
            print(f"done {name} {n}", file=sys.stderr)
    print_table(header, rows)


if __name__ == "__main__":
    main()
