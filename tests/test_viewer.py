"""The results viewer: server routes, path-traversal refusal, self-contained report.html, GLB."""

from __future__ import annotations

import base64
import http.client
import io
import json
import re
import urllib.request

import numpy as np
import pytest
import trimesh

import monoscan
from monoscan.core.errors import InputError
from monoscan.pipeline import Options
from monoscan.viewer.page import STATIC_DIR, list_results
from monoscan.viewer.report import write_report, write_reports
from monoscan.viewer.scene import LAYER_NODE_PREFIX, merge_glb, scene_glb, split_glb
from monoscan.viewer.server import serve_in_thread


@pytest.fixture(scope="module")
def results(tmp_path_factory, astronaut_path):
    """A results folder with one real result, an incomplete one, and a secret next to it."""
    base = tmp_path_factory.mktemp("view")
    root = base / "results"
    recon = monoscan.reconstruct(astronaut_path, Options())
    monoscan.write_outputs(recon, root)
    (root / "incomplete").mkdir()
    (root / "incomplete" / "face.obj").write_text("v 0 0 0\n")
    (base / "secret.txt").write_text("SECRET-OUTSIDE-ROOT")
    # Links that point out of the results folder: a file and a whole result folder.
    (root / "astronaut" / "leak.txt").symlink_to(base / "secret.txt")
    outside = base / "outside_result"
    outside.mkdir()
    (outside / "result.json").write_text(json.dumps({"schema_version": "1.0", "artifacts": {}}))
    (outside / "secret.txt").write_text("SECRET-OUTSIDE-ROOT")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    return root


@pytest.fixture(scope="module")
def server(results):
    srv, url = serve_in_thread(results, port=0)
    yield url
    srv.shutdown()
    srv.server_close()


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def _raw_get(base_url: str, raw_path: str) -> tuple[int, bytes]:
    """GET with the path sent byte for byte (urllib would normalise ``..``)."""
    host, port = base_url.split("//")[1].strip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.putrequest("GET", raw_path, skip_host=False, skip_accept_encoding=True)
    conn.endheaders()
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def test_binds_to_localhost_by_default(server):
    assert server.startswith("http://127.0.0.1:")


def test_index_lists_complete_results_only(server, results):
    assert list_results(results) == ["astronaut"]
    status, body, ctype = _get(server)
    assert status == 200 and ctype.startswith("text/html")
    page = body.decode()
    assert 'href="astronaut/"' in page
    assert "incomplete" not in page and "linked" not in page
    assert "monoscan results: 1" in page


def test_result_page_and_its_files(server, results):
    status, body, _ = _get(server + "astronaut/")
    assert status == 200
    page = body.decode()
    assert "<model-viewer" in page and 'src="scene.glb"' in page
    assert "/-/static/model-viewer.min.js" in page
    # Every picture the page links is served, byte for byte.
    for src in re.findall(r'<img src="([^"]+)"', page):
        status, data, ctype = _get(server + "astronaut/" + src)
        assert status == 200 and ctype == "image/png", src
        assert data == (results / "astronaut" / src).read_bytes()
    assert "overlay.png" in page
    # Metrics from result.json are on the page.
    result = json.loads((results / "astronaut" / "result.json").read_text())
    assert f"{result['face']['detector_score']:.3f}" in page
    status, glb, ctype = _get(server + "astronaut/scene.glb")
    assert status == 200 and ctype == "model/gltf-binary" and glb[:4] == b"glTF"
    # Every 3D layer of the result is in the scene, one named root node each, with a labelled
    # checkbox; the head and the strands start on, the others off.
    js, _ = split_glb(glb)
    roots = [js["nodes"][i]["name"] for i in js["scenes"][0]["nodes"]]
    layers = ["head", "strands", "hair_volume", "face", "relief"]
    assert roots == [LAYER_NODE_PREFIX + k for k in layers]
    boxes = re.findall(r'<input type="checkbox" data-layer="(\w+)"( checked)?>', page)
    assert boxes == [(k, " checked" if k in ("head", "strands") else "") for k in layers]
    scene = trimesh.load(io.BytesIO(glb), file_type="glb")
    head = trimesh.load(results / "astronaut" / "head.glb")

    def faces(s):
        return sorted(len(g.faces) for g in s.geometry.values() if isinstance(g, trimesh.Trimesh))

    assert set(faces(head)) <= set(faces(scene))
    status, js, ctype = _get(server + "-/static/model-viewer.min.js")
    assert status == 200 and ctype == "text/javascript"
    assert js == (STATIC_DIR / "model-viewer.min.js").read_bytes()
    status, _, _ = _get(server + "astronaut")  # redirected to the folder page
    assert status == 200


@pytest.mark.parametrize(
    "raw",
    [
        "/../secret.txt",
        "/astronaut/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/astronaut/%2e%2e/%2e%2e/secret.txt",
        "/astronaut/..%2f..%2fsecret.txt",
        "/astronaut/%2E%2E%2F%2E%2E%2Fsecret.txt",
        "/astronaut/..%5c..%5csecret.txt",
        "//etc/passwd",
        "/astronaut//etc/passwd",
        "/astronaut/%2fetc%2fpasswd",
        "/%2fetc%2fpasswd",
        "/etc/passwd",
        "/astronaut/leak.txt",  # symlink inside the folder pointing out
        "/linked/",  # a result folder that is a symlink out
        "/linked/secret.txt",
        "/linked/result.json",
        "/-/static/../../batch.py",
        "/-/static/%2e%2e%2f__init__.py",
        "/astronaut/.%2e/secret.txt",
        "/astronaut/%00result.json",
        "/incomplete/face.obj",  # not a finished result
        "/astronaut/crop.png/..",
        "/astronaut/%252e%252e/secret.txt",
    ],
)
def test_path_traversal_is_refused_with_404(server, raw):
    status, body = _raw_get(server, raw)
    assert status == 404, raw
    assert b"SECRET" not in body and b"root:" not in body


def test_report_is_self_contained(results):
    path = write_report(results / "astronaut")
    assert path == results / "astronaut" / "report.html"
    page = path.read_text()
    assert not re.search(r"https?://", page)
    # Every resource is embedded: no src/href other than data: URIs.
    refs = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert refs and all(r.startswith("data:") for r in refs), [r[:40] for r in refs]
    # The JavaScript is the vendored npm file, unmodified.
    js = re.search(r'<script type="module" src="data:text/javascript;base64,([^"]+)"', page)
    assert base64.b64decode(js.group(1)) == (STATIC_DIR / "model-viewer.min.js").read_bytes()
    glb = re.search(r'src="data:model/gltf-binary;base64,([^"]+)"', page)
    assert base64.b64decode(glb.group(1)) == scene_glb(results / "astronaut")
    assert write_reports(results) == [path]
    with pytest.raises(InputError, match="result.json"):
        write_report(results / "incomplete")


def test_report_never_embeds_files_linked_from_outside(results, tmp_path):
    from PIL import Image

    d = tmp_path / "r"
    d.mkdir()
    for name in ("face.glb", "result.json", "crop.png"):
        (d / name).write_bytes((results / "astronaut" / name).read_bytes())
    Image.new("RGB", (7, 5), (1, 2, 3)).save(tmp_path / "private.png")
    (d / "overlay.png").symlink_to(tmp_path / "private.png")
    (tmp_path / "private.glb").write_bytes((results / "astronaut" / "face.glb").read_bytes())
    (d / "head.glb").symlink_to(tmp_path / "private.glb")
    page = write_report(d).read_text()
    secret = base64.b64encode((tmp_path / "private.png").read_bytes()).decode()
    assert secret not in page
    assert re.findall(r'<img src="data:[^"]*" alt="([^"]+)"', page) == ["crop.png"]
    from monoscan.viewer.scene import scene_files

    assert scene_files(d) == {"face": d / "face.glb"}


def test_vendored_asset_has_licence_and_provenance():
    assert "Apache License" in (STATIC_DIR / "LICENSE.model-viewer.txt").read_text()
    version = (STATIC_DIR / "VERSION.txt").read_text().split()
    import hashlib

    digest = hashlib.sha256((STATIC_DIR / "model-viewer.min.js").read_bytes()).hexdigest()
    assert version[0] == "@google/model-viewer" and version[-1] == digest


def test_scene_merges_mesh_and_strands(results, tmp_path):
    from monoscan.core.strands import Strands
    from monoscan.io.strands import write_strands
    from monoscan.io.strands.glb import parse_glb

    d = tmp_path / "r"
    d.mkdir()
    for name in ("face.glb", "result.json"):
        (d / name).write_bytes((results / "astronaut" / name).read_bytes())
    t = np.linspace(0, 1, 5)[:, None]
    pts = np.concatenate(
        [np.array([x, 0.1, 0.0]) + t * np.array([0, -0.1, 0.02]) for x in (-0.05, 0.0, 0.05)]
    )
    write_strands(d / "strands.ply", Strands(points=pts, counts=np.array([5, 5, 5])))
    glb = scene_glb(d)
    js, _ = split_glb(glb)
    modes = [p.get("mode", 4) for m in js["meshes"] for p in m["primitives"]]
    assert sorted(modes) == [1, 4]  # one line set, one triangle mesh
    tri = next(p for m in js["meshes"] for p in m["primitives"] if p.get("mode", 4) == 4)
    texture = js["materials"][tri["material"]]["pbrMetallicRoughness"]["baseColorTexture"]
    assert texture["index"] == 0
    # One named root node per layer, in the page's order; each holds that part's own roots.
    roots = [js["nodes"][i] for i in js["scenes"][0]["nodes"]]
    assert [n["name"] for n in roots] == [LAYER_NODE_PREFIX + "strands", LAYER_NODE_PREFIX + "face"]
    assert all(n["children"] and "mesh" not in n for n in roots)
    strands = parse_glb(glb)
    assert strands.n_strands == 3
    np.testing.assert_allclose(strands.points, pts, atol=1e-6)
    mesh = trimesh.load(io.BytesIO(glb), file_type="glb")
    face = trimesh.load(d / "face.glb", force="mesh")
    tri = [g for g in mesh.geometry.values() if isinstance(g, trimesh.Trimesh)]
    assert len(tri) == 1 and len(tri[0].faces) == len(face.faces)
    # A merged scene merges again (indices shifted correctly twice).
    twice = merge_glb([glb, glb])
    assert parse_glb(twice).n_strands == 6
    assert len(trimesh.load(io.BytesIO(twice), file_type="glb", force="mesh").faces) == 2 * len(
        face.faces
    )


def test_hair_volume_is_a_translucent_layer_and_scenes_are_cached(results, tmp_path):
    from monoscan.viewer.scene import build_scene

    d = tmp_path / "r"
    d.mkdir()
    for name in ("head.glb", "hair_volume.obj", "result.json"):
        (d / name).write_bytes((results / "astronaut" / name).read_bytes())
    scene = build_scene(d)
    assert [(x.key, x.file, x.on) for x in scene.layers] == [
        ("head", "head.glb", True),
        ("hair_volume", "hair_volume.obj", False),
    ]
    js, _ = split_glb(scene.glb)
    volume = next(n for n in js["nodes"] if n.get("name") == LAYER_NODE_PREFIX + "hair_volume")
    prims = [
        p for c in volume["children"] for p in js["meshes"][js["nodes"][c]["mesh"]]["primitives"]
    ]
    for prim in prims:
        material = js["materials"][prim["material"]]
        assert material["alphaMode"] == "BLEND"
        assert material["pbrMetallicRoughness"]["baseColorFactor"][3] < 1
    # The page and its scene.glb request build the scene once; a changed file rebuilds it.
    assert build_scene(d) is scene
    (d / "hair_volume.obj").unlink()
    assert [x.key for x in build_scene(d).layers] == ["head"]


@pytest.mark.parametrize(
    ("files", "on"),
    [
        (("face.glb", "relief.obj"), ["face"]),
        (("body.glb",), ["body"]),
        (("relief.obj",), ["relief"]),
        (("head.glb", "face.glb", "hair.glb", "body/body.glb"), ["head", "strands"]),
    ],
)
def test_layers_shown_first(tmp_path, files, on):
    """The head (else the face) and the strands start on; a body alone is shown; otherwise
    the first layer there is."""
    from monoscan.core.strands import Strands
    from monoscan.io.strands import write_strands
    from monoscan.viewer.scene import build_scene

    box = trimesh.creation.box(extents=(0.2, 0.25, 0.2))
    for name in files:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        if name == "hair.glb":
            pts = np.array([[0.0, 0.1, 0.0], [0.0, 0.0, 0.02]])
            write_strands(tmp_path / name, Strands(points=pts, counts=np.array([2])))
        else:
            box.export(tmp_path / name)
    scene = build_scene(tmp_path)
    assert [x.key for x in scene.layers if x.on] == on
    assert len(scene.layers) == len(files) and not scene.notes


def test_make_server_refuses_missing_folder(tmp_path):
    from monoscan.viewer.server import make_server

    with pytest.raises(InputError, match="not a folder"):
        make_server(tmp_path / "nope")


def test_cli_view(results, capsys):
    from monoscan.cli import main

    assert main(["view", str(results), "--write-reports"]) == 0
    assert capsys.readouterr().out.split() == [str(results / "astronaut" / "report.html")]
    assert main(["view", str(results / "astronaut")]) == 2
    assert "is one result" in capsys.readouterr().err
    assert main(["view", str(results / "missing")]) == 2
