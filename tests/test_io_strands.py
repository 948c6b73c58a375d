"""Round trips, real files, malformed files and fuzzing for monoscan.io.strands."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import _gltf
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monoscan.core.errors import FormatError, InputError
from monoscan.core.strands import Strands
from monoscan.io.strands import read_strands, write_strands
from monoscan.io.strands.glb import encode_glb, parse_glb
from monoscan.io.strands.ply import encode_ply, parse_ply
from monoscan.io.strands.usc_data import encode_data, parse_data
from monoscan.io.strands.yuksel_hair import encode_hair, parse_hair

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
HAROLONGO = DATA / "hair3d" / "digital_salon_harolongo" / "harolongo.data"
NEURALHDHAIR = DATA / "hair3d" / "neuralhdhair_DB1"
GUIDES = DATA / "hair3d" / "usc_hairsalon_guide_strands"
HEAD = DATA / "hair3d" / "usc_hairsalon_head_model.obj"


def _strands(seed: int = 0, n: int = 40, min_pts: int = 2, colors: bool = True) -> Strands:
    rng = np.random.default_rng(seed)
    arrays = [
        np.array([0.0, 1.7, 0.0]) + np.cumsum(rng.normal(scale=0.005, size=(k, 3)), axis=0)
        for k in rng.integers(min_pts, 40, size=n)
    ]
    s = Strands.from_list(arrays)
    return Strands(
        s.points,
        s.counts,
        widths=rng.uniform(5e-5, 1e-4, s.n_points),
        colors=rng.uniform(0, 1, (s.n_points, 3)) if colors else None,
    )


def _assert_same(a: Strands, b: Strands) -> None:
    assert a.counts.tolist() == b.counts.tolist()
    np.testing.assert_array_equal(a.points, b.points)  # float32 stored exactly


# ----------------------------------------------------------------------------- round trips
def test_data_round_trip_with_empty_and_single_point_strands(tmp_path):
    s = Strands.concatenate(
        [_strands(colors=False), Strands.from_list([np.zeros((0, 3)), [[0, 1.6, 0.1]]])]
    )
    path = write_strands(tmp_path / "h.data", s)
    assert path == tmp_path / "h.data"
    assert path.stat().st_size == 4 + 4 * s.n_strands + 12 * s.n_points
    back = read_strands(path)
    _assert_same(back, Strands(s.points, s.counts))
    assert back.counts[-2:].tolist() == [0, 1]


def test_data_layout_is_little_endian_int32_then_float32():
    s = Strands.from_list([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9]]])
    raw = encode_data(s)
    assert struct.unpack("<i", raw[:4])[0] == 2
    assert struct.unpack("<i", raw[4:8])[0] == 2
    assert struct.unpack("<6f", raw[8:32]) == (1, 2, 3, 4, 5, 6)
    assert struct.unpack("<i3f", raw[32:48]) == (1, 7, 8, 9)


def test_hair_round_trip_keeps_widths_and_colours(tmp_path):
    s = _strands(1)
    back = read_strands(write_strands(tmp_path / "h.hair", s))
    _assert_same(back, s)
    np.testing.assert_array_equal(back.widths, s.widths)
    np.testing.assert_array_equal(back.colors, s.colors)
    raw = (tmp_path / "h.hair").read_bytes()
    assert raw[:4] == b"HAIR"
    n_strands, n_points, flags = struct.unpack_from("<3I", raw, 4)
    assert (n_strands, n_points) == (s.n_strands, s.n_points)
    assert flags == 0b10111  # segments, points, thickness, colour


def test_hair_default_width_is_0_08_mm(tmp_path):
    s = Strands(_strands(2).points, _strands(2).counts)
    back = read_strands(write_strands(tmp_path / "h.hair", s))
    np.testing.assert_allclose(back.widths, 0.08e-3)
    assert back.colors is None
    back = read_strands(write_strands(tmp_path / "w.hair", s, width=2e-4))
    np.testing.assert_allclose(back.widths, 2e-4)


@pytest.mark.parametrize("ascii_", [False, True])
def test_ply_line_set_round_trip(tmp_path, ascii_):
    s = _strands(3)
    back = read_strands(write_strands(tmp_path / "h.ply", s, ascii=ascii_))
    _assert_same(back, s)
    # Colours go through uchar: within half a step.
    np.testing.assert_allclose(back.colors, s.colors, atol=0.5 / 255 + 1e-6)
    head = (tmp_path / "h.ply").read_bytes()[:400].decode("ascii", "replace")
    assert f"element edge {s.n_points - s.n_strands}" in head


def test_ply_point_cloud_layout(tmp_path):
    s = _strands(4, colors=False).resample(16)
    path = write_strands(tmp_path / "p.ply", s, layout="points")
    back = read_strands(path)
    assert back.counts.tolist() == [16] * s.n_strands
    np.testing.assert_array_equal(back.points, s.points)
    # Without the header comment the reader needs points_per_strand.
    raw = path.read_bytes().replace(b"comment points_per_strand 16\n", b"")
    (tmp_path / "q.ply").write_bytes(raw)
    with pytest.raises(FormatError, match="points_per_strand"):
        read_strands(tmp_path / "q.ply")
    assert read_strands(tmp_path / "q.ply", points_per_strand=32).counts.tolist() == [32] * (
        s.n_strands // 2
    )
    with pytest.raises(FormatError, match="do not split"):
        read_strands(tmp_path / "q.ply", points_per_strand=7)


def test_ply_reads_unordered_line_set_and_list_edges():
    # Open3D-style edges in arbitrary order, vertices shuffled: two strands 0-1-2 and 3-4.
    pts = np.array([[0, 0, 0], [5, 5, 5], [1, 0, 0], [6, 5, 5], [2, 0, 0]], np.float32)
    head = (
        "ply\nformat ascii 1.0\nelement vertex 5\nproperty float x\nproperty float y\n"
        "property float z\nelement edge 3\nproperty list uchar int vertex_indices\nend_header\n"
    )
    body = "\n".join(" ".join(str(v) for v in row) for row in pts.tolist())
    body += "\n2 2 4\n2 0 2\n2 3 1\n"
    s = parse_ply((head + body).encode())
    assert sorted(s.counts.tolist()) == [2, 3]
    np.testing.assert_array_equal(s.strand(0), [[0, 0, 0], [1, 0, 0], [2, 0, 0]])
    np.testing.assert_array_equal(s.strand(1), [[5, 5, 5], [6, 5, 5]])


def test_ply_big_endian_doubles_and_uchar_colours():
    pts = np.array([[0, 0, 0], [1, 2, 3], [4, 5, 6]], ">f8")
    head = (
        b"ply\nformat binary_big_endian 1.0\ncomment from another tool\nelement vertex 3\n"
        b"property double x\nproperty double y\nproperty double z\nproperty uchar red\n"
        b"property uchar green\nproperty uchar blue\nelement edge 2\nproperty int vertex1\n"
        b"property int vertex2\nend_header\n"
    )
    vdt = np.dtype(
        [("x", ">f8"), ("y", ">f8"), ("z", ">f8"), ("r", "u1"), ("g", "u1"), ("b", "u1")]
    )
    vert = np.zeros(3, vdt)
    vert["x"], vert["y"], vert["z"] = pts.T
    vert["r"] = 255
    edges = np.array([[0, 1], [1, 2]], ">i4")
    s = parse_ply(head + vert.tobytes() + edges.tobytes())
    assert s.counts.tolist() == [3]
    np.testing.assert_array_equal(s.points, pts.astype(np.float32))
    np.testing.assert_array_equal(s.colors, [[1, 0, 0]] * 3)


@pytest.mark.parametrize("suffix", [".usda", ".usdc"])
def test_usd_round_trip(tmp_path, suffix):
    s = _strands(5)
    path = write_strands(tmp_path / f"h{suffix}", s)
    back = read_strands(path)
    _assert_same(back, s)
    np.testing.assert_allclose(back.widths, s.widths, rtol=1e-6)
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(path))
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    curves = UsdGeom.BasisCurves(stage.GetPrimAtPath("/Hair/Strands"))
    assert curves.GetTypeAttr().Get() == UsdGeom.Tokens.linear
    assert list(curves.GetCurveVertexCountsAttr().Get()) == s.counts.tolist()
    assert curves.GetWidthsInterpolation() == UsdGeom.Tokens.vertex
    assert stage.GetDefaultPrim().GetPath() == "/Hair"
    # Root to tip: the first point of the first curve is the first root.
    np.testing.assert_array_equal(np.asarray(curves.GetPointsAttr().Get())[0], s.roots[0])


def test_usd_default_width_and_unit_conversion(tmp_path):
    s = Strands(_strands(6).points, _strands(6).counts)
    usda = write_strands(tmp_path / "h.usda", s)
    assert "0.00008" in usda.read_text()
    # A z-up centimetre stage written by another tool comes back in metres, y up.
    text = usda.read_text().replace('upAxis = "Y"', 'upAxis = "Z"')
    text = text.replace("metersPerUnit = 1", "metersPerUnit = 0.01")
    (tmp_path / "z.usda").write_text(text)
    back = read_strands(tmp_path / "z.usda")
    p = s.points.astype(np.float64) * 0.01
    np.testing.assert_allclose(back.points, np.stack([p[:, 0], p[:, 2], -p[:, 1]], 1), atol=1e-7)


def test_glb_round_trip_and_json_chunk(tmp_path):
    s = _strands(7, colors=False)
    path = write_strands(tmp_path / "h.glb", s)
    raw = path.read_bytes()
    magic, version, total = struct.unpack_from("<4sII", raw)
    assert (magic, version, total) == (b"glTF", 2, len(raw))
    js_len, js_type = struct.unpack_from("<II", raw, 12)
    assert js_type == 0x4E4F534A
    gltf = json.loads(raw[20 : 20 + js_len])
    prim = gltf["meshes"][0]["primitives"][0]
    assert prim["mode"] == 1  # LINES
    assert gltf["accessors"][prim["indices"]]["count"] == 2 * (s.n_points - s.n_strands)
    assert gltf["accessors"][prim["attributes"]["POSITION"]]["count"] == s.n_points
    back = read_strands(path)
    _assert_same(back, s)
    # Direction colours: 0.5 + 0.5 * unit tangent.
    np.testing.assert_allclose(back.colors, 0.5 + 0.5 * s.tangents, atol=1e-6)


def test_glb_opens_in_trimesh(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    s = _strands(8, colors=False)
    scene = trimesh.load(write_strands(tmp_path / "h.glb", s, colors="none"))
    geoms = list(scene.geometry.values())
    assert len(geoms) == 1
    np.testing.assert_allclose(geoms[0].vertices, s.points, atol=1e-7)


def _linear_dark_brown() -> list[float]:
    c = np.array([60.0, 45.0, 35.0]) / 255.0  # the default hair colour, sRGB
    return (((c + 0.055) / 1.055) ** 2.4).tolist()


def test_glb_strands_have_a_material_and_linear_colours(tmp_path):
    s = _strands(12)  # per-point linear colours, as Strands stores them
    gltf, binary = _gltf.read_glb(write_strands(tmp_path / "hair.glb", s))
    [prim] = _gltf.primitives(gltf)
    pbr = _gltf.material_of(gltf, prim)["pbrMetallicRoughness"]
    assert pbr.get("baseColorFactor", [1, 1, 1, 1]) == [1, 1, 1, 1]
    assert pbr["metallicFactor"] == 0
    colour = _gltf.accessor(gltf, binary, prim["attributes"]["COLOR_0"])
    np.testing.assert_array_equal(colour, s.colors.astype(np.float32))  # already linear
    # The same accessor under the name Blender imports on line primitives.
    assert prim["attributes"]["_COLOR_0"] == prim["attributes"]["COLOR_0"]
    # Without vertex colours the material carries the default hair colour (linear).
    gltf, _ = _gltf.read_glb(write_strands(tmp_path / "plain.glb", s, colors="none"))
    [prim] = _gltf.primitives(gltf)
    assert "COLOR_0" not in prim["attributes"] and "_COLOR_0" not in prim["attributes"]
    base = _gltf.material_of(gltf, prim)["pbrMetallicRoughness"]["baseColorFactor"]
    np.testing.assert_allclose(base, [*_linear_dark_brown(), 1.0], atol=1e-6)


def _bound_surface(stage, prim_path: str = "/Hair/Strands"):
    """The UsdPreviewSurface shader bound to a prim (asserts the binding exists)."""
    from pxr import UsdShade

    prim = stage.GetPrimAtPath(prim_path)
    material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()
    assert material, "no material bound to the curves"
    shader = material.ComputeSurfaceSource()[0]
    assert shader and shader.GetIdAttr().Get() == "UsdPreviewSurface"
    return shader


@pytest.mark.parametrize("suffix", [".usda", ".usdc"])
def test_usd_strands_bind_a_preview_surface_and_display_colour(tmp_path, suffix):
    from pxr import Usd, UsdGeom

    s = _strands(13)
    stage = Usd.Stage.Open(str(write_strands(tmp_path / f"hair{suffix}", s)))
    curves = UsdGeom.BasisCurves(stage.GetPrimAtPath("/Hair/Strands"))
    primvar = UsdGeom.PrimvarsAPI(curves).GetPrimvar("displayColor")
    assert primvar.GetInterpolation() == UsdGeom.Tokens.vertex
    np.testing.assert_array_equal(np.asarray(primvar.Get()), s.colors.astype(np.float32))
    shader = _bound_surface(stage)
    diffuse = np.asarray(shader.GetInput("diffuseColor").Get())
    np.testing.assert_allclose(diffuse, np.median(s.colors, axis=0), atol=1e-6)
    assert shader.GetInput("metallic").Get() == 0
    # The material lives under the default prim, so referencing /Hair brings it along.
    assert str(shader.GetPath()).startswith("/Hair/")
    # Readers that only want the curves still get them.
    _assert_same(read_strands(tmp_path / f"hair{suffix}"), s)


def test_usd_strands_without_colours_get_the_default_hair_colour(tmp_path):
    from pxr import Usd, UsdGeom

    s = _strands(14, colors=False)
    stage = Usd.Stage.Open(str(write_strands(tmp_path / "hair.usdc", s)))
    curves = UsdGeom.BasisCurves(stage.GetPrimAtPath("/Hair/Strands"))
    primvar = UsdGeom.PrimvarsAPI(curves).GetPrimvar("displayColor")
    assert primvar.GetInterpolation() == UsdGeom.Tokens.constant
    np.testing.assert_allclose(np.asarray(primvar.Get()), [_linear_dark_brown()], atol=1e-6)
    diffuse = np.asarray(_bound_surface(stage).GetInput("diffuseColor").Get())
    np.testing.assert_allclose(diffuse, _linear_dark_brown(), atol=1e-6)


def test_unit_option(tmp_path):
    s = _strands(9, colors=False)
    path = write_strands(tmp_path / "cm.data", s, unit="cm")
    raw = read_strands(path)  # metres assumed: 100x too large
    np.testing.assert_allclose(raw.points, s.points * 100, rtol=1e-6)
    np.testing.assert_allclose(read_strands(path, unit="cm").points, s.points, rtol=1e-6)
    with pytest.raises(InputError, match="unknown unit"):
        read_strands(path, unit="inch")
    with pytest.raises(InputError, match="always written in metres"):
        write_strands(tmp_path / "x.usdc", s, unit="cm")


def test_dispatch_errors(tmp_path):
    s = _strands(10)
    with pytest.raises(InputError, match="cannot write strands to '.obj'"):
        write_strands(tmp_path / "h.obj", s)
    with pytest.raises(InputError, match="cannot read strands from '.abc'"):
        read_strands(tmp_path / "h.abc")
    with pytest.raises(InputError, match="no such file"):
        read_strands(tmp_path / "missing.data")
    with pytest.raises(InputError, match="Strands object"):
        write_strands(tmp_path / "h.data", np.zeros((3, 3)))
    with pytest.raises(InputError, match="unexpected keyword"):
        write_strands(tmp_path / "h.data", s, bogus=1)
    # Nothing, not even a temporary file, is left behind by failed writes.
    assert list(tmp_path.iterdir()) == []


def test_writes_are_atomic(tmp_path, monkeypatch):
    s = _strands(11)
    target = write_strands(tmp_path / "h.ply", s)
    before = target.read_bytes()
    import monoscan.io.strands.ply as ply_mod

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ply_mod, "encode_ply", boom)
    with pytest.raises(RuntimeError):
        write_strands(target, s.subset([0]))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["h.ply"]


# ----------------------------------------------------------------------------- real files
@pytest.mark.skipif(not HAROLONGO.exists(), reason="../shared/data/hair3d not available")
def test_real_harolongo_data():
    s = read_strands(HAROLONGO, unit="cm")  # stored in centimetres, y up
    assert s.n_strands == 7905 and s.n_points == 7905 * 21
    assert set(s.counts.tolist()) == {21}
    extent = s.bounds[1] - s.bounds[0]
    assert np.all((extent > 0.15) & (extent < 0.5)), extent  # a head of hair, in metres
    # y up: roots (scalp) are above tips on average, by more than 10 cm for long hair.
    assert np.nanmean(s.roots[:, 1]) - np.nanmean(s.tips[:, 1]) > 0.10
    assert 0.15 < np.median(s.lengths) < 0.35
    # Unchanged through every format.
    raw = HAROLONGO.read_bytes()
    assert encode_data(read_strands(HAROLONGO)) == raw


@pytest.mark.skipif(not NEURALHDHAIR.exists(), reason="../shared/data/hair3d not available")
def test_real_neuralhdhair_hair_file_lowercase_magic():
    path = NEURALHDHAIR / "result.hair"
    assert path.read_bytes()[:4] == b"hair"
    s = read_strands(path)
    assert (s.n_strands, s.n_points) == (1659, 86344)
    assert s.widths is None  # only segments and points arrays are flagged
    lo, hi = s.bounds
    assert np.all(lo > -0.65) and np.all(hi < 0.65)  # inside NeuralHDHair's grid (metres)


@pytest.mark.skipif(not GUIDES.exists(), reason="../shared/data/hair3d not available")
def test_real_usc_guide_strands_sit_on_the_usc_head():
    import trimesh

    head = trimesh.load(HEAD, force="mesh")
    s = read_strands(GUIDES / "cstrands00001.data")
    assert s.counts.tolist() == [100] * 5
    # Roots lie near the top of the USC head (metres, y up: head spans y 1.548-1.887).
    roots = s.roots
    assert np.all(roots[:, 1] > head.bounds[0, 1] + 0.1) and np.all(roots[:, 1] < 1.95)
    assert np.all(s.tips[:, 1] < roots[:, 1])


# ----------------------------------------------------------------------------- malformed
def _hdr(n_strands, n_points, flags=3, default_segments=0):
    return struct.pack("<4s4I5f88s", b"HAIR", n_strands, n_points, flags, default_segments,
                       1, 1, 1, 1, 1, b"")  # fmt: skip


@pytest.mark.parametrize(
    ("blob", "match"),
    [
        (b"", "too short"),
        (b"\x01\x00", "too short"),
        (struct.pack("<i", -3), "negative strand count"),
        (struct.pack("<i", 2**31 - 1), "claims 2147483647 strands"),
        (struct.pack("<ii", 1, -5) + b"\0" * 12, "negative point count"),
        (struct.pack("<ii", 1, 10**8) + b"\0" * 24, "claims 100000000 points"),
        (struct.pack("<ii", 2, 1) + struct.pack("<3f", 0, 0, 0), "ends inside strand 1"),
        (struct.pack("<ii3f", 1, 1, 0, np.nan, 0), "NaN"),
        (struct.pack("<ii3f", 1, 1, 0, np.inf, 0), "NaN or infinite"),
        (struct.pack("<ii3f", 1, 1, 0, 0, 0) + b"\0\0", "unexpected bytes"),
    ],
)
def test_malformed_data(blob, match):
    with pytest.raises(FormatError, match=match):
        parse_data(blob, "x.data")


@pytest.mark.parametrize(
    ("blob", "match"),
    [
        (b"HAIR" + b"\0" * 20, "too short"),
        (b"RIAH" + b"\0" * 124, "not a .hair file"),
        (_hdr(1, 2, flags=1) + b"\0\0", "no points array"),
        (_hdr(1, 10**9) + b"\1\0", "truncated"),
        (_hdr(2**32 - 1, 2**32 - 1), "truncated"),
        (_hdr(1, 3) + struct.pack("<H", 1) + b"\0" * 36, "add up to 2 points"),
        (_hdr(1, 2, flags=2, default_segments=2) + b"\0" * 24, "add up to 3 points"),
        (_hdr(1, 2) + struct.pack("<H6f", 1, 0, 0, 0, 0, np.nan, 0), "NaN"),
        (_hdr(1, 2, flags=7) + struct.pack("<H8f", 1, *[0] * 6, -1, 1), "thickness"),
        (_hdr(1, 2) + struct.pack("<H6f", 1, *[0] * 6) + b"x", "unexpected bytes"),
        (_hdr(1, 2, flags=0x23) + b"\0" * 26, "unknown flag"),
    ],
)
def test_malformed_hair(blob, match):
    with pytest.raises(FormatError, match=match):
        parse_hair(blob, "x.hair")


_PLY = "ply\nformat {fmt} 1.0\nelement vertex {nv}\nproperty float x\nproperty float y\n"
_PLY += "property float z\nelement edge {ne}\nproperty int vertex1\nproperty int vertex2\n"
_PLY += "end_header\n"


@pytest.mark.parametrize(
    ("blob", "match"),
    [
        (b"plx\n", "not a PLY"),
        (b"ply\nformat ascii 1.0\nelement vertex 1\n", "no end_header"),
        (_PLY.format(fmt="binary_little_endian", nv=10**12, ne=0).encode(), "claims"),
        (_PLY.format(fmt="binary_little_endian", nv=2, ne=1).encode() + b"\0" * 30, "truncated"),
        (_PLY.format(fmt="ascii", nv=2, ne=1).encode() + b"0 0 0\n1 1 1\n0 5\n", "outside"),
        (_PLY.format(fmt="ascii", nv=2, ne=1).encode() + b"0 0 0\n1 nan 1\n0 1\n", "NaN"),
        (_PLY.format(fmt="ascii", nv=2, ne=1).encode() + b"0 0 0\n1 1 1\n0\n", "truncated"),
        (_PLY.format(fmt="ascii", nv=2, ne=1).encode() + b"0 0 0\n1 a 1\n0 1\n", "non-numeric"),
        (_PLY.format(fmt="ascii", nv=3, ne=3).encode() + b"0 0 0\n1 1 1\n2 2 2\n0 1\n1 2\n2 0\n",
         "loop"),
        (
            _PLY.format(fmt="ascii", nv=4, ne=3).encode()
            + b"0 0 0\n1 1 1\n2 2 2\n3 3 3\n0 1\n0 2\n0 3\n",
         "more than two edges"),
        (_PLY.format(fmt="ascii", nv=2, ne=1).encode() + b"0 0 0\n1 1 1\n0 1\n9\n", "unexpected"),
        (b"ply\nformat binary_middle_endian 1.0\nend_header\n", "unknown PLY format"),
        (b"ply\nformat ascii 1.0\nelement vertex -2\nend_header\n", "bad PLY element"),
    ],
)  # fmt: skip
def test_malformed_ply(blob, match):
    with pytest.raises(FormatError, match=match):
        parse_ply(blob, "x.ply")


def test_malformed_glb():
    good = encode_glb(_strands(12))
    with pytest.raises(FormatError, match="not a GLB"):
        parse_glb(b"GLTF" + good[4:], "x.glb")
    with pytest.raises(FormatError, match="header says"):
        parse_glb(good[:-4], "x.glb")
    # An accessor claiming more vertices than the buffer holds.
    js_len = struct.unpack_from("<I", good, 12)[0]
    gltf = json.loads(good[20 : 20 + js_len])
    gltf["accessors"][0]["count"] = 10**9
    js = json.dumps(gltf).encode()
    js += b" " * (-len(js) % 4)
    rest = good[20 + js_len :]
    blob = struct.pack("<4sII", b"glTF", 2, 20 + len(js) + len(rest))
    blob += struct.pack("<II", len(js), 0x4E4F534A) + js + rest
    with pytest.raises(FormatError, match="runs past"):
        parse_glb(blob, "x.glb")


def test_malformed_usd(tmp_path):
    (tmp_path / "bad.usda").write_text("#usda 1.0\ndef BasisCurves {\n")
    with pytest.raises(FormatError, match="bad.usda"):
        read_strands(tmp_path / "bad.usda")
    (tmp_path / "empty.usda").write_text('#usda 1.0\ndef Xform "A"\n{\n}\n')
    with pytest.raises(FormatError, match="no BasisCurves"):
        read_strands(tmp_path / "empty.usda")
    (tmp_path / "counts.usda").write_text(
        '#usda 1.0\ndef BasisCurves "C"\n{\n  int[] curveVertexCounts = [3]\n'
        "  point3f[] points = [(0, 0, 0), (1, 1, 1)]\n}\n"
    )
    with pytest.raises(FormatError, match="sum to 3 but there are 2 points"):
        read_strands(tmp_path / "counts.usda")
    (tmp_path / "junk.usdc").write_bytes(b"PXR-USDC" + b"\xff" * 200)
    with pytest.raises(FormatError, match="junk.usdc"):
        read_strands(tmp_path / "junk.usdc")


# ----------------------------------------------------------------------------- fuzzing
def _mutations(good: bytes, rng: np.random.Generator, n: int):
    for _ in range(n):
        b = bytearray(good)
        kind = rng.integers(3)
        if kind == 0:
            b = b[: rng.integers(0, len(b))]
        else:
            for _ in range(rng.integers(1, 5)):
                b[rng.integers(0, len(b))] = rng.integers(0, 256)
            if kind == 2:
                b = b[: rng.integers(len(b) // 2, len(b) + 1)]
        yield bytes(b)


def _valid_or_format_error(parse, blob: bytes) -> str:
    try:
        s = parse(blob)
    except FormatError as exc:
        assert str(exc) and "\n" not in str(exc)
        return "error"
    assert isinstance(s, Strands)
    assert int(s.counts.sum()) == s.n_points and np.all(np.isfinite(s.points))
    return "ok"


FUZZ = {
    "data": (parse_data, lambda s: encode_data(s)),
    "hair": (parse_hair, lambda s: encode_hair(s)),
    "ply-binary": (parse_ply, lambda s: encode_ply(s)),
    "ply-ascii": (parse_ply, lambda s: encode_ply(s, ascii=True)),
    "glb": (parse_glb, lambda s: encode_glb(s)),
}


@pytest.mark.parametrize("fmt", sorted(FUZZ))
def test_fuzz_truncations_and_byte_flips(fmt):
    parse, encode = FUZZ[fmt]
    good = encode(_strands(13, n=6))
    rng = np.random.default_rng(1234)
    outcomes = [_valid_or_format_error(parse, blob) for blob in _mutations(good, rng, 400)]
    # Every truncation of these formats is detected; flips are either caught or harmless.
    assert outcomes.count("error") > 100


@pytest.mark.parametrize("suffix", [".usda", ".usdc"])
def test_fuzz_usd_in_child_process(tmp_path, suffix):
    """Corrupted USD crate files can crash the USD library: the reader isolates it."""
    good = write_strands(tmp_path / f"good{suffix}", _strands(14, n=4)).read_bytes()
    rng = np.random.default_rng(99)
    for i, blob in enumerate(_mutations(good, rng, 6)):
        path = tmp_path / f"m{i}{suffix}"
        path.write_bytes(blob)
        _valid_or_format_error(lambda _b, path=path: read_strands(path), blob)


@settings(max_examples=150, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(st.binary(max_size=600))
def test_fuzz_random_bytes_hypothesis(blob):
    for parse, _ in FUZZ.values():
        _valid_or_format_error(parse, blob)
        _valid_or_format_error(parse, b"HAIR" + blob)
        _valid_or_format_error(parse, b"ply\nformat binary_little_endian 1.0\n" + blob)


def test_huge_claims_fail_fast():
    import time

    t0 = time.perf_counter()
    for blob, parse in [
        (struct.pack("<ii", 2**31 - 1, 2**31 - 1), parse_data),
        (_hdr(2**32 - 1, 2**32 - 1, flags=0x1F), parse_hair),
        (_PLY.format(fmt="ascii", nv=10**15, ne=10**15).encode(), parse_ply),
    ]:
        with pytest.raises(FormatError):
            parse(blob)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".usda", ".usdc"])
def test_fuzz_usd_many(tmp_path, suffix):
    good = write_strands(tmp_path / f"good{suffix}", _strands(15, n=4)).read_bytes()
    rng = np.random.default_rng(7)
    for i, blob in enumerate(_mutations(good, rng, 80)):
        path = tmp_path / f"m{i}{suffix}"
        path.write_bytes(blob)
        _valid_or_format_error(lambda _b, path=path: read_strands(path), blob)
