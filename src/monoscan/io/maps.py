"""Arrays and maps on disk: ``.npy`` written atomically."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from monoscan.io.atomic import write_bytes

__all__ = ["save_npy"]


def save_npy(path: str | os.PathLike, array: np.ndarray, allow_pickle: bool = False) -> Path:
    """Write ``array`` as ``.npy`` atomically (pickled objects only when asked)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=allow_pickle)
    return write_bytes(path, buf.getvalue())
