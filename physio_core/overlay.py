"""Draw the canonical skeleton on a video frame (upload scrubber and live page).

Everything is drawn with OpenCV straight into an RGB uint8 array: bones coloured by side
(subject's left blue, right orange, trunk white), joints as dots, a few angle labels next to
their joints, and a rep counter / status line in the top-left corner. Under 2 ms at 640x480.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from physio_core.skeleton import BONES, JOINT_NAMES, N_JOINTS, J, PoseFrame

# RGB colours (frames are RGB, not OpenCV's BGR)
LEFT_RGB = (66, 135, 245)
RIGHT_RGB = (255, 140, 0)
MID_RGB = (240, 240, 240)
OTHER_RGB = (150, 150, 150)
TEXT_RGB = (255, 255, 255)

_LEFT = {J.L_HIP, J.L_KNEE, J.L_ANKLE, J.L_TOE, J.L_SHOULDER, J.L_ELBOW, J.L_WRIST}
_RIGHT = {J.R_HIP, J.R_KNEE, J.R_ANKLE, J.R_TOE, J.R_SHOULDER, J.R_ELBOW, J.R_WRIST}

# which angle is written next to which joint
ANGLE_LABELS: dict[str, J] = {
    "knee_angle_r": J.R_KNEE,
    "knee_angle_l": J.L_KNEE,
    "hip_flexion_r": J.R_HIP,
    "hip_flexion_l": J.L_HIP,
    "elbow_flexion_r": J.R_ELBOW,
    "elbow_flexion_l": J.L_ELBOW,
    "shoulder_abduction_r": J.R_SHOULDER,
    "shoulder_abduction_l": J.L_SHOULDER,
    "lumbar_flexion": J.SPINE,
}


def _side_colour(joint: int) -> tuple[int, int, int]:
    if joint in _LEFT:
        return LEFT_RGB
    if joint in _RIGHT:
        return RIGHT_RGB
    return MID_RGB


def _bone_colour(parent: int, child: int) -> tuple[int, int, int]:
    return _side_colour(child) if child in _LEFT or child in _RIGHT else MID_RGB


def _scale(frame: np.ndarray) -> float:
    return max(0.5, min(frame.shape[0], frame.shape[1]) / 480)


def draw_skeleton(
    frame: np.ndarray,
    keypoints_2d: np.ndarray,
    confidence: np.ndarray | None = None,
    *,
    min_conf: float = 0.3,
    colour: tuple[int, int, int] | None = None,
    thickness: int | None = None,
    kp_scale: float = 1.0,
) -> np.ndarray:
    """Draw bones and joints in place on ``frame`` (H, W, 3 uint8 RGB) and return it.

    keypoints_2d: (N_JOINTS, 2) pixels (NaN = not seen); kp_scale maps them to this frame
    (e.g. 0.5 when the keypoints were found on a frame twice as large).
    """
    kp = np.asarray(keypoints_2d, dtype=np.float64).reshape(N_JOINTS, 2) * kp_scale
    ok = np.isfinite(kp).all(axis=1)
    if confidence is not None:
        ok &= np.asarray(confidence).reshape(N_JOINTS) >= min_conf
    s = _scale(frame)
    th = thickness or max(2, int(round(3 * s)))
    # joints not seen (NaN: MMPose's toes on every frame) become 0 before the cast; never drawn
    pts = np.round(np.where(ok[:, None], kp, 0.0)).astype(np.int32) if ok.any() else None
    if pts is None:
        return frame
    for p, c in BONES:
        if ok[p] and ok[c]:
            cv2.line(frame, tuple(int(v) for v in pts[p]), tuple(int(v) for v in pts[c]),
                     colour or _bone_colour(p, c), th, cv2.LINE_AA)
    r = max(3, int(round(4 * s)))
    for j in np.flatnonzero(ok):
        cv2.circle(frame, (int(pts[j, 0]), int(pts[j, 1])), r, colour or _side_colour(j), -1,
                   cv2.LINE_AA)
    return frame


def _text(frame: np.ndarray, text: str, org: tuple[int, int], scale: float, colour=TEXT_RGB) -> None:
    th = max(1, int(round(scale * 2)))
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), th + 2, cv2.LINE_AA)
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, th, cv2.LINE_AA)


def draw_angle_labels(
    frame: np.ndarray,
    keypoints_2d: np.ndarray,
    angles: Mapping[str, float],
    *,
    names: Sequence[str] | None = None,
    confidence: np.ndarray | None = None,
    min_conf: float = 0.3,
    kp_scale: float = 1.0,
) -> np.ndarray:
    """Write '123°'-style labels next to the joints of ``names`` (default ANGLE_LABELS)."""
    kp = np.asarray(keypoints_2d, dtype=np.float64).reshape(N_JOINTS, 2) * kp_scale
    s = _scale(frame)
    fs = 0.45 * s
    for name in names if names is not None else ANGLE_LABELS:
        joint = ANGLE_LABELS.get(name)
        value = angles.get(name)
        if joint is None or value is None or not np.isfinite(value):
            continue
        if not np.isfinite(kp[joint]).all():
            continue
        if confidence is not None and confidence[joint] < min_conf:
            continue
        # labels on the subject's right go to the image's left of the joint, and vice versa
        dx = int((-58 if joint in _RIGHT else 10) * s)
        x, y = int(kp[joint, 0]) + dx, int(kp[joint, 1]) - int(6 * s)
        _text(frame, f"{value:.0f}", (x, y), fs, _side_colour(joint))
    return frame


HUD_CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


def hud_size(frame_shape: tuple[int, ...], lines: Sequence[str]) -> tuple[int, int]:
    """(width, height) in pixels of the band ``draw_hud`` draws for ``lines``."""
    s = max(0.5, min(frame_shape[0], frame_shape[1]) / 480)
    fs = 0.55 * s
    width = int(max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, fs, 2)[0][0] for t in lines) + 20 * s)
    return width, int(24 * s) * len(lines) + int(10 * s)


def _hud_origin(corner: str, frame_shape: tuple[int, ...], size: tuple[int, int]) -> tuple[int, int]:
    """(x0, y0) of a band of ``size`` (width, height) in ``corner`` of the frame."""
    height, width = frame_shape[:2]
    return (0 if corner.endswith("left") else width - size[0],
            0 if corner.startswith("top") else height - size[1])


def draw_hud(frame: np.ndarray, lines: Sequence[str], corner: str = "top-left") -> np.ndarray:
    """Status lines (rep counter, time, warnings) on a dark band in a corner of the frame."""
    if not lines:
        return frame
    if corner not in HUD_CORNERS:
        raise ValueError(f"corner must be one of {HUD_CORNERS}, got {corner!r}")
    s = _scale(frame)
    fs = 0.55 * s
    line_h = int(24 * s)
    h, w = frame.shape[:2]
    width, height = hud_size(frame.shape, lines)
    width, height = min(w, width), min(h, height)
    x0, y0 = _hud_origin(corner, frame.shape, (width, height))
    band = frame[y0 : y0 + height, x0 : x0 + width]
    band[:] = (band.astype(np.uint16) * 2 // 5).astype(np.uint8)  # darken to 40 %
    for k, t in enumerate(lines):
        _text(frame, t, (x0 + int(10 * s), y0 + line_h * (k + 1)), fs)
    return frame


def hud_covered(keypoints_2d: np.ndarray | None, frame_shape: tuple[int, ...],
                lines: Sequence[str]) -> np.ndarray:
    """(4,) how many of the keypoints the band of ``lines`` would cover in each of HUD_CORNERS."""
    out = np.zeros(len(HUD_CORNERS))
    if keypoints_2d is None or not lines:
        return out
    w, h = hud_size(frame_shape, lines)
    kp = np.asarray(keypoints_2d, dtype=np.float64).reshape(-1, 2)
    for k, corner in enumerate(HUD_CORNERS):
        x0, y0 = _hud_origin(corner, frame_shape, (w, h))
        out[k] = ((kp[:, 0] >= x0) & (kp[:, 0] < x0 + w) & (kp[:, 1] >= y0) & (kp[:, 1] < y0 + h)).sum()
    return out


class HudPlacer:
    """The corner of a live stream's lines: away from the athlete, without hopping about.

    Each frame, the keypoints the band would cover in each corner go into a moving average over
    about ``window_s``. The lines leave their corner when it has covered at least
    ``min_covered`` keypoints on average and another corner covers fewer by that much; they
    stay at least ``dwell_s`` in a corner. They start top-left."""

    def __init__(self, window_s: float = 1.0, dwell_s: float = 3.0, min_covered: float = 1.0):
        self.window_s, self.dwell_s, self.min_covered = window_s, dwell_s, min_covered
        self.corner = HUD_CORNERS[0]
        self._cover = np.zeros(len(HUD_CORNERS))
        self._t: float | None = None
        self._moved_at = -math.inf

    def update(self, keypoints_2d: np.ndarray | None, frame_shape: tuple[int, ...],
               lines: Sequence[str], t: float) -> str:
        """The corner for this frame (``keypoints_2d``: the athlete's, None without one)."""
        alpha = 1.0 if self._t is None else 1.0 - math.exp(-max(0.0, t - self._t) / self.window_s)
        self._t = t
        self._cover += alpha * (hud_covered(keypoints_2d, frame_shape, lines) - self._cover)
        here = self._cover[HUD_CORNERS.index(self.corner)]
        best = int(np.argmin(self._cover))
        if (here >= self.min_covered and self._cover[best] <= here - self.min_covered
                and t - self._moved_at >= self.dwell_s):
            self.corner, self._moved_at = HUD_CORNERS[best], t
        return self.corner


def draw_pose(
    frame_rgb: np.ndarray,
    pose: PoseFrame | None,
    *,
    angles: Mapping[str, float] | np.ndarray | None = None,
    rep_count: int | None = None,
    status: Sequence[str] = (),
    others: Sequence[PoseFrame] = (),
    kp_scale: float = 1.0,
    copy: bool = True,
    corner: str = "top-left",
) -> np.ndarray:
    """The full overlay of one frame: other people in grey, the followed person, labels, HUD.

    angles: name -> degrees, or the (23,) row of ``kinematics.ANGLE_NAMES`` values.
    """
    out = frame_rgb.copy() if copy else frame_rgb
    for other in others:
        if other.keypoints_2d is not None:
            draw_skeleton(out, other.keypoints_2d, other.confidence, colour=OTHER_RGB,
                          thickness=2, kp_scale=kp_scale)
    if pose is not None and pose.keypoints_2d is not None:
        draw_skeleton(out, pose.keypoints_2d, pose.confidence, kp_scale=kp_scale)
        if angles is not None:
            if not isinstance(angles, Mapping):
                from physio_core.kinematics import ANGLE_NAMES

                angles = dict(zip(ANGLE_NAMES, np.asarray(angles, dtype=float)))
            draw_angle_labels(out, pose.keypoints_2d, angles, confidence=pose.confidence,
                              kp_scale=kp_scale)
    draw_hud(out, hud_text(rep_count, status), corner)
    return out


def hud_text(rep_count: int | None, status: Sequence[str] = ()) -> list[str]:
    """The lines ``draw_pose`` writes in its corner."""
    return ([f"Reps: {rep_count}"] if rep_count is not None else []) + list(status)


def pose_at(seq, i: int) -> PoseFrame | None:
    """The PoseFrame of frame ``i`` of a PoseSequence (None where nobody was found)."""
    if not seq.valid[i]:
        return None
    kp = None if seq.keypoints_2d is None else seq.keypoints_2d[i]
    return PoseFrame(seq.joints[i], seq.confidence[i], seq.root[i], kp)


__all__ = [
    "ANGLE_LABELS", "HUD_CORNERS", "JOINT_NAMES", "HudPlacer", "draw_angle_labels", "draw_hud",
    "draw_pose", "draw_skeleton", "hud_covered", "hud_size", "hud_text", "pose_at",
]
