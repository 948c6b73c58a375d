"""Write a :class:`~monoscan.pipeline.photo.Reconstruction` into its result folder.

Every artifact is written atomically and recorded with what it holds; ``result.json`` comes
last (:mod:`monoscan.io.results`, which owns the folder's names), so a folder without it is an
incomplete run.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from monoscan.core.photo import Photo
from monoscan.core.version import __version__
from monoscan.io import results
from monoscan.io.results import MESH_FORMATS, SCHEMA_VERSION, STRAND_FILES, mesh_name
from monoscan.pipeline.options import Options
from monoscan.pipeline.photo import Reconstruction, timed

__all__ = ["output_dir", "package_versions", "write_outputs"]


def output_dir(out: str | os.PathLike, photo: Photo) -> Path:
    """``OUT/<image-stem>/``."""
    return results.output_dir(out, photo.stem)


def write_outputs(
    recon: Reconstruction,
    out: str | os.PathLike,
    options: Options | None = None,
    overwrite: bool = False,
    *,
    name: str | None = None,
) -> Path:
    """Write every artifact of ``recon`` into ``OUT/<image-stem>/``; return the result.json path.

    See ``result.json``'s ``artifacts`` for what each file is. ``name`` replaces the image stem
    as the folder name (several views of one person: the first image's stem).
    """
    from monoscan.io.atomic import write_text
    from monoscan.io.images import save_png
    from monoscan.io.meshes import save_mesh
    from monoscan.render.overlay import draw_overlay

    options = options or Options()
    directory = Path(out) / name if name else output_dir(out, recon.photo)
    results.prepare_output_dir(directory, overwrite)
    t = dict(recon.timings)
    artifacts = results.Artifacts()
    record = artifacts.record

    with timed(t, "write"):
        if recon.face is not None:  # a photo without a face has only the hair maps
            _write_face(recon, directory, options, record)
        save_png(directory / "crop.png", recon.crop.image)
        record("crop.png", "512x512 HairStep crop of the photo (zero-padded)", units="pixels")
        write_text(directory / "crop.json", json.dumps(recon.crop.to_json(), indent=2))
        record("crop.json", "affine transforms between the photo and crop.png", units="pixels")
        if recon.person_mask is not None:
            save_png(
                directory / "person_mask.png",
                (np.clip(recon.person_mask, 0, 1) * 255 + 0.5).astype(np.uint8),
            )
            record(
                "person_mask.png",
                "person probability (255 = person), photo size",
                units="probability x 255",
            )
        if recon.occlusion is not None:
            save_png(directory / "occlusion_mask.png", recon.occlusion.astype(np.uint8) * 255)
            record(
                "occlusion_mask.png",
                "what covers the face (255 = occluded: hair, hands, "
                "objects; inpainted in the face texture), photo size",
                units="pixels",
                occluded_px=int(recon.occlusion.sum()),
            )
        if recon.hair is not None:
            _write_hair_maps(recon, directory, record)
        if recon.head is not None:
            _write_head(recon, directory, options, record)
        if recon.strands is not None:
            _write_strands(recon, directory, options, record)
        if recon.head_with_hair is not None:
            _write_head_with_hair(recon, directory, options, record)
        if recon.relief is not None and "obj" in options.formats:
            save_mesh(directory / results.RELIEF, recon.relief)
            record(
                results.RELIEF,
                "Deep3dPortrait-style 2.5D relief: one open mesh over the face, "
                "hair and ears seen from the camera (no back), vertex colours from the photo",
                units="metres",
                frame="world (y up, x subject's left, z toward camera)",
                vertices=len(recon.relief.vertices),
                faces=len(recon.relief.faces),
                watertight=False,
            )
        if recon.body is not None:
            from monoscan.pipeline.body import save_body

            save_body(recon.body, recon.photo.rgb, directory / results.BODY_DIR, photo=recon.photo)
            record(
                "body/",
                "full body: body.obj/.glb/.ply, front/back depth and normals, "
                "keypoints, part crops; body/result.json describes them",
                units="metres (world frame)",
            )
        save_png(directory / results.OVERLAY, draw_overlay(recon))
        record(results.OVERLAY, "photo with landmarks, face box, person outline", units="pixels")

    result = {
        "schema_version": SCHEMA_VERSION,
        "monoscan_version": __version__,
        "input": {
            "path": str(recon.photo.path) if recon.photo.path else None,
            "sha256": recon.photo.sha256,
            "width": recon.photo.width,
            "height": recon.photo.height,
            "notes": list(recon.photo.notes),
        },
        "options": {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(options).items()
        },
        "face": None
        if recon.face is None
        else {
            "index": recon.face.face_index,
            "faces_found": recon.face.n_faces,
            "box_px": list(recon.face.box.box),
            "detector_score": recon.face.box.score,
        },
        "camera": None if recon.camera is None else recon.camera.to_json(),
        "hair3d": None
        if recon.hair_volume is None
        else {
            "strands": int(recon.strands.n_strands),
            "points": int(recon.strands.n_points),
            **{
                k: recon.hair_volume.info.get(k)
                for k in ("shape", "voxel_size_m", "n_roots", "curliness_m")
            },
        },
        "pose": None
        if recon.pose is None
        else {
            "landmarks_px": np.round(recon.pose.landmarks, 2).tolist(),
            "visibility": np.round(recon.pose.visibility, 3).tolist(),
        },
        "artifacts": artifacts,
        "timings_s": {k: round(v, 4) for k, v in t.items()},
        "notes": recon.notes,
        "skipped": dict(recon.skipped),
        "versions": package_versions(),
    }
    return results.write_result_json(directory, result)


def _write_face(recon: Reconstruction, directory: Path, options: Options, record) -> None:
    from monoscan.io.maps import save_npy
    from monoscan.io.meshes import save_mesh

    mesh = recon.face_mesh
    for fmt in (f for f in options.formats if f in MESH_FORMATS):
        textured = fmt != "ply"
        paths = save_mesh(directory / mesh_name("face", fmt), mesh.to_trimesh(textured=textured))
        record(
            mesh_name("face", fmt),
            "dense face mesh, "
            + ("textured from the photo" if textured else "vertex colours from the photo"),
            units="metres",
            frame="world (y up, x subject's left, z toward camera)",
            vertices=len(mesh.vertices),
            faces=len(mesh.faces),
            watertight=False,
            companions=[p.name for p in paths[1:]],
        )
    save_npy(directory / "landmarks68.npy", recon.landmarks68_crop)
    record(
        "landmarks68.npy",
        "iBUG 68 landmarks (68x3) in the 512x512 HairStep crop",
        units="crop pixels (x right, y down; z relative depth, same scale, smaller = closer)",
    )
    save_npy(directory / "landmarks68_photo.npy", recon.landmarks68_photo)
    record(
        "landmarks68_photo.npy",
        "iBUG 68 landmarks (68x3) in the original photo",
        units="photo pixels (x right, y down; z relative depth, same scale)",
    )
    save_npy(directory / "face_landmarks478.npy", recon.face.points)
    record(
        "face_landmarks478.npy",
        "MediaPipe face mesh landmarks (478x3; 468-477 iris)",
        units="photo pixels (z relative depth, same scale, smaller = closer)",
    )


def _write_head(recon: Reconstruction, directory: Path, options: Options, record) -> None:
    from monoscan.head.landmarks import write_h3ds_landmarks
    from monoscan.io.atomic import write_text
    from monoscan.io.meshes import save_glb, save_mesh

    head = recon.head
    eyes = _eye_meshes(head)
    for fmt in (f for f in options.formats if f in MESH_FORMATS):
        textured = fmt != "ply"
        written = head.to_trimesh(textured=textured)
        if fmt == "glb":
            paths = save_glb(directory / mesh_name("head", fmt), {"head": written, **eyes})
        else:
            paths = save_mesh(directory / mesh_name("head", fmt), written)
        record(
            mesh_name("head", fmt),
            (
                "closed head and neck: the ICT Face Model fitted to the photo (vertices split "
                "at UV seams when textured; the first ones are the closed mesh's; the eye "
                "openings closed inside the eyeballs), "
                if head.ict is not None
                else "closed head: the photo's face blended into our parametric skull, ears "
                "and neck, "
            )
            + ("textured" if textured else "vertex colours")
            + (
                f"; {len(eyes)} eyeball meshes after it ({', '.join(eyes)})"
                if eyes and fmt == "glb"
                else ""
            )
            + (
                "; expression removed (--expression neutral)"
                if options.expression == "neutral"
                else ""
            ),
            units="metres",
            frame="world (y up, x subject's left, z toward camera)",
            vertices=len(written.vertices),
            faces=len(written.faces),
            watertight=True,
            companions=[p.name for p in paths[1:]],
        )
    write_h3ds_landmarks(directory / results.H3DS_LANDMARK_FILES["head"], recon.head_landmarks)
    record(
        results.H3DS_LANDMARK_FILES["head"],
        "H3DS landmarks on head.*: lines 'name vertex_index'",
        units="vertex indices",
    )
    if options.blendshapes and head.ict is not None:
        _write_blendshapes(head, directory, options, record)
    fit = {"parametric": head.head.to_json()}
    if head.ict is not None:
        fit["ict"] = {**head.ict.to_json(), "expression_in_head": options.expression == "photo"}
    write_text(directory / "head_fit.json", json.dumps(fit, indent=2))
    record(
        "head_fit.json",
        "head fits: 'ict' (the ICT Face Model's identity and expression coefficients, scale, "
        "pose; head.* when present) and 'parametric' (our parametric head: its frame places "
        "the scalp and the USC strands)",
        units="metres; identity in standard deviations, expression weights 0-1",
    )


def _eye_meshes(head) -> dict:
    """The head's eyeballs as vertex-coloured meshes named ``eye_left`` / ``eye_right``."""
    import trimesh

    return {
        f"eye_{eye.side}": trimesh.Trimesh(
            eye.vertices,
            eye.faces,
            vertex_colors=np.c_[eye.vertex_colors, np.full(len(eye.vertices), 255)],
            process=False,
        )
        for eye in head.eyes
    }


def _write_blendshapes(head, directory: Path, options: Options, record) -> None:
    from monoscan.core.meshes import split_uv_seams
    from monoscan.head.ict_head import expression_rig
    from monoscan.io.blendshapes import write_blendshape_usd
    from monoscan.io.images import save_png
    from monoscan.io.meshes import MorphTargets, save_glb

    rig = expression_rig(head)
    textured = rig.to_trimesh(textured=True)
    # The textured copy repeats vertices at UV seams: each takes its source vertex's offsets.
    source = split_uv_seams(np.arange(len(rig.vertices))[:, None], rig.faces, rig.corner_uv)[0]
    targets = MorphTargets(rig.names, rig.offsets[:, source[:, 0]], rig.weights)
    eyes = _eye_meshes(head)
    save_glb(directory / "expressions.glb", {"head": textured, **eyes}, {"head": targets})
    what = (
        "the fitted ICT head at the model's resolution, expression removed, with its "
        f"{len(rig.names)} ARKit-style expression shapes"
    )
    record(
        "expressions.glb",
        f"{what} as morph targets (extras.targetNames; the mesh's default weights are the "
        "photo's), textured, and the eyeballs",
        units="metres",
        frame="world (y up, x subject's left, z toward camera)",
        vertices=len(textured.vertices),
        faces=len(textured.faces),
    )
    save_png(directory / "expressions.png", rig.texture)
    # Binary unless text is asked for: the text file is about four times larger (15 MB).
    usd_name = "expressions.usda" if "usda" in options.formats else "expressions.usdc"
    write_blendshape_usd(
        directory / usd_name,
        rig.vertices,
        rig.faces,
        rig.names,
        rig.offsets,
        rig.weights,
        corner_uv=rig.corner_uv,
        texture_file="expressions.png",
        vertex_colors=rig.vertex_colors,
        extra_meshes={f"Eye_{e.side}": (e.vertices, e.faces, e.vertex_colors) for e in head.eyes},
    )
    record(
        usd_name,
        f"{what} as UsdSkel blend shapes (/Head/Skin; the photo's weights on "
        "/Head/Skeleton/Expression), texture expressions.png, and the eyeballs",
        units="metres",
        frame="world (y up, x subject's left, z toward camera)",
        vertices=len(rig.vertices),
        faces=len(rig.faces),
        companions=["expressions.png"],
    )


def _write_strands(recon: Reconstruction, directory: Path, options: Options, record) -> None:
    from monoscan.hair.frames import to_usc_frame
    from monoscan.hair.reconstruct3d import occupancy_surface
    from monoscan.hair.volume import MIN_PIECE_FRACTION, drop_small_pieces
    from monoscan.io.meshes import save_mesh
    from monoscan.io.strands import write_strands

    strands = recon.strands
    meaning = f"{strands.n_strands} hair strands, root to tip"
    world = "metres, world frame (y up, x subject's left, z toward camera)"
    names = STRAND_FILES
    for fmt in options.formats:
        if fmt in names:
            write_strands(directory / names[fmt], strands)
            record(
                names[fmt],
                meaning + (" (lines for web viewers)" if fmt == "glb" else ""),
                units=world,
                strands=int(strands.n_strands),
                points=int(strands.n_points),
            )
    if "data" in options.formats:
        write_strands(directory / results.STRANDS_USC, to_usc_frame(strands, recon.head.head))
        record(
            results.STRANDS_USC,
            meaning + ", in the USC-HairSalon head's frame",
            units="metres, USC-HairSalon frame (y up; its head spans y 1.55-1.89)",
        )
    if "obj" in options.formats:
        surface, pieces = drop_small_pieces(occupancy_surface(recon.hair_volume))
        save_mesh(directory / results.HAIR_VOLUME, surface)
        record(
            results.HAIR_VOLUME,
            "closed surface of the hair volume the strands grew in (stray pieces enclosing "
            f"under {MIN_PIECE_FRACTION:.0%} of the largest's volume dropped)",
            units=world,
            vertices=len(surface.vertices),
            faces=len(surface.faces),
            watertight=bool(surface.is_watertight),
            pieces=pieces["pieces"] - pieces["pieces_dropped"],
            pieces_dropped=pieces["pieces_dropped"],
            volume_dropped_fraction=round(pieces["volume_dropped_fraction"], 4),
        )


def _write_head_with_hair(recon: Reconstruction, directory: Path, options: Options, record) -> None:
    from monoscan.head.landmarks import write_h3ds_landmarks
    from monoscan.head.with_hair import landmark_ids_with_hair
    from monoscan.io.meshes import save_mesh

    both = recon.head_with_hair
    mesh = both.to_trimesh()
    for fmt in (f for f in options.formats if f in MESH_FORMATS):
        paths = save_mesh(directory / mesh_name("head_with_hair", fmt), mesh)
        record(
            mesh_name("head_with_hair", fmt),
            "closed head with the hair volume as an outer layer "
            "(what a scanner sees; for H3DS full-head Chamfer), vertex colours: the head's, "
            "the photo's hair colour on the hair",
            units="metres",
            frame="world (y up, x subject's left, z toward camera)",
            vertices=len(both.vertices),
            faces=len(both.faces),
            watertight=True,
            companions=[p.name for p in paths[1:]],
        )
    ids = landmark_ids_with_hair(both, recon.head, recon.head_landmarks)
    write_h3ds_landmarks(directory / results.H3DS_LANDMARK_FILES["head_with_hair"], ids)
    record(
        results.H3DS_LANDMARK_FILES["head_with_hair"],
        "H3DS landmarks on head_with_hair.*: lines 'name vertex_index'",
        units="vertex indices",
        on_face=[k for k, i in ids.items() if both.from_head[i]],
    )


def _write_hair_maps(recon: Reconstruction, directory: Path, record) -> None:
    from monoscan.hair.depth import hair_depth_vis
    from monoscan.hair.strand_map import direction_vis
    from monoscan.io.images import save_png
    from monoscan.io.maps import save_npy
    from monoscan.perception.parsing import parsing_vis

    hair, crop = recon.hair, recon.crop
    crop_px = "512x512 HairStep crop (crop.json maps it to the photo)"
    save_png(directory / "hair_mask.png", hair.hair_mask)
    record("hair_mask.png", "hair mask, 255 = hair", units=crop_px)
    save_png(
        directory / "hair_mask_photo.png",
        crop.warp_to_photo(hair.hair_mask.astype(np.uint8) * 255, nearest=True),
    )
    record(
        "hair_mask_photo.png",
        "hair mask at the photo's size (0 outside the crop)",
        units="photo pixels",
    )
    save_png(directory / "parsing.png", hair.parsing)
    record(
        "parsing.png",
        "labels 0 background, 1 body/clothes, 2 face skin, 3 hair, 4 ears",
        units=crop_px,
    )
    save_png(directory / "parsing_vis.png", parsing_vis(hair.parsing, crop.image))
    record("parsing_vis.png", "parsing coloured over the crop", units=crop_px)
    save_png(directory / "strand_map.png", hair.strand_map)
    record(
        "strand_map.png",
        "HairStep strand map: R = hair + 0.5 body, G = 0.5 + 0.5 d_up, "
        "B = 0.5 - 0.5 d_right (d = growth direction root to tip)",
        units=crop_px,
    )
    vis = direction_vis(hair.direction, hair.hair_mask)
    photo_vis = crop.warp_to_photo(vis)
    shown = photo_vis.any(axis=2, keepdims=True)
    save_png(
        directory / "strand_map_photo.png",
        np.where(shown, 0.3 * recon.photo.rgb + 0.7 * photo_vis, recon.photo.rgb).astype(np.uint8),
    )
    record(
        "strand_map_photo.png",
        "growth direction as hue, mapped back onto the photo",
        units="photo pixels",
    )
    save_npy(directory / "orientation.npy", hair.orientation)
    record(
        "orientation.npy",
        "undirected strand angle (float32), from +x toward +y, 0 off hair",
        units="radians in [0, pi), " + crop_px,
    )
    save_npy(directory / "confidence.npy", hair.confidence)
    record("confidence.npy", "orientation confidence (float32), 0 off hair", units=crop_px)
    save_npy(directory / "hair_depth.npy", hair.depth)
    record(
        "hair_depth.npy",
        "HairStep hair depth (float32): [0, 1] inside the hair, larger = closer, 0 outside",
        units="normalised, " + crop_px,
    )
    if hair.depth_m is not None:
        save_npy(directory / "hair_depth_m.npy", hair.depth_m)
        record(
            "hair_depth_m.npy",
            "visible hair surface z in the world frame (float32), NaN off hair",
            units="metres (larger = closer), " + crop_px,
        )
    save_png(directory / "hair_depth_vis.png", hair_depth_vis(hair.depth, hair.hair_mask))
    record("hair_depth_vis.png", "hair depth coloured (bright = closer)", units=crop_px)


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in (
        "monoscan",
        "numpy",
        "mediapipe",
        "opencv-contrib-python",
        "trimesh",
        "onnxruntime",
        "scipy",
        "scikit-image",
    ):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out
