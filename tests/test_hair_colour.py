"""Tests for monoscan.core.colour."""

import numpy as np
import pytest

from monoscan.core.colour import DARK_BROWN_SRGB, median_hair_srgb, srgb_to_linear


def test_median_of_the_hair_pixels_only():
    img = np.zeros((4, 4, 3), np.uint8)
    img[0, :3] = [[10, 20, 30], [40, 50, 60], [70, 80, 90]]
    img[3, 3] = [255, 255, 255]  # not hair
    mask = np.zeros((4, 4), np.uint8)
    mask[0, :3] = 255
    assert median_hair_srgb(img, mask).tolist() == [40, 50, 60]
    assert median_hair_srgb(img, mask[..., None]).tolist() == [40, 50, 60]


@pytest.mark.parametrize(
    "image, mask",
    [
        (None, np.ones((2, 2), bool)),
        (np.zeros((2, 2, 3)), np.zeros((2, 2), bool)),  # no hair
        (np.zeros((3, 3, 3)), np.ones((2, 2), bool)),  # mask of another image
    ],
)
def test_dark_brown_without_hair_pixels(image, mask):
    out = median_hair_srgb(image, mask)
    assert out.tolist() == DARK_BROWN_SRGB.tolist()
    out[0] = 0  # a copy: the constant stays
    assert DARK_BROWN_SRGB[0] == 60


def test_srgb_to_linear_reference_values():
    # IEC 61966-2-1: 0.5 -> 0.21404, the linear segment below 0.04045.
    got = srgb_to_linear(np.array([0.0, 0.02, 0.5, 1.0]))
    assert got == pytest.approx([0.0, 0.02 / 12.92, 0.214041, 1.0], rel=1e-5)
