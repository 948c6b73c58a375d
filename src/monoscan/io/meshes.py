"""Mesh input and output that keeps vertex indices stable.

:func:`load_mesh` reads OBJ, PLY, GLB/GLTF, OFF and STL into a :class:`trimesh.Trimesh` without
any processing that merges, drops or reorders vertices (H3DS landmarks and regions, and the
monoscan head's landmark ids, are vertex indices). Everything a user can get wrong raises
:class:`~monoscan.core.errors.InputError` (missing file, unknown suffix) or
:class:`~monoscan.core.errors.FormatError` (malformed content) with a one-line message.

:func:`save_mesh` writes atomically by suffix: ``.obj`` (with ``<stem>.mtl`` and ``<stem>.png``
when the mesh carries a texture), ``.ply`` (binary, vertex colours kept), ``.glb`` (texture
embedded), ``.off`` and ``.stl``.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
import trimesh

from monoscan.core.errors import FormatError, InputError
from monoscan.io.atomic import atomic_path, write_bytes

__all__ = ["MESH_SUFFIXES", "load_mesh", "save_mesh"]

MESH_SUFFIXES = (".obj", ".ply", ".glb", ".gltf", ".off", ".stl")

_OBJ_V = re.compile(rb"^v[ \t]+([^\r\n]*)", re.MULTILINE)
_OBJ_VT = re.compile(rb"^vt[ \t]+([^\r\n]*)", re.MULTILINE)
_OBJ_F = re.compile(rb"^f[ \t]+([^\r\n]*)", re.MULTILINE)


def load_mesh(path: str | os.PathLike, *, allow_points: bool = False) -> trimesh.Trimesh:
    """Read a triangle mesh, keeping vertices exactly in file order.

    Parameters
    ----------
    path : str or PathLike
        ``.obj``, ``.ply``, ``.glb``/``.gltf``, ``.off`` or ``.stl`` file. Units are whatever the
        file holds (monoscan writes metres; H3DS scans are millimetres).
    allow_points : bool
        Accept a file with vertices but no faces (a point cloud); the result then has an empty
        ``(0, 3)`` face array. Vertex-based metrics work on such meshes.

    Returns
    -------
    trimesh.Trimesh
        Loaded with ``process=False`` (and ``maintain_order=True`` for OBJ): vertex ``i`` is the
        ``i``-th vertex of the file, unreferenced vertices included. Quads and polygons are
        triangulated. A multi-mesh GLB is concatenated in scene order.

    Raises
    ------
    InputError
        Missing file, a directory, or an unsupported suffix.
    FormatError
        Unreadable or malformed content, no vertices, no faces (unless ``allow_points``), NaN or
        infinite coordinates, face indices out of range, faces with fewer than three vertices.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError(f"mesh file not found: {path}")
    if path.is_dir():
        raise InputError(f"expected a mesh file, got a directory: {path}")
    if suffix not in MESH_SUFFIXES:
        raise InputError(
            f"unsupported mesh format {suffix or '(no suffix)'!r} for {path.name}; "
            f"use one of {', '.join(MESH_SUFFIXES)}"
        )
    if path.stat().st_size == 0:
        raise FormatError(f"mesh file is empty: {path}")
    if suffix == ".obj":
        with open(path, "rb") as fh:
            raw = fh.read()
        mesh = _load_obj(raw, path)
        _validate(mesh, path.name, allow_points=allow_points)
        return mesh
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            loaded = trimesh.load(str(path), process=False)
            # Flattening a scene copies its geometry (and derives colours from face indices),
            # so a malformed file can still fail here.
            mesh = _as_trimesh(loaded, path)
    except FormatError:
        raise
    except (IndexError, KeyError, ValueError, TypeError, AttributeError, EOFError) as exc:
        raise FormatError(
            f"cannot read mesh {path.name}: malformed file ({_one_line(exc)})"
        ) from None
    except Exception as exc:  # noqa: BLE001 - trimesh raises many parser error types
        raise FormatError(
            f"cannot read mesh {path.name}: {type(exc).__name__}: {_one_line(exc)}"
        ) from None

    _validate(mesh, path.name, allow_points=allow_points)
    return mesh


def _one_line(exc: BaseException) -> str:
    """The first line of an exception's message, at most 200 characters."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def _tokens_per_line(lines: list[bytes]) -> np.ndarray:
    """Number of whitespace-separated tokens on each line, vectorised over the bytes."""
    joined = np.frombuffer(b"\n".join(lines) + b"\n", dtype=np.uint8)
    newline = joined == 10
    space = (joined == 32) | (joined == 9) | newline | (joined == 13)
    starts = np.flatnonzero(~space[1:] & space[:-1]) + 1
    if not space[0]:
        starts = np.concatenate([[0], starts])
    line = np.searchsorted(np.flatnonzero(newline), starts)
    return np.bincount(line, minlength=len(lines))


def _floats(body: list[bytes], name: str, what: str) -> np.ndarray:
    """Parse lines of numbers (keyword already removed) into a (len(body), k) float array."""
    if not body:
        return np.zeros((0, 3))
    try:
        values = np.array(b" ".join(body).split(), dtype=np.float64)
    except ValueError as exc:
        raise FormatError(f"cannot read mesh {name}: bad {what} line ({_one_line(exc)})") from None
    n = len(body)
    counts = _tokens_per_line(body)
    k = int(counts.min())
    if (counts == k).all():
        return values.reshape(n, k)
    # Mixed lengths (e.g. some vertices with colours): keep the leading k numbers of each line.
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return values[starts[:, None] + np.arange(k)]


def _line_of(raw: bytes, pattern: re.Pattern, nth: int) -> int:
    for i, m in enumerate(pattern.finditer(raw)):
        if i == nth:
            return raw[: m.start()].count(b"\n") + 1
    return 0


def _load_obj(raw: bytes, path: Path) -> trimesh.Trimesh:
    """Parse OBJ geometry ourselves: vertex ``i`` is the ``i``-th ``v`` line, always.

    trimesh drops unreferenced vertices and re-indexes on UV seams; H3DS regions and landmarks
    are indices into the file's ``v`` lines, so geometry is read here and only the material
    (texture image) is taken from trimesh.
    """
    name = path.name
    lines = raw.splitlines()
    v_body = [ln[2:] for ln in lines if ln[:2] in (b"v ", b"v\t")]
    if not v_body:
        raise FormatError(f"mesh file has no vertices: {path}")
    vertices = _floats(v_body, name, "vertex")
    if vertices.shape[1] < 3:
        raise FormatError(f"cannot read mesh {name}: vertex lines need 3 coordinates")
    n = len(vertices)
    f_body = [ln[2:] for ln in lines if ln[:2] in (b"f ", b"f\t")]
    has_vt = b"vt" in raw and bool(_OBJ_VT.search(raw))
    faces = np.zeros((0, 3), dtype=np.int64)
    tri_t = np.zeros((0, 3), dtype=np.int64)
    if f_body:
        counts = _tokens_per_line(f_body)
        if counts.min() < 3:
            bad = int(np.argmax(counts < 3))
            raise FormatError(
                f"{name} line {_line_of(raw, _OBJ_F, bad)}: a face needs at least 3 vertices "
                f"(got {'f ' + f_body[bad].decode(errors='replace').strip()!r})"
            )
        body = b" ".join(f_body)
        try:
            flat = np.array(re.sub(rb"/\S*", b"", body).split(), dtype=np.int64)
        except (ValueError, OverflowError) as exc:
            raise FormatError(
                f"cannot read mesh {name}: bad face line ({_one_line(exc)})"
            ) from None
        if len(flat) != counts.sum():
            raise FormatError(f"cannot read mesh {name}: bad face line")
        flat = flat - 1
        if (flat < -1).any():
            # Negative indices count back from the vertices read so far: find, per face line,
            # how many vertex lines precede it.
            v_pos = np.array([m.start() for m in _OBJ_V.finditer(raw)])
            f_pos = np.array([m.start() for m in _OBJ_F.finditer(raw)])
            seen = np.repeat(np.searchsorted(v_pos, f_pos), counts)
            flat = np.where(flat >= 0, flat, seen + flat + 1)
        elif (flat == -1).any():
            raise FormatError(f"cannot read mesh {name}: face index 0 (OBJ indices start at 1)")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        if (counts == 3).all():
            corners = np.arange(len(flat)).reshape(-1, 3)
        else:
            ntri = counts - 2
            line = np.repeat(np.arange(len(counts)), ntri)
            k = np.arange(ntri.sum()) - np.repeat(np.cumsum(ntri) - ntri, ntri) + 1
            corners = np.stack([starts[line], starts[line] + k, starts[line] + k + 1], axis=1)
        faces = flat[corners]
        if has_vt:
            tex = re.findall(rb"(?<!\S)-?\d+/(-?\d*)", body)
            if len(tex) == len(flat):
                t = np.array([int(x) - 1 if x else -1 for x in tex], dtype=np.int64)
                tri_t = t[corners]
    if len(faces) and (faces.min() < 0 or faces.max() >= n):
        raise FormatError(
            f"mesh {name} has face indices out of range [1, {n}] "
            f"(min {int(faces.min()) + 1}, max {int(faces.max()) + 1})"
        )
    colors = None
    if vertices.shape[1] >= 6:
        rgb = vertices[:, 3:6]
        if not np.isfinite(rgb).all():
            raise FormatError(f"mesh {name} has NaN or infinite vertex colours")
        colors = np.clip(np.round(rgb * (255.0 if rgb.max() <= 1.0 else 1.0)), 0, 255)
        colors = colors.astype(np.uint8)
    vertices = np.ascontiguousarray(vertices[:, :3])
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, vertex_colors=colors, process=False)
    if has_vt and b"mtllib" in raw and len(faces):
        vt_body = [ln[3:] for ln in lines if ln[:3] in (b"vt ", b"vt\t")]
        _attach_texture(mesh, path, _floats(vt_body, name, "texture"), tri_t)
    return mesh


def _attach_texture(mesh: trimesh.Trimesh, path: Path, vt: np.ndarray, tri_t: np.ndarray) -> None:
    """Per-vertex UVs from the face corners (last corner wins) and trimesh's material."""
    if vt.shape[1] < 2 or tri_t.size == 0 or tri_t.min() < 0 or tri_t.max() >= len(vt):
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tm = trimesh.load(str(path), process=False, maintain_order=True, force="mesh")
        material = tm.visual.material
    except Exception:  # noqa: BLE001 - a broken .mtl must not hide the geometry
        return
    uv = np.zeros((len(mesh.vertices), 2))
    uv[mesh.faces.ravel()] = vt[tri_t.ravel(), :2]
    mesh.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)


def _as_trimesh(loaded: object, path: Path) -> trimesh.Trimesh:
    if isinstance(loaded, trimesh.Trimesh):
        return loaded
    if isinstance(loaded, trimesh.Scene):
        for geom in loaded.geometry.values():
            faces = np.asarray(getattr(geom, "faces", np.zeros((0, 3))))
            n = len(getattr(geom, "vertices", ()))
            if faces.size and (faces.min() < 0 or faces.max() >= n):
                # Checked before dump(): copying such a mesh fails deep inside trimesh.
                raise FormatError(
                    f"mesh {path.name} has face indices out of range [0, {n - 1}] "
                    f"(min {int(faces.min())}, max {int(faces.max())})"
                )
        geoms = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh)]
        if not geoms:
            points = [g for g in loaded.dump() if isinstance(g, trimesh.PointCloud)]
            if points:
                return _points_mesh(np.vstack([p.vertices for p in points]))
            raise FormatError(f"mesh file has no vertices: {path}")
        if len(geoms) == 1:
            return geoms[0]
        return trimesh.util.concatenate(geoms)
    if isinstance(loaded, trimesh.PointCloud):
        return _points_mesh(np.asarray(loaded.vertices))
    raise FormatError(f"{path.name} holds {type(loaded).__name__}, not a triangle mesh")


def _points_mesh(vertices: np.ndarray) -> trimesh.Trimesh:
    return trimesh.Trimesh(vertices=vertices, faces=np.zeros((0, 3), dtype=np.int64), process=False)


def _validate(mesh: trimesh.Trimesh, name: str, *, allow_points: bool) -> None:
    vertices = np.asarray(mesh.vertices)
    faces = np.asarray(mesh.faces)
    if len(vertices) == 0:
        raise FormatError(f"mesh {name} has no vertices")
    if not np.isfinite(vertices).all():
        bad = int((~np.isfinite(vertices).all(axis=1)).sum())
        raise FormatError(f"mesh {name} has {bad} vertices with NaN or infinite coordinates")
    if len(faces) == 0:
        if not allow_points:
            raise FormatError(f"mesh {name} has no faces ({len(vertices)} vertices only)")
        return
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise FormatError(f"mesh {name} has faces that are not triangles (shape {faces.shape})")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise FormatError(
            f"mesh {name} has face indices out of range [0, {len(vertices) - 1}] "
            f"(min {int(faces.min())}, max {int(faces.max())})"
        )


def save_mesh(path: str | os.PathLike, mesh: trimesh.Trimesh) -> list[Path]:
    """Write ``mesh`` atomically; the format follows the suffix.

    Parameters
    ----------
    path : str or PathLike
        ``.obj``: also writes ``<stem>.mtl`` and ``<stem>.png`` (referenced by relative name) when
        the mesh has a texture image, vertex colours otherwise if present. ``.ply``: binary, with
        vertex colours if any. ``.glb``: binary glTF with the texture embedded. ``.off``, ``.stl``.
    mesh : trimesh.Trimesh
        Written as is (vertex order kept); units are not converted.

    Returns
    -------
    list of Path
        Every file written, the mesh file first.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not isinstance(mesh, trimesh.Trimesh):
        raise InputError(f"save_mesh needs a trimesh.Trimesh, got {type(mesh).__name__}")
    if len(mesh.vertices) == 0:
        raise InputError(f"refusing to write an empty mesh to {path}")
    if suffix == ".obj":
        return _save_obj(path, mesh)
    if suffix == ".ply":
        data = trimesh.exchange.ply.export_ply(mesh, encoding="binary")
    elif suffix == ".glb":
        data = trimesh.exchange.gltf.export_glb(mesh)
    elif suffix in (".off", ".stl"):
        data = mesh.export(file_type=suffix[1:])
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise InputError(
            f"cannot write mesh format {suffix or '(no suffix)'!r}: use .obj, .ply, "
            ".glb, .off or .stl"
        )
    write_bytes(path, data)
    return [path]


def _texture_image(mesh: trimesh.Trimesh):
    visual = mesh.visual
    if getattr(visual, "kind", None) != "texture":
        return None
    material = getattr(visual, "material", None)
    if material is None:
        return None
    image = getattr(material, "image", None)
    if image is None:
        image = getattr(material, "baseColorTexture", None)
    return image


def _save_obj(path: Path, mesh: trimesh.Trimesh) -> list[Path]:
    stem = path.stem
    image = _texture_image(mesh)
    if image is None:
        text = trimesh.exchange.obj.export_obj(mesh, include_texture=False)
        write_bytes(path, text.encode("utf-8"))
        return [path]
    mtl_name = f"{stem}.mtl"
    png_name = f"{stem}.png"
    text, files = trimesh.exchange.obj.export_obj(mesh, return_texture=True, mtl_name=mtl_name)
    mtl = files.get(mtl_name, b"").decode("utf-8")
    mtl = re.sub(r"^(\s*map_Kd\s+).*$", lambda m: m.group(1) + png_name, mtl, flags=re.MULTILINE)
    if "map_Kd" not in mtl:
        mtl += f"\nmap_Kd {png_name}\n"
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    png_path = path.with_name(png_name)
    mtl_path = path.with_name(mtl_name)
    # Texture and material first, so a finished .obj never points at missing files.
    write_bytes(png_path, buf.getvalue())
    write_bytes(mtl_path, mtl.encode("utf-8"))
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return [path, mtl_path, png_path]
