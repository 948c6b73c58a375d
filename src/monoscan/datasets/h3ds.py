"""Reader for the H3DS dataset layout (H3D-Net, ICCV 2021; SIRA++), readers only.

Layout of one scene folder ``ROOT/<scene_id>/``::

    full_head.obj            ground-truth scan, millimetres
    image/img_0000.jpg ...   views
    mask/mask_0000.png ...   foreground masks
    cameras.npz              world_mat_<i> (3x4 or 4x4 projection), scale_mat_0 (normalisation)
    landmarks.txt            lines "name vertex_index"
    regions/<region>.txt     one vertex index per line (face, face_sphere, nose)

plus ``ROOT/version.txt``. A config TOML (``version``, ``file_md5``, ``[scenes.<id>]`` with
``tags``, ``views`` and ``[scenes.<id>.default_views_configs]`` name -> view indices) says which
scenes exist. monoscan does not ship the configs; :func:`find_config` looks for
``config_v1.toml`` / ``config_v2.toml`` in the dataset folder and in an installed ``h3ds``
package, and without any config the scenes are discovered from the folders.
"""

from __future__ import annotations

import importlib.util
import os
import re
import struct
import tomllib
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from monoscan.core.errors import FormatError, InputError, MonoscanError
from monoscan.io import results
from monoscan.io.maps import read_npy_header
from monoscan.io.results import H3DS_LANDMARK_FILES

__all__ = [
    "H3DS",
    "LANDMARK_NAMES",
    "REGIONS",
    "Camera",
    "H3DSConfig",
    "Prediction",
    "Scene",
    "SceneInfo",
    "decompose_projection",
    "read_h3ds_cameras",
    "find_config",
    "find_prediction",
    "find_predictions",
    "load_config",
    "read_landmarks",
    "read_region",
]

#: Landmarks annotated on every H3DS scan (vertex indices into full_head.obj).
LANDMARK_NAMES = ("right_eye", "left_eye", "nose_tip", "nose_base", "right_lips", "left_lips")
#: Regions shipped with every scene: 'face' (face, ears, neck; used for ICP), 'face_sphere'
#: (vertices within 95 mm of the nose tip; the "face" number of the tables), 'nose'.
REGIONS = ("face", "face_sphere", "nose")
#: Most views a config may declare (H3DS scenes have up to 72); guards against absurd counts.
MAX_VIEWS = 10_000
#: Largest vertex index accepted in landmark and region files.
_MAX_INDEX = 2**31 - 1
_MATRIX_KEY = re.compile(r"(world_mat|scale_mat)_\d+")


@dataclass(frozen=True)
class SceneInfo:
    """One scene of a config: id, tags, number of views, named view subsets."""

    scene_id: str
    tags: frozenset[str]
    views: int
    views_configs: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class H3DSConfig:
    """A parsed H3DS config TOML (or one discovered from the folders, ``source=None``)."""

    version: str
    scenes: dict[str, SceneInfo]
    file_md5: str | None = None
    source: Path | None = None


@dataclass(frozen=True)
class Camera:
    """A pinhole camera from ``world_mat_i``.

    Attributes
    ----------
    K : (3, 3) float64
        Intrinsics, normalised so ``K[2, 2] == 1`` (pixels).
    pose : (4, 4) float64
        Camera-to-world transform: rotation ``R.T`` and the camera centre (scan frame, mm, or
        the unit-sphere frame when loaded ``normalized``).
    P : (3, 4) float64
        The projection matrix it came from (world -> homogeneous pixels).
    """

    K: np.ndarray
    pose: np.ndarray
    P: np.ndarray


@dataclass(frozen=True)
class Scene:
    """Everything of one scene: mesh (mm unless normalised), images, masks, cameras."""

    scene_id: str
    mesh: object  # trimesh.Trimesh
    images: list[np.ndarray]
    masks: list[np.ndarray]
    cameras: list[Camera]
    views: tuple[int, ...]


def decompose_projection(P: np.ndarray) -> Camera:
    """Split a 3x4 (or 4x4) projection matrix into intrinsics and camera-to-world pose.

    Uses :func:`cv2.decomposeProjectionMatrix` (RQ decomposition), as the H3DS reference.
    """
    import cv2

    P = np.asarray(P, dtype=np.float64)[:3, :4]
    K, R, t = cv2.decomposeProjectionMatrix(P)[:3]
    K = K / K[2, 2]
    pose = np.eye(4)
    pose[:3, :3] = R.T
    pose[:3, 3] = (t[:3] / t[3])[:, 0]
    return Camera(K=K, pose=pose, P=P)


def read_h3ds_cameras(path: str | os.PathLike) -> dict[int, np.ndarray]:
    """World -> camera rotations (OpenCV axes) of an H3DS ``cameras.npz``, by view index.

    Each ``world_mat_i`` is the projection ``K [R | t]``; R comes from its RQ decomposition
    (:func:`decompose_projection`, as the H3DS reference).

    Raises
    ------
    InputError
        Missing file.
    FormatError
        Not a readable ``.npz``, no ``world_mat_i`` entry, or one that is not a finite,
        non-singular 3x4 or 4x4 projection.
    """
    path = Path(path)
    mats = _camera_matrices(path)
    out = {}
    for k, P in mats.items():
        if k.startswith("world_mat_"):
            out[int(k[len("world_mat_") :])] = _camera(P, path, k).pose[:3, :3].T
    if not out:
        raise FormatError(f"{path} holds no world_mat_i entries")
    return out


def _camera_matrices(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The ``world_mat_i`` and ``scale_mat_i`` matrices of an H3DS ``cameras.npz``.

    Each member's header is checked (a numeric 3x4 or 4x4 array) before its data is read, so a
    corrupted file that claims a huge array fails at once; values must be finite. Other members
    are ignored.

    Returns
    -------
    dict
        ``name -> (3, 4) or (4, 4) float64``, in file order.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"camera file not found: {path}")
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else ""
                if _MATRIX_KEY.fullmatch(key):
                    with zf.open(info) as fh:
                        out[key] = _read_matrix(fh, path, key)
    except MonoscanError:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,  # unsupported zip compression
        RuntimeError,  # encrypted member
        struct.error,
        OverflowError,
    ) as exc:
        raise FormatError(f"cannot read cameras file {path}: {_first_line(exc)}") from None
    return out


def _read_matrix(fh, path: Path, key: str) -> np.ndarray:
    shape, fortran, dtype = read_npy_header(fh, f"{path} ({key})")
    if dtype.hasobject or dtype.kind not in "iuf" or tuple(shape) not in ((3, 4), (4, 4)):
        raise FormatError(
            f"{path}: {key} must be a numeric 3x4 or 4x4 matrix, got {dtype} {tuple(shape)}"
        )
    need = int(np.prod(shape)) * dtype.itemsize
    data = fh.read(need)
    if len(data) != need or fh.read(1):  # reading to the end also checks the member's CRC
        raise FormatError(f"{path}: {key} holds {len(data)} data bytes, expected {need}")
    order = "F" if fortran else "C"
    m = np.frombuffer(data, dtype).reshape(shape, order=order).astype(np.float64)
    if not np.isfinite(m).all():
        raise FormatError(f"{path}: {key} contains NaN or infinite values")
    return m


def _camera(P: np.ndarray, path: Path, key: str) -> Camera:
    """:func:`decompose_projection` of a file's matrix, refusing what is not a camera."""
    M = P[:3, :3]
    with np.errstate(all="ignore"):
        cond = np.linalg.cond(M) if np.isfinite(P).all() else np.inf
    if not cond < 1e12:
        raise FormatError(f"{path}: {key} is not a camera projection (singular or not finite)")
    try:
        cam = decompose_projection(P)
    except Exception as exc:  # noqa: BLE001 - cv2.error and numerical failures alike
        raise FormatError(f"{path}: {key} cannot be decomposed ({_first_line(exc)})") from None
    if not all(np.isfinite(a).all() for a in (cam.K, cam.pose)):
        raise FormatError(f"{path}: {key} is not a camera projection (degenerate intrinsics)")
    return cam


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def _read_text(path: Path, what: str) -> str:
    """A small UTF-8 text file of the dataset; :class:`FormatError` if it is not text."""
    if not path.is_file():
        raise InputError(f"{what} not found: {path}")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{what} {path} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _vertex_index(text: str, path: Path, where: str) -> int:
    try:
        i = int(text)
    except ValueError:
        raise FormatError(
            f"{path.name} {where}: vertex index {text[:24]!r} is not an integer"
        ) from None
    if not 0 <= i <= _MAX_INDEX:
        raise FormatError(f"{path.name} {where}: vertex index {str(i)[:24]} is out of range")
    return i


def load_config(path: str | os.PathLike) -> H3DSConfig:
    """Parse an H3DS config TOML; :class:`FormatError` if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"H3DS config not found: {path}")
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"H3DS config {path.name} is not valid TOML: {exc}") from None
    except RecursionError:
        raise FormatError(f"H3DS config {path.name} is nested too deeply") from None
    if "scenes" not in data or not isinstance(data["scenes"], dict):
        raise FormatError(f"H3DS config {path.name} has no [scenes] table")
    scenes = {}
    for sid, entry in data["scenes"].items():
        scenes[str(sid)] = _scene_info(str(sid), entry, path)
    md5 = data.get("file_md5")
    return H3DSConfig(
        version=str(data.get("version", "")),
        scenes=scenes,
        file_md5=None if md5 is None else str(md5),
        source=path,
    )


def _scene_info(sid: str, entry: object, path: Path) -> SceneInfo:
    def bad(why: str) -> FormatError:
        return FormatError(f"H3DS config {path.name}: scene {sid} is malformed ({why})")

    if sid in ("", ".", "..") or "/" in sid or "\\" in sid:
        raise bad("not a folder name")
    if not isinstance(entry, dict):
        raise bad(f"expected a table, got {type(entry).__name__}")
    views = entry.get("views")
    if isinstance(views, bool) or not isinstance(views, int):
        raise bad(f"'views' must be an integer, got {views!r}")
    if not 0 <= views <= MAX_VIEWS:
        raise bad(f"'views' = {views} is outside 0..{MAX_VIEWS}")
    tags = entry.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise bad("'tags' must be a list of strings")
    subsets = entry.get("default_views_configs", {})
    if not isinstance(subsets, dict):
        raise bad("'default_views_configs' must be a table")
    configs = {}
    for name, idx in subsets.items():
        # Indices are not checked against 'views': a subset naming a view the scene lacks
        # fails when that view's camera or mask is loaded, naming the missing file.
        if not isinstance(idx, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < MAX_VIEWS for i in idx
        ):
            raise bad(f"view subset {name!r} must list view indices in 0..{MAX_VIEWS - 1}")
        configs[str(name)] = tuple(idx)
    return SceneInfo(sid, frozenset(tags), views, configs)


def find_config(name: str, root: str | os.PathLike | None = None) -> Path:
    """Locate a config by name (``v1``, ``v2``, ``config_v2``) or path.

    Looks at the path itself, then ``ROOT/config_vN.toml``, then the data files of an installed
    ``h3ds`` package (found without importing it).
    """
    p = Path(name)
    if p.suffix == ".toml" or p.is_file():
        if not p.is_file():
            raise InputError(f"H3DS config not found: {p}")
        return p
    stem = name if name.startswith("config_") else f"config_{name}"
    candidates = []
    if root is not None:
        candidates.append(Path(root) / f"{stem}.toml")
    spec = importlib.util.find_spec("h3ds")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(d) / f"{stem}.toml" for d in spec.submodule_search_locations]
    for c in candidates:
        if c.is_file():
            return c
    raise InputError(
        f"H3DS config {name!r} not found "
        f"(looked in {', '.join(map(str, candidates)) or 'nowhere'});"
        " pass --config FILE or put it in the dataset folder"
    )


def read_landmarks(path: str | os.PathLike) -> dict[str, int]:
    """Read ``name vertex_index`` lines into a dict (file order kept)."""
    path = Path(path)
    out: dict[str, int] = {}
    for n, line in enumerate(_read_text(path, "landmark file").splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) != 2:
            raise FormatError(
                f"{path.name} line {n}: expected 'name vertex_index', got {line[:80]!r}"
            )
        out[parts[0]] = _vertex_index(parts[1], path, f"line {n}")
    if not out:
        raise FormatError(f"landmark file {path.name} is empty")
    return out


def read_region(path: str | os.PathLike) -> np.ndarray:
    """Read one vertex index per line into an int64 array (order and repeats kept)."""
    path = Path(path)
    text = _read_text(path, "region file")
    raw = text.encode("utf-8")
    if not raw.isspace() and not raw.translate(None, b"0123456789 \t\n\r\x0b\x0c"):
        # Only ASCII digits and whitespace: parsed in C (a 100,000-line region in 3 ms, not
        # 30), with nothing NumPy could warn about. A number too large for int64 comes back
        # saturated and goes the slow way.
        values = np.fromstring(raw, dtype=np.int64, sep=" ")
        if len(values) and values.max() <= _MAX_INDEX:
            return values
    words = text.split()
    if not words:
        raise FormatError(f"region file {path.name} is empty")
    try:
        values = [int(w) for w in words]
    except ValueError as exc:
        raise FormatError(f"region file {path.name} holds a non-integer ({exc})") from None
    if not all(0 <= v <= _MAX_INDEX for v in values):
        bad = next(v for v in values if not 0 <= v <= _MAX_INDEX)
        raise FormatError(
            f"region file {path.name} holds an out-of-range vertex index {str(bad)[:24]}"
        )
    return np.asarray(values, dtype=np.int64)


class H3DS:
    """An H3DS dataset folder and its config.

    Parameters
    ----------
    root : path
        Dataset folder (the one holding ``version.txt`` and one folder per scene).
    config : str or path or None
        ``"v1"``, ``"v2"`` (see :func:`find_config`), a TOML path, or None: ``ROOT/config_v2.toml``
        if present, otherwise scenes discovered from the folders holding ``full_head.obj``
        (views counted from ``image/``, no tags, no view subsets).
    """

    def __init__(self, root: str | os.PathLike, config: str | os.PathLike | None = None) -> None:
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise InputError(f"H3DS folder not found: {self.root}")
        if config is None:
            local = self.root / "config_v2.toml"
            self.config = load_config(local) if local.is_file() else self._discover()
        else:
            self.config = load_config(find_config(str(config), self.root))

    def _discover(self) -> H3DSConfig:
        scenes = {}
        for d in sorted(p for p in self.root.iterdir() if (p / "full_head.obj").is_file()):
            views = len(list((d / "image").glob("img_*.jpg"))) if (d / "image").is_dir() else 0
            scenes[d.name] = SceneInfo(d.name, frozenset(), views, {})
        if not scenes:
            raise InputError(f"no H3DS scenes (folders with full_head.obj) in {self.root}")
        return H3DSConfig(version=self.version() or "", scenes=scenes)

    # -- listing ---------------------------------------------------------------------------
    def version(self) -> str | None:
        """Content of ``version.txt`` (first line), or None."""
        f = self.root / "version.txt"
        if not f.is_file() or not f.stat().st_size:
            return None
        lines = _read_text(f, "H3DS version file").splitlines()
        return lines[0].strip() if lines else ""

    def tags(self) -> set[str]:
        """All tags used by the config's scenes."""
        return set().union(*(s.tags for s in self.config.scenes.values()))

    def scenes(self, tags: set[str] | tuple[str, ...] | list[str] = ()) -> list[str]:
        """Scene ids carrying all of ``tags`` (config order)."""
        tags = set(tags)
        unknown = tags - self.tags()
        if unknown:
            raise InputError(
                f"unknown H3DS tag(s) {sorted(unknown)}; available: {sorted(self.tags())}"
            )
        return [s for s, info in self.config.scenes.items() if tags <= info.tags]

    def info(self, scene_id: str) -> SceneInfo:
        try:
            return self.config.scenes[scene_id]
        except KeyError:
            raise InputError(f"scene {scene_id!r} is not in the H3DS config") from None

    def views_configs(self, scene_id: str) -> list[str]:
        """Names of the default view subsets of a scene (e.g. '1', '3', ..., '32')."""
        return list(self.info(scene_id).views_configs)

    def views(self, scene_id: str, views_config: str | None = None) -> tuple[int, ...]:
        """View indices of a subset (all views when ``views_config`` is None)."""
        info = self.info(scene_id)
        if views_config is None:
            return tuple(range(info.views))
        try:
            return info.views_configs[str(views_config)]
        except KeyError:
            raise InputError(
                f"scene {scene_id} has no view subset {views_config!r}; "
                f"available: {list(info.views_configs)}"
            ) from None

    # -- paths -------------------------------------------------------------------------------
    def mesh_path(self, scene_id: str) -> Path:
        return self.root / scene_id / "full_head.obj"

    def image_path(self, scene_id: str, view: int) -> Path:
        return self.root / scene_id / "image" / f"img_{view:04d}.jpg"

    def mask_path(self, scene_id: str, view: int) -> Path:
        return self.root / scene_id / "mask" / f"mask_{view:04d}.png"

    def cameras_path(self, scene_id: str) -> Path:
        return self.root / scene_id / "cameras.npz"

    def landmarks_path(self, scene_id: str) -> Path:
        return self.root / scene_id / "landmarks.txt"

    def region_path(self, scene_id: str, region: str) -> Path:
        return self.root / scene_id / "regions" / f"{region}.txt"

    def files(self) -> list[Path]:
        """Every file the config promises (version, meshes, images, masks, cameras)."""
        out = [self.root / "version.txt"]
        for sid, info in self.config.scenes.items():
            out.append(self.mesh_path(sid))
            out += [self.image_path(sid, i) for i in range(info.views)]
            out += [self.mask_path(sid, i) for i in range(info.views)]
            out.append(self.cameras_path(sid))
        return out

    def missing_files(self) -> list[Path]:
        return [f for f in self.files() if not f.is_file()]

    def is_available(self) -> bool:
        """True when version.txt matches the config and every promised file exists."""
        return self.version() == self.config.version and not self.missing_files()

    # -- loading -----------------------------------------------------------------------------
    def load_mesh(self, scene_id: str, normalized: bool = False, *, texture: bool = True):
        """Ground-truth scan (trimesh, millimetres; unit sphere frame when ``normalized``);
        ``texture=False``: geometry only (:func:`monoscan.io.meshes.load_mesh`)."""
        from monoscan.io.meshes import load_mesh

        self.info(scene_id)
        mesh = load_mesh(self.mesh_path(scene_id), texture=texture)
        if normalized:
            from monoscan.core.geometry import apply_transform

            mesh.vertices = apply_transform(mesh.vertices, self.normalization_matrix(scene_id))
        return mesh

    def load_landmarks(self, scene_id: str) -> dict[str, int]:
        return read_landmarks(self.landmarks_path(scene_id))

    def load_region(self, scene_id: str, region: str) -> np.ndarray:
        if region not in REGIONS and not self.region_path(scene_id, region).is_file():
            raise InputError(f"unknown H3DS region {region!r}; available: {list(REGIONS)}")
        return read_region(self.region_path(scene_id, region))

    def _camera_dict(self, scene_id: str) -> dict[str, np.ndarray]:
        return _camera_matrices(self.cameras_path(scene_id))

    def _scale_mat(self, scene_id: str, cams: dict[str, np.ndarray]) -> np.ndarray:
        path = self.cameras_path(scene_id)
        if "scale_mat_0" not in cams:
            raise FormatError(f"{path} has no scale_mat_0")
        scale = cams["scale_mat_0"]
        if scale.shape != (4, 4) or not np.linalg.cond(scale) < 1e12:
            raise FormatError(f"{path}: scale_mat_0 is not an invertible 4x4 matrix")
        return scale

    def normalization_matrix(self, scene_id: str) -> np.ndarray:
        """4x4 similarity taking the scan (mm) into the unit-sphere frame: ``inv(scale_mat_0)``."""
        cams = self._camera_dict(scene_id)
        return np.linalg.inv(self._scale_mat(scene_id, cams))

    def load_cameras(
        self, scene_id: str, views_config: str | None = None, normalized: bool = False
    ) -> list[Camera]:
        cams = self._camera_dict(scene_id)
        path = self.cameras_path(scene_id)
        scale = self._scale_mat(scene_id, cams) if normalized else None
        out = []
        for i in self.views(scene_id, views_config):
            key = f"world_mat_{i}"
            if key not in cams:
                raise FormatError(f"{path} has no {key}")
            P = cams[key]
            if P.shape == (3, 4):
                P = np.vstack([P, [0, 0, 0, 1]])
            if scale is not None:
                with np.errstate(all="ignore"):
                    P = P @ scale
            out.append(_camera(P, path, key))
        return out

    def load_images(self, scene_id: str, views_config: str | None = None) -> list[np.ndarray]:
        from monoscan.io.images import load_image

        return [
            load_image(self.image_path(scene_id, i)).rgb for i in self.views(scene_id, views_config)
        ]

    def load_masks(self, scene_id: str, views_config: str | None = None) -> list[np.ndarray]:
        from PIL import Image

        out = []
        for i in self.views(scene_id, views_config):
            p = self.mask_path(scene_id, i)
            if not p.is_file():
                raise InputError(f"mask not found: {p}")
            try:
                with warnings.catch_warnings():
                    # A header claiming a giant image is an error, not a warning.
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    with Image.open(p) as img:
                        mask = np.asarray(img.convert("L")) > 127
            except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad files
                raise FormatError(f"cannot read mask {p}: {_first_line(exc)}") from None
            out.append(mask)
        return out

    def load_scene(
        self, scene_id: str, views_config: str | None = None, normalized: bool = False
    ) -> Scene:
        """Mesh, images, masks and cameras of one scene (optionally a view subset)."""
        return Scene(
            scene_id=scene_id,
            mesh=self.load_mesh(scene_id, normalized),
            images=self.load_images(scene_id, views_config),
            masks=self.load_masks(scene_id, views_config),
            cameras=self.load_cameras(scene_id, views_config, normalized),
            views=self.views(scene_id, views_config),
        )


@dataclass(frozen=True)
class Prediction:
    """A predicted head found for a scene.

    Attributes
    ----------
    path : Path
        Mesh file.
    landmarks : Path or None
        ``name vertex_index`` file for the six H3DS landmarks, if any.
    unit : str
        'm' for monoscan output folders (``head.obj``, world frame in metres), 'mm' for plain
        files (the H3DS unit).
    """

    path: Path
    landmarks: Path | None
    unit: str


_PLAIN_SUFFIXES = (".obj", ".ply", ".glb", ".off", ".stl")


def find_prediction(
    pred_dir: str | os.PathLike, scene_id: str, mesh_name: str = "head"
) -> Prediction | None:
    """Locate the prediction of ``scene_id`` under ``pred_dir``.

    Accepted layouts (first match wins):

    * ``pred_dir/<scene_id>/head.obj`` (+ ``h3ds_landmarks.txt``): a monoscan output folder, metres
      (``mesh_name='head_with_hair'``: ``head_with_hair.obj`` + ``h3ds_landmarks_with_hair.txt``);
    * ``pred_dir/<scene_id>.obj|.ply|.glb|.off|.stl`` (+ ``<scene_id>_landmarks.txt`` or
      ``<scene_id>.landmarks.txt``): plain files in mm.
    """
    if mesh_name not in H3DS_LANDMARK_FILES:
        raise InputError(f"unknown mesh {mesh_name!r}; choose from {sorted(H3DS_LANDMARK_FILES)}")
    pred_dir = Path(pred_dir)
    folder = pred_dir / scene_id
    mesh_file = results.mesh_name(mesh_name, "obj")
    if (folder / mesh_file).is_file():
        lm = folder / H3DS_LANDMARK_FILES[mesh_name]
        return Prediction(folder / mesh_file, lm if lm.is_file() else None, "m")
    for suffix in _PLAIN_SUFFIXES:
        p = pred_dir / f"{scene_id}{suffix}"
        if p.is_file():
            lm = None
            for cand in (
                pred_dir / f"{scene_id}_landmarks.txt",
                pred_dir / f"{scene_id}.landmarks.txt",
            ):
                if cand.is_file():
                    lm = cand
                    break
            return Prediction(p, lm, "mm")
    return None


def find_predictions(
    pred_dir: str | os.PathLike,
    dataset: H3DS,
    scene_ids: list[str] | None = None,
    mesh_name: str = "head",
) -> dict[str, dict[str, Prediction]]:
    """Predictions per scene and view subset: ``{scene: {views_config or 'default': Prediction}}``.

    Per-subset predictions live in ``pred_dir/<views_config>/`` (e.g. ``pred_dir/3/``) in either
    layout of :func:`find_prediction`; predictions directly in ``pred_dir`` are 'default'.
    """
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise InputError(f"predictions folder not found: {pred_dir}")
    out: dict[str, dict[str, Prediction]] = {}
    for sid in scene_ids if scene_ids is not None else dataset.scenes():
        found: dict[str, Prediction] = {}
        for views in dataset.views_configs(sid):
            if (pred_dir / views).is_dir():
                p = find_prediction(pred_dir / views, sid, mesh_name)
                if p is not None:
                    found[views] = p
        p = find_prediction(pred_dir, sid, mesh_name)
        if p is not None:
            found["default"] = p
        if found:
            out[sid] = found
    return out
