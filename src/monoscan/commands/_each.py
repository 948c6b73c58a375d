"""The loop every per-photo command shares: progress bar, one error line per bad photo."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from monoscan.core.errors import MonoscanError
from monoscan.core.progress import progress

T = TypeVar("T")

__all__ = ["for_each_input", "say"]


def say(line: str, stream=sys.stdout, quiet: bool = False) -> None:
    """Print a line without breaking a progress bar that may be showing."""
    if quiet:
        print(line, file=stream)
    else:
        from tqdm import tqdm

        tqdm.write(line, file=stream)


def for_each_input(
    items: Sequence[T],
    work: Callable[[T], tuple[str | None, Iterable[str]]],
    *,
    desc: str,
    quiet: bool,
    label: Callable[[T], str] = str,
) -> int:
    """Run ``work(item)`` on every item; return exit code 0, or 2 if any item failed.

    ``work`` returns a line for stdout (or None) and notes for stderr. A
    :class:`MonoscanError` becomes one ``error: ITEM: message`` line on stderr and the other
    items still run. The bar shows only for several items and without ``quiet``.
    """
    failed = 0
    for item in progress(
        items, total=len(items), desc=desc, unit="photo", quiet=quiet or len(items) == 1
    ):
        name = label(item)
        try:
            line, notes = work(item)
        except MonoscanError as exc:
            msg = str(exc)
            say(f"error: {msg if msg.startswith(name) else f'{name}: {msg}'}", sys.stderr, quiet)
            failed += 1
            continue
        if not quiet:
            for note in notes:
                say(f"note: {name}: {note}", sys.stderr)
        if line is not None:
            say(line, sys.stdout, quiet)
    return 2 if failed else 0
