"""monoscan.pipeline.batch with the local engine: statuses, failures, resume, interruption, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _batch_helpers import PORTRAITS, SHARED_DATA, comparable, fingerprint, make_inputs

from monoscan.core.errors import InputError
from monoscan.io.results import is_complete
from monoscan.pipeline import Options
from monoscan.pipeline.batch import BatchReport, discover_inputs, run_batch

pytestmark = pytest.mark.skipif(
    not (SHARED_DATA / "portraits").is_dir(),
    reason=f"development data not found: {SHARED_DATA / 'portraits'}",
)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """3 portraits + 1 broken file, 2 workers, default options (the real pipeline)."""
    base = tmp_path_factory.mktemp("batch")
    inputs = make_inputs(base / "in")
    out = base / "out"
    report = run_batch(inputs, out, Options(), workers=2, quiet=True, report=False)
    return inputs, out, report


def _statuses(batch_json: Path) -> dict[str, dict]:
    data = json.loads(batch_json.read_text())
    return {Path(i["input"]).name: i for i in data["items"]}


def test_batch_json_lists_every_input(first_run):
    _, out, report = first_run
    assert isinstance(report, BatchReport)
    assert report.path == out / "batch.json"
    items = _statuses(report.path)
    assert sorted(items) == sorted([*PORTRAITS, "broken.jpg"])
    for name in PORTRAITS:
        assert items[name]["status"] == "done", items[name]
        assert "error" not in items[name]
        assert is_complete(out / Path(name).stem)
    bad = items["broken.jpg"]
    assert bad["status"] == "failed"
    assert "not an image" in bad["error"] and "\n" not in bad["error"]
    assert not is_complete(out / "broken")
    data = json.loads(report.path.read_text())
    assert data["counts"] == {"done": 3, "skipped": 0, "failed": 1, "pending": 0}
    assert data["engine"] == "local" and data["workers"] == 2 and not data["interrupted"]
    assert not report.ok
    # Two worker processes shared the work; each reports a bounded peak memory.
    assert 1 <= len(report.peak_rss_mb) <= 2
    for rss in report.peak_rss_mb.values():
        assert 100 < rss < 2000
    # No hidden temporary files anywhere.
    assert not list(out.rglob(".*.tmp-*"))


def test_resume_redoes_only_incomplete_results(first_run, tmp_path):
    inputs, out, _ = first_run
    deleted, truncated, kept = (Path(n).stem for n in PORTRAITS)
    before = {
        s: (comparable(out / s / "result.json"), fingerprint(out / s))
        for s in (deleted, truncated, kept)
    }
    kept_mtime = (out / kept / "result.json").stat().st_mtime_ns
    # A run killed at the worst moments: one result.json never written, one cut short.
    (out / deleted / "result.json").unlink()
    text = (out / truncated / "result.json").read_text()
    (out / truncated / "result.json").write_text(text[: len(text) // 2])
    assert not is_complete(out / deleted) and not is_complete(out / truncated)

    report = run_batch(inputs, out, Options(), workers=1, quiet=True, report=False)
    items = {Path(i.input).stem: i for i in report.items}
    assert items[deleted].status == "done"
    assert items[truncated].status == "done"
    assert items[kept].status == "skipped"
    assert items["broken"].status == "failed"  # failures are retried, and fail again
    assert report.counts == {"done": 2, "skipped": 1, "failed": 1, "pending": 0}
    assert (out / kept / "result.json").stat().st_mtime_ns == kept_mtime
    for stem, (result, files) in before.items():
        assert comparable(out / stem / "result.json") == result, stem
        assert fingerprint(out / stem) == files, stem


def test_is_complete_checks_schema_and_artifacts(first_run, tmp_path):
    _, out, _ = first_run
    src = out / Path(PORTRAITS[2]).stem
    d = tmp_path / "r"
    d.mkdir()
    for p in src.iterdir():
        (d / p.name).write_bytes(p.read_bytes())
    assert is_complete(d)
    (d / "face.png").unlink()  # a companion file listed under face.obj
    assert not is_complete(d)
    (d / "face.png").write_bytes((src / "face.png").read_bytes())
    data = json.loads((d / "result.json").read_text())
    data.pop("schema_version")
    (d / "result.json").write_text(json.dumps(data))
    assert not is_complete(d)
    assert not is_complete(tmp_path / "missing")


def test_discover_inputs(tmp_path):
    (tmp_path / "b.PNG").write_bytes(b"x")
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.jpg").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in discover_inputs(tmp_path)] == ["a.jpg", "b.PNG"]
    assert discover_inputs([tmp_path / "notes.txt"]) == [tmp_path / "notes.txt"]
    with pytest.raises(InputError, match="no such file"):
        discover_inputs([tmp_path / "nope.jpg"])
    with pytest.raises(InputError, match="no images"):
        discover_inputs(tmp_path / "sub")


def test_bad_arguments_and_duplicate_stems(tmp_path):
    inputs = make_inputs(tmp_path / "in", names=(), bad=True)
    with pytest.raises(InputError, match="unknown engine"):
        run_batch(inputs, tmp_path / "out", engine="spark")
    with pytest.raises(InputError, match="workers"):
        run_batch(inputs, tmp_path / "out", workers=0)
    with pytest.raises(InputError, match="address"):
        run_batch(inputs, tmp_path / "out", address="10.0.0.1:6379")
    other = tmp_path / "other"
    other.mkdir()
    (other / "broken.png").write_bytes(b"also not an image")
    report = run_batch(
        [inputs / "broken.jpg", other / "broken.png"],
        tmp_path / "out",
        workers=1,
        quiet=True,
        report=False,
    )
    assert [i.status for i in report.items] == ["failed", "failed"]
    assert "already used by" in report.items[1].error


def test_rerun_removes_temporaries_a_killed_run_left(tmp_path):
    inputs = make_inputs(tmp_path / "in", names=(), bad=True)
    out = tmp_path / "out"
    # What a worker killed outright (SIGKILL, power loss) leaves: nobody could delete it.
    (out / "broken").mkdir(parents=True)
    stale = out / "broken" / ".face.obj.tmp-k1ll3d.obj"
    stale.write_text("half a mesh")
    report = run_batch(inputs, out, workers=1, quiet=True, report=False)
    assert [i.status for i in report.items] == ["failed"]
    assert not stale.exists()


def test_memory_budget_serialises_photos_that_do_not_fit(tmp_path):
    from PIL import Image

    from monoscan.pipeline.batch import BASE_PEAK_MB, PEAK_MB_PER_MEGAPIXEL, estimate_peak_mb

    Image.new("RGB", (2000, 1500)).save(tmp_path / "big.png")
    assert estimate_peak_mb(tmp_path / "big.png") == pytest.approx(
        BASE_PEAK_MB + 3.0 * PEAK_MB_PER_MEGAPIXEL
    )
    assert estimate_peak_mb(tmp_path / "missing.png") == BASE_PEAK_MB
    inputs = make_inputs(tmp_path / "in", names=(), bad=True)
    (inputs / "broken2.jpg").write_bytes(b"not an image either")
    # Two free workers, but a budget that fits one photo at a time: they must not overlap.
    report = run_batch(
        inputs, tmp_path / "out", workers=2, memory_mb=BASE_PEAK_MB * 1.5, quiet=True, report=False
    )
    a, b = sorted(report.items, key=lambda i: i.started)
    assert a.status == b.status == "failed"
    assert a.finished <= b.started


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "monoscan.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_cli_exit_codes(first_run, tmp_path):
    inputs, out, _ = first_run
    # Everything complete except the broken file: exit 2, nothing redone.
    proc = _cli("batch", str(inputs), "--out", str(out), "-q", "--no-report")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    assert "0 done, 3 skipped, 1 failed" in stdout
    # Only good inputs: exit 0.
    good = [str(inputs / PORTRAITS[0])]
    proc = _cli("batch", *good, "--out", str(out), "-q", "--no-report")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "1 skipped" in stdout


@pytest.mark.slow
def test_ctrl_c_leaves_only_complete_outputs(tmp_path):
    names = sorted(p.name for p in (SHARED_DATA / "portraits").iterdir())[:8]
    inputs = make_inputs(tmp_path / "in", names=names, bad=False)
    out = tmp_path / "out"
    # Ctrl-C in a terminal signals the whole process group: reproduce that.
    proc = _cli(
        "batch", str(inputs), "--out", str(out), "--workers", "2", "-q", start_new_session=True
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(out.glob("*/result.json")):
        time.sleep(0.2)
    assert list(out.glob("*/result.json")), "no result finished in time"
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    data = json.loads((out / "batch.json").read_text())
    assert data["interrupted"] is True
    statuses = {Path(i["input"]).stem: i["status"] for i in data["items"]}
    assert set(statuses.values()) <= {"done", "pending"} and "pending" in statuses.values()
    for stem, status in statuses.items():
        assert (status == "done") == is_complete(out / stem), stem
        if status == "pending" and (out / stem).exists():
            assert not (out / stem / "result.json").exists()
    assert not list(out.rglob(".*.tmp-*"))
    # No worker outlived the batch.
    for _ in range(50):
        left = subprocess.run(
            ["pgrep", "-a", "-s", str(proc.pid)], check=False, capture_output=True, text=True
        ).stdout.strip()
        if not left:
            break
        time.sleep(0.2)
    assert left == ""
    # Resuming finishes the rest without redoing what was done.
    report = run_batch(inputs, out, workers=2, quiet=True)
    done_before = {s for s, st in statuses.items() if st == "done"}
    assert {Path(i.input).stem for i in report.items if i.status == "skipped"} == done_before
    assert report.ok


@pytest.mark.slow
def test_a_photo_whose_worker_dies_twice_fails_alone(tmp_path):
    import multiprocessing
    import threading

    inputs = make_inputs(tmp_path / "in", names=PORTRAITS[:2], bad=False)
    first, second = (inputs / n for n in PORTRAITS[:2])
    box = {}
    thread = threading.Thread(
        target=lambda: box.setdefault(
            "report",
            run_batch([first, second], tmp_path / "out", workers=1, quiet=True, report=False),
        )
    )
    thread.start()
    # A lost photo is retried once, alone: kill its worker both times.
    for _ in range(2):
        killed = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not multiprocessing.active_children():
            time.sleep(0.05)
        time.sleep(1.0)  # inside the first photo (model loading takes seconds)
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
            killed.add(child.pid)
        while (
            time.monotonic() < deadline
            and {c.pid for c in multiprocessing.active_children()} & killed
        ):
            time.sleep(0.05)  # until the dead worker is reaped and a new pool starts
    thread.join(240)
    a, b = box["report"].items
    assert a.status == "failed" and "worker process died" in a.error
    assert b.status == "done" and is_complete(tmp_path / "out" / second.stem)
