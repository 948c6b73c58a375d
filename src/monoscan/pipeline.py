"""The stages wired together: photo in, :class:`Reconstruction` out, files written on request.

Each stage is a plain function from another module; this module only calls them in order,
times them, and (in :func:`write_outputs`) writes their results with ``result.json`` last, so a
folder without ``result.json`` is an incomplete run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from monoscan import __version__
from monoscan.errors import InputError
from monoscan.face.camera import Camera, estimate_camera
from monoscan.face.mesh import FaceMesh, build_face_mesh
from monoscan.io.images import Photo, load_image
from monoscan.perception.crop import Crop, hairstep_crop
from monoscan.perception.face import MIN_FACE_PX, FaceLandmarks, detect_face_landmarks

__all__ = ["SCHEMA_VERSION", "Options", "Reconstruction", "reconstruct", "write_outputs"]

SCHEMA_VERSION = "1.0"
log = logging.getLogger("monoscan")
MESH_FORMATS = ("obj", "glb", "ply")
#: Strand formats (``ply`` in ``formats`` also writes ``strands.ply``; ``glb`` ``hair.glb``).
STRAND_FORMATS = ("data", "hair", "usdc", "usda", "abc")
ALL_FORMATS = MESH_FORMATS + STRAND_FORMATS
DEFAULT_FORMATS = MESH_FORMATS + ("data", "hair", "usdc")
#: Fewer hair pixels than this in the 512 crop and no strands are grown.
MIN_HAIR_PIXELS = 200


@dataclass(frozen=True)
class Options:
    """What :func:`reconstruct` does.

    Attributes
    ----------
    face_index : int
        Which detected face to use, counting from the largest (0).
    min_face_px : float
        Smallest face accepted (pixels, detector box width).
    subdivisions : int
        Loop subdivision passes of the face mesh.
    person : bool
        Run person segmentation and body pose.
    hair : bool
        Compute the HairStep hair maps (segmentation, parsing, strand map, depth).
    body : bool
        Also reconstruct the full body (``monoscan body``), written to ``body/``.
    head : bool
        Fit our parametric head and assemble the closed textured head mesh.
    occlusion : bool
        Find what covers the face (hair, hands, objects), fill the face texture under it and
        fit the head to landmarks re-fitted on the filled photo (``monoscan.face.occlusion``).
    strands : int
        Number of 3D hair strands to grow (0: none; needs ``hair`` and ``head``).
    seed : int
        Seed for everything random (strand roots).
    face_detail : bool
        Displace the face mesh by the photo's fine shading (wrinkles, creases; under 0.5 mm,
        ``monoscan.face.detail``). Off by default: albedo (brows, stubble, make-up) is carved too.
    formats : tuple of str
        What to write: mesh formats ``obj``, ``glb``, ``ply`` (face, head; ``ply`` and ``glb``
        also the strands as a line set) and strand formats ``data`` (USC), ``hair`` (Cem
        Yuksel), ``usdc``/``usda`` (USD BasisCurves), ``abc`` (Alembic, needs bpy).
    """

    face_index: int = 0
    min_face_px: float = MIN_FACE_PX
    subdivisions: int = 2
    person: bool = True
    hair: bool = True
    body: bool = False
    head: bool = True
    occlusion: bool = True
    strands: int = 10_000
    seed: int = 0
    face_detail: bool = False
    formats: tuple[str, ...] = DEFAULT_FORMATS

    def __post_init__(self) -> None:
        if self.face_index < 0:
            raise InputError(f"face index must be >= 0, got {self.face_index}")
        if not 0 <= self.subdivisions <= 4:
            raise InputError(f"subdivisions must be 0..4, got {self.subdivisions}")
        unknown = set(self.formats) - set(ALL_FORMATS)
        if unknown:
            raise InputError(f"unknown format(s) {sorted(unknown)}; choose from {ALL_FORMATS}")
        if not 0 <= self.strands <= 1_000_000:
            raise InputError(f"strands must be 0..1000000, got {self.strands}")


@dataclass(frozen=True)
class Reconstruction:
    """Everything :func:`reconstruct` found in one photo.

    Attributes
    ----------
    photo : Photo
    face : FaceLandmarks
        478 landmarks in photo pixels.
    landmarks68_photo : (68, 3) float32
        iBUG landmarks, photo pixels (z: MediaPipe's relative depth, pixels).
    landmarks68_crop : (68, 3) float32
        The same in the 512 HairStep crop's pixels (HairStep's convention).
    crop : Crop
    camera : Camera
    face_mesh : FaceMesh
        World frame, metres.
    person_mask : (H, W) float32 or None
        Person probability per photo pixel.
    pose : PoseResult or None
        33 body landmarks when the body is visible.
    hair : HairMaps or None
        HairStep maps on the 512 crop.
    body : BodyResult or None
        Full body, when asked for and a person was found.
    head : HeadMesh or None
        Closed textured head (world frame, metres).
    head_landmarks : dict or None
        H3DS landmark name -> vertex index on ``head``.
    strands : Strands or None
        3D hair strands, root to tip, world frame, metres.
    hair_volume : Occupancy or None
        The hair occupancy grid the strands grew in.
    occlusion : (H, W) bool or None
        What covers the face, photo pixels.
    head_with_hair : HeadWithHair or None
        ``head`` with the hair volume as an outer layer (closed; world frame, metres).
    relief : trimesh.Trimesh or None
        2.5D relief of face, hair and ears seen from the camera (world frame, metres).
    timings : dict
        Seconds per stage.
    notes : list of str
        Things a user should know (several faces, conversions applied...).
    """

    photo: Photo
    face: FaceLandmarks
    landmarks68_photo: np.ndarray
    landmarks68_crop: np.ndarray
    crop: Crop
    camera: Camera
    face_mesh: FaceMesh
    person_mask: np.ndarray | None = None
    pose: object | None = None
    hair: object | None = None
    body: object | None = None
    head: object | None = None
    head_landmarks: dict | None = None
    strands: object | None = None
    hair_volume: object | None = None
    occlusion: np.ndarray | None = None
    head_with_hair: object | None = None
    relief: object | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        timings[stage] = timings.get(stage, 0.0) + seconds
        log.info("%s: %.3f s", stage, seconds)


def reconstruct(image: str | os.PathLike | np.ndarray | Photo, options: Options | None = None,
                *, landmarks: np.ndarray | None = None) -> Reconstruction:
    """Reconstruct the face (and what else is enabled) from one photo.

    Parameters
    ----------
    image : path, (H, W[, C]) array or Photo
    options : Options, optional
    landmarks : (478, 3) array, optional
        Landmarks (photo pixels and MediaPipe z) that replace the detected ones from the camera
        on (face mesh, head, hair); :func:`monoscan.head.multiview.reconstruct_views` passes
        the landmarks fused from several views. The face is still detected.

    Returns
    -------
    Reconstruction

    Raises
    ------
    InputError, NoFaceError
        Unusable input (one-line message).
    """
    options = options or Options()
    t: dict[str, float] = {}
    with _timed(t, "load"):
        photo = load_image(image)
    notes = list(photo.notes)
    with _timed(t, "face_landmarks"):
        face = detect_face_landmarks(photo.rgb, options.face_index, options.min_face_px)
    if landmarks is not None:
        lm = np.asarray(landmarks, np.float32)
        if lm.shape != face.points.shape or not np.isfinite(lm).all():
            raise InputError(f"landmarks must be finite with shape {face.points.shape}, "
                             f"got {lm.shape}")
        face = replace(face, points=lm)
    if face.n_faces > 1:
        notes.append(
            f"{face.n_faces} faces found; using face {face.face_index} "
            f"({'the largest' if face.face_index == 0 else 'by --face-index'}); "
            "--face-index picks another"
        )
    hair_in_photo = None
    if options.hair:
        from monoscan.hair.segmentation import segment_hair

        # A first, coarse pass over the whole photo frames the crop around all of the hair.
        with _timed(t, "hair_framing"):
            hair_in_photo = segment_hair(photo.rgb).mask
    with _timed(t, "crop"):
        crop = hairstep_crop(photo.rgb, face.points, hair_in_photo)
        lm68 = face.landmarks68.astype(np.float32)
        lm68_crop = crop.to_crop(lm68).astype(np.float32)
    with _timed(t, "camera"):
        camera = estimate_camera(face.points)
    with _timed(t, "face_mesh"):
        face_mesh = build_face_mesh(photo.rgb, face.points, camera, options.subdivisions)
    person_mask = pose = None
    if options.person:
        from monoscan.perception._quiet import native_stderr_silenced
        from monoscan.perception.person import segment_person
        from monoscan.perception.pose import detect_pose

        with _timed(t, "person_segmentation"), native_stderr_silenced():
            person_mask = segment_person(photo.rgb)
        with _timed(t, "pose"), native_stderr_silenced():
            pose = detect_pose(photo.rgb)
    hair = None
    if options.hair:
        from monoscan.hair.maps import hairstep_maps

        with _timed(t, "hair_maps"):
            person_crop = None if person_mask is None else crop.from_photo(person_mask)
            hair = hairstep_maps(crop, camera, face_mesh, crop.to_crop(face.points), lm68_crop,
                                 person_crop)
    occlusion, face_rgb, head_points = None, photo.rgb, face.points
    if options.occlusion:
        from monoscan.face.mesh import retexture_face_mesh
        from monoscan.face.occlusion import handle_occlusion

        with _timed(t, "occlusion"):
            occ = handle_occlusion(photo.rgb, face, hair_in_photo)
            # Handled landmarks at full weight: down-weighting the occluded ones moved the
            # head further from its clean-photo fit (benchmarks/bench_occlusion.py).
            occlusion, head_points = occ.mask, occ.points
            if occ.filled_rgb is not photo.rgb:  # something covers the face: texture the fill
                face_rgb = occ.filled_rgb
                face_mesh = retexture_face_mesh(face_mesh, face_rgb)
    if options.face_detail:
        from monoscan.face.detail import add_face_detail

        with _timed(t, "face_detail"):
            face_mesh = add_face_detail(face_mesh)
    head = head_landmarks = None
    if options.head:
        from monoscan.head.assemble import assemble_head
        from monoscan.head.fit import fit_head
        from monoscan.head.landmarks import h3ds_landmark_ids

        with _timed(t, "head"):
            world = camera.photo_to_world(head_points)
            head = assemble_head(face_mesh, fit_head(world), face_rgb, camera)
            head_landmarks = h3ds_landmark_ids(head.vertices, world)
    strands = hair_volume = None
    grow = options.strands and head is not None and hair is not None and hair.depth_m is not None
    if grow and hair.hair_mask.sum() < MIN_HAIR_PIXELS:
        grow = False  # bald, or hair the segmentation missed: the rest still stands
        notes.append("no hair found in the photo: no strands grown")
    if grow:
        from monoscan.hair.reconstruct3d import hair_strands

        with _timed(t, "strands"):
            strands, hair_volume = hair_strands(
                hair.hair_mask, hair.direction, hair.depth_m, crop, camera, head,
                orientation_crop=hair.orientation, body_mask_crop=hair.parsing == 1,
                n_strands=options.strands, seed=options.seed)
    head_hair = relief = None
    if hair_volume is not None:
        from monoscan.head.with_hair import head_with_hair

        with _timed(t, "head_with_hair"):
            try:
                head_hair = head_with_hair(head, hair_volume, crop, camera, hair.hair_mask)
            except InputError as exc:  # e.g. an empty hair volume: the bald head still stands
                notes.append(f"no head_with_hair: {exc}")
    if hair is not None:
        from monoscan.head.relief import relief_mesh

        with _timed(t, "relief"):
            try:
                relief = relief_mesh(hair.parsing, hair.face_depth_m, hair.depth_m, crop, camera)
            except InputError as exc:
                notes.append(f"no relief: {exc}")
    body = None
    if options.body:
        from monoscan.body.reconstruct import reconstruct_body
        from monoscan.errors import MonoscanError

        with _timed(t, "body"):
            try:
                body = reconstruct_body(photo.rgb, pose=pose)
                notes.extend(body.notes)
            except MonoscanError as exc:  # a head-and-shoulders photo has no full body
                notes.append(f"body not reconstructed: {exc}")
    return Reconstruction(
        photo=photo, face=face, landmarks68_photo=lm68, landmarks68_crop=lm68_crop, crop=crop,
        camera=camera, face_mesh=face_mesh, person_mask=person_mask, pose=pose, hair=hair,
        body=body, head=head, head_landmarks=head_landmarks, strands=strands,
        hair_volume=hair_volume, occlusion=occlusion, head_with_hair=head_hair, relief=relief,
        timings=t, notes=notes,
    )


# --------------------------------------------------------------------------------------------
# Output


def output_dir(out: str | os.PathLike, photo: Photo) -> Path:
    """``OUT/<image-stem>/``."""
    return Path(out) / photo.stem


def prepare_output_dir(directory: Path, overwrite: bool) -> None:
    """Refuse to silently replace a finished result; forget an incomplete one.

    A folder with ``result.json`` is a finished run: it is only replaced with ``overwrite``.
    ``result.json`` is removed before anything else is written, so a run that stops half-way
    never leaves a folder that looks complete.
    """
    result = directory / "result.json"
    if result.exists() and not overwrite:
        raise InputError(f"{directory} already holds a result; use --overwrite to replace it")
    directory.mkdir(parents=True, exist_ok=True)
    result.unlink(missing_ok=True)


def write_outputs(
    recon: Reconstruction, out: str | os.PathLike, options: Options | None = None,
    overwrite: bool = False, *, name: str | None = None,
) -> Path:
    """Write every artifact of ``recon`` into ``OUT/<image-stem>/``; return the result.json path.

    See ``result.json``'s ``artifacts`` for what each file is. ``name`` replaces the image stem
    as the folder name (several views of one person: the first image's stem).
    """
    from monoscan.io.atomic import write_text
    from monoscan.io.images import save_png
    from monoscan.io.maps import save_npy
    from monoscan.io.meshes import save_mesh
    from monoscan.viewer.overlay import draw_overlay

    options = options or Options()
    directory = Path(out) / name if name else output_dir(out, recon.photo)
    prepare_output_dir(directory, overwrite)
    t = dict(recon.timings)
    artifacts: dict[str, dict] = {}

    def record(name: str, meaning: str, **extra) -> None:
        artifacts[name] = {"meaning": meaning, **extra}

    with _timed(t, "write"):
        mesh = recon.face_mesh
        for fmt in (f for f in options.formats if f in MESH_FORMATS):
            textured = fmt != "ply"
            paths = save_mesh(directory / f"face.{fmt}", mesh.to_trimesh(textured=textured))
            record(f"face.{fmt}", "dense face mesh, " + (
                "textured from the photo" if textured else "vertex colours from the photo"),
                units="metres", frame="world (y up, x subject's left, z toward camera)",
                vertices=len(mesh.vertices), faces=len(mesh.faces),
                watertight=False, companions=[p.name for p in paths[1:]])
        save_npy(directory / "landmarks68.npy", recon.landmarks68_crop)
        record("landmarks68.npy", "iBUG 68 landmarks (68x3) in the 512x512 HairStep crop",
               units="crop pixels (x right, y down; z relative depth, same scale, smaller = closer)")
        save_npy(directory / "landmarks68_photo.npy", recon.landmarks68_photo)
        record("landmarks68_photo.npy", "iBUG 68 landmarks (68x3) in the original photo",
               units="photo pixels (x right, y down; z relative depth, same scale)")
        save_npy(directory / "face_landmarks478.npy", recon.face.points)
        record("face_landmarks478.npy", "MediaPipe face mesh landmarks (478x3; 468-477 iris)",
               units="photo pixels (z relative depth, same scale, smaller = closer)")
        save_png(directory / "crop.png", recon.crop.image)
        record("crop.png", "512x512 HairStep crop of the photo (zero-padded)", units="pixels")
        write_text(directory / "crop.json", json.dumps(recon.crop.to_json(), indent=2))
        record("crop.json", "affine transforms between the photo and crop.png", units="pixels")
        if recon.person_mask is not None:
            save_png(directory / "person_mask.png",
                     (np.clip(recon.person_mask, 0, 1) * 255 + 0.5).astype(np.uint8))
            record("person_mask.png", "person probability (255 = person), photo size",
                   units="probability x 255")
        if recon.occlusion is not None:
            save_png(directory / "occlusion_mask.png", recon.occlusion.astype(np.uint8) * 255)
            record("occlusion_mask.png", "what covers the face (255 = occluded: hair, hands, "
                   "objects; inpainted in the face texture), photo size", units="pixels",
                   occluded_px=int(recon.occlusion.sum()))
        if recon.hair is not None:
            _write_hair_maps(recon, directory, record)
        if recon.head is not None:
            _write_head(recon, directory, options, record)
        if recon.strands is not None:
            _write_strands(recon, directory, options, record)
        if recon.head_with_hair is not None:
            _write_head_with_hair(recon, directory, options, record)
        if recon.relief is not None and "obj" in options.formats:
            save_mesh(directory / "relief.obj", recon.relief)
            record("relief.obj", "Deep3dPortrait-style 2.5D relief: one open mesh over the face, "
                   "hair and ears seen from the camera (no back), vertex colours from the photo",
                   units="metres", frame="world (y up, x subject's left, z toward camera)",
                   vertices=len(recon.relief.vertices), faces=len(recon.relief.faces),
                   watertight=False)
        if recon.body is not None:
            from monoscan.body.pipeline import save_body

            save_body(recon.body, recon.photo.rgb, directory / "body")
            record("body/", "full body: body.obj/.glb/.ply, front/back depth and normals, "
                   "keypoints, part crops; body/result.json describes them",
                   units="metres (world frame)")
        save_png(directory / "overlay.png", draw_overlay(recon))
        record("overlay.png", "photo with landmarks, face box, person outline", units="pixels")

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
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(options).items()},
        "face": {
            "index": recon.face.face_index,
            "faces_found": recon.face.n_faces,
            "box_px": list(recon.face.box.box),
            "detector_score": recon.face.box.score,
        },
        "camera": recon.camera.to_json(),
        "hair3d": None if recon.hair_volume is None else {
            "strands": int(recon.strands.n_strands), "points": int(recon.strands.n_points),
            **{k: recon.hair_volume.info.get(k) for k in (
                "shape", "voxel_size_m", "n_roots", "curliness_m")}},
        "pose": None if recon.pose is None else {
            "landmarks_px": np.round(recon.pose.landmarks, 2).tolist(),
            "visibility": np.round(recon.pose.visibility, 3).tolist(),
        },
        "artifacts": artifacts,
        "timings_s": {k: round(v, 4) for k, v in t.items()},
        "notes": recon.notes,
        "versions": package_versions(),
    }
    return write_text(directory / "result.json", json.dumps(result, indent=2, default=_json_value))


def _json_value(value):
    """NumPy arrays and scalars in result.json as plain lists and numbers."""
    if isinstance(value, np.ndarray):
        return np.round(value, 6).tolist() if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to result.json")


def _write_head(recon: Reconstruction, directory: Path, options: Options, record) -> None:
    from monoscan.head.landmarks import write_h3ds_landmarks
    from monoscan.io.atomic import write_text
    from monoscan.io.meshes import save_mesh

    head = recon.head
    for fmt in (f for f in options.formats if f in MESH_FORMATS):
        textured = fmt != "ply"
        paths = save_mesh(directory / f"head.{fmt}", head.to_trimesh(textured=textured))
        record(f"head.{fmt}", "closed head: the photo's face blended into our parametric "
               "skull, ears and neck, " + ("textured" if textured else "vertex colours"),
               units="metres", frame="world (y up, x subject's left, z toward camera)",
               vertices=len(head.vertices), faces=len(head.faces), watertight=True,
               companions=[p.name for p in paths[1:]])
    write_h3ds_landmarks(directory / "h3ds_landmarks.txt", recon.head_landmarks)
    record("h3ds_landmarks.txt", "H3DS landmarks on head.*: lines 'name vertex_index'",
           units="vertex indices")
    write_text(directory / "head_fit.json", json.dumps(head.head.to_json(), indent=2))
    record("head_fit.json", "fitted parametric head: shape, scale, pose, fit residuals",
           units="metres, degrees")


def _write_strands(recon: Reconstruction, directory: Path, options: Options, record) -> None:
    from monoscan.hair.frames import to_usc_frame
    from monoscan.hair.reconstruct3d import occupancy_surface
    from monoscan.io.meshes import save_mesh
    from monoscan.io.strands import write_strands

    strands = recon.strands
    meaning = f"{strands.n_strands} hair strands, root to tip"
    world = "metres, world frame (y up, x subject's left, z toward camera)"
    names = {"data": "strands.data", "hair": "strands.hair", "usdc": "strands.usdc",
             "usda": "strands.usda", "abc": "strands.abc", "ply": "strands.ply",
             "glb": "hair.glb"}
    for fmt in options.formats:
        if fmt in names:
            write_strands(directory / names[fmt], strands)
            record(names[fmt], meaning + (" (lines for web viewers)" if fmt == "glb" else ""),
                   units=world, strands=int(strands.n_strands), points=int(strands.n_points))
    if "data" in options.formats:
        write_strands(directory / "strands_usc.data", to_usc_frame(strands, recon.head.head))
        record("strands_usc.data", meaning + ", in the USC-HairSalon head's frame",
               units="metres, USC-HairSalon frame (y up; its head spans y 1.55-1.89)")
    if "obj" in options.formats:
        save_mesh(directory / "hair_volume.obj", occupancy_surface(recon.hair_volume))
        record("hair_volume.obj", "closed surface of the hair volume the strands grew in",
               units=world)


def _write_head_with_hair(recon: Reconstruction, directory: Path, options: Options, record
                          ) -> None:
    from monoscan.head.landmarks import write_h3ds_landmarks
    from monoscan.head.with_hair import landmark_ids_with_hair
    from monoscan.io.meshes import save_mesh

    both = recon.head_with_hair
    mesh = both.to_trimesh()
    for fmt in (f for f in options.formats if f in MESH_FORMATS):
        paths = save_mesh(directory / f"head_with_hair.{fmt}", mesh)
        record(f"head_with_hair.{fmt}", "closed head with the hair volume as an outer layer "
               "(what a scanner sees; for H3DS full-head Chamfer), vertex colours: the head's, "
               "the photo's hair colour on the hair",
               units="metres", frame="world (y up, x subject's left, z toward camera)",
               vertices=len(both.vertices), faces=len(both.faces), watertight=True,
               companions=[p.name for p in paths[1:]])
    ids = landmark_ids_with_hair(both, recon.head, recon.head_landmarks)
    write_h3ds_landmarks(directory / "h3ds_landmarks_with_hair.txt", ids)
    record("h3ds_landmarks_with_hair.txt", "H3DS landmarks on head_with_hair.*: lines "
           "'name vertex_index'", units="vertex indices",
           on_face=[k for k, i in ids.items() if both.from_head[i]])


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
    save_png(directory / "hair_mask_photo.png", crop.warp_to_photo(
        hair.hair_mask.astype(np.uint8) * 255, nearest=True))
    record("hair_mask_photo.png", "hair mask at the photo's size (0 outside the crop)",
           units="photo pixels")
    save_png(directory / "parsing.png", hair.parsing)
    record("parsing.png", "labels 0 background, 1 body/clothes, 2 face skin, 3 hair, 4 ears",
           units=crop_px)
    save_png(directory / "parsing_vis.png", parsing_vis(hair.parsing, crop.image))
    record("parsing_vis.png", "parsing coloured over the crop", units=crop_px)
    save_png(directory / "strand_map.png", hair.strand_map)
    record("strand_map.png", "HairStep strand map: R = hair + 0.5 body, G = 0.5 + 0.5 d_up, "
           "B = 0.5 - 0.5 d_right (d = growth direction root to tip)", units=crop_px)
    vis = direction_vis(hair.direction, hair.hair_mask)
    photo_vis = crop.warp_to_photo(vis)
    shown = photo_vis.any(axis=2, keepdims=True)
    save_png(directory / "strand_map_photo.png",
             np.where(shown, 0.3 * recon.photo.rgb + 0.7 * photo_vis, recon.photo.rgb
                      ).astype(np.uint8))
    record("strand_map_photo.png", "growth direction as hue, mapped back onto the photo",
           units="photo pixels")
    save_npy(directory / "orientation.npy", hair.orientation)
    record("orientation.npy", "undirected strand angle (float32), from +x toward +y, 0 off hair",
           units="radians in [0, pi), " + crop_px)
    save_npy(directory / "confidence.npy", hair.confidence)
    record("confidence.npy", "orientation confidence (float32), 0 off hair", units=crop_px)
    save_npy(directory / "hair_depth.npy", hair.depth)
    record("hair_depth.npy", "HairStep hair depth (float32): [0, 1] inside the hair, larger = "
           "closer, 0 outside", units="normalised, " + crop_px)
    if hair.depth_m is not None:
        save_npy(directory / "hair_depth_m.npy", hair.depth_m)
        record("hair_depth_m.npy", "visible hair surface z in the world frame (float32), NaN "
               "off hair", units="metres (larger = closer), " + crop_px)
    save_png(directory / "hair_depth_vis.png", hair_depth_vis(hair.depth, hair.hair_mask))
    record("hair_depth_vis.png", "hair depth coloured (bright = closer)", units=crop_px)


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in ("monoscan", "numpy", "mediapipe", "opencv-contrib-python", "trimesh",
                 "onnxruntime", "scipy", "scikit-image"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out
