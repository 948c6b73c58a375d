"""A head with blend shapes as USD (UsdSkel): for Blender, Maya, Unreal and usdview.

:func:`write_blendshape_usd` writes one stage (metres, y up)::

    /Head                       SkelRoot (the default prim)
      Skeleton                  one "root" joint at the origin (UsdSkel drives blend shapes
        Expression              through a skeleton); SkelAnimation with the blend shape
                                weights the head shows by default (the photo's expression)
      Skin                      Mesh: the base skin, uv as primvars:st (faceVarying),
        <name> ...              vertex displayColor; a BlendShape per expression (sparse
                                offsets and point indices)
      <extra meshes>            e.g. the eyeballs, vertex displayColor
      Materials/Skin            UsdPreviewSurface reading the texture file (relative path)

Blender's USD importer turns the blend shapes into shape keys and the animation's weights
into their values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from monoscan.core.colour import srgb_to_linear
from monoscan.core.errors import InputError
from monoscan.io.atomic import atomic_path

__all__ = ["read_blendshape_usd", "write_blendshape_usd"]

#: Offsets smaller than this (metres) are left out of a blend shape's sparse offsets.
OFFSET_EPSILON_M = 1e-5


def _vec3f(Vt, array: np.ndarray):
    return Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(array, np.float32))


def _mesh(stage, path: str, vertices: np.ndarray, faces: np.ndarray, colors_srgb=None):
    from pxr import UsdGeom, Vt

    mesh = UsdGeom.Mesh.Define(stage, path)
    mesh.CreatePointsAttr(_vec3f(Vt, vertices))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(faces), 3, np.int32)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(np.asarray(faces, np.int32).ravel()))
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    v = np.asarray(vertices, np.float32)
    mesh.CreateExtentAttr(_vec3f(Vt, np.stack([v.min(0), v.max(0)])))
    if colors_srgb is not None:
        linear = srgb_to_linear(np.asarray(colors_srgb, np.float64) / 255.0)
        mesh.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex).Set(_vec3f(Vt, linear))
    return mesh


def write_blendshape_usd(
    path: str | os.PathLike,
    vertices: np.ndarray,
    faces: np.ndarray,
    names: Sequence[str],
    offsets: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    corner_uv: np.ndarray | None = None,
    texture_file: str | None = None,
    vertex_colors: np.ndarray | None = None,
    extra_meshes: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
) -> Path:
    """Write a skin with blend shapes (and optional extra meshes) as USD, atomically.

    Parameters
    ----------
    path : path-like
        ``.usda`` (text) or ``.usdc``/``.usd`` (binary).
    vertices, faces : (V, 3) float and (F, 3) int arrays
        The base skin (metres, y up), triangles outward.
    names : sequence of str
        Blend shape names (valid USD identifiers, e.g. ``jawOpen``).
    offsets : (T, V, 3) float array
        Each blend shape's vertex offsets at weight 1 (metres).
    weights : (T,) float array, optional
        Weights the animation sets (zeros if None).
    corner_uv : (F, 3, 2) float array, optional
        Texture coordinates per triangle corner (v up), written as ``primvars:st``.
    texture_file : str, optional
        Texture image path relative to ``path``, read by the skin's material.
    vertex_colors : (V, 3) uint8 sRGB, optional
        ``primvars:displayColor`` (stored linear, as USD expects).
    extra_meshes : mapping name -> (vertices, faces, sRGB vertex colours), optional
        More meshes under the root (the eyeballs), without blend shapes.
    """
    from pxr import Gf, Sdf, Usd, UsdGeom, UsdSkel, Vt

    p = Path(path)
    if p.suffix.lower() not in (".usda", ".usdc", ".usd"):
        raise InputError(f"{p}: USD files must end in .usda, .usdc or .usd")
    names = [str(n) for n in names]
    offsets = np.asarray(offsets, np.float32)
    if offsets.shape != (len(names), len(vertices), 3):
        raise InputError(
            f"blend shape offsets must be ({len(names)}, {len(vertices)}, 3), got {offsets.shape}"
        )
    bad = [n for n in names if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n)]
    if bad:
        raise InputError(f"blend shape names must be identifiers, not {bad[:3]}")
    weights = np.zeros(len(names)) if weights is None else np.asarray(weights, np.float32)
    with atomic_path(p) as tmp:
        tmp.unlink()  # USD refuses to create a stage over an existing layer file
        stage = Usd.Stage.CreateNew(str(tmp))
        UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
        UsdGeom.SetStageMetersPerUnit(stage, 1.0)
        root = UsdSkel.Root.Define(stage, "/Head")
        stage.SetDefaultPrim(root.GetPrim())
        skeleton = UsdSkel.Skeleton.Define(stage, "/Head/Skeleton")
        skeleton.CreateJointsAttr(["root"])
        identity = Vt.Matrix4dArray([Gf.Matrix4d(1.0)])
        skeleton.CreateBindTransformsAttr(identity)
        skeleton.CreateRestTransformsAttr(identity)
        animation = UsdSkel.Animation.Define(stage, "/Head/Skeleton/Expression")
        animation.CreateBlendShapesAttr(names)
        animation.CreateBlendShapeWeightsAttr(Vt.FloatArray.FromNumpy(weights.astype(np.float32)))
        UsdSkel.BindingAPI.Apply(skeleton.GetPrim()).CreateAnimationSourceRel().SetTargets(
            [animation.GetPath()]
        )
        skin = _mesh(stage, "/Head/Skin", vertices, faces, vertex_colors)
        binding = UsdSkel.BindingAPI.Apply(skin.GetPrim())
        binding.CreateSkeletonRel().SetTargets([skeleton.GetPath()])
        binding.CreateJointIndicesPrimvar(constant=True, elementSize=1).Set([0])
        binding.CreateJointWeightsPrimvar(constant=True, elementSize=1).Set([1.0])
        binding.CreateBlendShapesAttr(names)
        targets = []
        for name, offset in zip(names, offsets, strict=True):
            shape = UsdSkel.BlendShape.Define(stage, skin.GetPath().AppendChild(name))
            moved = np.flatnonzero(np.abs(offset).max(axis=1) >= OFFSET_EPSILON_M)
            if len(moved) == 0:
                moved = np.array([0])  # importers drop a shape with no points (Blender 4.2)
            shape.CreateOffsetsAttr(_vec3f(Vt, offset[moved]))
            shape.CreatePointIndicesAttr(Vt.IntArray.FromNumpy(moved.astype(np.int32)))
            targets.append(shape.GetPath())
        binding.CreateBlendShapeTargetsRel().SetTargets(targets)
        if corner_uv is not None:
            st = UsdGeom.PrimvarsAPI(skin).CreatePrimvar(
                "st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.faceVarying
            )
            uv = np.asarray(corner_uv, np.float32).reshape(-1, 2)
            st.Set(Vt.Vec2fArray.FromNumpy(np.ascontiguousarray(uv)))
        if texture_file is not None:
            _bind_textured_material(stage, skin, texture_file)
        for name, (v, f, colours) in (extra_meshes or {}).items():
            _mesh(stage, f"/Head/{name}", v, f, colours)
        stage.GetRootLayer().documentation = (
            "monoscan head with blend shapes: metres, y up; /Head/Skeleton/Expression "
            "holds the photo's weights"
        )
        stage.GetRootLayer().Save()
        del stage
    return p


def _bind_textured_material(stage, mesh, texture_file: str) -> None:
    """``/Head/Materials/Skin``: a ``UsdPreviewSurface`` whose diffuse colour is the texture."""
    from pxr import Sdf, UsdGeom, UsdShade

    UsdGeom.Scope.Define(stage, "/Head/Materials")
    material = UsdShade.Material.Define(stage, "/Head/Materials/Skin")
    surface = UsdShade.Shader.Define(stage, "/Head/Materials/Skin/PreviewSurface")
    surface.CreateIdAttr("UsdPreviewSurface")
    surface.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(0.7)
    surface.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(0.0)
    reader = UsdShade.Shader.Define(stage, "/Head/Materials/Skin/st")
    reader.CreateIdAttr("UsdPrimvarReader_float2")
    reader.CreateInput("varname", Sdf.ValueTypeNames.Token).Set("st")
    texture = UsdShade.Shader.Define(stage, "/Head/Materials/Skin/Texture")
    texture.CreateIdAttr("UsdUVTexture")
    texture.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(texture_file)
    texture.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set("sRGB")
    texture.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(
        reader.ConnectableAPI(), "result"
    )
    rgb = texture.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
    surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(rgb)
    material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
    UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(material)


def read_blendshape_usd(path: str | os.PathLike) -> dict:
    """What :func:`write_blendshape_usd` wrote: ``vertices``, ``faces``, ``names``,
    ``offsets`` (T, V, 3, dense), ``weights``, ``extra`` (name -> vertex count) and
    ``texture`` (the skin material's file, or None)."""
    from pxr import Usd, UsdGeom, UsdShade, UsdSkel

    stage = Usd.Stage.Open(str(path))
    if stage is None:
        raise InputError(f"{path}: not a USD file")
    skin = UsdGeom.Mesh(stage.GetPrimAtPath("/Head/Skin"))
    if not skin:
        raise InputError(f"{path}: no /Head/Skin mesh")
    vertices = np.asarray(skin.GetPointsAttr().Get(), np.float64)
    faces = np.asarray(skin.GetFaceVertexIndicesAttr().Get(), np.int64).reshape(-1, 3)
    binding = UsdSkel.BindingAPI(skin.GetPrim())
    names = [str(n) for n in binding.GetBlendShapesAttr().Get()]
    offsets = np.zeros((len(names), len(vertices), 3))
    for k, target in enumerate(binding.GetBlendShapeTargetsRel().GetTargets()):
        shape = UsdSkel.BlendShape(stage.GetPrimAtPath(target))
        idx = np.asarray(shape.GetPointIndicesAttr().Get(), np.int64)
        offsets[k, idx] = np.asarray(shape.GetOffsetsAttr().Get(), np.float64)
    animation = UsdSkel.Animation(stage.GetPrimAtPath("/Head/Skeleton/Expression"))
    weights = np.asarray(animation.GetBlendShapeWeightsAttr().Get(), np.float64)
    extra = {
        prim.GetName(): len(UsdGeom.Mesh(prim).GetPointsAttr().Get())
        for prim in stage.GetPrimAtPath("/Head").GetChildren()
        if prim.IsA(UsdGeom.Mesh) and prim.GetName() != "Skin"
    }
    texture = None
    shader = UsdShade.Shader(stage.GetPrimAtPath("/Head/Materials/Skin/Texture"))
    if shader:
        texture = shader.GetInput("file").Get().path
    return {
        "texture": texture,
        "vertices": vertices,
        "faces": faces,
        "names": names,
        "offsets": offsets,
        "weights": weights,
        "extra": extra,
    }
