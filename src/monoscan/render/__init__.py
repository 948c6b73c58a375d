"""Rendering on the CPU: the z-buffer rasteriser shared by every stage that draws meshes."""
