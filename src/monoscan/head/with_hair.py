"""The closed head with the hair volume as an outer layer: what a scanner sees.

H3DS's full-head Chamfer compares a prediction against scans of people *with* their hair, so a
bald head is penalised over the whole scalp. :func:`head_with_hair` returns one closed,
manifold, single-piece mesh: the outer envelope of the closed head (:mod:`monoscan.head.assemble`)
and the hair volume the strands grew in (:mod:`monoscan.hair.volume`).

How (world frame, metres)
-------------------------
1. **Hair envelope** (:func:`hair_envelope`), on the hair volume's own grid (4 mm): the hair
   voxels and the head's voxels are closed morphologically (about a ball of ``close_m``,
   8 mm), which fills the thin gap the volume keeps between hair and scalp and rounds the
   crease where the hair ends on the forehead; holes are filled. Of what that adds outside
   the head only what lies within ``close_m`` of the hair is kept (concave places far from the
   hair, behind the ears or under the chin, are not changed), and within ``close_m`` of the
   photographed face only hair voxels (the closing would fill the mouth corners). The head's
   own voxels enter where they touch that layer, one voxel deep near the hair, and deeper
   than ``sink_m`` (8 mm) everywhere, so where there is no hair the envelope's surface runs
   inside the head and the head's own surface stays outside. Nothing is kept below the head's
   neck cut (the volume's hair hidden behind the body would hang there as a block). The 0.5
   level of the Gaussian-smoothed (1 voxel) grid is extracted by marching cubes.
2. **Union** of the closed head and that envelope with ``manifold3d`` (exact, robust booleans;
   colours travel as vertex properties): the head's triangles are kept wherever the head is
   outside the hair, the envelope's wherever the hair is outside the head. Only the largest
   connected piece is kept.
3. **Colour** per vertex: the head's (its texture sampled at its vertices: the photo on the
   face, skin colour elsewhere); on the hair, the photo's hair colour where the vertex faces
   the camera and projects onto hair pixels of the crop (a masked Gaussian average of the hair
   pixels, so skin and background never bleed in), the median hair colour elsewhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from monoscan.core.camera import Camera
from monoscan.core.colour import DARK_BROWN_SRGB, median_hair_srgb
from monoscan.core.crop import Crop
from monoscan.core.errors import InputError
from monoscan.core.geometry import vertex_normals
from monoscan.core.volumes import Occupancy

if TYPE_CHECKING:  # annotations only: no import cost, no import cycle
    from monoscan.head.assemble import HeadMesh

__all__ = [
    "HeadWithHair",
    "hair_colour_srgb",
    "hair_envelope",
    "head_with_hair",
    "landmark_ids_with_hair",
]

#: Radius of the morphological closing that joins the hair to the scalp, metres.
CLOSE_M = 0.008
#: How far inside the head the envelope runs where there is no hair, metres.
SINK_M = 0.008


@dataclass(frozen=True)
class HeadWithHair:
    """Closed head plus hair, one manifold piece, vertex colours.

    Attributes
    ----------
    vertices : (V, 3) float32
        World frame, metres.
    faces : (F, 3) int32
        Outward oriented; closed and manifold.
    vertex_colors : (V, 3) uint8
        sRGB.
    from_head : (V,) bool
        Vertices that lie on the head's own surface (not covered by hair).
    timings : dict
        Seconds per step.
    """

    vertices: np.ndarray
    faces: np.ndarray
    vertex_colors: np.ndarray
    from_head: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)

    def to_trimesh(self):
        """A ``trimesh.Trimesh`` (vertex order kept) with RGBA vertex colours."""
        import trimesh

        out = trimesh.Trimesh(self.vertices, self.faces, process=False)
        alpha = np.full(len(self.vertices), 255, np.uint8)
        out.visual = trimesh.visual.ColorVisuals(
            out, vertex_colors=np.c_[self.vertex_colors, alpha]
        )
        return out


_CROSS = ndimage.generate_binary_structure(3, 1)


def _grow(mask: np.ndarray, r_vox: float) -> np.ndarray:
    """Dilate by about a ball of ``r_vox`` voxels: 3x3x3 cubes (separable maximum filters) and
    6-neighbour crosses alternately, ``round(r_vox)`` steps (an octagon-like ball; an exact
    distance transform costs 5-10 times more)."""
    out = mask
    for k in range(round(r_vox)):
        if k % 2 == 0:
            out = ndimage.maximum_filter(out.view(np.uint8), size=3).view(bool)
        else:
            out = ndimage.binary_dilation(out, _CROSS)
    return out


def hair_envelope(
    occupancy: Occupancy,
    close_m: float = CLOSE_M,
    sink_m: float = SINK_M,
    smooth_voxels: float = 1.0,
    min_y: float | None = None,
    keep_clear: np.ndarray | None = None,
):
    """Closed surface of the hair joined to the scalp, sunk into the head elsewhere.

    Parameters
    ----------
    occupancy : Occupancy
        The hair volume (:func:`monoscan.hair.volume.hair_occupancy`); its ``head_inside``
        and ``head_distance`` describe the head it was built around.
    close_m, sink_m : float
        Closing radius and the envelope's depth inside the head away from the hair (metres).
    smooth_voxels : float
        Gaussian smoothing of the boolean grid before marching cubes (voxels).
    min_y : float, optional
        Nothing below this world height (metres; e.g. the head's neck cut): the volume's hair
        hidden behind the body would otherwise hang as a block in front of the missing torso.
    keep_clear : (N, 3) float, optional
        World points (e.g. the head's face vertices) near which (``close_m``) the closing adds
        nothing: it would otherwise fill the mouth corners and the creases beside the nose
        where hair is near the face. Hair voxels there are kept.

    Returns
    -------
    trimesh.Trimesh
        Closed, outward oriented, world metres (step 1 of the module docstring).
    """
    import trimesh
    from skimage.measure import marching_cubes

    hair = np.asarray(occupancy.grid, bool)
    if not hair.any():
        raise InputError("the hair volume is empty")
    voxel = float(occupancy.voxel_size)
    inside = np.asarray(occupancy.head_inside, bool) | (occupancy.head_distance < 0)
    r = close_m / voxel
    pad = int(np.ceil(r)) + 3
    hair_p, inside_p = np.pad(hair, pad), np.pad(inside, pad)
    both = hair_p | inside_p
    closed = ndimage.binary_fill_holes(~_grow(~_grow(both, r), r)) | both
    near_hair = _grow(hair_p, r + 1.0)
    added = closed & ~inside_p & near_hair
    if keep_clear is not None and len(keep_clear):
        idx = np.rint(occupancy.to_index(np.asarray(keep_clear)[:, :3])).astype(np.int64) + pad
        ok = np.all((idx >= 0) & (idx < np.array(hair_p.shape)), axis=1)
        clear = np.zeros_like(hair_p)
        clear[idx[ok, 0], idx[ok, 1], idx[ok, 2]] = True
        added &= ~_grow(clear, r + 1.0) | hair_p
    # The head's voxels under the added layer, then the head's core: one solid piece.
    core = np.pad(np.asarray(occupancy.head_distance) < -sink_m, pad) & inside_p
    # (head voxels touching the added layer, and those a voxel deep near the hair: the
    # smoothed surface then stays inside the head wherever there is no hair on it)
    hd = np.pad(np.asarray(occupancy.head_distance), pad, constant_values=1.0)
    under = inside_p & (
        ndimage.binary_dilation(added, iterations=1)
        | ((hd < -voxel) & _grow(near_hair, sink_m / voxel + 1.5))
    )
    solid = added | under | core
    if min_y is not None:
        j_cut = int(np.ceil((min_y - occupancy.origin[1]) / voxel)) + pad
        solid[:, : max(j_cut, 0), :] = False
    labels, n = ndimage.label(solid)
    if n > 1:
        sizes = ndimage.sum(solid, labels, np.arange(1, n + 1))
        solid = labels == 1 + int(np.argmax(sizes))
    g = solid.astype(np.float32)
    if smooth_voxels > 0:
        g = ndimage.gaussian_filter(g, smooth_voxels)
    verts, faces, _, _ = marching_cubes(g, level=0.5)
    verts = np.asarray(occupancy.origin) + (verts - pad) * voxel
    mesh = trimesh.Trimesh(verts, faces, process=True)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def hair_colour_srgb(
    crop_image: np.ndarray, hair_mask: np.ndarray, sigma_px: float = 6.0
) -> tuple[np.ndarray, np.ndarray]:
    """Median hair colour and a hair-only smoothed colour image (sRGB, float 0-255).

    Returns
    -------
    median : (3,) float
        Median of the hair pixels (dark brown when there are none).
    smooth : (S, S, 3) float32
        Gaussian average of the hair pixels only (normalised convolution), ``median`` where
        no hair is near.
    """
    img = np.asarray(crop_image, np.float32)
    m = np.asarray(hair_mask) > 0
    if m.ndim == 3:
        m = m[..., 0]
    median = median_hair_srgb(img, m)
    if not m.any():
        return median, np.broadcast_to(median, img.shape).astype(np.float32)
    w = ndimage.gaussian_filter(m.astype(np.float32), sigma_px)
    num = np.stack([ndimage.gaussian_filter(img[..., c] * m, sigma_px) for c in range(3)], -1)
    smooth = np.where(w[..., None] > 0.05, num / np.maximum(w[..., None], 1e-6), median)
    return median, smooth.astype(np.float32)


def head_with_hair(
    head: HeadMesh,
    occupancy: Occupancy,
    crop: Crop | None = None,
    camera: Camera | None = None,
    hair_mask_crop=None,
    close_m: float = CLOSE_M,
    sink_m: float = SINK_M,
) -> HeadWithHair:
    """Union of the closed head and the hair volume, coloured (module docstring).

    Parameters
    ----------
    head : HeadMesh
        Closed head, world metres (:func:`monoscan.head.assemble.assemble_head`).
    occupancy : Occupancy
        The hair volume grown around ``head``.
    crop, camera, hair_mask_crop : optional
        The 512 crop (its ``image`` gives the hair colour), the camera (world -> photo) and
        the crop's hair mask. Without them the hair is dark brown.
    close_m, sink_m : float
        See :func:`hair_envelope`.

    Returns
    -------
    HeadWithHair

    Raises
    ------
    InputError
        Empty hair volume, or a boolean that does not give a valid solid.
    """
    import manifold3d

    t: dict[str, float] = {}
    t0 = time.perf_counter()
    head_v = np.asarray(head.vertices)
    env = hair_envelope(
        occupancy,
        close_m,
        sink_m,
        min_y=float(head_v[:, 1].min()),
        keep_clear=head_v[np.asarray(head.face_region, bool)],
    )
    t["envelope"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    have_photo = crop is not None and camera is not None and hair_mask_crop is not None
    if have_photo:
        median, smooth = hair_colour_srgb(crop.image, hair_mask_crop)
    else:
        median, smooth = DARK_BROWN_SRGB, None
    ev = np.asarray(env.vertices, np.float64)
    ecol = np.broadcast_to(median, ev.shape).astype(np.float64).copy()
    if have_photo:
        mask = np.asarray(hair_mask_crop) > 0
        en = vertex_normals(ev, env.faces)
        uv = crop.to_crop(camera.world_to_photo(ev)[:, :2])
        s = mask.shape[0]
        u, v = np.rint(uv[:, 0]).astype(int), np.rint(uv[:, 1]).astype(int)
        ok = (u >= 0) & (u < s) & (v >= 0) & (v < s)
        ok[ok] &= mask[v[ok], u[ok]]
        # Front-facing vertices take the photo's hair there, fading to the median sideways.
        wgt = np.clip(en[:, 2] / 0.3, 0.0, 1.0) * ok
        seen = np.zeros_like(ecol)
        seen[ok] = smooth[v[ok], u[ok]]
        ecol = wgt[:, None] * seen + (1.0 - wgt[:, None]) * ecol

    def solid(vertices, faces, colours, tag):
        props = np.c_[vertices, colours / 255.0, np.full(len(vertices), tag)].astype(np.float32)
        mesh = manifold3d.Mesh(
            vert_properties=props, tri_verts=np.ascontiguousarray(faces, np.uint32)
        )
        out = manifold3d.Manifold(mesh)
        if str(out.status()).split(".")[-1] != "NoError":
            raise InputError(f"head-with-hair: invalid input solid ({out.status()})")
        return out

    a = solid(head.vertices, head.faces, head.vertex_colors.astype(np.float64), 1.0)
    b = solid(ev, np.asarray(env.faces), ecol, 0.0)
    u = a + b
    parts = u.decompose()
    if len(parts) > 1:
        u = max(parts, key=lambda p: p.volume())
    out = u.to_mesh()
    t["union"] = time.perf_counter() - t0

    props = np.asarray(out.vert_properties, np.float64)
    tri = np.asarray(out.tri_verts, np.int64)
    # Property vertices split along the seam: merge them back into one closed vertex set.
    n = len(props)
    to = np.arange(n)
    mf, mt = np.asarray(out.merge_from_vert, np.int64), np.asarray(out.merge_to_vert, np.int64)
    if len(mf):
        to[mf] = mt
    keep, inverse = np.unique(to, return_inverse=True)
    faces = inverse[tri]
    verts = props[keep, :3]
    # Colours and provenance: average over the property vertices merged into one.
    cnt = np.bincount(inverse, minlength=len(keep)).astype(np.float64)
    col = np.stack([np.bincount(inverse, props[:, 3 + c], len(keep)) for c in range(3)], 1)
    col = col / cnt[:, None]
    tag = np.bincount(inverse, props[:, 6], len(keep)) / cnt
    return HeadWithHair(
        vertices=verts.astype(np.float32),
        faces=faces.astype(np.int32),
        vertex_colors=np.clip(np.rint(col * 255.0), 0, 255).astype(np.uint8),
        from_head=tag > 0.999,
        timings=t,
    )


def landmark_ids_with_hair(
    both: HeadWithHair, head: HeadMesh, head_ids: dict[str, int]
) -> dict[str, int]:
    """H3DS landmark vertex ids on the head-with-hair mesh.

    Each landmark is the vertex of ``both`` nearest to the head's landmark vertex
    (``head.vertices[head_ids[name]]``), among the vertices kept from the head's own surface
    when any lies within 5 mm (hair hanging over the face otherwise wins: a scanner sees it).

    Returns
    -------
    dict
        ``name -> vertex index`` into ``both.vertices``, in ``head_ids``' order.
    """
    from scipy.spatial import cKDTree

    v = np.asarray(both.vertices, np.float64)
    target = np.asarray(head.vertices, np.float64)[[int(i) for i in head_ids.values()]]
    _, nearest = cKDTree(v).query(target)
    out = {}
    if both.from_head.any():
        on_head = np.flatnonzero(both.from_head)
        d_head, i_head = cKDTree(v[on_head]).query(target)
        nearest = np.where(d_head <= 0.005, on_head[i_head], nearest)
    for name, i in zip(head_ids, nearest, strict=True):
        out[name] = int(i)
    return out
