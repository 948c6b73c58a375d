"""Render a monoscan result folder's GLB and USD files in Blender (run as a script, not a test).

``python tests/_blender_render.py RESULT_DIR OUT_DIR`` imports each of ``head_with_hair.glb``,
``head.glb``, ``hair.glb`` and ``strands.usdc`` into an empty scene, renders it from the front
with Cycles (CPU, 96 x 96, film transparent, a uniform white world, the "Standard" view
transform so that pixels are the sRGB encoding of the lit colours) and writes
``OUT_DIR/<file>.png`` (RGBA, straight alpha) and ``OUT_DIR/report.json`` (what the importer
made: object types, materials, colour attributes; render seconds).

Run in a child process so that Blender's ``bpy`` never shares an interpreter with the pipeline's
native libraries. The camera frames the first file (``head_with_hair.glb``) for all of them.

Hair that Blender 4.2 imports without a usable material gets the one documented step:
``strands.usdc`` (its curves reader binds no material) and ``hair.glb`` (lines import as loose
edges, which do not render) get a material whose base colour is an Attribute node reading the
colour the file carries (``displayColor``, ``_COLOR_0``); ``hair.glb``'s edges become curves
(geometry nodes Mesh to Curve) of the strands' USD radius.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import bpy
import numpy as np

FILES = ("head_with_hair.glb", "head.glb", "hair.glb", "strands.usdc")
SIZE = 96
SAMPLES = 16
HAIR_RADIUS_M = 4e-5  # the USD strands' default radius (0.08 mm diameter)


def _empty_scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = SAMPLES
    scene.cycles.use_denoising = False
    scene.render.threads_mode = "FIXED"
    scene.render.threads = 2
    scene.render.resolution_x = scene.render.resolution_y = SIZE
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = True
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    world = bpy.data.worlds.new("white")
    world.use_nodes = True
    background = world.node_tree.nodes["Background"]
    background.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    background.inputs["Strength"].default_value = 1.0
    scene.world = world
    return scene


def _bounds() -> tuple[np.ndarray, np.ndarray]:
    corners = [
        np.array(o.matrix_world, np.float64) @ np.append(np.array(c, np.float64), 1.0)
        for o in bpy.data.objects
        if o.type in ("MESH", "CURVES")
        for c in o.bound_box
    ]
    pts = np.array(corners)[:, :3]
    return pts.min(axis=0), pts.max(axis=0)


def _camera(scene, lo: np.ndarray, hi: np.ndarray) -> None:
    """Orthographic camera in front of the face (Blender -y), looking along +y, z up."""
    cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(cam)
    cam.data.type = "ORTHO"
    cam.data.ortho_scale = float(max(hi[0] - lo[0], hi[2] - lo[2])) * 1.05
    cam.data.clip_end = 10.0
    cam.location = (float(lo[0] + hi[0]) / 2, float(lo[1]) - 1.0, float(lo[2] + hi[2]) / 2)
    cam.rotation_euler = (np.pi / 2, 0.0, 0.0)
    scene.camera = cam


def _attribute_material(name: str, attribute: str):
    """Principled BSDF whose base colour is the geometry attribute ``attribute``."""
    material = bpy.data.materials.new(name)
    material.use_nodes = True
    nodes = material.node_tree.nodes
    node = nodes.new("ShaderNodeAttribute")
    node.attribute_type = "GEOMETRY"
    node.attribute_name = attribute
    bsdf = nodes["Principled BSDF"]
    bsdf.inputs["Roughness"].default_value = 0.6
    material.node_tree.links.new(node.outputs["Color"], bsdf.inputs["Base Color"])
    return material


def _lines_to_curves(obj, radius: float):
    """A loose-edge mesh as a hair curves object (Mesh to Curve, a radius, Convert to Curves).

    Cycles renders a ``CURVES`` object's strands at their radius; curves left inside a mesh
    object's geometry nodes output would not render.
    """
    tree = bpy.data.node_groups.new("lines_to_curves", "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    n = tree.nodes
    group_in, group_out = n.new("NodeGroupInput"), n.new("NodeGroupOutput")
    to_curve, set_radius = n.new("GeometryNodeMeshToCurve"), n.new("GeometryNodeSetCurveRadius")
    set_radius.inputs["Radius"].default_value = radius
    tree.links.new(group_in.outputs["Geometry"], to_curve.inputs["Mesh"])
    tree.links.new(to_curve.outputs["Curve"], set_radius.inputs["Curve"])
    tree.links.new(set_radius.outputs["Curve"], group_out.inputs["Geometry"])
    obj.modifiers.new("lines_to_curves", "NODES").node_group = tree
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    bpy.ops.object.convert(target="CURVES")
    return bpy.context.view_layer.objects.active


def _describe() -> list[dict]:
    out = []
    for o in bpy.data.objects:
        if o.type not in ("MESH", "CURVES"):
            continue
        attrs = {a.name: [a.domain, a.data_type, len(a.data)] for a in o.data.attributes}
        out.append(
            {
                "name": o.name,
                "type": o.type,
                "materials": [s.material.name for s in o.material_slots if s.material],
                "attributes": {k: v for k, v in attrs.items() if not k.startswith(".")},
            }
        )
    return out


def _median_attribute(obj, name: str) -> list[float]:
    data = obj.data.attributes[name].data
    width = 4 if obj.data.attributes[name].data_type.endswith("COLOR") else 3
    values = np.zeros(len(data) * width, np.float32)
    data.foreach_get("color" if width == 4 else "vector", values)
    return np.median(values.reshape(-1, width)[:, :3], axis=0).tolist()


def render_all(result_dir: Path, out_dir: Path) -> dict:
    report: dict = {"engine": "CYCLES", "samples": SAMPLES, "size": SIZE, "files": {}}
    frame = None
    for name in FILES:
        scene = _empty_scene()
        start = time.perf_counter()
        path = str(result_dir / name)
        if name.endswith(".glb"):
            result = bpy.ops.import_scene.gltf(filepath=path)
        else:
            result = bpy.ops.wm.usd_import(filepath=path)
        entry: dict = {"import": sorted(result), "as_imported": _describe()}
        if frame is None:
            frame = _bounds()
        _camera(scene, *frame)
        if name == "strands.usdc":
            obj = next(o for o in bpy.data.objects if o.type == "CURVES")
            entry["attribute_median_linear"] = _median_attribute(obj, "displayColor")
            if not obj.data.materials:
                obj.data.materials.append(_attribute_material("hair_display", "displayColor"))
                entry["material_added"] = "Attribute displayColor"
        elif name == "hair.glb":
            obj = next(o for o in bpy.data.objects if o.type == "MESH")
            entry["attribute_median_linear"] = _median_attribute(obj, "_COLOR_0")
            obj = _lines_to_curves(obj, HAIR_RADIUS_M)
            entry["converted"] = _describe()
            obj.data.materials.append(_attribute_material("hair_color0", "_COLOR_0"))
            entry["material_added"] = "Attribute _COLOR_0 (after Mesh to Curve)"
        scene.render.filepath = str(out_dir / f"{name}.png")
        bpy.ops.render.render(write_still=True)
        entry["seconds"] = round(time.perf_counter() - start, 2)
        report["files"][name] = entry
    # The UsdPreviewSurface the curves are bound to: Blender 4.2 binds none to curves but
    # imports it as an unused material on request.
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.usd_import(filepath=str(result_dir / "strands.usdc"), import_all_materials=True)
    report["usd_materials"] = {
        m.name: list(m.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value)[:3]
        for m in bpy.data.materials
        if m.use_nodes and "Principled BSDF" in m.node_tree.nodes
    }
    return report


if __name__ == "__main__":
    result_dir, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    report = render_all(result_dir, out_dir)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1))
    sys.stdout.flush()
    # bpy 4.2 as a module crashes (SIGSEGV) at interpreter exit once the glTF importer ran.
    os._exit(0)
