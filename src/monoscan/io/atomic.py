"""Atomic file writes: a file either appears complete under its final name or not at all.

Everything monoscan writes goes through :func:`atomic_path`, so an interrupted or failed run
never leaves a half-written file that looks complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_bytes", "write_text"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    The temporary file keeps the final suffix (``suffix`` overrides it) so writers that pick a
    format from the file name (trimesh, OpenCV, USD) still work. On error it is deleted.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A hidden name (leading dot) that no reader mistakes for the finished file.
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.tmp-",
        suffix=path.suffix if suffix is None else suffix,
        dir=path.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    return write_bytes(path, text.encode("utf-8"))
