"""Face detection and the 478-point MediaPipe face mesh, in photo pixels.

Faces are found with MediaPipe's full-range face detector (which also sees small faces in
large photos); the chosen face is cut out of the photo as a square around its box, brought to a
fixed working size, and MediaPipe Face Mesh (static image mode, iris refinement) runs on that
cut-out. Landmarks are mapped back to the photo, so the result does not depend on the photo's
size.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from monoscan.core.errors import FaceNotFoundError, NoFaceError
from monoscan.core.photo import check_rgb
from monoscan.core.quiet import native_stderr_silenced

__all__ = [
    "MIN_FACE_PX",
    "ROLL_CHECK_DEG",
    "UPRIGHT_DEG",
    "FaceBox",
    "FaceLandmarks",
    "detect_face_landmarks",
    "detect_faces",
    "detect_upright_face",
    "eye_line_roll_deg",
    "landmarks_in_box",
]

#: Smallest face accepted, in photo pixels (width of the detector's face box). Below this the
#: mesh has too few pixels to be trusted.
MIN_FACE_PX = 40

#: A face whose eye line is tilted more than this (degrees) makes
#: :func:`detect_upright_face` look for a photo turned on its side.
ROLL_CHECK_DEG = 35.0
#: How close to level (degrees) the eye line must be in a turned photo to take the turn.
UPRIGHT_DEG = 30.0

#: Side of the square cut-out the face mesh runs on, in pixels.
MESH_INPUT_PX = 384

_lock = threading.RLock()
_models: dict[str, object] = {}


@dataclass(frozen=True)
class FaceBox:
    """A detected face: box in photo pixels ``(x0, y0, x1, y1)`` and detector score."""

    box: tuple[float, float, float, float]
    score: float

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return self.width * self.height


@dataclass(frozen=True)
class FaceLandmarks:
    """The 478 MediaPipe face-mesh landmarks of one face.

    Attributes
    ----------
    points : (478, 3) float32
        x, y in photo pixels (x right, y down); z in pixels on the same scale as x, relative to
        the face centre, smaller = closer to the camera (MediaPipe's convention). Points
        468-477 are the iris centres and rings.
    box : FaceBox
        The detection the mesh was fitted in.
    face_index : int
        Index of this face among all detected faces, largest first.
    n_faces : int
        How many faces were detected.
    """

    points: np.ndarray
    box: FaceBox
    face_index: int
    n_faces: int

    @property
    def landmarks68(self) -> np.ndarray:
        """The iBUG 68-point landmarks (68, 3) in the same frame as :attr:`points`."""
        from monoscan.perception.landmarks68 import landmarks68_from_mesh

        return landmarks68_from_mesh(self.points)


def _model(name: str):
    """Create MediaPipe solutions once per process (they load their .tflite from the wheel)."""
    with _lock, native_stderr_silenced():
        if name not in _models:
            import mediapipe as mp

            if name == "detector":
                _models[name] = mp.solutions.face_detection.FaceDetection(
                    model_selection=1, min_detection_confidence=0.5
                )
            elif name == "mesh":
                _models[name] = mp.solutions.face_mesh.FaceMesh(
                    static_image_mode=True,
                    max_num_faces=1,
                    refine_landmarks=True,
                    min_detection_confidence=0.3,
                )
        return _models[name]


def detect_faces(rgb: np.ndarray) -> list[FaceBox]:
    """Detect faces with MediaPipe's full-range detector.

    Parameters
    ----------
    rgb : (H, W, 3) uint8

    Returns
    -------
    list of FaceBox
        Largest first. Boxes in photo pixels, clipped to the photo.
    """
    check_rgb(rgb)
    h, w = rgb.shape[:2]
    # The detector works on a 192 px input; very large photos gain nothing but time.
    scale = min(1.0, 1280.0 / max(h, w))
    img = rgb if scale == 1.0 else _resize(rgb, scale)
    with _lock, native_stderr_silenced():
        result = _model("detector").process(np.ascontiguousarray(img))
    boxes = []
    for det in result.detections or []:
        rb = det.location_data.relative_bounding_box
        x0, y0 = max(rb.xmin, 0.0) * w, max(rb.ymin, 0.0) * h
        x1, y1 = min(rb.xmin + rb.width, 1.0) * w, min(rb.ymin + rb.height, 1.0) * h
        if x1 > x0 and y1 > y0:
            boxes.append(FaceBox((float(x0), float(y0), float(x1), float(y1)), float(det.score[0])))
    boxes.sort(key=lambda b: b.area, reverse=True)
    return boxes


def detect_face_landmarks(
    rgb: np.ndarray, face_index: int = 0, min_face_px: float = MIN_FACE_PX
) -> FaceLandmarks:
    """Find the face mesh of one face in a photo.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        The photo.
    face_index : int
        Which face, counting from the largest (0).
    min_face_px : float
        Faces whose box is narrower than this many pixels are refused.

    Returns
    -------
    FaceLandmarks

    Raises
    ------
    NoFaceError
        No face found (:class:`~monoscan.core.errors.FaceNotFoundError`, also when a detected
        face's landmarks cannot be fitted), the requested index does not exist, or the face is
        too small.
    """
    check_rgb(rgb)
    boxes = detect_faces(rgb)
    if not boxes:
        # The detector can miss very large, tightly cropped faces that the mesh's own
        # detector still finds: try the mesh on the whole photo before giving up.
        points = _mesh_in_square(rgb, _whole_photo_square(rgb))
        if points is None:
            raise FaceNotFoundError("no face found in the photo")
        box = FaceBox(_points_box(points), 0.0)
        boxes = [box]
    else:
        if not 0 <= face_index < len(boxes):
            raise NoFaceError(
                f"face index {face_index} requested but {len(boxes)} face(s) were found"
            )
        box = boxes[face_index]
        points = None
    if box.width < min_face_px:
        raise NoFaceError(
            f"face too small ({box.width:.0f} px wide; the minimum is {min_face_px:.0f} px)"
        )
    if points is None:
        cx, cy = (box.box[0] + box.box[2]) / 2, (box.box[1] + box.box[3]) / 2
        side = 2.2 * max(box.width, box.height)
        points = _mesh_in_square(rgb, (cx - side / 2, cy - side / 2, side))
        if points is None:  # a looser cut-out sometimes helps with large or tilted faces
            points = _mesh_in_square(rgb, (cx - side, cy - side, 2 * side))
        if points is None:
            raise FaceNotFoundError("a face was detected but its landmarks could not be fitted")
    return FaceLandmarks(points=points, box=box, face_index=face_index, n_faces=len(boxes))


def eye_line_roll_deg(points: np.ndarray) -> float:
    """Tilt of the eye line in the photo, in degrees: the direction from the outer corner of
    the subject's right eye (mesh point 33) to the left's (263), 0 for an upright face,
    positive when the face is turned clockwise (photo frame, y down), in (-180, 180]."""
    dx, dy = np.asarray(points, np.float64)[263, :2] - np.asarray(points, np.float64)[33, :2]
    return float(np.degrees(np.arctan2(dy, dx)))


def detect_upright_face(
    rgb: np.ndarray, face_index: int = 0, min_face_px: float = MIN_FACE_PX
) -> tuple[int, FaceLandmarks]:
    """:func:`detect_face_landmarks` on the photo turned so that the face is upright.

    Photos saved on their side without an EXIF orientation tag are common (scanners, some
    phones, edited files). The face mesh still fits a face on its side, so a face found tilted
    by more than :data:`ROLL_CHECK_DEG` says which quarter turn makes it upright; the turn is
    taken when the face in the turned photo is within :data:`UPRIGHT_DEG` of level. When no
    face is found at all, the photo turned by 90, 270 and 180 degrees is searched, and the turn
    whose face the detector scores highest (and level) is taken. Upright photos cost nothing
    extra. Not detected: an upside-down photo in which a face is still found.

    Returns
    -------
    turns : int
        Quarter turns counter-clockwise, as ``np.rot90(rgb, turns)``; 0 for an upright photo.
    face : FaceLandmarks
        The landmarks in the turned photo.

    Raises
    ------
    NoFaceError
        As :func:`detect_face_landmarks`, for the photo as given.
    """

    def in_turned(turns: int) -> FaceLandmarks | None:
        try:
            face = detect_face_landmarks(
                np.ascontiguousarray(np.rot90(rgb, turns)), face_index, min_face_px
            )
        except NoFaceError:
            return None
        return face if abs(eye_line_roll_deg(face.points)) <= UPRIGHT_DEG else None

    try:
        face = detect_face_landmarks(rgb, face_index, min_face_px)
    except NoFaceError as error:
        # The face mesh fits a level (wrong) face in an upside-down window, so only a face the
        # detector itself found (score > 0) counts, and the best scored turn wins.
        found = [(f.box.score, t, f) for t in (1, 3, 2) if (f := in_turned(t)) is not None]
        found = [c for c in found if c[0] > 0]
        if not found:
            raise error from None
        _, turns, face = max(found, key=lambda c: c[0])
        return turns, face
    roll = eye_line_roll_deg(face.points)
    if abs(roll) <= ROLL_CHECK_DEG:
        return 0, face
    turns = 2 if abs(roll) > 135 else (1 if roll > 0 else 3)
    turned = in_turned(turns)
    return (turns, turned) if turned is not None else (0, face)


def landmarks_in_box(rgb: np.ndarray, box: FaceBox) -> np.ndarray | None:
    """Run the face mesh again in the window a detection gave (same cut-out as
    :func:`detect_face_landmarks`); ``None`` when the mesh finds no face there.

    Used to re-fit the landmarks on an edited photo (occluders inpainted) without detecting
    the face again. Returns (478, 3) float32 in photo pixels, as ``FaceLandmarks.points``.
    """
    check_rgb(rgb)
    if box.width <= 0 or box.height <= 0:
        return None
    cx, cy = (box.box[0] + box.box[2]) / 2, (box.box[1] + box.box[3]) / 2
    side = 2.2 * max(box.width, box.height)
    return _mesh_in_square(rgb, (cx - side / 2, cy - side / 2, side))


def _whole_photo_square(rgb: np.ndarray) -> tuple[float, float, float]:
    h, w = rgb.shape[:2]
    side = float(max(h, w))
    return ((w - side) / 2, (h - side) / 2, side)


def _mesh_in_square(rgb: np.ndarray, square: tuple[float, float, float]) -> np.ndarray | None:
    """Run the face mesh on a square window ``(x0, y0, side)`` of the photo (zero-padded)."""
    import cv2

    x0, y0, side = square
    s = MESH_INPUT_PX / side
    # Affine photo -> window: scale then shift; pixels outside the photo are black.
    m = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]], np.float64)
    window = cv2.warpAffine(
        rgb,
        m,
        (MESH_INPUT_PX, MESH_INPUT_PX),
        flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    with _lock, native_stderr_silenced():
        result = _model("mesh").process(window)
    if not result.multi_face_landmarks:
        return None
    lm = result.multi_face_landmarks[0].landmark
    pts = np.array([(p.x, p.y, p.z) for p in lm], np.float64) * MESH_INPUT_PX
    pts[:, 0] = pts[:, 0] / s + x0
    pts[:, 1] = pts[:, 1] / s + y0
    pts[:, 2] = pts[:, 2] / s
    return pts.astype(np.float32)


def _points_box(points: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0 = points[:, :2].min(0)
    x1, y1 = points[:, :2].max(0)
    return (float(x0), float(y0), float(x1), float(y1))


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    return cv2.resize(
        rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
