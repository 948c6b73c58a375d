"""Strand colours from the photo and strand widths that taper, root to tip.

:func:`strand_appearance` colours each strand point the photo sees from the photo: a point
is seen when it projects into the hair mask no more than :data:`SEEN_DEPTH_M` behind the
hair's visible surface (the hair depth map). The photo's large-scale shading is divided out
first (a simple model: the hair's luminance blurred over about a tenth of the hair's size is
taken for the light, and each pixel's colour is scaled by the median luminance over it, within
x0.5-x2), so a strand keeps its colour on the dark side of the head, and the colours are
smoothed along the strand. Samples are taken a few pixels inside the hair mask, and those that
look more like the background around the hair than like the hair are not trusted. Points the
photo does not see take the colour of the nearest seen point of their strand; strands it does
not see at all take the median colour of the photo's hair, so the back continues the
photographed hair. Each strand's brightness varies a little (x0.92-1.08), as real strands do.
Widths taper linearly from :data:`ROOT_WIDTH_M` to :data:`TIP_WIDTH_M`. Colours are linear RGB
in [0, 1] (what :class:`~monoscan.core.strands.Strands` holds); world frame, metres.
"""

from __future__ import annotations

import numpy as np

from monoscan.core.camera import Camera
from monoscan.core.colour import median_hair_srgb, srgb_to_linear
from monoscan.core.crop import Crop
from monoscan.core.strands import Strands

__all__ = ["ROOT_WIDTH_M", "TIP_WIDTH_M", "strand_appearance"]

#: Strand diameter at the root and at the tip (metres; human hair is 0.05-0.1 mm thick).
ROOT_WIDTH_M = 8e-5
TIP_WIDTH_M = 3e-5
#: A strand point up to this far behind the hair's visible surface counts as seen (metres).
SEEN_DEPTH_M = 0.01
#: Points smoothed together along a strand (a moving average).
SMOOTH_POINTS = 5
#: Strand points are sampled this many pixels inside the hair mask's border (crop pixels).
EDGE_PX = 3
#: The background around the hair: a band this many pixels wide outside the mask's border.
RING_PX = 12


def _shading_free(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Linear RGB of the crop with the hair's large-scale shading divided out (in the mask)."""
    import cv2

    linear = srgb_to_linear(np.asarray(image, np.float64)[..., :3] / 255.0)
    lum = linear @ np.array([0.2126, 0.7152, 0.0722])
    m = mask.astype(np.float64)
    ys, xs = np.nonzero(mask)
    size = max(float(np.ptp(ys)), float(np.ptp(xs)), 1.0) if len(ys) else 1.0
    sigma = max(2.0, size / 10.0)
    light = cv2.GaussianBlur(lum * m, (0, 0), sigma) / np.maximum(
        cv2.GaussianBlur(m, (0, 0), sigma), 1e-6
    )
    median = float(np.median(lum[mask])) if mask.any() else 1.0
    gain = np.clip(median / np.maximum(light, 1e-6), 0.5, 2.0)
    if mask.any():  # keep the hair's median brightness: only the shading's shape goes
        gain *= median / max(float(np.median((lum * gain)[mask])), 1e-6)
    return np.clip(linear * gain[..., None], 0.0, 1.0).astype(np.float32)


def _smooth_along(values: np.ndarray, strands: Strands, k: int) -> np.ndarray:
    """Moving average of per-point ``values`` over ``k`` points, within each strand."""
    if k <= 1:
        return values
    cs = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    idx = np.arange(len(values))
    start = strands.offsets[strands.strand_index]
    end = strands.offsets[strands.strand_index + 1]
    lo = np.maximum(idx - k // 2, start)
    hi = np.minimum(idx + k // 2 + 1, end)
    return (cs[hi] - cs[lo]) / (hi - lo)[:, None]


def strand_appearance(
    strands: Strands,
    image_crop: np.ndarray,
    hair_mask_crop: np.ndarray,
    hair_depth_m_crop: np.ndarray,
    crop: Crop,
    camera: Camera,
    seed: int = 0,
) -> Strands:
    """``strands`` with per-point colours from the photo and tapered widths.

    Parameters
    ----------
    strands : Strands
        World frame, metres, root to tip.
    image_crop : (S, S, 3) uint8
        The crop (sRGB).
    hair_mask_crop : (S, S) bool
    hair_depth_m_crop : (S, S) float
        World z of the hair's visible surface (metres; larger is closer), where there is hair.
    crop, camera
        From the world to the crop: ``crop.to_crop(camera.world_to_photo(p))``.
    seed : int
        Seed of the per-strand brightness variation.
    """
    import cv2

    from monoscan.render.raster import sample_image

    if strands.n_points == 0:
        return strands
    mask = np.asarray(hair_mask_crop, bool)
    mask = mask[..., 0] if mask.ndim == 3 else mask
    albedo = _shading_free(image_crop, mask)
    p = np.asarray(strands.points, np.float64)
    px = crop.to_crop(camera.world_to_photo(p)[:, :2])  # crop pixel centres are integers
    h, w = mask.shape
    u, v = np.rint(px[:, 0]).astype(np.int64), np.rint(px[:, 1]).astype(np.int64)
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    u, v = np.clip(u, 0, w - 1), np.clip(v, 0, h - 1)
    surface = np.asarray(hair_depth_m_crop, np.float64)[v, u]
    # Inside the mask by a few pixels: its border mixes hair with the background.
    core = cv2.erode(mask.astype(np.uint8), np.ones((2 * EDGE_PX + 1,) * 2, np.uint8)) > 0
    seen = inside & core[v, u] & np.isfinite(surface) & (p[:, 2] >= surface - SEEN_DEPTH_M)
    colours = np.zeros((len(p), 3))
    colours[seen] = sample_image(albedo, px[seen, 0], px[seen, 1])
    # A sample that looks more like the background around the hair than like the hair (the
    # background through gaps, or a mask that spills over it) is not trusted.
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((2 * RING_PX + 1,) * 2, np.uint8)) > 0
    ring &= ~(cv2.dilate(mask.astype(np.uint8), np.ones((2 * EDGE_PX + 1,) * 2, np.uint8)) > 0)
    if seen.any() and ring.any():
        raw = np.asarray(image_crop, np.float64)[..., :3]
        hair_rgb = np.median(raw[core if core.any() else mask], axis=0)
        background = np.median(raw[ring], axis=0)
        here = raw[v[seen], u[seen]]
        seen[np.flatnonzero(seen)] = np.linalg.norm(here - hair_rgb, axis=1) <= np.linalg.norm(
            here - background, axis=1
        )
    # Unseen points: the nearest seen point of the same strand (index distance).
    index = np.arange(len(p))
    big = len(p) + 1
    strand = strands.strand_index
    last_seen = np.where(seen, index, -big)
    next_seen = np.where(seen, index, 2 * big)
    for a, b in zip(strands.offsets[:-1], strands.offsets[1:], strict=True):
        if b > a:
            last_seen[a:b] = np.maximum.accumulate(last_seen[a:b])
            next_seen[a:b] = np.minimum.accumulate(next_seen[a:b][::-1])[::-1]
    has_seen = np.bincount(strand[seen], minlength=strands.n_strands) > 0
    before = np.abs(index - last_seen) <= np.abs(next_seen - index)
    source = np.where(before, last_seen, next_seen)
    fill = ~seen & has_seen[strand]
    colours[fill] = colours[source[fill]]
    colours = _smooth_along(colours, strands, SMOOTH_POINTS)
    # Strands the photo does not see (the back, most of the sides): the median colour of the
    # photo's hair (its shading divided out). The seen strand points gather near the crown
    # and the parting, darker than the lengths; a neighbour's colour would carry its errors
    # (background at the silhouette) around the head.
    hair = core if core.any() else mask
    colours[~has_seen[strand]] = (
        np.median(albedo[hair], axis=0)
        if hair.any()
        else srgb_to_linear(median_hair_srgb(image_crop, mask) / 255.0)
    )
    rng = np.random.default_rng(seed + 2)
    colours *= rng.uniform(0.92, 1.08, strands.n_strands)[strand][:, None]
    # Widths: linear taper over each strand's points.
    counts = np.diff(strands.offsets)
    t = (index - strands.offsets[strand]) / np.maximum(counts[strand] - 1, 1)
    widths = ROOT_WIDTH_M + (TIP_WIDTH_M - ROOT_WIDTH_M) * t
    return Strands(
        strands.points,
        strands.counts,
        widths=widths.astype(np.float32),
        colors=np.clip(colours, 0.0, 1.0).astype(np.float32),
    )
