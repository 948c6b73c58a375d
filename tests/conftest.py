"""Shared test fixtures: paths to ../shared/data and a reconstructed sample photo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Keep tools that write caches (onnxruntime, matplotlib) inside the test run.
os.environ.setdefault("MPLCONFIGDIR", str(ROOT / ".pytest_mpl"))
# The tests call the stages in this process: one BLAS thread, as the ``monoscan`` command
# sets, before NumPy loads (monoscan.cli imports no NumPy; a plugin that loads it first
# leaves the libraries' default)
from monoscan.cli import single_threaded_blas  # noqa: E402

single_threaded_blas()


def shared(*parts: str) -> Path:
    """Path under ../shared/data; skips the test when the development data is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"development data not found: {path}")
    return path


@pytest.fixture(scope="session")
def astronaut_rgb():
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def astronaut_path(tmp_path_factory, astronaut_rgb) -> Path:
    from monoscan.io.images import save_png

    return save_png(tmp_path_factory.mktemp("photos") / "astronaut.png", astronaut_rgb)
