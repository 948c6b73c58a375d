"""Read and write the HiSa / HiDa layout of HairStep (CVPR 2023).

One sample ``NAME`` is spread over these files under the dataset root::

    img/NAME.png                          RGB image, 512x512
    seg/NAME.png                          hair mask (255 = hair)
    body_img/NAME.png                     body mask (255 = body)
    stroke/NAME.svg                       artist strokes; each curve runs root -> tip
    strand_map/NAME.png                   strand map (monoscan.hair.strand_map encoding)
    camera_param/NAME.npy                 dict {'ortho_ratio', 'scale', 'center', 'R'}
    relative_depth/pairs/NAME.npy         (N, 4) pixel pairs (x_A, y_A, x_B, y_B)
    relative_depth/labels/NAME.npy        (N,) +1: A closer, -1: B closer, 0: no order
    dense_depth_pred/depth_map/NAME.npy   float32 (512, 512), 0-1, closer = bigger
    split_train.json, split_test.json     JSON lists of sample names

Every file is optional except the image. Facts not published with HiDa and fixed here:
the column order of the pairs (``x_A, y_A, x_B, y_B``, the order of HairStep's ranking
criterion; pass ``pair_order="yx"`` for ``y_A, x_A, y_B, x_B``), the label sign (+1 when
pixel A is closer, matching ``MarginRankingLoss(z_A, z_B, label)`` on closer-bigger depth),
and split entries (names with or without an extension are accepted; written without).

``camera_param`` files are NumPy pickles of a dict (HairStep writes them with ``np.save``);
they are read with a restricted unpickler that only rebuilds NumPy arrays, so a hostile file
cannot run code.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import pickle
import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np

from monoscan.core.errors import FormatError, InputError, MonoscanError
from monoscan.io.atomic import atomic_path, write_text
from monoscan.io.maps import (
    decode_strand_map,
    encode_strand_map,
    read_npy,
    read_npy_header,
    save_npy,
)

__all__ = [
    "HisaSample",
    "list_samples",
    "parse_svg_strokes",
    "rasterize_strokes",
    "read_camera",
    "read_relative_depth",
    "read_sample",
    "read_split",
    "strokes_to_strand_map",
    "strokes_to_svg",
    "write_camera",
    "write_sample",
    "write_split",
]

SUBDIRS = {
    "image": "img",
    "hair_mask": "seg",
    "body_mask": "body_img",
    "strokes": "stroke",
    "strand_map": "strand_map",
    "camera": "camera_param",
    "pairs": "relative_depth/pairs",
    "labels": "relative_depth/labels",
    "depth": "dense_depth_pred/depth_map",
}

#: Largest image accepted (HiSa images are 512 x 512); refuses headers claiming giant images.
MAX_IMAGE_PIXELS = 8192 * 8192


@dataclass(frozen=True)
class HisaSample:
    """One HiSa / HiDa sample; fields are None when the file is absent.

    Attributes
    ----------
    name : str
        File stem shared by all the sample's files.
    image : (H, W, 3) uint8
    hair_mask, body_mask : (H, W) bool
    strokes : list of (N_i, 2) float arrays
        Artist strokes in pixels (x right, y down), each ordered root to tip.
    strand_map : (H, W, 3) uint8
        HairStep encoding (decode with :func:`monoscan.hair.strand_map.decode_strand_map`).
    camera : dict
        ``ortho_ratio`` (float), ``scale`` (1,), ``center`` (3, 1), ``R`` (3, 3) arrays.
    pairs : (N, 4) int64 and labels : (N,) int64
        Relative depth annotation (conventions in the module docstring).
    depth : (H, W) float32
        Dense normalised depth, 0-1, closer = bigger.
    """

    name: str
    image: np.ndarray | None = None
    hair_mask: np.ndarray | None = None
    body_mask: np.ndarray | None = None
    strokes: list[np.ndarray] | None = None
    strand_map: np.ndarray | None = None
    camera: dict | None = None
    pairs: np.ndarray | None = None
    labels: np.ndarray | None = None
    depth: np.ndarray | None = None

    @property
    def direction(self) -> np.ndarray | None:
        """Growth directions (H, W, 2) decoded from the strand map (None without one)."""
        return None if self.strand_map is None else decode_strand_map(self.strand_map)[0]


# --------------------------------------------------------------------------- files


def _path(root: Path, key: str, name: str) -> Path:
    ext = {
        "strokes": ".svg",
        "camera": ".npy",
        "pairs": ".npy",
        "labels": ".npy",
        "depth": ".npy",
    }.get(key, ".png")
    return Path(root) / SUBDIRS[key] / f"{name}{ext}"


def read_png(path: Path, gray: bool) -> np.ndarray:
    """Read a sample image (RGB uint8) or, with ``gray``, a mask (bool, first channel > 127).

    The header is checked first (size at most :data:`MAX_IMAGE_PIXELS`, chunk checksums), so
    a corrupted file fails at once instead of costing seconds or gigabytes in the decoder.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    _check_image_header(data, path)
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise FormatError(f"{path}: not a readable image ({_first_line(exc)})") from None
    if img is None or img.size == 0:
        raise FormatError(f"{path}: not a readable image")
    if gray:
        return (img if img.ndim == 2 else img[..., 0]) > 127
    if img.ndim == 2:
        img = np.stack([img] * 3, -1)
    if img.dtype != np.uint8:
        raise FormatError(f"{path}: expected an 8-bit image, got {img.dtype}")
    return cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2RGB)


def _check_image_header(data: bytes, path: Path) -> None:
    from PIL import Image

    if not data:
        raise FormatError(f"{path}: empty image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    raise FormatError(
                        f"{path}: image claims {w} x {h} pixels, more than {MAX_IMAGE_PIXELS}"
                    )
                im.verify()  # chunk lengths and checksums, without decoding
    except FormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad files
        raise FormatError(f"{path}: not a readable image ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def _write_png(path: Path, img: np.ndarray) -> None:
    a = np.asarray(img)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.ndim == 3:
        a = cv2.cvtColor(a, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", a)
    if not ok:
        raise InputError(f"cannot encode {path.name} as PNG")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())


def load_npy(path: Path) -> np.ndarray:
    """Read a ``.npy`` array (no pickles; header checked against the file size)."""
    return read_npy(path)


def _numeric(a: np.ndarray, path: Path, what: str, kinds: str = "iuf") -> np.ndarray:
    """``a`` as float64 if it is a finite numeric array, else :class:`FormatError`."""
    if a.dtype.kind not in kinds or a.dtype.fields is not None:
        raise FormatError(f"{path}: {what} must be numbers, got dtype {a.dtype}")
    out = a.astype(np.float64)
    if not np.isfinite(out).all():
        raise FormatError(f"{path}: {what} contain NaN or infinite values")
    return out


def list_samples(root: str | os.PathLike) -> list[str]:
    """Names of the samples under ``root`` (stems of ``img/*.png``), sorted."""
    d = Path(root) / SUBDIRS["image"]
    if not d.is_dir():
        raise InputError(f"{root}: not a HiSa dataset (no {SUBDIRS['image']}/ folder)")
    return sorted(p.stem for p in d.glob("*.png"))


def read_split(root: str | os.PathLike, split: str) -> list[str]:
    """Sample names of ``split_<split>.json`` (``train`` or ``test``), extensions stripped."""
    path = Path(root) / f"split_{split}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such split file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise FormatError(f"{path}: JSON nested too deeply") from None
    if isinstance(data, dict):  # tolerate {"names": [...]} style files
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
        raise FormatError(f"{path}: expected a JSON list of sample names")
    return [Path(s).stem if Path(s).suffix.lower() in (".png", ".jpg", ".npy") else s for s in data]


def write_split(root: str | os.PathLike, split: str, names: list[str]) -> Path:
    """Write ``split_<split>.json`` (a JSON list of names)."""
    return write_text(Path(root) / f"split_{split}.json", json.dumps(list(names), indent=1))


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds NumPy arrays and scalars (no arbitrary code)."""

    _ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_camera(path: str | os.PathLike) -> dict:
    """Read a HairStep ``camera_param`` .npy (a pickled dict) safely.

    Returns
    -------
    dict
        ``ortho_ratio`` float, ``scale`` (1,), ``center`` (3, 1), ``R`` (3, 3) float arrays
        (HairStep's orthographic camera: pixel = ``(R @ (X - center)) * scale / ortho_ratio``
        in units of half the 1024 render, see its ``opt_lmk.py``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with open(path, "rb") as fh:
            _, _, dtype = read_npy_header(fh, path)
            obj = _ArrayUnpickler(fh).load() if dtype.hasobject else None
    except MonoscanError:
        raise
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # noqa: BLE001 - a corrupted pickle fails in many ways
        raise FormatError(f"{path}: not a camera_param file ({_first_line(exc)})") from None
    if obj is None:
        obj = read_npy(path)
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        obj = obj.item()
    if not isinstance(obj, dict) or not {"scale", "center", "R"} <= set(obj):
        raise FormatError(f"{path}: expected a dict with 'scale', 'center' and 'R'")
    cam = {}
    for key, size, shape in (("ortho_ratio", 1, (1,)), ("scale", 1, (1,)), ("center", 3, (3, 1)),
                             ("R", 9, (3, 3))):  # fmt: skip
        try:
            value = np.asarray(obj.get(key, 0.2), dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise FormatError(f"{path}: camera '{key}' is not numeric") from None
        if value.size != size:
            raise FormatError(f"{path}: camera '{key}' has {value.size} values, expected {size}")
        cam[key] = value.reshape(shape)
    if not all(np.isfinite(v).all() for v in cam.values()):
        raise FormatError(f"{path}: camera contains NaN or infinite values")
    cam["ortho_ratio"] = float(cam["ortho_ratio"][0])
    return cam


def write_camera(path: str | os.PathLike, camera: dict) -> Path:
    """Write a camera dict as HairStep does (``np.save`` of a dict, float32 arrays)."""
    missing = {"scale", "center", "R"} - set(camera)
    if missing:
        raise InputError(f"camera lacks {sorted(missing)}")
    obj = {
        "ortho_ratio": float(camera.get("ortho_ratio", 0.2)),
        "scale": np.asarray(camera["scale"], np.float32).reshape(1),
        "center": np.asarray(camera["center"], np.float32).reshape(3, 1),
        "R": np.asarray(camera["R"], np.float32).reshape(3, 3),
    }
    save_npy(Path(path), np.array(obj, dtype=object), allow_pickle=True)
    return Path(path)


def read_relative_depth(
    pairs_path: str | os.PathLike, labels_path: str | os.PathLike, pair_order: str = "xy"
) -> tuple[np.ndarray, np.ndarray]:
    """Read relative-depth pairs (N, 4) ``(x_A, y_A, x_B, y_B)`` and labels (N,) in {-1, 0, 1}.

    ``pair_order="yx"`` reads files whose columns are ``(y_A, x_A, y_B, x_B)``. Labels stored
    as {0, 1} are read as {-1, +1} (1: A closer).
    """
    pairs_path, labels_path = Path(pairs_path), Path(labels_path)
    pairs = _numeric(load_npy(pairs_path), pairs_path, "pixel pairs")
    labels = _numeric(load_npy(labels_path), labels_path, "labels", "biuf").reshape(-1)
    if pairs.ndim == 3 and pairs.shape[1:] == (2, 2):
        pairs = pairs.reshape(-1, 4)
    if pairs.ndim != 2 or pairs.shape[1] != 4:
        raise FormatError(f"{pairs_path}: expected (N, 4) pixel pairs, got {pairs.shape}")
    if pairs.size and not (pairs.min() >= 0 and pairs.max() < 2**31):
        raise FormatError(f"{pairs_path}: pixel coordinates must lie in 0..2**31")
    if len(labels) != len(pairs):
        raise FormatError(f"{labels_path}: {len(labels)} labels for {len(pairs)} pairs")
    if pair_order == "yx":
        pairs = pairs[:, [1, 0, 3, 2]]
    elif pair_order != "xy":
        raise InputError(f"pair_order must be 'xy' or 'yx', got {pair_order!r}")
    if labels.size and np.abs(labels).max() > 1.5:
        raise FormatError(f"{labels_path}: labels must be -1, 0 or 1")
    labels = np.rint(labels).astype(np.int64)
    if labels.size and set(np.unique(labels)) <= {0, 1} and (labels == 0).any():
        labels = np.where(labels == 1, 1, -1)
    if not set(np.unique(labels)) <= {-1, 0, 1}:
        raise FormatError(f"{labels_path}: labels must be -1, 0 or 1")
    return np.rint(pairs).astype(np.int64), labels


def read_sample(root: str | os.PathLike, name: str, pair_order: str = "xy") -> HisaSample:
    """Read every file of sample ``name`` that exists (see :class:`HisaSample`)."""
    root = Path(root)
    img_path = _path(root, "image", name)
    if not img_path.is_file():
        raise InputError(f"{img_path}: no such sample image")
    image = read_png(img_path, gray=False)
    shape = image.shape[:2]
    fields: dict = {"name": name, "image": image}

    def same_size(p: Path, a: np.ndarray) -> np.ndarray:
        if a.shape[:2] != shape:
            raise FormatError(
                f"{p}: size {a.shape[1]} x {a.shape[0]} differs from the image {img_path} "
                f"({shape[1]} x {shape[0]})"
            )
        return a

    for key, gray in (("hair_mask", True), ("body_mask", True), ("strand_map", False)):
        p = _path(root, key, name)
        if p.is_file():
            fields[key] = same_size(p, read_png(p, gray))
    p = _path(root, "strokes", name)
    if p.is_file():
        try:
            text = p.read_bytes().decode("utf-8", errors="replace")
            fields["strokes"] = parse_svg_strokes(text, shape=shape)
        except OSError as exc:
            raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
        except FormatError as exc:
            raise FormatError(f"{p}: {exc}") from None
    p = _path(root, "camera", name)
    if p.is_file():
        fields["camera"] = read_camera(p)
    pp, lp = _path(root, "pairs", name), _path(root, "labels", name)
    if pp.is_file() and lp.is_file():
        fields["pairs"], fields["labels"] = read_relative_depth(pp, lp, pair_order)
    p = _path(root, "depth", name)
    if p.is_file():
        with np.errstate(over="ignore"):  # overflow -> inf -> refused below
            d = _numeric(load_npy(p), p, "depth values").astype(np.float32)
        if d.ndim != 2:
            raise FormatError(f"{p}: expected an (H, W) depth map, got {d.shape}")
        if not np.isfinite(d).all():
            raise FormatError(f"{p}: depth values overflow float32")
        fields["depth"] = same_size(p, d)
    return HisaSample(**fields)


def write_sample(root: str | os.PathLike, sample: HisaSample) -> list[Path]:
    """Write the non-None fields of ``sample`` in the HiSa layout; returns the files written."""
    root = Path(root)
    name = sample.name
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise InputError(f"invalid sample name {name!r}")
    written = []
    for key in ("image", "hair_mask", "body_mask", "strand_map"):
        val = getattr(sample, key)
        if val is not None:
            p = _path(root, key, name)
            _write_png(p, val)
            written.append(p)
    if sample.strokes is not None:
        shape = sample.image.shape[:2] if sample.image is not None else (512, 512)
        p = _path(root, "strokes", name)
        write_text(p, strokes_to_svg(sample.strokes, shape))
        written.append(p)
    if sample.camera is not None:
        written.append(write_camera(_path(root, "camera", name), sample.camera))
    if (sample.pairs is None) != (sample.labels is None):
        raise InputError("pairs and labels must be given together")
    if sample.pairs is not None:
        pairs = np.asarray(sample.pairs, np.int64).reshape(-1, 4)
        labels = np.asarray(sample.labels, np.int64).reshape(-1)
        if len(pairs) != len(labels):
            raise InputError(f"{len(pairs)} pairs but {len(labels)} labels")
        for key, arr in (("pairs", pairs), ("labels", labels)):
            p = _path(root, key, name)
            save_npy(p, arr)
            written.append(p)
    if sample.depth is not None:
        p = _path(root, "depth", name)
        save_npy(p, np.asarray(sample.depth, np.float32))
        written.append(p)
    return written


# --------------------------------------------------------------------------- SVG strokes

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"([MmLlHhVvCcSsQqTtAaZz])|({_NUM})")


def _affine(transform: str | None) -> np.ndarray:
    """3x3 matrix of an SVG ``transform`` attribute (matrix, translate, scale, rotate)."""
    m = np.eye(3)
    if not transform:
        return m
    for op, args in re.findall(r"(\w+)\s*\(([^)]*)\)", transform):
        v = [float(a) for a in re.findall(_NUM, args)]
        t = np.eye(3)
        if op == "matrix" and len(v) == 6:
            t[:2] = [[v[0], v[2], v[4]], [v[1], v[3], v[5]]]
        elif op == "translate" and v:
            t[0, 2], t[1, 2] = v[0], v[1] if len(v) > 1 else 0.0
        elif op == "scale" and v:
            t[0, 0], t[1, 1] = v[0], v[1] if len(v) > 1 else v[0]
        elif op == "rotate" and v:
            a = math.radians(v[0])
            r = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
            if len(v) == 3:
                c1, c2 = np.eye(3), np.eye(3)
                c1[:2, 2], c2[:2, 2] = (v[1], v[2]), (-v[1], -v[2])
                r = c1 @ r @ c2
            t = r
        m = m @ t
    return m


def _bezier(p: list[np.ndarray], n: int) -> np.ndarray:
    t = np.linspace(0, 1, n + 1)[1:, None]
    if len(p) == 3:
        return (1 - t) ** 2 * p[0] + 2 * (1 - t) * t * p[1] + t**2 * p[2]
    return (
        (1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2] + t**3 * p[3]
    )


def _parse_path_d(d: str, samples: int) -> list[np.ndarray]:
    """Polylines of an SVG path ``d`` string (one per subpath), curves sampled."""
    tokens = _TOKEN.findall(d)
    out: list[list[np.ndarray]] = []
    cur = np.zeros(2)
    start = np.zeros(2)
    last_ctrl = None
    cmd = None
    i = 0

    def take(k: int) -> list[float]:
        nonlocal i
        vals = []
        while len(vals) < k:
            if i >= len(tokens) or tokens[i][0]:
                raise FormatError(f"SVG path: command {cmd} lacks numbers")
            vals.append(float(tokens[i][1]))
            i += 1
        return vals

    while i < len(tokens):
        if tokens[i][0]:
            cmd = tokens[i][0]
            i += 1
            if cmd in "Zz":
                if out and len(out[-1]):
                    out[-1].append(start.copy())
                cur = start.copy()
                last_ctrl = None
                continue
        elif cmd is None:
            raise FormatError("SVG path: numbers before the first command")
        rel = cmd.islower()
        base = cur if rel else np.zeros(2)
        c = cmd.upper()
        if c == "M":
            cur = base + take(2)
            start = cur.copy()
            out.append([cur.copy()])
            cmd = "l" if rel else "L"  # further pairs are implicit line-tos
            last_ctrl = None
            continue
        if not out:
            out.append([cur.copy()])
        if c == "L":
            cur = base + take(2)
            out[-1].append(cur.copy())
            last_ctrl = None
        elif c == "H":
            x = take(1)[0]
            cur = np.array([cur[0] + x if rel else x, cur[1]])
            out[-1].append(cur.copy())
            last_ctrl = None
        elif c == "V":
            y = take(1)[0]
            cur = np.array([cur[0], cur[1] + y if rel else y])
            out[-1].append(cur.copy())
            last_ctrl = None
        elif c in "CS":
            if c == "C":
                v = take(6)
                c1 = base + v[0:2]
                rest = v[2:]
            else:
                v = take(4)
                c1 = 2 * cur - last_ctrl if last_ctrl is not None else cur.copy()
                rest = v
            c2, end = base + rest[0:2], base + rest[2:4]
            out[-1].extend(_bezier([cur, c1, c2, end], samples))
            last_ctrl, cur = c2, end
        elif c in "QT":
            if c == "Q":
                v = take(4)
                c1, end = base + v[0:2], base + v[2:4]
            else:
                v = take(2)
                c1 = 2 * cur - last_ctrl if last_ctrl is not None else cur.copy()
                end = base + v
            out[-1].extend(_bezier([cur, c1, end], samples))
            last_ctrl, cur = c1, end
        elif c == "A":  # elliptical arc: approximated by its chord
            v = take(7)
            cur = base + v[5:7]
            out[-1].append(cur.copy())
            last_ctrl = None
    return [np.array(p) for p in out if len(p) >= 2]


def parse_svg_strokes(
    svg_text: str, shape: tuple[int, int] | None = None, samples_per_curve: int = 8
) -> list[np.ndarray]:
    """Strokes of an SVG file as polylines in pixels, root to tip.

    Reads ``<path d>`` (M/L/H/V/C/S/Q/T/A/Z, absolute and relative; curves sampled with
    ``samples_per_curve`` points, arcs by their chord), ``<polyline>``, ``<polygon>`` and
    ``<line>``, applying ``transform`` attributes of the element and its groups. Each curve's
    point order is the artist's stroke order, i.e. the growth direction. With ``shape``
    (height, width) and a ``viewBox``, coordinates are mapped from the view box to that raster.

    Returns
    -------
    list of (N_i, 2) float64
        x right, y down, pixels.

    Raises
    ------
    FormatError
        Not parseable as XML/SVG, or it declares entities (refused).
    """
    if re.search(r"<!ENTITY", svg_text, re.IGNORECASE):
        raise FormatError("SVG declares XML entities; refused")
    try:
        root = ET.fromstring(svg_text)
    except ET.ParseError as exc:
        raise FormatError(f"not a valid SVG/XML file ({exc})") from None
    view = np.eye(3)
    vb = root.get("viewBox")
    if shape is not None and vb:
        v = [float(a) for a in re.findall(_NUM, vb)]
        if len(v) == 4 and v[2] > 0 and v[3] > 0:
            view = np.array(
                [
                    [shape[1] / v[2], 0, -v[0] * shape[1] / v[2]],
                    [0, shape[0] / v[3], -v[1] * shape[0] / v[3]],
                    [0, 0, 1],
                ]
            )
    strokes: list[np.ndarray] = []
    # Depth-first over the elements with an explicit stack (groups may nest deeply).
    stack: list[tuple[ET.Element, np.ndarray]] = [(root, view)]
    while stack:
        el, m = stack.pop()
        with np.errstate(all="ignore"):
            m = m @ _affine(el.get("transform"))
        tag = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
        polys: list[np.ndarray] = []
        if tag == "path" and el.get("d"):
            polys = _parse_path_d(el.get("d"), samples_per_curve)
        elif tag in ("polyline", "polygon") and el.get("points"):
            v = np.array([float(a) for a in re.findall(_NUM, el.get("points"))])
            if len(v) >= 4:
                pts = v[: len(v) // 2 * 2].reshape(-1, 2)
                if tag == "polygon":
                    pts = np.vstack([pts, pts[:1]])
                polys = [pts]
        elif tag == "line":
            polys = [np.array([[_attr_number(el, k) for k in ("x1", "y1")],
                               [_attr_number(el, k) for k in ("x2", "y2")]])]  # fmt: skip
        for p in polys:
            with np.errstate(all="ignore"):
                h = np.c_[p, np.ones(len(p))] @ m.T
            if not np.isfinite(h).all():
                raise FormatError(f"an SVG <{tag}> has coordinates that are not finite numbers")
            strokes.append(h[:, :2])
        stack.extend((child, m) for child in reversed(list(el)))
    return strokes


def _attr_number(el: ET.Element, key: str) -> float:
    text = el.get(key, "0")
    m = re.fullmatch(rf"\s*({_NUM})\s*(px)?\s*", text)
    if m is None:
        raise FormatError(f"SVG <line> attribute {key}={text[:40]!r} is not a number")
    return float(m.group(1))


def strokes_to_svg(strokes: list[np.ndarray], shape: tuple[int, int]) -> str:
    """SVG text with one ``<path>`` polyline per stroke (root first), pixel coordinates."""
    h, w = int(shape[0]), int(shape[1])
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}">'
        ),
    ]
    for s in strokes:
        p = np.asarray(s, np.float64)
        if p.ndim != 2 or p.shape[1] != 2 or len(p) < 2:
            raise InputError(f"each stroke must be (N >= 2, 2), got shape {p.shape}")
        d = "M " + " L ".join(f"{x:.3f} {y:.3f}" for x, y in p)
        lines.append(f'<path d="{d}" fill="none" stroke="#000" stroke-width="2"/>')
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def rasterize_strokes(
    strokes: list[np.ndarray],
    shape: tuple[int, int],
    width: int = 3,
    hair_mask: np.ndarray | None = None,
    fill: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise directed strokes into a growth-direction map.

    Each segment of a stroke is drawn ``width`` pixels thick carrying its unit direction
    (from the earlier to the later point: root to tip); where strokes overlap their directions
    are summed and renormalised. With ``hair_mask`` and ``fill``, hair pixels no stroke
    covers take the direction of the nearest covered pixel (Euclidean distance transform),
    the way a dense strand map is made from sparse artist strokes.

    Returns
    -------
    direction : (H, W, 2) float32
        Unit ``(dx, dy)`` (x right, y down); 0 where undefined (and outside the mask if given).
    covered : (H, W) bool
        Pixels drawn by a stroke.
    """
    h, w = int(shape[0]), int(shape[1])
    acc = np.zeros((h, w, 2), np.float32)
    scale = 16  # cv2 sub-pixel precision bits = 4
    for s in strokes:
        p = np.asarray(s, np.float64)
        if p.ndim != 2 or p.shape[1] != 2 or len(p) < 2 or not np.isfinite(p).all():
            continue
        lx = np.zeros((h, w), np.float32)
        ly = np.zeros((h, w), np.float32)
        for a, b in itertools.pairwise(p):
            v = b - a
            n = float(np.hypot(*v))
            if n < 1e-9:
                continue
            col = (float(v[0] / n), float(v[1] / n))
            pa = tuple(round(c * scale) for c in a)
            pb = tuple(round(c * scale) for c in b)
            cv2.line(lx, pa, pb, col[0], width, cv2.LINE_8, shift=4)
            cv2.line(ly, pa, pb, col[1], width, cv2.LINE_8, shift=4)
        acc[..., 0] += lx
        acc[..., 1] += ly
    n = np.hypot(acc[..., 0], acc[..., 1])
    covered = n > 1e-6
    direction = np.where(covered[..., None], acc / np.where(covered, n, 1.0)[..., None], 0.0)
    if hair_mask is not None:
        m = np.asarray(hair_mask)
        m = m if m.dtype == bool else m > (127 if m.dtype == np.uint8 else 0.5)
        if m.shape != (h, w):
            raise InputError(f"hair_mask shape {m.shape} does not match {(h, w)}")
        if fill and covered.any():
            from scipy.ndimage import distance_transform_edt

            _, (iy, ix) = distance_transform_edt(~covered, return_indices=True)
            direction = direction[iy, ix]
        direction = np.where(m[..., None], direction, 0.0)
    return direction.astype(np.float32), covered


def strokes_to_strand_map(
    strokes: list[np.ndarray],
    hair_mask: np.ndarray,
    body_mask: np.ndarray | None = None,
    width: int = 3,
) -> np.ndarray:
    """Dense HairStep strand map (uint8 RGB) from artist strokes and the hair mask."""
    m = np.asarray(hair_mask)
    direction, _ = rasterize_strokes(strokes, m.shape[:2], width, m, fill=True)
    return encode_strand_map(direction, m, body_mask)
