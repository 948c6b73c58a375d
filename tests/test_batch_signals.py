"""monoscan batch when its process is killed or terminated: no worker outlives it.

Each test starts a real ``monoscan batch`` (two workers, the real pipeline) in a subprocess
and signals only the batch process, as ``kill PID``, a scheduler or an out-of-memory killer
would (not its process group, as a terminal's Ctrl-C does; ``test_batch.py`` covers that).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from _batch_helpers import SHARED_DATA, make_inputs

pytestmark = [
    pytest.mark.skipif(
        not (SHARED_DATA / "portraits").is_dir(),
        reason=f"development data not found: {SHARED_DATA / 'portraits'}",
    ),
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc"),
]

NAMES = (
    "3ddfav2__JianzhuGuo.jpg",
    "deca__exp_5.jpg",
    "deep3dfacerecon__000006.jpg",
    "mica__connelly.jpg",
)


# --------------------------------------------------------------------------------------------
# Processes, read from /proc


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time in clock ticks) of a process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name, in brackets, may hold spaces
    return fields[0], int(fields[1]), int(fields[19])


def _workers(parent: int) -> dict[int, int]:
    """The batch's pool workers (spawned children of ``parent``): pid -> start time."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None or stat[1] != parent:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            found[int(entry.name)] = stat[2]
    return found


def _descendants(root: int) -> dict[int, int]:
    """Every process below ``root`` (children, their children...): pid -> start time."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").iterdir():
        stat = _stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None:
            children.setdefault(stat[1], []).append((int(entry.name), stat[2]))
    found, todo = {}, [root]
    while todo:
        for pid, started in children.get(todo.pop(), []):
            found[pid] = started
            todo.append(pid)
    return found


def _alive(workers: dict[int, int]) -> list[int]:
    """Those of ``workers`` still running (a zombie has ended; a reused pid is another process)."""
    out = []
    for pid, started in workers.items():
        stat = _stat(pid)
        if stat is not None and stat[0] not in ("Z", "X") and stat[2] == started:
            out.append(pid)
    return out


def _wait_until(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def _popen_batch(inputs: Path, out: Path, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "monoscan.cli", "batch", str(inputs), "--out", str(out)]
        + ["--workers", "2", "-q", "--no-report", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a signal for the test's process group never reaches it
        **kwargs,
    )


def _start_batch(
    tmp_path: Path, names: tuple[str, ...] = NAMES
) -> tuple[subprocess.Popen, Path, dict[int, int]]:
    """A real ``monoscan batch`` of ``names`` with two workers, once both workers run."""
    inputs = make_inputs(tmp_path / "in", names=names, bad=False)
    out = tmp_path / "out"
    proc = _popen_batch(inputs, out)

    def both_started() -> dict[int, int] | None:
        found = _workers(proc.pid)
        return found if len(found) == 2 else None

    workers = _wait_until(both_started, 60)
    if not workers:
        proc.kill()
        stdout, stderr = proc.communicate(timeout=30)
        pytest.fail(f"the two workers never started:\n{stdout}\n{stderr}")
    return proc, out, workers


def _kill_leftovers(proc: subprocess.Popen, workers: dict[int, int]) -> None:
    """Never leave processes behind, whatever the test found."""
    for pid in _alive(workers):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=30)


# --------------------------------------------------------------------------------------------
# The tests


def test_workers_end_when_the_batch_is_killed(tmp_path):
    proc, _, workers = _start_batch(tmp_path)
    try:
        time.sleep(1.5)  # the workers are importing or already on their first photos
        os.kill(proc.pid, signal.SIGKILL)  # nothing runs in the batch process any more
        proc.wait(timeout=10)
        _wait_until(lambda: not _alive(workers), 5)
        assert not _alive(workers), "workers still alive 5 s after the batch was killed"
    finally:
        _kill_leftovers(proc, workers)


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    proc, out, workers = _start_batch(tmp_path)
    try:
        # Terminate it while the first results are being written (the most temporaries).
        assert _wait_until(lambda: any(p.is_dir() for p in out.glob("*")), 120), "no output"
        os.kill(proc.pid, signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 143, f"exit code {proc.returncode}:\n{stdout}\n{stderr}"
        assert "interrupted" in stderr

        data = json.loads((out / "batch.json").read_text())
        assert data["interrupted"] is True
        statuses = {Path(i["input"]).name: i["status"] for i in data["items"]}
        assert sorted(statuses) == sorted(NAMES)
        assert "pending" in statuses.values(), statuses
        assert data["counts"]["pending"] == sum(s == "pending" for s in statuses.values())

        _wait_until(lambda: not _alive(workers), 5)
        assert not _alive(workers), "workers still alive 5 s after the batch ended"
        assert not list(out.rglob(".*.tmp-*"))
    finally:
        _kill_leftovers(proc, workers)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def test_a_terminated_worker_does_not_end_the_batch(tmp_path):
    proc, out, workers = _start_batch(tmp_path, names=NAMES[:2])
    try:
        # Models loaded: the worker is inside its photo, not still starting.
        victim = _wait_until(lambda: next((p for p in workers if _rss_mb(p) > 300), None), 60)
        assert victim, "no worker loaded its models in time"
        os.kill(victim, signal.SIGTERM)  # as an administrator or a supervisor might
        stdout, stderr = proc.communicate(timeout=180)
        # The lost worker's photos are retried one at a time and finish.
        data = json.loads((out / "batch.json").read_text())
        errors = [i.get("error") for i in data["items"]]
        assert proc.returncode == 0, f"exit code {proc.returncode}:\n{stdout}\n{stderr}\n{errors}"
        assert not data["interrupted"]
        assert data["counts"]["done"] == 2, data
        assert not _alive(workers)
    finally:
        _kill_leftovers(proc, workers)


def test_sigterm_stops_the_ray_it_started(tmp_path):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'monoscan[distributed]')")
    inputs = make_inputs(tmp_path / "in", names=NAMES, bad=False)
    out = tmp_path / "out"
    # Ray writes ~/.ray and a session folder; its socket paths must stay under 108 bytes.
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray-"))
    env = dict(os.environ, HOME=str(tmp_path), RAY_TMPDIR=str(ray_tmp), RAY_USAGE_STATS_ENABLED="0")
    env.pop("RAY_ADDRESS", None)
    proc = _popen_batch(inputs, out, "--engine", "ray", env=env)
    started: dict[int, int] = {}  # Ray's processes and its workers, all below the batch

    def photos_running() -> bool:
        started.update(_descendants(proc.pid))
        return proc.poll() is not None or any(p.is_dir() for p in out.glob("*"))

    try:
        assert _wait_until(photos_running, 120), "no photo started on Ray in time"
        assert proc.poll() is None, proc.communicate()
        os.kill(proc.pid, signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 143, f"exit code {proc.returncode}:\n{stdout}\n{stderr}"
        data = json.loads((out / "batch.json").read_text())
        assert data["interrupted"] is True and data["engine"] == "ray"
        assert "pending" in {i["status"] for i in data["items"]}
        _wait_until(lambda: not _alive(started), 10)
        assert not _alive(started), "Ray processes outlived the batch that started them"
        assert not list(out.rglob(".*.tmp-*"))
    finally:
        _kill_leftovers(proc, started)
        shutil.rmtree(ray_tmp, ignore_errors=True)
