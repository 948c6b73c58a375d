"""Tests for monoscan.io.zipcrypto and ``monoscan data h3ds-extract``.

Archives are built here: with our own minimal ZipCrypto zip writer (always) and with Info-ZIP's
``zip -P`` when it is installed.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _h3ds_fixtures as fx

from monoscan.cli import main
from monoscan.core.errors import FormatError, InputError
from monoscan.io.zipcrypto import extract_zip, zipcrypto_encrypt

TOKEN = "s3cr3t-token"


def write_zipcrypto(path: Path, files: dict[str, bytes], password: str, deflate=True) -> None:
    """A minimal PKZIP writer: ZipCrypto-encrypted members, deflated or stored."""
    out = bytearray()
    central = bytearray()
    dos_time, dos_date = (12 << 11) | (30 << 5), ((2024 - 1980) << 9) | (5 << 5) | 17
    for k, (name, data) in enumerate(files.items()):
        crc = zlib.crc32(data)
        if deflate:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            body, method = c.compress(data) + c.flush(), 8
        else:
            body, method = data, 0
        enc = zipcrypto_encrypt(body, password.encode(), crc >> 24, seed=k)
        fname = name.encode()
        offset = len(out)
        out += (
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                20,
                1,
                method,
                dos_time,
                dos_date,
                crc,
                len(enc),
                len(data),
                len(fname),
                0,
            )
            + fname
            + enc
        )
        central += (
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                1,
                method,
                dos_time,
                dos_date,
                crc,
                len(enc),
                len(data),
                len(fname),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + fname
        )
    eocd = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(files), len(files), len(central), len(out), 0
    )
    path.write_bytes(bytes(out + central + eocd))


def _files(n=40, seed=0):
    rng = np.random.default_rng(seed)
    files = {
        f"scene/image/img_{i:04d}.jpg": rng.integers(
            0, 256, 3000 + 17 * i, dtype=np.uint8
        ).tobytes()
        for i in range(n)
    }
    files["scene/full_head.obj"] = b"".join(b"v %d 1 2\n" % i for i in range(4000))
    files["version.txt"] = b"0.4\n"
    return files


@pytest.mark.parametrize("deflate", [True, False])
@pytest.mark.parametrize("engine", ["auto", "numpy", "python"])
def test_extract_own_archive(tmp_path, deflate, engine):
    files = _files()
    write_zipcrypto(tmp_path / "a.zip", files, TOKEN, deflate=deflate)
    # Python's zipfile agrees the archive is valid ZipCrypto.
    with zipfile.ZipFile(tmp_path / "a.zip") as z:
        assert z.read("version.txt", pwd=TOKEN.encode()) == b"0.4\n"
    rep = extract_zip(tmp_path / "a.zip", tmp_path / "out", TOKEN, engine=engine)
    assert rep.files == len(files)
    for name, data in files.items():
        assert (tmp_path / "out" / name).read_bytes() == data
    assert rep.bytes_out == sum(len(d) for d in files.values())
    if engine != "auto":
        assert rep.engine == engine
    else:
        assert "numpy" in rep.engine  # 40 similar images are batched


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP zip not installed")
def test_extract_info_zip_archive(tmp_path):
    src = tmp_path / "src"
    for name, data in _files(30, seed=1).items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    subprocess.run(
        ["zip", "-q", "-r", "-P", TOKEN, str(tmp_path / "b.zip"), "."], cwd=src, check=True
    )
    rep = extract_zip(tmp_path / "b.zip", tmp_path / "out", TOKEN)
    assert rep.files == 32
    for p in src.rglob("*"):
        if p.is_file():
            assert (tmp_path / "out" / p.relative_to(src)).read_bytes() == p.read_bytes()


def test_faster_than_zipfile(tmp_path, capsys):
    files = {
        f"img_{i:04d}.png": np.random.default_rng(i)
        .integers(0, 256, 6000, dtype=np.uint8)
        .tobytes()
        for i in range(200)
    }
    write_zipcrypto(tmp_path / "c.zip", files, TOKEN, deflate=False)
    t0 = time.perf_counter()
    with zipfile.ZipFile(tmp_path / "c.zip") as z:
        z.extractall(tmp_path / "zf", pwd=TOKEN.encode())
    t_zipfile = time.perf_counter() - t0
    rep = extract_zip(tmp_path / "c.zip", tmp_path / "ours", TOKEN)
    ratio = t_zipfile / rep.seconds
    with capsys.disabled():
        print(
            f"\n1.2 MB, 200 members: zipfile {t_zipfile:.2f} s, monoscan {rep.seconds:.2f} s "
            f"({ratio:.1f}x)"
        )
    assert ratio > 2.0
    for name, data in files.items():
        assert (tmp_path / "ours" / name).read_bytes() == data


def test_bad_archives(tmp_path):
    files = _files(5)
    write_zipcrypto(tmp_path / "a.zip", files, TOKEN)
    with pytest.raises(FormatError, match="wrong token"):
        extract_zip(tmp_path / "a.zip", tmp_path / "o1", "nope")
    with pytest.raises(InputError, match="encrypted"):
        extract_zip(tmp_path / "a.zip", tmp_path / "o2", None)
    with pytest.raises(FormatError, match="MD5 mismatch"):
        extract_zip(tmp_path / "a.zip", tmp_path / "o3", TOKEN, md5="0" * 32)
    good = hashlib.md5((tmp_path / "a.zip").read_bytes()).hexdigest()
    assert extract_zip(tmp_path / "a.zip", tmp_path / "o4", TOKEN, md5=good).files == 7
    with pytest.raises(InputError, match="not found"):
        extract_zip(tmp_path / "zz.zip", tmp_path / "o5", TOKEN)
    (tmp_path / "n.zip").write_bytes(b"not a zip at all")
    with pytest.raises(FormatError, match="not a zip"):
        extract_zip(tmp_path / "n.zip", tmp_path / "o6", TOKEN)
    write_zipcrypto(tmp_path / "slip.zip", {"../evil.txt": b"x"}, TOKEN)
    with pytest.raises(FormatError, match="unsafe path"):
        extract_zip(tmp_path / "slip.zip", tmp_path / "o7", TOKEN)
    assert not (tmp_path / "evil.txt").exists()
    # Corrupt one byte of stored data: the CRC check catches it, nothing half-written remains.
    write_zipcrypto(tmp_path / "s.zip", {"a.bin": bytes(range(256)) * 8}, TOKEN, deflate=False)
    raw = bytearray((tmp_path / "s.zip").read_bytes())
    raw[30 + len("a.bin") + 12 + 100] ^= 0xFF
    (tmp_path / "s.zip").write_bytes(bytes(raw))
    with pytest.raises(FormatError, match="CRC mismatch"):
        extract_zip(tmp_path / "s.zip", tmp_path / "o8", TOKEN)
    assert not list((tmp_path / "o8").glob("*")) if (tmp_path / "o8").exists() else True


def test_h3ds_extract_cli_verifies_config(tmp_path, capsys):
    root = tmp_path / "ds"
    fx.write_dataset(root, ("s1",), subdivisions=2, views=2)
    files = {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != "config_v2.toml"
    }
    write_zipcrypto(tmp_path / "h3ds.zip", files, TOKEN)
    md5 = hashlib.md5((tmp_path / "h3ds.zip").read_bytes()).hexdigest()
    rc = main(
        [
            "data",
            "h3ds-extract",
            str(tmp_path / "h3ds.zip"),
            "--token",
            TOKEN,
            "--out",
            str(tmp_path / "out"),
            "--config",
            str(root / "config_v2.toml"),
            "--md5",
            md5,
            "-q",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert f"extracted {len(files)} files" in out and f"MD5 {md5} ok" in out
    assert "all 7 files listed by the config are present (H3DS v0.4)" in out
    # A file the config needs is missing from the archive: exit 2 with the name.
    files.pop("s1/mask/mask_0001.png")
    write_zipcrypto(tmp_path / "h3ds2.zip", files, TOKEN)
    rc = main(
        [
            "data",
            "h3ds-extract",
            str(tmp_path / "h3ds2.zip"),
            "--token",
            TOKEN,
            "--out",
            str(tmp_path / "out2"),
            "--config",
            str(root / "config_v2.toml"),
            "-q",
        ]
    )
    assert rc == 2
    assert "mask_0001.png" in capsys.readouterr().err
    rc = main(
        [
            "data",
            "h3ds-extract",
            str(tmp_path / "h3ds.zip"),
            "--token",
            "bad",
            "--out",
            str(tmp_path / "out3"),
            "-q",
        ]
    )
    assert rc == 2
    assert "error: wrong token" in capsys.readouterr().err
