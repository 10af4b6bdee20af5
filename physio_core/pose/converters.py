"""Converters from each pose source's joint layout and axes to the canonical skeleton.

Two steps, the same for every source:

1. *Axes*: the source's 3D coordinates are re-expressed in a **level camera frame** ``C``:
   +X image right, +Y up, +Z toward the camera (right-handed, metres). "Up" is the camera's
   up, so a camera that is not level tilts every angle measured against gravity.
2. *Facing*: the canonical frame is then built from the body itself (``facing="frame"``,
   the default): +Y is C's up, +X is the horizontal part of (left hip - right hip), i.e. the
   subject's left, and +Z = X x Y is the direction the subject faces. So a subject filmed
   from the front and the same subject filmed from the side give the same canonical joints,
   and left/right come from the source's anatomical labels, never from the image side.
   Consequence: rotation of the pelvis about the vertical is normalised away frame by frame
   (trunk rotation *relative to the pelvis* is kept). ``facing="sequence"`` uses one heading
   for a whole (T, ...) array instead (the circular mean over frames), which keeps pelvis
   yaw; ``facing="camera"`` assumes the subject faces the camera (canonical = C).

Joints are then pelvis-centred; the pelvis position in C is kept as ``root``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal, Sequence

import numpy as np

from physio_core.skeleton import N_JOINTS, J, PoseFrame

Facing = Literal["frame", "sequence", "camera"]

# source axes -> level camera frame C (+X right, +Y up, +Z toward the camera): rows are C's axes
AXES: dict[str, np.ndarray] = {
    # x right, y down, z away from the camera: OpenCV camera coordinates, MediaPipe world
    # landmarks, Human3.6M camera-space 3D outputs of pose lifters
    "opencv": np.diag([1.0, -1.0, -1.0]),
    # x right, y up, z toward the camera (OpenGL)
    "opengl": np.eye(3),
    # x right, y away from the camera (into the scene), z up: a common "world" convention
    "z_up": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),
}

# horizontal part of the hip line must be at least this fraction of its length to define a
# heading (a side-lying subject has the hips stacked vertically)
_MIN_HORIZONTAL = 0.3


class MP(IntEnum):
    """MediaPipe Pose (BlazePose) landmark indices; left/right are the subject's."""

    NOSE = 0
    L_EYE = 2
    R_EYE = 5
    L_EAR = 7
    R_EAR = 8
    MOUTH_L = 9
    MOUTH_R = 10
    L_SHOULDER = 11
    R_SHOULDER = 12
    L_ELBOW = 13
    R_ELBOW = 14
    L_WRIST = 15
    R_WRIST = 16
    L_HIP = 23
    R_HIP = 24
    L_KNEE = 25
    R_KNEE = 26
    L_ANKLE = 27
    R_ANKLE = 28
    L_FOOT_INDEX = 31
    R_FOOT_INDEX = 32


N_MEDIAPIPE = 33

# canonical joint <- one MediaPipe landmark
_MP_DIRECT = {
    J.R_HIP: MP.R_HIP, J.R_KNEE: MP.R_KNEE, J.R_ANKLE: MP.R_ANKLE,
    J.L_HIP: MP.L_HIP, J.L_KNEE: MP.L_KNEE, J.L_ANKLE: MP.L_ANKLE,
    J.NECK: MP.NOSE,  # H3.6M joint 9 is "neck/nose": it sits at the nose
    J.L_SHOULDER: MP.L_SHOULDER, J.L_ELBOW: MP.L_ELBOW, J.L_WRIST: MP.L_WRIST,
    J.R_SHOULDER: MP.R_SHOULDER, J.R_ELBOW: MP.R_ELBOW, J.R_WRIST: MP.R_WRIST,
    J.L_TOE: MP.L_FOOT_INDEX, J.R_TOE: MP.R_FOOT_INDEX,
}

# Human3.6M 17-joint order is the canonical order of joints 0..16
N_H36M = 17

# COCO-17 keypoint indices
COCO = {
    "nose": 0, "l_eye": 1, "r_eye": 2, "l_ear": 3, "r_ear": 4,
    "l_shoulder": 5, "r_shoulder": 6, "l_elbow": 7, "r_elbow": 8, "l_wrist": 9, "r_wrist": 10,
    "l_hip": 11, "r_hip": 12, "l_knee": 13, "r_knee": 14, "l_ankle": 15, "r_ankle": 16,
}
_COCO_DIRECT = {
    J.R_HIP: COCO["r_hip"], J.R_KNEE: COCO["r_knee"], J.R_ANKLE: COCO["r_ankle"],
    J.L_HIP: COCO["l_hip"], J.L_KNEE: COCO["l_knee"], J.L_ANKLE: COCO["l_ankle"],
    J.NECK: COCO["nose"],
    J.L_SHOULDER: COCO["l_shoulder"], J.L_ELBOW: COCO["l_elbow"], J.L_WRIST: COCO["l_wrist"],
    J.R_SHOULDER: COCO["r_shoulder"], J.R_ELBOW: COCO["r_elbow"], J.R_WRIST: COCO["r_wrist"],
}

# ratio (ear-midpoint to top of the head) / (ear-to-ear breadth) of an adult head
_HEAD_TOP_PER_BREADTH = 0.85
_HEAD_TOP_RANGE_M = (0.08, 0.20)


# ---------------------------------------------------------------------------------------
# axes and facing
# ---------------------------------------------------------------------------------------


def to_level_camera(points: np.ndarray, axes: str | np.ndarray = "opencv") -> np.ndarray:
    """(..., 3) points in the named (or 3x3 matrix) source axes -> level camera frame C."""
    if isinstance(axes, str):
        m = AXES[axes]  # rotations by construction (checked in the tests)
    else:
        m = np.asarray(axes, dtype=np.float64)
        if m.shape != (3, 3) or not np.isclose(np.linalg.det(m), 1.0, atol=1e-6):
            raise ValueError("axes must name a convention in AXES or be a 3x3 rotation matrix")
    return np.asarray(points, dtype=np.float64) @ m.T


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / n, n[..., 0]


def _horizontal_left(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """(..., 3) unit horizontal part of (left - right), NaN where the line is too vertical."""
    v = left - right
    hu, hn = _unit(v * np.array([1.0, 0.0, 1.0]))
    ok = (hn >= _MIN_HORIZONTAL * np.linalg.norm(v, axis=-1)) & (hn > 1e-9)
    return np.where(ok[..., None], hu, np.nan)


def _heading(c_joints: np.ndarray, conf: np.ndarray | None) -> np.ndarray:
    """(..., 3) unit horizontal "subject's left" vector in C per frame, NaN where undefined.

    From the hips; from the shoulders where the hips are unusable (hip line too vertical, or
    hips not seen while the shoulders are, e.g. a waist-up shot).
    """
    hips = _horizontal_left(c_joints[..., J.L_HIP, :], c_joints[..., J.R_HIP, :])
    shoulders = _horizontal_left(c_joints[..., J.L_SHOULDER, :], c_joints[..., J.R_SHOULDER, :])
    use_shoulders = ~np.isfinite(hips[..., 0])
    if conf is not None:
        hip_seen = np.minimum(conf[..., J.L_HIP], conf[..., J.R_HIP]) >= 0.5
        sh_seen = np.minimum(conf[..., J.L_SHOULDER], conf[..., J.R_SHOULDER]) >= 0.5
        use_shoulders |= ~hip_seen & sh_seen
    use_shoulders &= np.isfinite(shoulders[..., 0])
    return np.where(use_shoulders[..., None], shoulders, hips)


def body_rotation(left_axis: np.ndarray) -> np.ndarray:
    """(..., 3) horizontal unit "left" vectors in C -> (..., 3, 3) rotations.

    Columns are the canonical +X (left), +Y (up), +Z (facing = X x Y) expressed in C, so
    ``canonical = c_points @ R``.
    """
    x = np.asarray(left_axis, dtype=np.float64)
    y = np.broadcast_to(np.array([0.0, 1.0, 0.0]), x.shape)
    # x cross y as np.cross computes it, without its per-call overhead (live path)
    z = x[..., [1, 2, 0]] * y[..., [2, 0, 1]] - x[..., [2, 0, 1]] * y[..., [1, 2, 0]]
    return np.stack([x, y, z], axis=-1)


def _left_axes(c_joints: np.ndarray, facing: Facing, conf: np.ndarray | None) -> np.ndarray:
    """(..., 3) left vectors per frame for the chosen facing mode (C's +X where undefined)."""
    batch = c_joints.shape[:-2]
    if facing == "camera":
        return np.broadcast_to(np.array([1.0, 0.0, 0.0]), (*batch, 3)).copy()
    if facing not in ("frame", "sequence"):
        raise ValueError(f"facing must be 'frame', 'sequence' or 'camera', got {facing!r}")
    left = _heading(c_joints, conf)
    good = np.isfinite(left[..., 0])
    if facing == "sequence" and left.ndim > 1:
        # one heading for all frames: circular mean of the per-frame headings
        mean = np.nanmean(left[good], axis=0) if good.any() else np.array([1.0, 0.0, 0.0])
        mean, n = _unit(mean * np.array([1.0, 0.0, 1.0]))
        if not n > 1e-9:
            mean = np.array([1.0, 0.0, 0.0])
        return np.broadcast_to(mean, left.shape).copy()
    left[~good] = np.array([1.0, 0.0, 0.0])
    return left


def _canonicalise(c_joints: np.ndarray, facing: Facing, conf: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(..., N_JOINTS, 3) canonical-order joints in C -> (pelvis-centred canonical, root in C)."""
    left = _left_axes(c_joints, facing, conf)
    rot = body_rotation(left)
    root = c_joints[..., J.PELVIS, :].copy()
    centred = np.einsum("...nc,...cd->...nd", c_joints - root[..., None, :], rot)
    return centred, root


# ---------------------------------------------------------------------------------------
# MediaPipe
# ---------------------------------------------------------------------------------------


def _head_top(mid_ears: np.ndarray, mid_eyes: np.ndarray, mid_mouth: np.ndarray,
              ear_l: np.ndarray, ear_r: np.ndarray, thorax: np.ndarray) -> np.ndarray:
    """Top of the head (H3.6M joint 10), in C: above the ear midpoint along the face's up.

    The face's up is mouth -> eyes (it follows head flexion/tilt); the distance scales with
    the head's breadth (ear to ear), clipped to adult sizes.
    """
    up, n = _unit(mid_eyes - mid_mouth)
    if not n > 1e-6:
        up, n = _unit(mid_ears - thorax)
    if not n > 1e-6:
        up = np.array([0.0, 1.0, 0.0])
    size = np.clip(_HEAD_TOP_PER_BREADTH * np.linalg.norm(ear_l - ear_r), *_HEAD_TOP_RANGE_M)
    return mid_ears + size * up


_SCALE_SEGMENTS = np.array([
    (MP.L_SHOULDER, MP.R_SHOULDER), (MP.L_HIP, MP.R_HIP),
    (MP.L_SHOULDER, MP.L_HIP), (MP.R_SHOULDER, MP.R_HIP),
    (MP.L_HIP, MP.L_KNEE), (MP.R_HIP, MP.R_KNEE),
    (MP.L_KNEE, MP.L_ANKLE), (MP.R_KNEE, MP.R_ANKLE),
    (MP.L_SHOULDER, MP.L_ELBOW), (MP.R_SHOULDER, MP.R_ELBOW),
])


def _pixels_per_metre(world_c: np.ndarray, px: np.ndarray, vis: np.ndarray) -> float:
    """Image scale of the subject: pixel length / metric length of image-plane segments.

    MediaPipe's world x/y are aligned with the image, so the ratio of a segment's pixel
    length to its metric length *in the image plane* is the local scale (weak perspective).
    """
    a, b = _SCALE_SEGMENTS.T
    seen = np.minimum(vis[a], vis[b]) >= 0.5
    d_px = px[a[seen]] - px[b[seen]]
    d_met = (world_c[a[seen]] - world_c[b[seen]])[:, :2]
    pix = met = 0.0
    for p_len, m_len in zip(np.sqrt((d_px * d_px).sum(axis=1)).tolist(),
                            np.sqrt((d_met * d_met).sum(axis=1)).tolist()):
        pix += p_len
        met += m_len
    return pix / met if met > 0.05 else float("nan")


def _split_image_landmarks(image_landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(33, 2|3|4) normalised image landmarks -> (33, 2) x, y and visibility (or None).

    (33, 3) is read as x, y, visibility; (33, 4) as x, y, z, visibility.
    """
    lm = np.asarray(image_landmarks, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] != N_MEDIAPIPE or lm.shape[1] not in (2, 3, 4):
        raise ValueError(f"image_landmarks must be (33, 2|3|4), got {lm.shape}")
    return lm[:, :2], (lm[:, -1] if lm.shape[1] in (3, 4) else None)


def mediapipe_to_canonical(
    world_landmarks: np.ndarray,
    image_landmarks: np.ndarray,
    image_size: tuple[int, int],
    *,
    facing: Facing = "frame",
    hfov_deg: float = 60.0,
) -> PoseFrame:
    """MediaPipe Pose's 33 landmarks of one person -> canonical PoseFrame.

    world_landmarks: (33, 3|4) metres, hip-centred, x image right, y down, z away from the
      camera (negative = toward it), optional 4th column visibility.
    image_landmarks: (33, 3) normalised x, y + visibility, or (33, 4) x, y, z, visibility.
    image_size: (width, height) in pixels.

    Mapping: pelvis = mid-hip, spine = midway pelvis-thorax, thorax = mid-shoulder, neck
    (H3.6M "neck/nose") = nose, head = head top estimated from ears/eyes/mouth, toes = foot
    index. Confidence = visibility (min over the landmarks a derived joint is built from).
    ``root`` is an *approximate* pelvis position in the level camera frame C (metres: +X
    image right, +Y up, +Z toward the camera), from the pelvis pixel and the subject's image
    scale with an assumed horizontal field of view ``hfov_deg``: good for sway and travel,
    not for absolute distance.
    """
    world = np.asarray(world_landmarks, dtype=np.float64)
    if world.ndim != 2 or world.shape[0] != N_MEDIAPIPE or world.shape[1] not in (3, 4):
        raise ValueError(f"world_landmarks must be (33, 3|4), got {world.shape}")
    xy, vis = _split_image_landmarks(image_landmarks)
    if vis is None:
        vis = world[:, 3] if world.shape[1] == 4 else np.ones(N_MEDIAPIPE)
    vis = np.clip(np.nan_to_num(vis), 0.0, 1.0)
    w, h = float(image_size[0]), float(image_size[1])
    px = xy * np.array([w, h])
    wc = to_level_camera(world[:, :3], "opencv")

    joints_c = np.empty((N_JOINTS, 3))
    kp = np.empty((N_JOINTS, 2))
    conf = np.empty(N_JOINTS)
    for cj, m in _MP_DIRECT.items():
        joints_c[cj], kp[cj], conf[cj] = wc[m], px[m], vis[m]

    def mid(a: int, b: int) -> tuple[np.ndarray, np.ndarray, float]:
        return 0.5 * (wc[a] + wc[b]), 0.5 * (px[a] + px[b]), float(min(vis[a], vis[b]))

    joints_c[J.PELVIS], kp[J.PELVIS], conf[J.PELVIS] = mid(MP.L_HIP, MP.R_HIP)
    joints_c[J.THORAX], kp[J.THORAX], conf[J.THORAX] = mid(MP.L_SHOULDER, MP.R_SHOULDER)
    joints_c[J.SPINE] = 0.5 * (joints_c[J.PELVIS] + joints_c[J.THORAX])
    kp[J.SPINE] = 0.5 * (kp[J.PELVIS] + kp[J.THORAX])
    conf[J.SPINE] = min(conf[J.PELVIS], conf[J.THORAX])

    mid_ears, mid_ears_px, _ = mid(MP.L_EAR, MP.R_EAR)
    head = _head_top(mid_ears, 0.5 * (wc[MP.L_EYE] + wc[MP.R_EYE]),
                     0.5 * (wc[MP.MOUTH_L] + wc[MP.MOUTH_R]), wc[MP.L_EAR], wc[MP.R_EAR],
                     joints_c[J.THORAX])
    joints_c[J.HEAD] = head
    conf[J.HEAD] = float(np.mean(vis[[MP.L_EAR, MP.R_EAR, MP.L_EYE, MP.R_EYE, MP.NOSE]]))

    scale = _pixels_per_metre(wc, px, vis)
    d = head - mid_ears
    if np.isfinite(scale):
        # world x/y are image-aligned: project the metric offset with the image scale
        kp[J.HEAD] = mid_ears_px + scale * np.array([d[0], -d[1]])
        f_px = 0.5 * w / np.tan(np.radians(hfov_deg) / 2.0)
        depth = f_px / scale
        cx, cy = kp[J.PELVIS]
        root_c = np.array([(cx - 0.5 * w) / scale, -(cy - 0.5 * h) / scale, -depth])
    else:
        kp[J.HEAD] = mid_ears_px
        root_c = np.full(3, np.nan)

    centred, _ = _canonicalise(joints_c, facing, conf)
    return PoseFrame(centred, conf, root_c, kp, bbox_from_keypoints(px, vis, image_size=(w, h)))


def bbox_from_keypoints(
    px: np.ndarray,
    conf: np.ndarray | None = None,
    *,
    min_conf: float = 0.5,
    pad: float = 0.08,
    image_size: tuple[int, int] | None = None,
) -> tuple[float, float, float, float] | None:
    """Padded (x0, y0, x1, y1) box around the confident keypoints (all if none is).

    With ``image_size`` the box is clipped to the image: keypoints guessed outside it (legs
    below the frame of a waist-up shot) would otherwise make the box grow and shrink.
    """
    px = np.asarray(px, dtype=np.float64)
    ok = np.all(np.isfinite(px), axis=1)
    if conf is not None and (ok & (conf >= min_conf)).sum() >= 2:
        ok &= conf >= min_conf
    if ok.sum() < 2:
        return None
    lo, hi = px[ok].min(axis=0), px[ok].max(axis=0)
    m = pad * (hi - lo).max()
    lo, hi = lo - m, hi + m
    if image_size is not None:
        lo = np.maximum(lo, 0.0)
        hi = np.minimum(hi, np.asarray(image_size, dtype=np.float64))
        if np.any(hi - lo < 1.0):
            return None
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


# ---------------------------------------------------------------------------------------
# Human3.6M-17 and COCO-17 arrays (MMPose and other sources)
# ---------------------------------------------------------------------------------------


def h36m_array_to_canonical(
    kpts: np.ndarray,
    axes: str | np.ndarray = "opencv",
    *,
    facing: Facing = "frame",
    units_per_metre: float = 1.0,
    scores: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Human3.6M-17 3D keypoints (17, 3) or (T, 17, 3) -> canonical joints and root.

    ``axes`` names the source convention (see ``AXES``; "opencv" = camera coordinates with
    y down and z away, as lifters trained on Human3.6M camera space output) or is a 3x3
    rotation whose rows are C's axes in source coordinates. ``units_per_metre`` = 1000 for
    millimetres. ``scores`` (..., 17), if given, let the heading fall back to the shoulders
    where the hips are unseen. Returns (joints (..., N_JOINTS, 3) pelvis-centred canonical
    with the toes NaN, root (..., 3) pelvis in the level camera frame C).
    """
    k = np.asarray(kpts, dtype=np.float64)
    if k.shape[-2:] != (N_H36M, 3) or k.ndim not in (2, 3):
        raise ValueError(f"kpts must be (17, 3) or (T, 17, 3), got {k.shape}")
    c = to_level_camera(k / units_per_metre, axes)
    full = np.full((*k.shape[:-2], N_JOINTS, 3), np.nan)
    full[..., :N_H36M, :] = c
    conf = None
    if scores is not None:
        conf = np.zeros((*k.shape[:-2], N_JOINTS))
        conf[..., :N_H36M] = np.asarray(scores, dtype=np.float64)
    return _canonicalise(full, facing, conf)


def coco17_to_canonical_2d(
    kpts: np.ndarray, scores: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """COCO-17 image keypoints (..., 17, 2|3) -> canonical-order 2D keypoints and scores.

    A third column, if present, is the score (else ``scores`` or 1). Pelvis = mid-hip,
    thorax = mid-shoulder, spine = midway, neck = nose, head = above the eye midpoint by the
    nose-to-eyes distance mirrored (a crude head top); toes are NaN with score 0.
    Returns (kp (..., N_JOINTS, 2) pixels, conf (..., N_JOINTS)).
    """
    k = np.asarray(kpts, dtype=np.float64)
    if k.shape[-2] != 17 or k.shape[-1] not in (2, 3):
        raise ValueError(f"kpts must be (..., 17, 2|3), got {k.shape}")
    if k.shape[-1] == 3:
        s = k[..., 2]
    elif scores is not None:
        s = np.asarray(scores, dtype=np.float64)
    else:
        s = np.ones(k.shape[:-1])
    xy = k[..., :2]
    out = np.full((*k.shape[:-2], N_JOINTS, 2), np.nan)
    conf = np.zeros((*k.shape[:-2], N_JOINTS))
    for cj, ci in _COCO_DIRECT.items():
        out[..., cj, :], conf[..., cj] = xy[..., ci, :], s[..., ci]

    def mid(a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
        i, j = COCO[a], COCO[b]
        return 0.5 * (xy[..., i, :] + xy[..., j, :]), np.minimum(s[..., i], s[..., j])

    out[..., J.PELVIS, :], conf[..., J.PELVIS] = mid("l_hip", "r_hip")
    out[..., J.THORAX, :], conf[..., J.THORAX] = mid("l_shoulder", "r_shoulder")
    out[..., J.SPINE, :] = 0.5 * (out[..., J.PELVIS, :] + out[..., J.THORAX, :])
    conf[..., J.SPINE] = np.minimum(conf[..., J.PELVIS], conf[..., J.THORAX])
    eyes, eyes_s = mid("l_eye", "r_eye")
    out[..., J.HEAD, :] = 2.0 * eyes - xy[..., COCO["nose"], :]
    conf[..., J.HEAD] = np.minimum(eyes_s, s[..., COCO["nose"]])
    return out, conf


def mediapipe_landmarks_array(landmarks: Sequence) -> np.ndarray:
    """A MediaPipe landmark list (objects with x, y, z, visibility) -> (33, 4) array."""
    return np.array([[p.x, p.y, p.z, p.visibility] for p in landmarks], dtype=np.float64)
