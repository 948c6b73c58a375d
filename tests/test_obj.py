"""Tests for monoscan.io.obj: the vectorised OBJ reader against Python's own parsing and trimesh.

An independent line-by-line reader (``float()`` / ``int()`` per token, polygons fanned from
their first corner, negative indices resolved against the vertices read so far) is the oracle
for every number and index, bit for bit; trimesh is the oracle for the triangles' geometry.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh

from monoscan.core.errors import FormatError
from monoscan.io.meshes import load_mesh
from monoscan.io.obj import parse_obj


def reference(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (fewest numbers per line kept) and fanned triangles, one line at a time."""
    verts, faces = [], []
    for line in raw.splitlines():
        if line[:2] in (b"v ", b"v\t"):
            verts.append([float(t) for t in line[2:].split()])
        elif line[:2] in (b"f ", b"f\t"):
            idx = []
            for tok in line[2:].split():
                i = int(tok.split(b"/")[0])
                idx.append(i - 1 if i > 0 else len(verts) + i)
            faces += [[idx[0], idx[k], idx[k + 1]] for k in range(1, len(idx) - 1)]
    k = min(len(v) for v in verts)
    return np.array([v[:k] for v in verts]), np.array(faces, dtype=np.int64).reshape(-1, 3)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal arrays, -0.0 told from 0.0."""
    return a.shape == b.shape and np.array_equal(
        np.ascontiguousarray(a, np.float64).view(np.uint64),
        np.ascontiguousarray(b, np.float64).view(np.uint64),
    )


def check(raw: bytes) -> None:
    got = parse_obj(raw, "m.obj")
    v, f = reference(raw)
    assert same_bits(got.vertices, v)
    np.testing.assert_array_equal(got.faces, f)


MIXED = b"""# exported by hand
mtllib nothing.mtl
o head
g part_1
v 0.0 0.0 0.0
v 1.0 0.0 0.0
v\t1.0 1.0 0.0
v 0.0 1.0 0.0   # a comment after the numbers is not a number: see below
vt 0.0 0.0
vt 1.0 0.0
vt 1.0 1.0
vn 0 0 1
usemtl skin
s off
f 1/1/1 2/2/1 3/3/1
f 1//1 3//1 4//1
g part_2
v 0.5 0.5 1.0
v 2.0 0.0 0.0
v 2.0 1.0 0.0
f -3 -2 -1
f 2/1 6/2 7/3 3/1
f\t1 2 5 4 3
"""


def canonical(triangles: np.ndarray) -> list:
    """Triangles (T, 3, 3) as a sorted list, each rotated to start at its smallest corner
    (orientation kept): trimesh splits quads along the other diagonal's rotation."""
    out = []
    for tri in np.asarray(triangles).tolist():
        r = min(range(3), key=lambda k: tri[k])
        out.append(tri[r:] + tri[:r])
    return sorted(out)


def test_mixed_file_matches_line_by_line_reading():
    raw = MIXED.replace(b"   # a comment after the numbers is not a number: see below", b"")
    check(raw)
    check(raw.replace(b"\n", b"\r\n"))  # CRLF
    check(raw.replace(b"\n", b"\r"))  # old Mac line ends
    check(raw.rstrip(b"\n"))  # no final newline
    got = parse_obj(raw, "m.obj")
    # 2 triangles + 1 + the negative-index triangle + a quad (2) + a pentagon (3).
    assert got.faces.tolist()[:4] == [[0, 1, 2], [0, 2, 3], [4, 5, 6], [1, 5, 6]]
    assert len(got.faces) == 2 + 1 + 2 + 3


@pytest.mark.parametrize("corner", ["{v}", "{v}/{t}", "{v}/{t}/1", "{v}//1"])
def test_geometry_matches_trimesh(tmp_path, corner):
    rng = np.random.default_rng(len(corner))
    head = trimesh.creation.icosphere(subdivisions=2, radius=90.0)
    v = np.asarray(head.vertices) + rng.normal(scale=0.5, size=head.vertices.shape)
    lines = ["# test mesh", "o head", "g front"]
    lines += ["v " + " ".join(f"{c:.7f}" for c in row) for row in v]
    lines += [f"vt {u:.4f} {w:.4f}" for u, w in rng.random((len(v), 2))] + ["vn 0 0 1"]
    faces = np.asarray(head.faces) + 1
    for k, (a, b, c) in enumerate(faces):
        if k % 50 == 0:
            lines.append(f"g group_{k}")
        if k % 3 == 0:  # relative indices, counted back from the vertices read so far
            a, b, c = (int(i) - len(v) - 1 for i in (a, b, c))
        lines.append("f " + " ".join(corner.format(v=i, t=abs(int(i))) for i in (a, b, c)))
    # A quad and a pentagon over existing vertices (trimesh and we both fan them).
    lines += ["f 1 2 3 4", "f 5 6 7 8 9"]
    if "/" in corner:
        lines[-2:] = [
            "f " + " ".join(corner.format(v=i, t=i) for i in (1, 2, 3, 4)),
            "f " + " ".join(corner.format(v=i, t=i) for i in (5, 6, 7, 8, 9)),
        ]
    raw = ("\n".join(lines) + "\n").encode()
    check(raw)
    path = tmp_path / "m.obj"
    path.write_bytes(raw)
    ours = load_mesh(path)
    theirs = trimesh.load(str(path), process=False, maintain_order=True, force="mesh")
    # trimesh splits vertices where texture coordinates differ; the triangles are the same.
    assert canonical(ours.triangles) == canonical(theirs.triangles)


def test_text_after_numbers_is_a_bad_vertex_line():
    with pytest.raises(FormatError, match=r"^cannot read mesh m.obj: bad vertex line \(could"):
        parse_obj(MIXED, "m.obj")


@pytest.mark.parametrize(
    "fmt", ["%.6f", "%.9g", "%.17g", "%.3e", "%+.4f", "%.0f", "%r", "%.15f", "%.16f", "%.1E"]
)
def test_numbers_are_exactly_float(fmt):
    rng = np.random.default_rng(len(fmt))
    x = rng.normal(scale=10.0 ** rng.integers(-3, 5, size=(3000, 1)), size=(3000, 3))
    x[::7] = np.round(x[::7])  # integers ("%.0f", "%r" gives 12.0)
    x[1::50] = -0.0
    x[2::50] = 1e-320  # subnormal
    text = "".join(
        "v " + " ".join((repr(float(c)) if fmt == "%r" else fmt % c) for c in row) + "\n"
        for row in x
    )
    check(text.encode() + b"f 1 2 3\n")


def test_odd_but_valid_tokens_are_read_as_float_reads_them():
    lines = [
        "v .5 5. -.5",
        "v +1 -0 -0.0",
        "v 007.250 1_000.5 1e3",
        "v 0.000000000000001 123456789012345 1234567890123456",
        "v 1.7976931348623157e308 -4.9e-324 2.2250738585072014e-308",
        "v 0.1 0.2 0.30000000000000004",
        "v\x0b1 2\x0c3 4",
    ]
    check(("\n".join(lines) + "\nf 1 2 3\n").encode())


def test_faces_with_signs_and_leading_zeros():
    raw = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf +1 002 -1\nf 0001/1/1 -3//2 +4/9\n"
    check(raw)


def test_random_files_match_line_by_line_reading():
    rng = np.random.default_rng(7)
    for case in range(40):
        n = int(rng.integers(3, 60))
        out = io.StringIO()
        if rng.random() < 0.5:
            out.write("# header\nmtllib a.mtl\n")
        seen = 0
        for _ in range(int(rng.integers(n, 3 * n))):
            r = rng.random()
            if r < 0.45 or seen < 3:
                c = rng.normal(scale=100, size=3 + (case % 3 == 0) * 3)
                fmt = ["%.6f", "%.8g", "%r"][int(rng.integers(3))]
                out.write("v " + " ".join(repr(float(x)) if fmt == "%r" else fmt % x for x in c))
                out.write("\n")
                seen += 1
            elif r < 0.75:
                k = int(rng.integers(3, 7))
                idx = rng.integers(1, seen + 1, size=k)
                neg = rng.random(k) < 0.3
                toks = [str(i - seen - 1) if m else str(i) for i, m in zip(idx, neg, strict=True)]
                style = ["{}", "{}/1", "{}/1/1", "{}//1"][int(rng.integers(4))]
                out.write("f " + " ".join(style.format(t) for t in toks) + "\n")
            else:
                out.write(["vt 0.5 0.5\n", "vn 0 0 1\n", "g grp\n", "o obj\n", "\n"][case % 5])
        raw = out.getvalue().encode()
        if case % 4 == 1:
            raw = raw.replace(b"\n", b"\r\n")
        check(raw)


BAD = [
    (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n", r"^m.obj line 4: a face needs at least 3 vertices"),
    (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 x\n", r"^cannot read mesh m.obj: bad face line \("),
    (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3.0\n", r"^cannot read mesh m.obj: bad face line \("),
    (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 /3\n", r"^cannot read mesh m.obj: bad face line$"),
    (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -\n", r"^cannot read mesh m.obj: bad face line \("),
    (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 0\n", r"face index 0 \(OBJ indices start at 1\)"),
    (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", r"out of range \[1, 3\] \(min 1, max 4\)"),
    (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -4\n", r"out of range \[1, 3\] \(min 0, max 2\)"),
    (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 " + b"9" * 25 + b"\n", r"bad face line \(Python int"),
    (b"v 0 0 0\nv 1 0\nv 0 1 0\nf 1 2 3\n", r"vertex lines need 3 coordinates"),
    (b"v 0 0 0\nv 1 0 -\nv 0 1 0\nf 1 2 3\n", r"bad vertex line \(could not convert"),
    (b"v 0 0 0\nv 1 0 1-2\nv 0 1 0\nf 1 2 3\n", r"bad vertex line \(could not convert"),
    (b"v 0 0 0\nv 1 0 1..2\nv 0 1 0\nf 1 2 3\n", r"bad vertex line \(could not convert"),
    (b"v 0 0 0\nv 1 0 .\nv 0 1 0\nf 1 2 3\n", r"bad vertex line \(could not convert"),
    (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 x\nf 1/1 2/1 3/1\n", None),  # vt not read: fine
]


@pytest.mark.parametrize("raw, message", BAD)
def test_bad_files_give_one_line_errors(raw, message):
    if message is None:
        assert len(parse_obj(raw, "m.obj").faces) == 1
        with pytest.raises(FormatError, match=r"bad texture line"):
            parse_obj(raw, "m.obj", texcoords=True)
        return
    with pytest.raises(FormatError, match=message) as err:
        parse_obj(raw, "m.obj")
    assert "\n" not in str(err.value)


def test_no_vertex_lines_give_an_empty_geometry():
    got = parse_obj(b"# nothing\nf 1 2 3\n", "m.obj")
    assert got.vertices.shape == (0, 3) and got.faces.shape == (0, 3)


def test_texture_indices_follow_the_corners():
    raw = b"v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nf 1/1 2/2 3/3 4/1\n"
    got = parse_obj(raw, "m.obj", texcoords=True)
    np.testing.assert_array_equal(got.texcoords, [[0, 0], [1, 0], [1, 1]])
    np.testing.assert_array_equal(got.face_texcoords, [[0, 1, 2], [0, 2, 0]])
    assert parse_obj(raw, "m.obj").texcoords is None
