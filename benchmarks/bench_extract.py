"""ZipCrypto extraction: Python's zipfile vs monoscan.io.zipcrypto on an H3DS-like archive.

Usage::

    python benchmarks/bench_extract.py [--members 1000] [--member-kb 40] [--mesh-mb 2]

Builds (in a temporary folder) a ZipCrypto archive shaped like H3DS: many similar image-sized
members plus one large mesh, then extracts it with ``zipfile.ZipFile.extractall(pwd=...)`` and
with :func:`monoscan.io.zipcrypto.extract_zip`, checks the outputs are identical and prints the
times and the ratio. The archive is written with the test suite's minimal ZipCrypto writer.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_zipcrypto import write_zipcrypto

from monoscan.io.zipcrypto import extract_zip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--member-kb", type=float, default=40.0)
    ap.add_argument("--mesh-mb", type=float, default=2.0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    size = int(args.member_kb * 1000)
    files = {
        f"scene/image/img_{i:04d}.jpg": rng.integers(
            0, 256, size + int(rng.integers(0, size // 4)), dtype=np.uint8
        ).tobytes()
        for i in range(args.members)
    }
    n_lines = int(args.mesh_mb * 1e6 / 30)
    v = rng.normal(size=(n_lines, 3)) * 100
    files["scene/full_head.obj"] = "".join(f"v {a:.6f} {b:.6f} {c:.6f}\n" for a, b, c in v).encode()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_zipcrypto(tmp / "h3ds.zip", files, "token")
        mb = (tmp / "h3ds.zip").stat().st_size / 1e6
        t0 = time.perf_counter()
        with zipfile.ZipFile(tmp / "h3ds.zip") as z:
            z.extractall(tmp / "zipfile", pwd=b"token")
        t_zf = time.perf_counter() - t0
        rep = extract_zip(tmp / "h3ds.zip", tmp / "monoscan", "token")
        same = all(
            filecmp.cmp(tmp / "zipfile" / n, tmp / "monoscan" / n, shallow=False) for n in files
        )
    print(f"archive: {len(files)} members, {mb:.1f} MB (ZipCrypto, deflate)")
    print(f"zipfile:  {t_zf:.2f} s ({mb / t_zf:.2f} MB/s)")
    print(
        f"monoscan: {rep.seconds:.2f} s ({mb / rep.seconds:.2f} MB/s) [{rep.engine}] "
        f"-> {t_zf / rep.seconds:.1f}x; identical output: {same}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
