"""ONNX Runtime sessions of the shipped networks, made once per process and model.

Inference runs on ONNX Runtime's CPU provider; a session costs tens of milliseconds to build,
so :func:`onnx_session` keeps one per (model file, thread count), safe to share between
threads.
"""

from __future__ import annotations

import threading
from pathlib import Path

__all__ = ["onnx_session"]

_SESSIONS: dict[tuple[str, int], object] = {}
_LOCK = threading.Lock()


def onnx_session(model_path: str | Path, threads: int, what: str):
    """The cached ``onnxruntime.InferenceSession`` of ``model_path`` with ``threads``
    intra-op threads; ``FileNotFoundError("<what> model missing: PATH")`` without the file."""
    path = Path(model_path)
    key = (str(path), int(threads))
    with _LOCK:
        sess = _SESSIONS.get(key)
        if sess is None:
            import onnxruntime as ort

            if not path.exists():
                raise FileNotFoundError(f"{what} model missing: {path}")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            sess = ort.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
            _SESSIONS[key] = sess
    return sess
