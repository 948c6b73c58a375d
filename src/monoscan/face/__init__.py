"""monoscan.face."""
