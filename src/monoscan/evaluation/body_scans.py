"""Render 3D scans of people into 2K2K-style training and test maps (front and back views).

2K2K trains on scans rendered to colour, depth and normal maps with keypoints. Here a scan
(OBJ/PLY/GLB, any mesh trimesh reads) is rendered with an orthographic camera looking down
its -z axis (the scan's y is up and it faces +z), framed so its bounding box fills the image
less a margin:

=========================  ================================================================
``front_color.png``         the scan from the front: vertex or texture colours, or grey
                            Lambert shading when it has none
``back_color.png``          the far side, **in the front view's pixel grid** (as seen through
                            the body, i.e. mirrored compared with a photo from behind)
``front_depth.npy``         float32 (S, S): scan z of the nearest surface, scan units, NaN off
``back_depth.npy``          scan z of the farthest surface
``front_normal.png``        RGB = (n + 1) / 2 * 255 of the scan's unit normals, black off;
``back_normal.png``         likewise, for the far surface (normals point away from camera)
``mask.png``                255 where the scan covers the pixel
``keypoints.json``          keypoints in px (x, y) and scan z: from ``<stem>_keypoints.json``
                            beside the scan (``{"names": [...], "points": [[x, y, z], ...]}``,
                            scan units) when present, else MediaPipe Pose on ``front_color``
``camera.json``             ``px = (x - centre[0]) * px_per_unit + S/2``,
                            ``py = -(y - centre[1]) * px_per_unit + S/2``
=========================  ================================================================

plus ``OUT/index.json`` listing every scan rendered (and those that failed, with why).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import trimesh

from monoscan.core.errors import FormatError, InputError
from monoscan.render.raster import rasterize

__all__ = [
    "SCAN_SUFFIXES",
    "ScanMaps",
    "render_scan_maps",
    "render_scan_folder",
    "save_scan_render",
]

SCAN_SUFFIXES = (".obj", ".ply", ".glb", ".gltf", ".off", ".stl")


@dataclass(frozen=True)
class ScanMaps:
    """Front and back maps of one scan (see the module docstring for conventions)."""

    front_color: np.ndarray
    back_color: np.ndarray
    front_depth: np.ndarray
    back_depth: np.ndarray
    front_normal: np.ndarray
    back_normal: np.ndarray
    mask: np.ndarray
    px_per_unit: float
    centre: tuple[float, float]
    keypoints_px: np.ndarray | None = None
    keypoint_names: tuple[str, ...] = ()
    keypoint_source: str = "none"
    notes: tuple[str, ...] = field(default=())

    def project(self, points: np.ndarray) -> np.ndarray:
        """Scan points (N, 3) to (N, 3): px x, px y and scan z."""
        p = np.asarray(points, np.float64)
        s = self.mask.shape[0]
        return np.column_stack(
            [
                (p[:, 0] - self.centre[0]) * self.px_per_unit + s / 2,
                -(p[:, 1] - self.centre[1]) * self.px_per_unit + s / 2,
                p[:, 2],
            ]
        )


def _vertex_colors(mesh: trimesh.Trimesh) -> np.ndarray | None:
    vis = mesh.visual
    try:
        if getattr(vis, "kind", None) == "texture":
            vis = vis.to_color()
        if getattr(vis, "kind", None) == "vertex":
            vc = np.asarray(vis.vertex_colors)
            if len(vc) == len(mesh.vertices):
                return vc[:, :3].astype(np.float64)
        if getattr(vis, "kind", None) == "face":
            fc = np.asarray(vis.face_colors)[:, :3].astype(np.float64)
            vc = np.zeros((len(mesh.vertices), 3))
            cnt = np.zeros(len(mesh.vertices))
            for k in range(3):
                np.add.at(vc, mesh.faces[:, k], fc)
                np.add.at(cnt, mesh.faces[:, k], 1)
            return vc / np.maximum(cnt, 1)[:, None]
    except Exception:  # noqa: BLE001 - a broken texture just means grey shading
        return None
    return None


def render_scan_maps(
    mesh: trimesh.Trimesh,
    size: int = 512,
    margin: float = 0.05,
    keypoints: tuple[list[str], np.ndarray] | None = None,
) -> ScanMaps:
    """Render a scan's front and back maps with an orthographic camera.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        The scan: y up, facing +z, any unit.
    size : int
        Output images are ``size`` x ``size`` px.
    margin : float
        Fraction of the image left free on each side of the scan's larger extent.
    keypoints : (names, (K, 3) array), optional
        3D keypoints in the scan's frame; projected into ``keypoints_px``.

    Returns
    -------
    ScanMaps
    """
    if len(mesh.faces) == 0:
        raise InputError("scan has no triangles")
    v = np.asarray(mesh.vertices, np.float64)
    lo, hi = v.min(0), v.max(0)
    ext = float(max(hi[0] - lo[0], hi[1] - lo[1]))
    if not np.isfinite(ext) or ext <= 0:
        raise InputError("scan has no extent in x and y")
    ppu = (1.0 - 2.0 * margin) * size / ext
    centre = (float(0.5 * (lo[0] + hi[0])), float(0.5 * (lo[1] + hi[1])))
    xy = np.column_stack(
        [(v[:, 0] - centre[0]) * ppu + size / 2, -(v[:, 1] - centre[1]) * ppu + size / 2]
    )
    faces = np.asarray(mesh.faces)
    vn = np.asarray(mesh.vertex_normals, np.float64)
    colors = _vertex_colors(mesh)
    maps = {}
    for side, nearest in (("front", "max"), ("back", "min")):
        depth, fid, bary = rasterize(xy, v[:, 2], faces, (size, size), nearest=nearest)
        hit = fid >= 0
        f = faces[np.maximum(fid, 0)]
        n = (vn[f] * bary[..., None]).sum(2)
        n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
        n[~hit] = 0.0
        if colors is not None:
            col = (colors[f] * bary[..., None]).sum(2)
        else:
            shade = 0.25 + 0.75 * np.abs(n[..., 2])
            col = shade[..., None] * np.array([200.0, 200.0, 200.0])
        col = np.clip(col + 0.5, 0, 255).astype(np.uint8)
        col[~hit] = 0
        maps[side] = (col, depth.astype(np.float32), n.astype(np.float32), hit)
    kp_px, names, source = None, (), "none"
    if keypoints is not None:
        names, pts = keypoints
        pts = np.asarray(pts, np.float64)
        kp_px = np.column_stack(
            [
                (pts[:, 0] - centre[0]) * ppu + size / 2,
                -(pts[:, 1] - centre[1]) * ppu + size / 2,
                pts[:, 2],
            ]
        )
        names, source = tuple(names), "scan keypoints file"
    return ScanMaps(
        front_color=maps["front"][0],
        back_color=maps["back"][0],
        front_depth=maps["front"][1],
        back_depth=maps["back"][1],
        front_normal=maps["front"][2],
        back_normal=maps["back"][2],
        mask=maps["front"][3],
        px_per_unit=float(ppu),
        centre=centre,
        keypoints_px=kp_px,
        keypoint_names=names,
        keypoint_source=source,
    )


def _detect_keypoints(render: ScanMaps) -> ScanMaps:
    from dataclasses import replace

    from monoscan.perception.pose import LANDMARK_NAMES, detect_pose

    img = render.front_color.copy()
    img[~render.mask] = 255  # MediaPipe prefers a plain light background to black
    pose = detect_pose(img)
    if pose is None:
        return replace(render, notes=render.notes + ("no keypoints: MediaPipe found no person",))
    return replace(
        render,
        keypoints_px=pose.landmarks.astype(np.float64),
        keypoint_names=LANDMARK_NAMES,
        keypoint_source="mediapipe pose on front_color",
    )


def _read_keypoints(path: Path) -> tuple[list[str], np.ndarray]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        names = [str(n) for n in data["names"]]
        pts = np.asarray(data["points"], np.float64)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"{path}: not a keypoints file ({exc})") from None
    if pts.ndim != 2 or pts.shape != (len(names), 3) or not np.isfinite(pts).all():
        raise FormatError(f"{path}: expected {len(names)} finite [x, y, z] points")
    return names, pts


def save_scan_render(render: ScanMaps, out_dir: str | os.PathLike) -> list[Path]:
    """Write a :class:`ScanMaps` in the layout of the module docstring."""
    from monoscan.body.depth import encode_normals
    from monoscan.io.atomic import write_text
    from monoscan.io.images import save_png
    from monoscan.io.maps import save_npy

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = [
        save_png(out / "front_color.png", render.front_color),
        save_png(out / "back_color.png", render.back_color),
        save_png(out / "front_normal.png", encode_normals(render.front_normal)),
        save_png(out / "back_normal.png", encode_normals(render.back_normal)),
        save_png(out / "mask.png", render.mask),
    ]
    for name, arr in (
        ("front_depth.npy", render.front_depth),
        ("back_depth.npy", render.back_depth),
    ):
        files.append(save_npy(out / name, arr))
    kp = {
        "source": render.keypoint_source,
        "names": list(render.keypoint_names),
        "frame": "px x right, y down (pixel-corner origin); z in scan units",
        "points": None
        if render.keypoints_px is None
        else np.round(render.keypoints_px, 4).tolist(),
        "notes": list(render.notes),
    }
    files.append(write_text(out / "keypoints.json", json.dumps(kp)))
    cam = {
        "type": "orthographic",
        "size": list(render.mask.shape[::-1]),
        "px_per_unit": render.px_per_unit,
        "centre": list(render.centre),
        "view": "front: looking down the scan's -z axis, y up",
        "formula": "px = (x - centre[0]) * px_per_unit + S/2; "
        "py = -(y - centre[1]) * px_per_unit + S/2",
    }
    files.append(write_text(out / "camera.json", json.dumps(cam, indent=1)))
    return files


def render_scan_folder(
    scans_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    size: int = 512,
    detect: bool = True,
    quiet: bool = True,
) -> dict:
    """Render every scan in ``scans_dir`` (not recursive) into ``out_dir/<stem>/``.

    Returns the index written to ``out_dir/index.json``: rendered stems and failures.
    """
    from monoscan.core.progress import progress
    from monoscan.io.atomic import write_text
    from monoscan.io.meshes import load_mesh

    src = Path(scans_dir)
    if not src.is_dir():
        raise InputError(f"{src}: not a folder of scans")
    scans = sorted(p for p in src.iterdir() if p.suffix.lower() in SCAN_SUFFIXES)
    if not scans:
        raise InputError(f"{src}: no scans ({', '.join(SCAN_SUFFIXES)}) found")
    index = {"size": size, "rendered": [], "failed": []}
    for path in progress(scans, total=len(scans), desc="render scans", quiet=quiet):
        try:
            mesh = load_mesh(path)
            kp_file = path.with_name(f"{path.stem}_keypoints.json")
            kps = _read_keypoints(kp_file) if kp_file.exists() else None
            render = render_scan_maps(mesh, size=size, keypoints=kps)
            if kps is None and detect:
                render = _detect_keypoints(render)
            save_scan_render(render, Path(out_dir) / path.stem)
            index["rendered"].append(path.stem)
        except (InputError, FormatError) as exc:
            index["failed"].append({"scan": path.name, "error": str(exc)})
    write_text(Path(out_dir) / "index.json", json.dumps(index, indent=1))
    return index
