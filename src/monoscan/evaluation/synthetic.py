"""``monoscan bench``: every stage of the pipeline scored on synthetic scenes with full truth.

:func:`run_bench` generates N scenes (:func:`monoscan.synth.generate.generate_scene`), runs the
pipeline on each image, brings the ground truth into the pipeline's 512 crop and scores:

=================================  =============================================================
name                               meaning
=================================  =============================================================
face_found                         fraction of scenes where a face was found (1.0 = all)
hair_iou                           IoU of predicted and true hair masks (crop)
hair_sale_deg                      HairSale, direction-aware (0-180 deg per pixel)
hair_sale_capped90_deg             HairSale with cos clipped to [0, 1] (the capped convention)
strand_undirected_deg              undirected orientation error of the strand map (0-90 deg)
hair_rida_pct                      HairRida: local pixel pairs (3-20 px apart, > 2 mm depth
                                   difference in the truth) ordered correctly, %
hair_depth_ordinal_pct             the same over random pairs anywhere in the hair (> 5 mm)
landmark_nme_6pt                   mean error of the 6 H3DS landmarks (eye centres, nose tip and
                                   base, mouth corners; from the iBUG 68) / inter-ocular
                                   distance
face_mesh_face_sphere_mm           face mesh vs. true head over face_sphere, H3DS protocol
                                   (ICP on the face region, GT->prediction nearest vertex)
occupancy_iou / _precision /       3D hair occupancy on a shared 128^3 grid (only when the
occupancy_recall                   pipeline returns strands)
strand_f1_2mm_20deg /              strand point F1 at (2 mm, 20 deg) and (4 mm, 40 deg)
strand_f1_4mm_40deg
head_face_sphere_mm /              full assembled head vs. truth, H3DS protocol (only when the
head_full_mm                       pipeline returns a head)
=================================  =============================================================

Metrics the pipeline cannot produce yet are reported as ``None`` (JSON null) and listed under
``missing``, so the names stay stable from run to run. Means are over the scenes where a metric
could be computed. With photos (:func:`photo_checks`) it adds truth-free checks on real images.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from monoscan.core.errors import MonoscanError

__all__ = [
    "METRICS",
    "format_split_table",
    "format_table",
    "grow_3d",
    "head_alignment",
    "photo_checks",
    "run_bench",
    "score_scene",
]

#: Metric names, in table order (stable: tools compare JSON files by these keys).
METRICS = (
    "face_found",
    "hair_iou",
    "hair_sale_deg",
    "hair_sale_capped90_deg",
    "strand_undirected_deg",
    "hair_rida_pct",
    "hair_depth_ordinal_pct",
    "landmark_nme_6pt",
    "face_mesh_face_sphere_mm",
    "occupancy_iou",
    "occupancy_precision",
    "occupancy_recall",
    "strand_f1_2mm_20deg",
    "strand_f1_4mm_40deg",
    "head_face_sphere_mm",
    "head_full_mm",
)
#: Which way is better, for the table.
HIGHER_IS_BETTER = {
    "face_found",
    "hair_iou",
    "hair_rida_pct",
    "hair_depth_ordinal_pct",
    "occupancy_iou",
    "occupancy_precision",
    "occupancy_recall",
    "strand_f1_2mm_20deg",
    "strand_f1_4mm_40deg",
    "photo_success_rate",
    "photo_hair_iou",
    "photo_face_reprojection_iou",
}
#: Points per side (random, seeded) whose matches give the strand point precision / recall.
MATCH_POINTS = 20_000
PHOTO_METRICS = (
    "photo_success_rate",
    "photo_seconds",
    "photo_hair_iou",
    "photo_face_reprojection_iou",
)

# iBUG-68 points standing for each H3DS landmark (eye centres are means of the eye contours).
_IBUG_FOR = {
    "right_eye": range(36, 42),
    "left_eye": range(42, 48),
    "nose_tip": [30],
    "nose_base": [33],
    "right_lips": [48],
    "left_lips": [54],
}


def _pairs(
    mask: np.ndarray,
    depth_m: np.ndarray,
    rng: np.random.Generator,
    n: int,
    local: bool,
    min_dz: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel pairs (x_A, y_A, x_B, y_B) inside ``mask`` and their order labels from depth."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 2:
        return np.zeros((0, 4), np.int64), np.zeros(0, np.int64)
    a = rng.integers(len(xs), size=4 * n)
    if local:
        r = rng.uniform(3, 20, 4 * n)
        ang = rng.uniform(0, 2 * np.pi, 4 * n)
        bx = np.rint(xs[a] + r * np.cos(ang)).astype(np.int64)
        by = np.rint(ys[a] + r * np.sin(ang)).astype(np.int64)
    else:
        b = rng.integers(len(xs), size=4 * n)
        bx, by = xs[b], ys[b]
    h, w = mask.shape
    ok = (bx >= 0) & (bx < w) & (by >= 0) & (by < h)
    ok[ok] &= mask[by[ok], bx[ok]]
    ax, ay = xs[a][ok], ys[a][ok]
    bx, by = bx[ok], by[ok]
    dz = depth_m[ay, ax] - depth_m[by, bx]
    keep = np.isfinite(dz) & (np.abs(dz) > min_dz)
    pairs = np.stack([ax, ay, bx, by], axis=1)[keep][:n]
    return pairs, np.sign(dz[keep][:n]).astype(np.int64)


def _predicted_strands(recon):
    for name in ("strands", "hair_strands"):
        s = getattr(recon, name, None)
        if s is not None:
            return s
    hair3d = getattr(recon, "hair3d", None)
    return getattr(hair3d, "strands", None) if hair3d is not None else None


def _head_eval(
    gt_v_mm,
    gt_f,
    landmarks,
    regions,
    pred_mesh,
    pred_landmarks=None,
    regions_eval=("face_sphere", None),
):
    import trimesh

    from monoscan.metrics.head import evaluate_scene

    gt = trimesh.Trimesh(gt_v_mm, gt_f, process=False)
    return evaluate_scene(
        gt, landmarks, regions, pred_mesh, pred_landmarks, regions=regions_eval, surface=False
    )


def head_alignment(scene, head, head_landmarks: dict | None = None) -> np.ndarray:
    """(4, 4) similarity taking the prediction's world frame (metres) onto the scene's truth.

    The H3DS protocol's alignment of the whole head, as :func:`score_scene` applies it to the
    predicted strands: coarse from the landmarks (when ``head_landmarks`` names them all) and
    ICP of the true face region onto the prediction.
    """
    import trimesh

    pred_landmarks = None
    if isinstance(head_landmarks, dict) and set(scene.landmarks) <= set(head_landmarks):
        pred_landmarks = {k: int(head_landmarks[k]) for k in scene.landmarks}
    pred_mesh = trimesh.Trimesh(
        np.asarray(head.vertices, np.float64) * 1000.0, np.asarray(head.faces), process=False
    )
    ev = _head_eval(
        scene.head_vertices * 1000.0,
        scene.head_faces,
        scene.landmarks,
        scene.regions,
        pred_mesh,
        pred_landmarks,
    )
    m = np.diag([1e3, 1e3, 1e3, 1.0])
    return np.linalg.inv(m) @ ev.regions["full_head"].transform @ m


def _mean_distance(ev, region: str) -> float | None:
    r = ev.regions.get(region)
    return None if r is None else float(np.mean(r.gt_to_pred))


def score_scene(
    scene, recon, rng: np.random.Generator | None = None, *, head=None, strands=None
) -> dict[str, float]:
    """Score one reconstruction against its scene's truth; missing metrics are left out.

    Parameters
    ----------
    scene : monoscan.synth.generate.Scene
    recon : monoscan.pipeline.Reconstruction
    rng : numpy Generator, optional
        For the depth pairs (default: seeded by the scene's seed).
    head, strands : optional
        A predicted head mesh (``.vertices``, ``.faces``, metres) and Strands (metres), when
        they are not fields of ``recon``. Both are put into the truth's frame by the rigid +
        scale alignment of the H3DS protocol (ICP of the true face region onto the prediction)
        before scoring.
    """
    import trimesh

    from monoscan.metrics.hair2d import hair_rida, hair_sale, mask_iou, orientation_error

    rng = rng or np.random.default_rng([scene.params.seed, 23])
    out: dict[str, float] = {"face_found": 1.0}
    crop = recon.crop
    hair = recon.hair
    if hair is not None:
        gt_mask = crop.from_photo(scene.hair_mask.astype(np.uint8), nearest=True) > 0
        gt_dir = crop.from_photo(scene.direction.astype(np.float32), nearest=True)
        gt_z = crop.from_photo(
            np.nan_to_num(scene.hair_depth_m, nan=-1e3).astype(np.float32), nearest=True
        )
        gt_z = np.where(gt_mask, gt_z, np.nan)
        pred_mask = np.asarray(hair.hair_mask, bool)
        out["hair_iou"] = mask_iou(pred_mask, gt_mask)
        sale = hair_sale(hair.direction, gt_dir, pred_mask, gt_mask)
        if sale.n_pixels:
            out["hair_sale_deg"] = sale.deg
            out["hair_sale_capped90_deg"] = sale.deg_capped90
        both = pred_mask & gt_mask
        if both.any():
            out["strand_undirected_deg"] = orientation_error(hair.direction, gt_dir, both)
        pairs, labels = _pairs(gt_mask, gt_z, rng, 2000, local=True, min_dz=0.002)
        rida = hair_rida(hair.depth, pairs, labels, pred_mask)
        if rida.n_used:
            out["hair_rida_pct"] = rida.percent
        pairs, labels = _pairs(gt_mask, gt_z, rng, 2000, local=False, min_dz=0.005)
        rida = hair_rida(hair.depth, pairs, labels, pred_mask)
        if rida.n_used:
            out["hair_depth_ordinal_pct"] = rida.percent
    # Landmarks: the 6 H3DS points from the iBUG 68 (photo pixels).
    lm68 = np.asarray(recon.landmarks68_photo)[:, :2]
    names = list(_IBUG_FOR)
    pred = np.array([lm68[list(_IBUG_FOR[k])].mean(0) for k in names])
    gt = np.array([scene.landmarks_px[k] for k in names])
    iod = float(np.linalg.norm(gt[0] - gt[1]))
    if iod > 0:
        out["landmark_nme_6pt"] = float(np.linalg.norm(pred - gt, axis=1).mean() / iod)
    gt_mm = scene.head_vertices * 1000.0
    align = None  # prediction (mm) -> truth frame (mm)
    # The face mesh against the true head over face_sphere.
    try:
        fm = recon.face_mesh
        pred_mesh = trimesh.Trimesh(
            np.asarray(fm.vertices) * 1000.0, np.asarray(fm.faces), process=False
        )
        ev = _head_eval(
            gt_mm,
            scene.head_faces,
            scene.landmarks,
            scene.regions,
            pred_mesh,
            regions_eval=("face_sphere",),
        )
        out["face_mesh_face_sphere_mm"] = _mean_distance(ev, "face_sphere")
        align = ev.regions["face_sphere"].transform
    except (MonoscanError, ValueError, np.linalg.LinAlgError):
        pass
    # The assembled head, when the pipeline builds one.
    pred_landmarks = None
    if head is None:
        head = getattr(recon, "head", None)
        pl = getattr(recon, "head_landmarks", None)
        if isinstance(pl, dict) and set(scene.landmarks) <= set(pl):
            pred_landmarks = {k: int(pl[k]) for k in scene.landmarks}
    if head is not None and getattr(head, "vertices", None) is not None:
        pred_mesh = trimesh.Trimesh(
            np.asarray(head.vertices, np.float64) * 1000.0, np.asarray(head.faces), process=False
        )
        try:
            ev = _head_eval(
                gt_mm, scene.head_faces, scene.landmarks, scene.regions, pred_mesh, pred_landmarks
            )
            out["head_face_sphere_mm"] = _mean_distance(ev, "face_sphere")
            out["head_full_mm"] = _mean_distance(ev, "full_head")
            align = ev.regions["full_head"].transform
        except (MonoscanError, ValueError, np.linalg.LinAlgError):
            pass
    # 3D hair, when the pipeline grows strands.
    strands = strands if strands is not None else _predicted_strands(recon)
    if strands is not None and getattr(strands, "n_strands", 0):
        if align is not None:
            m = np.diag([1e3, 1e3, 1e3, 1.0])
            strands = strands.transform(np.linalg.inv(m) @ align @ m)
        from monoscan.metrics.hair3d import (
            occupancy_metrics,
            point_match,
            shared_grid,
            voxelize,
        )

        gts = scene.strands
        grid = shared_grid(strands, gts, resolution=128)
        occ = occupancy_metrics(voxelize(strands, grid).occupancy, voxelize(gts, grid).occupancy)
        out["occupancy_iou"] = float(occ.get("iou", math.nan))
        out["occupancy_precision"] = float(occ.get("precision", math.nan))
        out["occupancy_recall"] = float(occ.get("recall", math.nan))
        # Point precision / recall: a random sample of each side's points (2 mm spacing)
        # matched against all of the other side's points (unbiased, and seconds not minutes).
        srng = np.random.default_rng([scene.params.seed, 29])
        ps, gs = strands.resample_spacing(0.002), gts.resample_spacing(0.002)
        pp, pt = ps.points.astype(np.float64), ps.tangents
        gp, gt_t = gs.points.astype(np.float64), gs.tangents

        def sample(n):
            return srng.choice(n, min(n, MATCH_POINTS), replace=False) if n else np.zeros(0, int)

        ip, ig = sample(len(pp)), sample(len(gp))
        thr = ((0.002, 20.0), (0.004, 40.0))
        d, a = [t[0] for t in thr], [t[1] for t in thr]
        prec = point_match(pp[ip], pt[ip], gp, gt_t, d, a).mean(axis=1) if len(ip) else [0, 0]
        rec = point_match(gp[ig], gt_t[ig], pp, pt, d, a).mean(axis=1) if len(ig) else [0, 0]
        rows = []
        for (dm, ang), p_, r_ in zip(thr, prec, rec, strict=True):
            f1 = 2 * p_ * r_ / (p_ + r_) if p_ + r_ > 0 else 0.0
            rows.append({"distance_mm": dm * 1000, "angle_deg": ang, "f1": float(f1)})
        for row in rows:
            name = f"strand_f1_{round(row['distance_mm'])}mm_{round(row['angle_deg'])}deg"
            if name in METRICS:
                out[name] = float(row["f1"])
    return {k: v for k, v in out.items() if v is not None}


def grow_3d(recon, n_strands: int = 10_000, seed: int = 0) -> tuple[object, object, dict]:
    """Head and strands for a reconstruction whose pipeline does not make them yet.

    Runs :func:`monoscan.head.fit.fit_head`, :func:`monoscan.head.assemble.assemble_head` and
    :func:`monoscan.hair.reconstruct3d.hair_strands` as ``benchmarks/bench_strands.py`` does.

    Returns
    -------
    head, strands, seconds
    """
    from monoscan.hair.reconstruct3d import hair_strands
    from monoscan.head.assemble import assemble_head
    from monoscan.head.fit import fit_head

    t0 = time.perf_counter()
    fitted = fit_head(recon.camera.photo_to_world(recon.face.points))
    head = assemble_head(recon.face_mesh, fitted, recon.photo.rgb, recon.camera)
    t1 = time.perf_counter()
    hm = recon.hair
    strands, _ = hair_strands(
        hm.hair_mask,
        hm.direction,
        hm.depth_m,
        recon.crop,
        recon.camera,
        head,
        orientation_crop=hm.orientation,
        body_mask_crop=hm.parsing == 1,
        n_strands=n_strands,
        seed=seed,
    )
    return head, strands, {"head_3d": t1 - t0, "strands_3d": time.perf_counter() - t1}


def run_bench(
    n: int,
    seed: int = 0,
    photos_dir: str | os.PathLike | None = None,
    *,
    predict: Callable,
    size: int = 512,
    quiet: bool = True,
    full_3d: bool = True,
    n_strands: int = 10_000,
    split: str | None = None,
) -> dict:
    """Run the pipeline on ``n`` synthetic scenes (and optionally real photos) and score it.

    Parameters
    ----------
    n : int
        Number of scenes (seeds ``seed .. seed + n - 1``).
    seed : int
    photos_dir : path, optional
        Real photos for the truth-free checks of :func:`photo_checks`.
    predict : callable
        ``predict(image) -> Reconstruction``: ``monoscan bench`` passes
        :func:`monoscan.reconstruct` with ``Options(head=full_3d, strands=n_strands)``; tests
        pass a wrapper that breaks a stage on purpose.
    size : int
        Scene width and height, pixels.
    quiet : bool
        No progress bar.
    full_3d : bool
        Score the head and the strands: a reconstruction without them gets
        them from :func:`grow_3d`; a failure there is recorded in ``failures`` and leaves
        those metrics missing. False skips both (faster).
    n_strands : int
        Strands grown per scene.
    split : {"train", "val", "test"}, optional
        Score scenes of the training corpus whose hairstyles are all of this split
        (:func:`monoscan.synth.scene.corpus_scene` with the benchmark's frontal poses);
        default: the original benchmark scenes (:func:`~monoscan.synth.scene.random_scene`).

    Returns
    -------
    dict
        ``{"scenes": n, "seed", "split", "metrics": {name: mean or None},
        "seconds": {stage: mean}, "missing": [...], "failures": [...], "styles": {id: count}}``.
    """
    from monoscan.core.errors import InputError
    from monoscan.core.progress import progress
    from monoscan.synth.generate import generate_scene

    if int(n) != n or n < 0:
        raise InputError(f"number of scenes must be a whole number >= 0, got {n}")
    values: dict[str, list[float]] = {k: [] for k in METRICS}
    seconds: dict[str, list[float]] = {}
    failures: list[str] = []
    styles: dict[str, int] = {}
    desc = "bench" if split is None else f"bench {split}"
    for i in progress(range(int(n)), total=int(n), desc=desc, quiet=quiet):
        s = int(seed) + i
        t0 = time.perf_counter()
        if split is None:
            scene = generate_scene(s, width=size, height=size)
        else:
            from monoscan.synth.scene import corpus_scene

            scene = generate_scene(corpus_scene(split, s, size, size, views="frontal"))
            styles[scene.params.style] = styles.get(scene.params.style, 0) + 1
        seconds.setdefault("generate", []).append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        try:
            recon = predict(scene.image)
        except MonoscanError as exc:
            failures.append(f"scene {s}: {exc}")
            values["face_found"].append(0.0)
            continue
        if getattr(recon, "face", True) is None:  # hair maps only: scored as a missed face
            failures.append(f"scene {s}: no face found in the photo")
            values["face_found"].append(0.0)
            continue
        seconds.setdefault("pipeline", []).append(time.perf_counter() - t0)
        for stage, v in getattr(recon, "timings", {}).items():
            seconds.setdefault(stage, []).append(float(v))
        head = strands = None
        if (
            full_3d
            and recon.hair is not None
            and (getattr(recon, "head", None) is None or _predicted_strands(recon) is None)
        ):
            try:
                head, strands, secs = grow_3d(recon, n_strands)
            except Exception as exc:  # noqa: BLE001 - a bench reports a broken stage, not dies
                failures.append(f"scene {s}: 3D stage failed: {type(exc).__name__}: {exc}")
            else:
                for stage, v in secs.items():
                    seconds.setdefault(stage, []).append(v)
        t0 = time.perf_counter()
        scores = score_scene(scene, recon, head=head, strands=strands)
        seconds.setdefault("scoring", []).append(time.perf_counter() - t0)
        for k, v in scores.items():
            if k in values and v is not None and np.isfinite(v):
                values[k].append(float(v))
    metrics = {k: (float(np.mean(v)) if v else None) for k, v in values.items()}
    result = {
        "scenes": int(n),
        "seed": int(seed),
        "split": split,
        "metrics": metrics,
        "seconds": {k: float(np.mean(v)) for k, v in seconds.items()},
        "missing": [k for k, v in metrics.items() if v is None],
        "failures": failures,
    }
    if split is not None:
        result["styles"] = dict(sorted(styles.items()))
    if photos_dir is not None:
        photo = photo_checks(photos_dir, predict=predict, quiet=quiet)
        result["metrics"].update(photo["metrics"])
        result["seconds"]["photo"] = photo["metrics"]["photo_seconds"] or 0.0
        result["failures"].extend(photo["failures"])
        result["photos"] = photo["photos"]
    return result


def _photo_mask(photos_dir: Path, image: Path) -> np.ndarray | None:
    """A hair mask for ``image`` if the folder has one (masks/<stem>.png or <stem>_mask.png)."""
    from monoscan.io.images import load_image

    for cand in (
        photos_dir / "masks" / f"{image.stem}.png",
        image.parent.parent / "masks" / f"{image.stem}.png",
        image.with_name(f"{image.stem}_mask.png"),
    ):
        if cand.is_file() and cand != image:
            return load_image(cand).rgb[..., 0] > 127
    return None


def photo_checks(photos_dir: str | os.PathLike, *, predict: Callable, quiet: bool = True) -> dict:
    """Truth-free checks on real photos.

    For every image in ``photos_dir`` (and its ``images/`` subfolder): whether the pipeline
    succeeds and how long it takes; the IoU of the predicted hair (mapped back to the photo)
    with the folder's hair mask where one exists (``masks/<stem>.png`` or
    ``<stem>_mask.png``); and the IoU of the face mesh reprojected onto the photo with the
    face-skin region of the pipeline's own parsing (a self-consistency check).
    """
    from monoscan.core.errors import InputError
    from monoscan.core.progress import progress
    from monoscan.io.images import SUPPORTED_SUFFIXES
    from monoscan.metrics.hair2d import mask_iou
    from monoscan.render.raster import rasterize

    root = Path(photos_dir)
    if not root.is_dir():
        raise InputError(f"photos folder not found: {root}")
    images = sorted(
        p
        for d in (root, root / "images")
        if d.is_dir()
        for p in d.iterdir()
        if p.suffix.lower() in SUPPORTED_SUFFIXES and "_mask" not in p.stem
    )
    if not images:
        raise InputError(f"no images in {root}")
    ok, secs, hair_iou, face_iou, failures, rows = 0, [], [], [], [], []
    for path in progress(images, total=len(images), desc="photos", quiet=quiet):
        t0 = time.perf_counter()
        try:
            recon = predict(str(path))
        except MonoscanError as exc:
            failures.append(f"{path.name}: {exc}")
            rows.append({"photo": path.name, "ok": False})
            continue
        dt = time.perf_counter() - t0
        ok += 1
        secs.append(dt)
        row = {"photo": path.name, "ok": True, "seconds": round(dt, 3)}
        if recon.hair is not None:
            mask = _photo_mask(root, path)
            if mask is not None:
                pred = (
                    recon.crop.warp_to_photo(recon.hair.hair_mask.astype(np.uint8), nearest=True)
                    > 0
                )
                if pred.shape == mask.shape:
                    hair_iou.append(mask_iou(pred, mask))
                    row["hair_iou"] = round(hair_iou[-1], 4)
            parsing = recon.hair.parsing
            skin = parsing == 2
            if recon.face_mesh is not None and skin.any():  # a back view has no face mesh
                px = recon.crop.to_crop(recon.camera.world_to_photo(recon.face_mesh.vertices))
                _, face, _ = rasterize(
                    px[:, :2] + 0.5, px[:, 2] * -1.0, recon.face_mesh.faces, parsing.shape
                )
                face_iou.append(mask_iou(face >= 0, skin))
                row["face_reprojection_iou"] = round(face_iou[-1], 4)
        rows.append(row)
    return {
        "metrics": {
            "photo_success_rate": ok / len(images),
            "photo_seconds": float(np.mean(secs)) if secs else None,
            "photo_hair_iou": float(np.mean(hair_iou)) if hair_iou else None,
            "photo_face_reprojection_iou": float(np.mean(face_iou)) if face_iou else None,
        },
        "failures": failures,
        "photos": rows,
    }


def format_split_table(results: dict[str, dict]) -> str:
    """The metrics of several :func:`run_bench` results side by side, one column per split
    (e.g. train-style and test-style scenes: how far the test styles fall behind)."""
    names = list(results)
    first = results[names[0]]
    head = ", ".join(f"{k} {r['scenes']}" for k, r in results.items())
    lines = [
        f"monoscan bench: synthetic scenes by hairstyle split ({head}; seed "
        f"{first.get('seed', 0)})",
        f"{'metric':<30} " + " ".join(f"{k:>10}" for k in names) + "  better",
    ]
    for m in first["metrics"]:
        vals = []
        for k in names:
            v = results[k]["metrics"].get(m)
            vals.append(f"{'missing' if v is None else f'{v:.4g}':>10}")
        better = "higher" if m in HIGHER_IS_BETTER else "lower"
        lines.append(f"{m:<30} " + " ".join(vals) + f"  {better}")
    for k in names:
        if results[k].get("failures"):
            lines.append(f"{k} failures: {len(results[k]['failures'])}")
            lines.extend(f"  {f}" for f in results[k]["failures"][:5])
    return "\n".join(lines)


def format_table(result: dict) -> str:
    """One plain-text table: metric, value, better direction; then seconds per stage."""
    split = f", {result['split']} hairstyles" if result.get("split") else ""
    lines = [
        f"monoscan bench: {result['scenes']} synthetic scenes (seed {result.get('seed', 0)}"
        f"{split})",
        f"{'metric':<30} {'value':>10}  better",
    ]
    for k, v in result["metrics"].items():
        val = "missing" if v is None else f"{v:.4g}"
        better = "higher" if k in HIGHER_IS_BETTER else "lower"
        lines.append(f"{k:<30} {val:>10}  {better}")
    lines.append(f"{'stage':<30} {'seconds':>10}")
    for k, v in result["seconds"].items():
        lines.append(f"{k:<30} {v:>10.3f}")
    if result.get("failures"):
        lines.append(f"failures: {len(result['failures'])}")
        lines.extend(f"  {f}" for f in result["failures"][:10])
    return "\n".join(lines)
