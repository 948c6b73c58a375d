"""Mesh input and output that keeps vertex indices stable.

:func:`load_mesh` reads OBJ, PLY, GLB/GLTF, OFF and STL into a :class:`trimesh.Trimesh` without
any processing that merges, drops or reorders vertices (H3DS landmarks and regions, and the
monoscan head's landmark ids, are vertex indices). Everything a user can get wrong raises
:class:`~monoscan.core.errors.InputError` (missing file, unknown suffix) or
:class:`~monoscan.core.errors.FormatError` (malformed content) with a one-line message.

:func:`save_mesh` writes atomically by suffix: ``.obj`` (with ``<stem>.mtl`` and ``<stem>.png``
when the mesh carries a texture), ``.ply`` (binary, vertex colours kept), ``.glb`` (texture
embedded), ``.off`` and ``.stl``.

Colour conventions. In memory (``trimesh`` vertex colours, texture images) and in OBJ/PLY,
colours are sRGB, 8 bits. glTF differs: ``COLOR_0`` is *linear* RGB while a
``baseColorTexture`` image is sRGB (glTF 2.0 specification, Meshes and Materials). The GLB
writer therefore stores vertex colours as float32 linear values (IEC 61966-2-1 transfer
function; sRGB 0.5 becomes about 0.214), keeps texture images as they are, and binds every
primitive to a PBR material (``baseColorFactor`` white, ``metallicFactor`` 0) that uses them:
the texture as ``baseColorTexture``, or the vertex colours (glTF multiplies ``COLOR_0`` into
the base colour). Without a material Blender, Unreal and three.js ignore ``COLOR_0``; with
glTF's default ``metallicFactor`` of 1 a textured mesh renders as dark metal.
:func:`load_mesh` turns a GLB's ``COLOR_0`` back into sRGB 8-bit vertex colours.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from monoscan.core.colour import linear_to_srgb, srgb_to_linear
from monoscan.core.errors import FormatError, InputError
from monoscan.io.atomic import atomic_path, write_bytes
from monoscan.io.gltf import pack_glb
from monoscan.io.obj import parse_obj

__all__ = ["MESH_SUFFIXES", "MorphTargets", "Skin", "load_mesh", "save_glb", "save_mesh"]

MESH_SUFFIXES = (".obj", ".ply", ".glb", ".gltf", ".off", ".stl")


def load_mesh(
    path: str | os.PathLike, *, allow_points: bool = False, texture: bool = True
) -> trimesh.Trimesh:
    """Read a triangle mesh, keeping vertices exactly in file order.

    Parameters
    ----------
    path : str or PathLike
        ``.obj``, ``.ply``, ``.glb``/``.gltf``, ``.off`` or ``.stl`` file. Units are whatever the
        file holds (monoscan writes metres; H3DS scans are millimetres).
    allow_points : bool
        Accept a file with vertices but no faces (a point cloud); the result then has an empty
        ``(0, 3)`` face array. Vertex-based metrics work on such meshes.
    texture : bool
        OBJ: also read the texture (UVs and the ``.mtl`` material, through trimesh). False
        reads the geometry and vertex colours only: faster for a textured file, and the read
        then touches no process-wide state (no warning filters), so it may run in a thread.

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
        mesh = _load_obj(raw, path, texture=texture)
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


def _linear_to_srgb8(linear: np.ndarray) -> np.ndarray:
    """Linear RGB(A) in [0, 1] to 8-bit sRGB (alpha, the 4th column, stays linear)."""
    c = np.clip(np.nan_to_num(np.asarray(linear, np.float64)), 0.0, 1.0)
    rgb = linear_to_srgb(c[:, :3])
    out = np.concatenate([rgb, c[:, 3:4]], axis=1) if c.shape[1] > 3 else rgb
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


def _gltf_colours_to_srgb(mesh: trimesh.Trimesh) -> None:
    """Give a loaded glTF mesh sRGB 8-bit vertex colours, as OBJ and PLY meshes have.

    trimesh keeps ``COLOR_0`` as stored (linear). On a primitive with a material it lands in
    ``visual.vertex_attributes["color"]`` beside a texture visual; when that material has no
    image the vertex colours are the colour, so they become the visual.
    """
    visual = mesh.visual
    n = len(mesh.vertices)
    if _texture_image(mesh) is not None and getattr(visual, "uv", None) is not None:
        return
    raw = getattr(visual, "vertex_attributes", {}).get("color")
    if raw is not None and len(raw) == n:
        raw = np.asarray(raw)
        linear = raw / float(np.iinfo(raw.dtype).max) if raw.dtype.kind in "ui" else raw
    elif getattr(visual, "kind", None) == "vertex":
        linear = np.asarray(visual.vertex_colors, np.float64) / 255.0
    else:
        return
    if linear.ndim != 2 or linear.shape[1] not in (3, 4):
        return
    mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=_linear_to_srgb8(linear))


def _one_line(exc: BaseException) -> str:
    """The first line of an exception's message, at most 200 characters."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def _load_obj(raw: bytes, path: Path, *, texture: bool = True) -> trimesh.Trimesh:
    """Parse OBJ geometry ourselves (:func:`monoscan.io.obj.parse_obj`): vertex ``i`` is the
    ``i``-th ``v`` line, always.

    trimesh drops unreferenced vertices and re-indexes on UV seams; H3DS regions and landmarks
    are indices into the file's ``v`` lines, so geometry is read here and only the material
    (texture image) is taken from trimesh.
    """
    name = path.name
    textured = texture and b"mtllib" in raw
    geometry = parse_obj(raw, name, texcoords=textured)
    vertices, faces = geometry.vertices, geometry.faces
    if not len(vertices):
        raise FormatError(f"mesh file has no vertices: {path}")
    colors = None
    if vertices.shape[1] >= 6:
        rgb = vertices[:, 3:6]
        if not np.isfinite(rgb).all():
            raise FormatError(f"mesh {name} has NaN or infinite vertex colours")
        colors = np.clip(np.round(rgb * (255.0 if rgb.max() <= 1.0 else 1.0)), 0, 255)
        colors = colors.astype(np.uint8)
    vertices = np.ascontiguousarray(vertices[:, :3])
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, vertex_colors=colors, process=False)
    if textured and geometry.texcoords is not None and len(faces):
        tri_t = geometry.face_texcoords
        if tri_t is None:
            tri_t = np.zeros((0, 3), dtype=np.int64)
        _attach_texture(mesh, path, geometry.texcoords, tri_t)
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
    gltf = path.suffix.lower() in (".glb", ".gltf")
    if isinstance(loaded, trimesh.Trimesh):
        if gltf:
            _gltf_colours_to_srgb(loaded)
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
            if gltf and isinstance(geom, trimesh.Trimesh):
                # Before dump(): its copies drop the per-vertex attributes COLOR_0 lands in.
                _gltf_colours_to_srgb(geom)
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
        vertex colours if any. ``.glb``: binary glTF, one primitive bound to a PBR material:
        the texture embedded (PNG, sRGB) as its ``baseColorTexture``, or the vertex colours as
        linear float ``COLOR_0`` (module docstring); vertex normals included. ``.off``,
        ``.stl``.
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
        data = _encode_glb({path.stem: mesh}, {})
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
    # The texture is the colour: readers multiply map_Kd by Kd (trimesh writes 0.4 grey) and
    # add Ks highlights, so Kd is white and Ks black.
    mtl = re.sub(r"^(\s*Kd\s+).*$", r"\g<1>1.0 1.0 1.0", mtl, flags=re.MULTILINE)
    mtl = re.sub(r"^(\s*Ks\s+).*$", r"\g<1>0.0 0.0 0.0", mtl, flags=re.MULTILINE)
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


# ------------------------------------------------------------------------------------- GLB
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_FLOAT, _UINT32, _UINT16, _UINT8 = 5126, 5125, 5123, 5121
#: Roughness of the written material: scanned colours already hold the photo's shading, so
#: almost no specular highlight is added on top.
GLB_ROUGHNESS = 0.9


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (float32); +z where a vertex has no face."""
    n = np.zeros((len(vertices), 3))
    if len(faces):
        tri = vertices[faces]
        cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        for c in range(3):
            n[:, c] = np.bincount(faces.ravel(), np.repeat(cross[:, c], 3), len(vertices))
    length = np.linalg.norm(n, axis=1)
    ok = length > 1e-30
    n[ok] /= length[ok, None]
    n[~ok] = (0.0, 0.0, 1.0)
    return n.astype(np.float32)


def _closed(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """Every edge shared by exactly two faces, vertices merged by position (UV seams split a
    closed textured mesh into copies of its vertices)."""
    if len(faces) == 0:
        return False
    rows = np.ascontiguousarray(vertices, np.float32).view(np.dtype((np.void, 12))).ravel()
    _, same = np.unique(rows, return_inverse=True)
    f = same.reshape(-1)[faces]
    edges = np.sort(f[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, counts = np.unique(edges[:, 0] * (int(same.max()) + 1) + edges[:, 1], return_counts=True)
    return bool((counts == 2).all())


def _vertex_rgba(mesh: trimesh.Trimesh) -> np.ndarray | None:
    """(V, 4) uint8 sRGB vertex colours of a mesh, or None when it defines none."""
    visual = mesh.visual
    if getattr(visual, "kind", None) in ("vertex", "face"):
        rgba = np.asarray(visual.vertex_colors)
    else:
        rgba = getattr(visual, "vertex_attributes", {}).get("color")
        if rgba is None:
            return None
        rgba = np.asarray(rgba)
        if rgba.dtype.kind == "f":
            rgba = np.clip(np.rint(rgba * 255.0), 0, 255)
    if rgba.ndim != 2 or len(rgba) != len(mesh.vertices) or rgba.shape[1] not in (3, 4):
        return None
    rgba = rgba.astype(np.uint8)
    if rgba.shape[1] == 3:
        rgba = np.c_[rgba, np.full(len(rgba), 255, np.uint8)]
    return rgba


@dataclass(frozen=True)
class MorphTargets:
    """Blend shapes of a mesh written to GLB as glTF morph targets.

    Attributes
    ----------
    names : tuple of str
        One per target (written as the mesh's ``extras.targetNames``, which Blender and
        three.js read).
    offsets : (T, V, 3) float array
        Position offsets of every vertex per target (metres, the mesh's vertex order).
    weights : (T,) float array, optional
        The weights the mesh shows by default (glTF ``mesh.weights``); zeros if None.
    """

    names: tuple[str, ...]
    offsets: np.ndarray
    weights: np.ndarray | None = None


#: Morph target offsets smaller than this (metres) are written as zero (sparse accessors).
MORPH_EPSILON_M = 1e-5


@dataclass(frozen=True)
class Skin:
    """A skeleton and the skin weights of a mesh, written to GLB as a glTF skin.

    The mesh is bound in the pose it is written in (its bind pose): the joint nodes are
    written at the ``bind`` transforms and the inverse bind matrices are their inverses, so a
    reader that skins shows the mesh exactly as a reader that does not (trimesh, the OBJ),
    and turning a joint node poses the mesh (Blender: an armature with one bone per joint).

    Attributes
    ----------
    names : tuple of str
        One per joint: the joint nodes' names (Blender's bones and vertex groups).
    parents : (J,) int array
        Parent joint of each joint, -1 for a root; parents come before their children.
    bind : (J, 4, 4) float array
        Each joint's world transform in the bind pose (the mesh's frame, metres): a rotation
        (orthonormal, determinant 1) and a translation, no scale.
    joints : (V, K) int array
        The joints that move each vertex (K <= 4; glTF's ``JOINTS_0``).
    weights : (V, K) float array
        Their weights, >= 0, summing to 1 per vertex (within 1e-3; renormalised on writing).
    """

    names: tuple[str, ...]
    parents: np.ndarray
    bind: np.ndarray
    joints: np.ndarray
    weights: np.ndarray


def _check_skin(name: str, skin: Skin, n_vertices: int) -> None:
    """Raise :class:`InputError` when ``skin`` cannot be written for a mesh of ``n_vertices``."""
    n = len(skin.names)
    parents = np.asarray(skin.parents)
    bind = np.asarray(skin.bind, np.float64)
    joints, weights = np.asarray(skin.joints), np.asarray(skin.weights, np.float64)
    problems = []
    if n == 0 or parents.shape != (n,) or bind.shape != (n, 4, 4):
        problems.append(f"{n} names, parents {parents.shape}, bind {bind.shape}")
    elif any(p >= k or p < -1 for k, p in enumerate(parents.tolist())):
        problems.append("a parent after its child")
    elif not np.isfinite(bind).all() or not np.allclose(bind[:, 3], [0, 0, 0, 1]):
        problems.append("bind matrices are not finite affine transforms")
    else:
        r = bind[:, :3, :3]
        gram = np.einsum("kji,kjl->kil", r, r)
        if np.abs(gram - np.eye(3)).max() > 1e-5 or (np.linalg.det(r) <= 0).any():
            problems.append("bind rotations are not rotations")
    if joints.ndim != 2 or joints.shape != weights.shape or not 1 <= joints.shape[1] <= 4:
        problems.append(f"joints {joints.shape} and weights {weights.shape}: (V, K <= 4) each")
    elif len(joints) != n_vertices:
        problems.append(f"{len(joints)} rows of weights for {n_vertices} vertices")
    elif joints.min() < 0 or joints.max() >= n:
        problems.append("joint indices out of range")
    elif (weights < 0).any() or np.abs(weights.sum(1) - 1.0).max() > 1e-3:
        problems.append("weights negative or not summing to 1")
    if problems:
        raise InputError(f"skin of {name!r}: {problems[0]}")


def _skin_attributes(skin: Skin) -> tuple[np.ndarray, np.ndarray]:
    """``JOINTS_0`` (V, 4) uint8 or uint16 and ``WEIGHTS_0`` (V, 4) float32 of a skin: padded
    to four, zero-weight slots on joint 0, float32 weights summing to 1 (the rounding left
    on each vertex's largest weight)."""
    joints = np.asarray(skin.joints, np.int64)
    weights = np.asarray(skin.weights, np.float64)
    pad = 4 - joints.shape[1]
    joints = np.pad(joints, ((0, 0), (0, pad)))
    weights = np.pad(weights, ((0, 0), (0, pad)))
    weights /= weights.sum(1, keepdims=True)
    joints = np.where(weights > 0, joints, 0)
    w32 = weights.astype(np.float32)
    top = w32.argmax(1)
    rows = np.arange(len(w32))
    w32[rows, top] += np.float32(1.0) - w32.sum(1, dtype=np.float32)
    dtype = "<u1" if len(skin.names) <= 256 else "<u2"
    return joints.astype(dtype), w32


def _quaternion(r: np.ndarray) -> list[float]:
    """glTF's unit quaternion (x, y, z, w) of a rotation matrix."""
    from scipy.spatial.transform import Rotation

    return [float(v) for v in Rotation.from_matrix(r).as_quat()]


def save_glb(
    path: str | os.PathLike,
    meshes: Mapping[str, trimesh.Trimesh],
    morph_targets: Mapping[str, MorphTargets] | None = None,
    skins: Mapping[str, Skin] | None = None,
) -> list[Path]:
    """Write several named meshes as one GLB scene, atomically.

    Each mesh becomes a node, a mesh and a PBR material as :func:`save_mesh` writes them
    (vertex order kept); ``morph_targets`` adds blend shapes to the meshes it names, and
    ``skins`` a skeleton and skin weights (:class:`Skin`). Returns ``[path]``.
    """
    path = Path(path)
    if not meshes:
        raise InputError(f"refusing to write a GLB without meshes to {path}")
    for name, mesh in meshes.items():
        if not isinstance(mesh, trimesh.Trimesh) or len(mesh.vertices) == 0:
            raise InputError(f"save_glb needs non-empty trimesh.Trimesh meshes ({name!r})")
    for name, skin in (skins or {}).items():
        if name not in meshes:
            raise InputError(f"skin for {name!r}, which is not one of the meshes")
        _check_skin(name, skin, len(meshes[name].vertices))
    write_bytes(path, _encode_glb(meshes, morph_targets or {}, skins or {}))
    return [path]


def _encode_glb(
    meshes: Mapping[str, trimesh.Trimesh],
    morph_targets: Mapping[str, MorphTargets],
    skins: Mapping[str, Skin] | None = None,
) -> bytes:
    """GLB bytes of named meshes: one node, mesh, primitive and PBR material each.

    Attributes: ``POSITION`` and ``NORMAL`` (float32), then either ``TEXCOORD_0`` (glTF's
    top-left origin: ``v`` flipped) with the texture image as the material's
    ``baseColorTexture``, or ``COLOR_0`` (float32 linear RGB, RGBA when some alpha is below
    255) multiplied into a white ``baseColorFactor``. A mesh with neither gets a plain white
    material. Morph targets are sparse float32 ``POSITION`` offsets. A skinned mesh adds
    ``JOINTS_0`` (unsigned byte, or short past 256 joints) and ``WEIGHTS_0`` (float32), a
    ``skins`` entry (float32 ``MAT4`` inverse bind matrices, column-major) and one node per
    joint (translation and rotation of the bind pose, under its parent); its roots join the
    scene beside the mesh's node. Metres, y up (the monoscan world frame is glTF's).
    """
    skins = skins or {}
    chunks: list[bytes] = []
    views: list[dict] = []
    accessors: list[dict] = []
    images: list[dict] = []

    def view(blob: bytes, target: int | None = None) -> int:
        offset = sum(len(c) for c in chunks)
        item = {"buffer": 0, "byteOffset": offset, "byteLength": len(blob)}
        if target is not None:
            item["target"] = target
        views.append(item)
        chunks.append(blob + b"\x00" * (-len(blob) % 4))
        return len(views) - 1

    def accessor(array: np.ndarray, kind: str, component: int, target: int | None, **extra) -> int:
        accessors.append(
            {
                "bufferView": view(np.ascontiguousarray(array).tobytes(), target),
                "componentType": component,
                "count": len(array),
                "type": kind,
                **extra,
            }
        )
        return len(accessors) - 1

    def sparse_offsets(offsets: np.ndarray) -> int:
        offsets = np.asarray(offsets, np.float32)
        moved = np.flatnonzero(np.abs(offsets).max(axis=1) >= MORPH_EPSILON_M)
        if len(moved) == 0:
            moved = np.array([0])  # a sparse accessor holds at least one value
        values = np.where(np.isin(np.arange(len(offsets)), moved)[:, None], offsets, 0)
        accessors.append(
            {
                "componentType": _FLOAT,
                "count": len(offsets),
                "type": "VEC3",
                "min": values.min(axis=0).tolist(),
                "max": values.max(axis=0).tolist(),
                "sparse": {
                    "count": len(moved),
                    "indices": {
                        "bufferView": view(moved.astype("<u4").tobytes()),
                        "componentType": _UINT32,
                    },
                    "values": {"bufferView": view(np.ascontiguousarray(values[moved]).tobytes())},
                },
            }
        )
        return len(accessors) - 1

    gltf_meshes, materials, gltf_skins = [], [], []
    skin_of: dict[str, tuple[int, Skin, np.ndarray]] = {}
    for name, mesh in meshes.items():
        vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float32)
        faces = np.asarray(mesh.faces, dtype=np.int64).reshape(-1, 3)
        primitive: dict = {"attributes": {}, "mode": 4 if len(faces) else 0}
        if len(faces):
            primitive["indices"] = accessor(
                faces.astype("<u4").ravel(), "SCALAR", _UINT32, _ELEMENT_ARRAY_BUFFER
            )
        attributes = primitive["attributes"]
        attributes["POSITION"] = accessor(
            vertices, "VEC3", _FLOAT, _ARRAY_BUFFER,
            min=vertices.min(axis=0).tolist(), max=vertices.max(axis=0).tolist(),
        )  # fmt: skip
        attributes["NORMAL"] = accessor(
            _vertex_normals(vertices.astype(np.float64), faces), "VEC3", _FLOAT, _ARRAY_BUFFER
        )
        pbr: dict = {"baseColorFactor": [1.0, 1.0, 1.0, 1.0], "metallicFactor": 0.0,
                     "roughnessFactor": GLB_ROUGHNESS}  # fmt: skip
        material: dict = {"name": f"{name}_material", "pbrMetallicRoughness": pbr}
        image = _texture_image(mesh)
        uv = getattr(mesh.visual, "uv", None)
        if image is not None and uv is not None and len(uv) == len(vertices):
            uv = np.asarray(uv, dtype=np.float32)[:, :2].copy()
            uv[:, 1] = 1.0 - uv[:, 1]
            attributes["TEXCOORD_0"] = accessor(uv, "VEC2", _FLOAT, _ARRAY_BUFFER)
            png = io.BytesIO()
            image.save(png, format="PNG")
            images.append({"bufferView": view(png.getvalue()), "mimeType": "image/png"})
            pbr["baseColorTexture"] = {"index": len(images) - 1, "texCoord": 0}
        else:
            rgba = _vertex_rgba(mesh)
            if rgba is not None:
                colour = srgb_to_linear(rgba[:, :3] / 255.0)
                if (rgba[:, 3] < 255).any():
                    colour = np.c_[colour, rgba[:, 3] / 255.0]
                    material["alphaMode"] = "BLEND"
                attributes["COLOR_0"] = accessor(
                    colour.astype(np.float32), "VEC4" if colour.shape[1] == 4 else "VEC3",
                    _FLOAT, _ARRAY_BUFFER,
                )  # fmt: skip
        # An open surface (the face) is seen from both sides; a closed one only from outside.
        material["doubleSided"] = not _closed(vertices, faces)
        primitive["material"] = len(materials)
        materials.append(material)
        gltf_mesh: dict = {"name": name, "primitives": [primitive],
                           "extras": {"units": "m", "up": "y"}}  # fmt: skip
        targets = morph_targets.get(name)
        if targets is not None:
            offsets = np.asarray(targets.offsets)
            if offsets.shape != (len(targets.names), len(vertices), 3):
                raise InputError(
                    f"morph targets of {name!r} must be ({len(targets.names)}, "
                    f"{len(vertices)}, 3), got {offsets.shape}"
                )
            primitive["targets"] = [{"POSITION": sparse_offsets(o)} for o in offsets]
            weights = np.zeros(len(offsets)) if targets.weights is None else targets.weights
            gltf_mesh["weights"] = [float(w) for w in weights]
            gltf_mesh["extras"]["targetNames"] = list(targets.names)
        gltf_meshes.append(gltf_mesh)
        skin = skins.get(name)
        if skin is not None:
            joint_ids, weights = _skin_attributes(skin)
            component = _UINT8 if joint_ids.dtype.itemsize == 1 else _UINT16
            attributes["JOINTS_0"] = accessor(joint_ids, "VEC4", component, _ARRAY_BUFFER)
            attributes["WEIGHTS_0"] = accessor(weights, "VEC4", _FLOAT, _ARRAY_BUFFER)
            bind = np.asarray(skin.bind, np.float64)
            inverse = np.linalg.inv(bind).transpose(0, 2, 1)  # glTF matrices are column-major
            gltf_skins.append(
                {
                    "name": f"{name}_skeleton",
                    "inverseBindMatrices": accessor(
                        inverse.astype(np.float32).reshape(-1, 16), "MAT4", _FLOAT, None
                    ),
                    "joints": [],
                }
            )
            skin_of[name] = (len(gltf_skins) - 1, skin, bind)
    names = list(meshes)
    nodes: list[dict] = [{"mesh": i, "name": n} for i, n in enumerate(names)]
    scene_nodes = list(range(len(names)))
    for i, name in enumerate(names):
        if name not in skin_of:
            continue
        index, skin, bind = skin_of[name]
        nodes[i]["skin"] = index
        first = len(nodes)
        ids = list(range(first, first + len(skin.names)))
        for k, (joint, parent) in enumerate(zip(skin.names, skin.parents, strict=True)):
            local = bind[k] if parent < 0 else np.linalg.solve(bind[parent], bind[k])
            nodes.append(
                {
                    "name": str(joint),
                    "translation": [float(v) for v in local[:3, 3]],
                    "rotation": _quaternion(local[:3, :3]),
                }
            )
            if parent < 0:
                scene_nodes.append(ids[k])
            else:
                nodes[ids[parent]].setdefault("children", []).append(ids[k])
        gltf_skins[index]["joints"] = ids
        roots = [ids[k] for k, p in enumerate(skin.parents) if p < 0]
        if len(roots) == 1:
            gltf_skins[index]["skeleton"] = roots[0]
    gltf: dict = {}
    if images:
        gltf["images"] = images
        # Linear filtering with mipmaps; clamped, so atlas islands do not bleed at the border.
        gltf["samplers"] = [{"magFilter": 9729, "minFilter": 9987, "wrapS": 33071, "wrapT": 33071}]
        gltf["textures"] = [{"sampler": 0, "source": i} for i in range(len(images))]
    if gltf_skins:
        gltf["skins"] = gltf_skins
    binary = b"".join(chunks)
    gltf = {
        "asset": {"version": "2.0", "generator": "monoscan"},
        "scene": 0,
        "scenes": [{"nodes": scene_nodes}],
        "nodes": nodes,
        "meshes": gltf_meshes,
        "materials": materials,
        **gltf,
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
    }
    return pack_glb(gltf, binary)
