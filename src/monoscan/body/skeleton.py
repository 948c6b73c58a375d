"""The body skeleton used by the body path: bones between MediaPipe pose landmarks, by part.

Bones are 2D segments in the photo frame (px); each carries the body part it belongs to and
that part's thickness prior (depth of the cross-section over its width, as seen from the front).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PART_NAMES", "PART_THICKNESS", "Bone", "bones_from_landmarks", "label_parts"]

#: Cross-section depth / width, front view, for an average adult (anthropometric tables:
#: chest depth ~0.24 m over chest width ~0.36 m; head length 0.19 m over breadth 0.15 m;
#: limbs roughly round; hands flat; feet long seen from the front).
PART_THICKNESS = {
    "head": 1.2,
    "torso": 0.68,
    "upper_arm": 1.0,
    "forearm": 1.0,
    "hand": 0.55,
    "thigh": 1.0,
    "shin": 1.0,
    "foot": 1.6,
}
PART_NAMES = tuple(PART_THICKNESS)

#: Forward shift of a part's cross-section centre, as a fraction of its half-depth: feet seen
#: from the front reach forward of the ankles (heel ~5 cm behind, toes ~18 cm in front).
PART_FORWARD = {"foot": 0.45}


@dataclass(frozen=True)
class Bone:
    """A segment ``a`` -> ``b`` (photo px) of body part ``part``."""

    name: str
    part: str
    a: tuple[float, float]
    b: tuple[float, float]


def _mid(p: np.ndarray, i: int, j: int) -> np.ndarray:
    return 0.5 * (p[i] + p[j])


def bones_from_landmarks(landmarks: np.ndarray) -> list[Bone]:
    """The skeleton's bones from 33 MediaPipe pose landmarks.

    Parameters
    ----------
    landmarks : (33, 2+) float
        Photo px (x right, y down), MediaPipe Pose order.

    Returns
    -------
    list of Bone
        Head, torso (spine, flanks, shoulder and hip lines), arms, hands, legs, feet.
    """
    p = np.asarray(landmarks, np.float64)[:, :2]
    neck = _mid(p, 11, 12)
    ears = _mid(p, 7, 8)
    head_top = ears + 0.9 * (ears - neck) / max(np.linalg.norm(ears - neck), 1e-6) * max(
        np.linalg.norm(p[7] - p[8]), 0.35 * np.linalg.norm(ears - neck)
    )
    hips = _mid(p, 23, 24)

    def seg(name, part, a, b):
        return Bone(name, part, (float(a[0]), float(a[1])), (float(b[0]), float(b[1])))

    bones = [
        seg("head", "head", neck + 0.5 * (ears - neck), head_top),
        seg("spine", "torso", neck, hips),
        seg("left_flank", "torso", p[11], p[23]),
        seg("right_flank", "torso", p[12], p[24]),
        seg("shoulders", "torso", p[11], p[12]),
        seg("hips", "torso", p[23], p[24]),
    ]
    for side, (sh, el, wr, pk, ix, hip, kn, an, he, ft) in {
        "left": (11, 13, 15, 17, 19, 23, 25, 27, 29, 31),
        "right": (12, 14, 16, 18, 20, 24, 26, 28, 30, 32),
    }.items():
        bones += [
            seg(f"{side}_upper_arm", "upper_arm", p[sh], p[el]),
            seg(f"{side}_forearm", "forearm", p[el], p[wr]),
            seg(f"{side}_hand", "hand", p[wr], _mid(p, pk, ix)),
            seg(f"{side}_thigh", "thigh", p[hip], p[kn]),
            seg(f"{side}_shin", "shin", p[kn], p[an]),
            seg(f"{side}_foot", "foot", p[he], p[ft]),
        ]
    return bones


def distance_to_segments(xy: np.ndarray, bones: list[Bone]) -> tuple[np.ndarray, np.ndarray]:
    """Distance (px) from each point to each bone and the position along it (0 at a, 1 at b).

    Returns ``(dist, t)``, both (N, len(bones)).
    """
    a = np.array([b.a for b in bones])
    d = np.array([b.b for b in bones]) - a
    ll = np.maximum((d**2).sum(1), 1e-9)
    rel = xy[:, None, :] - a[None]
    t = np.clip((rel * d[None]).sum(-1) / ll, 0.0, 1.0)
    closest = a[None] + t[..., None] * d[None]
    return np.linalg.norm(xy[:, None, :] - closest, axis=-1), t


def label_parts(mask: np.ndarray, bones: list[Bone]) -> np.ndarray:
    """Index of the nearest bone for every mask pixel (-1 outside the mask).

    Parameters
    ----------
    mask : (H, W) bool
        Person silhouette, photo frame.
    bones : list of Bone

    Returns
    -------
    (H, W) int16
    """
    out = np.full(mask.shape, -1, np.int16)
    rows, cols = np.nonzero(mask)
    xy = np.stack([cols + 0.5, rows + 0.5], 1)
    for s in range(0, len(xy), 500_000):
        dist, _ = distance_to_segments(xy[s : s + 500_000], bones)
        out[rows[s : s + 500_000], cols[s : s + 500_000]] = dist.argmin(1)
    return out
