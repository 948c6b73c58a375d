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
"""

from __future__ import annotations

import numpy as np

from monoscan.body.fit import FitOptions, fit_body, project
from monoscan.body.model import BodyModel, load_body_model

__all__ = ["similarity_align", "synthetic_body", "synthetic_body_fit"]


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
    from scipy.spatial import cKDTree

    model = model or load_body_model()
    options = options or FitOptions()
    rows = []
    for seed in seeds:
        scene = synthetic_body(model, seed)
        truth = scene["vertices"]
        fit = fit_body(scene["px"], None, scene["world"], None, options, model)
        aligned = similarity_align(fit.vertices, truth)
        d1, _ = cKDTree(truth).query(aligned)
        d2, _ = cKDTree(aligned).query(truth)
        rows.append(
            {
                "seed": int(seed),
                "v2v_cm": float(np.linalg.norm(aligned - truth, axis=1).mean() * 100),
                "chamfer_cm": float((d1.mean() + d2.mean()) / 2 * 100),
                "seconds": float(fit.seconds),
            }
        )
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("v2v_cm", "chamfer_cm", "seconds")}
    return {"scenes": rows, "mean": mean}
