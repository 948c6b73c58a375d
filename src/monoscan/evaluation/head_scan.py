"""Score reconstructions against a real head scan that has landmarks but no photo.

A scan with 51 FLAME landmarks (``scan.obj`` in metres, ``scan_lmks.npy``; the order of the
FLAME "static" 51-point set: brows 1-10, nose bridge 11-14, nose base 15-19, right eye 20-25,
left eye 26-31, outer lips 32-43, inner lips 44-51, numbered from 1 as in
``landmarks_51_annotated.png``) is turned into an H3DS-style scene:

* the six H3DS landmarks (:data:`monoscan.datasets.h3ds.LANDMARK_NAMES`) from the 51, each
  snapped to its nearest scan
  vertex (:data:`FLAME51_FOR_H3DS`): ``right_eye`` / ``left_eye`` the mean of the six eyelid
  points of that eye (20-25 / 26-31: the eye centre, like MediaPipe's iris centre we use on the
  prediction), ``nose_tip`` point 14 (pronasale, the lowest nose-bridge point), ``nose_base``
  point 17 (subnasale, middle of the nose base), ``right_lips`` / ``left_lips`` the outer mouth
  corners 32 / 38. "Right" is the subject's right (negative x);
* regions: ``face_sphere`` the scan vertices within 95 mm of the nose tip (as H3DS),
  ``face`` (the ICP region of the full-head number) the vertices within 100 mm of the nose tip
  and at most 75 mm behind it.

The scan has no texture, so :func:`render_head_scan` paints a plausible albedo (skin, eyes with an
11.7 mm iris, brows, lips) from the landmarks onto a frontal map and renders it shaded with the
CPU renderer (:mod:`monoscan.render.scene`) under a named lighting set-up (:data:`LIGHTINGS`)
and yaw. :func:`evaluate_against_scan` then runs the H3DS protocol
(:func:`monoscan.metrics.head.evaluate_scene`: landmark Procrustes, ICP, nearest-vertex
distances, plus point-to-surface) in millimetres.

Frames: scan and predictions in metres (monoscan's world frame: y up, x to the subject's left,
z toward the camera); the evaluation converts to millimetres.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.geometry import rotation_y

__all__ = [
    "FACE_SPHERE_MM",
    "FLAME51_FOR_H3DS",
    "LIGHTINGS",
    "HeadScan",
    "HeadScanRender",
    "evaluate_against_scan",
    "h3ds_points_from_flame51",
    "load_head_scan",
    "render_head_scan",
    "scan_summary",
    "score_reconstruction",
]

#: H3DS's face_sphere radius around the nose tip, mm.
FACE_SPHERE_MM = 95.0
#: The 'face' (ICP) region: within this distance of the nose tip (mm) ...
FACE_RADIUS_MM = 100.0
#: ... and at most this far behind it (mm, along -z of the scan).
FACE_DEPTH_MM = 75.0

#: H3DS landmark -> 0-based indices into the 51 FLAME landmarks (their mean is used).
FLAME51_FOR_H3DS = {
    "right_eye": (19, 20, 21, 22, 23, 24),
    "left_eye": (25, 26, 27, 28, 29, 30),
    "nose_tip": (13,),
    "nose_base": (16,),
    "right_lips": (31,),
    "left_lips": (37,),
}

# 0-based index groups of the 51 FLAME landmarks (the png numbers minus one).
_BROWS = (tuple(range(5)), tuple(range(5, 10)))
_EYES = (tuple(range(19, 25)), tuple(range(25, 31)))
_OUTER_LIPS = tuple(range(31, 43))
_INNER_LIPS = tuple(range(43, 51))

#: Lighting set-ups: (lights as (direction toward the light xyz, colour rgb), ambient rgb).
#: Directions are in the camera-aligned world frame (x image right, y up, z toward the camera).
LIGHTINGS: dict[str, tuple[tuple[tuple[float, ...], ...], tuple[float, float, float]]] = {
    # key light upper left front, weak fill from the right
    "studio": (
        ((-0.4, 0.5, 0.8, 0.70, 0.69, 0.66), (0.6, 0.1, 0.6, 0.22, 0.22, 0.24)),
        (0.30, 0.30, 0.31),
    ),
    # hard light from the subject's left side, little fill: one half of the face dark
    "side": (((0.95, 0.15, 0.3, 0.85, 0.82, 0.76),), (0.22, 0.22, 0.24)),
    # overhead light: shadows under brows, nose and chin
    "top": (
        ((0.0, 1.0, 0.35, 0.80, 0.80, 0.80), (0.0, -0.2, 1.0, 0.15, 0.15, 0.15)),
        (0.26, 0.26, 0.27),
    ),
}

_SKIN = np.array([0.80, 0.60, 0.50])
_BROW = np.array([0.20, 0.13, 0.09])
_LIP = np.array([0.70, 0.40, 0.38])
_IRIS = np.array([0.33, 0.22, 0.14])
_SCLERA = np.array([0.88, 0.86, 0.82])
_IRIS_RADIUS_M = 0.00585  # 11.7 mm visible iris diameter, the pipeline's scale prior

# The painted frontal albedo map: x, y in [-_MAP_HALF, _MAP_HALF] m at _MAP_RES m per pixel.
_MAP_HALF = 0.10
_MAP_RES = 0.0002


@dataclass(frozen=True)
class HeadScan:
    """A head scan turned into an H3DS-style scene.

    Attributes
    ----------
    vertices : (V, 3) float64
        Metres, world frame (y up, x subject's left, z toward the face's front).
    faces : (F, 3) int64
    landmarks51 : (51, 3) float64
        FLAME landmarks, metres.
    landmarks : dict name -> vertex index
        The six H3DS landmarks snapped to scan vertices (:data:`FLAME51_FOR_H3DS`).
    regions : dict name -> (K,) int64
        'face_sphere' and 'face' vertex indices.
    source : str
        Where the scan was read from.
    """

    vertices: np.ndarray
    faces: np.ndarray
    landmarks51: np.ndarray
    landmarks: dict[str, int]
    regions: dict[str, np.ndarray]
    source: str = ""
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def nose_tip(self) -> np.ndarray:
        """The nose-tip vertex, metres."""
        return self.vertices[self.landmarks["nose_tip"]]

    def albedo_map(self) -> np.ndarray:
        """The painted frontal albedo map (see :func:`paint_albedo_map`), cached."""
        if "albedo" not in self._cache:
            self._cache["albedo"] = paint_albedo_map(self.landmarks51)
        return self._cache["albedo"]


def h3ds_points_from_flame51(landmarks51: np.ndarray) -> dict[str, np.ndarray]:
    """The six H3DS landmark positions from 51 FLAME landmarks (same units and frame).

    Parameters
    ----------
    landmarks51 : (51, 3) array

    Returns
    -------
    dict name -> (3,) float64, in H3DS order (see :data:`FLAME51_FOR_H3DS`).

    Examples
    --------
    >>> import numpy as np
    >>> sorted(h3ds_points_from_flame51(np.zeros((51, 3))))[:2]
    ['left_eye', 'left_lips']
    """
    lm = np.asarray(landmarks51, np.float64)
    if lm.shape != (51, 3):
        raise InputError(f"expected (51, 3) FLAME landmarks, got shape {lm.shape}")
    return {name: lm[list(idx)].mean(axis=0) for name, idx in FLAME51_FOR_H3DS.items()}


def scan_regions(vertices: np.ndarray, nose_tip: np.ndarray) -> dict[str, np.ndarray]:
    """'face_sphere' and 'face' vertex indices of a scan (metres) around its nose tip."""
    v = np.asarray(vertices, np.float64)
    d_mm = np.linalg.norm(v - nose_tip, axis=1) * 1000.0
    behind_mm = (nose_tip[2] - v[:, 2]) * 1000.0
    return {
        "face_sphere": np.flatnonzero(d_mm <= FACE_SPHERE_MM),
        "face": np.flatnonzero((d_mm <= FACE_RADIUS_MM) & (behind_mm <= FACE_DEPTH_MM)),
    }


def load_head_scan(
    directory: str | os.PathLike, mesh_name: str = "scan.obj", landmarks_name: str = "scan_lmks.npy"
) -> HeadScan:
    """Read a scan folder (``scan.obj`` in metres and ``scan_lmks.npy``, 51 FLAME landmarks).

    Raises
    ------
    InputError
        Missing files, wrong landmark shape, or a mesh not in metres.
    FormatError
        A malformed mesh file (:func:`monoscan.io.meshes.load_mesh`).
    """
    from monoscan.io.meshes import load_mesh
    from monoscan.metrics.nn import PointTree

    root = Path(directory)
    mesh_path, lm_path = root / mesh_name, root / landmarks_name
    for p in (mesh_path, lm_path):
        if not p.is_file():
            raise InputError(f"head scan file not found: {p}")
    mesh = load_mesh(mesh_path)  # every vertex of the file, as H3DS reads scans
    v = np.asarray(mesh.vertices, np.float64)
    f = np.asarray(mesh.faces, np.int64)
    extent = float((v.max(0) - v.min(0)).max())
    if not 0.1 <= extent <= 0.6:
        raise InputError(f"{mesh_path} spans {extent:.4g} units; expected a head in metres")
    lm51 = np.asarray(np.load(lm_path), np.float64)
    points = h3ds_points_from_flame51(lm51)
    _, idx = PointTree(v).query(np.stack(list(points.values())))
    landmarks = {k: int(i) for k, i in zip(points, idx, strict=True)}
    regions = scan_regions(v, v[landmarks["nose_tip"]])
    return HeadScan(v, f, lm51, landmarks, regions, str(root))


# --------------------------------------------------------------------------------------------
# Painting and rendering


def _to_map(xy: np.ndarray) -> np.ndarray:
    """Scan x, y (metres) -> albedo-map pixels (x right = scan +x, y down = scan -y)."""
    n = 2.0 * _MAP_HALF / _MAP_RES
    return np.stack(
        [(xy[:, 0] + _MAP_HALF) / _MAP_RES, n - (xy[:, 1] + _MAP_HALF) / _MAP_RES], axis=1
    )


def _smooth_closed(points: np.ndarray, n: int = 64) -> np.ndarray:
    """A closed periodic Catmull-Rom curve through 2D points (a smooth outline from few points)."""
    p = np.asarray(points, np.float64)
    k = len(p)
    out = []
    for i in range(k):
        p0, p1, p2, p3 = p[(i - 1) % k], p[i], p[(i + 1) % k], p[(i + 2) % k]
        for t in np.linspace(0, 1, max(n // k, 2), endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(
                0.5
                * (
                    2 * p1
                    + (-p0 + p2) * t
                    + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                    + (-p0 + 3 * p1 - 3 * p2 + p3) * t3
                )
            )
    return np.asarray(out)


def paint_albedo_map(landmarks51: np.ndarray) -> np.ndarray:
    """Paint skin, eyes, brows and lips from 51 FLAME landmarks onto a frontal albedo map.

    The map covers scan x, y in [-0.1, 0.1] m at 0.2 mm per pixel and is applied to the front
    of the head by orthographic projection along z (:func:`_albedo_at`).

    Returns
    -------
    (1000, 1000, 3) float32, sRGB in [0, 1]
    """
    import cv2

    lm = np.asarray(landmarks51, np.float64)
    n = round(2 * _MAP_HALF / _MAP_RES)
    img = np.empty((n, n, 3), np.float32)
    img[:] = _SKIN
    px = 1.0 / _MAP_RES  # pixels per metre
    shift = 4
    one = 1 << shift

    def ipts(xy):
        return np.round(_to_map(xy) * one).astype(np.int32)

    # Cheeks a little redder (soft blobs below the eyes).
    blush = np.zeros((n, n), np.float32)
    for eye in _EYES:
        c = lm[list(eye)].mean(0)
        centre = _to_map(np.array([[c[0] * 1.05, c[1] - 0.028]]))[0]
        cv2.circle(blush, tuple(round(a) for a in centre), int(0.016 * px), 1.0, -1)
    blush = cv2.GaussianBlur(blush, (0, 0), 0.008 * px)[..., None]
    img = img * (1 - 0.15 * blush) + 0.15 * blush * np.array([0.85, 0.42, 0.40], np.float32)
    # Brows: tapered thick polylines, darker toward the nose.
    for brow in _BROWS:
        pts = lm[list(brow)][:, :2]
        if pts[0, 0] > pts[-1, 0]:
            pts = pts[::-1]
        inner_first = abs(pts[0, 0]) < abs(pts[-1, 0])
        for i in range(len(pts) - 1):
            t = (i + 0.5) / (len(pts) - 1)
            t = t if inner_first else 1 - t  # 0 at the inner end
            thick = round((0.0055 - 0.0025 * t) * px)
            a, b = ipts(pts[i : i + 2] - [[0, 0.001], [0, 0.001]])
            cv2.line(
                img, tuple(a), tuple(b), tuple(float(c) for c in _BROW), thick, cv2.LINE_AA, shift
            )
    # Eyes: almond opening (sclera), iris with pupil and limbal ring, dark upper lid line.
    for eye in _EYES:
        pts = lm[list(eye)][:, :2]
        outline = _smooth_closed(pts)
        mask = np.zeros((n, n), np.uint8)
        cv2.fillPoly(mask, [ipts(outline)], 255, cv2.LINE_AA, shift)
        eye_img = np.empty_like(img)
        eye_img[:] = _SCLERA
        c = ipts(pts.mean(0)[None])[0]
        cv2.circle(
            eye_img,
            tuple(c),
            round(_IRIS_RADIUS_M * px * one),
            tuple(float(v) for v in _IRIS * 0.55),
            -1,
            cv2.LINE_AA,
            shift,
        )
        cv2.circle(
            eye_img,
            tuple(c),
            round((_IRIS_RADIUS_M - 0.0007) * px * one),
            tuple(float(v) for v in _IRIS),
            -1,
            cv2.LINE_AA,
            shift,
        )
        cv2.circle(
            eye_img, tuple(c), round(0.0022 * px * one), (0.03, 0.03, 0.03), -1, cv2.LINE_AA, shift
        )
        a = (mask.astype(np.float32) / 255.0)[..., None]
        img = img * (1 - a) + eye_img * a
        upper = outline[outline[:, 1] >= np.median(outline[:, 1])]
        upper = upper[np.argsort(upper[:, 0])]
        cv2.polylines(
            img,
            [ipts(upper + [0, 0.0004])],
            False,
            (0.08, 0.05, 0.04),
            round(0.0012 * px),
            cv2.LINE_AA,
            shift,
        )
        lower = outline[outline[:, 1] < np.median(outline[:, 1])]
        lower = lower[np.argsort(lower[:, 0])]
        cv2.polylines(
            img,
            [ipts(lower - [0, 0.0003])],
            False,
            (0.45, 0.30, 0.27),
            round(0.0006 * px),
            cv2.LINE_AA,
            shift,
        )
    # Lips: the outer contour filled, a dark line along the closed inner contour.
    lip_mask = np.zeros((n, n), np.uint8)
    cv2.fillPoly(
        lip_mask, [ipts(_smooth_closed(lm[list(_OUTER_LIPS)][:, :2], 96))], 255, cv2.LINE_AA, shift
    )
    lip_mask = cv2.GaussianBlur(lip_mask, (0, 0), 0.0004 * px)
    a = (lip_mask.astype(np.float32) / 255.0)[..., None]
    img = img * (1 - a) + _LIP.astype(np.float32) * a
    inner = lm[list(_INNER_LIPS)][:, :2]
    cv2.polylines(
        img,
        [ipts(_smooth_closed(inner, 64))],
        True,
        (0.25, 0.09, 0.09),
        round(0.0009 * px),
        cv2.LINE_AA,
        shift,
    )
    return np.clip(img, 0, 1)


def _albedo_at(points: np.ndarray, albedo_map: np.ndarray, front_z: float) -> np.ndarray:
    """Albedo of scan-frame surface points: the frontal map in front, plain skin elsewhere."""
    p = np.asarray(points, np.float64).reshape(-1, 3)
    uv = _to_map(p[:, :2])
    n = albedo_map.shape[0]
    x = np.clip(np.rint(uv[:, 0]), 0, n - 1).astype(np.int64)
    y = np.clip(np.rint(uv[:, 1]), 0, n - 1).astype(np.int64)
    out = np.tile(_SKIN, (len(p), 1))
    front = p[:, 2] > front_z
    out[front] = albedo_map[y[front], x[front]]
    return out


@dataclass(frozen=True)
class HeadScanRender:
    """One render of the scan.

    Attributes
    ----------
    image : (H, W, 3) uint8
    view : View
        The camera (world = the scan turned by ``yaw_deg`` about the vertical axis).
    yaw_deg : float
    lighting : str
    rotation : (3, 3) float64
        Scan -> rendered world rotation.
    """

    image: np.ndarray
    view: object
    yaw_deg: float
    lighting: str
    rotation: np.ndarray


def render_head_scan(
    scan: HeadScan,
    yaw_deg: float = 0.0,
    lighting: str = "studio",
    size: int = 640,
    focal_35mm: float = 50.0,
    fill: float = 0.78,
    background_seed: int | None = 0,
) -> HeadScanRender:
    """Render the painted scan with a perspective camera.

    Parameters
    ----------
    scan : HeadScan
    yaw_deg : float
        Head turn, degrees; positive moves the nose toward the image right.
    lighting : str
        A key of :data:`LIGHTINGS`.
    size : int
        Square image size, pixels.
    focal_35mm : float
        Focal length as on a 35 mm camera (50: a normal portrait lens).
    fill : float
        Fraction of the image height the scan's height fills.
    background_seed : int or None
        Seed of the photo-like background (None: plain grey).

    Returns
    -------
    HeadScanRender
    """
    from monoscan.render.scene import Light, MeshLayer, View, background_image, render

    if lighting not in LIGHTINGS:
        raise InputError(f"unknown lighting {lighting!r}; choose from {sorted(LIGHTINGS)}")
    # Positive yaw moves the nose toward the image right (the subject turns to their left).
    rot = rotation_y(yaw_deg)
    v = scan.vertices @ rot.T
    lo, hi = scan.vertices.min(0), scan.vertices.max(0)
    centre = 0.5 * (lo + hi)
    f = focal_35mm / 36.0 * size
    dist = f * (hi[1] - lo[1]) / (fill * size)
    eye = np.array([centre[0], centre[1], dist])
    view = View(
        "perspective",
        size,
        size,
        float(f),
        0.5 * (size - 1),
        0.5 * (size - 1),
        rotation=np.eye(3),
        translation=-eye,
    )
    front_z = float(scan.landmarks51[:, 2].min()) - 0.012
    albedo = functools.partial(_albedo_at, albedo_map=scan.albedo_map(), front_z=front_z)
    layer = MeshLayer(v, scan.faces, albedo_fn=albedo, local=scan.vertices, specular=0.05)
    lights_spec, ambient = LIGHTINGS[lighting]
    lights = [Light(np.asarray(li[:3]), np.asarray(li[3:])) for li in lights_spec]
    bg = None
    if background_seed is not None:
        bg = background_image((size, size), np.random.default_rng(background_seed))
    r = render(view, [layer], None, lights=lights, ambient=ambient, background=bg)
    return HeadScanRender(
        image=r.image, view=view, yaw_deg=float(yaw_deg), lighting=lighting, rotation=rot
    )


# --------------------------------------------------------------------------------------------
# Evaluation


def evaluate_against_scan(
    scan: HeadScan,
    pred_vertices: np.ndarray,
    pred_faces: np.ndarray,
    pred_landmarks: dict[str, int] | None,
    *,
    surface: bool = True,
    regions=("face_sphere", None),
):
    """The H3DS protocol between a predicted head and the scan.

    Parameters
    ----------
    scan : HeadScan
    pred_vertices : (V, 3) array
        Prediction, metres, any frame (the landmark Procrustes and ICP align it).
    pred_faces : (F, 3) int array
    pred_landmarks : dict name -> vertex index, or None
        H3DS landmarks on the prediction (``Reconstruction.head_landmarks``).
    surface : bool
        Also compute point-to-surface distances.
    regions : sequence
        Regions to score (None: the full head).

    Returns
    -------
    HeadEvaluation
        Distances in millimetres.
    """
    import trimesh

    from monoscan.metrics.head import evaluate_scene

    gt = trimesh.Trimesh(scan.vertices * 1000.0, scan.faces, process=False)
    pred = trimesh.Trimesh(
        np.asarray(pred_vertices, np.float64) * 1000.0,
        np.asarray(pred_faces, np.int64),
        process=False,
    )
    return evaluate_scene(
        gt,
        scan.landmarks if pred_landmarks is not None else None,
        scan.regions,
        pred,
        pred_landmarks,
        regions=regions,
        surface=surface,
    )


def scan_summary(
    evaluation, scan: HeadScan | None = None, pred_vertices: np.ndarray | None = None
) -> dict[str, float]:
    """Flat numbers of a scan evaluation (mm).

    ``face_*`` is the face_sphere region, ``head_*`` the full head; ``gt_to_pred`` is the H3DS
    number (nearest vertex), ``*_surface`` the point-to-surface distance. The H3DS
    ``pred_to_gt`` of a region compares the whole prediction with the cut ground truth, so it
    mostly measures how much head lies outside the region; with ``scan`` and ``pred_vertices``
    (metres) we add ``face_pred_to_gt_cut_mm`` / ``face_pred_to_gt_cut_surface_mm``: only the
    aligned prediction vertices within 95 mm of the scan's nose tip.
    """
    out: dict[str, float] = {}
    for region, key in (("face_sphere", "face"), ("full_head", "head")):
        r = evaluation.regions.get(region)
        if r is None:
            continue
        s = r.summary()
        out[f"{key}_gt_to_pred_mm"] = s["gt_to_pred_mm"]
        out[f"{key}_pred_to_gt_mm"] = s["pred_to_gt_mm"]
        if "gt_to_pred_surface_mm" in s:
            out[f"{key}_gt_to_pred_surface_mm"] = s["gt_to_pred_surface_mm"]
        if "pred_to_gt_surface_mm" in s:
            out[f"{key}_pred_to_gt_surface_mm"] = s["pred_to_gt_surface_mm"]
    r = evaluation.regions.get("face_sphere")
    if r is not None and scan is not None and pred_vertices is not None:
        import trimesh

        from monoscan.metrics.head import cut_faces
        from monoscan.metrics.surface import nearest_vertex_distances, point_to_surface

        aligned = evaluation.aligned_vertices(
            np.asarray(pred_vertices, np.float64) * 1000.0, "face_sphere"
        )
        nose = scan.nose_tip * 1000.0
        inside = aligned[np.linalg.norm(aligned - nose, axis=1) <= FACE_SPHERE_MM]
        idx = scan.regions["face_sphere"]
        gt_v = scan.vertices[idx] * 1000.0
        if len(inside):
            out["face_pred_to_gt_cut_mm"] = float(nearest_vertex_distances(inside, gt_v)[0].mean())
            faces = cut_faces(scan.faces, idx, len(scan.vertices))
            gt_mesh = trimesh.Trimesh(gt_v, faces, process=False)
            out["face_pred_to_gt_cut_surface_mm"] = float(
                point_to_surface(inside, gt_mesh).distances.mean()
            )
    return out


def score_reconstruction(scan: HeadScan, recon, *, surface: bool = True) -> dict[str, float]:
    """:func:`scan_summary` numbers of a :class:`~monoscan.pipeline.Reconstruction`'s head."""
    if recon.head is None or recon.head_landmarks is None:
        raise InputError("the reconstruction has no head (Options(head=True) is needed)")
    v = np.asarray(recon.head.vertices, np.float64)
    ev = evaluate_against_scan(scan, v, recon.head.faces, recon.head_landmarks, surface=surface)
    return scan_summary(ev, scan, v if surface else None)
