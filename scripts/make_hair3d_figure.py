"""docs/hair3d_turntable.png: the 3D hair of six portraits, front / three-quarter / side / back.

    python scripts/make_hair3d_figure.py [--data ../shared/data] [--hair-model learned|prior]

One row per portrait of ../shared/data/portraits (short dark, curly, short tied back, bangs,
long straight dark, long blond): the strands in their colours over the head drawn grey, from
the front, three-quarter (35 deg), the side and the back; the last column is the 2D strand
map the strands grew from. No photo is reproduced (most are licensed for non-commercial
research only); the strands' colours are taken from them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

import monoscan
from monoscan.io.images import save_png
from monoscan.pipeline.options import Options
from monoscan.render.preview import render_strands

REPO = Path(__file__).resolve().parents[1]
#: (file, what its hair is)
PORTRAITS = (
    ("3ddfav2__JianzhuGuo.jpg", "short, dark"),
    ("deep3dfacerecon__000006.jpg", "curly"),
    ("skimage__astronaut.png", "short, tied back"),
    ("deca__exp_5.jpg", "bangs"),
    ("tfflame__imgHQ00088.jpeg", "long straight, dark"),
    ("hairstep__Adrianne-Palicki-06_2880x1800.png", "long, blond"),
)
VIEWS = (0.0, 35.0, 90.0, 180.0)


def row(photo: Path, hair_model: str, side: int = 256) -> np.ndarray:
    r = monoscan.reconstruct(photo, Options(formats=(), hair_model=hair_model))
    centre = r.head.vertices.mean(0) - np.array([0, 0.06, 0])
    tiles = [
        render_strands(r.strands, yaw, side, head=r.head, centre=centre, extent_m=0.5)
        for yaw in VIEWS
    ]
    tiles.append(cv2.resize(r.hair.strand_map, (side, side), interpolation=cv2.INTER_AREA))
    return np.hstack(tiles)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--hair-model", choices=("learned", "prior"), default="learned")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "hair3d_turntable.png")
    args = ap.parse_args()
    rows = []
    for name, what in PORTRAITS:
        path = args.data / "portraits" / name
        if path.exists():
            print(f"{name}: {what}", flush=True)
            rows.append(row(path, args.hair_model))
    save_png(args.out, np.vstack(rows))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
