"""Read and write hair strands in the formats artists and researchers use.

One entry point per direction, dispatching on the file suffix like ``trimesh.exchange``:

========  =====================================  ======  =======
suffix    format                                 read    write
========  =====================================  ======  =======
.data     USC-HairSalon / HairStep               yes     yes
.hair     Cem Yuksel (128-byte header)           yes     yes
.ply      PLY line set or strand point cloud     yes     yes
.usd(a|c) USD BasisCurves (usd-core)             yes     yes
.glb      glTF binary, LINES primitives          yes     yes
.abc      Alembic curves (needs Blender ``bpy``) no      yes
========  =====================================  ======  =======

Strands are always metres, y up, in memory. ``unit=`` converts at this boundary for files
stored in another unit (``"m"``, ``"dm"``, ``"cm"``, ``"mm"``): reading multiplies by the
unit's size in metres, writing divides. Malformed files raise
:class:`monoscan.core.errors.FormatError`; missing files :class:`monoscan.core.errors.InputError`.

Examples
--------
>>> from monoscan.io.strands import read_strands, write_strands  # doctest: +SKIP
>>> hair = read_strands("harolongo.data", unit="cm")  # doctest: +SKIP
>>> write_strands("hair.usdc", hair)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from monoscan.core.errors import FormatError, InputError, MonoscanError
from monoscan.core.strands import Strands
from monoscan.io.strands._common import wrap_errors
from monoscan.io.strands.glb import read_glb, write_glb
from monoscan.io.strands.ply import read_ply, write_ply
from monoscan.io.strands.usc_data import read_data, write_data
from monoscan.io.strands.usd import read_usd, write_usd
from monoscan.io.strands.yuksel_hair import read_hair, write_hair

__all__ = ["READERS", "UNITS", "WRITERS", "read_strands", "write_strands"]

#: Size of each supported unit in metres.
UNITS = {"m": 1.0, "dm": 0.1, "cm": 0.01, "mm": 0.001}


def _write_abc(path: str | os.PathLike, strands: Strands, **options) -> Path:
    from monoscan.io.strands.alembic import write_alembic

    return write_alembic(path, strands, **options)


READERS: dict[str, Callable[..., Strands]] = {
    ".data": read_data,
    ".hair": read_hair,
    ".ply": read_ply,
    ".usd": read_usd,
    ".usda": read_usd,
    ".usdc": read_usd,
    ".glb": read_glb,
}

WRITERS: dict[str, Callable[..., Path]] = {
    ".data": write_data,
    ".hair": write_hair,
    ".ply": write_ply,
    ".usd": write_usd,
    ".usda": write_usd,
    ".usdc": write_usd,
    ".glb": write_glb,
    ".abc": _write_abc,
}


def _unit_scale(unit: str) -> float:
    try:
        return UNITS[unit]
    except (KeyError, TypeError):
        raise InputError(f"unknown unit {unit!r}; use one of {', '.join(UNITS)}") from None


def _scaled(strands: Strands, factor: float) -> Strands:
    if factor == 1.0:
        return strands
    return strands.transform(np.diag([factor, factor, factor, 1.0]))


def read_strands(path: str | os.PathLike, *, unit: str = "m", **options) -> Strands:
    """Read strands from ``path``, choosing the format from its suffix.

    Parameters
    ----------
    path : path-like
        A ``.data``, ``.hair``, ``.ply``, ``.usd``/``.usda``/``.usdc`` or ``.glb`` file.
    unit : str
        Unit the file's coordinates are in (``"m"`` default, ``"dm"``, ``"cm"``, ``"mm"``);
        converted to metres. USD files carry their own ``metersPerUnit`` and normally need
        none.
    **options
        Passed to the format reader (``points_per_strand=`` for point-cloud PLY).

    Returns
    -------
    Strands
        Metres, root to tip.

    Raises
    ------
    InputError
        Missing file, unsupported suffix, or bad option.
    FormatError
        Malformed file.
    """
    p = Path(path)
    reader = READERS.get(p.suffix.lower())
    if reader is None:
        raise InputError(
            f"{p}: cannot read strands from '{p.suffix}' files; "
            f"supported: {', '.join(sorted(READERS))}"
        )
    scale = _unit_scale(unit)
    try:
        strands = reader(p, **options)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise InputError(f"{p}: {exc}") from None
        raise wrap_errors(p, exc) from None
    except MonoscanError:
        raise
    except (ValueError, OverflowError, MemoryError, IndexError, KeyError) as exc:
        raise wrap_errors(p, exc) from None
    try:
        return _scaled(strands, scale)
    except InputError as exc:
        raise FormatError(f"{p}: {exc}") from None


def write_strands(path: str | os.PathLike, strands: Strands, *, unit: str = "m", **options) -> Path:
    """Write ``strands`` (metres) to ``path`` atomically in the format of its suffix.

    Parameters
    ----------
    path : path-like
        Destination; the suffix picks the format (``.data``, ``.hair``, ``.ply``, ``.usda``,
        ``.usdc``, ``.usd``, ``.glb``, ``.abc``).
    strands : Strands
        Metres, y up.
    unit : str
        Unit to store coordinates in (default metres). Not allowed for USD (always metres,
        ``metersPerUnit = 1``).
    **options
        Format options: ``width=`` (``.hair``, ``.usd*``), ``colors=`` (``.hair`` bool,
        ``.glb`` ``"auto" | "direction" | "none"``), ``layout=`` / ``ascii=`` (``.ply``).

    Returns
    -------
    pathlib.Path
        The written path.
    """
    p = Path(path)
    writer = WRITERS.get(p.suffix.lower())
    if writer is None:
        raise InputError(
            f"{p}: cannot write strands to '{p.suffix}' files; "
            f"supported: {', '.join(sorted(WRITERS))}"
        )
    if not isinstance(strands, Strands):
        raise InputError(f"expected a Strands object, got {type(strands).__name__}")
    scale = _unit_scale(unit)
    if scale != 1.0 and p.suffix.lower() in (".usd", ".usda", ".usdc", ".glb"):
        raise InputError(f"{p}: {p.suffix} files are always written in metres")
    try:
        return writer(p, _scaled(strands, 1.0 / scale), **options)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise InputError(f"{p}: {exc}") from None
        raise
