"""The CPU renderer: camera maths, exact maps of simple scenes, re-rendering result folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from monoscan.cli import main
from monoscan.core.errors import InputError
from monoscan.core.strands import Strands
from monoscan.io.images import load_image
from monoscan.io.meshes import save_mesh
from monoscan.io.strands import write_strands
from monoscan.render.scene import (
    Light,
    MeshLayer,
    StrandLayer,
    View,
    look_at,
    render,
    render_result,
    turntable,
)


def test_projection_by_hand():
    ortho = View("orthographic", 100, 80, 200.0, 49.5, 39.5)
    uv, z = ortho.project(np.array([[0.1, 0.05, -0.3]]))
    assert np.allclose(uv, [[49.5 + 20.0, 39.5 - 10.0]]) and np.isclose(z[0], -0.3)
    persp = View("perspective", 100, 80, 500.0, 50.0, 40.0, translation=[0.0, 0.0, -2.0])
    uv, z = persp.project(np.array([[0.2, -0.1, 0.0]]))
    assert np.allclose(uv, [[50.0 + 500 * 0.2 / 2.0, 40.0 + 500 * 0.1 / 2.0]])
    assert np.isclose(z[0], -2.0)
    assert np.allclose(persp.centre, [0.0, 0.0, 2.0])
    assert View.from_json(persp.to_json()).to_json() == persp.to_json()
    rot, t = look_at([0.0, 0.0, 3.0], [0.0, 0.0, 0.0])
    assert np.allclose(rot, np.eye(3)) and np.allclose(t, [0.0, 0.0, -3.0])
    with pytest.raises(InputError, match="orthographic or perspective"):
        View("fisheye", 10, 10, 1.0, 0.0, 0.0)


def test_a_square_and_one_strand():
    view = View("orthographic", 64, 64, 100.0, 31.5, 31.5, translation=[0, 0, -1])
    # A square 0.2 m wide at z = 0 facing the camera: 20 px wide.
    v = np.array([[-0.1, -0.1, 0], [0.1, -0.1, 0], [0.1, 0.1, 0], [-0.1, 0.1, 0]])
    sq = MeshLayer(
        v,
        np.array([[0, 1, 2], [0, 2, 3]]),
        colors=np.full((4, 3), 0.5),
        labels=np.full(4, 2, np.uint8),
    )
    # A horizontal strand in front of it, growing toward +x (image right), at y = 0.053.
    pts = np.array([[-0.25, 0.053, 0.01], [0.25, 0.053, 0.01]])
    strand = StrandLayer(pts, np.array([2]), np.array([[0.1, 0.05, 0.02]]))
    r = render(
        view,
        [sq],
        strand,
        lights=[Light([0, 0, 1], [1, 1, 1])],
        ambient=(0, 0, 0),
        background=np.zeros((64, 64, 3)),
        skin_occlusion=0.0,
    )
    covered = r.mesh_face >= 0
    assert 18 * 18 <= covered.sum() <= 22 * 22
    assert np.all(r.labels[covered] == 2) and np.all(r.labels[~covered] == 0)
    # Lambert with the light along the normal: albedo 0.5 -> ~128 (plus a faint highlight).
    assert 120 <= r.image[40, 31, 0] <= 150
    row = 26  # 31.5 - 5.3, nearest pixel centre
    assert np.array_equal(np.flatnonzero(r.hair_mask.any(axis=1)), [row])
    cols = np.flatnonzero(r.hair_mask[row])
    assert cols.min() <= 7 and cols.max() >= 56
    assert np.allclose(r.hair_direction[row, cols], [1.0, 0.0])
    assert np.allclose(r.hair_z[row, cols], 0.01, atol=1e-6)
    # Behind the square, the same strand is hidden where the square covers it.
    behind = StrandLayer(pts - [0, 0, 0.02], np.array([2]), np.array([[0.1, 0.05, 0.02]]))
    r2 = render(view, [sq], behind)
    assert not r2.hair_mask[row, 25:38].any() and r2.hair_mask[row, :10].any()


def _result_folder(root: Path) -> Path:
    """A minimal monoscan result folder: a textured, asymmetric face.obj and strands.data."""
    root.mkdir(parents=True, exist_ok=True)
    box = trimesh.creation.box(extents=(0.12, 0.16, 0.04))
    box.apply_translation([0.03, 0.0, 0.0])
    tex = np.zeros((8, 8, 3), np.uint8)
    tex[:, :4] = (200, 150, 120)
    tex[:, 4:] = (40, 60, 200)
    uv = np.stack([(box.vertices[:, 0] + 0.03) / 0.12, (box.vertices[:, 1] + 0.08) / 0.16], 1)
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=Image.fromarray(tex))
    save_mesh(root / "face.obj", box)
    t = np.linspace(0, 1, 10)[:, None]
    s = Strands(
        np.concatenate(
            [
                [-0.05, 0.08, 0.0] + t * [0.0, -0.15, 0.03],
                [0.08, 0.08, 0.0] + t * [0.02, -0.15, -0.03],
            ]
        ),
        [10, 10],
    )
    write_strands(root / "strands.data", s)
    return root


def test_render_result_from_new_viewpoints(tmp_path):
    folder = _result_folder(tmp_path / "res")
    front = render_result(folder, 0, 0, size=128)
    side = render_result(folder, 90, 0, size=128)
    up = render_result(folder, 0, 30, size=128)
    assert front.shape == (128, 128, 3)
    assert np.abs(front.astype(int) - side.astype(int)).mean() > 5
    assert np.abs(front.astype(int) - up.astype(int)).mean() > 1
    # From the front the textured box shows both texture halves; the background is light.
    assert front[0, 0].min() > 200
    frames = turntable(folder, 3, size=64)
    assert len(frames) == 3 and not np.array_equal(frames[0], frames[1])
    with pytest.raises(InputError, match="turntable needs"):
        turntable(folder, 0)


def test_render_cli(tmp_path, capsys):
    folder = _result_folder(tmp_path / "res")
    out = tmp_path / "yaw45.png"
    assert main(["render", str(folder), "--yaw", "45", "--size", "96", "--out", str(out)]) == 0
    assert load_image(out).rgb.shape == (96, 96, 3)
    assert main(["render", str(folder), "--turntable", "5", "--size", "64", "-q"]) == 0
    files = sorted((folder / "turntable").glob("view_*.png"))
    assert len(files) == 5
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["render", str(empty)]) == 2
    assert "holds no face.obj" in capsys.readouterr().err
    assert main(["render", str(tmp_path / "missing")]) == 2
    assert "result folder not found" in capsys.readouterr().err
