"""Converters to the canonical skeleton, checked on synthetic bodies of known geometry."""

from __future__ import annotations

import numpy as np
import pytest

from physio_core.pose.converters import (
    AXES,
    MP,
    coco17_to_canonical_2d,
    h36m_array_to_canonical,
    mediapipe_to_canonical,
)
from physio_core.skeleton import N_JOINTS, J

# A standing T-pose in canonical axes (+X subject's left, +Y up, +Z facing), pelvis at the
# origin, metres; the trunk leans slightly forward and the left knee is flexed, so that
# nothing is symmetric by accident.
BODY = {
    MP.NOSE: (0.0, 0.70, 0.14),
    1: (0.015, 0.73, 0.12), MP.L_EYE: (0.03, 0.73, 0.12), 3: (0.045, 0.73, 0.115),
    4: (-0.015, 0.73, 0.12), MP.R_EYE: (-0.03, 0.73, 0.12), 6: (-0.045, 0.73, 0.115),
    MP.L_EAR: (0.075, 0.71, 0.05), MP.R_EAR: (-0.075, 0.71, 0.05),
    MP.MOUTH_L: (0.025, 0.665, 0.12), MP.MOUTH_R: (-0.025, 0.665, 0.12),
    MP.L_SHOULDER: (0.18, 0.50, 0.05), MP.R_SHOULDER: (-0.18, 0.50, 0.05),
    MP.L_ELBOW: (0.45, 0.50, 0.05), MP.R_ELBOW: (-0.45, 0.50, 0.05),
    MP.L_WRIST: (0.70, 0.50, 0.05), MP.R_WRIST: (-0.70, 0.50, 0.05),
    17: (0.78, 0.49, 0.04), 18: (-0.78, 0.49, 0.04), 19: (0.80, 0.50, 0.06),
    20: (-0.80, 0.50, 0.06), 21: (0.75, 0.50, 0.09), 22: (-0.75, 0.50, 0.09),
    MP.L_HIP: (0.10, 0.0, 0.0), MP.R_HIP: (-0.10, 0.0, 0.0),
    MP.L_KNEE: (0.10, -0.40, 0.18), MP.R_KNEE: (-0.10, -0.45, 0.0),
    MP.L_ANKLE: (0.10, -0.82, 0.05), MP.R_ANKLE: (-0.10, -0.90, 0.0),
    29: (0.10, -0.87, 0.0), 30: (-0.10, -0.95, -0.05),
    MP.L_FOOT_INDEX: (0.10, -0.88, 0.20), MP.R_FOOT_INDEX: (-0.10, -0.96, 0.15),
}
CANON = np.array([BODY[i] for i in range(33)], dtype=np.float64)
WIDTH, HEIGHT = 640, 480
PX_PER_M = 200.0


def _rot_y(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def mediapipe_views(yaw_deg: float, pelvis_px=(320.0, 250.0), visibility=None):
    """World + image landmarks of BODY turned by yaw about the vertical, as MediaPipe gives.

    yaw 0 = facing the camera; the level camera frame C (x right, y up, z toward the camera)
    coincides with the canonical axes then. MediaPipe's world axes are x right, y down,
    z away from the camera; its image landmarks are normalised (orthographic here).
    """
    c = CANON @ _rot_y(yaw_deg).T
    world = c * np.array([1.0, -1.0, -1.0])
    vis = np.full(33, 0.9) if visibility is None else visibility
    u = (pelvis_px[0] + PX_PER_M * c[:, 0]) / WIDTH
    v = (pelvis_px[1] - PX_PER_M * c[:, 1]) / HEIGHT
    image = np.column_stack([u, v, vis])
    return np.column_stack([world, vis]), image


def expected_canonical() -> np.ndarray:
    e = np.full((N_JOINTS, 3), np.nan)
    b = BODY
    for cj, m in {J.R_HIP: MP.R_HIP, J.R_KNEE: MP.R_KNEE, J.R_ANKLE: MP.R_ANKLE,
                  J.L_HIP: MP.L_HIP, J.L_KNEE: MP.L_KNEE, J.L_ANKLE: MP.L_ANKLE,
                  J.NECK: MP.NOSE, J.L_SHOULDER: MP.L_SHOULDER, J.L_ELBOW: MP.L_ELBOW,
                  J.L_WRIST: MP.L_WRIST, J.R_SHOULDER: MP.R_SHOULDER, J.R_ELBOW: MP.R_ELBOW,
                  J.R_WRIST: MP.R_WRIST, J.L_TOE: MP.L_FOOT_INDEX,
                  J.R_TOE: MP.R_FOOT_INDEX}.items():
        e[cj] = b[m]
    e[J.PELVIS] = 0.0
    e[J.THORAX] = (0.0, 0.50, 0.05)
    e[J.SPINE] = (0.0, 0.25, 0.025)
    return e


def test_facing_camera_gives_the_anatomical_joints():
    world, image = mediapipe_views(0.0)
    f = mediapipe_to_canonical(world, image, (WIDTH, HEIGHT))
    exp = expected_canonical()
    known = ~np.isnan(exp[:, 0])
    np.testing.assert_allclose(f.joints[known], exp[known], atol=1e-9)
    # subject's left on +X, up is +Y, the flexed left knee points forward (+Z)
    assert f.joints[J.L_SHOULDER, 0] > 0 > f.joints[J.R_SHOULDER, 0]
    assert f.joints[J.L_HIP, 0] > 0 > f.joints[J.R_HIP, 0]
    assert f.joints[J.HEAD, 1] > f.joints[J.NECK, 1] > f.joints[J.THORAX, 1] > 0
    assert f.joints[J.L_KNEE, 2] == pytest.approx(0.18)
    # head top: above the ear midpoint, within an adult head's size of it
    ear_mid = np.array([0.0, 0.71, 0.05])
    rise = f.joints[J.HEAD] - ear_mid
    assert 0.08 <= np.linalg.norm(rise) <= 0.2 and rise[1] > 0.9 * np.linalg.norm(rise)


@pytest.mark.parametrize("yaw", [90.0, -90.0, 180.0, 37.0, -123.0])
def test_any_viewing_direction_gives_the_same_canonical_joints(yaw):
    ref = mediapipe_to_canonical(*mediapipe_views(0.0), (WIDTH, HEIGHT))
    f = mediapipe_to_canonical(*mediapipe_views(yaw), (WIDTH, HEIGHT))
    np.testing.assert_allclose(f.joints, ref.joints, atol=1e-6)
    np.testing.assert_allclose(f.confidence, ref.confidence)


def test_side_view_image_keypoints_and_camera_facing_mode():
    # subject turned to face the image's right: the left hip is away from the camera
    world, image = mediapipe_views(90.0)
    f = mediapipe_to_canonical(world, image, (WIDTH, HEIGHT))
    # pixel keypoints follow the same canonical joints: the nose is right of the pelvis
    assert f.keypoints_2d[J.NECK, 0] > f.keypoints_2d[J.PELVIS, 0]
    np.testing.assert_allclose(f.keypoints_2d[J.PELVIS], (320.0, 250.0), atol=1e-9)
    np.testing.assert_allclose(
        f.keypoints_2d[J.L_WRIST], image[MP.L_WRIST, :2] * (WIDTH, HEIGHT), atol=1e-9)
    # "camera" facing assumes the subject faces the lens: the body comes out turned 90 deg
    cam = mediapipe_to_canonical(world, image, (WIDTH, HEIGHT), facing="camera")
    np.testing.assert_allclose(cam.joints @ _rot_y(-90.0).T, f.joints, atol=1e-9)


def test_confidence_comes_from_visibility_and_derived_joints_take_the_weakest():
    vis = np.full(33, 0.9)
    vis[MP.L_HIP] = 0.2
    vis[MP.R_WRIST] = 0.05
    world, image = mediapipe_views(0.0, visibility=vis)
    f = mediapipe_to_canonical(world, image, (WIDTH, HEIGHT))
    assert f.confidence[J.R_WRIST] == pytest.approx(0.05)
    assert f.confidence[J.PELVIS] == pytest.approx(0.2)
    assert f.confidence[J.SPINE] == pytest.approx(0.2)
    assert f.confidence[J.THORAX] == pytest.approx(0.9)


def test_root_follows_the_pelvis_pixel_at_the_subjects_scale():
    a = mediapipe_to_canonical(*mediapipe_views(0.0, (320.0, 240.0)), (WIDTH, HEIGHT))
    b = mediapipe_to_canonical(*mediapipe_views(0.0, (420.0, 190.0)), (WIDTH, HEIGHT))
    # 100 px right and 50 px up at 200 px/m = 0.5 m right and 0.25 m up
    np.testing.assert_allclose(b.root - a.root, (0.5, 0.25, 0.0), atol=1e-9)
    f_px = 320.0 / np.tan(np.radians(30.0))
    assert a.root[2] == pytest.approx(-f_px / PX_PER_M)
    assert a.root[:2] == pytest.approx((0.0, 0.0))


def test_bbox_surrounds_the_visible_keypoints():
    world, image = mediapipe_views(0.0)
    f = mediapipe_to_canonical(world, image, (WIDTH, HEIGHT))
    x0, y0, x1, y1 = f.bbox
    px = image[:, :2] * (WIDTH, HEIGHT)
    assert x0 < px[:, 0].min() and x1 > px[:, 0].max()
    assert y0 < px[:, 1].min() and y1 > px[:, 1].max()


def test_waist_up_shot_takes_the_heading_from_the_shoulders():
    # hips unseen and (as MediaPipe guesses them) twisted 60 deg; shoulders seen
    world, image = mediapipe_views(30.0)
    c = world[:, :3] * np.array([1.0, -1.0, -1.0])
    for m in (MP.L_HIP, MP.R_HIP):
        c[m] = CANON[m] @ _rot_y(90.0).T
    world[:, :3] = c * np.array([1.0, -1.0, -1.0])
    vis = np.full(33, 0.9)
    vis[[MP.L_HIP, MP.R_HIP, MP.L_KNEE, MP.R_KNEE, MP.L_ANKLE, MP.R_ANKLE]] = 0.05
    image[:, 2] = vis
    f = mediapipe_to_canonical(world, image, (WIDTH, HEIGHT))
    np.testing.assert_allclose(f.joints[J.L_SHOULDER] - f.joints[J.R_SHOULDER],
                               (0.36, 0.0, 0.0), atol=1e-9)


def test_bad_shapes_are_refused():
    world, image = mediapipe_views(0.0)
    with pytest.raises(ValueError, match="world_landmarks"):
        mediapipe_to_canonical(world[:17], image, (WIDTH, HEIGHT))
    with pytest.raises(ValueError, match="kpts"):
        h36m_array_to_canonical(np.zeros((19, 3)))


def _h36m_from_expected(yaw_deg: np.ndarray) -> np.ndarray:
    """(T, 17, 3) millimetres in OpenCV camera axes of the expected body turned by yaw."""
    exp = expected_canonical()
    exp[J.HEAD] = (0.0, 0.82, 0.06)
    body = exp[:17]
    out = np.stack([body @ _rot_y(y).T for y in np.atleast_1d(yaw_deg)])
    out = out + np.array([0.1, -0.2, -3.0])  # pelvis 3 m in front of the camera
    return out * np.array([1.0, -1.0, -1.0]) * 1000.0


def test_h36m_array_recovers_the_body_from_any_view():
    yaws = np.array([0.0, 45.0, 90.0, 180.0, -60.0])
    joints, root = h36m_array_to_canonical(_h36m_from_expected(yaws), units_per_metre=1000.0)
    assert joints.shape == (5, N_JOINTS, 3)
    exp = expected_canonical()
    exp[J.HEAD] = (0.0, 0.82, 0.06)
    for t in range(5):
        np.testing.assert_allclose(joints[t, :17], exp[:17], atol=1e-9)
    assert np.isnan(joints[:, J.L_TOE]).all()
    np.testing.assert_allclose(root, np.tile((0.1, -0.2, -3.0), (5, 1)), atol=1e-9)
    single, _ = h36m_array_to_canonical(_h36m_from_expected(np.array([30.0]))[0],
                                        units_per_metre=1000.0)
    np.testing.assert_allclose(single[:17], exp[:17], atol=1e-9)


def test_sequence_facing_keeps_the_pelvis_rotation_between_frames():
    yaws = np.array([-20.0, 0.0, 20.0])  # the subject turns on the spot
    joints, _ = h36m_array_to_canonical(_h36m_from_expected(yaws), units_per_metre=1000.0,
                                        facing="sequence")
    hip_line = joints[:, J.L_HIP] - joints[:, J.R_HIP]
    angles = np.degrees(np.arctan2(-hip_line[:, 2], hip_line[:, 0]))
    np.testing.assert_allclose(angles, yaws, atol=1e-6)


def test_named_axes_are_rotations_and_z_up_matches_opencv():
    for m in AXES.values():
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(m) == pytest.approx(1.0)
    cv = _h36m_from_expected(np.array([25.0]))[0] / 1000.0
    zup = cv[:, [0, 2, 1]] * np.array([1.0, 1.0, -1.0])  # x right, y away, z up
    a, _ = h36m_array_to_canonical(cv)
    b, _ = h36m_array_to_canonical(zup, axes="z_up")
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_coco17_2d_mapping():
    rng = np.random.default_rng(0)
    k = rng.uniform(0, 500, size=(17, 2))
    kp, conf = coco17_to_canonical_2d(np.column_stack([k, np.full(17, 0.8)]))
    np.testing.assert_allclose(kp[J.PELVIS], (k[11] + k[12]) / 2)
    np.testing.assert_allclose(kp[J.L_WRIST], k[9])
    np.testing.assert_allclose(kp[J.R_ANKLE], k[16])
    assert np.isnan(kp[J.L_TOE]).all() and conf[J.L_TOE] == 0
    assert conf[J.THORAX] == pytest.approx(0.8)
