"""Guide strands to a full hairstyle: interpolation over the scalp, then strand detail.

:func:`densify` turns a few guide strands (the 5 of a USC-HairSalon style, a few hundred grown
procedurally, or a complete style used as its own guides) into ``n`` strands on the scalp of a
:class:`~monoscan.synth.person.SynthHead`:

1. **Roots** uniformly by area on the scalp (:func:`~monoscan.synth.hairstyles.sample_roots`).
2. **Interpolation.** Each root blends its ``k`` nearest guides (by root distance, weights
   ``1 / d^2``). Guides whose first direction turns away from the nearest guide's (across a
   parting) or that belong to another group (another braid bundle) get no weight. Where a
   guide is *loose* (``follow`` = 1) the strand keeps its root's offset from the blended guide
   root (a translated copy of the guides' shape); where it is *bound* (``follow`` = 0: past a
   hair tie) it converges onto the guides, spread over a tube of radius ``tube`` around them.
3. **Detail** (:class:`Detail`): length variation and the length augmentation, volume (radial
   scaling about the skull centre, growing from the root), clumps (each strand pulled toward
   its clump's centre strand, more toward the tip), waves and helical curls (shared phase
   within a clump), frizz (a random walk) and flyaways (a few strands bent away from the mass).
4. **Collisions.** Points inside the head or the shoulders are pushed out.

Everything is in the canonical head frame (metres); strands run root to tip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from monoscan.core.errors import InputError
from monoscan.core.strands import Strands

__all__ = ["SKULL_CENTRE", "Detail", "Guides", "densify", "mirror_strands", "resample_guides"]

#: Centre of the skull in the head frame (metres): radial directions are taken from it.
SKULL_CENTRE = np.array([0.0, 0.03, -0.01])


@dataclass(frozen=True)
class Guides:
    """Guide strands with a common point count.

    Attributes
    ----------
    points : (G, P, 3) float
        Head frame, metres, root first.
    follow : (G, P) float, optional
        1 where a dense strand keeps its own root offset (loose hair), 0 where it converges
        onto the guides (past a tie); default all 1.
    group : (G,) int, optional
        Only guides of the nearest guide's group are blended (braid bundles, two ponytails).
    tube : float
        Radius (metres) of the spread of converged strands around their guides.
    """

    points: np.ndarray
    follow: np.ndarray | None = None
    group: np.ndarray | None = None
    tube: float = 0.0

    def __post_init__(self) -> None:
        p = np.asarray(self.points, np.float64)
        if p.ndim != 3 or p.shape[2] != 3 or p.shape[0] < 1 or p.shape[1] < 2:
            raise InputError(f"guides must have shape (G, P>=2, 3), got {p.shape}")
        object.__setattr__(self, "points", p)
        if self.follow is not None:
            f = np.asarray(self.follow, np.float64)
            if f.shape != p.shape[:2]:
                raise InputError(f"guide follow must have shape {p.shape[:2]}, got {f.shape}")
            object.__setattr__(self, "follow", f)
        if self.group is not None:
            object.__setattr__(self, "group", np.asarray(self.group, np.int64).reshape(-1))


@dataclass(frozen=True)
class Detail:
    """How guides become a full style (lengths in metres).

    Attributes
    ----------
    n_strands : int
    k : int
        Guides blended per strand.
    clump : float
        Pull toward the clump centre at the tip, 0 (none) to 1 (clumps meet at their tips).
    clump_size : int
        Strands per clump.
    wave_amp, wave_len : float
        Planar wave amplitude and wavelength (0 amplitude: none).
    curl_amp, curl_len : float
        Helix radius and pitch (0 radius: none).
    frizz : float
        Random-walk step (per point) of every strand.
    flyaway : float
        Fraction of strands bent away from the mass.
    length_scale : float
        Length augmentation: below 1 the strands are cut, above 1 their tips are extended
        along their last direction, drooping.
    length_jitter : float
        Strands lose up to this fraction of their length (uneven ends).
    volume : float
        Radial scale of the loose hair about the skull centre (1 = as grown).
    """

    n_strands: int = 20_000
    k: int = 4
    clump: float = 0.3
    clump_size: int = 40
    wave_amp: float = 0.0
    wave_len: float = 0.05
    curl_amp: float = 0.0
    curl_len: float = 0.02
    frizz: float = 0.0004
    flyaway: float = 0.01
    length_scale: float = 1.0
    length_jitter: float = 0.15
    volume: float = 1.0

    def __post_init__(self) -> None:
        if self.n_strands < 0:
            raise InputError(f"n_strands must be >= 0, got {self.n_strands}")
        if self.k < 1:
            raise InputError(f"k must be >= 1, got {self.k}")


def resample_guides(strands: Strands, n_points: int) -> np.ndarray:
    """(G, n_points, 3) float64: every strand resampled uniformly along its arc."""
    s = strands.subset(strands.counts >= 2).resample(int(n_points))
    return s.points.astype(np.float64).reshape(s.n_strands, int(n_points), 3)


def mirror_strands(strands: Strands) -> Strands:
    """Strands mirrored left-right in the head frame (x -> -x)."""
    p = strands.points.copy()
    p[:, 0] *= -1
    return Strands(p, strands.counts)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.sqrt(np.einsum("...i,...i->...", v, v))[..., None]
    return v / np.maximum(n, 1e-12)


def _arclen(pts: np.ndarray) -> np.ndarray:
    seg = np.sqrt((np.diff(pts, axis=1) ** 2).sum(-1))
    out = np.zeros(pts.shape[:2], pts.dtype)
    np.cumsum(seg, axis=1, out=out[:, 1:])
    return out


def collide(head, pts: np.ndarray, layer: float = 0.0015) -> np.ndarray:
    """Push (N, 3) points out of the shoulders, then out of the head (to ``layer`` metres).

    Modifies and returns ``pts`` (float32 or float64). Only points near the head (by the
    distance at the nearest grid node) are looked up exactly; they are pushed along the
    grid's outward direction.
    """
    from monoscan.synth.hairstyles import torso_push, torso_top

    top = torso_top(head.shape)
    low = np.flatnonzero(pts[:, 1] < top + 0.01)
    if len(low):
        pts[low] = torso_push(pts[low].astype(np.float64), top).astype(pts.dtype)
    # Off the grid's sides and top the nearest node is outside the head; below it, the
    # nearest node may be inside the neck: those points are left alone.
    near = np.flatnonzero(pts[:, 1] >= head.sdf_lo[1])
    if len(near):
        near = near[head.coarse_distance(pts[near]) < layer + head.sdf_spacing]
    if len(near):
        idx, q = near, pts[near].astype(np.float64)
        for _ in range(4):  # the field is not an exact distance deep inside: repeat
            d = head.distance(q)
            bad = d < layer
            if not bad.any():
                break
            idx, q = idx[bad], q[bad]
            g = head.coarse_gradient(q)
            # Below the jaw the neck's capped end would push hair down into the shoulders:
            # push sideways out of the neck instead.
            neck = q[:, 1] < -head.shape.chin_drop
            g[neck, 1] = 0.0
            g[neck] /= np.maximum(np.linalg.norm(g[neck], axis=1, keepdims=True), 1e-9)
            q += (layer - d[bad])[:, None] * g
            pts[idx] = q.astype(pts.dtype)
    return pts


def _blend(guides: Guides, roots: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blended guide shapes (n, P, 3), follow (n, P) and the nearest guide (n,)."""
    gp = guides.points
    g = len(gp)
    k = min(k, g)
    tree = cKDTree(gp[:, 0])
    d, idx = tree.query(roots, k=k)
    d, idx = d.reshape(len(roots), k), idx.reshape(len(roots), k)
    w = 1.0 / np.maximum(d, 0.003) ** 2
    j = min(2, gp.shape[1] - 1)
    gdir = _unit(gp[:, j] - gp[:, 0])
    w *= (gdir[idx] * gdir[idx[:, :1]]).sum(-1) > 0.3
    if guides.group is not None:
        w *= guides.group[idx] == guides.group[idx[:, :1]]
    w /= w.sum(1, keepdims=True)
    w = w.astype(np.float32)
    gp32 = gp.astype(np.float32)
    base = w[:, 0, None, None] * gp32[idx[:, 0]]
    for i in range(1, k):
        base += w[:, i, None, None] * gp32[idx[:, i]]
    if guides.follow is None:
        follow = np.ones(base.shape[:2], np.float32)
    else:
        f32 = guides.follow.astype(np.float32)
        follow = w[:, 0, None] * f32[idx[:, 0]]
        for i in range(1, k):
            follow += w[:, i, None] * f32[idx[:, i]]
    return base, follow, idx[:, 0]


def densify(
    head,
    guides: Guides,
    detail: Detail,
    rng: np.random.Generator,
    face_clear_y: float | None = None,
) -> Strands:
    """A full hairstyle of ``detail.n_strands`` strands grown around ``guides`` (module doc).

    Parameters
    ----------
    head : SynthHead
    guides : Guides
    detail : Detail
    rng : numpy Generator
    face_clear_y : float, optional
        Strands are cut where they would first hang in front of the face below this height
        (head frame): loose styles whose guides may cross the face.

    Returns
    -------
    Strands
        Head frame, metres, root to tip; strands of different lengths.
    """
    from monoscan.synth.hairstyles import sample_roots

    n = int(detail.n_strands)
    if n == 0:
        return Strands(np.zeros((0, 3)), np.zeros(0, np.int64))
    roots, _ = sample_roots(head, n, rng)
    roots = roots.astype(np.float32)
    base, follow, nearest = _blend(guides, roots, detail.k)
    n_pts = base.shape[1]
    off = roots - base[:, 0]
    pts = base + off[:, None, :] * follow[..., None]
    bound = 1.0 - follow
    if guides.tube > 0 and bound.max() > 0:
        tang = _unit(np.gradient(pts, axis=1))
        r = rng.normal(size=(n, 1, 3)).astype(np.float32) * np.float32(guides.tube / np.sqrt(2))
        r = r - (r * tang).sum(-1, keepdims=True) * tang
        pts += bound[..., None] * r
    arclen = _arclen(pts)
    # Length: uneven ends, and the augmentation (an extension continues the last direction).
    keep_len = arclen[:, -1] * (1.0 - detail.length_jitter * rng.random(n) ** 2).astype(np.float32)
    if detail.length_scale > 1.0:
        extra = (detail.length_scale - 1.0) * arclen[:, -1]
        last = _unit(pts[:, -1] - pts[:, -2])
        droop = _unit(last + np.array([0, -0.7, 0], np.float32))
        n_ext = max(2, int(np.ceil(n_pts * (detail.length_scale - 1.0))))
        t = (np.arange(1, n_ext + 1, dtype=np.float32) / n_ext)[None, :, None]
        ext = pts[:, -1:, :] + extra[:, None, None] * t * droop[:, None, :]
        pts = np.concatenate([pts, ext], axis=1)
        follow = np.concatenate([follow, np.repeat(follow[:, -1:], n_ext, axis=1)], axis=1)
        arclen = _arclen(pts)
        n_pts = pts.shape[1]
    keep_len = keep_len * np.float32(detail.length_scale)
    ramp = np.clip(arclen / 0.04, 0, 1)
    if detail.volume != 1.0:
        c = SKULL_CENTRE.astype(np.float32)
        pts = c + (pts - c) * (1 + (detail.volume - 1) * ramp * follow)[..., None]
    # Clumps: strands near each other share a centre strand and a curl phase.
    n_cl = max(1, n // max(1, detail.clump_size))
    centres = rng.choice(n, n_cl, replace=False)
    which = cKDTree(roots[centres]).query(roots)[1]
    tip = np.maximum(keep_len, 1e-6)[:, None]
    s_rel = np.clip(arclen / tip, 0, 1)
    if detail.clump > 0:
        pull = (detail.clump * s_rel**1.5 * follow)[..., None]
        pts = pts + pull * (pts[centres[which]] - pts)
    amp_on = np.clip(arclen / 0.02, 0, 1)[..., None]
    if detail.wave_amp > 0 or detail.curl_amp > 0:
        tang = _unit(np.gradient(pts, axis=1))
        n1 = _unit(np.cross(tang, _unit(pts - SKULL_CENTRE.astype(np.float32))))
        n2 = np.cross(tang, n1)
        phase = (rng.uniform(0, 2 * np.pi, n_cl)[which] + 0.3 * rng.normal(size=n))[:, None]
        scale = rng.uniform(0.75, 1.25, n_cl)[which][:, None]
        lam_k = rng.uniform(0.85, 1.15, n_cl)[which][:, None]
        if detail.wave_amp > 0:
            ang = (2 * np.pi * arclen / (detail.wave_len * lam_k) + phase).astype(np.float32)
            a = (detail.wave_amp * scale).astype(np.float32)
            pts = pts + (amp_on * a[..., None]) * np.sin(ang)[..., None] * n1
        if detail.curl_amp > 0:
            ang = (2 * np.pi * arclen / (detail.curl_len * lam_k) + phase).astype(np.float32)
            a = (detail.curl_amp * scale).astype(np.float32)[..., None]
            pts = pts + amp_on * a * (np.cos(ang)[..., None] * n1 + np.sin(ang)[..., None] * n2)
    if detail.frizz > 0:
        walk = rng.standard_normal(size=(n, n_pts, 3), dtype=np.float32)
        walk *= np.float32(detail.frizz)
        walk[:, 0] = 0
        pts = pts + np.cumsum(walk, axis=1)
    if detail.flyaway > 0:
        fly = rng.random(n) < detail.flyaway
        m = int(fly.sum())
        if m:
            away = _unit(pts[fly, -1] - SKULL_CENTRE.astype(np.float32))
            bend = _unit(away + rng.normal(0, 0.6, (m, 3)).astype(np.float32))
            mag = rng.uniform(0.01, 0.04, m).astype(np.float32)
            pts[fly] += (s_rel[fly] ** 2 * mag[:, None])[..., None] * bend[:, None, :]
    keep = arclen <= keep_len[:, None]
    if face_clear_y is not None:
        # Hair that would hang in front of the face is cut where it gets there.
        face = (
            (pts[..., 2] > -0.01)
            & (np.abs(pts[..., 0]) < 0.07)
            & (pts[..., 1] < face_clear_y)
            & (pts[..., 1] > face_clear_y - 0.16)
        )
        keep &= np.cumsum(face, axis=1) == 0
    keep[:, :2] = True
    counts = keep.sum(1)
    flat = collide(head, pts[keep])
    return Strands(flat, counts)
