"""Partial bodies: what of the person the photo's frame cuts off, and meshes cut at the frame.

A photo cut at the knees or the waist shows part of a person. :func:`frame_cut` says which
photo sides cut the person (the person mask touches them), at what level of the body the
bottom edge passes (``"knees"``, ``"waist"``, ...) and which MediaPipe landmarks and model
joints the photo does not show (low visibility, or outside the frame). The fit
(:func:`monoscan.body.fit.fit_body`) leaves unseen landmarks out and does not penalise the
body for reaching past the frame; by default the meshes then end where the photo ends:
:func:`clip_to_frame` cuts them by the planes of the cut sides and closes each cut with a
flat cap (:func:`clip_mesh`), so they stay watertight.

Frames and units: the result's world frame (metres, x to the subject's left, y up, z toward
the camera; orthographic, so an image edge is a plane: :func:`frame_planes`); landmarks and
masks in map px (photo px x ``map_scale``) unless said otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monoscan.perception.pose import LANDMARK_NAMES

__all__ = [
    "LEVELS",
    "FrameCut",
    "clip_mesh",
    "clip_to_frame",
    "cut_level",
    "frame_cut",
    "frame_planes",
    "landmarks_seen",
]

#: Body levels a bottom edge can pass through, top to bottom (:func:`cut_level`).
LEVELS = ("neck", "chest", "waist", "hips", "thighs", "knees", "shins", "ankles", "feet")
#: Landmarks that pin each model joint (:data:`monoscan.body.model.BONE_NAMES`): a joint is
#: seen when all of them are.
_JOINT_LANDMARKS = {
    "root": (23, 24),
    "spine_lower": (11, 12, 23, 24),
    "spine_upper": (11, 12),
    "neck": (11, 12),
    "head": (0, 7, 8),
    "left_clavicle": (11,),
    "left_shoulder": (11,),
    "left_elbow": (13,),
    "left_wrist": (15,),
    "right_clavicle": (12,),
    "right_shoulder": (12,),
    "right_elbow": (14,),
    "right_wrist": (16,),
    "left_hip": (23,),
    "left_knee": (25,),
    "left_ankle": (27,),
    "right_hip": (24,),
    "right_knee": (26,),
    "right_ankle": (28,),
}


def landmarks_seen(
    landmarks_px: np.ndarray,
    visibility: np.ndarray,
    shape: tuple[int, int],
    min_visibility: float = 0.5,
) -> np.ndarray:
    """(33,) bool: the landmarks the photo shows (visibility at least ``min_visibility`` and
    inside the ``shape`` (H, W) frame; MediaPipe also places landmarks outside it).

    Example
    -------
    >>> import numpy as np
    >>> lm = np.array([[10.0, 10.0], [10.0, 120.0], [10.0, 20.0]])
    >>> landmarks_seen(lm, np.array([0.9, 0.9, 0.2]), (100, 100)).tolist()
    [True, False, False]
    """
    lm = np.asarray(landmarks_px, np.float64)[:, :2]
    h, w = shape
    inside = (lm[:, 0] >= 0) & (lm[:, 0] < w) & (lm[:, 1] >= 0) & (lm[:, 1] < h)
    return inside & (np.asarray(visibility, np.float64) >= min_visibility)


def cut_level(row: float, level_rows: dict[str, float]) -> str:
    """Name of the body level at image ``row`` (px, y down) from the rows of the body's
    ``"shoulders"``, ``"hips"``, ``"knees"``, ``"ankles"`` and ``"soles"`` (one of
    :data:`LEVELS`).

    Example
    -------
    >>> rows = {"shoulders": 100, "hips": 250, "knees": 350, "ankles": 450, "soles": 470}
    >>> [cut_level(r, rows) for r in (90, 150, 240, 300, 345, 400, 460, 500)]
    ['neck', 'chest', 'waist', 'thighs', 'knees', 'shins', 'ankles', 'feet']
    """
    sh, hip, knee, ankle, sole = (
        level_rows[k] for k in ("shoulders", "hips", "knees", "ankles", "soles")
    )
    if row < sh:
        return "neck"
    if row < hip:
        return "chest" if (row - sh) < 0.5 * (hip - sh) else "waist"
    if row < knee:
        t = (row - hip) / max(knee - hip, 1e-9)
        return "hips" if t < 0.2 else "thighs" if t < 0.8 else "knees"
    if row < ankle:
        t = (row - knee) / max(ankle - knee, 1e-9)
        return "knees" if t < 0.2 else "shins" if t < 0.8 else "ankles"
    return "ankles" if row < sole else "feet"


@dataclass(frozen=True)
class FrameCut:
    """How the photo's frame cuts the person.

    Attributes
    ----------
    sides : tuple of str
        Photo sides the person mask touches (``"top"``, ``"bottom"``, ``"left"``, ``"right"``).
    at : str or None
        Body level of the bottom edge (:data:`LEVELS`) when ``"bottom"`` is cut, else None.
    image_row : float or None
        Photo px row of the bottom edge (the photo's height) when ``"bottom"`` is cut.
    seen : (33,) bool
        MediaPipe landmarks the photo shows (:func:`landmarks_seen`).
    unseen_joints : tuple of str
        Model joints whose landmarks are not all seen.
    planes : dict
        Cut side -> (point, normal) of its world plane, the normal toward the kept side
        (:func:`frame_planes`).
    """

    sides: tuple[str, ...]
    at: str | None
    image_row: float | None
    seen: np.ndarray
    unseen_joints: tuple[str, ...]
    planes: dict

    @property
    def unseen_landmarks(self) -> tuple[str, ...]:
        return tuple(n for n, s in zip(LANDMARK_NAMES, self.seen, strict=True) if not s)

    def to_dict(self, completed: bool = False) -> dict:
        """JSON-ready (``body_fit.json``'s ``cut``); ``completed``: the model supplies what
        the frame cuts off (``--complete``) instead of the meshes ending at the frame."""
        return {
            "sides": list(self.sides),
            "at": self.at,
            "image_row": None if self.image_row is None else float(self.image_row),
            "unseen_landmarks": list(self.unseen_landmarks),
            "unseen_joints": list(self.unseen_joints),
            "planes_world": {
                k: {"point": [float(x) for x in p], "normal": [float(x) for x in n]}
                for k, (p, n) in self.planes.items()
            },
            "completed": bool(completed),
            "meshes": (
                "the body model completes what the frame cuts off"
                if completed or not self.sides
                else "body.* and body_naked.obj end at the frame's planes, each cut closed by "
                "a flat cap"
            ),
        }


def frame_planes(result, sides: tuple[str, ...] | None = None) -> dict:
    """World planes (point, unit normal toward the photo's inside) of the photo's edges.

    ``result`` is a :class:`~monoscan.body.reconstruct.BodyResult` (its orthographic camera:
    ``scale``, ``origin_px``, ``map_scale`` and the map size); ``sides`` defaults to its
    ``cut_off``.
    """
    sides = tuple(result.cut_off) if sides is None else tuple(sides)
    h, w = np.asarray(result.mask).shape
    s = result.scale / result.map_scale  # m per map px
    ox, oy = (float(v) * result.map_scale for v in result.origin_px[:2])
    edges = {
        "top": (np.array([0.0, oy * s, 0.0]), np.array([0.0, -1.0, 0.0])),
        "bottom": (np.array([0.0, -(h - oy) * s, 0.0]), np.array([0.0, 1.0, 0.0])),
        "left": (np.array([-ox * s, 0.0, 0.0]), np.array([1.0, 0.0, 0.0])),
        "right": (np.array([(w - ox) * s, 0.0, 0.0]), np.array([-1.0, 0.0, 0.0])),
    }
    return {k: edges[k] for k in sides}


def frame_cut(result, naked=None, min_visibility: float = 0.5) -> FrameCut:
    """How the frame cuts the person of a :class:`~monoscan.body.reconstruct.BodyResult`.

    The cut sides are the result's ``cut_off`` (the person mask touches them). The level of
    the bottom edge comes from the rows of the shoulders, hips, knees, ankles and soles: the
    fitted body's (``naked``, a :class:`~monoscan.body.fit.NakedBody`; its whole body is
    there) or else MediaPipe's landmarks (extrapolated past the frame).
    """
    h, w = np.asarray(result.mask).shape
    f = result.map_scale
    pose = result.pose
    lm = np.asarray(pose.landmarks, np.float64)[:, :2] * f
    seen = landmarks_seen(lm, pose.visibility, (h, w), min_visibility)
    rows_src = lm if naked is None else naked.fit.project(naked.fit.landmarks)
    y = rows_src[:, 1]
    rows = {
        "shoulders": y[[11, 12]].mean(),
        "hips": y[[23, 24]].mean(),
        "knees": y[[25, 26]].mean(),
        "ankles": y[[27, 28]].mean(),
        "soles": y[29:33].max(),
    }
    sides = tuple(result.cut_off)
    at = cut_level(float(h), rows) if "bottom" in sides else None
    unseen = tuple(j for j, ids in _JOINT_LANDMARKS.items() if not seen[list(ids)].all())
    return FrameCut(
        sides=sides,
        at=at,
        image_row=float(h / f) if "bottom" in sides else None,
        seen=seen,
        unseen_joints=unseen,
        planes=frame_planes(result, sides),
    )


def _loops(edges: np.ndarray) -> list[list[int]]:
    """Closed vertex loops from directed boundary edges (a -> b)."""
    out: dict[int, list[int]] = {}
    for a, b in edges:
        out.setdefault(int(a), []).append(int(b))
    loops = []
    while out:
        start = next(iter(out))
        loop = [start]
        cur = start
        while True:
            nxt = out[cur].pop()
            if not out[cur]:
                del out[cur]
            if nxt == start:
                break
            loop.append(nxt)
            cur = nxt
            if cur not in out:  # an open chain (the input was not closed): give up on it
                loop = []
                break
        if len(loop) >= 3:
            loops.append(loop)
    return loops


def clip_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    point: np.ndarray,
    normal: np.ndarray,
    attributes: np.ndarray | None = None,
    cap: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Keep the part of a mesh on the ``normal`` side of a plane; close the cut with a cap.

    Triangles crossing the plane are cut along it (a new vertex per cut edge, shared by the
    edge's two triangles); the cut's boundary loops, which lie in the plane, are triangulated
    (:func:`manifold3d.triangulate`: holes and several loops, no new vertices) facing away
    from the kept side. A closed, consistently wound input stays closed.

    Parameters
    ----------
    vertices : (V, 3) float
    faces : (F, 3) int
        Counter-clockwise seen from outside.
    point, normal : (3,) float
        A point of the plane and its normal, toward the part kept.
    attributes : (V, K) float or None
        Per-vertex values, interpolated linearly onto the new vertices.
    cap : bool
        Close the cut (False: leave it open).

    Returns
    -------
    vertices : (V', 3) float64
    faces : (F', 3) int64
    attributes : (V', K) float64 or None
    """
    import manifold3d

    v = np.asarray(vertices, np.float64).copy()
    f = np.asarray(faces, np.int64)
    n = np.asarray(normal, np.float64)
    n = n / np.linalg.norm(n)
    attr = None if attributes is None else np.asarray(attributes, np.float64).reshape(len(v), -1)
    d = (v - np.asarray(point, np.float64)) @ n
    # vertices within a hair of the plane go onto it: no sliver triangles
    tol = 1e-7 * max(float(np.ptp(v, axis=0).max()) if len(v) else 1.0, 1e-9)
    near = np.abs(d) < tol
    v[near] -= d[near, None] * n
    d[near] = 0.0
    fd = d[f]
    keep = (fd >= 0).all(1)
    cross = ~keep & (fd > 0).any(1)
    new_faces = [f[keep]]
    extra_v: list[np.ndarray] = []
    extra_a: list[np.ndarray] = []
    edge_vertex: dict[tuple[int, int], int] = {}

    def on_edge(a: int, b: int) -> int:
        key = (a, b) if a < b else (b, a)
        k = edge_vertex.get(key)
        if k is None:
            t = d[key[0]] / (d[key[0]] - d[key[1]])
            k = len(v) + len(extra_v)
            extra_v.append(v[key[0]] + t * (v[key[1]] - v[key[0]]))
            if attr is not None:
                extra_a.append(attr[key[0]] + t * (attr[key[1]] - attr[key[0]]))
            edge_vertex[key] = k
        return k

    clipped = []
    for tri in f[cross]:
        poly = []
        for i in range(3):
            a, b = int(tri[i]), int(tri[(i + 1) % 3])
            if d[a] >= 0:
                poly.append(a)
            if (d[a] > 0 and d[b] < 0) or (d[a] < 0 and d[b] > 0):
                poly.append(on_edge(a, b))
        clipped += [(poly[0], poly[i], poly[i + 1]) for i in range(1, len(poly) - 1)]
    if clipped:
        new_faces.append(np.asarray(clipped, np.int64))
    if extra_v:
        v = np.concatenate([v, np.asarray(extra_v)])
        if attr is not None:
            attr = np.concatenate([attr, np.asarray(extra_a)])
    f = np.concatenate(new_faces)
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 2] != f[:, 0])]

    if cap and len(f):
        # directed edges without their reverse: the cut's boundary, in the plane
        e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        key = e[:, 0] * (len(v) + 1) + e[:, 1]
        rev = e[:, 1] * (len(v) + 1) + e[:, 0]
        boundary = e[~np.isin(key, rev)]
        loops = _loops(boundary[:, ::-1])  # the cap runs each boundary edge the other way
        if loops:
            # 2D frame of the plane with u x w = -n: counter-clockwise there faces away from
            # the kept side, as the cap must
            u = np.cross(n, [1.0, 0.0, 0.0])
            if np.linalg.norm(u) < 1e-6:
                u = np.cross(n, [0.0, 1.0, 0.0])
            u /= np.linalg.norm(u)
            w = np.cross(-n, u)
            polys = [np.stack([v[lp] @ u, v[lp] @ w], 1) for lp in loops]
            tris = np.asarray(manifold3d.triangulate(polys), np.int64).reshape(-1, 3)
            ids = np.concatenate([np.asarray(lp, np.int64) for lp in loops])
            if len(tris):
                f = np.concatenate([f, ids[tris]])
    used = np.unique(f)
    remap = np.full(len(v), -1, np.int64)
    remap[used] = np.arange(len(used))
    return v[used], remap[f], None if attr is None else attr[used]


def clip_to_frame(
    vertices: np.ndarray,
    faces: np.ndarray,
    planes: dict,
    attributes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`clip_mesh` by each of ``planes`` (:func:`frame_planes`) in turn: the part of
    the mesh inside the photo's frame, each cut closed."""
    v, f, a = np.asarray(vertices, np.float64), np.asarray(faces, np.int64), attributes
    for point, normal in planes.values():
        v, f, a = clip_mesh(v, f, point, normal, a)
    return v, f, a
