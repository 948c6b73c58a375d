"""Metrics: pure functions on arrays and meshes (hair 2D/3D, head, face, body); they import
only :mod:`monoscan.core`."""
