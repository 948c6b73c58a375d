"""Regenerate the README figures under docs/ from permissively licensed photos.

    python scripts/make_readme_figures.py [--data ../shared/data]

Photos: scikit-image's astronaut (public domain) and two MIT-licensed examples from
../shared/data/portraits (Deep3DFaceRecon_pytorch 000006.jpg, 3DDFA_V2 JianzhuGuo.jpg).
Writes docs/hair2d.png (crop | parsing | strand map | depth), docs/head_views.png (textured
head, front/side/back/three-quarter) and docs/strands_views.png (strands over the head).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from skimage import data

import monoscan
from monoscan.hair._preview import render_strands
from monoscan.hair.depth import hair_depth_vis
from monoscan.head._preview import render
from monoscan.io.images import save_png
from monoscan.perception.parsing import parsing_vis

DOCS = Path(__file__).resolve().parents[1] / "docs"


def small(img: np.ndarray, side: int = 256) -> np.ndarray:
    return cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    args = ap.parse_args()
    photos = [("astronaut", data.astronaut())]
    for name in ("deep3dfacerecon__000006.jpg", "3ddfav2__JianzhuGuo.jpg"):
        path = Path(args.data) / "portraits" / name
        if path.exists():
            photos.append((name, path))
    rows, heads, hair3d = [], [], []
    for _, photo in photos:
        r = monoscan.reconstruct(photo)
        h = r.hair
        rows.append(np.hstack([small(r.crop.image), small(parsing_vis(h.parsing, r.crop.image)),
                               small(h.strand_map), small(hair_depth_vis(h.depth, h.hair_mask))]))
        hd = r.head
        heads.append(np.hstack([render(hd.vertices, hd.faces, v, 256, uv=hd.uv,
                                       texture=hd.texture) for v in
                                ("front", "three_quarter", "left", "back")]))
        centre = hd.vertices.mean(0) - np.array([0, 0.05, 0])
        hair3d.append(np.hstack([render_strands(r.strands, v, 256, head=hd, centre=centre,
                                                extent_m=0.45) for v in
                                 ("front", "side", "back")]))
    DOCS.mkdir(exist_ok=True)
    save_png(DOCS / "hair2d.png", np.vstack(rows))
    save_png(DOCS / "head_views.png", np.vstack(heads))
    save_png(DOCS / "strands_views.png", np.vstack(hair3d))
    print("wrote", *(DOCS / n for n in ("hair2d.png", "head_views.png", "strands_views.png")))


if __name__ == "__main__":
    main()
