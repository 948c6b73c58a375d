"""monoscan.body."""
