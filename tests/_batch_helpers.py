"""Helpers shared by test_batch.py and test_batch_ray.py (not a test module)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

PORTRAITS = ("deca__exp_5.jpg", "deep3dfacerecon__000006.jpg", "3ddfav2__JianzhuGuo.jpg")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def make_inputs(folder: Path, names=PORTRAITS, bad: bool = True) -> Path:
    """A folder of links to shared portraits (never copies) plus, optionally, a broken JPEG."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).symlink_to(SHARED_DATA / "portraits" / name)
    if bad:
        (folder / "broken.jpg").write_bytes(b"this is not a JPEG\n")
    return folder


def comparable(result_json: Path) -> dict:
    """result.json without what legitimately differs between runs (timings)."""
    data = json.loads(result_json.read_text())
    data.pop("timings_s")
    return data


def fingerprint(result_dir: Path) -> dict[str, str]:
    """sha256 of every file a result lists (artifacts and companions)."""
    data = json.loads((result_dir / "result.json").read_text())
    names = set(data["artifacts"])
    for meta in data["artifacts"].values():
        names.update(meta.get("companions", []))
    return {n: hashlib.sha256((result_dir / n).read_bytes()).hexdigest() for n in sorted(names)}
