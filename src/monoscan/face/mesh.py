"""The dense, textured, metric face mesh.

MediaPipe's 468-vertex mesh (852 triangles) is refined by Loop subdivision, placed in the world
frame with the :class:`~monoscan.face.camera.Camera`, and textured from the photo: texture
coordinates are the vertices' projections into a face-sized window of the photo, which is the
texture image.
"""

from __future__ import annotations

import numpy as np

from monoscan.core.camera import Camera
from monoscan.core.meshes import FaceMesh
from monoscan.face.topology import N_MESH_VERTICES, mesh_triangles

__all__ = ["build_face_mesh", "retexture_face_mesh"]

#: Longest side of the texture image, pixels.
MAX_TEXTURE_PX = 1024


def build_face_mesh(
    rgb: np.ndarray, points: np.ndarray, camera: Camera, subdivisions: int = 2
) -> FaceMesh:
    """Build the dense textured face mesh.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        The photo the landmarks were found in.
    points : (468 or 478, 3)
        Face-mesh landmarks, photo pixels and MediaPipe z.
    camera : Camera
        Photo -> world.
    subdivisions : int
        Loop subdivision passes (each multiplies the triangle count by 4; 2 gives 13,632
        triangles and 6,990 vertices). The first 468 vertices stay the MediaPipe vertices.
    """
    import trimesh

    px = np.asarray(points, np.float64)[:N_MESH_VERTICES, :3]
    faces = mesh_triangles()
    if subdivisions > 0:
        px, faces = trimesh.remesh.subdivide_loop(px, faces, iterations=int(subdivisions))
    vertices = camera.photo_to_world(px).astype(np.float32)

    window, uv, colors = _texture_from_photo(rgb, px)
    return FaceMesh(
        vertices=vertices,
        faces=np.ascontiguousarray(faces, np.int32),
        uv=uv,
        texture=window,
        vertex_colors=colors,
        photo_px=px[:, :2].astype(np.float32),
    )


def _texture_from_photo(rgb: np.ndarray, px: np.ndarray):
    """Texture window, texture coordinates and vertex colours of vertices at photo pixels."""
    import cv2

    px = np.asarray(px, np.float64)
    # Texture: a window of the photo around the face, 10 % margin, at most MAX_TEXTURE_PX.
    h, w = rgb.shape[:2]
    x0, y0 = np.floor(px[:, :2].min(0) - 0.1 * np.ptp(px[:, :2], 0)).astype(int)
    x1, y1 = np.ceil(px[:, :2].max(0) + 0.1 * np.ptp(px[:, :2], 0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    window = rgb[y0:y1, x0:x1]
    s = min(1.0, MAX_TEXTURE_PX / max(window.shape[:2]))
    if s < 1.0:
        window = cv2.resize(
            window,
            (round(window.shape[1] * s), round(window.shape[0] * s)),
            interpolation=cv2.INTER_AREA,
        )
    # Pixel centres: photo x maps to texture u = (x - x0 + 0.5) / (x1 - x0).
    u = (px[:, 0] - x0 + 0.5) / (x1 - x0)
    v = 1.0 - (px[:, 1] - y0 + 0.5) / (y1 - y0)
    uv = np.clip(np.stack([u, v], 1), 0.0, 1.0).astype(np.float32)

    colors = cv2.remap(
        rgb,
        px[:, 0].astype(np.float32)[None],
        px[:, 1].astype(np.float32)[None],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )[0]
    return np.ascontiguousarray(window), uv, colors.astype(np.uint8)


def retexture_face_mesh(mesh: FaceMesh, rgb: np.ndarray) -> FaceMesh:
    """The same mesh textured from another image of the same photo frame (for example the
    photo with occluders inpainted): new ``texture``, ``uv`` and ``vertex_colors``."""
    import dataclasses

    window, uv, colors = _texture_from_photo(rgb, mesh.photo_px)
    return dataclasses.replace(mesh, texture=window, uv=uv, vertex_colors=colors)
