"""A square crop of a photo and the affine maps between the two (HairStep's 512 crop).

Pixels: x right, y down, origin at the top-left pixel's corner (photo and crop alike).
:func:`monoscan.perception.crop.hairstep_crop` frames it from the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Crop"]


@dataclass(frozen=True)
class Crop:
    """A square crop of a photo.

    Attributes
    ----------
    image : (S, S, 3) uint8
        The crop.
    photo_to_crop : (3, 3) float64
        Affine taking photo pixel coordinates (x, y, 1) to crop pixel coordinates. Pixel
        coordinates refer to pixel centres (OpenCV's convention).
    photo_size : (int, int)
        Width and height of the photo.
    box : (float, float, float)
        The square in the photo: left, top, side (pixels; may extend past the photo).
    """

    image: np.ndarray
    photo_to_crop: np.ndarray
    photo_size: tuple[int, int]
    box: tuple[float, float, float]

    @property
    def size(self) -> int:
        return int(self.image.shape[0])

    @property
    def crop_to_photo(self) -> np.ndarray:
        return np.linalg.inv(self.photo_to_crop)

    @property
    def photo_window(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)``: the crop pixels whose centres lie on the photo, as slice bounds
        (``image[y0:y1, x0:x1]``); outside it the crop is black padding."""
        w, h = self.photo_size
        (cx0, cy0), (cx1, cy1) = self.to_crop(np.array([[-0.5, -0.5], [w - 0.5, h - 0.5]]))
        eps = 1e-6
        x0, y0 = (max(0, min(self.size, int(np.ceil(v - eps)))) for v in (cx0, cy0))
        x1, y1 = (max(0, min(self.size, int(np.floor(v + eps)) + 1)) for v in (cx1, cy1))
        return x0, y0, x1, y1

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Map (N, 2+) photo points to crop pixels (extra columns, e.g. z, scaled likewise)."""
        return apply_affine(self.photo_to_crop, points)

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        """Map (N, 2+) crop points back to photo pixels."""
        return apply_affine(self.crop_to_photo, points)

    def from_photo(self, image: np.ndarray, nearest: bool = False) -> np.ndarray:
        """Resample a photo-sized map (H, W[, C]) into the crop (zero outside the photo)."""
        import cv2

        flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
        return cv2.warpAffine(
            image,
            self.photo_to_crop[:2],
            (self.size, self.size),
            flags=flags,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )

    def warp_to_photo(self, image: np.ndarray, nearest: bool = False) -> np.ndarray:
        """Resample a crop-sized map (H, W[, C]) into the photo's frame (zero outside the crop)."""
        import cv2

        w, h = self.photo_size
        flags = (cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP
        return cv2.warpAffine(
            image,
            self.photo_to_crop[:2],
            (w, h),
            flags=flags,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )

    def to_json(self) -> dict:
        return {
            "size": self.size,
            "photo_size_wh": list(self.photo_size),
            "box_left_top_side_px": [float(v) for v in self.box],
            "photo_to_crop": self.photo_to_crop.tolist(),
            "crop_to_photo": self.crop_to_photo.tolist(),
            "convention": "pixel centres; crop = photo_to_crop @ [x, y, 1]",
        }


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, np.float64)
    out = pts.copy()
    out[:, :2] = pts[:, :2] @ matrix[:2, :2].T + matrix[:2, 2]
    if pts.shape[1] > 2:  # depth scales with the image
        out[:, 2:] = pts[:, 2:] * matrix[0, 0]
    return out
