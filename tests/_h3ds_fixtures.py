"""Build H3DS-shaped fixtures (synthetic heads in mm) for the H3DS and head-metric tests.

Not a test module (leading underscore). Shared by tests/test_h3ds.py, test_metrics_head.py,
test_eval_cli.py and benchmarks/bench_eval.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

LANDMARKS = ("right_eye", "left_eye", "nose_tip", "nose_base", "right_lips", "left_lips")
# Target positions (mm) of the landmarks on the synthetic head; +x is the subject's left.
_LANDMARK_XY = {
    "right_eye": (-32.0, 30.0),
    "left_eye": (32.0, 30.0),
    "nose_tip": (0.0, 0.0),
    "nose_base": (0.0, -18.0),
    "right_lips": (-24.0, -45.0),
    "left_lips": (24.0, -45.0),
}


def fibonacci_sphere(n: int) -> trimesh.Trimesh:
    """Unit sphere with exactly ``n`` evenly spread vertices (Fibonacci lattice + convex hull)."""
    from scipy.spatial import ConvexHull

    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    v = np.column_stack([np.cos(theta) * np.sin(phi), np.cos(phi), np.sin(theta) * np.sin(phi)])
    f = ConvexHull(v).simplices
    # Orient every face outward.
    normal = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    flip = (normal * v[f].mean(axis=1)).sum(1) < 0
    f[flip] = f[flip][:, ::-1]
    return trimesh.Trimesh(v, f, process=False)


def synthetic_head(subdivisions: int = 4, *, n_vertices: int | None = None) -> trimesh.Trimesh:
    """An ellipsoid head (150 x 220 x 190 mm) with a nose bump, centred at the origin, mm.

    ``n_vertices`` switches to a Fibonacci sphere with exactly that many vertices.
    """
    if n_vertices is not None:
        sphere = fibonacci_sphere(n_vertices)
    else:
        sphere = trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0)
    v = np.asarray(sphere.vertices, dtype=np.float64) * np.array([75.0, 110.0, 95.0])
    # Nose: a Gaussian bump on the front (z+), 20 mm high.
    r2 = (v[:, 0] / 14.0) ** 2 + ((v[:, 1] + 5.0) / 22.0) ** 2
    v[:, 2] += np.where(v[:, 2] > 0, 20.0 * np.exp(-r2), 0.0)
    # Some asymmetry so that no reflection/rotation is ambiguous.
    v[:, 0] += 0.02 * v[:, 1] * (v[:, 2] > 0)
    return trimesh.Trimesh(v, np.asarray(sphere.faces), process=False)


def landmark_ids(mesh: trimesh.Trimesh) -> dict[str, int]:
    """Vertex ids of the six H3DS landmarks on a synthetic head (front vertices nearest in x, y)."""
    v = np.asarray(mesh.vertices)
    front = np.flatnonzero(v[:, 2] > 20)
    out = {}
    for name in LANDMARKS:
        x, y = _LANDMARK_XY[name]
        d = (v[front, 0] - x) ** 2 + (v[front, 1] - y) ** 2
        out[name] = int(front[np.argmin(d)])
    return out


def regions(mesh: trimesh.Trimesh, lms: dict[str, int]) -> dict[str, np.ndarray]:
    """face (front half above the chin), face_sphere (95 mm of the nose tip), nose (25 mm)."""
    v = np.asarray(mesh.vertices)
    tip = v[lms["nose_tip"]]
    dist = np.linalg.norm(v - tip, axis=1)
    return {
        "face": np.flatnonzero((v[:, 2] > 10) & (v[:, 1] > -90)),
        "face_sphere": np.flatnonzero(dist < 95.0),
        "nose": np.flatnonzero(dist < 25.0),
    }


def similarity(angle_deg: float, axis, scale: float, translation) -> np.ndarray:
    m = trimesh.transformations.rotation_matrix(np.radians(angle_deg), axis)
    m[:3, :3] *= scale
    m[:3, 3] = translation
    return m


def misaligned_prediction(gt: trimesh.Trimesh, seed: int = 0, noise_mm: float = 0.5):
    """The GT moved by a similarity (rotation 20 deg, scale 1.1, shift) plus vertex noise."""
    rng = np.random.default_rng(seed)
    m = similarity(20.0, [0.3, 1.0, 0.1], 1.1, [12.0, -30.0, 25.0])
    v = trimesh.transform_points(np.asarray(gt.vertices), m)
    v = v + rng.normal(scale=noise_mm, size=v.shape)
    return trimesh.Trimesh(v, np.asarray(gt.faces), process=False), m


def remeshed_prediction(subdivisions: int = 3, inflate_mm: float = 1.5):
    """A coarser tessellation of the same head, inflated a little, moved slightly."""
    head = synthetic_head(subdivisions)
    n = head.vertex_normals
    v = np.asarray(head.vertices) + inflate_mm * n
    m = similarity(5.0, [0, 1, 0], 1.0, [3.0, 2.0, -4.0])
    v = trimesh.transform_points(v, m)
    out = trimesh.Trimesh(v, np.asarray(head.faces), process=False)
    return out, landmark_ids(head)


def write_obj(path: Path, mesh: trimesh.Trimesh) -> None:
    """Plain OBJ (v and f lines) that both monoscan and the h3ds reference parser read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    v = np.asarray(mesh.vertices)
    f = np.asarray(mesh.faces) + 1
    with open(path, "w") as fh:
        np.savetxt(fh, v, fmt="v %.6f %.6f %.6f")
        np.savetxt(fh, f, fmt="f %d %d %d")


def _camera(i: int, n: int) -> np.ndarray:
    """world_mat for a camera 600 mm away looking at the origin, on a ring."""
    ang = np.radians(-60 + 120 * i / max(n - 1, 1))
    centre = np.array([600 * np.sin(ang), 0.0, 600 * np.cos(ang)])
    fwd = -centre / np.linalg.norm(centre)  # camera z axis (OpenCV: looking along +z)
    down = np.array([0.0, -1.0, 0.0])
    right = np.cross(down, fwd)
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    R = np.stack([right, down, fwd])  # world -> camera
    t = -R @ centre
    K = np.array([[800.0, 0, 32], [0, 800.0, 24], [0, 0, 1]])
    P = np.eye(4)
    P[:3, :4] = K @ np.column_stack([R, t])
    return P


def write_dataset(
    root: Path,
    scene_ids=("scene_a", "scene_b"),
    *,
    views: int = 3,
    subdivisions: int = 4,
    version: str = "0.4",
    tags=(("h3d-net", "sira++"), ("sira++",)),
) -> dict:
    """Write an H3DS-shaped dataset and its config; returns facts the tests check against."""
    from PIL import Image

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "version.txt").write_text(version + "\n")
    facts = {"cameras": {}, "meshes": {}, "landmarks": {}, "regions": {}}
    lines = [f"version = {version}", 'file_md5 = "0"', "", "[scenes]"]
    for k, sid in enumerate(scene_ids):
        d = root / sid
        mesh = synthetic_head(subdivisions)
        mesh.vertices = np.asarray(mesh.vertices) * (1.0 + 0.05 * k)
        write_obj(d / "full_head.obj", mesh)
        lms = landmark_ids(mesh)
        (d / "landmarks.txt").write_text("".join(f"{n} {i}\n" for n, i in lms.items()))
        regs = regions(mesh, lms)
        (d / "regions").mkdir(parents=True, exist_ok=True)
        for name, idx in regs.items():
            (d / "regions" / f"{name}.txt").write_text("".join(f"{i}\n" for i in idx))
        cams = {f"world_mat_{i}": _camera(i, views) for i in range(views)}
        scale = np.diag([130.0, 130.0, 130.0, 1.0])
        scale[:3, 3] = [0.0, 5.0, 0.0]
        cams["scale_mat_0"] = scale
        np.savez(d / "cameras.npz", **cams)
        (d / "image").mkdir(exist_ok=True)
        (d / "mask").mkdir(exist_ok=True)
        for i in range(views):
            Image.fromarray(np.full((48, 64, 3), 40 * i, np.uint8)).save(
                d / "image" / f"img_{i:04d}.jpg"
            )
            m = np.zeros((48, 64), np.uint8)
            m[10:40, 20:50] = 255
            Image.fromarray(m).save(d / "mask" / f"mask_{i:04d}.png")
        facts["cameras"][sid] = cams
        facts["meshes"][sid] = mesh
        facts["landmarks"][sid] = lms
        facts["regions"][sid] = regs
        tag_list = ", ".join(f"'{t}'" for t in tags[k % len(tags)])
        lines += [
            f"    [scenes.{sid}]",
            f"    tags = [{tag_list}]",
            f"    views = {views}",
            f"        [scenes.{sid}.default_views_configs]",
            "        1 = [0]",
            f"        3 = [0, 1, {views - 1}]",
            "",
        ]
    (root / "config_v2.toml").write_text("\n".join(lines))
    return facts
