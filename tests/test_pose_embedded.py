"""The embedded MediaPipe backend on real photographs of people shipped inside packages."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from physio_core.pose.base import PoseEstimator
from physio_core.pose.embedded import EmbeddedPoseEstimator
from physio_core.skeleton import N_JOINTS, J, PoseSequence


def grace_hopper() -> np.ndarray:
    import matplotlib.cbook as cbook

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        return np.asarray(Image.open(fh).convert("RGB"))


def astronaut() -> np.ndarray:
    skdata = pytest.importorskip("skimage.data", reason="scikit-image (requirements-test.txt)")
    return skdata.astronaut()


def JOINT(j: int) -> str:
    return J(j).name


PHOTOS = {"grace_hopper": grace_hopper, "astronaut": astronaut}


@pytest.fixture(scope="module")
def estimator():
    with EmbeddedPoseEstimator(static_image_mode=True) as est:
        yield est


def test_is_a_pose_estimator(estimator):
    assert isinstance(estimator, PoseEstimator)
    assert estimator.name == "mediapipe"


@pytest.mark.parametrize("photo", sorted(PHOTOS))
def test_finds_the_person_with_plausible_anatomy(estimator, photo):
    img = PHOTOS[photo]()
    people = estimator.detect(img, 0.0)
    assert len(people) == 1
    p = people[0]
    assert p.joints.shape == (N_JOINTS, 3) and np.isfinite(p.joints).all()
    assert np.allclose(p.joints[J.PELVIS], 0.0)
    # both portraits face the camera, head and shoulders in view
    for j in (J.L_SHOULDER, J.R_SHOULDER, J.NECK, J.HEAD):
        assert p.confidence[j] > 0.8, JOINT(j)
    assert p.joints[J.HEAD, 1] > p.joints[J.NECK, 1] > p.joints[J.THORAX, 1] > 0.2
    width = np.linalg.norm(p.joints[J.L_SHOULDER] - p.joints[J.R_SHOULDER])
    assert 0.2 < width < 0.6  # metres
    assert p.joints[J.L_SHOULDER, 0] > 0 > p.joints[J.R_SHOULDER, 0]
    # the face is in front of the chest: facing (+Z) was derived correctly from the body
    assert p.joints[J.NECK, 2] > p.joints[J.THORAX, 2]
    # MediaPipe's labels are anatomical: facing the camera, the left shoulder is on the
    # image's right
    kp = p.keypoints_2d
    assert kp[J.L_SHOULDER, 0] > kp[J.THORAX, 0] > kp[J.R_SHOULDER, 0]
    assert kp[J.HEAD, 1] < kp[J.NECK, 1] < kp[J.THORAX, 1]  # image y grows downwards
    x0, y0, x1, y1 = p.bbox
    h, w = img.shape[:2]
    assert 0 <= x0 < kp[J.R_SHOULDER, 0] and kp[J.L_SHOULDER, 0] < x1 <= w * 1.1
    assert y0 < kp[J.NECK, 1] < y1


def test_blank_and_noise_images_hold_nobody(estimator):
    assert estimator.detect(np.zeros((480, 640, 3), np.uint8), 0.0) == []
    assert estimator.detect(np.full((480, 640, 3), 200, np.uint8), 0.1) == []


def test_video_mode_follows_a_moving_person_and_resets():
    img = grace_hopper()
    h, w = img.shape[:2]
    canvas_w = w + 120
    frames = []
    with EmbeddedPoseEstimator() as est:
        for i in range(8):  # the photo slides 15 px right per frame
            canvas = np.zeros((h, canvas_w, 3), np.uint8)
            canvas[:, 15 * i:15 * i + w] = img
            people = est.detect(canvas, i / 30.0)
            frames.append(people[0] if people else None)
        assert all(f is not None for f in frames)
        seq = PoseSequence.from_frames(frames, np.arange(8) / 30.0, 30.0)
        nose_x = seq.keypoints_2d[:, J.NECK, 0]
        steps = np.diff(nose_x)
        assert np.all(steps > 5) and np.all(steps < 25)  # follows the 15 px/frame slide
        # a decreasing timestamp is tolerated (the graph gets +1 frame instead)
        assert len(est.detect(canvas, 0.0)) == 1
        est.reset()
        assert est.detect(np.zeros((h, canvas_w, 3), np.uint8), 0.0) == []
        assert len(est.detect(canvas, 0.033)) == 1
        # the graph runs on the capture times (a private field of MediaPipe's legacy API: this
        # fails, rather than the smoothing silently falling back to 30 fps, if it goes away)
        est.detect(canvas, 0.5)
        assert est._pose._simulated_timestamp == 500_000
    with pytest.raises(RuntimeError, match="closed"):
        est.detect(canvas, 1.0)


def test_rejects_non_rgb_input(estimator):
    with pytest.raises(ValueError, match="RGB"):
        estimator.detect(np.zeros((48, 64), np.uint8), 0.0)
