"""Several photos of one person fused into one reconstruction (issue 5).

Each view gives MediaPipe's 478 landmarks in that view's own world frame (metres, x right,
y up, z toward that camera; :meth:`monoscan.face.camera.Camera.photo_to_world`). A single view
observes x and y; z is MediaPipe's learned guess. The fusion:

1. the reference view is the most frontal one (smallest yaw of the line between the face's
   sides, landmarks 234 and 454); its photo gives the texture, hair and the output frame;
2. every other view is brought into the reference frame by a weighted similarity Procrustes
   (Umeyama) on the landmarks both views see well (per-landmark facing weight: the z of the
   landmark's mesh normal in that view, squared), with one robust re-weighting; or, when the
   cameras are known (H3DS ``cameras.npz``), with the cameras' relative rotation and only
   scale and translation from the landmarks;
3. each landmark is the information-weighted mean of its views: a view's point counts with the
   inverse covariance ``R diag(1, 1, 1 / DEPTH_SIGMA_RATIO**2) R^T`` times its facing weight.
   With a ratio above 1 a side view would pin the reference view's depth while the reference
   keeps its image-plane positions; on the rendered head scan (benchmarks/bench_scan.py,
   yaws -30/0/+30) ratios 1, 3 and 10 gave face_sphere 1.54, 1.61, 1.92 mm (studio light) and
   1.49, 1.54, 1.87 mm (side light): MediaPipe's depth is no worse than its x, y there, so the
   default is 1 (a facing-weighted mean). Tuned on one scan: treat as a first setting;
4. the fused landmarks, back in the reference photo's pixels, replace the detected ones in
   :func:`monoscan.pipeline.reconstruct` (face mesh, head fit, H3DS landmarks, strands).

Views where no face is found are dropped (with a note) as long as one remains.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from monoscan.errors import InputError, MonoscanError
from monoscan.geometry import similarity_transform, vertex_normals

__all__ = [
    "DEPTH_SIGMA_RATIO",
    "FusedLandmarks",
    "frontal_yaw_deg",
    "fuse_landmarks",
    "landmark_facing",
    "read_h3ds_cameras",
    "reconstruct_views",
]

#: How much less certain MediaPipe's depth (z) is than its image-plane x, y (sigma ratio).
DEPTH_SIGMA_RATIO = 1.0
#: Landmark weight floor (points seen edge-on still count a little).
_MIN_FACING = 0.02
#: Robust re-weighting scale of the Procrustes residuals, metres.
_ROBUST_M = 0.003
# Face sides in front of the ears; their line is horizontal in the image for a frontal face.
_SIDES = (234, 454)
# Iris centre/ring landmarks take the normal of their eye (corner landmarks).
_IRIS_EYE = {range(468, 473): (33, 133), range(473, 478): (263, 362)}


def frontal_yaw_deg(world: np.ndarray) -> float:
    """Yaw of the face in a view's world frame, degrees (0 frontal; sign: x toward z)."""
    d = np.asarray(world, np.float64)[_SIDES[1]] - np.asarray(world, np.float64)[_SIDES[0]]
    return float(np.degrees(np.arctan2(d[2], d[0])))


def landmark_facing(world: np.ndarray) -> np.ndarray:
    """How much each of the 478 landmarks faces its camera: clip(n_z, 0, 1) ** 2 (+ a floor).

    ``n`` is the outward normal of MediaPipe's 468-point mesh at the landmark, in the view's
    world frame (z toward the camera); iris points use their eye's corners.
    """
    from monoscan.face.topology import N_MESH_VERTICES, mesh_triangles

    p = np.asarray(world, np.float64)
    f = mesh_triangles()
    n = vertex_normals(p[:N_MESH_VERTICES], f)
    if n[:, 2].mean() < 0:  # orientation of the triangle list: outward faces the camera
        n = -n
    nz = n[:, 2]
    out = np.empty(len(p))
    out[:N_MESH_VERTICES] = nz
    for rng, (a, b) in _IRIS_EYE.items():
        for i in rng:
            if i < len(p):
                out[i] = 0.5 * (nz[a] + nz[b])
    return np.clip(out, 0.0, 1.0) ** 2 + _MIN_FACING


@dataclass(frozen=True)
class FusedLandmarks:
    """Result of :func:`fuse_landmarks`.

    Attributes
    ----------
    points : (478, 3) float64
        Fused landmarks in the reference view's world frame, metres.
    reference : int
        Index of the reference view.
    transforms : list of (scale, (3, 3) rotation, (3,) translation)
        View frame -> reference frame, per view.
    residual_mm : list of float
        Weighted RMS distance of each view's aligned landmarks to the fused ones, mm.
    yaw_deg : list of float
        Estimated yaw of the face per view.
    """

    points: np.ndarray
    reference: int
    transforms: list
    residual_mm: list
    yaw_deg: list


def fuse_landmarks(worlds: Sequence[np.ndarray], reference: int | None = None,
                   rotations: Sequence[np.ndarray] | None = None) -> FusedLandmarks:
    """Fuse per-view 3D landmarks of one face into the reference view's frame.

    Parameters
    ----------
    worlds : sequence of (478, 3) arrays
        Landmarks of each view in that view's world frame (metres).
    reference : int, optional
        The reference view (default: the most frontal).
    rotations : sequence of (3, 3), optional
        Known rotations view frame -> reference frame (from calibrated cameras); default:
        estimated from the landmarks.

    Returns
    -------
    FusedLandmarks
    """
    ws = [np.asarray(w, np.float64) for w in worlds]
    if not ws:
        raise InputError("no views to fuse")
    if any(w.shape != ws[0].shape or w.ndim != 2 or w.shape[1] != 3 for w in ws):
        raise InputError("all views need landmark arrays of the same (N, 3) shape")
    yaws = [frontal_yaw_deg(w) for w in ws]
    ref = int(np.argmin(np.abs(yaws))) if reference is None else int(reference)
    facing = [landmark_facing(w) for w in ws]
    transforms, aligned = [], []
    for k, w in enumerate(ws):
        if k == ref:
            transforms.append((1.0, np.eye(3), np.zeros(3)))
            aligned.append(w)
            continue
        weight = np.minimum(facing[k], facing[ref])
        known = None if rotations is None else rotations[k]
        s, rot, t = similarity_transform(w, ws[ref], weight, known)
        for _ in range(2):  # robust re-weighting (Cauchy) on the residuals
            r = np.linalg.norm(s * w @ rot.T + t - ws[ref], axis=1)
            s, rot, t = similarity_transform(w, ws[ref], weight / (1 + (r / _ROBUST_M) ** 2),
                                             known)
        transforms.append((s, rot, t))
        aligned.append(s * w @ rot.T + t)
    # Information-weighted mean per landmark.
    info_local = np.diag([1.0, 1.0, 1.0 / DEPTH_SIGMA_RATIO ** 2])
    a_sum = np.zeros((len(ws[0]), 3, 3))
    b_sum = np.zeros((len(ws[0]), 3))
    for (_s, rot, _t), p, f in zip(transforms, aligned, facing):
        info = rot @ info_local @ rot.T
        a = f[:, None, None] * info[None]
        a_sum += a
        b_sum += np.einsum("nij,nj->ni", a, p)
    fused = np.linalg.solve(a_sum, b_sum[..., None])[..., 0]
    residual = [float(np.sqrt((f * ((p - fused) ** 2).sum(1)).sum() / f.sum()) * 1000)
                for p, f in zip(aligned, facing)]
    return FusedLandmarks(fused, ref, transforms, residual, yaws)


def read_h3ds_cameras(path: str | os.PathLike) -> dict[int, np.ndarray]:
    """World -> camera rotations (OpenCV axes) of an H3DS ``cameras.npz``, by view index.

    Each ``world_mat_i`` is the projection ``K [R | t]``; R comes from its RQ decomposition
    (:func:`monoscan.datasets.h3ds.decompose_projection`, as the H3DS reference).
    """
    from monoscan.datasets.h3ds import decompose_projection

    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read cameras file {path}: {exc}") from None
    out = {}
    for k in data.files:
        tail = k[len("world_mat_"):]
        if k.startswith("world_mat_") and tail.isdigit():
            out[int(tail)] = decompose_projection(data[k]).pose[:3, :3].T
    if not out:
        raise InputError(f"{path} holds no world_mat_i entries")
    return out


def _camera_index(image, position: int) -> int:
    """H3DS view index of an image: the digits ending its file name (img_0007.jpg -> 7)."""
    import re

    if isinstance(image, (str, os.PathLike)):
        m = re.search(r"(\d+)$", Path(image).stem)
        if m:
            return int(m.group(1))
    return position


def _relative_rotations(world_to_cv: Sequence[np.ndarray], ref: int) -> list[np.ndarray]:
    # Our view frame is OpenCV's camera frame with y and z flipped.
    f = np.diag([1.0, -1.0, -1.0])
    return [f @ world_to_cv[ref] @ r.T @ f for r in world_to_cv]


def reconstruct_views(images: Sequence, options=None, *, cameras: str | os.PathLike | None = None,
                      camera_rotations: Sequence[np.ndarray] | None = None):
    """Reconstruct one person from several photos (any number: H3DS uses 1, 3, 4, 6, ... 32).

    Parameters
    ----------
    images : sequence of paths, arrays or Photos
        Views of one person (same expression).
    options : Options, optional
    cameras : path, optional
        An H3DS ``cameras.npz``; image ``img_0007.jpg`` takes ``world_mat_7`` (images whose
        names end in no number: by position). The cameras' relative rotations replace the ones
        estimated from the landmarks. An H3DS view subset (1, 3, 4, 6, 8, 16 or 32 views):
        ``ds = H3DS(root)``, ``[ds.image_path(s, v) for v in ds.views(s, "3")]`` and
        ``cameras=ds.cameras_path(s)`` (:mod:`monoscan.datasets.h3ds`).
    camera_rotations : sequence of (3, 3), optional
        World -> camera rotations (OpenCV axes) per image, instead of ``cameras``.

    Returns
    -------
    Reconstruction
        Of the most frontal view, with the fused landmarks (its ``notes`` name the views used).
    """
    from monoscan.face.camera import estimate_camera
    from monoscan.io.images import load_image
    from monoscan.perception.face import detect_face_landmarks
    from monoscan.pipeline import Options, reconstruct

    options = options or Options()
    images = list(images)
    if not images:
        raise InputError("no images given")
    if cameras is not None:
        by_index = read_h3ds_cameras(cameras)
        wanted = [_camera_index(im, i) for i, im in enumerate(images)]
        missing = [w for w in wanted if w not in by_index]
        if missing:
            raise InputError(f"{cameras} has no world_mat_ for view(s) {missing}")
        camera_rotations = [by_index[w] for w in wanted]
    if camera_rotations is not None and len(camera_rotations) < len(images):
        raise InputError(f"{len(camera_rotations)} cameras for {len(images)} images")
    photos, faces, worlds, kept, notes = [], [], [], [], []
    for i, image in enumerate(images):
        photo = load_image(image)
        try:
            face = detect_face_landmarks(photo.rgb, options.face_index, options.min_face_px)
        except MonoscanError as exc:
            if len(images) == 1:
                raise
            notes.append(f"view {i} ({photo.stem}) dropped: {exc}")
            continue
        photos.append(photo)
        faces.append(face)
        worlds.append(estimate_camera(face.points).photo_to_world(face.points))
        kept.append(i)
    if not photos:
        raise InputError("no face found in any of the views")
    if len(photos) == 1:
        recon = reconstruct(photos[0], options)
        return replace(recon, notes=notes + recon.notes)
    rotations = None
    if camera_rotations is not None:
        sub = [np.asarray(camera_rotations[i], np.float64) for i in kept]
        ref = int(np.argmin(np.abs([frontal_yaw_deg(w) for w in worlds])))
        rotations = _relative_rotations(sub, ref)
    fused = fuse_landmarks(worlds, rotations=rotations)
    ref = fused.reference
    photo = photos[ref]
    # Back to the reference photo's pixels (the camera of its own detection).
    cam = estimate_camera(faces[ref].points)
    points_px = cam.world_to_photo(fused.points).astype(np.float32)
    recon = reconstruct(photo, options, landmarks=points_px)
    notes.append(
        f"fused {len(photos)} views ({', '.join(p.stem for p in photos)}; reference: view "
        f"{kept[ref]}, {photo.stem}, its photo gives the texture); "
        "estimated yaw " + ", ".join(f"{y:+.0f}" for y in fused.yaw_deg) + " deg; landmark "
        "residual " + ", ".join(f"{r:.1f}" for r in fused.residual_mm) + " mm")
    return replace(recon, notes=notes + recon.notes)
