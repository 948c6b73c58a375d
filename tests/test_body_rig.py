"""The rigged body GLB (:mod:`monoscan.body.rig`, :class:`monoscan.io.meshes.Skin`; issue 18):
the fitted skeleton and skin weights, read back from the file and skinned as a glTF reader
does. Blender's import of it: ``tests/test_blender.py`` (``-m bpy``)."""

from __future__ import annotations

from types import SimpleNamespace

import _gltf
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from monoscan.body.fit import FitOptions, NakedBody, fit_body
from monoscan.body.model import BONE_NAMES, load_body_model
from monoscan.body.rig import body_skin, bone_frames, top_weights, transfer_weights
from monoscan.core.errors import InputError
from monoscan.evaluation.body_fit import synthetic_body
from monoscan.io.meshes import Skin, load_mesh, save_glb


@pytest.fixture(scope="module")
def model():
    return load_body_model()


@pytest.fixture(scope="module")
def naked(model):
    """A body fitted to a synthetic scene's landmarks (no photo), placed in a world frame
    by a similarity as :func:`monoscan.body.fit.fit_reconstruction` places it."""
    scene = synthetic_body(model, 0)
    fit = fit_body(scene["px"], None, scene["world"], None, FitOptions(max_nfev=15), model)
    k, offset = 1.04, np.array([0.02, -0.55, -0.1])
    return NakedBody(
        fit=fit, vertices=k * fit.vertices + offset, world_scale=k, world_offset=offset
    )


def _local(node: dict) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = Rotation.from_quat(node.get("rotation", [0, 0, 0, 1])).as_matrix()
    m[:3, 3] = node.get("translation", [0, 0, 0])
    return m


def _world_matrices(gltf: dict, local: dict[int, np.ndarray] | None = None) -> dict:
    """World matrix of every node reachable from the scene (``local`` overrides some)."""
    local = local or {}
    out: dict[int, np.ndarray] = {}

    def walk(i: int, parent: np.ndarray) -> None:
        node = gltf["nodes"][i]
        out[i] = parent @ local.get(i, _local(node))
        for c in node.get("children", []):
            walk(c, out[i])

    for root in gltf["scenes"][gltf["scene"]]["nodes"]:
        walk(root, np.eye(4))
    return out


def _skinned(gltf: dict, binary: bytes, local: dict | None = None) -> np.ndarray:
    """The first mesh's vertices as a glTF reader skins them (joint world x inverse bind)."""
    node = next(n for n in gltf["nodes"] if "skin" in n)
    skin = gltf["skins"][node["skin"]]
    attrs = gltf["meshes"][node["mesh"]]["primitives"][0]["attributes"]
    pos = _gltf.accessor(gltf, binary, attrs["POSITION"]).astype(np.float64)
    joints = _gltf.accessor(gltf, binary, attrs["JOINTS_0"]).astype(np.int64)
    weights = _gltf.accessor(gltf, binary, attrs["WEIGHTS_0"]).astype(np.float64)
    ibm = _gltf.accessor(gltf, binary, skin["inverseBindMatrices"]).reshape(-1, 4, 4)
    ibm = ibm.transpose(0, 2, 1).astype(np.float64)  # column-major in the file
    world = _world_matrices(gltf, local)
    mats = np.stack([world[j] @ ibm[k] for k, j in enumerate(skin["joints"])])
    blend = np.einsum("vk,vkij->vij", weights, mats[joints])
    return np.einsum("vij,vj->vi", blend[:, :3, :3], pos) + blend[:, :3, 3]


def _write_naked(tmp_path, model, naked):
    import trimesh

    mesh = trimesh.Trimesh(naked.vertices, model.faces, process=False)
    skin = body_skin(naked, model=model)
    path = save_glb(tmp_path / "body.glb", {"body": mesh}, skins={"body": skin})[0]
    return path, skin


def test_rigged_glb_holds_the_fitted_skeleton_and_valid_weights(tmp_path, model, naked):
    path, skin = _write_naked(tmp_path, model, naked)
    gltf, binary = _gltf.read_glb(path)
    assert len(gltf["skins"]) == 1
    sk = gltf["skins"][0]
    joint_nodes = [gltf["nodes"][j] for j in sk["joints"]]
    assert len(joint_nodes) == model.n_joints == len(BONE_NAMES)
    assert [n["name"] for n in joint_nodes] == list(BONE_NAMES)
    # the hierarchy is the model's: each joint a child of its parent's node
    for k, p in enumerate(model.parents):
        if p >= 0:
            assert sk["joints"][k] in joint_nodes[p]["children"]
    assert sk["skeleton"] == sk["joints"][0] and sk["joints"][0] in gltf["scenes"][0]["nodes"]
    prim = gltf["meshes"][0]["primitives"][0]
    acc = gltf["accessors"]
    assert acc[prim["attributes"]["JOINTS_0"]]["componentType"] == 5121  # unsigned byte
    assert acc[prim["attributes"]["WEIGHTS_0"]]["componentType"] == 5126
    assert acc[sk["inverseBindMatrices"]]["type"] == "MAT4"
    joints = _gltf.accessor(gltf, binary, prim["attributes"]["JOINTS_0"])
    weights = _gltf.accessor(gltf, binary, prim["attributes"]["WEIGHTS_0"])
    assert joints.shape == weights.shape == (len(naked.vertices), 4)
    assert joints.max() < model.n_joints and (weights >= 0).all()
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)
    # the four kept weights are the model's largest (renormalised): at most 0.03 moves
    dense = np.zeros_like(model.skin_weights, dtype=np.float64)
    np.add.at(dense, (np.arange(len(joints))[:, None], joints.astype(np.int64)), weights)
    assert np.abs(dense - model.skin_weights).max() < 0.03
    # inverse bind matrices invert the joints' world transforms in the file (the bind pose)
    ibm = _gltf.accessor(gltf, binary, sk["inverseBindMatrices"]).reshape(-1, 4, 4)
    world = _world_matrices(gltf)
    for k, j in enumerate(sk["joints"]):
        np.testing.assert_allclose(world[j] @ ibm[k].T, np.eye(4), atol=1e-5)
    # ... which sit at the fitted joints, in the world frame of the mesh
    np.testing.assert_allclose(
        np.stack([world[j][:3, 3] for j in sk["joints"]]),
        naked.world_scale * naked.fit.joints + naked.world_offset,
        atol=1e-6,
    )
    # skinned in the bind pose, the mesh is itself; readers that do not skin see the same
    np.testing.assert_allclose(_skinned(gltf, binary), naked.vertices, atol=1e-5)
    np.testing.assert_allclose(load_mesh(path).vertices, naked.vertices, atol=1e-6)
    print(f"rigged naked GLB: {path.stat().st_size / 1e6:.2f} MB")


def test_turning_a_joint_in_the_glb_poses_the_body_as_the_model_does(tmp_path, model, naked):
    """Bend the left elbow 45 degrees about the model's x axis at rest, in the file's nodes
    and in the model: vertices driven by the forearm and hand alone move the same, those
    with no weight on them stay."""
    path, _ = _write_naked(tmp_path, model, naked)
    gltf, binary = _gltf.read_glb(path)
    elbow, wrist = BONE_NAMES.index("left_elbow"), BONE_NAMES.index("left_wrist")
    bend = Rotation.from_rotvec([np.pi / 4, 0, 0]).as_matrix()
    _, rest_joints = model.rest(naked.fit.phenotype)
    r0 = bone_frames(rest_joints, model.parents)[elbow]
    node = gltf["skins"][0]["joints"][elbow]
    turn = np.eye(4)
    turn[:3, :3] = r0.T @ bend @ r0  # the same turn in the joint's own frame
    moved = _skinned(gltf, binary, {node: _local(gltf["nodes"][node]) @ turn})

    rot = naked.fit.rotvecs.copy()
    rot[elbow] = Rotation.from_matrix(
        Rotation.from_rotvec(rot[elbow]).as_matrix() @ bend
    ).as_rotvec()
    posed, _ = model.pose(naked.fit.phenotype, rot)
    want = naked.world_scale * posed + naked.world_offset
    w = model.skin_weights
    arm = (w[:, elbow] + w[:, wrist]) > 0.999
    still = (w[:, elbow] + w[:, wrist]) == 0
    assert arm.sum() > 300 and still.sum() > 10000
    np.testing.assert_allclose(moved[arm], want[arm], atol=1e-5)
    np.testing.assert_allclose(moved[still], naked.vertices[still], atol=1e-5)
    assert np.linalg.norm(moved[arm] - naked.vertices[arm], axis=1).max() > 0.1


def test_clothed_body_takes_the_weights_of_where_it_grew(tmp_path, model, naked):
    """The clothed surface (the naked one subdivided and displaced) skinned from the naked
    body's weights at each vertex's origin: the model's own weights on the original
    vertices, means of two on the edge midpoints; colours kept in the rigged GLB."""
    from scipy.ndimage import binary_dilation

    from monoscan.body.clothed import ClothedOptions, clothed_body
    from monoscan.body.mesh import world_to_photo
    from monoscan.render.raster import rasterize

    scale, shape = 0.005, (420, 300)
    origin = np.array([150.0, 200.0, 0.0])
    p = world_to_photo(naked.vertices, scale, origin)
    depth, _, _ = rasterize(p[:, :2], p[:, 2], model.faces, shape)
    mask = binary_dilation(np.isfinite(depth), iterations=4)
    result = SimpleNamespace(
        mask=mask, scale=scale, map_scale=1.0, origin_px=origin,
        front_depth=np.where(mask, 0.1, np.nan).astype(np.float32),
    )  # fmt: skip
    rgb = np.full(shape + (3,), (200, 40, 30), np.uint8)
    clothed = clothed_body(naked, result, rgb, ClothedOptions(iterations=2, detail=0.0))
    skin = body_skin(naked, clothed.naked_vertices, model=model)
    n = len(clothed.mesh.vertices)
    assert skin.joints.shape == (n, 4)
    # the original vertices (the main surface's, in order, first) keep the model's weights
    from scipy.spatial import cKDTree

    d, idx = cKDTree(naked.vertices).query(clothed.naked_vertices)
    same = d < 1e-9
    assert same.sum() > n / 5
    want_j, want_w = top_weights(model.skin_weights[idx[same]])
    dense = np.zeros((same.sum(), model.n_joints))
    np.put_along_axis(dense, skin.joints[same], skin.weights[same], axis=1)
    np.testing.assert_allclose(np.take_along_axis(dense, want_j, axis=1), want_w, atol=1e-6)

    path = save_glb(tmp_path / "body.glb", {"body": clothed.mesh}, skins={"body": skin})[0]
    gltf, binary = _gltf.read_glb(path)
    attrs = gltf["meshes"][0]["primitives"][0]["attributes"]
    assert {"COLOR_0", "JOINTS_0", "WEIGHTS_0"} <= set(attrs)
    weights = _gltf.accessor(gltf, binary, attrs["WEIGHTS_0"])
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(_skinned(gltf, binary), clothed.mesh.vertices, atol=1e-5)
    colours = load_mesh(path).visual.vertex_colors[:, :3]
    assert (np.abs(colours.astype(int) - (200, 40, 30)) <= 1).all()


def test_transfer_weights_is_barycentric():
    v = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    w = np.eye(3)
    got = transfer_weights([[0.25, 0.25, 0.3], [0.5, 0.5, 0.0], [-1, -1, 0]], v, [[0, 1, 2]], w)
    np.testing.assert_allclose(got, [[0.5, 0.25, 0.25], [0, 0.5, 0.5], [1, 0, 0]], atol=1e-12)


def test_bone_frames_point_along_the_limbs(model):
    frames = bone_frames(model.joint_template, model.parents)
    np.testing.assert_allclose(
        np.einsum("kji,kjl->kil", frames, frames), np.eye(3)[None].repeat(19, 0), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(frames), 1.0, atol=1e-12)
    j = model.joint_template
    i = BONE_NAMES.index
    for a, b in [
        ("left_shoulder", "left_elbow"),
        ("right_knee", "right_ankle"),
        ("root", "spine_lower"),
    ]:
        d = (j[i(b)] - j[i(a)]) / np.linalg.norm(j[i(b)] - j[i(a)])
        np.testing.assert_allclose(frames[i(a)][:, 1], d, atol=1e-12)
    assert (frames[:, 2, 2] > 0.5).sum() >= 15  # +z toward the front


def test_skin_writer_refuses_bad_skins_and_handles_many_joints(tmp_path):
    import trimesh

    mesh = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], process=False)
    good = dict(
        names=("a", "b"), parents=np.array([-1, 0]), bind=np.eye(4)[None].repeat(2, 0),
        joints=np.array([[0, 1]] * 3), weights=np.array([[0.5, 0.5]] * 3),
    )  # fmt: skip
    path = save_glb(tmp_path / "ok.glb", {"m": mesh}, skins={"m": Skin(**good)})[0]
    gltf, _ = _gltf.read_glb(path)
    assert gltf["nodes"][2]["translation"] == [0, 0, 0] and len(gltf["skins"][0]["joints"]) == 2
    scaled = np.eye(4)[None].repeat(2, 0)
    scaled[1, :3, :3] *= 2
    for change, message in [
        ({"weights": np.array([[0.5, 0.4]] * 3)}, "summing to 1"),
        ({"joints": np.array([[0, 2]] * 3)}, "out of range"),
        ({"joints": np.array([[0, 1]] * 2), "weights": np.array([[1.0, 0]] * 2)}, "for 3 vertices"),
        ({"parents": np.array([1, -1])}, "parent after"),
        ({"bind": scaled}, "not rotations"),
    ]:
        with pytest.raises(InputError, match=message):
            save_glb(tmp_path / "bad.glb", {"m": mesh}, skins={"m": Skin(**{**good, **change})})
    with pytest.raises(InputError, match="not one of the meshes"):
        save_glb(tmp_path / "bad.glb", {"m": mesh}, skins={"x": Skin(**good)})
    # past 256 joints JOINTS_0 is unsigned short; fewer than 4 influences are padded
    many = Skin(
        names=tuple(f"j{k}" for k in range(300)), parents=np.arange(-1, 299),
        bind=np.eye(4)[None].repeat(300, 0), joints=np.array([[299]] * 3), weights=np.ones((3, 1)),
    )  # fmt: skip
    gltf, binary = _gltf.read_glb(
        save_glb(tmp_path / "many.glb", {"m": mesh}, skins={"m": many})[0]
    )
    attrs = gltf["meshes"][0]["primitives"][0]["attributes"]
    assert gltf["accessors"][attrs["JOINTS_0"]]["componentType"] == 5123
    np.testing.assert_array_equal(_gltf.accessor(gltf, binary, attrs["JOINTS_0"])[:, 0], 299)
    np.testing.assert_array_equal(
        _gltf.accessor(gltf, binary, attrs["WEIGHTS_0"]), [[1, 0, 0, 0]] * 3
    )
