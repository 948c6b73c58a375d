"""A closed, coloured head mesh from a fitted ICT model (:mod:`monoscan.head.ict`).

The ICT skin is open at the neck, the eyes and the mouth; :func:`close_skin` caps each opening
(the wide neck with two concentric rings before its fan) so the mesh is one watertight
manifold, as the H3DS protocol and 3D printing expect. :func:`closed_skin_surface` also pushes
the eye caps just inside the eyeballs (:mod:`monoscan.head.eyes`) and subdivides (midpoint,
shape kept). :func:`build_ict_head` colours it: vertices a photo sees (facing its camera, in
front in the depth test, on the kit's face region) take that photo's colour, blended over the
photos of the same person (:class:`PhotoView`) by how squarely each sees them, and the rest is
filled by harmonic interpolation over the mesh from them, so the unseen skull, ears and neck
continue the skin tone of the face edge without a seam. :func:`without_expression` re-poses
the head without its expression; :func:`expression_rig` gives the 57 expression shapes for
animation. World frame, metres.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from monoscan.core.camera import Camera
from monoscan.core.meshes import textured_trimesh
from monoscan.head.eyes import Eyeball, fit_eyeballs
from monoscan.head.ict import IctFit, load_ict_model

__all__ = [
    "ExpressionRig",
    "IctHead",
    "PhotoView",
    "build_ict_head",
    "close_skin",
    "closed_skin_surface",
    "expression_rig",
    "ict_head_mesh",
    "reference_view",
    "skin_tone",
    "without_expression",
]

#: ICT vertices 0-6705 are the kit's "narrow face" (its README): only they take the photo's
#: colour (the wider face region reaches the hairline and the neck, where hair and clothes are).
FACE_VERTICES = 6706
#: A vertex takes the photo's colour when its normal faces the camera at least this much (cos).
MIN_FACING = 0.35


#: Openings wider than this (mean distance of the loop from its centre, metres) are capped
#: with concentric rings at these fractions of the way from the centre, then a fan.
RING_MIN_RADIUS_M = 0.03
CAP_RINGS = (0.93, 0.6)
#: Midpoint subdivisions of the written head (1: about 45,000 vertices).
SUBDIVISIONS = 1
#: The eye openings' caps lie this far inside the eyeball's fitted sphere (metres).
EYE_CAP_INSET_M = 0.0005
#: Side of the grid (pixels) the visibility depth test runs on.
VISIBILITY_PX = 640
#: Pull of the unseen vertices' colour toward the skin tone (per edge; see build_ict_head).
SKIN_PULL = 0.02


def skin_tone(colours: np.ndarray) -> np.ndarray:
    """Typical skin colour (RGB float) of face colours: the darkest 30 % (brows, shadows) and
    brightest 10 % (highlights) by luminance dropped, the rest averaged."""
    c = np.asarray(colours, np.float64)
    lum = c @ np.array([0.299, 0.587, 0.114])
    lo, hi = np.percentile(lum, [30, 90])
    keep = (lum >= lo) & (lum <= hi)
    return (c[keep] if keep.sum() >= 5 else c).mean(0)


@dataclass(frozen=True)
class IctHead:
    """A closed head in the world frame (metres).

    Attributes
    ----------
    vertices : (V, 3) float32
    faces : (F, 3) int32
        Outward, closed, manifold.
    vertex_colors : (V, 3) uint8
    seen : (V,) bool
        Vertices coloured from the photo (the rest are filled).
    corner_uv : (F, 3, 2) float32
        Texture coordinates per triangle corner in :attr:`texture` (v up): the kit's layout,
        its two UDIM tiles (face; head and neck) side by side. The layout has seams, so a
        vertex may have several.
    texture : (H, 2H, 3) uint8
        The photo on the seen face, the filled skin elsewhere (:func:`bake_texture`).
    fit : IctFit
    eyes : (Eyeball, Eyeball)
        The subject's left and right eye (:mod:`monoscan.head.eyes`).
    """

    vertices: np.ndarray
    faces: np.ndarray
    vertex_colors: np.ndarray
    seen: np.ndarray
    corner_uv: np.ndarray
    texture: np.ndarray
    fit: IctFit
    eyes: tuple[Eyeball, Eyeball]

    def to_trimesh(self, textured: bool = True):
        """A ``trimesh.Trimesh``: textured (vertices split at the UV seams) or with vertex
        colours (vertex order kept, closed); see :func:`monoscan.core.meshes.textured_trimesh`."""
        return textured_trimesh(self, textured)


@dataclass(frozen=True)
class PhotoView:
    """A photo that colours the head: its pixels and where world points land in it.

    Attributes
    ----------
    rgb : (H, W, 3) uint8
    project : callable
        ``project(points)``: (N, 3) world points (metres) -> ((N, 2) photo pixels, (N,) depth
        toward this photo's camera, metres, larger is closer).
    toward_camera : (3,) float
        Unit direction from the head toward this photo's camera, in the world frame.
    not_skin : (H, W) bool, optional
        Pixels not to take colour from (hair, occluders).
    """

    rgb: np.ndarray
    project: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    toward_camera: np.ndarray
    not_skin: np.ndarray | None = None


def reference_view(rgb: np.ndarray, camera: Camera, not_skin=None) -> PhotoView:
    """The photo the landmarks came from, as a :class:`PhotoView` (its camera looks down -z)."""
    return PhotoView(
        np.asarray(rgb),
        lambda points: (camera.world_to_photo(points)[:, :2], np.asarray(points)[:, 2]),
        np.array([0.0, 0.0, 1.0]),
        not_skin,
    )


def _visible(px: np.ndarray, depth: np.ndarray, faces: np.ndarray, shape) -> np.ndarray:
    """Vertices inside the photo that win the depth test at their pixel (on a grid of at
    most :data:`VISIBILITY_PX` over the head, not the whole photo)."""
    from monoscan.render.raster import rasterize

    h, w = shape[:2]
    inside = (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
    lo = px.min(0)
    scale = min(1.0, VISIBILITY_PX / max(float(np.ptp(px, axis=0).max()), 1.0))
    grid = (px - lo) * scale
    gh, gw = (np.ceil(grid.max(0)) + 1).astype(int)[::-1]
    front_depth, _, _ = rasterize(grid, depth, faces, (gh, gw), nearest="max")
    gx = np.clip(np.round(grid[:, 0] - 0.5).astype(int), 0, gw - 1)
    gy = np.clip(np.round(grid[:, 1] - 0.5).astype(int), 0, gh - 1)
    return inside & (np.nan_to_num(front_depth[gy, gx], nan=np.inf) - depth < 0.004)


def close_skin(
    vertices: np.ndarray, faces: np.ndarray, corner_uv: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Cap every boundary loop with a fan around its centroid.

    A wide opening (the neck, whose loop is more than :data:`RING_MIN_RADIUS_M` from its
    centre on average) gets :data:`CAP_RINGS` concentric rings before the fan, so the shading
    turns over a narrow band at the rim instead of streaking along long, thin fan triangles.
    New vertices (rings, then the centre, per loop) follow the given ones. The caps follow
    the boundary edges' orientation, so the result keeps outward normals. ``vertices`` may
    have more than three columns (positions first: they decide the rings; every column is
    placed the same way, linearly: the centre is the loop's mean).
    With ``corner_uv`` (F, 3, 2), cap corners take the uv their vertex has in the face beside
    them, placed like the vertices. Returns new ``vertices, faces, corner_uv`` (None when not
    given).
    """
    faces = np.asarray(faces, np.int64)
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = np.sort(directed, axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    boundary = directed[counts[inverse.ravel()] == 1]  # each as it runs in its one face
    following = dict(zip(boundary[:, 0].tolist(), boundary[:, 1].tolist(), strict=True))
    vertices = np.asarray(vertices, np.float64)
    v, new_faces = [vertices], [faces]
    uv_of = {}
    if corner_uv is not None:
        for corner in range(3):  # a boundary vertex's uv, from its own face
            for vid, uv in zip(faces[:, corner].tolist(), corner_uv[:, corner], strict=True):
                uv_of.setdefault(vid, uv)
    cap_uv = []
    count = len(vertices)
    while following:
        loop, a = [], next(iter(following))
        while a in following:  # walk the boundary edges back to where the loop started
            loop.append(a)
            a = following.pop(a)
        ring = np.array(loop)
        centre = vertices[ring].mean(0)
        radius = np.linalg.norm(vertices[ring, :3] - centre[:3], axis=1).mean()
        fractions = CAP_RINGS if radius > RING_MIN_RADIUS_M else ()
        ring_uv = None if corner_uv is None else np.array([uv_of[i] for i in loop])
        uv_centre = None if ring_uv is None else ring_uv.mean(0)
        for fraction in fractions:
            inner = np.arange(count, count + len(ring))
            v.append(centre + fraction * (vertices[loop] - centre))
            count += len(ring)
            # boundary edge a -> b runs so in its face; the strip runs b -> a -> inner
            new_faces.append(np.stack([np.roll(ring, -1), ring, inner], axis=1))
            new_faces.append(np.stack([np.roll(ring, -1), inner, np.roll(inner, -1)], axis=1))
            if ring_uv is not None:
                inner_uv = uv_centre + fraction * (np.array([uv_of[i] for i in loop]) - uv_centre)
                cap_uv.append(np.stack([np.roll(ring_uv, -1, 0), ring_uv, inner_uv], axis=1))
                cap_uv.append(
                    np.stack([np.roll(ring_uv, -1, 0), inner_uv, np.roll(inner_uv, -1, 0)], axis=1)
                )
                ring_uv = inner_uv
            ring = inner
        v.append(centre[None])
        new_faces.append(np.stack([np.roll(ring, -1), ring, np.full(len(ring), count)], axis=1))
        if ring_uv is not None:
            middle = np.broadcast_to(uv_centre, ring_uv.shape)
            cap_uv.append(np.stack([np.roll(ring_uv, -1, axis=0), ring_uv, middle], axis=1))
        count += 1
    uv = None if corner_uv is None else np.concatenate([corner_uv, *cap_uv]).astype(np.float32)
    return np.concatenate(v), np.concatenate(new_faces).astype(np.int32), uv


def closed_skin_surface(
    skin_world: np.ndarray, eyes: tuple[Eyeball, ...] = (), subdivisions: int = SUBDIVISIONS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ICT skin (posed, world metres) closed and subdivided, the eye caps in the eyeballs.

    The caps of the eye openings are pushed onto a sphere :data:`EYE_CAP_INSET_M` inside each
    eyeball: hidden behind the eyeball where it is shown, shaped like it where it is not
    (OBJ, PLY, the H3DS protocol). Returns ``vertices, faces, colourable, corner_uv``:
    ``colourable`` marks the vertices that may take the photo's colour (the narrow face and
    the eye caps), ``corner_uv`` (F, 3, 2) is the kit's layout, both tiles side by side.
    """
    model = load_ict_model()
    n = len(model.neutral)
    uv = model.uv_coords[model.face_uv] * [0.5, 1.0]  # u in tile 0 (face) or 1 (head, neck)
    v, f, uv = close_skin(skin_world, model.faces, uv)
    attributes = np.zeros((len(v), 1 + len(eyes)))
    attributes[:FACE_VERTICES, 0] = 1
    for k, eye in enumerate(eyes):
        cap = n + int(np.argmin(np.linalg.norm(v[n:] - eye.centre, axis=1)))
        attributes[cap, [0, 1 + k]] = 1
    for _ in range(subdivisions):
        v, f, attributes, uv = _subdivide(v, f, attributes, uv)
    for k, eye in enumerate(eyes):
        inner = attributes[:, 1 + k] > 0
        out = v[inner] - eye.centre
        out /= np.linalg.norm(out, axis=1)[:, None]
        v[inner] = eye.centre + out * (eye.radius_m - EYE_CAP_INSET_M)
    return v, f, attributes[:, 0] > 0.5, uv


def build_ict_head(
    fit: IctFit,
    photo_rgb: np.ndarray,
    camera: Camera,
    subdivisions: int = SUBDIVISIONS,
    not_skin: np.ndarray | None = None,
    face_points_px: np.ndarray | None = None,
    views: Sequence[PhotoView] = (),
) -> IctHead:
    """Pose, close, subdivide and colour the fitted ICT skin; place and colour the eyes.

    Parameters
    ----------
    fit : IctFit
        :func:`monoscan.head.ict.fit_ict_to_landmarks` of the photo's landmarks.
    photo_rgb : (H, W, 3) uint8
    camera : Camera
        The camera the landmarks were lifted with.
    subdivisions : int
        Midpoint subdivisions (each multiplies the triangles by 4; 1 gives about 45,000
        vertices, as many as the face's own mesh needs for the photo's detail).
    not_skin : (H, W) bool, optional
        Photo pixels not to take colour from (hair, occluders).
    face_points_px : (478, 2+) array, optional
        MediaPipe's face mesh (photo pixels): its iris points turn the eyes to the photo's
        gaze and give the iris colour (:func:`monoscan.head.eyes.fit_eyeballs`).
    views : sequence of PhotoView
        Other photos of the same person (``--same-person``): every vertex of the face takes
        the colour of the photos that see it, weighted by how squarely each faces it.

    Returns
    -------
    IctHead
    """
    import trimesh
    from scipy.sparse import coo_matrix, identity
    from scipy.sparse.linalg import splu

    from monoscan.core.geometry import vertex_normals
    from monoscan.render.raster import sample_image

    rgb = np.asarray(photo_rgb)
    eyes = fit_eyeballs(fit, rgb, camera, face_points_px)
    v, f, on_face, uv = closed_skin_surface(fit.vertices, eyes, subdivisions)
    # Each photo colours the face vertices it sees facing it, weighted by how squarely.
    views = [reference_view(rgb, camera, not_skin), *views]
    normals = vertex_normals(v, f)
    weights = np.zeros((len(views), len(v)))
    samples = np.zeros((len(views), len(v), 3))
    for k, view in enumerate(views):
        px, depth = view.project(v)
        facing = normals @ np.asarray(view.toward_camera, np.float64)
        seen_k = on_face & (facing > MIN_FACING) & _visible(px, depth, f, view.rgb.shape)
        if view.not_skin is not None:
            h, w = view.rgb.shape[:2]
            xi = np.clip(np.round(px[:, 0] - 0.5).astype(int), 0, w - 1)
            yi = np.clip(np.round(px[:, 1] - 0.5).astype(int), 0, h - 1)
            seen_k &= ~np.asarray(view.not_skin, bool)[yi, xi]
        weights[k, seen_k] = facing[seen_k] ** 2
        samples[k, seen_k] = sample_image(view.rgb, px[seen_k, 0] - 0.5, px[seen_k, 1] - 0.5)
    total = weights.sum(0)
    seen = total > 0
    colours = np.zeros((len(v), 3))
    colours[seen] = np.einsum("kv,kvc->vc", weights[:, seen], samples[:, seen]) / total[seen, None]
    # Harmonic fill of the unseen vertices from the seen ones over the mesh's edges.
    edges = trimesh.geometry.faces_to_edges(f)
    n = len(v)
    adj = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.float64)
    lap = coo_matrix((np.asarray(adj.sum(1)).ravel(), (np.arange(n), np.arange(n))), (n, n))
    lap = (lap.tocsr() - adj).tocsr()
    free = ~seen
    if seen.any() and free.any():
        # Screened: away from the seen face the colour relaxes to the skin tone within about
        # 1 / sqrt(SKIN_PULL) edges, so hairline and shadow colours do not run over the skull.
        tone = skin_tone(colours[seen])
        a = (lap[free][:, free] + SKIN_PULL * identity(int(free.sum()))).tocsc()
        rhs = -lap[free][:, seen] @ colours[seen] + SKIN_PULL * tone
        colours[free] = splu(a).solve(np.ascontiguousarray(rhs))
    colours = np.clip(np.round(colours), 0, 255).astype(np.uint8)
    v = v.astype(np.float32)
    return IctHead(
        vertices=v,
        faces=f.astype(np.int32),
        vertex_colors=colours,
        seen=seen,
        corner_uv=uv,
        texture=bake_texture(v, f, uv, colours, weights, views),
        fit=fit,
        eyes=eyes,
    )


def _subdivide(
    vertices: np.ndarray, faces: np.ndarray, attributes: np.ndarray, corner_uv: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One midpoint subdivision: each triangle (a, b, c) becomes (a, ab, ca), (ab, b, bc),
    (ca, bc, c), (ab, bc, ca); per-vertex ``attributes`` and per-corner uvs are linear."""
    f = np.asarray(faces, np.int64)
    edges = np.sort(np.stack([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], axis=1), axis=2)
    unique, inverse = np.unique(edges.reshape(-1, 2), axis=0, return_inverse=True)
    mid = len(vertices) + inverse.reshape(-1, 3)  # (F, 3): midpoints of ab, bc, ca
    a, b, c = f.T
    ab, bc, ca = mid.T
    new_faces = np.concatenate(
        [np.stack(t, axis=1) for t in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))]
    )

    def halves(values):
        return np.concatenate([values, values[unique].mean(axis=1)])

    uv_a, uv_b, uv_c = corner_uv[:, 0], corner_uv[:, 1], corner_uv[:, 2]
    uv_ab, uv_bc, uv_ca = (uv_a + uv_b) / 2, (uv_b + uv_c) / 2, (uv_c + uv_a) / 2
    new_uv = np.concatenate(
        [
            np.stack(t, axis=1)
            for t in (
                (uv_a, uv_ab, uv_ca),
                (uv_ab, uv_b, uv_bc),
                (uv_ca, uv_bc, uv_c),
                (uv_ab, uv_bc, uv_ca),
            )
        ]
    )
    return halves(np.asarray(vertices)), new_faces, halves(np.asarray(attributes)), new_uv


#: Height of the baked texture in pixels (its width is twice that: two UDIM tiles). 512 keeps
#: the bake fast; the face tile then holds a face at about the resolution of a 1 MP portrait.
TEXTURE_PX = 512


def bake_texture(
    vertices: np.ndarray,
    faces: np.ndarray,
    corner_uv: np.ndarray,
    vertex_colors: np.ndarray,
    weights: np.ndarray,
    views: Sequence[PhotoView],
    height: int = TEXTURE_PX,
) -> np.ndarray:
    """The head's colours as a (height, 2 height, 3) uint8 texture in ``corner_uv`` (v up).

    Texels of triangles the photos see sample the photos at full resolution, blended by the
    per-vertex ``weights`` (K, V) of each of the K ``views`` (interpolated over the triangle);
    the others take the interpolated vertex colours (the filled skin); empty texels are
    inpainted from their neighbours so filtering at UV seams does not pull in black.
    """
    import cv2

    from monoscan.render.raster import rasterize, sample_image

    size = np.array([2 * height, height])
    flat_uv = corner_uv.reshape(-1, 2)
    texel = np.column_stack([flat_uv[:, 0], 1.0 - flat_uv[:, 1]]) * size - 0.5
    corners = np.arange(len(flat_uv)).reshape(-1, 3)
    _, tri, bary = rasterize(texel, np.zeros(len(texel)), corners, (height, 2 * height))
    covered = tri >= 0
    ids = faces[tri[covered]]
    w = bary[covered]
    colour = np.einsum("nk,nkc->nc", w, vertex_colors[ids].astype(np.float64))
    from_photo = (weights.sum(0) > 0)[ids].all(axis=1)
    world = np.einsum("nk,nkc->nc", w[from_photo], vertices[ids[from_photo]].astype(np.float64))
    blend = np.zeros((len(world), 3))
    total = np.zeros(len(world))
    for k, view in enumerate(views):
        texel_w = np.einsum("nk,nk->n", w[from_photo], weights[k][ids[from_photo]])
        use = texel_w > 0
        if use.any():
            px, _ = view.project(world[use])
            blend[use] += texel_w[use, None] * sample_image(
                view.rgb, px[:, 0] - 0.5, px[:, 1] - 0.5
            )
            total[use] += texel_w[use]
    good = total > 0
    sub = colour[from_photo]
    sub[good] = blend[good] / total[good, None]
    colour[from_photo] = sub
    texture = np.zeros((height, 2 * height, 3), np.uint8)
    texture[covered] = np.clip(np.round(colour), 0, 255).astype(np.uint8)
    return cv2.inpaint(texture, (~covered).astype(np.uint8), 3, cv2.INPAINT_TELEA)


def ict_head_mesh(
    fit: IctFit,
    fitted_head,
    photo_rgb: np.ndarray,
    camera: Camera,
    not_skin: np.ndarray | None = None,
    face_points_px: np.ndarray | None = None,
    views: Sequence[PhotoView] = (),
):
    """The fitted ICT head as the pipeline's :class:`~monoscan.head.assemble.HeadMesh`
    (see :func:`build_ict_head` for the arguments).

    The scalp (where hair roots grow) is where the parametric head ``fitted_head``
    (:func:`monoscan.head.fit.fit_head`, fitted to the same landmarks) puts it, minus the
    photographed face; its frame also places the strands in the USC-HairSalon frame.
    """
    import time

    from monoscan.head.assemble import HeadMesh
    from monoscan.head.model import scalp_mask

    t0 = time.perf_counter()
    head = build_ict_head(
        fit, photo_rgb, camera, not_skin=not_skin, face_points_px=face_points_px, views=views
    )
    uv = np.zeros((len(head.vertices), 2), np.float32)
    uv[head.faces.ravel()] = head.corner_uv.reshape(-1, 2)  # one of each vertex's uvs
    scalp = scalp_mask(fitted_head.to_head(head.vertices), fitted_head.shape) & ~head.seen
    tone = skin_tone(head.vertex_colors[head.seen]) if head.seen.any() else (200, 160, 140)
    return HeadMesh(
        vertices=head.vertices,
        faces=head.faces,
        uv=uv,
        texture=head.texture,
        vertex_colors=head.vertex_colors,
        face_region=head.seen,
        scalp=scalp,
        head=fitted_head,
        skin_color=np.clip(np.round(tone), 0, 255).astype(np.uint8),
        timings={"ict_head": time.perf_counter() - t0},
        corner_uv=head.corner_uv,
        ict=fit,
        eyes=head.eyes,
    )


def without_expression(head):
    """``head`` (an ICT :class:`~monoscan.head.assemble.HeadMesh`) with the fitted
    expression removed: the same identity, pose, eyes, texture and vertex ids, the skin of the
    neutral face (a head to rig). The ``ict`` fit it carries keeps the photo's expression
    weights, which re-applied to this head give the photo's face back."""
    from dataclasses import replace

    if head.ict is None:
        raise ValueError("without_expression needs a head made from an ICT fit")
    fit = head.ict
    neutral = fit.to_world(load_ict_model().vertices(fit.identity))
    v = closed_skin_surface(neutral, head.eyes)[0]
    if len(v) != len(head.vertices):
        raise ValueError("head was not made with closed_skin_surface's default subdivisions")
    return replace(head, vertices=v.astype(np.float32))


@dataclass(frozen=True)
class ExpressionRig:
    """The fitted ICT head with its expression shapes, for animation (world frame, metres).

    The skin at the model's own resolution (closed, not subdivided), without expression;
    ``vertices + np.tensordot(weights, offsets, 1)`` is the photo's expression (but for the
    two eye-cap centres, which stay inside the eyes).

    Attributes
    ----------
    vertices : (V, 3) float32
        The neutral closed skin (identity, pose and eyes as fitted).
    faces : (F, 3) int32
    corner_uv : (F, 3, 2) float32
        The kit's layout, as :attr:`IctHead.corner_uv`; the head's texture fits it.
    texture : (H, 2H, 3) uint8
    vertex_colors : (V, 3) uint8
        The head's colours at the same places.
    names : tuple of str
        The 57 expression shapes (ARKit-style names: jawOpen, eyeBlink_L, ...).
    offsets : (57, V, 3) float32
        Each shape's vertex offsets at weight 1, in the world frame.
    weights : (57,) float64
        The photo's fitted weights.
    """

    vertices: np.ndarray
    faces: np.ndarray
    corner_uv: np.ndarray
    texture: np.ndarray
    vertex_colors: np.ndarray
    names: tuple[str, ...]
    offsets: np.ndarray
    weights: np.ndarray

    def to_trimesh(self, textured: bool = True):
        """As :meth:`IctHead.to_trimesh`."""
        return textured_trimesh(self, textured)


def expression_rig(head) -> ExpressionRig:
    """The 57 expression shapes of an ICT :class:`~monoscan.head.assemble.HeadMesh`.

    A shape's offsets are the model's, posed (scale and rotation of the fit); the cap closing
    an opening moves with the mean of its rim, as :func:`close_skin` places it, except the
    eye caps, which stay inside the eyes (the eyes do not move). Colours are the head's at the
    same vertices.
    """
    if head.ict is None:
        raise ValueError("expression_rig needs a head made from an ICT fit")
    model = load_ict_model()
    fit = head.ict
    neutral = fit.to_world(model.vertices(fit.identity))
    base, faces, _, corner_uv = closed_skin_surface(neutral, head.eyes, 0)
    n, shapes = len(neutral), len(model.expression)
    posed = fit.scale * model.expression.astype(np.float64) @ fit.rotation.T  # (57, n, 3)
    # close_skin places caps and rings linearly in every column; its first three columns
    # (the positions) decide where rings go, as for the base.
    wide = close_skin(np.c_[neutral, posed.transpose(1, 0, 2).reshape(n, -1)], model.faces)[0]
    offsets = wide[:, 3:].reshape(len(wide), shapes, 3).transpose(1, 0, 2).astype(np.float32)
    for eye in head.eyes:
        offsets[:, n + int(np.argmin(np.linalg.norm(base[n:] - eye.centre, axis=1)))] = 0
    # Subdivision keeps the closed skin's vertices first, in order: the colours carry over.
    return ExpressionRig(
        vertices=base.astype(np.float32),
        faces=faces.astype(np.int32),
        corner_uv=corner_uv.astype(np.float32),
        texture=head.texture,
        vertex_colors=np.asarray(head.vertex_colors)[: len(base)],
        names=model.expression_names,
        offsets=offsets,
        weights=np.asarray(fit.expression, np.float64),
    )
