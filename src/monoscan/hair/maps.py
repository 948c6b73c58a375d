"""The HairStep representation of one photo: hair mask, parsing, strand map, hair depth.

This is the 2D hair stage of the pipeline: it runs the pieces in :mod:`monoscan.hair` on the
512x512 HairStep crop and returns them together. Every map is in the crop's pixel frame
(x right, y down), so they line up with HairStep's own files.
"""

from __future__ import annotations

import numpy as np

from monoscan.core.camera import Camera
from monoscan.core.crop import Crop
from monoscan.core.errors import InputError
from monoscan.core.hair_maps import HairMaps
from monoscan.core.meshes import FaceMesh

__all__ = ["LEARNED_MAPS", "face_depth_in_crop", "hairstep_maps"]

#: The maps that ``hair_model="learned"`` takes from the network (the others stay the priors):
#: those where it measures better than the prior (``src/monoscan/models/hair_maps.json``).
LEARNED_MAPS = frozenset({"direction", "depth"})


def face_depth_in_crop(face_mesh: FaceMesh, camera: Camera, crop: Crop) -> np.ndarray:
    """Rasterise the face mesh's world z (metres, larger = closer) into the crop; NaN elsewhere."""
    from monoscan.render.raster import rasterize

    px = crop.to_crop(camera.world_to_photo(face_mesh.vertices))
    # rasterize() puts pixel centres at +0.5; crop coordinates are pixel-centre based.
    depth, _, _ = rasterize(
        px[:, :2] + 0.5,
        face_mesh.vertices[:, 2],
        face_mesh.faces,
        (crop.size, crop.size),
        nearest="max",
    )
    return depth.astype(np.float32)


def hairstep_maps(
    crop: Crop,
    camera: Camera | None,
    face_mesh: FaceMesh | None,
    face_points_crop: np.ndarray | None,
    landmarks68_crop: np.ndarray | None,
    person_mask_crop: np.ndarray | None = None,
    n_orientations: int = 32,
    hair_model: str = "learned",
) -> HairMaps:
    """Compute the HairStep maps for a crop.

    Parameters
    ----------
    crop : Crop
        The 512 HairStep crop of the photo.
    camera : Camera or None
        Photo -> world (gives the crop's metres per pixel).
    face_mesh : FaceMesh or None
        World-frame face, rasterised as the depth boundary condition for the hair.
    face_points_crop : (478, 3) or None
        Face-mesh landmarks in crop pixels.
    landmarks68_crop : (68, 3) or None
        iBUG landmarks in crop pixels (scalp prior for growth directions).

        Without a face (a back view: ``camera`` and ``face_mesh`` None) the maps are made
        from the hair alone: the network sees an empty face region and zero face depth, the
        prior a scalp without landmarks, and ``depth_m`` is None (no metric scale without the
        face's camera; ``depth`` is still HairStep's normalised depth).
    person_mask_crop : (S, S) float, optional
        Person probability in the crop (body label of the parsing and strand map; hair is
        kept only on the person, see :data:`monoscan.hair.segmentation.PERSON_FLOOR`).
    n_orientations : int
        Gabor orientations.
    hair_model : {"learned", "prior"}
        Where the growth direction and the hair depth come from: the network of
        :mod:`monoscan.hair.learned` for the maps listed in :data:`LEARNED_MAPS` (default), or
        the hand-made priors (:func:`~monoscan.hair.direction.growth_direction`,
        :func:`~monoscan.hair.depth.hair_depth`).
    """
    from monoscan.hair.depth import HairDepth, hair_depth
    from monoscan.hair.direction import growth_direction
    from monoscan.hair.learned import HAIR_MODELS, learned_hair_maps
    from monoscan.hair.orientation import hair_orientation

    if hair_model not in HAIR_MODELS:
        raise InputError(f"unknown hair model {hair_model!r}; choose from {HAIR_MODELS}")
    from monoscan.hair.segmentation import segment_hair
    from monoscan.io.maps import encode_strand_map
    from monoscan.perception.parsing import parse

    # Segment only the part of the crop that shows the photo: the black padding of a crop that
    # reaches past the photo would shrink the head in the network's input. The person gate
    # removes hair-like background. CelebAMask-HQ val, per-image hair IoU mapped back to the
    # photo (measured with the previous model): whole padded crop 0.829, with the gate 0.835,
    # photo part with the gate 0.846 (the photo itself with the gate: 0.848).
    x0, y0, x1, y1 = crop.photo_window
    person = None if person_mask_crop is None else person_mask_crop[y0:y1, x0:x1]
    seg = segment_hair(np.ascontiguousarray(crop.image[y0:y1, x0:x1]), person=person)
    probability = np.zeros(crop.image.shape[:2], np.float32)
    probability[y0:y1, x0:x1] = seg.probability
    mask = probability >= seg.threshold
    parsing = parse(mask, person_mask_crop, face_points_crop)
    orientation, confidence = hair_orientation(crop.image, mask, n_orientations)
    # HairStep's body label covers the whole person but the hair (face included: R = 127).
    body = (parsing != 0) & (parsing != 3)
    has_face = face_mesh is not None and camera is not None
    if has_face:
        face_depth = face_depth_in_crop(face_mesh, camera, crop)
    else:  # no face: an empty face region (the network reads NaN as "no face", depth 0)
        face_depth = np.full(mask.shape, np.nan, np.float32)
    learned = None
    if hair_model == "learned" and LEARNED_MAPS:
        learned = learned_hair_maps(mask, orientation, confidence, face_depth, body)
    if learned is not None and "direction" in LEARNED_MAPS:
        direction = learned.direction
    else:
        direction = growth_direction(orientation, mask, landmarks68_crop, confidence)
    strand_map = encode_strand_map(direction, mask, body)
    if learned is not None and "depth" in LEARNED_MAPS:
        # The network's metres assume the face-framed crop's scale: only with a face.
        depth = HairDepth(learned.depth, learned.depth_m if has_face else None, None)
    elif has_face:
        mpp = camera.metres_per_pixel / crop.photo_to_crop[0, 0]
        depth = hair_depth(mask, face_depth, orientation, metres_per_pixel=mpp)
    else:  # the silhouette prior alone: normalised depth, no metres
        depth = hair_depth(mask, None, orientation)
    return HairMaps(
        hair_probability=probability,
        hair_mask=mask,
        parsing=parsing,
        orientation=np.where(mask, orientation, 0).astype(np.float32),
        confidence=np.where(mask, confidence, 0).astype(np.float32),
        direction=direction.astype(np.float32),
        strand_map=strand_map,
        depth=depth.normalized,
        depth_m=depth.metres,
        face_depth_m=face_depth,
    )
