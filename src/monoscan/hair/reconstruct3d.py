"""3D hair from the 2D hair maps: volume -> orientation field -> strands, in one call.

:func:`hair_strands` is the stage the pipeline calls; :func:`occupancy_surface` turns the
volume into the closed mesh written as ``hair_volume.obj``.

Inputs (all maps on the 512x512 HairStep crop, pixel centres, x right, y down):

- ``hair_mask_crop`` (H, W) bool: :func:`monoscan.hair.segmentation.segment_hair` on the crop.
- ``growth_dir_crop`` (H, W, 2) float: unit growth directions root -> tip, image axes
  (:func:`monoscan.hair.direction.growth_direction`).
- ``hair_depth_m_crop`` (H, W) float: world z of the visible hair in metres, NaN outside the
  hair (``monoscan.hair.depth.hair_depth(...).metres``).
- ``orientation_crop`` (H, W) float, optional: undirected Gabor orientation (radians) for the
  curliness estimate (:func:`monoscan.hair.orientation.hair_orientation`).
- ``body_mask_crop`` (H, W) bool, optional: body/clothes pixels (``HairMaps.parsing == 1``);
  hair may hang hidden behind them.
- ``crop`` (:class:`monoscan.perception.crop.Crop`), ``camera``
  (:class:`monoscan.face.camera.Camera`): crop px <-> photo px <-> world.
- ``head``: the closed head mesh in the world frame (a trimesh, or an object with
  ``vertices``/``faces`` or ``.mesh``).
- ``roots``/``root_normals``: scalp roots; default :func:`monoscan.head.scalp.
  sample_scalp_roots` when that module exists, else the fallback of :func:`scalp_roots`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import cv2
import numpy as np
import trimesh
from scipy import ndimage

from monoscan.core.camera import Camera
from monoscan.core.colour import median_hair_srgb, srgb_to_linear
from monoscan.core.crop import Crop
from monoscan.core.errors import InputError
from monoscan.core.strands import Strands
from monoscan.core.volumes import Occupancy
from monoscan.hair.field import orientation_field
from monoscan.hair.growth import estimate_curliness, grow_strands, uneven_ends
from monoscan.hair.volume import VOXEL_M, crop_pixel_size, hair_occupancy, head_mesh_arrays

if TYPE_CHECKING:  # annotations only: no import cost, no import cycle
    from monoscan.head.assemble import HeadMesh

__all__ = ["hair_strands", "kept_roots", "occupancy_surface", "scalp_roots", "visible_roots"]


def scalp_roots(head: HeadMesh, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scalp roots of ``head``: ``monoscan.head.scalp.sample_scalp_roots`` if available.

    Fallback (any closed head mesh): points sampled uniformly by area on the mesh (seeded),
    kept where they are less than 15 cm below the top of the head and face upward or backward
    (normal ``n_y - 0.6 n_z > 0.1``), i.e. not on the face, neck or shoulders.

    Returns
    -------
    points, normals : (M, 3) float64 each, world metres; M close to ``n``.
    """
    try:
        from monoscan.head.scalp import sample_scalp_roots
    except ImportError:
        sample_scalp_roots = None
    if sample_scalp_roots is not None and not isinstance(head, trimesh.Trimesh):
        p, nrm = sample_scalp_roots(head, n, seed)
        return np.asarray(p, np.float64), np.asarray(nrm, np.float64)
    v, f = head_mesh_arrays(head)
    mesh = trimesh.Trimesh(v, f, process=False)
    top = v[:, 1].max()
    out_p, out_n = [], []
    rng = np.random.default_rng(seed)
    for _ in range(8):
        pts, fi = trimesh.sample.sample_surface(
            mesh, max(4 * n, 1000), seed=int(rng.integers(1 << 31))
        )
        nrm = mesh.face_normals[fi]
        keep = (pts[:, 1] > top - 0.15) & (nrm[:, 1] - 0.6 * nrm[:, 2] > 0.1)
        out_p.append(pts[keep])
        out_n.append(nrm[keep])
        if sum(len(p) for p in out_p) >= n:
            break
    p = np.concatenate(out_p)[:n]
    return p, np.concatenate(out_n)[:n]


def visible_roots(
    roots: np.ndarray,
    normals: np.ndarray,
    hair_mask_crop: np.ndarray,
    crop: Crop,
    camera: Camera,
    dilate_px: int = 4,
) -> np.ndarray:
    """(R,) bool: roots the photo allows (projecting onto hair, or on the back of the head).

    A root whose normal points away from the camera (``n_z < -0.1``) is hidden by the head and
    always kept; any other root must project onto the hair mask dilated by ``dilate_px``
    (so bald or visible-skin scalp regions, e.g. a high forehead, grow no hair).
    """
    m = np.asarray(hair_mask_crop).astype(np.uint8)
    if dilate_px > 0:
        m = cv2.dilate(m, np.ones((2 * dilate_px + 1,) * 2, np.uint8))
    uv = crop.to_crop(camera.world_to_photo(np.asarray(roots, np.float64))[:, :2])[:, :2]
    u = np.rint(uv[:, 0]).astype(np.int64)
    v = np.rint(uv[:, 1]).astype(np.int64)
    h, w = m.shape
    ok = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    on_hair = np.zeros(len(roots), bool)
    on_hair[ok] = m[v[ok], u[ok]] > 0
    return on_hair | (np.asarray(normals)[:, 2] < -0.1)


def kept_roots(
    head,
    hair_mask_crop: np.ndarray,
    crop: Crop,
    camera: Camera,
    n_strands: int,
    seed: int = 0,
    roots: np.ndarray | None = None,
    root_normals: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The roots :func:`hair_strands` grows from: (roots, normals, spare roots, spare normals).

    ``3 n_strands`` scalp candidates (:func:`scalp_roots`, unless ``roots`` are given),
    filtered by :func:`visible_roots`; the first ``n_strands`` kept, the rest spare.
    """
    if roots is None:
        roots, root_normals = scalp_roots(head, 3 * n_strands, seed)
    elif root_normals is None:
        raise InputError("root_normals are required with roots")
    roots = np.asarray(roots, np.float64).reshape(-1, 3)
    root_normals = np.asarray(root_normals, np.float64).reshape(-1, 3)
    keep = visible_roots(roots, root_normals, hair_mask_crop, crop, camera)
    roots, root_normals = roots[keep], root_normals[keep]
    return roots[:n_strands], root_normals[:n_strands], roots[n_strands:], root_normals[n_strands:]


def hair_strands(
    hair_mask_crop: np.ndarray,
    growth_dir_crop: np.ndarray,
    hair_depth_m_crop: np.ndarray,
    crop: Crop,
    camera: Camera,
    head,
    *,
    orientation_crop: np.ndarray | None = None,
    body_mask_crop: np.ndarray | None = None,
    roots: np.ndarray | None = None,
    root_normals: np.ndarray | None = None,
    n_strands: int = 10_000,
    seed: int = 0,
    voxel_size: float = VOXEL_M,
    step_m: float = 0.005,
    max_points: int = 120,
    curliness: tuple[float, float] | None = None,
    min_curl_m: float = 0.003,
    top_up: bool = True,
    colors: bool = True,
    volume_model: str = "prior",
) -> tuple[Strands, Occupancy]:
    """Grow a 3D hairstyle from the 2D hair maps (inputs in the module docstring).

    Steps: scalp roots (``3 n_strands`` candidates, filtered by :func:`visible_roots`, the
    first ``n_strands`` kept) -> :func:`monoscan.hair.volume.hair_occupancy` ->
    :func:`monoscan.hair.field.orientation_field` -> :func:`monoscan.hair.growth.grow_strands`
    (with :func:`~monoscan.hair.growth.estimate_curliness` from ``orientation_crop`` unless
    ``curliness`` is given). Stubs are dropped and, with ``top_up``, replaced once from spare
    roots, so the result holds ``n_strands`` strands or somewhat fewer.
    An estimated curl amplitude under ``min_curl_m`` counts as straight hair: on the 18
    portraits of ``../shared/data/portraits`` the estimate gives 1.9-2.8 mm for straight hair
    (orientation noise), 3.2-4.1 mm for wavy hair, 6.0 mm for the curly one; the default 3 mm
    separates them except for two short, dark, low-contrast men's cuts (3.5 and 4.1 mm).

    Parameters
    ----------
    n_strands : int
        Roots to grow from (10,000 default; up to 1,000,000 accepted).
    seed : int
        Seed for the roots, curl phases and colour jitter (same seed, same strands).
    voxel_size, step_m, max_points
        Volume resolution (4 mm), growth step (5 mm) and points per strand (120), metres.
    curliness : (amplitude_m, period_m), optional
        Overrides the estimate.
    top_up : bool
        Replace the strands dropped as stubs by growing from spare visible roots (when
        there are any), so about ``n_strands`` strands come out.
    volume_model : {"prior", "learned"}
        Where the volume and the growth field come from: the geometric prior
        (:func:`~monoscan.hair.volume.hair_occupancy` and
        :func:`~monoscan.hair.field.orientation_field`) or the network of
        :mod:`monoscan.hair.learned3d` evaluated on the prior's grid.

    Returns
    -------
    strands : Strands
        World frame, metres, root to tip; with ``colors``, per-point colours (linear RGB)
        from the photo where it sees the strand and tapering widths
        (:func:`monoscan.hair.appearance.strand_appearance`).
    occupancy : Occupancy
        The hair volume (``occupancy.info`` also holds the curliness used).
    """
    if n_strands < 1 or n_strands > 1_000_000:
        raise InputError(f"n_strands must be in [1, 1000000], got {n_strands}")
    t0 = time.perf_counter()
    mask = np.asarray(hair_mask_crop)
    mask = (mask[..., 0] if mask.ndim == 3 else mask) > 0
    roots, root_normals, spare, spare_n = kept_roots(
        head, mask, crop, camera, n_strands, seed, roots, root_normals
    )
    t = {"roots": time.perf_counter() - t0}
    t0 = time.perf_counter()
    occ = hair_occupancy(
        mask,
        hair_depth_m_crop,
        crop,
        camera,
        head,
        roots=roots,
        body_mask_crop=body_mask_crop,
        voxel_size=voxel_size,
    )
    t["volume"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if volume_model == "learned":
        from monoscan.hair.learned3d import learned_volume

        occ, field = learned_volume(
            occ, mask, growth_dir_crop, hair_depth_m_crop, body_mask_crop, crop, camera
        )
        t["learned_volume"] = time.perf_counter() - t0
    elif volume_model == "prior":
        field = orientation_field(occ, growth_dir_crop, hair_depth_m_crop, mask, crop, camera)
        t["field"] = time.perf_counter() - t0
    else:
        raise InputError(f"unknown volume model {volume_model!r}; choose prior or learned")
    t0 = time.perf_counter()
    if curliness is None and orientation_crop is not None:
        curliness = estimate_curliness(
            orientation_crop, mask, metres_per_pixel=crop_pixel_size(crop, camera)
        )
        if curliness[0] < min_curl_m:
            curliness = (0.0, curliness[1])
    t["curliness"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    occ.info["curliness_m"] = None if curliness is None else [float(c) for c in curliness]
    occ.info["n_roots"] = len(roots)
    strands = grow_strands(
        field,
        occ,
        roots,
        root_normals,
        None,
        step_m=step_m,
        max_points=max_points,
        curliness=curliness,
        seed=seed,
    )
    if top_up and strands.n_strands < n_strands and len(spare) and len(roots):
        # Replace the dropped stubs: grow from spare roots at the observed keep rate.
        rate = max(strands.n_strands / len(roots), 0.2)
        m = min(len(spare), int(np.ceil((n_strands - strands.n_strands) / rate * 1.15)))
        extra = grow_strands(
            field,
            occ,
            spare[:m],
            spare_n[:m],
            None,
            step_m=step_m,
            max_points=max_points,
            curliness=curliness,
            seed=seed + 7,
        )
        strands = Strands.concatenate([strands, extra])
        if strands.n_strands > n_strands:
            strands = strands.subset(np.arange(n_strands))
    strands = uneven_ends(strands, seed=seed + 11)
    t["growth"] = time.perf_counter() - t0
    occ.info["timings_s"] = t
    if colors and strands.n_points:
        from monoscan.hair.appearance import strand_appearance

        image = getattr(crop, "image", None)
        if image is not None and np.shape(image)[:2] == mask.shape:
            strands = strand_appearance(
                strands, image, mask, hair_depth_m_crop, crop, camera, seed=seed
            )
        else:  # no crop image: the dark-brown default, with the strands' brightness varied
            base = srgb_to_linear(median_hair_srgb(image, mask) / 255.0)
            rng = np.random.default_rng(seed + 2)
            jitter = rng.uniform(0.8, 1.2, strands.n_strands)[strands.strand_index]
            col = np.clip(base[None, :] * jitter[:, None], 0.0, 1.0)
            strands = Strands(strands.points, strands.counts, colors=col)
    return strands, occ


def occupancy_surface(occupancy: Occupancy, smooth_voxels: float = 1.0) -> trimesh.Trimesh:
    """Closed triangle mesh of the hair volume (marching cubes), world metres.

    The boolean grid is smoothed with a Gaussian of ``smooth_voxels`` voxels and padded with
    empty voxels, so the 0.5 level set is a closed, outward-oriented surface.

    Raises
    ------
    InputError
        If the volume is empty.
    """
    from skimage.measure import marching_cubes

    if not occupancy.grid.any():
        raise InputError("the hair volume is empty")
    g = np.pad(occupancy.grid.astype(np.float32), 2)
    if smooth_voxels > 0:
        g = ndimage.gaussian_filter(g, smooth_voxels)
    level = 0.5 if g.max() > 0.5 else 0.5 * float(g.max())
    verts, faces, _, _ = marching_cubes(g, level=level)
    verts = occupancy.origin + (verts - 2.0) * occupancy.voxel_size
    mesh = trimesh.Trimesh(verts, faces, process=True)
    if mesh.volume < 0:
        mesh.invert()
    return mesh
