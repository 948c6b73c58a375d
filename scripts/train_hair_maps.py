"""Train the learned hair maps (growth direction and hair depth) and export them to ONNX.

Data: the cache of ``scripts/prepare_hair_maps_data.py`` (renders of the synthetic corpus run
through the product's own pipeline; inputs of :func:`monoscan.hair.learned.hair_map_inputs`,
truth in the same 512 crop). CPU, fixed seeds, resumable::

    nice -n 10 python scripts/train_hair_maps.py --size 128 --minutes 43

trains until the wall-time budget ``--minutes`` (summed over restarts) is spent; stopped and
started again with the same command it continues from ``WORK/last.pt`` (model, optimiser,
step, spent time, random state). Every ``--eval-minutes`` it scores the validation styles
(HairSale in degrees and the depth order of random hair pixel pairs, at the network's size)
and keeps the best checkpoint (``WORK/best.pt``). ``--export`` writes the best checkpoint to
``OUT/hair_maps.onnx`` and ``OUT/hair_maps.json`` (architecture, inputs, every command that
trained it, the corpus seeds, held-out numbers).

The shipped model: 43 minutes on the first 1,200 train seeds (``--n 1200``, 1,098 renders),
then the corpus grown to ``--n 2400`` (2,296 renders) and the same run continued with
``--minutes 85`` (its learning rate restarts at the cosine's value for 40 of 85 minutes).

Network: a small U-Net (a light full-resolution stem and head around a 5-level U-Net from
1/2 to 1/32 of the input, BatchNorm + ReLU) on a 128 x 128 input (a quarter of the crop's
side: six times cheaper to train on two CPU cores than 256), 9 input channels, 3
outputs (growth direction x, y; world z of the hair in decimetres). Losses over pixels of
both the predicted and the true hair mask: ``1 - cos`` between the predicted and the true
direction (weighted by how coherent the true direction is inside the pixel), and the
shift-invariant squared error of the depth plus 0.1 x its absolute error. Augmentation: mirror
(x -> -x). AdamW, cosine learning rate over the time budget.

Needs torch (``pip install -e .[train]``).
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

from monoscan.hair.learned import DEPTH_SCALE_M, N_INPUTS, hair_map_inputs  # noqa: E402

CACHE = REPO / ".work" / "hm" / "cache"
TRAIN_SETS = ("train_mixed",)
VAL_SETS = ("val_frontal",)


# ----------------------------------------------------------------------------- data


def load_scene(path: Path, size: int) -> dict:
    """One cached scene at the network's size: inputs, target direction, depth, weights."""
    import cv2

    z = np.load(path)
    mask = z["mask"]
    x = hair_map_inputs(
        mask,
        z["orientation"].astype(np.float32),
        z["confidence"].astype(np.float32),
        z["face_depth_m"].astype(np.float32),
        z["body"],
        size,
    )
    gt_mask = z["gt_mask"]
    gdir = z["gt_direction"].astype(np.float32) * gt_mask[..., None]
    gz = z["gt_depth_m"].astype(np.float32)
    valid = gt_mask & mask & np.isfinite(gz)

    def area(a):
        return cv2.resize(a.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)

    d = np.stack([area(gdir[..., 0]), area(gdir[..., 1])])
    coherence = np.linalg.norm(d, axis=0)
    d = d / np.maximum(coherence, 1e-6)
    frac = area(valid)
    zsum = area(np.where(valid, gz, 0.0))
    depth = np.where(frac > 0, zsum / np.maximum(frac, 1e-6), 0.0) / DEPTH_SCALE_M
    w_dir = np.where(frac > 0.5, np.clip(coherence, 0, 1), 0.0)
    w_depth = (frac > 0.5).astype(np.float32)
    return {
        "x": x.astype(np.float16),
        "dir": d.astype(np.float16),
        "depth": depth.astype(np.float32),
        "w_dir": w_dir.astype(np.float16),
        "w_depth": w_depth.astype(np.float16),
    }


def load_set(names, size: int, cache: Path, work: Path) -> dict:
    """All scenes of the named cache folders, stacked (and saved to ``WORK`` for restarts)."""
    files = sorted(p for n in names for p in (cache / n).glob("*.npz") if ".tmp" not in p.name)
    key = work / f"data_{'+'.join(names)}_{size}_{len(files)}.npz"
    if key.exists():
        z = np.load(key)
        return {k: z[k] for k in z.files}
    rows = [load_scene(p, size) for p in files]
    out = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    out["seeds"] = np.array([int(p.stem) for p in files])
    np.savez(key, **out)
    return out


# ----------------------------------------------------------------------------- model


def build_model(widths=(16, 32, 48, 64, 96, 128)):
    import torch
    from torch import nn

    def block(cin, cout):
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    class UNet(nn.Module):
        """Full resolution only in a light stem and a light head; the U-Net runs from 1/2."""

        def __init__(self):
            super().__init__()
            w0 = widths[0]
            self.stem = nn.Sequential(nn.Conv2d(N_INPUTS, w0, 3, padding=1), nn.ReLU(inplace=True))
            self.down = nn.ModuleList()
            cin = w0
            for w in widths[1:]:
                self.down.append(block(cin, w))
                cin = w
            self.up = nn.ModuleList()
            for w_skip, w in zip(reversed(widths[1:-1]), reversed(widths[2:]), strict=True):
                self.up.append(block(w + w_skip, w_skip))
            self.fuse = nn.Sequential(nn.Conv2d(widths[1] + w0, w0, 1), nn.ReLU(inplace=True))
            self.head = nn.Conv2d(w0, 3, 3, padding=1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            x0 = self.stem(x)
            x = x0
            skips = []
            for b in self.down:
                x = b(self.pool(x))
                skips.append(x)
            skips.pop()
            for b in self.up:
                s = skips.pop()
                x = nn.functional.interpolate(
                    x, scale_factor=2.0, mode="bilinear", align_corners=False
                )
                x = b(torch.cat([x, s], 1))
            x = nn.functional.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            return self.head(self.fuse(torch.cat([x, x0], 1)))

    return UNet()


def losses(out, batch):
    import torch

    d = out[:, :2]
    d = d / torch.clamp(d.norm(dim=1, keepdim=True), min=1e-6)
    wd = batch["w_dir"]
    cos = (d * batch["dir"]).sum(1)
    l_dir = ((1 - cos) * wd).sum() / torch.clamp(wd.sum(), min=1.0)
    wz = batch["w_depth"]
    n = torch.clamp(wz.sum((1, 2)), min=1.0)
    diff = (out[:, 2] - batch["depth"]) * wz
    mean = diff.sum((1, 2)) / n
    si = (((diff - mean[:, None, None]) * wz) ** 2).sum((1, 2)) / n
    absl = diff.abs().sum((1, 2)) / n
    has = (wz.sum((1, 2)) > 0).float()
    l_depth = ((si * 10.0 + 0.1 * absl) * has).sum() / torch.clamp(has.sum(), min=1.0)
    return l_dir, l_depth


def to_batch(data, idx, flip=None):
    import torch

    b = {
        k: torch.from_numpy(data[k][idx].astype(np.float32))
        for k in ("x", "dir", "depth", "w_dir", "w_depth")
    }
    if flip is not None and flip.any():
        f = torch.from_numpy(flip)
        for k in b:
            b[k][f] = torch.flip(b[k][f], dims=[-1])
        # mirrored: sin 2t -> -sin 2t, x coordinate -> -x, direction x -> -x
        b["x"][f, 2] *= -1
        b["x"][f, 7] *= -1
        b["dir"][f, 0] *= -1
    return b


def evaluate(model, data, batch=16) -> dict:
    """HairSale (deg) and depth pair order (%) at the network's size on a cached set."""
    import torch

    model.eval()
    rng = np.random.default_rng(0)
    ang, wsum, order = 0.0, 0.0, []
    with torch.no_grad():
        for i in range(0, len(data["x"]), batch):
            idx = np.arange(i, min(i + batch, len(data["x"])))
            b = to_batch(data, idx)
            out = model(b["x"]).numpy()
            for j in range(len(idx)):
                d = out[j, :2] / np.maximum(np.linalg.norm(out[j, :2], axis=0), 1e-6)
                w = b["w_dir"][j].numpy()
                cos = np.clip((d * b["dir"][j].numpy()).sum(0), -1, 1)
                ang += float((np.degrees(np.arccos(cos)) * w).sum())
                wsum += float(w.sum())
                ys, xs = np.nonzero(b["w_depth"][j].numpy() > 0)
                if len(ys) > 10:
                    a, c = rng.integers(len(ys), size=(2, 2000))
                    g = b["depth"][j].numpy()
                    dz = g[ys[a], xs[a]] - g[ys[c], xs[c]]
                    ok = np.abs(dz) > 0.05
                    p = out[j, 2][ys[a], xs[a]] - out[j, 2][ys[c], xs[c]]
                    if ok.any():
                        order.append(float((np.sign(p[ok]) == np.sign(dz[ok])).mean() * 100))
    model.train()
    sale = ang / max(wsum, 1e-6)
    ordinal = float(np.mean(order)) if order else 0.0
    return {"sale_deg": sale, "ordinal_pct": ordinal, "score": sale + 0.5 * (100 - ordinal)}


# ----------------------------------------------------------------------------- export


def export_onnx(model, size: int, path: Path) -> None:
    import torch

    model.eval()
    x = torch.zeros(1, N_INPUTS, size, size)
    torch.onnx.export(
        model,
        x,
        str(path),
        input_names=["inputs"],
        output_names=["maps"],
        dynamic_axes={"inputs": {0: "n"}, "maps": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )


def export(args, ckpt_path: Path) -> None:
    import torch

    ck = torch.load(ckpt_path, weights_only=False)
    model = build_model(tuple(ck["widths"]))
    model.load_state_dict(ck["model"])
    onnx_path = args.out / "hair_maps.onnx"
    export_onnx(model, ck["size"], onnx_path)
    # Check ONNX Runtime against torch on a validation scene.
    import onnxruntime as ort

    val = load_set(VAL_SETS, ck["size"], args.cache, args.work)
    x = val["x"][:2].astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"inputs": x})[0]
    err = float(np.abs(got - ref).max())
    n_params = sum(p.numel() for p in model.parameters())
    meta = {
        "what": "learned hair growth direction (root to tip) and hair depth on the 512 HairStep "
        "crop; inputs and outputs in monoscan.hair.learned",
        "input_size": ck["size"],
        "inputs": "monoscan.hair.learned.hair_map_inputs: hair mask, cos 2t, sin 2t, Gabor "
        "confidence (our Gabor on the image), face region, face depth (dm), body, x, y",
        "outputs": "(N, 3, S, S): growth direction x, y (normalise), world z of the hair in dm",
        "architecture": f"U-Net widths {list(ck['widths'])}, BatchNorm + ReLU, bilinear upsampling",
        "parameters": int(n_params),
        "onnx_bytes": onnx_path.stat().st_size,
        "onnx_vs_torch_max_abs": err,
        "data": {
            "source": "monoscan synthetic corpus (monoscan.synth.scene.corpus_scene) rendered and "
            "run through monoscan.reconstruct (head, occlusion, strands off); our own "
            "procedural hair, USC-HairSalon (densified) and harolongo styles",
            "prepare_commands": ck.get("prepare_commands", PREPARE_COMMANDS),
            "licence": "procedural styles: ours; harolongo: Digital-Salon, MIT; USC-HairSalon "
            "styles: USC academic use (see monoscan.synth.catalogue)",
            "train_sets": list(TRAIN_SETS),
            "val_sets": list(VAL_SETS),
            "train_scenes": int(ck.get("n_train", 0)),
            "val_scenes": int(ck.get("n_val", 0)),
        },
        "training_commands": ck["commands"],
        "seed": ck["seed"],
        "steps": int(ck["step"]),
        "minutes_spent": round(ck["spent"] / 60.0, 1),
        "best_val": ck.get("best_val"),
        "val_metric": "at the network's size, val styles (frontal): HairSale deg over both masks, "
        "order of random hair pixel pairs (> 5 mm apart in depth), %",
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if args.held_out:
        meta["held_out"] = json.loads(Path(args.held_out).read_text())
    if args.note:
        meta["note"] = args.note
    (args.out / "hair_maps.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(
        f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.2f} MB), onnx vs torch {err:.2e}"
    )


PREPARE_COMMANDS = [
    "nice -n 10 python scripts/prepare_hair_maps_data.py --workers 2 --split val --seed 200000 "
    "--n 60 --views frontal",
    "nice -n 10 python scripts/prepare_hair_maps_data.py --workers 2 --split train --seed 100000 "
    "--n 2400 --views mixed",
]


# ----------------------------------------------------------------------------- training


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--work", type=Path, default=REPO / ".work" / "hm")
    ap.add_argument("--out", type=Path, default=REPO / "src" / "monoscan" / "models")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=50.0, help="total training wall time")
    ap.add_argument("--eval-minutes", type=float, default=5.0)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (smoke)")
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
    command = "python scripts/train_hair_maps.py " + " ".join(
        shlex.quote(a) for a in (argv or sys.argv[1:])
    )
    t_load = time.time()
    train = load_set(TRAIN_SETS, args.size, args.cache, args.work)
    val = load_set(VAL_SETS, args.size, args.cache, args.work)
    print(
        f"data: {len(train['x'])} train, {len(val['x'])} val scenes ({time.time() - t_load:.0f} s)",
        flush=True,
    )
    widths = (16, 32, 48, 64, 96, 128)
    model = build_model(widths)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    rng = np.random.default_rng(args.seed)
    last = args.work / "last.pt"
    state = {"step": 0, "spent": 0.0, "best": math.inf, "best_val": None, "commands": []}
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

    def save(path, extra=None):
        ck = {
            "model": model.state_dict(),
            "opt": opt.state_dict(),
            "rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "widths": widths,
            "size": args.size,
            "seed": args.seed,
            "n_train": len(train["x"]),
            "n_val": len(val["x"]),
            "prepare_commands": PREPARE_COMMANDS,
            **state,
            **(extra or {}),
        }
        torch.save(ck, str(path) + ".tmp")
        Path(str(path) + ".tmp").replace(path)

    n = len(train["x"])
    order = rng.permutation(n)
    pos = 0
    t_eval = time.time()
    t_prev = time.time()
    acc = [0.0, 0.0, 0]  # direction loss, depth loss, steps since the last print
    run_steps = 0
    model.train()
    while state["spent"] < budget:
        if args.max_steps and run_steps >= args.max_steps:
            break
        if pos + args.batch > n:
            order, pos = rng.permutation(n), 0
        idx = np.sort(order[pos : pos + args.batch])
        pos += args.batch
        flip = rng.random(len(idx)) < 0.5
        b = to_batch(train, idx, flip)
        prog = min(state["spent"] / budget, 1.0)
        lr = args.lr * (
            min(1.0, (state["step"] + 1) / 200) * (0.5 * (1 + math.cos(math.pi * prog))) + 0.01
        )
        for g in opt.param_groups:
            g["lr"] = lr
        out = model(b["x"])
        l_dir, l_depth = losses(out, b)
        loss = l_dir + l_depth
        opt.zero_grad()
        loss.backward()
        opt.step()
        state["step"] += 1
        now = time.time()
        state["spent"] += now - t_prev
        t_prev = now
        run_steps += 1
        acc = [acc[0] + l_dir.item(), acc[1] + l_depth.item(), acc[2] + 1]
        if state["step"] % 50 == 0:
            print(
                f"step {state['step']} {state['spent'] / 60:.1f} min lr {lr:.2e} "
                f"dir {acc[0] / acc[2]:.4f} depth {acc[1] / acc[2]:.4f}",
                flush=True,
            )
            acc = [0.0, 0.0, 0]
        done = state["spent"] >= budget or (args.max_steps and run_steps >= args.max_steps)
        if now - t_eval > args.eval_minutes * 60 or done:
            v = evaluate(model, val)
            print(f"val step {state['step']}: {v}", flush=True)
            if v["score"] < state["best"]:
                state["best"], state["best_val"] = v["score"], v
                save(args.work / "best.pt")
            save(last)
            t_eval = time.time()
            t_prev = time.time()  # evaluation time is not training time
    save(last)
    print(f"finished: step {state['step']}, best {state['best_val']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
