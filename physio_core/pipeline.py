"""The one orchestration of a recording: frames -> one person's poses -> angles -> reps.

``FrameAnalyzer`` is the per-frame step (pose estimation + following one person) that both the
upload path (``analyze_video``) and the live page use; ``finish_sequence`` turns the collected
poses into a ``SessionResult`` (filtering, angles, reps) for both as well.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from physio_core.config import Settings, get_settings
from physio_core.pose.base import PoseEstimator
from physio_core.results import Rep, SessionResult
from physio_core.skeleton import PoseFrame, PoseSequence

# pose models see a ~256 px crop: a larger input only costs decoding and conversion time
DEFAULT_MAX_SIDE = 640
# below this share of frames with the person, the result is flagged as unreliable
LOW_COVERAGE = 0.5


class NoPersonFound(ValueError):
    """Nobody was detected in the whole recording; the message is meant for the user."""


@dataclass
class FrameResult:
    """What one frame gave: the followed person (or None) and who else was in view."""

    index: int
    time_s: float
    pose: PoseFrame | None
    people_in_view: int
    status: str  # the tracker's: waiting | initialising | tracking | lost
    others: list[PoseFrame] = field(default_factory=list)  # candidates not followed
    angles: np.ndarray | None = None  # (23,) raw angles of ``pose`` when asked for

    @property
    def other_people(self) -> int:
        """People in view besides the followed one."""
        return max(0, self.people_in_view - (1 if self.pose is not None else 0))


class FrameAnalyzer:
    """Pose estimation plus person tracking for a stream of frames of ONE recording.

    Not thread-safe (pose backends are not): one analyzer per video / live stream. ``reset()``
    before reusing it on another recording.
    """

    def __init__(
        self,
        estimator: PoseEstimator | None = None,
        *,
        settings: Settings | None = None,
        tracker=None,
        with_angles: bool = False,
    ) -> None:
        from physio_core.pose.tracking import PersonTracker

        if estimator is None:
            from physio_core.pose.factory import get_estimator

            estimator = get_estimator(settings)
            self._owns_estimator = True
        else:
            self._owns_estimator = False
        self.estimator = estimator
        self.tracker = tracker if tracker is not None else PersonTracker()
        self.with_angles = with_angles
        self._count = 0

    @property
    def backend(self) -> str:
        return getattr(self.estimator, "name", type(self.estimator).__name__)

    def process(self, frame_rgb: np.ndarray, time_s: float, index: int | None = None) -> FrameResult:
        candidates = self.estimator.detect(frame_rgb, time_s)
        upd = self.tracker.update(candidates, frame_rgb)
        chosen = upd.candidate_index
        others = [c for i, c in enumerate(candidates) if i != chosen]
        angles = None
        if self.with_angles and upd.pose is not None:
            from physio_core.kinematics import compute_angles_frame

            angles = compute_angles_frame(upd.pose.joints, upd.pose.confidence)
        idx = self._count if index is None else index
        self._count += 1
        return FrameResult(idx, float(time_s), upd.pose, upd.people_in_view, upd.status, others, angles)

    def reset(self) -> None:
        self.tracker.reset()
        reset = getattr(self.estimator, "reset", None)
        if callable(reset):
            reset()
        self._count = 0

    def close(self) -> None:
        if self._owns_estimator:
            self.estimator.close()

    def __enter__(self) -> "FrameAnalyzer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------ sequence -> result


def smooth_sequence(seq: PoseSequence, cutoff_hz: float | None = None) -> PoseSequence:
    """Zero-lag Butterworth low-pass of the 3D joints and the root (physio_core.filters).

    Joints with confidence 0 stay unknown; gaps up to the filters' ``max_gap_s`` are bridged,
    longer ones keep their NaN. The 2D keypoints stay raw: they must match the video frames.
    """
    from physio_core.filters import DEFAULT_CUTOFF_HZ, butter_lowpass

    cutoff = min(cutoff_hz or DEFAULT_CUTOFF_HZ, 0.4 * seq.fps)
    joints = np.where(seq.confidence[..., None] > 0, seq.joints, np.nan)
    smooth = butter_lowpass(joints, seq.fps, cutoff)
    # bridged gaps (frames without a person) are not re-invented: keep them empty
    smooth[~seq.valid] = np.nan
    root = seq.root
    if root is not None and np.isfinite(root).any():
        root = butter_lowpass(root, seq.fps, cutoff)
        root[~seq.valid] = np.nan
    return PoseSequence(smooth, seq.confidence.copy(), seq.times.copy(), seq.fps, root,
                        None if seq.keypoints_2d is None else seq.keypoints_2d.copy())


def time_spans(times: np.ndarray, mask: np.ndarray, *, min_len: int = 3, join_gap_s: float = 0.5
               ) -> list[tuple[float, float]]:
    """[(start_s, end_s)] of the runs where ``mask`` holds (short gaps joined, blips dropped)."""
    spans: list[list[float]] = []
    start = None
    for i, m in enumerate(mask):
        if m and start is None:
            start = i
        if (not m or i == len(mask) - 1) and start is not None:
            end = i if m else i - 1
            if end - start + 1 >= min_len:
                if spans and times[start] - spans[-1][1] <= join_gap_s:
                    spans[-1][1] = float(times[end])
                else:
                    spans.append([float(times[start]), float(times[end])])
            start = None
    return [(a, b) for a, b in spans]


def _fmt_spans(spans: list[tuple[float, float]]) -> str:
    return ", ".join(f"{a:.1f}–{b:.1f} s" for a, b in spans[:5]) + (" …" if len(spans) > 5 else "")


def finish_sequence(
    seq: PoseSequence,
    *,
    backend: str,
    exercise: str = "auto",
    source: str = "",
    started_at: datetime | None = None,
    warnings: list[str] | None = None,
    smooth: bool = True,
) -> SessionResult:
    """Filter a raw pose sequence, compute the 23 angles and count reps -> SessionResult."""
    from physio_core.kinematics import compute_angles
    from physio_core.reps import choose_principal_angle, count_reps

    valid = seq.valid
    n_person = int(valid.sum())
    warnings = list(warnings or [])
    filtered = smooth_sequence(seq) if smooth and n_person >= 2 else seq
    angles = compute_angles(filtered)
    reps: list[Rep] = []
    if n_person >= 2:
        ex = None if exercise in ("", "auto", None) else exercise
        try:
            principal = choose_principal_angle(angles, exercise=ex)
        except ValueError:  # the exercise's angles were never measured
            warnings.append(f"The angles of '{exercise}' could not be measured: no reps counted.")
        else:
            reps = list(count_reps(angles, angle=principal, fps=seq.fps, exercise=ex))
    started = started_at or datetime.now(UTC)
    duration = float(seq.times[-1] - seq.times[0]) + 1.0 / seq.fps if len(seq) else 0.0
    return SessionResult(
        pose=filtered,
        angles=angles,
        reps=reps,
        fps=float(seq.fps),
        frames=len(seq),
        frames_with_person=n_person,
        backend=backend,
        exercise=exercise or "auto",
        source=source,
        started_at=started,
        ended_at=started + timedelta(seconds=duration),
        warnings=warnings,
    )


# ------------------------------------------------------------------ recorded video


def analyze_video(
    path: str | os.PathLike,
    *,
    estimator: PoseEstimator | None = None,
    exercise: str = "auto",
    progress: Callable[[float], None] | None = None,
    settings: Settings | None = None,
    max_side: int | None = DEFAULT_MAX_SIDE,
    step: int = 1,
    source: str | None = None,
) -> SessionResult:
    """Analyse a recorded video of one person exercising.

    Raises FileNotFoundError, physio_core.video.VideoError subclasses (not a video, damaged,
    too large, too long), PoseBackendUnavailable and NoPersonFound, each with a message meant
    for the user. ``progress(done_fraction)`` is called about a hundred times.
    """
    from physio_core.video import VideoReader

    settings = settings or get_settings()
    path = Path(path)
    reader = VideoReader(path, max_side=max_side, step=step, settings=settings)
    expected = max(1, reader.expected_frames)
    fps = reader.info.fps / step

    analyzer = FrameAnalyzer(estimator, settings=settings)
    if estimator is not None:
        analyzer.reset()  # a caller's estimator may carry state from another video
    poses: list[PoseFrame | None] = []
    times: list[float] = []
    people = []
    others = []
    last_report = -1
    try:
        for frame in reader:
            fr = analyzer.process(frame.rgb, frame.time_s, frame.index)
            poses.append(fr.pose)
            times.append(frame.time_s)
            people.append(fr.people_in_view)
            others.append(fr.other_people)
            if progress is not None:
                pct = min(99, int(100 * len(poses) / expected))
                if pct > last_report:
                    last_report = pct
                    progress(pct / 100)
    finally:
        analyzer.close()

    seq = PoseSequence.from_frames(poses, np.asarray(times), fps)
    n_person = int(seq.valid.sum())
    if n_person == 0:
        raise NoPersonFound(
            f"No person was found in '{path.name}' ({len(poses)} frames). Film the whole body, "
            "well lit, with the person at least a third of the picture's height."
        )

    warnings: list[str] = []
    t = seq.times
    several = np.asarray(people) >= 2
    if several.any():
        warnings.append(
            f"Several people in view at {_fmt_spans(time_spans(t, several, min_len=1))}: "
            "the analysis follows the person chosen at the start."
        )
    # a single-person backend never shows two people at once: a detection the tracker refused
    # (someone else) while the followed person is out of sight is reported the same way
    elsewhere = time_spans(t, (np.asarray(others) >= 1) & ~several, min_len=max(2, round(fps / 10)))
    if elsewhere:
        warnings.append(
            f"Another person was detected at {_fmt_spans(elsewhere)} and ignored "
            "(the followed person was out of view or hidden)."
        )
    coverage = n_person / len(seq)
    if coverage < LOW_COVERAGE:
        warnings.append(
            f"The person was found in only {coverage:.0%} of the frames: angles and reps may be "
            "incomplete."
        )
    if reader.damaged or len(poses) < 0.9 * reader.expected_frames:
        warnings.append(
            f"Only {len(poses)} of the {reader.expected_frames} frames announced by the file "
            "could be read (damaged or cut file): the end is missing."
        )

    result = finish_sequence(
        seq,
        backend=analyzer.backend,
        exercise=exercise,
        source=source if source is not None else path.name,
        warnings=warnings,
    )
    if progress is not None:
        progress(1.0)
    return result
