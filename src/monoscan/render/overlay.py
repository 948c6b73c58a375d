"""The ``overlay.png`` picture: what monoscan found, drawn on the photo."""

from __future__ import annotations

import numpy as np

__all__ = ["draw_overlay"]


def draw_overlay(recon) -> np.ndarray:
    """Photo with the person outline (blue), hair (red tint, when present), face box (green),
    the 68 landmarks (yellow) and the body pose (cyan). Returns (H, W, 3) uint8."""
    import cv2

    img = recon.photo.rgb.copy()
    h, w = img.shape[:2]
    lw = max(1, round(max(h, w) / 400))
    if recon.hair is not None:
        hair = recon.crop.warp_to_photo(recon.hair.hair_mask.astype(np.uint8), nearest=True) > 0
        tint = img.astype(np.float32)
        tint[hair] = 0.55 * tint[hair] + 0.45 * np.array([255, 40, 40])
        img = tint.astype(np.uint8)
    if recon.person_mask is not None:
        m = (recon.person_mask > 0.5).astype(np.uint8)
        contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(img, contours, -1, (60, 120, 255), lw)
    r = max(1, round(lw * 1.5))
    if recon.face is not None:  # a back view has none
        x0, y0, x1, y1 = (round(v) for v in recon.face.box.box)
        cv2.rectangle(img, (x0, y0), (x1, y1), (40, 220, 40), lw)
        for x, y in recon.landmarks68_photo[:, :2]:
            cv2.circle(img, (round(float(x)), round(float(y))), r, (255, 230, 0), -1, cv2.LINE_AA)
    if recon.pose is not None:
        for (x, y), v in zip(recon.pose.landmarks[:, :2], recon.pose.visibility, strict=True):
            if v > 0.5:
                cv2.circle(img, (round(float(x)), round(float(y))), r + 1, (0, 230, 230), lw)
    return img
