"""Fine face detail from the photo's shading (monoscan.face.detail)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared

from monoscan.core.errors import InputError
from monoscan.core.meshes import FaceMesh
from monoscan.face.detail import add_face_detail, detail_displacement, metres_per_texel

PHOTO = ("portraits", "deep3dfacerecon__000006.jpg")


def _flat_face(texture: np.ndarray, n: int = 81, size_m: float = 0.08) -> FaceMesh:
    """A flat n x n vertex sheet at z = 0 facing +z, uv spanning the whole texture."""
    u, v = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    verts = np.c_[(u.ravel() - 0.5) * size_m, (v.ravel() - 0.5) * size_m, np.zeros(n * n)]
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    faces = np.concatenate(
        [np.c_[a.ravel(), b.ravel(), d.ravel()], np.c_[a.ravel(), d.ravel(), c.ravel()]]
    )
    uv = np.c_[u.ravel(), v.ravel()]
    return FaceMesh(
        vertices=verts.astype(np.float32),
        faces=faces.astype(np.int32),
        uv=uv.astype(np.float32),
        texture=texture,
        vertex_colors=np.zeros((n * n, 3), np.uint8),
        photo_px=np.zeros((n * n, 2), np.float32),
    )


def _crease_texture(value: int = 60, width: int = 3, size: int = 256) -> np.ndarray:
    tex = np.full((size, size, 3), 150, np.uint8)
    c = size // 2
    tex[:, c - width // 2 : c - width // 2 + width] = value
    return tex


def test_flat_sheet_normals_face_the_camera():
    mesh = _flat_face(_crease_texture())
    assert metres_per_texel(mesh) == pytest.approx(0.08 / 256, rel=0.05)


def test_dark_crease_goes_in_bright_ridge_comes_out():
    mesh = _flat_face(_crease_texture(60))
    d = detail_displacement(mesh)
    x = mesh.vertices[:, 0]
    on = np.abs(x) < 0.0006
    far = np.abs(x) > 0.01
    assert d[on].mean() < -2e-4  # inward, a few tenths of a millimetre
    assert np.abs(d).max() <= 1e-3 and abs(d.mean()) < 1e-9
    assert np.abs(d[far] - np.median(d[far])).max() < 2e-5  # flat skin: no detail
    assert np.argmin(d) in np.flatnonzero(on)  # deepest on the crease
    moved = add_face_detail(mesh)
    np.testing.assert_allclose(moved.vertices[:, 2], d, atol=1e-7)  # along the +z normal
    np.testing.assert_allclose(moved.vertices[:, :2], mesh.vertices[:, :2], atol=1e-7)
    bright = detail_displacement(_flat_face(_crease_texture(240)))
    assert bright[on].mean() > 1e-4


def test_uniform_texture_gives_nothing():
    d = detail_displacement(_flat_face(np.full((64, 64, 3), 120, np.uint8)))
    assert np.abs(d).max() < 1e-9


def test_bad_input_refused():
    mesh = _flat_face(_crease_texture())
    with pytest.raises(InputError):
        detail_displacement(mesh, sigma_fine_m=0.004, sigma_coarse_m=0.003)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    from monoscan.face.mesh import build_face_mesh
    from monoscan.pipeline import Options, reconstruct

    recon = reconstruct(
        shared(*PHOTO), Options(face_detail=True, hair=False, head=False, person=False, strands=0)
    )
    plain = build_face_mesh(recon.photo.rgb, recon.face.points, recon.camera)
    return recon, plain


def test_real_photo_detail_is_small_and_zero_mean(real):
    from monoscan.face.detail import vertex_normals

    recon, plain = real
    assert "face_detail" in recon.timings
    delta = recon.face_mesh.vertices.astype(float) - plain.vertices.astype(float)
    along = (delta * vertex_normals(plain.vertices, plain.faces)).sum(1)
    assert np.abs(delta).max() < 1e-3
    assert abs(along.mean()) < 2e-5
    assert 2e-5 < np.sqrt((along**2).mean()) < 5e-4  # something, under half a millimetre
    # The eyebrows are darker than the forehead: they go in (mean displacement there < 0).
    brow = [70, 63, 105, 66, 107, 300, 293, 334, 296, 336]  # MediaPipe brow vertices
    assert along[brow].mean() < 0


def test_cli_flag():
    from monoscan.cli import build_parser
    from monoscan.commands.reconstruct import options_from_args

    args = build_parser().parse_args(["reconstruct", "x.jpg", "--out", "o", "--face-detail"])
    assert options_from_args(args).face_detail
    args = build_parser().parse_args(["reconstruct", "x.jpg", "--out", "o"])
    assert not options_from_args(args).face_detail
