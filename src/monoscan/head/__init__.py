"""monoscan.head."""
