"""Several photos of one person: one reconstruction from the landmarks fused across views.

The fusion itself is :mod:`monoscan.head.multiview`; this module loads the photos, detects each
face, fuses and runs :func:`monoscan.pipeline.reconstruct` on the most frontal view. Views where
no face is found are dropped (with a note) as long as one remains.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from monoscan.core.errors import InputError, MonoscanError
from monoscan.datasets.h3ds import read_h3ds_cameras
from monoscan.head.multiview import frontal_yaw_deg, fuse_landmarks

__all__ = ["reconstruct_views"]


def _camera_index(image, position: int) -> int:
    """H3DS view index of an image: the digits ending its file name (img_0007.jpg -> 7)."""
    if isinstance(image, (str, os.PathLike)):
        m = re.search(r"(\d+)$", Path(image).stem)
        if m:
            return int(m.group(1))
    return position


def _relative_rotations(world_to_cv: Sequence[np.ndarray], ref: int) -> list[np.ndarray]:
    # Our view frame is OpenCV's camera frame with y and z flipped.
    f = np.diag([1.0, -1.0, -1.0])
    return [f @ world_to_cv[ref] @ r.T @ f for r in world_to_cv]


def _not_face_skin(rgb: np.ndarray, points_px: np.ndarray, hair: bool) -> np.ndarray:
    """Pixels of another view the head must not take colour from: outside the hull of its
    face landmarks (background, ears, neck) and, with ``hair``, the segmented hair."""
    import cv2

    outside = np.ones(rgb.shape[:2], np.uint8)
    hull = cv2.convexHull(np.round(points_px[:468, :2]).astype(np.int32))
    cv2.fillConvexPoly(outside, hull, 0)
    mask = outside.astype(bool)
    if hair:
        from monoscan.hair.segmentation import segment_hair

        mask |= segment_hair(rgb).mask
    return mask


def _photo_view(photo, view_camera, transform, reference_camera, recon_camera, not_skin):
    """Another view as a PhotoView of the reconstruction's world frame.

    A point of the reconstruction's world goes to the reference photo's pixels (its camera,
    ``recon_camera``, is estimated from the fused landmarks), to the reference view's world
    (``reference_camera``), then by ``transform`` (scale, rotation, translation: this view's
    world to the reference one's, :func:`monoscan.head.multiview.fuse_landmarks`) to this
    view's world and photo.
    """
    from monoscan.head.ict_head import PhotoView

    scale, rotation, translation = transform

    def project(points):
        reference = reference_camera.photo_to_world(recon_camera.world_to_photo(points))
        view_world = (reference - translation) @ rotation / scale
        return view_camera.world_to_photo(view_world)[:, :2], view_world[:, 2]

    return PhotoView(photo.rgb, project, rotation[:, 2].copy(), not_skin)


def reconstruct_views(
    images: Sequence,
    options=None,
    *,
    cameras: str | os.PathLike | None = None,
    camera_rotations: Sequence[np.ndarray] | None = None,
):
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
    from monoscan.pipeline.options import Options
    from monoscan.pipeline.photo import reconstruct

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
    recon_camera = estimate_camera(points_px)  # as reconstruct() estimates it
    others = [
        _photo_view(
            photos[k],
            estimate_camera(faces[k].points),
            fused.transforms[k],
            cam,
            recon_camera,
            _not_face_skin(photos[k].rgb, faces[k].points, options.hair),
        )
        for k in range(len(photos))
        if k != ref
    ]
    recon = reconstruct(photo, options, landmarks=points_px, other_views=others)
    notes.append(
        f"fused {len(photos)} views ({', '.join(p.stem for p in photos)}; reference: view "
        f"{kept[ref]}, {photo.stem}; every view colours the face it sees); "
        "estimated yaw " + ", ".join(f"{y:+.0f}" for y in fused.yaw_deg) + " deg; landmark "
        "residual " + ", ".join(f"{r:.1f}" for r in fused.residual_mm) + " mm"
    )
    return replace(recon, notes=notes + recon.notes)
