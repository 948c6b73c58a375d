"""Alembic (``.abc``) curves through Blender as a Python module (PyPI ``bpy``, optional).

Unreal's groom importer and most DCC tools take hair as Alembic curves. There is no light
Alembic writer on PyPI, so this goes through Blender: the strands become one poly-curve
object in an empty scene and ``bpy.ops.wm.alembic_export`` writes it. Blender is z up; the
points are rotated into it ((x, y, z) -> (x, -z, y)) and Blender's exporter rotates them
back to Alembic's y up, so the file holds metres, y up, as in memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from monoscan.core.errors import InputError, MonoscanError
from monoscan.core.strands import Strands
from monoscan.io.atomic import atomic_path
from monoscan.io.strands._common import check_strands, widths_or_default

__all__ = ["bpy_available", "write_alembic"]


def bpy_available() -> bool:
    """True when Blender's ``bpy`` module can be imported."""
    try:
        import bpy  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken Blender install is "not available"
        return False
    return True


def _import_bpy():
    try:
        import bpy
    except Exception as exc:  # noqa: BLE001 - reported to the user with the cause
        raise MonoscanError(
            "writing Alembic needs Blender as a Python module: pip install 'bpy==4.2.*' "
            f"(Python 3.11) ({type(exc).__name__}: {exc})"
        ) from None
    return bpy


def strands_to_blender_curve(bpy, strands: Strands, name: str = "hair_strands", width=None):
    """Create a Blender poly-curve object from strands in an empty scene; returns it."""
    s = strands.subset(strands.counts >= 2) if np.any(strands.counts < 2) else strands
    radius = widths_or_default(s, width) / 2.0
    bpy.ops.wm.read_factory_settings(use_empty=True)
    curve = bpy.data.curves.new(name, type="CURVE")
    curve.dimensions = "3D"
    p = s.points.astype(np.float64)
    # monoscan y up -> Blender z up.
    blender_xyz = np.stack([p[:, 0], -p[:, 2], p[:, 1]], axis=1)
    co = np.concatenate([blender_xyz, np.ones((len(p), 1))], axis=1).astype(np.float32)
    for i in range(s.n_strands):
        a, b = int(s.offsets[i]), int(s.offsets[i + 1])
        spline = curve.splines.new("POLY")
        spline.points.add(b - a - 1)
        spline.points.foreach_set("co", co[a:b].ravel())
        spline.points.foreach_set("radius", radius[a:b])
    obj = bpy.data.objects.new(name, curve)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def write_alembic(path: str | os.PathLike, strands: Strands, *, width: float | None = None) -> Path:
    """Write strands as Alembic curves through Blender's ``bpy``; returns the path.

    Raises
    ------
    monoscan.core.errors.MonoscanError
        If ``bpy`` is not installed (with the install command in the message).
    """
    s = check_strands(strands)
    p = Path(path)
    if p.suffix.lower() != ".abc":
        raise InputError(f"{p}: Alembic files must end in .abc")
    bpy = _import_bpy()
    strands_to_blender_curve(bpy, s, width=width)
    with atomic_path(p) as tmp:
        result = bpy.ops.wm.alembic_export(
            filepath=str(tmp), selected=False, start=1, end=1, export_hair=False,
            export_particles=False, as_background_job=False,
        )  # fmt: skip
        if "FINISHED" not in result or not tmp.exists() or tmp.stat().st_size == 0:
            raise MonoscanError(f"{p}: Blender's Alembic export failed ({result})")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return p
