"""Synthetic scenes: scenes per second at 512x512 on one core, and time per generation stage.

Usage::

    python benchmarks/bench_synth.py [--n 20] [--seed 1000] [--size 512] [--write DIR]

Runs in one process with OpenCV and BLAS limited to one thread. The head meshes (12 seeded
variants, built once and cached) are built first and timed separately (``head_build``); the
scenes are then generated one after another. Stages: ``hair`` (procedural growth or fitting a
real style), ``render`` (meshes + strands + their maps), ``maps`` (noise, blur, strand map,
depth), ``write`` (every file of the scene, only with ``--write``). ``wall`` is wall-clock
seconds, ``cpu`` the process CPU time (less sensitive to other jobs on a shared machine).
Target (issue 7): >= 1 scene per second at 512x512 on one core.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--write", default=None, help="also write the scenes here (timed)")
    args = ap.parse_args()

    import cv2

    cv2.setNumThreads(1)
    from monoscan.synth.generate import _head_variant, generate_scene, write_scene
    from monoscan.synth.scene import N_HEAD_VARIANTS

    t0, c0 = time.perf_counter(), time.process_time()
    for v in range(N_HEAD_VARIANTS):
        _head_variant(v)
    head = (
        (time.perf_counter() - t0) / N_HEAD_VARIANTS,
        (time.process_time() - c0) / N_HEAD_VARIANTS,
    )
    stages: dict[str, list[float]] = {}
    out = Path(args.write) if args.write else None
    tmp = tempfile.TemporaryDirectory() if out is None else None
    wall, cpu = [], []
    for i in range(args.n):
        t0, c0 = time.perf_counter(), time.process_time()
        scene = generate_scene(args.seed + i, width=args.size, height=args.size)
        if out is not None:
            tw = time.perf_counter()
            write_scene(scene, out / f"scene_{args.seed + i:06d}")
            stages.setdefault("write", []).append(time.perf_counter() - tw)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        for k, v in scene.timings.items():
            if k != "head":
                stages.setdefault(k, []).append(v)
    if tmp is not None:
        tmp.cleanup()
    n = max(args.n, 1)
    rows = [["head_build (once per variant)", head[0], head[1]]]
    rows += [[k, sum(v) / n, float("nan")] for k, v in stages.items()]
    rows.append(["scene (total)", sum(wall) / n, sum(cpu) / n])
    print(
        f"{args.n} scenes at {args.size}x{args.size}, seeds {args.seed}..{args.seed + n - 1}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print_table(["stage", "wall_s", "cpu_s"], rows)
    print(f"scenes per second: {n / sum(wall):.2f} (wall), {n / sum(cpu):.2f} (cpu)")


if __name__ == "__main__":
    main()
