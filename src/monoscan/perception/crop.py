"""The HairStep 512x512 crop: a square window around the head, zero-padded, resized.

HairStep works on 512x512 hair-centred crops (HairStep, CVPR 2023). Given a face we place a
square of side ``2.2 x`` the face-mesh height centred slightly above the face (these constants
reproduce the framing of HairStep's own example crops: face height about 0.46 of the side, face
centre about 0.05 of the side below the middle). Given also a hair mask of the photo, the square
grows to hold the hair near the face (long hair falling to the chest), up to ``4 x`` the face
height, so that long hair is not cut off. Without a face but with a hair mask (a back view, a
close-up of braids) the square is framed on the hair alone (:func:`hair_square`): as large as
HairStep's framing of a head as wide as the top of the hair (or as MediaPipe's shoulders
say), grown to hold the hair, centred on it. Without either, the whole photo is padded to a
square, which is HairStep's own rule. Pixels outside the photo are black. The affine between
photo and crop is kept exactly so every map made on the crop can be put back on the photo.
"""

from __future__ import annotations

import numpy as np

from monoscan.core.crop import Crop

__all__ = ["CROP_SIZE", "hair_square", "hairstep_crop"]

CROP_SIZE = 512
FACE_HEIGHTS_PER_SIDE = 2.2
FACE_CENTRE_BELOW_MIDDLE = 0.05
MAX_FACE_HEIGHTS_PER_SIDE = 4.0
#: Without a face: the square's side in widths of the head (the top of the hair) and in
#: shoulder widths (MediaPipe pose points 11-12). Both are the medians of the face-framed crops
#: of 37 frontal corpus scenes (``corpus_scene("train", 0..39, views="frontal")``): side / hair
#: box width 2.18 (10-90 %: 1.4-2.7), side / shoulder width 1.36 (1.27-1.46).
SIDE_PER_HEAD_WIDTH = 2.2
SIDE_PER_SHOULDER_WIDTH = 1.36
#: Without a face: the hair's top sits this fraction of the side below the square's top when
#: the hair leaves room (the median of the same crops: 0.10), and at least 0.02 when it fills it.
HAIR_TOP_MARGIN = 0.10
MIN_HAIR_TOP_MARGIN = 0.02


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


def _head_width(xs: np.ndarray, ys: np.ndarray, y0: float, width: float) -> float:
    """Width of the head under the top of the hair, pixels: the 95th percentile of the hair's
    row widths within 0.9 of the current width below the top, three times (long hair spread
    over the shoulders first widens the estimate, the next passes look only at the crown)."""
    rows = ys.astype(np.int64)
    start = int(rows.min())
    lo = np.full(int(rows.max()) - start + 1, np.inf)
    hi = np.full_like(lo, -np.inf)
    np.minimum.at(lo, rows - start, xs)
    np.maximum.at(hi, rows - start, xs)
    extent = np.where(np.isfinite(lo), hi - lo + 1.0, np.nan)
    y = np.arange(len(extent)) + start
    for _ in range(3):
        band = extent[(y >= y0) & (y <= y0 + 0.9 * width)]
        band = band[np.isfinite(band)]
        if band.size == 0:
            break
        width = float(np.percentile(band, 95))
    return width


def hair_square(
    hair_mask: np.ndarray, shoulder_width: float | None = None
) -> tuple[float, float, float] | None:
    """The HairStep square for a photo without a face, framed on its hair.

    The side is HairStep's framing of a head as wide as the top of the hair
    (:data:`SIDE_PER_HEAD_WIDTH`) or, given the shoulder width, of a body that wide
    (:data:`SIDE_PER_SHOULDER_WIDTH`); it grows to hold the hair's box with a 4 % margin, up
    to the ``4 / 2.2`` of that the face-framed crop allows (:data:`MAX_FACE_HEIGHTS_PER_SIDE`).
    The hair's box is centred horizontally; its top sits :data:`HAIR_TOP_MARGIN` of the side
    below the square's top when the hair leaves room (a head framed as HairStep frames it),
    centred vertically otherwise.

    Parameters
    ----------
    hair_mask : (H, W) bool
        Hair in the photo.
    shoulder_width : float, optional
        Distance between the shoulders in photo pixels as if seen square-on (MediaPipe pose
        points 11 and 12, foreshortening undone), when the pose sees them.

    Returns
    -------
    (cx, cy, side) : float
        Centre and side of the square, photo pixels; ``None`` with fewer than 50 hair pixels.
    """
    ys, xs = np.nonzero(np.asarray(hair_mask, bool))
    if len(xs) < 50:
        return None
    # Robust extent (ignore a few stray pixels).
    x0, x1 = np.percentile(xs, [0.5, 99.5])
    y0, y1 = np.percentile(ys, [0.5, 99.5])
    width, height = x1 - x0 + 1.0, y1 - y0 + 1.0
    if shoulder_width is not None and np.isfinite(shoulder_width) and shoulder_width > 1.0:
        base = SIDE_PER_SHOULDER_WIDTH * shoulder_width
    else:
        base = SIDE_PER_HEAD_WIDTH * _head_width(xs, ys, y0, width)
    side = min(
        max(base, 1.04 * max(width, height)),
        base * MAX_FACE_HEIGHTS_PER_SIDE / FACE_HEIGHTS_PER_SIDE,
    )
    margin = float(
        np.clip((side - height) / 2.0, MIN_HAIR_TOP_MARGIN * side, HAIR_TOP_MARGIN * side)
    )
    return (x0 + x1) / 2.0, y0 - margin + side / 2.0, side


def hairstep_crop(
    rgb: np.ndarray,
    face_points: np.ndarray | None = None,
    hair_mask: np.ndarray | None = None,
    size: int = CROP_SIZE,
    *,
    shoulder_width: float | None = None,
) -> Crop:
    """Cut the HairStep crop out of a photo.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        The photo.
    face_points : (N, 2+) array, optional
        Face-mesh landmarks in photo pixels. Without them the crop is framed on the hair
        (:func:`hair_square`), or without hair the whole photo is used.
    hair_mask : (H, W) bool, optional
        Hair in the photo; hair within the largest allowed square around the face widens
        the crop to hold it.
    size : int
        Side of the output crop in pixels.
    shoulder_width : float, optional
        Without a face: the shoulder width (photo pixels) that scales :func:`hair_square`.
    """
    import cv2

    h, w = rgb.shape[:2]
    square = None
    if face_points is None and hair_mask is not None:
        square = hair_square(hair_mask, shoulder_width)
    if square is not None:
        cx, cy, side = square
        left, top = cx - side / 2.0, cy - side / 2.0
    elif face_points is None:
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
