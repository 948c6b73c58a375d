"""The protocols that run reconstructions against truth and write reports.

- :mod:`~monoscan.evaluation.h3ds`: the H3DS head protocol over a dataset, tables and heat maps;
- :mod:`~monoscan.evaluation.hisa`: HairSale / HairRida on HiSa and HiDa;
- :mod:`~monoscan.evaluation.head_scan`: a real head scan rendered as photos and scored;
- :mod:`~monoscan.evaluation.synthetic`: every stage scored on synthetic scenes
  (``monoscan bench``);
- :mod:`~monoscan.evaluation.body_scans`: people scans rendered into front/back maps for the
  body metrics.

The per-scene numbers are pure functions in :mod:`monoscan.metrics`.
"""
