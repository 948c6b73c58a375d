"""Silhouette IoU and closedness of the clothed parametric body on the fullbody photos.

Usage: ``python scripts/measure_clothed_body.py [--renders DIR] [PHOTO ...]`` (default: every
photo of ``../shared/data/fullbody``). For each photo: the silhouette IoU against the person
mask the body was made from (and against ``<stem>_mask.png`` where one exists) of the clothed
body (``monoscan body --model parametric``'s ``body.obj``) and of today's silhouette body
(the default ``body.obj``); watertight, winding, volume; seconds. ``--renders`` writes front,
left and back views of both (clothed on top) as ``<stem>_views.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fullbody"


def main() -> None:
    from PIL import Image

    from monoscan.body.clothed import clothed_body
    from monoscan.body.fit import fit_reconstruction
    from monoscan.body.mesh import world_to_photo
    from monoscan.body.reconstruct import reconstruct_body
    from monoscan.io.images import load_image
    from monoscan.render.preview import render_mesh
    from monoscan.render.raster import rasterize

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", nargs="*", type=Path)
    ap.add_argument("--renders", type=Path, default=None)
    args = ap.parse_args()
    photos = args.photos or sorted(
        p for p in DATA.glob("*") if p.suffix in (".jpg", ".png") and "_mask" not in p.stem
    )
    for path in photos:
        rgb = load_image(path).rgb
        result = reconstruct_body(rgb)
        naked = fit_reconstruction(result)
        c = clothed_body(naked, result, rgb if result.map_scale == 1.0 else None)
        s, o = result.scale / result.map_scale, result.origin_px * result.map_scale

        def sil(mesh, shape, s=s, o=o):
            p = world_to_photo(mesh.vertices, s, o)
            depth, _, _ = rasterize(p[:, :2], p[:, 2], mesh.faces, shape)
            return np.isfinite(depth)

        def iou(a, b):
            return float((a & b).sum() / (a | b).sum())

        m = c.mesh
        used = result.mask
        line = (
            f"{path.stem}: IoU vs mask used clothed {iou(sil(m, used.shape), used):.4f}"
            f" (today {iou(sil(result.mesh, used.shape), used):.4f})"
        )
        gt_path = path.with_name(path.stem + "_mask.png")
        if gt_path.exists() and result.map_scale == 1.0:
            gt = np.asarray(Image.open(gt_path).convert("L")) > 127
            line += (
                f", vs true mask clothed {iou(sil(m, gt.shape), gt):.4f}"
                f" (today {iou(sil(result.mesh, gt.shape), gt):.4f})"
            )
        line += (
            f"; watertight {m.is_watertight}, winding {m.is_winding_consistent}, "
            f"volume {m.volume:.3f} m^3 (today {result.mesh.volume:.3f}), {c.seconds:.1f} s"
        )
        print(line, flush=True)
        if args.renders is not None:
            rows = []
            for mesh in (m, result.mesh):
                col = np.asarray(mesh.visual.vertex_colors)[:, :3]
                views = [
                    render_mesh(
                        mesh.vertices, mesh.faces, v, 384, colors=col if v == "front" else None
                    )
                    for v in ("front", "left", "back")
                ]
                rows.append(np.concatenate(views, 1))
            args.renders.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.concatenate(rows, 0)).save(args.renders / f"{path.stem}_views.png")


if __name__ == "__main__":
    main()
