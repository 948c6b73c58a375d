"""A decoded photo: the input of every run (:func:`monoscan.io.images.load_image` makes it).

Pixels: x right, y down, origin at the top-left pixel's corner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from monoscan.core.errors import InputError

__all__ = ["Photo", "check_rgb"]


@dataclass(frozen=True)
class Photo:
    """A decoded photo.

    Attributes
    ----------
    rgb : (H, W, 3) uint8
        Pixels in the photo frame (x right, y down), EXIF orientation applied.
    path : Path or None
        Where it was read from (None for arrays).
    sha256 : str
        Hash of the file's bytes (of the pixel buffer for arrays).
    notes : tuple of str
        What was done to the input (rotation, conversions), for result.json.
    """

    rgb: np.ndarray
    path: Path | None = None
    sha256: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def stem(self) -> str:
        return self.path.stem if self.path is not None else "image"


def check_rgb(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` as a C-contiguous (H, W, 3) uint8 array; anything else is an :class:`InputError`."""
    if not isinstance(rgb, np.ndarray):
        raise InputError(f"expected an (H, W, 3) uint8 RGB array, got {type(rgb).__name__}")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError(f"expected an (H, W, 3) uint8 RGB array, got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise InputError(f"expected an (H, W, 3) uint8 RGB array, got dtype {rgb.dtype}")
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise InputError(f"empty image of shape {rgb.shape}")
    return np.ascontiguousarray(rgb)
