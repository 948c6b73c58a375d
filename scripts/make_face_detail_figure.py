"""Before/after figure of the face detail layer: docs/face_detail.png.

    python scripts/make_face_detail_figure.py [--photo PATH] [--subdivisions 3]

The face mesh of scikit-image's astronaut (public domain; or ``--photo``) is rendered grey,
front and three-quarter, without and with :func:`monoscan.face.detail.add_face_detail`, by the
CPU rasteriser (:func:`monoscan.render.raster.rasterize`, orthographic, one directional light).
Three Loop subdivisions (27,614 vertices, about 1 mm apart) show the detail better than the
pipeline's default two.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from monoscan.face.detail import add_face_detail, vertex_normals
from monoscan.face.mesh import build_face_mesh
from monoscan.render.raster import rasterize

ROOT = Path(__file__).resolve().parents[1]


def shade(vertices: np.ndarray, faces: np.ndarray, yaw_deg: float, size: int, box) -> np.ndarray:
    """Grey Lambert rendering (uint8 RGB), orthographic along -z after a yaw about y."""
    a = np.radians(yaw_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    p = np.asarray(vertices, np.float64) @ rot.T
    n = vertex_normals(vertices, faces) @ rot.T
    (cx, cy), scale = box
    xy = np.c_[(p[:, 0] - cx) * scale + size / 2, size / 2 - (p[:, 1] - cy) * scale]
    _, face, bary = rasterize(xy, p[:, 2], faces, (size, size))
    img = np.full((size, size), 0.85)
    ok = face >= 0
    nn = (n[faces[face[ok]]] * bary[ok][..., None]).sum(1)
    nn /= np.linalg.norm(nn, axis=1, keepdims=True)
    light = np.array([-0.45, 0.55, 0.7])
    light /= np.linalg.norm(light)
    img[ok] = 0.15 + 0.8 * np.clip(nn @ light, 0, 1)
    return np.repeat((img * 255).astype(np.uint8)[..., None], 3, axis=2)


def main() -> None:
    import cv2
    from skimage import data

    from monoscan.face.camera import estimate_camera
    from monoscan.io.images import load_image, save_png
    from monoscan.perception.face import detect_face_landmarks

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photo", type=Path, default=None)
    ap.add_argument("--subdivisions", type=int, default=3)
    ap.add_argument("--size", type=int, default=420)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "face_detail.png")
    args = ap.parse_args()
    rgb = load_image(args.photo).rgb if args.photo else data.astronaut()
    face = detect_face_landmarks(rgb)
    camera = estimate_camera(face.points)
    plain = build_face_mesh(rgb, face.points, camera, args.subdivisions)
    detailed = add_face_detail(plain)
    v = plain.vertices
    lo, hi = v[:, :2].min(0), v[:, :2].max(0)
    box = ((lo + hi) / 2, (args.size - 20) / float(np.max(hi - lo)))
    tiles = []
    for mesh in (plain, detailed):
        tiles.append(
            np.concatenate(
                [shade(mesh.vertices, mesh.faces, yaw, args.size, box) for yaw in (0, 35)], axis=1
            )
        )
    fig = np.concatenate(tiles, axis=1)
    for k, text in enumerate(("without detail", "", "with --face-detail", "")):
        cv2.putText(
            fig,
            text,
            (10 + k * args.size, 28),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.8,
            (30, 30, 30),
            2,
            cv2.LINE_AA,
        )
    save_png(args.out, fig)
    print(f"wrote {args.out} ({fig.shape[1]}x{fig.shape[0]})")


if __name__ == "__main__":
    main()
