"""Rendering on the CPU: the one z-buffer rasteriser (:mod:`~monoscan.render.raster`), the
photo-like shaded renderer of scenes and result folders (:mod:`~monoscan.render.scene`), quick
previews of meshes and strands (:mod:`~monoscan.render.preview`) and the photo overlay
(:mod:`~monoscan.render.overlay`)."""
