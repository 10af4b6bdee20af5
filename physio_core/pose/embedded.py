"""The embedded pose backend: MediaPipe Pose (BlazePose GHUM), CPU, no set-up.

Only ``model_complexity=1`` ships inside the mediapipe 0.10.21 wheel (0 and 2 would be
downloaded at run time), so that is the one used. MediaPipe's legacy solutions are NOT
thread-safe: use one ``EmbeddedPoseEstimator`` per thread / per video stream, and
``reset()`` it between videos so its temporal smoothing does not carry over.
"""

from __future__ import annotations

import sys
from typing import Literal

import numpy as np

from physio_core.pose.base import PoseBackendUnavailable, as_rgb_uint8
from physio_core.pose.converters import mediapipe_landmarks_array, mediapipe_to_canonical
from physio_core.skeleton import PoseFrame

_US_PER_FRAME_30FPS = 33_333


class EmbeddedPoseEstimator:
    """MediaPipe Pose behind the ``PoseEstimator`` protocol: 0 or 1 person per frame."""

    name = "mediapipe"

    def __init__(
        self,
        *,
        static_image_mode: bool = False,
        smooth_landmarks: bool = True,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        facing: Literal["frame", "camera"] = "frame",
    ) -> None:
        try:
            from mediapipe.python.solutions import pose as mp_pose
        except ImportError as exc:  # pragma: no cover - mediapipe is a runtime requirement
            raise PoseBackendUnavailable(
                f"the embedded pose backend needs mediapipe ({exc}); "
                "install it with: pip install mediapipe==0.10.21"
            ) from exc
        self._mp_pose = mp_pose
        self._options = dict(
            static_image_mode=static_image_mode,
            model_complexity=1,
            smooth_landmarks=smooth_landmarks,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self.facing = facing
        self._pose = mp_pose.Pose(**self._options)
        self._last_us: int | None = None

    def detect(self, frame_rgb: np.ndarray, timestamp_s: float | None = None) -> list[PoseFrame]:
        """One RGB uint8 frame (H, W, 3) -> [] or [the person MediaPipe found]."""
        if self._pose is None:
            raise RuntimeError("EmbeddedPoseEstimator is closed")
        frame = as_rgb_uint8(frame_rgb)
        self._set_timestamp(timestamp_s)
        result = self._pose.process(np.ascontiguousarray(frame))
        if result.pose_landmarks is None or result.pose_world_landmarks is None:
            return []
        image_lm = mediapipe_landmarks_array(result.pose_landmarks.landmark)
        world_lm = mediapipe_landmarks_array(result.pose_world_landmarks.landmark)
        h, w = frame.shape[:2]
        return [mediapipe_to_canonical(world_lm, image_lm, (w, h), facing=self.facing)]

    def _set_timestamp(self, timestamp_s: float | None) -> None:
        # The legacy API stamps every frame +33.333 ms (it assumes 30 fps) and its landmark
        # smoothing filters work in that time. Feeding the real capture time instead keeps the
        # smoothing right for 60 fps clips and live streams that drop frames. The graph needs
        # strictly increasing stamps, so fall back to +1 frame when the given time is not.
        if not hasattr(self._pose, "_simulated_timestamp"):
            return
        if timestamp_s is not None and np.isfinite(timestamp_s):
            us = int(round(timestamp_s * 1e6))
            if self._last_us is None or us > self._last_us:
                self._pose._simulated_timestamp = us - _US_PER_FRAME_30FPS
                self._last_us = us
                return
        current = self._pose._simulated_timestamp
        self._last_us = current + _US_PER_FRAME_30FPS

    def reset(self) -> None:
        """Forget the tracked person and the smoothing state (call between videos)."""
        if self._pose is None:
            raise RuntimeError("EmbeddedPoseEstimator is closed")
        self._pose.close()
        self._pose = self._mp_pose.Pose(**self._options)
        self._last_us = None

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def __enter__(self) -> "EmbeddedPoseEstimator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # the graph holds native threads; free them if forgotten
        # closing the graph during interpreter shutdown can hang in mediapipe: let the OS do it
        if sys.is_finalizing():
            return
        try:
            self.close()
        except Exception:
            pass
