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


@pytest.fixture
def local_ray(tmp_path_factory, monkeypatch):
    # Ray writes ~/.ray and /tmp/ray: keep both inside the test's temporary folder.
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
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
