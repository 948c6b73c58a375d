"""Volumes on regular grids: the hair occupancy the strands grow in, and the voxel grids and
orientation volumes the 3D hair metrics compare.

Frame and units: the monoscan world frame, metres (y up, x to the subject's left, z toward the
camera).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

__all__ = ["Occupancy", "OrientationVolume", "VoxelGrid"]


@dataclass(frozen=True, eq=False)
class Occupancy:
    """A boolean hair volume on a regular grid.

    Attributes
    ----------
    grid : (X, Y, Z) bool
        True where there is hair. Axis 0 is world x, axis 1 world y, axis 2 world z.
    origin : (3,) float64
        World position (metres) of the centre of voxel ``[0, 0, 0]``.
    voxel_size : float
        Voxel edge, metres.
    head_distance : (X, Y, Z) float32
        Distance to the head surface in metres (negative inside the head).
    head_inside : (X, Y, Z) bool
        The voxelised head (without the extruded neck).
    info : dict
        Diagnostics (row thickness profile, counts).
    """

    grid: np.ndarray
    origin: np.ndarray
    voxel_size: float
    head_distance: np.ndarray
    head_inside: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.grid.shape)  # type: ignore[return-value]

    @property
    def n_voxels(self) -> int:
        """Number of hair voxels."""
        return int(self.grid.sum())

    @property
    def volume_m3(self) -> float:
        return self.n_voxels * self.voxel_size**3

    def axis_coords(self, axis: int) -> np.ndarray:
        """World coordinate (metres) of the voxel centres along one axis."""
        return self.origin[axis] + self.voxel_size * np.arange(self.grid.shape[axis])

    def to_index(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world metres -> (N, 3) fractional voxel indices (centres are integers)."""
        return (np.asarray(points, np.float64) - self.origin) / self.voxel_size

    def to_world(self, index: np.ndarray) -> np.ndarray:
        """(N, 3) voxel indices -> (N, 3) world metres."""
        return self.origin + np.asarray(index, np.float64) * self.voxel_size

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(N,) bool: the nearest voxel of each world point is hair (False outside the grid)."""
        idx = np.rint(self.to_index(points)).astype(np.int64)
        ok = np.all((idx >= 0) & (idx < np.array(self.grid.shape)), axis=1)
        out = np.zeros(len(idx), bool)
        i = idx[ok]
        out[ok] = self.grid[i[:, 0], i[:, 1], i[:, 2]]
        return out

    def head_distance_at(self, points: np.ndarray) -> np.ndarray:
        """(N,) trilinear head distance (metres) at world points, clamped to the grid."""
        idx = self.to_index(points)
        return ndimage.map_coordinates(self.head_distance, idx.T, order=1, mode="nearest")

    def voxel_points(self) -> np.ndarray:
        """(V, 3) world centres of the hair voxels."""
        return self.to_world(np.argwhere(self.grid))


@dataclass(frozen=True)
class VoxelGrid:
    """An axis-aligned voxel grid. Voxel ``(i, j, k)`` spans ``lo + (i, j, k) * size`` to
    ``lo + (i + 1, j + 1, k + 1) * size`` along (x, y, z); metres.

    Attributes
    ----------
    lo : (3,) float
        Minimum corner in metres.
    voxel_size : (3,) float
        Edge lengths of one voxel in metres.
    shape : (3,) int
        Number of voxels along x, y, z.
    """

    lo: tuple[float, float, float]
    voxel_size: tuple[float, float, float]
    shape: tuple[int, int, int]

    @property
    def hi(self) -> np.ndarray:
        """(3,) maximum corner in metres."""
        return np.asarray(self.lo) + np.asarray(self.voxel_size) * np.asarray(self.shape)

    def index(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Voxel indices ``(N, 3)`` of ``points`` and a mask of those inside the grid."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        ijk = np.floor((p - np.asarray(self.lo)) / np.asarray(self.voxel_size)).astype(np.int64)
        inside = np.all((ijk >= 0) & (ijk < np.asarray(self.shape)), axis=1)
        return ijk, inside

    def centers(self, ijk: np.ndarray) -> np.ndarray:
        """Centres (N, 3) in metres of voxels ``ijk``."""
        return np.asarray(self.lo) + (np.asarray(ijk) + 0.5) * np.asarray(self.voxel_size)


@dataclass(frozen=True)
class OrientationVolume:
    """Occupancy and unit orientation on a :class:`VoxelGrid`.

    Attributes
    ----------
    grid : VoxelGrid
    occupancy : (X, Y, Z) bool
    orientation : (X, Y, Z, 3) float32
        Unit vectors (zero where unoccupied), in the grid's frame (y up). For voxelised
        strands the sign is the mean growth direction; for comparisons it is ignored.
    """

    grid: VoxelGrid
    occupancy: np.ndarray
    orientation: np.ndarray
