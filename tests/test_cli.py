"""The CLI as a user meets it: exit codes, one-line errors, several images, demo."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PIL import Image


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monoscan.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_bad_inputs_exit_2_with_one_error_line_each(tmp_path, astronaut_path):
    (tmp_path / "text.jpg").write_text("hello")
    Image.fromarray(np.full((200, 200, 3), 90, np.uint8)).save(tmp_path / "blank.png")
    r = run_cli(
        "reconstruct",
        tmp_path / "missing.jpg",
        tmp_path / "text.jpg",
        tmp_path / "blank.png",
        astronaut_path,
        "--out",
        tmp_path / "out",
        "--quiet",
        "--no-person",
        "--no-head",
        "--strands",
        "0",
    )
    assert r.returncode == 2
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert "Traceback" not in r.stderr
    assert errors == [
        f"error: {tmp_path / 'missing.jpg'}: no such file",
        f"error: {tmp_path / 'text.jpg'}: not an image file (unrecognised format)",
        f"error: {tmp_path / 'blank.png'}: no face found in the photo",
    ]
    # the good photo still ran
    assert json.loads((tmp_path / "out" / "astronaut" / "result.json").read_text())
    assert (
        not (tmp_path / "out" / "blank").exists()
        or not (tmp_path / "out" / "blank" / "result.json").exists()
    )


def test_rerun_skips_a_complete_result_then_overwrites(tmp_path, astronaut_path):
    args = (
        "reconstruct",
        astronaut_path,
        "--out",
        tmp_path,
        "--no-person",
        "--no-hair",
        "--no-head",
        "--formats",
        "obj",
    )
    assert run_cli(*args).returncode == 0
    stamp = (tmp_path / "astronaut" / "result.json").stat().st_mtime_ns
    r = run_cli(*args)  # a rerun (after Ctrl-C, say) skips what is finished, without recomputing
    assert r.returncode == 0, r.stderr
    assert f"note: {astronaut_path}: already complete, skipped (use --overwrite" in r.stderr
    assert (tmp_path / "astronaut" / "result.json").stat().st_mtime_ns == stamp
    assert run_cli(*args, "--overwrite").returncode == 0
    assert (tmp_path / "astronaut" / "result.json").stat().st_mtime_ns != stamp
    assert not (tmp_path / "astronaut" / "face.glb").exists()  # --formats obj only


def test_demo_writes_the_astronaut(tmp_path):
    r = run_cli("demo", "--out", tmp_path, "--quiet")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "astronaut.png").is_file()
    result = json.loads((tmp_path / "astronaut" / "result.json").read_text())
    assert result["face"]["faces_found"] == 1
    for name in ("face.obj", "head.obj", "strands.data", "strand_map.png", "hair_depth.npy"):
        assert name in result["artifacts"], name
    assert r.stderr.strip() == ""  # --quiet and no native log noise


def test_help_and_version():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("monoscan ")
    r = run_cli("reconstruct", "--help")
    assert "--face-index" in r.stdout and "--overwrite" in r.stdout


def test_hairstep_command_writes_only_the_2d_stage(tmp_path, astronaut_path):
    r = run_cli("hairstep", astronaut_path, "--out", tmp_path, "-q")
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "astronaut"
    for name in (
        "hair_mask.png",
        "strand_map.png",
        "hair_depth.npy",
        "orientation.npy",
        "confidence.npy",
        "parsing.png",
        "hair_depth_vis.png",
        "landmarks68.npy",
    ):
        assert (folder / name).is_file(), name
    assert not list(folder.glob("face.*"))


def test_reconstruct_body_flag_writes_the_body_beside_the_face(tmp_path):
    from conftest import shared

    photo = shared("fullbody", "pifu__ryota.png")
    r = run_cli(
        "reconstruct",
        photo,
        "--out",
        tmp_path,
        "--body",
        "--no-hair",
        "--no-head",
        "-q",
        "--formats",
        "obj",
    )
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "pifu__ryota"
    result = json.loads((folder / "result.json").read_text())
    assert "body/" in result["artifacts"]
    body = json.loads((folder / "body" / "result.json").read_text())
    for name in ("body.obj", "front_depth.npy", "back_depth.npy", "keypoints.json"):
        assert name in body["files"] and (folder / "body" / name).is_file()
    assert body["input"]["sha256"] and body["input"]["path"] == str(photo)
    # complete, body included: a rerun resumes instead of redoing it
    from monoscan.io.results import is_complete

    assert is_complete(folder)
    (folder / "body" / "body.obj").unlink()
    assert not is_complete(folder)
