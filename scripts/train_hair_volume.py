"""Train the learned hair volume (occupancy and 3D growth direction per voxel), export ONNX.

Data: the voxel samples cached by ``scripts/prepare_hair_volume_data.py`` (train styles for
training, val styles for the checkpoint choice and the occupancy threshold). The network is an
MLP over the 20 features of :mod:`monoscan.hair.learned3d` with four outputs: an occupancy
logit and an unnormalised 3D growth direction. Loss: binary cross-entropy weighted by the
samples' stratum weights (so it is the loss over every candidate voxel of a scene, each scene
weighing the same) plus ``1 - cos`` between the predicted and true direction on true hair.
Mirror augmentation: half of each batch has x flipped (features 5, 7 and 14, direction x).

``--context`` adds a pixel-aligned 2D encoder (HairStep's reconstruction step): a small CNN
over the crop's 2D maps (``crop_maps`` of the cache: hair mask, growth direction, relative hair
depth, body; 128 px) whose features at three scales (1/2, 1/4, 1/8) are sampled at each
voxel's crop column (``uv``) and joined to its 20 features before the MLP. Batches are then
``--scenes`` scenes of ``--batch / --scenes`` voxels each; the mirror flips whole scenes
(maps, their direction-x channel, u -> 511 - u).

Resumable: ``WORK/last.pt`` is written every few minutes and picked up by the next run, which
continues until ``--minutes`` of training in all; ``WORK/best.pt`` keeps the best validation
IoU. ``--export`` writes ``OUT/hair_volume.onnx`` and ``OUT/hair_volume.json`` (architecture,
threshold, every command that made it, seeds, validation numbers). Example (the shipped
model)::

    nice -n 5 python scripts/train_hair_volume.py --width 192 --depth 4 --minutes 32 \
        --eval-minutes 4
    python scripts/train_hair_volume.py --export
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from monoscan.hair.learned3d import CONTEXT_SIZE, N_CONTEXT_MAPS, N_FEATURES  # noqa: E402

CACHE = REPO / ".work" / "hv" / "cache"
TRAIN_SETS = ("train_mixed",)
VAL_SETS = ("val_frontal",)
#: Features whose sign flips with the image's x (mirror augmentation).
MIRROR_FEATURES = (5, 7, 14)
#: Side of the HairStep crop (px) that ``uv`` is measured in.
CROP = 512
PREPARE_COMMANDS = [
    "nice -n 10 python scripts/prepare_hair_volume_data.py --split val --seed 400000 --n 60 "
    "--views frontal --workers 2",
    "nice -n 10 python scripts/prepare_hair_volume_data.py --split train --seed 300000 --n {n} "
    "--views mixed --workers 2",
]


def prepare_commands(cache: Path) -> list[str]:
    """The commands that made ``cache``: the train seeds it holds (scenes and skips)."""
    train = cache / TRAIN_SETS[0]
    n = len(list(train.glob("*.npz"))) + len(list(train.glob("*.skip")))
    out = "" if cache.resolve() == CACHE else f" --out {cache.resolve().relative_to(REPO)}"
    return [c.format(n=n) + out for c in PREPARE_COMMANDS]


def load_set(names, cache: Path, context: bool = False) -> dict:
    """Concatenated samples of the sets ``names``; weights normalised to mean 1 per scene.
    With ``context`` also each voxel's crop column ``uv`` and each scene's ``maps``."""
    feats, occ, dirs, w, scene, uv, maps = [], [], [], [], [], [], []
    for name in names:
        for p in sorted((cache / name).glob("*.npz")):
            d = np.load(p)
            if context and "crop_maps" not in d.files:
                raise SystemExit(f"{p} has no crop_maps: prepare it again (--context data)")
            feats.append(d["features"])
            occ.append(d["occupied"])
            dirs.append(d["direction"])
            ww = d["weight"].astype(np.float32)
            w.append(ww / ww.mean())
            scene.append(np.full(len(ww), len(scene), np.int32))
            if context:
                uv.append(d["uv"])
                maps.append(d["crop_maps"])
    if not feats:
        raise SystemExit(f"no cached scenes in {cache}/{names}: run prepare_hair_volume_data.py")
    out = {
        "x": np.concatenate(feats),
        "occ": np.concatenate(occ),
        "dir": np.concatenate(dirs),
        "w": np.concatenate(w),
        "scene": np.concatenate(scene),
        "n_scenes": len(feats),
        "start": np.cumsum([0] + [len(f) for f in feats]),
    }
    if context:
        out["uv"] = np.concatenate(uv)
        out["maps"] = np.stack(maps)
    return out


def build_model(width: int = 128, depth: int = 3, context: bool = False):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def mlp(cin):
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(cin, width), nn.SiLU()]
            cin = width
        layers.append(nn.Linear(cin, 4))
        return nn.Sequential(*layers)

    if not context:
        return mlp(N_FEATURES)

    def block(cin, cout):
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, 2, 1),
            nn.BatchNorm2d(cout),
            nn.SiLU(),
            nn.Conv2d(cout, cout, 3, 1, 1),
            nn.BatchNorm2d(cout),
            nn.SiLU(),
        )

    class ContextNet(nn.Module):
        """features (B, N, 20), uv (B, N, 2) crop px, maps (B, C, 128, 128) -> (B, N, 4)."""

        def __init__(self):
            super().__init__()
            self.levels = nn.ModuleList([block(N_CONTEXT_MAPS, 16), block(16, 32), block(32, 32)])
            self.head = mlp(N_FEATURES + 16 + 32 + 32)

        def forward(self, features, uv, maps):
            grid = ((uv + 0.5) / (CROP / 2.0) - 1.0).unsqueeze(1)  # (B, 1, N, 2)
            parts, f = [features], maps
            for level in self.levels:
                f = level(f)
                s = F.grid_sample(f, grid, mode="bilinear", align_corners=False)
                parts.append(s[:, :, 0].transpose(1, 2))  # (B, N, C)
            return self.head(torch.cat(parts, dim=2))

    return ContextNet()


def to_batch(data: dict, idx: np.ndarray, flip: np.ndarray | None = None):
    import torch

    x = data["x"][idx].astype(np.float32)
    d = data["dir"][idx].astype(np.float32)
    if flip is not None and flip.any():
        for f in MIRROR_FEATURES:
            x[flip, f] = -x[flip, f]
        d[flip, 0] = -d[flip, 0]
    return (
        torch.from_numpy(x),
        torch.from_numpy(data["occ"][idx].astype(np.float32)),
        torch.from_numpy(d),
        torch.from_numpy(data["w"][idx]),
    )


def to_scene_batch(data: dict, scenes: np.ndarray, per_scene: int, rng, flip: np.ndarray):
    """``per_scene`` random voxels of each of ``scenes``: (features, uv, maps, occ, dir, w)
    tensors, the first three shaped for the context model, the rest flat."""
    import torch

    idx = np.stack(
        [rng.integers(data["start"][s], data["start"][s + 1], per_scene) for s in scenes]
    )
    x, occ, d, w = to_batch(data, idx.ravel(), np.repeat(flip, per_scene))
    uv = data["uv"][idx].astype(np.float32)
    maps = data["maps"][scenes].astype(np.float32)
    uv[flip, :, 0] = CROP - 1 - uv[flip, :, 0]
    maps[flip] = maps[flip][..., ::-1]
    maps[flip, 1] *= -1  # growth direction x
    b, k = idx.shape
    return (
        x.reshape(b, k, -1),
        torch.from_numpy(uv),
        torch.from_numpy(np.ascontiguousarray(maps)),
        occ,
        d,
        w,
    )


def predict(model, data: dict, batch: int = 65536) -> np.ndarray:
    """(N, 4) raw outputs for every sample of ``data`` (per scene with the context model)."""
    import torch

    model.eval()
    outs = []
    with torch.no_grad():
        if "maps" in data:
            for s in range(data["n_scenes"]):
                a, b = data["start"][s], data["start"][s + 1]
                out = model(
                    torch.from_numpy(data["x"][a:b].astype(np.float32))[None],
                    torch.from_numpy(data["uv"][a:b].astype(np.float32))[None],
                    torch.from_numpy(data["maps"][s : s + 1].astype(np.float32)),
                )
                outs.append(out[0].numpy())
        else:
            for s in range(0, len(data["x"]), batch):
                x = torch.from_numpy(data["x"][s : s + batch].astype(np.float32))
                outs.append(model(x).numpy())
    model.train()
    return np.concatenate(outs)


def losses(out, occ, d, w):
    import torch
    import torch.nn.functional as F

    bce = F.binary_cross_entropy_with_logits(out[:, 0], occ, weight=w)
    pos = occ > 0.5
    if pos.any():
        p = F.normalize(out[pos, 1:4], dim=1)
        l_dir = (1.0 - (p * d[pos]).sum(1)).mean()
    else:
        l_dir = torch.zeros(())
    return bce, l_dir


def evaluate(model, data: dict, batch: int = 65536) -> dict:
    """Weighted voxel IoU per threshold (the candidate-voxel IoU of each scene, averaged) and
    the mean direction error on true hair, degrees."""
    out = predict(model, data, batch)
    prob = 1 / (1 + np.exp(-out[:, 0]))
    pd = out[:, 1:4]
    pd /= np.maximum(np.linalg.norm(pd, axis=1, keepdims=True), 1e-6)
    occ, w, scene = data["occ"], data["w"], data["scene"]
    res = {}
    for thr in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6):
        pred = prob >= thr
        inter = np.bincount(scene, w * (pred & occ), data["n_scenes"])
        union = np.bincount(scene, w * (pred | occ), data["n_scenes"])
        res[f"iou@{thr}"] = float(np.mean(inter / np.maximum(union, 1e-9)))
    cos = np.clip((pd[occ] * data["dir"][occ].astype(np.float32)).sum(1), -1, 1)
    res["dir_deg"] = float(np.degrees(np.arccos(cos)).mean())
    best = max((k for k in res if k.startswith("iou@")), key=res.get)
    res["threshold"] = float(best.split("@")[1])
    res["iou"] = res[best]
    return res


def export(args, ckpt_path: Path) -> None:
    import onnxruntime as ort
    import torch

    ck = torch.load(ckpt_path, weights_only=False)
    context = bool(ck.get("context", False))
    model = build_model(ck["width"], ck["depth"], context)
    model.load_state_dict(ck["model"])
    model.eval()
    onnx_path = args.out / "hair_volume.onnx"
    val = load_set(VAL_SETS, args.cache, context)
    n = min(4096, int(val["start"][1]))
    x = val["x"][:n].astype(np.float32)
    if context:
        inputs = {
            "features": x[None],
            "uv": val["uv"][:n].astype(np.float32)[None],
            "maps": val["maps"][:1].astype(np.float32),
        }
        dynamic = {"features": {1: "n"}, "uv": {1: "n"}, "voxels": {1: "n"}}
    else:
        inputs = {"features": x}
        dynamic = {"features": {0: "n"}, "voxels": {0: "n"}}
    torch.onnx.export(
        model,
        tuple(torch.from_numpy(v) for v in inputs.values()),
        str(onnx_path),
        input_names=list(inputs),
        output_names=["voxels"],
        dynamic_axes=dynamic,
        opset_version=17,
        dynamo=False,
    )
    with torch.no_grad():
        ref = model(*(torch.from_numpy(v) for v in inputs.values())).numpy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    err = float(np.abs(sess.run(None, inputs)[0] - ref).max())
    train = load_set(TRAIN_SETS, args.cache, context)
    # a subset of whole scenes (about 4M voxels) for the train-split numbers
    k = max(1, int(train["n_scenes"] * min(1.0, 4e6 / len(train["x"]))))
    keep = np.sort(np.random.default_rng(0).choice(train["n_scenes"], k, replace=False))
    sub = np.concatenate([np.arange(train["start"][s], train["start"][s + 1]) for s in keep])
    train_sub = {
        "x": train["x"][sub],
        "occ": train["occ"][sub],
        "dir": train["dir"][sub],
        "w": train["w"][sub],
        "scene": np.searchsorted(keep, train["scene"][sub]).astype(np.int32),
        "n_scenes": k,
        "start": np.cumsum([0] + [train["start"][s + 1] - train["start"][s] for s in keep]),
    }
    if context:
        train_sub["uv"] = train["uv"][sub]
        train_sub["maps"] = train["maps"][keep]
    meta = {
        "what": "learned hair occupancy and 3D growth direction per voxel of the hair volume; "
        "features and outputs in monoscan.hair.learned3d",
        "inputs": (
            f"features (1, N, {N_FEATURES}), uv (1, N, 2) crop px, maps (1, {N_CONTEXT_MAPS}, "
            f"{CONTEXT_SIZE}, {CONTEXT_SIZE}): monoscan.hair.learned3d"
            if context
            else f"(N, {N_FEATURES}) float32: monoscan.hair.learned3d.VolumeMaps.features"
        ),
        "outputs": "(N, 4) [(1, N, 4) with context]: occupancy logit, growth direction x, y, "
        "z (world frame; normalise)",
        "architecture": (
            "2D encoder 3 x (stride-2 conv, conv; 16/32/32 ch, BatchNorm, SiLU) sampled at the "
            f"voxel's crop column, + MLP {ck['depth']} x {ck['width']} SiLU"
            if context
            else f"MLP {ck['depth']} x {ck['width']} SiLU"
        ),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "onnx_bytes": onnx_path.stat().st_size,
        "onnx_vs_torch_max_abs": err,
        "threshold": ck["best_val"]["threshold"],
        "data": {
            "source": "monoscan synthetic corpus (monoscan.synth.scene.corpus_scene) rendered and "
            "run through monoscan.reconstruct (learned hair maps, ICT head, strands off); truth "
            "strands aligned by the H3DS protocol and voxelised on the prior's 4 mm grid",
            "prepare_commands": prepare_commands(args.cache),
            "licence": "procedural styles: ours; harolongo: Digital-Salon, MIT; USC-HairSalon "
            "styles: USC academic use (see monoscan.synth.catalogue)",
            "train_sets": list(TRAIN_SETS),
            "val_sets": list(VAL_SETS),
            "train_scenes": int(ck["n_train"]),
            "val_scenes": int(ck["n_val"]),
        },
        "training_commands": ck["commands"],
        "seed": ck["seed"],
        "steps": int(ck["step"]),
        "minutes_spent": round(ck["spent"] / 60.0, 1),
        "best_val": ck["best_val"],
        "train_subset": {k: v for k, v in evaluate(model, train_sub).items()},
        "val_metric": "voxel IoU over all candidate voxels (stratum-weighted), per scene, "
        "averaged; direction error on true hair voxels, degrees",
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if args.held_out:
        meta["held_out"] = json.loads(Path(args.held_out).read_text())
    if args.note:
        meta["note"] = args.note
    (args.out / "hair_volume.json").write_text(json.dumps(meta, indent=2) + "\n")
    size_kb = onnx_path.stat().st_size / 1e3
    print(f"exported {onnx_path} ({size_kb:.0f} kB), onnx vs torch {err:.1e}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--work", type=Path, default=REPO / ".work" / "hv")
    ap.add_argument("--out", type=Path, default=REPO / "src" / "monoscan" / "models")
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8192)
    ap.add_argument("--context", action="store_true", help="add the 2D context encoder")
    ap.add_argument("--scenes", type=int, default=8, help="scenes per batch (--context)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--dir-weight", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=30.0, help="total training wall time")
    ap.add_argument("--eval-minutes", type=float, default=3.0)
    ap.add_argument("--export", action="store_true", help="only export WORK/best.pt")
    ap.add_argument("--held-out", default=None, help="JSON of held-out numbers for the metadata")
    ap.add_argument("--note", default=None, help="how the model was made, for the metadata")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.export:
        export(args, args.work / "best.pt")
        return 0

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    command = "python scripts/train_hair_volume.py " + " ".join(
        shlex.quote(a) for a in (argv or sys.argv[1:])
    )
    t_load = time.time()
    train = load_set(TRAIN_SETS, args.cache, args.context)
    val = load_set(VAL_SETS, args.cache, args.context)
    print(
        f"data: {train['n_scenes']} train scenes ({len(train['x'])} voxels), "
        f"{val['n_scenes']} val ({time.time() - t_load:.0f} s)",
        flush=True,
    )
    model = build_model(args.width, args.depth, args.context)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-5)
    rng = np.random.default_rng(args.seed)
    last = args.work / "last.pt"
    state = {"step": 0, "spent": 0.0, "best": -math.inf, "best_val": None, "commands": []}
    if last.exists():
        ck = torch.load(last, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        state = {k: ck[k] for k in state}
        print(f"resumed at step {state['step']}, {state['spent'] / 60:.1f} min spent", flush=True)
    state["commands"] = [*state["commands"], command]
    budget = args.minutes * 60.0

    def save(path):
        ck = {
            "model": model.state_dict(),
            "opt": opt.state_dict(),
            "rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "width": args.width,
            "depth": args.depth,
            "context": args.context,
            "seed": args.seed,
            "n_train": train["n_scenes"],
            "n_val": val["n_scenes"],
            **state,
        }
        torch.save(ck, str(path) + ".tmp")
        Path(str(path) + ".tmp").replace(path)

    n = len(train["x"])
    t_eval = t_prev = time.time()
    acc = [0.0, 0.0, 0]
    model.train()
    while state["spent"] < budget:
        if args.context:
            scenes = rng.integers(0, train["n_scenes"], args.scenes)
            flip = rng.random(args.scenes) < 0.5
            x, uv, maps, occ, d, w = to_scene_batch(
                train, scenes, args.batch // args.scenes, rng, flip
            )
            out = model(x, uv, maps).reshape(-1, 4)
        else:
            idx = np.sort(rng.integers(0, n, args.batch))
            x, occ, d, w = to_batch(train, idx, rng.random(len(idx)) < 0.5)
            out = model(x)
        prog = min(state["spent"] / budget, 1.0)
        lr = args.lr * (
            min(1.0, (state["step"] + 1) / 200) * 0.5 * (1 + math.cos(math.pi * prog)) + 0.01
        )
        for g in opt.param_groups:
            g["lr"] = lr
        bce, l_dir = losses(out, occ, d, w)
        loss = bce + args.dir_weight * l_dir
        opt.zero_grad()
        loss.backward()
        opt.step()
        state["step"] += 1
        now = time.time()
        state["spent"] += now - t_prev
        t_prev = now
        acc[0] += bce.item()
        acc[1] += l_dir.item()
        acc[2] += 1
        if now - t_eval > args.eval_minutes * 60 or state["spent"] >= budget:
            res = evaluate(model, val)
            print(
                f"step {state['step']} {state['spent'] / 60:.1f} min lr {lr:.1e} "
                f"bce {acc[0] / acc[2]:.4f} dir {acc[1] / acc[2]:.4f} | val iou {res['iou']:.3f}"
                f" @{res['threshold']} dir {res['dir_deg']:.1f} deg",
                flush=True,
            )
            acc = [0.0, 0.0, 0]
            if res["iou"] > state["best"]:
                state["best"], state["best_val"] = res["iou"], res
                save(args.work / "best.pt")
            save(last)
            t_eval = t_prev = time.time()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
