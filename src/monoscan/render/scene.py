"""A small CPU renderer: shaded triangle meshes and hair strands, with their ground-truth maps.

Meshes are rasterised with a z-buffer (:func:`monoscan.render.raster.rasterize`) and shaded
Lambert + ambient with a weak Blinn-Phong highlight. Strands are drawn as thin lines: every
projected segment is split into sub-pixel samples that are depth-tested against the meshes and
against each other (the nearest sample wins a pixel), and shaded with the Kajiya-Kay model
(diffuse from the sine between the tangent and the light, specular from the tangent and the half
vector, plus a secondary, hair-coloured highlight from a shifted tangent). Because the winning
sample of every pixel is known, the renderer returns the exact hair mask, growth direction,
and depth of what it drew.

Frames
------
World: metres, y up, x to the subject's left, z toward the camera (monoscan's world frame).
Camera: x right, y up, looking down -z (OpenGL-style); ``camera = R @ world + t``.
Image: x right, y down, pixels; pixel centres at integer coordinates (OpenCV's convention).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.geometry import rotation_y, vertex_normals

__all__ = [
    "Light",
    "MeshLayer",
    "Rendered",
    "StrandLayer",
    "View",
    "background_image",
    "look_at",
    "render",
    "render_result",
    "turntable",
]


@dataclass(frozen=True)
class View:
    """An orthographic or perspective camera.

    Attributes
    ----------
    kind : {"orthographic", "perspective"}
    width, height : int
        Image size, pixels.
    focal_px : float
        Perspective: focal length in pixels. Orthographic: pixels per metre.
    cx, cy : float
        Principal point, pixels (pixel centres at integer coordinates).
    rotation : (3, 3) float
        World to camera rotation.
    translation : (3,) float
        World to camera translation, metres (``camera = R @ world + t``).
    """

    kind: str
    width: int
    height: int
    focal_px: float
    cx: float
    cy: float
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        if self.kind not in ("orthographic", "perspective"):
            raise InputError(f"camera kind must be orthographic or perspective, got {self.kind!r}")
        if self.width <= 0 or self.height <= 0 or not self.focal_px > 0:
            raise InputError("camera size and focal length must be positive")
        object.__setattr__(self, "rotation", np.asarray(self.rotation, np.float64).reshape(3, 3))
        object.__setattr__(self, "translation", np.asarray(self.translation, np.float64).reshape(3))

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.height), int(self.width))

    @property
    def centre(self) -> np.ndarray:
        """Camera centre in the world frame (metres)."""
        return -self.rotation.T @ self.translation

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> camera frame (metres)."""
        return np.asarray(points, np.float64).reshape(-1, 3) @ self.rotation.T + self.translation

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project world points.

        Returns
        -------
        uv : (N, 2) float64
            Image pixels (x right, y down; pixel centres at integers).
        depth : (N,) float64
            Camera-frame z, metres (negative in front of a perspective camera; larger = closer).
        """
        c = self.to_camera(points)
        if self.kind == "perspective":
            zc = np.where(-c[:, 2] > 1e-6, -c[:, 2], 1e-6)
            s = self.focal_px / zc
        else:
            s = np.full(len(c), self.focal_px)
        uv = np.stack([self.cx + s * c[:, 0], self.cy - s * c[:, 1]], axis=1)
        return uv, c[:, 2]

    def view_dirs(self, points: np.ndarray) -> np.ndarray:
        """Unit world-frame directions from ``points`` toward the camera."""
        if self.kind == "orthographic":
            d = np.tile(self.rotation.T @ np.array([0.0, 0.0, 1.0]), (len(points), 1))
            return d
        d = self.centre - np.asarray(points, np.float64)
        return d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)

    def to_json(self) -> dict:
        k = [[self.focal_px, 0.0, self.cx], [0.0, self.focal_px, self.cy], [0.0, 0.0, 1.0]]
        return {
            "kind": self.kind,
            "width": int(self.width),
            "height": int(self.height),
            "focal_px": float(self.focal_px),
            "cx": float(self.cx),
            "cy": float(self.cy),
            "K": k,
            "R_world_to_camera": self.rotation.tolist(),
            "t_world_to_camera_m": self.translation.tolist(),
            "camera_centre_world_m": self.centre.tolist(),
            "convention": (
                "camera = R @ world + t; camera x right, y up, looking down -z; "
                + (
                    "u = cx + f * x / -z, v = cy - f * y / -z"
                    if self.kind == "perspective"
                    else "u = cx + f * x, v = cy - f * y (f = pixels per metre)"
                )
                + "; pixel centres at integer coordinates"
            ),
            "world_frame": "metres, y up, x to the subject's left, z toward the camera",
        }

    @classmethod
    def from_json(cls, d: dict) -> View:
        try:
            return cls(
                kind=d["kind"],
                width=int(d["width"]),
                height=int(d["height"]),
                focal_px=float(d["focal_px"]),
                cx=float(d["cx"]),
                cy=float(d["cy"]),
                rotation=np.asarray(d["R_world_to_camera"], np.float64),
                translation=np.asarray(d["t_world_to_camera_m"], np.float64),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"malformed camera description: {exc}") from None


def look_at(
    eye: np.ndarray, target: np.ndarray, up=(0.0, 1.0, 0.0)
) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera (R, t) of a camera at ``eye`` looking at ``target`` (y up)."""
    eye = np.asarray(eye, np.float64)
    back = eye - np.asarray(target, np.float64)
    back /= np.linalg.norm(back)
    right = np.cross(np.asarray(up, np.float64), back)
    if np.linalg.norm(right) < 1e-9:
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    up2 = np.cross(back, right)
    rot = np.stack([right, up2, back])
    return rot, -rot @ eye


@dataclass(frozen=True)
class Light:
    """A directional light: unit ``direction`` toward the light (world) and linear ``color``."""

    direction: np.ndarray
    color: np.ndarray

    def __post_init__(self) -> None:
        d = np.asarray(self.direction, np.float64).reshape(3)
        object.__setattr__(self, "direction", d / max(np.linalg.norm(d), 1e-12))
        object.__setattr__(self, "color", np.asarray(self.color, np.float64).reshape(3))


@dataclass(frozen=True)
class MeshLayer:
    """A triangle mesh to draw.

    Attributes
    ----------
    vertices : (V, 3) float
        World frame, metres.
    faces : (F, 3) int
    colors : (V, 3) float, optional
        Per-vertex albedo (sRGB, [0, 1]).
    uv, texture : (V, 2) float and (H, W, 3) uint8, optional
        Texture coordinates (OBJ convention, v up) and texture image.
    albedo_fn : callable, optional
        ``albedo_fn(local_points) -> (N, 3)`` albedo from per-pixel points in ``local`` coords.
    local : (V, 3) float, optional
        Per-vertex coordinates handed to ``albedo_fn`` (e.g. the head's canonical frame).
    labels : (V,) uint8, optional
        Per-vertex parsing label (the label of the nearest vertex is used per pixel).
    specular : float
        Strength of the Blinn-Phong highlight.
    """

    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray | None = None
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    albedo_fn: Callable[[np.ndarray], np.ndarray] | None = None
    local: np.ndarray | None = None
    labels: np.ndarray | None = None
    specular: float = 0.06


@dataclass(frozen=True)
class StrandLayer:
    """Hair strands to draw.

    Attributes
    ----------
    points : (P, 3) float
        World frame, metres; strands concatenated, each root first.
    counts : (S,) int
        Points per strand.
    colors : (S, 3) float
        Per-strand albedo (sRGB, [0, 1]).
    tip_lighten : float
        Fraction by which albedo brightens from root to tip.
    shininess : float
        Kajiya-Kay specular exponent.
    specular : float
        Specular strength.
    samples_per_px : float
        Line samples per pixel of projected segment length.
    """

    points: np.ndarray
    counts: np.ndarray
    colors: np.ndarray
    tip_lighten: float = 0.15
    shininess: float = 60.0
    specular: float = 0.35
    samples_per_px: float = 1.05


@dataclass(frozen=True)
class Rendered:
    """A render and the ground truth of what it shows.

    Attributes
    ----------
    image : (H, W, 3) uint8
    hair_mask : (H, W) bool
        Pixels where a strand sample is visible.
    hair_direction : (H, W, 2) float32
        Unit 2D growth direction (root to tip) of the visible strand, image axes; 0 off hair.
    hair_z : (H, W) float32
        World-frame z (metres, larger = closer) of the visible strand sample; NaN off hair.
    hair_coverage : (H, W) float32
        Visible samples per pixel (soft coverage; 0 off hair).
    mesh_face : (H, W) int64
        Winning triangle of the concatenated meshes (-1 where none).
    mesh_layer : (H, W) int16
        Which mesh layer is seen (-1 none).
    mesh_z : (H, W) float32
        World z of the visible mesh surface (NaN where none).
    labels : (H, W) uint8
        Per-pixel label of the visible mesh (0 where none); hair is not included.
    """

    image: np.ndarray
    hair_mask: np.ndarray
    hair_direction: np.ndarray
    hair_z: np.ndarray
    hair_coverage: np.ndarray
    mesh_face: np.ndarray
    mesh_layer: np.ndarray
    mesh_z: np.ndarray
    labels: np.ndarray


def background_image(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A smooth, photo-like background: a tilted gradient with soft out-of-focus blobs."""
    import cv2

    h, w = shape
    small = 48
    c0, c1 = rng.uniform(0.1, 0.9, 3), rng.uniform(0.1, 0.9, 3)
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:small, 0:small] / (small - 1)
    t = np.clip(0.5 + (xx - 0.5) * np.cos(ang) + (yy - 0.5) * np.sin(ang), 0, 1)[..., None]
    img = c0 * (1 - t) + c1 * t
    for _ in range(int(rng.integers(2, 7))):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3)
        a = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None]
        img = img * (1 - 0.6 * a) + 0.6 * a * rng.uniform(0, 1, 3)
    # Real backdrops are rarely saturated: pull the colours halfway to their grey.
    img = 0.5 * img + 0.5 * img.mean(axis=2, keepdims=True)
    img = cv2.resize(img.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img, 0, 1)


def _shade_lambert(albedo, normal, view_dir, lights, ambient, specular):
    light = np.tile(np.asarray(ambient, np.float64), (len(normal), 1))
    spec = np.zeros(len(normal))
    for li in lights:
        ndl = normal @ li.direction
        light += np.clip(ndl, 0, None)[:, None] * li.color
        h = li.direction + view_dir
        h /= np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
        spec += (np.clip((normal * h).sum(1), 0, None) ** 30) * (ndl > 0) * li.color.mean()
    return albedo * light + specular * spec[:, None]  # specular: float or (N, 1)


def _sample_texture(tex: np.ndarray, uv: np.ndarray) -> np.ndarray:
    th, tw = tex.shape[:2]
    x = np.clip(np.rint(uv[:, 0] * (tw - 1)), 0, tw - 1).astype(np.int64)
    y = np.clip(np.rint((1.0 - uv[:, 1]) * (th - 1)), 0, th - 1).astype(np.int64)
    return tex[y, x, :3].astype(np.float64) / 255.0


def render(
    view: View,
    meshes: Sequence[MeshLayer] = (),
    strands: StrandLayer | None = None,
    lights: Sequence[Light] = (),
    ambient=(0.35, 0.35, 0.35),
    background: np.ndarray | None = None,
    hair_head_centre: np.ndarray | None = None,
    skin_occlusion: float = 0.35,
) -> Rendered:
    """Render meshes and strands and return the image with its ground-truth maps.

    Parameters
    ----------
    view : View
    meshes : sequence of MeshLayer
    strands : StrandLayer, optional
    lights : sequence of Light
        Default: one light from the upper left front.
    ambient : (3,) float
        Ambient light colour.
    background : (H, W, 3) float in [0, 1], optional
        Default: uniform grey.
    hair_head_centre : (3,) float, optional
        World point the hair volume surrounds; the hair's outward normal (for its diffuse
        fall-off) is taken from it. Default: the strands' centroid.
    skin_occlusion : float
        How much the skin darkens under nearby hair (0 = none).

    Returns
    -------
    Rendered
    """
    import cv2

    from monoscan.render.raster import rasterize

    h, w = view.shape
    lights = list(lights) or [Light(np.array([-0.4, 0.6, 0.7]), np.array([0.8, 0.8, 0.8]))]
    if background is None:
        background = np.full((h, w, 3), 0.6)
    img = np.asarray(background, np.float64).reshape(h, w, 3).copy()

    # ---- meshes
    mesh_face = np.full((h, w), -1, np.int64)
    mesh_layer = np.full((h, w), -1, np.int16)
    mesh_z = np.full((h, w), np.nan, np.float32)
    labels = np.zeros((h, w), np.uint8)
    zbuf_cam = np.full((h, w), -np.inf)
    if meshes:
        verts = [np.asarray(m.vertices, np.float64) for m in meshes]
        faces_all, offs, foffs = [], [0], [0]
        for m, v in zip(meshes, verts, strict=True):
            faces_all.append(np.asarray(m.faces, np.int64) + offs[-1])
            offs.append(offs[-1] + len(v))
            foffs.append(foffs[-1] + len(m.faces))
        v_all = np.concatenate(verts)
        f_all = np.concatenate(faces_all)
        uv, zc = view.project(v_all)
        # rasterize() puts pixel centres at +0.5; ours are at integers.
        depth, face, bary = rasterize(uv + 0.5, zc, f_all, (h, w), nearest="max")
        hit = face >= 0
        zbuf_cam = np.where(hit, depth, -np.inf)
        mesh_face = face
        fi = face[hit]
        b = bary[hit]
        layer_of = np.searchsorted(np.asarray(foffs[1:]), fi, side="right")
        mesh_layer[hit] = layer_of
        tri = f_all[fi]
        p = (v_all[tri] * b[..., None]).sum(1)
        wz = p[:, 2]
        mesh_z[hit] = wz
        normals = np.zeros((len(fi), 3))
        albedo = np.full((len(fi), 3), 0.7)
        lab = np.zeros(len(fi), np.uint8)
        vdir = view.view_dirs(p)
        spec_k = np.zeros(len(fi))
        for li, m in enumerate(meshes):
            sel = layer_of == li
            if not sel.any():
                continue
            lf = tri[sel] - offs[li]
            lb = b[sel]
            vn = vertex_normals(verts[li], m.faces)
            n = (vn[lf] * lb[..., None]).sum(1)
            n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
            flip = (n * vdir[sel]).sum(1) < 0
            n[flip] *= -1
            normals[sel] = n
            if m.albedo_fn is not None and m.local is not None:
                loc = (np.asarray(m.local, np.float64)[lf] * lb[..., None]).sum(1)
                albedo[sel] = m.albedo_fn(loc)
            elif m.texture is not None and m.uv is not None:
                tuv = (np.asarray(m.uv, np.float64)[lf] * lb[..., None]).sum(1)
                albedo[sel] = _sample_texture(np.asarray(m.texture), tuv)
            elif m.colors is not None:
                albedo[sel] = (np.asarray(m.colors, np.float64)[lf] * lb[..., None]).sum(1)
            if m.labels is not None:
                near = lf[np.arange(len(lf)), np.argmax(lb, axis=1)]
                lab[sel] = np.asarray(m.labels)[near]
            spec_k[sel] = m.specular
        img[hit] = _shade_lambert(albedo, normals, vdir, lights, ambient, spec_k[:, None])
        labels[hit] = lab

    # ---- strands
    hair_mask = np.zeros((h, w), bool)
    hair_dir = np.zeros((h, w, 2), np.float32)
    hair_z = np.full((h, w), np.nan, np.float32)
    coverage = np.zeros((h, w), np.float32)
    if strands is not None and len(strands.points):
        pts = np.asarray(strands.points, np.float64)
        counts = np.asarray(strands.counts, np.int64)
        sid = np.repeat(np.arange(len(counts)), counts)
        starts = np.cumsum(counts) - counts
        pos = np.arange(len(pts)) - np.repeat(starts, counts)
        frac = pos / np.maximum(np.repeat(counts, counts) - 1, 1)
        seg = np.flatnonzero(sid[:-1] == sid[1:])
        if len(seg):
            uvp, zp = view.project(pts)
            uvp, zp = uvp.astype(np.float32), zp.astype(np.float32)
            u0, u1 = uvp[seg], uvp[seg + 1]
            length = np.linalg.norm(u1 - u0, axis=1)
            k = np.maximum(1, np.ceil(length * strands.samples_per_px)).astype(np.int64)
            k = np.minimum(k, 64)
            rep = np.repeat(np.arange(len(seg), dtype=np.int32), k)
            local = np.arange(int(k.sum()), dtype=np.int32) - np.repeat(
                (np.cumsum(k) - k).astype(np.int32), k
            )
            t = (local + np.float32(0.5)) / k.astype(np.float32)[rep]
            du = u1 - u0
            dz = zp[seg + 1] - zp[seg]
            col = np.floor(u0[rep, 0] + du[rep, 0] * t + 0.5).astype(np.int32)
            row = np.floor(u0[rep, 1] + du[rep, 1] * t + 0.5).astype(np.int32)
            sz = zp[seg][rep] + dz[rep] * t
            ok = (col >= 0) & (col < w) & (row >= 0) & (row < h)
            pix = np.where(ok, row * w + col, 0)
            if meshes:
                ok &= sz > zbuf_cam.reshape(-1).astype(np.float32)[pix]
            idx = np.flatnonzero(ok)
            pix, sz, rep, t = pix[idx], sz[idx], rep[idx], t[idx]
            if len(idx):
                # Nearest sample per pixel: a max-reduction, then one winner per pixel.
                # Pack (pixel, quantised depth, sample index) into one int64 and sort once.
                n_s = len(idx)
                ib = max(int(n_s - 1).bit_length(), 1)
                zb = 62 - ib - max(int(h * w - 1).bit_length(), 1)
                if zb < 8:
                    raise InputError("image too large for the strand renderer")
                zq = (sz - sz.min()) * ((2**zb - 1) / max(float(np.ptp(sz)), 1e-9))
                key = (
                    (pix.astype(np.int64) << (zb + ib))
                    | (zq.astype(np.int64) << ib)
                    | np.arange(n_s, dtype=np.int64)
                )
                key.sort()
                kp = key >> (zb + ib)
                last = np.ones(n_s, bool)
                last[:-1] = kp[:-1] != kp[1:]
                win = key[last] & ((1 << ib) - 1)
                wpix = pix[win]
                cnt = np.bincount(pix, minlength=h * w).astype(np.float32)
                coverage = cnt.reshape(h, w)
                s_seg = seg[rep[win]]
                tw = t[win].astype(np.float64)
                p0, p1 = pts[s_seg], pts[s_seg + 1]
                p3 = p0 + (p1 - p0) * tw[:, None]
                tangent = p1 - p0
                tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-12)
                d2 = (u1 - u0)[rep[win]].astype(np.float64)
                d2 /= np.maximum(np.linalg.norm(d2, axis=1, keepdims=True), 1e-12)
                strand_i = sid[s_seg]
                f_tip = frac[s_seg] + (frac[s_seg + 1] - frac[s_seg]) * tw
                albedo = np.asarray(strands.colors, np.float64)[strand_i]
                albedo = albedo * (1 + strands.tip_lighten * f_tip[:, None])
                centre = (
                    np.asarray(hair_head_centre, np.float64)
                    if hair_head_centre is not None
                    else pts.mean(0)
                )
                nrm = p3 - centre
                nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
                vdir = view.view_dirs(p3)
                shade = np.tile(np.asarray(ambient, np.float64), (len(win), 1))
                spec = np.zeros((len(win), 3))
                # Secondary highlight: tangent shifted toward the root, tinted by the hair.
                t2 = tangent - 0.25 * nrm
                t2 /= np.maximum(np.linalg.norm(t2, axis=1, keepdims=True), 1e-12)
                for li in lights:
                    tl = tangent @ li.direction
                    diff = np.sqrt(np.clip(1 - tl * tl, 0, 1))
                    wrap = np.clip(0.25 + 0.75 * (nrm @ li.direction), 0, 1)
                    shade += (diff * wrap)[:, None] * li.color
                    hv = li.direction + vdir
                    hv /= np.maximum(np.linalg.norm(hv, axis=1, keepdims=True), 1e-12)
                    th = (tangent * hv).sum(1)
                    s1 = np.sqrt(np.clip(1 - th * th, 0, 1)) ** strands.shininess
                    th2 = (t2 * hv).sum(1)
                    s2 = np.sqrt(np.clip(1 - th2 * th2, 0, 1)) ** (0.4 * strands.shininess)
                    spec += (wrap**2)[:, None] * (
                        s1[:, None] * li.color + 0.5 * s2[:, None] * albedo * li.color
                    )
                colour = albedo * shade + strands.specular * spec
                alpha = (1.0 - np.exp(-cnt[wpix] / 1.5))[:, None]
                flat = img.reshape(-1, 3)
                flat[wpix] = alpha * colour + (1 - alpha) * flat[wpix]
                hair_mask.reshape(-1)[wpix] = True
                hair_dir.reshape(-1, 2)[wpix] = d2.astype(np.float32)
                hair_z.reshape(-1)[wpix] = p3[:, 2].astype(np.float32)
        if skin_occlusion > 0 and hair_mask.any():
            near = cv2.GaussianBlur(np.minimum(coverage, 3.0) / 3.0, (0, 0), 4.0)
            skin = (mesh_layer >= 0) & ~hair_mask
            img[skin] *= (1 - skin_occlusion * np.clip(near[skin], 0, 1))[:, None]
    out = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    return Rendered(
        image=out,
        hair_mask=hair_mask,
        hair_direction=hair_dir,
        hair_z=hair_z,
        hair_coverage=coverage,
        mesh_face=mesh_face,
        mesh_layer=mesh_layer,
        mesh_z=mesh_z,
        labels=labels,
    )


# --------------------------------------------------------------------------------------------
# Re-rendering a monoscan result folder from a new viewpoint


def result_layers(result_dir) -> tuple[list[MeshLayer], StrandLayer | None]:
    """Meshes and strands of a monoscan result folder (world frame, metres).

    Reads ``face.obj`` (textured) and, when present, ``head.obj`` (textured or plain) and
    ``strands.data``. Raises InputError when the folder holds none of them.
    """
    from pathlib import Path

    from monoscan.io.meshes import load_mesh
    from monoscan.io.results import STRAND_FILES, mesh_name

    root = Path(result_dir)
    if not root.is_dir():
        raise InputError(f"result folder not found: {root}")
    layers: list[MeshLayer] = []
    for name in (mesh_name("head", "obj"), mesh_name("face", "obj")):
        path = root / name
        if not path.is_file():
            continue
        mesh = load_mesh(path)
        uv = tex = None
        visual = mesh.visual
        if getattr(visual, "kind", None) == "texture" and getattr(visual, "uv", None) is not None:
            img = getattr(getattr(visual, "material", None), "image", None)
            if img is None:
                img = getattr(getattr(visual, "material", None), "baseColorTexture", None)
            if img is not None:
                uv, tex = np.asarray(visual.uv, np.float64), np.asarray(img.convert("RGB"))
        colors = None
        if tex is None and getattr(visual, "kind", None) == "vertex":
            colors = np.asarray(visual.vertex_colors)[:, :3] / 255.0
        if tex is None and colors is None:
            colors = np.full((len(mesh.vertices), 3), 0.75)
        layers.append(
            MeshLayer(
                np.asarray(mesh.vertices, np.float64),
                np.asarray(mesh.faces, np.int64),
                colors=colors,
                uv=uv,
                texture=tex,
            )
        )
        if name == mesh_name("head", "obj"):
            break  # the head already contains the face
    strands = None
    sp = root / STRAND_FILES["data"]
    if sp.is_file():
        from monoscan.io.strands import read_strands

        s = read_strands(sp)
        n = s.n_strands
        colors = np.tile(np.array([0.16, 0.10, 0.065]), (n, 1))
        if s.colors is not None:
            colors = s.colors[np.minimum(s.offsets[:-1], max(s.n_points - 1, 0))]
        strands = StrandLayer(s.points, s.counts, np.asarray(colors, np.float64))
    if not layers and strands is None:
        raise InputError(f"{root} holds no face.obj, head.obj or strands.data to render")
    return layers, strands


def _rotate_about(points: np.ndarray, rot: np.ndarray, centre: np.ndarray) -> np.ndarray:
    return (np.asarray(points, np.float64) - centre) @ rot.T + centre


def render_result(
    result_dir, yaw_deg: float = 0.0, pitch_deg: float = 0.0, size: int = 512, loaded=None
) -> np.ndarray:
    """Render a monoscan result folder turned by ``yaw``/``pitch`` (degrees) about its centre.

    Positive yaw turns the subject toward the image right (we see their left side), positive
    pitch tips the face up. Orthographic camera, two lights, neutral background.

    Returns
    -------
    (size, size, 3) uint8
    """
    layers, strands = loaded if loaded is not None else result_layers(result_dir)
    pts = [m.vertices for m in layers] + ([strands.points] if strands is not None else [])
    allp = np.concatenate(pts)
    lo, hi = allp.min(0), allp.max(0)
    centre = 0.5 * (lo + hi)
    radius = float(np.linalg.norm(hi - lo)) * 0.5
    c, s = np.cos(np.radians(-pitch_deg)), np.sin(np.radians(-pitch_deg))
    rx = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    rot = rx @ rotation_y(yaw_deg)
    moved = [
        MeshLayer(
            _rotate_about(m.vertices, rot, centre),
            m.faces,
            colors=m.colors,
            uv=m.uv,
            texture=m.texture,
            specular=0.03,
        )
        for m in layers
    ]
    ms = None
    if strands is not None:
        ms = StrandLayer(_rotate_about(strands.points, rot, centre), strands.counts, strands.colors)
    f = 0.5 * size / max(radius * 1.1, 1e-6)
    view = View(
        "orthographic",
        size,
        size,
        f,
        0.5 * (size - 1),
        0.5 * (size - 1),
        translation=-(centre + np.array([0.0, 0.0, 1.0])),
    )
    lights = [
        Light(np.array([-0.3, 0.5, 1.0]), np.array([0.6, 0.6, 0.6])),
        Light(np.array([0.6, 0.2, 0.5]), np.array([0.2, 0.2, 0.2])),
    ]
    bg = np.full((size, size, 3), 0.92)
    r = render(
        view,
        moved,
        ms,
        lights=lights,
        ambient=(0.45, 0.45, 0.45),
        background=bg,
        hair_head_centre=centre,
        skin_occlusion=0.2,
    )
    return r.image


def turntable(result_dir, n: int, pitch_deg: float = 0.0, size: int = 512) -> list[np.ndarray]:
    """``n`` renders of a result folder at yaw 0, 360/n, ... degrees."""
    if int(n) != n or n < 1:
        raise InputError(f"turntable needs at least 1 view, got {n}")
    loaded = result_layers(result_dir)
    return [
        render_result(result_dir, 360.0 * i / n, pitch_deg, size, loaded=loaded)
        for i in range(int(n))
    ]
