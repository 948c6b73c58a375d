"""Small helpers shared by the benchmark scripts: tables, peak memory, the shared data path."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def print_table(header: list[str], rows: list[list], file=sys.stdout) -> None:
    """Print a Markdown table (floats with 3 significant decimals)."""

    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    cells = [header] + [[fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for k, row in enumerate(cells):
        print(
            "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |",
            file=file,
        )
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=file)


def run_isolated(script: str, *args: str) -> dict:
    """Run ``script --_one ARGS`` in a fresh interpreter (so peak memory is its own) and return
    the JSON object it prints on its last line. It gets the BLAS thread count the ``monoscan``
    command sets (``monoscan.cli.BLAS_THREADS``) unless the environment sets one."""
    from monoscan.cli import BLAS_THREADS

    out = subprocess.run(
        [sys.executable, script, "--_one", *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
        env={**BLAS_THREADS, **os.environ},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
