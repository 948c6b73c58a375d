"""Hairstyles for synthetic scenes: procedural growth on the scalp, and real styles.

Procedural styles grow every strand from a root on the scalp of a :class:`SynthHead` with
small Euler steps: the first direction combs away from the parting (or, with bangs, forward
over the forehead), gravity bends it down, and any step that ends closer to the head than the
strand's own layer height is pushed back out along the distance field's gradient (so the hair
wraps the skull with volume). Waves, curls and kinks are then added as planar waves or helices
around the grown path, their amplitude rising from zero at the root. A ponytail first runs
every strand over the scalp to a tie point at the back of the head, then lets the tail hang.

Real styles are fitted onto the synthetic head by a similarity that maps the bounding box of
their roots onto that of the scalp, then pushed out of the head: ``harolongo`` (Digital Salon,
stored in centimetres) and styles grown around one USC-HairSalon guide-strand set (every root
of ours follows an inverse-distance blend of the 5 guides' shapes).

All strands are in the canonical head frame (metres) and ordered root to tip.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.strands import Strands

__all__ = [
    "CURLS",
    "LENGTHS",
    "PARTINGS",
    "HairParams",
    "fit_real_style",
    "grow_hair",
    "harolongo_path",
    "keep_face_clear",
    "real_style",
    "sample_roots",
    "torso_push",
    "torso_top",
    "usc_guide_dir",
    "usc_style",
]

CURLS = ("straight", "wavy", "curly", "kinky")
LENGTHS = ("short", "medium", "long")
PARTINGS = ("centre", "left", "right", "none")
#: Strand length range (metres) per length class.
LENGTH_RANGE = {"short": (0.05, 0.09), "medium": (0.13, 0.20), "long": (0.26, 0.38)}
#: (amplitude m, wavelength m, helix) per curl type.
CURL_SHAPE = {
    "straight": (0.0, 1.0, False),
    "wavy": (0.007, 0.055, False),
    "curly": (0.008, 0.026, True),
    "kinky": (0.0035, 0.008, True),
}

_SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "hair3d"


def harolongo_path() -> Path | None:
    """``harolongo.data`` (centimetres) when the development data is present, else None."""
    env = os.environ.get("MONOSCAN_HAROLONGO")
    p = Path(env) if env else _SHARED / "digital_salon_harolongo" / "harolongo.data"
    return p if p.is_file() else None


def usc_guide_dir() -> Path | None:
    """Folder of USC-HairSalon guide-strand ``.data`` files when present, else None."""
    env = os.environ.get("MONOSCAN_USC_GUIDES")
    p = Path(env) if env else _SHARED / "usc_hairsalon_guide_strands"
    return p if p.is_dir() and any(p.glob("*.data")) else None


def real_style(source: str) -> Strands:
    """The real style ``source`` (``"harolongo"`` or ``"usc:<file stem>"``) as stored, read
    once per file (the path is resolved on every call, so a changed environment, or data
    removed, is seen at once).

    Raises
    ------
    FileNotFoundError
        When the development data is absent.
    """
    if source == "harolongo":
        path = harolongo_path()
        if path is None:
            raise FileNotFoundError("harolongo.data")
        return _read_strands_cached(str(path), "cm")
    guides = usc_guide_dir()
    if guides is None:
        raise FileNotFoundError("USC guide strands")
    path = guides / f"{source.split(':', 1)[1]}.data"
    if not path.is_file():
        raise FileNotFoundError(str(path))
    return _read_strands_cached(str(path), "m")


@functools.lru_cache(maxsize=16)
def _read_strands_cached(path: str, unit: str) -> Strands:
    from monoscan.io.strands import read_strands

    return read_strands(path, unit=unit)


@dataclass(frozen=True)
class HairParams:
    """A procedural hairstyle.

    Attributes
    ----------
    curl : {"straight", "wavy", "curly", "kinky"}
    length : {"short", "medium", "long"}
    parting : {"centre", "left", "right", "none"}
        Where the hair parts (left/right: the subject's side).
    bangs : bool
        Front hair combed forward over the forehead, cut above the brows.
    ponytail : bool
        Hair gathered at the back of the head.
    n_strands : int
    volume : float
        Extra layer height of the outermost strands over the scalp (metres).
    seed : int
    """

    curl: str = "straight"
    length: str = "medium"
    parting: str = "centre"
    bangs: bool = False
    ponytail: bool = False
    n_strands: int = 5000
    volume: float = 0.012
    seed: int = 0

    def __post_init__(self) -> None:
        if self.curl not in CURLS:
            raise InputError(f"curl must be one of {CURLS}, got {self.curl!r}")
        if self.length not in LENGTHS:
            raise InputError(f"length must be one of {LENGTHS}, got {self.length!r}")
        if self.parting not in PARTINGS:
            raise InputError(f"parting must be one of {PARTINGS}, got {self.parting!r}")
        if self.n_strands < 1:
            raise InputError(f"n_strands must be >= 1, got {self.n_strands}")


def sample_roots(head, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` roots uniformly by area on the scalp of ``head`` and their outward normals."""
    v, f = head.vertices, head.faces
    tris = np.flatnonzero(head.scalp[f].all(axis=1))
    if len(tris) == 0:
        raise InputError("the head has no scalp to grow hair from")
    a, b, c = v[f[tris, 0]], v[f[tris, 1]], v[f[tris, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    pick = rng.choice(len(tris), size=n, p=area / area.sum())
    r1, r2 = np.sqrt(rng.random(n)), rng.random(n)
    p = (
        (1 - r1)[:, None] * a[pick]
        + (r1 * (1 - r2))[:, None] * b[pick]
        + (r1 * r2)[:, None] * c[pick]
    )
    return p, head.gradient(p)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.sqrt(np.einsum("...i,...i->...", v, v))[..., None]
    return v / np.maximum(n, 1e-12)


def _push_out(head, p: np.ndarray, layer: np.ndarray | float) -> np.ndarray:
    """Move points closer to the head than ``layer`` back out along the field's gradient."""
    d = head.distance(p)
    bad = d < layer
    if bad.any():
        lay = layer[bad] if np.ndim(layer) else layer
        p = p.copy()
        p[bad] += (lay - d[bad])[:, None] * head.gradient(p[bad])
    return p


def torso_top(shape) -> float:
    """Height of the shoulders' top in the head frame (see ``person.torso_mesh``)."""
    return -0.015 - shape.neck_length * np.cos(np.radians(shape.neck_lean)) + 0.03


def torso_push(p: np.ndarray, top_y: float) -> np.ndarray:
    """Move points inside the shoulders onto their surface (plus 3 mm).

    The shoulders are the super-ellipsoid of ``person.torso_mesh`` (half-axes 0.20, 0.20,
    0.11 m; exponents 0.35 vertically, 0.6 around); its implicit function is homogeneous of
    degree ``2 / 0.35`` about the centre, so a radial scaling lands exactly on the surface.
    """
    c = np.array([0.0, top_y - 0.20, -0.035])
    q = (p - c) / np.array([0.20, 0.20, 0.11])
    e1, e2 = 0.35, 0.6
    f = (np.abs(q[:, 0]) ** (2 / e2) + np.abs(q[:, 2]) ** (2 / e2)) ** (e2 / e1) + np.abs(
        q[:, 1]
    ) ** (2 / e1)
    bad = f < 1.0
    if bad.any():
        p = p.copy()
        d = p[bad] - c
        scale = np.maximum(f[bad], 1e-12) ** (-e1 / 2)
        dist = np.linalg.norm(d, axis=1, keepdims=True)
        p[bad] = c + d * scale[:, None] + 0.003 * d / np.maximum(dist, 1e-9)
    return p


def _curl_offsets(
    paths: np.ndarray,
    arclen: np.ndarray,
    amp: float,
    lam: float,
    helix: bool,
    phase: np.ndarray,
    centre: np.ndarray,
) -> np.ndarray:
    """Offsets (S, N, 3) that turn smooth paths into waves or helices."""
    t = np.gradient(paths, axis=1)
    t = _unit(t)
    ref = _unit(paths - centre)
    n1 = _unit(np.cross(t, ref))
    n2 = np.cross(t, n1)
    ramp = np.clip(arclen / 0.025, 0.0, 1.0)[..., None] * amp
    ang = 2 * np.pi * arclen / lam + phase[:, None]
    if helix:
        return ramp * (np.cos(ang)[..., None] * n1 + np.sin(ang)[..., None] * n2)
    return ramp * np.sin(ang)[..., None] * n1


def grow_hair(head, params: HairParams) -> Strands:
    """Grow a procedural hairstyle on ``head`` (a :class:`~monoscan.synth.person.SynthHead`).

    Returns
    -------
    Strands
        Head frame, metres, root to tip.
    """
    rng = np.random.default_rng(params.seed)
    n = int(params.n_strands)
    roots, normals = sample_roots(head, n, rng)
    s = head.shape
    amp, lam, helix = CURL_SHAPE[params.curl]
    lo, hi = LENGTH_RANGE[params.length]
    length = rng.uniform(lo, hi) * rng.uniform(0.85, 1.1, n)
    step = 0.006 if not helix else min(0.006, lam / 5)
    if params.curl == "kinky":
        length = np.minimum(length, 0.16)
    n_pts = int(np.clip(np.ceil(length.max() / step) + 1, 4, 120))
    step = float(length.max() / (n_pts - 1))
    layer = 0.002 + params.volume * rng.random(n) ** 0.7 + amp
    x_part = {"centre": 0.0, "left": 0.028, "right": -0.028, "none": 0.0}[params.parting]
    whorl = np.array([x_part, s.height, -0.045])
    comb = roots - whorl
    # Near the whorl the comb direction is ill-defined: blend toward down-and-back.
    near = np.clip(1.0 - np.linalg.norm(comb, axis=1) / 0.05, 0.0, 1.0)[:, None]
    comb = _unit(comb) * (1 - near) + near * np.array([0.0, -0.3, -1.0])
    front = roots[:, 2] > whorl[2] + 0.02
    if params.parting != "none":
        side = np.sign(roots[:, 0] - x_part + 1e-6)
        comb[:, 0] = np.where(front, side * np.maximum(np.abs(comb[:, 0]), 0.5), comb[:, 0])
    bangs = np.zeros(n, bool)
    if params.bangs:
        bangs = (roots[:, 2] > 0.02) & (np.abs(roots[:, 0]) < 0.055) & (roots[:, 1] > 0.07)
    sweep = front & ~bangs
    comb[sweep, 2] = -np.abs(comb[sweep, 2]) * 0.4
    comb[bangs] = np.array([0.0, -0.2, 1.0]) + 0.2 * rng.normal(size=(int(bangs.sum()), 3))
    comb -= (comb * normals).sum(1, keepdims=True) * normals
    lift = (0.08 if params.length == "short" and not helix else 0.15) + 0.15 * rng.random(n)
    d = _unit(_unit(comb) + lift[:, None] * normals)
    top_y = torso_top(s)
    length = np.where(bangs, np.minimum(length, rng.uniform(0.07, 0.095, n)), length)

    centre = np.array([0.0, 0.03, -0.01])
    tail_start = np.zeros(n, np.int64)
    if params.ponytail:
        # Over the scalp to the tie point (spherical interpolation about the skull centre).
        tie = np.array([0.0, 0.05, -s.back - 0.01])
        ur, ut = _unit(roots - centre), _unit(tie - centre)
        rr = np.linalg.norm(roots - centre, axis=1)
        rt = float(np.linalg.norm(tie - centre))
        ang = np.arccos(np.clip(ur @ ut, -1, 1))
        dist = ang * 0.5 * (rr + rt)
        n_pts = min(n_pts + int(np.ceil(dist.max() / step)), 160)
        tail_start = np.clip(np.ceil(dist / step).astype(int), 1, n_pts - 3)
        length = length + dist
    grav = np.array([0.0, -1.0, 0.0])
    stiff = 0.10 if params.length != "short" else 0.06
    pts = np.empty((n, n_pts, 3))
    pts[:, 0] = roots
    p = roots.copy()
    tail_dir = _unit(np.array([0.0, -0.6, -0.8]) + 0.15 * rng.normal(size=(n, 3)))
    for k in range(1, n_pts):
        # Strands leave the scalp gently: the layer height builds up over the first 5 cm.
        lay = 0.0015 + (layer - 0.0015) * min(1.0, k * step / 0.05)
        if params.ponytail:
            on = k <= tail_start
            f = np.clip(k / tail_start, 0, 1)[:, None]
            sa = np.sin(ang)[:, None]
            w0 = np.where(sa > 1e-6, np.sin((1 - f) * ang[:, None]) / np.maximum(sa, 1e-6), 1 - f)
            w1 = np.where(sa > 1e-6, np.sin(f * ang[:, None]) / np.maximum(sa, 1e-6), f)
            target = centre + (w0 * ur + w1 * ut) * ((1 - f) * rr[:, None] + f * rt)
            d = np.where((k == tail_start + 1)[:, None], tail_dir, d)
            d = np.where(on[:, None], d, _unit(d + stiff * grav))
            newp = np.where(on[:, None], target, p + step * d)
            newp = _push_out(head, newp, np.where(on, 0.003, lay))
        else:
            d = _unit(d + stiff * grav * np.where(bangs, 2.0, 1.0)[:, None])
            newp = _push_out(head, p + step * d, lay)
        # Keep the face clear: below the hairline, non-bang hair in front stays beside it.
        face = (~bangs) & (newp[:, 2] > -0.01) & (np.abs(newp[:, 0]) < 0.07) & (newp[:, 1] < 0.07)
        if face.any():
            newp[face, 0] = np.sign(newp[face, 0] + 1e-9) * 0.07
        newp = torso_push(newp, top_y)
        if not params.ponytail:
            d = _unit(newp - p + 1e-9)
        else:
            d = np.where((k <= tail_start)[:, None], d, _unit(newp - p + 1e-9))
        p = newp
        pts[:, k] = p
    if amp > 0:
        seg = np.linalg.norm(np.diff(pts, axis=1), axis=2)
        arclen = np.concatenate([np.zeros((n, 1)), np.cumsum(seg, axis=1)], axis=1)
        # Curls come in clumps: strands near each other share a phase.
        n_clumps = max(8, n // 40)
        cl = roots[rng.choice(n, n_clumps, replace=False)]
        which = np.argmin(((roots[:, None] - cl[None]) ** 2).sum(-1), axis=1)
        phase = rng.uniform(0, 2 * np.pi, n_clumps)[which] + 0.3 * rng.normal(size=n)
        if params.curl == "wavy":
            phase = 0.5 * rng.normal(size=n) + roots[:, 1] * 40
        a_i = amp * rng.uniform(0.7, 1.3, n)[:, None, None]
        off = _curl_offsets(pts, arclen, 1.0, lam * rng.uniform(0.85, 1.15), helix, phase, centre)
        if params.ponytail:
            before = np.arange(n_pts)[None, :] <= tail_start[:, None]
            off[before] = 0.0
        pts = pts + a_i * off
        if params.curl == "kinky":
            pts[:, 1:] += 0.0008 * rng.normal(size=(n, n_pts - 1, 3))
        pts = _push_out(head, pts.reshape(-1, 3), 0.0015).reshape(n, n_pts, 3)
    # Cut each strand at its length.
    seg = np.linalg.norm(np.diff(pts, axis=1), axis=2)
    arclen = np.concatenate([np.zeros((n, 1)), np.cumsum(seg, axis=1)], axis=1)
    keep = arclen <= length[:, None]
    counts = np.maximum(keep.sum(1), 2)
    keep[np.arange(n), 1] = True
    keep = np.arange(n_pts)[None, :] < counts[:, None]
    return Strands(pts[keep], counts)


#: USC-HairSalon head frame (metres, y up, top of the head at y = 1.887) to our canonical head
#: frame: a similarity measured once from the two heads' bounding boxes (scale, then shift).
USC_TO_HEAD = (0.82, np.array([0.0, 0.130 - 0.82 * 1.887, 0.0006 + 0.82 * 0.002]))


def fit_real_style(
    head,
    strands: Strands,
    rng: np.random.Generator,
    max_strands: int | None = None,
    usc_frame: bool = False,
) -> Strands:
    """Fit a real hairstyle onto ``head``, then push it out of the head.

    With ``usc_frame`` the strands are in the USC-HairSalon head frame and mapped by
    :data:`USC_TO_HEAD` (scaled with the head's width); otherwise the bounding box of the roots
    is mapped onto that of the scalp.
    """
    if max_strands is not None and strands.n_strands > max_strands:
        strands = strands.subset(np.sort(rng.choice(strands.n_strands, max_strands, replace=False)))
    ok = strands.counts >= 2
    strands = strands.subset(ok)
    roots = strands.roots.astype(np.float64)
    scalp = head.vertices[head.scalp]
    if usc_frame:
        k = head.shape.width / 0.150
        pts = (strands.points.astype(np.float64) * USC_TO_HEAD[0] + USC_TO_HEAD[1]) * k
        pts = torso_push(pts, torso_top(head.shape))
        for _ in range(2):
            pts = _push_out(head, pts, 0.0015)
        return Strands(pts, strands.counts)
    s = np.ptp(scalp[:, 0]) / max(np.ptp(roots[:, 0]), 1e-9)
    src = np.array(
        [
            0.5 * (roots[:, 0].max() + roots[:, 0].min()),
            roots[:, 1].max(),
            0.5 * (roots[:, 2].max() + roots[:, 2].min()),
        ]
    )
    dst = np.array(
        [
            0.5 * (scalp[:, 0].max() + scalp[:, 0].min()),
            scalp[:, 1].max(),
            0.5 * (scalp[:, 2].max() + scalp[:, 2].min()),
        ]
    )
    pts = (strands.points.astype(np.float64) - src) * s + dst
    pts = torso_push(pts, torso_top(head.shape))
    for _ in range(2):
        pts = _push_out(head, pts, 0.0015)
    return Strands(pts, strands.counts)


def usc_style(
    head, guides: Strands, n_strands: int, rng: np.random.Generator, n_points: int = 48
) -> Strands:
    """A full style grown around a USC-HairSalon guide-strand set.

    The guides are first fitted onto the head (:func:`fit_real_style`); each of ``n_strands``
    scalp roots then follows the inverse-distance-weighted blend of the guides' shapes
    (relative to their roots), with a little per-strand jitter.
    """
    g = fit_real_style(head, guides, rng, usc_frame=True).resample(n_points)
    gp = g.points.astype(np.float64).reshape(g.n_strands, n_points, 3)
    rel = gp - gp[:, :1]
    roots, _ = sample_roots(head, n_strands, rng)
    d = np.linalg.norm(roots[:, None] - gp[None, :, 0], axis=2)
    w = 1.0 / np.maximum(d, 0.01) ** 2
    w /= w.sum(1, keepdims=True)
    shape = np.einsum("sg,gpk->spk", w, rel)
    jitter = np.cumsum(0.0012 * rng.normal(size=(n_strands, n_points, 3)), axis=1)
    jitter[:, 0] = 0
    pts = roots[:, None] + shape + jitter
    pts = keep_face_clear(pts.reshape(-1, 3), head.anchors["right_eye"][1] + 0.012)
    pts = torso_push(pts, torso_top(head.shape))
    pts = _push_out(head, pts, 0.002)
    return Strands(pts, np.full(n_strands, n_points))


def keep_face_clear(p: np.ndarray, brow_y: float, half_width: float = 0.07) -> np.ndarray:
    """Move hair that hangs in front of the face below the brows out to its sides."""
    face = (
        (p[:, 2] > -0.01)
        & (np.abs(p[:, 0]) < half_width)
        & (p[:, 1] < brow_y)
        & (p[:, 1] > brow_y - 0.16)
    )
    if face.any():
        p = p.copy()
        p[face, 0] = np.sign(p[face, 0] + 1e-9) * half_width
    return p
