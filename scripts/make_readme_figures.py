"""Regenerate the README figures under docs/ from permissively licensed photos.

    python scripts/make_readme_figures.py [--data ../shared/data]

Photos: scikit-image's astronaut (public domain) and two MIT-licensed examples from
../shared/data/portraits (Deep3DFaceRecon_pytorch 000006.jpg, 3DDFA_V2 JianzhuGuo.jpg).
Writes docs/hair2d.png (crop | parsing | strand map | depth), docs/head_views.png (textured
head, front/side/back/three-quarter) and docs/strands_views.png (strands over the head).

    python scripts/make_readme_figures.py --only synth

writes docs/synth_scenes.png: synthetic scenes 0-3 of ``monoscan bench`` (the image, its true
strands from the side) next to monoscan's reconstruction from that image (front and side).

    python scripts/make_readme_figures.py --only body

writes docs/body_views.png: the body from every photo of ../shared/data/fullbody, front, side
and back, the default (silhouette) body beside the clothed parametric one. The geometry is
shown grey and no photo is reproduced (most of those photos are licensed for non-commercial
research only).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import trimesh
from skimage import data

import monoscan
from monoscan.hair.depth import hair_depth_vis
from monoscan.io.images import save_png
from monoscan.perception.parsing import parsing_vis
from monoscan.render.preview import render_mesh, render_strands

DOCS = Path(__file__).resolve().parents[1] / "docs"


def small(img: np.ndarray, side: int = 256) -> np.ndarray:
    return cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    ap.add_argument("--only", choices=("portraits", "body", "synth"), default=None)
    args = ap.parse_args()
    DOCS.mkdir(exist_ok=True)
    if args.only in (None, "body"):
        body_views(Path(args.data) / "fullbody")
    if args.only in (None, "synth"):
        synth_scenes()
    if args.only in (None, "portraits"):
        portrait_figures(Path(args.data))


def synth_scenes(seeds=range(4)) -> None:
    """docs/synth_scenes.png: per row, scene image | true strands (side) | ours front | side."""
    import tempfile

    from monoscan.render.scene import render_result
    from monoscan.synth.generate import generate_scene

    rows = []
    for seed in seeds:
        scene = generate_scene(seed)
        recon = monoscan.reconstruct(scene.image)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(monoscan.write_outputs(recon, tmp)).parent
            ours = [render_result(folder, yaw, size=256) for yaw in (0.0, 90.0)]
        head = trimesh.Trimesh(scene.head_vertices, scene.head_faces, process=False)
        truth = render_strands(
            scene.strands,
            "other_side",
            256,
            head=head,
            extent_m=0.45,
            centre=head.vertices.mean(0) - np.array([0, 0.05, 0]),
        )
        rows.append(np.hstack([small(scene.image), truth, *ours]))
    save_png(DOCS / "synth_scenes.png", np.vstack(rows))
    print("wrote", DOCS / "synth_scenes.png")


def body_views(folder: Path) -> None:
    """docs/body_views.png: one row per full-body photo, front, side and back of the default
    (silhouette) body, then of the clothed parametric body (``--model parametric``)."""
    import tempfile

    from monoscan.body.reconstruct import reconstruct_body
    from monoscan.io.images import load_image
    from monoscan.pipeline.body import run_body

    def views(mesh) -> list[np.ndarray]:
        return [render_mesh(mesh.vertices, mesh.faces, v, 256) for v in ("front", "left", "back")]

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(
            p
            for p in folder.iterdir()
            if p.suffix in (".jpg", ".png") and not p.stem.endswith("_mask")
        ):
            silhouette = reconstruct_body(load_image(path).rgb).mesh
            parametric, _ = run_body(path, tmp, model="parametric")
            gap = np.full((256, 16, 3), 255, np.uint8)
            rows.append(np.hstack([*views(silhouette), gap, *views(parametric.mesh)]))
    save_png(DOCS / "body_views.png", np.vstack(rows))
    print("wrote", DOCS / "body_views.png")


def with_eyes(vertices, faces, colours, eyes):
    """One vertex-coloured mesh of a head and its eyeballs (for render_mesh)."""
    v, f, c = [vertices], [faces], [colours]
    n = len(vertices)
    for eye in eyes:
        v.append(eye.vertices)
        f.append(eye.faces + n)
        c.append(eye.vertex_colors)
        n += len(eye.vertices)
    return np.concatenate(v), np.concatenate(f), np.concatenate(c)


#: Expression weights shown in docs/head_expressions.png (ICT / ARKit names).
EXPRESSION_DEMOS = (
    {"jawOpen": 0.6, "mouthFunnel": 0.3},
    {"mouthSmile_L": 1.0, "mouthSmile_R": 1.0, "cheekSquint_L": 0.5, "cheekSquint_R": 0.5},
    {"eyeBlink_L": 1.0, "eyeBlink_R": 1.0, "browDown_L": 0.6, "browDown_R": 0.6},
)


def expression_row(recon) -> np.ndarray:
    """The photo's crop | its head (photo's expression) | neutral | three set expressions,
    the last four from the blend shapes of ``--blendshapes``, seen at three-quarter view."""
    from monoscan.head.ict_head import expression_rig

    rig = expression_rig(recon.head)
    names = list(rig.names)
    tiles = [small(recon.crop.image)]
    weights = [rig.weights, np.zeros(len(names))]
    for demo in EXPRESSION_DEMOS:
        w = np.zeros(len(names))
        for name, value in demo.items():
            w[names.index(name)] = value
        weights.append(w)
    for w in weights:
        shape = rig.vertices + np.tensordot(w, rig.offsets, axes=1)
        v, f, c = with_eyes(shape, rig.faces, rig.vertex_colors, recon.head.eyes)
        tiles.append(render_mesh(v, f, 20.0, 256, colors=c))
    return np.hstack(tiles)


def portrait_figures(data_dir: Path) -> None:
    photos = [("astronaut", data.astronaut())]
    for name in ("deep3dfacerecon__000006.jpg", "3ddfav2__JianzhuGuo.jpg"):
        path = data_dir / "portraits" / name
        if path.exists():
            photos.append((name, path))
    rows, heads, hair3d, expressions = [], [], [], []
    for _, photo in photos:
        r = monoscan.reconstruct(photo)
        h = r.hair
        rows.append(
            np.hstack(
                [
                    small(r.crop.image),
                    small(parsing_vis(h.parsing, r.crop.image)),
                    small(h.strand_map),
                    small(hair_depth_vis(h.depth, h.hair_mask)),
                ]
            )
        )
        hd = r.head
        v, f, c = with_eyes(hd.vertices, hd.faces, hd.vertex_colors, hd.eyes)
        heads.append(
            np.hstack(
                [
                    render_mesh(v, f, view, 256, colors=c)
                    for view in ("front", "three_quarter", "left", "back")
                ]
            )
        )
        expressions.append(expression_row(r))
        centre = hd.vertices.mean(0) - np.array([0, 0.05, 0])
        hair3d.append(
            np.hstack(
                [
                    render_strands(r.strands, v, 256, head=hd, centre=centre, extent_m=0.45)
                    for v in ("front", "side", "back")
                ]
            )
        )
    save_png(DOCS / "hair2d.png", np.vstack(rows))
    save_png(DOCS / "head_views.png", np.vstack(heads))
    save_png(DOCS / "head_expressions.png", np.vstack(expressions))
    save_png(DOCS / "strands_views.png", np.vstack(hair3d))
    names = ("hair2d.png", "head_views.png", "head_expressions.png", "strands_views.png")
    print("wrote", *(DOCS / n for n in names))


if __name__ == "__main__":
    main()
