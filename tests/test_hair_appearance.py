"""Strand colours from the photo and tapered widths (monoscan.hair.appearance)."""

from __future__ import annotations

import numpy as np

from monoscan.core.camera import Camera
from monoscan.core.colour import linear_to_srgb
from monoscan.core.crop import Crop
from monoscan.core.strands import Strands
from monoscan.hair.appearance import ROOT_WIDTH_M, TIP_WIDTH_M, strand_appearance

SIZE = 128
MPP = 0.002  # metres per pixel


def _scene(two_colours: bool = True, shading: bool = False):
    """A crop of hair (red on the left half and blond on the right, or blond all over), lit
    evenly or from the left (the right side half as bright), before a blue background; the
    hair's surface at z = 0.05 m; the photo is the crop."""
    mask = np.zeros((SIZE, SIZE), bool)
    mask[20:110, 20:108] = True
    image = np.zeros((SIZE, SIZE, 3), np.float64)
    image[:] = (220, 190, 120)  # blond
    if two_colours:
        image[:, : SIZE // 2] = (150, 40, 20)  # red
    if shading:
        image *= np.linspace(1.0, 0.5, SIZE)[None, :, None]
    image = image.astype(np.uint8)
    image[~mask] = (30, 60, 200)
    depth = np.where(mask, 0.05, np.nan)
    crop = Crop(image, np.eye(3), (SIZE, SIZE), (0.0, 0.0, float(SIZE)))
    camera = Camera(MPP, np.array([SIZE / 2, SIZE / 2, 0.0]), "iris", 10.0)
    return image, mask, depth, crop, camera


def _colours(out: Strands) -> list[np.ndarray]:
    """Mean sRGB (0-255) of each strand."""
    srgb = linear_to_srgb(out.colors) * 255
    return [srgb[a:b].mean(0) for a, b in zip(out.offsets[:-1], out.offsets[1:], strict=True)]


def _strand(x_px: float, z: float, n: int = 30) -> np.ndarray:
    """A vertical strand over the crop's column ``x_px`` at depth ``z`` (world metres)."""
    y_px = np.linspace(30, 100, n)
    x = (x_px - SIZE / 2) * MPP
    return np.stack([np.full(n, x), (SIZE / 2 - y_px) * MPP, np.full(n, z)], axis=1)


def test_strands_take_the_photographed_colour_where_seen_and_taper():
    image, mask, depth, crop, camera = _scene()
    strands = Strands.from_list([_strand(35, 0.05), _strand(95, 0.05), _strand(60, -0.08)])
    out = strand_appearance(strands, image, mask, depth, crop, camera, seed=0)
    red, blond, behind = _colours(out)
    assert red[0] > 1.8 * red[1]  # red hair stays red
    assert blond[0] > blond[2] + 40 and blond[1] > blond[2] + 30  # blond stays blond
    # never the blue background; the strand behind the head takes the seen hair's median
    assert all(c[2] < c[0] for c in (red, blond, behind))
    assert behind.max() - behind.min() > 20
    # widths taper from root to tip
    a, b = out.offsets[0], out.offsets[1]
    assert np.isclose(out.widths[a], ROOT_WIDTH_M) and np.isclose(out.widths[b - 1], TIP_WIDTH_M)
    assert np.all(np.diff(out.widths[a:b]) < 0)


def test_the_photos_shading_is_divided_out():
    image, mask, depth, crop, camera = _scene(two_colours=False, shading=True)
    strands = Strands.from_list([_strand(30, 0.05), _strand(100, 0.05)])
    lit, shaded = (
        c.mean() for c in _colours(strand_appearance(strands, image, mask, depth, crop, camera))
    )
    # in the photo the second is 0.62 / 0.88 = 70 % as bright; its strand within 12 %
    assert shaded > 0.88 * lit


def test_colours_reach_the_strand_files(tmp_path):
    from monoscan.io.strands import read_strands, write_strands

    image, mask, depth, crop, camera = _scene()
    strands = strand_appearance(
        Strands.from_list([_strand(35, 0.05), _strand(90, 0.05)]), image, mask, depth, crop, camera
    )
    back = read_strands(write_strands(tmp_path / "hair.hair", strands))
    np.testing.assert_allclose(back.colors, strands.colors, atol=1e-6)
    np.testing.assert_allclose(back.widths, strands.widths, rtol=1e-6)
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(write_strands(tmp_path / "hair.usdc", strands)))
    curves = UsdGeom.BasisCurves(stage.GetPrimAtPath("/Hair/Strands"))
    np.testing.assert_allclose(curves.GetWidthsAttr().Get(), strands.widths, rtol=1e-6)
    shown = np.asarray(curves.GetDisplayColorPrimvar().Get())
    np.testing.assert_allclose(shown, strands.colors, atol=1e-6)
