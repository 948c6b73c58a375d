"""H3DS landmark vertex ids on a head mesh, and the ``landmarks.txt`` writer.

The H3DS evaluation (:func:`monoscan.metrics.head.evaluate_scene`) first aligns a prediction
to the ground truth by a
similarity Procrustes on six landmark *vertex indices*: ``right_eye``, ``left_eye``,
``nose_tip``, ``nose_base``, ``right_lips``, ``left_lips`` ("right" is the subject's right,
i.e. negative x in the world frame). We pick, for each, the head-mesh vertex nearest to the
corresponding MediaPipe landmark: iris centres 468 (right eye) and 473 (left eye; the midpoint
of the eye corners for 468-point meshes), nose tip 1, nose base (subnasale) 2 and mouth corners
61 (right) and 291 (left).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from monoscan.core.errors import InputError

__all__ = ["H3DS_LANDMARKS", "MEDIAPIPE_FOR_H3DS", "h3ds_landmark_ids", "write_h3ds_landmarks"]

#: Landmark names in the order H3DS lists them.
H3DS_LANDMARKS = ("right_eye", "left_eye", "nose_tip", "nose_base", "right_lips", "left_lips")

#: H3DS landmark -> MediaPipe face-mesh landmark index.
MEDIAPIPE_FOR_H3DS = {
    "right_eye": 468,
    "left_eye": 473,
    "nose_tip": 1,
    "nose_base": 2,
    "right_lips": 61,
    "left_lips": 291,
}
_EYE_CORNERS = {"right_eye": (33, 133), "left_eye": (263, 362)}


def h3ds_landmark_points(landmarks_world: np.ndarray) -> dict[str, np.ndarray]:
    """World positions (metres) of the six H3DS landmarks from (468/478, 3) face landmarks."""
    lm = np.asarray(landmarks_world, np.float64)
    if lm.ndim != 2 or lm.shape[1] != 3 or len(lm) < 468:
        raise InputError(f"expected (468 or 478, 3) face landmarks, got shape {lm.shape}")
    out = {}
    for name in H3DS_LANDMARKS:
        idx = MEDIAPIPE_FOR_H3DS[name]
        if idx >= len(lm):
            a, b = _EYE_CORNERS[name]
            out[name] = 0.5 * (lm[a] + lm[b])
        else:
            out[name] = lm[idx]
    return out


def h3ds_landmark_ids(vertices: np.ndarray, landmarks_world: np.ndarray) -> dict[str, int]:
    """Vertex index of each H3DS landmark on a mesh.

    Parameters
    ----------
    vertices : (V, 3) array
        Mesh vertices, world frame, metres (e.g. ``HeadMesh.vertices``).
    landmarks_world : (478 or 468, 3) array
        MediaPipe landmarks in the same frame (``camera.photo_to_world(face.points)``).

    Returns
    -------
    dict
        ``name -> vertex index`` in :data:`H3DS_LANDMARKS` order: the vertex nearest to each
        landmark.
    """
    from scipy.spatial import cKDTree

    v = np.asarray(vertices, np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
        raise InputError(f"expected (V, 3) vertices, got shape {v.shape}")
    points = h3ds_landmark_points(landmarks_world)
    _, idx = cKDTree(v).query(np.stack([points[k] for k in H3DS_LANDMARKS]))
    return {k: int(i) for k, i in zip(H3DS_LANDMARKS, idx, strict=True)}


def write_h3ds_landmarks(path: str | os.PathLike, ids: dict[str, int]) -> Path:
    """Write ``name vertex_index`` lines (H3DS ``landmarks.txt`` format) atomically.

    Names are written in :data:`H3DS_LANDMARKS` order, then any others in the given order.
    """
    from monoscan.io.atomic import write_text

    missing = [k for k in H3DS_LANDMARKS if k not in ids]
    if missing:
        raise InputError(f"missing H3DS landmark(s): {', '.join(missing)}")
    names = list(H3DS_LANDMARKS) + [k for k in ids if k not in H3DS_LANDMARKS]
    lines = []
    for name in names:
        value = ids[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise InputError(f"landmark {name!r} needs a vertex index >= 0, got {value!r}")
        if any(c.isspace() for c in name) or not name:
            raise InputError(f"landmark name {name!r} must be one word")
        lines.append(f"{name} {int(value)}")
    return write_text(path, "\n".join(lines) + "\n")
