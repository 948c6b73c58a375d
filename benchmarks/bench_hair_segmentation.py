"""Benchmark monoscan's hair segmentation: accuracy, speed and memory.

Prints a table with:

* mean per-image IoU (and pooled IoU: total intersection / total union) on all of CelebAMask-HQ
  val (``celeb_val``) and on the Figaro validation split (``figaro_train`` frames whose number
  is a multiple of 10, never trained on), and per Figaro hair type;
* milliseconds per 512x512 image with ONNX Runtime on one thread (median of timed runs after
  warm-up; whole ``segment_hair`` call: letterbox, network, resize back, threshold);
* peak resident memory of the process (and its growth from loading the model and running).

Run from the repository root::

    python benchmarks/bench_hair_segmentation.py --data ../shared/data/hair_seg
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HAIR_TYPES = ("straight", "wavy", "curly", "kinky", "braids", "dreadlocks", "short_men")


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _pairs(folder: Path, keep=lambda stem: True):
    out = []
    for img in sorted((folder / "images").glob("*.jpg")):
        mask = folder / "masks" / f"{img.stem}.png"
        if mask.exists() and keep(img.stem):
            out.append((img, mask))
    return out


def _frame(stem: str) -> int:
    return int(re.sub(r"\D", "", stem))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/hair_seg"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=30, help="timed runs for the speed figure")
    args = ap.parse_args(argv)

    rss0 = _rss_mb()
    from monoscan.hair.segmentation import mask_iou, model_metadata, segment_hair

    sets = {
        "celeb_val": _pairs(args.data / "celeb_val"),
        "figaro_val": _pairs(args.data / "figaro_train", lambda s: _frame(s) % 10 == 0),
    }
    if not sets["celeb_val"]:
        print(f"no data at {args.data}", file=sys.stderr)
        return 1

    rows = []
    per_type: dict[str, list[float]] = {t: [] for t in HAIR_TYPES}
    for name, pairs in sets.items():
        ious, inter, union = [], 0, 0
        for img, mask in pairs:
            rgb = cv2.cvtColor(cv2.imread(str(img)), cv2.COLOR_BGR2RGB)
            truth = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) > 127
            pred = segment_hair(rgb, threads=args.threads).mask
            ious.append(mask_iou(pred, truth))
            inter += int(np.logical_and(pred, truth).sum())
            union += int(np.logical_or(pred, truth).sum())
            if name == "figaro_val":
                per_type[HAIR_TYPES[min((_frame(img.stem) - 1) // 150, 6)]].append(ious[-1])
        rows.append((name, len(ious), float(np.mean(ious)), inter / max(union, 1)))
    for t, v in per_type.items():
        if v:
            rows.append((f"  figaro {t}", len(v), float(np.mean(v)), float("nan")))

    rgb512 = cv2.resize(cv2.cvtColor(cv2.imread(str(sets["celeb_val"][0][0])), cv2.COLOR_BGR2RGB),
                        (512, 512))
    for _ in range(5):
        segment_hair(rgb512, threads=args.threads)
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        segment_hair(rgb512, threads=args.threads)
        times.append((time.perf_counter() - t) * 1000)

    meta = model_metadata()
    print(f"hair segmentation benchmark (input {meta['input_size']} px, threshold "
          f"{meta['threshold']}, {args.threads} thread(s))")
    print(f"{'set':<22}{'images':>8}{'mean IoU':>10}{'pooled IoU':>12}")
    for name, n, m, p in rows:
        pooled = "" if np.isnan(p) else f"{p:.4f}"
        print(f"{name:<22}{n:>8}{m:>10.4f}{pooled:>12}")
    print(f"ms per 512x512 image: median {np.median(times):.1f}, "
          f"min {np.min(times):.1f}, max {np.max(times):.1f} ({args.repeats} runs)")
    print(f"peak RSS {_peak_mb():.0f} MB (process start {rss0:.0f} MB, "
          f"now {_rss_mb():.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
