"""``report.html``: a result's viewer page as one self-contained file that opens offline."""

from __future__ import annotations

import os
from pathlib import Path

from monoscan.core.errors import InputError
from monoscan.io.atomic import write_text
from monoscan.io.results import REPORT_HTML, load_result

__all__ = ["write_report", "write_reports"]


def write_report(result_dir: str | os.PathLike) -> Path:
    """Write ``result_dir/report.html`` (pictures, 3D scene and JavaScript embedded).

    Raises
    ------
    InputError
        ``result_dir`` has no readable ``result.json``.
    """
    from monoscan.viewer.page import result_page

    result_dir = Path(result_dir)
    if load_result(result_dir) is None:
        raise InputError(f"{result_dir}: no readable result.json")
    return write_text(result_dir / REPORT_HTML, result_page(result_dir, inline=True))


def write_reports(root: str | os.PathLike) -> list[Path]:
    """Write ``report.html`` into every result folder under ``root``; return their paths."""
    from monoscan.viewer.page import list_results

    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    return [write_report(root / name) for name in list_results(root)]
