"""Perception: face landmarks, person segmentation, body pose (MediaPipe), and the HairStep crop."""
