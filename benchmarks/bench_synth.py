"""Synthetic scenes: scenes per second at 512x512, and time per generation stage.

Usage::

    python benchmarks/bench_synth.py [--n 20] [--seed 1000] [--size 512] [--write DIR]
    python benchmarks/bench_synth.py --split train [--n 40] [--workers 2] [--volumes]

Without ``--workers``: one process with OpenCV and BLAS limited to one thread. The head meshes
(12 seeded variants, built once and cached) are built first and timed separately
(``head_build``); the scenes are then generated one after another. Stages: ``hair``
(procedural growth, fitting or densifying a style), ``render`` (meshes + strands + their maps,
after dropping hidden strand segments for corpus styles), ``maps`` (noise, blur, strand map,
depth), ``write`` (every file of the scene, only with ``--write``). ``wall`` is wall-clock
seconds, ``cpu`` the process CPU time (less sensitive to other jobs on a shared machine).

``--split`` draws the training corpus's scenes of that split
(:func:`monoscan.synth.scene.corpus_scene`: 10k-50k strands, every style kind) instead of
the benchmark scenes. With ``--workers K`` the corpus is written as ``monoscan synth --split``
writes it (K processes, every file, into a temporary folder unless ``--write``); the rate
counts from the first scene finished (worker start-up and head builds excluded) and from the
start, both wall clock, and the workers' CPU time per scene (``getrusage`` of the children:
the rate the cores would give if nothing else ran on them).

Targets: issue 7, >= 1 benchmark scene per second on one core; issue 16, >= 2 corpus scenes
per second on 2 cores.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table


def _pool_rate(args) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from monoscan.synth.corpus import _worker_init, write_one

    tmp = tempfile.TemporaryDirectory() if args.write is None else None
    out = args.write or tmp.name
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = ru.ru_utime + ru.ru_stime
    t0 = time.perf_counter()
    done, kinds = [], Counter()
    with ProcessPoolExecutor(
        max_workers=args.workers, mp_context=mp.get_context("spawn"), initializer=_worker_init
    ) as pool:
        # Warm every worker (imports, head meshes) before the clock for the steady rate.
        list(pool.map(_warm, range(args.workers)))
        t_warm = time.perf_counter()
        futs = [
            pool.submit(write_one, args.split, args.seed + i, out, args.size, "wide", args.volumes)
            for i in range(args.n)
        ]
        for f in as_completed(futs):
            r = f.result()
            done.append(time.perf_counter())
            kinds[r["kind"]] += 1
    t1 = time.perf_counter()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru.ru_utime + ru.ru_stime - cpu0
    if tmp is not None:
        tmp.cleanup()
    print(
        f"{args.n} {args.split} scenes at {args.size}x{args.size}, {args.workers} workers, "
        f"seeds {args.seed}..{args.seed + args.n - 1}, load average {os.getloadavg()[0]:.1f}"
    )
    print("kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print(f"worker start-up and head builds: {t_warm - t0:.1f} s")
    print(f"scenes per second (warm workers, written): {args.n / (t1 - t_warm):.2f}")
    print(f"scenes per second (from the start): {args.n / (t1 - t0):.2f}")
    print(
        f"worker CPU per scene (start-up included): {cpu / max(args.n, 1):.2f} s, so "
        f"{args.workers * args.n / max(cpu, 1e-9):.2f} scenes per second on {args.workers} "
        "idle cores"
    )


def _warm(_: int) -> int:
    from monoscan.synth.generate import _head_variant
    from monoscan.synth.scene import N_HEAD_VARIANTS

    time.sleep(0.2)  # let every worker take one
    for v in range(N_HEAD_VARIANTS):
        _head_variant(v)
    return os.getpid()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--write", default=None, help="also write the scenes here (timed)")
    ap.add_argument("--split", choices=["train", "val", "test"], default=None)
    ap.add_argument("--workers", type=int, default=0, help="with --split: K processes")
    ap.add_argument("--volumes", action="store_true", help="with --workers: write volumes")
    args = ap.parse_args()
    if args.workers:
        if args.split is None:
            ap.error("--workers needs --split")
        _pool_rate(args)
        return

    import cv2

    cv2.setNumThreads(1)
    from monoscan.synth.generate import _head_variant, generate_scene, write_scene
    from monoscan.synth.scene import N_HEAD_VARIANTS, corpus_scene

    t0, c0 = time.perf_counter(), time.process_time()
    for v in range(N_HEAD_VARIANTS):
        _head_variant(v)
    head = (
        (time.perf_counter() - t0) / N_HEAD_VARIANTS,
        (time.process_time() - c0) / N_HEAD_VARIANTS,
    )
    stages: dict[str, list[float]] = {}
    out = Path(args.write) if args.write else None
    wall, cpu, strands = [], [], []
    for i in range(args.n):
        t0, c0 = time.perf_counter(), time.process_time()
        seed = args.seed + i
        if args.split is None:
            scene = generate_scene(seed, width=args.size, height=args.size)
        else:
            scene = generate_scene(corpus_scene(args.split, seed, args.size, args.size))
        if out is not None:
            tw = time.perf_counter()
            write_scene(scene, out / f"scene_{seed:06d}")
            stages.setdefault("write", []).append(time.perf_counter() - tw)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        strands.append(scene.strands.n_strands)
        for k, v in scene.timings.items():
            if k != "head":
                stages.setdefault(k, []).append(v)
    n = max(args.n, 1)
    rows = [["head_build (once per variant)", head[0], head[1]]]
    rows += [[k, sum(v) / n, float("nan")] for k, v in stages.items()]
    rows.append(["scene (total)", sum(wall) / n, sum(cpu) / n])
    what = "benchmark" if args.split is None else f"{args.split} corpus"
    print(
        f"{args.n} {what} scenes at {args.size}x{args.size}, seeds {args.seed}.."
        f"{args.seed + n - 1}, mean {sum(strands) / n:.0f} strands, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print_table(["stage", "wall_s", "cpu_s"], rows)
    print(f"scenes per second: {n / sum(wall):.2f} (wall), {n / sum(cpu):.2f} (cpu)")


if __name__ == "__main__":
    main()
