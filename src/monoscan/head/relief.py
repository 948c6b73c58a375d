"""A Deep3dPortrait-style 2.5D relief: one open mesh over the face, hair and ears of the photo.

Deep3dPortrait (Xu et al., CVPR 2020) turns a portrait into a relief head: a 3DMM face, a
face/hair/ear segmentation and depth for the hair and ears, stitched into one depth map seen
from the camera and triangulated, with vertex colours and no back. We build the same from what
the pipeline already has, on the 512 HairStep crop (every ``stride``-th pixel):

1. **Region**: parsing labels 2 (face skin), 3 (hair) and 4 (ears), plus the face mesh's
   footprint (eyes and lips), holes filled, the largest connected piece kept.
2. **Depth** (world z, metres, larger = closer): the face mesh's z-buffer where the face is
   (:func:`monoscan.hair.maps.face_depth_in_crop`) and not hair; the hair depth
   (:mod:`monoscan.hair.depth`, the visible hair surface) on hair pixels; everything else in
   the region (ears, hair pixels without depth, gaps between the two) by a harmonic (Laplace)
   fill, Dirichlet on the known pixels and free at the region's border. The face depth is
   trusted from ``edge_px`` inside the mesh's footprint (its silhouette rasterises noisily).
   The hair depth gets a harmonic correction equal to the face-minus-hair step along the
   face/hair seam and zero on the hair's outer border, so hair meets the face without a cliff
   and keeps its silhouette depth; the seam is then smoothed by a masked Gaussian in a band of
   ``blend_px`` on each side. All of this runs on the ``stride``-subsampled grid.
3. **Mesh**: one vertex per region pixel at its world position (``camera``: photo pixels ->
   world x, y; depth as z), two triangles per 2x2 block of region pixels (one where three of
   the four are), counter-clockwise seen from the camera; colours from the crop (the photo).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.linalg import spsolve

from monoscan.core.camera import Camera
from monoscan.core.crop import Crop
from monoscan.core.errors import InputError
from monoscan.core.laplacian import grid_laplacian

__all__ = ["EARS", "FACE", "HAIR", "relief_depth", "relief_mesh"]

#: Parsing labels used (see :mod:`monoscan.perception.parsing`).
FACE, HAIR, EARS = 2, 3, 4


def _laplace_fill(z: np.ndarray, known: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Harmonic fill of ``z`` on ``region & ~known`` (4-neighbours inside ``region``)."""
    unknown = region & ~known
    out = z.copy()
    n = int(unknown.sum())
    if n == 0:
        return out
    if not known.any():
        raise InputError("relief: no depth known in the region")
    lap = grid_laplacian(unknown, reach=region)  # outside the region: no edge (free border)
    rhs = lap.border_rhs(z)  # region pixels that are not unknown are known
    ui, uj = lap.ys, lap.xs
    # Pixels with no region neighbour at all keep a tiny diagonal (solved to 0 then reset).
    a = lap.matrix + sparse.diags((lap.matrix.diagonal() == 0) * 1e-9)
    # Unknown pieces touching no known pixel would be singular: give them a weak pull to the
    # mean known depth.
    lab, nlab = ndimage.label(region)
    anchored = np.zeros(nlab + 1, bool)
    anchored[np.unique(lab[known])] = True
    loose = ~anchored[lab[ui, uj]]
    if loose.any():
        a = a + sparse.diags(loose * 1e-3)
        rhs = rhs + loose * 1e-3 * float(np.mean(z[known]))
    out[unknown] = spsolve(a.tocsc(), rhs)
    return out


def _join_hair(hair, face, from_face, from_hair, region, reach_px):
    """Hair depth plus a harmonic correction: equal to the face's depth minus the hair's on
    hair pixels within ``reach_px`` of the face (the seam), zero on the hair's outer border
    (its silhouette depth stays)."""
    dist, (ii, jj) = ndimage.distance_transform_edt(~from_face, return_indices=True)
    seam = from_hair & (dist <= reach_px)
    if not seam.any():
        return hair
    outer = from_hair & ndimage.binary_dilation(~region) & ~seam
    face_near = face[ii, jj]
    c = np.zeros_like(hair)
    c[seam] = face_near[seam] - hair[seam]
    known = seam | outer
    c = _laplace_fill(np.where(known, c, 0.0), known, from_hair)
    return np.where(from_hair, hair + c, hair)


def relief_depth(
    parsing: np.ndarray,
    face_depth_m: np.ndarray,
    hair_depth_m: np.ndarray | None,
    blend_px: float = 3.0,
    edge_px: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Depth of the relief on the crop grid.

    Parameters
    ----------
    parsing : (S, S) uint8
        Labels 0 background, 1 body, 2 face skin, 3 hair, 4 ears.
    face_depth_m : (S, S) float
        World z of the face mesh (metres), NaN off the face.
    hair_depth_m : (S, S) float or None
        World z of the visible hair (metres), NaN off hair.
    blend_px : float
        Half-width of the smoothed band along the face/hair seam (pixels).
    edge_px : int
        The face depth is trusted from this many pixels inside its footprint.

    Returns
    -------
    depth : (S, S) float64
        World z (metres, larger = closer) inside the region, NaN outside.
    region : (S, S) bool
    """
    p = np.asarray(parsing)
    face = np.asarray(face_depth_m, np.float64)
    if p.ndim != 2 or face.shape != p.shape:
        raise InputError(f"relief: parsing {p.shape} and face depth {face.shape} must match")
    hair = (
        np.full(p.shape, np.nan) if hair_depth_m is None else np.asarray(hair_depth_m, np.float64)
    )
    is_hair = p == HAIR
    region = np.isin(p, (FACE, HAIR, EARS)) | np.isfinite(face)
    region = ndimage.binary_fill_holes(ndimage.binary_opening(region, iterations=1))
    lab, n = ndimage.label(region)
    if n == 0:
        raise InputError("relief: no face, hair or ears in the parsing")
    if n > 1:
        region = lab == 1 + int(np.argmax(ndimage.sum(region, lab, np.arange(1, n + 1))))
    z = np.full(p.shape, np.nan)
    on_face = np.isfinite(face)
    if edge_px > 0:  # the mesh's silhouette, where it turns away, rasterises noisily
        on_face &= ndimage.binary_erosion(on_face, iterations=int(edge_px))
    from_face = region & on_face & ~(is_hair & np.isfinite(hair))
    from_hair = region & is_hair & np.isfinite(hair)
    if from_face.any() and from_hair.any():
        hair = _join_hair(hair, face, from_face, from_hair, region, edge_px + 2.0)
    z[from_face] = face[from_face]
    z[from_hair] = hair[from_hair]
    known = from_face | from_hair
    z = _laplace_fill(np.where(known, z, 0.0), known, region)
    if blend_px > 0 and from_face.any() and from_hair.any():
        # Smooth across the face/hair seam only (masked Gaussian inside the region).
        d_face = ndimage.distance_transform_edt(~from_face)
        d_hair = ndimage.distance_transform_edt(~from_hair)
        band = region & (d_face <= blend_px) & (d_hair <= blend_px)
        if band.any():
            sigma = blend_px / 2.0
            wgt = ndimage.gaussian_filter(region.astype(np.float64), sigma)
            sm = ndimage.gaussian_filter(np.where(region, z, 0.0), sigma)
            sm = sm / np.maximum(wgt, 1e-9)
            t = np.clip(1.0 - np.maximum(d_face, d_hair) / blend_px, 0.0, 1.0)
            z = np.where(band, t * sm + (1.0 - t) * z, z)
    z[~region] = np.nan
    return z, region


def relief_mesh(
    parsing: np.ndarray,
    face_depth_m: np.ndarray,
    hair_depth_m: np.ndarray | None,
    crop: Crop,
    camera: Camera,
    stride: int = 2,
    blend_px: float = 6.0,
    edge_px: int = 4,
):
    """The relief as a ``trimesh.Trimesh`` with vertex colours (module docstring).

    Parameters
    ----------
    parsing, face_depth_m, hair_depth_m
        On the 512 crop; see :func:`relief_depth`.
    crop : Crop
        Its ``image`` gives the colours; its affine maps crop pixels to the photo.
    camera : Camera
        Photo pixels -> world metres.
    stride : int
        One vertex every ``stride`` crop pixels (2: at most 65,536 vertices).
    blend_px, edge_px : float, int
        See :func:`relief_depth` (here in crop pixels).

    Returns
    -------
    trimesh.Trimesh
        Open, world frame, metres (y up, x subject's left, z toward the camera), faces
        counter-clockwise seen from the camera, RGBA vertex colours from the photo.
    """
    import trimesh

    if stride < 1:
        raise InputError(f"relief: stride must be >= 1, got {stride}")
    sub = (slice(None, None, stride), slice(None, None, stride))
    zs, rs = relief_depth(
        np.asarray(parsing)[sub],
        np.asarray(face_depth_m)[sub],
        None if hair_depth_m is None else np.asarray(hair_depth_m)[sub],
        blend_px / stride,
        max(1, round(edge_px / stride)),
    )
    h, w = rs.shape
    idx = np.full((h, w), -1, np.int64)
    idx[rs] = np.arange(int(rs.sum()))
    ii, jj = np.nonzero(rs)
    crop_xy = np.c_[jj * stride, ii * stride].astype(np.float64)
    photo = crop.to_photo(crop_xy)
    world = camera.photo_to_world(np.c_[photo[:, :2], np.full(len(photo), camera.origin_px[2])])
    world[:, 2] = zs[rs]
    a, b = idx[:-1, :-1], idx[1:, :-1]  # (row, col), (row + 1, col)
    c, d = idx[:-1, 1:], idx[1:, 1:]  # (row, col + 1), (row + 1, col + 1)
    tris = [
        np.stack([t[0].ravel(), t[1].ravel(), t[2].ravel()], 1)
        for t in ((a, b, c), (b, d, c), (a, b, d), (a, d, c))
    ]
    corners = ((a >= 0).astype(int) + (b >= 0) + (c >= 0) + (d >= 0)).ravel()
    faces = np.concatenate(_select(tris, corners == 4, corners == 3))
    img = np.asarray(crop.image)
    col = img[::stride, ::stride][rs]
    mesh = trimesh.Trimesh(world, faces, process=False)
    mesh.visual = trimesh.visual.ColorVisuals(
        mesh, vertex_colors=np.c_[col, np.full(len(col), 255, np.uint8)]
    )
    # Keep the largest connected piece and drop unused vertices.
    parts = mesh.split(only_watertight=False)
    if len(parts) > 1:
        mesh = max(parts, key=lambda m: len(m.faces))
    mesh.remove_unreferenced_vertices()
    return mesh


def _select(tris, full, three):
    """Triangles per 2x2 block: both halves of full blocks, the existing one of 3-corner ones."""
    out = [tris[0][full], tris[1][full]]
    done = np.zeros(len(full), bool)
    for tri in tris:
        ok = three & ~done & np.all(tri >= 0, axis=1)
        out.append(tri[ok])
        done |= ok
    return out
