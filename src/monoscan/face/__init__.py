"""The face: metric camera (:mod:`~monoscan.face.camera`), dense textured mesh
(:mod:`~monoscan.face.mesh`), occlusion handling (:mod:`~monoscan.face.occlusion`) and fine detail
(:mod:`~monoscan.face.detail`)."""
