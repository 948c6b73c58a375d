"""What a tester broke: damaged photos, bad output folders, reruns, Ctrl-C, photos on their side.

Every run here must end in results or one-line ``error:`` messages (exit 2), never a traceback;
one bad photo never stops the others; an interrupted run exits 130 (143 for SIGTERM) and never
leaves a folder that looks complete.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import shared
from PIL import Image

from monoscan import cli
from monoscan.core.errors import InputError, NoFaceError
from monoscan.io.images import load_image
from monoscan.io.results import RESULT_JSON, is_complete

# The quickest full run: face only, one mesh format.
FAST = ("--no-person", "--no-hair", "--no-head", "--formats", "obj", "--quiet")


def _encodings(rgb: np.ndarray) -> dict[str, bytes]:
    """The photo as JPEG (with a large EXIF block first), PNG, WebP and TIFF."""
    im = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x010E] = "x" * 30_000  # ImageDescription: puts 30 kB of EXIF before the pixels
    out = {}
    for fmt, ext, kw in (
        ("JPEG", ".jpg", {"exif": exif.tobytes()}),
        ("PNG", ".png", {}),
        ("WEBP", ".webp", {}),
        ("TIFF", ".tif", {}),
    ):
        buf = io.BytesIO()
        im.save(buf, fmt, **kw)
        out[ext] = buf.getvalue()
    return out


def _corruptions(data: bytes, rng: np.random.Generator, n_random: int):
    """Truncations through every header region, then seeded flips, zeroed and deleted chunks."""
    n = len(data)
    cuts = sorted({*range(1, 64, 3), *range(64, min(n, 40_000), 997), n // 2, n - 1})
    for cut in cuts:
        yield f"cut{cut}", data[:cut]
    for k in range(n_random):
        d = bytearray(data)
        kind = ("flip", "zero", "delete")[k % 3]
        a = int(rng.integers(0, n))
        b = min(n, a + int(rng.integers(1, 2048)))
        if kind == "flip":
            for i in rng.integers(0, n, int(rng.integers(1, 16))):
                d[i] ^= 1 << int(rng.integers(8))
        elif kind == "zero":
            d[a:b] = bytes(b - a)
        else:
            del d[a:b]
        yield f"{kind}{k}", bytes(d)


def test_damaged_photos_give_a_photo_or_one_line_error(tmp_path, astronaut_rgb):
    rng = np.random.default_rng(0)
    rgb = astronaut_rgb[::2, ::2].copy()
    cases = errors = 0
    for ext, data in _encodings(rgb).items():
        for label, damaged in _corruptions(data, rng, 40):
            path = tmp_path / f"{label}{ext}"
            path.write_bytes(damaged)
            t0 = time.perf_counter()
            try:
                photo = load_image(path)
            except InputError as exc:
                msg = str(exc)
                assert "\n" not in msg and msg.startswith(str(path)), msg
                errors += 1
            else:
                assert photo.rgb.dtype == np.uint8 and photo.rgb.ndim == 3
            assert time.perf_counter() - t0 < 5, f"{path.name} took too long"
            cases += 1
    assert cases > 350 and errors > cases / 3


def test_jpeg_cut_inside_its_exif_block_is_a_one_line_error(tmp_path, astronaut_rgb):
    path = tmp_path / "cut.jpg"
    path.write_bytes(_encodings(astronaut_rgb)[".jpg"][:20_000])  # `head -c 20000 photo.jpg`
    with pytest.raises(InputError, match=r"cut\.jpg: truncated or corrupt image file"):
        load_image(path)


def test_symlink_loop_is_named(tmp_path):
    (tmp_path / "a.jpg").symlink_to(tmp_path / "b.jpg")
    (tmp_path / "b.jpg").symlink_to(tmp_path / "a.jpg")
    with pytest.raises(InputError, match="a.jpg: symbolic link loop"):
        load_image(tmp_path / "a.jpg")


def _main(capsys, *args) -> tuple[int, str]:
    code = cli.main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_damaged_photo_does_not_stop_the_good_one(tmp_path, astronaut_path, capsys):
    bad = tmp_path / "bad.webp"
    bad.write_bytes(_encodings(np.asarray(Image.open(astronaut_path)))[".webp"][:5000])
    code, err = _main(capsys, "reconstruct", bad, astronaut_path, "--out", tmp_path / "o", *FAST)
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {bad}: truncated or corrupt image file"), err
    assert is_complete(tmp_path / "o" / "astronaut")


def test_a_bug_on_one_photo_is_one_line_and_the_others_run(
    tmp_path, astronaut_path, capsys, monkeypatch
):
    import monoscan.pipeline

    real = monoscan.pipeline.reconstruct

    def flaky(image, options=None):
        if Path(image).name == "first.png":
            raise RuntimeError("something\nbroke")
        return real(image, options)

    monkeypatch.setattr(monoscan.pipeline, "reconstruct", flaky)
    first = tmp_path / "first.png"
    first.write_bytes(astronaut_path.read_bytes())
    code, err = _main(capsys, "reconstruct", first, astronaut_path, "--out", tmp_path / "o", *FAST)
    assert code == 2
    assert err.splitlines() == [f"error: {first}: internal error: RuntimeError: something broke"]
    assert is_complete(tmp_path / "o" / "astronaut")


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_bad_output_folder_is_refused_before_any_work(
    tmp_path, astronaut_path, capsys, monkeypatch, where
):
    import monoscan.pipeline

    def must_not_run(*_a, **_k):
        raise AssertionError("computed before checking the output folder")

    monkeypatch.setattr(monoscan.pipeline, "reconstruct", must_not_run)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    out = blocker if where == "file" else blocker / "sub" / "dir"
    for command in ("reconstruct", "body", "segment-hair"):
        code, err = _main(capsys, command, astronaut_path, "--out", out, "--quiet")
        assert code == 2, command
        assert err.startswith(f"error: --out {out}: not a folder"), err
        assert len(err.splitlines()) == 1


def test_unwritable_output_folder_is_refused_before_any_work(
    tmp_path, astronaut_path, capsys, monkeypatch
):
    import tempfile

    import monoscan.pipeline

    monkeypatch.setattr(
        monoscan.pipeline, "reconstruct", lambda *a, **k: pytest.fail("computed first")
    )

    def read_only(*_a, **_k):  # what a read-only mount or an immutable folder answers
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    code, err = _main(capsys, "reconstruct", astronaut_path, "--out", tmp_path, "--quiet")
    assert code == 2
    assert err.strip() == f"error: --out {tmp_path}: folder is not writable (Read-only file system)"


def test_unfinished_result_is_refused_without_overwrite(tmp_path, astronaut_path, capsys):
    folder = tmp_path / "astronaut"
    folder.mkdir()
    (folder / RESULT_JSON).write_text('{"schema_version": "1.0", "artifacts": {"face.obj": {}}}')
    code, err = _main(capsys, "reconstruct", astronaut_path, "--out", tmp_path, *FAST)
    assert code == 2
    assert "holds an unfinished or older result; use --overwrite" in err


# --------------------------------------------------------------------------------------------
# Interrupts: a signal in every phase, including one that a library swallows


def _interrupt(sig=signal.SIGINT, swallow=False):
    """Deliver ``sig`` to this process now; with ``swallow``, do what trimesh's exporters do
    (``except BaseException: pass``)."""
    try:
        os.kill(os.getpid(), sig)
        time.sleep(0.5)  # the handler runs here
    except BaseException:  # noqa: BLE001 - the point of the test
        if not swallow:
            raise


PHASES = {
    "load": ("monoscan.pipeline.photo", "load_image"),
    "landmarks": ("monoscan.pipeline.photo", "detect_upright_face"),
    "face_mesh": ("monoscan.pipeline.photo", "build_face_mesh"),
    "write_mesh": ("monoscan.io.meshes", "save_mesh"),
    "write_png": ("monoscan.io.images", "save_png"),
}


@pytest.mark.parametrize("swallow", [False, True], ids=["raised", "swallowed"])
@pytest.mark.parametrize("phase", list(PHASES))
def test_interrupt_in_any_phase_exits_130_and_leaves_nothing_complete(
    tmp_path, astronaut_path, capsys, monkeypatch, phase, swallow
):
    import importlib

    module_name, attr = PHASES[phase]
    module = importlib.import_module(module_name)
    real = getattr(module, attr)

    def interrupted(*args, **kwargs):
        result = real(*args, **kwargs)
        _interrupt(swallow=swallow)
        return result

    monkeypatch.setattr(module, attr, interrupted)
    code, err = _main(capsys, "reconstruct", astronaut_path, "--out", tmp_path, *FAST)
    assert code == 130, err
    assert err.strip().endswith("error: interrupted")
    assert not (tmp_path / "astronaut" / RESULT_JSON).exists()
    assert not list(tmp_path.rglob(".*.tmp-*"))  # no half-written temporaries


def test_sigterm_is_handled_like_ctrl_c(tmp_path, astronaut_path, capsys, monkeypatch):
    import monoscan.pipeline.photo as photo

    real = photo.build_face_mesh

    def terminated(*args, **kwargs):
        result = real(*args, **kwargs)
        _interrupt(signal.SIGTERM, swallow=True)
        return result

    monkeypatch.setattr(photo, "build_face_mesh", terminated)
    code, _ = _main(capsys, "reconstruct", astronaut_path, "--out", tmp_path, *FAST)
    assert code == 143
    assert not (tmp_path / "astronaut" / RESULT_JSON).exists()


def test_ctrl_c_on_a_real_run_exits_130(tmp_path, astronaut_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "monoscan.cli", "reconstruct", str(astronaut_path)]
        + ["--out", str(tmp_path), "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)  # imports done, stages running
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:  # finished before the signal: nothing to check
        pytest.skip("the run ended before the interrupt")
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not (tmp_path / "astronaut" / RESULT_JSON).exists()


# --------------------------------------------------------------------------------------------
# Photos on their side, no EXIF tag


@pytest.mark.parametrize("name", ["mica__connelly.jpg", "tfflame__imgHQ00088.jpeg"])
def test_photo_on_its_side_is_turned_upright(name):
    from monoscan.perception.face import detect_upright_face, eye_line_roll_deg

    rgb = load_image(shared("portraits", name)).rgb
    turns, face = detect_upright_face(rgb)
    assert turns == 0 and abs(eye_line_roll_deg(face.points)) < 15
    for quarter in (1, 3):
        sideways = np.ascontiguousarray(np.rot90(rgb, quarter))
        turns, face = detect_upright_face(sideways)
        assert (quarter + turns) % 4 == 0, (quarter, turns)
        assert abs(eye_line_roll_deg(face.points)) < 15


def test_reconstruct_notes_the_turn(astronaut_rgb):
    import monoscan

    sideways = np.ascontiguousarray(np.rot90(astronaut_rgb, 3))
    recon = monoscan.reconstruct(
        sideways, monoscan.Options(person=False, hair=False, head=False, strands=0)
    )
    assert recon.photo.rgb.shape == astronaut_rgb.shape
    assert any("turned 90 degrees counter-clockwise" in n for n in recon.notes)


def test_no_face_anywhere_is_still_no_face():
    from monoscan.perception.face import detect_upright_face

    with pytest.raises(NoFaceError, match="no face found"):
        detect_upright_face(np.full((200, 300, 3), 90, np.uint8))


def test_body_quiet_prints_only_the_error(tmp_path):
    Image.fromarray((np.random.default_rng(0).random((40, 30, 3)) * 255).astype(np.uint8)).save(
        tmp_path / "tiny.png"
    )
    r = subprocess.run(
        [sys.executable, "-m", "monoscan.cli", "body", str(tmp_path / "tiny.png")]
        + ["--out", str(tmp_path / "o"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"error: {tmp_path / 'tiny.png'}: no person found in the photo"
    ]
