"""Body keypoints as files: MediaPipe's 33 landmarks and OpenPose BODY_25 (2K2K's input)."""

from __future__ import annotations

import numpy as np

from monoscan.perception.pose import LANDMARK_NAMES, PoseResult

__all__ = ["BODY25_NAMES", "keypoints_dict", "openpose_dict", "to_body25"]

#: OpenPose BODY_25 joint names in order (the keypoint format 2K2K reads).
BODY25_NAMES = (
    "Nose",
    "Neck",
    "RShoulder",
    "RElbow",
    "RWrist",
    "LShoulder",
    "LElbow",
    "LWrist",
    "MidHip",
    "RHip",
    "RKnee",
    "RAnkle",
    "LHip",
    "LKnee",
    "LAnkle",
    "REye",
    "LEye",
    "REar",
    "LEar",
    "LBigToe",
    "LSmallToe",
    "LHeel",
    "RBigToe",
    "RSmallToe",
    "RHeel",
)
# MediaPipe landmark(s) for each BODY_25 joint (averaged when two). MediaPipe has one toe
# point per foot (foot index), used for both big and small toe.
_B25 = (
    (0,),
    (11, 12),
    (12,),
    (14,),
    (16,),
    (11,),
    (13,),
    (15,),
    (23, 24),
    (24,),
    (26,),
    (28,),
    (23,),
    (25,),
    (27,),
    (5,),
    (2,),
    (8,),
    (7,),
    (31,),
    (31,),
    (29,),
    (32,),
    (32,),
    (30,),
)


def to_body25(pose: PoseResult) -> np.ndarray:
    """(25, 3) OpenPose BODY_25 keypoints: photo px x, y and a confidence (MediaPipe visibility)."""
    out = np.zeros((25, 3))
    for j, idx in enumerate(_B25):
        out[j, :2] = pose.landmarks[list(idx), :2].mean(0)
        out[j, 2] = pose.visibility[list(idx)].min()
    return out


def keypoints_dict(pose: PoseResult, world: np.ndarray | None = None) -> dict:
    """JSON-ready MediaPipe keypoints: photo px, visibility and (optionally) world metres."""
    d = {
        "format": "mediapipe_pose_33",
        "frame": "photo px: x right, y down, origin top-left pixel corner; z relative (px)",
        "names": list(LANDMARK_NAMES),
        "photo_px": np.round(pose.landmarks.astype(float), 3).tolist(),
        "visibility": np.round(pose.visibility.astype(float), 4).tolist(),
    }
    if world is not None:
        d["world_m"] = np.round(np.asarray(world, float), 5).tolist()
        d["world_frame"] = (
            "m; x to the subject's left, y up, z toward the camera; origin between the ears"
        )
    d["body25"] = {
        "names": list(BODY25_NAMES),
        "photo_px_conf": np.round(to_body25(pose), 3).tolist(),
    }
    return d


def openpose_dict(pose: PoseResult) -> dict:
    """An OpenPose-style JSON dict (version 1.3, one person, BODY_25 ``pose_keypoints_2d``)."""
    flat = np.round(to_body25(pose), 3).ravel().tolist()
    return {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": flat}]}
