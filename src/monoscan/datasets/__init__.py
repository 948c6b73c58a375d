"""monoscan.datasets."""
