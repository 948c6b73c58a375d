"""Hair: segmentation, orientation and strand map, depth, volume, 3D strands."""
