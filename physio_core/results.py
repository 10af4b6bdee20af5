"""Typed results shared by the pipeline, storage, reports and pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np

from physio_core.skeleton import PoseSequence


EARLIEST_FILMED = datetime(2000, 1, 1, tzinfo=UTC)  # before it: a camera whose clock was never set


def plausible_filming_time(t: datetime, now: datetime | None = None) -> bool:
    """Whether a session can have been filmed at ``t`` (aware): from 2000 on, and not later
    than a day from ``now`` (a day covers any clock's time zone)."""
    return EARLIEST_FILMED <= t <= (now or datetime.now(UTC)) + timedelta(days=1)


def on_clock(when: datetime, tz: tzinfo) -> datetime:
    """A stored time (UTC; a naive one is UTC too) as a clock in ``tz`` shows it."""
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(tz)


def recording_duration_s(times, fps: float | None = None) -> float | None:
    """How long frames taken at ``times`` (seconds, increasing) last: from the first to the last
    and one frame's interval more: the median step between them, the usual one whatever frames
    were dropped. The times are the real ones where ``fps`` may not be: a live session's stored
    chunks carry the nominal rate. ``fps`` gives a lone frame's interval; None when neither says."""
    t = np.asarray(times, dtype=float)
    steps = np.diff(t)
    steps = steps[steps > 0]
    if steps.size:
        return float(t[-1] - t[0] + np.median(steps))
    return 1.0 / fps if len(t) == 1 and fps else None


@dataclass
class AngleSeries:
    """Joint angles over time: values (T, A) in degrees, one column per name (NaN if unknown)."""

    names: tuple[str, ...]
    values: np.ndarray
    times: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]

    def to_dict(self) -> dict[str, np.ndarray]:
        return {n: self.values[:, i] for i, n in enumerate(self.names)}


@dataclass
class Rep:
    """One repetition found on a principal angle."""

    index: int  # 1-based
    start_frame: int
    end_frame: int  # inclusive
    start_s: float
    end_s: float
    angle: str  # the angle its ROM is read on (and that the principal-angle counter counted on)
    rom_deg: float  # range of motion of that angle within the rep
    min_deg: float
    max_deg: float
    peak_s: float | None = None  # time of the turning point (deepest / highest)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "start_s": round(self.start_s, 4),
            "end_s": round(self.end_s, 4),
            "duration_s": round(self.duration_s, 4),
            "peak_s": None if self.peak_s is None else round(self.peak_s, 4),
            "angle": self.angle,
            "rom_deg": round(self.rom_deg, 3),
            "min_deg": round(self.min_deg, 3),
            "max_deg": round(self.max_deg, 3),
        }


@dataclass
class SessionResult:
    """Everything one analysed recording (upload or live) produced."""

    pose: PoseSequence
    angles: AngleSeries
    reps: list[Rep]
    fps: float
    frames: int
    frames_with_person: int
    backend: str
    exercise: str = "auto"
    source: str = ""  # file name or "live"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    # later models fill these: stability_score, balance_score, injury_risk, ...
    metrics: dict[str, float] = field(default_factory=dict)
    feedback: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # about the recording: "two people in view at 3.2 s"
    # the scoring's own ("Most reps look like…"): made again with the reps when a session is scored again
    analysis_warnings: list[str] = field(default_factory=list)
    # the learned models' assessment (physio_core.assess), empty when the models are missing:
    exercise_label: str | None = None  # recognised exercise ("deep_squat", ..., "other")
    exercise_timeline: list[dict] = field(default_factory=list)  # [{start_s, end_s, exercise, confidence}]
    # one dict per assessed rep: rep (its index), exercise, stability_score, balance_score,
    # injury_risk, reason, mistake ("correct" | "incorrect"), mistake_confidence
    rep_assessments: list[dict] = field(default_factory=list)
    corrected_poses: dict[int, PoseSequence] = field(default_factory=dict)  # rep index -> pose
    # which weights made that assessment (ml.weights.weights_fingerprint); None when none did or
    # for a session assessed before it was stored
    models: str | None = None

    @property
    def all_warnings(self) -> list[str]:
        """What the report shows: the recording's warnings, then the scoring's."""
        return [*self.warnings, *self.analysis_warnings]

    @property
    def duration_s(self) -> float | None:
        """How long the recording lasts (the Duration a page, report or summary shows), from its
        frames' times (``recording_duration_s``); ``frames / fps`` for a result without them.
        None when neither says."""
        if len(self.pose) and (d := recording_duration_s(self.pose.times, self.fps)) is not None:
            return d
        return self.frames / self.fps if self.fps else None

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    @property
    def session_exercise(self) -> str:
        """The exercise a stored session is filed under (sessions list, progress): the one named,
        else the movement the models recognised, else "auto"."""
        if self.exercise and self.exercise != "auto":
            return self.exercise
        if self.exercise_label and self.exercise_label != "other":
            return self.exercise_label
        return "auto"
