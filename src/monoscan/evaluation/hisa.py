"""Score 2D hair predictions against a HiSa / HiDa-layout ground truth folder.

Ground truth (``gt_dir``, :mod:`monoscan.datasets.hisa` layout): ``strand_map/NAME.png``
(directions and, where ``seg/NAME.png`` is absent, the hair mask), ``seg/NAME.png``,
``relative_depth/pairs|labels/NAME.npy``.

Predictions (``pred_dir``), per sample ``NAME``, either layout:

- monoscan outputs: ``NAME/strand_map.png``, ``NAME/hair_mask.png``, ``NAME/hair_depth.npy``
  (what ``monoscan hairstep`` / ``reconstruct`` write, one folder per image stem);
- HiSa layout: ``strand_map/NAME.png``, ``seg/NAME.png``,
  ``dense_depth_pred/depth_map/NAME.npy`` (or ``depth_map/NAME.npy``).

The predicted hair mask is ``hair_mask.png`` / ``seg`` when present, else the strand map's
``R > 0.99 * 255``. Metrics per image: HairSale (both conventions, over the intersection of
the hair masks), undirected orientation error (same pixels), hair mask IoU, HairRida (where
both pairs and a predicted depth exist). Means are over images (each image weighs the same).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from monoscan.core.errors import InputError
from monoscan.datasets.hisa import SUBDIRS, load_npy, read_png, read_relative_depth
from monoscan.io.maps import decode_strand_map
from monoscan.metrics.hair2d import hair_rida, hair_sale, mask_iou, orientation_error

__all__ = ["METRIC_NAMES", "HairEvalReport", "evaluate_hair"]

#: Per-image metric keys, in display order.
METRIC_NAMES = (
    "hairsale_deg",
    "hairsale_capped90_deg",
    "orientation_error_deg",
    "hair_iou",
    "hairrida_percent",
)


@dataclass(frozen=True)
class HairEvalReport:
    """Per-image and mean 2D hair metrics.

    Attributes
    ----------
    per_image : dict name -> dict metric -> float
        Metrics of :data:`METRIC_NAMES` (NaN where not computable) plus ``n_pixels`` and
        ``n_pairs``.
    mean : dict metric -> float
        Mean over the images where the metric is finite.
    missing : list of str
        Ground-truth samples with no prediction.
    """

    per_image: dict[str, dict[str, float]]
    mean: dict[str, float]
    missing: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return {
            "mean": {k: clean(v) for k, v in self.mean.items()},
            "per_image": {
                n: {k: clean(v) for k, v in m.items()} for n, m in self.per_image.items()
            },
            "missing": list(self.missing),
            "n_images": len(self.per_image),
            "conventions": {
                "hairsale_deg": "direction-aware, arccos(cos) in [0, 180] per pixel",
                "hairsale_capped90_deg": "cos clipped to [0, 1]: at most 90 per pixel",
                "hairrida_percent": "pairs (x_A, y_A, x_B, y_B), label +1 = A closer",
                "mean": "over images",
            },
        }


def _gt_names(gt: Path) -> list[str]:
    names = set()
    for key in ("strand_map", "hair_mask"):
        d = gt / SUBDIRS[key]
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.png"))
    return sorted(names)


def _pred_files(pred: Path, name: str) -> dict[str, Path]:
    own = pred / name
    cands = {
        "strand_map": [own / "strand_map.png", pred / "strand_map" / f"{name}.png"],
        "hair_mask": [own / "hair_mask.png", pred / "seg" / f"{name}.png"],
        "depth": [
            own / "hair_depth.npy",
            pred / SUBDIRS["depth"] / f"{name}.npy",
            pred / "depth_map" / f"{name}.npy",
        ],
    }
    return {k: next((p for p in ps if p.is_file()), None) for k, ps in cands.items()}


def evaluate_hair(
    pred_dir: str | os.PathLike,
    gt_dir: str | os.PathLike,
    names: list[str] | None = None,
    pair_order: str = "xy",
) -> HairEvalReport:
    """Evaluate every ground-truth sample (or ``names``) that has a prediction.

    Raises
    ------
    InputError
        A folder is missing, or no ground-truth sample has a prediction.
    """
    pred, gt = Path(pred_dir), Path(gt_dir)
    for d, what in ((pred, "predictions"), (gt, "ground truth")):
        if not d.is_dir():
            raise InputError(f"{d}: {what} folder not found")
    names = _gt_names(gt) if names is None else list(names)
    if not names:
        raise InputError(f"{gt}: no strand_map/*.png or seg/*.png ground truth found")
    per_image: dict[str, dict[str, float]] = {}
    missing = []
    for name in names:
        files = _pred_files(pred, name)
        if files["strand_map"] is None and files["hair_mask"] is None:
            missing.append(name)
            continue
        per_image[name] = _evaluate_one(gt, name, files, pair_order)
    if not per_image:
        raise InputError(f"{pred}: no predictions for any of the {len(names)} samples")
    mean = {}
    for k in METRIC_NAMES:
        vals = [m[k] for m in per_image.values() if math.isfinite(m[k])]
        mean[k] = float(np.mean(vals)) if vals else float("nan")
    return HairEvalReport(per_image, mean, missing)


def _evaluate_one(gt: Path, name: str, files: dict, pair_order: str) -> dict[str, float]:
    nan = float("nan")
    out = dict.fromkeys(METRIC_NAMES, nan)
    out["n_pixels"] = 0
    out["n_pairs"] = 0
    gt_sm_path = gt / SUBDIRS["strand_map"] / f"{name}.png"
    gt_seg_path = gt / SUBDIRS["hair_mask"] / f"{name}.png"
    gt_dir = gt_mask = None
    if gt_sm_path.is_file():
        gt_dir, gt_mask, _ = decode_strand_map(read_png(gt_sm_path, gray=False))
    if gt_seg_path.is_file():
        gt_mask = read_png(gt_seg_path, gray=True)
    pred_dir = pred_mask = None
    if files["strand_map"] is not None:
        pred_dir, pred_mask, _ = decode_strand_map(read_png(files["strand_map"], gray=False))
    if files["hair_mask"] is not None:
        pred_mask = read_png(files["hair_mask"], gray=True)
    if gt_mask is not None and pred_mask is not None:
        if gt_mask.shape != pred_mask.shape:
            raise InputError(
                f"{name}: predicted mask {pred_mask.shape} vs ground truth {gt_mask.shape}"
            )
        out["hair_iou"] = mask_iou(pred_mask, gt_mask)
    if gt_dir is not None and pred_dir is not None:
        if gt_dir.shape != pred_dir.shape:
            raise InputError(
                f"{name}: predicted strand map {pred_dir.shape[:2]} vs ground "
                f"truth {gt_dir.shape[:2]}"
            )
        sale = hair_sale(pred_dir, gt_dir, pred_mask, gt_mask)
        out["hairsale_deg"] = sale.deg
        out["hairsale_capped90_deg"] = sale.deg_capped90
        out["n_pixels"] = sale.n_pixels
        both = pred_mask & gt_mask
        out["orientation_error_deg"] = orientation_error(pred_dir, gt_dir, both)
    pp = gt / SUBDIRS["pairs"] / f"{name}.npy"
    lp = gt / SUBDIRS["labels"] / f"{name}.npy"
    if files["depth"] is not None and pp.is_file() and lp.is_file():
        pairs, labels = read_relative_depth(pp, lp, pair_order)
        depth = load_npy(files["depth"]).astype(np.float64)
        rida = hair_rida(np.nan_to_num(depth), pairs, labels, pred_mask)
        out["hairrida_percent"] = rida.percent
        out["n_pairs"] = rida.n_used
    return out
