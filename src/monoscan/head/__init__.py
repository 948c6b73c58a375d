"""The full head: the parametric head model (:mod:`~monoscan.head.model`), its fit to the
face (:mod:`~monoscan.head.fit`), the closed textured head (:mod:`~monoscan.head.assemble`), scalp
roots, H3DS landmarks, the relief, head with hair, and the fusion of several views
(:mod:`~monoscan.head.multiview`)."""
