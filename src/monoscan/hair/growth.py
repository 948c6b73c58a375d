"""Grow 3D strands from scalp roots through the orientation field.

All strands step together (NumPy arrays over the live strands). Each step is a midpoint
(RK2) step of length ``step_m`` (default 5 mm) along the field, sampled trilinearly; the
field's sign is aligned with the previous step so a strand never reverses. The first step
leaves the scalp along ``normalise(field + 0.7 * root normal)``. After every step a point
closer than ``clearance`` to the head is pushed out along the head distance gradient, so no
strand point is inside the head. A strand stops when

- its next point leaves the hair volume (after a grace of ``grace_steps`` steps, during which
  a strand may cross the thin gap between the scalp and the first hair voxels),
- it would turn by more than ``max_turn_deg`` (default 40 deg) in one step, or
- it has ``max_points`` points (default 120: at most 0.595 m of hair at 5 mm steps).

Strands shorter than ``min_length_ratio`` (0.3) times the mean length are dropped as stubs
(HairStep's rule), as are strands with fewer than 3 points.

Curliness: :func:`estimate_curliness` measures, along 2D streamlines of the undirected
orientation, how far the orientation swings around its local mean and how often it crosses
it. :func:`grow_strands` turns ``curliness=(amplitude_m, period_m)`` into a helical offset
``A(s) (cos(2 pi s / P + phi) e1 + sin(2 pi s / P + phi) e2)`` around each grown strand (``s``
arc length, ``phi`` a random phase per strand, ``e1, e2`` a frame perpendicular to the strand
carried along it, ``A`` ramping from 0 at the root to the full amplitude over 3 cm).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from monoscan.core.errors import InputError
from monoscan.core.strands import Strands
from monoscan.core.volumes import Occupancy

__all__ = ["add_curls", "estimate_curliness", "grow_strands", "uneven_ends"]


def _trilinear(grid: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Sample a (X, Y, Z, C) grid at (N, 3) fractional indices (clamped to the grid)."""
    nx, ny, nz, nc = grid.shape
    f = np.clip(idx, 0.0, np.array([nx, ny, nz], np.float32) - np.float32(1.0001))
    i0 = f.astype(np.int64)
    t = (f - i0).astype(np.float32)
    flat = grid.reshape(-1, nc)
    base = (i0[:, 0] * ny + i0[:, 1]) * nz + i0[:, 2]
    out = np.zeros((len(idx), nc), np.float32)
    tx, ty, tz = t[:, 0:1], t[:, 1:2], t[:, 2:3]
    for dx in (0, 1):
        wx = tx if dx else 1 - tx
        for dy in (0, 1):
            wxy = wx * (ty if dy else 1 - ty)
            off = (dx * ny + dy) * nz
            out += (wxy * (1 - tz)) * flat[base + off] + (wxy * tz) * flat[base + off + 1]
    return out


def _normalise(v: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    n = np.sqrt(np.einsum("ij,ij->i", v, v))[:, None]
    out = v / np.maximum(n, 1e-12)
    if fallback is not None:
        out = np.where(n > 1e-9, out, fallback)
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b)


def _limit_turn(a: np.ndarray, b: np.ndarray, cos_max: float) -> np.ndarray:
    """Rotate unit vectors ``a`` toward ``b`` by at most ``arccos(cos_max)``."""
    c = np.clip((a * b).sum(1), -1.0, 1.0)
    over = c < cos_max
    if not over.any():
        return b
    perp = _normalise(
        b[over] - c[over, None] * a[over],
        _normalise(np.cross(a[over], [0.0, 1.0, 0.0]), np.array([1.0, 0, 0])),
    )
    s = np.sqrt(1 - cos_max**2)
    out = b.copy()
    out[over] = cos_max * a[over] + s * perp
    return out


class _Sampler:
    """Lookups on one grid: field (3 channels) and head distance + gradient (4 channels),
    stored together so one trilinear gather serves a whole step."""

    def __init__(self, field: np.ndarray | None, occ: Occupancy):
        self.occ = occ
        self.grid = occ.grid
        hd = occ.head_distance.astype(np.float32)
        chans = [] if field is None else [np.asarray(field, np.float32)[..., k] for k in range(3)]
        chans += [hd] + list(np.gradient(hd, occ.voxel_size))
        self.all = np.ascontiguousarray(np.stack(chans, axis=-1))
        self.nf = 0 if field is None else 3
        self.field = None if field is None else np.ascontiguousarray(field, np.float32)
        self.shape = np.array(occ.grid.shape)
        self.origin32 = occ.origin.astype(np.float32)

    def idx(self, p):
        return (p - self.origin32) * np.float32(1.0 / self.occ.voxel_size)

    def sample(self, p):
        """(N, 7) float32 field + head distance + head gradient (or (N, 4) without a field)."""
        return _trilinear(self.all, self.idx(p))

    def direction(self, p, prev):
        return self.align(_trilinear(self.field, self.idx(p)), prev)

    @staticmethod
    def align(v, prev):
        s = np.sign(_dot(v, prev))
        s[s == 0] = 1
        return _normalise(v * s[:, None], prev)

    def inside(self, p):
        i = np.rint(self.idx(p)).astype(np.int64)
        ok = np.all((i >= 0) & (i < self.shape), axis=1)
        out = np.zeros(len(p), bool)
        out[ok] = self.grid[i[ok, 0], i[ok, 1], i[ok, 2]]
        return out

    def head_nearest(self, p):
        """Head distance at the nearest voxel (cheap, no gradient)."""
        i = np.clip(np.rint(self.idx(p)).astype(np.int64), 0, self.shape - 1)
        return self.occ.head_distance[i[:, 0], i[:, 1], i[:, 2]]

    def head(self, p):
        h = self.sample(p)[:, self.nf :].astype(np.float64)
        return h[:, 0], _normalise(h[:, 1:], np.array([0.0, 1.0, 0.0]))


def grow_strands(
    field: np.ndarray,
    occupancy: Occupancy,
    roots: np.ndarray,
    root_normals: np.ndarray,
    n_strands: int | None = 10_000,
    *,
    step_m: float = 0.005,
    max_points: int = 120,
    max_turn_deg: float = 40.0,
    grace_steps: int = 3,
    clearance: float = 0.002,
    min_length_ratio: float = 0.3,
    curliness: tuple[float, float] | None = None,
    seed: int = 0,
) -> Strands:
    """Grow strands from scalp roots through a 3D orientation field (module docstring).

    Parameters
    ----------
    field : (X, Y, Z, 3) float
        Unit growth directions on the occupancy grid (:func:`monoscan.hair.field.
        orientation_field`).
    occupancy : Occupancy
        The hair volume; strands stop when they leave it.
    roots, root_normals : (R, 3) float
        Root positions on the scalp (world metres) and outward unit normals there.
    n_strands : int or None
        Number of roots to grow from: a seeded random subset when ``R > n_strands``, all of
        them when ``R <= n_strands`` or None. Stubs are then dropped, so fewer strands may be
        returned.
    step_m : float
        Step length in metres (5 mm).
    max_points : int
        Largest number of points per strand, root included.
    max_turn_deg : float
        Largest turn between consecutive steps; a sharper turn ends the strand.
    grace_steps : int
        Steps during which a strand may be outside the volume.
    clearance : float
        Smallest distance (metres) of a strand point from the head.
    min_length_ratio : float
        Strands shorter than this fraction of the mean length are dropped.
    curliness : (amplitude_m, period_m), optional
        Helical offsets (:func:`add_curls`); None or amplitude 0 for straight hair.
    seed : int
        Seed for the root subset and the curl phases.

    Returns
    -------
    Strands
        Root to tip, world frame, metres.
    """
    roots = np.asarray(roots, np.float64).reshape(-1, 3)
    normals = np.asarray(root_normals, np.float64).reshape(-1, 3)
    if len(roots) != len(normals):
        raise InputError("roots and root normals must have the same length")
    if np.asarray(field).shape != occupancy.shape + (3,):
        raise InputError(
            f"field shape {np.asarray(field).shape} does not match the "
            f"occupancy grid {occupancy.shape}"
        )
    if not step_m > 0 or max_points < 2:
        raise InputError("step_m must be > 0 and max_points >= 2")
    rng = np.random.default_rng(seed)
    if n_strands is not None and len(roots) > n_strands:
        pick = np.sort(rng.choice(len(roots), int(n_strands), replace=False))
        roots, normals = roots[pick], normals[pick]
    n = len(roots)
    if n == 0:
        return Strands(np.zeros((0, 3), np.float32), np.zeros(0, np.int64))
    normals = _normalise(normals, np.array([0.0, 1.0, 0.0]))
    smp = _Sampler(field, occupancy)
    # Grow in spatial order (memory locality of the grid lookups); output keeps input order.
    cell = np.floor(smp.idx(roots.astype(np.float32)) / 4).astype(np.int64)
    order = np.lexsort((cell[:, 2], cell[:, 0], cell[:, 1]))
    roots, normals = roots[order], normals[order]
    cos_max = np.cos(np.radians(max_turn_deg))

    pts = np.zeros((max_points, n, 3), np.float32)
    pts[0] = roots
    count = np.ones(n, np.int64)
    alive = np.ones(n, bool)
    pos = roots.astype(np.float32)
    prev = normals.astype(np.float32)
    fcache = smp.sample(roots)[:, :3]  # field at each strand's current point
    h = np.float32(step_m)
    up = np.array([0.0, 1.0, 0.0], np.float32)
    for k in range(1, max_points):
        live = np.flatnonzero(alive)
        if len(live) == 0:
            break
        p, d_prev = pos[live], prev[live]
        k1 = smp.align(fcache[live], d_prev)
        if k == 1:
            d = _normalise(k1 + np.float32(0.7) * d_prev, d_prev)
        else:
            d = smp.direction(p + np.float32(0.5) * h * k1, k1)
        if k <= grace_steps:  # leaving the scalp: limit the turn instead of stopping
            d = _limit_turn(d_prev, d, cos_max)
            turn_ok = np.ones(len(live), bool)
        else:
            turn_ok = _dot(d, d_prev) >= cos_max
        q = p + h * d
        sq = smp.sample(q)
        hd = sq[:, 3]
        push = hd < clearance
        if push.any():
            hn = _normalise(sq[push, 4:], up)
            q[push] += (np.float32(clearance) - hd[push])[:, None] * hn
        d = _normalise(q - p, d)
        ok = turn_ok & ((k <= grace_steps) | smp.inside(q))
        alive[live[~ok]] = False
        go = live[ok]
        pos[go] = q[ok]
        prev[go] = d[ok]
        fcache[go] = sq[ok, :3]
        pts[k, go] = q[ok]
        count[go] += 1
    # Trim points added during the grace period of strands that never entered the volume.
    keep_n = count.copy()
    if grace_steps > 0:
        entered = np.zeros(n, bool)
        last_in = np.zeros(n, np.int64)
        for k in range(min(max_points, grace_steps + 1)):
            has = count > k
            ins = np.zeros(n, bool)
            ins[has] = smp.inside(pts[k, has].astype(np.float64))
            entered |= ins
            last_in = np.where(ins, k, last_in)
        never = ~entered & (count <= grace_steps + 1)
        keep_n[never] = 1
    dp = np.diff(pts, axis=0)  # (max_points - 1, n, 3)
    seg = np.sqrt(np.einsum("kij,kij->ki", dp, dp))
    del dp
    valid = np.arange(1, max_points)[:, None] < keep_n[None, :]
    lengths = (seg * valid).sum(0)
    good = keep_n >= 3
    if good.any():
        mean_len = lengths[good].mean()
        good &= lengths >= min_length_ratio * mean_len
    unorder = np.empty_like(order)
    unorder[order] = np.arange(n)
    sel = unorder[np.flatnonzero(good[unorder])]  # kept strands, in the caller's root order
    counts = keep_n[sel]
    mask = np.arange(max_points)[:, None] < counts[None, :]
    points = pts[:, sel].transpose(1, 0, 2)[mask.T]
    strands = Strands(points, counts)
    if curliness is not None and curliness[0] > 0 and curliness[1] > 0:
        strands = add_curls(
            strands,
            curliness[0],
            curliness[1],
            seed=seed,
            occupancy=occupancy,
            clearance=clearance,
            _sampler=smp,
        )
    return strands


def uneven_ends(
    strands: Strands, fraction: float = 0.15, min_length_m: float = 0.12, seed: int = 0
) -> Strands:
    """Shorten each long strand from its tip by a random share of up to ``fraction``.

    Strands grown through one volume all stop at its boundary, so long hair ends in one even
    cut; real ends are uneven. Strands longer than ``min_length_m`` (metres) keep a uniformly
    random ``1 - fraction .. 1`` of their points (seeded, at least 3); shorter ones are kept
    whole, so short hair stays as grown.
    """
    counts = np.asarray(strands.counts, np.int64)
    if not len(counts):
        return strands
    rng = np.random.default_rng(seed)
    share = 1.0 - fraction * rng.random(len(counts))
    keep_n = np.where(
        strands.lengths > min_length_m, np.maximum(np.ceil(counts * share), 3), counts
    ).astype(np.int64)
    keep_n = np.minimum(keep_n, counts)
    strand = strands.strand_index
    keep = np.arange(len(strand)) - strands.offsets[strand] < keep_n[strand]
    return Strands(
        strands.points[keep],
        keep_n,
        widths=None if strands.widths is None else strands.widths[keep],
        colors=None if strands.colors is None else strands.colors[keep],
    )


def add_curls(
    strands: Strands,
    amplitude_m: float,
    period_m: float,
    *,
    seed: int = 0,
    ramp_m: float = 0.03,
    occupancy: Occupancy | None = None,
    clearance: float = 0.002,
    _sampler: _Sampler | None = None,
) -> Strands:
    """Add helical offsets (module docstring) of radius ``amplitude_m`` and pitch ``period_m``.

    With ``occupancy`` given, points that end up closer than ``clearance`` to the head are
    pushed back out. Roots do not move.
    """
    if strands.n_points == 0 or amplitude_m <= 0 or period_m <= 0:
        return strands
    rng = np.random.default_rng(seed + 1)
    p = strands.points
    sid = strands.strand_index
    starts = strands.offsets[:-1]
    # Tangents (central differences within a strand) and segment lengths, float32.
    diff = np.diff(p, axis=0)
    diff[sid[:-1] != sid[1:]] = 0.0
    t = np.zeros_like(p)
    t[:-1] += diff
    t[1:] += diff
    t = _normalise(t, np.array([0.0, -1.0, 0.0], np.float32))
    seg = np.zeros(len(p), np.float32)
    seg[1:] = np.sqrt(_dot(diff, diff))
    del diff
    seg[starts[strands.counts > 0]] = 0.0
    s = np.cumsum(seg, dtype=np.float64)
    s -= np.repeat(s[starts], strands.counts)
    # A frame perpendicular to the tangent: project a per-strand reference vector.
    ref = _normalise(rng.normal(size=(strands.n_strands, 3))).astype(np.float32)[sid]
    e1 = ref - _dot(ref, t)[:, None] * t
    del ref
    e1 = _normalise(
        e1,
        _normalise(
            np.cross(t, [1.0, 0.0, 0.0]).astype(np.float32), np.array([0.0, 0.0, 1.0], np.float32)
        ),
    )
    e2 = np.cross(t, e1)
    phase = rng.uniform(0, 2 * np.pi, strands.n_strands)[sid]
    a = (amplitude_m * np.clip(s / ramp_m, 0.0, 1.0)).astype(np.float32)
    ang = 2 * np.pi * s / period_m + phase
    q = p + a[:, None] * (
        np.cos(ang).astype(np.float32)[:, None] * e1 + np.sin(ang).astype(np.float32)[:, None] * e2
    )
    del e1, e2, ang, phase
    if occupancy is not None:
        smp = _sampler if _sampler is not None else _Sampler(None, occupancy)
        # Only points that were within the curl radius of the head can end up inside it.
        near = np.flatnonzero(smp.head_nearest(p) < amplitude_m + clearance + occupancy.voxel_size)
        if len(near):
            qn = q[near].astype(np.float64)
            for _ in range(2):
                hd, hn = smp.head(qn)
                push = hd < clearance
                qn[push] += (clearance - hd[push])[:, None] * hn[push]
            q[near] = qn
    return Strands(q, strands.counts, widths=strands.widths, colors=strands.colors)


def estimate_curliness(
    orientation: np.ndarray,
    mask: np.ndarray,
    *,
    metres_per_pixel: float = 1.0,
    n_seeds: int = 400,
    step_px: float = 1.0,
    n_steps: int = 120,
    smooth_px: float = 24.0,
    min_swing_deg: float = 8.0,
    seed: int = 0,
) -> tuple[float, float]:
    """Waviness of the hair from the 2D orientation's spatial frequency along the strands.

    From ``n_seeds`` random hair pixels, 2D streamlines are traced through the undirected
    orientation (both ways, ``n_steps`` steps of ``step_px``). Along each, the swing
    ``phi(s)`` = orientation minus the local mean orientation (Gaussian of ``smooth_px``,
    doubled-angle average) is recorded. For a sine wave ``y = A sin(2 pi s / P)`` the swing
    oscillates with period ``P`` and peak slope ``tan(phi_max) = 2 pi A / P``: the period is
    twice the mean distance (along the mean direction, steps weighted by ``cos phi``) between
    zero crossings of ``phi`` and the amplitude
    ``A = P tan(sqrt(2) phi_rms) / (2 pi)``. A swing under ``min_swing_deg`` rms counts as
    straight hair (amplitude 0).

    Parameters
    ----------
    orientation : (H, W) float
        Undirected strand angle in radians, image frame (``[0, pi)``, from +x toward +y).
    mask : (H, W) bool
        Hair mask.
    metres_per_pixel : float
        Pixel size; the result is in metres (pixels with the default 1).
    n_seeds, step_px, n_steps, smooth_px, min_swing_deg, seed
        Sampling controls (see above).

    Returns
    -------
    (amplitude_m, period_m) : tuple of float
        Helix radius / wave amplitude and period; ``(0.0, 0.0)`` for straight hair or too
        little hair.
    """
    theta = np.asarray(orientation, np.float64)
    m = np.asarray(mask)
    m = (m[..., 0] if m.ndim == 3 else m) > 0
    if theta.shape != m.shape:
        raise InputError(f"orientation shape {theta.shape} does not match mask {m.shape}")
    if m.sum() < 50:
        return 0.0, 0.0
    c2, s2 = np.cos(2 * theta) * m, np.sin(2 * theta) * m
    wsum = ndimage.gaussian_filter(m.astype(np.float64), smooth_px) + 1e-9
    mean_theta = 0.5 * np.arctan2(
        ndimage.gaussian_filter(s2, smooth_px) / wsum, ndimage.gaussian_filter(c2, smooth_px) / wsum
    )
    rng = np.random.default_rng(seed)
    ys, xs = np.nonzero(m)
    pick = rng.choice(len(ys), min(n_seeds, len(ys)), replace=False)
    start = np.stack([xs[pick], ys[pick]], axis=1).astype(np.float64)
    h, w = m.shape

    def sample(img, p, order=0):
        x = np.clip(np.rint(p[:, 0]).astype(np.int64), 0, w - 1)
        y = np.clip(np.rint(p[:, 1]).astype(np.int64), 0, h - 1)
        return img[y, x]

    def trace(sign):
        p = start.copy()
        th0 = sample(theta, p)
        d = sign * np.stack([np.cos(th0), np.sin(th0)], axis=1)
        phis = np.full((n_steps, len(p)), np.nan)
        alive = np.ones(len(p), bool)
        for k in range(n_steps):
            inside = (p[:, 0] >= 0) & (p[:, 0] <= w - 1) & (p[:, 1] >= 0) & (p[:, 1] <= h - 1)
            alive &= inside
            alive &= sample(m, p)
            th = sample(theta, p)
            mt = sample(mean_theta, p)
            phis[k] = np.where(alive, np.angle(np.exp(2j * (th - mt))) / 2, np.nan)
            t = np.stack([np.cos(th), np.sin(th)], axis=1)
            t *= np.sign((t * d).sum(1) + 1e-12)[:, None]
            d = t
            p = p + step_px * d
        return phis

    fwd, bwd = trace(1.0), trace(-1.0)
    lines = np.concatenate([bwd[::-1], fwd[1:]], axis=0)  # (2 n_steps - 1, n_seeds)
    crossings, lengths, sq = 0, 0.0, []
    for j in range(lines.shape[1]):
        phi = lines[:, j]
        phi = phi[np.isfinite(phi)]
        if len(phi) < 20:
            continue
        sq.append(phi**2)
        sgn = np.sign(phi)
        crossings += int(np.count_nonzero(sgn[1:] * sgn[:-1] < 0))
        # Distance along the mean direction (the centre line the curls are added around).
        lengths += float(np.cos(phi[1:]).sum()) * step_px
    if not sq or crossings == 0:
        return 0.0, 0.0
    phi_rms = float(np.sqrt(np.mean(np.concatenate(sq))))
    if np.degrees(phi_rms) < min_swing_deg:
        return 0.0, 0.0
    period = 2.0 * lengths / crossings
    amp = period * np.tan(min(np.sqrt(2) * phi_rms, np.radians(80))) / (2 * np.pi)
    return float(amp * metres_per_pixel), float(period * metres_per_pixel)
