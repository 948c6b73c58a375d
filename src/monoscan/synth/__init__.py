"""Synthetic people with exact truth: a head, a hairstyle, a rendered photo and every map
(:func:`monoscan.synth.generate.generate_scene`); the training and benchmark corpus."""
