"""Clothed-body reconstruction metrics in centimetres (PIFuHD / ICON / ECON / SiTH conventions).

Both meshes are sampled area-uniformly (``samples`` points each, seeded), then:

* **P2S** (cm): mean distance from points on the *prediction* to the ground-truth surface;
* **S2P** (cm): mean distance from points on the *ground truth* to the predicted surface
  (the CustomHumans "S2P" column);
* **Chamfer** (cm): (P2S + S2P) / 2;
* **NC**: normal consistency, the mean |cos| between each sample's face normal and the normal of
  the face its closest point lies on, averaged over both directions (1 = identical);
* **F-score** (%) at ``thresholds_cm``: precision = share of predicted samples within the
  threshold of the ground-truth surface, recall = the converse, F = 2PR / (P + R).

No alignment is done: the protocols compare meshes already in the same frame (scale and
translation fixed by the benchmark). Inputs in metres (monoscan) are converted with ``unit``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import trimesh

from monoscan.core.errors import InputError
from monoscan.metrics.surface import fscore, normal_consistency, point_to_surface, sample_surface

__all__ = ["UNIT_TO_CM", "BodyScore", "evaluate_body"]

UNIT_TO_CM = {"m": 100.0, "cm": 1.0, "mm": 0.1}


@dataclass(frozen=True)
class BodyScore:
    """Body metrics, centimetres (F-scores in percent)."""

    chamfer_cm: float
    p2s_cm: float
    s2p_cm: float
    normal_consistency: float
    fscore_percent: dict[float, float]
    samples: int

    def summary(self) -> dict[str, float]:
        out = {
            "chamfer_cm": self.chamfer_cm,
            "p2s_cm": self.p2s_cm,
            "s2p_cm": self.s2p_cm,
            "normal_consistency": self.normal_consistency,
        }
        for t, f in self.fscore_percent.items():
            out[f"fscore_{t:g}cm"] = f
        out["samples"] = self.samples
        return out


def _check(mesh: trimesh.Trimesh, what: str) -> None:
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.vertices) == 0:
        raise InputError(f"{what} mesh is empty")
    if len(mesh.faces) == 0:
        raise InputError(f"{what} mesh has no faces; body metrics need surfaces")
    if not np.isfinite(np.asarray(mesh.vertices)).all():
        raise InputError(f"{what} mesh has NaN or infinite vertices")


def evaluate_body(
    pred: trimesh.Trimesh,
    gt: trimesh.Trimesh,
    *,
    unit: str = "m",
    gt_unit: str | None = None,
    samples: int = 10_000,
    thresholds_cm: tuple[float, ...] = (1.0,),
    seed: int = 0,
) -> BodyScore:
    """Score a predicted body mesh against a ground-truth scan.

    Parameters
    ----------
    pred, gt : trimesh.Trimesh
        Meshes in the same frame.
    unit, gt_unit : {'m', 'cm', 'mm'}
        Units of ``pred`` and of ``gt`` (``gt_unit`` defaults to ``unit``).
    samples : int
        Surface samples per mesh (PIFuHD uses 10,000).
    thresholds_cm : tuple of float
        F-score thresholds in cm.
    seed : int
        Sampling seed; results are deterministic for a given seed.

    Returns
    -------
    BodyScore
    """
    _check(pred, "predicted")
    _check(gt, "ground-truth")
    gt_unit = gt_unit or unit
    for u in (unit, gt_unit):
        if u not in UNIT_TO_CM:
            raise InputError(f"unknown unit {u!r}; use one of {sorted(UNIT_TO_CM)}")
    sp, sg = UNIT_TO_CM[unit], UNIT_TO_CM[gt_unit]
    pred_cm = trimesh.Trimesh(np.asarray(pred.vertices) * sp, pred.faces, process=False)
    gt_cm = trimesh.Trimesh(np.asarray(gt.vertices) * sg, gt.faces, process=False)
    height = float(np.ptp(np.asarray(gt_cm.vertices), axis=0).max())
    if not 50.0 <= height <= 250.0:
        warnings.warn(
            f"ground-truth body spans {height:.4g} cm; expected 50-250 cm: check --unit",
            UserWarning,
            stacklevel=2,
        )
    p_pts, p_nrm = sample_surface(pred_cm, samples, seed=seed)
    g_pts, g_nrm = sample_surface(gt_cm, samples, seed=seed + 1)
    to_gt = point_to_surface(p_pts, gt_cm)
    to_pred = point_to_surface(g_pts, pred_cm)
    p2s = float(np.mean(to_gt.distances))
    s2p = float(np.mean(to_pred.distances))
    nc = 0.5 * (
        normal_consistency(p_nrm, gt_cm.face_normals[to_gt.triangle])
        + normal_consistency(g_nrm, pred_cm.face_normals[to_pred.triangle])
    )
    fs = {
        float(t): 100.0 * fscore(to_gt.distances, to_pred.distances, t)["fscore"]
        for t in thresholds_cm
    }
    return BodyScore(0.5 * (p2s + s2p), p2s, s2p, nc, fs, samples)
