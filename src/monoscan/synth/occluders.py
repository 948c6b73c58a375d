"""Synthetic face occluders (hands, bars, bangs) pasted over a photo, with their true masks.

Used to measure occlusion handling (``benchmarks/bench_occlusion.py``, ``tests/test_occlusion.py``):
every occluder is placed relative to the face's landmarks, so the same seed gives the same
occluder on the same face, and the returned mask is the exact set of pixels replaced.
"""

from __future__ import annotations

import numpy as np

__all__ = ["OCCLUDER_KINDS", "occluder_mask", "paste_occluder"]

OCCLUDER_KINDS = ("hand", "bar", "bangs")

#: Hand colours (RGB): skin tones and gloves/sleeves.
_HAND_COLOURS = (
    (224, 172, 138),
    (141, 85, 36),
    (255, 219, 172),
    (198, 134, 66),
    (40, 40, 45),
    (200, 200, 205),
    (60, 90, 160),
    (180, 40, 40),
)
#: Bar colours: a microphone, a phone, a sign, a scarf.
_BAR_COLOURS = ((20, 20, 20), (235, 235, 235), (30, 60, 140), (200, 160, 40), (120, 30, 30))
#: Hair colours for bangs.
_HAIR_COLOURS = ((25, 18, 14), (60, 40, 25), (110, 75, 40), (180, 140, 80), (15, 15, 15))


def _frame(points: np.ndarray):
    """Face centre, size (px) and the eye/mouth/forehead anchors from the 478 landmarks."""
    p = np.asarray(points, np.float64)[:, :2]
    x0, y0 = p[:468].min(0)
    x1, y1 = p[:468].max(0)
    size = float(np.sqrt((x1 - x0) * (y1 - y0)))
    anchors = {
        "right_eye": p[[33, 133]].mean(0),
        "left_eye": p[[263, 362]].mean(0),
        "mouth": p[[13, 14, 61, 291]].mean(0),
        "nose": p[1],
        "chin": p[152],
        "forehead": p[10],
        "right_cheek": p[205],
        "left_cheek": p[425],
    }
    return p, size, anchors


def occluder_mask(shape: tuple[int, int], points: np.ndarray, kind: str, seed: int) -> np.ndarray:
    """The (H, W) bool mask of one synthetic occluder placed on the face.

    Parameters
    ----------
    shape : (H, W)
        Photo size.
    points : (478, 3) or (468, 2+)
        Face-mesh landmarks, photo pixels.
    kind : {"hand", "bar", "bangs"}
    seed : int
        Chooses position, size and orientation.
    """
    import cv2

    if kind not in OCCLUDER_KINDS:
        raise ValueError(f"unknown occluder kind {kind!r}; choose from {OCCLUDER_KINDS}")
    rng = np.random.default_rng(seed)
    p, size, a = _frame(points)
    h, w = shape
    mask = np.zeros((h, w), np.uint8)
    if kind == "hand":
        target = a[
            rng.choice(["mouth", "right_cheek", "left_cheek", "right_eye", "left_eye", "chin"])
        ]
        # The palm sits off the face towards one side; fingers reach over the target.
        angle = rng.uniform(0, 2 * np.pi)
        d = np.array([np.cos(angle), np.sin(angle)])
        palm_r = size * rng.uniform(0.17, 0.24)
        palm = target + d * size * rng.uniform(0.25, 0.45)
        cv2.ellipse(
            mask,
            tuple(np.round(palm).astype(int)),
            (int(palm_r), int(palm_r * 1.2)),
            np.degrees(angle) + 90,
            0,
            360,
            1,
            -1,
        )
        side = np.array([-d[1], d[0]])
        for k in range(4):
            base = palm - d * palm_r * 0.6 + side * palm_r * (k - 1.5) * 0.5
            tip = base - d * size * rng.uniform(0.28, 0.42) + side * rng.normal(0, 0.04) * size
            cv2.line(
                mask,
                tuple(np.round(base).astype(int)),
                tuple(np.round(tip).astype(int)),
                1,
                max(2, int(size * 0.085)),
            )
    elif kind == "bar":
        target = a[rng.choice(["right_eye", "left_eye", "mouth", "nose"])]
        thick = size * rng.uniform(0.12, 0.22)
        length = size * rng.uniform(0.6, 1.1)
        angle = rng.choice([0.0, 90.0]) + rng.normal(0, 12)
        centre = target + rng.normal(0, 0.04, 2) * size
        box = cv2.boxPoints(((float(centre[0]), float(centre[1])), (length, thick), angle))
        cv2.fillPoly(mask, [np.round(box).astype(np.int32)], 1)
    else:  # bangs: from above the forehead down over the brows, wavy strand tips
        eyes_y = (a["right_eye"][1] + a["left_eye"][1]) / 2
        top = a["forehead"][1] - size * 0.25
        xs = np.linspace(p[:468, 0].min() - 0.05 * size, p[:468, 0].max() + 0.05 * size, 24)
        depth = rng.uniform(-0.12, 0.05) * size  # how far below the eye line the tips reach
        tips = (
            eyes_y
            + depth
            - np.abs(np.sin(np.linspace(0, np.pi * rng.uniform(3, 7), 24))) * size * 0.12
            + rng.normal(0, 0.02, 24) * size
        )
        tilt = rng.normal(0, 0.15) * (xs - xs.mean())
        poly = np.concatenate([[[xs[0], top], [xs[-1], top]], np.stack([xs, tips + tilt], 1)[::-1]])
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    return mask.astype(bool)


def paste_occluder(
    rgb: np.ndarray, points: np.ndarray, kind: str, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Paste one synthetic occluder on the face; return ``(new_rgb, mask)``.

    The occluder is a textured colour (slight shading and noise, hair strands for bangs);
    ``mask`` (H, W) bool is exactly where pixels were replaced.
    """
    import cv2

    rgb = np.asarray(rgb)
    mask = occluder_mask(rgb.shape[:2], points, kind, seed)
    rng = np.random.default_rng(seed + 7919)
    palette = {"hand": _HAND_COLOURS, "bar": _BAR_COLOURS, "bangs": _HAIR_COLOURS}[kind]
    colour = np.array(palette[rng.integers(len(palette))], np.float32)
    h, w = mask.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # Shading: a gentle gradient plus noise; bangs get vertical strand streaks.
    shade = 1.0 + 0.12 * np.sin(xx / max(w, 1) * 3 + rng.uniform(0, 6)) * np.cos(yy / max(h, 1) * 2)
    noise = rng.normal(0, 6, (h, w)).astype(np.float32)
    if kind == "bangs":
        streak = rng.normal(0, 1, w).astype(np.float32)
        streak = cv2.GaussianBlur(streak[None], (0, 0), 1.5)[0]
        noise = noise + 18 * streak[None, :] / (streak.std() + 1e-6)
    occ = np.clip(colour[None, None] * shade[..., None] + noise[..., None], 0, 255)
    out = rgb.copy()
    out[mask] = occ[mask].astype(np.uint8)
    return out, mask
