"""Person segmentation with MediaPipe selfie segmentation (offline, model in the wheel).

The selfie segmenter is made for people close to the camera (video calls). For full-body
photos the segmentation output of :func:`monoscan.perception.pose.detect_pose` is much tighter
(IoU 0.978 against the hand-made silhouette of ``pifu__ryota.png``, against 0.83 here); the body
pipeline uses that one and falls back to this one.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from monoscan.core.photo import check_rgb
from monoscan.core.quiet import native_stderr_silenced

__all__ = ["GENERAL", "LANDSCAPE", "segment_person"]

#: ``model_selection=0``: the general model (256x256 input), better for people near the camera.
GENERAL = 0
#: ``model_selection=1``: the landscape model (144x256 input), faster, better for small people.
LANDSCAPE = 1

_LOCK = threading.Lock()


@lru_cache(maxsize=2)
def _segmenter(model_selection: int):
    import mediapipe as mp

    return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=model_selection)


def segment_person(rgb: np.ndarray, model_selection: int = LANDSCAPE) -> np.ndarray:
    """Probability that each pixel belongs to a person.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        Photo in the photo frame (x right, y down), RGB order.
    model_selection : {0, 1}
        MediaPipe selfie segmentation model: 0 general (square 256 px input), 1 landscape
        (256x144 input). Both ship in the mediapipe 0.10.21 wheel. 1 measured better on the
        full-body photo of the development data (IoU 0.83 against 0.77 at threshold 0.5).

    Returns
    -------
    (H, W) float32
        Person probability in [0, 1] for every photo pixel (all people in the photo together).

    Notes
    -----
    The MediaPipe solution object is created once per process and model, and reused (calls are
    serialised with a lock).

    Examples
    --------
    >>> prob = segment_person(np.zeros((64, 64, 3), np.uint8))
    >>> prob.shape, prob.dtype
    ((64, 64), dtype('float32'))
    """
    rgb = check_rgb(rgb)
    if model_selection not in (GENERAL, LANDSCAPE):
        raise ValueError(f"model_selection must be 0 or 1, got {model_selection!r}")
    with _LOCK, native_stderr_silenced():
        result = _segmenter(int(model_selection)).process(rgb)
    mask = result.segmentation_mask
    if mask is None:  # pragma: no cover - MediaPipe always returns a mask
        return np.zeros(rgb.shape[:2], np.float32)
    return np.clip(np.asarray(mask, np.float32), 0.0, 1.0)
