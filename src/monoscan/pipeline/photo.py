"""The one-photo run: photo in, :class:`Reconstruction` out.

Each stage is a plain function from a stage package; this module only calls them in order and
times them. :mod:`monoscan.pipeline.outputs` writes the result folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from monoscan.core.camera import Camera
from monoscan.core.crop import Crop
from monoscan.core.errors import FaceNotFoundError, InputError, NoFaceError
from monoscan.core.interrupt import raise_if_interrupted
from monoscan.core.meshes import FaceMesh
from monoscan.core.photo import Photo
from monoscan.core.progress import stage_started
from monoscan.face.camera import estimate_camera
from monoscan.face.mesh import build_face_mesh
from monoscan.io.images import load_image
from monoscan.perception.crop import hairstep_crop
from monoscan.perception.face import FaceLandmarks, detect_face_landmarks, detect_upright_face
from monoscan.pipeline.options import Options

__all__ = ["Reconstruction", "reconstruct", "timed"]

log = logging.getLogger("monoscan")
#: Fewer hair pixels than this in the 512 crop and no strands are grown.
MIN_HAIR_PIXELS = 200
#: Without a face, the photo must show at least this fraction of its area (and 200 pixels)
#: as hair on a person, else it is refused (neither face nor hair).
MIN_HAIR_FRACTION_NO_FACE = 0.001
#: The 3D stages that need a head pose (from the face) and are skipped without a face.
NEEDS_FACE = ("face", "head", "strands", "head_with_hair", "relief")


@dataclass(frozen=True)
class Reconstruction:
    """Everything :func:`reconstruct` found in one photo.

    Attributes
    ----------
    photo : Photo
    face : FaceLandmarks or None
        478 landmarks in photo pixels. None when the photo shows no face (a back view):
        then ``landmarks68_*``, ``camera`` and ``face_mesh`` are None too, the crop is framed
        on the hair, only the hair maps (and the body, when asked) are made, and ``skipped``
        says which stages were not run and why.
    landmarks68_photo : (68, 3) float32 or None
        iBUG landmarks, photo pixels (z: MediaPipe's relative depth, pixels).
    landmarks68_crop : (68, 3) float32 or None
        The same in the 512 HairStep crop's pixels (HairStep's convention).
    crop : Crop
    camera : Camera or None
    face_mesh : FaceMesh or None
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
    skipped : dict
        Stage name -> why it was not run although the options asked for it (a photo without
        a face skips the stages of :data:`NEEDS_FACE`).
    """

    photo: Photo
    face: FaceLandmarks | None
    landmarks68_photo: np.ndarray | None
    landmarks68_crop: np.ndarray | None
    crop: Crop
    camera: Camera | None
    face_mesh: FaceMesh | None
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
    skipped: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Time the block into ``timings[stage]`` (seconds), log it, and report the stage's start.

    The start goes to :func:`monoscan.core.progress.stage_started`: shown only when a caller
    asked (``show_stages``, as the command line does on a terminal); the log line at INFO is
    what ``--verbose`` prints.
    """
    stage_started(stage)
    start = time.perf_counter()
    try:
        yield
        raise_if_interrupted()  # a Ctrl-C that the stage's libraries swallowed
    finally:
        seconds = time.perf_counter() - start
        timings[stage] = timings.get(stage, 0.0) + seconds
        log.info("%s: %.3f s", stage, seconds)


def _body(rgb, pose, options: Options, t: dict, notes: list):
    """The body stage when ``options.body`` asks for it; its failure is a note, not an error
    (a head-and-shoulders photo has no full body)."""
    if not options.body:
        return None
    from monoscan.body.reconstruct import reconstruct_body
    from monoscan.core.errors import MonoscanError

    with timed(t, "body"):
        try:
            body = reconstruct_body(rgb, pose=pose)
        except MonoscanError as exc:
            notes.append(f"body not reconstructed: {exc}")
            return None
    notes.extend(body.notes)
    return body


def reconstruct(
    image: str | os.PathLike | np.ndarray | Photo,
    options: Options | None = None,
    *,
    landmarks: np.ndarray | None = None,
    other_views: Sequence = (),
) -> Reconstruction:
    """Reconstruct the face (and what else is enabled) from one photo.

    Parameters
    ----------
    image : path, (H, W[, C]) array or Photo
    options : Options, optional
    landmarks : (478, 3) array, optional
        Landmarks (photo pixels and MediaPipe z) that replace the detected ones from the camera
        on (face mesh, head, hair); :func:`monoscan.pipeline.views.reconstruct_views` passes
        the landmarks fused from several views. The face is still detected.
    other_views : sequence of monoscan.head.ict_head.PhotoView
        Other photos of the same person that also colour the ICT head (their projections
        take this photo's world frame).

    Returns
    -------
    Reconstruction
        Without a face in the photo (a back view, a close-up of braids) but with hair, the
        hair maps alone (see :class:`Reconstruction`'s ``face`` and ``skipped``).

    Raises
    ------
    InputError, NoFaceError
        Unusable input (one-line message); a photo with neither a face nor hair on a person.
    """
    options = options or Options()
    t: dict[str, float] = {}
    with timed(t, "load"):
        photo = load_image(image)
    notes = list(photo.notes)
    no_face = None
    with timed(t, "face_landmarks"):
        try:
            if landmarks is None:
                turns, face = detect_upright_face(
                    photo.rgb, options.face_index, options.min_face_px
                )
            else:  # given landmarks are in the photo as it is
                turns, face = (
                    0,
                    detect_face_landmarks(photo.rgb, options.face_index, options.min_face_px),
                )
        except FaceNotFoundError as error:
            if landmarks is not None or not options.hair:
                raise
            no_face = error
    if no_face is not None:
        return _reconstruct_without_face(photo, options, t, notes, no_face)
    if turns:
        note = (
            f"photo turned {90 * turns} degrees counter-clockwise: the face was on its side "
            "and no EXIF orientation said so"
        )
        photo = replace(
            photo, rgb=np.ascontiguousarray(np.rot90(photo.rgb, turns)), notes=(*photo.notes, note)
        )
        notes.append(note)
    if landmarks is not None:
        lm = np.asarray(landmarks, np.float32)
        if lm.shape != face.points.shape or not np.isfinite(lm).all():
            raise InputError(
                f"landmarks must be finite with shape {face.points.shape}, got {lm.shape}"
            )
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
        with timed(t, "hair_framing"):
            hair_in_photo = segment_hair(photo.rgb).mask
    with timed(t, "crop"):
        crop = hairstep_crop(photo.rgb, face.points, hair_in_photo)
        lm68 = face.landmarks68.astype(np.float32)
        lm68_crop = crop.to_crop(lm68).astype(np.float32)
    with timed(t, "camera"):
        camera = estimate_camera(face.points)
    with timed(t, "face_mesh"):
        face_mesh = build_face_mesh(photo.rgb, face.points, camera, options.subdivisions)
    person_mask = pose = None
    if options.person:
        from monoscan.core.quiet import native_stderr_silenced
        from monoscan.perception.person import segment_person
        from monoscan.perception.pose import detect_pose

        with timed(t, "person_segmentation"), native_stderr_silenced():
            person_mask = segment_person(photo.rgb)
        with timed(t, "pose"), native_stderr_silenced():
            pose = detect_pose(photo.rgb)
    hair = None
    if options.hair:
        from monoscan.hair.maps import hairstep_maps

        with timed(t, "hair_maps"):
            person_crop = None if person_mask is None else crop.from_photo(person_mask)
            hair = hairstep_maps(
                crop,
                camera,
                face_mesh,
                crop.to_crop(face.points),
                lm68_crop,
                person_crop,
                hair_model=options.hair_model,
            )
    occlusion, face_rgb, head_points = None, photo.rgb, face.points
    if options.occlusion:
        from monoscan.face.mesh import retexture_face_mesh
        from monoscan.face.occlusion import handle_occlusion

        with timed(t, "occlusion"):
            occ = handle_occlusion(photo.rgb, face, hair_in_photo)
            # Handled landmarks at full weight: down-weighting the occluded ones moved the
            # head further from its clean-photo fit (benchmarks/bench_occlusion.py).
            occlusion, head_points = occ.mask, occ.points
            if occ.filled_rgb is not photo.rgb:  # something covers the face: texture the fill
                face_rgb = occ.filled_rgb
                face_mesh = retexture_face_mesh(face_mesh, face_rgb)
    if options.face_detail:
        from monoscan.face.detail import add_face_detail

        with timed(t, "face_detail"):
            face_mesh = add_face_detail(face_mesh)
    head = head_landmarks = None
    if options.head:
        from monoscan.head.assemble import assemble_head
        from monoscan.head.fit import fit_head
        from monoscan.head.landmarks import h3ds_landmark_ids

        with timed(t, "head"):
            world = camera.photo_to_world(head_points)
            fitted = fit_head(world)
            if options.head_model == "ict":
                from monoscan.head.ict import fit_ict_to_landmarks, occlusion_weights
                from monoscan.head.ict_head import ict_head_mesh

                not_skin = _not_skin(photo.rgb.shape[:2], hair_in_photo, occlusion)
                # The ICT fit takes the detected landmarks, those under an occluder counting
                # less, rather than the re-fitted ones (benchmarks/bench_scan.py: better).
                ict_points, weights = camera.photo_to_world(face.points), None
                if occlusion is not None:
                    weights = occlusion_weights(face.points, occlusion)
                ict = fit_ict_to_landmarks(ict_points, weights)
                head = ict_head_mesh(
                    ict, fitted, face_rgb, camera, not_skin, face.points, other_views
                )
            else:
                head = assemble_head(face_mesh, fitted, face_rgb, camera)
            # Landmark ids on the photo's expression: they name the same vertices after it.
            head_landmarks = h3ds_landmark_ids(head.vertices, world)
            if options.expression == "neutral":
                from monoscan.head.ict_head import without_expression

                head = without_expression(head)
    strands = hair_volume = None
    grow = options.strands and head is not None and hair is not None and hair.depth_m is not None
    if grow and hair.hair_mask.sum() < MIN_HAIR_PIXELS:
        grow = False  # bald, or hair the segmentation missed: the rest still stands
        notes.append("no hair found in the photo: no strands grown")
    if grow:
        from monoscan.hair.learned3d import model_available
        from monoscan.hair.reconstruct3d import hair_strands

        learned_3d = options.hair_model == "learned" and model_available()
        with timed(t, "strands"):
            strands, hair_volume = hair_strands(
                hair.hair_mask,
                hair.direction,
                hair.depth_m,
                crop,
                camera,
                head,
                orientation_crop=hair.orientation,
                body_mask_crop=hair.parsing == 1,
                n_strands=options.strands,
                seed=options.seed,
                volume_model="learned" if learned_3d else "prior",
            )
    head_hair = relief = None
    if hair_volume is not None:
        from monoscan.head.with_hair import head_with_hair

        with timed(t, "head_with_hair"):
            try:
                head_hair = head_with_hair(head, hair_volume, crop, camera, hair.hair_mask)
            except InputError as exc:  # e.g. an empty hair volume: the bald head still stands
                notes.append(f"no head_with_hair: {exc}")
    if hair is not None:
        from monoscan.head.relief import relief_mesh

        with timed(t, "relief"):
            try:
                relief = relief_mesh(hair.parsing, hair.face_depth_m, hair.depth_m, crop, camera)
            except InputError as exc:
                notes.append(f"no relief: {exc}")
    body = _body(photo.rgb, pose, options, t, notes)
    return Reconstruction(
        photo=photo,
        face=face,
        landmarks68_photo=lm68,
        landmarks68_crop=lm68_crop,
        crop=crop,
        camera=camera,
        face_mesh=face_mesh,
        person_mask=person_mask,
        pose=pose,
        hair=hair,
        body=body,
        head=head,
        head_landmarks=head_landmarks,
        strands=strands,
        hair_volume=hair_volume,
        occlusion=occlusion,
        head_with_hair=head_hair,
        relief=relief,
        timings=t,
        notes=notes,
    )


def _shoulder_width(pose) -> float | None:
    """Shoulder width in photo pixels as if seen square-on, when MediaPipe sees both shoulders.

    The pixel distance is divided by the cosine of the shoulder line's turn away from the
    image plane, from the pose's metric landmarks (at most 3 times: a turn of 70 degrees), so
    that a three-quarter back view does not shrink the crop."""
    if pose is None:
        return None
    ids = [11, 12]  # left and right shoulder (perception.pose.LANDMARK_NAMES)
    if float(np.min(pose.visibility[ids])) < 0.5:
        return None
    px = float(np.linalg.norm(pose.landmarks[11, :2] - pose.landmarks[12, :2]))
    if pose.world is not None:
        w = np.asarray(pose.world[11] - pose.world[12], np.float64)
        norm = float(np.linalg.norm(w))
        if np.isfinite(norm) and norm > 0:
            px /= max(abs(float(w[0])) / norm, 1.0 / 3.0)
    return px


def _reconstruct_without_face(
    photo: Photo, options: Options, t: dict[str, float], notes: list[str], error: NoFaceError
) -> Reconstruction:
    """The hair maps of a photo without a face (a back view, braids from behind).

    The hair is segmented on the whole photo and kept only where it lies on a person
    (:func:`monoscan.hair.segmentation.hair_on_person` with MediaPipe's person segmentation,
    run even with ``person=False``: the hair network alone calls half of a plain grey image
    hair); the HairStep crop is framed on it and on the shoulders when the
    pose sees them (:func:`monoscan.perception.crop.hair_square`); the maps are made without
    face inputs. Nothing needs a head pose here, so the face, head, strands, relief and
    head-with-hair stages are skipped (``skipped`` says so); the body runs when asked.

    Raises
    ------
    NoFaceError
        No hair on a person either.
    """
    from monoscan.core.quiet import native_stderr_silenced
    from monoscan.hair.maps import hairstep_maps
    from monoscan.hair.segmentation import hair_on_person, segment_hair
    from monoscan.perception.person import segment_person

    def refuse() -> NoFaceError:
        return NoFaceError(f"{error}, and no hair on a person either: nothing to reconstruct")

    with timed(t, "person_segmentation"), native_stderr_silenced():
        person = segment_person(photo.rgb)
    pose = None
    if options.person:
        from monoscan.perception.pose import detect_pose

        with timed(t, "pose"), native_stderr_silenced():
            pose = detect_pose(photo.rgb)
    with timed(t, "hair_framing"):
        hair_in_photo = hair_on_person(segment_hair(photo.rgb).mask, person)
        # The maps' own segmentation is gated by this: the person and the hair pieces on it.
        gate = np.maximum(person, hair_in_photo.astype(np.float32))
    found = int(hair_in_photo.sum())
    if found < max(MIN_HAIR_PIXELS, MIN_HAIR_FRACTION_NO_FACE * hair_in_photo.size):
        raise refuse()
    shoulder_width = _shoulder_width(pose)
    with timed(t, "crop"):
        crop = hairstep_crop(photo.rgb, None, hair_in_photo, shoulder_width=shoulder_width)
    with timed(t, "hair_maps"):
        hair = hairstep_maps(
            crop, None, None, None, None, crop.from_photo(gate), hair_model=options.hair_model
        )
    if int(hair.hair_mask.sum()) < MIN_HAIR_PIXELS:
        raise refuse()
    framing = "the hair and the shoulders" if shoulder_width is not None else "the hair"
    notes.append(
        f"{error}: hair maps only, the crop framed on {framing} (a back view or a close-up "
        "of hair); hair_depth.npy is HairStep's normalised depth, with no metres "
        "(hair_depth_m.npy): without a face there is no camera scale"
    )
    why = "no face in the photo: no head pose or camera to place it"
    wanted = {
        "face": True,
        "head": options.head,
        "strands": options.head and options.strands > 0,
        "head_with_hair": options.head and options.strands > 0,
        "relief": True,
    }
    skipped = {stage: why for stage in NEEDS_FACE if wanted[stage]}
    notes.append(f"skipped without a face: {', '.join(skipped)} (no head pose)")
    body = _body(photo.rgb, pose, options, t, notes)
    return Reconstruction(
        photo=photo,
        face=None,
        landmarks68_photo=None,
        landmarks68_crop=None,
        crop=crop,
        camera=None,
        face_mesh=None,
        person_mask=person if options.person else None,
        pose=pose,
        hair=hair,
        body=body,
        timings=t,
        notes=notes,
        skipped=skipped,
    )


def _not_skin(shape, *masks) -> np.ndarray | None:
    """Photo pixels the head's texture must not come from (hair, occluders): the union of the
    masks that exist at the photo's size."""
    found = [np.asarray(m, bool) for m in masks if m is not None and np.shape(m) == shape]
    return np.logical_or.reduce(found) if found else None
