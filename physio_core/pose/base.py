"""The small interface every pose backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from physio_core.skeleton import PoseFrame


class PoseBackendUnavailable(RuntimeError):
    """The configured backend cannot run here (package missing, no weights...).

    The message is meant for the user as it is: say what is missing and how to install it.
    """


@runtime_checkable
class PoseEstimator(Protocol):
    """Frame in, canonical 3D poses of the people in it out.

    ``detect`` returns every person found (possibly empty), each as a PoseFrame whose
    ``keypoints_2d`` and ``bbox`` are filled, so that a tracker can pick the same person
    from frame to frame. Backends that see only one person return at most one.
    """

    name: str

    def detect(self, frame_rgb: np.ndarray, timestamp_s: float) -> list[PoseFrame]: ...

    def close(self) -> None: ...


def as_rgb_uint8(frame_rgb: np.ndarray) -> np.ndarray:
    """A backend's input check: an (H, W, 3) RGB frame as uint8 (other dtypes are clipped)."""
    frame = np.asarray(frame_rgb)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an RGB frame (H, W, 3), got shape {frame.shape}")
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    return frame
