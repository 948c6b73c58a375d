"""The HairStep maps of one photo on its 512 crop (:func:`monoscan.hair.maps.hairstep_maps`).

Crop pixels: x right, y down. The strand map's encoding is :mod:`monoscan.io.maps`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["HairMaps"]


@dataclass(frozen=True)
class HairMaps:
    """HairStep maps on the 512 crop.

    Attributes
    ----------
    hair_probability : (S, S) float32
        Hair probability from the learned segmentation.
    hair_mask : (S, S) bool
    parsing : (S, S) uint8
        0 background, 1 body/clothes, 2 face skin, 3 hair, 4 ears.
    orientation : (S, S) float32
        Undirected strand angle, radians in [0, pi), from +x toward +y (image frame); 0 off hair.
    confidence : (S, S) float32
        Orientation confidence (0 off hair).
    direction : (S, S, 2) float32
        Growth direction (root to tip), unit vectors (dx, dy) in image axes; 0 off hair.
    strand_map : (S, S, 3) uint8
        HairStep encoding (R = hair + 0.5 body, G = 0.5 + 0.5 d_up, B = 0.5 - 0.5 d_right).
    depth : (S, S) float32
        HairStep depth: in [0, 1] inside the hair, larger = closer, 0 outside.
    depth_m : (S, S) float32 or None
        World-frame z of the visible hair surface, metres (larger = closer), NaN off hair.
    face_depth_m : (S, S) float32
        World-frame z of the face mesh, metres, NaN off the face.
    """

    hair_probability: np.ndarray
    hair_mask: np.ndarray
    parsing: np.ndarray
    orientation: np.ndarray
    confidence: np.ndarray
    direction: np.ndarray
    strand_map: np.ndarray
    depth: np.ndarray
    depth_m: np.ndarray | None
    face_depth_m: np.ndarray
