"""Keep MediaPipe's native (C++) log lines off the user's terminal.

TensorFlow Lite and absl print INFO/WARNING lines straight to file descriptor 2 when models load
and run; Python's ``sys.stderr`` never sees them. :func:`native_stderr_silenced` points fd 2 at
/dev/null for the duration of a MediaPipe call. Set ``MONOSCAN_NATIVE_LOGS=1`` to see them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

__all__ = ["native_stderr_silenced"]

_lock = threading.RLock()
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    if os.environ.get("MONOSCAN_NATIVE_LOGS") == "1":
        yield
        return
    with _lock:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no usable fd 2 (e.g. some embedded interpreters)
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
