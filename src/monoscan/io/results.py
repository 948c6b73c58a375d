"""The result folder: the one place that knows its file names, how it is written and read.

A run of ``monoscan reconstruct`` writes ``OUT/<image-stem>/``: every artifact first (each one
atomically, :mod:`monoscan.io.atomic`), then ``result.json`` last. ``result.json`` lists every
artifact with what it holds (``artifacts``), so a folder without it is an incomplete run and
:func:`is_complete` checks that everything it lists is there. ``monoscan body`` writes the same
kind of folder for a body, ``monoscan batch`` adds ``OUT/batch.json``.

Writers elsewhere take their file names from here (:data:`STRAND_FILES`, :func:`mesh_name`...),
and readers (the viewer, the renderer, the H3DS driver, batch resume) use :func:`load_result`,
:func:`is_complete` and the same names.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.interrupt import raise_if_interrupted
from monoscan.io.atomic import write_text

__all__ = [
    "BATCH_JSON",
    "BODY_DIR",
    "H3DS_LANDMARK_FILES",
    "HAIR_VOLUME",
    "MESH_FORMATS",
    "REPORT_HTML",
    "RESULT_JSON",
    "SCHEMA_VERSION",
    "STRAND_FILES",
    "Artifacts",
    "check_output_dir",
    "check_output_root",
    "is_complete",
    "load_result",
    "mesh_name",
    "output_dir",
    "prepare_output_dir",
    "write_result_json",
]

#: Version of the ``result.json`` layout (``schema_version``).
SCHEMA_VERSION = "1.0"
RESULT_JSON = "result.json"
BATCH_JSON = "batch.json"
REPORT_HTML = "report.html"
#: Mesh formats; every mesh is written as ``<name>.<format>``.
MESH_FORMATS = ("obj", "glb", "ply")
#: Strand file per format (``glb`` writes the strands as line primitives for web viewers).
STRAND_FILES = {
    "data": "strands.data",
    "hair": "strands.hair",
    "usdc": "strands.usdc",
    "usda": "strands.usda",
    "abc": "strands.abc",
    "ply": "strands.ply",
    "glb": "hair.glb",
}
#: The strands in the USC-HairSalon head's frame (written with ``data``).
STRANDS_USC = "strands_usc.data"
HAIR_VOLUME = "hair_volume.obj"
RELIEF = "relief.obj"
OVERLAY = "overlay.png"
BODY_DIR = "body"
#: Mesh name -> the file of its H3DS landmarks (lines ``name vertex_index``).
H3DS_LANDMARK_FILES = {
    "head": "h3ds_landmarks.txt",
    "head_with_hair": "h3ds_landmarks_with_hair.txt",
}


def mesh_name(name: str, fmt: str) -> str:
    """File name of mesh ``name`` (``face``, ``head``, ``head_with_hair``) in format ``fmt``."""
    return f"{name}.{fmt}"


def output_dir(out: str | os.PathLike, stem: str) -> Path:
    """``OUT/<stem>/``: the folder of one photo's result."""
    return Path(out) / stem


def check_output_root(out: str | os.PathLike) -> Path:
    """Make sure results can be written under ``out`` before any work: create it if needed and
    write a probe file. Raises :class:`InputError` naming the problem (a file where a folder
    should be, a folder that cannot be created, a read-only or immutable folder)."""
    out = Path(out)
    for parent in (out, *out.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                where = "" if parent == out else f" ({parent} is a file)"
                raise InputError(f"--out {out}: not a folder{where}")
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot create folder ({exc.strerror or exc})") from None
    _probe_writable(out, f"--out {out}")
    return out


def check_output_dir(directory: str | os.PathLike, overwrite: bool) -> bool:
    """Before computing a result for ``directory``: True when it already holds a complete
    result and ``overwrite`` is off (the caller skips the photo; a rerun after an interruption
    resumes). Raises :class:`InputError` when it holds an unfinished or older result without
    ``overwrite``, is a file, or is not writable. Call :func:`check_output_root` first."""
    directory = Path(directory)
    if not overwrite:
        if is_complete(directory):
            return True
        if (directory / RESULT_JSON).exists():
            raise InputError(
                f"{directory} holds an unfinished or older result; use --overwrite to replace it"
            )
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory}: a file is in the way of the result folder")
    if directory.is_dir():
        _probe_writable(directory, str(directory))
    return False


def _probe_writable(directory: Path, label: str) -> None:
    # os.access is not enough: it ignores read-only mounts for root and immutable folders.
    try:
        fd, probe = tempfile.mkstemp(prefix=".monoscan-probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"{label}: folder is not writable ({exc.strerror or exc})") from None


def prepare_output_dir(directory: Path, overwrite: bool) -> None:
    """Refuse to silently replace a finished result; forget an incomplete one.

    A folder with ``result.json`` is a finished run: it is only replaced with ``overwrite``.
    ``result.json`` is removed before anything else is written, so a run that stops half-way
    never leaves a folder that looks complete.
    """
    result = directory / RESULT_JSON
    if result.exists() and not overwrite:
        raise InputError(f"{directory} already holds a result; use --overwrite to replace it")
    directory.mkdir(parents=True, exist_ok=True)
    result.unlink(missing_ok=True)


class Artifacts(dict):
    """``result.json``'s ``artifacts``: file name -> what it holds (meaning, units, extras)."""

    def record(self, name: str, meaning: str, **extra) -> None:
        self[name] = {"meaning": meaning, **extra}


def _json_value(value):
    """NumPy arrays and scalars in result.json as plain lists and numbers."""
    if isinstance(value, np.ndarray):
        return np.round(value, 6).tolist() if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to result.json")


def write_result_json(directory: str | os.PathLike, result: dict, indent: int = 2) -> Path:
    """Write ``directory/result.json`` atomically (NumPy values as plain JSON); the last write
    of a run, which marks the folder complete, so not after a Ctrl-C that a library swallowed."""
    raise_if_interrupted()
    return write_text(
        Path(directory) / RESULT_JSON, json.dumps(result, indent=indent, default=_json_value)
    )


def load_result(result_dir: str | os.PathLike) -> dict | None:
    """``result.json`` of a folder as a dict, or None when absent or unreadable."""
    try:
        data = json.loads((Path(result_dir) / RESULT_JSON).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_complete(result_dir: str | os.PathLike) -> bool:
    """True when ``result_dir/result.json`` is valid JSON with ``schema_version`` and every
    artifact it lists (and their companion files) exists and is not empty; a listed name
    ending in ``/`` is a nested result folder that must be complete itself."""
    result_dir = Path(result_dir)
    data = load_result(result_dir)
    if data is None or data.get("schema_version") != SCHEMA_VERSION:
        return False
    artifacts = data.get("artifacts")
    if not isinstance(artifacts, dict):
        return False
    names = list(artifacts)
    for meta in artifacts.values():
        if isinstance(meta, dict):
            names.extend(meta.get("companions") or [])
    for name in map(str, names):
        path = result_dir / name
        if name.endswith("/"):  # a nested result folder (``body/``) is complete on its own terms
            if not is_complete(path):
                return False
        elif not path.is_file() or path.stat().st_size == 0:
            return False
    return True
