"""The HairStep 512x512 crop: a square window around the head, zero-padded, resized.

HairStep works on 512x512 hair-centred crops (HairStep, CVPR 2023). Given a face we place a
square of side ``2.2 x`` the face-mesh height centred slightly above the face (these constants
reproduce the framing of HairStep's own example crops: face height about 0.46 of the side, face
centre about 0.05 of the side below the middle). Given also a hair mask of the photo, the square
grows to hold the hair near the face (long hair falling to the chest), up to ``4 x`` the face
height, so that long hair is not cut off. Without a face the whole photo is padded to a square,
which is HairStep's own rule. Pixels outside the photo are black. The affine between
photo and crop is kept exactly so every map made on the crop can be put back on the photo.
"""

from __future__ import annotations

import numpy as np

from monoscan.core.crop import Crop

__all__ = ["CROP_SIZE", "hairstep_crop"]

CROP_SIZE = 512
FACE_HEIGHTS_PER_SIDE = 2.2
FACE_CENTRE_BELOW_MIDDLE = 0.05
MAX_FACE_HEIGHTS_PER_SIDE = 4.0


def _grow_for_hair(hair_mask, face_box, square, max_side):
    """Smallest square (within ``max_side``) holding the face box and the nearby hair."""
    x0, y0, x1, y1 = face_box
    cx, cy, side = square
    fx, fy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    ys, xs = np.nonzero(hair_mask)
    # Hair that could belong to this head: within the largest square centred on the face.
    near = (np.abs(xs - fx) < max_side / 2) & (ys > fy - max_side / 2) & (ys < fy + max_side * 0.75)
    if near.sum() < 50:
        return cx, cy, side
    xs, ys = xs[near], ys[near]
    # Robust extent (ignore a few stray pixels).
    hx0, hx1 = np.percentile(xs, [0.5, 99.5])
    hy0, hy1 = np.percentile(ys, [0.5, 99.5])
    bx0, by0 = min(x0, hx0, cx - side / 2), min(y0, hy0, cy - side / 2)
    bx1, by1 = max(x1, hx1, cx + side / 2), max(y1, hy1, cy + side / 2)
    new_side = min(max(bx1 - bx0, by1 - by0) * 1.04, max_side)
    if new_side <= side:
        return cx, cy, side
    # Keep the face horizontally centred; vertically start just above the hair top.
    top = max(by0 - 0.02 * new_side, fy - 0.5 * new_side)
    return fx, top + new_side / 2.0, new_side


def hairstep_crop(
    rgb: np.ndarray,
    face_points: np.ndarray | None = None,
    hair_mask: np.ndarray | None = None,
    size: int = CROP_SIZE,
) -> Crop:
    """Cut the HairStep crop out of a photo.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        The photo.
    face_points : (N, 2+) array, optional
        Face-mesh landmarks in photo pixels. Without them the whole photo is used.
    hair_mask : (H, W) bool, optional
        Hair in the photo; hair within the largest allowed square around the face widens
        the crop to hold it.
    size : int
        Side of the output crop in pixels.
    """
    import cv2

    h, w = rgb.shape[:2]
    if face_points is None:
        side = float(max(h, w))
        left, top = (w - side) / 2.0, (h - side) / 2.0
    else:
        pts = np.asarray(face_points, np.float64)[:468, :2]
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
        face_size = max(y1 - y0, x1 - x0)
        side = FACE_HEIGHTS_PER_SIDE * face_size
        cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0 - FACE_CENTRE_BELOW_MIDDLE * side
        if hair_mask is not None:
            cx, cy, side = _grow_for_hair(
                hair_mask, (x0, y0, x1, y1), (cx, cy, side), MAX_FACE_HEIGHTS_PER_SIDE * face_size
            )
        left, top = cx - side / 2.0, cy - side / 2.0
    s = size / side
    # Pixel-centre convention: photo pixel centre x maps to (x + 0.5) * s - 0.5 - left * s.
    m = np.array(
        [[s, 0.0, (0.5 - left) * s - 0.5], [0.0, s, (0.5 - top) * s - 0.5], [0.0, 0.0, 1.0]]
    )
    image = cv2.warpAffine(
        rgb,
        m[:2],
        (size, size),
        flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    return Crop(image=image, photo_to_crop=m, photo_size=(w, h), box=(left, top, side))
