"""Learned hair growth direction and hair depth (a small network, ONNX Runtime).

The network sees only quantities that the pipeline computes the same way on a photo and on a
synthetic render (:func:`hair_map_inputs`), all in the 512 HairStep crop (x right, y down):

========  =================================================================================
channel   meaning
========  =================================================================================
0         hair mask (our segmentation), 0/1
1, 2      ``cos 2t``, ``sin 2t`` of the Gabor orientation ``t`` on the image (0 off hair)
3         Gabor confidence, divided by its 90th percentile over the hair, clipped to [0, 2]
4         face region (the fitted face mesh rasterised), 0/1
5         face depth: world z of the face mesh, decimetres (larger = closer), 0 off the face
6         body (the parsing's person label without the hair), 0/1
7, 8      crop coordinates x, y in [-1, 1]
========  =================================================================================

Inputs are area-resized to the network's input size (``hair_maps.json``: 128, a quarter of
the crop's side). Its outputs are the growth direction (root to tip, two channels, normalised
here) and the world z of the visible hair surface in decimetres; both are resized back to the
crop bilinearly. The network
is ``src/monoscan/models/hair_maps.onnx``, trained on renders of the synthetic corpus by
``scripts/train_hair_maps.py`` (its JSON lists the commands, seeds and held-out numbers).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.masks import as_mask
from monoscan.core.onnx import onnx_session

__all__ = [
    "HAIR_MODELS",
    "METADATA_PATH",
    "MODEL_PATH",
    "N_INPUTS",
    "LearnedHairMaps",
    "blend_orientation",
    "decode_outputs",
    "hair_map_inputs",
    "learned_hair_maps",
    "model_available",
    "model_metadata",
]

MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "hair_maps.onnx"
METADATA_PATH = MODEL_PATH.with_suffix(".json")
#: What ``Options.hair_model`` may name: the hand-made priors or this network.
HAIR_MODELS = ("prior", "learned")
#: Input channels (table in the module docstring).
N_INPUTS = 9
#: Whether :func:`learned_hair_maps` sharpens the direction with the Gabor orientation by
#: default (:func:`blend_orientation`; chosen on the validation styles, see ``hair_maps.json``).
BLEND_GABOR = True
#: Depth unit of the network: decimetres.
DEPTH_SCALE_M = 0.1


@dataclass(frozen=True)
class LearnedHairMaps:
    """The network's maps on the crop.

    Attributes
    ----------
    direction : (S, S, 2) float32
        Unit growth direction (root to tip) in image axes (x right, y down); 0 off hair.
    depth : (S, S) float32
        HairStep depth: min-max normalised to [0, 1] inside the hair, larger = closer, 0 off.
    depth_m : (S, S) float32
        World z of the visible hair surface, metres (larger = closer), NaN off hair.
    """

    direction: np.ndarray
    depth: np.ndarray
    depth_m: np.ndarray


def _resize(a: np.ndarray, size: int) -> np.ndarray:
    if a.shape[0] == size and a.shape[1] == size:
        return a.astype(np.float32)
    return cv2.resize(a.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)


def hair_map_inputs(
    mask: np.ndarray,
    orientation: np.ndarray,
    confidence: np.ndarray,
    face_depth_m: np.ndarray,
    body: np.ndarray,
    size: int = 128,
) -> np.ndarray:
    """The network's input tensor for one crop.

    Parameters
    ----------
    mask : (S, S) bool
        Hair mask.
    orientation : (S, S) float
        Undirected Gabor angle, radians, ``[0, pi)`` from +x toward +y.
    confidence : (S, S) float
        Gabor confidence.
    face_depth_m : (S, S) float
        World z of the face mesh, metres, NaN off the face.
    body : (S, S) bool
        Person without the hair.
    size : int
        Network input side, pixels.

    Returns
    -------
    (N_INPUTS, size, size) float32
        Channels as in the module docstring.
    """
    m = as_mask(mask, "mask").astype(np.float32)
    shape = m.shape
    if m.ndim != 2 or shape[0] != shape[1]:
        raise InputError(f"mask must be square (S, S), got {shape}")
    theta = np.nan_to_num(np.asarray(orientation, np.float32))
    conf = np.nan_to_num(np.asarray(confidence, np.float32))
    face_z = np.asarray(face_depth_m, np.float32)
    for name, a in (("orientation", theta), ("confidence", conf), ("face_depth_m", face_z)):
        if a.shape != shape:
            raise InputError(f"{name} shape {a.shape} does not match the mask's {shape}")
    hair = m > 0
    scale = float(np.percentile(conf[hair], 90)) if hair.any() else 0.0
    conf_n = np.clip(conf / scale, 0.0, 2.0) if scale > 0 else np.zeros_like(conf)
    face = np.isfinite(face_z)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    coord = (np.stack([xx, yy]) + 0.5) / size * 2.0 - 1.0
    chans = [
        m,
        np.cos(2 * theta) * m,
        np.sin(2 * theta) * m,
        conf_n * m,
        face.astype(np.float32),
        np.where(face, face_z / DEPTH_SCALE_M, 0.0),
        as_mask(body, "body", shape).astype(np.float32),
    ]
    out = np.stack([_resize(c, size) for c in chans] + [coord[0], coord[1]])
    return np.ascontiguousarray(out, np.float32)


@functools.lru_cache(maxsize=1)
def model_metadata() -> dict:
    """The shipped model's metadata (``hair_maps.json``), or ``{}`` without one."""
    if METADATA_PATH.exists():
        return json.loads(METADATA_PATH.read_text(encoding="utf-8"))
    return {}


def model_available(model_path: str | Path | None = None) -> bool:
    """Whether the learned hair-maps network file exists."""
    return Path(model_path or MODEL_PATH).exists()


def _session(model_path: Path, threads: int):
    return onnx_session(model_path, threads, "learned hair-maps")


def blend_orientation(
    direction: np.ndarray, orientation: np.ndarray, confidence: np.ndarray, mask: np.ndarray
) -> np.ndarray:
    """Sharpen the network's direction with the full-resolution Gabor orientation.

    The two undirected orientations are averaged in double-angle space, Gabor's weighted by its
    confidence over its 90th percentile in the hair (clipped to [0, 2]), the network's by 1;
    the result takes the network's growth sign. Returns (S, S, 2) unit vectors, 0 off ``mask``.
    """
    m = as_mask(mask, "mask")
    theta = np.nan_to_num(np.asarray(orientation, np.float32))
    conf = np.nan_to_num(np.asarray(confidence, np.float32))
    p90 = float(np.percentile(conf[m], 90)) if m.any() else 0.0
    wg = np.clip(conf / p90, 0.0, 2.0) if p90 > 0 else np.zeros_like(conf)
    a = np.arctan2(direction[..., 1], direction[..., 0])
    phi = 0.5 * np.arctan2(
        np.sin(2 * a) + wg * np.sin(2 * theta), np.cos(2 * a) + wg * np.cos(2 * theta)
    )
    t = np.stack([np.cos(phi), np.sin(phi)], -1)
    sign = np.sign((t * direction).sum(-1, keepdims=True))
    return np.where(m[..., None], np.where(sign == 0, 1.0, sign) * t, 0.0).astype(np.float32)


def decode_outputs(raw: np.ndarray, mask: np.ndarray) -> LearnedHairMaps:
    """Turn the network's ``(3, s, s)`` output into crop-sized maps inside ``mask``."""
    from monoscan.hair.depth import normalize_depth

    m = as_mask(mask, "mask")
    size = m.shape[0]
    up = [
        cv2.resize(
            np.ascontiguousarray(c, np.float32), (size, size), interpolation=cv2.INTER_LINEAR
        )
        for c in raw[:3]
    ]
    d = np.stack(up[:2], axis=-1)
    n = np.linalg.norm(d, axis=-1, keepdims=True)
    d = np.where(n > 1e-6, d / np.maximum(n, 1e-6), np.array([0.0, 1.0], np.float32))
    direction = np.where(m[..., None], d, 0.0).astype(np.float32)
    z = up[2] * DEPTH_SCALE_M
    return LearnedHairMaps(
        direction=direction,
        depth=normalize_depth(z, m),
        depth_m=np.where(m, z, np.nan).astype(np.float32),
    )


def learned_hair_maps(
    mask: np.ndarray,
    orientation: np.ndarray,
    confidence: np.ndarray,
    face_depth_m: np.ndarray,
    body: np.ndarray,
    *,
    model_path: str | Path | None = None,
    threads: int = 2,
    blend: bool = BLEND_GABOR,
) -> LearnedHairMaps:
    """Growth direction and hair depth of one crop from the learned network.

    Parameters are those of :func:`hair_map_inputs` (crop frame, 512 in the pipeline), and
    ``blend``: sharpen the direction with the Gabor orientation (:func:`blend_orientation`).

    Returns
    -------
    LearnedHairMaps

    Raises
    ------
    FileNotFoundError
        Without the model file (``hair_maps.onnx``).
    """
    path = Path(model_path) if model_path is not None else MODEL_PATH
    sess = _session(path, threads)
    size = int(sess.get_inputs()[0].shape[-1] or 128)
    x = hair_map_inputs(mask, orientation, confidence, face_depth_m, body, size)
    raw = sess.run(None, {sess.get_inputs()[0].name: x[None]})[0][0]
    out = decode_outputs(raw, mask)
    if blend:
        d = blend_orientation(out.direction, orientation, confidence, mask)
        out = LearnedHairMaps(direction=d, depth=out.depth, depth_m=out.depth_m)
    return out
