"""The foundation every layer stands on: the types that flow between the stages and the
helpers they share. Imports nothing else of monoscan.

Types (small frozen dataclasses over NumPy arrays; units and frames in each docstring):
:class:`~monoscan.core.photo.Photo`, :class:`~monoscan.core.crop.Crop`,
:class:`~monoscan.core.camera.Camera`, :class:`~monoscan.core.meshes.FaceMesh`,
:class:`~monoscan.core.hair_maps.HairMaps`, :class:`~monoscan.core.strands.Strands`,
:class:`~monoscan.core.volumes.Occupancy` (and the voxel grids of the 3D hair metrics).
Helpers: :mod:`~monoscan.core.errors`, :mod:`~monoscan.core.geometry`,
:mod:`~monoscan.core.laplacian`, :mod:`~monoscan.core.masks`, :mod:`~monoscan.core.colour`,
:mod:`~monoscan.core.progress`, :mod:`~monoscan.core.quiet`.

One frame inside: metres, y up, x to the subject's left, z toward the camera (right-handed),
origin between the ears; other frames are converted at the I/O boundary.
"""
