"""monoscan: one photograph of a person to 3D, on a CPU, offline.

The public API is imported lazily so that ``import monoscan`` stays fast (MediaPipe, OpenCV and
ONNX Runtime load only when a stage first needs them).

>>> import monoscan
>>> result = monoscan.reconstruct("photo.jpg")            # doctest: +SKIP
>>> result.face.vertices.shape                             # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Options", "Reconstruction", "__version__", "reconstruct", "write_outputs"]

_LAZY = {
    "reconstruct": "monoscan.pipeline",
    "Options": "monoscan.pipeline",
    "Reconstruction": "monoscan.pipeline",
    "write_outputs": "monoscan.pipeline",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'monoscan' has no attribute {name!r}")
