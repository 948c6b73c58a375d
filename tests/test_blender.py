"""Real-client check: Blender (PyPI ``bpy``) reads our USD strands and writes Alembic.

Skipped when ``bpy`` is not importable (``pip install 'bpy==4.2.*'`` on Python 3.11).
"""

from __future__ import annotations

import numpy as np
import pytest

from monoscan.core.errors import MonoscanError
from monoscan.core.strands import Strands
from monoscan.io.strands import write_strands

pytestmark = pytest.mark.bpy


def _strands() -> Strands:
    rng = np.random.default_rng(0)
    return Strands.from_list(
        [
            np.array([0.0, 1.7, 0.0]) + np.cumsum(rng.normal(scale=0.01, size=(k, 3)), axis=0)
            for k in rng.integers(2, 20, size=60)
        ]
    )


def _world_points(obj) -> np.ndarray:
    pos = np.array([p.position[:] for p in obj.data.points], dtype=np.float64)
    m = np.array(obj.matrix_world, dtype=np.float64)
    return pos @ m[:3, :3].T + m[:3, 3]


def _blender_frame(points: np.ndarray) -> np.ndarray:
    """monoscan (y up) -> Blender (z up): (x, y, z) -> (x, -z, y)."""
    p = np.asarray(points, dtype=np.float64)
    return np.stack([p[:, 0], -p[:, 2], p[:, 1]], axis=1)


@pytest.mark.parametrize("suffix", [".usdc", ".usda"])
def test_blender_imports_usd_strands_as_curves(tmp_path, suffix):
    bpy = pytest.importorskip("bpy")
    s = _strands()
    path = write_strands(tmp_path / f"hair{suffix}", s)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert bpy.ops.wm.usd_import(filepath=str(path)) == {"FINISHED"}
    curves = [o for o in bpy.data.objects if o.type == "CURVES"]
    assert len(curves) == 1
    data = curves[0].data
    assert len(data.curves) == s.n_strands
    assert [c.points_length for c in data.curves] == s.counts.tolist()
    # Same points, root to tip, after Blender's own y-up -> z-up conversion.
    np.testing.assert_allclose(_world_points(curves[0]), _blender_frame(s.points), atol=1e-6)
    bpy.ops.wm.read_factory_settings(use_empty=True)


def test_alembic_round_trip_through_blender(tmp_path):
    bpy = pytest.importorskip("bpy")
    from monoscan.io.strands.alembic import write_alembic

    s = _strands()
    path = write_strands(tmp_path / "hair.abc", s)  # dispatches to write_alembic
    assert path.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir()] == ["hair.abc"]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert bpy.ops.wm.alembic_import(filepath=str(path), as_background_job=False) == {"FINISHED"}
    curves = [o for o in bpy.data.objects if o.type in ("CURVES", "CURVE")]
    assert len(curves) == 1
    assert [c.points_length for c in curves[0].data.curves] == s.counts.tolist()
    np.testing.assert_allclose(_world_points(curves[0]), _blender_frame(s.points), atol=1e-6)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    with pytest.raises(MonoscanError, match=".abc"):
        write_alembic(tmp_path / "hair.obj", s)


def test_alembic_without_bpy_gives_a_clear_error(tmp_path, monkeypatch):
    import builtins

    from monoscan.io.strands import alembic

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "bpy":
            raise ImportError("No module named 'bpy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    assert not alembic.bpy_available()
    with pytest.raises(MonoscanError, match="pip install 'bpy"):
        alembic.write_alembic(tmp_path / "x.abc", _strands())
    assert not (tmp_path / "x.abc").exists()
