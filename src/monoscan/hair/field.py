"""3D hair orientation field on the hair volume.

The field ``V`` (unit growth directions, root to tip, world frame) is the minimiser over the
hair voxels of a screened Dirichlet energy::

    sum_(neighbour voxels i, j) |V_i - V_j|^2  +  sum_i w_i |V_i - b_i|^2

solved per component by conjugate gradients (Jacobi preconditioner) on the 6-neighbour graph
of the occupied voxels (neighbours outside the volume are ignored, a free boundary). The data
terms ``b_i`` with weights ``w_i`` are:

- **Visible directions** (weight ``visible_weight``): voxels within ``visible_depth`` behind
  the visible hair surface (raised to the head's front + the volume's ``front_layer`` where
  the depth map puts it closer, as :func:`monoscan.hair.volume.hair_occupancy` does). The 2D growth
  direction ``(dx, dy)`` (image axes, y down) is lifted
  to 3D with the depth gradient: ``b = normalise(dx, -dy, s)`` with the slope
  ``s = dz_f/dx * dx - dz_f/dy * dy`` of the visible depth ``z_f`` along the strand (the photo
  is orthographic, its x axis is world x and its y axis world -y), clipped to ``|s| <= 2``.
- **Scalp and gravity prior** (everywhere, weight ``prior_weight * (1 + 4 g)``): the direction
  radiating from a crown point (``crown_depth`` below the top of the head, above its centre)
  plus a backward sweep ``(0, 0, -0.3)`` (so the crown itself has a direction),
  projected on the tangent plane of the head (normal = gradient of the head distance), blended
  toward straight down ``(0, -1, 0)`` with ``g = clip(d / gravity_distance, 0, 1)`` where ``d``
  is the distance to the head: strands leave the scalp tangentially and fall further out.

After the solve, within ``tangent_band`` of the head the normal component pointing into the
head is removed (the field is tangent to the scalp or points away from it), and the vectors
are normalised. Values are then spread two voxels outside the volume (mean of occupied
neighbours) so trilinear sampling at the boundary stays well defined; further out the field
is zero.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from monoscan.core.camera import Camera
from monoscan.core.crop import Crop
from monoscan.core.errors import InputError
from monoscan.core.volumes import Occupancy
from monoscan.hair.volume import hair_columns, sample_crop

__all__ = ["lift_directions", "orientation_field", "scalp_prior_field"]

_NEIGHBOURS = ((1, 0, 0), (0, 1, 0), (0, 0, 1))


def _normalise(v: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    out = v / np.maximum(n, 1e-12)
    if fallback is not None:
        out = np.where(n > 1e-6, out, fallback)
    return out


def lift_directions(direction_2d: np.ndarray, depth_m: np.ndarray, voxel: float) -> np.ndarray:
    """Lift 2D growth directions of grid columns to 3D with the depth gradient.

    Parameters
    ----------
    direction_2d : (X, Y, 2) float
        Image-axis growth directions (x right, y down) per grid column.
    depth_m : (X, Y) float
        Visible surface z (metres) per column; NaN where unknown (slope 0 there).
    voxel : float
        Column spacing, metres.

    Returns
    -------
    (X, Y, 3) float32 unit world vectors (zero where the 2D direction is zero).
    """
    d = np.asarray(direction_2d, np.float64)
    z = np.asarray(depth_m, np.float64)
    valid = np.isfinite(z)
    zz = np.where(valid, z, 0.0)
    gx = np.gradient(zz, voxel, axis=0)  # dz / d world x
    gy = np.gradient(zz, voxel, axis=1)  # dz / d world y
    # Only trust gradients whose neighbours are valid.
    ok = valid.copy()
    ok[1:-1, :] &= valid[2:, :] & valid[:-2, :]
    ok[:, 1:-1] &= valid[:, 2:] & valid[:, :-2]
    wx, wy = d[..., 0], -d[..., 1]
    slope = np.where(ok, np.clip(gx * wx + gy * wy, -2.0, 2.0), 0.0)
    v = np.stack([wx, wy, slope], axis=-1)
    has = np.hypot(wx, wy) > 1e-6
    return np.where(has[..., None], _normalise(v), 0.0).astype(np.float32)


def _head_normals(hdist: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Unit gradient of the head distance at voxel indices (central differences)."""
    shape = np.array(hdist.shape)
    g = np.zeros((len(idx), 3))
    for a in range(3):
        e = np.zeros(3, np.int64)
        e[a] = 1
        hi = np.minimum(idx + e, shape - 1)
        lo = np.maximum(idx - e, 0)
        g[:, a] = hdist[hi[:, 0], hi[:, 1], hi[:, 2]] - hdist[lo[:, 0], lo[:, 1], lo[:, 2]]
    return _normalise(g, np.array([0.0, 1.0, 0.0]))


def scalp_prior_field(
    occupancy: Occupancy,
    idx: np.ndarray,
    *,
    crown_depth: float = 0.05,
    gravity_distance: float = 0.06,
    back_bias: float = 0.3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scalp-tangent radial prior blended toward gravity at voxel indices.

    Returns
    -------
    prior : (N, 3) unit vectors, g : (N,) gravity blend in [0, 1], normal : (N, 3) head normals.
    """
    inside = occupancy.head_inside
    if inside.any():
        hv = np.argwhere(inside)
        top = hv[:, 1].max()
        cap = hv[hv[:, 1] >= top - max(1, round(0.04 / occupancy.voxel_size))]
        crown = occupancy.to_world(cap.mean(0))
        crown[1] = occupancy.to_world(np.array([0, top, 0]))[1] - crown_depth
    else:
        crown = occupancy.to_world(np.array(occupancy.shape) / 2)
    p = occupancy.to_world(idx)
    n = _head_normals(occupancy.head_distance, idx)
    # Radial from the crown with a slight backward sweep (defined at the crown itself).
    radial = _normalise(
        _normalise(p - crown) + np.array([0.0, 0.0, -back_bias]), np.array([0.0, -1.0, 0.0])
    )
    tangent = radial - (radial * n).sum(1, keepdims=True) * n
    down = np.array([0.0, -1.0, 0.0])
    tangent = _normalise(tangent, down - (down @ n.T)[:, None] * n)
    d = occupancy.head_distance[idx[:, 0], idx[:, 1], idx[:, 2]].astype(np.float64)
    g = np.clip(d / gravity_distance, 0.0, 1.0)
    prior = _normalise((1 - g)[:, None] * tangent + g[:, None] * down, down)
    return prior, g, n


def _laplacian(lin: np.ndarray, idx: np.ndarray, shape) -> sp.csr_matrix:
    n = len(idx)
    rows, cols = [], []
    shape_a = np.array(shape)
    for e in _NEIGHBOURS:
        j = idx + np.array(e)
        ok = np.all(j < shape_a, axis=1)
        k = np.full(n, -1, np.int64)
        k[ok] = lin[j[ok, 0], j[ok, 1], j[ok, 2]]
        good = k >= 0
        rows.append(np.flatnonzero(good))
        cols.append(k[good])
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    w = np.ones(len(r))
    a = sp.coo_matrix((w, (r, c)), shape=(n, n))
    a = (a + a.T).tocsr()
    deg = np.asarray(a.sum(axis=1)).ravel()
    return sp.diags(deg) - a


def _system(idx: np.ndarray, shape, w: np.ndarray) -> sp.csr_matrix:
    lin = np.full(shape, -1, np.int64)
    lin[idx[:, 0], idx[:, 1], idx[:, 2]] = np.arange(len(idx))
    return (_laplacian(lin, idx, shape) + sp.diags(w)).tocsr()


def _multires_solve(
    grid: np.ndarray,
    idx: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    x0: np.ndarray,
    iterations: int,
    fine_iterations: int,
    tol: float,
) -> np.ndarray:
    """Screened Poisson solve: coarse grid (2x) first, then a few fine CG steps.

    On the coarse grid a cell holds the occupied fine voxels of its 2x2x2 block; its data
    weight is 4x their mean weight (the data term scales with the squared spacing relative
    to the smoothness term) and its target their weighted mean target.
    """
    shape = grid.shape
    cidx_all = idx // 2
    cshape = tuple(int(s) for s in (np.array(shape) + 1) // 2)
    key = np.ravel_multi_index(cidx_all.T, cshape)
    ukey, inv = np.unique(key, return_inverse=True)
    nc = len(ukey)
    cidx = np.stack(np.unravel_index(ukey, cshape), axis=1)
    cnt = np.bincount(inv, minlength=nc).astype(np.float64)
    wc = np.bincount(inv, weights=w, minlength=nc)
    bc = np.stack([np.bincount(inv, weights=b[:, k], minlength=nc) for k in range(3)], axis=1)
    x0c = (
        np.stack([np.bincount(inv, weights=x0[:, k], minlength=nc) for k in range(3)], axis=1)
        / cnt[:, None]
    )
    ac = _system(cidx, cshape, 4.0 * wc / cnt)
    xc = _block_cg(ac, 4.0 * bc / cnt[:, None], x0c, iterations, tol)
    x = xc[inv]
    if fine_iterations > 0:
        x = _block_cg(_system(idx, shape, w), b, x, fine_iterations, tol)
    return x


def _block_cg(
    a: sp.csr_matrix, b: np.ndarray, x0: np.ndarray, iters: int, tol: float
) -> np.ndarray:
    """Conjugate gradients for ``A X = B`` column by column at once (Jacobi preconditioner)."""
    dinv = (1.0 / a.diagonal())[:, None]

    def dot(u, v):
        return np.einsum("ij,ij->j", u, v)

    x = x0.copy()
    r = b - a @ x
    z = dinv * r
    p = z.copy()
    rz = dot(r, z)
    bnorm2 = dot(b, b) + 1e-30
    for _ in range(iters):
        ap = a @ p
        alpha = rz / np.maximum(dot(p, ap), 1e-30)
        x += alpha * p
        r -= alpha * ap
        if np.all(dot(r, r) / bnorm2 < tol * tol):
            break
        z = dinv * r
        rz_new = dot(r, z)
        p = z + (rz_new / np.maximum(rz, 1e-30)) * p
        rz = rz_new
    return x


def orientation_field(
    occupancy: Occupancy,
    growth_dir_crop: np.ndarray,
    hair_depth_m_crop: np.ndarray,
    hair_mask_crop: np.ndarray,
    crop: Crop,
    camera: Camera,
    *,
    visible_depth: float = 0.012,
    visible_weight: float = 1.0,
    prior_weight: float = 0.02,
    gravity_distance: float = 0.06,
    tangent_band: float = 0.01,
    iterations: int = 200,
    fine_iterations: int = 25,
    tol: float = 1e-3,
) -> np.ndarray:
    """3D growth-direction field on the hair volume (method in the module docstring).

    Parameters
    ----------
    occupancy : Occupancy
        The hair volume (:func:`monoscan.hair.volume.hair_occupancy`).
    growth_dir_crop : (H, W, 2) float
        Unit 2D growth directions (root to tip) in the crop, image axes (x right, y down),
        zero outside the hair (:func:`monoscan.hair.direction.growth_direction`).
    hair_depth_m_crop : (H, W) float
        Visible hair z in metres (world frame, larger = closer), NaN outside the hair.
    hair_mask_crop : (H, W) bool
        Hair mask in the crop.
    crop, camera
        As for :func:`monoscan.hair.volume.hair_occupancy`.
    visible_depth : float
        Thickness (metres) of the layer behind the visible surface that gets the lifted 2D
        directions.
    visible_weight, prior_weight : float
        Data weights (the smoothness weight is 1 per neighbour pair).
    gravity_distance : float
        Distance from the head (metres) at which the prior is fully gravity.
    tangent_band : float
        Within this distance (metres) of the head the field may not point into it.
    iterations, fine_iterations, tol : int, int, float
        Conjugate-gradient limits: the system is first solved on a grid twice as coarse (at
        most ``iterations`` steps, relative residual ``tol``), whose solution starts
        ``fine_iterations`` steps on the full grid.

    Returns
    -------
    (X, Y, Z, 3) float32
        Unit growth vectors in the world frame on the occupancy grid (zero away from it).
    """
    d2 = np.asarray(growth_dir_crop, np.float32)
    if d2.ndim != 3 or d2.shape[2] != 2:
        raise InputError(f"growth directions must be (H, W, 2), got shape {d2.shape}")
    mask = np.asarray(hair_mask_crop)
    mask = mask[..., 0] if mask.ndim == 3 else mask
    if mask.shape != d2.shape[:2]:
        raise InputError("growth directions and hair mask shapes differ")
    shape = occupancy.shape
    out = np.zeros(shape + (3,), np.float32)
    idx = np.argwhere(occupancy.grid)
    n = len(idx)
    if n == 0:
        return out
    vox = occupancy.voxel_size
    hair_col, zf, u, v = hair_columns(
        mask > 0,
        np.asarray(hair_depth_m_crop, np.float64),
        crop,
        camera,
        occupancy.origin,
        vox,
        shape,
    )
    dcol = np.stack([sample_crop(d2[..., 0], u, v), sample_crop(d2[..., 1], u, v)], axis=-1)
    # The visible surface as the volume used it: at least ``front_layer`` over the head.
    inside = occupancy.head_inside
    any_head = inside.any(axis=2)
    top = shape[2] - 1 - np.argmax(inside[:, :, ::-1], axis=2)
    head_front = np.where(any_head, occupancy.origin[2] + vox * top, -np.inf)
    layer = float(occupancy.info.get("front_layer_m", 0.0))
    zf = np.where(hair_col & any_head & np.isfinite(zf), np.maximum(zf, head_front + layer), zf)
    lifted = lift_directions(dcol, np.where(hair_col, zf, np.nan), vox)

    prior, g, normal = scalp_prior_field(occupancy, idx, gravity_distance=gravity_distance)
    w = prior_weight * (1.0 + 4.0 * g)
    b = prior * w[:, None]
    # Visible layer.
    zv = occupancy.origin[2] + vox * idx[:, 2]
    zfi = zf[idx[:, 0], idx[:, 1]]
    li = lifted[idx[:, 0], idx[:, 1]].astype(np.float64)
    vis = (
        hair_col[idx[:, 0], idx[:, 1]]
        & np.isfinite(zfi)
        & (zv >= zfi - visible_depth)
        & (np.linalg.norm(li, axis=1) > 0.5)
    )
    w = w + visible_weight * vis
    b[vis] += visible_weight * li[vis]

    x = _multires_solve(
        occupancy.grid,
        idx,
        w,
        b,
        np.where(vis[:, None], li, prior),
        iterations,
        fine_iterations,
        tol,
    )

    # Not into the head near the scalp.
    d = occupancy.head_distance[idx[:, 0], idx[:, 1], idx[:, 2]]
    near = d < tangent_band
    into = (x * normal).sum(1)
    x[near & (into < 0)] -= into[near & (into < 0), None] * normal[near & (into < 0)]
    x = _normalise(x, prior)
    out[idx[:, 0], idx[:, 1], idx[:, 2]] = x.astype(np.float32)
    return _spread(out, occupancy.grid, 2)


def _spread(field: np.ndarray, known: np.ndarray, passes: int) -> np.ndarray:
    """Fill voxels next to ``known`` with the normalised mean of known neighbours."""
    nz = np.argwhere(known)
    if len(nz) == 0:
        return field
    lo = np.maximum(nz.min(0) - passes - 1, 0)
    hi = np.minimum(nz.max(0) + passes + 2, known.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    f = np.pad(field[box], [(1, 1)] * 3 + [(0, 0)])
    k = np.pad(known[box], 1)
    for _ in range(passes):
        fk = f * k[..., None]
        acc = np.zeros_like(f)
        cnt = np.zeros(k.shape, np.int8)
        core = (slice(1, -1),) * 3
        for axis in range(3):
            for shift in (1, -1):
                src = [slice(1, -1)] * 3
                src[axis] = slice(1 + shift, f.shape[axis] - 1 + shift)
                acc[core] += fk[tuple(src)]
                cnt[core] += k[tuple(src)]
        new = ~k & (cnt > 0)
        f[new] = _normalise(acc[new]).astype(np.float32)
        k = k | new
    out = field.copy()
    out[box] = f[1:-1, 1:-1, 1:-1]
    return out
