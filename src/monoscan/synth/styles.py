"""Every catalogue style as strands on a synthetic head: guides, then :func:`densify`.

:func:`build_style` is the one entry: a :class:`~monoscan.synth.catalogue.StyleSpec`, the
scene's augmentations (:class:`Augment`) and a strand count give the full style on a
:class:`~monoscan.synth.person.SynthHead`. A style's *structure* (its guides: length,
parting, tie point, coil size, ...) depends on its id only (:func:`proc_params`); the scene's
seed draws the dense strands, their detail and the augmentations.

Procedural kinds
----------------
``straight``, ``wavy``, ``curly``
    loose hair grown by :func:`~monoscan.synth.hairstyles.grow_hair` (partings, bangs, short
    to long) as guides; waves or helical curls added per clump.
``coily``
    kinky-coily hair: short to medium, standing off the scalp, tight irregular coils.
``afro``
    a rounded volume of coiled hair growing outward to an ellipsoidal envelope.
``ponytail``
    gathered over the scalp to a tie (nape to crown), then a hanging tail.
``braid``
    gathered to one tie at the back (or two at the sides: pigtails), then a three-strand braid
    (three bundles crossing in the braid's figure-eight), a loose end below.
``bun``
    gathered to a tie, then wrapped around a ball at the back or top of the head.
``updo``
    a large, loose bun high on the head with face-framing tendrils and flyaways.
``buzz``
    a few millimetres of hair over the whole scalp.
``bald``
    no hair (variants 0-14), or a short horseshoe fringe on the sides and back (15-29).
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, replace

import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.strands import Strands
from monoscan.synth.catalogue import N_VARIANTS, StyleSpec
from monoscan.synth.densify import (
    SKULL_CENTRE,
    Detail,
    Guides,
    collide,
    densify,
    mirror_strands,
    resample_guides,
)
from monoscan.synth.hairstyles import (
    HairParams,
    fit_real_style,
    grow_hair,
    real_style,
    sample_roots,
)

__all__ = ["Augment", "build_style", "proc_params"]

#: Most points one scene's strands may have (the point spacing grows above it).
POINT_BUDGET = 1_200_000


@dataclass(frozen=True)
class Augment:
    """Per-scene augmentations of a style.

    Attributes
    ----------
    length : float
        Length scale (below 1 cuts, above 1 extends the tips).
    curl : float
        Scale of the style's own wave / curl amplitude.
    wave : float
        Wave amplitude added to a style (metres; 0 = none).
    volume : float
        Radial scale of the loose hair about the skull centre.
    """

    length: float = 1.0
    curl: float = 1.0
    wave: float = 0.0
    volume: float = 1.0


def _rng_for(kind: str, variant: int) -> np.random.Generator:
    return np.random.default_rng([int(variant), zlib.crc32(kind.encode()), 5])


@functools.lru_cache(maxsize=512)
def proc_params(kind: str, variant: int) -> dict:
    """The structural parameters of procedural style ``proc:kind:variant`` (fixed per id)."""
    if not 0 <= variant < N_VARIANTS:
        raise InputError(f"variant must be 0..{N_VARIANTS - 1}, got {variant}")
    r = _rng_for(kind, variant)
    u = r.uniform
    p: dict = {"kind": kind, "variant": variant}
    if kind in ("straight", "wavy", "curly"):
        p["length"] = str(r.choice(["short", "medium", "long"], p=[0.3, 0.35, 0.35]))
        p["parting"] = str(r.choice(["centre", "left", "right", "none"]))
        p["bangs"] = bool(r.random() < 0.3)
        p["volume"] = float(u(0.006, 0.02))
        p["clump"] = float(u(0.15, 0.5))
        if kind == "wavy":
            p["wave_amp"], p["wave_len"] = float(u(0.004, 0.009)), float(u(0.04, 0.07))
        if kind == "curly":
            p["curl_amp"], p["curl_len"] = float(u(0.004, 0.009)), float(u(0.018, 0.032))
    elif kind == "coily":
        p["length"] = str(r.choice(["short", "medium"], p=[0.6, 0.4]))
        p["volume"] = float(u(0.015, 0.035))
        p["curl_amp"], p["curl_len"] = float(u(0.0025, 0.0045)), float(u(0.008, 0.013))
        p["parting"] = str(r.choice(["none", "centre", "left"], p=[0.7, 0.15, 0.15]))
    elif kind == "afro":
        p["radius"] = float(u(0.13, 0.2))
        p["lift"] = float(u(0.0, 0.04))
        p["curl_amp"], p["curl_len"] = float(u(0.003, 0.006)), float(u(0.009, 0.015))
    elif kind in ("ponytail", "braid", "bun", "updo"):
        p["length"] = float(u(0.22, 0.5))
        p["pigtails"] = bool(kind == "braid" and r.random() < 0.35)
        elev = {"ponytail": (-15, 55), "braid": (-20, 15), "bun": (0, 75), "updo": (45, 80)}[kind]
        p["elevation"] = float(u(*elev))
        p["bun_radius"] = float(u(0.03, 0.045) if kind == "bun" else u(0.04, 0.06))
        p["braid_len"] = float(u(0.04, 0.06))
        p["wave_amp"] = float(u(0.0, 0.006) if r.random() < 0.4 else 0.0)
        p["wave_len"] = float(u(0.04, 0.07))
    elif kind == "buzz":
        p["length"] = float(u(0.003, 0.018))
    elif kind == "bald":
        p["fringe"] = bool(variant >= N_VARIANTS // 2)
        p["fringe_top"] = float(u(0.04, 0.085))
        p["length"] = float(u(0.003, 0.015))
    else:
        raise InputError(f"unknown procedural kind {kind!r}")
    return p


# ---------------------------------------------------------------------------- helpers


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.sqrt(np.einsum("...i,...i->...", v, v))[..., None]
    return v / np.maximum(n, 1e-12)


def _surface(head, directions: np.ndarray, offset: float = 0.004) -> np.ndarray:
    """Points ``offset`` outside the head along rays from the skull centre (bisection)."""
    d = _unit(np.atleast_2d(np.asarray(directions, np.float64)))
    lo, hi = np.zeros(len(d)), np.full(len(d), 0.3)
    for _ in range(24):
        mid = 0.5 * (lo + hi)
        inside = head.distance(SKULL_CENTRE + mid[:, None] * d) < offset
        lo, hi = np.where(inside, mid, lo), np.where(inside, hi, mid)
    return SKULL_CENTRE + hi[:, None] * d


def _dir(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Unit direction: azimuth 0 = back (-z), 90 = subject's left (+x); elevation up."""
    a, e = np.radians(azimuth_deg), np.radians(elevation_deg)
    return np.array([np.sin(a) * np.cos(e), np.sin(e), -np.cos(a) * np.cos(e)])


def _gather(head, roots: np.ndarray, tie: np.ndarray, n: int) -> np.ndarray:
    """(G, n, 3) paths over the scalp from each root to ``tie`` (about the skull centre)."""
    c = SKULL_CENTRE
    ur, ut = _unit(roots - c), _unit(tie - c)
    rr = np.linalg.norm(roots - c, axis=1)
    rt = float(np.linalg.norm(tie - c))
    ang = np.arccos(np.clip(ur @ ut, -1, 1))[:, None]
    f = np.linspace(0, 1, n)[None, :]
    sa = np.sin(ang)
    small = sa < 1e-6
    w0 = np.where(small, 1 - f, np.sin((1 - f) * ang) / np.where(small, 1, sa))
    w1 = np.where(small, f, np.sin(f * ang) / np.where(small, 1, sa))
    rad = (1 - f) * rr[:, None] + f * rt
    # Lift off the scalp in the middle, so the path does not cut into the head.
    rad = rad + 0.004 * np.sin(np.pi * f)
    pts = c + (w0[..., None] * ur[:, None] + w1[..., None] * ut[None, None]) * rad[..., None]
    flat = collide(head, pts.reshape(-1, 3), 0.003)
    return flat.reshape(pts.shape)


def _hang(head, start: np.ndarray, d0: np.ndarray, n: int, step: float, stiff: float):
    """(G, n, 3) strands falling from ``start`` along ``d0`` under gravity, with collisions."""
    g = len(start)
    out = np.empty((g, n, 3))
    p, d = start.astype(np.float64).copy(), _unit(d0)
    out[:, 0] = p
    down = np.array([0.0, -1.0, 0.0])
    for k in range(1, n):
        d = _unit(d + stiff * down)
        q = collide(head, p + step * d, 0.004)
        d = _unit(q - p + 1e-12)
        p = q
        out[:, k] = p
    return out


def _arc(pts: np.ndarray) -> np.ndarray:
    seg = np.linalg.norm(np.diff(pts, axis=-2), axis=-1)
    return np.concatenate([np.zeros(seg.shape[:-1] + (1,)), np.cumsum(seg, axis=-1)], axis=-1)


def _resample_rows(pts: np.ndarray, n: int) -> np.ndarray:
    """Every row of (G, P, 3) resampled to ``n`` points evenly along its arc."""
    s = _arc(pts)
    t = np.linspace(0, 1, n)[None, :] * s[:, -1:]
    out = np.empty((len(pts), n, 3))
    for i in range(len(pts)):
        for c in range(3):
            out[i, :, c] = np.interp(t[i], s[i], pts[i, :, c])
    return out


# ---------------------------------------------------------------------------- guide makers


def _loose_guides(head, p: dict, rng) -> Guides:
    hp = HairParams(
        curl="straight",
        length=p["length"],
        parting=p["parting"],
        bangs=bool(p.get("bangs", False)),
        n_strands=400,
        volume=p["volume"],
        seed=int(rng.integers(2**31)),
    )
    g = grow_hair(head, hp)
    return Guides(resample_guides(g, 24))


def _afro_guides(head, p: dict, rng) -> Guides:
    g = 500
    roots, normals = sample_roots(head, g, rng)
    up = np.array([0.0, 1.0, 0.0])
    front = np.clip((roots[:, 2] - 0.02) / 0.04, 0, 1)[:, None]
    d = _unit(normals + (0.35 + 0.8 * front) * up + 0.15 * rng.normal(size=(g, 3)))
    r = p["radius"]
    c = np.array([0.0, 0.045 + p["lift"], -0.025])
    radii = np.array([r, 0.95 * r, 0.95 * r])
    # Ray to ellipsoid: |(o + t d - c) / radii| = 1.
    o = (roots - c) / radii
    dd = d / radii
    a = (dd * dd).sum(1)
    b = 2 * (o * dd).sum(1)
    cc = (o * o).sum(1) - 1
    t = (-b + np.sqrt(np.maximum(b * b - 4 * a * cc, 0))) / (2 * a)
    t = np.maximum(t, 0.02) * rng.uniform(0.85, 1.0, g)
    # Keep the face clear: cut where the ray enters the box in front of the face.
    s = np.linspace(0, 1, 48)
    ray = roots[:, None] + (t[:, None] * s)[..., None] * d[:, None]
    brow = head.anchors["right_eye"][1] + 0.03
    face = (ray[..., 2] > 0.01) & (np.abs(ray[..., 0]) < 0.085) & (ray[..., 1] < brow)
    first = np.where(face.any(1), face.argmax(1), len(s))
    t = np.maximum(t * np.where(first < len(s), s[np.maximum(first - 1, 0)], 1.0), 0.01)
    n = 24
    s = np.linspace(0, 1, n)
    pts = roots[:, None] + (t[:, None] * s)[..., None] * d[:, None]
    # A little droop of the outer hair.
    pts[..., 1] -= 0.15 * (t[:, None] * s) ** 2
    return Guides(pts)


def _tie_point(head, p: dict, side: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The tie point (on the head's surface) and the outward direction there."""
    az = 0.0 if side == 0 else 80.0 * side
    d = _dir(az, p["elevation"] if side == 0 else p["elevation"] * 0.5)
    return _surface(head, d[None], 0.008)[0], d


def _gathered_guides(head, p: dict, rng) -> Guides:
    kind = p["kind"]
    g = 360
    roots, _ = sample_roots(head, g, rng)
    n_over, n_tail = 14, 40
    sides = [0.0]
    if p.get("pigtails"):
        sides = [-1.0, 1.0]
    side_of = np.zeros(g) if len(sides) == 1 else np.where(roots[:, 0] < 0, 0, 1)
    group = np.zeros(g, np.int64)
    all_pts = np.empty((g, n_over + n_tail, 3))
    follow = np.ones((g, n_over + n_tail))
    follow[:, n_over - 1 :] = 0.0
    follow[:, :n_over] = np.clip(1.0 - np.linspace(0, 1, n_over) ** 1.5, 0, 1)[None]
    tube = 0.004
    loose = np.zeros(g, bool)
    if kind == "updo":
        # Face-framing tendrils: the front of the sides stays loose.
        loose = (np.abs(roots[:, 0]) > 0.045) & (roots[:, 2] > 0.02) & (roots[:, 1] < 0.08)
        loose &= rng.random(g) < 0.6
    for si, side in enumerate(sides):
        sel = np.flatnonzero((side_of == si) & ~loose)
        if len(sel) == 0:
            continue
        tie, out_dir = _tie_point(head, p, side)
        over = _gather(head, roots[sel], tie, n_over)
        reach = _arc(over)[:, -1]
        tail_len = np.maximum(p["length"] - reach, 0.03) * rng.uniform(0.9, 1.0, len(sel))
        if kind in ("ponytail",):
            down = _unit(out_dir + np.array([0.0, -0.8, 0.0]))
            fan = 0.25 * rng.normal(size=(len(sel), 3))
            step = float(tail_len.max()) / (n_tail - 1)
            tail = _hang(head, np.repeat(tie[None], len(sel), 0), down + fan, n_tail + 1, step, 0.1)
            tail = tail[:, 1:]
            # Each guide's own length: resample its hanging path to its length.
            full = np.concatenate([tail[:, :1] * 0 + tie, tail], axis=1)
            s = _arc(full)
            lengths = np.minimum(tail_len, s[:, -1])
            tail = np.stack(
                [
                    np.stack(
                        [
                            np.interp(np.linspace(0, lengths[i], n_tail + 1), s[i], full[i, :, c])
                            for c in range(3)
                        ],
                        axis=-1,
                    )[1:]
                    for i in range(len(sel))
                ]
            )
            tube = 0.006
        elif kind == "braid":
            down = _unit(out_dir + np.array([0.0, -1.5, 0.0]))
            blen = float(np.median(tail_len))
            centre = _hang(head, tie[None], down[None], n_tail + 1, blen / n_tail, 0.25)[0, 1:]
            centre = collide(head, centre.copy(), 0.012)
            tang = _unit(np.gradient(centre, axis=0))
            e2 = _unit(centre - SKULL_CENTRE)
            e2 = _unit(e2 - (e2 * tang).sum(1, keepdims=True) * tang)
            e1 = np.cross(tang, e2)
            s = _arc(centre[None])[0]
            # Bundle by the root's place across the braid (left / middle / right thirds).
            lateral = roots[sel, 0] if len(sides) == 1 else roots[sel, 2]
            cuts = np.quantile(lateral, [1 / 3, 2 / 3])
            bundle = np.searchsorted(cuts, lateral)
            group[sel] = bundle + 3 * si
            lam = p["braid_len"]
            end = max(s[-1] - 0.06, 0.5 * s[-1])
            taper = np.where(s < end, 1.0 - 0.35 * s / max(end, 1e-6), 0.65)
            ph = 2 * np.pi * s[None] / lam + 2 * np.pi * bundle[:, None] / 3
            a_lat, a_dep = 0.009, 0.004
            braid = (
                centre[None]
                + (a_lat * taper * np.sin(ph))[..., None] * e1[None]
                + (a_dep * taper * np.sin(2 * ph))[..., None] * e2[None]
            )
            # The loose end fans out a little.
            fan = np.clip((s - end) / 0.06, 0, 1)[None, :, None]
            braid = braid + fan * 0.015 * _unit(rng.normal(size=(len(sel), 1, 3)))
            tail = braid
            tube = 0.0035
        else:  # bun, updo
            rb = p["bun_radius"]
            cb = tie + out_dir * rb * 0.75
            axis = _unit(out_dir[None] + 0.9 * rng.normal(size=(len(sel), 3)))
            rho = rb * rng.uniform(0.35, 1.0, len(sel))
            u0 = tie - cb
            u0 = _unit(u0[None] - (axis @ u0)[:, None] * axis)
            v0 = np.cross(axis, u0)
            s = np.linspace(0, 1, n_tail)[None] * tail_len[:, None]
            th = s / rho[:, None]
            tail = cb + rho[:, None, None] * (
                np.cos(th)[..., None] * u0[:, None] + np.sin(th)[..., None] * v0[:, None]
            )
            tube = 0.003 if kind == "bun" else 0.006
        all_pts[sel, :n_over] = over
        all_pts[sel, n_over:] = tail
    if loose.any():
        li = np.flatnonzero(loose)
        n = n_over + n_tail
        step = float(rng.uniform(0.1, 0.2)) / (n - 1)
        d0 = np.array([0.0, -1.0, 0.15]) + np.array([0.3, 0, 0]) * np.sign(roots[li, :1])
        all_pts[li] = _hang(head, roots[li], d0, n, step, 0.2)
        follow[li] = 1.0
        group[li] = 99
    return Guides(all_pts, follow=follow, group=group, tube=tube)


def _short_strands(head, n: int, length: float, rng, region=None) -> Strands:
    """Buzz-length hair: short, combed back and down, close to the scalp."""
    m = n if region is None else 4 * n
    roots, normals = sample_roots(head, max(m, 1), rng)
    if region is not None:
        keep = np.flatnonzero(region(roots))[:n]
        roots, normals = roots[keep], normals[keep]
    k = len(roots)
    if k == 0:
        return Strands(np.zeros((0, 3)), np.zeros(0, np.int64))
    comb = np.array([0.0, -0.6, -1.0]) + 0.25 * rng.normal(size=(k, 3))
    comb -= (comb * normals).sum(1, keepdims=True) * normals
    d = _unit(_unit(comb) + 0.45 * normals)
    ln = length * rng.uniform(0.6, 1.0, k)
    s = np.linspace(0, 1, 4)[None, :] * ln[:, None]
    pts = (
        roots[:, None]
        + s[..., None] * d[:, None]
        - (0.3 * s**2 / ln[:, None])[..., None] * (normals[:, None])
    )
    flat = collide(head, pts.reshape(-1, 3), 0.0008)
    return Strands(flat, np.full(k, 4))


# ---------------------------------------------------------------------------- real styles


def _usc_guides(head, spec: StyleSpec) -> Guides:
    raw = real_style(f"usc:cstrands{spec.variant:05d}")
    fitted = fit_real_style(head, raw, np.random.default_rng(0), usc_frame=True)
    return Guides(resample_guides(fitted, 32))


def _harolongo_guides(head) -> Guides:
    raw = real_style("harolongo")
    fitted = fit_real_style(head, raw, np.random.default_rng(0))
    return Guides(resample_guides(fitted, 21))


# ---------------------------------------------------------------------------- entry


def _detail_for(spec: StyleSpec, p: dict, aug: Augment, n: int) -> Detail:
    kind = spec.kind
    d = Detail(
        n_strands=n,
        length_scale=aug.length,
        volume=aug.volume,
        wave_amp=aug.wave,
        wave_len=0.055,
    )
    if kind in ("usc", "harolongo"):
        return replace(d, k=4 if kind == "usc" else 3, clump=0.35, frizz=0.0005)
    if kind in ("straight", "wavy", "curly"):
        d = replace(d, clump=p["clump"])
        if kind == "wavy":
            d = replace(d, wave_amp=p["wave_amp"] * aug.curl + aug.wave, wave_len=p["wave_len"])
        if kind == "curly":
            d = replace(d, curl_amp=p["curl_amp"] * aug.curl, curl_len=p["curl_len"], frizz=8e-4)
        return d
    if kind in ("coily", "afro"):
        return replace(
            d,
            clump=0.25,
            clump_size=12,
            curl_amp=p["curl_amp"] * aug.curl,
            curl_len=p["curl_len"],
            frizz=0.0009,
            flyaway=0.03,
            length_jitter=0.35,
            wave_amp=0.0,
        )
    if kind in ("ponytail", "braid", "bun", "updo"):
        messy = kind == "updo"
        return replace(
            d,
            k=3,
            clump=0.2 if kind != "braid" else 0.05,
            wave_amp=p["wave_amp"] * aug.curl + aug.wave if kind == "ponytail" else 0.0,
            wave_len=p["wave_len"],
            frizz=0.0009 if messy else 0.0003,
            flyaway=0.06 if messy else 0.01,
            length_jitter=0.1 if kind != "ponytail" else 0.2,
            length_scale=aug.length if kind == "ponytail" else 1.0,
            volume=1.0,
        )
    return d


def _points_per_strand(guides: Guides, detail: Detail) -> int:
    arc = _arc(guides.points)[:, -1]
    longest = float(np.quantile(arc, 0.95)) * max(detail.length_scale, 1.0)
    spacing = 0.012
    if detail.curl_amp > 0:
        spacing = min(spacing, detail.curl_len / 6)
    if detail.wave_amp > 0:
        spacing = min(spacing, detail.wave_len / 7)
    n = int(np.clip(np.ceil(longest / spacing) + 1, 6, 128))
    cap = max(6, POINT_BUDGET // max(detail.n_strands, 1))
    return min(n, cap)


def build_style(
    head, spec: StyleSpec, n_strands: int, rng: np.random.Generator, aug: Augment | None = None
) -> Strands:
    """The full style ``spec`` on ``head`` (head frame, metres, root to tip).

    Parameters
    ----------
    head : SynthHead
    spec : StyleSpec
    n_strands : int
        Strands of the dense style (buzz and bald fringes use it too; fully bald: none).
    rng : numpy Generator
        The scene's: draws roots and detail (a style's guides depend on its id only).
    aug : Augment, optional
    """
    aug = aug or Augment()
    if spec.family == "usc":
        guides, p = _usc_guides(head, spec), {}
    elif spec.family == "harolongo":
        guides, p = _harolongo_guides(head), {}
    else:
        p = proc_params(spec.kind, spec.variant)
        grng = _rng_for(spec.kind + ":guides", spec.variant)
        if spec.kind == "buzz":
            out = _short_strands(head, n_strands, p["length"] * aug.length, rng)
            return mirror_strands(out) if spec.mirror else out
        if spec.kind == "bald":
            if not p["fringe"]:
                return Strands(np.zeros((0, 3)), np.zeros(0, np.int64))
            top = p["fringe_top"]
            out = _short_strands(
                head,
                n_strands // 3,
                p["length"] * aug.length,
                rng,
                region=lambda r: (r[:, 1] < top) & (r[:, 2] < 0.02),
            )
            return mirror_strands(out) if spec.mirror else out
        if spec.kind in ("straight", "wavy", "curly", "coily"):
            guides = _loose_guides(head, p, grng)
        elif spec.kind == "afro":
            guides = _afro_guides(head, p, grng)
        else:
            guides = _gathered_guides(head, p, grng)
    detail = _detail_for(spec, p, aug, int(n_strands))
    n_pts = _points_per_strand(guides, detail)
    if n_pts != guides.points.shape[1]:
        pts = _resample_rows(guides.points, n_pts)
        follow = None
        if guides.follow is not None:
            src = np.linspace(0, 1, guides.points.shape[1])
            dst = np.linspace(0, 1, n_pts)
            follow = np.stack([np.interp(dst, src, f) for f in guides.follow])
        guides = Guides(pts, follow=follow, group=guides.group, tube=guides.tube)
    clear = None
    if spec.family in ("usc", "harolongo") or spec.kind in ("straight", "wavy", "curly"):
        clear = head.anchors["right_eye"][1] + 0.012
    out = densify(head, guides, detail, rng, face_clear_y=clear)
    return mirror_strands(out) if spec.mirror else out
