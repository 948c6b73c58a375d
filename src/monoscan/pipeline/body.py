"""``monoscan body``: one photo in, the body files out (the only body module touching disk).

Layout of ``OUT/<image-stem>/``:

=====================  ===================================================================
``body.obj/.glb/.ply``  closed mesh, metres, world frame, vertex colours
``front_depth.npy``     float32 (h, w), world z (m) of the front surface, NaN off the body
``back_depth.npy``      same for the back surface
``front_normal.png``    RGB = (n + 1) / 2 * 255 of world normals (x left-of-subject, y up,
                        z toward camera), black off the body; ``back_normal.png`` likewise
``mask.png``            silhouette used (255 = person)
``keypoints.json``      33 MediaPipe landmarks (photo px, visibility, world m) + BODY_25
``keypoints_openpose.json``  the same as an OpenPose BODY_25 file (2K2K's input format)
``parts/*.png``         2K2K's 12 part crops; ``parts/parts.json`` their sizes and affines
``result.json``         everything needed to interpret the above, timings and notes
=====================  ===================================================================

Maps have the photo's size scaled by ``map_scale`` (``--max-size``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from monoscan.body.depth import encode_normals
from monoscan.body.keypoints import keypoints_dict, openpose_dict
from monoscan.body.parts import crop_image
from monoscan.body.reconstruct import BodyOptions, BodyResult, reconstruct_body
from monoscan.io.atomic import write_text
from monoscan.io.results import RESULT_JSON, write_result_json

__all__ = ["result_summary", "run_body", "save_body"]


def result_summary(result: BodyResult) -> dict:
    """JSON-ready description of a :class:`BodyResult` (no arrays)."""
    m = result.mesh
    h, w = result.mask.shape
    return {
        "frame": (
            "world: metres, x to the subject's left, y up, z toward the camera, origin "
            "between the ears on the body's mid-plane; orthographic camera"
        ),
        "people": result.people,
        "cut_off": list(result.cut_off),
        "notes": list(result.notes),
        "height_m": result.height_m,
        "height_source": result.height_source,
        "scale_m_per_px": result.scale,
        "origin_px": [float(v) for v in result.origin_px],
        "map_size": [w, h],
        "map_scale": result.map_scale,
        "projection": (
            "photo px = (x_m / scale_m_per_px + origin_px[0], -y_m / scale_m_per_px + origin_px[1])"
        ),
        "poisson_depth": result.poisson_depth,
        "mesh": {
            "vertices": len(m.vertices),
            "faces": len(m.faces),
            "watertight": bool(m.is_watertight),
            "winding_consistent": bool(m.is_winding_consistent),
            "volume_m3": float(m.volume) if m.is_watertight else None,
            "bounds_m": np.round(m.bounds, 5).tolist(),
        },
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
    }


def save_body(
    result: BodyResult, rgb: np.ndarray, out_dir: str | os.PathLike, extra: dict | None = None
) -> list[Path]:
    """Write every body file into ``out_dir`` (created); returns the paths written."""
    from monoscan.io.images import save_png
    from monoscan.io.maps import save_npy
    from monoscan.io.meshes import save_mesh

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for suffix in (".obj", ".glb", ".ply"):
        files += save_mesh(out / f"body{suffix}", result.mesh)
    save_npy(out / "front_depth.npy", result.front_depth)
    save_npy(out / "back_depth.npy", result.back_depth)
    files += [out / "front_depth.npy", out / "back_depth.npy"]
    files.append(save_png(out / "front_normal.png", encode_normals(result.front_normal)))
    files.append(save_png(out / "back_normal.png", encode_normals(result.back_normal)))
    files.append(save_png(out / "mask.png", result.mask))
    files.append(
        write_text(
            out / "keypoints.json", json.dumps(keypoints_dict(result.pose, result.keypoints_world))
        )
    )
    files.append(
        write_text(out / "keypoints_openpose.json", json.dumps(openpose_dict(result.pose)))
    )
    parts_meta = {}
    for crop in result.parts:
        files.append(save_png(out / "parts" / f"{crop.name}.png", crop_image(rgb, crop)))
        parts_meta[crop.name] = {
            "size_hw": list(crop.size),
            "affine_photo_to_crop": np.round(crop.affine, 6).tolist(),
        }
    files.append(
        write_text(
            out / "parts" / "parts.json",
            json.dumps(
                {
                    "convention": "crop_px = A[:, :2] @ photo_px + A[:, 2]; pixel-corner origin",
                    "parts": parts_meta,
                },
                indent=1,
            ),
        )
    )
    summary = result_summary(result)
    summary.update(extra or {})
    summary["files"] = sorted({str(p.relative_to(out)) for p in files} | {RESULT_JSON})
    files.append(write_result_json(out, summary, indent=1))
    return files


def run_body(
    source, out_dir: str | os.PathLike, options: BodyOptions | None = None
) -> tuple[BodyResult, Path]:
    """Load a photo, reconstruct the body and write ``out_dir/<stem>/``.

    Returns the result and the folder written.
    """
    from monoscan.io.images import load_image

    t = time.perf_counter()
    photo = load_image(source)
    load_s = time.perf_counter() - t
    result = reconstruct_body(photo.rgb, options or BodyOptions())
    folder = Path(out_dir) / photo.stem
    t = time.perf_counter()
    extra = {
        "input": str(photo.path) if photo.path else None,
        "input_sha256": photo.sha256,
        "input_size": [photo.width, photo.height],
        "input_notes": list(photo.notes),
    }
    result.timings["load"] = load_s
    save_body(result, photo.rgb, folder, extra)
    result.timings["write"] = time.perf_counter() - t
    return result, folder
