"""The parametric body fit scored against bodies of the model itself (exact truth).

Protocol (:func:`synthetic_body_fit`): for each seed, a body of the model with random
phenotype (sliders uniform in [0.2, 0.8]) and random pose (joint rotations N(0, 0.25 rad),
spine, neck and head x0.4, hip flexion N(0, 0.12), knees flexed |N(0, 0.15)| about their
hinge with N(0, 0.04) off it: a standing person; a turn of up to +-0.5 rad about the
vertical); its 33 regressed
landmarks projected with a known orthographic camera (500 px/m) plus N(0, 1 px) noise, and
its metric landmarks (hip-centred, in MediaPipe's axes) plus N(0, 2 cm) noise standing for
MediaPipe's world landmarks. The fitted mesh is aligned to the truth by a similarity (scale,
rotation, translation; Umeyama on the corresponding vertices: the scale-aligned protocol),
then scored: mean vertex-to-vertex distance and symmetric Chamfer distance (the mean of both
directions' nearest-vertex distances), in cm.

Clothed (:func:`synthetic_clothed_fit`): the same bodies (the model's main surface subdivided
once, as :mod:`monoscan.body.clothed` uses it) wearing smooth clothing-like offsets along their
normals (:func:`clothing_offsets`), rendered with a perspective camera of the focal length the
fit assumes (1.2 x the photo's longer side, about 45 degrees) on a 1100 x 800 photo at 500 px/m
at the body's root: the rendered silhouette is the person mask, the render's depth the front
depth (only its high-pass below 2 cm is used), the naked body's 33 landmarks projected plus
N(0, 1 px) the 2D pose and its metric landmarks plus N(0, 2 cm) the world pose. The pipeline's
own :func:`~monoscan.body.fit.fit_reconstruction` and :func:`~monoscan.body.clothed.clothed_body`
run on that, and the clothed mesh (same topology as the truth) is aligned to the truth by the
same similarity: Chamfer = the mean of both directions' exact point-to-surface distances over
the vertices, P2S = prediction vertices to the true surface, and the nearest-vertex Chamfer,
in cm; the naked fit scored the same way against the clothed truth says what the clothing adds.
Perception is replaced by truth plus noise here: this scores the fit and the clothing only.
"""

from __future__ import annotations

import numpy as np

from monoscan.body.fit import FitOptions, fit_body, project
from monoscan.body.model import BodyModel, load_body_model

__all__ = [
    "clothing_offsets",
    "similarity_align",
    "synthetic_body",
    "synthetic_body_fit",
    "synthetic_clothed_body",
    "synthetic_clothed_fit",
]


def similarity_align(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Points ``a`` (N, 3) moved onto their counterparts ``b`` by the least-squares similarity
    (Umeyama 1991)."""
    ma, mb = a.mean(0), b.mean(0)
    aa, bb = a - ma, b - mb
    u, s, vt = np.linalg.svd(bb.T @ aa)
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    r = u @ d @ vt
    scale = (s * np.diag(d)).sum() / (aa**2).sum()
    return scale * aa @ r.T + mb


def synthetic_body(model: BodyModel, seed: int) -> dict:
    """One synthetic scene: truth vertices (m), landmarks px and noisy world landmarks."""
    rng = np.random.default_rng(seed)
    pheno = rng.uniform(0.2, 0.8, 6)
    rot = rng.normal(0, 0.25, (model.n_joints, 3))
    rot[0] = [0.0, rng.uniform(-0.5, 0.5), 0.0]
    rot[[1, 2, 3, 4]] *= 0.4
    for hip in (13, 16):  # standing: thighs swing little forward or back
        rot[hip, 0] = rng.normal(0, 0.12)
    for knee in (14, 17):  # hinges: flexion only (the shin goes back)
        rot[knee] = [abs(rng.normal(0, 0.15)), rng.normal(0, 0.04), rng.normal(0, 0.04)]
    verts, _ = model.pose(pheno, rot)
    lm = model.landmarks(verts)
    px = project(lm, 500.0, np.array([400.0, 500.0])) + rng.normal(0, 1.0, (33, 2))
    world = (lm - lm[[23, 24]].mean(0)) * np.array([1.0, -1.0, -1.0])
    world += rng.normal(0, 0.02, (33, 3))
    return {"vertices": verts, "phenotype": pheno, "rotvecs": rot, "px": px, "world": world}


def synthetic_body_fit(
    seeds=(0, 1, 2), options: FitOptions | None = None, model: BodyModel | None = None
) -> dict:
    """Fit each synthetic scene back; per-seed and mean scores (cm, s)."""
    from monoscan.metrics.surface import chamfer, nearest_vertex_distances

    model = model or load_body_model()
    options = options or FitOptions()
    rows = []
    for seed in seeds:
        scene = synthetic_body(model, seed)
        truth = scene["vertices"]
        fit = fit_body(scene["px"], None, scene["world"], None, options, model)
        aligned = similarity_align(fit.vertices, truth)
        d1, _ = nearest_vertex_distances(aligned, truth)
        d2, _ = nearest_vertex_distances(truth, aligned)
        rows.append(
            {
                "seed": int(seed),
                "v2v_cm": float(np.linalg.norm(aligned - truth, axis=1).mean() * 100),
                "chamfer_cm": chamfer(d1, d2) * 100,
                "seconds": float(fit.seconds),
            }
        )
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("v2v_cm", "chamfer_cm", "seconds")}
    return {"scenes": rows, "mean": mean}


#: The clothed renders' photo (rows, columns), px per metre at the body's root and the root's
#: pixel: a standing body of the model fills most of the frame's height.
CLOTHED_IMAGE = (1100, 800)
CLOTHED_PX_PER_M = 500.0
CLOTHED_ROOT_PX = np.array([400.0, 520.0])


def clothing_offsets(vertices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Smooth clothing-like displacement (m, >= 0) for each vertex (m, body frame): 5 mm of cloth
    everywhere plus 12 Gaussian bumps of 12 cm radius and up to 3 cm height centred on random
    vertices (a loose shirt, baggy trousers, a hood), capped at 4 cm."""
    v = np.asarray(vertices, np.float64)
    centres = v[rng.choice(len(v), 12, replace=False)]
    heights = rng.uniform(0.0, 0.03, 12)
    d2 = ((v[:, None, :] - centres[None]) ** 2).sum(-1)
    bumps = (heights * np.exp(-d2 / (2 * 0.12**2))).sum(1)
    return np.minimum(0.005 + bumps, 0.04)


def synthetic_clothed_body(model: BodyModel, seed: int) -> dict:
    """One clothed render (see the module docstring): truth, mask, front depth, poses."""
    import trimesh

    from monoscan.body.clothed import main_surface
    from monoscan.render.raster import rasterize

    scene = synthetic_body(model, seed)
    rng = np.random.default_rng([seed, 1])
    naked, faces = main_surface(scene["vertices"], model.faces, 1)
    normals = trimesh.Trimesh(naked, faces, process=False).vertex_normals
    clothed = naked + clothing_offsets(naked, rng)[:, None] * normals
    distance = FitOptions().focal_factor * max(CLOTHED_IMAGE) / CLOTHED_PX_PER_M
    px = project(clothed, CLOTHED_PX_PER_M, CLOTHED_ROOT_PX, distance)
    front_z, face, _ = rasterize(px, clothed[:, 2], faces, CLOTHED_IMAGE)
    landmarks = model.landmarks(scene["vertices"])
    lm_px = project(landmarks, CLOTHED_PX_PER_M, CLOTHED_ROOT_PX, distance)
    return {
        "clothed": clothed,
        "naked": naked,
        "faces": faces,
        "mask": face >= 0,
        "front_z": front_z.astype(np.float32),
        "landmarks_px": lm_px + rng.normal(0, 1.0, (33, 2)),
        "world": scene["world"],
        "distance_m": distance,
    }


def _surface_scores(pred: np.ndarray, truth: np.ndarray, faces: np.ndarray) -> dict:
    """cm: Chamfer (exact point-to-surface, both ways), P2S, nearest-vertex Chamfer."""
    import trimesh

    from monoscan.metrics.surface import chamfer, nearest_vertex_distances, point_to_surface

    p2s = point_to_surface(pred, trimesh.Trimesh(truth, faces, process=False), exact=True)
    s2p = point_to_surface(truth, trimesh.Trimesh(pred, faces, process=False), exact=True)
    d1, _ = nearest_vertex_distances(pred, truth)
    d2, _ = nearest_vertex_distances(truth, pred)
    return {
        "chamfer_cm": chamfer(p2s.distances, s2p.distances) * 100,
        "p2s_cm": float(p2s.distances.mean() * 100),
        "chamfer_vertex_cm": chamfer(d1, d2) * 100,
    }


def synthetic_clothed_fit(seeds=(0, 1, 2), model: BodyModel | None = None) -> dict:
    """Fit and clothe each clothed render (see the module docstring); per-seed and mean
    scores: the clothed body, and the naked fit, against the clothed truth (cm, s)."""
    import time

    from monoscan.body.clothed import clothed_body, main_surface
    from monoscan.body.fit import fit_reconstruction
    from monoscan.body.reconstruct import BodyResult
    from monoscan.perception.pose import PoseResult

    model = model or load_body_model()
    h, w = CLOTHED_IMAGE
    rows = []
    for seed in seeds:
        sc = synthetic_clothed_body(model, seed)
        pose = PoseResult(
            landmarks=np.c_[sc["landmarks_px"], np.zeros(33)].astype(np.float32),
            visibility=np.ones(33, np.float32),
            world=sc["world"].astype(np.float32),
        )
        result = BodyResult(
            mesh=None,
            front_depth=sc["front_z"],
            back_depth=np.full((h, w), np.nan, np.float32),
            front_normal=np.zeros((h, w, 3), np.float32),
            back_normal=np.zeros((h, w, 3), np.float32),
            mask=sc["mask"],
            pose=pose,
            keypoints_world=np.zeros((33, 3)),
            parts=[],
            scale=1.0 / CLOTHED_PX_PER_M,
            origin_px=np.array([*CLOTHED_ROOT_PX, 0.0]),
            map_scale=1.0,
            height_m=float(np.ptp(sc["clothed"][:, 1])),
            height_source="truth",
            poisson_depth=None,
        )
        t = time.perf_counter()
        naked = fit_reconstruction(result)
        clothed = clothed_body(naked, result)
        seconds = time.perf_counter() - t
        truth, faces = sc["clothed"], sc["faces"]
        pred = np.asarray(clothed.mesh.vertices)
        row = {"seed": int(seed), "seconds": seconds}
        row.update(_surface_scores(similarity_align(pred, truth), truth, faces))
        naked_pred, _ = main_surface(naked.vertices, model.faces, 1)
        for k, v in _surface_scores(similarity_align(naked_pred, truth), truth, faces).items():
            row["naked_" + k] = v
        rows.append(row)
    keys = [k for k in rows[0] if k != "seed"]
    return {"scenes": rows, "mean": {k: float(np.mean([r[k] for r in rows])) for k in keys}}
