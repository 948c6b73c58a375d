"""Ctrl-C and SIGTERM that always end the run, even through code that swallows them.

Some libraries we call (trimesh's exporters among them) wrap work in ``except BaseException:``
blocks, so a ``KeyboardInterrupt`` raised inside them can vanish and the run would finish as
if nothing happened. :func:`signals_handled` installs handlers for SIGINT and SIGTERM that
*remember* the signal before raising ``KeyboardInterrupt``; :func:`raise_if_interrupted`, called
between stages, between photos and just before a result is marked complete, raises it again if
anything swallowed it. A remembered signal stays until :func:`signals_handled` exits.

SIGTERM is handled exactly like Ctrl-C (the same clean-up runs); :func:`exit_code` gives the
shell's convention, 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["exit_code", "raise_if_interrupted", "received_signal", "signals_handled"]

_received: int | None = None


def _handler(signum: int, _frame) -> None:
    global _received
    _received = signum
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def signals_handled() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise ``KeyboardInterrupt`` and are remembered.

    Outside the main thread (where Python cannot install handlers) the block does nothing.
    """
    global _received
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    _received = None
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _received = None


def received_signal() -> int | None:
    """The signal number received inside :func:`signals_handled`, or None."""
    return _received


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` again if a signal arrived and something swallowed it."""
    if _received is not None:
        raise KeyboardInterrupt(signal.Signals(_received).name)


def exit_code(default: int = 130) -> int:
    """128 + the signal received (130 for Ctrl-C, 143 for SIGTERM); ``default`` if none."""
    return 128 + _received if _received is not None else default
