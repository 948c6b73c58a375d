"""monoscan.viewer."""
