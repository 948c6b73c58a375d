"""Write/read times of every strand format for 10,000 strands x 32 points.

Usage::

    python benchmarks/bench_strand_io.py [--strands 10000] [--points 32] [--repeat 3]
                                         [--formats data,hair,ply,usda,usdc,glb,abc]

Builds a synthetic hairstyle (random-walk strands, metres, y up), then for each format writes
it with :func:`monoscan.io.strands.write_strands` and reads it back with
:func:`~monoscan.io.strands.read_strands` in a temporary folder, ``--repeat`` times, and
prints the best write and read times, the file size and whether the round trip is exact.
``.abc`` is write-only and needs Blender's ``bpy``; it is skipped when that is missing.
USD reads run in a child process (crash isolation), which dominates their read time; the
in-process time is shown as well.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from monoscan.core.strands import Strands
from monoscan.io.strands import read_strands, write_strands
from monoscan.io.strands.alembic import bpy_available
from monoscan.io.strands.usd import read_usd_arrays


def synthetic(n_strands: int, n_points: int, seed: int = 0) -> Strands:
    rng = np.random.default_rng(seed)
    roots = rng.normal(size=(n_strands, 3))
    roots = 0.09 * roots / np.linalg.norm(roots, axis=1, keepdims=True) + [0, 1.7, 0]
    steps = rng.normal(scale=0.004, size=(n_strands, n_points, 3)) + [0, -0.006, 0]
    steps[:, 0] = 0
    pts = roots[:, None, :] + np.cumsum(steps, axis=1)
    return Strands(pts.reshape(-1, 3), np.full(n_strands, n_points))


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strands", type=int, default=10_000)
    ap.add_argument("--points", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--formats", default="data,hair,ply,usda,usdc,glb,abc")
    args = ap.parse_args()
    s = synthetic(args.strands, args.points)
    print(f"{s.n_strands} strands x {args.points} points = {s.n_points} points")
    print(f"{'format':7} {'write s':>8} {'read s':>8} {'MB':>7}  exact  note")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            path = Path(tmp) / f"hair.{fmt}"
            if fmt == "abc" and not bpy_available():
                print(f"{fmt:7} skipped: bpy not installed")
                continue
            tw = best(lambda path=path: write_strands(path, s), args.repeat)
            size = path.stat().st_size / 1e6
            if fmt == "abc":
                print(f"{fmt:7} {tw:8.3f} {'-':>8} {size:7.2f}  -      write only (Blender)")
                continue
            tr = best(lambda path=path: read_strands(path), args.repeat)
            back = read_strands(path)
            exact = back.counts.tolist() == s.counts.tolist() and np.array_equal(
                back.points, s.points
            )
            note = ""
            if fmt.startswith("usd"):
                ti = best(lambda path=path: read_usd_arrays(path), args.repeat)
                note = f"in-process read {ti:.3f} s"
            print(f"{fmt:7} {tw:8.3f} {tr:8.3f} {size:7.2f}  {'yes' if exact else 'NO':5}  {note}")


if __name__ == "__main__":
    main()
