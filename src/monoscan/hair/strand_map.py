"""HairStep strand maps: visualise 2D hair growth directions and map them onto the photo.

The encoding (R = hair + 0.5 body, G = 0.5 + 0.5 d_up, B = 0.5 - 0.5 d_right on hair) is
:func:`monoscan.io.maps.encode_strand_map` / :func:`~monoscan.io.maps.decode_strand_map`; the
growth direction it encodes is made by :mod:`monoscan.hair.direction`.
"""

from __future__ import annotations

import cv2
import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.masks import as_mask

__all__ = [
    "direction_vis",
    "map_to_photo",
    "orientation_vis",
]


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    hsv = np.stack([h * 180.0, s * 255.0, v * 255.0], axis=-1)
    hsv = np.clip(np.rint(hsv), 0, [179, 255, 255]).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def orientation_vis(
    orientation: np.ndarray, mask: np.ndarray, confidence: np.ndarray | None = None
) -> np.ndarray:
    """Colour an undirected orientation map: hue = ``2 theta`` (so 0 and 180 deg match).

    Parameters
    ----------
    orientation : (H, W) float
        Radians, ``[0, pi)`` (image frame, see :mod:`monoscan.hair.orientation`).
    mask : (H, W) bool or uint8
        Pixels to colour; black elsewhere.
    confidence : (H, W) float in [0, 1], optional
        Brightness (default full).

    Returns
    -------
    (H, W, 3) uint8 RGB
    """
    t = np.asarray(orientation, np.float32)
    if t.ndim != 2:
        raise InputError(f"orientation must be (H, W), got shape {t.shape}")
    m = as_mask(mask, "mask", t.shape)
    hue = np.mod(t, np.pi) / np.pi
    v = np.ones_like(t) if confidence is None else np.clip(confidence, 0, 1) ** 0.5
    rgb = _hsv_to_rgb(hue, np.ones_like(t), v)
    rgb[~m] = 0
    return rgb


def direction_vis(direction: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Colour a growth-direction map on the full colour wheel: hue = angle of ``d`` / 360.

    Down-growing hair is cyan-ish, rightward red; unlike :func:`orientation_vis`, opposite
    directions get complementary colours.
    """
    d = np.asarray(direction, np.float32)
    if d.ndim != 3 or d.shape[2] != 2:
        raise InputError(f"direction must be (H, W, 2), got shape {d.shape}")
    m = as_mask(mask, "mask", d.shape[:2])
    hue = np.mod(np.arctan2(d[..., 1], d[..., 0]), 2 * np.pi) / (2 * np.pi)
    rgb = _hsv_to_rgb(hue, np.ones(d.shape[:2]), np.ones(d.shape[:2]))
    rgb[~m] = 0
    return rgb


def map_to_photo(
    image: np.ndarray,
    crop_to_photo: np.ndarray,
    photo_size: tuple[int, int],
    photo: np.ndarray | None = None,
    alpha: float = 0.7,
    convention: str = "centers",
) -> np.ndarray:
    """Map a crop-frame visualisation back onto the original photo.

    Parameters
    ----------
    image : (h, w, 3) uint8
        Crop-frame RGB visualisation (strand map, orientation or depth colours); pure black
        pixels count as empty.
    crop_to_photo : (3, 3) float
        Affine taking crop pixel coordinates ``(x, y, 1)`` to photo pixel coordinates
        (``monoscan.perception.crop.Crop.crop_to_photo``).
    photo_size : (height, width)
        Size of the photo, pixels.
    photo : (height, width, 3) uint8, optional
        Photo to blend onto; without it the result is black where the visualisation is empty.
    alpha : float
        Opacity of the visualisation over the photo, ``[0, 1]``.
    convention : {"centers", "corners"}
        Whether the affine's coordinates put integer values at pixel centres (OpenCV's and
        :class:`~monoscan.perception.crop.Crop`'s convention, the default) or at the top-left
        pixel corner (pixel ``i`` spans ``[i, i + 1)``).

    Returns
    -------
    (height, width, 3) uint8 RGB
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise InputError(f"image must be (h, w, 3) uint8, got {img.shape} {img.dtype}")
    a = np.asarray(crop_to_photo, np.float64)
    if a.shape != (3, 3) or not np.isfinite(a).all():
        raise InputError(f"crop_to_photo must be a finite 3x3 matrix, got shape {a.shape}")
    ph, pw = int(photo_size[0]), int(photo_size[1])
    if ph <= 0 or pw <= 0:
        raise InputError(f"photo_size must be positive, got {photo_size}")
    if convention == "corners":
        # OpenCV indexes pixel centres at integers: shift by half a pixel on both sides.
        half = np.array([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1.0]])
        unhalf = np.array([[1.0, 0, -0.5], [0, 1.0, -0.5], [0, 0, 1.0]])
        m = unhalf @ a @ half
    elif convention == "centers":
        m = a
    else:
        raise InputError(f"convention must be 'centers' or 'corners', got {convention!r}")
    warped = cv2.warpAffine(
        img, m[:2], (pw, ph), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT
    )
    cover = warped.any(axis=2)
    if photo is None:
        return warped
    base = np.asarray(photo)
    if base.shape != (ph, pw, 3):
        raise InputError(f"photo shape {base.shape} does not match photo_size {(ph, pw)}")
    out = base.astype(np.float32).copy()
    out[cover] = (1 - alpha) * out[cover] + alpha * warped[cover].astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
