"""Body pose (MediaPipe Pose, 33 landmarks + segmentation) on real photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from monoscan.perception.pose import LANDMARK_INDEX, LANDMARK_NAMES, detect_pose, detect_poses

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fullbody"
needs_data = pytest.mark.skipif(
    not (DATA / "pifu__ryota.png").exists(), reason="../shared/data/fullbody not present"
)


def _load(name):
    from monoscan.io.images import load_image

    return load_image(DATA / name).rgb


@needs_data
def test_pose_landmarks_and_segmentation_on_ryota():
    from PIL import Image

    rgb = _load("pifu__ryota.png")
    gt = np.asarray(Image.open(DATA / "pifu__ryota_mask.png")) > 127
    pose = detect_pose(rgb)
    assert pose is not None
    assert pose.landmarks.shape == (33, 3) and pose.visibility.shape == (33,)
    assert len(LANDMARK_NAMES) == 33
    # Joints of a person facing the camera: left shoulder on the image right, head on top,
    # ankles at the bottom, all inside the true silhouette (3 px tolerance).
    assert pose.point("left_shoulder")[0] > pose.point("right_shoulder")[0]
    assert pose.point("nose")[1] < pose.point("left_hip")[1] < pose.point("left_ankle")[1]
    from scipy import ndimage

    near = ndimage.binary_dilation(gt, iterations=3)
    for name in (
        "nose",
        "left_shoulder",
        "right_shoulder",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ):
        x, y = pose.point(name)
        assert near[int(y), int(x)], name
    assert pose.visibility[[LANDMARK_INDEX["nose"], 11, 12, 23, 24]].min() > 0.9
    # Pose segmentation: measured IoU 0.978 against the hand-made silhouette.
    seg = pose.segmentation > 0.5
    assert seg.shape == gt.shape
    assert (seg & gt).sum() / (seg | gt).sum() > 0.97
    assert pose.world is not None and pose.world.shape == (33, 3)


@needs_data
def test_keypoints_agree_with_openpose_on_2k2k_photo():
    from monoscan.body.keypoints import to_body25

    rgb = _load("2k2k__DSC02780.jpg")
    pose = detect_pose(rgb)
    op = json.loads((DATA / "2k2k__DSC02780_keypoints.json").read_text())
    op = np.asarray(op["people"][0]["pose_keypoints_2d"]).reshape(25, 3)
    err = np.linalg.norm(to_body25(pose)[:, :2] - op[:, :2], axis=1)
    # Body joints 0-18 (feet differ by definition: MediaPipe has one toe point). Measured
    # median 14.4 px on this 2048 px photo, i.e. 0.7 % of the image.
    assert np.median(err[:19]) < 25.0
    assert err[:19].max() < 60.0


def test_blank_image_has_no_pose():
    assert detect_pose(np.full((256, 256, 3), 200, np.uint8)) is None
    assert detect_poses(np.full((256, 256, 3), 200, np.uint8)) == []


@needs_data
def test_two_people_found_largest_first():
    import cv2

    rgb = _load("pifu__ryota.png")
    two = np.full((512, 768, 3), 255, np.uint8)
    two[:, :512] = rgb
    two[200:456, 512:768] = cv2.resize(rgb, (256, 256), interpolation=cv2.INTER_AREA)
    people = detect_poses(two)
    assert len(people) == 2
    assert people[0].area() > 3 * people[1].area()
    assert people[0].point("nose")[0] < 512 < people[1].point("nose")[0]
    # A single person is found once: painting them out leaves nothing that passes as a person.
    assert len(detect_poses(rgb)) == 1
    # Busy background (children in a photo on the wall): measured one spurious second
    # detection before the visibility check.
    assert len(detect_poses(_load("pifuhd__test.png"))) == 1
