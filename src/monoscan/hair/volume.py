"""Hair volume: a voxel occupancy grid of the hair around a head, from one view.

The photo shows the front surface of the hair (hair mask + hair depth) and its silhouette;
the back and sides are hidden. The volume is built on a regular grid in the world frame
(metres, y up, x to the subject's left, z toward the camera; default voxel 4 mm) from four
parts, all computed with NumPy and ``scipy.ndimage``:

1. **Head.** The closed head mesh is voxelised by casting one ray per grid column along +z
   and accumulating the winding number of the crossings (robust to several overlapping closed
   parts). Below the head's lowest slice its cross-section is extruded down (a neck/torso
   proxy), so long hair can hang behind it. ``head_distance`` is the Euclidean distance to
   the head (negative inside), from two distance transforms.
2. **Silhouette thickness.** In the image plane (grid columns), every hair column outside the
   head's silhouette is assigned to its nearest silhouette column (2D distance transform); the
   hair thickness at a silhouette point is the largest distance of the hair assigned to it,
   and the thickness of a grid row ``T(y)`` is the largest over that row's silhouette points,
   smoothed over rows (Gaussian, 1 cm) and clipped to ``[min_thickness, max_thickness]``.
   Rows with no hair beside the head get 0. A voxel behind or beside the head may be hair if
   its distance to the head is at most ``T`` of the row of its nearest head point: hair seen
   far from the head in 2D is thick in 3D all around at that height; where the mask hugs the
   head the shell is thin, also at the back (short hair stays short), and where the mask
   extends below the chin the shell continues around the extruded neck (long hair falls
   behind the shoulders).
3. **Visible slab.** Under every hair column, voxels between the visible depth ``z_f`` and its
   mirror image about the silhouette plane, ``2 z_sil - z_f`` (the inflation model of
   :mod:`monoscan.hair.depth`). Over the head ``z_f`` is at least the head's front plus
   ``front_layer`` (12 mm, three voxels), so thin bangs still have room for strands.
4. **Root layer.** Voxels within ``root_layer`` (12 mm) of the scalp roots, so every kept
   root starts inside the volume; those within ``min_thickness`` of the head and in columns
   within ``root_layer`` of the head's outline are kept even where the photo's cut below
   would remove them (the roots were already checked against the photo, and the fitted
   head's outline may poke slightly past the hair mask, e.g. at the top of the head).

Their union is then cut by what the photo rules out: a voxel must be outside the head by at
least ``margin``, and must either project onto hair and lie behind the visible surface
(``z <= z_f`` + half a voxel), or be hidden behind the head (some head voxel in front of it in
its column), or be hidden behind the body (``body_mask`` column, behind ``body_z``). Finally
only connected components that come within 2 cm of the head are kept.

Resolution and cost: the default 4 mm voxel gives about 1-1.5 million voxels for a
head-and-shoulders crop and runs in well under a second on one core.

The grid's closed surface (``hair_volume.obj``) is made by
:func:`monoscan.hair.reconstruct3d.occupancy_surface`; :func:`drop_small_pieces` then keeps
only its main piece. Without it, voxels of stray hair mask within 2 cm of the head and bangs
separated from the rest by the head margin float as small closed islands in front of the face.
"""

from __future__ import annotations

import cv2
import numpy as np
import trimesh
from scipy import ndimage

from monoscan.core.camera import Camera
from monoscan.core.crop import Crop
from monoscan.core.errors import InputError
from monoscan.core.volumes import Occupancy

__all__ = [
    "MIN_PIECE_FRACTION",
    "column_crop_coords",
    "drop_small_pieces",
    "extend_nearest",
    "hair_occupancy",
    "head_arrays",
    "voxelize_mesh",
]

#: Default voxel edge, metres.
VOXEL_M = 0.004

#: Pieces of the hair volume's surface enclosing less than this fraction of the largest
#: piece's volume are dropped (:func:`drop_small_pieces`). On the 18 shared portraits
#: (default options) the surface has 2-20 pieces; every one but the largest encloses at most
#: 3.6 % of it (a few voxels of stray mask, or bangs cut off from the rest by the 2 mm head
#: margin, which no strand grown from the scalp reaches), together at most 4.6 % of the
#: volume, so one piece remains. Without person segmentation two of them also have a second
#: piece of 12-23 % (hair beside the head or behind the neck, cut off): that one is kept.
#: With the ICT head (default since issue 15) 17 of the 18 are one piece; hairstep__0d285f
#: keeps a second of 37 %: long hair cut in front of and behind the bust's shoulders.
MIN_PIECE_FRACTION = 0.05


# ---------------------------------------------------------------------------- head helpers
def head_mesh_arrays(head) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and faces of a head given as a trimesh, an object with ``.mesh``, or with
    ``.vertices`` / ``.faces`` attributes."""
    obj = head
    if not (hasattr(obj, "vertices") and hasattr(obj, "faces")) and hasattr(obj, "mesh"):
        obj = obj.mesh
    try:
        v = np.asarray(obj.vertices, np.float64)
        f = np.asarray(obj.faces, np.int64)
    except AttributeError:
        raise InputError("head must be a triangle mesh (vertices and faces)") from None
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
        raise InputError("head mesh must have (V, 3) vertices and (F, 3) faces")
    if not np.all(np.isfinite(v)):
        raise InputError("head mesh has NaN or infinite vertices")
    return v, f


def voxelize_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    origin: np.ndarray,
    voxel: float,
    shape: tuple[int, int, int],
) -> np.ndarray:
    """Solid voxelisation of closed triangle meshes by z-ray winding numbers.

    One ray per (x, y) grid column travels along +z; each triangle it crosses adds -1 (face
    pointing toward -z: entering) or +1 (leaving) at the first voxel centre past the crossing,
    and a cumulative sum along z gives the winding number. Voxels with winding number > 0 are
    inside. Column centres are offset by a tiny irrational amount so rays never hit edges.

    Parameters
    ----------
    vertices : (V, 3) float, faces : (F, 3) int
        Closed, outward-oriented mesh(es), world metres.
    origin : (3,) float
        World centre of voxel ``[0, 0, 0]``.
    voxel : float
        Voxel edge, metres.
    shape : (X, Y, Z)

    Returns
    -------
    (X, Y, Z) bool
    """
    nx, ny, nz = shape
    p = (np.asarray(vertices, np.float64) - origin) / voxel
    tri = p[np.asarray(faces, np.int64)]  # (F, 3, 3) in voxel units
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    # Signed doubled area in xy (orientation of the projection = sign of the normal's z).
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    keep = np.abs(area) > 1e-12
    a, b, c, area = a[keep], b[keep], c[keep], area[keep]
    jx, jy = 1.1e-4 * np.pi, 1.3e-4 * np.e  # ray offsets, voxel units
    lo = np.floor(np.minimum(np.minimum(a, b), c)[:, :2] - [jx, jy]).astype(np.int64) + 1
    hi = np.floor(np.maximum(np.maximum(a, b), c)[:, :2] - [jx, jy]).astype(np.int64)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [nx - 1, ny - 1])
    cx = np.maximum(hi[:, 0] - lo[:, 0] + 1, 0)
    cy = np.maximum(hi[:, 1] - lo[:, 1] + 1, 0)
    cnt = cx * cy
    tid = np.repeat(np.arange(len(a)), cnt)
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    k = np.arange(len(tid)) - np.repeat(start, cnt)
    ix = lo[tid, 0] + k % np.maximum(cx[tid], 1)
    iy = lo[tid, 1] + k // np.maximum(cx[tid], 1)
    px, py = ix + jx, iy + jy
    A, B, C = a[tid], b[tid], c[tid]

    def edge(p0, p1):
        return (p1[:, 0] - p0[:, 0]) * (py - p0[:, 1]) - (p1[:, 1] - p0[:, 1]) * (px - p0[:, 0])

    w0, w1, w2 = edge(B, C), edge(C, A), edge(A, B)
    s = np.sign(area[tid])
    inside = (w0 * s >= 0) & (w1 * s >= 0) & (w2 * s >= 0)
    w0, w1, w2, s = w0[inside], w1[inside], w2[inside], s[inside]
    ar = area[tid][inside]
    zc = (w0 * A[inside, 2] + w1 * B[inside, 2] + w2 * C[inside, 2]) / ar
    ix, iy = ix[inside], iy[inside]
    kz = np.clip(np.floor(zc).astype(np.int64) + 1, 0, nz)
    counts = np.zeros((nx, ny, nz + 1), np.int32)
    # Normal z > 0 (counter-clockwise in xy, area > 0) is a leaving crossing along +z.
    np.add.at(counts, (ix, iy, kz), np.where(s > 0, 1, -1).astype(np.int32))
    winding = -np.cumsum(counts[:, :, :nz], axis=2)
    return winding > 0


def head_arrays(
    head, origin: np.ndarray, voxel: float, shape: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Voxelised head, head extruded below its lowest slice, signed head distance.

    Returns
    -------
    inside : (X, Y, Z) bool
        The head mesh.
    proxy : (X, Y, Z) bool
        ``inside`` plus the head's lowest non-empty y-slice copied down to the bottom of the
        grid (neck / torso proxy).
    distance : (X, Y, Z) float32
        Distance (metres) to ``proxy`` (negative inside), minus half a voxel outside, so it
        approximates the distance to the surface.
    near_row : (X, Y, Z) int32
        Grid row (y index) of the nearest ``proxy`` voxel of each voxel.
    """
    v, f = head_mesh_arrays(head)
    inside = voxelize_mesh(v, f, origin, voxel, shape)
    proxy = inside.copy()
    rows = np.flatnonzero(inside.any(axis=(0, 2)))
    if len(rows):
        low = rows[0]
        proxy[:, :low, :] = inside[:, low : low + 1, :]
    if not proxy.any():
        raise InputError("the head mesh does not overlap the hair volume grid")
    out, idx = ndimage.distance_transform_edt(~proxy, sampling=voxel, return_indices=True)
    near_row = idx[1].astype(np.int32)
    del idx
    inn = ndimage.distance_transform_edt(proxy, sampling=voxel)
    dist = np.where(proxy, -inn + 0.5 * voxel, out - 0.5 * voxel).astype(np.float32)
    return inside, proxy, dist, near_row


# ---------------------------------------------------------------------------- image side
def column_crop_coords(
    origin: np.ndarray, voxel: float, shape: tuple[int, int, int], crop: Crop, camera: Camera
) -> tuple[np.ndarray, np.ndarray]:
    """Crop pixel coordinates (u, v) of every grid column's centre, each (X, Y) float32.

    Uses ``camera.world_to_photo`` (orthographic: z is irrelevant) and ``crop.to_crop``.
    """
    nx, ny, _ = shape
    xs = origin[0] + voxel * np.arange(nx)
    ys = origin[1] + voxel * np.arange(ny)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    pts = np.stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)], axis=1)
    photo = camera.world_to_photo(pts)[:, :2]
    uv = crop.to_crop(photo)[:, :2]
    return (
        uv[:, 0].reshape(nx, ny).astype(np.float32),
        uv[:, 1].reshape(nx, ny).astype(np.float32),
    )


def crop_pixel_size(crop: Crop, camera: Camera) -> float:
    """Metres per crop pixel."""
    p = camera.world_to_photo(np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))[:, :2]
    u = crop.to_crop(p)[:, :2]
    return 1.0 / float(np.linalg.norm(u[1] - u[0]))


def sample_crop(
    image: np.ndarray, u: np.ndarray, v: np.ndarray, linear: bool = True, fill: float = 0.0
) -> np.ndarray:
    """Sample a crop map (H, W[, C]) at crop pixel coordinates (u, v) with OpenCV remap."""
    img = np.asarray(image, np.float32)
    return cv2.remap(
        img,
        u.astype(np.float32),
        v.astype(np.float32),
        cv2.INTER_LINEAR if linear else cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fill,
    )


def extend_nearest(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``values`` (H, W[, C]) with every pixel outside ``mask`` set to its nearest pixel's in it."""
    if not mask.any() or mask.all():
        return values
    _, (iy, ix) = ndimage.distance_transform_edt(~mask, return_indices=True)
    return values[iy, ix]


def hair_columns(hair_mask, depth_m, crop: Crop, camera: Camera, origin, voxel, shape):
    """Hair coverage and front depth per grid column."""
    u, v = column_crop_coords(origin, voxel, shape, crop, camera)
    px = voxel / crop_pixel_size(crop, camera)  # crop pixels per voxel
    m = hair_mask.astype(np.float32)
    if px > 1.5:
        m = cv2.GaussianBlur(m, (0, 0), 0.5 * px)
    hair_col = sample_crop(m, u, v) >= 0.5
    d = np.where(hair_mask & np.isfinite(depth_m), depth_m, np.nan).astype(np.float32)
    valid = np.isfinite(d)
    if valid.any():
        d_ext = extend_nearest(np.nan_to_num(d), valid)
        zf = sample_crop(d_ext, u, v, fill=np.nan)
    else:
        zf = np.full(u.shape, np.nan, np.float32)
    return hair_col, zf, u, v


def _check_maps(hair_mask, depth_m):
    m = np.asarray(hair_mask)
    if m.ndim == 3:
        m = m[..., 0]
    if m.ndim != 2:
        raise InputError(f"hair mask must be (H, W), got shape {m.shape}")
    m = m > 0 if m.dtype != bool else m
    d = np.asarray(depth_m, np.float64)
    if d.shape != m.shape:
        raise InputError(f"hair depth shape {d.shape} does not match the mask {m.shape}")
    if m.sum() == 0:
        raise InputError("the hair mask is empty: no hair to reconstruct")
    if not np.isfinite(d[m]).any():
        raise InputError("hair depth has no finite value inside the hair mask")
    return m, d


def _grid_box(hair_mask, depth_m, crop, camera, head_v, voxel, max_thickness):
    """World box (lo, hi) covering the hair's projection, the head and the hidden shell."""
    ys, xs = np.nonzero(hair_mask)
    photo = crop.to_photo(np.stack([xs, ys], axis=1).astype(np.float64))
    world = camera.photo_to_world(np.concatenate([photo, np.zeros((len(photo), 1))], axis=1))
    lo = np.minimum(world.min(0), head_v.min(0))
    hi = np.maximum(world.max(0), head_v.max(0))
    zf = depth_m[hair_mask]
    zf = zf[np.isfinite(zf)]
    lo[2] = head_v[:, 2].min() - max_thickness
    hi[2] = max(head_v[:, 2].max(), float(zf.max()) if len(zf) else -np.inf)
    lo -= 2 * voxel
    hi += 2 * voxel
    return lo, hi


def _row_thickness(hair_col, sil, voxel, min_t, max_t, smooth_m=0.01):
    """Hair thickness ``T`` per grid row from the silhouette (module docstring, step 2)."""
    ny = hair_col.shape[1]
    t_row = np.zeros(ny)
    if not sil.any():
        return t_row
    dist, (ix, iy) = ndimage.distance_transform_edt(~sil, sampling=voxel, return_indices=True)
    outside = hair_col & ~sil
    has_row = np.zeros(ny, bool)
    if outside.any():
        t_sil = np.zeros(sil.shape)
        np.maximum.at(t_sil, (ix[outside], iy[outside]), dist[outside])
        t_row = t_sil.max(axis=0)
    # Rows where the hair reaches the silhouette (also hair over the head, e.g. bangs).
    near = hair_col & (dist <= 1.5 * voxel)
    has_row = near.any(axis=0) | (t_row > 0)
    if smooth_m > 0:
        t_row = ndimage.gaussian_filter1d(t_row, smooth_m / voxel, mode="nearest")
        # Gaussian smoothing lowers isolated peaks; keep at least a dilated max-filter share.
    t_row = np.where(has_row, np.clip(t_row, min_t, max_t), 0.0)
    return t_row


def hair_occupancy(
    hair_mask_crop: np.ndarray,
    hair_depth_m_crop: np.ndarray,
    crop: Crop,
    camera: Camera,
    head,
    *,
    roots: np.ndarray | None = None,
    body_mask_crop: np.ndarray | None = None,
    voxel_size: float = VOXEL_M,
    margin: float = 0.002,
    min_thickness: float = 0.008,
    max_thickness: float = 0.12,
    root_layer: float = 0.012,
    front_layer: float = 0.012,
    silhouette_z: float = 0.0,
    body_z: float = 0.0,
) -> Occupancy:
    """Hair occupancy grid from the hair mask, hair depth and head (module docstring).

    Parameters
    ----------
    hair_mask_crop : (H, W) bool or uint8
        Hair mask in the HairStep crop (512x512).
    hair_depth_m_crop : (H, W) float
        World-frame z of the visible hair surface in metres (larger = closer), NaN or anything
        outside the mask (``monoscan.hair.depth.hair_depth(...).metres``).
    crop : Crop
        The crop (``to_crop`` / ``to_photo`` map photo <-> crop pixels).
    camera : Camera
        Scaled orthographic camera (``photo_to_world`` / ``world_to_photo``).
    head : trimesh.Trimesh or object with ``vertices``/``faces`` (or ``.mesh``)
        Closed, outward-oriented head mesh in the world frame, metres.
    roots : (R, 3) float, optional
        Scalp roots (world metres); voxels within ``root_layer`` of them are hair (subject to
        the visibility cut).
    body_mask_crop : (H, W) bool, optional
        Body pixels in the crop; hair may hide behind them (at ``z < body_z``). Default: the
        pixels between the leftmost and rightmost hair of each row below the head that are
        neither hair nor head.
    voxel_size : float
        Voxel edge in metres (default 4 mm).
    margin : float
        Minimum distance between hair voxels and the head, metres.
    min_thickness, max_thickness : float
        Clip range of the row thickness ``T`` in metres (rows with hair beside the head).
    root_layer : float
        Radius of the layer kept around the roots, metres.
    front_layer : float
        Least thickness of visible hair over the head (the visible surface is moved out to
        the head's front plus this when the depth puts it closer), metres.
    silhouette_z : float
        Depth of the hair's occluding contour (mirror plane of the visible slab), metres.
    body_z : float
        Hair hidden by the body must lie behind this depth, metres.

    Returns
    -------
    Occupancy

    Raises
    ------
    InputError
        Empty mask, shapes that disagree, or no finite depth inside the mask.
    """
    hair, depth = _check_maps(hair_mask_crop, hair_depth_m_crop)
    if not voxel_size > 0:
        raise InputError(f"voxel_size must be > 0, got {voxel_size}")
    head_v, _ = head_mesh_arrays(head)
    lo, hi = _grid_box(hair, depth, crop, camera, head_v, voxel_size, max_thickness)
    shape = tuple(int(n) for n in np.ceil((hi - lo) / voxel_size).astype(int) + 1)
    if np.prod(shape) > 40_000_000:
        raise InputError(f"hair volume grid {shape} is too large; use a larger voxel_size")
    origin = lo.astype(np.float64)
    inside, proxy, hdist, near_row = head_arrays(head, origin, voxel_size, shape)
    hair_col, zf, u, v = hair_columns(hair, depth, crop, camera, origin, voxel_size, shape)
    zs = origin[2] + voxel_size * np.arange(shape[2])

    # Head silhouette and thickness per row.
    sil = proxy.any(axis=2)
    t_row = _row_thickness(hair_col, sil, voxel_size, min_thickness, max_thickness)

    # Front-most head voxel per column (occlusion).
    any_head = proxy.any(axis=2)
    top_k = np.where(any_head, shape[2] - 1 - np.argmax(proxy[:, :, ::-1], axis=2), -1)
    head_front_z = np.where(any_head, origin[2] + voxel_size * top_k, -np.inf)

    # Body columns.
    if body_mask_crop is not None:
        bm = np.asarray(body_mask_crop)
        bm = bm[..., 0] if bm.ndim == 3 else bm
        if bm.shape != hair.shape:
            raise InputError(f"body mask shape {bm.shape} does not match the hair mask")
        body_col = sample_crop((bm > 0).astype(np.float32), u, v) >= 0.5
    else:
        head_rows = np.flatnonzero(inside.any(axis=(0, 2)))
        below = np.zeros(shape[1], bool)
        if len(head_rows):
            chin = head_rows[0] + (head_rows[-1] - head_rows[0]) // 4
            below[:chin] = True
        covered = hair_col | sil
        fill = np.zeros_like(covered)
        for j in np.flatnonzero(below & covered.any(axis=0)):
            idx = np.flatnonzero(covered[:, j])
            fill[idx[0] : idx[-1] + 1, j] = True
        body_col = fill & ~covered

    zf_ok = np.where(np.isfinite(zf), zf, -np.inf)
    # Hair over the head is at least ``front_layer`` thick, so strands can run through it.
    zf_ok = np.where(hair_col & any_head, np.maximum(zf_ok, head_front_z + front_layer), zf_ok)
    tol = 0.5 * voxel_size
    allowed = (
        (hair_col[:, :, None] & (zs[None, None, :] <= zf_ok[:, :, None] + tol))
        | (zs[None, None, :] < head_front_z[:, :, None] - tol)
        | (body_col[:, :, None] & (zs[None, None, :] < body_z))
    )

    # Shell: distance to the head below the thickness of the nearest head point's row.
    t_vox = t_row.astype(np.float32)[near_row]
    del near_row
    shell = hdist <= t_vox
    slab = hair_col[:, :, None] & (zs[None, None, :] >= (2 * silhouette_z - zf_ok)[:, :, None])
    parts = shell | slab
    if roots is not None and len(roots):
        r = np.asarray(roots, np.float64).reshape(-1, 3)
        ridx = np.rint((r - origin) / voxel_size).astype(np.int64)
        ok = np.all((ridx >= 0) & (ridx < np.array(shape)), axis=1)
        seed = np.zeros(shape, bool)
        seed[ridx[ok, 0], ridx[ok, 1], ridx[ok, 2]] = True
        if seed.any():
            layer = ndimage.distance_transform_edt(~seed, sampling=voxel_size) <= root_layer
            parts |= layer
            # The scalp under kept roots is always covered by a thin layer, even where the
            # head's outline pokes past the hair mask (e.g. a fitted skull slightly taller
            # than the hair): roots were already checked against the photo.
            # Only near the head's outline (not over the face, where skin is visible).
            rim = ndimage.distance_transform_edt(sil, sampling=voxel_size) <= root_layer
            allowed |= layer & (hdist <= min_thickness) & rim[:, :, None]
    occ = parts & allowed & (hdist > margin)

    # Keep components that come within 2 cm of the head.
    lab, n = ndimage.label(occ)
    if n > 1:
        near = np.unique(lab[occ & (hdist < 0.02)])
        occ = np.isin(lab, near[near > 0])
    info = {
        "shape": shape,
        "voxel_size_m": voxel_size,
        "row_thickness_m": t_row.astype(np.float32),
        "n_hair_columns": int(hair_col.sum()),
        "front_layer_m": float(front_layer),
    }
    return Occupancy(
        grid=occ,
        origin=origin,
        voxel_size=float(voxel_size),
        head_distance=hdist,
        head_inside=inside,
        info=info,
    )


def drop_small_pieces(
    mesh, min_fraction: float = MIN_PIECE_FRACTION
) -> tuple[trimesh.Trimesh, dict[str, float | int]]:
    """Keep the pieces of a closed surface that enclose at least ``min_fraction`` of the largest.

    A piece is a set of faces connected through shared edges. Its enclosed volume is the
    divergence-theorem sum over its (outward-oriented) faces: positive for a solid, negative
    for the inner wall of a cavity. Pieces whose absolute volume is below ``min_fraction``
    times the largest are dropped: floating islands vanish and tiny voids inside the solid are
    filled. Every kept piece stays closed, so the result is closed when the input is.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Closed, outward-oriented surface (the hair volume's, world metres).
    min_fraction : float
        In ``[0, 1]``; default :data:`MIN_PIECE_FRACTION` (5 %). 0 keeps everything.

    Returns
    -------
    kept : trimesh.Trimesh
        The kept faces and the vertices they use (order kept), unprocessed.
    info : dict
        ``pieces`` (found), ``pieces_dropped``, ``volume_m3`` (enclosed by the kept surface)
        and ``volume_dropped_fraction`` (net volume of the dropped pieces over the input's).

    Raises
    ------
    InputError
        If the mesh has no faces or ``min_fraction`` is outside ``[0, 1]``.
    """
    if not 0.0 <= min_fraction <= 1.0:
        raise InputError(f"min_fraction must be in [0, 1], got {min_fraction}")
    faces = np.asarray(mesh.faces, dtype=np.int64)
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    if len(faces) == 0:
        raise InputError("the surface has no faces")
    labels = trimesh.graph.connected_component_labels(mesh.face_adjacency, node_count=len(faces))
    tri = vertices[faces]
    signed = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])) / 6.0
    volume = np.bincount(labels, signed)
    keep = np.abs(volume) >= min_fraction * np.abs(volume).max()
    total = float(volume.sum())
    kept_volume = float(volume[keep].sum())
    info = {
        "pieces": len(volume),
        "pieces_dropped": int((~keep).sum()),
        "volume_m3": kept_volume,
        "volume_dropped_fraction": (total - kept_volume) / total if total else 0.0,
    }
    if keep.all():
        return mesh, info
    kept_faces = faces[keep[labels]]
    used = np.unique(kept_faces)
    remap = np.full(len(vertices), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    out = trimesh.Trimesh(vertices[used], remap[kept_faces], process=False)
    return out, info
