"""Write a part of the training corpus: scenes of one split, exactly reproducible.

:func:`write_corpus` writes scenes ``seed .. seed + n - 1`` of a split
(:func:`monoscan.synth.scene.corpus_scene`) into ``OUT/scene_<seed>/``. Each scene depends
only on (split, seed, size, views), never on the number of workers or on which scenes were
written before, so the same arguments give the same files byte for byte (``scene.json`` then
carries no timings), and any part of the corpus can be regenerated alone.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from monoscan.core.errors import InputError

__all__ = ["scene_dir", "write_corpus", "write_one"]


def scene_dir(out: str | os.PathLike, seed: int) -> Path:
    """The folder of scene ``seed`` under ``out``."""
    return Path(out) / f"scene_{int(seed):06d}"


def write_one(
    split: str, seed: int, out: str, size: int = 512, views: str = "wide", volumes: bool = False
) -> dict:
    """Generate and write one corpus scene; returns ``{"seed", "style", "kind", "strands"}``."""
    from monoscan.synth.catalogue import parse_style
    from monoscan.synth.generate import generate_scene, write_scene
    from monoscan.synth.scene import corpus_scene

    params = corpus_scene(split, seed, size, size, views=views)
    scene = generate_scene(params)
    write_scene(scene, scene_dir(out, seed), volumes=volumes, timings=False)
    return {
        "seed": int(seed),
        "style": params.style,
        "kind": parse_style(params.style).kind,
        "strands": scene.strands.n_strands,
    }


def _worker_init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - cv2 is a dependency
        pass


def write_corpus(
    split: str,
    n: int,
    seed: int,
    out: str | os.PathLike,
    *,
    size: int = 512,
    views: str = "wide",
    volumes: bool = False,
    workers: int = 1,
    quiet: bool = True,
) -> dict:
    """Write scenes ``seed .. seed + n - 1`` of ``split`` into ``out``.

    Parameters
    ----------
    split : {"train", "val", "test"}
    n, seed : int
    out : path
    size : int
        Image width and height, pixels.
    views : {"wide", "frontal"}
        Pose range (see :func:`~monoscan.synth.scene.corpus_scene`).
    volumes : bool
        Also write the 3D truth of each scene (``volume.npz``, ``strands_usc.data``).
    workers : int
        Processes (1: in this process). The files do not depend on it.
    quiet : bool
        No progress bar.

    Returns
    -------
    dict
        ``{"split", "scenes", "seeds": [first, last], "kinds": {kind: count}, "styles": k}``.
    """
    from monoscan.core.progress import progress
    from monoscan.synth.catalogue import SPLITS

    if split not in SPLITS:
        raise InputError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if n < 0:
        raise InputError(f"number of scenes must be >= 0, got {n}")
    if workers < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(seed) + i for i in range(int(n))]
    rows: list[dict] = []
    if workers == 1 or n < 2:
        for s in progress(seeds, total=len(seeds), desc=f"{split} scenes", quiet=quiet):
            rows.append(write_one(split, s, str(out), size, views, volumes))
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_worker_init
        ) as pool:
            futs = [pool.submit(write_one, split, s, str(out), size, views, volumes) for s in seeds]
            for f in progress(futs, total=len(futs), desc=f"{split} scenes", quiet=quiet):
                rows.append(f.result())
    kinds = Counter(r["kind"] for r in rows)
    return {
        "split": split,
        "scenes": len(rows),
        "seeds": [seeds[0], seeds[-1]] if seeds else [],
        "kinds": dict(sorted(kinds.items())),
        "styles": len({r["style"] for r in rows}),
    }
