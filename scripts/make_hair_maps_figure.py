"""README figure: real photos, their prior and learned strand maps and hair depths.

For each photo: the 512 HairStep crop | strand map from the priors | strand map from the
learned network | hair depth from the priors | hair depth from the network (both drawn with
:func:`monoscan.hair.depth.hair_depth_vis`). Both models run on the same pipeline inputs::

    python scripts/make_hair_maps_figure.py --out docs/hair_maps_learned.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

#: Only photos whose licence lets the repository carry them (public domain, MIT); the other
#: portraits of ../shared/data (research-only or non-commercial) were looked at the same way
#: (``--names``, output outside the repository) but are not reproduced here.
PHOTOS = (
    "skimage__astronaut.png",
    "deep3dfacerecon__000006.jpg",
    "3ddfav2__JianzhuGuo.jpg",
)


def panels(path: Path, tile: int) -> list[np.ndarray]:
    import monoscan
    from monoscan.hair.depth import hair_depth_vis
    from monoscan.hair.learned import learned_hair_maps
    from monoscan.io.maps import encode_strand_map
    from monoscan.pipeline.options import Options

    rec = monoscan.reconstruct(
        str(path), Options(head=False, occlusion=False, strands=0, formats=(), hair_model="prior")
    )
    h = rec.hair
    body = (h.parsing != 0) & (h.parsing != 3)
    lm = learned_hair_maps(h.hair_mask, h.orientation, h.confidence, h.face_depth_m, body)
    out = [
        rec.crop.image,
        h.strand_map,
        encode_strand_map(lm.direction, h.hair_mask, body),
        hair_depth_vis(h.depth, h.hair_mask),
        hair_depth_vis(lm.depth, h.hair_mask),
    ]
    return [
        cv2.resize(np.asarray(p)[..., :3], (tile, tile), interpolation=cv2.INTER_AREA) for p in out
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=Path, default=REPO.parent / "shared" / "data" / "portraits")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "hair_maps_learned.png")
    ap.add_argument("--tile", type=int, default=192)
    ap.add_argument("--names", nargs="+", default=list(PHOTOS), help="photos under --photos")
    args = ap.parse_args(argv)
    rows = []
    for name in args.names:
        tiles = panels(args.photos / name, args.tile)
        rows.append(
            np.concatenate(
                [np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=255) for t in tiles], 1
            )
        )
        print(name, flush=True)
    img = np.concatenate(rows, 0)
    cv2.imwrite(str(args.out), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} {img.shape[1]}x{img.shape[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
