"""Anatomical angles against skeletons built with known geometry, and UI-PRMD sanity ranges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from physio_core.kinematics import (
    ANGLE_NAMES,
    ANGLES,
    angles_from_joints,
    compute_angles,
    compute_angles_frame,
    robust_range,
)
from physio_core.skeleton import JOINT_NAMES, MIRROR, N_JOINTS, J, PoseSequence

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
UIPRMD = DATASETS / "ui-prmd"

TOL = 0.1  # degrees


def standing() -> np.ndarray:
    """Upright neutral pose: straight legs, hanging arms, toe line at 90 deg to the shank."""
    p = np.zeros((N_JOINTS, 3))
    for side, x in (("R", -0.1), ("L", 0.1)):
        p[J[f"{side}_HIP"]] = (x, 0.0, 0.0)
        p[J[f"{side}_KNEE"]] = (x, -0.45, 0.0)
        p[J[f"{side}_ANKLE"]] = (x, -0.87, 0.0)
        p[J[f"{side}_TOE"]] = (x, -0.87, 0.15)
        sx = -0.18 if side == "R" else 0.18
        p[J[f"{side}_SHOULDER"]] = (sx, 0.5, 0.0)
        p[J[f"{side}_ELBOW"]] = (sx, 0.2, 0.0)
        p[J[f"{side}_WRIST"]] = (sx, -0.05, 0.0)
    p[J.SPINE] = (0.0, 0.25, 0.0)
    p[J.THORAX] = (0.0, 0.5, 0.0)
    p[J.NECK] = (0.0, 0.6, 0.05)
    p[J.HEAD] = (0.0, 0.72, 0.0)
    return p


def rotate(p: np.ndarray, joints, pivot, rotvec_deg) -> np.ndarray:
    """Rotate the given joints about a pivot point (rotation vector in degrees, canonical axes)."""
    out = p.copy()
    r = Rotation.from_rotvec(np.radians(rotvec_deg))
    idx = list(joints)
    out[idx] = r.apply(p[idx] - pivot) + pivot
    return out


RIGHT_LEG_BELOW_HIP = (J.R_KNEE, J.R_ANKLE, J.R_TOE)
RIGHT_SHANK = (J.R_ANKLE, J.R_TOE)
UPPER_BODY = (
    J.SPINE, J.THORAX, J.NECK, J.HEAD,
    J.L_SHOULDER, J.L_ELBOW, J.L_WRIST, J.R_SHOULDER, J.R_ELBOW, J.R_WRIST,
)  # fmt: skip
LEFT = np.array([1.0, 0, 0])
UP = np.array([0, 1.0, 0])
FORWARD = np.array([0, 0, 1.0])


def angles(p: np.ndarray) -> dict[str, float]:
    return dict(zip(ANGLE_NAMES, compute_angles_frame(p)))


def test_table_documents_23_distinct_angles():
    names = [a.name for a in ANGLES]
    assert len(names) == 23 == len(set(names))
    assert {"knee_angle_r", "hip_flexion_l", "shoulder_abduction_r"} <= set(names)
    for a in ANGLES:
        assert set(a.joints) <= set(JOINT_NAMES), a.name
        assert a.description and a.positive and a.neutral and a.method
        assert a.plane in {"sagittal", "frontal", "transverse"}


def test_neutral_standing_pose_is_all_zero_except_rotations():
    a = angles(standing())
    for name, v in a.items():
        if name.startswith(("hip_rotation", "shoulder_rotation")):
            assert np.isnan(v), f"{name} must be NaN with a straight knee / elbow"
        elif name == "neck_flexion":
            assert v == pytest.approx(0.0, abs=TOL)
        else:
            assert v == pytest.approx(0.0, abs=TOL), name


def test_knee_flexed_90():
    p = rotate(standing(), RIGHT_SHANK, standing()[J.R_KNEE], 90 * LEFT)  # shank points back
    a = angles(p)
    assert a["knee_angle_r"] == pytest.approx(90.0, abs=TOL)
    assert a["hip_flexion_r"] == pytest.approx(0.0, abs=TOL)
    assert a["hip_rotation_r"] == pytest.approx(0.0, abs=TOL)  # defined now, and neutral
    assert a["ankle_angle_r"] == pytest.approx(0.0, abs=TOL)  # foot moved with the shank
    assert a["knee_angle_l"] == pytest.approx(0.0, abs=TOL)
    assert np.isnan(a["hip_rotation_l"])


def test_hip_flexed_30_and_adducted_10():
    p0 = standing()
    # distal end forward = negative rotation about the left axis
    p = rotate(p0, RIGHT_LEG_BELOW_HIP, p0[J.R_HIP], -30 * LEFT)
    a = angles(p)
    assert a["hip_flexion_r"] == pytest.approx(30.0, abs=TOL)
    assert a["hip_adduction_r"] == pytest.approx(0.0, abs=TOL)
    assert a["knee_angle_r"] == pytest.approx(0.0, abs=TOL)
    # right knee toward the midline (+X) = adduction; left knee toward -X = adduction too
    p = rotate(p0, RIGHT_LEG_BELOW_HIP, p0[J.R_HIP], 10 * FORWARD)
    p = rotate(p, (J.L_KNEE, J.L_ANKLE, J.L_TOE), p0[J.L_HIP], -10 * FORWARD)
    assert p[J.R_KNEE, 0] > p0[J.R_KNEE, 0] and p[J.L_KNEE, 0] < p0[J.L_KNEE, 0]
    a = angles(p)
    assert a["hip_adduction_r"] == pytest.approx(10.0, abs=TOL)
    assert a["hip_adduction_l"] == pytest.approx(10.0, abs=TOL)
    assert a["hip_flexion_r"] == pytest.approx(0.0, abs=TOL)


def test_hip_flexion_past_90_in_deep_squat_shape():
    p0 = standing()
    p = rotate(p0, RIGHT_LEG_BELOW_HIP, p0[J.R_HIP], -120 * LEFT)
    p = rotate(p, RIGHT_SHANK, p[J.R_KNEE], 130 * LEFT)
    a = angles(p)
    assert a["hip_flexion_r"] == pytest.approx(120.0, abs=TOL)
    assert a["knee_angle_r"] == pytest.approx(130.0, abs=TOL)


def test_hip_internal_rotation_with_bent_knee():
    p0 = standing()
    p = rotate(p0, RIGHT_SHANK, p0[J.R_KNEE], 90 * LEFT)
    # internal rotation of the right femur: its front turns toward +X (right-hand rule about +Y)
    p = rotate(p, RIGHT_LEG_BELOW_HIP, p0[J.R_HIP], 20 * UP)
    a = angles(p)
    assert a["hip_rotation_r"] == pytest.approx(20.0, abs=TOL)
    assert p[J.R_ANKLE, 0] < p[J.R_KNEE, 0]  # the foot swings outward, as in the clinic test
    assert a["knee_angle_r"] == pytest.approx(90.0, abs=TOL)


def test_ankle_dorsiflexion_and_missing_toes():
    p0 = standing()
    p = rotate(p0, (J.R_TOE,), p0[J.R_ANKLE], -10 * LEFT)  # toe tip up = dorsiflexion
    assert angles(p)["ankle_angle_r"] == pytest.approx(10.0, abs=TOL)
    p[J.R_TOE] = np.nan
    a = angles(p)
    assert np.isnan(a["ankle_angle_r"])
    assert np.isfinite(a["knee_angle_r"]) and np.isfinite(a["ankle_angle_l"])


def test_trunk_flexed_20_bent_15_rotated_25():
    p0 = standing()
    p = rotate(p0, UPPER_BODY, p0[J.PELVIS], 20 * LEFT)
    a = angles(p)
    assert a["lumbar_flexion"] == pytest.approx(20.0, abs=TOL)
    for n in ("lumbar_bending", "lumbar_rotation", "hip_flexion_r", "neck_flexion",
              "shoulder_flexion_r", "shoulder_abduction_l"):  # fmt: skip
        assert a[n] == pytest.approx(0.0, abs=TOL), n
    # right-hand rule about forward = bending toward the subject's right
    a = angles(rotate(p0, UPPER_BODY, p0[J.PELVIS], 15 * FORWARD))
    assert a["lumbar_bending"] == pytest.approx(15.0, abs=TOL)
    assert rotate(p0, UPPER_BODY, p0[J.PELVIS], 15 * FORWARD)[J.THORAX, 0] < 0  # i.e. rightward
    a = angles(rotate(p0, UPPER_BODY, p0[J.PELVIS], 25 * UP))
    assert a["lumbar_rotation"] == pytest.approx(25.0, abs=TOL)
    assert a["lumbar_flexion"] == pytest.approx(0.0, abs=TOL)


def test_neck_flexion_and_bending():
    p0 = standing()
    a = angles(rotate(p0, (J.NECK, J.HEAD), p0[J.THORAX], 15 * LEFT))
    assert a["neck_flexion"] == pytest.approx(15.0, abs=TOL)
    a = angles(rotate(p0, (J.NECK, J.HEAD), p0[J.THORAX], -10 * FORWARD))  # toward the left
    assert a["neck_bending"] == pytest.approx(-10.0, abs=TOL)


def test_shoulder_abduction_flexion_and_elbow():
    p0 = standing()
    r_arm, l_arm = (J.R_ELBOW, J.R_WRIST), (J.L_ELBOW, J.L_WRIST)
    # right arm out to the right (-X) = negative rotation about forward; left arm mirrored
    p = rotate(p0, r_arm, p0[J.R_SHOULDER], -45 * FORWARD)
    p = rotate(p, l_arm, p0[J.L_SHOULDER], 45 * FORWARD)
    a = angles(p)
    assert a["shoulder_abduction_r"] == pytest.approx(45.0, abs=TOL)
    assert a["shoulder_abduction_l"] == pytest.approx(45.0, abs=TOL)
    assert a["shoulder_flexion_r"] == pytest.approx(0.0, abs=TOL)
    # abduction goes on past 90 up to overhead without a lock
    a = angles(rotate(p0, r_arm, p0[J.R_SHOULDER], -155 * FORWARD))
    assert a["shoulder_abduction_r"] == pytest.approx(155.0, abs=TOL)
    # forward flexion 120 (distal end forward = negative about left) and extension 40
    a = angles(rotate(p0, r_arm, p0[J.R_SHOULDER], -120 * LEFT))
    assert a["shoulder_flexion_r"] == pytest.approx(120.0, abs=TOL)
    a = angles(rotate(p0, r_arm, p0[J.R_SHOULDER], 40 * LEFT))
    assert a["shoulder_flexion_r"] == pytest.approx(-40.0, abs=TOL)
    assert a["shoulder_abduction_r"] == pytest.approx(0.0, abs=TOL)
    # arm straight sideways: flexion is undefined (end-on in the sagittal plane)
    a = angles(rotate(p0, r_arm, p0[J.R_SHOULDER], -90 * FORWARD))
    assert np.isnan(a["shoulder_flexion_r"]) and a["shoulder_abduction_r"] == pytest.approx(90.0)
    # elbow flexed 90 with the forearm forward
    a = angles(rotate(p0, (J.R_WRIST,), p0[J.R_ELBOW], -90 * LEFT))
    assert a["elbow_flexion_r"] == pytest.approx(90.0, abs=TOL)
    assert a["shoulder_rotation_r"] == pytest.approx(0.0, abs=TOL)


def test_shoulder_rotation_sign_both_sides():
    p0 = standing()
    p = rotate(p0, (J.R_WRIST,), p0[J.R_ELBOW], -90 * LEFT)
    p = rotate(p, (J.L_WRIST,), p0[J.L_ELBOW], -90 * LEFT)
    # forearms turned 30 deg toward the belly (right one toward +X, left one toward -X)
    p = rotate(p, (J.R_WRIST,), p0[J.R_ELBOW], 30 * UP)
    p = rotate(p, (J.L_WRIST,), p0[J.L_ELBOW], -30 * UP)
    a = angles(p)
    assert a["shoulder_rotation_r"] == pytest.approx(30.0, abs=TOL)
    assert a["shoulder_rotation_l"] == pytest.approx(30.0, abs=TOL)
    # 90/90 position (arm abducted 90, forearm up) = external rotation -90
    q = rotate(p0, (J.R_ELBOW, J.R_WRIST), p0[J.R_SHOULDER], -90 * FORWARD)
    q[J.R_WRIST] = q[J.R_ELBOW] + (0, 0.25, 0)
    a = angles(q)
    assert a["shoulder_abduction_r"] == pytest.approx(90.0, abs=TOL)
    assert a["shoulder_rotation_r"] == pytest.approx(-90.0, abs=TOL)


def composite_pose() -> np.ndarray:
    p0 = standing()
    p = rotate(p0, RIGHT_SHANK, p0[J.R_KNEE], 70 * LEFT)
    p = rotate(p, RIGHT_LEG_BELOW_HIP, p0[J.R_HIP], -40 * LEFT + 10 * UP)
    p = rotate(p, (J.L_KNEE, J.L_ANKLE, J.L_TOE), p0[J.L_HIP], 8 * FORWARD)
    p = rotate(p, UPPER_BODY, p0[J.PELVIS], 12 * LEFT + 7 * FORWARD + 9 * UP)
    p = rotate(p, (J.R_ELBOW, J.R_WRIST), p[J.R_SHOULDER], -60 * FORWARD - 20 * LEFT)
    p = rotate(p, (J.L_WRIST,), p[J.L_ELBOW], -80 * LEFT)
    p = rotate(p, (J.L_ELBOW, J.L_WRIST), p[J.L_SHOULDER], 30 * FORWARD)
    return p


def test_invariant_to_heading_and_translation():
    p = composite_pose()
    ref = compute_angles_frame(p)
    for yaw in (37.0, -120.0, 180.0):
        q = Rotation.from_euler("y", yaw, degrees=True).apply(p) + (1.5, -0.3, 4.0)
        np.testing.assert_allclose(compute_angles_frame(q), ref, atol=1e-6, equal_nan=True)


def test_mirror_swaps_sides_and_flips_lateral_signs():
    p = composite_pose()
    m = p[list(MIRROR)] * (-1, 1, 1)
    a, b = angles(p), angles(m)
    for name in ANGLE_NAMES:
        if name.endswith("_r"):
            np.testing.assert_allclose(b[name[:-2] + "_l"], a[name], atol=1e-6)
        elif name in ("lumbar_bending", "lumbar_rotation", "neck_bending"):
            assert b[name] == pytest.approx(-a[name], abs=1e-6)
        elif not name.endswith("_l"):
            assert b[name] == pytest.approx(a[name], abs=1e-6)


def test_sequence_matches_frames_and_masks_zero_confidence():
    frames = np.stack([standing(), composite_pose(), composite_pose() * 1.1])
    conf = np.ones((3, N_JOINTS))
    conf[2, J.L_TOE] = 0.0
    seq = PoseSequence(frames, conf, np.arange(3) / 30.0, 30.0)
    series = compute_angles(seq)
    assert series.names == ANGLE_NAMES and series.values.shape == (3, 23)
    np.testing.assert_allclose(series.values[1], compute_angles_frame(frames[1]), equal_nan=True)
    np.testing.assert_allclose(series.values[:2], angles_from_joints(frames[:2]), equal_nan=True)
    assert np.isnan(series["ankle_angle_l"][2]) and np.isfinite(series["ankle_angle_r"][2])


needs_uiprmd = pytest.mark.skipif(not UIPRMD.is_dir(), reason=f"UI-PRMD not found at {UIPRMD}")


@needs_uiprmd
def test_uiprmd_deep_squat_knee_range():
    """Dataset README: knee interior angle 177 -> 52 (median minimum) -> 177 in m01."""
    from physio_core.datasets.uiprmd import list_reps

    starts, peaks = [], []
    for rep in [r for r in list_reps(UIPRMD) if r.movement == 1 and r.correct]:
        a = compute_angles(rep.load())
        knee = np.maximum(a["knee_angle_r"], a["knee_angle_l"])
        starts.append(knee[:3].mean())
        peaks.append(knee.max())
    assert np.median(starts) == pytest.approx(3.0, abs=6.0)
    assert np.median(peaks) == pytest.approx(128.0, abs=8.0)


@needs_uiprmd
def test_uiprmd_shoulder_abduction_range():
    """Dataset README: shoulder abduction in m07 goes about 9 -> 155 deg (s07 uses the left arm)."""
    from physio_core.datasets.uiprmd import list_reps

    starts, peaks = [], []
    for rep in [r for r in list_reps(UIPRMD) if r.movement == 7 and r.correct]:
        a = compute_angles(rep.load())
        side = "l" if rep.subject == 7 else "r"
        abd = a[f"shoulder_abduction_{side}"]
        starts.append(abd[:3].mean())
        peaks.append(np.nanmax(abd))
    assert np.median(starts) == pytest.approx(9.0, abs=6.0)
    assert np.median(peaks) == pytest.approx(155.0, abs=10.0)


@needs_uiprmd
def test_range_of_an_angle_that_wraps_is_taken_round_the_circle():
    """Subject 5's incorrect hurdle steps hold the arms behind: the planar shoulder flexion reads
    down to -90 and then, past the wrap, 265-270. Its range is that of the same readings
    unwrapped (about 95 deg), not the 353 deg a plain percentile span gives; an angle that never
    wraps (the knee) keeps its plain span."""
    from physio_core.datasets.uiprmd import list_reps

    reps = [r for r in list_reps(UIPRMD) if r.movement_name == "hurdle_step" and r.subject == 5 and not r.correct]
    angles = [compute_angles(r.load()) for r in reps]
    flex = np.concatenate([a["shoulder_flexion_l"] for a in angles])
    flex = flex[np.isfinite(flex)]
    assert (flex < -80).any() and (flex > 250).any()  # both sides of the wrap
    plain = np.percentile(flex, 99) - np.percentile(flex, 1)
    unwrapped = np.where(flex > 180, flex - 360, flex)
    assert plain > 300
    assert robust_range(flex, 1, 99) == pytest.approx(np.percentile(unwrapped, 99) - np.percentile(unwrapped, 1))
    assert robust_range(flex, 1, 99) < 120
    knee = np.concatenate([a["knee_angle_r"] for a in angles])
    knee = knee[np.isfinite(knee)]
    assert robust_range(knee, 5, 95) == pytest.approx(np.percentile(knee, 95) - np.percentile(knee, 5))
    assert np.isnan(robust_range(knee[:1], 5, 95))


def test_unwrapping_carries_a_wrap_across_a_gap_and_streams_the_same():
    """An arm held behind the back reads -89 and then 270 past the wrap, also when it leaves its
    plane between the two (a gap): unwrapped, the readings stay on one side. A real leap across
    a gap (-15 to 170, flexion in a sideways raise) and a 212 deg glitch are not wraps. The live
    counter's ``StreamingUnwrap`` gives the same series, by 360 deg where it starts elsewhere."""
    from physio_core.kinematics import StreamingUnwrap, unwrapped

    behind = np.array([-40.0, -80.0, -88.0, np.nan, np.nan, 268.0, 262.0, -85.0, -60.0])
    assert np.allclose(unwrapped(behind), [-40, -80, -88, np.nan, np.nan, -92, -98, -85, -60], equal_nan=True)
    leap = np.array([5.0, -15.0, np.nan, 170.0, 175.0, np.nan, -10.0, -6.0, 206.0, 154.0])
    assert np.array_equal(unwrapped(leap), leap, equal_nan=True)

    def streamed(series: np.ndarray) -> np.ndarray:
        s = StreamingUnwrap()
        return np.array([s(np.array([v]))[0] for v in series])

    assert np.array_equal(streamed(behind), unwrapped(behind), equal_nan=True)
    assert np.array_equal(streamed(leap), leap, equal_nan=True)
    starts_behind = behind[5:]  # starts past the wrap: the stream keeps the level it started at
    assert np.allclose(streamed(starts_behind), unwrapped(starts_behind) + 360.0)


@needs_uiprmd
def test_unwrapped_real_hurdle_steps_have_no_leap_and_the_same_directions():
    from physio_core.datasets.uiprmd import list_reps
    from physio_core.kinematics import StreamingUnwrap, unwrapped

    reps = [r for r in list_reps(UIPRMD) if r.movement_name == "hurdle_step" and r.subject == 5 and not r.correct]
    values = np.concatenate([compute_angles(r.load()).values for r in reps])
    flex = values[:, ANGLE_NAMES.index("shoulder_flexion_l")]
    ok = np.isfinite(flex)
    assert np.abs(np.diff(flex[ok])).max() > 300
    u = unwrapped(flex)
    assert np.abs(np.diff(u[ok])).max() < 60
    assert np.allclose((u[ok] - flex[ok] + 180.0) % 360.0 - 180.0, 0.0, atol=1e-9)
    s = StreamingUnwrap()
    live = np.array([s(row) for row in values])
    for i, name in enumerate(ANGLE_NAMES):  # all 23 at once, as the live counter feeds it
        shift = live[:, i] - unwrapped(values[:, i])
        fin = np.isfinite(shift)
        assert np.allclose(shift[fin], shift[fin][0]) and shift[fin][0] % 360.0 == 0.0, name
