"""The viewer on any result folder: every command's result, malformed and hostile folders, and
the server's Host check (DNS rebinding).

Each folder here is made by hand in a few milliseconds (no reconstruction runs): a minimal
reconstruct-like result, a body result written by the body writer on small arrays, and a
small synthetic scene. A fuzz case passes when the live page, the report and the CLI all
answer (a page listing the problem, or one ``error:`` line), without a traceback, quickly.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import trimesh

from monoscan.cli import main
from monoscan.io.results import SCHEMA_VERSION, is_complete
from monoscan.viewer.page import index_page, list_results, result_page
from monoscan.viewer.report import write_report, write_reports
from monoscan.viewer.scene import LAYER_NODE_PREFIX, split_glb
from monoscan.viewer.server import make_server, serve_in_thread

SECRET = "SECRET-OUTSIDE-THE-FOLDER"
#: Seconds one fuzz case may take (page, report and a server request together).
CASE_LIMIT_S = 5.0


def _png(rgb=(10, 120, 200), size=(6, 4)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, rgb).save(buf, format="PNG")
    return buf.getvalue()


def _box_glb() -> bytes:
    return trimesh.creation.box(extents=(0.2, 0.25, 0.2)).export(file_type="glb")


def _reconstruct_like(folder: Path) -> Path:
    """A small folder shaped like ``monoscan reconstruct``'s (same result.json keys)."""
    folder.mkdir(parents=True)
    (folder / "face.glb").write_bytes(_box_glb())
    (folder / "overlay.png").write_bytes(_png())
    (folder / "crop.png").write_bytes(_png((200, 10, 10)))
    result = {
        "schema_version": SCHEMA_VERSION,
        "monoscan_version": "0.1.0",
        "input": {"path": "/photos/p.png", "sha256": "ab", "width": 6, "height": 4, "notes": []},
        "options": {"formats": ["glb"]},
        "face": {"index": 0, "faces_found": 1, "box_px": [0, 0, 2, 2], "detector_score": 0.875},
        "camera": {"metres_per_pixel": 0.001, "scale_method": "iris"},
        "hair3d": None,
        "pose": None,
        "artifacts": {
            "face.glb": {"meaning": "dense face mesh", "vertices": 8, "faces": 12},
            "overlay.png": {"meaning": "photo with landmarks"},
            "crop.png": {"meaning": "crop"},
        },
        "timings_s": {"detect": 0.5, "write": 0.25},
        "notes": ["a note"],
        "versions": {"python": "3.11"},
    }
    (folder / "result.json").write_text(json.dumps(result, indent=2))
    return folder


def _body_result():
    from monoscan.body.parts import PartCrop
    from monoscan.body.reconstruct import BodyResult
    from monoscan.perception.pose import PoseResult

    rng = np.random.default_rng(0)
    mesh = trimesh.creation.box(extents=(0.4, 1.7, 0.25))
    mesh.visual.vertex_colors = np.full((len(mesh.vertices), 4), 180, np.uint8)
    h, w = 16, 12
    mask = np.zeros((h, w), bool)
    mask[2:14, 3:9] = True
    depth = np.where(mask, 0.1, np.nan).astype(np.float32)
    normal = np.zeros((h, w, 3), np.float32)
    normal[mask] = (0, 0, 1)
    pose = PoseResult(
        landmarks=(rng.random((33, 3)) * 10).astype(np.float32),
        visibility=np.ones(33, np.float32),
    )
    return BodyResult(
        mesh=mesh,
        front_depth=depth,
        back_depth=depth - 0.2,
        front_normal=normal,
        back_normal=-normal,
        mask=mask,
        pose=pose,
        keypoints_world=rng.random((33, 3)),
        parts=[PartCrop("torso", (4, 3), np.array([[1.0, 0, -2], [0, 1.0, -3]]))],
        scale=0.1,
        origin_px=np.array([6.0, 3.0, 0.0]),
        map_scale=1.0,
        height_m=1.7,
        height_source="prior 1.7 m",
        poisson_depth=6,
        timings={"pose": 0.1, "total": 0.5},
    )


def _body(folder: Path) -> Path:
    """A body result written by the body command's writer."""
    from monoscan.core.photo import Photo
    from monoscan.pipeline.body import save_body

    rgb = np.full((16, 12, 3), 90, np.uint8)
    photo = Photo(rgb=rgb, path=Path("/photos/person.png"), sha256="cd")
    save_body(_body_result(), rgb, folder, photo=photo)
    return folder


def _outside(base: Path) -> Path:
    """Files outside every result folder that nothing may read."""
    out = base / "outside"
    out.mkdir(exist_ok=True)
    (out / "secret.txt").write_text(SECRET)
    (out / "secret.png").write_bytes(_png((1, 2, 3), (7, 5)))
    (out / "secret.json").write_text(json.dumps({"schema_version": "1.0", "token": SECRET}))
    (out / "secret.glb").write_bytes(_box_glb())
    return out


@pytest.fixture(scope="module")
def _served(tmp_path_factory):
    root = tmp_path_factory.mktemp("hard") / "results"
    root.mkdir()
    srv, url = serve_in_thread(root, port=0)
    yield root, url
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def server_root(_served):
    """The served results folder, emptied after each test (one server for the module)."""
    root, url = _served
    yield root, url
    for p in root.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    if (root.parent / "outside").is_dir():
        shutil.rmtree(root.parent / "outside")


def _request(url: str, path: str, host: str | None = None, method: str = "GET"):
    """(status, body) of one request; ``host`` forges the Host header (None: the real one,
    "" sends none)."""
    h, p = url.split("//")[1].strip("/").rsplit(":", 1)
    conn = http.client.HTTPConnection(h, int(p), timeout=30)
    try:
        conn.putrequest(method, path, skip_host=host is not None, skip_accept_encoding=True)
        if host:
            conn.putheader("Host", host)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def _assert_renders(folder: Path, url: str, root: Path, expect: str | None = None) -> str:
    """The live page, scene, index, report and CLI all answer for ``folder``; returns the
    page. ``expect`` is a regular expression the page's problem list must match."""
    t = time.perf_counter()
    name = folder.name
    status, body = _request(url, f"/{name}/")
    assert status == 200, body[:300]
    page = body.decode("utf-8")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "Traceback" not in page and SECRET not in page
    if expect is not None:
        problems = re.search(r"<h2>Problems</h2><ul>(.*?)</ul>", page, re.S)
        assert problems and re.search(expect, problems.group(1)), page[:3000]
    status, glb = _request(url, f"/{name}/scene.glb")
    assert status in (200, 404) and SECRET.encode() not in glb
    if status == 200:
        split_glb(glb)
    status, body = _request(url, "/")
    assert status == 200 and f'href="{name}/"' in body.decode()
    report = write_report(folder).read_text()
    assert SECRET not in report and "Traceback" not in report
    for ref in re.findall(r'src="data:[^;]+;base64,([^"]+)"', report):
        assert SECRET.encode() not in base64.b64decode(ref)
    if expect is not None:
        assert re.search(expect, report)
    assert time.perf_counter() - t < CASE_LIMIT_S
    return page


# --------------------------------------------------------------------------- every command


def test_body_result_uses_the_one_result_schema(tmp_path):
    folder = _body(tmp_path / "person")
    res = json.loads((folder / "result.json").read_text())
    assert res["schema_version"] == SCHEMA_VERSION
    assert res["input"] == {
        "path": "/photos/person.png",
        "sha256": "cd",
        "width": 12,
        "height": 16,
        "notes": [],
    }
    # Keys the body's users rely on stay; every file is listed and described.
    for key in ("scale_m_per_px", "origin_px", "height_m", "mesh", "timings_s", "notes"):
        assert key in res, key
    assert set(res["artifacts"]) | {"result.json"} == set(res["files"])
    assert res["artifacts"]["body.glb"]["vertices"] == 8
    assert "parts/torso.png" in res["artifacts"]
    assert is_complete(folder)


def test_body_inside_a_reconstruct_result_has_the_schema_too(tmp_path):
    from monoscan.pipeline.body import save_body

    rgb = np.full((16, 12, 3), 90, np.uint8)
    save_body(_body_result(), rgb, tmp_path / "body")
    res = json.loads((tmp_path / "body" / "result.json").read_text())
    assert res["schema_version"] == SCHEMA_VERSION
    assert res["input"]["width"] == 12 and res["input"]["height"] == 16
    assert is_complete(tmp_path / "body")


def test_body_result_renders(server_root, capsys):
    root, url = server_root
    folder = _body(root / "body_result")
    page = _assert_renders(folder, url, root)
    assert "<h2>Problems</h2>" not in page
    assert 'src="scene.glb"' in page  # the body mesh is the 3D view
    assert "front_normal.png" in page and "mask.png" in page
    assert "height_m" in page and "12 x 16 px" in page
    assert _layers(page) == [("body", True)]  # the body alone starts on
    status, glb = _request(url, "/body_result/scene.glb")
    mesh = trimesh.load(io.BytesIO(glb), file_type="glb", force="mesh")
    np.testing.assert_allclose(mesh.extents, (0.4, 1.7, 0.25), atol=1e-6)
    assert _card_thumbnail(url, "body_result") == "body_result/front_normal.png"
    assert main(["view", str(root), "--write-reports"]) == 0
    assert str(folder / "report.html") in capsys.readouterr().out
    shutil.rmtree(folder)


def test_real_body_run_renders(server_root):
    """``monoscan body`` on a real photo (a few seconds at a small size), then the viewer."""
    from conftest import shared

    photo = shared("fullbody", "pifu__ryota.png")
    root, url = server_root
    args = ["--poisson-depth", "6", "--points", "5000", "--max-size", "512", "-q"]
    assert main(["body", str(photo), "--out", str(root), *args]) == 0
    folder = root / "pifu__ryota"
    assert is_complete(folder)
    res = json.loads((folder / "result.json").read_text())
    assert res["input"]["path"] == str(photo) and res["input"]["width"] == 512
    page = _assert_renders(folder, url, root)
    assert "<h2>Problems</h2>" not in page and 'src="scene.glb"' in page
    assert "512 x 512 px" in page


def test_old_body_result_renders_with_notes(server_root):
    """A body result.json from before the one schema: ``input`` a string, no version."""
    root, url = server_root
    folder = _body(root / "old_body")
    res = json.loads((folder / "result.json").read_text())
    for key in ("schema_version", "monoscan_version", "artifacts"):
        del res[key]
    res["input"] = "/photos/person.png"
    res["input_size"] = [12, 16]
    (folder / "result.json").write_text(json.dumps(res))
    page = _assert_renders(folder, url, root, expect="no schema_version")
    assert "&#x27;input&#x27; is text, expected an object" in page
    assert 'src="scene.glb"' in page
    shutil.rmtree(folder)


def _layers(page: str) -> list[tuple[str, bool]]:
    """(layer, starts on) of the page's 3D layer checkboxes."""
    found = re.findall(r'<input type="checkbox" data-layer="(\w+)"( checked)?>', page)
    return [(key, bool(on)) for key, on in found]


def _roots(glb: bytes) -> list[str]:
    js, _ = split_glb(glb)
    return [js["nodes"][i]["name"] for i in js["scenes"][0]["nodes"]]


def _card_thumbnail(url: str, name: str) -> str | None:
    _, body = _request(url, "/")
    card = re.search(
        rf'<figure class="card"><a href="{name}/">(?:<img src="([^"]+)")?', body.decode()
    )
    assert card, name
    return card.group(1)


def test_reconstruct_with_body_shows_the_body_as_a_layer(server_root):
    """``reconstruct --body`` writes ``body/``: its mesh is a layer of the result's scene (off
    at first), beside the face."""
    root, url = server_root
    folder = _reconstruct_like(root / "with_body")
    _body(folder / "body")
    page = _assert_renders(folder, url, root)
    assert "<h2>Problems</h2>" not in page
    assert _layers(page) == [("face", True), ("body", False)]
    assert 'title="body/body.glb"' in page
    _, glb = _request(url, "/with_body/scene.glb")
    assert _roots(glb) == [LAYER_NODE_PREFIX + "face", LAYER_NODE_PREFIX + "body"]
    scene = trimesh.load(io.BytesIO(glb), file_type="glb")
    np.testing.assert_allclose(sorted(scene.extents), sorted((0.4, 1.7, 0.25)), atol=1e-6)
    assert _card_thumbnail(url, "with_body") == "with_body/overlay.png"


def test_body_folder_linking_outside_is_not_shown(server_root):
    root, url = server_root
    out = _outside(root.parent)
    _body(out / "body")
    folder = _reconstruct_like(root / "linked_body")
    (folder / "body").symlink_to(out / "body", target_is_directory=True)
    page = _assert_renders(folder, url, root)
    assert _layers(page) == [("face", True)]
    folder = _reconstruct_like(root / "linked_body_mesh")
    (folder / "body").mkdir()
    (folder / "body" / "body.glb").symlink_to(out / "secret.glb")
    page = _assert_renders(folder, url, root)
    assert _layers(page) == [("face", True)]


@pytest.fixture(scope="module")
def synthetic_scene(tmp_path_factory):
    from monoscan.synth.generate import generate_scene, write_scene

    folder = tmp_path_factory.mktemp("synth") / "scene_000003"
    write_scene(generate_scene(3, width=96, height=96), folder)
    return folder


def test_synthetic_scene_folder_renders(server_root, synthetic_scene):
    root, url = server_root
    folder = root / synthetic_scene.name
    shutil.copytree(synthetic_scene, folder)
    from monoscan.viewer.page import read_folder

    assert read_folder(folder).kind == "synthetic scene"
    page = _assert_renders(folder, url, root)
    assert "<h2>Problems</h2>" not in page
    assert "image.png" in page and "counts.strands" in page
    # head.obj is in millimetres: shown in metres, like the strands.
    _, glb = _request(url, f"/{folder.name}/scene.glb")
    scene = trimesh.load(io.BytesIO(glb), file_type="glb")
    assert 0.1 < max(scene.extents) < 1.0
    assert [key for key, on in _layers(page) if on] == ["head", "strands"]
    assert _card_thumbnail(url, folder.name) is not None
    shutil.rmtree(folder)


def test_batch_output_folders_render(server_root, tmp_path):
    root, url = server_root
    # A batch's output folder as the root: its results and its failures.
    out = tmp_path / "batch_out"
    _reconstruct_like(out / "p1")
    items = [
        {"input": "p1.png", "status": "done"},
        {"input": "p2.png", "status": "failed", "error": "p2.png: no face found"},
        "not an item",
        {"status": "failed"},
    ]
    (out / "batch.json").write_text(json.dumps({"schema_version": "1", "items": items}))
    page = index_page(out)
    assert 'href="p1/"' in page and "p2.png: no face found" in page
    for bad in ("{", '{"items": 5}', "[1, 2]", '{"items": {"a": 1}}', "\xff"):
        (out / "batch.json").write_bytes(bad.encode("latin-1"))
        page = index_page(out)
        assert 'href="p1/"' in page and "<h2>Problems</h2>" in page, bad
    assert write_reports(out) == [out / "p1" / "report.html"]
    # A batch's output folder inside the served folder: a page of its own.
    nested = root / "a_batch"
    shutil.copytree(out, nested)
    (nested / "batch.json").write_text(json.dumps({"schema_version": "1", "items": items}))
    page = _assert_renders(nested, url, root)
    assert "batch" in page and "p2.png: no face found" in page
    shutil.rmtree(nested)


# --------------------------------------------------------------------------- fuzz result.json


def _deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


_CONTENTS = {
    "truncated": (lambda b: b[: len(b) // 2], "not valid JSON"),
    "truncated_one_byte": (lambda b: b[:-2], "not valid JSON"),
    "empty": (lambda b: b"", "not valid JSON"),
    "not_json": (lambda b: b"hello, world\n", "not valid JSON"),
    "not_utf8": (lambda b: b"\xff\xfe" + b.decode().encode("utf-16-le"), "not UTF-8"),
    "latin1": (lambda b: b'{"notes": ["caf\xe9"]}', "not UTF-8"),
    "a_list": (lambda b: b"[1, 2, 3]", "holds a list"),
    "a_string": (lambda b: b'"result"', "holds text"),
    "null": (lambda b: b"null", "holds null"),
    "nested_too_deep": (lambda b: _deep(100_000), "nested too deeply|not valid JSON"),
    "nested_deep": (lambda b: b'{"notes": ' + _deep(900) + b"}", "no schema_version"),
    "huge_integer": (lambda b: b'{"schema_version": ' + b"9" * 5000 + b"}", "not valid JSON"),
    "lone_surrogates": (
        lambda b: b'{"schema_version": "\\ud800", "notes": ["\\udc80"], "artifacts": {}}',
        "schema_version",
    ),
    "future_version": (lambda b: b.replace(b'"1.0"', b'"99.0"'), "schema_version"),
    "version_a_number": (lambda b: b.replace(b'"1.0"', b"1.0"), "schema_version"),
    "empty_object": (lambda b: b"{}", "no schema_version"),
}


@pytest.mark.parametrize("case", sorted(_CONTENTS))
def test_malformed_result_json(server_root, case):
    root, url = server_root
    folder = _reconstruct_like(root / f"c_{case}")
    make, expect = _CONTENTS[case]
    (folder / "result.json").write_bytes(make((folder / "result.json").read_bytes()))
    _assert_renders(folder, url, root, expect=expect)
    shutil.rmtree(folder)


_WRONG = [None, 0, -1.5, True, "text", "", [], {}, [1, "a", None, {}], {"a": {"b": [1]}}]
_TOP_KEYS = [
    "schema_version",
    "monoscan_version",
    "input",
    "options",
    "face",
    "camera",
    "hair3d",
    "pose",
    "artifacts",
    "timings_s",
    "notes",
    "versions",
    "files",
    "mesh",
    "items",
]


def test_every_top_level_key_with_every_type(server_root):
    root, url = server_root
    folder = _reconstruct_like(root / "types")
    good = json.loads((folder / "result.json").read_text())
    for key in _TOP_KEYS:
        for value in _WRONG:
            (folder / "result.json").write_text(json.dumps({**good, key: value}))
            page = _assert_renders(folder, url, root)
            nullable = key in ("input", "face") and value is None
            if (
                key in ("input", "face", "artifacts", "timings_s", "notes")
                and not isinstance(value, type(good[key]))
                and not nullable
            ):
                assert "<h2>Problems</h2>" in page, (key, value)
    shutil.rmtree(folder)


def test_each_key_missing(server_root):
    root, url = server_root
    folder = _reconstruct_like(root / "missing_keys")
    good = json.loads((folder / "result.json").read_text())
    for key in good:
        (folder / "result.json").write_text(json.dumps({k: v for k, v in good.items() if k != key}))
        page = _assert_renders(folder, url, root)
        # The keys every result has are missed on the page; the others are simply not shown.
        if key in ("schema_version", "artifacts"):
            assert "<h2>Problems</h2>" in page, key
    shutil.rmtree(folder)


def test_wrong_types_below_the_top_level(server_root):
    root, url = server_root
    folder = _reconstruct_like(root / "nested_types")
    good = json.loads((folder / "result.json").read_text())
    variants = [
        {"face": {"detector_score": "high", "faces_found": [1]}},
        {"face": {"detector_score": True}},
        {"input": {"width": {"a": 1}, "height": None, "path": 5}},
        {"timings_s": {"a": "slow", "b": None, "c": [1]}},
        {"timings_s": {"a": True}},
        {"artifacts": {"face.glb": {"vertices": {"x": 1}, "companions": 5}}},
        {"artifacts": {"face.glb": {"companions": "face.png"}, "x.png": []}},
        {"artifacts": {"face.glb": {"companions": [1, None, {}]}, "crop.png": 7}},
        {"artifacts": {"crop.png": {"meaning": {"a": 1}}}},
        {"notes": [{"a": 1}, None, 1.5, "x" * 100_000]},
        {"camera": {"a": {"b": 1}, "c": [1, 2]}},
        {"hair3d": {"strands": "many"}},
        {"face": {"detector_score": float("nan")}, "timings_s": {"a": float("inf")}},
        {"notes": ["</pre><script>alert(1)</script>"]},
    ]
    for patch in variants:
        (folder / "result.json").write_text(json.dumps({**good, **patch}))
        page = _assert_renders(folder, url, root)
        assert "<script>alert" not in page
    shutil.rmtree(folder)


# --------------------------------------------------------------------------- files it names


def test_listed_files_missing(server_root):
    root, url = server_root
    folder = _reconstruct_like(root / "missing_files")
    for name in ("face.glb", "overlay.png", "crop.png"):
        (folder / name).unlink()
    page = _assert_renders(folder, url, root, expect="listed files missing: face.glb")
    assert "No mesh in this result." in page
    shutil.rmtree(folder)


def test_listed_paths_escaping_the_folder(server_root):
    root, url = server_root
    out = _outside(root.parent)
    folder = _reconstruct_like(root / "escaping")
    res = json.loads((folder / "result.json").read_text())
    rel = os.path.relpath(out / "secret.png", folder)
    res["artifacts"].update(
        {
            rel: {"meaning": "escape"},
            str(out / "secret.png"): {"meaning": "absolute"},
            "..\\..\\outside\\secret.png": {},
            "face.glb": {"companions": [os.path.relpath(out / "secret.txt", folder)]},
        }
    )
    res["files"] = [rel, "/etc/passwd", "ok/../../x.png"]
    (folder / "result.json").write_text(json.dumps(res))
    page = _assert_renders(folder, url, root, expect="leading out of the folder")
    assert "secret.png" not in re.sub(r"<li.*?</li>|<pre>.*?</pre>", "", page, flags=re.S)
    # A mesh naming a material and texture outside the folder: they are not read.
    (out / "steal.mtl").write_text("newmtl m\nKd 1 1 1\nmap_Kd secret.png\n")
    (folder / "face.glb").unlink()
    obj = "mtllib ../../outside/steal.mtl\nusemtl m\nv 0 0 0\nv 0.1 0 0\nv 0 0.1 0\n"
    obj += "vt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\n"
    (folder / "head.obj").write_text(obj)
    _assert_renders(folder, url, root)
    _, glb = _request(url, "/escaping/scene.glb")
    js, binary = split_glb(glb)
    from PIL import Image

    for image in js.get("images", []):  # trimesh's 2x2 placeholder at most, not the 7x5 secret
        view = js["bufferViews"][image["bufferView"]]
        start = view.get("byteOffset", 0)
        data = binary[start : start + view["byteLength"]]
        assert Image.open(io.BytesIO(data)).size != (7, 5)
    shutil.rmtree(folder)


def test_symlinks_pointing_outside(server_root):
    root, url = server_root
    out = _outside(root.parent)
    folder = _reconstruct_like(root / "links_out")
    (folder / "overlay.png").unlink()
    (folder / "overlay.png").symlink_to(out / "secret.png")
    (folder / "face.glb").unlink()
    (folder / "face.glb").symlink_to(out / "secret.glb")
    (folder / "strands.ply").symlink_to(out / "secret.txt")
    page = _assert_renders(folder, url, root, expect="linking outside the folder")
    secret_png = base64.b64encode((out / "secret.png").read_bytes()).decode()
    assert secret_png not in write_report(folder).read_text()
    assert "No mesh in this result." in page
    for name in ("overlay.png", "face.glb", "strands.ply"):
        assert _request(url, f"/links_out/{name}")[0] == 404
    # result.json itself a link out: not read, not shown, still a page.
    (folder / "result.json").unlink()
    (folder / "result.json").symlink_to(out / "secret.json")
    _assert_renders(folder, url, root, expect="result.json links outside the folder")
    shutil.rmtree(folder)


@pytest.mark.parametrize(
    "name, data",
    [
        ("face.glb", b"glTF garbage"),
        ("face.glb", b""),
        ("face.glb", b"glTF\x02\x00\x00\x00\xff\xff\xff\xff\x05\x00\x00\x00JSON{"),
        ("head.obj", b"\x00\x01garbage"),
        ("head.ply", b"ply\nformat binary_little_endian 1.0\nelement vertex 99999999\n"),
        ("strands.data", b"\xff\xff\xff\x7f"),
        ("strands.ply", b"ply\ngarbage\n"),
        ("hair.glb", b"glTF\x02\x00\x00\x00"),
    ],
)
def test_unreadable_scene_files(server_root, name, data):
    root, url = server_root
    folder = _reconstruct_like(root / "bad_scene")
    (folder / name).write_bytes(data)
    _assert_renders(folder, url, root, expect="cannot be read")
    shutil.rmtree(folder)


def test_unreadable_picture_and_special_files(server_root):
    root, url = server_root
    folder = _reconstruct_like(root / "special")
    (folder / "overlay.png").write_bytes(b"not a png")  # shown as is; the browser copes
    (folder / "crop.png").unlink()
    os.mkfifo(folder / "crop.png")  # a FIFO would block a read forever
    (folder / "hair_mask.png").symlink_to(folder / "hair_mask.png")  # a link loop
    _assert_renders(folder, url, root)
    os.unlink(folder / "crop.png")
    os.unlink(folder / "hair_mask.png")
    (folder / "result.json").unlink()
    os.mkfifo(folder / "result.json")
    _assert_renders(folder, url, root, expect="not a regular file")
    shutil.rmtree(folder)


def test_odd_folder_names(server_root):
    root, url = server_root
    folders = [_reconstruct_like(root / n) for n in ("a b#c?d", "é", "<i>x&amp;")]
    status, body = _request(url, "/")
    assert status == 200
    page = body.decode()
    assert 'href="a%20b%23c%3Fd/"' in page and "<i>x" not in page
    for f in folders:
        status, body = _request(url, "/" + _quote(f.name) + "/")
        assert status == 200 and "<!doctype html>" in body.decode()
        assert write_report(f).is_file()
    # A folder name that is not UTF-8 is left out, and never breaks the index.
    bad = os.fsencode(root) + b"/caf\xe9"
    os.mkdir(bad)
    shutil.copy(folders[0] / "result.json", os.fsdecode(bad) + "/result.json")
    assert _request(url, "/")[0] == 200
    assert "caf" not in " ".join(list_results(root))
    for f in folders:
        shutil.rmtree(f)
    shutil.rmtree(os.fsdecode(bad))


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


# --------------------------------------------------------------------------- the CLI


def test_write_reports_reports_each_failure_and_goes_on(tmp_path, capsys):
    root = tmp_path / "out"
    good = _reconstruct_like(root / "good")
    broken = _reconstruct_like(root / "broken")
    (broken / "result.json").write_bytes(b'{"schema_version": "1.0", "artif')
    blocked = _reconstruct_like(root / "blocked")
    (blocked / "report.html").mkdir()  # the report cannot be written there
    _body(root / "body")
    assert main(["view", str(root), "--write-reports"]) == 2
    cap = capsys.readouterr()
    assert sorted(cap.out.split()) == sorted(
        str(root / n / "report.html") for n in ("body", "broken", "good")
    )
    assert cap.err.strip().splitlines() == [
        f"error: {blocked}: cannot write report.html (Is a directory)"
    ]
    assert "not valid JSON" in (broken / "report.html").read_text()
    assert (good / "report.html").is_file()
    # Without failures: exit 0.
    shutil.rmtree(blocked)
    assert main(["view", str(root), "--write-reports"]) == 0
    assert capsys.readouterr().err == ""


def test_view_refuses_one_result_of_any_kind(tmp_path, capsys):
    folder = _body(tmp_path / "b")
    assert main(["view", str(folder), "--write-reports"]) == 2
    assert "is one result" in capsys.readouterr().err
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "scene.json").write_text("{}")
    assert main(["view", str(tmp_path / "s"), "--write-reports"]) == 2
    assert "is one result" in capsys.readouterr().err


def test_page_of_a_folder_without_a_result(tmp_path):
    page = result_page(tmp_path, inline=False)
    assert "no result.json" in page


# --------------------------------------------------------------------------- Host header


def test_host_names_allowed():
    from monoscan.viewer.server import allowed_hosts, host_allowed

    allowed = allowed_hosts("127.0.0.1")
    for host in (
        "localhost",
        "localhost:8000",
        "LOCALHOST:1",
        "127.0.0.1",
        "127.0.0.1:65535",
        "[::1]",
        "[::1]:8000",
    ):
        assert host_allowed(host, allowed), host
    for host in (
        None,
        "",
        "evil.example",
        "evil.example:8000",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "evil.example@localhost",
        "localhost:80@evil.example",
        "localhost:abc",
        "localhost:8000:1",
        "::1",
        "[::1",
        "127.0.0.2",
        "0.0.0.0",
        "localhost/",
        " ",
    ):
        assert not host_allowed(host, allowed), host
    assert host_allowed("0.0.0.0:80", allowed_hosts("0.0.0.0"))
    assert host_allowed("[::]:80", allowed_hosts("::"))
    assert host_allowed("MyBox.Lan:8000", allowed_hosts("mybox.lan"))


def test_forged_host_header_is_refused(tmp_path):
    root = tmp_path / "out"
    _reconstruct_like(root / "p1")
    srv, url = serve_in_thread(root, port=0)
    try:
        port = srv.server_address[1]
        for host in ("localhost", f"localhost:{port}", f"127.0.0.1:{port}", "[::1]:1"):
            for path in ("/", "/p1/", "/p1/result.json"):
                assert _request(url, path, host=host)[0] == 200, (host, path)
        for host in (f"evil.example:{port}", "attacker.test", "", f"127.0.0.1.nip.io:{port}"):
            for path in ("/", "/p1/", "/p1/result.json", "/p1/scene.glb", "/-/static/x"):
                for method in ("GET", "HEAD"):
                    status, body = _request(url, path, host=host, method=method)
                    assert status == 403, (host, path, method)
                    assert b"p1" not in body and b"schema_version" not in body
                    if method == "GET":
                        assert body.startswith(b"forbidden") and len(body) < 100
    finally:
        srv.shutdown()
        srv.server_close()


def test_server_bound_to_another_loopback_address_answers_its_own_name(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    try:
        srv = make_server(root, "127.0.0.2", 0)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"cannot bind 127.0.0.2: {exc}")
    import threading

    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        port = srv.server_address[1]
        url = f"http://127.0.0.2:{port}/"
        assert _request(url, "/")[0] == 200  # Host: 127.0.0.2:port
        assert _request(url, "/", host="localhost")[0] == 200
        assert _request(url, "/", host=f"127.0.0.3:{port}")[0] == 403
    finally:
        srv.shutdown()
        srv.server_close()
