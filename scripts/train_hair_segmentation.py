"""Train monoscan's hair segmentation network from scratch and export it to ONNX.

One command, CPU only, fixed seeds::

    python scripts/train_hair_segmentation.py --data ../shared/data/hair_seg \\
        --out src/monoscan/models --epochs 24 --size 256 --threads 2

The shipped model is that run (``--epochs 60 --minutes 55``) followed by a warm restart of
the schedule from its best checkpoint (``--epochs 200 --minutes 105 --lr 0.0015 --init
.work/hairseg_best.pt``); ``OUT/hair_seg.json`` lists every command that made the model.

Data: ``DATA/{figaro_train,celeb_train,celeb_val}/{images/*.jpg,masks/*.png}`` (255 = hair).

Splits (fixed, documented):

* validation "celeb_val": all of ``celeb_val`` (CelebAMask-HQ portraits);
* validation "figaro_val": the Figaro frames whose number is a multiple of 10 (every tenth
  frame of each hair type; types are blocks of 150 frames: 1-150 straight, 151-300 wavy,
  301-450 curly, 451-600 kinky, 601-750 braids, 751-900 dreadlocks, 901-1050 short men);
* training: all other ``figaro_train`` frames plus all of ``celeb_train``.

Every image is letterboxed once (zero-padded to a centred square, resized; the same
:func:`monoscan.hair.segmentation.letterbox` that inference uses) into a uint8 cache at
1.25 x the training size (``.work/hairseg_cache_<S>.npz``). Training samples are random affine
warps of the cache (scale 0.7-1.3, rotation +-20 deg, shift, mirror) with colour and lighting
jitter. Loss: BCE + soft Dice. AdamW, 5 % warm-up then cosine learning rate
(over steps, or over wall time with ``--minutes``).

Validation IoU is computed exactly as the product computes it: letterbox the original photo
to the input size, run the network, resize the probability back to the photo (bilinear),
threshold at 0.5, IoU against the original mask; the reported number is the mean per-image IoU
(also the pooled IoU: total intersection / total union). After every epoch the checkpoint with
the best mean of the two validation IoUs is kept (``.work/hairseg_best.pt``) and exported to
``OUT/hair_seg.onnx`` with its metadata ``OUT/hair_seg.json``, so a usable model exists at any
time.

Needs torch (CPU) and onnx (``pip install -e .[train]``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import random
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from monoscan.hair.segmentation import letterbox, unletterbox
from monoscan.metrics.hair2d import mask_iou

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
HAIR_TYPES = ("straight", "wavy", "curly", "kinky", "braids", "dreadlocks", "short_men")


# ----------------------------------------------------------------------------- data


def frame_number(path: Path) -> int:
    return int(re.sub(r"\D", "", path.stem))


def hair_type(frame: int) -> str:
    return HAIR_TYPES[min((frame - 1) // 150, len(HAIR_TYPES) - 1)]


def list_pairs(folder: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for img in sorted((folder / "images").glob("*.jpg")):
        mask = folder / "masks" / (img.stem + ".png")
        if mask.exists():
            pairs.append((img, mask))
    if not pairs:
        raise SystemExit(f"no image/mask pairs in {folder}")
    return pairs


def read_pair(img: Path, mask: Path) -> tuple[np.ndarray, np.ndarray]:
    rgb = cv2.cvtColor(cv2.imread(str(img), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    m = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE)
    if m.shape != rgb.shape[:2]:
        m = cv2.resize(m, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
    return rgb, m


def splits(data: Path):
    figaro = list_pairs(data / "figaro_train")
    fig_val = [p for p in figaro if frame_number(p[0]) % 10 == 0]
    fig_train = [p for p in figaro if frame_number(p[0]) % 10 != 0]
    train = fig_train + list_pairs(data / "celeb_train")
    return train, {"celeb_val": list_pairs(data / "celeb_val"), "figaro_val": fig_val}


def build_cache(pairs, cache_size: int, path: Path) -> tuple[np.ndarray, np.ndarray]:
    key = "\n".join(str(p[0]) for p in pairs)
    if path.exists():
        z = np.load(path)
        if str(z["key"]) == key:
            return z["images"], z["masks"]
    imgs = np.zeros((len(pairs), cache_size, cache_size, 3), np.uint8)
    masks = np.zeros((len(pairs), cache_size, cache_size), np.uint8)
    for i, (ip, mp) in enumerate(pairs):
        rgb, m = read_pair(ip, mp)
        imgs[i] = letterbox(rgb, cache_size)[0]
        masks[i] = letterbox(m, cache_size)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, images=imgs, masks=masks, key=np.array(key))
    os.replace(tmp, path)
    return imgs, masks


def augment(img: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator):
    """Random affine (scale, rotation, shift, mirror) + colour/lighting jitter."""
    c = img.shape[0]
    base = size / c
    scale = base * math.exp(rng.uniform(math.log(0.7), math.log(1.3)))
    angle = rng.uniform(-20, 20)
    m = cv2.getRotationMatrix2D((c / 2, c / 2), angle, scale)
    m[:, 2] += (size / 2 - c / 2) + rng.uniform(-0.1, 0.1, 2) * size
    if rng.random() < 0.5:  # mirror: x -> size - x
        m[0] = -m[0]
        m[0, 2] += size
    im = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
    mk = cv2.warpAffine(mask, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)

    x = im.astype(np.float32) / 255.0
    if rng.random() < 0.8:  # saturation, hue
        hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-12, 12)) % 360
        hsv[..., 1] *= rng.uniform(0.6, 1.4)
        np.clip(hsv[..., 1], 0, 1, out=hsv[..., 1])
        x = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    if rng.random() < 0.1:
        x[:] = x.mean(axis=2, keepdims=True)
    x = x * rng.uniform(0.7, 1.3)  # brightness
    mu = x.mean()
    x = (x - mu) * rng.uniform(0.7, 1.3) + mu  # contrast
    if rng.random() < 0.4:  # directional lighting: a linear shading ramp
        th = rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
        ramp = 1 + rng.uniform(0.2, 0.6) * (np.cos(th) * xx + np.sin(th) * yy)
        x = x * ramp[..., None]
    if rng.random() < 0.3:  # colour cast
        x = x * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    np.clip(x, 0, 1, out=x)
    x = x ** rng.uniform(0.7, 1.5)  # gamma
    if rng.random() < 0.15:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < 0.15:
        x = x + rng.normal(0, rng.uniform(0.01, 0.04), x.shape).astype(np.float32)
    x = (np.clip(x, 0, 1) - np.float32(MEAN)) / np.float32(STD)
    return x.transpose(2, 0, 1), mk.astype(np.float32)[None] / 255.0


def normalise_u8(square: np.ndarray) -> np.ndarray:
    x = (square.astype(np.float32) / 255.0 - np.float32(MEAN)) / np.float32(STD)
    return x.transpose(2, 0, 1)


# ----------------------------------------------------------------------------- model


def build_model(width: float = 1.0):
    import torch
    import torch.nn.functional as F
    from torch import nn

    def ch(c):
        return max(8, round(c * width / 8) * 8)

    class ConvBN(nn.Sequential):
        def __init__(self, cin, cout, k=3, s=1, groups=1, act=True):
            layers = [
                nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False),
                nn.BatchNorm2d(cout),
            ]
            if act:
                layers.append(nn.ReLU6(inplace=True))
            super().__init__(*layers)

    class InvRes(nn.Module):
        def __init__(self, cin, cout, s, t):
            super().__init__()
            hid = cin * t
            layers = [] if t == 1 else [ConvBN(cin, hid, 1)]
            layers += [ConvBN(hid, hid, 3, s, groups=hid), ConvBN(hid, cout, 1, act=False)]
            self.body = nn.Sequential(*layers)
            self.res = s == 1 and cin == cout

        def forward(self, x):
            y = self.body(x)
            return x + y if self.res else y

    class SepConv(nn.Sequential):
        def __init__(self, cin, cout):
            super().__init__(ConvBN(cin, cin, 3, groups=cin), ConvBN(cin, cout, 1))

    class Up(nn.Module):
        def __init__(self, cin, cskip, cout):
            super().__init__()
            self.conv = nn.Sequential(SepConv(cin + cskip, cout), SepConv(cout, cout))

        def forward(self, x, skip):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            return self.conv(torch.cat([x, skip], 1))

    class HairNet(nn.Module):
        """MobileNetV2-like encoder (strides 2..32) with a U-Net decoder; logits at 1/2."""

        def __init__(self):
            super().__init__()
            c = [ch(v) for v in (16, 24, 32, 64, 96, 160)]
            self.stem = ConvBN(3, c[0], 3, 2)  # 1/2

            def stage(cin, cout, n, s, t=4):
                return nn.Sequential(
                    *[
                        InvRes(cin if i == 0 else cout, cout, s if i == 0 else 1, t)
                        for i in range(n)
                    ]
                )

            self.s1 = stage(c[0], c[0], 1, 1, t=1)  # 1/2
            self.s2 = stage(c[0], c[1], 2, 2)  # 1/4
            self.s3 = stage(c[1], c[2], 3, 2)  # 1/8
            self.s4 = nn.Sequential(stage(c[2], c[3], 3, 2), stage(c[3], c[4], 2, 1))  # 1/16
            self.s5 = stage(c[4], c[5], 3, 2)  # 1/32
            self.ctx = ConvBN(c[5], c[5], 1)  # global context, added back
            self.u4 = Up(c[5], c[4], ch(96))
            self.u3 = Up(ch(96), c[2], ch(64))
            self.u2 = Up(ch(64), c[1], ch(40))
            self.u1 = Up(ch(40), c[0], ch(24))
            self.head = nn.Conv2d(ch(24), 1, 1)

        def forward(self, x):
            x1 = self.s1(self.stem(x))
            x2 = self.s2(x1)
            x3 = self.s3(x2)
            x4 = self.s4(x3)
            x5 = self.s5(x4)
            x5 = x5 + self.ctx(x5.mean(dim=(2, 3), keepdim=True))
            y = self.u4(x5, x4)
            y = self.u3(y, x3)
            y = self.u2(y, x2)
            y = self.u1(y, x1)
            y = self.head(y)
            return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)

    return HairNet()


class ProbModel:
    """Wraps the logits model with a sigmoid for export (input NCHW float, output N1HW prob)."""

    @staticmethod
    def wrap(model):
        import torch

        class _P(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, x):
                return torch.sigmoid(self.m(x))

        return _P(model)


# ----------------------------------------------------------------------------- eval


def evaluate(model, val_sets, size: int, batch: int = 16):
    """Mean per-image IoU, pooled IoU and per-image IoUs of each validation set."""
    import torch

    model.eval()
    out = {}
    with torch.no_grad():
        for name, items in val_sets.items():
            ious, inter, union = [], 0, 0
            for i in range(0, len(items), batch):
                chunk = items[i : i + batch]
                x = torch.from_numpy(np.stack([c["x"] for c in chunk]))
                p = torch.sigmoid(model(x)).numpy()[:, 0]
                for c, pi in zip(chunk, p, strict=True):
                    pred = unletterbox(pi, c["box"]) >= 0.5
                    ious.append(mask_iou(pred, c["mask"]))
                    inter += int(np.logical_and(pred, c["mask"]).sum())
                    union += int(np.logical_or(pred, c["mask"]).sum())
            out[name] = {
                "mean_iou": float(np.mean(ious)),
                "pooled_iou": inter / max(union, 1),
                "ious": ious,
            }
    return out


def per_type(items, ious) -> dict:
    res = {}
    for t in HAIR_TYPES:
        v = [iou for it, iou in zip(items, ious, strict=True) if it["type"] == t]
        if v:
            res[t] = {"n": len(v), "mean_iou": float(np.mean(v))}
    return res


# ----------------------------------------------------------------------------- main


def export_onnx(model, size: int, path: Path) -> None:
    import torch

    model.eval()
    wrapped = ProbModel.wrap(model).eval()
    tmp = path.with_name("." + path.name + ".tmp.onnx")
    torch.onnx.export(
        wrapped,
        (torch.zeros(1, 3, size, size),),
        str(tmp),
        opset_version=17,
        dynamo=False,
        input_names=["image"],
        output_names=["hair_probability"],
        dynamic_axes={"image": {0: "batch"}, "hair_probability": {0: "batch"}},
    )
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/hair_seg"))
    ap.add_argument("--out", type=Path, default=Path("src/monoscan/models"))
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--size", type=int, default=256, help="training/inference input side, px")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--width", type=float, default=1.0, help="channel width multiplier")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=Path(".work"))
    ap.add_argument("--max-steps", type=int, default=0, help="stop each epoch early (timing)")
    ap.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from this state dict (.pt) instead of random weights: a warm "
        "restart of the cosine schedule, for continuing a finished run",
    )
    ap.add_argument(
        "--minutes",
        type=float,
        default=0.0,
        help="wall-time budget: the LR schedule follows elapsed time instead of steps "
        "and training stops when it is spent (--epochs is then a maximum); "
        "the epochs actually run are recorded in hair_seg.json",
    )
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    t0 = time.time()
    train_pairs, val_pairs = splits(args.data)
    cache = round(args.size * 1.25)
    imgs, masks = build_cache(train_pairs, cache, args.work / f"hairseg_cache_{cache}.npz")
    val_sets = {}
    for name, pairs in val_pairs.items():
        items = []
        for ip, mp in pairs:
            rgb, m = read_pair(ip, mp)
            sq, box = letterbox(rgb, args.size)
            t = hair_type(frame_number(ip)) if name == "figaro_val" else "celeb"
            items.append({"x": normalise_u8(sq), "box": box, "mask": m > 127, "type": t})
        val_sets[name] = items
    print(
        f"train {len(train_pairs)} | "
        + " | ".join(f"{k} {len(v)}" for k, v in val_sets.items())
        + f" | data ready in {time.time() - t0:.0f} s",
        flush=True,
    )

    model = build_model(args.width)
    if args.init is not None:
        model.load_state_dict(torch.load(args.init, map_location="cpu"))
        print(f"initialised from {args.init}", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f} M parameters", flush=True)
    steps_per_epoch = len(train_pairs) // args.batch
    if args.max_steps:
        steps_per_epoch = min(steps_per_epoch, args.max_steps)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    total_steps = args.epochs * steps_per_epoch
    budget_s = args.minutes * 60.0

    def lr_at(progress: float) -> float:
        """5 % linear warm-up from lr/20, then cosine down to lr/200 (progress in [0, 1])."""
        progress = min(max(progress, 0.0), 1.0)
        if progress < 0.05:
            return args.lr * (0.05 + 0.95 * progress / 0.05)
        c = 0.5 * (1 + math.cos(math.pi * (progress - 0.05) / 0.95))
        return args.lr * (0.005 + 0.995 * c)

    bce = torch.nn.BCEWithLogitsLoss()

    args.out.mkdir(parents=True, exist_ok=True)
    command = "python scripts/train_hair_segmentation.py " + " ".join(
        f"--{k.replace('_', '-')} {v}"
        for k, v in vars(args).items()
        if k != "work" and v is not None
    )
    commands = [command]
    best, history = -1.0, []
    if args.init is not None:
        # A warm restart continues the model described by OUT/hair_seg.json: keep its command
        # history, and only replace it with a model that validates better.
        meta_path = args.out / "hair_seg.json"
        if meta_path.exists():
            prior = json.loads(meta_path.read_text(encoding="utf-8"))
            commands = prior.get("training_commands", [prior.get("training_command")]) + commands
        res = evaluate(model, val_sets, args.size)
        best = (res["celeb_val"]["mean_iou"] + res["figaro_val"]["mean_iou"]) / 2
        print(
            f"initial val IoU celeb {res['celeb_val']['mean_iou']:.4f} "
            f"figaro {res['figaro_val']['mean_iou']:.4f}",
            flush=True,
        )
    t_train = time.time()
    global_step, epochs_run, lr = 0, 0, args.lr
    for epoch in range(1, args.epochs + 1):
        if budget_s and time.time() - t_train >= budget_s:
            break
        epochs_run = epoch
        model.train()
        te = time.time()
        order = rng.permutation(len(imgs))
        losses = []
        for step in range(steps_per_epoch):
            if budget_s:
                progress = (time.time() - t_train) / budget_s
                if progress >= 1.0:
                    break
            else:
                progress = global_step / total_steps
            lr = lr_at(progress)
            for group in opt.param_groups:
                group["lr"] = lr
            global_step += 1
            idx = order[step * args.batch : (step + 1) * args.batch]
            xs, ys = zip(*(augment(imgs[i], masks[i], args.size, rng) for i in idx), strict=True)
            x = torch.from_numpy(np.stack(xs))
            y = torch.from_numpy(np.stack(ys))
            logits = model(x)
            p = torch.sigmoid(logits)
            inter = (p * y).sum(dim=(1, 2, 3))
            dice = 1 - (2 * inter + 1) / (p.sum(dim=(1, 2, 3)) + y.sum(dim=(1, 2, 3)) + 1)
            loss = bce(logits, y) + dice.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if epoch == 1 and step in (4, 19):
                print(
                    f"  step {step + 1}: {(time.time() - te) / (step + 1):.2f} s/step", flush=True
                )
        train_s = time.time() - te
        res = evaluate(model, val_sets, args.size)
        score = (res["celeb_val"]["mean_iou"] + res["figaro_val"]["mean_iou"]) / 2
        history.append(
            {
                "epoch": epoch,
                "loss": float(np.mean(losses)),
                "celeb_val_iou": res["celeb_val"]["mean_iou"],
                "figaro_val_iou": res["figaro_val"]["mean_iou"],
            }
        )
        mark = ""
        if score > best:
            best = score
            mark = " *best*"
            torch.save(model.state_dict(), args.work / "hairseg_best.pt")
            export_onnx(model, args.size, args.out / "hair_seg.onnx")
            meta = {
                "input_size": args.size,
                "input": "RGB photo zero-padded to a centred square, resized to input_size "
                "(area when shrinking), scaled to [0,1], (x - mean) / std, NCHW float32",
                "output": "hair probability (N,1,S,S), sigmoid applied; resize back bilinearly",
                "mean": list(MEAN),
                "std": list(STD),
                "threshold": 0.5,
                "architecture": "MobileNetV2-like encoder + U-Net decoder (depthwise-separable)",
                "parameters": n_params,
                "training_command": command,
                "training_commands": commands,
                "seed": args.seed,
                "epochs": args.epochs,
                "best_epoch": epoch,
                "epochs_run": epochs_run,
                "steps_run": global_step,
                "minutes_budget": args.minutes,
                "splits": {
                    "train": "figaro_train frames not multiple of 10 + all celeb_train "
                    f"({len(train_pairs)} images)",
                    "celeb_val": f"all celeb_val ({len(val_sets['celeb_val'])} images)",
                    "figaro_val": "figaro_train frames whose number is a multiple of 10 "
                    f"({len(val_sets['figaro_val'])} images)",
                },
                "metric": "mean per-image IoU at the original mask resolution, threshold 0.5",
                "val_iou": {k: round(v["mean_iou"], 4) for k, v in res.items()},
                "val_pooled_iou": {k: round(v["pooled_iou"], 4) for k, v in res.items()},
                "figaro_val_iou_per_type": {
                    k: {"n": v["n"], "mean_iou": round(v["mean_iou"], 4)}
                    for k, v in per_type(val_sets["figaro_val"], res["figaro_val"]["ious"]).items()
                },
                "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            meta_path = args.out / "hair_seg.json"
            tmp = meta_path.with_name("." + meta_path.name + ".tmp")
            tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, meta_path)
        print(
            f"epoch {epoch:3d}/{args.epochs} loss {np.mean(losses):.4f} "
            f"lr {lr:.2e} | val IoU celeb {res['celeb_val']['mean_iou']:.4f}"
            f" figaro {res['figaro_val']['mean_iou']:.4f} | {train_s:.0f} s{mark}",
            flush=True,
        )
    (args.work / "hairseg_history.json").write_text(json.dumps(history, indent=1))
    print(f"best mean val IoU {best:.4f}; total {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
