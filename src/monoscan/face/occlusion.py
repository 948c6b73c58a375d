"""What covers the face: an occlusion mask, landmark visibility, and filling under occluders.

Inside the face-mesh outline, a pixel is occluded when it disagrees with a robust colour model
of this face's own skin (a Gaussian in YCrCb, estimated from the cheeks, forehead and nose the
landmarks point to, with the eyes, brows, lips and nostrils left out because they are
legitimately not skin), or when the hair segmentation calls it hair. The mask is cleaned with
morphology (small specks dropped, eyes or lips enclosed by an occluder included) and grown
into the eyes, brows and lips where their colour matches the occluder beside them.

Occlusion handling (:func:`handle_occlusion`) inpaints the photo under the mask (OpenCV Telea
by default) and re-runs the face mesh on the filled photo in the same window: the mesh then
sees a plausible face instead of a hand or a bar. The handled landmarks are the mean of that
re-fit and the original fit (better than either on ``benchmarks/bench_occlusion.py``: the mask
is imperfect and inpainting also erases true detail). The filled photo textures the face mesh.
This follows SegmentationHRN's "segment occluders, inpaint, reconstruct" (Lei et al.,
CVPR 2023).

Frames: photo pixels (x right, y down); masks are (H, W) bool at the photo's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monoscan.core.masks import convex_hull_mask
from monoscan.face.topology import FACE_OVAL, N_MESH_VERTICES

__all__ = [
    "Occlusion",
    "face_region_mask",
    "fill_occluded",
    "handle_occlusion",
    "landmark_visibility",
    "occlusion_mask",
]

#: Face-mesh vertices outlining parts that are not skin (hull of each, slightly grown).
_FEATURES = {
    "right_eye": (7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246),
    "left_eye": (249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466),
    "right_brow": (46, 52, 53, 55, 63, 65, 66, 70, 105, 107),
    "left_brow": (276, 282, 283, 285, 293, 295, 296, 300, 334, 336),
    "lips": (
        0,
        17,
        37,
        39,
        40,
        61,
        84,
        91,
        146,
        181,
        185,
        267,
        269,
        270,
        291,
        314,
        321,
        375,
        405,
        409,
    ),
    "nostrils": (2, 94, 97, 98, 64, 240, 326, 327, 294, 460, 141, 370, 19),
}
#: Working resolution: the face is brought to about this many pixels across.
WORK_PX = 128
#: Chroma (CrCb) Mahalanobis distance from the skin model above which a pixel is not skin.
SKIN_THRESHOLD = 4.0
#: Pixels darker than this fraction of the skin's luminance are not skin (hair, dark objects).
DARK_RATIO = 0.45
#: Pixels brighter than the skin's luminance by this much (0-255) are not skin.
BRIGHT_MARGIN = 70.0
#: Colour distance (YCrCb chroma units; luminance allowed 3x) within which a pixel of an eye,
#: brow or lip counts as the occluder beside it.
OCCLUDER_TOLERANCE = 8.0
#: Occluded blobs smaller than this fraction of the face area are dropped.
MIN_BLOB_FRACTION = 0.004
#: Weight of an occluded landmark in model fits (visible ones weigh 1).
OCCLUDED_WEIGHT = 0.2
#: Below this occluded fraction of the face nothing is inpainted or re-fitted.
MIN_HANDLED_FRACTION = 0.01


@dataclass(frozen=True)
class Occlusion:
    """What covers the face, and the photo and landmarks with it handled.

    Attributes
    ----------
    mask : (H, W) bool
        Occluded face pixels, photo size.
    fraction : float
        Occluded fraction of the face region.
    visible : (478,) bool
        Landmarks whose neighbourhood the mask does not cover.
    filled_rgb : (H, W, 3) uint8
        The photo with the occluded face region inpainted (the photo itself when nothing was).
    points : (478, 3) float32
        Landmarks after handling (photo pixels): when the face was occluded, the mean of the
        input landmarks and those re-fitted on the filled photo; else the input landmarks.
    refitted : bool
        Whether the landmarks were re-fitted.
    """

    mask: np.ndarray
    fraction: float
    visible: np.ndarray
    filled_rgb: np.ndarray
    points: np.ndarray
    refitted: bool

    @property
    def weights(self) -> np.ndarray:
        """(478,) trust per landmark for fitting (``fit_head(..., weights=)``): 1 where
        visible, :data:`OCCLUDED_WEIGHT` where an occluder covers it.

        The pipeline does not use them: on the occlusion benchmark the head fitted to
        :attr:`points` at full weight stays closer to the clean-photo fit than with the
        occluded landmarks down-weighted or dropped (MediaPipe's guesses under an occluder,
        once re-fitted, are better than no constraint)."""
        return np.where(self.visible, 1.0, OCCLUDED_WEIGHT)


def face_region_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """(H, W) bool: inside the face-mesh outline (the region :func:`occlusion_mask` covers)."""
    return convex_hull_mask(shape, np.asarray(points, np.float64)[list(FACE_OVAL)])


def _face_window(points: np.ndarray, shape: tuple[int, int], margin: float = 0.05):
    """Integer window (x0, y0, x1, y1) around the mesh, clipped to the photo, and a scale that
    brings the face to about WORK_PX pixels."""
    p = points[:N_MESH_VERTICES, :2]
    lo, hi = p.min(0), p.max(0)
    pad = margin * (hi - lo)
    x0, y0 = np.floor(lo - pad).astype(int)
    x1, y1 = np.ceil(hi + pad).astype(int)
    h, w = shape
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    size = float(np.sqrt(max(np.prod(hi - lo), 1.0)))
    return (int(x0), int(y0), int(x1), int(y1)), min(1.0, WORK_PX / size), size


def _robust_gaussian(samples: np.ndarray, bandwidth=(12.0, 4.0, 4.0), keep: float = 2.5):
    """Mean and covariance of the dominant colour cluster of ``samples`` (N, 3).

    The mode is found by mean shift from the median (a Gaussian kernel of ``bandwidth`` per
    channel), so an occluder covering up to about half of the samples does not pull it; the
    covariance is then estimated from the samples within ``keep`` standard deviations of it.
    """
    band = np.asarray(bandwidth, np.float64)
    mode = np.median(samples, 0)
    for _ in range(10):
        wgt = np.exp(-0.5 * (((samples - mode) / band) ** 2).sum(1))
        new = (wgt[:, None] * samples).sum(0) / max(wgt.sum(), 1e-9)
        if np.abs(new - mode).max() < 0.1:
            mode = new
            break
        mode = new
    cov = np.diag((band * 1.5) ** 2)
    for _ in range(3):
        inl = samples[_mahalanobis(samples, mode, cov) < keep]
        if len(inl) < 20:
            break
        # A trimmed Gaussian under-estimates the spread; 2.5 sigma in 3-D keeps about 80 %.
        cov = np.cov(inl.T) * 1.3 + np.eye(3)
    return mode, cov


def _mahalanobis(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    inv = np.linalg.inv(cov)
    d = x - mean
    return np.sqrt(np.maximum(np.einsum("...i,ij,...j->...", d, inv, d), 0))


def occlusion_mask(
    photo_rgb: np.ndarray,
    face_points: np.ndarray,
    hair_mask_photo: np.ndarray | None = None,
    threshold: float = SKIN_THRESHOLD,
) -> np.ndarray:
    """Pixels of the face that something covers (hair, hands, glasses, microphones...).

    Parameters
    ----------
    photo_rgb : (H, W, 3) uint8
        The photo.
    face_points : (478, 3) or (468, 2+)
        Face-mesh landmarks, photo pixels.
    hair_mask_photo : (H, W) bool, optional
        Hair segmentation at the photo's size; hair inside the face outline is an occluder.
    threshold : float
        Skin-model distance above which a pixel disagrees with the face (larger: fewer pixels).

    Returns
    -------
    (H, W) bool
        True where the face is occluded; False outside the face-mesh outline.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.zeros((10, 10, 3), np.uint8)
    >>> pts = np.array([[2, 2, 0], [8, 2, 0], [8, 8, 0], [2, 8, 0]] * 120, np.float32)[:478]
    >>> occlusion_mask(rgb, pts).shape
    (10, 10)
    """
    import cv2

    rgb = np.asarray(photo_rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 photo, got {rgb.shape} {rgb.dtype}")
    pts = np.asarray(face_points, np.float64)
    if pts.ndim != 2 or pts.shape[0] < N_MESH_VERTICES or pts.shape[1] < 2:
        raise ValueError(f"expected (478, 3) face landmarks, got {pts.shape}")
    h, w = rgb.shape[:2]
    out = np.zeros((h, w), bool)
    (x0, y0, x1, y1), s, face_px = _face_window(pts, (h, w))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return out
    # Work on the face window brought to about WORK_PX pixels across.
    ww, wh = max(4, round((x1 - x0) * s)), max(4, round((y1 - y0) * s))
    sx, sy = ww / (x1 - x0), wh / (y1 - y0)
    win = cv2.resize(rgb[y0:y1, x0:x1], (ww, wh), interpolation=cv2.INTER_AREA)
    local = (pts[:, :2] - (x0, y0)) * (sx, sy)
    shape = (wh, ww)
    oval = convex_hull_mask(shape, local[list(FACE_OVAL)])
    grow = max(1, round(0.03 * face_px * s))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    features = np.zeros(shape, np.uint8)
    for ids in _FEATURES.values():
        features |= convex_hull_mask(shape, local[list(ids)])
    features = cv2.dilate(features, kernel).astype(bool)
    inner = cv2.erode(oval.astype(np.uint8), kernel).astype(bool)

    ycc = cv2.cvtColor(win, cv2.COLOR_RGB2YCrCb).astype(np.float64)
    samples = ycc[inner & ~features]
    if len(samples) < 30:
        return out
    mean, cov = _robust_gaussian(samples)
    # Shading changes luminance far more than chroma: chroma is tested against the skin
    # model, luminance only for much darker (hair, dark objects) or brighter (white) pixels.
    dist = _mahalanobis(ycc[..., 1:], mean[1:], cov[1:, 1:])
    luma = ycc[..., 0]
    dist = np.where((luma < DARK_RATIO * mean[0]) | (luma > mean[0] + BRIGHT_MARGIN), np.inf, dist)
    occ = (dist > threshold) & oval & ~features
    if hair_mask_photo is not None:
        hair = cv2.resize(
            np.asarray(hair_mask_photo)[y0:y1, x0:x1].astype(np.uint8),
            (ww, wh),
            interpolation=cv2.INTER_NEAREST,
        ).astype(bool)
        occ |= hair & oval
    occ = occ.astype(np.uint8)
    small = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    occ = cv2.morphologyEx(occ, cv2.MORPH_OPEN, small)
    # An eye, brow or lip the occluder surrounds is covered too ...
    closed = cv2.morphologyEx(
        occ,
        cv2.MORPH_CLOSE,
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4 * grow + 1, 4 * grow + 1)),
    )
    occ = np.where(features, closed, occ).astype(np.uint8) & oval
    # ... and so is a feature pixel of the colour of the occluder next to it (a bar across
    # an eye): grow the mask into the features where the colour matches the local occluder.
    sigma = 2.0 * grow
    for _ in range(3):
        wgt = cv2.GaussianBlur(occ.astype(np.float32), (0, 0), sigma)
        local = cv2.GaussianBlur(ycc.astype(np.float32) * occ[..., None], (0, 0), sigma)
        local = local / np.maximum(wgt, 1e-6)[..., None]
        like = (
            np.linalg.norm(
                (ycc - local) / (3.0 * OCCLUDER_TOLERANCE, OCCLUDER_TOLERANCE, OCCLUDER_TOLERANCE),
                axis=2,
            )
            < 1.0
        )
        grown = features & oval & (wgt > 0.05) & like & (dist > 0.5 * threshold)
        if not (grown & ~occ.astype(bool)).any():
            break
        occ = (occ.astype(bool) | grown).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(occ, connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= MIN_BLOB_FRACTION * oval.sum()
    occ = keep[labels].astype(np.uint8)
    full = cv2.resize(occ, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) > 0
    out[y0:y1, x0:x1] = full
    return out


def landmark_visibility(
    mask: np.ndarray, points: np.ndarray, radius: float | None = None, max_covered: float = 0.5
) -> np.ndarray:
    """Which landmarks are visible: those whose neighbourhood the mask covers less than
    ``max_covered``.

    Parameters
    ----------
    mask : (H, W) bool
        Occlusion mask, photo size.
    points : (N, 2+)
        Landmarks, photo pixels.
    radius : float, optional
        Neighbourhood half-size in pixels; default 3 % of the face size.
    max_covered : float
        Largest covered fraction of the neighbourhood a visible landmark may have.

    Returns
    -------
    (N,) bool
    """
    import cv2

    pts = np.asarray(points, np.float64)[:, :2]
    if radius is None:
        radius = 0.03 * float(np.sqrt(max(np.prod(np.ptp(pts, 0)), 1.0)))
    k = 2 * max(1, round(radius)) + 1
    cover = cv2.blur(np.asarray(mask, np.float32), (k, k))
    h, w = cover.shape
    xi = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)
    yi = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
    return cover[yi, xi] < max_covered


def fill_occluded(
    photo_rgb: np.ndarray,
    mask: np.ndarray,
    method: str = "telea",
    radius: float = 5.0,
    max_px: int = 512,
) -> np.ndarray:
    """The photo with the masked pixels inpainted (OpenCV), the rest unchanged.

    Parameters
    ----------
    photo_rgb : (H, W, 3) uint8
    mask : (H, W) bool
        What to fill (grown by 2 px so occluder edges go too).
    method : {"telea", "ns"}
        ``cv2.INPAINT_TELEA`` or ``cv2.INPAINT_NS``.
    radius : float
        Inpainting neighbourhood, pixels at the working scale.
    max_px : int
        The masked region's window is inpainted at most this large (then scaled back), which
        bounds the time on large photos.

    Returns
    -------
    (H, W, 3) uint8
    """
    import cv2

    flags = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
    if method not in flags:
        raise ValueError(f"unknown inpainting method {method!r}; choose from {sorted(flags)}")
    rgb = np.asarray(photo_rgb)
    mask = np.asarray(mask, bool)
    out = rgb.copy()
    if not mask.any():
        return out
    m8 = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8))
    ys, xs = np.nonzero(m8)
    h, w = mask.shape
    pad = max(8, int(0.1 * max(np.ptp(xs), np.ptp(ys))))
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, w)
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, h)
    win, mwin = rgb[y0:y1, x0:x1], m8[y0:y1, x0:x1]
    s = min(1.0, max_px / max(win.shape[:2]))
    if s < 1.0:
        size = (max(1, round(win.shape[1] * s)), max(1, round(win.shape[0] * s)))
        small = cv2.inpaint(
            cv2.resize(win, size, interpolation=cv2.INTER_AREA),
            cv2.resize(mwin, size, interpolation=cv2.INTER_NEAREST),
            radius,
            flags[method],
        )
        filled = cv2.resize(small, (win.shape[1], win.shape[0]), interpolation=cv2.INTER_LINEAR)
    else:
        filled = cv2.inpaint(win, mwin, radius, flags[method])
    sel = mwin.astype(bool)
    out[y0:y1, x0:x1][sel] = filled[sel]
    return out


def handle_occlusion(
    photo_rgb: np.ndarray,
    face,
    hair_mask_photo: np.ndarray | None = None,
    method: str = "telea",
    refit: bool = True,
) -> Occlusion:
    """Find what covers the face, fill it, and re-fit the landmarks on the filled photo.

    Below :data:`MIN_HANDLED_FRACTION` of the face occluded, nothing is filled or re-fitted
    (the photo and landmarks come back unchanged, all landmarks visible).

    Parameters
    ----------
    photo_rgb : (H, W, 3) uint8
    face : FaceLandmarks
        The face as detected on the photo (its box is reused for the re-fit).
    hair_mask_photo : (H, W) bool, optional
        Hair segmentation at the photo's size.
    method : {"telea", "ns"}
        Inpainting method.
    refit : bool
        Re-fit the face mesh on the filled photo when the face is occluded.

    Returns
    -------
    Occlusion
    """
    from monoscan.perception.face import landmarks_in_box

    rgb = np.asarray(photo_rgb)
    points = np.asarray(face.points, np.float32)
    mask = occlusion_mask(rgb, points, hair_mask_photo)
    oval = face_region_mask(mask.shape, points)
    fraction = float(mask.sum() / max(oval.sum(), 1))
    if fraction < MIN_HANDLED_FRACTION:
        return Occlusion(
            mask=mask,
            fraction=fraction,
            visible=np.ones(len(points), bool),
            filled_rgb=rgb,
            points=points,
            refitted=False,
        )
    filled = fill_occluded(rgb, mask, method)
    new = landmarks_in_box(filled, face.box) if refit else None
    refitted = new is not None
    if refitted:
        # The re-fit sees a face where the occluder was, but the mask is imperfect and the
        # inpainting erases true detail with it: the mean of the two fits is better than
        # either on occluded faces (benchmarks/bench_occlusion.py).
        points = ((points + new) / 2).astype(np.float32)
    return Occlusion(
        mask=mask,
        fraction=fraction,
        visible=landmark_visibility(mask, points),
        filled_rgb=filled,
        points=points,
        refitted=refitted,
    )
