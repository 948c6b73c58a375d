"""HairStep strand maps: encode, decode, and visualise 2D hair growth directions.

Encoding (HairStep, CVPR 2023; REFERENCE.md section 2), an RGB uint8 image at the 512 crop:

- R = 255 on hair, 127 on body (not hair), 0 elsewhere (``R = hair + 0.5 body``);
- G = ``0.5 + 0.5 d_up`` and B = ``0.5 - 0.5 d_right`` on hair, 0 elsewhere, where ``d`` is
  the unit growth direction (root to tip), ``d_up`` its component toward the top of the
  image and ``d_right`` toward the right.

With ``d = (dx, dy)`` in image axes (x right, y down): ``G = 0.5 - 0.5 dy``,
``B = 0.5 - 0.5 dx``; decoding is ``d = (1 - 2B, 1 - 2G)`` on pixels with ``R > 0.99 * 255``.
"""

from __future__ import annotations

import cv2
import numpy as np

from monoscan._masks import as_mask
from monoscan.errors import InputError

__all__ = [
    "decode_strand_map",
    "direction_vis",
    "encode_strand_map",
    "map_to_photo",
    "orientation_vis",
]


def encode_strand_map(
    direction: np.ndarray, hair_mask: np.ndarray, body_mask: np.ndarray | None = None
) -> np.ndarray:
    """Encode growth directions as a HairStep strand map.

    Parameters
    ----------
    direction : (H, W, 2) float
        Growth direction ``(dx, dy)`` in image axes (x right, y down); normalised here, zero
        vectors encode as (G, B) = (128, 128) on hair.
    hair_mask : (H, W) bool or uint8
        Hair pixels (R = 255).
    body_mask : (H, W) bool or uint8, optional
        Body pixels; those not in the hair get R = 127.

    Returns
    -------
    (H, W, 3) uint8
        The strand map.

    Examples
    --------
    >>> d = np.zeros((1, 1, 2)); d[0, 0] = (0, 1)  # growing straight down
    >>> encode_strand_map(d, np.ones((1, 1), bool))[0, 0].tolist()
    [255, 0, 128]
    """
    d = np.asarray(direction, np.float64)
    if d.ndim != 3 or d.shape[2] != 2:
        raise InputError(f"direction must be (H, W, 2), got shape {d.shape}")
    shape = d.shape[:2]
    hair = as_mask(hair_mask, "hair_mask", shape)
    n = np.hypot(d[..., 0], d[..., 1])
    n = np.where(np.isfinite(n) & (n > 1e-9), n, np.inf)
    dx, dy = d[..., 0] / n, d[..., 1] / n
    g = np.clip(np.rint((0.5 - 0.5 * dy) * 255.0), 0, 255)
    b = np.clip(np.rint((0.5 - 0.5 * dx) * 255.0), 0, 255)
    out = np.zeros(shape + (3,), np.uint8)
    if body_mask is not None:
        body = as_mask(body_mask, "body_mask", shape)
        out[..., 0] = np.where(body, 127, 0)
    out[..., 0] = np.where(hair, 255, out[..., 0])
    out[..., 1] = np.where(hair, g, 0)
    out[..., 2] = np.where(hair, b, 0)
    return out


def decode_strand_map(strand_map: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode a HairStep strand map.

    Parameters
    ----------
    strand_map : (H, W, 3) uint8
        RGB strand map (an alpha channel, if any, is ignored).

    Returns
    -------
    direction : (H, W, 2) float32
        Unit growth directions ``(dx, dy)`` (x right, y down) on hair, 0 elsewhere.
    hair_mask : (H, W) bool
        ``R > 0.99 * 255``.
    body_mask : (H, W) bool
        Body but not hair: ``0.25 * 255 < R <= 0.99 * 255``.
    """
    a = np.asarray(strand_map)
    if a.ndim != 3 or a.shape[2] < 3:
        raise InputError(f"strand map must be (H, W, 3) RGB, got shape {a.shape}")
    if a.dtype != np.uint8:
        raise InputError(f"strand map must be uint8, got {a.dtype}")
    r = a[..., 0].astype(np.float32) / 255.0
    hair = r > 0.99
    body = (r > 0.25) & ~hair
    dx = 1.0 - 2.0 * a[..., 2].astype(np.float32) / 255.0
    dy = 1.0 - 2.0 * a[..., 1].astype(np.float32) / 255.0
    n = np.hypot(dx, dy)
    ok = hair & (n > 1e-3)
    n = np.where(ok, n, 1.0)
    d = np.stack([np.where(ok, dx / n, 0.0), np.where(ok, dy / n, 0.0)], axis=-1)
    return d.astype(np.float32), hair, body


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
