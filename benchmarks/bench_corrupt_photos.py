"""Damaged photos in one ``monoscan reconstruct`` call: only results or one-line errors.

Makes ``--n`` corrupted copies of the development portraits (seeded: truncations, bit flips,
zeroed and deleted chunks, in JPEG, PNG, WebP and TIFF), puts the untouched portraits among
them, runs ONE ``monoscan reconstruct`` over all of them and prints what came back: complete
results, one-line ``error:`` lines, and anything else on stderr (tracebacks would show there).
Every untouched portrait must give a complete result.

    python benchmarks/bench_corrupt_photos.py --n 1000 --seed 0 [-- EXTRA RECONSTRUCT ARGS]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, print_table

FORMATS = (("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp"), ("TIFF", ".tif"))
KINDS = ("truncate_header", "truncate_body", "flip", "zero", "delete")


def corrupted(data: bytes, kind: str, rng: np.random.Generator) -> bytes:
    d = bytearray(data)
    n = len(d)
    a = int(rng.integers(0, n))
    b = min(n, a + int(rng.integers(1, 2048)))
    if kind == "truncate_header":
        return bytes(d[: int(rng.integers(1, min(n, 4096)))])
    if kind == "truncate_body":
        return bytes(d[: int(rng.integers(n // 10, n))])
    if kind == "flip":
        for i in rng.integers(0, n, int(rng.integers(1, 20))):
            d[i] ^= 1 << int(rng.integers(8))
    elif kind == "zero":
        d[a:b] = bytes(b - a)
    else:
        del d[a:b]
    return bytes(d)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("extra", nargs="*", help="more reconstruct arguments (after --)")
    args = ap.parse_args()
    portraits = sorted(
        p
        for p in (SHARED_DATA / "portraits").glob("*")
        if p.suffix.lower() in (".jpg", ".jpeg", ".png")
    )
    if not portraits:
        print("error: development portraits not found", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in", Path(tmp) / "out"
        src.mkdir()
        bases = []
        for p in portraits:
            im = Image.open(p).convert("RGB")
            im.thumbnail((640, 640))
            for fmt, ext in FORMATS:
                buf = io.BytesIO()
                im.save(buf, fmt)
                bases.append((p.stem, ext, buf.getvalue()))
        files, good = [], []
        for i in range(args.n):
            stem, ext, data = bases[int(rng.integers(len(bases)))]
            kind = KINDS[i % len(KINDS)]
            path = src / f"{i:04d}_{kind}_{stem}{ext}"
            path.write_bytes(corrupted(data, kind, rng))
            files.append(path)
        for k, p in enumerate(portraits):  # the untouched photos, spread through the run
            path = src / f"good_{p.name}"
            path.write_bytes(p.read_bytes())
            good.append(path)
            files.insert(min(len(files), (k + 1) * len(files) // (len(portraits) + 1)), path)
        t0 = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-m", "monoscan.cli", "reconstruct", *map(str, files)]
            + ["--out", str(out), "--quiet", *args.extra],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - t0
        lines = r.stderr.splitlines()
        errors = [x for x in lines if x.startswith("error: ")]
        other = [x for x in lines if not x.startswith(("error: ", "note: "))]
        from monoscan.io.results import is_complete

        complete = [f for f in files if is_complete(out / f.stem)]
        good_done = sum(is_complete(out / g.stem) for g in good)
        internal = [x for x in errors if ": internal error: " in x]
    print_table(
        [
            "files",
            "complete results",
            "one-line errors",
            "internal errors",
            "other stderr lines",
            "untouched photos done",
            "exit",
            "wall s",
        ],
        [
            [
                len(files),
                len(complete),
                len(errors),
                len(internal),
                len(other),
                f"{good_done}/{len(good)}",
                r.returncode,
                round(wall, 1),
            ]
        ],
    )
    for line in (other + internal)[:10]:
        print("  ", line[:200])
    ok = not other and not internal and good_done == len(good)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
