"""Volumes on disk: NeuralHDHair's 3D hair orientation (``Ori_gt.mat``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from monoscan.core.errors import FormatError, InputError
from monoscan.core.volumes import OrientationVolume, VoxelGrid

__all__ = ["NEURALHDHAIR_GRID", "read_neuralhdhair_orientation"]

#: NeuralHDHair's voxel grid (its data loaders): 128 x 128 x 96 voxels of 0.01015625 m over
#: x, y in [-0.65, 0.65], z in [-0.4875, 0.4875], y up, z toward the camera.
NEURALHDHAIR_GRID = VoxelGrid(
    lo=(-0.65, -0.65, -0.4875), voxel_size=(0.01015625,) * 3, shape=(128, 128, 96)
)


def read_neuralhdhair_orientation(path: str | os.PathLike) -> OrientationVolume:
    """Read NeuralHDHair's 3D orientation volume (``Ori_gt.mat``, key ``Ori``).

    The file stores a ``(128, 128, 288)`` array: image rows (top to bottom), image columns,
    then 3 components x 96 depth slices (component-major; slice 0 nearest the camera). Its
    vectors are in the hair's world frame (x right in the image, y up, z toward the camera),
    pointing along growth. This returns them on :data:`NEURALHDHAIR_GRID` with voxel
    ``(i, j, k)`` along increasing (x, y, z), the convention of :func:`voxelize`.

    Raises
    ------
    FormatError
        Not a MATLAB file, no ``Ori`` key, or an unexpected shape.
    """
    from scipy.io import loadmat

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    try:
        mat = loadmat(str(p), variable_names=["Ori"], verify_compressed_data_integrity=False)
    except Exception as exc:  # noqa: BLE001 - scipy raises many types for bad files
        raise FormatError(f"{p}: not a readable MATLAB file ({str(exc)[:200]})") from None
    if "Ori" not in mat:
        raise FormatError(f"{p}: no 'Ori' array in the MATLAB file")
    ori = np.asarray(mat["Ori"])
    if ori.shape != (128, 128, 288) or not np.issubdtype(ori.dtype, np.number):
        raise FormatError(f"{p}: 'Ori' has shape {ori.shape}, expected (128, 128, 288)")
    if not np.all(np.isfinite(ori)):
        raise FormatError(f"{p}: 'Ori' contains NaN or infinite values")
    v = ori.reshape(128, 128, 3, 96).astype(np.float32)  # row, col, component, slice
    v = np.transpose(v, (1, 0, 3, 2))  # col (x), row, slice, component
    v = v[:, ::-1, ::-1, :]  # row 0 is the top (max y); slice 0 the front (max z)
    norm = np.linalg.norm(v, axis=-1)
    occ = norm > 0.5
    unit = np.where(occ[..., None], v / np.where(occ, norm, 1.0)[..., None], 0.0)
    return OrientationVolume(NEURALHDHAIR_GRID, occ, np.ascontiguousarray(unit, dtype=np.float32))
