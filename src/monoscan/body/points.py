"""Oriented point cloud of a body from its front and back depth maps.

Front and back points are sampled on a regular grid of the photo; side points fill the gap
between the two surfaces along the silhouette, with normals pointing outward in the image
plane, so the cloud is closed and screened Poisson has no hole to guess across.
"""

from __future__ import annotations

import numpy as np

from monoscan.body.depth import BodyDepth, normals_from_depth

__all__ = ["body_points"]


def body_points(
    depth: BodyDepth,
    target: int = 120_000,
    normals: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Oriented points of the front, back and sides.

    Parameters
    ----------
    depth : BodyDepth
        Front and back depth (px, larger = closer) in the photo frame.
    target : int
        About how many front + back points to keep (the grid stride adapts).
    normals : (front, back) (H, W, 3) arrays, optional
        :func:`normals_from_depth` of both maps if already computed (world axes, y up).

    Returns
    -------
    points : (N, 3) float64
        ``(x, y, z)`` in photo px: x right, y down, z toward the camera (px scale).
    normals : (N, 3) float64
        Unit normals in the same axes (note: y down, so n_y > 0 points down the image).
    """
    import cv2

    mask = depth.mask
    n_in = int(mask.sum())
    if n_in == 0:
        return np.zeros((0, 3)), np.zeros((0, 3))
    stride = max(1, int(np.ceil(np.sqrt(2.0 * n_in / max(target, 1)))))
    if normals is None:
        normals = (normals_from_depth(depth.front, "front"), normals_from_depth(depth.back, "back"))
    nf, nb = normals
    sub = np.zeros_like(mask)
    sub[stride // 2 :: stride, stride // 2 :: stride] = True
    rows, cols = np.nonzero(mask & sub)
    x = cols + 0.5
    y = rows + 0.5
    pts = [
        np.stack([x, y, depth.front[rows, cols]], 1),
        np.stack([x, y, depth.back[rows, cols]], 1),
    ]
    # Image-plane axes for normals: flip world y (up) to image y (down).
    flip = np.array([1.0, -1.0, 1.0])
    nrm = [nf[rows, cols] * flip, nb[rows, cols] * flip]

    # Side points along the outline, between back and front.
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    side_p, side_n = [], []
    step = max(1, stride // 2)
    for c in contours:
        c = c[:, 0, :].astype(np.int64)  # (x, y) pixel indices on the outline (inside)
        if len(c) < 3:
            continue
        # Outward normal from the tangent (contours run counter-clockwise on screen for
        # outer borders in OpenCV's y-down frame: rotate the tangent to point out).
        t = np.roll(c, -2, 0) - np.roll(c, 2, 0)
        nrm2 = np.stack([t[:, 1], -t[:, 0]], 1).astype(np.float64)
        nrm2 /= np.maximum(np.linalg.norm(nrm2, axis=1, keepdims=True), 1e-9)
        # Make sure the normal points out of the mask.
        probe = np.round(c + 0.5 + 2.0 * nrm2 - 0.5).astype(np.int64)
        inside = mask[
            np.clip(probe[:, 1], 0, mask.shape[0] - 1), np.clip(probe[:, 0], 0, mask.shape[1] - 1)
        ]
        if inside.mean() > 0.5:
            nrm2 = -nrm2
        c, nrm2 = c[::step], nrm2[::step]
        zf = depth.front[c[:, 1], c[:, 0]]
        zb = depth.back[c[:, 1], c[:, 0]]
        ok = np.isfinite(zf) & np.isfinite(zb)
        c, nrm2, zf, zb = c[ok], nrm2[ok], zf[ok], zb[ok]
        # Outline positions half a pixel outward of the pixel centre (the true edge).
        edge = c + 0.5 + 0.5 * nrm2
        gap = zf - zb
        k = np.maximum(1, np.ceil(gap / stride).astype(np.int64))
        rep = np.repeat(np.arange(len(c)), k)
        frac = (np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k) + 0.5) / k[rep]
        z = zb[rep] + frac * gap[rep]
        side_p.append(np.stack([edge[rep, 0], edge[rep, 1], z], 1))
        side_n.append(np.stack([nrm2[rep, 0], nrm2[rep, 1], np.zeros(len(rep))], 1))
    points = np.concatenate(pts + side_p, 0).astype(np.float64)
    normals = np.concatenate(nrm + side_n, 0).astype(np.float64)
    ok = np.isfinite(points).all(1) & np.isfinite(normals).all(1)
    return points[ok], normals[ok]
