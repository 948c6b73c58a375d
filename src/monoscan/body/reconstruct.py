"""The full body from one photo: pose and silhouette -> depth maps -> points -> closed mesh.

:func:`reconstruct_body` is the pure part (arrays in, a :class:`BodyResult` out); writing the
files is :func:`monoscan.pipeline.body.run_body`.

Metric scale comes from the person's height: ``options.height_m`` when given, else the prior
:data:`DEFAULT_HEIGHT_M` (1.70 m, a round adult average of both sexes). The height in pixels is
the silhouette's top-to-bottom extent when the whole person is in the frame, else
:data:`TORSO_TO_HEIGHT` times the shoulder-to-hip distance (shoulder height 0.82 and hip joint
height 0.53 of stature in standard anthropometric tables). The camera is orthographic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import trimesh

from monoscan.body.depth import BodyDepth, estimate_depth, normals_from_depth
from monoscan.body.mesh import photo_to_world, poisson_depth, poisson_mesh, sample_colors
from monoscan.body.partial import landmarks_seen
from monoscan.body.parts import PartCrop, part_crops
from monoscan.body.points import body_points
from monoscan.body.skeleton import bones_from_landmarks
from monoscan.core.errors import InputError, NoPersonError
from monoscan.core.progress import stage_started
from monoscan.perception.pose import PoseResult

__all__ = [
    "DEFAULT_HEIGHT_M",
    "TORSO_TO_HEIGHT",
    "BodyOptions",
    "BodyResult",
    "person_mask",
    "reconstruct_body",
]

DEFAULT_HEIGHT_M = 1.70
TORSO_TO_HEIGHT = 1.0 / (0.818 - 0.530)
#: Landmarks on the face surface (nose, eyes, ears, mouth): their 3D z is on the front surface.
_FACE = tuple(range(11))


@dataclass(frozen=True)
class BodyOptions:
    """Settings of :func:`reconstruct_body`.

    Attributes
    ----------
    height_m : float or None
        The person's height in metres; None uses :data:`DEFAULT_HEIGHT_M`.
    max_size : int
        The photo is scaled down so its longer side is at most this (px) before everything;
        depth and normal maps have this resolution.
    detail : float
        Shading detail strength on the front (0 = off), see :func:`estimate_depth`.
    points : int
        About how many front + back points go into Poisson (more = finer, slower).
    poisson_depth : int or None
        Octree depth; None picks it from the point spacing, at most ``max_poisson_depth``.
    max_poisson_depth : int
        Cap of the adaptive depth. 8 gives cells of about 7 mm on a 1.7 m person and takes
        2-7 s; 9 about four times longer.
    surface : bool
        Build the silhouette surface (points, Poisson, colours: most of the time). False leaves
        ``mesh`` and ``poisson_depth`` None, for callers that make the surface from the maps
        (the clothed parametric body).
    mask_threshold : float
        Person probability above which a pixel is in the silhouette.
    min_person_px : int
        Refuse people shorter than this in the (scaled) photo, px.
    """

    height_m: float | None = None
    max_size: int = 2048
    detail: float = 0.5
    points: int = 40_000
    poisson_depth: int | None = None
    max_poisson_depth: int = 8
    surface: bool = True
    mask_threshold: float = 0.5
    min_person_px: int = 96


@dataclass(frozen=True)
class BodyResult:
    """A reconstructed body.

    World frame: metres, x to the subject's left, y up, z toward the camera, origin between the
    ears (pose landmarks 7 and 8) on the body's mid-plane. Maps are in the photo frame at the
    working resolution (the photo scaled by ``map_scale``).

    Attributes
    ----------
    mesh : trimesh.Trimesh or None
        Closed body surface, vertex colours from the photo (None with ``surface=False``).
    front_depth, back_depth : (h, w) float32
        World z (m) of the front and back surfaces per map pixel, NaN outside the silhouette.
    front_normal, back_normal : (h, w, 3) float32
        Unit world normals, zero outside.
    mask : (h, w) bool
        Silhouette used.
    pose : PoseResult
        Landmarks in photo px of the input photo (not the scaled one).
    keypoints_world : (33, 3) float64
        Landmarks in the world frame (joints on the mid-plane, face points on the front).
    parts : list of PartCrop
        2K2K's 12 part crops, affines from input-photo px.
    scale : float
        Metres per input-photo pixel.
    origin_px : (3,) float64
        Input-photo (x, y) px and z px of the world origin.
    map_scale : float
        Map px per input-photo px (<= 1).
    height_m : float
        Height used for the scale; ``height_source`` says where it came from.
    poisson_depth : int or None
        Octree depth of the silhouette surface (None without one).
    people : int
        People detected (the largest is reconstructed).
    cut_off : tuple of str
        Photo sides the silhouette touches ("top", "bottom", "left", "right").
    notes : tuple of str
        Human-readable remarks for result.json and the terminal.
    timings : dict
        Seconds per stage.
    """

    mesh: trimesh.Trimesh | None
    front_depth: np.ndarray
    back_depth: np.ndarray
    front_normal: np.ndarray
    back_normal: np.ndarray
    mask: np.ndarray
    pose: PoseResult
    keypoints_world: np.ndarray
    parts: list[PartCrop]
    scale: float
    origin_px: np.ndarray
    map_scale: float
    height_m: float
    height_source: str
    poisson_depth: int | None
    people: int = 1
    cut_off: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    timings: dict = field(default_factory=dict)


def person_mask(prob: np.ndarray, pose: PoseResult | None, threshold: float = 0.5) -> np.ndarray:
    """Silhouette from a probability map: smoothed (Gaussian, sigma = longer side / 512 px),
    thresholded, the piece(s) under the person's torso kept, pin-holes (< 0.05 % of the
    silhouette) filled.
    """
    import cv2

    prob = np.asarray(prob, np.float32)
    # MediaPipe's mask comes from a 256 px network output: blur away its stair steps
    # (they become ridges on the steep outline of the depth maps) before thresholding.
    sigma = max(prob.shape) / 512.0
    if sigma > 0.5:
        prob = cv2.GaussianBlur(prob, (0, 0), sigma)
    m = (prob > threshold).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return m.astype(bool)
    keep = np.zeros(n, bool)
    if pose is not None:
        h, w = m.shape
        for i in (0, 11, 12, 23, 24):
            x, y = pose.landmarks[i, :2]
            xi, yi = int(np.clip(x, 0, w - 1)), int(np.clip(y, 0, h - 1))
            keep[lab[yi, xi]] = True
    keep[0] = False
    if not keep.any():
        keep[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))] = True
    # Also keep large pieces (a hand or foot split off by a thin gap).
    big = stats[:, cv2.CC_STAT_AREA] > 0.02 * stats[keep, cv2.CC_STAT_AREA].sum()
    keep |= big
    keep[0] = False
    out = keep[lab]
    # Fill tiny holes.
    inv = (~out).astype(np.uint8)
    _, lab2, st2, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    small = st2[:, cv2.CC_STAT_AREA] < 0.0005 * out.sum()
    border = np.unique(np.concatenate([lab2[0], lab2[-1], lab2[:, 0], lab2[:, -1]]))
    small[border] = False
    small[0] = small[0] and 0 not in border
    out |= small[lab2] & (inv > 0)
    return out


def _cut_sides(mask: np.ndarray) -> tuple[str, ...]:
    h, w = mask.shape
    sides = []
    for name, edge, n in (
        ("top", mask[0], w),
        ("bottom", mask[-1], w),
        ("left", mask[:, 0], h),
        ("right", mask[:, -1], h),
    ):
        if edge.sum() >= max(3, 0.002 * n):
            sides.append(name)
    return tuple(sides)


def _shows_shoulders(pose: PoseResult, shape: tuple[int, int]) -> bool:
    """Whether the photo shows a shoulder: visible, and inside the frame by at least a
    quarter of the ears' distance (MediaPipe, given a head cut off at the neck, puts the
    shoulders on the frame's bottom edge)."""
    h, w = shape
    lm = np.asarray(pose.landmarks, np.float64)[:, :2]
    margin = max(2.0, 0.25 * float(np.linalg.norm(lm[7] - lm[8])))
    seen = landmarks_seen(lm, pose.visibility, (h - margin, w))
    return bool(seen[[11, 12]].any())


def _scaled_pose(pose: PoseResult, f: float) -> PoseResult:
    lm = pose.landmarks.copy()
    lm *= f
    return PoseResult(lm, pose.visibility, pose.world, pose.segmentation)


def reconstruct_body(
    rgb: np.ndarray,
    options: BodyOptions = BodyOptions(),
    pose: PoseResult | None = None,
    mask: np.ndarray | None = None,
) -> BodyResult:
    """Reconstruct the (largest) person in a photo as a closed, coloured, metric mesh.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        The photo (photo frame).
    options : BodyOptions
    pose : PoseResult, optional
        Landmarks in input-photo px; detected with MediaPipe Pose when omitted.
    mask : (H, W) bool or float, optional
        Silhouette (or probability); MediaPipe's pose segmentation when omitted.

    Returns
    -------
    BodyResult

    Raises
    ------
    NoPersonError
        Nobody found, an empty silhouette, or no body (neither shoulder in the photo: a
        photo cut above the shoulders).
    InputError
        Not an RGB image, or the person is smaller than ``options.min_person_px``.
    """
    import cv2

    from monoscan.core.photo import check_rgb

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    notes: list[str] = []
    rgb = check_rgb(rgb)
    stage_started("body pose")
    if options.height_m is not None and not 0.3 <= float(options.height_m) <= 2.8:
        raise InputError(
            f"--height-m {options.height_m:g} is not a plausible human height (0.3-2.8 m)"
        )
    H, W = rgb.shape[:2]
    f = min(1.0, options.max_size / max(H, W))
    work = (
        rgb
        if f == 1.0
        else cv2.resize(rgb, (round(W * f), round(H * f)), interpolation=cv2.INTER_AREA)
    )
    h, w = work.shape[:2]

    people = 1
    if pose is None:
        from monoscan.perception.pose import detect_poses

        poses = detect_poses(work)
        if not poses:
            raise NoPersonError("no person found in the photo")
        people = len(poses)
        wpose = poses[0]
        if people > 1:
            notes.append(f"{people} people found; the largest is reconstructed")
        pose = _scaled_pose(wpose, 1.0 / f)
    else:
        wpose = _scaled_pose(pose, f)
    if not _shows_shoulders(wpose, (h, w)):
        raise NoPersonError("no body in the photo: it is cut above the shoulders")
    timings["pose"] = time.perf_counter() - t0

    t = time.perf_counter()
    stage_started("body mask")
    if mask is None:
        if wpose.segmentation is None:
            from monoscan.perception.person import segment_person

            prob = segment_person(work)
        else:
            prob = wpose.segmentation
    else:
        prob = np.asarray(mask, np.float32)
        if prob.shape != (H, W):
            raise InputError(f"mask shape {prob.shape} does not match the photo {(H, W)}")
        if f != 1.0:
            prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_AREA)
    sil = person_mask(prob, wpose, options.mask_threshold)
    if not sil.any():
        raise NoPersonError("no person found in the photo (empty silhouette)")
    rows = np.nonzero(sil.any(1))[0]
    px_height = float(rows[-1] - rows[0] + 1)
    if px_height < options.min_person_px:
        raise InputError(
            f"person too small: {px_height / f:.0f} px tall in the photo, need at least "
            f"{options.min_person_px / f:.0f} px"
        )
    cut = _cut_sides(sil)
    if cut:
        notes.append(
            "person cut off by the frame ("
            + ", ".join(cut)
            + "); only the visible part is reconstructed"
        )
    timings["mask"] = time.perf_counter() - t

    t = time.perf_counter()
    stage_started("body depth")
    bones = bones_from_landmarks(wpose.landmarks)
    depth: BodyDepth = estimate_depth(sil, bones, work, detail=options.detail)
    normals = (normals_from_depth(depth.front, "front"), normals_from_depth(depth.back, "back"))
    timings["depth"] = time.perf_counter() - t

    # Scale and origin (work px).
    lm = wpose.landmarks[:, :2].astype(np.float64)
    if "top" in cut or "bottom" in cut:
        torso = np.linalg.norm(0.5 * (lm[11] + lm[12]) - 0.5 * (lm[23] + lm[24]))
        full_px = max(TORSO_TO_HEIGHT * torso, px_height)
        px_source = f"shoulder-to-hip distance x {TORSO_TO_HEIGHT:.2f} (person cut off)"
    else:
        full_px = px_height
        px_source = "silhouette height"
    given = options.height_m is not None
    height_m = float(options.height_m) if given else DEFAULT_HEIGHT_M
    height_source = ("given" if given else f"prior {DEFAULT_HEIGHT_M} m") + (
        f", pixels from {px_source}"
    )
    s_work = height_m / full_px  # m per work px
    ears = 0.5 * (lm[7] + lm[8])
    origin_work = np.array([ears[0], ears[1], 0.0])

    mesh, pdepth = None, None
    if options.surface:
        mesh, pdepth = _silhouette_surface(
            depth, normals, sil, work, s_work, origin_work, options, notes, timings
        )

    # World maps and keypoints.
    front_m = (depth.front * s_work).astype(np.float32)
    back_m = (depth.back * s_work).astype(np.float32)
    kz = np.zeros(33)
    ci = np.clip(lm[:, 0].astype(int), 0, w - 1)
    ri = np.clip(lm[:, 1].astype(int), 0, h - 1)
    fz, bz = depth.front[ri, ci], depth.back[ri, ci]
    inside = np.isfinite(fz)
    kz[inside] = 0.5 * (fz[inside] + bz[inside])
    face = np.zeros(33, bool)
    face[list(_FACE)] = True
    kz[face & inside] = fz[face & inside]
    kw = photo_to_world(np.column_stack([lm, kz]), s_work, origin_work)

    timings["total"] = time.perf_counter() - t0
    return BodyResult(
        mesh=mesh,
        front_depth=front_m,
        back_depth=back_m,
        front_normal=normals[0],
        back_normal=normals[1],
        mask=sil,
        pose=pose,
        keypoints_world=kw,
        parts=part_crops(pose.landmarks),
        scale=s_work * f,
        origin_px=np.array([origin_work[0] / f, origin_work[1] / f, 0.0]),
        map_scale=f,
        height_m=height_m,
        height_source=height_source,
        poisson_depth=pdepth,
        people=people,
        cut_off=cut,
        notes=tuple(notes),
        timings=timings,
    )


def _silhouette_surface(depth, normals, sil, work, s_work, origin_work, options, notes, timings):
    """The silhouette body: front and back points, screened Poisson, colours from the photo.
    Returns the closed mesh (world frame) and the octree depth used."""
    t = time.perf_counter()
    stage_started("body points")
    pts, nrm = body_points(depth, target=options.points, normals=normals)
    wpts = photo_to_world(pts, s_work, origin_work)
    wn = nrm.copy()
    wn[:, 1] *= -1.0
    stride = max(1, int(np.ceil(np.sqrt(2.0 * sil.sum() / max(options.points, 1)))))
    pdepth = options.poisson_depth or poisson_depth(
        wpts, stride * s_work, hi=options.max_poisson_depth
    )
    timings["points"] = time.perf_counter() - t

    t = time.perf_counter()
    stage_started("body surface")
    mesh = poisson_mesh(wpts, wn, depth=pdepth)
    if not mesh.is_watertight and options.poisson_depth is None:
        pdepth -= 1
        mesh = poisson_mesh(wpts, wn, depth=pdepth)
        notes.append(f"Poisson retried at depth {pdepth}")
    if not mesh.is_watertight:
        notes.append("mesh is not watertight")
    timings["poisson"] = time.perf_counter() - t

    t = time.perf_counter()
    stage_started("body colour")
    vpx = mesh.vertices[:, :2] * np.array([1.0, -1.0]) / s_work + origin_work[:2]
    mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=sample_colors(vpx, work, sil))
    timings["colour"] = time.perf_counter() - t
    return mesh, pdepth
