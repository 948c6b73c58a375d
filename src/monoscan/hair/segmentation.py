"""Hair segmentation: which pixels of a photo are hair.

A small encoder-decoder network (MobileNetV2-like blocks, U-Net decoder; trained from scratch
by ``scripts/train_hair_segmentation.py`` on hand-labelled Figaro1k and CelebAMask-HQ masks)
shipped as ONNX weights in ``monoscan/models/hair_seg.onnx`` and run with ONNX Runtime on the
CPU. Any photo works (no face needed): it is zero-padded to a square (centred), resized to the
network's input size, and the hair probability is resized back (bilinear) to the full photo.

All arrays are in the image frame: x right, y down, pixels, row-major ``(H, W)``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.onnx import onnx_session
from monoscan.core.photo import check_rgb

__all__ = [
    "METADATA_PATH",
    "MODEL_PATH",
    "PERSON_FLOOR",
    "PIECE_ON_PERSON",
    "HairSegmentation",
    "hair_on_person",
    "Letterbox",
    "letterbox",
    "model_metadata",
    "person_gate_map",
    "segment_hair",
    "unletterbox",
]

MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "hair_seg.onnx"
METADATA_PATH = MODEL_PATH.with_suffix(".json")

#: Used when ``hair_seg.json`` is absent (it is written by the training script).
_DEFAULT_METADATA = {
    "input_size": 256,
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
    "threshold": 0.5,
}


@dataclass(frozen=True)
class HairSegmentation:
    """Hair segmentation of one photo.

    Attributes
    ----------
    probability : (H, W) float32
        Probability in [0, 1] that each pixel is hair, at the photo's full size.
    mask : (H, W) bool
        ``probability >= threshold``.
    threshold : float
        The threshold used for ``mask``.
    """

    probability: np.ndarray
    mask: np.ndarray
    threshold: float

    @property
    def mask_u8(self) -> np.ndarray:
        """The mask as uint8, 255 = hair, 0 = not hair (the ``hair_mask.png`` encoding)."""
        return self.mask.astype(np.uint8) * 255

    @property
    def area_fraction(self) -> float:
        """Fraction of the photo's pixels that are hair."""
        return float(self.mask.mean()) if self.mask.size else 0.0


@dataclass(frozen=True)
class Letterbox:
    """How a photo was placed in the network's square input.

    The photo (``height`` x ``width``) sits at (``top``, ``left``) inside a zero square of side
    ``side`` pixels (photo pixels), which is resized to ``size`` x ``size``.
    """

    height: int
    width: int
    side: int
    top: int
    left: int
    size: int


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """Zero-pad ``image`` to a centred square and resize it to ``size`` x ``size``.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array
        uint8 or float32 pixels.
    size : int
        Side of the output square, pixels.

    Returns
    -------
    square : (size, size[, C]) array
        Same dtype as ``image``; area interpolation when shrinking, bilinear when enlarging.
    box : Letterbox
        The placement, for :func:`unletterbox`.
    """
    h, w = image.shape[:2]
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    padded = cv2.copyMakeBorder(
        np.ascontiguousarray(image),
        top,
        side - h - top,
        left,
        side - w - left,
        cv2.BORDER_CONSTANT,
        value=0,
    )
    if padded.ndim == 2 and image.ndim == 3:  # cv2 drops a single channel axis
        padded = padded[:, :, None]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    square = cv2.resize(padded, (size, size), interpolation=interp)
    if square.ndim == 2 and image.ndim == 3:
        square = square[:, :, None]
    return square, Letterbox(int(h), int(w), int(side), int(top), int(left), int(size))


def unletterbox(square: np.ndarray, box: Letterbox) -> np.ndarray:
    """Map a ``(size, size)`` float map back onto the photo: ``(height, width)``, bilinear.

    Inverse of :func:`letterbox` for one-channel maps (pixel centres aligned as ``cv2.resize``
    aligns them); the padding is cropped away.
    """
    s = box.size / box.side
    # Output pixel (x, y) of the photo samples the square at ((x + left + .5) * s - .5, ...).
    m = np.array([[s, 0.0, (box.left + 0.5) * s - 0.5], [0.0, s, (box.top + 0.5) * s - 0.5]])
    return cv2.warpAffine(
        np.ascontiguousarray(square, dtype=np.float32),
        m,
        (box.width, box.height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


@functools.lru_cache(maxsize=1)
def model_metadata() -> dict:
    """The shipped model's metadata (``hair_seg.json``): input size, normalisation, threshold,
    training command, validation IoUs."""
    meta = dict(_DEFAULT_METADATA)
    if METADATA_PATH.exists():
        meta.update(json.loads(METADATA_PATH.read_text(encoding="utf-8")))
    return meta


def _session(model_path: Path, threads: int):
    return onnx_session(model_path, threads, "hair segmentation")


def _normalise(square: np.ndarray, meta: dict) -> np.ndarray:
    mean = np.asarray(meta["mean"], np.float32) * 255.0
    std = np.asarray(meta["std"], np.float32) * 255.0
    x = (square.astype(np.float32) - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


#: Hair must belong to a person: with a person probability map, pixels below this are not hair.
#: Low on purpose: MediaPipe's selfie segmenter is unsure at the edges of voluminous hair, and
#: the gate is only there to remove hair-like background (wood, fur, dark shadows).
PERSON_FLOOR = 0.05
#: :func:`hair_on_person`: a connected piece of hair is kept whole when at least this fraction
#: of it lies on the person (close-ups of braids: 0.14-0.31 on Figaro1k; grass, gravel, the
#: moon and a deep-sky photo: 0.01-0.07; a plain grey image: 0).
PIECE_ON_PERSON = 0.1


def hair_on_person(
    hair_mask: np.ndarray, person: np.ndarray, min_fraction: float = PIECE_ON_PERSON
) -> np.ndarray:
    """The connected pieces of a hair mask that lie on a person, each kept whole.

    For photos without a face, where the network alone calls textures (grass, noise, a plain
    grey wall) hair: a piece (8-connected) is kept when at least ``min_fraction`` of its pixels
    have a person probability of :data:`PERSON_FLOOR` or more; unlike the per-pixel gate of
    :func:`segment_hair`, it keeps the hair of a close-up that the person segmenter only
    partly sees.

    Parameters
    ----------
    hair_mask : (H, W) bool
        Hair, e.g. ``segment_hair(rgb).mask``.
    person : (H, W) float
        Person probability (:func:`monoscan.perception.person.segment_person`).
    min_fraction : float
        Fraction of a piece that must lie on the person.

    Returns
    -------
    (H, W) bool
    """
    hair = np.asarray(hair_mask, bool)
    on = np.asarray(person, np.float32) >= PERSON_FLOOR
    if on.shape != hair.shape:
        raise InputError(f"person shape {on.shape} does not match the hair mask's {hair.shape}")
    n, labels = cv2.connectedComponents(hair.astype(np.uint8), connectivity=8)
    if n <= 1:
        return hair.copy()
    total = np.bincount(labels.ravel(), minlength=n)
    on_person = np.bincount(labels[on].ravel(), minlength=n)
    keep = on_person >= min_fraction * np.maximum(total, 1)
    keep[0] = False
    return keep[labels]


def person_gate_map(rgb: np.ndarray, mode: str = "auto") -> np.ndarray | None:
    """The person probability to gate :func:`segment_hair` with, or None for no gate.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        The photo.
    mode : {"auto", "on", "off"}
        "auto": gate only photos in which MediaPipe finds a face (photos of people; close-ups
        of hair have none); "on": always; "off": never.

    Returns
    -------
    (H, W) float32 or None
        :func:`monoscan.perception.person.segment_person` of the photo, or None.
    """
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"mode must be 'auto', 'on' or 'off', got {mode!r}")
    if mode == "off":
        return None
    from monoscan.core.quiet import native_stderr_silenced
    from monoscan.perception.face import detect_faces
    from monoscan.perception.person import segment_person

    rgb = check_rgb(rgb)
    with native_stderr_silenced():
        if mode == "auto" and not detect_faces(rgb):
            return None
        return segment_person(rgb)


def segment_hair(
    rgb: np.ndarray,
    *,
    person: np.ndarray | None = None,
    threshold: float | None = None,
    threads: int = 1,
    flip: bool = True,
    model_path: str | Path | None = None,
) -> HairSegmentation:
    """Segment the hair in a photo.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        The photo, RGB, any size and aspect ratio; no face is needed.
    person : (H, W) float array, optional
        Person probability of the same photo
        (:func:`monoscan.perception.person.segment_person`). Where it is below
        :data:`PERSON_FLOOR` the hair probability is set to 0. Use it for photos of people
        (portraits): it removes hair-coloured, hair-textured background. Leave it out for
        close-ups of hair, which the person segmenter does not recognise.
    threshold : float, optional
        Probability at or above which a pixel is hair (default: the model's, 0.5).
    threads : int
        ONNX Runtime intra-op threads (default 1). One session per (model, threads) is created
        on first use and reused.
    flip : bool
        Also run the mirrored photo and average the two probabilities (default True; about
        twice the network time, slightly more accurate and left/right symmetric).
    model_path : path, optional
        Another ONNX model with the same input/output contract (default: the shipped one).

    Returns
    -------
    HairSegmentation
        ``probability`` (H, W) float32 in [0, 1] and ``mask`` (H, W) bool at the photo's size.

    Raises
    ------
    InputError
        ``rgb`` is not an (H, W, 3) uint8 array.

    Examples
    --------
    >>> import numpy as np
    >>> seg = segment_hair(np.zeros((120, 90, 3), np.uint8))
    >>> seg.mask.shape
    (120, 90)
    """
    rgb = check_rgb(rgb)
    meta = model_metadata()
    thr = float(meta["threshold"] if threshold is None else threshold)
    size = int(meta["input_size"])
    sess = _session(Path(model_path) if model_path is not None else MODEL_PATH, threads)
    square, box = letterbox(rgb, size)
    inp = sess.get_inputs()[0].name
    x = _normalise(square, meta)
    if flip:
        x = np.concatenate([x, x[..., ::-1]])
    out = sess.run(None, {inp: np.ascontiguousarray(x)})[0]
    prob_sq = out[0, 0] if not flip else 0.5 * (out[0, 0] + out[1, 0, :, ::-1])
    prob = np.clip(unletterbox(prob_sq, box), 0.0, 1.0)
    if person is not None:
        person = np.asarray(person)
        if person.shape != prob.shape:
            raise InputError(
                f"person map shape {person.shape} differs from the photo's {prob.shape}"
            )
        prob[person < PERSON_FLOOR] = 0.0
    return HairSegmentation(probability=prob, mask=prob >= thr, threshold=thr)
