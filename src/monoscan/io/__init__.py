"""File input and output: images, meshes, maps, strands. The only place that touches the disk."""
