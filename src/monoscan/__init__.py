"""monoscan: one photograph of a person to 3D, on a CPU, offline.

The public API is imported lazily so that ``import monoscan`` stays fast (MediaPipe, OpenCV and
ONNX Runtime load only when a stage first needs them). The names are listed in ``__all__`` and
``dir(monoscan)``, and type checkers see them through the ``TYPE_CHECKING`` imports below.

>>> import monoscan
>>> result = monoscan.reconstruct("photo.jpg")            # doctest: +SKIP
>>> result.face_mesh.vertices.shape                        # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from monoscan.core.version import __version__

if TYPE_CHECKING:
    from monoscan.pipeline import Options, Reconstruction, reconstruct, write_outputs

__all__ = ["Options", "Reconstruction", "__version__", "reconstruct", "write_outputs"]

# Public name -> the module that defines it.
_LAZY = {
    "reconstruct": "monoscan.pipeline",
    "Options": "monoscan.pipeline",
    "Reconstruction": "monoscan.pipeline",
    "write_outputs": "monoscan.pipeline",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'monoscan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
