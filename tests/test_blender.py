"""Real-client check: Blender (PyPI ``bpy``) reads our files, in their colours, and writes Alembic.

Skipped when ``bpy`` is not importable (``pip install 'bpy==4.2.*'`` on Python 3.11). The
render tests (one reconstruction and a few 96 x 96 Cycles renders, about 30 s) are also
``slow``: ``pytest -m bpy`` runs them, the default run does not.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import shared

from monoscan.core.colour import srgb_to_linear
from monoscan.core.errors import MonoscanError
from monoscan.core.strands import Strands
from monoscan.io.strands import write_strands

pytestmark = pytest.mark.bpy

#: Long light-brown hair, clearly coloured.
PORTRAIT = ("portraits", "hairstep__Amy-Adams-10_1920x1440.png")
HUE_TOL_DEG = 15.0
VALUE_TOL = 0.15
MIN_SATURATION = 0.12  # below: grey or white, the colour lost


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


# --- Colours in a Blender render -------------------------------------------------------------


def _hsv(rgb8: np.ndarray) -> tuple[float, float, float]:
    """(hue degrees, saturation, value) of one sRGB colour in [0, 255]."""
    from skimage.color import rgb2hsv

    h, s, v = rgb2hsv(np.asarray(rgb8, np.float64).reshape(1, 1, 3) / 255.0)[0, 0]
    return 360.0 * h, s, v


def _hue_gap(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _load(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """(result folder, render folder, render report) of the portrait, rendered in Blender.

    The pipeline and Blender each run in a child process: ``bpy`` never shares an interpreter
    with MediaPipe and ONNX Runtime.
    """
    if importlib.util.find_spec("bpy") is None:
        pytest.skip("bpy is not installed")
    photo = shared(*PORTRAIT)
    out = tmp_path_factory.mktemp("blender")
    cmd = [sys.executable, "-m", "monoscan", "reconstruct", str(photo), "-o", str(out), "-q"]
    subprocess.run([*cmd, "--formats", "glb,usdc"], check=True, timeout=600)
    result = out / photo.stem
    renders = out / "renders"
    script = Path(__file__).with_name("_blender_render.py")
    proc = subprocess.run(
        [sys.executable, str(script), str(result), str(renders)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads((renders / "report.json").read_text())
    return result, renders, report


def _photo_colour(result: Path, what: str) -> np.ndarray:
    """Median sRGB of the crop's hair (``hair_mask.png``) or face skin (parsing label 2)."""
    crop = _load(result / "crop.png")[..., :3]
    if what == "hair":
        mask = _load(result / "hair_mask.png") > 0
    else:
        mask = _load(result / "parsing.png") == 2
    assert mask.sum() > 1000
    return np.median(crop[mask].astype(np.float64), axis=0)


def _render_colour(renders: Path, name: str) -> tuple[np.ndarray, int]:
    """Median sRGB of the hair (or, for head.glb, head) pixels of a render, and their count.

    Hair pixels: the strands' coverage (alpha, straight); on head_with_hair.glb, what it
    covers beyond head.glb's silhouette (the hair layer).
    """
    image = _load(renders / f"{name}.png").astype(np.float64)
    alpha = image[..., 3] / 255.0
    if name == "head.glb":
        mask = alpha > 0.99
    elif name == "head_with_hair.glb":
        mask = (alpha > 0.99) & (_load(renders / "head.glb.png")[..., 3] < 3)
    else:
        mask = alpha > 0.3
    return np.median(image[..., :3][mask], axis=0), int(mask.sum())


def _assert_colour(got: np.ndarray, want: np.ndarray, what: str) -> None:
    (hg, sg, vg), (hw, sw, vw) = _hsv(got), _hsv(want)
    msg = f"{what}: Blender {got.round()} (h {hg:.0f} s {sg:.2f} v {vg:.2f}) vs photo " + (
        f"{want.round()} (h {hw:.0f} s {sw:.2f} v {vw:.2f})"
    )
    assert sg >= MIN_SATURATION, "grey or white, " + msg
    assert _hue_gap(hg, hw) <= HUE_TOL_DEG, msg
    assert abs(vg - vw) <= VALUE_TOL, msg


@pytest.mark.slow
@pytest.mark.parametrize("name", ["head_with_hair.glb", "hair.glb", "strands.usdc"])
def test_blender_renders_the_hair_in_the_photos_hair_colour(rendered, name):
    result, renders, report = rendered
    assert report["engine"] == "CYCLES" and report["files"][name]["import"] == ["FINISHED"]
    colour, pixels = _render_colour(renders, name)
    assert pixels >= 200, f"{name}: only {pixels} hair pixels in the render"
    _assert_colour(colour, _photo_colour(result, "hair"), name)


@pytest.mark.slow
def test_blender_renders_the_head_in_skin_colour(rendered):
    result, renders, report = rendered
    head = {o["name"]: o for o in report["files"]["head.glb"]["as_imported"]}
    assert head["head"]["materials"] == ["head_material"]  # the photo texture, bound
    colour, pixels = _render_colour(renders, "head.glb")
    assert pixels >= 1000
    _assert_colour(colour, _photo_colour(result, "skin"), "head.glb skin")


@pytest.mark.slow
def test_blender_imports_the_strand_colours(rendered):
    """The colour each hair file carries arrives in Blender, linear, as the photo's hair."""
    result, _, report = rendered
    want = srgb_to_linear(_photo_colour(result, "hair") / 255.0)
    files = report["files"]
    # Meshes: the glTF material reads the vertex colours (or the texture).
    for name in ("head_with_hair.glb", "head.glb"):
        assert all(o["materials"] for o in files[name]["as_imported"]), name
    assert "Color" in files["head_with_hair.glb"]["as_imported"][0]["attributes"]
    # Strands: USD displayColor and the GLB's _COLOR_0 become point attributes.
    usd = files["strands.usdc"]["as_imported"][0]
    assert usd["type"] == "CURVES"
    assert usd["attributes"]["displayColor"][:2] == ["POINT", "FLOAT_COLOR"]
    lines = files["hair.glb"]["as_imported"][0]
    assert lines["attributes"]["_COLOR_0"][0] == "POINT"
    assert files["hair.glb"]["converted"][0]["type"] == "CURVES"
    for name in ("strands.usdc", "hair.glb"):
        got = np.array(files[name]["attribute_median_linear"])
        np.testing.assert_allclose(got, want, atol=0.02, err_msg=name)
    # The UsdPreviewSurface holds the same colour (Blender 4.2 binds none to curves).
    np.testing.assert_allclose(report["usd_materials"]["Hair"], want, atol=0.02)


_SHAPE_KEYS_SCRIPT = """
import json, os, sys
import bpy
out = {}
for name in sys.argv[sys.argv.index("--") + 1 :]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if name.endswith(".glb"):
        bpy.ops.import_scene.gltf(filepath=name)
    else:
        bpy.ops.wm.usd_import(filepath=name, import_blendshapes=True)
    meshes = [o for o in bpy.data.objects if o.type == "MESH"]
    keyed = [o for o in meshes if o.data.shape_keys is not None]
    out[os.path.basename(name)] = {
        "meshes": len(meshes),
        "keys": [k.name for o in keyed for k in o.data.shape_keys.key_blocks],
        "values": [k.value for o in keyed for k in o.data.shape_keys.key_blocks],
    }
print("JSON" + json.dumps(out))
sys.stdout.flush()
os._exit(0)  # bpy 4.2 may crash at exit after a glTF import
"""


@pytest.mark.slow
def test_blender_imports_the_57_blend_shapes(astronaut_path, tmp_path):
    pytest.importorskip("bpy")
    import monoscan

    options = monoscan.Options(
        blendshapes=True, strands=0, hair=False, person=False, formats=("glb",)
    )
    recon = monoscan.reconstruct(astronaut_path, options)
    folder = monoscan.write_outputs(recon, tmp_path, options).parent
    script = tmp_path / "keys.py"
    script.write_text(_SHAPE_KEYS_SCRIPT)
    files = [str(folder / "expressions.glb"), str(folder / "expressions.usdc")]
    run = subprocess.run(
        [sys.executable, str(script), "--", *files], capture_output=True, text=True, timeout=300
    )
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("JSON"))
    report = json.loads(line[4:])
    names = list(recon.head.ict.to_json()["expression"])
    for name in ("expressions.glb", "expressions.usdc"):
        keys = report[name]["keys"]
        assert len(keys) == 58, (name, len(keys))  # the basis and the 57 shapes, by name
        assert sorted(keys[1:]) == sorted(names), name
        assert report[name]["meshes"] == 3  # the head and its two eyes
    # glTF's default weights arrive as the shape keys' values: the photo's expression
    glb = report["expressions.glb"]
    values = dict(zip(glb["keys"], glb["values"], strict=True))
    for key, weight in recon.head.ict.to_json()["expression"].items():
        assert values[key] == pytest.approx(weight, abs=1e-3)


# --- The rigged body (issue 18): an armature Blender can pose ----------------------------------

_RIG_SCRIPT = """
import json, math, os, sys
import bpy
import numpy as np
from mathutils import Quaternion

path, bone = sys.argv[sys.argv.index("--") + 1 :]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=path)
arm = [o for o in bpy.context.scene.objects if o.type == "ARMATURE"]
# the importer draws the bones with a custom shape (an icosphere object): not a mesh of ours
shapes = {pb.custom_shape for a in arm for pb in a.pose.bones if pb.custom_shape}
meshes = [o for o in bpy.context.scene.objects if o.type == "MESH" and o not in shapes]
out = {"armatures": len(arm), "meshes": [o.name for o in meshes]}
body = meshes[0]
out["bones"] = [b.name for b in arm[0].data.bones]
out["modifiers"] = [(m.type, m.object.name if m.object else None) for m in body.modifiers]
out["groups"] = [g.name for g in body.vertex_groups]
out["vertices"] = len(body.data.vertices)


def world_vertices():
    dg = bpy.context.evaluated_depsgraph_get()
    ev = body.evaluated_get(dg)
    m = ev.to_mesh()
    co = np.empty(len(m.vertices) * 3)
    m.vertices.foreach_get("co", co)
    mw = np.array(ev.matrix_world)
    ev.to_mesh_clear()
    co = co.reshape(-1, 3)
    return co @ mw[:3, :3].T + mw[:3, 3]


def group_weights(name):
    gi = body.vertex_groups[name].index
    w = np.zeros(len(body.data.vertices))
    for v in body.data.vertices:
        for g in v.groups:
            if g.group == gi:
                w[v.index] = g.weight
    return w


before = world_vertices()
pb = arm[0].pose.bones[bone]
pb.rotation_mode = "QUATERNION"
pb.rotation_quaternion = Quaternion((1.0, 0.0, 0.0), math.radians(45.0))
bpy.context.view_layer.update()
after = world_vertices()
move = np.linalg.norm(after - before, axis=1)
fore, head = group_weights(bone) > 0.9, group_weights("head") > 0.9
out["forearm"] = [int(fore.sum()), float(np.median(move[fore])), float(move[fore].max())]
out["head"] = [int(head.sum()), float(move[head].max())]
out["rest_extent"] = (before.max(0) - before.min(0)).tolist()
print("JSON" + json.dumps(out))
sys.stdout.flush()
os._exit(0)  # bpy 4.2 may crash at exit after a glTF import
"""


def _blender_pose(tmp_path: Path, glb: Path, bone: str = "left_elbow") -> dict:
    """Import ``glb`` in Blender (a child process), turn ``bone`` 45 degrees; the report."""
    script = tmp_path / "pose.py"
    script.write_text(_RIG_SCRIPT)
    run = subprocess.run(
        [sys.executable, str(script), "--", str(glb), bone],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("JSON")]
    assert lines, run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads(lines[0][4:])


def _assert_posable(report: dict, n_vertices: int) -> None:
    from monoscan.body.model import BONE_NAMES

    assert report["armatures"] == 1 and report["meshes"] == ["body"]
    assert sorted(report["bones"]) == sorted(BONE_NAMES)  # one bone per joint, by name
    assert [m[0] for m in report["modifiers"]] == ["ARMATURE"]
    assert set(report["groups"]) == set(BONE_NAMES)
    assert report["vertices"] == n_vertices
    # a person, upright in Blender's z-up frame
    assert 1.4 < report["rest_extent"][2] < 2.1
    n_fore, fore_median, fore_max = report["forearm"]
    n_head, head_max = report["head"]
    assert n_fore > 100 and n_head > 100
    assert fore_median > 0.03 and fore_max > 0.08  # the forearm swings
    assert head_max < 1e-5  # the head does not move


def test_blender_poses_the_rigged_body(tmp_path):
    """A body fitted to a synthetic scene (no photo), written rigged as body.glb is."""
    pytest.importorskip("bpy")
    import trimesh

    from monoscan.body.fit import FitOptions, NakedBody, fit_body
    from monoscan.body.model import load_body_model
    from monoscan.body.rig import body_skin
    from monoscan.evaluation.body_fit import synthetic_body
    from monoscan.io.meshes import save_glb

    model = load_body_model()
    scene = synthetic_body(model, 0)
    fit = fit_body(scene["px"], None, scene["world"], None, FitOptions(max_nfev=15), model)
    naked = NakedBody(fit=fit, vertices=fit.vertices, world_scale=1.0, world_offset=np.zeros(3))
    mesh = trimesh.Trimesh(naked.vertices, model.faces, process=False)
    glb = save_glb(tmp_path / "body.glb", {"body": mesh}, skins={"body": body_skin(naked)})[0]
    _assert_posable(_blender_pose(tmp_path, glb), len(mesh.vertices))


@pytest.mark.slow
def test_blender_poses_the_body_glb_of_monoscan_body(tmp_path):
    """``monoscan body --model parametric``'s body.glb (the clothed surface) on a real photo."""
    pytest.importorskip("bpy")
    photo = shared("fullbody", "pifu__ryota.png")
    cmd = [sys.executable, "-m", "monoscan", "body", str(photo), "-o", str(tmp_path), "-q"]
    subprocess.run([*cmd, "--model", "parametric"], check=True, timeout=600)
    folder = tmp_path / photo.stem
    result = json.loads((folder / "result.json").read_text())
    assert "rigged" in result["artifacts"]["body.glb"]["meaning"]
    _assert_posable(_blender_pose(tmp_path, folder / "body.glb"), result["mesh"]["vertices"])
