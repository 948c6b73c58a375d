"""Body pose (33 MediaPipe landmarks) and the person's segmentation, from one photo.

MediaPipe Pose from the mediapipe 0.10.21 wheel, ``static_image_mode=True`` and
``model_complexity=1`` (the only complexity whose model ships in the wheel: 0 and 2 try to
download and fail offline), with ``enable_segmentation=True``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from monoscan.core.photo import check_rgb
from monoscan.core.quiet import native_stderr_silenced

__all__ = ["LANDMARK_INDEX", "LANDMARK_NAMES", "PoseResult", "detect_pose", "detect_poses"]

#: MediaPipe Pose landmark names, in landmark order (subject's left/right).
LANDMARK_NAMES = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
LANDMARK_INDEX = {name: i for i, name in enumerate(LANDMARK_NAMES)}

_LOCK = threading.Lock()


@dataclass(frozen=True)
class PoseResult:
    """One person's pose.

    Attributes
    ----------
    landmarks : (33, 3) float32
        Photo px: x right, y down, and MediaPipe's relative depth z in the same px scale as x
        (negative = closer to the camera than the hips' mid-point). Order: :data:`LANDMARK_NAMES`.
    visibility : (33,) float32
        MediaPipe's visibility score in [0, 1] (low for occluded or out-of-frame landmarks).
    world : (33, 3) float32 or None
        MediaPipe's metric landmarks (m, origin between the hips, x right, y down, z away from
        the camera... as MediaPipe defines them); a rough prior, not a measurement.
    segmentation : (H, W) float32 or None
        Person probability for each photo pixel, for this person.
    """

    landmarks: np.ndarray
    visibility: np.ndarray
    world: np.ndarray | None = None
    segmentation: np.ndarray | None = None

    def point(self, name: str) -> np.ndarray:
        """(x, y) photo px of a landmark by name, e.g. ``"left_ankle"``."""
        return self.landmarks[LANDMARK_INDEX[name], :2]

    def area(self, threshold: float = 0.5) -> int:
        """Pixels of the segmentation above ``threshold`` (0 without segmentation)."""
        if self.segmentation is None:
            return 0
        return int((self.segmentation > threshold).sum())


@lru_cache(maxsize=1)
def _pose_solution():
    import mediapipe as mp

    return mp.solutions.pose.Pose(
        static_image_mode=True,
        model_complexity=1,
        enable_segmentation=True,
        min_detection_confidence=0.5,
    )


def detect_pose(rgb: np.ndarray) -> PoseResult | None:
    """Detect the most prominent person's 33 body landmarks and segmentation.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        Photo (photo frame, RGB).

    Returns
    -------
    PoseResult or None
        None when no person is found.

    Notes
    -----
    The MediaPipe solution is created once per process and reused; calls are serialised.
    MediaPipe returns one person; see :func:`detect_poses` for several.
    """
    rgb = check_rgb(rgb)
    h, w = rgb.shape[:2]
    with _LOCK, native_stderr_silenced():
        res = _pose_solution().process(rgb)
    if res.pose_landmarks is None:
        return None
    lm = res.pose_landmarks.landmark
    pts = np.array([[p.x * w, p.y * h, p.z * w] for p in lm], np.float32)
    vis = np.array([p.visibility for p in lm], np.float32)
    world = None
    if res.pose_world_landmarks is not None:
        world = np.array([[p.x, p.y, p.z] for p in res.pose_world_landmarks.landmark], np.float32)
    seg = None
    if res.segmentation_mask is not None:
        seg = np.clip(np.asarray(res.segmentation_mask, np.float32), 0.0, 1.0)
    return PoseResult(landmarks=pts, visibility=vis, world=world, segmentation=seg)


#: Landmarks whose visibility decides whether a detection is a real person (nose, shoulders,
#: hips).
_CORE = (0, 11, 12, 23, 24)


def detect_poses(
    rgb: np.ndarray, max_people: int = 3, min_area: float = 0.002, min_visibility: float = 0.7
) -> list[PoseResult]:
    """Detect up to ``max_people`` people, largest segmentation first.

    MediaPipe Pose finds one person per call; after each detection the person is painted out
    (their dilated segmentation filled with the photo's median colour) and the photo searched
    again.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        Photo.
    max_people : int
        Stop after this many.
    min_area : float
        Ignore detections whose segmentation covers less than this fraction of the photo.
    min_visibility : float
        Further people (after the first) must have a mean visibility of nose, shoulders and hips
        at least this high; painting a person out leaves shapes MediaPipe may mistake for one.

    Returns
    -------
    list of PoseResult
        Sorted by segmentation area, largest first; empty when nobody is found.
    """
    import cv2

    rgb = check_rgb(rgb)
    work = rgb.copy()
    fill = np.median(rgb.reshape(-1, 3), axis=0).astype(np.uint8)
    found: list[PoseResult] = []
    for _ in range(max(1, int(max_people))):
        pose = detect_pose(work)
        if pose is None:
            break
        if pose.segmentation is None or pose.area() < min_area * rgb.shape[0] * rgb.shape[1]:
            break
        if found and float(pose.visibility[list(_CORE)].mean()) < min_visibility:
            break
        found.append(pose)
        if len(found) >= max_people:
            break
        m = (pose.segmentation > 0.3).astype(np.uint8)
        r = max(3, int(0.02 * max(rgb.shape[:2])))
        m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        work[m > 0] = fill
    found.sort(key=lambda p: p.area(), reverse=True)
    return found
