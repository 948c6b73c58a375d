"""Tests for monoscan.core.strands.Strands."""

from __future__ import annotations

import numpy as np
import pytest

from monoscan.core.errors import InputError
from monoscan.core.strands import Strands


def _example() -> Strands:
    # Strand 0: along x, 3 points 1 m apart; strand 1: empty; strand 2: one point;
    # strand 3: an L shape (2 m up, then 1 m along z).
    return Strands.from_list(
        [
            [[0, 0, 0], [1, 0, 0], [2, 0, 0]],
            np.zeros((0, 3)),
            [[5, 5, 5]],
            [[0, 0, 0], [0, 2, 0], [0, 2, 1]],
        ]
    )


def test_sizes_offsets_segments():
    s = _example()
    assert s.n_strands == len(s) == 4
    assert s.n_points == 7
    assert s.points.dtype == np.float32 and s.points.shape == (7, 3)
    assert s.counts.tolist() == [3, 0, 1, 3]
    assert s.offsets.tolist() == [0, 3, 3, 4, 7]
    assert s.strand_index.tolist() == [0, 0, 0, 2, 3, 3, 3]
    assert s.segments.tolist() == [[0, 1], [1, 2], [4, 5], [5, 6]]
    np.testing.assert_allclose(s.lengths, [2.0, 0.0, 0.0, 3.0])
    np.testing.assert_array_equal(s.strand(3), [[0, 0, 0], [0, 2, 0], [0, 2, 1]])
    np.testing.assert_array_equal(s.strand(-1), s.strand(3))
    assert [len(x) for x in s] == [3, 0, 1, 3]
    with pytest.raises(IndexError):
        s.strand(4)


def test_roots_tips_bounds():
    s = _example()
    np.testing.assert_array_equal(s.roots[[0, 2, 3]], [[0, 0, 0], [5, 5, 5], [0, 0, 0]])
    np.testing.assert_array_equal(s.tips[[0, 2, 3]], [[2, 0, 0], [5, 5, 5], [0, 2, 1]])
    assert np.all(np.isnan(s.roots[1])) and np.all(np.isnan(s.tips[1]))
    np.testing.assert_array_equal(s.bounds, [[0, 0, 0], [5, 5, 5]])


def test_tangents_hand_computed():
    s = _example()
    t = s.tangents
    np.testing.assert_allclose(t[0:3], [[1, 0, 0]] * 3)
    np.testing.assert_array_equal(t[3], [0, 0, 0])  # one-point strand
    np.testing.assert_allclose(t[4], [0, 1, 0])  # forward difference at the root
    # At the corner: (0,2,0) + (0,0,1) -> normalised (0, 2, 1)/sqrt(5).
    np.testing.assert_allclose(t[5], np.array([0, 2, 1]) / np.sqrt(5), rtol=1e-6)
    np.testing.assert_allclose(t[6], [0, 0, 1])


def test_arrays_are_read_only():
    s = _example()
    with pytest.raises(ValueError):
        s.points[0, 0] = 1.0
    with pytest.raises(ValueError):
        s.counts[0] = 2


@pytest.mark.parametrize(
    ("points", "counts", "match"),
    [
        (np.zeros((3, 3)), [2], "sum to 2 but there are 3"),
        (np.zeros((3, 3)), [4, -1], "counts must be >= 0"),
        (np.zeros((3, 2)), [3], r"shape \(P, 3\)"),
        ([[0, 0, np.nan]], [1], "NaN or infinite"),
        ([[0, 0, np.inf]], [1], "NaN or infinite"),
        (np.zeros((2, 3)), [1.5, 0.5], "integers"),
        (np.zeros((2, 3)), [[2]], "1-D"),
    ],
)
def test_validation(points, counts, match):
    with pytest.raises(InputError, match=match):
        Strands(points, counts)


def test_widths_colors_validation():
    with pytest.raises(InputError, match="widths"):
        Strands(np.zeros((2, 3)), [2], widths=np.zeros(3))
    with pytest.raises(InputError, match="colors"):
        Strands(np.zeros((2, 3)), [2], colors=np.zeros((2, 4)))


def test_empty():
    s = Strands.from_list([])
    assert s.n_strands == 0 and s.n_points == 0
    assert s.segments.shape == (0, 2)
    assert s.tangents.shape == (0, 3)
    assert np.all(np.isnan(s.bounds))


def test_subset_mask_and_indices_keep_attributes():
    s = _example()
    s = Strands(
        s.points, s.counts, widths=np.arange(7) * 1.0, colors=np.tile([0.1, 0.2, 0.3], (7, 1))
    )
    sub = s.subset([3, 0])
    assert sub.counts.tolist() == [3, 3]
    np.testing.assert_array_equal(sub.points, np.concatenate([s.strand(3), s.strand(0)]))
    np.testing.assert_array_equal(sub.widths, [4, 5, 6, 0, 1, 2])
    m = s.subset(np.array([False, True, True, False]))
    assert m.counts.tolist() == [0, 1]
    np.testing.assert_array_equal(m.points, [[5, 5, 5]])
    with pytest.raises(InputError):
        s.subset(np.array([True, False]))
    with pytest.raises(InputError):
        s.subset([9])


def test_transform_translation_rotation_scale():
    s = _example()
    m = np.eye(4)
    m[:3, 3] = [1, 2, 3]
    np.testing.assert_allclose(s.transform(m).points, s.points + [1, 2, 3])
    rot = np.array([[0, -1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])  # 90 deg about z
    np.testing.assert_allclose(s.transform(rot).strand(0), [[0, 0, 0], [0, 1, 0], [0, 2, 0]])
    w = Strands(s.points, s.counts, widths=np.ones(7))
    scaled = w.transform(np.diag([0.01, 0.01, 0.01, 1]))
    np.testing.assert_allclose(scaled.widths, 0.01, rtol=1e-6)
    np.testing.assert_allclose(scaled.lengths, s.lengths * 0.01, rtol=1e-6)
    with pytest.raises(InputError):
        s.transform(np.eye(3))


def test_resample_keeps_ends_and_spacing():
    s = _example()
    r = s.resample(5)
    # The empty and one-point strands are dropped.
    assert r.counts.tolist() == [5, 5]
    np.testing.assert_allclose(r.strand(0)[:, 0], [0, 0.5, 1, 1.5, 2], atol=1e-6)
    # L shape of length 3: points every 0.75 m along the arc.
    np.testing.assert_allclose(
        r.strand(1), [[0, 0, 0], [0, 0.75, 0], [0, 1.5, 0], [0, 2, 0.25], [0, 2, 1]], atol=1e-6
    )
    # The corner is cut: 1.5 + sqrt(0.5^2 + 0.25^2) + 0.75.
    np.testing.assert_allclose(r.lengths, [2, 2.25 + np.hypot(0.5, 0.25)], atol=1e-6)
    with pytest.raises(InputError):
        s.resample(1)


def test_resample_spacing():
    s = _example()
    r = s.resample_spacing(0.4)
    # ceil(2 / 0.4) + 1 = 6 and ceil(3 / 0.4) + 1 = 9 points.
    assert r.counts.tolist() == [6, 9]
    d = np.linalg.norm(np.diff(r.strand(0), axis=0), axis=1)
    np.testing.assert_allclose(d, 0.4, atol=1e-6)


def test_resample_interpolates_widths():
    s = Strands([[0, 0, 0], [2, 0, 0]], [2], widths=[1.0, 3.0])
    np.testing.assert_allclose(s.resample(3).widths, [1, 2, 3])


def test_concatenate():
    s = _example()
    c = Strands.concatenate([s, s.subset([0])])
    assert c.counts.tolist() == [3, 0, 1, 3, 3]
    np.testing.assert_array_equal(c.strand(4), s.strand(0))


def test_resample_many_random_strands_matches_lengths():
    rng = np.random.default_rng(0)
    strands = [np.cumsum(rng.normal(size=(rng.integers(2, 30), 3)), axis=0) for _ in range(200)]
    s = Strands.from_list(strands)
    r = s.resample(64)
    np.testing.assert_allclose(r.roots, s.roots, atol=1e-5)
    np.testing.assert_allclose(r.tips, s.tips, atol=1e-4)
    # Resampled polylines cut corners: never longer, and close with 64 points.
    assert np.all(r.lengths <= s.lengths + 1e-4)
    # Every resampled point lies on the original polyline: its arc position matches.
    seg = np.linalg.norm(np.diff(r.strand(0), axis=0), axis=1)
    np.testing.assert_allclose(seg.sum(), r.lengths[0], rtol=1e-6)


def test_empty_selections_and_overflow():
    s = _example()
    e = s.subset([])
    assert e.n_strands == 0 and e.n_points == 0
    assert s.subset(np.zeros(4, bool)).n_points == 0
    assert Strands.from_list([]).resample(4).n_strands == 0
    assert Strands.from_list([[[0, 0, 0]]]).resample_spacing(0.1).n_strands == 0
    with pytest.raises(InputError, match="NaN or infinite"):
        Strands([[1e300, 0, 0]], [1])  # overflows float32
