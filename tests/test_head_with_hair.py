"""head_with_hair.* and h3ds_landmarks_with_hair.txt: closed, one piece, holds the head, hair
outside it, landmarks on the face (monoscan.head.with_hair)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from conftest import shared

from monoscan.core.errors import InputError

PHOTO = ("portraits", "deep3dfacerecon__000006.jpg")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from monoscan.pipeline import Options, reconstruct, write_outputs

    photo = shared(*PHOTO)
    options = Options(strands=500, formats=("obj", "glb", "ply"))
    recon = reconstruct(photo, options)
    out = tmp_path_factory.mktemp("with_hair")
    write_outputs(recon, out, options)
    return recon, out / photo.stem


def _load(path) -> trimesh.Trimesh:
    if path.suffix == ".glb":  # COLOR_0 is linear behind a material: load_mesh gives sRGB
        from monoscan.io.meshes import load_mesh

        return load_mesh(path)
    return trimesh.load(path, force="mesh", process=False)


@pytest.mark.parametrize("fmt", ["obj", "ply", "glb"])
def test_closed_manifold_single_piece(result, fmt):
    _, d = result
    mesh = _load(d / f"head_with_hair.{fmt}")
    mesh.merge_vertices()  # glb/obj readers may split vertices; positions decide closedness
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume > 0  # outward oriented
    assert len(mesh.split(only_watertight=False)) == 1
    colours = np.asarray(mesh.visual.vertex_colors)[:, :3]
    assert colours.std() > 5  # coloured, not one flat grey


def _manifold(mesh: trimesh.Trimesh):
    import manifold3d

    return manifold3d.Manifold(
        manifold3d.Mesh(
            vert_properties=np.asarray(mesh.vertices, np.float32),
            tri_verts=np.asarray(mesh.faces, np.uint32),
        )
    )


def test_contains_head_and_is_larger_where_hair_is(result):
    from monoscan.hair.volume import voxelize_mesh

    recon, d = result
    both = _load(d / "head_with_hair.ply")
    head = recon.head.to_trimesh(textured=False)
    # The head lies inside the envelope: what of it sticks out is nothing (exact booleans).
    outside = (_manifold(head) - _manifold(both)).volume()
    assert outside < 1e-8  # m^3 (0.01 cm^3)
    assert both.volume > 1.3 * head.volume
    # Hair voxels well away from the head (and above the neck cut) are inside the envelope.
    occ = recon.hair_volume
    inside = voxelize_mesh(both.vertices, both.faces, occ.origin, occ.voxel_size, occ.shape)
    pts = occ.voxel_points()
    far = (occ.head_distance_at(pts) > 0.01) & (pts[:, 1] > head.vertices[:, 1].min() + 0.01)
    assert far.sum() > 100
    idx = np.argwhere(occ.grid)[far]
    assert inside[idx[:, 0], idx[:, 1], idx[:, 2]].mean() > 0.9
    # Above the head's crown there is hair: the top of the envelope is higher than the head's.
    assert both.vertices[:, 1].max() > head.vertices[:, 1].max() + 0.005


def test_colours_face_and_hair(result):
    recon, d = result
    both = _load(d / "head_with_hair.ply")
    col = np.asarray(both.visual.vertex_colors)[:, :3].astype(float)
    head = recon.head
    # Crown (above the head): hair colour, far from the skin colour.
    crown = both.vertices[:, 1] > head.vertices[:, 1].max()
    assert crown.sum() > 20
    hair_px = recon.crop.image[recon.hair.hair_mask > 0].astype(float)
    hair_median = np.median(hair_px, axis=0)
    skin = head.skin_color.astype(float)
    crown_mean = col[crown].mean(0)
    assert np.linalg.norm(crown_mean - hair_median) < np.linalg.norm(crown_mean - skin)
    # Nose tip: the photo's face colour, as on the head.
    tip = recon.head.vertices[recon.head_landmarks["nose_tip"]]
    i = int(np.argmin(np.linalg.norm(both.vertices - tip, axis=1)))
    j = recon.head_landmarks["nose_tip"]
    assert np.abs(col[i] - head.vertex_colors[j]).max() < 40


def test_landmarks_on_the_face(result):
    recon, d = result
    mesh = _load(d / "head_with_hair.obj")
    lines = (d / "h3ds_landmarks_with_hair.txt").read_text().split("\n")
    ids = {ln.split()[0]: int(ln.split()[1]) for ln in lines if ln.strip()}
    assert list(ids) == [
        "right_eye",
        "left_eye",
        "nose_tip",
        "nose_base",
        "right_lips",
        "left_lips",
    ]
    for name, i in ids.items():
        assert 0 <= i < len(mesh.vertices)
        target = recon.head.vertices[recon.head_landmarks[name]]
        assert np.linalg.norm(mesh.vertices[i] - target) < 0.003, name
    # Subject's right is -x: right eye left of left eye, nose tip the closest.
    v = mesh.vertices
    assert v[ids["right_eye"], 0] < v[ids["left_eye"], 0]
    assert v[ids["nose_tip"], 2] > v[ids["right_lips"], 2]


def test_empty_hair_volume_is_refused(result):
    import dataclasses

    from monoscan.head.with_hair import hair_envelope

    recon, _ = result
    empty = dataclasses.replace(recon.hair_volume, grid=np.zeros_like(recon.hair_volume.grid))
    with pytest.raises(InputError):
        hair_envelope(empty)
