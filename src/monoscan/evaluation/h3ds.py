"""The H3DS head protocol over a whole dataset: run every prediction, write the tables.

Per scene, :func:`monoscan.metrics.head.evaluate_scene` (the reference protocol, exact to
rounding); :func:`evaluate_dataset` finds the predictions (:mod:`monoscan.datasets.h3ds`),
loads each ground truth once for all its view subsets and collects the summaries, and
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
from pathlib import Path

import numpy as np
import trimesh

from monoscan.core.errors import InputError
from monoscan.metrics.head import FULL_HEAD, cut_faces, evaluate_scene, heatmap_mesh

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

    Returns
    -------
    dict ``{scene: {views: {region: summary}}}`` (JSON-ready), scenes without predictions
    left out. The ground truth of a scene is loaded once for all its view subsets.
    """
    from monoscan.core.progress import progress
    from monoscan.datasets.h3ds import find_predictions, read_landmarks
    from monoscan.io.meshes import load_mesh, save_mesh

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
    jobs = [(sid, views, pred) for sid, per in found.items() for views, pred in per.items()]

    def read(k: int):
        """Everything job ``k`` reads: the scan (first job of a scene), the prediction."""
        sid, _views, pred = jobs[k]
        scan = None
        if k == 0 or jobs[k - 1][0] != sid:
            gt = dataset.load_mesh(sid, texture=False)
            regs = {r: dataset.load_region(sid, r) for r in ("face", "face_sphere")}
            scan = (gt, dataset.load_landmarks(sid), regs)
        mesh = load_mesh(pred.path, allow_points=True, texture=False)
        lms = read_landmarks(pred.landmarks) if pred.landmarks is not None else None
        return scan, mesh, lms

    def threadable(k: int) -> bool:
        # An OBJ read without its texture touches no process-wide state (trimesh's readers
        # of the other formats set warning filters), so it can run beside the evaluation.
        return jobs[k][2].path.suffix.lower() == ".obj"

    results: dict = {}
    # The next job's files are read in a helper thread while this one is scored (the KD- and
    # AABB-tree queries release the GIL): reading a scan and a prediction is a quarter of the
    # --no-surface work.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="monoscan-read") as reader:
        ahead = None
        for k, (sid, views, pred) in enumerate(
            progress(jobs, total=len(jobs), desc="eval head", quiet=quiet, unit="scan")
        ):
            scan, mesh, lms = read(k) if ahead is None else ahead.result()
            ahead = reader.submit(read, k + 1) if k + 1 < len(jobs) and threadable(k + 1) else None
            if scan is not None:
                gt, gt_lms, regs = scan  # one scene at a time (and the next one read ahead)
            unit = pred.unit if pred_unit == "auto" else pred_unit
            if UNIT_TO_MM[unit] != 1.0:
                mesh = trimesh.Trimesh(
                    np.asarray(mesh.vertices) * UNIT_TO_MM[unit], mesh.faces, process=False
                )
            ev = evaluate_scene(gt, gt_lms, regs, mesh, lms, surface=surface)
            results.setdefault(sid, {})[views] = ev.summary()
            if heatmap_dir is not None:
                for name, score in ev.regions.items():
                    idx = score.gt_indices
                    verts = gt.vertices if idx is None else np.asarray(gt.vertices)[idx]
                    faces = (
                        np.asarray(gt.faces)
                        if idx is None
                        else cut_faces(np.asarray(gt.faces), idx, len(gt.vertices))
                    )
                    save_mesh(
                        Path(heatmap_dir) / f"{sid}_{views}_{name}.ply",
                        heatmap_mesh(verts, faces, score.gt_to_pred),
                    )
    return results
