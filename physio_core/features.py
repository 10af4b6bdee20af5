"""Per-frame features of the canonical skeleton shared by every learned model.

A frame's features are computed from that frame alone (the live path calls them one frame at a
time): joint positions relative to the pelvis, turned about +Y so the hip line lies along +X,
divided by the frame's body size (torso + thigh + shin), so that Kinect and MediaPipe skeletons of
people of any height agree; plus joint angles in degrees / 180.

Angles: a small set computed here that is defined on every frame (``OWN_ANGLES``: unsigned
flexion / elevation angles the stability model's rep features also use), plus the 23 signed
anatomical angles of ``physio_core.kinematics`` (NaN where that module leaves an angle undefined,
e.g. a planar shoulder angle with the arm end-on; NaN becomes 0 after scaling). The layout a
model was trained with is stored beside its weights (``FEATURE_VERSION``).
"""

from __future__ import annotations

import numpy as np

from physio_core.kinematics import ANGLE_NAMES as KINEMATIC_ANGLES
from physio_core.kinematics import _frame, _unit, angles_from_joints
from physio_core.skeleton import MIRROR, N_JOINTS, J, PoseSequence

FEATURE_VERSION = "pos57+own10+kin23/v2"

OWN_ANGLES: tuple[str, ...] = (
    "knee_flexion_r", "knee_flexion_l",
    "hip_flexion_r", "hip_flexion_l",
    "shoulder_elevation_r", "shoulder_elevation_l",
    "elbow_flexion_r", "elbow_flexion_l",
    "trunk_lean", "hip_abduction",
)
N_POS = N_JOINTS * 3
N_FEATURES = N_POS + len(OWN_ANGLES) + len(KINEMATIC_ANGLES)
FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"{j.name.lower()}_{a}" for j in J for a in "xyz") + OWN_ANGLES + tuple(KINEMATIC_ANGLES)
)


def _angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees between vectors (..., 3)."""
    na = np.linalg.norm(a, axis=-1)
    nb = np.linalg.norm(b, axis=-1)
    cos = np.einsum("...i,...i->...", a, b) / np.maximum(na * nb, 1e-9)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def body_scale(joints: np.ndarray) -> np.ndarray:
    """(..., N_JOINTS, 3) -> (...,) torso + mean thigh + mean shin length, metres (≈1.2 m adult)."""
    j = joints
    torso = np.linalg.norm(j[..., J.THORAX, :] - j[..., J.PELVIS, :], axis=-1)
    thigh = 0.5 * (
        np.linalg.norm(j[..., J.R_KNEE, :] - j[..., J.R_HIP, :], axis=-1)
        + np.linalg.norm(j[..., J.L_KNEE, :] - j[..., J.L_HIP, :], axis=-1)
    )
    shin = 0.5 * (
        np.linalg.norm(j[..., J.R_ANKLE, :] - j[..., J.R_KNEE, :], axis=-1)
        + np.linalg.norm(j[..., J.L_ANKLE, :] - j[..., J.L_KNEE, :], axis=-1)
    )
    return torso + thigh + shin


def yaw_align(joints: np.ndarray) -> np.ndarray:
    """Turn each frame about +Y so that the right-hip -> left-hip vector points along +X."""
    hip = joints[..., J.L_HIP, :] - joints[..., J.R_HIP, :]
    yaw = np.arctan2(hip[..., 2], hip[..., 0])  # angle of the hip line from +X toward +Z
    c, s = np.cos(yaw), np.sin(yaw)
    out = joints.copy()
    x, z = joints[..., 0], joints[..., 2]
    # rotate by -yaw about Y: x' = c x + s z, z' = -s x + c z
    out[..., 0] = c[..., None] * x + s[..., None] * z
    out[..., 2] = -s[..., None] * x + c[..., None] * z
    return out


def normalised_positions(joints: np.ndarray) -> np.ndarray:
    """(T, N_JOINTS, 3) pelvis-centred joints -> (T, N_JOINTS, 3) yaw-aligned, body-size units."""
    j = joints - joints[..., J.PELVIS : J.PELVIS + 1, :]
    j = yaw_align(j)
    scale = body_scale(j)
    scale = np.where(np.isfinite(scale) & (scale > 1e-3), scale, np.nan)
    return j / scale[..., None, None]


def own_angles(joints: np.ndarray) -> np.ndarray:
    """(T, N_JOINTS, 3) -> (T, len(OWN_ANGLES)) degrees, computed per frame."""
    j = joints
    down = j[..., J.PELVIS, :] - j[..., J.THORAX, :]  # trunk, pointing down

    def seg(a: int, b: int) -> np.ndarray:
        return j[..., b, :] - j[..., a, :]

    out = [
        180.0 - _angle_between(seg(J.R_KNEE, J.R_HIP), seg(J.R_KNEE, J.R_ANKLE)),
        180.0 - _angle_between(seg(J.L_KNEE, J.L_HIP), seg(J.L_KNEE, J.L_ANKLE)),
        _angle_between(down, seg(J.R_HIP, J.R_KNEE)),
        _angle_between(down, seg(J.L_HIP, J.L_KNEE)),
        _angle_between(down, seg(J.R_SHOULDER, J.R_ELBOW)),
        _angle_between(down, seg(J.L_SHOULDER, J.L_ELBOW)),
        180.0 - _angle_between(seg(J.R_ELBOW, J.R_SHOULDER), seg(J.R_ELBOW, J.R_WRIST)),
        180.0 - _angle_between(seg(J.L_ELBOW, J.L_SHOULDER), seg(J.L_ELBOW, J.L_WRIST)),
        _angle_between(-down, np.broadcast_to(np.array([0.0, 1.0, 0.0]), down.shape)),
        _angle_between(seg(J.R_HIP, J.R_KNEE), seg(J.L_HIP, J.L_KNEE)),
    ]
    return np.stack(out, axis=-1)


SEGMENTS_TRUNK: tuple[tuple[J, J], ...] = (
    (J.R_SHOULDER, J.R_ELBOW), (J.R_SHOULDER, J.R_WRIST),
    (J.L_SHOULDER, J.L_ELBOW), (J.L_SHOULDER, J.L_WRIST),
)
SEGMENTS_PELVIS: tuple[tuple[J, J], ...] = (
    (J.R_HIP, J.R_KNEE), (J.R_HIP, J.R_ANKLE), (J.L_HIP, J.L_KNEE), (J.L_HIP, J.L_ANKLE),
    (J.R_ANKLE, J.L_ANKLE),
)
# arm and leg segments, plus the trunk's forward axis seen from the pelvis: 10 unit vectors
N_SEGMENT_DIRS = 3 * (len(SEGMENTS_TRUNK) + len(SEGMENTS_PELVIS) + 1)


def body_frame(joints: np.ndarray, left: J, right: J) -> np.ndarray:
    """(T, N_JOINTS, 3) -> (T, 3, 3) rows: x toward the body's left along right->left, y up the
    trunk (pelvis -> thorax, made orthogonal to x), z = x × y, the way the body faces."""
    lateral = joints[:, left] - joints[:, right]
    return _frame(lateral, joints[:, J.THORAX] - joints[:, J.PELVIS]).transpose(0, 2, 1)


def segment_directions(joints: np.ndarray) -> np.ndarray:
    """(T, N_JOINTS, 3) -> (T, N_SEGMENT_DIRS) unit directions of the limb segments.

    Arms are expressed in the shoulder-line frame and legs in the hip-line frame, so the plane
    an arm is raised in (abduction vs scaption) or a leg steps into (side vs inline lunge) reads
    the same whether or not the trunk twists against the hips. Missing values become 0.
    """
    j = np.asarray(joints, dtype=np.float64)
    trunk = body_frame(j, J.L_SHOULDER, J.R_SHOULDER)
    pelvis = body_frame(j, J.L_HIP, J.R_HIP)
    out = []
    for frame, segments in ((trunk, SEGMENTS_TRUNK), (pelvis, SEGMENTS_PELVIS)):
        for a, b in segments:
            out.append(np.einsum("tij,tj->ti", frame, _unit(j[:, b] - j[:, a])))
    out.append(np.einsum("tij,tj->ti", pelvis, trunk[:, 2]))
    with np.errstate(invalid="ignore"):
        f = np.concatenate(out, axis=1)
    return np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def joint_features(joints: np.ndarray) -> np.ndarray:
    """(T, N_JOINTS, 3) canonical joints -> (T, N_FEATURES) float32; missing values become 0."""
    joints = np.asarray(joints, dtype=np.float64)
    single = joints.ndim == 2
    if single:
        joints = joints[None]
    pos = normalised_positions(joints).reshape(joints.shape[0], N_POS)
    ang = own_angles(joints) / 180.0
    with np.errstate(invalid="ignore"):
        kin = angles_from_joints(joints) / 180.0
    feats = np.concatenate([pos, ang, kin], axis=1)
    feats = np.nan_to_num(feats, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    return feats[0] if single else feats


def sequence_features(seq: PoseSequence) -> np.ndarray:
    """(T, N_FEATURES) features of a PoseSequence, holding the last valid frame over gaps."""
    joints = fill_gaps(seq.joints)
    return joint_features(joints)


def frame_features(joints: np.ndarray) -> np.ndarray:
    """(N_FEATURES,) features of one frame (N_JOINTS, 3): its row of ``joint_features``."""
    return joint_features(joints)


def fill_gaps(joints: np.ndarray) -> np.ndarray:
    """Forward- then backward-fill frames whose pelvis is NaN (no person found)."""
    joints = np.array(joints, dtype=np.float64, copy=True)
    ok = np.isfinite(joints[:, J.PELVIS, 0])
    if ok.all() or not ok.any():
        return joints
    idx = np.where(ok, np.arange(len(ok)), 0)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.argmax(ok))
    idx[:first] = first
    joints = joints[idx]
    # joints a source does not provide (e.g. toes) stay NaN and become 0 in the features
    return joints


# Where UI-PRMD's Kinect skeletons, which the models learnt from, put the toe relative to the
# ankle: (outward, up, forward) in body-size units, in the frame of the hip line and +Y up.
# Medians over every fourth rep of the dataset, 30,359 frames a side (left 0.003, -0.046, 0.077;
# right 0.002 outward, -0.048, 0.068; each movement's within 0.026), as
# scripts/experiments/toeless_check.py prints them.
TOE_FROM_ANKLE = np.array([0.0025, -0.047, 0.072])


def impute_missing_toes(joints: np.ndarray) -> np.ndarray:
    """(T, N_JOINTS, 3) joints with each NaN toe, on a frame whose ankle and hips are measured,
    put where the training skeletons have it (``TOE_FROM_ANKLE``), pointing the way the hips
    face. For the models' input only: a source without toes (MMPose's Human3.6M skeleton) would
    otherwise give the models a foot they never saw. Angles and views keep the measured joints.
    """
    j = np.array(joints, dtype=np.float64, copy=True)
    toes = ((J.L_TOE, J.L_ANKLE, 1.0), (J.R_TOE, J.R_ANKLE, -1.0))
    if np.isfinite(j[:, [J.L_TOE, J.R_TOE]]).all():
        return j
    lateral = j[:, J.L_HIP] - j[:, J.R_HIP]
    frame = _frame(lateral, np.broadcast_to([0.0, 1.0, 0.0], lateral.shape), up_first=True)
    scale = body_scale(j)
    for toe, ankle, outward in toes:
        v = frame @ (TOE_FROM_ANKLE * [outward, 1.0, 1.0])  # (left, up, forward) -> world
        guess = j[:, ankle] + v * scale[:, None]
        fill = ~np.isfinite(j[:, toe]).all(axis=1) & np.isfinite(guess).all(axis=1)
        j[fill, toe] = guess[fill]
    return j


def mirror_joints(joints: np.ndarray) -> np.ndarray:
    """Swap left and right: (..., N_JOINTS, 3) -> mirrored about the sagittal (Y-Z) plane."""
    out = joints[..., list(MIRROR), :].copy()
    out[..., 0] *= -1.0
    return out


def resample(x: np.ndarray, length: int) -> np.ndarray:
    """Linearly resample (T, ...) along time to (length, ...)."""
    t = x.shape[0]
    if t == length:
        return x.copy()
    src = np.linspace(0.0, t - 1.0, length)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, t - 1)
    w = (src - lo).reshape((-1,) + (1,) * (x.ndim - 1))
    return (1.0 - w) * x[lo] + w * x[hi]
