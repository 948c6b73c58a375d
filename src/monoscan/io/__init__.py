"""File input and output: images, meshes, maps, strands, volumes, and the result folder
(:mod:`~monoscan.io.results`). Depends on :mod:`monoscan.core` only."""
