"""The textured face mesh that flows from the face stage to the head, hair and writers.

World frame, metres. :func:`monoscan.face.mesh.build_face_mesh` makes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FaceMesh", "split_uv_seams", "textured_trimesh"]


@dataclass(frozen=True)
class FaceMesh:
    """A textured triangle mesh of the face.

    Attributes
    ----------
    vertices : (V, 3) float32
        World frame, metres.
    faces : (F, 3) int32
        Counter-clockwise seen from outside the face.
    uv : (V, 2) float32
        Texture coordinates in [0, 1], v up (OBJ/glTF convention as trimesh writes them).
    texture : (H, W, 3) uint8
        Texture image (a window of the photo).
    vertex_colors : (V, 3) uint8
        Colours sampled from the photo, for formats without textures.
    photo_px : (V, 2) float32
        Where each vertex projects in the photo (pixels).
    """

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    texture: np.ndarray
    vertex_colors: np.ndarray
    photo_px: np.ndarray

    def to_trimesh(self, textured: bool = True):
        """A ``trimesh.Trimesh`` with the texture (or vertex colours) attached."""
        return textured_trimesh(self, textured)


def textured_trimesh(mesh, textured: bool = True):
    """``trimesh.Trimesh`` (vertex order kept) from anything with ``vertices``, ``faces``,
    ``uv``, ``texture`` and ``vertex_colors``: the texture, or vertex colours if not
    ``textured``. A mesh whose ``corner_uv`` (F, 3, 2) is set has a UV layout with seams: the
    textured copy is split there (:func:`split_uv_seams`)."""
    import trimesh
    from PIL import Image

    corner_uv = getattr(mesh, "corner_uv", None)
    if textured and corner_uv is not None:
        vertices, faces, uv = split_uv_seams(mesh.vertices, mesh.faces, corner_uv)
        out = trimesh.Trimesh(vertices, faces, process=False)
    else:
        out = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
        uv = getattr(mesh, "uv", None)
    if textured:
        material = trimesh.visual.material.SimpleMaterial(image=Image.fromarray(mesh.texture))
        out.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    else:
        alpha = np.full(len(mesh.vertices), 255)
        out.visual = trimesh.visual.ColorVisuals(
            out, vertex_colors=np.c_[mesh.vertex_colors, alpha]
        )
    return out


def split_uv_seams(
    vertices: np.ndarray, faces: np.ndarray, corner_uv: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One uv per vertex (what OBJ readers and glTF need) from per-corner uvs.

    A vertex used with several uvs gets a copy for each extra one, appended after all the
    original vertices: vertex indices below ``len(vertices)`` keep their meaning (landmark ids
    written for the closed mesh hold for the split one). Returns ``vertices, faces, uv``.
    """
    n = len(vertices)
    corners = np.asarray(faces).ravel()
    flat_uv = np.asarray(corner_uv, np.float64).reshape(-1, 2)
    key = np.column_stack([corners, np.round(flat_uv * 1e6)])
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    pair_vertex = corners[first]
    by_use = np.argsort(first)  # pairs in order of first use
    _, primary_pos = np.unique(pair_vertex[by_use], return_index=True)
    primary = np.zeros(len(first), bool)
    primary[by_use[primary_pos]] = True
    index = np.empty(len(first), np.int64)
    index[primary] = pair_vertex[primary]
    extra = np.flatnonzero(~primary)
    index[extra] = n + np.arange(len(extra))
    out_vertices = np.concatenate([np.asarray(vertices), np.asarray(vertices)[pair_vertex[extra]]])
    uv = np.zeros((n + len(extra), 2))
    uv[index] = flat_uv[first]
    return out_vertices, index[inverse.ravel()].reshape(-1, 3), uv
