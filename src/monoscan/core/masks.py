"""Mask helpers shared by the stages: one rule for reading a mask argument, one hull fill."""

from __future__ import annotations

import numpy as np

from monoscan.core.errors import InputError

__all__ = ["as_mask", "convex_hull_mask"]


def as_mask(m: np.ndarray, name: str = "mask", shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A boolean (H, W) mask from a bool, uint8 (> 127) or float (> 0.5) array.

    (H, W, C) arrays use their first channel. ``shape`` (H, W) is checked when given; a wrong
    rank or shape raises :class:`InputError` naming ``name``.
    """
    a = np.asarray(m)
    if a.ndim == 3:
        a = a[..., 0]
    if a.ndim != 2:
        raise InputError(f"{name} must be (H, W), got shape {a.shape}")
    if shape is not None and a.shape != tuple(shape):
        raise InputError(f"{name} shape {a.shape} does not match {tuple(shape)}")
    if a.dtype == bool:
        return a
    return a > (127 if a.dtype == np.uint8 else 0.5)


def convex_hull_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """(H, W) bool: the filled convex hull of ``points`` ((N, 2+) pixels, x right, y down)."""
    import cv2

    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, cv2.convexHull(np.rint(np.asarray(points)[:, :2]).astype(np.int32)), 1)
    return m.astype(bool)
