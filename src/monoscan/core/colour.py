"""Hair colour from the photo: the median of the hair pixels.

Colours are sRGB in [0, 255] unless a name says linear (linear RGB in [0, 1], what strand
files and renderers expect).
"""

from __future__ import annotations

import numpy as np

__all__ = ["DARK_BROWN_SRGB", "linear_to_srgb", "median_hair_srgb", "srgb_to_linear"]

#: The colour used when there is no photo or no hair pixel (the commonest natural hair colour).
DARK_BROWN_SRGB = np.array([60.0, 45.0, 35.0])


def median_hair_srgb(image: np.ndarray | None, hair_mask: np.ndarray) -> np.ndarray:
    """Median sRGB colour (3,) of the hair pixels, :data:`DARK_BROWN_SRGB` without any.

    Parameters
    ----------
    image : (H, W, 3) uint8 or float, or None
        The photo (or crop) the mask belongs to.
    hair_mask : (H, W) or (H, W, 1) array
        Non-zero = hair.
    """
    m = np.asarray(hair_mask) > 0
    if m.ndim == 3:
        m = m[..., 0]
    if image is None or np.shape(image)[:2] != m.shape or not m.any():
        return DARK_BROWN_SRGB.copy()
    return np.median(np.asarray(image)[m].reshape(-1, 3).astype(np.float64), axis=0)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear RGB in [0, 1] to sRGB in [0, 1] (the inverse of :func:`srgb_to_linear`)."""
    c = np.clip(np.nan_to_num(np.asarray(linear, np.float64)), 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] to linear RGB in [0, 1] (the IEC 61966-2-1 transfer function)."""
    srgb = np.asarray(srgb, np.float64)
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
