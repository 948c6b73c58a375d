"""One closed, textured head mesh: the photo's face blended into the fitted parametric head.

How the surface is built (all in the world frame, metres)
---------------------------------------------------------
1. The face's footprint and visible height ``z = F(x, y)`` are rasterised on the grid's columns
   (spacing ``spacing``, 2 mm by default; the dense face mesh z-buffered along the camera
   axis; eye and mouth openings filled). A weight ``w`` per column rises from 0 on the outline
   to 1 one ramp (10 mm) inside; near the outline it also falls where the face turns away
   from the camera.
2. The fitted head is warped so that its surface passes through the outline of the face: the
   displacement between each outline point and the nearest point of the head's surface is
   spread smoothly with Gaussian radial basis functions (25 mm) in the head frame.
3. One scalar field is sampled on the grid. In footprint columns it morphs from the warped
   head's signed distance (``w = 0``) to the face sheet's signed distance (``w = 1``; from
   the tangent planes of the nearest face-mesh vertices, so the far side of a turned nose
   keeps its overhang); the head is cut off in front of that surface and a plate reaching back
   to the head's own front surface is added behind it. Elsewhere the field is the warped
   head. Only 8 mm blocks near the surface are evaluated at full resolution.
4. ``skimage.measure.marching_cubes`` extracts the zero level set: closed by construction
   (the field is positive on the grid's border); the largest component is kept and triangles
   are oriented outward.
5. Texture: one image made of the photo around the face, feathered into a skin colour taken
   from the cheeks and forehead. Vertices on the face take their photo projection as texture
   coordinates; every other vertex gets coordinates in the skin-coloured surround from a
   harmonic (graph Laplacian) extension of the inverted face coordinates, pinned on the flat
   cut under the neck to a circle turning with the azimuth (so only the centre of that cut, a
   few triangles nobody sees, smears the texture).
   A closed mesh cannot carry one continuous texture map that keeps the face inside and the
   rest outside without such a point; it keeps the mesh's vertices unsplit, so the textured
   files stay closed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from monoscan.core.camera import Camera
from monoscan.core.errors import InputError
from monoscan.core.geometry import vertex_normals
from monoscan.core.meshes import FaceMesh, textured_trimesh
from monoscan.head.fit import FittedHead
from monoscan.head.ict_head import skin_tone
from monoscan.head.model import head_bounds, head_sdf, scalp_mask
from monoscan.render.raster import sample_image

__all__ = ["DEFAULT_SPACING", "HeadMesh", "assemble_head", "face_fidelity", "skin_color"]

#: Grid spacing of the implicit surface, metres.
DEFAULT_SPACING = 0.002
#: Width of the blend between the face and the head inside the face outline, metres.
RAMP_M = 0.010
#: Greatest thickness of the face plate added behind the face surface, metres.
PLATE_M = 0.045
#: Width of the RBF warp that brings the head's surface onto the face outline (head frame, m).
WARP_SIGMA = 0.025
#: The face's bounding box is this fraction of the texture's side.
_TEXTURE_FACE_FRACTION = 1.0 / 1.6
_BLOCK = 4


@dataclass(frozen=True)
class HeadMesh:
    """A closed, textured head mesh in the world frame.

    Attributes
    ----------
    vertices : (V, 3) float32
        World frame, metres.
    faces : (F, 3) int32
        Counter-clockwise seen from outside (outward normals); closed and manifold.
    uv : (V, 2) float32
        Texture coordinates in [0, 1], v up.
    texture : (H, W, 3) uint8
        The photo around the face, skin colour elsewhere.
    vertex_colors : (V, 3) uint8
        The texture sampled at each vertex.
    face_region : (V,) bool
        Vertices on the photographed face surface (textured from the photo).
    scalp : (V,) bool
        Vertices where hair roots may grow (see :func:`monoscan.head.model.scalp_mask`).
    head : FittedHead
    skin_color : (3,) uint8
    timings : dict
        Seconds per step.
    corner_uv : (F, 3, 2) float32 or None
        Per-corner texture coordinates when the UV layout has seams (the ICT head); ``uv``
        then holds one of each vertex's.
    ict : IctFit or None
        The ICT model fit this head was made from (:mod:`monoscan.head.ict_head`), else None.
    eyes : tuple of Eyeball
        The ICT head's eyeballs (:mod:`monoscan.head.eyes`), separate meshes; empty otherwise.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    texture: np.ndarray
    vertex_colors: np.ndarray
    face_region: np.ndarray
    scalp: np.ndarray
    head: FittedHead
    skin_color: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    corner_uv: np.ndarray | None = None
    ict: object | None = None
    eyes: tuple = ()

    def vertex_normals(self) -> np.ndarray:
        """(V, 3) unit outward vertex normals (area-weighted face normals)."""
        return vertex_normals(self.vertices, self.faces)

    def to_trimesh(self, textured: bool = True):
        """A ``trimesh.Trimesh`` (vertex order kept) with the texture or vertex colours."""
        return textured_trimesh(self, textured)


# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    origin: np.ndarray  # world position of index (0, 0, 0)
    spacing: float
    shape: tuple[int, int, int]  # (nx, ny, nz); n - 1 divisible by _BLOCK

    def points(self, idx: np.ndarray) -> np.ndarray:
        return (self.origin + self.spacing * idx).astype(np.float32)


def _make_grid(head: FittedHead, face_vertices: np.ndarray, spacing: float) -> _Grid:
    lo, hi = head_bounds(head.shape)
    corners = np.array(
        [[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
    )
    world = head.to_world(corners)
    lo_w = np.minimum(world.min(0), face_vertices.min(0)) - 3 * spacing
    hi_w = np.maximum(world.max(0), face_vertices.max(0)) + 3 * spacing
    n = np.ceil((hi_w - lo_w) / spacing).astype(int) + 1
    n = ((n - 1 + _BLOCK - 1) // _BLOCK) * _BLOCK + 1
    if np.prod(n) > 60_000_000:
        raise InputError(
            f"head grid too large ({n.tolist()} cells at {spacing * 1000:.1f} mm); "
            "is the face mesh in metres?"
        )
    return _Grid(origin=lo_w, spacing=float(spacing), shape=tuple(int(v) for v in n))


@dataclass(frozen=True)
class _FaceField:
    height: np.ndarray  # (nx, ny) front surface z, metres (0 outside)
    inside: np.ndarray  # (nx, ny) signed distance to the footprint outline, metres (+ inside)
    footprint: np.ndarray  # (nx, ny) bool
    weight: np.ndarray  # (nx, ny) 0..1: how much the face (vs the head) shapes each column
    facing: np.ndarray  # (nx, ny) z component of the face's normal (1: faces the camera)
    sdf: object = None  # points (N, 3) world -> signed distance to the face sheet (+ in front)


def _face_height_field(face: FaceMesh, grid: _Grid) -> _FaceField:
    """Rasterise the face mesh along z onto the grid's (x, y) columns."""
    from scipy import ndimage

    from monoscan.render.raster import rasterize

    nx, ny, _ = grid.shape
    v = face.vertices.astype(np.float64)
    # Grid columns sit at integer coordinates; the rasteriser samples pixel centres (+0.5).
    xy = (v[:, :2] - grid.origin[:2]) / grid.spacing + 0.5
    zbuf, tri, _ = rasterize(xy, v[:, 2], face.faces, (ny, nx))
    hit = tri >= 0
    filled = ndimage.binary_fill_holes(hit)
    height = np.where(hit, zbuf, 0.0).astype(np.float32)
    holes = filled & ~hit
    if holes.any():
        # Eye and mouth openings: a membrane (Jacobi iterations of the 4-neighbour mean)
        # spanned from their rims.
        sl = ndimage.find_objects(ndimage.label(holes)[0])
        for box in sl:
            box = tuple(slice(max(b.start - 2, 0), b.stop + 2) for b in box)
            sub, hole = height[box], holes[box]
            rim = ndimage.binary_dilation(hole) & ~hole & hit[box]
            if not rim.any():
                continue
            sub[hole] = sub[rim].mean()
            known = ~hole
            for _ in range(4 * max(hole.shape)):
                pad = np.pad(sub, 1, mode="edge")
                avg = 0.25 * (pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:])
                sub = np.where(known, sub, avg)
            height[box] = sub
    height = np.where(filled, height, 0.0)
    dist_in = ndimage.distance_transform_edt(filled)
    dist_out = ndimage.distance_transform_edt(~filled)
    inside = np.where(filled, dist_in - 0.5, 0.5 - dist_out) * grid.spacing
    # Weight: 0 on the outline rising to 1 one ramp inside; near the outline also 0 where the
    # face turns away from the camera (a height field is ill-conditioned there: the head's own
    # surface, warped onto the outline, takes over).
    h = grid.spacing
    w = _smoothstep((inside - 0.5 * h) / RAMP_M)
    gy, gx = np.gradient(np.where(filled, height, np.nan), h)
    nz = 1.0 / np.sqrt(1.0 + np.nan_to_num(gx, nan=1e3) ** 2 + np.nan_to_num(gy, nan=1e3) ** 2)
    nz = ndimage.gaussian_filter(nz, 1.5)
    facing = _smoothstep((nz - 0.25) / 0.3)
    interior = _smoothstep((inside - 0.015) / 0.015)
    w = np.where(filled, w * np.maximum(facing, interior), 0.0)
    return _FaceField(
        height=height.T.copy(),
        inside=inside.T.copy(),
        footprint=filled.T.copy(),
        weight=w.T.copy(),
        facing=nz.T.copy(),
        sdf=_FaceSheetDistance(face),
    )


class _FaceSheetDistance:
    """Signed distance to the face mesh (positive in front), from its nearest vertices' planes.

    Unlike the height field this keeps overhangs (the far side of a turned nose, over the
    cheek it hides). Averaging the tangent planes of the 3 nearest vertices (inverse-distance
    weights) keeps it continuous.
    """

    def __init__(self, face: FaceMesh) -> None:
        from scipy.spatial import cKDTree

        v = face.vertices.astype(np.float64)
        self.normals = vertex_normals(v, face.faces)
        self.vertices = v
        self.tree = cKDTree(v)

    def __call__(self, points: np.ndarray, height: np.ndarray | None = None) -> np.ndarray:
        """Signed distance at (N, 3) world points; beyond ``NEAR_M`` of the face's vertices,
        where tangent planes say little, ``z - height`` (the height field) is used instead."""
        p = np.asarray(points, np.float64)
        if height is None:
            near = np.ones(len(p), bool)
            out = np.zeros(len(p))
        else:
            out = p[:, 2] - height
            # The face sheet is rarely steeper than ~75 deg: farther than this in z is far.
            near = np.abs(out) < 4 * self.NEAR_M
        q = p[near]
        dist, idx = self.tree.query(q, k=3, workers=-1)
        w = 1.0 / np.maximum(dist, 1e-6)
        plane = np.einsum("nkj,nkj->nk", q[:, None] - self.vertices[idx], self.normals[idx])
        sd = (plane * w).sum(1) / w.sum(1)
        if height is not None:
            keep = dist[:, 0] <= self.NEAR_M
            sd = np.where(keep, sd, out[near])
        out[near] = sd
        return out.astype(np.float32)

    NEAR_M = 0.008


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _outline_warp(head: FittedHead, face: _FaceField, grid: _Grid, n_centres: int = 48):
    """RBF centres and weights (head frame) moving the head's surface onto the face outline."""
    from scipy import ndimage

    ring = face.footprint & ~ndimage.binary_erosion(face.footprint)
    ii, jj = np.nonzero(ring)
    if len(ii) < 8:
        raise InputError("the face outline is too small to attach a head to")
    pts = np.stack(
        [
            grid.origin[0] + grid.spacing * ii,
            grid.origin[1] + grid.spacing * jj,
            face.height[ii, jj],
        ],
        axis=1,
    )
    centre = pts.mean(0)
    order = np.argsort(np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0]))
    pts = pts[order[np.linspace(0, len(order) - 1, min(n_centres, len(order))).astype(int)]]
    q = head.to_head(pts)
    # Project onto the model surface with a few Newton steps along the SDF gradient.
    c = q.copy()
    eps = 1e-4
    offsets = np.eye(3) * eps
    for _ in range(4):
        d = head_sdf(c, head.shape)
        grad = np.stack(
            [
                (head_sdf(c + o, head.shape) - head_sdf(c - o, head.shape)) / (2 * eps)
                for o in offsets
            ],
            axis=1,
        )
        grad /= np.maximum(np.linalg.norm(grad, axis=1, keepdims=True), 1e-9)
        c = c - d[:, None] * grad
    disp = q - c
    norm = np.linalg.norm(disp, axis=1, keepdims=True)
    disp *= np.minimum(1.0, 0.03 / np.maximum(norm, 1e-12))
    k = np.exp(-np.sum((c[:, None] - c[None]) ** 2, -1) / (2 * WARP_SIGMA**2))
    weights = np.linalg.solve(k + 0.05 * np.eye(len(c)), disp)
    return c, weights


def _warp_at(points_head: np.ndarray, centres: np.ndarray, weights: np.ndarray) -> np.ndarray:
    d2 = (
        np.sum(points_head**2, 1)[:, None]
        - 2 * points_head @ centres.T
        + np.sum(centres**2, 1)[None]
    )
    return np.exp(-np.maximum(d2, 0) / (2 * WARP_SIGMA**2)) @ weights


class _WarpedHead:
    """The fitted head, warped onto the face outline, as a field over grid coordinates."""

    def __init__(self, grid: _Grid, head: FittedHead, warp) -> None:
        from scipy import ndimage

        b = _BLOCK
        self.grid, self.head = grid, head
        self.rot_t = head.rotation.astype(np.float32)
        self.inv_s = np.float32(1.0 / head.scale)
        self.t = head.translation.astype(np.float32)
        nx, ny, nz = grid.shape
        self.cshape = ((nx - 1) // b + 1, (ny - 1) // b + 1, (nz - 1) // b + 1)
        self.cidx = np.stack(
            np.meshgrid(*[np.arange(n) * b for n in self.cshape], indexing="ij"), -1
        ).reshape(-1, 3)
        # Warp displacement on the coarse grid (smooth: sigma 25 mm >> 8 mm block).
        cq = self.to_head(grid.points(self.cidx))
        centres, weights = warp
        self.cwarp = _warp_at(cq.astype(np.float64), centres, weights).astype(np.float32)
        # Coarse cells whose corners carry any warp above 10 micrometres (head frame).
        mag = np.linalg.norm(self.cwarp, axis=1).reshape(self.cshape) > 1e-5
        self.active = ndimage.maximum_filter(mag, size=2, origin=-1)[:-1, :-1, :-1]

    def to_head(self, p: np.ndarray) -> np.ndarray:
        return ((p - self.t) @ self.rot_t) * self.inv_s

    def coarse(self) -> np.ndarray:
        """Field at the coarse grid points (every _BLOCK-th index), shape ``cshape``."""
        q = self.to_head(self.grid.points(self.cidx))
        d = self.head.scale * head_sdf(q - self.cwarp, self.head.shape)
        return d.reshape(self.cshape)

    def at(self, idx: np.ndarray) -> np.ndarray:
        """Field at (N, 3) grid coordinates (fractional allowed), metres."""
        from scipy import ndimage

        idx = np.asarray(idx, np.float32)
        q = self.to_head(self.grid.points(idx))
        # Only where the warp is not negligible (it decays within a few sigma of the outline).
        ci = np.clip(np.floor(idx / _BLOCK).astype(np.int64), 0, np.array(self.cshape) - 2)
        near = self.active[ci[:, 0], ci[:, 1], ci[:, 2]]
        if near.any():
            coords = idx[near].T / _BLOCK
            cw = self.cwarp.reshape(*self.cshape, 3)
            q[near] -= np.stack(
                [
                    ndimage.map_coordinates(cw[..., k], coords, order=1, mode="nearest")
                    for k in range(3)
                ],
                axis=1,
            )
        return self.head.scale * head_sdf(q, self.head.shape)


def _front_height(model: _WarpedHead, face: _FaceField) -> np.ndarray:
    """Front surface z of the warped head in each footprint column (NaN where it misses).

    The head is sampled down each column at the grid spacing, from 4 cm in front of the face
    to 8 cm behind it; the first crossing into the head is interpolated linearly.
    """
    grid = model.grid
    h = grid.spacing
    ii, jj = np.nonzero(face.footprint)
    out = np.full(face.height.shape, np.nan)
    if len(ii) == 0:
        return out
    k_top = (face.height[ii, jj] - grid.origin[2] + 0.04) / h
    steps = int(np.ceil(0.12 / h))
    ks = k_top[:, None] - np.arange(steps)[None]
    idx = np.stack([np.repeat(ii, steps), np.repeat(jj, steps), ks.ravel()], 1)
    d = model.at(idx).reshape(len(ii), steps)
    inside = d < 0
    found = inside.any(1)
    first = np.argmax(inside, 1)
    prev = np.maximum(first - 1, 0)
    rows = np.arange(len(ii))
    d0, d1 = d[rows, prev], d[rows, first]
    frac = np.where((first > 0) & (d0 > d1), d0 / np.maximum(d0 - d1, 1e-12), 0.0)
    # Refine the crossing by regula falsi inside the bracketing step (grazing columns bend).
    k_out, k_in = ks[rows, prev].astype(np.float64), ks[rows, first].astype(np.float64)
    d_out, d_in = d0.astype(np.float64), d1.astype(np.float64)
    k_hit = k_out - frac
    sel = np.flatnonzero(found & (first > 0))
    for _ in range(3):
        if len(sel) == 0:
            break
        dm = model.at(np.stack([ii[sel], jj[sel], k_hit[sel]], 1)).astype(np.float64)
        out_side = dm >= 0
        k_out[sel] = np.where(out_side, k_hit[sel], k_out[sel])
        d_out[sel] = np.where(out_side, dm, d_out[sel])
        k_in[sel] = np.where(out_side, k_in[sel], k_hit[sel])
        d_in[sel] = np.where(out_side, d_in[sel], dm)
        t = d_out[sel] / np.maximum(d_out[sel] - d_in[sel], 1e-12)
        k_hit[sel] = k_out[sel] - t * (k_out[sel] - k_in[sel])
    out[ii[found], jj[found]] = grid.origin[2] + h * k_hit[found]
    # A column grazing the head can miss a thin sliver between samples and find the head far
    # behind: replace such outliers by their neighbours' median.
    import warnings

    pad = np.pad(out, 1, mode="edge")
    nb = np.stack(
        [pad[a : a + out.shape[0], b : b + out.shape[1]] for a in range(3) for b in range(3)]
    )
    finite = np.isfinite(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(nb[:, finite], axis=0)  # the centre is finite: no empty windows
    vals = out[finite]
    bad = np.abs(vals - med) > 2 * h
    vals[bad] = med[bad]
    out[finite] = vals
    return out


def _sample_field(
    grid: _Grid, head: FittedHead, face: _FaceField, warp
) -> tuple[np.ndarray, np.ndarray]:
    """The implicit head+face field on the grid (metres, negative inside), coarse to fine.

    In footprint columns with weight ``w > 0`` the surface morphs from the warped head
    (``w = 0``) to the face sheet (``w = 1``): the head is cut off in front of the morphed
    surface and a plate is added behind it, reaching back to the head's own front surface
    (at most ``PLATE_M``). Elsewhere the field is the warped head. At the outline both
    agree, so the face meets the head without a step. Also returns the blended front height
    per column (NaN outside the footprint).
    """
    from scipy import ndimage

    b = _BLOCK
    h = grid.spacing
    model = _WarpedHead(grid, head, warp)
    face_sdf = face.sdf
    wgt = face.weight
    front = _front_height(model, face)
    fb = np.where(
        np.isfinite(front), wgt * face.height + (1 - wgt) * np.nan_to_num(front), face.height
    )
    fb = np.where(face.footprint, fb, np.nan)
    # The plate only needs to reach from the face back into the head (where the face stands in
    # front of the head's own surface); deeper plates would poke out of the sides of the head.
    need = np.where(
        np.isfinite(front), np.clip(face.height - np.nan_to_num(front), 0, None) + 0.3 * h, PLATE_M
    )
    thick = (wgt * np.minimum(need, PLATE_M)).astype(np.float32)
    lift = ((1.0 - wgt) * 0.006).astype(np.float32)
    infp = face.footprint & (wgt > 0)

    def combine(idx: np.ndarray, d_model: np.ndarray) -> np.ndarray:
        i, j = idx[:, 0], idx[:, 1]
        col = infp[i, j]
        if not col.any():
            return d_model.astype(np.float32)
        out = d_model.astype(np.float32)
        dm = out[col]
        w = wgt[i[col], j[col]].astype(np.float32)
        sd = face_sdf(grid.points(idx[col]), face.height[i[col], j[col]])
        # Morph from the head (w = 0) to the face (w = 1); where the face has little say the
        # cut backs off in front of the head, so the head's own surface is kept exactly.
        blend = w * sd + (1.0 - w) * dm
        front_cut = np.maximum(blend - lift[i[col], j[col]], dm)
        plate = np.maximum(blend, -sd - thick[i[col], j[col]])
        out[col] = np.minimum(front_cut, plate)
        return out

    cshape = model.cshape
    cidx = model.cidx
    coarse = combine(cidx, model.coarse().ravel()).reshape(cshape)
    # Blocks that may hold the surface: a corner near it, a sign change, or the face plate.
    corners = [
        coarse[a : a + cshape[0] - 1, c : c + cshape[1] - 1, e : e + cshape[2] - 1]
        for a in (0, 1)
        for c in (0, 1)
        for e in (0, 1)
    ]
    cmin = np.minimum.reduce(corners)
    cmax = np.maximum.reduce(corners)
    band = 0.014 * max(1.0, h / 0.002)
    refine = (cmin < band) & (cmax > -band)
    # Face columns: blocks whose columns touch the footprint and whose z range meets the plate.
    top = np.where(infp, fb + lift, np.nan)
    bottom = np.where(infp, fb - thick, np.nan)
    hi_f = ndimage.maximum_filter(np.nan_to_num(top, nan=-1e9), size=b + 3)[::b, ::b]
    lo_f = -ndimage.maximum_filter(np.nan_to_num(-bottom, nan=-1e9), size=b + 3)[::b, ::b]
    has = hi_f > -1e8
    zc = grid.origin[2] + h * b * np.arange(cshape[2])
    col_hi = np.maximum.reduce([hi_f[:-1, :-1], hi_f[1:, :-1], hi_f[:-1, 1:], hi_f[1:, 1:]])
    col_lo = np.minimum.reduce([lo_f[:-1, :-1], lo_f[1:, :-1], lo_f[:-1, 1:], lo_f[1:, 1:]])
    col_has = has[:-1, :-1] | has[1:, :-1] | has[:-1, 1:] | has[1:, 1:]
    z0, z1 = zc[:-1], zc[1:]
    face_blocks = (
        col_has[:, :, None]
        & (z1[None, None] >= col_lo[:, :, None] - 2 * h)
        & (z0[None, None] <= col_hi[:, :, None] + 2 * h)
    )
    refine |= face_blocks

    field = np.repeat(
        np.repeat(np.repeat(np.sign(cmax + cmin).astype(np.float32) * band, b, 0), b, 1), b, 2
    )
    field = np.pad(field, ((0, 1), (0, 1), (0, 1)), mode="edge")
    fine = np.zeros(grid.shape, bool)
    fine[:-1, :-1, :-1] = np.repeat(np.repeat(np.repeat(refine, b, 0), b, 1), b, 2)
    fine[1:] |= fine[:-1].copy()
    fine[:, 1:] |= fine[:, :-1].copy()
    fine[:, :, 1:] |= fine[:, :, :-1].copy()
    idx = np.argwhere(fine)
    chunk = 1_000_000
    values = (
        np.concatenate(
            [
                combine(idx[k : k + chunk], model.at(idx[k : k + chunk]))
                for k in range(0, len(idx), chunk)
            ]
        )
        if len(idx)
        else []
    )
    field[fine] = values
    # The grid border is outside (keeps the surface closed even if something reaches it).
    field[[0, -1]] = band
    field[:, [0, -1]] = band
    field[:, :, [0, -1]] = band
    return field, fb


def _extract_surface(field: np.ndarray, grid: _Grid) -> tuple[np.ndarray, np.ndarray]:
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components
    from skimage.measure import marching_cubes

    verts, faces, _, _ = marching_cubes(
        field,
        0.0,
        spacing=(grid.spacing,) * 3,
        gradient_direction="descent",
        allow_degenerate=False,
    )
    verts = verts + grid.origin
    n = len(verts)
    # Keep the largest connected piece (stray bits of the face plate, if any, go).
    adj = sp.coo_matrix(
        (
            np.ones(2 * len(faces)),
            (np.r_[faces[:, 0], faces[:, 1]], np.r_[faces[:, 1], faces[:, 2]]),
        ),
        shape=(n, n),
    )
    n_comp, labels = connected_components(adj, directed=False)
    if n_comp > 1:
        big = np.bincount(labels[faces[:, 0]]).argmax()
        faces = faces[labels[faces[:, 0]] == big]
    used = np.unique(faces)
    remap = np.full(n, -1, np.int64)
    remap[used] = np.arange(len(used))
    verts, faces = verts[used], remap[faces]
    v0, v1, v2 = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    if np.einsum("ij,ij->", v0, np.cross(v1, v2)) < 0:  # signed volume (x6) must be positive
        faces = faces[:, ::-1]
    return verts.astype(np.float32), np.ascontiguousarray(faces, np.int32)


# ------------------------------------------------------------------------------------------
# Colour


def skin_color(face: FaceMesh, head: FittedHead) -> np.ndarray:
    """Typical skin colour (RGB uint8) from the cheeks and forehead of the textured face mesh.

    Face-mesh vertices in two cheek boxes and a forehead band (positions in the fitted head's
    frame) are pooled; the darkest 30 % (brows, shadows, stubble) and brightest 10 %
    (highlights) by luminance are dropped and the rest averaged.
    """
    q = head.to_head(face.vertices)
    x, y = np.abs(q[:, 0]), q[:, 1]
    cheeks = (x > 0.022) & (x < 0.05) & (y > -0.04) & (y < -0.005)
    forehead = (x < 0.03) & (y > 0.038) & (y < 0.06)
    sel = cheeks | forehead
    colors = face.vertex_colors[sel] if sel.sum() >= 30 else face.vertex_colors
    return np.clip(np.round(skin_tone(colors)), 0, 255).astype(np.uint8)


def _harmonic_fill_coarse(
    adj,
    verts: np.ndarray,
    values: np.ndarray,
    fixed: np.ndarray,
    cell: float = 0.006,
    sweeps: int = 20,
) -> None:
    """Replace ``values[~fixed]`` (complex) by a graph-harmonic extension of the fixed ones.

    The free vertices are grouped into ``cell``-sized voxels; the Galerkin-coarsened graph
    Laplacian (fixed vertices as boundary) is solved exactly on the groups and ``sweeps``
    Jacobi sweeps on the full graph smooth out the groups' steps. About 8x fewer unknowns.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    free = np.flatnonzero(~fixed)
    if len(free) == 0:
        return
    _, cluster = np.unique(
        np.floor(verts[free] / cell).astype(np.int64), axis=0, return_inverse=True
    )
    cluster = cluster.ravel()
    p_mat = sp.csr_matrix(
        (np.ones(len(free)), (np.arange(len(free)), cluster)),
        shape=(len(free), int(cluster.max()) + 1),
    )
    deg = np.asarray(adj.sum(1)).ravel()
    a_free = adj[free].tocsr()
    fixed_idx = np.flatnonzero(fixed)
    rhs = a_free[:, fixed_idx] @ values[fixed_idx]
    l_ff = sp.diags(deg[free]) - a_free[:, free]
    coarse = (p_mat.T @ l_ff @ p_mat).tocsc()
    crhs = p_mat.T @ rhs
    sol = spsolve(coarse, np.stack([crhs.real, crhs.imag], 1))
    values[free] = (sol[:, 0] + 1j * sol[:, 1])[cluster]
    inv_deg = 1.0 / np.maximum(deg[free], 1)
    for _ in range(sweeps):
        values[free] = (a_free @ values) * inv_deg


def _texture_and_uv(
    verts,
    faces,
    face_region,
    face: FaceMesh,
    ff: _FaceField,
    grid: _Grid,
    camera: Camera,
    rgb: np.ndarray,
    skin: np.ndarray,
    pole: np.ndarray,
    pole_phase: np.ndarray,
):
    import cv2
    import scipy.sparse as sp

    # Texture window: a square of the photo around the face.
    fpx = face.photo_px.astype(np.float64)
    lo, hi = fpx.min(0), fpx.max(0)
    centre = 0.5 * (lo + hi)
    face_side = float(max(hi - lo))
    side_px = face_side / _TEXTURE_FACE_FRACTION
    res = int(np.clip(round(side_px * min(1.0, 1024 / (1.2 * face_side))), 256, 2048))
    k = res / side_px
    x0, y0 = centre - side_px / 2
    affine = np.array([[k, 0, -k * x0], [0, k, -k * y0]], np.float32)  # photo px -> texture px
    tex = cv2.warpAffine(
        rgb,
        affine,
        (res, res),
        flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    # Feathered face alpha from the world-grid outline distance, mapped to texture pixels.
    # Photo where the face shapes the head and faces the camera: parts seen edge-on (the far
    # side of a turned nose, the cheeks' flanks) would only show stretched pixels.
    a_grid = (
        _smoothstep((ff.weight - 0.5) / 0.45) * _smoothstep((ff.facing - 0.12) / 0.25)
    ).astype(np.float32)
    mpp = camera.metres_per_pixel
    # world grid (i, j) -> photo px: x = ox + (gx0 + h i)/mpp, y = oy - (gy0 + h j)/mpp.
    g2p = np.array(
        [
            [grid.spacing / mpp, 0, camera.origin_px[0] + grid.origin[0] / mpp],
            [0, -grid.spacing / mpp, camera.origin_px[1] - grid.origin[1] / mpp],
            [0, 0, 1],
        ]
    )
    p2t = np.vstack([affine, [0, 0, 1]])
    g2t = (p2t @ g2p)[:2].astype(np.float32)
    alpha = cv2.warpAffine(
        a_grid.T.copy(), g2t, (res, res), flags=cv2.INTER_LINEAR, borderValue=0.0
    )
    blur = max(1.0, 1.5 * grid.spacing / mpp * k)
    alpha = cv2.GaussianBlur(alpha, (0, 0), blur)[..., None]
    tex = np.clip(
        alpha * tex + (1 - alpha) * skin[None, None].astype(np.float32) + 0.5, 0, 255
    ).astype(np.uint8)

    # Face vertices: photo projection.
    px = camera.world_to_photo(verts.astype(np.float64))[:, :2]
    uv_px = px @ affine[:, :2].T.astype(np.float64) + affine[:, 2]
    uv = np.stack([(uv_px[:, 0] + 0.5) / res, 1.0 - (uv_px[:, 1] + 0.5) / res], axis=1)

    # Everything else: harmonic extension of the inverted face coordinates (see module doc).
    c = np.array([0.5, 0.5])
    half = 0.5 * _TEXTURE_FACE_FRACTION * np.maximum(hi - lo, 1e-6) / face_side
    e = (uv - c) / half
    e_c = e[:, 0] + 1j * e[:, 1]
    n = len(verts)
    fixed = face_region.copy()
    fixed[pole] = True
    wval = np.zeros(n, complex)
    wval[face_region] = 1.0 / np.where(np.abs(e_c[face_region]) < 1e-6, 1e-6, e_c[face_region])
    # The cut under the neck is pinned to a circle (|w| = 0.6, about the outline's own size)
    # whose phase turns with the azimuth around the neck the way the outline's does around the
    # face (front of the neck <-> chin, back <-> forehead): the annulus in between then maps
    # without zeros, i.e. without folding over the photo. Only the cut's centre is singular.
    cap = pole & ~face_region
    wval[cap] = 0.6 * np.exp(1j * pole_phase[cap])
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    adj = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.float64)
    _harmonic_fill_coarse(adj, verts, wval, fixed)
    other = ~face_region
    ez = np.zeros(n, complex)
    ez[other] = 1.0 / np.where(np.abs(wval[other]) < 1e-9, 1e-9, wval[other])
    # Under the neck the direction is undefined (w = 0): carry it in from the rim harmonically,
    # so only triangles at the centre of the cut smear.
    ez = ez[other]
    r = np.abs(ez)
    r_max = 0.5 / half.max() * 0.96
    # Keep every non-face vertex outside the photo part of the texture: per direction, beyond
    # the farthest texel that still shows some of the photo.
    theta = np.linspace(-np.pi, np.pi, 361)
    radii = np.linspace(0.0, r_max, 240)
    ex = np.cos(theta)[:, None] * radii[None]
    ey = np.sin(theta)[:, None] * radii[None]
    tx = (c[0] + ex * half[0]) * res - 0.5
    ty = (1.0 - (c[1] + ey * half[1])) * res - 0.5
    a_ray = (
        cv2.remap(
            alpha[..., 0],
            tx.astype(np.float32),
            ty.astype(np.float32),
            cv2.INTER_LINEAR,
            borderValue=0.0,
        )
        > 0.004
    )
    last = np.where(a_ray.any(1), radii[len(radii) - 1 - np.argmax(a_ray[:, ::-1], 1)], 0.0)
    r_min = np.minimum(np.interp(np.angle(ez), theta, last) + 0.08, 0.9 * r_max)
    ez = ez / np.maximum(r, 1e-12) * np.clip(r, r_min, r_max)
    e_other = np.stack([ez.real, ez.imag], 1)
    uv[other] = c + e_other * half
    uv = np.clip(uv, 0.0, 1.0)

    mx = (uv[:, 0] * res - 0.5).astype(np.float32)
    my = ((1.0 - uv[:, 1]) * res - 0.5).astype(np.float32)
    return uv.astype(np.float32), tex, sample_image(tex, mx, my)


# ------------------------------------------------------------------------------------------


def assemble_head(
    face_mesh: FaceMesh,
    fitted_head: FittedHead,
    photo_rgb: np.ndarray,
    camera: Camera,
    spacing: float | None = None,
) -> HeadMesh:
    """Blend the photo's face into the fitted head: one closed, textured mesh.

    Parameters
    ----------
    face_mesh : FaceMesh
        Dense face mesh, world frame, metres (:func:`monoscan.face.mesh.build_face_mesh`).
    fitted_head : FittedHead
        The parametric head fitted to the same face (:func:`monoscan.head.fit.fit_head`).
    photo_rgb : (H, W, 3) uint8
        The photo (for the face texture).
    camera : Camera
        The camera the face mesh was placed with.
    spacing : float
        Grid spacing of the implicit surface, metres. Default: :data:`DEFAULT_SPACING` (2 mm)
        times the head's fitted scale when it is above 1, so big heads keep about 45-60k
        vertices.

    Returns
    -------
    HeadMesh
        Closed, manifold, outward-oriented; world frame, metres.
    """
    from scipy.spatial import cKDTree

    if spacing is None:
        spacing = DEFAULT_SPACING * max(1.0, float(fitted_head.scale))
    if not 0.0005 <= spacing <= 0.01:
        raise InputError(f"spacing must be 0.5-10 mm, got {spacing * 1000:.2f} mm")
    rgb = np.asarray(photo_rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError(f"photo must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    t: dict[str, float] = {}
    start = time.perf_counter()
    fv = face_mesh.vertices.astype(np.float64)
    grid = _make_grid(fitted_head, fv, spacing)
    ff = _face_height_field(face_mesh, grid)
    warp = _outline_warp(fitted_head, ff, grid)
    t["face_field"] = time.perf_counter() - start

    start = time.perf_counter()
    field_values, _ = _sample_field(grid, fitted_head, ff, warp)
    t["sdf"] = time.perf_counter() - start
    start = time.perf_counter()
    verts, faces = _extract_surface(field_values, grid)
    t["marching_cubes"] = time.perf_counter() - start

    start = time.perf_counter()
    # Face region: on the face sheet inside the outline.
    gi = np.clip(
        np.round((verts[:, 0] - grid.origin[0]) / spacing).astype(int), 0, grid.shape[0] - 1
    )
    gj = np.clip(
        np.round((verts[:, 1] - grid.origin[1]) / spacing).astype(int), 0, grid.shape[1] - 1
    )
    visible = verts[:, 2] >= np.where(ff.footprint[gi, gj], ff.height[gi, gj], np.inf) - 0.002
    on_sheet = visible & (np.abs(ff.sdf(verts)) < 1.5 * spacing)
    face_region = (ff.weight[gi, gj] > 0.5) & on_sheet
    q = fitted_head.to_head(verts)
    # The flat cut under the neck carries the texture map's singularity.
    pole = q[:, 1] < q[:, 1].min() + 0.003
    centre = q[pole].mean(0)
    pole_phase = 0.5 * np.pi - np.arctan2(q[:, 0] - centre[0], q[:, 2] - centre[2])
    skin = skin_color(face_mesh, fitted_head)
    uv, tex, colors = _texture_and_uv(
        verts, faces, face_region, face_mesh, ff, grid, camera, rgb, skin, pole, pole_phase
    )
    t["texture"] = time.perf_counter() - start

    start = time.perf_counter()
    scalp = scalp_mask(q, fitted_head.shape)
    if face_region.any():
        dist, _ = cKDTree(verts[face_region]).query(verts, distance_upper_bound=0.0101)
        scalp &= ~np.isfinite(dist)
    t["scalp"] = time.perf_counter() - start
    return HeadMesh(
        vertices=verts,
        faces=faces,
        uv=uv,
        texture=tex,
        vertex_colors=colors,
        face_region=face_region,
        scalp=scalp,
        head=fitted_head,
        skin_color=skin,
        timings=t,
    )


def face_fidelity(head: HeadMesh, face_mesh: FaceMesh, radius: float = 0.05) -> dict[str, float]:
    """How far the head's surface is from the input face over the central face, millimetres.

    Face-mesh vertices within ``radius`` (metres) of the nose tip (vertex 1) that the camera
    sees (not hidden behind the face itself) are projected onto the head's surface; the
    distances are summarised.

    Returns
    -------
    dict
        ``mean_mm``, ``median_mm``, ``p95_mm``, ``max_mm`` and ``n`` (vertices measured).
    """
    import trimesh

    from monoscan.render.raster import rasterize

    v = face_mesh.vertices.astype(np.float64)
    step = 0.001
    lo = v[:, :2].min(0)
    xy = (v[:, :2] - lo) / step
    shape = tuple(int(s) + 2 for s in np.ceil(xy.max(0))[::-1])
    zbuf, _, _ = rasterize(xy + 0.5, v[:, 2], face_mesh.faces, shape)
    zbuf = np.nan_to_num(zbuf, nan=-np.inf)
    col = np.clip(np.round(xy).astype(int), 0, np.array(shape[::-1]) - 1)
    visible = v[:, 2] >= zbuf[col[:, 1], col[:, 0]] - 0.001
    central = np.linalg.norm(v - v[1], axis=1) < radius
    pts = v[visible & central]
    mesh = trimesh.Trimesh(head.vertices, head.faces, process=False)
    _, dist, _ = trimesh.proximity.closest_point(mesh, pts)
    d = np.asarray(dist) * 1000.0
    return {
        "mean_mm": float(d.mean()),
        "median_mm": float(np.median(d)),
        "p95_mm": float(np.percentile(d, 95)),
        "max_mm": float(d.max()),
        "n": len(d),
    }
