"""Dataset readers (readers only; the protocols that score against them are in
:mod:`monoscan.evaluation`): H3DS heads (:mod:`~monoscan.datasets.h3ds`) and HiSa/HiDa hair
(:mod:`~monoscan.datasets.hisa`)."""
