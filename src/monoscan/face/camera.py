"""The camera between a photo and the metric world frame, and how its scale was set.

MediaPipe's face mesh is a scaled-orthographic reconstruction: x, y in pixels and z in pixels
on the same scale. One number, metres per pixel, makes it metric. We take it from the iris,
whose horizontal visible diameter is nearly the same in all adults (11.7 +- 0.5 mm; Rüfer et
al., Cornea 2005); if the iris looks implausible relative to the face we fall back to the
average face width between the mesh's side vertices 234 and 454 (a documented prior below).

World frame: metres, y up, right-handed, x to the subject's left, z toward the camera, origin
midway between the mesh's side vertices 234 and 454 (the face's sides in front of the ears).
The axes are the camera's (not the head's): a turned head stays turned in the world frame.
"""

from __future__ import annotations

import numpy as np

from monoscan.core.camera import FACE_WIDTH_M, IRIS_DIAMETER_M, Camera

__all__ = ["estimate_camera"]

# Plausible iris diameter / face width ratios (the prior's 0.084 +- ~40 %).
_IRIS_RATIO_RANGE = (0.05, 0.12)

# Iris rings in the 478-point mesh: (centre, right, top, left, bottom) for each eye.
_IRIS = ((468, 469, 470, 471, 472), (473, 474, 475, 476, 477))


def estimate_camera(points: np.ndarray) -> Camera:
    """Camera from (478, 3) face-mesh points (photo px, MediaPipe z); 468 points use the prior."""
    points = np.asarray(points, np.float64)
    face_width_px = float(np.linalg.norm(points[234, :2] - points[454, :2]))
    iris_px = float("nan")
    if len(points) >= 478:
        diameters = []
        for _, right, top, left, bottom in _IRIS:
            # The larger of the two diameters: turning the head shortens only the horizontal one.
            diameters.append(
                max(
                    np.linalg.norm(points[right, :2] - points[left, :2]),
                    np.linalg.norm(points[top, :2] - points[bottom, :2]),
                )
            )
        iris_px = float(np.mean(diameters))
    ratio = iris_px / face_width_px if face_width_px > 0 else float("nan")
    if np.isfinite(ratio) and _IRIS_RATIO_RANGE[0] <= ratio <= _IRIS_RATIO_RANGE[1]:
        mpp, method = IRIS_DIAMETER_M / iris_px, "iris"
    else:
        mpp, method = FACE_WIDTH_M / max(face_width_px, 1e-6), "face_width_prior"
    origin = (points[234] + points[454]) / 2.0
    return Camera(
        metres_per_pixel=float(mpp), origin_px=origin, scale_method=method, iris_diameter_px=iris_px
    )
