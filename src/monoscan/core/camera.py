"""The scaled orthographic camera between photo pixels and the world frame.

World frame: metres, y up, x to the subject's left, z toward the camera, origin between the
ears. :func:`monoscan.face.camera.estimate_camera` sets its metric scale from the iris.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FACE_WIDTH_M", "IRIS_DIAMETER_M", "Camera"]


#: Visible horizontal iris diameter of adults, metres.
IRIS_DIAMETER_M = 0.0117


#: Distance between face-mesh vertices 234 and 454 (face sides at the tragus level) of an
#: average adult, metres; used only when the iris cannot be trusted.
FACE_WIDTH_M = 0.140


@dataclass(frozen=True)
class Camera:
    """Scaled orthographic camera.

    Attributes
    ----------
    metres_per_pixel : float
    origin_px : (3,) float64
        World origin in photo pixels (x, y) and MediaPipe z (pixels, smaller = closer).
    scale_method : str
        ``"iris"`` or ``"face_width_prior"``.
    iris_diameter_px : float
        Measured iris diameter (NaN when there are no iris landmarks).
    """

    metres_per_pixel: float
    origin_px: np.ndarray
    scale_method: str
    iris_diameter_px: float

    def photo_to_world(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) photo pixels + MediaPipe z -> (N, 3) world metres."""
        d = np.asarray(points, np.float64)[:, :3] - self.origin_px
        return np.stack([d[:, 0], -d[:, 1], -d[:, 2]], axis=1) * self.metres_per_pixel

    def world_to_photo(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world metres -> (N, 3) photo pixels (x, y) and MediaPipe z."""
        p = np.asarray(points, np.float64) / self.metres_per_pixel
        return np.stack([p[:, 0], -p[:, 1], -p[:, 2]], axis=1) + self.origin_px

    def to_json(self) -> dict:
        return {
            "model": "scaled orthographic",
            "metres_per_pixel": self.metres_per_pixel,
            "origin_px": self.origin_px.tolist(),
            "scale_method": self.scale_method,
            "scale_prior_m": IRIS_DIAMETER_M if self.scale_method == "iris" else FACE_WIDTH_M,
            "iris_diameter_px": self.iris_diameter_px,
            "world_frame": "metres, y up, x to the subject's left, z toward the camera",
        }
