"""Image input: formats, EXIF, colour modes, and every bad-input error."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from monoscan.core.errors import InputError
from monoscan.io.images import MAX_PIXELS, load_image, save_png


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif", ".bmp"])
def test_formats_decode_to_the_same_pixels(tmp_path, astronaut_rgb, suffix):
    path = tmp_path / f"a{suffix}"
    Image.fromarray(astronaut_rgb).save(path, quality=95) if suffix in (
        ".jpg",
        ".webp",
    ) else Image.fromarray(astronaut_rgb).save(path)
    photo = load_image(path)
    assert photo.rgb.shape == astronaut_rgb.shape and photo.rgb.dtype == np.uint8
    lossy = suffix in (".jpg", ".webp")
    err = np.abs(photo.rgb.astype(int) - astronaut_rgb).mean()
    assert err < (4.0 if lossy else 1e-9)
    assert photo.path == path and len(photo.sha256) == 64


def test_exif_orientation_is_applied(tmp_path, astronaut_rgb):
    img = astronaut_rgb[:, :300]  # 512 x 300: not square so the rotation shows
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: viewers turn it 90 degrees clockwise
    path = tmp_path / "rot.jpg"
    Image.fromarray(img).save(path, exif=exif, quality=95)
    photo = load_image(path)
    assert photo.rgb.shape == (300, 512, 3)
    expected = np.rot90(img, k=-1)
    assert np.abs(photo.rgb.astype(int) - expected).mean() < 4
    assert any("EXIF orientation 6" in n for n in photo.notes)


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :15, 3] = 255  # left half opaque red-ish, right half transparent
    path = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(path)
    rgb = load_image(path).rgb
    assert tuple(rgb[0, 0]) == (200, 0, 0)
    assert tuple(rgb[0, 29]) == (255, 255, 255)


def test_grayscale_16bit_and_cmyk(tmp_path, astronaut_rgb):
    import cv2

    gray = cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY)
    Image.fromarray(gray).save(tmp_path / "g.png")
    g = load_image(tmp_path / "g.png").rgb
    assert g.shape == (512, 512, 3) and np.array_equal(g[..., 0], gray)

    rgb16 = astronaut_rgb.astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / "c16.png"), rgb16[..., ::-1])
    cv2.imwrite(str(tmp_path / "c16.tif"), rgb16[..., ::-1])
    for name in ("c16.png", "c16.tif"):
        assert np.abs(load_image(tmp_path / name).rgb.astype(int) - astronaut_rgb).max() <= 1

    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "g16.png")
    assert np.abs(load_image(tmp_path / "g16.png").rgb[..., 0].astype(int) - gray).max() <= 1

    Image.fromarray(astronaut_rgb).convert("CMYK").save(tmp_path / "k.jpg", quality=95)
    k = load_image(tmp_path / "k.jpg")
    assert k.rgb.shape == (512, 512, 3)
    assert np.abs(k.rgb.astype(int) - astronaut_rgb).mean() < 12
    assert any("CMYK" in n for n in k.notes)


def test_arrays_are_accepted(astronaut_rgb):
    photo = load_image(astronaut_rgb)
    assert np.array_equal(photo.rgb, astronaut_rgb) and photo.path is None
    assert load_image(astronaut_rgb[..., 0]).rgb.shape == (512, 512, 3)
    with pytest.raises(InputError, match="channels"):
        load_image(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(InputError, match="shape"):
        load_image(np.zeros((0, 4, 3), np.uint8))


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))


def test_bad_inputs_raise_one_line_errors(tmp_path, astronaut_rgb):
    cases = {}
    cases["no such file"] = tmp_path / "missing.jpg"
    (tmp_path / "text.jpg").write_text("not an image at all")
    cases["not an image"] = tmp_path / "text.jpg"
    (tmp_path / "empty.png").write_bytes(b"")
    cases["empty file"] = tmp_path / "empty.png"
    Image.fromarray(astronaut_rgb).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    cases["truncated"] = tmp_path / "cut.jpg"
    side = int(np.sqrt(MAX_PIXELS)) + 100
    (tmp_path / "bomb.png").write_bytes(_png_header_only(side, side))
    cases["too large"] = tmp_path / "bomb.png"
    cases["directory"] = tmp_path
    (tmp_path / "zero.png").write_bytes(_png_header_only(0, 10))
    cases["zero-size"] = tmp_path / "zero.png"
    for expected, path in cases.items():
        with pytest.raises(InputError) as info:
            load_image(path)
        msg = str(info.value)
        assert expected in msg and "\n" not in msg, msg


def test_save_png_round_trip_and_bool_masks(tmp_path):
    mask = np.zeros((7, 9), bool)
    mask[2:5, 3:6] = True
    path = save_png(tmp_path / "m.png", mask)
    back = np.asarray(Image.open(path))
    assert back.dtype == np.uint8 and set(np.unique(back)) == {0, 255}
    assert np.array_equal(back == 255, mask)
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
