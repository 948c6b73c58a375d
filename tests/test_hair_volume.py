"""Hair volume (occupancy) on synthetic heads with known geometry."""

from __future__ import annotations

import json

import _hair3d_fixtures as fx
import numpy as np
import pytest
import trimesh
from conftest import shared

from monoscan.core.errors import InputError
from monoscan.hair.reconstruct3d import occupancy_surface
from monoscan.hair.volume import (
    MIN_PIECE_FRACTION,
    drop_small_pieces,
    hair_occupancy,
    voxelize_mesh,
)


@pytest.fixture(scope="module")
def head():
    return fx.head_mesh()


@pytest.fixture(scope="module")
def roots():
    return fx.scalp_roots(3000, seed=1)


@pytest.fixture(scope="module")
def short_occ(head, roots):
    mask, zf = fx.short_hair(0.015)
    return hair_occupancy(mask, zf, fx.crop(), fx.camera(), head, roots=roots[0])


@pytest.fixture(scope="module")
def long_occ(head, roots):
    mask, zf = fx.long_hair()
    return hair_occupancy(mask, zf, fx.crop(), fx.camera(), head, roots=roots[0])


def test_voxelize_matches_analytic_solid(head):
    origin = np.array([-0.1, -0.28, -0.13])
    shape = (51, 108, 61)
    inside = voxelize_mesh(head.vertices, head.faces, origin, 0.004, shape)
    idx = np.argwhere(np.ones(shape, bool))
    pts = origin + idx * 0.004
    truth = fx.inside_head(pts).reshape(shape)
    agree = (inside == truth).mean()
    assert agree > 0.995
    # Volume within 2 % of the analytic ellipsoid + neck (minus their overlap, voxel count).
    assert inside.sum() == pytest.approx(truth.sum(), rel=0.02)


def test_no_hair_inside_head(short_occ, long_occ):
    for occ in (short_occ, long_occ):
        pts = occ.voxel_points()
        assert len(pts) > 1000
        assert not fx.inside_head(pts).any()
        assert occ.head_distance_at(pts).min() > 0.0


def test_short_hair_stays_short_all_around(short_occ):
    pts = short_occ.voxel_points()
    d = short_occ.head_distance_at(pts)
    # The mask hugs the head by 1.5 cm: nothing farther than 3 cm from the head, anywhere.
    assert d.max() <= 0.03
    back = pts[:, 2] < fx.CENTRE[2] - 0.05
    assert back.sum() > 500  # the back of the head is covered...
    assert d[back].max() <= 0.03  # ...thinly
    # and the back does not hang below the nape (scalp ends 6 cm below the head centre).
    assert pts[back, 1].min() > fx.CENTRE[1] - 0.09


def test_long_hair_falls_behind_the_shoulders(long_occ, short_occ):
    pts = long_occ.voxel_points()
    low_back = pts[(pts[:, 1] < -0.15) & (pts[:, 2] < -0.03)]
    assert len(low_back) > 200
    assert pts[:, 1].min() < -0.24  # as low as the mask (-0.26 m)
    assert long_occ.volume_m3 > 3 * short_occ.volume_m3


def test_visible_surface_and_face_respected(short_occ):
    mask, zf = fx.short_hair(0.015)
    occ = short_occ
    pts = occ.voxel_points()
    u = np.rint(pts[:, 0] / fx.MPP + 256).astype(int)
    v = np.rint(-pts[:, 1] / fx.MPP + 230).astype(int)
    on_hair = mask[v, u]
    # Nothing in front of the visible hair surface (half a voxel of tolerance + sampling).
    front = zf[v[on_hair], u[on_hair]]
    ok = np.isfinite(front)
    assert np.all(pts[on_hair][ok, 2] <= front[ok] + occ.voxel_size)
    # Voxels projecting onto the face (not hair) are behind the head, never in front of it.
    assert np.all(pts[~on_hair, 2] < fx.CENTRE[2])


def test_occupancy_surface_is_closed(short_occ):
    mesh = occupancy_surface(short_occ)
    assert mesh.is_watertight
    assert mesh.volume > 0
    assert mesh.volume == pytest.approx(short_occ.volume_m3, rel=0.35)


def test_bad_inputs(head):
    mask, zf = fx.short_hair()
    with pytest.raises(InputError, match="hair mask is empty"):
        hair_occupancy(np.zeros_like(mask), zf, fx.crop(), fx.camera(), head)
    with pytest.raises(InputError, match="does not match"):
        hair_occupancy(mask, zf[:10], fx.crop(), fx.camera(), head)
    with pytest.raises(InputError, match="triangle mesh"):
        hair_occupancy(mask, zf, fx.crop(), fx.camera(), object())


def _pieces(mesh: trimesh.Trimesh) -> int:
    """Connected components of a surface through shared edges."""
    nodes = np.arange(len(mesh.faces))
    return len(trimesh.graph.connected_components(mesh.face_adjacency, nodes=nodes))


def test_drop_small_pieces_keeps_the_main_piece_and_fills_small_voids():
    main = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    island = trimesh.creation.icosphere(subdivisions=2, radius=0.02).apply_translation([0.2, 0, 0])
    void = trimesh.creation.icosphere(subdivisions=1, radius=0.01)
    void.invert()  # the inner wall of a cavity faces inward
    big_void = trimesh.creation.icosphere(subdivisions=2, radius=0.06)
    big_void.invert()
    mesh = trimesh.util.concatenate([main, island, void, big_void])
    assert _pieces(mesh) == 4
    out, info = drop_small_pieces(mesh)
    # The island (0.8 % of the main volume) and the small void go; the big void stays.
    assert _pieces(out) == 2 and out.is_watertight
    assert len(out.faces) == len(main.faces) + len(big_void.faces)
    assert info["pieces"] == 4 and info["pieces_dropped"] == 2
    assert info["volume_m3"] == pytest.approx(main.volume + big_void.volume, rel=1e-9)
    expected = (island.volume + void.volume) / mesh.volume
    assert info["volume_dropped_fraction"] == pytest.approx(expected, rel=1e-9)
    # Vertex order of what is kept is preserved.
    np.testing.assert_array_equal(out.vertices[: len(main.vertices)], main.vertices)
    # 0 keeps everything; a fraction outside [0, 1] is refused.
    assert drop_small_pieces(mesh, 0.0)[1]["pieces_dropped"] == 0
    with pytest.raises(InputError, match="min_fraction"):
        drop_small_pieces(mesh, 1.5)


def test_written_hair_volume_is_one_closed_piece(tmp_path):
    """A real reconstruction whose hair volume surface has a dozen stray pieces."""
    import monoscan
    from monoscan.io.meshes import load_mesh
    from monoscan.pipeline.options import Options

    # (hairstep__0d285f... keeps a second piece of 37 % with the ICT head: long hair cut in
    # front of and behind its shoulders; the size rule keeps it: see MIN_PIECE_FRACTION)
    photo = shared("portraits", "hairstep__97460f1480c7c477919a68ebb1a660ba.png")
    options = Options(formats=("obj",), hair_model="prior")  # the learned volume: one piece
    recon = monoscan.reconstruct(photo, options)
    raw = occupancy_surface(recon.hair_volume)
    assert _pieces(raw) > 5  # what issue 19 saw: islands floating in front of the face
    result = json.loads(monoscan.write_outputs(recon, tmp_path, options).read_text())
    mesh = load_mesh(tmp_path / photo.stem / "hair_volume.obj")
    assert _pieces(mesh) == 1
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    assert mesh.volume > 0.97 * raw.volume  # lost at most 3 %
    entry = result["artifacts"]["hair_volume.obj"]
    assert entry["watertight"] and entry["pieces"] == 1
    assert entry["pieces_dropped"] == _pieces(raw) - 1
    assert f"{MIN_PIECE_FRACTION:.0%}" in entry["meaning"]
