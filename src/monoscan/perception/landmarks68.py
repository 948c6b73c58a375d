"""The iBUG 68-point landmarks derived from MediaPipe's 478-point face mesh.

Each of the 68 points is the mean of one or two mesh vertices chosen to sit where the iBUG
annotation protocol puts it (jaw contour 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth
48-67; the subject's right side first). The jaw is where the two definitions differ most:
MediaPipe's face oval runs up to the temples while iBUG's contour ends near the ear lobes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MESH_TO_68", "MESH_TO_68_INITIAL", "landmarks68_from_mesh"]

# Hand-chosen starting table: one entry per iBUG landmark, the mesh vertices whose mean is
# that landmark.
MESH_TO_68_INITIAL: tuple[tuple[int, ...], ...] = (
    # jaw 0-16, from the subject's right temple over the chin to the left
    (127,),
    (234,),
    (93,),
    (132, 58),
    (58, 172),
    (136,),
    (150,),
    (176,),
    (152,),
    (400,),
    (379,),
    (365,),
    (397, 288),
    (361,),
    (323,),
    (454,),
    (356,),
    # right brow 17-21, left brow 22-26
    (70,),
    (63,),
    (105,),
    (66,),
    (107,),
    (336,),
    (296,),
    (334,),
    (293,),
    (300,),
    # nose bridge 27-30, nostrils 31-35
    (168,),
    (197,),
    (5,),
    (4,),
    (75,),
    (97,),
    (2,),
    (326,),
    (305,),
    # right eye 36-41, left eye 42-47
    (33,),
    (160,),
    (158,),
    (133,),
    (153,),
    (144,),
    (362,),
    (385,),
    (387,),
    (263,),
    (373,),
    (380,),
    # outer lips 48-59, inner lips 60-67
    (61,),
    (39,),
    (37,),
    (0,),
    (267,),
    (269,),
    (291,),
    (405,),
    (314,),
    (17,),
    (84,),
    (181,),
    (78,),
    (82,),
    (13,),
    (312,),
    (308,),
    (317,),
    (14,),
    (87,),
)
assert len(MESH_TO_68_INITIAL) == 68

# The table in use: fitted by scripts/fit_landmarks68.py on the 8 AFLW2000 photos in
# ../shared/data/landmarks_aflw2000 (candidates: the 8 vertices nearest each starting point and
# their midpoints). Leave-one-out NME 2.24 % (initial table 2.63 %); in-sample 2.00 %.
MESH_TO_68 = (
    (127,),
    (93, 234),
    (93, 132),
    (58, 132),
    (172,),
    (136,),
    (149, 150),
    (176,),
    (152,),
    (377, 378),
    (378, 379),
    (365,),
    (288, 397),
    (288, 361),
    (323, 361),
    (323, 454),
    (356,),
    (46, 71),
    (63,),
    (63, 66),
    (66,),
    (65, 107),
    (337, 441),
    (334, 336),
    (296, 334),
    (293, 334),
    (300,),
    (122, 168),
    (122, 195),
    (51, 248),
    (51, 274),
    (75,),
    (60, 97),
    (2, 141),
    (290, 462),
    (290, 305),
    (246,),
    (160,),
    (153, 222),
    (154, 190),
    (23, 157),
    (7, 145),
    (398,),
    (286, 386),
    (386, 387),
    (390, 467),
    (253, 387),
    (374, 384),
    (61,),
    (39, 40),
    (72, 167),
    (37, 267),
    (11, 393),
    (269,),
    (291, 409),
    (320, 405),
    (314, 315),
    (16, 17),
    (84, 181),
    (91, 180),
    (61, 78),
    (72, 178),
    (11, 12),
    (302, 317),
    (292, 409),
    (14, 402),
    (14, 15),
    (86, 178),
)


def landmarks68_from_mesh(points: np.ndarray) -> np.ndarray:
    """Map (468 or 478, D) face-mesh points to (68, D) iBUG landmarks in the same frame."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[0] < 468:
        raise ValueError(f"expected (468 or 478, D) face-mesh points, got {points.shape}")
    return np.stack([points[list(ids)].mean(axis=0) for ids in MESH_TO_68]).astype(points.dtype)
