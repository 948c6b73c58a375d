"""The stages wired together, and the runs a user starts.

- :mod:`~monoscan.pipeline.options`: :class:`Options`, what a run does;
- :mod:`~monoscan.pipeline.photo`: :func:`reconstruct`, one photo to a :class:`Reconstruction`;
- :mod:`~monoscan.pipeline.outputs`: :func:`write_outputs`, the result folder;
- :mod:`~monoscan.pipeline.views`: :func:`reconstruct_views`, several photos of one person;
- :mod:`~monoscan.pipeline.body`: the full-body run and its folder;
- :mod:`~monoscan.pipeline.batch`: many photos on a local pool or a Ray cluster.
"""

from __future__ import annotations

from monoscan.pipeline.options import Options
from monoscan.pipeline.outputs import write_outputs
from monoscan.pipeline.photo import Reconstruction, reconstruct

__all__ = ["Options", "Reconstruction", "reconstruct", "write_outputs"]
