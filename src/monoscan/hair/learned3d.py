"""Learned 3D hair: occupancy and growth direction at every voxel of the hair volume.

HairStep's reconstruction step as a pixel-aligned implicit function, evaluated on the voxel
grid of :func:`monoscan.hair.volume.hair_occupancy` (4 mm, world frame: metres, y up, x to the
subject's left, z toward the camera). Each voxel centre is projected into the 512 HairStep
crop; the network (a small MLP, ONNX Runtime) sees the 2D maps there and the voxel's place
relative to the visible hair surface, the head and the geometric prior volume:

====  ===========================================================================================
 #    feature (all computed the same way on a photo and on a synthetic render)
====  ===========================================================================================
0     hair mask at the voxel's pixel (mask blurred to the voxel's footprint), 0..1
1, 2  hair mask blurred with sigma 8 px and 32 px (context: how much hair is around)
3     signed distance to the hair mask outline (+ inside), metres / 0.03, clipped to [-3, 3]
4     body (parsing's body label) at the pixel, 0..1
5, 6  2D growth direction (image x, y) at the pixel, extended from the nearest hair pixel
7, 8  2D growth direction averaged over the hair within 16 px (sigma), unnormalised
9     the column crosses the head, 0/1
10    (z - visible hair depth of the column) / 0.05 m, clipped to [-4, 2]
11    (z - front of the head in the column) / 0.05 m, clipped to [-4, 4]; 0 off the head
12    (z - back of the head in the column) / 0.05 m, clipped to [-4, 4]; 0 off the head
13    distance to the head (negative inside) / 0.05 m, clipped to [-1, 4]
14-16 (voxel - centre of the voxelised head) / 0.1 m
17    signed distance to the prior volume (+ inside) / 0.02 m, clipped to [-4, 4]
18    the prior's hair thickness of the voxel's row / 0.05 m
19    (y - lowest visible hair) / 0.1 m
====  ===========================================================================================

A model with a 2D encoder (``scripts/train_hair_volume.py --context``; none is shipped) also
takes each voxel's crop column and the crop's maps (:func:`crop_context_maps`).

Outputs per voxel: an occupancy logit and a 3D growth direction (world frame, normalised
here). The network is ``src/monoscan/models/hair_volume.onnx``, trained on the synthetic
corpus by ``scripts/train_hair_volume.py`` from data cached by
``scripts/prepare_hair_volume_data.py`` (commands, seeds and held-out numbers in
``hair_volume.json``).

Evaluation is coarse to fine: the network runs on every second voxel along each axis (the
candidates: outside the head by ``margin``, within ``max_head_distance`` of it), its outputs
are interpolated trilinearly to every candidate, and only voxels whose interpolated
probability is undecided (``0.15 .. 0.85``) are evaluated at full resolution.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from monoscan.core.camera import Camera
from monoscan.core.crop import Crop
from monoscan.core.onnx import onnx_session
from monoscan.core.volumes import Occupancy
from monoscan.hair.volume import (
    column_crop_coords,
    crop_pixel_size,
    extend_nearest,
    sample_crop,
)

__all__ = [
    "CONTEXT_SIZE",
    "METADATA_PATH",
    "MODEL_PATH",
    "N_CONTEXT_MAPS",
    "N_FEATURES",
    "VolumeMaps",
    "candidate_voxels",
    "crop_context_maps",
    "learned_volume",
    "model_available",
    "model_metadata",
    "predict_voxels",
]

MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "hair_volume.onnx"
METADATA_PATH = MODEL_PATH.with_suffix(".json")
#: Features per voxel (table in the module docstring).
N_FEATURES = 20
#: Channels and side (px) of :func:`crop_context_maps`, the input of a model with a 2D
#: encoder (``hair_volume.onnx`` with ``uv`` and ``maps`` inputs).
N_CONTEXT_MAPS = 5
CONTEXT_SIZE = 128


class VolumeMaps:
    """The per-column maps of one crop on one grid (computed once, gathered per voxel).

    Built by :meth:`build`; ``columns`` is (X, Y, 10) float32 (features 0-9 of the module
    docstring), ``zf``/``head_front``/``head_back`` (X, Y) world z in metres, ``prior_sd``
    (X, Y, Z) the signed distance to the prior volume in metres, ``uv`` (X, Y, 2) each
    column's crop pixel coordinates and ``context`` the crop's maps for a model with a 2D
    encoder (:func:`crop_context_maps`, made on first use: the shipped MLP does not need them).
    """

    def __init__(
        self,
        occupancy,
        columns,
        zf,
        head_front,
        head_back,
        prior_sd,
        centre,
        y_low,
        uv,
        context_inputs,
    ):
        self.occupancy = occupancy
        self.uv = uv
        self._context_inputs = context_inputs
        self.columns = columns
        self.zf = zf
        self.head_front = head_front
        self.head_back = head_back
        self.prior_sd = prior_sd
        self.centre = centre
        self.y_low = y_low

    @classmethod
    def build(
        cls,
        prior: Occupancy,
        hair_mask_crop: np.ndarray,
        growth_dir_crop: np.ndarray,
        hair_depth_m_crop: np.ndarray,
        body_mask_crop: np.ndarray | None,
        crop: Crop,
        camera: Camera,
    ) -> VolumeMaps:
        mask = np.asarray(hair_mask_crop) > 0
        origin, vox, shape = prior.origin, prior.voxel_size, prior.shape
        u, v = column_crop_coords(origin, vox, shape, crop, camera)
        px_m = crop_pixel_size(crop, camera)
        m = mask.astype(np.float32)
        foot = vox / px_m  # crop pixels per voxel
        m0 = cv2.GaussianBlur(m, (0, 0), 0.5 * foot) if foot > 1.5 else m
        m1 = cv2.GaussianBlur(m, (0, 0), 8.0)
        m2 = cv2.GaussianBlur(m, (0, 0), 32.0)
        sd = ndimage.distance_transform_edt(mask) - ndimage.distance_transform_edt(~mask)
        sd = np.clip(sd * px_m / 0.03, -3, 3).astype(np.float32)
        body = (
            np.zeros_like(m)
            if body_mask_crop is None
            else (np.asarray(body_mask_crop) > 0).astype(np.float32)
        )
        d2 = np.nan_to_num(np.asarray(growth_dir_crop, np.float32)) * m[..., None]
        d2_ext = extend_nearest(d2, mask)
        d2_ctx = (
            cv2.GaussianBlur(d2, (0, 0), 16.0)
            / np.maximum(cv2.GaussianBlur(m, (0, 0), 16.0), 1e-3)[..., None]
        )
        chans = [
            sample_crop(m0, u, v),
            sample_crop(m1, u, v),
            sample_crop(m2, u, v),
            sample_crop(sd, u, v, fill=-3.0),
            sample_crop(body, u, v),
            sample_crop(d2_ext[..., 0], u, v),
            sample_crop(d2_ext[..., 1], u, v),
            sample_crop(np.clip(d2_ctx[..., 0], -1, 1), u, v),
            sample_crop(np.clip(d2_ctx[..., 1], -1, 1), u, v),
        ]
        inside = prior.head_inside
        any_head = inside.any(axis=2)
        chans.append(any_head.astype(np.float32))
        columns = np.stack(chans, axis=-1).astype(np.float32)
        zs = prior.axis_coords(2)
        k_front = shape[2] - 1 - np.argmax(inside[:, :, ::-1], axis=2)
        k_back = np.argmax(inside, axis=2)
        head_front = np.where(any_head, zs[k_front], np.nan).astype(np.float32)
        head_back = np.where(any_head, zs[k_back], np.nan).astype(np.float32)
        d = np.where(mask & np.isfinite(hair_depth_m_crop), hair_depth_m_crop, np.nan)
        valid = np.isfinite(d)
        if valid.any():
            d = extend_nearest(d, valid)
            zf = sample_crop(d.astype(np.float32), u, v, fill=np.nan)
            zf = np.where(np.isfinite(zf), zf, np.nanmedian(d))
        else:
            zf = np.full(u.shape, np.nan, np.float32)
        zf = np.nan_to_num(zf, nan=float(zs.mean())).astype(np.float32)
        g = prior.grid
        prior_sd = (
            ndimage.distance_transform_edt(g, sampling=vox)
            - ndimage.distance_transform_edt(~g, sampling=vox)
        ).astype(np.float32)
        hi = np.argwhere(inside)
        centre = (
            prior.to_world(hi.mean(axis=0))
            if len(hi)
            else prior.to_world((np.array(shape) - 1) / 2.0)
        )
        ys_hair = np.nonzero(mask)[0]
        if len(ys_hair):
            bottom = crop.to_photo(np.array([[0.0, float(ys_hair.max())]]))[0]
            y_low = float(camera.photo_to_world(np.array([[bottom[0], bottom[1], 0.0]]))[0, 1])
        else:
            y_low = float(centre[1])
        uv = np.stack([u, v], axis=-1)
        context_inputs = (mask, growth_dir_crop, hair_depth_m_crop, body)
        return cls(
            prior, columns, zf, head_front, head_back, prior_sd, centre, y_low, uv, context_inputs
        )

    @functools.cached_property
    def context(self) -> np.ndarray:
        """(N_CONTEXT_MAPS, CONTEXT_SIZE, CONTEXT_SIZE) :func:`crop_context_maps` of the crop."""
        return crop_context_maps(*self._context_inputs)

    def features(self, idx: np.ndarray) -> np.ndarray:
        """(N, N_FEATURES) float32 at voxel indices ``idx`` (N, 3) int."""
        occ = self.occupancy
        i, j, k = idx[:, 0], idx[:, 1], idx[:, 2]
        world = occ.to_world(idx)
        z = world[:, 2]
        col = self.columns[i, j]
        hf, hb = self.head_front[i, j], self.head_back[i, j]
        has_head = np.isfinite(hf)
        f = np.empty((len(idx), N_FEATURES), np.float32)
        f[:, :10] = col
        f[:, 10] = np.clip((z - self.zf[i, j]) / 0.05, -4, 2)
        f[:, 11] = np.where(has_head, np.clip((z - np.nan_to_num(hf)) / 0.05, -4, 4), 0.0)
        f[:, 12] = np.where(has_head, np.clip((z - np.nan_to_num(hb)) / 0.05, -4, 4), 0.0)
        f[:, 13] = np.clip(occ.head_distance[i, j, k] / 0.05, -1, 4)
        f[:, 14:17] = (world - self.centre) / 0.1
        f[:, 17] = np.clip(self.prior_sd[i, j, k] / 0.02, -4, 4)
        t_row = np.asarray(occ.info.get("row_thickness_m", np.zeros(occ.shape[1])), np.float32)
        f[:, 18] = t_row[j] / 0.05
        f[:, 19] = (world[:, 1] - self.y_low) / 0.1
        return f

    def crop_uv(self, idx: np.ndarray) -> np.ndarray:
        """(N, 2) float32 crop pixel coordinates (u, v) of the columns of voxels ``idx``."""
        return self.uv[idx[:, 0], idx[:, 1]]


def crop_context_maps(mask, direction, depth_m, body, size: int = CONTEXT_SIZE) -> np.ndarray:
    """(N_CONTEXT_MAPS, size, size) float32 maps of the crop for a model with a 2D encoder:
    hair mask; growth direction x, y (0 off hair); hair depth in decimetres relative to its
    median over the hair (larger = closer, 0 off hair); body mask; area-resized."""
    m = (np.asarray(mask) > 0).astype(np.float32)
    d = np.nan_to_num(np.asarray(direction, np.float32)) * m[..., None]
    z = np.asarray(depth_m, np.float32)
    ok = (m > 0) & np.isfinite(z)
    rel = np.where(ok, (z - (np.median(z[ok]) if ok.any() else 0.0)) / 0.1, 0.0)
    b = (np.asarray(body) > 0).astype(np.float32)
    chans = [m, d[..., 0], d[..., 1], rel.astype(np.float32), b]
    return np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA) for c in chans])


def candidate_voxels(
    occupancy: Occupancy, margin: float = 0.002, max_head_distance: float = 0.2
) -> np.ndarray:
    """(X, Y, Z) bool: voxels the network is asked about (outside the head, near it)."""
    hd = occupancy.head_distance
    return (hd > margin) & (hd < max_head_distance)


@functools.cache
def model_metadata() -> dict:
    """The model's JSON (threshold, training record); ``{}`` without it."""
    return json.loads(METADATA_PATH.read_text()) if METADATA_PATH.exists() else {}


def model_available(model_path: str | Path | None = None) -> bool:
    """Whether the network's ONNX file is there."""
    return Path(model_path or MODEL_PATH).exists()


def predict_voxels(
    maps: VolumeMaps, idx: np.ndarray, model_path: str | Path | None = None, threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Occupancy probability (N,) and unit growth direction (N, 3) at voxel indices ``idx``."""
    sess = onnx_session(Path(model_path or MODEL_PATH), threads, "learned hair-volume")
    names = [i.name for i in sess.get_inputs()]
    prob = np.empty(len(idx), np.float32)
    dirs = np.empty((len(idx), 3), np.float32)
    for s in range(0, len(idx), 262_144):
        chunk = idx[s : s + 262_144]
        if len(names) == 1:  # per-voxel features only
            out = sess.run(None, {names[0]: maps.features(chunk)})[0]
        else:  # with the 2D encoder: one scene, (1, N, .) voxels and its crop maps
            feeds = {
                "features": maps.features(chunk)[None],
                "uv": maps.crop_uv(chunk)[None],
                "maps": maps.context[None],
            }
            out = sess.run(None, feeds)[0][0]
        prob[s : s + len(chunk)] = 1.0 / (1.0 + np.exp(-out[:, 0]))
        d = out[:, 1:4]
        dirs[s : s + len(chunk)] = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-6)
    return prob, dirs


def learned_volume(
    prior: Occupancy,
    hair_mask_crop: np.ndarray,
    growth_dir_crop: np.ndarray,
    hair_depth_m_crop: np.ndarray,
    body_mask_crop: np.ndarray | None,
    crop: Crop,
    camera: Camera,
    *,
    threshold: float | None = None,
    scalp_layer_m: float = 0.008,
    model_path: str | Path | None = None,
    threads: int = 1,
) -> tuple[Occupancy, np.ndarray]:
    """The learned hair volume and growth-direction field on the prior's grid.

    Parameters
    ----------
    prior : Occupancy
        :func:`monoscan.hair.volume.hair_occupancy` (grid, head distance, prior volume).
    hair_mask_crop, growth_dir_crop, hair_depth_m_crop, body_mask_crop, crop, camera
        As for :func:`monoscan.hair.reconstruct3d.hair_strands`.
    threshold : float, optional
        Occupancy probability cut (default: the model's, chosen on validation styles).
    scalp_layer_m : float
        The prior volume's voxels within this distance of the head are kept as hair too
        (metres), so every root the photo allows has room to start.

    Returns
    -------
    occupancy : Occupancy
        Same grid as ``prior``; ``info["learned"] = True``, ``info["evaluated_voxels"]``.
    field : (X, Y, Z, 3) float32
        Unit growth directions (world frame) on the occupied voxels, zero elsewhere.
    """
    thr = float(threshold if threshold is not None else model_metadata().get("threshold", 0.5))
    maps = VolumeMaps.build(
        prior, hair_mask_crop, growth_dir_crop, hair_depth_m_crop, body_mask_crop, crop, camera
    )
    cand = candidate_voxels(prior)
    shape = prior.shape
    # Coarse pass: every second voxel along each axis.
    coarse = np.zeros(shape, bool)
    coarse[::2, ::2, ::2] = cand[::2, ::2, ::2]
    cidx = np.argwhere(coarse)
    cprob, cdir = predict_voxels(maps, cidx, model_path, threads)
    lattice = np.zeros(tuple((s + 1) // 2 for s in shape) + (4,), np.float32)
    lattice[tuple((cidx // 2).T)] = np.concatenate([cprob[:, None], cdir], axis=1)
    # Every candidate gets the coarse lattice's trilinear value (voxel i sits at lattice i/2).
    aidx = np.argwhere(cand)
    at = aidx.T / 2.0
    up = np.stack(
        [ndimage.map_coordinates(lattice[..., c], at, order=1, mode="nearest") for c in range(4)],
        axis=1,
    )
    # Fine pass: only where the interpolated probability is undecided.
    undecided = (up[:, 0] > 0.15) & (up[:, 0] < 0.85) & ~coarse[tuple(aidx.T)]
    fidx = aidx[undecided]
    fprob, fdir = predict_voxels(maps, fidx, model_path, threads)
    up[undecided, 0] = fprob
    up[undecided, 1:] = fdir
    grid = np.zeros(shape, bool)
    grid[tuple(aidx[up[:, 0] >= thr].T)] = True
    # The prior's layer over the scalp stays: every kept root starts inside the volume, so
    # short hair at the back, which the network may miss, never leaves a bald patch.
    grid |= prior.grid & (prior.head_distance <= scalp_layer_m)
    field = np.zeros(shape + (3,), np.float32)
    d = up[:, 1:]
    field[tuple(aidx.T)] = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-6)
    field[~grid] = 0.0
    info = dict(prior.info)
    info.update(learned=True, threshold=thr, evaluated_voxels=int(len(cidx) + len(fidx)))
    occ = Occupancy(
        grid=grid,
        origin=prior.origin,
        voxel_size=prior.voxel_size,
        head_distance=prior.head_distance,
        head_inside=prior.head_inside,
        info=info,
    )
    return occ, field
