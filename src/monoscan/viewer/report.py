"""``report.html``: a result's viewer page as one self-contained file that opens offline."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from monoscan.core.errors import InputError
from monoscan.io.atomic import write_text
from monoscan.io.results import REPORT_HTML

__all__ = ["write_report", "write_reports"]


def write_report(result_dir: str | os.PathLike) -> Path:
    """Write ``result_dir/report.html`` (pictures, 3D scene and JavaScript embedded).

    A result with problems (malformed ``result.json``, missing files...) still gets its report,
    which lists them.

    Raises
    ------
    InputError
        ``result_dir`` is not a result folder (no ``result.json``, ``scene.json`` or
        ``batch.json``; or a symbolic link), or ``report.html`` cannot be written there.
    """
    result_dir = Path(result_dir)
    try:
        return _write_report(result_dir)
    except InputError as exc:
        raise InputError(f"{result_dir}: {exc}") from None


def _write_report(result_dir: Path) -> Path:
    """:func:`write_report`; its InputError says why without naming the folder."""
    from monoscan.viewer.page import is_viewable, result_page

    if not is_viewable(result_dir):
        raise InputError("no result.json (not a result folder)")
    try:
        page = result_page(result_dir, inline=True).encode("utf-8", "replace").decode("utf-8")
    except Exception as exc:  # noqa: BLE001  one line for the user, the traceback in the log
        logging.getLogger(__name__).warning("%s: report failed", result_dir, exc_info=True)
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise InputError(f"cannot make its report ({reason})") from None
    try:
        return write_text(result_dir / REPORT_HTML, page)
    except OSError as exc:
        raise InputError(f"cannot write {REPORT_HTML} ({exc.strerror or exc})") from None


def write_reports(
    root: str | os.PathLike, errors: list[tuple[Path, str]] | None = None
) -> list[Path]:
    """Write ``report.html`` into every result folder under ``root``; return their paths.

    Parameters
    ----------
    root : path
        The folder holding the results (``monoscan reconstruct --out``, ``batch --out``...).
    errors : list, optional
        When given, a folder whose report cannot be written is appended as ``(folder, reason)``
        and the others are still written; otherwise the first such folder raises.

    Raises
    ------
    InputError
        ``root`` is not a folder or cannot be listed; a report cannot be written (without
        ``errors``).
    """
    from monoscan.viewer.page import list_results

    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    try:
        names = list_results(root)
    except OSError as exc:
        raise InputError(f"{root}: cannot list it ({exc.strerror or exc})") from None
    written = []
    for name in names:
        try:
            written.append(_write_report(root / name))
        except InputError as exc:
            if errors is None:
                raise InputError(f"{root / name}: {exc}") from None
            errors.append((root / name, str(exc)))
    return written
