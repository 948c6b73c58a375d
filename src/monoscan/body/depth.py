"""Front and back depth maps of a person from the silhouette, the skeleton and the shading.

Each silhouette pixel is lifted by the cross-section of the body part it belongs to: at a
pixel ``d`` px inside the silhouette of a part whose local half-width is ``r`` px, a round
limb's surface lies ``sqrt(d (2r - d))`` px in front of (and behind) the body's mid-plane;
each part scales that by its thickness prior (:data:`monoscan.body.skeleton.PART_THICKNESS`,
torso flatter, head deeper, hands flat; feet shifted forward by
:data:`~monoscan.body.skeleton.PART_FORWARD`). Front and back meet exactly at the silhouette, so
the two maps close into one body. Small detail (folds, face relief) comes from the photo's
high-passed luminance on the front ("brighter faces the camera"), faded out near the outline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monoscan.body.skeleton import PART_FORWARD, PART_THICKNESS, Bone, label_parts

__all__ = ["BodyDepth", "encode_normals", "estimate_depth", "normals_from_depth"]


@dataclass(frozen=True)
class BodyDepth:
    """Depth maps in the photo frame, in px (same scale as x), larger = closer to the camera.

    Attributes
    ----------
    front, back : (H, W) float32
        Front and back surfaces relative to the body's mid-plane; NaN outside the silhouette.
        ``front >= back`` everywhere; they are equal on the outline.
    mask : (H, W) bool
        Silhouette.
    parts : (H, W) int16
        Index of the nearest bone (see :func:`monoscan.body.skeleton.bones_from_landmarks`),
        -1 outside the silhouette.
    """

    front: np.ndarray
    back: np.ndarray
    mask: np.ndarray
    parts: np.ndarray


def _smooth_in_mask(
    values: np.ndarray, mask: np.ndarray, sigma: float, inside_only: bool = True
) -> np.ndarray:
    """Gaussian blur of ``values`` that ignores pixels outside ``mask`` (normalised).

    The result is defined wherever the blurred mask is non-zero (a band around the mask
    when ``inside_only`` is False), 0 elsewhere.
    """
    import cv2

    m = mask.astype(np.float32)
    num = cv2.GaussianBlur(values.astype(np.float32) * m, (0, 0), sigma)
    den = cv2.GaussianBlur(m, (0, 0), sigma)
    ok = den > 1e-3 if not inside_only else den > 1e-6
    return np.where(ok, num / np.maximum(den, 1e-6), 0.0).astype(np.float32)


def estimate_depth(
    mask: np.ndarray,
    bones: list[Bone],
    rgb: np.ndarray | None = None,
    detail: float = 1.0,
    work_size: int = 384,
    smooth: float = 0.015,
) -> BodyDepth:
    """Front and back depth of a person from their silhouette and skeleton.

    Parameters
    ----------
    mask : (H, W) bool
        Person silhouette in the photo frame.
    bones : list of Bone
        Skeleton in photo px (:func:`monoscan.body.skeleton.bones_from_landmarks`).
    rgb : (H, W, 3) uint8, optional
        The photo, for shading detail on the front.
    detail : float
        Strength of the shading detail; 0 turns it off. At 1, a luminance step of 0.1 between
        a pixel and its surroundings moves the surface by 0.2 % of the person's height.
    work_size : int
        The local half-width and the part labels are computed with the person's bounding box
        scaled to this many px (they are smooth); the outline distance at full resolution.
    smooth : float
        Gaussian sigma, as a fraction of the person's height, that smooths the surface away
        from the outline (removes creases along the silhouette's medial axis).

    Returns
    -------
    BodyDepth
    """
    import cv2
    from scipy import ndimage
    from skimage.morphology import skeletonize

    mask = np.asarray(mask, bool)
    H, W = mask.shape
    front = np.full((H, W), np.nan, np.float32)
    back = np.full((H, W), np.nan, np.float32)
    parts = np.full((H, W), -1, np.int16)
    if not mask.any():
        return BodyDepth(front, back, mask, parts)
    rows, cols = np.nonzero(mask)
    pad = 2
    y0, y1 = max(rows.min() - pad, 0), min(rows.max() + pad + 1, H)
    x0, x1 = max(cols.min() - pad, 0), min(cols.max() + pad + 1, W)
    m = mask[y0:y1, x0:x1]
    h, w = m.shape
    person_h = float(rows.max() - rows.min() + 1)

    # Distance to the outline at full resolution (px; the outline lies half a pixel out).
    mu8 = np.pad(m, 1).astype(np.uint8)
    dt = cv2.distanceTransform(mu8, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    dt = np.maximum(dt - 0.5, 0.0)
    # The outline's pixel steps fan out into streaks of the distance's gradient, which the
    # steep profile near the outline would print onto the normals: smooth it a little.
    dt = _smooth_in_mask(dt, m, max(1.0, 0.002 * person_h)) * m

    # Local half-width r and part labels at a working resolution.
    f = min(1.0, work_size / max(h, w))
    sw, sh = max(int(np.rint(w * f)), 8), max(int(np.rint(h * f)), 8)
    fx, fy = sw / w, sh / h
    ms = cv2.resize(m.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA) > 0.5
    if not ms.any():
        ms = cv2.resize(m.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST) > 0
    dts = cv2.distanceTransform(np.pad(ms, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    skel = skeletonize(ms)
    if not skel.any():
        skel = dts == dts.max()
    _, (iy, ix) = ndimage.distance_transform_edt(~skel, return_indices=True)
    r_s = dts[iy, ix]
    r_s = _smooth_in_mask(r_s, ms, sigma=max(1.0, 0.015 * sh))

    scaled = [
        Bone(
            b.name,
            b.part,
            ((b.a[0] - x0) * fx, (b.a[1] - y0) * fy),
            ((b.b[0] - x0) * fx, (b.b[1] - y0) * fy),
        )
        for b in bones
    ]
    lab_s = label_parts(ms, scaled)
    kvals = np.array([PART_THICKNESS[b.part] for b in bones], np.float32)
    k_s = np.where(lab_s >= 0, kvals[np.maximum(lab_s, 0)], 1.0).astype(np.float32)
    k_s = _smooth_in_mask(k_s, ms, sigma=max(1.0, 0.012 * sh))
    ovals = np.array([PART_FORWARD.get(b.part, 0.0) for b in bones], np.float32)
    o_s = np.where(lab_s >= 0, ovals[np.maximum(lab_s, 0)], 0.0).astype(np.float32)
    o_s = _smooth_in_mask(o_s, ms, sigma=max(1.0, 0.012 * sh))

    # Back to full resolution. Values are carried outward smoothly first (normalised blur,
    # then nearest): a blocky extension would print the working grid onto the outline.
    band = cv2.GaussianBlur(ms.astype(np.float32), (0, 0), 2.0) > 1e-3
    r_ext = np.where(ms, r_s, _smooth_in_mask(r_s, ms, 2.0, inside_only=False))
    k_ext = np.where(ms, k_s, _smooth_in_mask(k_s, ms, 2.0, inside_only=False))
    o_ext = np.where(ms, o_s, _smooth_in_mask(o_s, ms, 2.0, inside_only=False))
    _, (jy, jx) = ndimage.distance_transform_edt(~band, return_indices=True)
    r_full = cv2.resize(r_ext[jy, jx], (w, h), interpolation=cv2.INTER_LINEAR) / f
    k_full = cv2.resize(k_ext[jy, jx], (w, h), interpolation=cv2.INTER_LINEAR)
    o_full = cv2.resize(o_ext[jy, jx], (w, h), interpolation=cv2.INTER_LINEAR)
    lab_full = cv2.resize(
        lab_s[jy, jx].astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST
    ).astype(np.int16)
    r_full = np.maximum(r_full, dt)
    dc = np.minimum(dt, r_full)
    hgt = k_full * np.sqrt(np.maximum(dc * (2.0 * r_full - dc), 0.0))
    # The outline distance has creases on the medial axis (and r jumps between skeleton
    # branches): smooth the inside, keep the exact profile near the outline.
    sig = max(1.0, smooth * person_h)
    blend = np.clip(dt / np.maximum(0.6 * r_full, 1.0), 0.0, 1.0) ** 2
    hgt = blend * _smooth_in_mask(hgt, m, sig) + (1.0 - blend) * hgt

    fr = hgt * (1.0 + o_full)
    bk = hgt * (1.0 - o_full)
    if rgb is not None and detail > 0:
        lum = rgb[y0:y1, x0:x1].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        lum /= 255.0
        sig = max(1.0, 0.01 * person_h)
        hp = lum - _smooth_in_mask(lum, m, sig)
        ramp = np.clip(dt / max(0.02 * person_h, 1.0), 0.0, 1.0)
        fr = fr + detail * 0.02 * person_h * hp * ramp

    front[y0:y1, x0:x1] = np.where(m, fr, np.nan)
    back[y0:y1, x0:x1] = np.where(m, -bk, np.nan)
    front = np.maximum(front, back)
    parts[y0:y1, x0:x1] = np.where(m, lab_full, -1)
    return BodyDepth(front.astype(np.float32), back.astype(np.float32), mask, parts)


def normals_from_depth(depth: np.ndarray, side: str = "front") -> np.ndarray:
    """Unit normals of a depth map, world axes (x right, y up, z toward the camera).

    Parameters
    ----------
    depth : (H, W) float
        Depth in px (larger = closer), NaN outside the surface.
    side : {"front", "back"}
        Front surfaces face the camera (n_z > 0), back surfaces away from it.

    Returns
    -------
    (H, W, 3) float32
        Zero outside the surface.
    """
    valid_full = np.isfinite(depth)
    out = np.zeros(depth.shape + (3,), np.float32)
    if not valid_full.any():
        return out
    rows, cols = np.nonzero(valid_full.any(1))[0], np.nonzero(valid_full.any(0))[0]
    y0, y1 = max(rows[0] - 2, 0), min(rows[-1] + 3, depth.shape[0])
    x0, x1 = max(cols[0] - 2, 0), min(cols[-1] + 3, depth.shape[1])
    valid = valid_full[y0:y1, x0:x1]
    d = np.where(valid, depth[y0:y1, x0:x1], 0.0).astype(np.float64)
    # Outside pixels take their neighbour's value so the outline gradient stays one-sided.
    if (~valid).any():
        from scipy import ndimage

        _, (iy, ix) = ndimage.distance_transform_edt(~valid, return_indices=True)
        d = d[iy, ix]
    gy, gx = np.gradient(d)
    s = 1.0 if side == "front" else -1.0
    n = np.stack([-s * gx, s * gy, np.full_like(gx, s)], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    n[~valid] = 0.0
    out[y0:y1, x0:x1] = n
    return out


def encode_normals(normals: np.ndarray) -> np.ndarray:
    """Normals as an RGB uint8 image: ``(n + 1) / 2 * 255``, black where the normal is zero."""
    valid = np.linalg.norm(normals, axis=-1) > 0
    img = normals * 127.5  # (n + 1) / 2 * 255, rounded: in place, a 4 MP map is 100 MB a copy
    img += 128.0
    np.clip(img, 0, 255, out=img)
    img = img.astype(np.uint8)
    img[~valid] = 0
    return img
