"""monoscan.pipeline.batch on a local Ray instance gives exactly the local engine's results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _batch_helpers import SHARED_DATA, comparable, fingerprint, make_inputs

from monoscan.pipeline import Options
from monoscan.pipeline.batch import run_batch

ray = pytest.importorskip(
    "ray", reason="ray is not installed (pip install 'monoscan[distributed]')"
)

pytestmark = [
    pytest.mark.skipif(
        not (SHARED_DATA / "portraits").is_dir(),
        reason=f"development data not found: {SHARED_DATA / 'portraits'}",
    ),
]

NAMES = ("deca__exp_5.jpg", "deep3dfacerecon__000006.jpg")


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """One Ray session for the module (a second start in one process can time out)."""
    # Ray writes ~/.ray and /tmp/ray: keep both inside the test's temporary folder.
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(
            num_cpus=2,
            _temp_dir=str(tmp_path_factory.mktemp("r")),
            include_dashboard=False,
            log_to_driver=False,
        )
        yield
        ray.shutdown()


def test_ray_equals_local(tmp_path, local_ray):
    inputs = make_inputs(tmp_path / "in", names=NAMES, bad=True)
    # Light options keep this in the default run (Ray start-up and fresh workers dominate).
    options = Options(strands=0, head=False)
    local = run_batch(inputs, tmp_path / "local", options, workers=2, quiet=True, report=False)
    on_ray = run_batch(
        inputs, tmp_path / "ray", options, engine="ray", workers=2, quiet=True, report=False
    )
    assert ray.is_initialized()  # an existing session is reused, not shut down

    assert on_ray.engine == "ray"
    assert (
        [(Path(i.input).name, i.status) for i in on_ray.items]
        == [(Path(i.input).name, i.status) for i in local.items]
        == [("broken.jpg", "failed"), (NAMES[0], "done"), (NAMES[1], "done")]
    )
    assert on_ray.items[0].error == local.items[0].error
    data = json.loads((tmp_path / "ray" / "batch.json").read_text())
    assert data["engine"] == "ray" and data["counts"]["done"] == 2
    for name in NAMES:
        stem = Path(name).stem
        a, b = tmp_path / "local" / stem, tmp_path / "ray" / stem
        assert comparable(a / "result.json") == comparable(b / "result.json"), stem
        assert fingerprint(a) == fingerprint(b), stem
    # Ray workers are separate processes with their own peak memory.
    assert all(100 < rss < 2000 for rss in on_ray.peak_rss_mb.values())

    # Resume works the same way on Ray.
    (tmp_path / "ray" / Path(NAMES[0]).stem / "result.json").unlink()
    again = run_batch(inputs, tmp_path / "ray", options, engine="ray", quiet=True, report=False)
    assert [i.status for i in again.items] == ["failed", "done", "skipped"]
    assert fingerprint(tmp_path / "ray" / Path(NAMES[0]).stem) == fingerprint(
        tmp_path / "local" / Path(NAMES[0]).stem
    )


def test_interrupt_cancels_the_tasks_and_keeps_the_session(tmp_path, local_ray):
    import _thread
    import signal
    import threading
    import time

    names = ("3ddfav2__JianzhuGuo.jpg", "deca__exp_5.jpg", "mica__connelly.jpg")
    inputs = make_inputs(tmp_path / "in", names=names, bad=False)
    out = tmp_path / "out"

    def ctrl_c_once_photos_run() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(p.is_dir() for p in out.glob("*")):
            time.sleep(0.1)
        _thread.interrupt_main()  # as Ctrl-C would, in the thread running the batch

    # A shell starts background jobs with SIGINT ignored, and then Python installs no handler
    # and interrupt_main() does nothing: give this test the handler an interactive run has.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=ctrl_c_once_photos_run, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_batch(inputs, out, engine="ray", workers=2, quiet=True, report=False)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert ray.is_initialized()  # a session it did not start stays up

    data = json.loads((out / "batch.json").read_text())
    assert data["interrupted"] is True
    pending = [Path(i["input"]).stem for i in data["items"] if i["status"] == "pending"]
    assert pending
    # The running tasks were stopped: long after a photo would have finished, none has.
    time.sleep(12)
    for stem in pending:
        assert not (out / stem / "result.json").exists(), stem
    assert not list(out.rglob(".*.tmp-*"))
