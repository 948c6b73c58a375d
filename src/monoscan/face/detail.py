"""Fine face detail from the photo's shading (HRN's high-frequency layer, done classically).

HRN (Lei et al., CVPR 2023) adds, on top of a 3DMM face, a coarse deformation and a
high-frequency displacement map learned from the image. Without a network we take the
shading itself: wrinkles, creases and pores are darker than the skin around them at a small
scale, so a band-pass of the luminance is a usable proxy for small inward displacements.

:func:`detail_displacement` computes, in the face texture (the photo window the face mesh is
textured with), the luminance high-pass as a difference of Gaussians (``sigma_fine_m`` 0.5 mm
minus ``sigma_coarse_m`` 3 mm, converted to texels with the mesh's own metres per texel),
divided by the local mean luminance (so the same crease is the same depth in a bright and a
dark part of the face), scaled by ``gain_m`` (metres per unit of relative contrast), clipped
to ``+- max_m`` (0.5 mm) and sampled at each vertex's texture coordinate; dark (a crease)
goes inward. The mean over the face is removed, so the surface moves neither in nor out on
average. :func:`add_face_detail` moves the vertices along their normals by it.

Off by default (``Options.face_detail``): luminance also holds albedo (eyebrows, stubble,
freckles, make-up, the iris) and cast shadows, which this carves into the geometry as well;
the displacement is sub-millimetre, below what the NoW/H3DS metrics resolve, and on the
default 6,990-vertex mesh (about 2 mm between vertices) only creases a few millimetres wide
survive the sampling (``--subdivisions 3`` gives about 1 mm).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.geometry import vertex_normals
from monoscan.core.meshes import FaceMesh

__all__ = ["add_face_detail", "detail_displacement", "metres_per_texel"]

#: Fine and coarse scale of the luminance band-pass, metres on the face.
SIGMA_FINE_M = 0.0005
SIGMA_COARSE_M = 0.003
#: Displacement per unit of relative luminance contrast, metres.
GAIN_M = 0.002
#: Largest displacement, metres.
MAX_M = 0.0005


def metres_per_texel(mesh: FaceMesh) -> float:
    """Median ratio of edge length in metres to edge length in texture pixels."""
    v = np.asarray(mesh.vertices, np.float64)
    f = np.asarray(mesh.faces, np.int64)
    th, tw = mesh.texture.shape[:2]
    uvpx = np.asarray(mesh.uv, np.float64) * [tw, th]
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    dw = np.linalg.norm(v[e[:, 0], :2] - v[e[:, 1], :2], axis=1)  # in the image plane
    dt = np.linalg.norm(uvpx[e[:, 0]] - uvpx[e[:, 1]], axis=1)
    ok = dt > 1e-6
    if not ok.any():
        raise InputError("face detail: degenerate texture coordinates")
    return float(np.median(dw[ok] / dt[ok]))


def detail_displacement(
    mesh: FaceMesh,
    sigma_fine_m: float = SIGMA_FINE_M,
    sigma_coarse_m: float = SIGMA_COARSE_M,
    gain_m: float = GAIN_M,
    max_m: float = MAX_M,
) -> np.ndarray:
    """Per-vertex displacement along the normal (metres, + outward) from the texture's shading.

    Parameters
    ----------
    mesh : FaceMesh
        Textured face mesh (world metres; ``uv`` v up into ``texture``).
    sigma_fine_m, sigma_coarse_m : float
        Difference-of-Gaussians scales on the face, metres.
    gain_m : float
        Metres of displacement per unit of relative luminance contrast.
    max_m : float
        Clip, metres.

    Returns
    -------
    (V,) float64
        Zero mean; ``|d| <= 2 max_m``; negative (inward) where the texture is locally dark.

    Examples
    --------
    >>> d = detail_displacement(face_mesh)            # doctest: +SKIP
    >>> float(np.abs(d).max()) < 1e-3                 # doctest: +SKIP
    True
    """
    import cv2

    if not 0 < sigma_fine_m < sigma_coarse_m:
        raise InputError("face detail: need 0 < sigma_fine_m < sigma_coarse_m")
    tex = np.asarray(mesh.texture)
    if tex.ndim != 3 or tex.shape[2] < 3 or tex.dtype != np.uint8:
        raise InputError(f"face detail: expected an (H, W, 3) uint8 texture, got {tex.shape}")
    lum = (tex[..., :3].astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32)) / 255.0
    mpt = metres_per_texel(mesh)
    s1, s2 = max(sigma_fine_m / mpt, 0.3), max(sigma_coarse_m / mpt, 1.0)
    fine = cv2.GaussianBlur(lum, (0, 0), s1, borderType=cv2.BORDER_REFLECT)
    coarse = cv2.GaussianBlur(lum, (0, 0), s2, borderType=cv2.BORDER_REFLECT)
    rel = (fine - coarse) / np.maximum(coarse, 0.05)
    th, tw = tex.shape[:2]
    uv = np.asarray(mesh.uv, np.float64)
    x = (uv[:, 0] * tw - 0.5).astype(np.float32)
    y = ((1.0 - uv[:, 1]) * th - 0.5).astype(np.float32)
    r = cv2.remap(rel, x[None], y[None], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)[0]
    d = np.clip(gain_m * r.astype(np.float64), -max_m, max_m)
    return d - d.mean()


def add_face_detail(mesh: FaceMesh, **kwargs) -> FaceMesh:
    """The face mesh with :func:`detail_displacement` applied along the vertex normals.

    Keyword arguments go to :func:`detail_displacement`. Topology, texture and colours are kept.
    """
    d = detail_displacement(mesh, **kwargs)
    n = vertex_normals(mesh.vertices, mesh.faces)
    moved = np.asarray(mesh.vertices, np.float64) + d[:, None] * n
    return replace(mesh, vertices=moved.astype(np.float32))
