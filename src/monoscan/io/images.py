"""Image input that never surprises, and PNG output.

:func:`load_image` accepts JPEG, PNG, WebP, TIFF and BMP files (or arrays), applies the EXIF
orientation, composites transparency onto white, and converts grayscale, palette, 16-bit and
CMYK images to 8-bit RGB. Everything a user can get wrong raises :class:`InputError` with a
one-line message.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import warnings
from pathlib import Path

import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.photo import Photo
from monoscan.core.quiet import native_stderr_silenced
from monoscan.io.atomic import write_bytes

__all__ = ["MAX_PIXELS", "SUPPORTED_SUFFIXES", "load_image", "save_jpeg", "save_png"]

#: Largest accepted image, in pixels (width * height): 100 megapixels. Larger files are refused
#: before decoding, which also stops decompression bombs (a small file that decodes to gigabytes).
MAX_PIXELS = 100_000_000

SUPPORTED_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")


def load_image(source: str | os.PathLike | np.ndarray | Photo) -> Photo:
    """Read a photo from a file or take it from an array.

    Parameters
    ----------
    source : path, ndarray or Photo
        A file path, an (H, W), (H, W, 3) or (H, W, 4) array (uint8 or uint16; RGB order), or
        a Photo (returned as is).

    Returns
    -------
    Photo
        8-bit RGB pixels with EXIF orientation applied.

    Raises
    ------
    InputError
        Missing or unreadable file, not an image, truncated file, zero-size image, or more than
        :data:`MAX_PIXELS` pixels.
    """
    if isinstance(source, Photo):
        return source
    if isinstance(source, np.ndarray):
        rgb, notes = _array_to_rgb(source, "array")
        return Photo(
            rgb=rgb,
            sha256=hashlib.sha256(np.ascontiguousarray(rgb)).hexdigest(),
            notes=tuple(notes),
        )
    path = Path(source)
    try:
        path.stat()
    except OSError as exc:
        reason = {errno.ENOENT: "no such file", errno.ELOOP: "symbolic link loop"}.get(
            exc.errno, f"cannot read file ({exc.strerror or exc})"
        )
        raise InputError(f"{path}: {reason}") from None
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an image")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if not data:
        raise InputError(f"{path}: empty file, not an image")
    rgb, notes = _decode(data, str(path))
    return Photo(rgb=rgb, path=path, sha256=hashlib.sha256(data).hexdigest(), notes=tuple(notes))


def _decode(data: bytes, name: str) -> tuple[np.ndarray, list[str]]:
    try:
        return _decode_pillow(data, name)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        # Damaged files make the decoders fail in many ways (OSError, SyntaxError, struct.error,
        # IndexError, ...); whatever the decoder says, the file is what is wrong.
        detail = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise InputError(f"{name}: truncated or corrupt image file ({detail})") from None


def _decode_pillow(data: bytes, name: str) -> tuple[np.ndarray, list[str]]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        # Decoder warnings (damaged EXIF, say) become notes instead of lines on the terminal.
        warnings.simplefilter("always")
        # Pillow warns (and above 2x raises) for large images; we apply our own limit first.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        old_limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            try:
                img = Image.open(io.BytesIO(data))
            except (UnidentifiedImageError, SyntaxError, ValueError):
                if 0 in (_png_size(data) or (1, 1)):
                    raise InputError(f"{name}: zero-size image") from None
                raise InputError(f"{name}: not an image file (unrecognised format)") from None
            w, h = img.size
            if w == 0 or h == 0:
                raise InputError(f"{name}: zero-size image ({w}x{h})")
            if w * h > MAX_PIXELS:
                raise InputError(
                    f"{name}: image too large ({w}x{h} = {w * h / 1e6:.0f} MP; "
                    f"the limit is {MAX_PIXELS / 1e6:.0f} MP)"
                )
            try:
                img.load()
            except (OSError, SyntaxError, ValueError) as exc:
                msg = str(exc)
                if "truncated" in msg or "broken data stream" in msg or "EOF" in msg:
                    raise InputError(f"{name}: truncated or corrupt image file") from None
                # Formats Pillow cannot decode (e.g. 16-bit colour TIFF): try OpenCV.
                return _decode_cv2(data, name)
            orientation = img.getexif().get(0x0112, 1)
            if orientation not in (1, None):
                img = ImageOps.exif_transpose(img)
                notes.append(f"EXIF orientation {orientation} applied")
            mode = img.mode
            if mode == "CMYK":
                img = img.convert("RGB")
                notes.append("converted from CMYK")
            elif mode == "P":
                img = img.convert("RGBA")
                notes.append("converted from palette")
            elif mode in ("LA", "PA"):
                img = img.convert("RGBA")
            elif mode in ("YCbCr", "LAB", "HSV", "1"):
                img = img.convert("RGB")
                notes.append(f"converted from {mode}")
            arr = np.asarray(img)
        finally:
            Image.MAX_IMAGE_PIXELS = old_limit
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        notes.append(f"converted from {mode} (high bit depth grayscale)")
    rgb, more = _array_to_rgb(arr, name)
    said = dict.fromkeys(" ".join(str(w.message).split()) for w in caught)
    return rgb, notes + more + [f"decoder warning: {w}" for w in said]


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG header (Pillow refuses zero-size PNGs before telling us)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def _decode_cv2(data: bytes, name: str) -> tuple[np.ndarray, list[str]]:
    import cv2

    buf = np.frombuffer(data, np.uint8)
    with native_stderr_silenced():  # libpng/libtiff print their complaints to fd 2
        arr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if arr is None:
        raise InputError(f"{name}: cannot decode image (corrupt or unsupported variant)")
    if arr.ndim == 3:  # OpenCV gives BGR(A)
        arr = arr[..., [2, 1, 0, 3]] if arr.shape[2] == 4 else arr[..., ::-1]
    rgb, notes = _array_to_rgb(np.ascontiguousarray(arr), name)
    return rgb, ["decoded with OpenCV", *notes]


def _array_to_rgb(arr: np.ndarray, name: str) -> tuple[np.ndarray, list[str]]:
    """Bring an image array of any common layout and depth to (H, W, 3) uint8 RGB."""
    notes: list[str] = []
    if arr.ndim not in (2, 3) or arr.size == 0 or min(arr.shape[:2]) == 0:
        raise InputError(f"{name}: expected an (H, W[, C]) image, got shape {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] not in (1, 3, 4):
        raise InputError(f"{name}: expected 1, 3 or 4 channels, got {arr.shape[2]}")
    if arr.dtype == np.uint8:
        a = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        a = arr.astype(np.float32) / 65535.0
        notes.append("converted from 16-bit")
    elif arr.dtype in (np.int32, np.uint32, np.int64):
        hi = float(arr.max()) if arr.max() > 0 else 1.0
        # 16-bit data stored in 32-bit integers (Pillow mode "I").
        a = arr.astype(np.float32) / (65535.0 if hi <= 65535 else hi)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise InputError(f"{name}: image contains NaN or infinite values")
        a = arr.astype(np.float32)
        if a.max() > 1.0:
            a = a / a.max()
    elif arr.dtype == bool:
        a = arr.astype(np.float32)
    else:
        raise InputError(f"{name}: unsupported pixel type {arr.dtype}")
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
        notes.append("grayscale expanded to RGB")
    elif a.shape[2] == 4:
        alpha = a[..., 3:4]
        if float(alpha.min()) < 1.0:
            notes.append("transparency composited onto white")
        a = a[..., :3] * alpha + (1.0 - alpha)
    rgb = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(rgb), notes


def save_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write a uint8 (H, W) gray or (H, W, 3) RGB image (or a bool mask as 0/255) as PNG,
    atomically."""
    return write_bytes(path, _encode(image, ".png"))


def save_jpeg(path: str | os.PathLike, image: np.ndarray, quality: int = 92) -> Path:
    """Write a uint8 RGB image as JPEG, atomically."""
    import cv2

    return write_bytes(path, _encode(image, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, int(quality)]))


def _encode(image: np.ndarray, ext: str, params: list[int] | None = None) -> bytes:
    import cv2

    img = np.asarray(image)
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.dtype != np.uint8:
        raise InputError(f"cannot write {img.dtype} image as {ext}: expected uint8")
    if img.ndim == 3 and img.shape[2] == 3:
        img = img[..., ::-1]  # OpenCV writes BGR
    elif img.ndim == 3 and img.shape[2] == 4:
        img = img[..., [2, 1, 0, 3]]
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(img), params or [])
    if not ok:
        raise InputError(f"cannot encode image of shape {img.shape} as {ext}")
    return buf.tobytes()
