"""Benchmark monoscan's hair segmentation: accuracy, speed and memory.

Prints a table with:

* mean per-image IoU (and pooled IoU: total intersection / total union) on all of CelebAMask-HQ
  val (``celeb_val``) and on the Figaro validation split (``figaro_train`` frames whose number
  is a multiple of 10, never trained on), and per Figaro hair type;
* the same with the person gate that ``monoscan segment-hair`` applies by default
  (``--person auto``: when MediaPipe finds a face, hair is kept only on the person);
* the same for the hair mask of ``monoscan reconstruct`` (``hair_mask_photo.png``: segmented
  on the HairStep crop, person-gated; IoU 0 when no face is found);
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
    from monoscan.hair.segmentation import model_metadata, person_gate_map, segment_hair
    from monoscan.metrics.hair2d import mask_iou

    sets = {
        "celeb_val": _pairs(args.data / "celeb_val"),
        "figaro_val": _pairs(args.data / "figaro_train", lambda s: _frame(s) % 10 == 0),
    }
    if not sets["celeb_val"]:
        print(f"no data at {args.data}", file=sys.stderr)
        return 1

    import monoscan
    from monoscan.core.errors import MonoscanError
    from monoscan.pipeline import Options

    # Three modes: the network alone (segment_hair); what `monoscan segment-hair` does by
    # default (--person auto: hair kept only on the person when a face is found); and the
    # `monoscan reconstruct` hair mask (segmented on the HairStep crop, person-gated, mapped
    # back to the photo as hair_mask_photo.png; IoU 0 where no face is found).
    modes = ("network", "person auto", "reconstruct")
    recon_options = Options(head=False, occlusion=False, strands=0)

    def reconstructed_mask(rgb):
        try:
            r = monoscan.reconstruct(rgb, recon_options)
        except MonoscanError:
            return np.zeros(rgb.shape[:2], bool)
        return r.crop.warp_to_photo(r.hair.hair_mask.astype(np.uint8), nearest=True) > 0

    rows = []
    per_type: dict[str, list[float]] = {t: [] for t in HAIR_TYPES}
    for name, pairs in sets.items():
        ious = {m: [] for m in modes}
        inter = dict.fromkeys(modes, 0)
        union = dict.fromkeys(modes, 0)
        gated = 0
        for img, mask in pairs:
            rgb = cv2.cvtColor(cv2.imread(str(img)), cv2.COLOR_BGR2RGB)
            truth = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) > 127
            person = person_gate_map(rgb, "auto")
            gated += person is not None
            for mode, pm in zip(modes, (None, person, None), strict=True):
                if mode == "reconstruct" and name == "figaro_val":
                    continue  # close-ups of hair: mostly no face to reconstruct
                if mode == "reconstruct":
                    pred = reconstructed_mask(rgb)
                else:
                    pred = segment_hair(rgb, person=pm, threads=args.threads).mask
                ious[mode].append(mask_iou(pred, truth))
                inter[mode] += int(np.logical_and(pred, truth).sum())
                union[mode] += int(np.logical_or(pred, truth).sum())
            if name == "figaro_val":
                per_type[HAIR_TYPES[min((_frame(img.stem) - 1) // 150, 6)]].append(
                    ious["network"][-1]
                )
        rows.append(
            (
                f"{name} ({gated} gated)",
                len(pairs),
                *[
                    (float(np.mean(ious[m])), inter[m] / max(union[m], 1))
                    if ious[m]
                    else (float("nan"), float("nan"))
                    for m in modes
                ],
            )
        )
    nan = (float("nan"), float("nan"))
    for t, v in per_type.items():
        if v:
            rows.append((f"  figaro {t}", len(v), (float(np.mean(v)), float("nan")), nan, nan))

    rgb512 = cv2.resize(
        cv2.cvtColor(cv2.imread(str(sets["celeb_val"][0][0])), cv2.COLOR_BGR2RGB), (512, 512)
    )
    times = {}
    for mode in modes[:2]:

        def run(mode=mode):
            pm = person_gate_map(rgb512, "auto") if mode != "network" else None
            segment_hair(rgb512, person=pm, threads=args.threads)

        for _ in range(5):
            run()
        times[mode] = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            run()
            times[mode].append((time.perf_counter() - t) * 1000)

    meta = model_metadata()
    print(
        f"hair segmentation benchmark (input {meta['input_size']} px, threshold "
        f"{meta['threshold']}, {args.threads} thread(s))"
    )

    def fmt(v):
        return f"{v:>10.4f}" if not np.isnan(v) else " " * 10

    print(f"{'':<30}{'':>7}{'network':>20}{'+ person gate':>20}{'reconstruct':>20}")
    print(f"{'set':<30}{'images':>7}" + f"{'mean IoU':>10}{'pooled':>10}" * 3)
    for name, n, *cols in rows:
        print(f"{name:<30}{n:>7}" + "".join(fmt(v) for col in cols for v in col))
    for mode, ts in times.items():
        print(
            f"ms per 512x512 image, {mode}: median {np.median(ts):.1f}, "
            f"min {np.min(ts):.1f}, max {np.max(ts):.1f} ({args.repeats} runs)"
        )
    print(f"peak RSS {_peak_mb():.0f} MB (process start {rss0:.0f} MB, now {_rss_mb():.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
