"""Tests for monoscan.io.meshes: stable vertex order, clear errors, atomic textured export."""

from __future__ import annotations

import io

import _gltf
import numpy as np
import pytest
import trimesh
from PIL import Image

from monoscan.core.errors import FormatError, InputError
from monoscan.io.meshes import load_mesh, save_mesh


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def _textured_quad():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0.5]], dtype=float)
    f = np.array([[0, 1, 2], [1, 3, 2]])
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    visual = trimesh.visual.TextureVisuals(uv=v[:, :2], image=Image.fromarray(pixels))
    return trimesh.Trimesh(v, f, visual=visual, process=False), pixels


def test_obj_keeps_unreferenced_vertices_and_order(tmp_path):
    # Vertex 4 is used by no face; vertex 2 is shared between UV seams: nothing may move.
    p = _write(
        tmp_path,
        "m.obj",
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nv 5 5 5\n"
        "vt 0 0\nvt 1 0\nvt 0 1\nvt 1 1\n"
        "f 1/1 2/2 3/3\nf 2/2 4/4 3/3\nf 1/4 2/2 4/4\n",
    )
    m = load_mesh(p)
    assert m.vertices.shape == (5, 3)
    np.testing.assert_array_equal(m.vertices[4], [5, 5, 5])
    np.testing.assert_array_equal(m.faces, [[0, 1, 2], [1, 3, 2], [0, 1, 3]])


def test_quads_and_polygons_are_triangulated(tmp_path):
    p = _write(
        tmp_path, "q.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nv 2 2 0\nf 1 2 4 3\nf 1 2 5 4 3\n"
    )
    m = load_mesh(p)
    assert m.faces.shape == (2 + 3, 3)
    assert m.faces.max() == 4


@pytest.mark.parametrize(
    ("name", "text", "error", "message"),
    [
        ("nan.obj", "v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n", FormatError, "NaN or infinite"),
        ("inf.obj", "v 0 0 0\nv 1 0 inf\nv 0 1 0\nf 1 2 3\n", FormatError, "NaN or infinite"),
        ("range.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 5\n", FormatError, "out of range"),
        ("line.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n", FormatError, "at least 3 vertices"),
        ("novert.obj", "# nothing\n", FormatError, "no vertices"),
        ("noface.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n", FormatError, "no faces"),
        ("empty.obj", "", FormatError, "empty"),
        ("bad.xyz", "1 2 3\n", InputError, "unsupported mesh format"),
        (
            "range.ply",
            (
                "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
                "property float z\nelement face 1\nproperty list uchar int vertex_indices\n"
                "end_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n"
            ),
            FormatError,
            "out of range",
        ),
        (
            "trunc.ply",
            "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n",
            FormatError,
            "m",
        ),
    ],
)
def test_bad_meshes_raise_one_line_errors(tmp_path, name, text, error, message):
    p = _write(tmp_path, name, text)
    with pytest.raises(error) as info:
        load_mesh(p)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_mesh(tmp_path / "nope.obj")
    with pytest.raises(InputError, match="directory"):
        load_mesh(tmp_path)


def test_point_cloud_allowed_on_request(tmp_path):
    p = _write(tmp_path, "pts.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    m = load_mesh(p, allow_points=True)
    assert m.vertices.shape == (3, 3)
    assert m.faces.shape == (0, 3)


def test_save_obj_with_texture_names_files_after_stem(tmp_path):
    mesh, pixels = _textured_quad()
    written = save_mesh(tmp_path / "face.obj", mesh)
    assert [p.name for p in written] == ["face.obj", "face.mtl", "face.png"]
    assert "mtllib face.mtl" in (tmp_path / "face.obj").read_text()
    assert "map_Kd face.png" in (tmp_path / "face.mtl").read_text()
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "face.png")), pixels)
    back = load_mesh(tmp_path / "face.obj")
    assert back.vertices.shape == (4, 3) and back.faces.shape == (2, 3)
    np.testing.assert_allclose(back.vertices, mesh.vertices)
    np.testing.assert_array_equal(np.asarray(back.visual.material.image.convert("RGB")), pixels)
    np.testing.assert_allclose(back.visual.uv, mesh.visual.uv, atol=1e-7)
    # No temp files left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face.mtl", "face.obj", "face.png"]


def test_save_glb_keeps_texture(tmp_path):
    mesh, pixels = _textured_quad()
    assert save_mesh(tmp_path / "head.glb", mesh) == [tmp_path / "head.glb"]
    back = load_mesh(tmp_path / "head.glb")
    assert back.vertices.shape == (4, 3) and back.faces.shape == (2, 3)
    tex = back.visual.material.baseColorTexture
    np.testing.assert_array_equal(np.asarray(tex.convert("RGB")), pixels)


def test_save_ply_binary_with_vertex_colours(tmp_path):
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0.0]])
    colors = np.array(
        [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255], [9, 9, 9, 255]], dtype=np.uint8
    )
    mesh = trimesh.Trimesh(v, [[0, 1, 2], [1, 3, 2]], vertex_colors=colors, process=False)
    save_mesh(tmp_path / "c.ply", mesh)
    assert (tmp_path / "c.ply").read_bytes().startswith(b"ply\nformat binary_little_endian")
    back = load_mesh(tmp_path / "c.ply")
    assert back.vertices.shape == (4, 3) and back.faces.shape == (2, 3)
    np.testing.assert_array_equal(back.visual.vertex_colors, colors)


@pytest.mark.parametrize("suffix", [".off", ".stl", ".obj"])
def test_plain_formats_round_trip(tmp_path, suffix):
    box = trimesh.creation.box()
    [path] = save_mesh(tmp_path / f"box{suffix}", box)
    back = load_mesh(path)
    assert len(back.faces) == 12
    if suffix != ".stl":  # STL stores triangle soups
        np.testing.assert_allclose(back.vertices, box.vertices, atol=1e-6)


def test_save_refuses_unknown_suffix(tmp_path):
    with pytest.raises(InputError, match="cannot write"):
        save_mesh(tmp_path / "x.fbx", trimesh.creation.box())


# ------------------------------------------------------------------- GLB colour and material
def _coloured_box(alpha: int = 255) -> tuple[trimesh.Trimesh, np.ndarray]:
    box = trimesh.creation.box()
    rgb = np.array(
        [[128, 128, 128], [0, 0, 0], [255, 255, 255], [10, 20, 30],
         [200, 100, 50], [64, 128, 192], [1, 2, 3], [250, 128, 5]], dtype=np.uint8,
    )  # fmt: skip
    rgba = np.c_[rgb, np.full(8, alpha, np.uint8)]
    box.visual = trimesh.visual.ColorVisuals(box, vertex_colors=rgba)
    return box, rgba


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def test_glb_vertex_colours_are_linear_and_bound_by_a_material(tmp_path):
    box, rgba = _coloured_box()
    save_mesh(tmp_path / "box.glb", box)
    gltf, binary = _gltf.read_glb(tmp_path / "box.glb")
    [prim] = _gltf.primitives(gltf)
    material = _gltf.material_of(gltf, prim)
    pbr = material["pbrMetallicRoughness"]
    # COLOR_0 multiplies the base colour: white, not metal (glTF's default metallic is 1).
    assert pbr.get("baseColorFactor", [1, 1, 1, 1]) == [1, 1, 1, 1]
    assert pbr["metallicFactor"] == 0
    assert "baseColorTexture" not in pbr and material.get("alphaMode", "OPAQUE") == "OPAQUE"
    colour = _gltf.accessor(gltf, binary, prim["attributes"]["COLOR_0"])
    assert colour.dtype == np.float32 and colour.shape == (8, 3)
    # glTF COLOR_0 is linear: sRGB 128/255 (0.502) is stored as 0.216 (0.5 would be 0.214),
    # not 0.502 (the washed-out look of issue 19).
    assert colour[0] == pytest.approx([0.2158] * 3, abs=1e-4)
    assert colour[0] == pytest.approx([0.214] * 3, abs=0.002)
    np.testing.assert_allclose(colour, _srgb_to_linear(rgba[:, :3] / 255.0), atol=1e-6)
    normals = _gltf.accessor(gltf, binary, prim["attributes"]["NORMAL"])
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-6)
    # Read back as the sRGB 8-bit vertex colours went in, geometry and order unchanged.
    back = load_mesh(tmp_path / "box.glb")
    assert back.visual.kind == "vertex"
    np.testing.assert_array_equal(back.visual.vertex_colors, rgba)
    np.testing.assert_allclose(back.vertices, box.vertices, atol=1e-7)
    np.testing.assert_array_equal(back.faces, box.faces)
    assert back.is_watertight


def test_glb_translucent_vertex_colours_blend(tmp_path):
    box, rgba = _coloured_box(alpha=128)
    save_mesh(tmp_path / "a.glb", box)
    gltf, binary = _gltf.read_glb(tmp_path / "a.glb")
    [prim] = _gltf.primitives(gltf)
    assert _gltf.material_of(gltf, prim)["alphaMode"] == "BLEND"
    colour = _gltf.accessor(gltf, binary, prim["attributes"]["COLOR_0"])
    assert colour.shape == (8, 4)
    np.testing.assert_allclose(colour[:, 3], 128 / 255, atol=1e-6)  # alpha stays linear
    np.testing.assert_array_equal(load_mesh(tmp_path / "a.glb").visual.vertex_colors, rgba)


def test_glb_texture_is_the_base_colour_texture_in_srgb(tmp_path):
    mesh, pixels = _textured_quad()
    save_mesh(tmp_path / "face.glb", mesh)
    gltf, binary = _gltf.read_glb(tmp_path / "face.glb")
    [prim] = _gltf.primitives(gltf)
    material = _gltf.material_of(gltf, prim)
    pbr = material["pbrMetallicRoughness"]
    assert pbr.get("baseColorFactor", [1, 1, 1, 1]) == [1, 1, 1, 1]  # trimesh wrote 0.4 grey
    assert pbr["metallicFactor"] == 0
    assert "COLOR_0" not in prim["attributes"]  # it would multiply the texture
    texture = pbr["baseColorTexture"]
    assert texture.get("texCoord", 0) == 0
    png = _gltf.image_bytes(gltf, binary, texture["index"])
    # The image is the photo's sRGB pixels, unchanged.
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), pixels)
    uv = _gltf.accessor(gltf, binary, prim["attributes"]["TEXCOORD_0"])
    # glTF's texture origin is the top-left corner: v flipped.
    np.testing.assert_allclose(uv, np.c_[mesh.visual.uv[:, 0], 1 - mesh.visual.uv[:, 1]])
    assert material["doubleSided"]  # an open surface


def test_glb_without_colour_still_has_a_dielectric_material(tmp_path):
    save_mesh(tmp_path / "plain.glb", trimesh.creation.icosphere(subdivisions=1))
    gltf, _ = _gltf.read_glb(tmp_path / "plain.glb")
    [prim] = _gltf.primitives(gltf)
    material = _gltf.material_of(gltf, prim)
    assert material["pbrMetallicRoughness"]["metallicFactor"] == 0
    assert not material["doubleSided"]  # closed


def test_glb_closed_textured_mesh_with_uv_seams_is_single_sided(tmp_path):
    box = trimesh.creation.box()
    # A UV seam: one corner of one face uses a copy of vertex 0.
    vertices = np.vstack([box.vertices, box.vertices[:1]])
    faces = box.faces.copy()
    row = int(np.flatnonzero((faces == 0).any(axis=1))[0])
    faces[row][faces[row] == 0] = len(vertices) - 1
    image = Image.fromarray(np.full((4, 4, 3), 200, np.uint8))
    visual = trimesh.visual.TextureVisuals(uv=vertices[:, :2] + 0.5, image=image)
    save_mesh(tmp_path / "seam.glb", trimesh.Trimesh(vertices, faces, visual=visual, process=False))
    gltf, _ = _gltf.read_glb(tmp_path / "seam.glb")
    [prim] = _gltf.primitives(gltf)
    material = _gltf.material_of(gltf, prim)
    assert material["pbrMetallicRoughness"]["metallicFactor"] == 0  # not glTF's default metal
    assert not material["doubleSided"]  # closed once the seam's copies are merged


def test_obj_material_does_not_darken_the_texture(tmp_path):
    mesh, _ = _textured_quad()
    save_mesh(tmp_path / "face.obj", mesh)
    mtl = (tmp_path / "face.mtl").read_text().splitlines()
    kd = [line.split()[1:] for line in mtl if line.startswith("Kd")]
    ks = [line.split()[1:] for line in mtl if line.startswith("Ks")]
    # map_Kd is multiplied by Kd (three.js, trimesh's OBJ -> glTF): white, no highlight.
    assert [[float(x) for x in k] for k in kd] == [[1.0, 1.0, 1.0]]
    assert all(float(x) == 0 for k in ks for x in k)
    back = load_mesh(tmp_path / "face.obj")
    assert np.asarray(back.visual.material.diffuse)[:3].tolist() == [255, 255, 255]
