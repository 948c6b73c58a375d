"""Strands as USD ``BasisCurves`` (usd-core), ``.usda`` text or ``.usdc`` binary crate.

Written stage: ``upAxis = "Y"``, ``metersPerUnit = 1``, default prim ``/Hair`` (an Xform)
holding one ``BasisCurves`` prim ``/Hair/Strands`` with ``type = "linear"``,
``wrap = "nonperiodic"``, ``curveVertexCounts``, ``points`` (root to tip, metres) and
per-vertex ``widths`` (diameters; default 0.08 mm). Blender, Houdini, Unreal and usdview read
it as hair curves.

Colour: ``primvars:displayColor`` holds the strands' colours, linear RGB as USD expects and
as :class:`~monoscan.core.strands.Strands` stores them (``vertex`` interpolation), or, for
strands without colours, the default hair colour (:data:`monoscan.core.colour.DARK_BROWN_SRGB`
linearised, ``constant``). The curves are bound (``material:binding``) to the material
``<parent>/Materials/Hair``, a ``UsdPreviewSurface`` whose ``diffuseColor`` is the median of
those colours (``roughness`` 0.6, ``metallic`` 0), a plain value rather than a primvar reader
so that importers which only take ``UsdPreviewSurface`` constants still get the hair's colour;
renderers that draw ``displayColor`` show every strand's own. Blender 4.2 binds no material to
imported curves (its curves reader ignores ``material:binding``) but keeps ``displayColor`` as
a point colour attribute of that name: an Attribute node on it shows the colours
(``tests/test_blender.py`` renders them).

On read every ``BasisCurves`` prim of the stage is collected (in traversal order), its
local-to-world transform applied, and the stage converted to metres and y up from its
``metersPerUnit`` and ``upAxis`` metadata.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from monoscan.core.colour import DARK_BROWN_SRGB, srgb_to_linear
from monoscan.core.errors import FormatError, InputError
from monoscan.core.strands import Strands
from monoscan.io.atomic import atomic_path
from monoscan.io.strands._common import check_strands, make_strands, widths_or_default

__all__ = ["read_usd", "write_usd"]

USD_SUFFIXES = (".usd", ".usda", ".usdc")


def _pxr():
    try:
        from pxr import Gf, Sdf, Usd, UsdGeom, Vt
    except ImportError as exc:  # pragma: no cover - usd-core is a dependency
        raise InputError(f"USD support needs the usd-core package ({exc})") from None
    return Gf, Sdf, Usd, UsdGeom, Vt


def write_usd(
    path: str | os.PathLike,
    strands: Strands,
    *,
    width: float | None = None,
    prim_path: str = "/Hair/Strands",
) -> Path:
    """Write strands as a USD ``BasisCurves`` prim atomically; returns the path.

    Parameters
    ----------
    path : path-like
        ``.usda`` (text), ``.usdc`` (binary) or ``.usd`` (binary) file.
    strands : Strands
        Metres, y up. Strands with fewer than two points are skipped (a linear curve needs
        two vertices).
    width : float, optional
        Diameter in metres for every point; default the stored widths, else 0.08 mm.
    prim_path : str
        Path of the curves prim; its parent becomes the stage's default prim.
    """
    _, Sdf, Usd, UsdGeom, Vt = _pxr()
    p = Path(path)
    if p.suffix.lower() not in USD_SUFFIXES:
        raise InputError(f"{p}: USD files must end in .usda, .usdc or .usd")
    s = check_strands(strands)
    if np.any(s.counts < 2):
        s = s.subset(s.counts >= 2)
    widths = widths_or_default(s, width)
    if not Sdf.Path.IsValidPathString(prim_path) or Sdf.Path(prim_path).pathElementCount < 2:
        raise InputError(f"invalid USD prim path {prim_path!r} (need e.g. '/Hair/Strands')")
    with atomic_path(p) as tmp:
        tmp.unlink()  # USD refuses to create a stage over an existing layer file
        stage = Usd.Stage.CreateNew(str(tmp))
        UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
        UsdGeom.SetStageMetersPerUnit(stage, 1.0)
        root = UsdGeom.Xform.Define(stage, Sdf.Path(prim_path).GetParentPath())
        stage.SetDefaultPrim(root.GetPrim())
        curves = UsdGeom.BasisCurves.Define(stage, prim_path)
        curves.CreateTypeAttr(UsdGeom.Tokens.linear)
        curves.CreateWrapAttr(UsdGeom.Tokens.nonperiodic)
        curves.CreateCurveVertexCountsAttr(Vt.IntArray.FromNumpy(s.counts.astype(np.int32)))
        curves.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(s.points)))
        curves.CreateWidthsAttr(Vt.FloatArray.FromNumpy(widths))
        curves.SetWidthsInterpolation(UsdGeom.Tokens.vertex)
        if s.n_points:
            lo, hi = s.bounds
            curves.CreateExtentAttr(Vt.Vec3fArray.FromNumpy(np.stack([lo, hi]).astype(np.float32)))
        if s.colors is not None and s.n_points:
            colors = np.clip(np.asarray(s.colors, np.float32), 0.0, 1.0)
            pv = curves.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex)
            pv.Set(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(colors)))
            diffuse = np.median(colors, axis=0)
        else:
            diffuse = srgb_to_linear(DARK_BROWN_SRGB / 255.0).astype(np.float32)
            pv = curves.CreateDisplayColorPrimvar(UsdGeom.Tokens.constant)
            pv.Set(Vt.Vec3fArray.FromNumpy(diffuse[None, :]))
        _bind_preview_material(stage, curves, diffuse)
        stage.GetRootLayer().documentation = "monoscan strands: metres, y up, root to tip"
        stage.GetRootLayer().Save()
        del stage
    return p


def _bind_preview_material(stage, curves, diffuse: np.ndarray) -> None:
    """Define ``<parent>/Materials/Hair`` (a ``UsdPreviewSurface``) and bind ``curves`` to it."""
    from pxr import Gf, Sdf, UsdGeom, UsdShade

    parent = curves.GetPath().GetParentPath()
    scope = parent.AppendChild("Looks" if curves.GetPath().name == "Materials" else "Materials")
    UsdGeom.Scope.Define(stage, scope)
    material = UsdShade.Material.Define(stage, scope.AppendChild("Hair"))
    shader = UsdShade.Shader.Define(stage, material.GetPath().AppendChild("PreviewSurface"))
    shader.CreateIdAttr("UsdPreviewSurface")
    rgb = Gf.Vec3f(*(float(c) for c in diffuse))
    shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).Set(rgb)
    shader.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(0.6)
    shader.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(0.0)
    surface = shader.CreateOutput("surface", Sdf.ValueTypeNames.Token)
    material.CreateSurfaceOutput().ConnectToSource(surface)
    UsdShade.MaterialBindingAPI.Apply(curves.GetPrim()).Bind(material)


def read_usd(path: str | os.PathLike, *, isolate: bool = True) -> Strands:
    """Read every ``BasisCurves`` prim of a USD file as strands in metres, y up.

    Parameters
    ----------
    path : path-like
        ``.usda``, ``.usdc`` or ``.usd`` file.
    isolate : bool
        Parse in a child process (default). The USD library can crash the whole interpreter
        (segmentation fault) on a corrupted binary crate file; isolated, such a file raises
        :class:`FormatError` instead. Costs about half a second.

    Raises
    ------
    monoscan.core.errors.FormatError
        If the file cannot be opened as USD, holds no curves, or its arrays disagree.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    if isolate:
        points, counts, widths = _read_isolated(p)
    else:
        points, counts, widths = read_usd_arrays(p)
    return make_strands(p, points, counts, widths=widths)


def _read_isolated(p: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    with tempfile.TemporaryDirectory(prefix="monoscan-usd-") as tmp:
        out = Path(tmp) / "curves.npz"
        cmd = [sys.executable, "-m", "monoscan.io.strands._usd_child", str(p), str(out)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        except subprocess.TimeoutExpired:
            raise FormatError(f"{p}: reading the USD file took more than 10 minutes") from None
        if proc.returncode != 0:
            lines = [x for x in proc.stderr.strip().splitlines() if x.startswith("error: ")]
            if proc.returncode == 2 and lines:
                raise FormatError(lines[-1][len("error: ") :])
            how = f"signal {-proc.returncode}" if proc.returncode < 0 else proc.returncode
            raise FormatError(f"{p}: malformed USD file (the USD library failed with {how})")
        try:
            with np.load(out) as z:
                widths = z["widths"] if z["has_widths"] else None
                return z["points"], z["counts"], widths
        except (OSError, KeyError, ValueError) as exc:
            raise FormatError(f"{p}: malformed USD file ({exc})") from None


def read_usd_arrays(p: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Parse a USD file in this process: ``(points m y-up, counts, widths m or None)``."""
    _, _, Usd, UsdGeom, _ = _pxr()
    try:
        stage = Usd.Stage.Open(str(p), Usd.Stage.LoadAll)
    except Exception as exc:  # noqa: BLE001 - pxr raises Tf.ErrorException when malformed
        msg = str(exc).strip().splitlines()
        raise FormatError(
            f"{p}: not a readable USD file ({msg[-1][:200] if msg else exc})"
        ) from exc
    if stage is None:
        raise FormatError(f"{p}: not a readable USD file")
    try:
        scale = float(UsdGeom.GetStageMetersPerUnit(stage))
        up = UsdGeom.GetStageUpAxis(stage)
        if not (np.isfinite(scale) and scale > 0):
            raise FormatError(f"{p}: invalid metersPerUnit {scale}")
        parts = []
        cache = UsdGeom.XformCache(Usd.TimeCode.Default())
        for prim in stage.Traverse():
            if not prim.IsA(UsdGeom.BasisCurves):
                continue
            curves = UsdGeom.BasisCurves(prim)
            pts = curves.GetPointsAttr().Get()
            cnt = curves.GetCurveVertexCountsAttr().Get()
            pts = np.zeros((0, 3)) if pts is None else np.asarray(pts, dtype=np.float64)
            cnt = np.zeros(0, np.int64) if cnt is None else np.asarray(cnt, dtype=np.int64)
            pts = pts.reshape(-1, 3)
            if np.any(cnt < 0) or int(cnt.sum()) != len(pts):
                raise FormatError(
                    f"{p}: {prim.GetPath()}: curveVertexCounts sum to {int(cnt.sum())} "
                    f"but there are {len(pts)} points"
                )
            m = np.array(cache.GetLocalToWorldTransform(prim), dtype=np.float64)
            # USD matrices are row-vector convention: p' = [p, 1] @ M.
            with np.errstate(all="ignore"):
                pts = pts @ m[:3, :3] + m[3, :3]
            widths = None
            w = curves.GetWidthsAttr().Get()
            if w is not None and len(w) == len(pts):
                widths = np.abs(np.asarray(w, dtype=np.float64)) * np.cbrt(
                    abs(np.linalg.det(m[:3, :3]))
                )
            parts.append((pts, cnt, widths))
    except FormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - any pxr failure means a malformed file
        raise FormatError(f"{p}: malformed USD curves ({str(exc).strip()[:200]})") from None
    if not parts:
        raise FormatError(f"{p}: the USD file contains no BasisCurves prim")
    points = np.concatenate([x[0] for x in parts]) * scale
    counts = np.concatenate([x[1] for x in parts])
    widths = None
    if all(x[2] is not None for x in parts):
        widths = np.concatenate([x[2] for x in parts]) * scale
    if up == UsdGeom.Tokens.z:
        # z-up to y-up: rotate -90 degrees about x, (x, y, z) -> (x, z, -y).
        points = np.stack([points[:, 0], points[:, 2], -points[:, 1]], axis=1)
    return points, counts, widths
