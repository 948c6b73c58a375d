"""Pack the ICT Face Model (MIT) into monoscan's head model file, with the MediaPipe correspondence.

Writes ``src/monoscan/models/ict_head.npz`` from ``../shared/data/ict_facekit/ict_facekit.npz``
(ICT Face Model Light, USC Institute for Creative Technologies, MIT licence; the licence is
``src/monoscan/models/ICT_FACEKIT_LICENSE``). What is kept: the skin surface (face, head and
neck: ICT vertices 0-11247), its neutral shape, the 100 identity components and the 57 expression
shapes (float16 deltas, metres), its triangles, its UVs (the kit's UDIM tiles, per triangle
corner: the layout has seams) and the 68 landmark ids; the eyeballs (neutral
and identity, for the eyes of the head). Units become metres, the frame stays y up, z forward
(monoscan's world frame: x to the subject's left).

The correspondence from MediaPipe's 468 face-mesh points to the ICT skin (a triangle and
barycentric weights for each) is made here, once:

1. MediaPipe's landmarks of the development portraits (``../shared/data/portraits``:
   research-only photos; only this correspondence is derived from them; the AFLW2000 photos
   are held out for the 68-point NME of ``benchmarks/bench_ict_fit.py``)
   are lifted to metres with monoscan's camera and brought into one frame by similarity
   Procrustes: their mean is a MediaPipe "canonical face" of real people.
2. The ICT model is fitted to that mean through the 51 inner iBUG-68 points (the ICT kit's
   landmark ids on one side, monoscan's MediaPipe-to-68 mapping on the other): similarity,
   identity and expression, regularised.
3. Each MediaPipe point goes to its closest point on the fitted ICT skin; the triangle and
   barycentric weights found there are what is stored (they hold for any identity).

Run (about a minute)::

    python scripts/build_ict_head.py --data ../shared/data

The result is deterministic (no randomness). The measured precision loss of float16 storage is
printed (max vertex error over the 100 identity extremes at +-3 sigma).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

OUT = ROOT / "src" / "monoscan" / "models" / "ict_head.npz"
SKIN = slice(0, 11248)  # face 0-9408, head and neck 9409-11247 (the kit's README)
EYEBALLS = slice(21451, 24591)  # sclera and iris, left then right
CM = 0.01


def triangles(faces: np.ndarray, keep: int, face_uv: np.ndarray | None = None):
    """Split quads (and -1-padded triangles) into triangles; keep those within ``keep`` vertices.
    With ``face_uv``, also the matching per-corner uv indices."""
    tri, tri_uv = [], []
    for k, f in enumerate(faces):
        used = f >= 0
        f = f[used]
        if len(f) < 3 or f.max() >= keep:
            continue
        fu = face_uv[k][used] if face_uv is not None else f
        for corners in ([0, 1, 2], [0, 2, 3])[: len(f) - 2]:
            tri.append(f[corners])
            tri_uv.append(fu[corners])
    tri = np.asarray(tri, np.int32)
    return tri if face_uv is None else (tri, np.asarray(tri_uv, np.int32))


def mediapipe_world_points(data: Path) -> list[np.ndarray]:
    """(468, 3) world points (metres) of every development photo with a face."""
    from monoscan.core.errors import MonoscanError
    from monoscan.face.camera import estimate_camera
    from monoscan.io.images import load_image
    from monoscan.perception.face import detect_face_landmarks

    # Only the portraits: landmarks_aflw2000 stays held out for the 68-point NME.
    photos = sorted((data / "portraits").glob("*"))
    out = []
    for p in photos:
        if p.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        try:
            face = detect_face_landmarks(load_image(p).rgb)
        except MonoscanError:
            continue
        out.append(estimate_camera(face.points).photo_to_world(face.points)[:468])
    return out


def mean_shape(shapes: list[np.ndarray]) -> np.ndarray:
    """Generalised Procrustes mean (similarity) of point sets, in the first one's frame."""
    from monoscan.core.geometry import similarity_transform

    mean = shapes[0]
    for _ in range(5):
        aligned = []
        for s in shapes:
            scale, rot, t = similarity_transform(s, mean)
            aligned.append(scale * s @ rot.T + t)
        mean = np.mean(aligned, axis=0)
    return mean


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    import trimesh

    from monoscan.head.ict import IctModel, fit_ict
    from monoscan.perception.landmarks68 import landmarks68_from_mesh

    kit = np.load(args.data / "ict_facekit" / "ict_facekit.npz")
    n_skin = SKIN.stop
    neutral = kit["neutral"][SKIN].astype(np.float64) * CM
    identity = kit["identity_deltas"][:, SKIN].astype(np.float64) * CM
    expression = kit["expression_deltas"][:, SKIN].astype(np.float64) * CM
    faces, face_uv = triangles(kit["faces"], n_skin, kit["face_uv"])
    # The kit's Multi-PIE 68-point landmark vertex ids (its README), iBUG order.
    lm68 = np.array(
        [
            1225,
            1888,
            1052,
            367,
            1719,
            1722,
            2199,
            1447,
            966,
            3661,
            4390,
            3927,
            3924,
            2608,
            3272,
            4088,
            3443,
            268,
            493,
            1914,
            2044,
            1401,
            3615,
            4240,
            4114,
            2734,
            2509,
            978,
            4527,
            4942,
            4857,
            1140,
            2075,
            1147,
            4269,
            3360,
            1507,
            1542,
            1537,
            1528,
            1518,
            1511,
            3742,
            3751,
            3756,
            3721,
            3725,
            3732,
            5708,
            5695,
            2081,
            0,
            4275,
            6200,
            6213,
            6346,
            6461,
            5518,
            5957,
            5841,
            5702,
            5711,
            5533,
            6216,
            6207,
            6470,
            5517,
            5966,
        ],
        np.int32,
    )
    # float16 deltas: measure what is lost at +-3 sigma of every identity component.
    worst = 0.0
    for k in range(len(identity)):
        err = np.abs(3 * (identity[k].astype(np.float16).astype(np.float64) - identity[k])).max()
        worst = max(worst, float(err))
    print(f"float16 storage: largest vertex error at 3 sigma of one component {worst * 1e6:.1f} um")

    model = IctModel(
        neutral=neutral,
        identity=identity,
        expression=expression,
        expression_names=tuple(str(n) for n in kit["expression_names"]),
        faces=faces,
        uv_coords=kit["uv"].astype(np.float32),
        face_uv=face_uv,
        landmarks68=lm68,
        mediapipe_faces=np.zeros(0, np.int32),
        mediapipe_bary=np.zeros((0, 3)),
        eyeball_neutral=np.zeros((0, 3)),
        eyeball_identity=np.zeros((0, 0, 3), np.float32),
        eyeball_faces=np.zeros((0, 3), np.int32),
    )

    shapes = mediapipe_world_points(args.data)
    print(f"MediaPipe landmarks of {len(shapes)} development photos")
    mean = mean_shape(shapes)
    inner = np.arange(17, 68)  # the jaw line of iBUG-68 depends on the view: not used here
    target68 = landmarks68_from_mesh(mean)[inner]
    ids = lm68[inner]
    bary = np.tile([1.0, 0.0, 0.0], (len(ids), 1))
    fit = fit_ict(model, target68, np.stack([ids] * 3, axis=1), bary, n_identity=40)
    print(f"ICT fit to the mean face's 51 inner points: {fit.residual_mm:.2f} mm RMS")
    # MediaPipe points onto the fitted skin, in the model's frame; then refit to all 468
    # through the new correspondence and project again (the fit and the places agree more).
    for round_ in range(3):
        mesh = trimesh.Trimesh(fit.model_vertices, faces, process=False)
        closest, dist, tri = trimesh.proximity.closest_point(mesh, fit.to_model(mean))
        bary = trimesh.triangles.points_to_barycentric(mesh.triangles[tri], closest)
        print(
            f"round {round_}: mean MediaPipe face to the fitted skin: median "
            f"{np.median(dist) * 1000:.2f} mm, 95% {np.percentile(dist, 95) * 1000:.2f} mm"
        )
        fit = fit_ict(model, mean, faces[tri], bary, n_identity=40)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    eyes = slice(EYEBALLS.start, EYEBALLS.stop)
    np.savez_compressed(
        OUT,
        neutral=neutral.astype(np.float32),
        identity=identity.astype(np.float16),
        expression=expression.astype(np.float16),
        expression_names=np.array(model.expression_names),
        faces=faces,
        uv_coords=kit["uv"].astype(np.float32),
        face_uv=face_uv,
        landmarks68=lm68,
        mediapipe_faces=faces[tri].astype(np.int32),
        mediapipe_bary=bary.astype(np.float32),
        eyeball_neutral=(kit["neutral"][eyes] * CM).astype(np.float32),
        eyeball_identity=(kit["identity_deltas"][:, eyes] * CM).astype(np.float16),
        eyeball_faces=_eyeball_faces(kit["faces"]),
    )
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB)")
    return 0


def _eyeball_faces(faces: np.ndarray) -> np.ndarray:
    tri = triangles(faces, EYEBALLS.stop)
    tri = tri[(tri >= EYEBALLS.start).all(1)]
    return (tri - EYEBALLS.start).astype(np.int32)


if __name__ == "__main__":
    sys.exit(main())
