"""Head reconstruction metrics: the H3DS protocol (h3ds 0.4.0) and more.

:func:`evaluate_scene` reproduces ``h3ds.dataset.H3DS.evaluate_scene`` exactly:

1. if predicted landmarks are given, a similarity Procrustes (with scale, no reflection) from the
   prediction's landmark vertices to the ground truth's, in the ground truth's landmark order;
2. ICP with trimesh's defaults (20 iterations, threshold 1e-5, similarity with scale, reflection
   allowed) of the ground-truth vertices of the evaluated region (of the 'face' region when the
   full head is evaluated) onto the prediction's vertices; its inverse is applied to the
   prediction;
3. the ground truth is cut to the evaluated region (its vertices, in region-file order);
4. nearest-vertex distances both ways with a KD-tree (no surface sampling).

All regions are scored in one call from one loaded scan (the reference reloads and re-parses
everything per region). The numbers are the reference's to rounding (tests: 1e-6 relative; in
practice 1e-15); the work is not. One KD-tree on the prediction serves every ICP and every
GT->prediction distance (the GT is moved by the ICP instead of the prediction by its inverse,
and the distances divided by the ICP scale); ICP re-queries only the points whose match may
have changed (:class:`monoscan.metrics.alignment.NearestTracker`), the ICPs of all regions
share their first query, the final ICP matches are the region's GT->prediction distances, and
the trees on GT regions are kept per scan for the next prediction (view subsets of a sweep).
Beyond the reference: exact point-to-surface distances (libigl AABB trees,
:class:`monoscan.metrics.surface.SurfaceTree`: one on the prediction, queried like its KD-tree,
and one per GT region, kept per scan; built in a helper thread while the queries run), F-score
at 1, 2.5 and 5 mm on them, and per-vertex error heat maps clipped at 5 mm like the H3DS
figures.

Units: millimetres throughout (H3DS scans are in mm; convert predictions before calling).
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import trimesh

from monoscan.core.errors import InputError
from monoscan.core.geometry import apply_transform
from monoscan.metrics.alignment import NearestTracker, icp, procrustes
from monoscan.metrics.nn import PointTree
from monoscan.metrics.surface import SurfaceTree, fscore, nearest_vertex_distances

__all__ = [
    "FSCORE_THRESHOLDS_MM",
    "FULL_HEAD",
    "HEATMAP_CLIP_MM",
    "HeadEvaluation",
    "RegionScore",
    "check_head_size",
    "cut_faces",
    "error_colors",
    "evaluate_scene",
    "heatmap_mesh",
]

FSCORE_THRESHOLDS_MM = (1.0, 2.5, 5.0)
HEATMAP_CLIP_MM = 5.0
#: Region names of the results tables: 'face_sphere' is the "face" number, 'full_head' the "head".
FULL_HEAD = "full_head"


def _threshold_key(t: float) -> str:
    return f"{t:g}mm"


@dataclass(frozen=True)
class RegionScore:
    """Distances for one evaluated region (mm).

    Attributes
    ----------
    region : str
        'face_sphere', 'full_head', 'nose', ...
    gt_indices : (N,) int64 or None
        Ground-truth vertices of the region (None: all).
    gt_to_pred, pred_to_gt : (N,), (M,) float64
        Nearest-vertex distances as in the reference.
    gt_to_pred_surface, pred_to_gt_surface : arrays or None
        Exact point-to-surface distances (None when a side has no faces or surface=False).
    thresholds : tuple of float
        F-score thresholds, mm.
    icp : (4, 4)
        ICP transform of the ground-truth region onto the coarse-aligned prediction.
    transform : (4, 4)
        Total transform applied to the prediction for this region: ``inv(icp) @ coarse``.
    """

    region: str
    gt_indices: np.ndarray | None
    gt_to_pred: np.ndarray
    pred_to_gt: np.ndarray
    gt_to_pred_surface: np.ndarray | None = None
    pred_to_gt_surface: np.ndarray | None = None
    thresholds: tuple[float, ...] = FSCORE_THRESHOLDS_MM
    icp: np.ndarray = field(default_factory=lambda: np.eye(4))
    transform: np.ndarray = field(default_factory=lambda: np.eye(4))

    def summary(self) -> dict[str, float]:
        """Flat dict of numbers; the JSON/CSV row of this region (keys are stable)."""
        out = {
            "gt_to_pred_mm": float(np.mean(self.gt_to_pred)),
            "pred_to_gt_mm": float(np.mean(self.pred_to_gt)),
            "chamfer_mm": 0.5 * (float(np.mean(self.gt_to_pred)) + float(np.mean(self.pred_to_gt))),
            "gt_to_pred_median_mm": float(np.median(self.gt_to_pred)),
        }
        if self.gt_to_pred_surface is not None:
            out["gt_to_pred_surface_mm"] = float(np.mean(self.gt_to_pred_surface))
        if self.pred_to_gt_surface is not None:
            out["pred_to_gt_surface_mm"] = float(np.mean(self.pred_to_gt_surface))
        # F-score on surface distances when both exist, else on the vertex distances.
        g2p = self.gt_to_pred_surface if self.gt_to_pred_surface is not None else self.gt_to_pred
        p2g = self.pred_to_gt_surface if self.pred_to_gt_surface is not None else self.pred_to_gt
        for t in self.thresholds:
            f = fscore(p2g, g2p, t)
            key = _threshold_key(t)
            out[f"precision_{key}"] = f["precision"]
            out[f"recall_{key}"] = f["recall"]
            out[f"fscore_{key}"] = f["fscore"]
        out["n_gt_vertices"] = len(self.gt_to_pred)
        out["n_pred_vertices"] = len(self.pred_to_gt)
        return out


@dataclass(frozen=True)
class HeadEvaluation:
    """Result of :func:`evaluate_scene`.

    Attributes
    ----------
    regions : dict[str, RegionScore]
        One entry per evaluated region ('full_head' for the whole scan).
    coarse : (4, 4)
        Landmark similarity applied to the prediction (identity without landmarks).
    notes : tuple of str
        Warnings raised during the evaluation (units, skipped alignment).
    """

    regions: dict[str, RegionScore]
    coarse: np.ndarray
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> dict[str, dict[str, float]]:
        return {name: r.summary() for name, r in self.regions.items()}

    def aligned_vertices(self, pred_vertices: np.ndarray, region: str = FULL_HEAD) -> np.ndarray:
        """Prediction vertices moved into the ground-truth frame as for ``region`` (mm)."""
        return apply_transform(pred_vertices, self.regions[region].transform)


def check_head_size(vertices: np.ndarray, name: str = "mesh") -> str | None:
    """Warn (and return the message) when a head is not 100-400 mm tall: a wrong unit.

    The height is the largest bounding-box extent, so the check does not depend on the frame.
    """
    v = np.asarray(vertices, dtype=np.float64)
    extent = float((v.max(axis=0) - v.min(axis=0)).max())
    if 100.0 <= extent <= 400.0:
        return None
    hint = ""
    for unit, factor in (("metres", 1000.0), ("centimetres", 10.0), ("decimetres", 100.0)):
        if 100.0 <= extent * factor <= 400.0:
            hint = f"; it looks like {unit} (multiply by {factor:g})"
            break
    msg = f"{name} spans {extent:.4g} units; a head in millimetres is 100-400 mm tall{hint}"
    warnings.warn(msg, UserWarning, stacklevel=2)
    return msg


def _checked_vertices(mesh: trimesh.Trimesh, what: str) -> np.ndarray:
    """The mesh's vertices as contiguous float64 (N, 3), after checking vertices and faces."""
    v = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
        raise InputError(f"{what} mesh has no vertices")
    if not np.isfinite(v).all():
        raise InputError(f"{what} mesh has NaN or infinite vertices")
    faces = np.asarray(mesh.faces)
    if faces.size == 0:
        return v  # a point cloud: vertex metrics only
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise InputError(
            f"{what} mesh has faces of shape {faces.shape}, not triangles; triangulate it "
            "(monoscan.io.meshes.load_mesh does)"
        )
    if faces.min() < 0 or faces.max() >= len(v):
        raise InputError(
            f"{what} mesh has face indices outside [0, {len(v) - 1}] "
            f"(min {int(faces.min())}, max {int(faces.max())})"
        )
    return v


def _landmark_points(
    vertices: np.ndarray, landmarks: Mapping[str, int], names: Sequence[str], what: str
) -> np.ndarray:
    missing = [n for n in names if n not in landmarks]
    if missing:
        raise InputError(
            f"{what} landmarks lack {missing} (have {sorted(landmarks)}); "
            f"expected names: {list(names)}"
        )
    idx = np.array([int(landmarks[n]) for n in names])
    bad = (idx < 0) | (idx >= len(vertices))
    if bad.any():
        raise InputError(
            f"{what} landmark vertex index out of range for a mesh of {len(vertices)} vertices: "
            + ", ".join(
                f"{n}={i}" for n, i in zip(names, idx, strict=True) if i < 0 or i >= len(vertices)
            )
        )
    return vertices[idx]


def cut_faces(faces: np.ndarray, indices: np.ndarray, n_vertices: int) -> np.ndarray:
    """Faces whose three corners are all in ``indices``, re-indexed into ``indices`` order."""
    if len(faces) == 0:
        return np.zeros((0, 3), dtype=np.int64)
    inside = np.zeros(n_vertices, dtype=bool)
    inside[indices] = True
    keep = inside[faces].all(axis=1)
    remap = np.full(n_vertices, -1, dtype=np.int64)
    # With repeated indices the last occurrence wins, like the reference's dict.
    remap[indices] = np.arange(len(indices))
    return remap[faces[keep]]


def evaluate_scene(
    gt: trimesh.Trimesh,
    gt_landmarks: Mapping[str, int] | None,
    gt_regions: Mapping[str, np.ndarray],
    pred: trimesh.Trimesh,
    pred_landmarks: Mapping[str, int] | None = None,
    *,
    regions: Sequence[str | None] = ("face_sphere", None),
    surface: bool = True,
    thresholds: Sequence[float] = FSCORE_THRESHOLDS_MM,
    workers: int = -1,
) -> HeadEvaluation:
    """Score a predicted head against an H3DS ground truth (the h3ds 0.4.0 protocol).

    Parameters
    ----------
    gt : trimesh.Trimesh
        Ground-truth scan, mm (``full_head.obj`` read with :func:`monoscan.io.meshes.load_mesh`).
    gt_landmarks : dict name -> vertex index, or None
        Ground-truth landmarks (``landmarks.txt``). Needed only with ``pred_landmarks``.
    gt_regions : dict region -> (K,) int array
        Region vertex indices; must hold each evaluated region, and 'face' (the ICP region of
        the full head) when ``regions`` contains None.
    pred : trimesh.Trimesh
        Prediction in mm. May have no faces (then no surface distances toward it).
    pred_landmarks : dict name -> vertex index, optional
        Landmarks on the prediction; must name every ground-truth landmark.
    regions : sequence of str or None
        Regions to evaluate; None (reported as 'full_head') is the whole scan.
    surface : bool
        Also compute exact point-to-surface distances (slower).
    thresholds : sequence of float
        F-score thresholds, mm.
    workers : int
        Threads for the KD-tree queries (-1: all cores). Results do not depend on it.

    Returns
    -------
    HeadEvaluation

    Raises
    ------
    InputError
        No or non-finite vertices, non-triangle or out-of-range faces, a missing or empty
        region, region or landmark indices out of range, predicted landmarks lacking a name.
    """
    gt_v = _checked_vertices(gt, "ground-truth")
    pred_v = _checked_vertices(pred, "predicted")
    for name in regions:
        if (name or "face") not in gt_regions:
            raise InputError(
                f"region {name or 'face'!r} not available (the full head needs 'face' for ICP); "
                f"have {sorted(gt_regions)}"
            )
    notes: list[str] = []

    # (1) coarse landmark alignment: similarity, no reflection, in the GT landmark order.
    coarse = np.eye(4)
    if pred_landmarks is not None and gt_landmarks is not None:
        names = list(gt_landmarks)
        src = _landmark_points(pred_v, pred_landmarks, names, "predicted")
        dst = _landmark_points(gt_v, gt_landmarks, names, "ground-truth")
        coarse, _t, _c = procrustes(src, dst, reflection=False)
        pred_v = apply_transform(pred_v, coarse)
    else:
        notes.append("landmark alignment skipped: no predicted landmarks")
        msg = check_head_size(pred_v, "predicted mesh")
        if msg:
            notes.append(msg)

    # (2) ICP of the evaluated GT region (the 'face' region for the full head) onto the
    # prediction; its inverse moves the prediction. The reference loads the evaluated region for
    # both the ICP and the cut, so each region gets its own ICP (cached when regions repeat).
    # One tree on the coarse-aligned prediction serves every ICP and every GT->prediction
    # distance: those are measured with the GT moved by the ICP instead of the prediction by
    # its inverse (the same distances times the ICP scale), so no tree is rebuilt per region.
    pred_tree = PointTree(pred_v)
    fits = _fit_icps(gt_v, gt_regions, [name or "face" for name in regions], pred_tree, workers)
    # (5, beyond the reference) exact point-to-surface distances from AABB trees: one on the
    # coarse-aligned prediction, queried (like the vertex distances) with the GT moved by each
    # ICP, and one per GT region, kept per scan like the KD-trees. A tree build holds Python's
    # GIL while the queries release it, so a helper thread builds each tree while this one
    # runs the queries that do not need it (KD-trees first, then the trees built before).
    pred_faces = np.asarray(pred.faces, dtype=np.int64)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="monoscan-aabb") as builder:
        pred_surface = (
            builder.submit(SurfaceTree, pred_v, pred_faces) if surface and len(pred_faces) else None
        )
        parts = []
        for name in regions:
            fit = fits[name or "face"]
            inv_icp = np.linalg.inv(fit.matrix)
            aligned = apply_transform(pred_v, inv_icp)
            # (3) cut the GT to the region; (4) nearest-vertex distances both ways.
            if name is None:
                idx = None
                region_v = gt_v
            else:
                idx = _region_indices(gt_regions[name], len(gt_v), name)
                region_v = gt_v[idx]
            g2p = _gt_to_pred(gt_v, idx, fit, pred_tree, workers)
            gt_tree = _gt_region_tree(gt, gt_v, name or FULL_HEAD, idx, region_v)
            p2g, _ = nearest_vertex_distances(aligned, gt_tree, workers=workers)
            parts.append((name or FULL_HEAD, idx, region_v, fit, inv_icp, aligned, g2p, p2g))
        region_surfaces = [
            builder.submit(_gt_region_surface, gt, gt_v, key, idx) if surface else None
            for key, idx, *_rest in parts
        ]
        g2p_surfs = [None] * len(parts)
        if pred_surface is not None:
            tree = pred_surface.result()
            for k, (_key, _idx, region_v, fit, *_rest) in enumerate(parts):
                moved = apply_transform(region_v, fit.matrix)  # into the coarse frame
                g2p_surfs[k] = tree.query(moved).distances / fit.scale
        p2g_surfs = [None] * len(parts)
        for k, job in enumerate(region_surfaces):
            tree = None if job is None else job.result()
            if tree is not None:
                p2g_surfs[k] = tree.query(parts[k][5]).distances
    out: dict[str, RegionScore] = {}
    for k, (key, idx, _region_v, fit, inv_icp, _aligned, g2p, p2g) in enumerate(parts):
        out[key] = RegionScore(
            region=key,
            gt_indices=idx,
            gt_to_pred=g2p,
            pred_to_gt=p2g,
            gt_to_pred_surface=g2p_surfs[k],
            pred_to_gt_surface=p2g_surfs[k],
            thresholds=tuple(float(t) for t in thresholds),
            icp=fit.matrix,
            transform=inv_icp @ coarse,
        )
    return HeadEvaluation(out, coarse, tuple(notes))


@dataclass(frozen=True)
class _IcpFit:
    """ICP of a GT region onto the coarse-aligned prediction, with its final matches.

    Attributes
    ----------
    matrix : (4, 4)
        Similarity taking GT vertices (GT frame, mm) onto the prediction (coarse frame).
    scale : float
        Its uniform scale: distances in the coarse frame are ``scale`` times GT-frame ones.
    source : (K,) int64
        GT vertices of the ICP region.
    distances : (K,) float64
        GT frame, mm: from each source vertex to the nearest prediction vertex once the
        prediction is moved by ``inv(matrix)`` (the reference's GT->prediction distance).
    """

    matrix: np.ndarray
    scale: float
    source: np.ndarray
    distances: np.ndarray


def _fit_icps(
    gt_v: np.ndarray,
    gt_regions: Mapping[str, np.ndarray],
    names: Sequence[str],
    pred_tree: PointTree,
    workers: int,
) -> dict[str, _IcpFit]:
    """ICP of each named GT region onto the prediction (tree in the coarse frame)."""
    idx = {n: _region_indices(gt_regions[n], len(gt_v), n) for n in dict.fromkeys(names)}
    # Every ICP starts from the same positions (GT frame = coarse frame), so one first query
    # over the union of the regions serves them all ('face_sphere' lies mostly in 'face').
    in_any = np.zeros(len(gt_v), dtype=bool)
    for i in idx.values():
        in_any[i] = True
    union = np.flatnonzero(in_any)
    row = np.cumsum(in_any) - 1  # GT vertex -> its row in ``union``
    seed = NearestTracker(pred_tree, workers=workers)
    seed.query(gt_v[union])
    return {n: _fit_icp(gt_v, i, seed.subset(row[i])) for n, i in idx.items()}


def _fit_icp(gt_v: np.ndarray, idx: np.ndarray, tracker: NearestTracker) -> _IcpFit:
    matrix, moved, _cost = icp(gt_v[idx], tracker)
    # One more tracked query gives the exact matches of the final iterate; few points moved.
    dist, _ix = tracker.query(moved)
    scale = _similarity_scale(matrix)
    return _IcpFit(matrix, scale, idx, dist / scale)


def _similarity_scale(matrix: np.ndarray) -> float:
    # s * R with R orthogonal (reflections allowed): |det| = s^3.
    return float(np.cbrt(abs(np.linalg.det(matrix[:3, :3]))))


def _gt_to_pred(
    gt_v: np.ndarray, idx: np.ndarray | None, fit: _IcpFit, pred_tree: PointTree, workers: int
) -> np.ndarray:
    """Nearest-vertex distance (GT frame, mm) from each GT vertex of a region to the aligned
    prediction, as the reference measures it (``idx`` None: every GT vertex).

    The ICP already matched its own region; the other vertices are moved by the ICP into the
    coarse frame and queried there, and every distance is divided by the ICP scale.
    """
    want = np.arange(len(gt_v)) if idx is None else idx
    where = np.full(len(gt_v), -1, dtype=np.int64)
    where[fit.source] = np.arange(len(fit.source))
    pos = where[want]
    out = np.empty(len(want))
    known = pos >= 0
    out[known] = fit.distances[pos[known]]
    rest = np.flatnonzero(~known)
    if len(rest):
        d, _ = pred_tree.query(apply_transform(gt_v[want[rest]], fit.matrix), workers=workers)
        out[rest] = d / fit.scale
    return out


# Trees on GT regions, per GT mesh: a dataset sweep scores several predictions (view subsets)
# against one loaded scan. Keyed by id() with a weak reference (trimesh hashes meshes by
# content, tens of ms on a fresh scan); an entry dies with its mesh, and a mesh whose
# vertices or faces changed, or a region whose indices changed, gets new trees.
_GT_TREES: dict[int, tuple[weakref.ref, np.ndarray, np.ndarray, dict]] = {}


def _gt_trees(gt: trimesh.Trimesh, gt_v: np.ndarray) -> dict:
    """The tree cache of one GT mesh (emptied when its vertices or faces changed)."""
    key = id(gt)
    held = _GT_TREES.get(key)
    faces = np.asarray(gt.faces)
    if (
        held is None
        or held[0]() is not gt
        or not np.array_equal(held[1], gt_v)
        or not np.array_equal(held[2], faces)
    ):
        ref = weakref.ref(gt, lambda _ref: _GT_TREES.pop(key, None))
        held = (ref, gt_v.copy(), faces.copy(), {})
        _GT_TREES[key] = held
    return held[3]


def _gt_region_tree(
    gt: trimesh.Trimesh,
    gt_v: np.ndarray,
    name: str,
    idx: np.ndarray | None,
    region_v: np.ndarray,
) -> PointTree:
    """KD-tree on a GT region's vertices (GT frame, mm), reused across calls on the same mesh."""
    trees = _gt_trees(gt, gt_v)
    cached = trees.get(name)
    if cached is not None and _same_indices(cached[0], idx):
        return cached[1]
    tree = PointTree(region_v, leafsize=32)  # owns a copy: edits of the mesh do not reach it
    trees[name] = (None if idx is None else idx.copy(), tree)
    return tree


def _gt_region_surface(
    gt: trimesh.Trimesh, gt_v: np.ndarray, name: str, idx: np.ndarray | None
) -> SurfaceTree | None:
    """AABB tree on a GT region's triangles (GT frame, mm; None when the region has none),
    reused across calls on the same mesh."""
    trees = _gt_trees(gt, gt_v)
    key = ("surface", name)
    cached = trees.get(key)
    if cached is not None and _same_indices(cached[0], idx):
        return cached[1]
    faces = np.asarray(gt.faces, dtype=np.int64)
    if idx is None:
        tree = SurfaceTree(gt_v, faces) if len(faces) else None
    else:
        region_f = cut_faces(faces, idx, len(gt_v))
        tree = SurfaceTree(gt_v[idx], region_f) if len(region_f) else None
    trees[key] = (None if idx is None else idx.copy(), tree)
    return tree


def _same_indices(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return np.array_equal(a, b)


def _region_indices(idx: np.ndarray, n: int, name: str) -> np.ndarray:
    idx = np.asarray(idx, dtype=np.int64).ravel()
    if len(idx) == 0:
        raise InputError(f"region {name!r} is empty")
    if idx.min() < 0 or idx.max() >= n:
        raise InputError(
            f"region {name!r} has vertex indices outside [0, {n - 1}] "
            f"(max {int(idx.max())}): is this the right scan?"
        )
    return idx


# -- heat maps -------------------------------------------------------------------------------


def error_colors(errors: np.ndarray, clip: float = HEATMAP_CLIP_MM) -> np.ndarray:
    """RGBA uint8 colours for per-vertex errors: green at 0, through yellow, red at ``clip``.

    Hue = (1 - min(e / clip, 1)) / 3 with full saturation and value, the H3DS figure colours.
    """
    e = np.clip(np.asarray(errors, dtype=np.float64) / float(clip), 0.0, 1.0)
    h = (1.0 - e) / 3.0  # in [0, 1/3]: sectors 0 (red->yellow) and 1 (yellow->green)
    f = h * 6.0
    r = np.where(f < 1.0, 1.0, np.clip(2.0 - f, 0.0, 1.0))
    g = np.where(f < 1.0, f, 1.0)
    rgb = np.stack([r, g, np.zeros_like(r)], axis=1)
    rgba = np.concatenate([np.round(rgb * 255), np.full((len(e), 1), 255.0)], axis=1)
    return rgba.astype(np.uint8)


def heatmap_mesh(
    vertices: np.ndarray, faces: np.ndarray, errors: np.ndarray, clip: float = HEATMAP_CLIP_MM
) -> trimesh.Trimesh:
    """A mesh coloured per vertex by ``errors`` (see :func:`error_colors`); save it as PLY."""
    mesh = trimesh.Trimesh(
        np.asarray(vertices),
        np.asarray(faces).reshape(-1, 3),
        vertex_colors=error_colors(errors, clip),
        process=False,
    )
    return mesh
