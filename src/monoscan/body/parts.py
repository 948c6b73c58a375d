"""2K2K's 12 keypoint-aligned part crops and their affine transforms.

2K2K (Han et al., CVPR 2023) predicts normals part by part from crops of a 2048x2048 photo
aligned to the body keypoints: face 368x320, torso 528x336, four arm crops 352x224, four leg
crops 272x256 and two feet 176x128 (height x width, px). Here each crop is a rotated rectangle
whose vertical axis runs along its bone (top = the bone's first joint), scaled so the bone plus
a margin fills the crop height; the crop sizes are 2K2K's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PART_SIZES", "PartCrop", "crop_image", "part_crops"]

#: (height, width) px of each crop, 2K2K's sizes; keys in 2K2K's order.
PART_SIZES = {
    "face": (368, 320),
    "torso": (528, 336),
    "left_upper_arm": (352, 224),
    "left_forearm": (352, 224),
    "right_upper_arm": (352, 224),
    "right_forearm": (352, 224),
    "left_thigh": (272, 256),
    "left_shin": (272, 256),
    "right_thigh": (272, 256),
    "right_shin": (272, 256),
    "left_foot": (176, 128),
    "right_foot": (176, 128),
}

# Landmark indices (MediaPipe Pose) of each crop's axis: start -> end; pairs are averaged.
_AXES = {
    "left_upper_arm": ((11,), (13,)),
    "left_forearm": ((13,), (15,)),
    "right_upper_arm": ((12,), (14,)),
    "right_forearm": ((14,), (16,)),
    "left_thigh": ((23,), (25,)),
    "left_shin": ((25,), (27,)),
    "right_thigh": ((24,), (26,)),
    "right_shin": ((26,), (28,)),
    "left_foot": ((27,), (31,)),
    "right_foot": ((28,), (32,)),
    "torso": ((11, 12), (23, 24)),
}
_MARGIN = {"face": 0.0, "torso": 0.25, "foot": 0.6}


@dataclass(frozen=True)
class PartCrop:
    """One part crop.

    Attributes
    ----------
    name : str
        Key of :data:`PART_SIZES`.
    size : (height, width)
        Crop size in px.
    affine : (2, 3) float64
        Photo px -> crop px (``cv2.warpAffine`` convention, pixel-corner origin in both).
    """

    name: str
    size: tuple[int, int]
    affine: np.ndarray

    @property
    def inverse(self) -> np.ndarray:
        """(2, 3) crop px -> photo px."""
        a = np.vstack([self.affine, [0.0, 0.0, 1.0]])
        return np.linalg.inv(a)[:2]

    def to_crop(self, xy: np.ndarray) -> np.ndarray:
        """Photo px (N, 2) -> crop px (N, 2)."""
        xy = np.asarray(xy, np.float64)
        return xy @ self.affine[:, :2].T + self.affine[:, 2]


def _rect_affine(
    start: np.ndarray, end: np.ndarray, size: tuple[int, int], margin: float, min_len: float
) -> np.ndarray:
    hgt, wid = size
    axis = end - start
    length = max(float(np.linalg.norm(axis)), min_len)
    down = (
        axis / max(float(np.linalg.norm(axis)), 1e-9)
        if np.linalg.norm(axis) > 1e-6
        else (np.array([0.0, 1.0]))
    )
    right = np.array([down[1], -down[0]])  # crop x axis: no mirroring (det +1)
    # Crop y spans the bone plus ``margin`` of its length at each end.
    scale = hgt / (length * (1.0 + 2.0 * margin))
    centre = 0.5 * (start + end)
    rot = np.stack([right, down]) * scale  # rows: crop x, crop y in photo coordinates
    t = np.array([wid / 2.0, hgt / 2.0]) - rot @ centre
    return np.concatenate([rot, t[:, None]], 1)


def part_crops(landmarks: np.ndarray) -> list[PartCrop]:
    """The 12 part crops for a person's 33 MediaPipe pose landmarks (photo px).

    Limb crops run from the proximal joint (top of the crop) to the distal one, the body's
    side kept (the crop's x axis is the bone direction turned 90 degrees); the torso runs
    from mid-shoulders to mid-hips; the face crop is upright along the neck -> ears axis.

    Returns
    -------
    list of PartCrop
        In :data:`PART_SIZES` order.
    """
    p = np.asarray(landmarks, np.float64)[:, :2]
    torso_len = float(np.linalg.norm(0.5 * (p[11] + p[12]) - 0.5 * (p[23] + p[24])))
    min_len = max(0.05 * torso_len, 4.0)
    out = []
    for name, size in PART_SIZES.items():
        if name == "face":
            ears = 0.5 * (p[7] + p[8])
            neck = 0.5 * (p[11] + p[12])
            up = ears - neck
            up /= max(float(np.linalg.norm(up)), 1e-9)
            head = max(float(np.linalg.norm(p[7] - p[8])) * 1.6, 0.35 * torso_len)
            start, end = ears + up * head * 0.75, ears - up * head * 0.6
            aff = _rect_affine(start, end, size, 0.0, min_len)
        else:
            a, b = _AXES[name]
            start, end = p[list(a)].mean(0), p[list(b)].mean(0)
            margin = _MARGIN["foot"] if "foot" in name else _MARGIN.get(name, 0.15)
            aff = _rect_affine(start, end, size, margin, min_len)
        out.append(PartCrop(name, size, aff))
    return out


def crop_image(image: np.ndarray, crop: PartCrop) -> np.ndarray:
    """Cut ``crop`` out of ``image`` (bilinear, zero outside the photo)."""
    import cv2

    h, w = crop.size
    # cv2 uses pixel-centre coordinates: shift by half a pixel on both sides.
    a = crop.affine.copy()
    a[:, 2] += a[:, :2] @ np.array([0.5, 0.5]) - 0.5
    return cv2.warpAffine(
        image, a, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
