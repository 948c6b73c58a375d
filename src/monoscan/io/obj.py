"""Wavefront OBJ geometry, parsed vectorised: vertex ``i`` is the ``i``-th ``v`` line, always.

:func:`parse_obj` reads the ``v``, ``f`` (and on request ``vt``) lines of an OBJ file held in
memory into NumPy arrays, with NumPy operations over the bytes instead of a Python loop over
the lines: a 50,000-vertex scan takes about 15 ms instead of 120 ms (``benchmarks/bench_eval.py``).
:func:`monoscan.io.meshes.load_mesh` builds its mesh from the result.

Numbers are exactly those of Python's ``float()`` and ``int()`` on each token. A plain decimal
token (optional sign, digits, at most one point, at most 15 digits; what every mesh writer
prints) is read as the integer of its digits divided by a power of ten: both are exact
doubles, so the one rounding of the division is the correctly rounded value ``float()``
gives (Clinger's fast path, W. D. Clinger, "How to read floating point numbers accurately",
PLDI 1990). Any other token (exponents, ``nan``, 16 or more digits, garbage) goes through
``float()`` / ``int()`` themselves, which also raise the errors a malformed file gets.

Supported: polygons (fanned into triangles from their first corner), negative (relative)
indices, ``v/vt/vn``, ``v//vn`` and ``v/vt`` corners, comments and any other lines (``vn``,
``o``, ``g``, ``usemtl``, ... are skipped), LF, CRLF and CR line ends, and extra numbers on
``v`` lines (vertex colours: the shortest line decides how many columns are kept).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from monoscan.core.errors import FormatError

__all__ = ["ObjGeometry", "parse_obj"]

# Bytes that ``bytes.split()`` treats as whitespace: \t \n \v \f \r and space.
_WS = np.zeros(256, dtype=bool)
_WS[[9, 10, 11, 12, 13, 32]] = True
# Classes of the bytes inside number tokens.
_SPACE, _DIGIT, _DOT, _SIGN, _SLASH, _OTHER = range(6)
_CLASS = np.full(256, _OTHER, dtype=np.uint8)
_CLASS[_WS] = _SPACE
_CLASS[ord("0") : ord("9") + 1] = _DIGIT
_CLASS[ord(".")] = _DOT
_CLASS[[ord("+"), ord("-")]] = _SIGN
_CLASS[ord("/")] = _SLASH
#: Exact powers of ten (10**22 is the largest that a double holds exactly).
_POW10 = np.array([float(10**i) for i in range(23)])
#: Most digits of a token read by the fast paths: 15 keeps a float mantissa below 2**53 (exact),
#: 18 keeps an index below 2**63.
_FLOAT_DIGITS, _INT_DIGITS = 15, 18


@dataclass(frozen=True)
class ObjGeometry:
    """The geometry of an OBJ file.

    Attributes
    ----------
    vertices : (N, K) float64
        The numbers of each ``v`` line in file order, ``K >= 3`` (x, y, z, then colours when
        every line has them).
    faces : (F, 3) int64
        Triangles, 0-based vertex indices; polygons are fanned from their first corner.
    texcoords : (T, J) float64 or None
        The ``vt`` lines, when asked for and present.
    face_texcoords : (F, 3) int64 or None
        0-based ``vt`` index of each triangle corner (-1 where a corner has none), when
        ``texcoords`` is not None and every corner has the ``v/vt`` form.
    """

    vertices: np.ndarray
    faces: np.ndarray
    texcoords: np.ndarray | None = None
    face_texcoords: np.ndarray | None = None


def parse_obj(raw: bytes, name: str, *, texcoords: bool = False) -> ObjGeometry:
    """Read the geometry of an OBJ file's bytes.

    Parameters
    ----------
    raw : bytes
        The whole file.
    name : str
        File name for the error messages.
    texcoords : bool
        Also read the ``vt`` lines and the texture index of each face corner.

    Returns
    -------
    ObjGeometry
        With no vertices and no faces when the file has no ``v`` line.

    Raises
    ------
    FormatError
        One line naming the file: a ``v`` line with fewer than 3 numbers, a
        token that is not a number, a face with fewer than 3 corners or a bad index, index 0,
        an index out of range.

    Examples
    --------
    >>> g = parse_obj(b"v 0 0 0\\nv 1 0 0\\nv 1 1 0\\nv 0 1 0\\nf 1 2 3 4\\n", "quad.obj")
    >>> g.faces.tolist()
    [[0, 1, 2], [0, 2, 3]]
    """
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    buf, starts, ends = _line_table(raw)
    v_lines = _keyword_lines(buf, starts, b"v")
    if not len(v_lines):
        return ObjGeometry(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
    vertices = _number_lines(buf, starts, ends, v_lines, 1, name, "vertex")
    if vertices.shape[1] < 3:
        raise FormatError(f"cannot read mesh {name}: vertex lines need 3 coordinates")
    n = len(vertices)
    f_lines = _keyword_lines(buf, starts, b"f")
    tex = None
    vt_lines = _keyword_lines(buf, starts, b"vt") if texcoords else np.zeros(0, np.int64)
    if len(vt_lines):
        tex = _number_lines(buf, starts, ends, vt_lines, 2, name, "texture")
    faces = np.zeros((0, 3), dtype=np.int64)
    face_tex = None
    if len(f_lines):
        fbuf, line_end = _gather(buf, starts, ends, f_lines, 1)
        plain = not fbuf.tobytes().translate(None, b"0123456789/ \t\n")
        ts, te = _tokens(fbuf, plain)
        counts = _tokens_per_line(ts, line_end)
        if counts.min() < 3:
            bad = int(np.argmax(counts < 3))
            text = raw[starts[f_lines[bad]] + 2 : ends[f_lines[bad]]].decode(errors="replace")
            raise FormatError(
                f"{name} line {int(f_lines[bad]) + 1}: a face needs at least 3 vertices "
                f"(got {'f ' + text.strip()!r})"
            )
        try:
            flat = _face_indices(fbuf, ts, te)
        except (ValueError, OverflowError) as exc:
            raise FormatError(
                f"cannot read mesh {name}: bad face line ({_one_line(exc)})"
            ) from None
        if flat is None:
            raise FormatError(f"cannot read mesh {name}: bad face line")
        flat -= 1
        if (flat == -1).any():
            raise FormatError(f"cannot read mesh {name}: face index 0 (OBJ indices start at 1)")
        if (flat < 0).any():
            # Negative indices count back from the vertices read so far: -1 is the last one.
            seen = np.repeat(np.searchsorted(v_lines, f_lines), counts)
            flat = np.where(flat >= 0, flat, seen + flat + 1)
        corners = _fan(counts)
        faces = flat[corners]
        if tex is not None:
            t = re.findall(rb"(?<!\S)-?\d+/(-?\d*)", fbuf.tobytes())
            if len(t) == len(flat):
                face_tex = np.array([int(x) - 1 if x else -1 for x in t], dtype=np.int64)[corners]
    if len(faces) and (faces.min() < 0 or faces.max() >= n):
        raise FormatError(
            f"mesh {name} has face indices out of range [1, {n}] "
            f"(min {int(faces.min()) + 1}, max {int(faces.max()) + 1})"
        )
    return ObjGeometry(vertices, faces, tex, face_tex)


def _one_line(exc: BaseException) -> str:
    """The first line of an exception's message, at most 200 characters."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def _line_table(raw: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bytes (padded with newlines, so reading a few bytes past any line end is safe),
    the start of each line and the position of its newline (or of the end of the file)."""
    buf = np.frombuffer(raw + b"\n\n\n\n", dtype=np.uint8)
    newline = np.flatnonzero(buf[: len(raw)] == 10)
    starts = np.concatenate([[0], newline + 1])
    ends = np.concatenate([newline, [len(raw)]])
    if starts[-1] == len(raw):  # nothing after the last newline
        starts, ends = starts[:-1], ends[:-1]
    return buf, starts, ends


def _keyword_lines(buf: np.ndarray, starts: np.ndarray, key: bytes) -> np.ndarray:
    """Indices of the lines that start with ``key`` followed by a space or a tab."""
    hit = np.ones(len(starts), dtype=bool)
    for j, ch in enumerate(key):
        hit &= buf[starts + j] == ch  # a short line fails at its newline
    after = buf[starts + len(key)]
    hit &= (after == 32) | (after == 9)
    return np.flatnonzero(hit)


def _gather(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray, skip: int
) -> tuple[np.ndarray, np.ndarray]:
    """A writable copy of the given lines, each ending with its newline, with the first
    ``skip`` bytes of each (the keyword) blanked; and the position of each line's newline."""
    s, e = starts[lines], ends[lines]
    length = e + 1 - s
    # Lines of one kind come in runs (all ``v`` lines, then all ``f`` lines): copy run by run.
    cut = np.flatnonzero(np.diff(lines) != 1) + 1
    first = np.concatenate([[0], cut])
    last = np.concatenate([cut, [len(lines)]]) - 1
    if len(first) <= 256:
        out = np.concatenate([buf[s[i] : e[j] + 1] for i, j in zip(first, last, strict=True)])
    else:
        offset = np.cumsum(length) - length
        out = buf[np.repeat(s - offset, length) + np.arange(int(length.sum()))]
    line_end = np.cumsum(length) - 1
    line_start = line_end + 1 - length
    for j in range(skip):
        out[line_start + j] = 32
    return out, line_end


def _tokens(buf: np.ndarray, plain: bool) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of each whitespace-separated token; ``buf`` ends with a newline.
    ``plain``: the bytes are printable or space, tab, newline (a comparison finds whitespace)."""
    ws = buf <= 32 if plain else _WS[buf]
    ts = np.flatnonzero(ws[:-1] & ~ws[1:]) + 1
    if len(ws) and not ws[0]:
        ts = np.concatenate([[0], ts])
    te = np.flatnonzero(~ws[:-1] & ws[1:]) + 1
    return ts, te


def _tokens_per_line(ts: np.ndarray, line_end: np.ndarray) -> np.ndarray:
    return np.diff(np.searchsorted(ts, line_end), prepend=0)


def _owner(ts: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Token holding each (non-whitespace) byte position."""
    return np.searchsorted(ts, pos, side="right") - 1


def _number_lines(
    buf: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    lines: np.ndarray,
    skip: int,
    name: str,
    what: str,
) -> np.ndarray:
    """The numbers of the given lines (their ``skip``-byte keyword left out) as a (lines, k)
    array, k the fewest numbers on a line (extra numbers on longer lines are dropped)."""
    body, line_end = _gather(buf, starts, ends, lines, skip)
    plain = not body.tobytes().translate(None, b"0123456789.+- \t\n")
    ts, te = _tokens(body, plain)
    try:
        values = _floats(body, ts, te, plain)
    except ValueError as exc:
        raise FormatError(f"cannot read mesh {name}: bad {what} line ({_one_line(exc)})") from None
    counts = _tokens_per_line(ts, line_end)
    k = int(counts.min())
    if (counts == k).all():
        return values.reshape(len(lines), k)
    first = np.cumsum(counts) - counts
    return values[first[:, None] + np.arange(k)]


def _floats(buf: np.ndarray, ts: np.ndarray, te: np.ndarray, plain: bool) -> np.ndarray:
    """``float()`` of every token, exactly (module docstring); raises its ValueError.
    ``plain``: only digits, points, signs, spaces, tabs and newlines."""
    n = len(ts)
    if plain:
        # The usual layout first: every token one signed or unsigned decimal with one point.
        signed = (buf[ts] == ord("-")) | (buf[ts] == ord("+"))
        dot = np.flatnonzero(buf == ord("."))
        if (
            len(dot) == n
            and np.count_nonzero(buf == ord("-")) + np.count_nonzero(buf == ord("+"))
            == np.count_nonzero(signed)
            and (dot >= ts).all()
            and (dot < te).all()
        ):
            digits = te - ts - signed - 1
            if n and digits.min() >= 1 and digits.max() <= _FLOAT_DIGITS:
                mantissa = _ints(buf.tobytes().replace(b".", b""))
                if len(mantissa) == n:
                    out = mantissa / _POW10[te - dot - 1]
                    out[(mantissa == 0) & (buf[ts] == ord("-"))] = -0.0
                    return out
    cls = _CLASS[buf]
    hard = np.zeros(n, dtype=bool)  # tokens left to float()
    odd = np.flatnonzero(cls >= _SLASH)
    hard[_owner(ts, odd)] = True
    signed = np.zeros(n, dtype=bool)
    sign = np.flatnonzero(cls == _SIGN)
    if len(sign):
        t = _owner(ts, sign)
        lead = ts[t] == sign
        hard[t[~lead]] = True
        signed[t[lead]] = True
    frac = np.zeros(n, dtype=np.int64)
    dotted = np.zeros(n, dtype=bool)
    dot = np.flatnonzero(cls == _DOT)
    if len(dot):
        t = _owner(ts, dot)
        hard[t[1:][t[1:] == t[:-1]]] = True  # two points
        frac[t] = te[t] - dot - 1
        dotted[t] = True
    digits = te - ts - signed - dotted
    hard |= (digits < 1) | (digits > _FLOAT_DIGITS)
    out = np.empty(n)
    easy = np.flatnonzero(~hard)
    if len(easy) < n:
        h = np.flatnonzero(hard)
        out[h] = np.array([buf[ts[i] : te[i]].tobytes() for i in h], dtype=np.float64)
        buf = buf.copy()
        _blank(buf, ts[h], te[h])
    mantissa = _ints(buf.tobytes().replace(b".", b""))
    if len(mantissa) != len(easy):  # pragma: no cover - the checks above rule it out
        mantissa = np.array([buf[ts[i] : te[i]].tobytes() for i in easy], dtype=np.float64)
        out[easy] = mantissa
        return out
    out[easy] = mantissa / _POW10[frac[easy]]
    # "-0.0" is negative zero, as float() reads it.
    negzero = easy[(mantissa == 0) & (buf[ts[easy]] == ord("-"))]
    out[negzero] = -0.0
    return out


def _face_indices(buf: np.ndarray, ts: np.ndarray, te: np.ndarray) -> np.ndarray | None:
    """``int()`` of the vertex index of every corner token (``v``, ``v/vt``, ``v/vt/vn``,
    ``v//vn``); raises its ValueError or OverflowError; None if a corner has no vertex index."""
    n = len(ts)
    data = buf.tobytes()
    if n and not data.translate(None, b"0123456789 \t\n") and (te - ts).max() <= _INT_DIGITS:
        values = _ints(data)  # the usual layout: unsigned indices only
        if len(values) == n:
            return values
    cls = _CLASS[buf]
    head_end = te.copy()  # the vertex index ends at the first slash
    slash = np.flatnonzero(cls == _SLASH)
    if len(slash):
        t = _owner(ts, slash)
        first = np.ones(len(t), dtype=bool)
        first[1:] = t[1:] != t[:-1]
        head_end[t[first]] = slash[first]
    hard = np.zeros(n, dtype=bool)
    odd = np.flatnonzero((cls == _DOT) | (cls == _OTHER))
    t = _owner(ts, odd)
    hard[t[odd < head_end[t]]] = True
    signed = np.zeros(n, dtype=bool)
    sign = np.flatnonzero(cls == _SIGN)
    if len(sign):
        t = _owner(ts, sign)
        inside = sign < head_end[t]
        lead = ts[t] == sign
        hard[t[inside & ~lead]] = True
        signed[t[inside & lead]] = True
    digits = head_end - ts - signed
    empty = head_end == ts
    hard |= ~empty & ((digits < 1) | (digits > _INT_DIGITS))
    out = np.empty(n, dtype=np.int64)
    h = np.flatnonzero(hard)
    if len(h):
        out[h] = np.array([buf[ts[i] : head_end[i]].tobytes() for i in h], dtype=np.int64)
    if empty.any():
        return None
    easy = np.flatnonzero(~hard)
    buf = buf.copy()
    _blank(buf, head_end, te)
    _blank(buf, ts[h], te[h])
    values = _ints(buf.tobytes())
    if len(values) != len(easy):  # pragma: no cover - the checks above rule it out
        values = np.array([buf[ts[i] : head_end[i]].tobytes() for i in easy], dtype=np.int64)
    out[easy] = values
    return out


def _ints(text: bytes) -> np.ndarray:
    """Whitespace-separated decimal integers (each checked beforehand) as int64."""
    if text.isspace():  # NumPy reads a blank text as one 0
        return np.zeros(0, dtype=np.int64)
    # No warning filter here (they are process-wide, and this may run in a thread): every
    # token was checked, so NumPy reads to the end and has nothing to warn about.
    return np.fromstring(text, dtype=np.int64, sep=" ")


def _blank(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """Overwrite the disjoint byte ranges ``[lo, hi)`` with spaces."""
    keep = lo < hi
    lo, hi = lo[keep], hi[keep]
    if not len(lo):
        return
    if len(lo) <= 64:
        for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
            buf[a:b] = 32
        return
    edge = np.zeros(len(buf) + 1, dtype=np.int8)
    edge[lo] += 1
    edge[hi] -= 1
    buf[np.cumsum(edge[:-1], dtype=np.int8).view(bool)] = 32


def _fan(counts: np.ndarray) -> np.ndarray:
    """(triangles, 3) positions into the flat corner list: each polygon fanned from corner 0."""
    if (counts == 3).all():
        return np.arange(3 * len(counts)).reshape(-1, 3)
    start = np.cumsum(counts) - counts
    ntri = counts - 2
    line = np.repeat(np.arange(len(counts)), ntri)
    k = np.arange(int(ntri.sum())) - np.repeat(np.cumsum(ntri) - ntri, ntri) + 1
    return np.stack([start[line], start[line] + k, start[line] + k + 1], axis=1)
