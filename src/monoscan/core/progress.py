"""Progress on stderr for long work: bars over items, and the stages of one run.

:func:`progress` iterates with a tqdm bar (rate, ETA); ``quiet=True`` silences it.

A pipeline reports each stage it starts with :func:`stage_started` (``pipeline.photo.timed``
does). That costs nothing and shows nothing unless a caller asked, so the Python API stays
silent: :func:`show_stages` shows the stages on a terminal (the command line uses it), and
:func:`on_stage` hands them to any callback::

    with show_stages("photo.jpg"):
        monoscan.reconstruct("photo.jpg")
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, TextIO, TypeVar

if TYPE_CHECKING:
    from tqdm import tqdm

T = TypeVar("T")

__all__ = ["is_terminal", "on_stage", "progress", "progress_bar", "show_stages", "stage_started"]

_listener: ContextVar[Callable[[str], None] | None] = ContextVar(
    "monoscan_stage_listener", default=None
)


def progress_bar(
    total: int | None, *, desc: str = "", quiet: bool = False, unit: str = "it"
) -> tqdm | None:
    """A bar on stderr that clears itself when closed, or None when ``quiet``."""
    if quiet:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=False)


def progress(
    items: Iterable[T],
    *,
    total: int | None = None,
    desc: str = "",
    quiet: bool = False,
    unit: str = "it",
) -> Iterator[T]:
    """Iterate over ``items`` showing a bar with rate and ETA unless ``quiet``."""
    if quiet:
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=False)


def stage_started(name: str) -> None:
    """Tell the listener of this context, if any, that stage ``name`` starts."""
    listener = _listener.get()
    if listener is not None:
        listener(name)


@contextlib.contextmanager
def on_stage(callback: Callable[[str], None]) -> Iterator[None]:
    """Call ``callback(stage_name)`` for each stage started inside the block (this thread)."""
    token = _listener.set(callback)
    try:
        yield
    finally:
        _listener.reset(token)


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an open terminal (False for pipes, files and captured output)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or closed
        return False


@contextlib.contextmanager
def show_stages(
    label: str, *, bar: tqdm | None = None, enabled: bool = True, stream: TextIO | None = None
) -> Iterator[None]:
    """Show the stages started inside the block, on a terminal only.

    With ``bar`` (the caller's bar over several items), the current item and stage become that
    bar's postfix, so it stays the one bar. Without, one line ``LABEL: STAGE (stage N, time)``
    appears at the first stage, follows each next one and is cleared at the end. Nothing shows
    when ``enabled`` is False or ``stream`` (default: stderr) is not a terminal.
    """
    stream = sys.stderr if stream is None else stream
    if not enabled or not is_terminal(stream):
        yield
        return
    label = os.path.basename(label.rstrip("/\\")) or label
    own: list[tqdm] = []

    def show(name: str) -> None:
        if bar is not None:
            bar.set_postfix_str(f"{label}: {name}")
            return
        if own:
            own[0].set_description_str(f"{label}: {name}", refresh=False)
            own[0].update()
            return
        from tqdm import tqdm

        own.append(
            tqdm(
                desc=f"{label}: {name}",
                initial=1,
                file=stream,
                bar_format="{desc} (stage {n_fmt}, {elapsed})",
                mininterval=0,
                miniters=1,
                dynamic_ncols=True,
                leave=False,
            )
        )

    try:
        with on_stage(show):
            yield
    finally:
        if own:
            own[0].close()
        if bar is not None:
            bar.set_postfix_str("")
