"""2D hair metrics of HairStep (CVPR 2023): HairSale, HairRida, mask IoU, orientation error.

All functions take plain arrays in the crop frame (x right, y down, pixels). Directions are
(H, W, 2) arrays ``(dx, dy)`` in image axes; orientations are (H, W) angles in radians (any
range: they are compared modulo pi) or (H, W, 2) vectors whose sign is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.masks import as_mask

__all__ = [
    "HairRida",
    "HairSale",
    "hair_rida",
    "hair_sale",
    "mask_iou",
    "orientation_error",
]


@dataclass(frozen=True)
class HairSale:
    """HairSale: mean angle between predicted and true growth directions, degrees (lower better).

    Attributes
    ----------
    deg : float
        Direction-aware convention (the paper's): per pixel ``arccos(clip(cos, -1, 1))`` in
        ``[0, 180]`` degrees, so a reversed direction costs 180.
    deg_capped90 : float
        The convention of one public re-implementation: ``cos`` clipped to ``[0, 1]``, so every
        pixel costs at most 90 degrees (reversed directions are not punished beyond 90).
    n_pixels : int
        Pixels averaged: in both masks and with non-zero vectors in both maps.
    """

    deg: float
    deg_capped90: float
    n_pixels: int


@dataclass(frozen=True)
class HairRida:
    """HairRida: percentage of relative-depth pairs ordered correctly (higher better).

    Attributes
    ----------
    percent : float
        ``100 * correct / used`` (NaN when no pair is usable).
    n_correct, n_used, n_total : int
        Correct pairs, pairs scored (both pixels inside the predicted hair, label non-zero),
        pairs given.
    """

    percent: float
    n_correct: int
    n_used: int
    n_total: int


def _unit(v: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(v, np.float64)
    if a.ndim != 3 or a.shape[2] != 2:
        raise InputError(f"{name} must be (H, W, 2) direction vectors, got shape {a.shape}")
    n = np.hypot(a[..., 0], a[..., 1])
    ok = np.isfinite(n) & (n > 1e-6)
    return a / np.where(ok, n, 1.0)[..., None], ok


def hair_sale(
    pred_direction: np.ndarray,
    gt_direction: np.ndarray,
    pred_mask: np.ndarray,
    gt_mask: np.ndarray,
) -> HairSale:
    """HairSale between two growth-direction maps, both conventions.

    Parameters
    ----------
    pred_direction, gt_direction : (H, W, 2) float
        Growth directions (root to tip) in image axes; normalised here, so any positive length
        works. Zero vectors are left out.
    pred_mask, gt_mask : (H, W) bool or uint8
        Hair masks; the metric is averaged over their intersection.

    Returns
    -------
    HairSale
        ``deg`` (direction-aware, 0-180 per pixel) and ``deg_capped90``; NaN with
        ``n_pixels = 0`` when the masks do not overlap.

    Examples
    --------
    >>> d = np.zeros((1, 2, 2)); d[..., 0] = 1
    >>> g = d.copy(); g[0, 1] = (-1, 0)
    >>> m = np.ones((1, 2), bool)
    >>> r = hair_sale(d, g, m, m)
    >>> r.deg, r.deg_capped90
    (90.0, 45.0)
    """
    p, okp = _unit(pred_direction, "pred_direction")
    g, okg = _unit(gt_direction, "gt_direction")
    if p.shape != g.shape:
        raise InputError(f"direction maps differ in shape: {p.shape} vs {g.shape}")
    sel = as_mask(pred_mask, "pred_mask", p.shape[:2]) & as_mask(gt_mask, "gt_mask", p.shape[:2])
    sel &= okp & okg
    n = int(sel.sum())
    if n == 0:
        return HairSale(float("nan"), float("nan"), 0)
    cos = (p[sel] * g[sel]).sum(axis=-1)
    deg = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    capped = np.degrees(np.arccos(np.clip(cos, 0.0, 1.0)))
    return HairSale(float(deg.mean()), float(capped.mean()), n)


def hair_rida(
    pred_depth: np.ndarray,
    pairs: np.ndarray,
    labels: np.ndarray,
    pred_mask: np.ndarray | None = None,
) -> HairRida:
    """HairRida: agreement of a predicted depth map with ordinal relative-depth labels.

    Parameters
    ----------
    pred_depth : (H, W) float
        Predicted depth, larger = closer (HairStep convention).
    pairs : (N, 4) int
        Pixel pairs ``(x_A, y_A, x_B, y_B)``, crop pixels.
    labels : (N,) int
        ``+1`` when A is closer than B, ``-1`` when B is closer, ``0`` for no order (skipped).
    pred_mask : (H, W) bool or uint8, optional
        Predicted hair; pairs with a pixel outside it are skipped. Default ``pred_depth > 0``.

    Returns
    -------
    HairRida
        A pair counts as correct when ``sign(depth_A - depth_B) == label`` (ties are wrong).

    Examples
    --------
    >>> d = np.array([[0.2, 0.9, 0.0]])
    >>> pairs = np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 2, 0]])
    >>> hair_rida(d, pairs, np.array([-1, -1, 1])).percent
    50.0
    """
    depth = np.asarray(pred_depth, np.float64)
    if depth.ndim != 2:
        raise InputError(f"pred_depth must be (H, W), got shape {depth.shape}")
    h, w = depth.shape
    pr = np.asarray(pairs)
    if pr.ndim == 3 and pr.shape[1:] == (2, 2):
        pr = pr.reshape(-1, 4)
    if pr.ndim != 2 or pr.shape[1] != 4:
        raise InputError(f"pairs must be (N, 4) (x_A, y_A, x_B, y_B), got shape {pr.shape}")
    lab = np.asarray(labels).reshape(-1)
    if len(lab) != len(pr):
        raise InputError(f"{len(pr)} pairs but {len(lab)} labels")
    pr = np.rint(pr).astype(np.int64)
    m = depth > 0 if pred_mask is None else as_mask(pred_mask, "pred_mask", depth.shape)
    xa, ya, xb, yb = pr.T
    inside = (xa >= 0) & (xa < w) & (ya >= 0) & (ya < h) & (xb >= 0) & (xb < w)
    inside &= (yb >= 0) & (yb < h)
    use = inside & (lab != 0)
    idx = np.nonzero(use)[0]
    use_idx = idx[m[ya[idx], xa[idx]] & m[yb[idx], xb[idx]]]
    if len(use_idx) == 0:
        return HairRida(float("nan"), 0, 0, len(pr))
    diff = depth[ya[use_idx], xa[use_idx]] - depth[yb[use_idx], xb[use_idx]]
    correct = int((np.sign(diff) == np.sign(lab[use_idx])).sum())
    return HairRida(100.0 * correct / len(use_idx), correct, len(use_idx), len(pr))


def mask_iou(pred_mask: np.ndarray, gt_mask: np.ndarray) -> float:
    """Intersection over union of two masks (1.0 when both are empty).

    Examples
    --------
    >>> a = np.array([[1, 1, 0, 0]], bool); b = np.array([[0, 1, 1, 0]], bool)
    >>> round(mask_iou(a, b), 4)
    0.3333
    """
    p = as_mask(pred_mask, "pred_mask")
    g = as_mask(gt_mask, "gt_mask", p.shape)
    union = int((p | g).sum())
    return 1.0 if union == 0 else float((p & g).sum()) / union


def _as_doubled(o: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(o, np.float64)
    if a.ndim == 2:
        return 2.0 * a, np.isfinite(a)
    if a.ndim == 3 and a.shape[2] == 2:
        n = np.hypot(a[..., 0], a[..., 1])
        return 2.0 * np.arctan2(a[..., 1], a[..., 0]), np.isfinite(n) & (n > 1e-6)
    raise InputError(f"{name} must be (H, W) angles or (H, W, 2) vectors, got shape {a.shape}")


def orientation_error(
    pred_orientation: np.ndarray, gt_orientation: np.ndarray, mask: np.ndarray
) -> float:
    """Mean undirected orientation error in degrees, ``[0, 90]`` per pixel.

    Parameters
    ----------
    pred_orientation, gt_orientation : (H, W) radians or (H, W, 2) vectors
        Orientations, compared modulo 180 degrees (a reversed direction is no error).
    mask : (H, W) bool or uint8
        Pixels to average over (zero-length vectors are skipped).

    Examples
    --------
    >>> a = np.zeros((1, 2)); b = np.array([[np.pi, np.radians(60)]])
    >>> orientation_error(a, b, np.ones((1, 2), bool))
    30.0
    """
    pa, okp = _as_doubled(pred_orientation, "pred_orientation")
    ga, okg = _as_doubled(gt_orientation, "gt_orientation")
    if pa.shape != ga.shape:
        raise InputError(f"orientation maps differ in shape: {pa.shape} vs {ga.shape}")
    sel = as_mask(mask, "mask", pa.shape) & okp & okg
    if not sel.any():
        return float("nan")
    d = np.abs(np.angle(np.exp(1j * (pa[sel] - ga[sel]))))  # doubled-angle difference, [0, pi]
    return float(np.degrees(d / 2.0).mean())
