"""The H3DS head protocol over a whole dataset: run every prediction, write the tables.

Per scene, :func:`monoscan.metrics.head.evaluate_scene` (the reference protocol, exact to
rounding); :func:`evaluate_dataset` finds the predictions (:mod:`monoscan.datasets.h3ds`),
loads each ground truth once for all its view subsets (sharing the scenes with one helper
process on large datasets) and collects the summaries, and
:func:`results_json`, :func:`results_csv` and :func:`results_markdown` write them as the
reference's JSON, a flat CSV and the Markdown tables of the H3DS paper. Units: millimetres.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from monoscan.core.errors import InputError
from monoscan.metrics.head import FULL_HEAD, cut_faces, evaluate_scene, heatmap_mesh
from monoscan.metrics.nn import usable_cores

__all__ = [
    "UNIT_TO_MM",
    "evaluate_dataset",
    "results_csv",
    "results_json",
    "results_markdown",
]


# -- results tables --------------------------------------------------------------------------
# results: {scene_id: {views_config or "default": {region: summary dict}}}

Results = Mapping[str, Mapping[str, Mapping[str, Mapping[str, float]]]]


def _sort_views(keys) -> list[str]:
    def key(k):
        return (0, int(k), "") if str(k).isdigit() else (1, 0, str(k))

    return sorted(keys, key=key)


def results_json(results: Results, path: str | os.PathLike | None = None, **meta) -> str:
    """``{"scenes": {scene: {views: {region: {...}}}}, ...meta}`` as text; written if ``path``."""
    doc = {"scenes": _plain(results), **meta}
    text = json.dumps(doc, indent=2, sort_keys=False, allow_nan=True) + "\n"
    if path is not None:
        from monoscan.io.atomic import write_text

        write_text(path, text)
    return text


def _plain(x):
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (np.floating, float)):
        return float(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    return x


def results_csv(results: Results, path: str | os.PathLike | None = None) -> str:
    """One row per scene, view subset and region; columns are the summary keys."""
    rows = []
    columns: list[str] = []
    for sid, per_views in results.items():
        for views, per_region in per_views.items():
            for region, summary in per_region.items():
                rows.append({"scene": sid, "views": views, "region": region, **summary})
                for k in summary:
                    if k not in columns:
                        columns.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["scene", "views", "region", *columns], lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    text = buf.getvalue()
    if path is not None:
        from monoscan.io.atomic import write_text

        write_text(path, text)
    return text


def results_markdown(
    results: Results,
    path: str | os.PathLike | None = None,
    *,
    metric: str = "gt_to_pred_mm",
    face: str = "face_sphere",
    head: str = FULL_HEAD,
) -> str:
    """The H3DS README table: one row per scene plus the mean, one column per view subset,
    cells "face / head" (mean GT->prediction distance over face_sphere / over the full head).
    """
    views_all = _sort_views({v for per in results.values() for v in per})
    lines = [
        f"`{metric}`, mm: face ({face}) / head ({head})",
        "",
        "| scene | "
        + " | ".join(f"{v} views" if str(v).isdigit() else str(v) for v in views_all)
        + " |",
        "|---|" + "---|" * len(views_all),
    ]
    sums: dict[str, list[list[float]]] = {v: [[], []] for v in views_all}

    def cell(per_region) -> str:
        f = per_region.get(face, {}).get(metric, math.nan)
        h = per_region.get(head, {}).get(metric, math.nan)
        return f"{f:.2f} / {h:.2f}"

    for sid, per_views in results.items():
        cells = []
        for v in views_all:
            if v in per_views:
                cells.append(cell(per_views[v]))
                sums[v][0].append(per_views[v].get(face, {}).get(metric, math.nan))
                sums[v][1].append(per_views[v].get(head, {}).get(metric, math.nan))
            else:
                cells.append("")
        lines.append(f"| {sid} | " + " | ".join(cells) + " |")
    mean_cells = []
    for v in views_all:
        f = float(np.mean(sums[v][0])) if sums[v][0] else math.nan
        h = float(np.mean(sums[v][1])) if sums[v][1] else math.nan
        mean_cells.append(f"**{f:.2f} / {h:.2f}**")
    lines.append("| **mean** | " + " | ".join(mean_cells) + " |")
    text = "\n".join(lines) + "\n"
    if path is not None:
        from monoscan.io.atomic import write_text

        write_text(path, text)
    return text


# -- whole dataset ---------------------------------------------------------------------------

UNIT_TO_MM = {"mm": 1.0, "cm": 10.0, "dm": 100.0, "m": 1000.0}


def evaluate_dataset(
    dataset,
    predictions: str | os.PathLike,
    *,
    scenes: Sequence[str] | None = None,
    tags: Sequence[str] = (),
    surface: bool = True,
    pred_unit: str = "auto",
    heatmap_dir: str | os.PathLike | None = None,
    quiet: bool = False,
    mesh_name: str = "head",
    processes: int | None = None,
) -> dict:
    """Evaluate every prediction found for an H3DS dataset.

    Parameters
    ----------
    dataset : monoscan.datasets.h3ds.H3DS
    predictions : path
        Folder laid out as :func:`monoscan.datasets.h3ds.find_predictions` describes.
    scenes, tags : optional
        Restrict to these scene ids / to scenes carrying all these tags.
    surface : bool
        Add point-to-surface distances and surface F-scores.
    pred_unit : {'auto', 'mm', 'cm', 'dm', 'm'}
        Unit of the predictions; 'auto' is metres for monoscan folders and mm for plain files.
    heatmap_dir : path, optional
        Write ``<scene>_<views>_<region>.ply`` (ground-truth region coloured by GT->prediction
        error, clipped at 5 mm) there.
    mesh_name : {'head', 'head_with_hair'}
        Which mesh of a monoscan output folder to score.
    processes : int or None
        1: score every scene in this process. 2: one helper process scores scenes beside it
        (each takes the next scene, largest first, when free). None (default): 2 with surface
        distances, two or more scenes, two or more cores and predictions large enough to pay
        for the helper's start-up, else 1. Results do not depend on it.

    Returns
    -------
    dict ``{scene: {views: {region: summary}}}`` (JSON-ready), scenes without predictions
    left out. The ground truth of a scene is loaded once for all its view subsets.
    """
    from monoscan.core.progress import progress_bar
    from monoscan.datasets.h3ds import find_predictions

    if pred_unit != "auto" and pred_unit not in UNIT_TO_MM:
        raise InputError(f"unknown unit {pred_unit!r}; use auto or one of {sorted(UNIT_TO_MM)}")
    ids = list(scenes) if scenes is not None else dataset.scenes(tags)
    for sid in ids:
        dataset.info(sid)
    found = find_predictions(predictions, dataset, ids, mesh_name=mesh_name)
    if not found:
        raise InputError(
            f"no predictions for any of the {len(ids)} scenes in {predictions} "
            f"(expected <scene_id>/{mesh_name}.obj or <scene_id>.obj|.ply)"
        )
    missing = [s for s in ids if s not in found]
    if missing:
        warnings.warn(
            f"no prediction for {len(missing)} scene(s): {', '.join(missing[:5])}"
            + (" ..." if len(missing) > 5 else ""),
            UserWarning,
            stacklevel=2,
        )
    groups = [(sid, list(per.items())) for sid, per in found.items()]
    options = _ScoreOptions(surface, pred_unit, None if heatmap_dir is None else Path(heatmap_dir))
    if processes is None:
        processes = _auto_processes(groups, surface)
    bar = progress_bar(sum(len(e) for _s, e in groups), desc="eval head", quiet=quiet, unit="scan")
    try:
        if processes <= 1 or len(groups) < 2:
            done = _score_here(dataset, groups, options, iter(range(len(groups))), bar)
        else:
            done = _score_with_helper(dataset, groups, options, bar)
    finally:
        if bar is not None:
            bar.close()
    return {sid: done[g] for g, (sid, _entries) in enumerate(groups)}


@dataclass(frozen=True)
class _ScoreOptions:
    """What every scene is scored with (picklable: a helper process gets a copy)."""

    surface: bool
    pred_unit: str
    heatmap_dir: Path | None


# A helper process scores scenes beside this one only where that pays for its start-up (a
# fresh interpreter and the imports, about 0.7 s): with surface distances (the AABB tree
# builds hold the GIL, so threads cannot share them) and predictions of at least this many
# bytes in all (six H3DS-sized scenes, 42 MB: 0.72x the time; without surface distances no
# gain).
_HELPER_MIN_BYTES = 16_000_000


def _auto_processes(groups, surface: bool) -> int:
    if not surface or len(groups) < 2 or usable_cores() < 2:
        return 1
    size = sum(pred.path.stat().st_size for _s, entries in groups for _v, pred in entries)
    return 2 if size >= _HELPER_MIN_BYTES else 1


def _read_job(dataset, sid: str, pred, with_scan: bool):
    """Everything one job reads: the scan (first job of a scene), the prediction, its landmarks."""
    from monoscan.datasets.h3ds import read_landmarks
    from monoscan.io.meshes import load_mesh

    scan = None
    if with_scan:
        gt = dataset.load_mesh(sid, texture=False)
        regs = {r: dataset.load_region(sid, r) for r in ("face", "face_sphere")}
        scan = (gt, dataset.load_landmarks(sid), regs)
    mesh = load_mesh(pred.path, allow_points=True, texture=False)
    lms = read_landmarks(pred.landmarks) if pred.landmarks is not None else None
    return scan, mesh, lms


def _score_job(scan, sid: str, views: str, pred, mesh, lms, options: _ScoreOptions) -> dict:
    """Summary of one prediction against its scan; writes its heatmaps when asked."""
    from monoscan.io.meshes import save_mesh

    gt, gt_lms, regs = scan
    unit = pred.unit if options.pred_unit == "auto" else options.pred_unit
    if UNIT_TO_MM[unit] != 1.0:
        mesh = trimesh.Trimesh(
            np.asarray(mesh.vertices) * UNIT_TO_MM[unit], mesh.faces, process=False
        )
    ev = evaluate_scene(gt, gt_lms, regs, mesh, lms, surface=options.surface)
    if options.heatmap_dir is not None:
        for name, score in ev.regions.items():
            idx = score.gt_indices
            faces = np.asarray(gt.faces)
            if idx is not None:
                faces = cut_faces(faces, idx, len(gt.vertices))
            verts = gt.vertices if idx is None else np.asarray(gt.vertices)[idx]
            save_mesh(
                options.heatmap_dir / f"{sid}_{views}_{name}.ply",
                heatmap_mesh(verts, faces, score.gt_to_pred),
            )
    return ev.summary()


def _score_here(
    dataset, groups, options: _ScoreOptions, claims, bar, *, shared: bool = False, on_job=None
) -> dict:
    """Score the scenes ``claims`` yields, in this process: ``{group: {views: summary}}``.

    The next job's files are read in a helper thread while one is scored (the KD- and AABB-tree
    queries release the GIL): reading a scan and a prediction is a quarter of the --no-surface
    work. An OBJ read without its texture touches no process-wide state (trimesh's readers of
    the other formats set warning filters), so only OBJ files are read ahead. ``shared``: the
    scenes are shared with another process, so the next scene is claimed (and read) only when
    this one is done, not while it is scored.
    """
    jobs = (
        (g, views, pred, j == 0, j == len(groups[g][1]) - 1)
        for g in claims
        for j, (views, pred) in enumerate(groups[g][1])
    )
    done: dict = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="monoscan-read") as reader:
        job = next(jobs, None)
        ahead = None
        scan = None
        while job is not None:
            g, views, pred, first, last = job
            sid = groups[g][0]
            read = ahead.result() if ahead is not None else _read_job(dataset, sid, pred, first)
            ahead = None
            later = shared and last
            if not later:
                job = next(jobs, None)
                if job is not None and job[2].path.suffix.lower() == ".obj":
                    ahead = reader.submit(_read_job, dataset, groups[job[0]][0], job[2], job[3])
            if read[0] is not None:
                scan = read[0]  # one scene at a time (and the next one read ahead)
            done.setdefault(g, {})[views] = _score_job(scan, sid, views, pred, *read[1:], options)
            if bar is not None:
                bar.update(1)
            if on_job is not None:
                on_job()
            if later:
                job = next(jobs, None)
    return done


def _score_with_helper(dataset, groups, options: _ScoreOptions, bar) -> dict:
    """Score the scenes in this process and one helper process, each taking the next unscored
    scene (largest first) when it is free; a scene the helper could not finish (it died) is
    scored here. An error in either process stops the run with that error."""
    import multiprocessing
    import queue as queue_mod

    order = sorted(
        range(len(groups)),
        key=lambda g: -sum(pred.path.stat().st_size for _v, pred in groups[g][1]),
    )
    # "spawn": a fresh interpreter, not a fork of one whose OpenMP and tree threads are live.
    ctx = multiprocessing.get_context("spawn")
    counter = ctx.Value("i", 0)
    messages = ctx.Queue()
    helper = ctx.Process(
        target=_helper_main,
        args=(dataset, groups, options, order, counter, messages),
        name="monoscan-eval-helper",
        daemon=True,
    )
    helper.start()
    theirs: dict = {}

    def drain(block: bool) -> bool:
        """Apply the helper's messages; False once it has said it is finished."""
        while True:
            try:
                kind, g, payload = messages.get(timeout=0.2) if block else messages.get_nowait()
            except queue_mod.Empty:
                return True
            if kind == "error":
                raise payload
            if kind == "job" and bar is not None:
                bar.update(1)
            elif kind == "scene":
                theirs[g] = payload
            elif kind == "finished":
                return False

    try:
        done = _score_here(
            dataset,
            groups,
            options,
            _claims(order, counter),
            bar,
            shared=True,
            on_job=lambda: drain(block=False),
        )
        running = True
        while running and len(done) + len(theirs) < len(groups):
            running = drain(block=True) and helper.is_alive()
        drain(block=False)  # what it sent just before it stopped
        lost = [g for g in order if g not in done and g not in theirs]
        if lost:  # the helper died (killed, out of memory): score its scenes here
            done.update(_score_here(dataset, groups, options, iter(lost), bar))
        done.update(theirs)
        return done
    finally:
        if helper.is_alive():
            helper.terminate()
        helper.join()
        messages.close()


def _claims(order, counter):
    """Take the next scene of ``order`` off the shared counter until none is left."""
    while True:
        with counter.get_lock():
            k = counter.value
            counter.value = k + 1
        if k >= len(order):
            return
        yield order[k]


def _helper_main(dataset, groups, options, order, counter, messages) -> None:
    """The helper process: score scenes off the shared counter, post each one's summaries."""
    try:
        for g in _claims(order, counter):
            done = _score_here(
                dataset,
                groups,
                options,
                iter((g,)),
                None,
                on_job=lambda: messages.put(("job", None, None)),
            )
            messages.put(("scene", g, done[g]))
    except BaseException as exc:  # handed to the main process, which raises it
        messages.put(("error", None, exc))
    finally:
        messages.put(("finished", None, None))
