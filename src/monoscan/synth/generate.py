"""Synthetic people with full ground truth: build, render and write one scene.

:func:`generate_scene` turns a seed (or :class:`~monoscan.synth.scene.SceneParams`) into a
:class:`Scene`: the photo-like render and every map HairStep and monoscan use, all computed
from the same drawn strands and mesh, so they agree exactly. :func:`write_scene` writes it.

The world frame is monoscan's (metres, y up, x to the subject's left, z toward the camera, origin
between the ear canals of the synthetic head); the camera looks down -z with no rotation, and the
head (with its hair and torso) is turned by ``yaw/pitch/roll`` in that frame.
"""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from monoscan.core.strands import Strands
from monoscan.head.model import HeadShape
from monoscan.render.scene import Light, MeshLayer, StrandLayer, View, background_image, render
from monoscan.synth import person
from monoscan.synth.hairstyles import (
    HairParams,
    fit_real_style,
    grow_hair,
    real_style,
    usc_style,
)
from monoscan.synth.scene import N_HEAD_VARIANTS, SceneParams, random_scene

__all__ = [
    "FACE_SPHERE_MM",
    "SCENE_FILES",
    "USC_BOX",
    "VOLUME_FILES",
    "Scene",
    "generate_scene",
    "hair_volume",
    "usc_strands",
    "head_rotation",
    "head_shape",
    "write_scene",
]

#: Radius of the H3DS face_sphere region around the nose tip, millimetres.
FACE_SPHERE_MM = 95.0
#: Files :func:`write_scene` writes (regions/ holds face.txt and face_sphere.txt).
SCENE_FILES = (
    "image.png",
    "hair_mask.png",
    "body_mask.png",
    "parsing.png",
    "strand_map.png",
    "orientation.npy",
    "hair_depth.npy",
    "hair_depth_m.npy",
    "camera.json",
    "strands.data",
    "head.obj",
    "landmarks.txt",
    "regions/face.txt",
    "regions/face_sphere.txt",
    "scene.json",
)

#: Files :func:`write_scene` adds with ``volumes=True``.
VOLUME_FILES = ("volume.npz", "strands_usc.data")
#: The 3D truth's box in the USC-HairSalon frame (metres): x and z in [-0.3, 0.3], y in
#: [1.0, 2.0], the box of the published 3D hair metrics; 128^3 voxels.
USC_BOX = ((-0.3, 1.0, -0.3), (0.3, 2.0, 0.3))


@dataclass(frozen=True)
class Scene:
    """A rendered synthetic person and its ground truth.

    Attributes
    ----------
    params : SceneParams
    view : View
        The camera (intrinsics and world-to-camera pose).
    head_to_world : (4, 4) float64
        Canonical head frame to world.
    image : (H, W, 3) uint8
    hair_mask, body_mask : (H, W) bool
        Visible hair; the whole person (hair, head, neck, torso).
    parsing : (H, W) uint8
        0 background, 1 body (neck, clothes), 2 face skin, 3 hair, 4 ears.
    direction : (H, W, 2) float32
        Unit growth direction (root to tip) of the visible strand, image axes; 0 off hair.
    strand_map : (H, W, 3) uint8
        HairStep encoding of ``direction`` (R: 255 hair, 127 body).
    orientation : (H, W) float32
        Undirected angle in [0, pi) from +x toward +y; 0 off hair.
    hair_depth : (H, W) float32
        HairStep convention: [0, 1] inside the hair mask, larger = closer, 0 outside.
    hair_depth_m : (H, W) float32
        World z (metres, larger = closer) of the visible strand; NaN off hair.
    strands : Strands
        Ground-truth strands, world frame, metres.
    head_vertices : (V, 3) float64
        Ground-truth head mesh vertices, world frame, metres.
    head_faces : (F, 3) int64
    landmarks : dict
        H3DS landmark name -> head vertex index.
    regions : dict
        ``face`` and ``face_sphere`` -> vertex indices.
    landmarks_px : dict
        Landmark name -> projected image position (x, y) of its vertex.
    timings : dict
        Seconds per generation stage.
    """

    params: SceneParams
    view: View
    head_to_world: np.ndarray
    image: np.ndarray
    hair_mask: np.ndarray
    body_mask: np.ndarray
    parsing: np.ndarray
    direction: np.ndarray
    strand_map: np.ndarray
    orientation: np.ndarray
    hair_depth: np.ndarray
    hair_depth_m: np.ndarray
    strands: Strands
    head_vertices: np.ndarray
    head_faces: np.ndarray
    landmarks: dict
    regions: dict
    landmarks_px: dict
    timings: dict = field(default_factory=dict)


def _rot(axis: int, deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def head_rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Head-to-world rotation ``Ry(yaw) @ Rx(-pitch) @ Rz(roll)``.

    Positive yaw turns the face toward +x (image right), positive pitch tilts it up, positive
    roll moves the top of the head toward -x (counter-clockwise in the image).
    """
    return _rot(1, yaw_deg) @ _rot(0, -pitch_deg) @ _rot(2, roll_deg)


def head_shape(variant: int) -> HeadShape:
    """The ``variant``-th seeded head shape (adult proportions varied by a few percent)."""
    rng = np.random.default_rng([int(variant), 11])
    base = HeadShape()
    scale = rng.uniform(0.93, 1.06)
    vals = {}
    for f in fields(base):
        v = getattr(base, f.name)
        if f.name in ("neck_pitch", "neck_roll"):
            continue
        if f.name in ("neck_lean", "ear_flare"):
            vals[f.name] = float(v + rng.uniform(-4, 4))
        else:
            vals[f.name] = float(v * scale * rng.uniform(0.95, 1.05))
    return replace(base, **vals)


@functools.lru_cache(maxsize=N_HEAD_VARIANTS)
def _head_variant(variant: int):
    head = person.build_head(head_shape(variant))
    labels = person.part_labels(head.vertices, head.shape)
    torso_v, torso_f = person.torso_mesh(head.shape)
    return head, labels, torso_v, torso_f


def _hair_strands(params: SceneParams, head) -> tuple[Strands, str]:
    """Ground-truth strands in the head frame, and the source actually used."""
    rng = np.random.default_rng([params.seed, 13])
    source = params.hair_source
    if params.style:
        from monoscan.synth.catalogue import parse_style
        from monoscan.synth.styles import Augment, build_style

        aug = Augment(
            length=params.length_scale,
            curl=params.curl_scale,
            wave=params.wave_add,
            volume=params.volume_scale,
        )
        return build_style(head, parse_style(params.style), params.n_strands, rng, aug), source
    if source != "procedural":
        try:
            real = real_style(source)
        except (FileNotFoundError, OSError):
            source = "procedural"  # the development data is absent: fall back
        else:
            if source == "harolongo":
                return fit_real_style(head, real, rng, max_strands=params.n_strands), source
            return usc_style(head, real, params.n_strands, rng), source
    hp = HairParams(
        curl=params.curl,
        length=params.length,
        parting=params.parting,
        bangs=params.bangs,
        ponytail=params.ponytail,
        n_strands=params.n_strands,
        volume=params.volume,
        seed=int(rng.integers(2**31)),
    )
    return grow_hair(head, hp), source


def _make_view(p: SceneParams, rot: np.ndarray) -> View:
    target = rot @ np.array([0.0, 0.0, 0.03]) + np.array([0.0, -0.01, 0.0])
    head_height = 0.25
    w, h = p.width, p.height
    if p.camera == "perspective":
        f = 0.5 * h / np.tan(np.radians(0.5 * p.fov_deg))
        dist = f * head_height / (p.fill * h)
        shift = np.array([-p.offset_px[0], p.offset_px[1]]) * dist / f
    else:
        f = p.fill * h / head_height
        dist = 1.0
        shift = np.array([-p.offset_px[0], p.offset_px[1]]) / f
    eye = target + np.array([shift[0], shift[1], dist])
    return View(
        kind=p.camera,
        width=w,
        height=h,
        focal_px=float(f),
        cx=0.5 * (w - 1),
        cy=0.5 * (h - 1),
        rotation=np.eye(3),
        translation=-eye,
    )


def generate_scene(
    seed: int | SceneParams,
    *,
    width: int = 512,
    height: int = 512,
    hair_source: str | None = None,
    camera: str | None = None,
    cull: bool = True,
) -> Scene:
    """Build and render one synthetic scene.

    Parameters
    ----------
    seed : int or SceneParams
        A seed (parameters drawn by :func:`~monoscan.synth.scene.random_scene`) or the
        parameters themselves.
    width, height : int
        Image size (ignored when ``seed`` is a SceneParams).
    hair_source, camera : str, optional
        Forced hair source / camera kind (see :func:`random_scene`).
    cull : bool
        For catalogue styles, skip the strand segments that are certainly hidden when
        rendering (:func:`monoscan.synth.visibility.cull_hidden`; the truth maps are the same,
        the render is faster).

    Returns
    -------
    Scene
    """
    import cv2

    from monoscan.io.maps import encode_strand_map

    t: dict[str, float] = {}
    t0 = time.perf_counter()
    params = (
        seed
        if isinstance(seed, SceneParams)
        else random_scene(seed, width, height, hair_source=hair_source, camera=camera)
    )
    head, vlabels, torso_v, torso_f = _head_variant(params.head_variant)
    t["head"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    strands_h, source = _hair_strands(params, head)
    if source != params.hair_source:
        params = replace(params, hair_source=source)
    t["hair"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rot = head_rotation(params.yaw_deg, params.pitch_deg, params.roll_deg)
    h2w = np.eye(4)
    h2w[:3, :3] = rot
    view = _make_view(params, rot)
    head_w = head.vertices @ rot.T
    strands_w = strands_h.transform(h2w)
    shape = head.shape
    albedo = functools.partial(
        person.face_albedo,
        shape=shape,
        skin=np.asarray(params.skin),
        iris=np.asarray(params.iris),
        brow=np.asarray(params.brow),
        lip=np.asarray(params.lip),
    )
    layers = [
        MeshLayer(
            head_w, head.faces, albedo_fn=albedo, local=head.vertices, labels=vlabels, specular=0.05
        ),
        MeshLayer(
            torso_v @ rot.T,
            torso_f,
            colors=np.tile(params.shirt, (len(torso_v), 1)),
            labels=np.ones(len(torso_v), np.uint8),
            specular=0.02,
        ),
    ]
    rng = np.random.default_rng([params.seed, 17])
    n = strands_w.n_strands
    shade = rng.uniform(0.85, 1.15, n)[:, None] * rng.uniform(0.95, 1.05, (n, 3))
    colours = np.clip(np.asarray(params.hair_colour)[None] * shade, 0, 1)
    lights = [Light(np.asarray(li[:3]), np.asarray(li[3:])) for li in params.lights]
    bg = background_image(
        (params.height, params.width), np.random.default_rng(params.background_seed)
    )
    shin = 40.0 + 40.0 * rng.random()
    hair_pts, hair_counts = strands_w.points, strands_w.counts
    if params.style and cull:
        # Dense corpus styles: drop the segments certainly hidden (exact truth maps).
        from monoscan.synth.visibility import cull_hidden

        hair_pts, hair_counts, colours = cull_hidden(view, hair_pts, hair_counts, colours)
    r = render(
        view,
        layers,
        StrandLayer(hair_pts, hair_counts, colours, shininess=shin),
        lights=lights,
        ambient=params.ambient,
        background=bg,
        hair_head_centre=rot @ np.array([0.0, 0.03, -0.01]),
    )
    t["render"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    img = r.image.astype(np.float32)
    if params.blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), params.blur)
    img += rng.normal(0.0, params.noise, img.shape).astype(np.float32)
    image = np.clip(img + 0.5, 0, 255).astype(np.uint8)

    hair = r.hair_mask
    body = hair | (r.mesh_layer >= 0)
    parsing = np.where(r.mesh_layer >= 0, r.labels, 0).astype(np.uint8)
    parsing[hair] = 3
    direction = r.hair_direction
    strand_map = encode_strand_map(direction, hair, body)
    orientation = np.where(
        hair, np.mod(np.arctan2(direction[..., 1], direction[..., 0]), np.pi), 0.0
    ).astype(np.float32)
    orientation[orientation >= np.pi] = 0.0
    depth_m = np.where(hair, r.hair_z, np.nan).astype(np.float32)
    depth = np.zeros(hair.shape, np.float32)
    if hair.any():
        z = r.hair_z[hair]
        lo, hi = float(z.min()), float(z.max())
        depth[hair] = (z - lo) / (hi - lo) if hi > lo else 1.0
    lm = head.landmark_ids()
    nose = head_w[lm["nose_tip"]]
    face_sphere = np.flatnonzero(np.linalg.norm(head_w - nose, axis=1) * 1000.0 <= FACE_SPHERE_MM)
    hv = head.vertices
    face_region = np.flatnonzero(
        (vlabels == 2)
        & (hv[:, 2] > 0.02)
        & (hv[:, 1] < 0.075)
        & (hv[:, 1] > -shape.chin_drop - 0.005)
        & ~head.scalp
    )
    uv, _ = view.project(head_w[list(lm.values())])
    landmarks_px = {k: [float(a), float(b)] for k, (a, b) in zip(lm, uv, strict=True)}
    t["maps"] = time.perf_counter() - t0
    return Scene(
        params=params,
        view=view,
        head_to_world=h2w,
        image=image,
        hair_mask=hair,
        body_mask=body,
        parsing=parsing,
        direction=direction,
        strand_map=strand_map,
        orientation=orientation,
        hair_depth=depth,
        hair_depth_m=depth_m,
        strands=strands_w,
        head_vertices=head_w,
        head_faces=head.faces,
        landmarks=lm,
        regions={"face": face_region, "face_sphere": face_sphere},
        landmarks_px=landmarks_px,
        timings=t,
    )


def usc_strands(scene: Scene) -> Strands:
    """The scene's strands in the USC-HairSalon frame (metres, y up; the head unturned).

    The world strands are turned back into the canonical head frame (``head_to_world``
    inverted), then mapped by :func:`monoscan.hair.frames.to_usc_frame`.
    """
    from monoscan.hair.frames import to_usc_frame

    return to_usc_frame(scene.strands.transform(np.linalg.inv(scene.head_to_world)))


def hair_volume(scene: Scene, resolution: int = 128):
    """Occupancy and 3D orientation of the scene's hair on a ``resolution^3`` grid over
    :data:`USC_BOX` in the USC-HairSalon frame.

    Returns
    -------
    monoscan.core.volumes.OrientationVolume
        ``occupancy`` (bool) and ``orientation`` (unit growth direction, float32; zero where
        empty), from :func:`monoscan.metrics.hair3d.voxelize`.
    """
    from monoscan.core.volumes import VoxelGrid
    from monoscan.metrics.hair3d import voxelize

    lo, hi = np.asarray(USC_BOX[0]), np.asarray(USC_BOX[1])
    size = (hi - lo) / resolution
    grid = VoxelGrid(tuple(lo.tolist()), tuple(size.tolist()), (resolution,) * 3)
    return voxelize(usc_strands(scene), grid)


def _volume_npz(scene: Scene) -> bytes:
    import io

    vol = hair_volume(scene)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        occupancy=vol.occupancy,
        orientation=vol.orientation.astype(np.float16),
        lo=np.asarray(vol.grid.lo, np.float64),
        voxel_size=np.asarray(vol.grid.voxel_size, np.float64),
    )
    return buf.getvalue()


def _obj_text(vertices_mm: np.ndarray, faces: np.ndarray) -> str:
    v = "\n".join(map("v {:.4f} {:.4f} {:.4f}".format, *np.asarray(vertices_mm).T.tolist()))
    f = _faces_text(np.ascontiguousarray(faces, np.int64).tobytes())
    return f"# monoscan synthetic head, millimetres, world frame\n{v}\n{f}\n"


@functools.lru_cache(maxsize=N_HEAD_VARIANTS)
def _faces_text(faces: bytes) -> str:
    """OBJ face lines (1-based) of (F, 3) int64 faces given as bytes (one per head variant)."""
    f = np.frombuffer(faces, np.int64).reshape(-1, 3) + 1
    return "\n".join(map("f {} {} {}".format, *f.T.tolist()))


def write_scene(
    scene: Scene, out_dir: str | os.PathLike, *, volumes: bool = False, timings: bool = True
) -> Path:
    """Write every file of ``scene`` into ``out_dir`` (created); ``scene.json`` last.

    Parameters
    ----------
    scene : Scene
    out_dir : path
    volumes : bool
        Also write the 3D truth (:data:`VOLUME_FILES`): ``volume.npz`` (``occupancy``
        128^3 bool, ``orientation`` 128^3 x 3 float16 unit growth directions, ``lo`` and
        ``voxel_size`` of the grid, metres, USC-HairSalon frame; :func:`hair_volume`) and
        ``strands_usc.data`` (the strands in the USC-HairSalon frame).
    timings : bool
        Record the generation timings in ``scene.json`` (False: the files are the same byte
        for byte whenever the scene is generated again).

    Returns
    -------
    Path
        The ``scene.json`` written.
    """
    from monoscan.io.atomic import write_text
    from monoscan.io.images import save_png
    from monoscan.io.maps import save_npy
    from monoscan.io.strands import write_strands

    out = Path(out_dir)
    (out / "regions").mkdir(parents=True, exist_ok=True)
    (out / "scene.json").unlink(missing_ok=True)
    save_png(out / "image.png", scene.image)
    save_png(out / "hair_mask.png", scene.hair_mask.astype(np.uint8) * 255)
    save_png(out / "body_mask.png", scene.body_mask.astype(np.uint8) * 255)
    save_png(out / "parsing.png", scene.parsing)
    save_png(out / "strand_map.png", scene.strand_map)
    save_npy(out / "orientation.npy", scene.orientation)
    save_npy(out / "hair_depth.npy", scene.hair_depth)
    save_npy(out / "hair_depth_m.npy", scene.hair_depth_m)
    cam = scene.view.to_json()
    cam["head_to_world"] = scene.head_to_world.tolist()
    cam["landmarks_px"] = scene.landmarks_px
    write_text(out / "camera.json", json.dumps(cam, indent=2))
    write_strands(out / "strands.data", scene.strands)
    write_text(out / "head.obj", _obj_text(scene.head_vertices * 1000.0, scene.head_faces))
    write_text(out / "landmarks.txt", "".join(f"{k} {v}\n" for k, v in scene.landmarks.items()))
    for name, idx in scene.regions.items():
        write_text(out / "regions" / f"{name}.txt", "\n".join(str(int(i)) for i in idx) + "\n")
    if volumes:
        from monoscan.io.atomic import write_bytes

        write_bytes(out / "volume.npz", _volume_npz(scene))
        write_strands(out / "strands_usc.data", usc_strands(scene))
    doc = {
        "params": scene.params.to_json(),
        "files": {
            "image.png": "photo-like render (sRGB)",
            "hair_mask.png": "255 where a strand is visible",
            "body_mask.png": "255 on the person (hair, head, neck, torso)",
            "parsing.png": "0 background, 1 body, 2 face skin, 3 hair, 4 ears",
            "strand_map.png": "HairStep strand map of the projected ground-truth strands",
            "orientation.npy": "undirected strand angle, radians [0, pi) from +x toward +y",
            "hair_depth.npy": "HairStep depth: [0, 1] in the hair mask, larger = closer",
            "hair_depth_m.npy": "world z of the visible strand, metres (larger = closer), NaN off",
            "camera.json": "intrinsics and world-to-camera pose",
            "strands.data": "ground-truth strands, USC .data, metres, world frame",
            "head.obj": "ground-truth head mesh, millimetres, world frame",
            "landmarks.txt": "H3DS landmarks: name vertex_index",
            "regions/face.txt": "face vertex indices",
            "regions/face_sphere.txt": f"vertices within {FACE_SPHERE_MM:g} mm of the nose tip",
        },
        "world_frame": "metres, y up, x to the subject's left, z toward the camera",
        "counts": {
            "strands": scene.strands.n_strands,
            "head_vertices": len(scene.head_vertices),
            "hair_pixels": int(scene.hair_mask.sum()),
        },
    }
    if volumes:
        doc["files"]["volume.npz"] = (
            "3D truth, USC-HairSalon frame: occupancy (128^3 bool) and orientation (128^3 x 3 "
            "float16 unit growth direction) over x,z in [-0.3, 0.3], y in [1, 2] m; lo, "
            "voxel_size"
        )
        doc["files"]["strands_usc.data"] = "ground-truth strands, USC .data, USC-HairSalon frame"
    if scene.params.style:
        from monoscan.synth.catalogue import parse_style

        spec = parse_style(scene.params.style)
        doc["style"] = {"id": spec.id, "base": spec.base, "kind": spec.kind, "split": spec.split}
    if timings:
        doc["timings_s"] = {k: round(v, 4) for k, v in scene.timings.items()}
    return write_text(out / "scene.json", json.dumps(doc, indent=2))
