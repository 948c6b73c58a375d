"""The CLI as a user meets it: exit codes, one-line errors, several images, demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
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
        f"error: {tmp_path / 'blank.png'}: no face found in the photo, and no hair on a person "
        "either: nothing to reconstruct",
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


# -- progress and --quiet --------------------------------------------------------------------

FAST = ("--no-person", "--no-hair", "--no-head", "--strands", "0", "--formats", "obj")


def run_cli_on_terminal(*args: str) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (120 columns); stdout stays a pipe.

    Returns the exit code, stdout, and everything the terminal received.
    """
    import fcntl
    import os
    import pty
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "monoscan.cli", *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    received: list[bytes] = []

    def pump() -> None:  # read while it runs: a full terminal buffer would block the child
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            received.append(data)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        out, _ = proc.communicate(timeout=300)
    finally:
        reader.join(timeout=10)
        os.close(master)
    return proc.returncode, out.decode(), b"".join(received).decode(errors="replace")


def test_one_photo_shows_its_stages_on_a_terminal_only(tmp_path, astronaut_path):
    code, out, terminal = run_cli_on_terminal(
        "reconstruct", astronaut_path, "--out", tmp_path / "tty", *FAST
    )
    assert code == 0, terminal
    assert out.strip() == str(tmp_path / "tty" / "astronaut")
    for stage in ("load", "face_landmarks", "face_mesh", "write"):
        assert f"astronaut.png: {stage} (stage " in terminal, terminal
    assert terminal.endswith("\r") and not terminal.split("\r")[-2].strip()  # cleared at the end
    code, _, terminal = run_cli_on_terminal(
        "reconstruct", astronaut_path, "--out", tmp_path / "ttyq", "-q", *FAST
    )
    assert code == 0 and terminal == ""
    # Piped: nothing on stderr, with --quiet and without.
    for quiet, folder in (((), "pipe"), (("--quiet",), "pipeq")):
        r = run_cli("reconstruct", astronaut_path, "--out", tmp_path / folder, *quiet, *FAST)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert r.stdout.strip() == str(tmp_path / folder / "astronaut")


class _Terminal:
    """A stderr that says it is a terminal and keeps what it is sent."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_several_photos_keep_one_bar_with_the_stage_in_it(monkeypatch, capsys):
    from monoscan.commands._each import for_each_input
    from monoscan.pipeline.photo import timed

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    def work(name: str):
        timings: dict[str, float] = {}
        for stage in ("load", "face_mesh"):
            with timed(timings, stage):
                pass
        return f"done {name}", ()

    assert for_each_input(["a.jpg", "dir/b.jpg"], work, desc="reconstruct", quiet=False) == 0
    assert "a.jpg: face_mesh" in terminal.text and "b.jpg: load" in terminal.text
    assert "(stage" not in terminal.text  # no second bar: the stage sits in the photos' bar
    assert capsys.readouterr().out.splitlines() == ["done a.jpg", "done dir/b.jpg"]
    terminal.text = ""
    for_each_input(["a.jpg"], work, desc="reconstruct", quiet=False, verbose=True)
    assert "face_mesh" not in terminal.text  # --verbose logs a line per stage instead


def test_the_python_api_shows_no_stages_unless_asked(monkeypatch):
    from monoscan.core.progress import on_stage, show_stages
    from monoscan.pipeline.photo import timed

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with timed({}, "load"):
        pass
    assert terminal.text == ""
    seen: list[str] = []
    with on_stage(seen.append), timed({}, "load"), timed({}, "crop"):
        pass
    assert seen == ["load", "crop"]
    with show_stages("photo.jpg"), timed({}, "face_mesh"):
        pass
    assert "photo.jpg: face_mesh (stage 1" in terminal.text


def test_quiet_silences_library_logging_and_warnings(tmp_path):
    # A command whose libraries log and warn (a logger with its own level and handler too).
    script = tmp_path / "noisy.py"
    script.write_text(
        "import logging, sys, warnings\n"
        "import monoscan.commands.eval as ev\n"
        "from monoscan.cli import main\n"
        "def noisy(args):\n"
        "    logging.getLogger('trimesh').warning('trimesh says')\n"
        "    logging.getLogger('PIL.Image').warning('pil says')\n"
        "    own = logging.getLogger('onnxruntime')\n"
        "    own.setLevel(logging.INFO)\n"
        "    own.addHandler(logging.StreamHandler(sys.stderr))\n"
        "    own.propagate = False\n"
        "    own.warning('onnxruntime says')\n"
        "    warnings.warn('a library warning', UserWarning)\n"
        "    warnings.warn('deprecated', DeprecationWarning)\n"
        "    logging.getLogger('x').error('an error still shows')\n"
        "    print('result')\n"
        "    return 0\n"
        "ev.run_body = noisy\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )

    def run(before: tuple[str, ...] = (), after: tuple[str, ...] = ()):
        argv = ["eval", *before, "body", "--pred", "a", "--gt", "b", *after]
        return subprocess.run(
            [sys.executable, "-W", "default", str(script), *argv],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    loud = run()
    assert loud.returncode == 0
    for said in ("trimesh says", "pil says", "onnxruntime says", "a library warning"):
        assert said in loud.stderr
    for before, after in (((), ("-q",)), ((), ("--quiet",)), (("-q",), ())):
        quiet = run(before, after)
        assert quiet.returncode == 0 and quiet.stdout == "result\n"
        assert quiet.stderr.strip() == "ERROR x: an error still shows", quiet.stderr


def test_quiet_between_command_levels_and_state_restored(capsys):
    import logging
    import warnings

    from monoscan.cli import build_parser, main

    parser = build_parser()
    base = ["body", "--pred", "a", "--gt", "b"]
    assert parser.parse_args(["eval", "-q", *base]).quiet
    assert parser.parse_args(["eval", *base, "-q"]).quiet
    assert not parser.parse_args(["eval", *base]).quiet
    assert parser.parse_args(["eval", "-v", *base]).verbose
    filters = list(warnings.filters)
    assert main(["eval", "-q", *base]) == 2  # no such meshes
    assert "not found" in capsys.readouterr().err
    assert logging.root.manager.disable == logging.NOTSET and warnings.filters == filters


def test_commands_use_one_blas_thread_unless_the_environment_says_otherwise():
    # Two OpenBLAS threads on a busy 2-core machine made each small solve up to 200x slower
    # (the ICT fit 44 s instead of 0.18 s): the command sets one thread before NumPy loads.
    pytest.importorskip("threadpoolctl")
    probe = (
        "import json, os, sys\n"
        "from monoscan import cli\n"
        "try:\n"
        "    cli.main(['data', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "import numpy, scipy.linalg, threadpoolctl\n"
        "info = threadpoolctl.threadpool_info()\n"
        "print(json.dumps([i['num_threads'] for i in info if i['user_api'] == 'blas']))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    for preset, expected in ((None, 1), ("2", 2)):
        if preset is not None:
            env["OPENBLAS_NUM_THREADS"] = preset
        r = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
        threads = json.loads(r.stdout.strip().splitlines()[-1])
        assert threads and all(t == expected for t in threads), (preset, threads)
