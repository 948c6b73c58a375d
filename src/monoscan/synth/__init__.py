"""monoscan.synth."""
