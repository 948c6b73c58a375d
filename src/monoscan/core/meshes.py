"""The textured face mesh that flows from the face stage to the head, hair and writers.

World frame, metres. :func:`monoscan.face.mesh.build_face_mesh` makes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FaceMesh", "textured_trimesh"]


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
    ``textured``."""
    import trimesh
    from PIL import Image

    out = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    if textured:
        material = trimesh.visual.material.SimpleMaterial(image=Image.fromarray(mesh.texture))
        out.visual = trimesh.visual.TextureVisuals(uv=mesh.uv, material=material)
    else:
        alpha = np.full(len(mesh.vertices), 255)
        out.visual = trimesh.visual.ColorVisuals(
            out, vertex_colors=np.c_[mesh.vertex_colors, alpha]
        )
    return out
