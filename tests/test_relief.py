"""relief.obj: the Deep3dPortrait-style 2.5D relief (monoscan.head.relief)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from conftest import shared

from monoscan.core.errors import InputError
from monoscan.head.relief import EARS, FACE, HAIR, relief_depth

PHOTO = ("portraits", "deep3dfacerecon__000006.jpg")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from monoscan.pipeline import Options, reconstruct, write_outputs

    photo = shared(*PHOTO)
    options = Options(head=False, strands=0, formats=("obj",))
    recon = reconstruct(photo, options)
    out = tmp_path_factory.mktemp("relief")
    write_outputs(recon, out, options)
    mesh = trimesh.load(out / photo.stem / "relief.obj", process=False)
    return recon, mesh


def _crop_px(recon, points):
    photo = recon.camera.world_to_photo(points)
    return recon.crop.to_crop(photo[:, :2])


def test_open_single_piece_no_nan(result):
    _, mesh = result
    assert len(mesh.vertices) > 5000
    assert np.isfinite(mesh.vertices).all()
    assert not mesh.is_watertight  # a relief, no back
    assert len(mesh.split(only_watertight=False)) == 1
    assert (mesh.face_normals[:, 2] > 0).mean() > 0.95  # faces the camera


def test_colours_are_the_photo(result):
    recon, mesh = result
    col = np.asarray(mesh.visual.vertex_colors)[:, :3].astype(float)
    uv = np.rint(_crop_px(recon, mesh.vertices)).astype(int)
    img = recon.crop.image.astype(float)
    ok = np.all((uv >= 0) & (uv < img.shape[0]), axis=1)
    assert ok.mean() > 0.99
    diff = np.abs(col[ok] - img[uv[ok, 1], uv[ok, 0]]).mean()
    assert diff < 3.0
    assert col.std() > 10


def test_depth_order_and_extent(result):
    recon, mesh = result
    v = mesh.vertices
    parsing = recon.hair.parsing
    uv = np.clip(np.rint(_crop_px(recon, v)).astype(int), 0, parsing.shape[0] - 1)
    label = parsing[uv[:, 1], uv[:, 0]]
    face_v = recon.face_mesh.vertices
    nose = face_v[1]
    # The relief passes through the face mesh at the nose tip.
    near = np.linalg.norm(v[:, :2] - nose[:2], axis=1) < 0.003
    assert near.any() and abs(v[near, 2].max() - nose[2]) < 0.003
    # Hair beside the face is well behind the nose.
    half_width = 0.5 * np.ptp(face_v[:, 0])
    sides = (label == HAIR) & (np.abs(v[:, 0] - face_v[:, 0].mean()) > half_width)
    assert sides.sum() > 50
    assert np.median(v[sides, 2]) < nose[2] - 0.03
    # It covers the face and the hair: wider and taller than the face mesh.
    assert v[:, 1].max() > face_v[:, 1].max() and np.ptp(v[:, 0]) > np.ptp(face_v[:, 0])
    # Metres, world frame: a head is a few decimetres, not pixels.
    assert np.ptp(v, axis=0).max() < 1.0


def test_relief_depth_fills_ears_and_gaps():
    s = 64
    yy, xx = np.mgrid[:s, :s]
    parsing = np.zeros((s, s), np.uint8)
    face = (xx - 32) ** 2 + (yy - 32) ** 2 < 12**2
    parsing[(xx - 32) ** 2 + (yy - 32) ** 2 < 22**2] = HAIR
    parsing[face] = FACE
    parsing[(np.abs(yy - 32) < 4) & (np.abs(xx - 10) < 3)] = EARS
    face_z = np.where(face, 0.10, np.nan)
    hair_z = np.where(parsing == HAIR, 0.05, np.nan)
    hair_z[:, 40:] = np.nan  # hair pixels without depth: filled
    z, region = relief_depth(parsing, face_z, hair_z, blend_px=0)
    from scipy import ndimage

    assert region[ndimage.binary_erosion(parsing > 0)].all()  # (a 1 px opening cleans edges)
    assert region[parsing == EARS].mean() > 0.8
    assert np.isfinite(z[region]).all() and np.isnan(z[~region]).all()
    assert z[region].min() >= 0.05 - 1e-9 and z[region].max() <= 0.10 + 1e-9  # harmonic
    assert np.isclose(z[32, 32], 0.10)
    # Up the middle column: the hair keeps its depth at its outer border and rises smoothly
    # to the face's depth at the seam (no cliff).
    top = int(np.argmax(region[:, 32]))
    col = z[top:21, 32]
    assert abs(col[0] - 0.05) < 2e-3 and abs(col[-1] - 0.10) < 0.01
    assert np.all(np.diff(col) >= -1e-9)
    # Smoothed seam: no step larger than the band allows.
    z2, _ = relief_depth(parsing, face_z, hair_z, blend_px=4)
    step = np.nanmax(np.abs(np.diff(z2[32, 14:26])))
    assert step < 0.5 * 0.05


def test_relief_depth_refuses_empty():
    with pytest.raises(InputError):
        relief_depth(np.zeros((16, 16), np.uint8), np.full((16, 16), np.nan), None)
