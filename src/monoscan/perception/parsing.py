"""Parse a photo into background, body/clothes, face skin, hair and ears.

Combines three masks that other stages compute, by fixed precedence (later wins):

1. ``body`` (1): the person mask (MediaPipe selfie segmentation), thresholded at 0.5;
2. ``face`` (2): the convex hull of the 468 face-mesh points (forehead to chin, cheek to
   cheek; eyes, brows and lips count as face), extended upward by a quarter of the mesh's
   height on person pixels, because the mesh stops mid-forehead;
3. ``ears`` (4): an ellipse beside each side of the face, approximated from the landmarks
   (below), only on person pixels outside the face hull;
4. ``hair`` (3): the hair mask, over everything, so hair over the face (bangs) and over the
   ears stays hair, and hair the person mask missed is still hair.

Ear ellipse: with the face width ``W`` (distance between mesh points 234 and 454, the outer
cheek points at ear level) and eye-to-mouth height ``E`` (mean eye centre to mean mouth
corner), each ear is centred ``0.06 W`` outside its cheek point, vertically half-way between
the eye line and the nose base (mesh point 2), with semi-axes ``0.09 W`` across and
``0.55 E`` along the face's up axis. An ear is skipped when the head is turned so far that
its side of the face is foreshortened (the nose-to-cheek distance on that side is below 0.35
of the other side's): it is then hidden behind the head.
"""

from __future__ import annotations

import cv2
import numpy as np

from monoscan.core.errors import InputError
from monoscan.core.masks import as_mask, convex_hull_mask

__all__ = [
    "BACKGROUND",
    "BODY",
    "EARS",
    "FACE",
    "HAIR",
    "LABEL_NAMES",
    "PALETTE",
    "ear_ellipses",
    "parse",
    "parsing_vis",
]

BACKGROUND, BODY, FACE, HAIR, EARS = 0, 1, 2, 3, 4
LABEL_NAMES = ("background", "body", "face", "hair", "ears")
#: RGB colour of each label, for :func:`parsing_vis`.
PALETTE = np.array(
    [[0, 0, 0], [70, 130, 180], [255, 204, 153], [139, 69, 19], [220, 20, 60]], np.uint8
)

#: Forehead above the face mesh counted as skin, as a fraction of the mesh's height.
FOREHEAD_EXTENSION = 0.25

_RIGHT_CHEEK, _LEFT_CHEEK, _NOSE_TIP, _NOSE_BASE = 234, 454, 1, 2
_RIGHT_EYE, _LEFT_EYE = (33, 133), (362, 263)
_MOUTH = (61, 291)


def _face_up(points: np.ndarray) -> np.ndarray | None:
    p = np.asarray(points, np.float64)[:, :2]
    eye = (p[list(_RIGHT_EYE)].mean(0) + p[list(_LEFT_EYE)].mean(0)) / 2
    up = eye - p[list(_MOUTH)].mean(0)
    n = float(np.linalg.norm(up))
    return up / n if n > 1e-6 else None


def ear_ellipses(
    points: np.ndarray,
) -> list[tuple[tuple[float, float], tuple[float, float], float]]:
    """Ear ellipses ``((cx, cy), (semi_axis_x, semi_axis_y), angle_deg)`` in photo pixels.

    ``points`` are the (468 or 478, 2+) face-mesh points in photo pixels. Hidden ears (see
    the module docstring) are left out, so the list has 0, 1 or 2 entries.
    """
    p = np.asarray(points, np.float64)[:, :2]
    eye = (p[list(_RIGHT_EYE)].mean(0) + p[list(_LEFT_EYE)].mean(0)) / 2
    mouth = p[list(_MOUTH)].mean(0)
    up = eye - mouth
    e_len = float(np.linalg.norm(up))
    if e_len < 1e-6:
        return []
    up /= e_len
    width = float(np.linalg.norm(p[_LEFT_CHEEK] - p[_RIGHT_CHEEK]))
    nose = p[_NOSE_TIP]
    d_right = float(np.linalg.norm(p[_RIGHT_CHEEK] - nose))
    d_left = float(np.linalg.norm(p[_LEFT_CHEEK] - nose))
    level = (eye + p[_NOSE_BASE]) / 2
    # Rotation of the face's horizontal axis (up turned 90 deg), for cv2.ellipse.
    angle = float(np.degrees(np.arctan2(up[0], -up[1])))
    out = []
    for cheek, other, mine in ((_RIGHT_CHEEK, d_left, d_right), (_LEFT_CHEEK, d_right, d_left)):
        if other > 0 and mine / other < 0.35:
            continue
        side = p[cheek] - p[_NOSE_BASE]
        side -= up * float(side @ up)  # horizontal (face frame) part
        n = float(np.linalg.norm(side))
        if n < 1e-6:
            continue
        side /= n
        # Cheek point projected onto the ear's height line, pushed outward.
        c = p[cheek] + up * float((level - p[cheek]) @ up) + side * 0.06 * width
        out.append(((float(c[0]), float(c[1])), (0.09 * width, 0.55 * e_len), angle))
    return out


def parse(
    hair_mask: np.ndarray,
    person_mask: np.ndarray | None = None,
    face_points: np.ndarray | None = None,
) -> np.ndarray:
    """Label every pixel: 0 background, 1 body/clothes, 2 face skin, 3 hair, 4 ears.

    Parameters
    ----------
    hair_mask : (H, W) bool, uint8 (>127) or float (> 0.5)
        Hair, photo frame.
    person_mask : (H, W) bool, uint8 or float probability, optional
        Person (MediaPipe selfie / pose segmentation), same frame; without it there is no
        body label and ears are drawn wherever they are not face or hair.
    face_points : (468 or 478, 2+) float, optional
        MediaPipe face-mesh points, photo pixels (x right, y down); without them there is no
        face or ear label.

    Returns
    -------
    (H, W) uint8
        Labels (precedence in the module docstring).

    Examples
    --------
    >>> hair = np.zeros((4, 4), bool); hair[0] = True
    >>> person = np.zeros((4, 4)); person[:, :2] = 0.9
    >>> parse(hair, person)[:2].tolist()
    [[3, 3, 3, 3], [1, 1, 0, 0]]
    """
    hair = as_mask(hair_mask, "hair_mask")
    shape = hair.shape
    labels = np.zeros(shape, np.uint8)
    person = None
    if person_mask is not None:
        person = as_mask(person_mask, "person_mask", shape)
        labels[person] = BODY
    if face_points is not None:
        pts = np.asarray(face_points, np.float64)
        if pts.ndim != 2 or pts.shape[0] < 468 or pts.shape[1] < 2:
            raise InputError(f"face_points must be (468 or 478, 2+), got shape {pts.shape}")
        if not np.isfinite(pts[:468, :2]).all():
            raise InputError("face_points contain NaN or infinite values")
        face = convex_hull_mask(shape, pts[:468])
        # The mesh stops mid-forehead: extend the skin up to the hairline (hair wins anyway).
        up = _face_up(pts)
        if up is not None:
            along = pts[:468, :2] @ up
            ext = pts[:468, :2] + up * FOREHEAD_EXTENSION * float(along.max() - along.min())
            extra = convex_hull_mask(shape, np.vstack([pts[:468, :2], ext])) & ~face
            if person is not None:
                extra &= person
            face[extra] = True
        ears = np.zeros(shape, np.uint8)
        for (cx, cy), (ax, ay), ang in ear_ellipses(pts):
            cv2.ellipse(
                ears,
                (round(cx), round(cy)),
                (max(1, round(ax)), max(1, round(ay))),
                ang,
                0,
                360,
                1,
                -1,
            )
        ear = (ears > 0) & ~face
        if person is not None:
            ear &= person
        labels[face] = FACE
        labels[ear] = EARS
    labels[hair] = HAIR
    return labels


def parsing_vis(labels: np.ndarray, image: np.ndarray | None = None, alpha: float = 0.6):
    """Colour a label map with :data:`PALETTE`, optionally blended over ``image``.

    Returns an (H, W, 3) uint8 RGB image.
    """
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise InputError(f"labels must be (H, W), got shape {lab.shape}")
    if lab.size and int(lab.max()) >= len(PALETTE):
        raise InputError(f"unknown label {int(lab.max())} (expected 0-{len(PALETTE) - 1})")
    rgb = PALETTE[lab]
    if image is None:
        return rgb
    img = np.asarray(image)
    if img.shape != rgb.shape:
        raise InputError(f"image shape {img.shape} does not match labels {lab.shape}")
    out = (1 - alpha) * img.astype(np.float32) + alpha * rgb.astype(np.float32)
    out[lab == BACKGROUND] = img[lab == BACKGROUND]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
