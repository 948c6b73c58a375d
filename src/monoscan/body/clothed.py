"""The clothed body: the fitted parametric body displaced along its normals to the photo.

Clothing and hair are one scalar displacement ``d`` per vertex of the fitted naked body
(:class:`~monoscan.body.fit.NakedBody`, its main surface subdivided once, eyes dropped),
along the naked body's own vertex normals, so the result stays one closed, consistently
wound surface of the naked body's topology (genus 0: no seam between front and back).

``d`` solves one sparse least-squares problem (repeated a few times, each time re-measuring
the targets from the displaced surface):

- **silhouette**: every *rim* vertex (its normal across the view, |n_z| small, and on the
  outline of the displaced body's own projection) gets the distance, along its normal's
  image-plane direction, from where it projects to the person mask's outline: positive where
  the clothes or hair reach further than the body, negative where the body sticks out. A ray
  that meets another part of the body before leaving the mask (an arm against the torso, the
  legs in a dress) stops half way: the two parts meet in the middle. A vertex keeps its
  last target after it leaves the outline (two parts grown together), so the next round
  does not open the gap again.
- **front** (after the solve): visible vertices facing the camera take the high-pass (below
  2 cm) of the photo's front depth (:func:`monoscan.body.depth.estimate_depth`'s shading
  detail: folds, the face), faded toward the outline; the low-pass of that map is a
  thickness prior, not a measurement, and is not used.
- **smoothness**: the squared graph Laplacian of ``d`` (a bi-Laplacian membrane) spreads the
  rim offsets over the front, the back and the sides alike: the back is displaced by the
  same smooth field as the front (the thickness measured at the outline), so front and back
  meet without a ridge;
- **tightness**: a weak pull of ``d`` toward ``options.base_m`` (a thin layer of cloth)
  makes the offsets die out away from where the outline asks for them: a wide skirt or coat
  widens the body where it is seen wider, and is not made as deep as it is wide.

Past the photo's edges (a person cut at the knees) there are no silhouette or detail
targets: the surface there is the naked body plus the thin layer, joined smoothly to the
clothes seen in the frame (what ``--complete`` shows; by default the meshes are cut at the
frame, :mod:`monoscan.body.partial`).

Frames and units: the result's world frame (metres, x to the subject's left, y up, z toward
the camera, orthographic camera; :mod:`monoscan.body.reconstruct`); masks and maps in map px.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import trimesh

__all__ = ["ClothedBody", "ClothedOptions", "clothed_body", "main_surface"]


@dataclass(frozen=True)
class ClothedOptions:
    """Settings of :func:`clothed_body`.

    Attributes
    ----------
    subdivide : int
        Midpoint subdivisions of the naked body first (each quadruples the faces).
    iterations : int
        Re-measure-and-solve rounds.
    smooth : float
        Weight of the bi-Laplacian term (per vertex; larger = smoother, wider spread).
    base_m : float
        Displacement the tightness term pulls toward (m): a thin layer of cloth.
    tight : float
        Weight of the tightness term, relative to a silhouette target's 1.
    detail : float
        Weight of the photo's front detail (0 = off).
    max_out_m, max_in_m : float
        Bounds of a silhouette target: how far outward (clothes, hair) and inward (m).
    rim_nz : float
        A vertex is on the rim when |n_z| of its normal is below this.
    rim_weight : float
        Weight of a silhouette target.
    meet : float
        Fraction of a gap inside the mask between two body parts that each side closes
        (0.5: they meet in the middle).
    """

    subdivide: int = 1
    iterations: int = 4
    smooth: float = 200.0
    base_m: float = 0.005
    tight: float = 0.02
    detail: float = 0.5
    max_out_m: float = 0.3
    max_in_m: float = 0.05
    rim_nz: float = 0.5
    rim_weight: float = 10.0
    meet: float = 0.5


@dataclass(frozen=True)
class ClothedBody:
    """A clothed body.

    Attributes
    ----------
    mesh : trimesh.Trimesh
        Closed surface, world frame (m), vertex colours from the photo.
    displacement : (V,) float64
        Offset of each vertex along the naked body's normal (m).
    naked_vertices : (V, 3) float64
        The (subdivided) naked body the displacement starts from.
    seconds : float
    """

    mesh: trimesh.Trimesh
    displacement: np.ndarray
    naked_vertices: np.ndarray
    seconds: float


def main_surface(vertices: np.ndarray, faces: np.ndarray, subdivide: int):
    """The largest connected piece of a body-model mesh (the body without its eyes), midpoint
    subdivided ``subdivide`` times: (V, 3) vertices in the input's frame and (F, 3) faces, the
    same topology for every body of the model."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    adj = trimesh.Trimesh(vertices, faces, process=False).face_adjacency
    n_f = len(faces)
    g = sp.coo_matrix((np.ones(len(adj)), (adj[:, 0], adj[:, 1])), shape=(n_f, n_f))
    _, lab = connected_components(g, directed=False)
    keep = lab == np.bincount(lab).argmax()
    f = faces[keep]
    used = np.unique(f)
    remap = np.full(len(vertices), -1)
    remap[used] = np.arange(len(used))
    v, f = vertices[used], remap[f]
    for _ in range(subdivide):
        v, f = trimesh.remesh.subdivide(v, f)
    return np.asarray(v, np.float64), np.asarray(f, np.int64)


def _laplacian(faces: np.ndarray, n: int):
    """Uniform graph Laplacian I - D^-1 A (sparse CSR)."""
    import scipy.sparse as sp

    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = np.concatenate([e, e[:, ::-1]])
    a = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    a.data[:] = 1.0
    deg = np.asarray(a.sum(1)).ravel()
    return sp.identity(n, format="csr") - sp.diags(1.0 / np.maximum(deg, 1)) @ a


def _march(
    inside: np.ndarray,
    other: np.ndarray,
    start: np.ndarray,
    direction: np.ndarray,
    max_out: float,
    max_in: float,
    meet: float = 0.5,
    step: float = 0.5,
):
    """Signed px from ``start`` along ``direction`` to the outline of ``inside`` (positive:
    outward). Outward rays stop half way when they meet ``other`` (another body part)."""
    h, w = inside.shape
    n = len(start)
    out = np.zeros(n)
    ks = np.arange(0.0, max(max_out, max_in) + step, step)

    def sample(m, k, sign):
        p = start[:, None, :] + sign * k[None, :, None] * direction[:, None, :]
        c = np.clip(np.floor(p[..., 0]).astype(np.int64), 0, w - 1)
        r = np.clip(np.floor(p[..., 1]).astype(np.int64), 0, h - 1)
        valid = (p[..., 0] >= 0) & (p[..., 0] < w) & (p[..., 1] >= 0) & (p[..., 1] < h)
        return m[r, c] & valid

    ins0 = sample(inside, ks[:1], 1.0)[:, 0]
    # outward from inside the mask: first step outside it, or meeting another part
    ko = ks[ks <= max_out]
    s_in = sample(inside, ko, 1.0)
    s_ot = sample(other, ko, 1.0)
    # "other": leave our own part first (the first few px may still be us)
    left_self = np.cumsum(~s_ot, axis=1) > 0
    hit_other = s_ot & left_self
    exit_ = ~s_in
    first_exit = np.where(exit_.any(1), exit_.argmax(1), len(ko) - 1)
    first_other = np.where(hit_other.any(1), hit_other.argmax(1), len(ko))
    d_out = np.where(
        first_other < first_exit, meet * ko[np.minimum(first_other, len(ko) - 1)], ko[first_exit]
    )
    # inward from outside the mask: first step inside it
    ki = ks[ks <= max_in]
    s_back = sample(inside, ki, -1.0)
    d_in = -np.where(s_back.any(1), ki[s_back.argmax(1)], ki[-1])
    out[ins0] = d_out[ins0]
    out[~ins0] = d_in[~ins0]
    return out


def clothed_body(
    naked,
    result,
    rgb: np.ndarray | None = None,
    options: ClothedOptions = ClothedOptions(),
) -> ClothedBody:
    """Displace the fitted naked body to the photo's silhouette and front detail.

    Parameters
    ----------
    naked : NakedBody
        :func:`monoscan.body.fit.fit_reconstruction` of ``result``.
    result : BodyResult
        The silhouette reconstruction (mask, front depth, camera).
    rgb : (H, W, 3) uint8 or None
        The photo at the result's map resolution, for vertex colours (None: grey).
    options : ClothedOptions

    Returns
    -------
    ClothedBody
    """
    import scipy.sparse as sp
    from scipy.ndimage import distance_transform_edt, gaussian_filter
    from scipy.sparse.linalg import splu
    from scipy.spatial import cKDTree

    from monoscan.body.mesh import sample_colors, world_to_photo
    from monoscan.body.model import load_body_model
    from monoscan.render.raster import rasterize

    t0 = time.perf_counter()
    mask = np.asarray(result.mask, bool)
    h, w = mask.shape
    s = result.scale / result.map_scale  # m per map px
    origin = np.asarray(result.origin_px, np.float64) * result.map_scale

    v0, faces = main_surface(naked.vertices, load_body_model().faces, options.subdivide)
    n_v = len(v0)
    normals = trimesh.Trimesh(v0, faces, process=False).vertex_normals.copy()
    nz = normals[:, 2]
    nxy = np.stack([normals[:, 0], -normals[:, 1]], 1)  # image-plane direction (px frame)
    nxy_len = np.linalg.norm(nxy, axis=1)
    dir_px = nxy / np.maximum(nxy_len, 1e-9)[:, None]

    # inward moves stay within a fraction of the local thickness (a finger does not turn
    # inside out): the nearest vertex facing the other way, among the 48 nearest
    dist, idx = cKDTree(v0).query(v0, k=48)
    opposite = (normals[idx] * normals[:, None, :]).sum(-1) < -0.3
    thick = np.where(opposite.any(1), np.where(opposite, dist, np.inf).min(1), np.inf)
    max_in = np.minimum(options.max_in_m, 0.4 * thick)

    lap = _laplacian(faces, n_v)
    reg = options.smooth * (lap.T @ lap) + options.tight * sp.identity(n_v)

    # the photo's front detail (m): high-pass of the front depth, faded near the outline
    detail = np.zeros((h, w))
    if options.detail > 0:
        front = np.asarray(result.front_depth, np.float64)
        f0 = np.where(mask, np.nan_to_num(front), 0.0)
        sig = max(2.0, 0.02 / s)  # 2 cm
        num = gaussian_filter(f0, sig)
        den = gaussian_filter(mask.astype(float), sig)
        low = num / np.maximum(den, 1e-6)
        fade = np.clip(distance_transform_edt(mask) * s / 0.03, 0, 1)
        detail = np.where(mask, (f0 - low) * fade, 0.0) * options.detail

    d = np.full(n_v, options.base_m)
    target = np.zeros(n_v)
    wgt = np.zeros(n_v)
    for _ in range(options.iterations):
        v = v0 + d[:, None] * normals
        p = world_to_photo(v, s, origin)
        zbuf, face_id, _ = rasterize(p[:, :2], v[:, 2], faces, (h, w))
        body = face_id >= 0
        col = np.clip(np.floor(p[:, 0]).astype(int), 0, w - 1)
        row = np.clip(np.floor(p[:, 1]).astype(int), 0, h - 1)
        visible = v[:, 2] >= np.where(np.isfinite(zbuf[row, col]), zbuf[row, col], -np.inf) - 0.01
        # rim vertices on the outline of the body's own projection
        to_out = distance_transform_edt(body)
        near_outline = to_out[row, col] <= 2.0
        # ... whose normal points out of that projection (not along a limb into the body)
        ahead = p[:, :2] + 3.0 * dir_px
        ac = np.clip(np.floor(ahead[:, 0]).astype(int), 0, w - 1)
        ar = np.clip(np.floor(ahead[:, 1]).astype(int), 0, h - 1)
        # past (or on) the photo's edge the photo says nothing: no silhouette target there,
        # the surface falls back to the naked body plus the thin base layer
        framed = (p[:, 0] >= 2) & (p[:, 0] <= w - 2) & (p[:, 1] >= 2) & (p[:, 1] <= h - 2)
        rim = (
            (np.abs(nz) < options.rim_nz)
            & near_outline
            & visible
            & framed
            & (nxy_len > 0.3)
            & ~body[ar, ac]
        )
        march = _march(
            mask,
            body,
            p[rim, :2] + 2.0 * dir_px[rim],  # start just outside our own outline
            dir_px[rim],
            options.max_out_m / s,
            options.max_in_m / s,
            options.meet,
        )
        target[rim] = np.clip(
            d[rim] + (march + 2.0) * s / nxy_len[rim], -max_in[rim], options.max_out_m
        )
        # a vertex keeps its last target once it leaves the outline: where two parts grew
        # together (an arm against a baggy sleeve) the joined vertices are no longer on the
        # outline, and without their targets the next solve would open the gap again
        wgt[rim] = options.rim_weight
        rhs = options.tight * options.base_m + wgt * target
        a = (reg + sp.diags(wgt)).tocsc()
        # Symmetric positive definite: a symmetric ordering with diagonal pivots factors it in
        # 0.6 s instead of spsolve's 1.1 s (53k vertices; same solution to 1e-14)
        d = splu(a, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True}).solve(rhs)

    # front detail, applied once at the end to visible camera-facing vertices: along the
    # normal, as far as makes the detail's change of z
    v = v0 + d[:, None] * normals
    if options.detail > 0:
        p = world_to_photo(v, s, origin)
        zbuf, _, _ = rasterize(p[:, :2], v[:, 2], faces, (h, w))
        col = np.clip(np.floor(p[:, 0]).astype(int), 0, w - 1)
        row = np.clip(np.floor(p[:, 1]).astype(int), 0, h - 1)
        zb = zbuf[row, col]
        framed = (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0) & (p[:, 1] < h)
        vis = framed & np.isfinite(zb) & (v[:, 2] >= zb - 0.01) & (nz > 0.3)
        dz = np.where(vis, detail[row, col] * np.clip((nz - 0.3) / 0.4, 0, 1), 0.0)
        step = dz / np.maximum(nz, 0.3)
        v = v + step[:, None] * normals
        d = d + step

    mesh = trimesh.Trimesh(v, faces, process=False)
    if rgb is not None:
        p = world_to_photo(v, s, origin)
        mesh.visual = trimesh.visual.ColorVisuals(
            mesh, vertex_colors=sample_colors(p[:, :2], rgb, mask)
        )
    return ClothedBody(
        mesh=mesh, displacement=d, naked_vertices=v0, seconds=time.perf_counter() - t0
    )
