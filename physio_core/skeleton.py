"""The one canonical 3D skeleton used everywhere inside physio_core.

Layout: the Human3.6M 17-joint order that MMPose's 3D models output, plus the two toe
tips (needed for ankle angles), which sources without feet fill with NaN / confidence 0.

Axes (right-handed, metres): +Y up, +Z the direction the subject faces, +X the subject's
left. Joint positions are body-centred: the pelvis (joint 0) sits at the origin of every
frame; the pelvis' own position in the source's world frame is kept in ``root`` so that
sway and travel can still be measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum

import numpy as np


class J(IntEnum):
    PELVIS = 0
    R_HIP = 1
    R_KNEE = 2
    R_ANKLE = 3
    L_HIP = 4
    L_KNEE = 5
    L_ANKLE = 6
    SPINE = 7
    THORAX = 8
    NECK = 9  # H3.6M "neck/nose"
    HEAD = 10
    L_SHOULDER = 11
    L_ELBOW = 12
    L_WRIST = 13
    R_SHOULDER = 14
    R_ELBOW = 15
    R_WRIST = 16
    L_TOE = 17
    R_TOE = 18


N_JOINTS = len(J)
JOINT_NAMES: tuple[str, ...] = tuple(j.name.lower() for j in J)

# parent of each joint (-1 for the root); bones are (parent, child) pairs
PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15, 6, 3)
BONES: tuple[tuple[int, int], ...] = tuple((p, c) for c, p in enumerate(PARENTS) if p >= 0)

# left/right mirror of every joint (for flipping and asymmetry measures)
MIRROR: tuple[int, ...] = (0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 11, 12, 13, 18, 17)

UP = np.array([0.0, 1.0, 0.0])
FORWARD = np.array([0.0, 0.0, 1.0])
LEFT = np.array([1.0, 0.0, 0.0])


@dataclass
class PoseFrame:
    """One person in one frame, in the canonical skeleton.

    joints:      (N_JOINTS, 3) metres, pelvis at the origin, canonical axes.
    confidence:  (N_JOINTS,) in [0, 1]; 0 for joints the source does not provide.
    root:        (3,) pelvis position in the source's world/camera frame (metres), NaN if unknown.
    keypoints_2d:(N_JOINTS, 2) image pixel coordinates for drawing overlays, or None.
    bbox:        (x0, y0, x1, y1) in pixels of the person, or None.
    """

    joints: np.ndarray
    confidence: np.ndarray
    root: np.ndarray = field(default_factory=lambda: np.full(3, np.nan))
    keypoints_2d: np.ndarray | None = None
    bbox: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        self.joints = np.asarray(self.joints, dtype=np.float64).reshape(N_JOINTS, 3)
        self.confidence = np.asarray(self.confidence, dtype=np.float64).reshape(N_JOINTS)


def measured_fps(times) -> float | None:
    """Frames per second from frame times (seconds, increasing); None for fewer than two
    frames or no time between them."""
    if len(times) < 2 or not times[-1] > times[0]:
        return None
    return (len(times) - 1) / float(times[-1] - times[0])


@dataclass
class PoseSequence:
    """A time series of canonical poses of ONE person.

    joints (T, N_JOINTS, 3), confidence (T, N_JOINTS), root (T, 3), times (T,) seconds.
    Frames with no person have NaN joints and zero confidence; ``valid`` says which.
    """

    joints: np.ndarray
    confidence: np.ndarray
    times: np.ndarray
    fps: float
    root: np.ndarray | None = None
    keypoints_2d: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.joints = np.asarray(self.joints, dtype=np.float64)
        t = self.joints.shape[0]
        if self.joints.shape[1:] != (N_JOINTS, 3):
            raise ValueError(f"joints must be (T, {N_JOINTS}, 3), got {self.joints.shape}")
        self.confidence = np.asarray(self.confidence, dtype=np.float64).reshape(t, N_JOINTS)
        self.times = np.asarray(self.times, dtype=np.float64).reshape(t)
        if self.root is None:
            self.root = np.full((t, 3), np.nan)

    def __len__(self) -> int:
        return self.joints.shape[0]

    @property
    def valid(self) -> np.ndarray:
        """(T,) bool: frames where a person was found."""
        return np.isfinite(self.joints[:, J.PELVIS, 0]) & (self.confidence.max(axis=1) > 0)

    @classmethod
    def from_frames(
        cls, frames: list[PoseFrame | None], times: np.ndarray, fps: float
    ) -> "PoseSequence":
        t = len(frames)
        joints = np.full((t, N_JOINTS, 3), np.nan)
        conf = np.zeros((t, N_JOINTS))
        root = np.full((t, 3), np.nan)
        kp2d = np.full((t, N_JOINTS, 2), np.nan)
        for i, f in enumerate(frames):
            if f is None:
                continue
            joints[i], conf[i], root[i] = f.joints, f.confidence, f.root
            if f.keypoints_2d is not None:
                kp2d[i] = f.keypoints_2d
        return cls(joints, conf, np.asarray(times, float), float(fps), root, kp2d)

    def at_measured_rate(self) -> "PoseSequence":
        """The same frames, with ``fps`` measured from their times. A live session's stored
        chunks carry a nominal rate, while the frames came as fast as the server processed them;
        their times are the real ones."""
        fps = measured_fps(self.times)
        return self if fps is None else replace(self, fps=fps)

    def slice(self, start: int, stop: int) -> "PoseSequence":
        kp = None if self.keypoints_2d is None else self.keypoints_2d[start:stop]
        return PoseSequence(
            self.joints[start:stop],
            self.confidence[start:stop],
            self.times[start:stop],
            self.fps,
            self.root[start:stop],
            kp,
        )


def center_on_pelvis(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split world joints (..., N_JOINTS, 3) into pelvis-centred joints and the pelvis position."""
    root = joints[..., J.PELVIS, :].copy()
    return joints - root[..., None, :], root


def farthest_frame(athlete: np.ndarray, corrected: np.ndarray) -> int:
    """The frame of (n, N_JOINTS, 3) athlete poses farthest from the corrected ones (the mean
    over the joints seen in both); the middle one when no frame can be compared."""
    off = np.linalg.norm(athlete - corrected, axis=-1)
    seen = np.isfinite(off)
    count = seen.sum(axis=1)
    # by hand, not nanmean: a frame with no joint in both warned "Mean of empty slice" on stderr
    mean = np.where(count > 0, np.where(seen, off, 0.0).sum(axis=1) / np.maximum(count, 1), np.nan)
    return int(np.nanargmax(mean)) if count.any() else len(off) // 2
