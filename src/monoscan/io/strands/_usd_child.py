"""Child-process entry for :func:`monoscan.io.strands.usd.read_usd` (private).

``python -m monoscan.io.strands._usd_child IN.usd OUT.npz`` parses the USD file and saves its
curves; exits 2 with an ``error: ...`` line for a malformed file. Run in a child so that a
crash inside the USD library cannot take the caller down.
"""

from __future__ import annotations

import contextlib
import resource
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str]) -> int:
    # Corrupted crate files can claim absurd sizes: cap memory so they fail fast.
    limit = 8 * 1024**3
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from monoscan.core.errors import MonoscanError
    from monoscan.io.strands.usd import read_usd_arrays

    src, out = Path(argv[0]), Path(argv[1])
    try:
        points, counts, widths = read_usd_arrays(src)
    except MonoscanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            f"error: {src}: malformed USD file (claims more memory than allowed)", file=sys.stderr
        )
        return 2
    np.savez(
        out,
        points=np.asarray(points, dtype=np.float64),
        counts=np.asarray(counts, dtype=np.int64),
        widths=np.zeros(0) if widths is None else np.asarray(widths, dtype=np.float64),
        has_widths=widths is not None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
