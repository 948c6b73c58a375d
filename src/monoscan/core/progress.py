"""Progress bars for long work (tqdm on stderr); ``quiet=True`` silences them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

__all__ = ["progress"]


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
