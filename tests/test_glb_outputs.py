"""Issue 19 end to end: every GLB and USD a reconstruction writes carries its colour in a way
Blender, Unreal and three.js show (a bound PBR material; linear vertex colours)."""

from __future__ import annotations

import io

import _gltf
import numpy as np
import pytest
from PIL import Image


def _linear(srgb8: np.ndarray) -> np.ndarray:
    c = np.asarray(srgb8, np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


@pytest.fixture(scope="module")
def written(tmp_path_factory, astronaut_path):
    import monoscan
    from monoscan.pipeline.options import Options

    options = Options(person=False, formats=("glb", "usdc"))
    recon = monoscan.reconstruct(astronaut_path, options)
    out = tmp_path_factory.mktemp("glb_out")
    folder = monoscan.write_outputs(recon, out, options).parent
    return recon, folder


def test_every_glb_primitive_has_a_material(written):
    _, folder = written
    names = sorted(p.name for p in folder.glob("*.glb"))
    assert names == ["face.glb", "hair.glb", "head.glb", "head_with_hair.glb"]
    for name in names:
        gltf, _ = _gltf.read_glb(folder / name)
        for prim in _gltf.primitives(gltf):
            pbr = _gltf.material_of(gltf, prim)["pbrMetallicRoughness"]
            assert pbr["metallicFactor"] == 0, name


@pytest.mark.parametrize("name", ["face", "head"])
def test_textured_meshes_bind_the_photo_texture(written, name):
    recon, folder = written
    gltf, binary = _gltf.read_glb(folder / f"{name}.glb")
    prim = _gltf.primitives(gltf)[0]  # the head's eyeballs follow it
    pbr = _gltf.material_of(gltf, prim)["pbrMetallicRoughness"]
    assert pbr.get("baseColorFactor", [1, 1, 1, 1]) == [1, 1, 1, 1]
    png = _gltf.image_bytes(gltf, binary, pbr["baseColorTexture"]["index"])
    texture = (recon.face_mesh if name == "face" else recon.head).texture
    # The texture image is the sRGB texture itself, not re-encoded colours.
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), texture)
    assert "TEXCOORD_0" in prim["attributes"] and "COLOR_0" not in prim["attributes"]


def test_head_with_hair_vertex_colours_are_the_photo_colours_linearised(written):
    recon, folder = written
    gltf, binary = _gltf.read_glb(folder / "head_with_hair.glb")
    [prim] = _gltf.primitives(gltf)
    pbr = _gltf.material_of(gltf, prim)["pbrMetallicRoughness"]
    assert pbr.get("baseColorFactor", [1, 1, 1, 1]) == [1, 1, 1, 1]
    colour = _gltf.accessor(gltf, binary, prim["attributes"]["COLOR_0"])
    expected = _linear(recon.head_with_hair.vertex_colors)
    np.testing.assert_allclose(colour, expected, atol=1e-6)
    # Before, the sRGB values themselves were stored, which glTF readers take as linear:
    # everything looked washed out. Linear values of skin and hair are well below them.
    assert np.median(colour) < 0.6 * np.median(recon.head_with_hair.vertex_colors / 255.0)


def test_strand_files_carry_the_hair_colour(written):
    from pxr import Usd, UsdGeom, UsdShade

    recon, folder = written
    colours = recon.strands.colors
    assert colours is not None
    gltf, binary = _gltf.read_glb(folder / "hair.glb")
    [prim] = _gltf.primitives(gltf)
    _gltf.material_of(gltf, prim)
    colour = _gltf.accessor(gltf, binary, prim["attributes"]["COLOR_0"])
    np.testing.assert_allclose(colour, colours, atol=1e-7)
    stage = Usd.Stage.Open(str(folder / "strands.usdc"))
    curves = stage.GetPrimAtPath("/Hair/Strands")
    display = UsdGeom.PrimvarsAPI(curves).GetPrimvar("displayColor").Get()
    np.testing.assert_allclose(np.asarray(display), colours, atol=1e-7)
    material, _ = UsdShade.MaterialBindingAPI(curves).ComputeBoundMaterial()
    shader = material.ComputeSurfaceSource()[0]
    assert shader.GetIdAttr().Get() == "UsdPreviewSurface"
    diffuse = np.asarray(shader.GetInput("diffuseColor").Get())
    np.testing.assert_allclose(diffuse, np.median(colours, axis=0), atol=1e-6)
