"""Live webcam analysis: the per-frame work behind the live page, off the WebRTC event loop.

``LiveSession`` is fed by streamlit-webrtc's ``video_frame_callback`` (``session.video_frame_callback``).
The callback does no pose work: ``submit`` puts the frame in a ONE-slot mailbox and returns the
newest annotated frame at once. A single worker thread owned by the session takes the newest
frame, runs pose -> tracking -> One-Euro filter -> 23 angles -> streaming rep counter -> overlay,
and publishes the annotated frame. When pose is slower than the camera, a frame still waiting in
the mailbox is replaced by the newer one and counted as dropped: nothing queues up, so the
latency stays one processing time however long the session runs.

Each rep the counter completes is assessed by the learned models (``assess.assess_one_rep``:
mistake label, stability, injury risk with its reason, corrected pose) on a second thread of the
session, so the frame path only notices that a rep ended; ``snapshot().last_rep`` carries the
newest verdict. The same thread also recognises the exercise in the last ``recognise_window_s``
every ``recognise_every_s`` (``assess.recognise_window``, the upload timeline's reading of a
window); ``snapshot().recognised`` carries the newest. On "auto" it tells the counter which angles
to follow; with the exercise named, ``snapshot().looks_like`` says when the readings keep naming
another movement (the wrong exercise picked: its reps are looked for on the wrong angles). At
stop the whole set is assessed again as an upload is (``add_assessment``): the stored report is
that one.

All per-frame state lives here behind one lock; the page only reads ``snapshot()`` (immutable).
The worker starts with the first frame and ends by itself after ``idle_timeout_s`` without
frames (the browser stopped, the user went to another page), so leaving the page leaks nothing;
a later frame starts a new worker and the same session goes on.

Storage goes through one ``store.live.LiveSessionWriter``: ``start()`` opens an active session
row, the worker queues the pose and angle series every ``flush_every_s`` and a storage thread of
the session writes them (so a crash loses at most that, and the frame path never waits for the
database), and ``stop()`` closes the row with the final ``SessionResult``. With
``LiveConfig.viewer_id`` (the logged-in user) every write is role-checked. While the database is
away everything waits in memory and is written, in order, by a later flush or ``retry_save()``.
Raw video is written (H.264, ``data_dir/videos``) only with ``record_video=True``.

Debug stats for tests: with ``PHYSIO_LIVE_STATS_FILE=/path/stats.json`` the session rewrites that
file (atomically, about twice a second and at stop) with ``LiveSnapshot.stats()`` plus the stored
session id after stop; the browser test reads it to see what the server processed.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from physio_core import recordings
from physio_core.assess import Recognition
from physio_core.config import Settings, get_settings
from physio_core.kinematics import ANGLE_NAMES, compute_angles_frame
from physio_core.results import AngleSeries, Rep, SessionResult, recording_duration_s
from physio_core.skeleton import N_JOINTS, J, PoseFrame, PoseSequence, measured_fps

if TYPE_CHECKING:
    import av
    from sqlalchemy.engine import Engine

    from physio_core.pipeline import FrameAnalyzer
    from physio_core.reps import StreamingRepCounter
    from physio_core.store.live import LiveSessionWriter

log = logging.getLogger(__name__)

NO_PERSON_MESSAGE = "No person in view: step back so your whole body is visible."
PARTIAL_BODY_MESSAGE = "Step back so your whole body is visible."
SEVERAL_PEOPLE_MESSAGE = "Several people in view: following the first person found."

# angles shown in the panels when the exercise does not say which ones matter
DEFAULT_TRACKED_ANGLES: tuple[str, ...] = (
    "knee_angle_r", "knee_angle_l", "hip_flexion_r", "hip_flexion_l",
    "elbow_flexion_r", "elbow_flexion_l", "shoulder_abduction_r", "shoulder_abduction_l",
)  # fmt: skip
# joints that must be seen for "the whole body is visible"
_BODY_ENDS = (J.HEAD, J.L_ANKLE, J.R_ANKLE, J.L_WRIST, J.R_WRIST)
_MIN_CONF = 0.3
# two reps that share more than this part of the shorter one's time are the same motion (counted
# on two angles: on "auto" the counter may move from one to another)
SAME_MOTION = 0.5
LIVE_REACQUIRE_FRAMES = 5  # processed frames without the athlete before re-taking anyone
# the camera's clock going back by more than this, or ahead of the frames' arrival by more, started
# again (a new track); smaller steps back are a frame stamped twice, or jitter
CLOCK_JUMP_S = 2.0


@dataclass(frozen=True)
class LiveConfig:
    """What the trainer chose before START, and the session's tuning."""

    exercise: str = "auto"
    athlete_id: int | None = None
    viewer_id: int | None = None  # the logged-in user (role-checked writes); None: trusted caller
    record_video: bool = False  # raw video is stored only when the trainer ticks it
    mirror: bool = True  # selfie view for a front camera (pose itself runs on the real image)
    max_side: int = 640  # larger camera frames are scaled down before anything else
    nominal_fps: float = 25.0  # the rep counter's sampling rate (the live rate it sees)
    chart_seconds: float = 10.0
    idle_timeout_s: float = 5.0
    flush_every_s: float = 5.0
    stats_every_s: float = 0.5
    no_person_after_s: float = 0.5  # message once nobody was seen for this long
    recognise_every_s: float = 0.5  # how often the exercise is recognised
    recognise_window_s: float = 3.0  # from this many seconds back
    # an exercise named: this many sure readings of one other movement, none of the named one
    # between them, make ``looks_like`` (4 s at 0.5 s each; a pause, read as "other", does not
    # count). Six raised false alarms on 7 of 320 sets of subjects the classifier never saw, eight
    # on 2 (scripts/experiments/looks_like_loso.py, models/exercise_classifier.md)
    looks_like_after: int = 8


@dataclass(frozen=True)
class AngleStat:
    current: float
    min: float
    max: float


@dataclass(frozen=True)
class RepVerdict:
    """The models' assessment of one rep counted live (``assess.assess_rep``). Scores are None
    when the rep was not scored (an exercise the models do not know, or a model missing)."""

    rep: int  # 1-based, as counted (in a snapshot: as counted now, see ``verdicts_of``)
    start_s: float
    end_s: float
    exercise: str | None  # recognised movement ("deep_squat", ..., "other")
    mistake: str | None  # "correct" | "incorrect"
    mistake_confidence: float | None
    stability_score: float | None
    balance_score: float | None
    injury_risk: float | None
    reason: str | None
    text: str | None  # the same as one line (assess.rep_feedback)
    athlete: PoseSequence  # the rep as the models saw it, to draw beside the correction
    corrected: PoseSequence | None
    peak_s: float | None = None  # its turning point (the bottom of a squat), as Rep.peak_s
    correction: str | None = None  # the correction in words (correction_cue), for a rep judged incorrect
    focus: tuple[str, ...] = ()  # its joints and main directions, farthest first: ("hips lower", ...)
    angle: str | None = None  # the angle it was counted on
    # its range of motion of every angle (degrees), as a stored session's (``codec.angle_ranges``),
    # to hold against the trainer's targets
    ranges: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_row(cls, rep: Rep, row: dict, athlete: PoseSequence,
                 corrected: PoseSequence | None, ranges: dict[str, float] | None = None) -> RepVerdict:
        from physio_core.assess import rep_feedback

        return cls(rep.index, rep.start_s, rep.end_s, row.get("exercise"), row.get("mistake"),
                   row.get("mistake_confidence"), row.get("stability_score"),
                   row.get("balance_score"), row.get("injury_risk"), row.get("reason"),
                   rep_feedback({"rep": rep.index, **row}), athlete, corrected, rep.peak_s,
                   row.get("correction"), tuple(row.get("correction_focus") or ()), rep.angle, dict(ranges or {}))

    def tempo(self) -> str:
        """ "2.2 s: 1.3 to the turn, 0.9 back", or the duration alone without a turning point."""
        whole = f"{self.end_s - self.start_s:.1f} s"
        if self.peak_s is None or not self.start_s <= self.peak_s <= self.end_s:
            return whole
        return f"{whole}: {self.peak_s - self.start_s:.1f} to the turn, {self.end_s - self.peak_s:.1f} back"

    def worst_frame(self) -> int:
        """The frame of the rep farthest from its correction (the one to draw), 0 without one."""
        from physio_core.skeleton import farthest_frame

        return 0 if self.corrected is None else farthest_frame(self.athlete.joints, self.corrected.joints)

    def summary(self) -> dict[str, Any]:
        """Everything but the poses (JSON-friendly)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("athlete", "corrected")}


@dataclass(frozen=True)
class LiveSnapshot:
    """An immutable copy of the session's state for the page (and the debug stats file)."""

    state: str  # idle | running | paused | stopped
    frames_received: int
    frames_processed: int
    frames_dropped: int
    frames_with_person: int
    fps: float  # processed frames per second over the last ~2 s
    latency_ms: float  # median, frame arrival -> annotated frame ready, last ~2 s
    latency_p95_ms: float
    elapsed_s: float
    person_in_view: bool
    people_in_view: int
    message: str | None
    rep_count: int
    principal_angle: str | None
    angles: dict[str, AngleStat]
    chart_times: tuple[float, ...]
    chart_values: tuple[float, ...]
    exercise: str
    backend: str
    error: str | None = None
    session_id: int | None = None
    stability: float | None = None  # the last assessed rep's stability score
    feedback: tuple[str, ...] = ()
    last_rep: RepVerdict | None = None  # the newest rep counted now that the models assessed
    recognised: Recognition | None = None  # the exercise in the last few seconds
    # an exercise named: the other movement the readings keep naming instead (LiveConfig.looks_like_after)
    looks_like: Recognition | None = None
    # the verdicts of the reps counted now, in order, numbered as counted now (``verdicts_of``)
    verdicts: tuple[RepVerdict, ...] = ()
    recording_problem: str | None = None  # why "Record video" stopped recording (analysis goes on)
    # the person's 3D pose now (filtered, as the angles are measured): (N_JOINTS, 3) metres and
    # its confidences; None while nobody is in view
    pose_joints: np.ndarray | None = None
    pose_confidence: np.ndarray | None = None

    @property
    def judged(self) -> tuple[RepVerdict, ...]:
        """The verdicts of the set's reps that the mistake model judged (a movement it does not
        know: none)."""
        return tuple(v for v in self.verdicts if v.mistake is not None)

    @property
    def reps_judged(self) -> int:
        return len(self.judged)

    @property
    def reps_correct(self) -> int:
        """Of the reps judged, those judged correct."""
        return sum(v.mistake == "correct" for v in self.verdicts)

    @property
    def out_of_view(self) -> bool:
        """Nobody in view, or a body end (head, wrist, ankle) out of the picture: step back."""
        return self.message in (NO_PERSON_MESSAGE, PARTIAL_BODY_MESSAGE)

    def stats(self) -> dict[str, Any]:
        """The JSON-friendly counters (no chart, no poses), as written to the debug stats file."""
        d = asdict(replace(self, chart_times=(), chart_values=(), last_rep=None, verdicts=(), pose_joints=None,
                           pose_confidence=None))
        for key in ("chart_times", "chart_values", "pose_joints", "pose_confidence", "verdicts"):
            d.pop(key)
        d["last_rep"] = None if self.last_rep is None else self.last_rep.summary()
        d["reps_judged"], d["reps_correct"] = self.reps_judged, self.reps_correct
        return _finite_json(d)


@dataclass
class LiveOutcome:
    """What ``stop()`` did with the session."""

    result: SessionResult | None  # None when no frame was processed
    session_id: int | None  # the stored session, None if nothing was stored (yet)
    kept_pending: bool = False  # the database was away: the result waits for retry_save()
    message: str = ""
    video_path: Path | None = None
    replaced_id: int | None = None  # the session's first row, deleted while it recorded
    refused: bool = False  # it can never be stored: its athlete, or access to them, went


def _refusals() -> tuple[type[Exception], ...]:
    """The store's errors that mean a live session can never be stored (imported when needed)."""
    from physio_core.store import AccessDenied, NotFound

    return NotFound, AccessDenied


def _refusal(exc: Exception) -> str:
    """Why a live session cannot be stored, for the page (its athlete, or access to them, went
    while it recorded)."""
    from physio_core.store import NotFound

    log.warning("live session not stored: %s", exc)
    if isinstance(exc, NotFound):
        return "Not stored: the athlete was deleted while this session was recording."
    return ("Not stored: you may not record sessions for this athlete (an administrator may have "
            "changed who trains them).")


def _finite_json(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_json(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def suggest_exercise(counter: StreamingRepCounter, recognised: Recognition | None) -> None:
    """On "auto": hand the counter the exercise the models recognise, where they are sure of one
    they know. An unsure reading, or "other" (a pause between reps reads so), leaves the last one:
    the athlete who rests between reps has not changed exercise."""
    from physio_core.reps import exercise_key

    if recognised is not None and not recognised.unsure and exercise_key(recognised.exercise) is not None:
        counter.suggest(recognised.exercise)


def span_shares(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> np.ndarray:
    """(len(a), len(b)): the time each span of ``a`` shares with each of ``b``, as a fraction of
    the shorter of the two (0 where they do not meet)."""
    a_, b_ = np.asarray(a, float).reshape(-1, 1, 2), np.asarray(b, float).reshape(1, -1, 2)
    met = np.minimum(a_[..., 1], b_[..., 1]) - np.maximum(a_[..., 0], b_[..., 0])
    shorter = np.minimum(a_[..., 1] - a_[..., 0], b_[..., 1] - b_[..., 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((met > 0) & (shorter > 0), met / shorter, 0.0)


def verdicts_of(reps: Sequence[Rep], verdicts: Sequence[RepVerdict]) -> list[RepVerdict]:
    """The verdicts of the reps counted now, numbered as counted now, in the reps' order.

    On "auto" the counter may move to another angle, whose reps are numbered on their own: a
    verdict belongs to the rep it shares most of its time with (more than half of the shorter of
    the two), whatever number and angle it was counted under; of several, the last assessed. A
    rep no verdict belongs to has none; a verdict that belongs to no rep counted now is not shown."""
    if not reps or not verdicts:
        return []
    shares = span_shares([(r.start_s, r.end_s) for r in reps], [(v.start_s, v.end_s) for v in verdicts])
    best = shares.argmax(axis=0)
    mine: dict[int, RepVerdict] = {}
    for j, v in enumerate(verdicts):
        i = int(best[j])
        if shares[i, j] > SAME_MOTION:
            r = reps[i]
            mine[i] = v if (v.rep, v.angle) == (r.index, r.angle) else replace(v, rep=r.index, angle=r.angle)
    return [mine[i] for i in sorted(mine)]


def tracked_angles(exercise: str) -> tuple[str, ...]:
    """The angles the panels follow for an exercise (both sides of its rep angles)."""
    from physio_core.reps import EXERCISES, exercise_key

    key = exercise_key(exercise)
    if key is None:
        return DEFAULT_TRACKED_ANGLES
    families = EXERCISES[key][0]
    return tuple(n for n in ANGLE_NAMES if n.rsplit("_", 1)[0] in families)


def _flip_lr(rgb: np.ndarray) -> np.ndarray:
    """Mirrored copy of an image. cv2.flip takes ~0.07 ms at 640x480 where numpy's copy of a
    reversed view takes 3-6 ms (element-wise, 3-byte items): this runs on every frame."""
    import cv2

    return cv2.flip(np.ascontiguousarray(rgb), 1)


def _cut_off(pose: PoseFrame, height: int, width: int) -> bool:
    """Whether a body end (head, wrist, ankle) is out of the picture: unseen, and at or past the
    frame's edge. One hidden behind the body (a wrist in a side view) is not: stepping back would
    not show it."""
    ends = list(_BODY_ENDS)
    unseen = pose.confidence[ends] < _MIN_CONF
    if not unseen.any():
        return False
    if pose.keypoints_2d is None:
        return True
    x, y = pose.keypoints_2d[ends][unseen].T
    edge = 0.02 * max(height, width)
    return bool((~np.isfinite(x + y) | (x < edge) | (x > width - edge) | (y < edge) | (y > height - edge)).any())


def _fit(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """``rgb`` at ``height`` x ``width``: scaled to fit, its proportions kept, centred on black."""
    import cv2

    h, w = rgb.shape[:2]
    if (h, w) == (height, width):
        return rgb
    scale = min(height / h, width / w)
    nh, nw = min(height, max(1, round(h * scale))), min(width, max(1, round(w * scale)))
    small = cv2.resize(np.ascontiguousarray(rgb), (nw, nh), interpolation=cv2.INTER_AREA)
    top, left = (height - nh) // 2, (width - nw) // 2
    return cv2.copyMakeBorder(small, top, height - nh - top, left, width - nw - left, cv2.BORDER_CONSTANT, value=0)


def _mirrored(pose: PoseFrame, width: int) -> PoseFrame:
    kp = None if pose.keypoints_2d is None else pose.keypoints_2d.copy()
    if kp is not None:
        kp[:, 0] = width - 1 - kp[:, 0]
    return replace(pose, keypoints_2d=kp)


class _VideoRecorder:
    """Raw frames -> H.264 MP4 with their real times (variable frame rate).

    The MP4 is fragmented, one fragment a second, each written out at once: a recording that
    is never closed (the tab was closed mid-session, the server stopped) plays up to its last
    second, where a plain MP4 holds nothing readable until its index is written at the end."""

    def __init__(self, path: Path, width: int, height: int) -> None:
        import av

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._container = av.open(str(path), "w", options={
            "movflags": "empty_moov+default_base_moof", "frag_duration": "1000000", "flush_packets": "1"})
        self._stream = self._container.add_stream("libx264", rate=30)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"preset": "ultrafast", "crf": "23"}
        self._tb = Fraction(1, 1000)
        self._stream.codec_context.time_base = self._tb
        self._last_pts = -1

    def write(self, rgb: np.ndarray, t: float) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        pts = max(self._last_pts + 1, int(round(t * 1000)))
        frame.pts, frame.time_base, self._last_pts = pts, self._tb, pts
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()


class LiveSession:
    """One live stream of one athlete. Thread-safe; see the module docstring."""

    def __init__(
        self,
        config: LiveConfig | None = None,
        *,
        settings: Settings | None = None,
        analyzer_factory: Callable[[], FrameAnalyzer] | None = None,
        engine: Engine | None = None,
        stats_file: str | os.PathLike | None = None,
    ) -> None:
        from physio_core.overlay import HudPlacer  # cv2: imported when a session starts

        self.config = config or LiveConfig()
        self.settings = settings or get_settings()
        self._analyzer_factory = analyzer_factory or self._default_analyzer
        self.engine = engine
        env_stats = stats_file or self.settings.live_stats_file
        self.stats_file = Path(env_stats) if env_stats else None
        self.tracked = tracked_angles(self.config.exercise)

        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._mailbox: tuple[np.ndarray, float, float] | None = None  # rgb, time_s, arrival
        self._worker: threading.Thread | None = None
        self._leaving = False  # the worker is leaving its loop (no frame for idle_timeout_s, or a stop)
        self._stop_requested = False  # stop() or close() has begun: frames from now on are not analysed
        self._stopped = False
        self._t0: float | None = None  # monotonic time of the first frame
        # (height, width) of every frame the session analyses and records: the first frame's, even
        # (H.264); a camera that changes size mid-stream (WebRTC lowers it under load) is scaled to it
        self._size: tuple[int, int] | None = None
        self._last_in: tuple[float, float] | None = None  # the last frame's session time and arrival
        self._started_at: datetime | None = None

        # published state (under the lock)
        self._output: np.ndarray | None = None
        self._received = self._processed = self._dropped = self._with_person = 0
        self._recent: deque[tuple[float, float]] = deque()  # (done_at, latency_s), last ~2 s
        self._latencies: list[float] = []  # every processed frame's latency (s)
        self._last_person_at: float | None = None
        self._people_in_view = 0
        self._partial_body = False
        self._pose_now: tuple[np.ndarray, np.ndarray] | None = None  # filtered joints, confidence
        self._error: str | None = None
        self._backend = ""
        self._last_stats_write = 0.0
        self._verdicts: list[RepVerdict] = []  # every rep assessed, in the order assessed
        self._counted: tuple[Rep, ...] = ()  # the reps counted now (their end known)
        self._shown: tuple[RepVerdict, ...] | None = None  # verdicts_of(counted, verdicts); None: to redo
        self._recognised: Recognition | None = None
        self._recognising = False  # a window waits on (or runs in) the assessment thread
        # the newest sure reading of another movement than the one named, and how many in a row
        self._unlike: tuple[Recognition | None, int] = (None, 0)

        # series (appended by the worker, read under the lock)
        self._poses: list[PoseFrame | None] = []
        self._times: list[float] = []
        self._angles: list[np.ndarray] = []
        # running per-angle summaries, so a snapshot costs the same after an hour as at once
        self._angle_last = np.full(len(ANGLE_NAMES), np.nan)
        self._angle_min = np.full(len(ANGLE_NAMES), np.nan)
        self._angle_max = np.full(len(ANGLE_NAMES), np.nan)
        self._writer: LiveSessionWriter | None = None
        self.refused_reason: str | None = None  # why the last retry_save() could not store it
        self._storer: ThreadPoolExecutor | None = None  # one thread: the writer's flushes
        self._flushing = None  # the storer's Future, while one flush waits or runs
        self._flushed = 0  # frames already handed to the writer
        self._last_flush = 0.0

        # worker-only state
        self._analyzer: FrameAnalyzer | None = None
        self._joint_filter = None
        self._counter = None
        self._rep_count = 0
        self._principal: str | None = None
        self._hud = HudPlacer()  # where the corner lines go, away from the athlete
        self._recorder: _VideoRecorder | None = None
        self._video_path: Path | None = None
        self._video_announced = False  # the session's row knows the recording's path
        self._record_failure: str | None = None  # why the recording stopped; the analysis goes on
        self._tally: tuple | None = None  # the counter's tally at the last frame: a change, new reps
        self._sent: list[tuple[float, float]] = []  # the spans (s) of the reps handed to the assessor
        # the last reps sent: the "usual" later ones are compared with
        self._rep_poses: deque[PoseSequence] = deque(maxlen=10)
        self._assessor: ThreadPoolExecutor | None = None  # one thread, created at first use
        self._recognise_due = 0.0  # session time of the next exercise recognition ("auto")

    # ------------------------------------------------------------------ feeding frames

    def video_frame_callback(self, frame: av.VideoFrame) -> av.VideoFrame:
        """streamlit-webrtc's ``video_frame_callback``: never blocks on pose estimation."""
        import av

        width, height = frame.width, frame.height
        scale = min(1.0, self.config.max_side / max(width, height))
        if scale < 1.0:
            width, height = int(width * scale) // 2 * 2, int(height * scale) // 2 * 2
            rgb = frame.to_ndarray(width=width, height=height, format="rgb24")
        else:
            rgb = frame.to_ndarray(format="rgb24")
        out = self.submit(rgb, capture_time_s=frame.time)
        return av.VideoFrame.from_ndarray(out, format="rgb24")

    def submit(self, frame_rgb: np.ndarray, capture_time_s: float | None = None) -> np.ndarray:
        """Hand over the newest camera frame; returns the newest annotated frame (or this
        frame, mirrored as configured, while nothing has been processed yet).

        ``capture_time_s``: the frame's own clock (a WebRTC frame's pts), else arrival time.
        Session times count from the first frame."""
        now = time.monotonic()
        if self._size is None:
            self._size = (frame_rgb.shape[0] // 2 * 2, frame_rgb.shape[1] // 2 * 2)
        frame_rgb = _fit(frame_rgb, *self._size)
        with self._lock:
            if self._stop_requested:  # a late frame starts no worker while the session is being ended
                return self._passthrough(frame_rgb)
            t = self._session_time_locked(now if capture_time_s is None else float(capture_time_s), now)
            self._received += 1
            if self._mailbox is not None:
                self._dropped += 1
            self._mailbox = (frame_rgb, t, now)
            if self._worker is None or not self._worker.is_alive() or self._leaving:
                # a worker still ending would leave this frame in the mailbox: the new one takes
                # it once the old one has let its analyzer go
                ending = self._worker if self._leaving else None
                self._leaving = False
                self._worker = threading.Thread(
                    target=self._run, args=(ending,), name="physio-live-worker", daemon=True
                )
                self._worker.start()
            self._wake.notify()
            out = self._output
        if out is None or out.shape != frame_rgb.shape:
            return self._passthrough(frame_rgb)
        return out

    def _session_time_locked(self, stamp: float, now: float) -> float:
        """The frame's time in the session (s from the first frame), increasing. A camera clock
        that starts again (back, or far ahead of the frames' arrival) goes on from where it was,
        by the time the frame took to arrive; a frame stamped as the last one, or just before it,
        comes 1 ms after it."""
        if self._t0 is None:
            self._t0 = stamp
            self._started_at = datetime.now(UTC)
        t = stamp - self._t0
        if self._last_in is not None:
            last, arrived = self._last_in
            if t < last - CLOCK_JUMP_S or t > last + (now - arrived) + CLOCK_JUMP_S:
                self._t0 += t - (last + max(now - arrived, 1e-3))
                t = stamp - self._t0
            t = max(t, last + 1e-3)
        self._last_in = (t, now)
        return t

    def _passthrough(self, rgb: np.ndarray) -> np.ndarray:
        return _flip_lr(rgb) if self.config.mirror else rgb

    # ------------------------------------------------------------------ the worker

    def _default_analyzer(self) -> FrameAnalyzer:
        from physio_core.pipeline import FrameAnalyzer
        from physio_core.pose.tracking import PersonTracker, TrackerConfig

        # Live frames arrive irregularly (dropped when pose is slow), so the athlete can move
        # far between two processed frames; and an athlete who steps out comes back anywhere.
        # After a short loss, the only person in view is taken as the athlete again.
        tracker = PersonTracker(TrackerConfig(reacquire_anywhere_after=LIVE_REACQUIRE_FRAMES))
        return FrameAnalyzer(settings=self.settings, tracker=tracker)

    def _run(self, ending: threading.Thread | None = None) -> None:
        if ending is not None:
            ending.join()
            with self._lock:
                if self._stop_requested:  # stopped meanwhile: no model to load for nothing
                    return
        try:
            self._ensure_pipeline()
        except Exception as exc:  # PoseBackendUnavailable and friends: tell the page
            log.exception("live pose backend failed to start")
            with self._lock:
                self._error = str(exc) or type(exc).__name__
                self._mailbox = None
            self._write_stats(force=True)
            return
        try:
            while True:
                with self._lock:
                    deadline = time.monotonic() + self.config.idle_timeout_s
                    while self._mailbox is None and not self._stop_requested:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._wake.wait(left)
                    if self._stop_requested or self._mailbox is None:
                        self._leaving = True
                        break
                    rgb, t, arrived = self._mailbox
                    self._mailbox = None
                self._process(rgb, t, arrived)
                self._maybe_flush()
                self._write_stats()
        except Exception as exc:
            log.exception("live processing failed")
            with self._lock:
                self._error = f"Live analysis stopped: {type(exc).__name__}: {exc}"
        finally:
            self._release_analyzer()
            self._write_stats(force=True)

    def _ensure_pipeline(self) -> None:
        from physio_core.filters import OneEuroFilter
        from physio_core.reps import StreamingRepCounter, exercise_key

        if self._analyzer is None:
            self._analyzer = self._analyzer_factory()
            with self._lock:
                self._backend = self._analyzer.backend
        if self._counter is None:
            self._joint_filter = OneEuroFilter(min_cutoff=1.0, beta=0.3)
            ex = exercise_key(self.config.exercise)
            self._counter = StreamingRepCounter(self.config.nominal_fps, ANGLE_NAMES, exercise=ex)

    def _release_analyzer(self) -> None:
        if self._analyzer is not None:
            try:
                self._analyzer.close()
            finally:
                self._analyzer = None

    def _process(self, rgb: np.ndarray, t: float, arrived: float) -> None:
        from physio_core.overlay import draw_pose, hud_text

        fr = self._analyzer.process(rgb, t)
        pose = fr.pose
        if pose is not None:
            joints = self._joint_filter(pose.joints.reshape(-1), t).reshape(N_JOINTS, 3)
            angles = compute_angles_frame(joints, pose.confidence)
        else:
            joints = np.full((N_JOINTS, 3), np.nan)
            angles = np.full(len(ANGLE_NAMES), np.nan)
        self._rep_count = self._counter.update(angles, t, joints)
        self._principal = self._counter.angle

        if self.config.record_video:
            self._record(rgb, t)

        now = time.monotonic()
        with self._lock:
            self._poses.append(pose)
            self._times.append(t)
            self._angles.append(angles)
            seen = np.isfinite(angles)
            self._angle_last[seen] = angles[seen]
            self._angle_min = np.fmin(self._angle_min, angles)
            self._angle_max = np.fmax(self._angle_max, angles)
            self._people_in_view = fr.people_in_view
            if pose is not None:
                self._last_person_at = now
                self._partial_body = _cut_off(pose, *rgb.shape[:2])
                self._pose_now = (joints.copy(), pose.confidence)
            message = self._message_locked(now)
        if (tally := self._counter.tally) != self._tally:  # a rep ended, or another angle counts (rare)
            self._tally = tally
            self._send_new_reps()
        if t >= self._recognise_due:
            if self.config.exercise == "auto":
                suggest_exercise(self._counter, self._recognised)
            self._send_window(t)

        h, w = rgb.shape[:2]
        shown = _flip_lr(rgb) if self.config.mirror else rgb.copy()
        if pose is not None and self.config.mirror:
            pose = _mirrored(pose, w)
        others = [_mirrored(o, w) for o in fr.others] if self.config.mirror else fr.others
        status = [message] if message else []
        seen = None if pose is None or pose.keypoints_2d is None else pose.keypoints_2d[pose.confidence > 0]
        corner = self._hud.update(seen, shown.shape, hud_text(self._rep_count, status), t)
        out = draw_pose(shown, pose, angles=angles, rep_count=self._rep_count, status=status,
                        others=others, copy=False, corner=corner)

        done = time.monotonic()
        with self._lock:
            self._output = out
            # counted together: a snapshot never finds more frames with the person than processed
            self._processed += 1
            self._with_person += fr.pose is not None
            self._recent.append((done, done - arrived))
            self._latencies.append(done - arrived)
            while self._recent and done - self._recent[0][0] > 2.0:
                self._recent.popleft()

    def _send_new_reps(self) -> None:
        """Publish the reps counted now, and hand those not yet assessed to the assessment thread
        (worker thread, when a rep ends). Usually that is the newest rep. On "auto" the counter
        may move to another angle: of its reps, those whose motion was assessed on the former
        angle keep that verdict (``verdicts_of``), the others are assessed now."""
        reps = tuple(self._counter.reps)
        with self._lock:
            self._counted, self._shown = reps, None
        if not reps:
            return
        spans = [(r.start_s, r.end_s) for r in reps]
        known = span_shares(spans, self._sent).max(axis=1) > SAME_MOTION if self._sent else np.zeros(len(reps), bool)
        for rep, span, seen in zip(reps, spans, known):
            if seen:
                continue
            self._sent.append(span)
            with self._lock:
                seq, _ = self._series_locked(rep.start_frame, rep.end_frame + 1)
            baseline = list(self._rep_poses) if len(self._rep_poses) >= 2 else None
            self._rep_poses.append(seq)
            self._assess_later(self._assess_rep, rep, seq, baseline)

    def _send_window(self, t: float) -> None:
        """Hand the last seconds to the assessment thread to recognise the exercise (worker
        thread, every ``recognise_every_s``; skipped while the previous one is still waiting)."""
        self._recognise_due = t + self.config.recognise_every_s
        with self._lock:
            if self._recognising:
                return
            first = bisect.bisect_left(self._times, t - self.config.recognise_window_s)
            seq, _ = self._series_locked(first)
            self._recognising = True
        self._assess_later(self._recognise, seq)

    def _recognise(self, seq: PoseSequence) -> None:
        """The assessment thread: the exercise in a window, published for ``snapshot``."""
        from physio_core.assess import recognise_window

        out = None
        try:
            out = recognise_window(seq, self.settings.model_dir)
        except Exception:  # a model failure costs this reading, never the session
            log.exception("live exercise recognition failed")
        finally:
            with self._lock:
                self._recognising = False
                self._recognised = out
                if out is not None and self.config.exercise != "auto":
                    self._note_unlike(out)

    def _note_unlike(self, r: Recognition) -> None:
        """With the exercise named: keep the run of sure readings of one other movement (lock
        held). A reading of the named exercise ends it; a pause ("other") or a guess leaves it."""
        last, n = self._unlike
        if r.exercise == self.config.exercise:
            self._unlike = (None, 0)
        elif r.exercise != "other" and not r.unsure:
            self._unlike = (r, n + 1 if last is not None and last.exercise == r.exercise else 1)

    def _assess_later(self, fn: Callable, *args: Any) -> None:
        """Run ``fn`` on the session's assessment thread (one thread: in order)."""
        with self._lock:
            if self._stopped:
                return
            if self._assessor is None:
                self._assessor = ThreadPoolExecutor(1, thread_name_prefix="physio-live-assess")
            self._assessor.submit(fn, *args)

    def _assess_rep(self, rep: Rep, seq: PoseSequence, baseline: list[PoseSequence] | None) -> None:
        """The assessment thread: the models' verdict on one rep, published for ``snapshot``, with
        its ranges of motion measured as the stored session's will be (zero-lag filtered pose)."""
        from physio_core.assess import assess_one_rep
        from physio_core.kinematics import compute_angles
        from physio_core.pipeline import smooth_sequence
        from physio_core.store.codec import angle_ranges

        try:
            pose = smooth_sequence(seq) if int(seq.valid.sum()) >= 2 else seq
            out = assess_one_rep(pose, self.config.exercise, baseline, self.settings.model_dir)
        except Exception:  # a model failure costs this rep's verdict, never the session
            log.exception("live rep %s could not be assessed", rep.index)
            return
        if out is None:
            return
        row, corrected = out
        verdict = RepVerdict.from_row(rep, row, pose, corrected, angle_ranges(compute_angles(pose)))
        with self._lock:
            self._verdicts.append(verdict)
            self._shown = None

    def _stop_assessor(self) -> None:
        """No more rep verdicts: drop those waiting, let a running one end."""
        with self._lock:
            assessor, self._assessor = self._assessor, None
        if assessor is not None:
            assessor.shutdown(wait=True, cancel_futures=True)

    def _message_locked(self, now: float) -> str | None:
        if self._processed + 1 < 2 and self._last_person_at is None:
            return None  # the very first frame: no verdict yet
        if self._last_person_at is None or now - self._last_person_at > self.config.no_person_after_s:
            return NO_PERSON_MESSAGE
        if self._people_in_view >= 2:
            return SEVERAL_PEOPLE_MESSAGE
        if self._partial_body:
            return PARTIAL_BODY_MESSAGE
        return None

    def _record(self, rgb: np.ndarray, t: float) -> None:
        import av

        if self._record_failure is not None:
            return
        try:
            if self._recorder is None:
                stamp = (self._started_at or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
                path = recordings.recording_dir(self.settings) / f"live_{stamp}_{id(self):x}.mp4"
                h, w = rgb.shape[:2]
                self._video_path = path
                if self.engine is not None and self.config.athlete_id is not None:
                    recordings.hold(path)  # a session will name it: not an orphan meanwhile
                self._recorder = _VideoRecorder(path, w // 2 * 2, h // 2 * 2)
            self._recorder.write(rgb, t)
        except (OSError, av.FFmpegError) as exc:  # a full disk, a blocked data folder
            log.warning("live recording stopped at %.1f s: %s", t, exc)
            self._record_failure = (f"The video recording stopped at {t:.1f} s ({exc}); the analysis "
                                    f"went on. Free disk space under {self.settings.data_dir} to record.")
            self._close_recorder()

    def _close_recorder(self) -> None:
        """Finish the video file; one that cannot be finished is removed (it would not play)."""
        import av

        if self._recorder is None:
            if self._record_failure is not None:  # opened but never became a recorder
                self._discard_video()
            return
        recorder, self._recorder = self._recorder, None
        try:
            recorder.close()
        except (OSError, av.FFmpegError) as exc:
            log.warning("live recording could not be finished: %s", exc)
            self._record_failure = self._record_failure or (
                f"The video recording could not be finished ({exc}). Free disk space under "
                f"{self.settings.data_dir} to record.")
            self._discard_video()

    def _discard_video(self) -> None:
        """Delete the recording's file: it would not play, or no session will hold it."""
        if self._video_path is not None:
            with contextlib.suppress(OSError):
                self._video_path.unlink()
            recordings.release(self._video_path)
            self._video_path = None

    # ------------------------------------------------------------------ storage

    def start(self) -> int | None:
        """Open the active session row (when an engine and an athlete are given), and load the
        assessment models in the background.

        Returns its id, or None when there is nothing to store to or the database is away (the
        row is then created by a later flush, or at ``stop()``)."""
        from physio_core.assess import warm_up

        # load the models while the athlete gets ready, not when the first rep ends (the live
        # page has usually started this when it opened; the first rep waits for it either way)
        warm_up(self.settings.model_dir)
        writer = self._storage()
        if writer is None:
            return None
        try:
            if not writer.start():
                log.warning("live session not opened in the database: %s", writer.last_error)
        except _refusals() as exc:  # the athlete went meanwhile: stop() says so
            log.warning("live session cannot be stored: %s", exc)
        return writer.session_id

    def _storage(self) -> LiveSessionWriter | None:
        """The session's writer (created on first use), None without an engine or athlete."""
        from physio_core.store.live import LiveSessionWriter

        if self.engine is None or self.config.athlete_id is None:
            return None
        with self._lock:
            if self._writer is None:
                self._writer = LiveSessionWriter(
                    self.engine, self.config.athlete_id, viewer_id=self.config.viewer_id,
                    exercise=self.config.exercise, source="live",
                )
            return self._writer

    def _series_locked(self, start: int, stop: int | None = None, fps: float | None = None
                       ) -> tuple[PoseSequence, AngleSeries]:
        poses, times = self._poses[start:stop], np.asarray(self._times[start:stop])
        fps = fps or self._measured_fps_locked()
        seq = PoseSequence.from_frames(poses, times, fps)
        values = np.asarray(self._angles[start:stop]).reshape(len(poses), len(ANGLE_NAMES))
        return seq, AngleSeries(ANGLE_NAMES, values, times)

    def _measured_fps_locked(self) -> float:
        return measured_fps(self._times) or self.config.nominal_fps

    def _session_id_locked(self) -> int | None:
        """The session's row: while it runs, the one opened; once stopped, only a stored one."""
        w = self._writer
        if w is None or (self._stopped and w.ended is None):
            return None
        return w.session_id

    def _maybe_flush(self) -> None:
        """Hand the frames since the last chunk to the writer and let the storage thread write."""
        now = time.monotonic()
        with self._lock:
            writer = self._writer
            if writer is None or self._flushed >= len(self._poses):
                return
            if now - self._last_flush < self.config.flush_every_s:
                return
            start, stop = self._flushed, len(self._poses)
            # chunks must agree on their metadata: the nominal rate (the times are the real ones)
            pose, angles = self._series_locked(start, stop, fps=self.config.nominal_fps)
            self._flushed, self._last_flush = stop, now
        series = None
        if self._video_path is not None and not self._video_announced:
            from physio_core.store.codec import KIND_VIDEO

            # an unfinished session (the tab closed before STOP) still leads to its recording
            series = {KIND_VIDEO: {"path": [str(self._video_path)]}}
            self._video_announced = True
        writer.add(pose=pose, angles=angles, series=series)  # kept in memory until written
        with self._lock:
            if self._stopped or (self._flushing is not None and not self._flushing.done()):
                return  # the flush under way or at stop() writes this chunk too
            if self._storer is None:
                self._storer = ThreadPoolExecutor(1, thread_name_prefix="physio-live-store")
            self._flushing = self._storer.submit(self._flush_writer, writer)

    @staticmethod
    def _flush_writer(writer: LiveSessionWriter) -> None:
        try:
            if not writer.flush():  # the chunks wait; the next flush or stop() tries again
                log.warning("live chunks not stored yet: %s", writer.last_error)
        except _refusals() as exc:  # stop() says so; the frames stay in memory
            log.warning("live chunks cannot be stored: %s", exc)

    def _stop_storer(self) -> None:
        """Let a flush under way end (stop() then writes the rest itself)."""
        with self._lock:
            storer, self._storer = self._storer, None
        if storer is not None:
            storer.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ reading

    def snapshot(self) -> LiveSnapshot:
        now = time.monotonic()
        with self._lock:
            lat = np.array([x[1] for x in self._recent]) * 1000.0
            if len(self._recent) >= 2:
                span = self._recent[-1][0] - self._recent[0][0]
                fps = (len(self._recent) - 1) / span if span > 0 else 0.0
            else:
                fps = 0.0
            alive = self._worker is not None and self._worker.is_alive()
            state = "stopped" if self._stopped else ("running" if alive else (
                "paused" if self._processed else "idle"))
            stats: dict[str, AngleStat] = {}
            for name in self.tracked:
                k = ANGLE_NAMES.index(name)
                if np.isfinite(self._angle_last[k]):
                    stats[name] = AngleStat(float(self._angle_last[k]), float(self._angle_min[k]),
                                            float(self._angle_max[k]))
            chart_t: tuple[float, ...] = ()
            chart_v: tuple[float, ...] = ()
            if self._principal and self._times:
                first = bisect.bisect_left(self._times, self._times[-1] - self.config.chart_seconds)
                k = ANGLE_NAMES.index(self._principal)
                chart_t = tuple(self._times[first:])
                chart_v = tuple(float(a[k]) for a in self._angles[first:])
            if self._shown is None:  # a rep ended or was assessed since the last snapshot
                self._shown = tuple(verdicts_of(self._counted, self._verdicts))
            last_rep = self._shown[-1] if self._shown else None
            person = self._last_person_at is not None and (
                now - self._last_person_at <= self.config.no_person_after_s)
            return LiveSnapshot(
                state=state,
                frames_received=self._received,
                frames_processed=self._processed,
                frames_dropped=self._dropped,
                frames_with_person=self._with_person,
                fps=float(fps),
                latency_ms=float(np.median(lat)) if len(lat) else float("nan"),
                latency_p95_ms=float(np.percentile(lat, 95)) if len(lat) else float("nan"),
                elapsed_s=float(self._times[-1]) if self._times else 0.0,
                person_in_view=bool(person),
                people_in_view=self._people_in_view,
                message=self._message_locked(now) if self._processed and state == "running" else None,
                rep_count=self._rep_count,
                principal_angle=self._principal,
                angles=stats,
                chart_times=chart_t,
                chart_values=chart_v,
                exercise=self.config.exercise,
                backend=self._backend,
                error=self._error,
                session_id=self._session_id_locked(),
                stability=None if last_rep is None else last_rep.stability_score,
                last_rep=last_rep,
                verdicts=self._shown,
                recognised=self._recognised,
                looks_like=self._unlike[0] if self._unlike[1] >= self.config.looks_like_after else None,
                recording_problem=self._record_failure,
                # replaced each frame, never changed in place: the snapshot may hold it
                pose_joints=self._pose_now[0] if person and self._pose_now else None,
                pose_confidence=self._pose_now[1] if person and self._pose_now else None,
            )

    def latencies_ms(self, start: int = 0) -> np.ndarray:
        """Latency of every processed frame from the ``start``-th on, in milliseconds."""
        with self._lock:
            return np.asarray(self._latencies[start:]) * 1000.0

    @property
    def latest_frame(self) -> np.ndarray | None:
        """The newest annotated frame (RGB), e.g. for a still on the page."""
        with self._lock:
            return self._output

    def _write_stats(self, force: bool = False, extra: dict | None = None) -> None:
        if self.stats_file is None:
            return
        now = time.monotonic()
        if not force and now - self._last_stats_write < self.config.stats_every_s:
            return
        self._last_stats_write = now
        doc = self.snapshot().stats() | (extra or {})
        # a file of this thread's own: two sessions (two tabs), or a session's worker and its stop(), write at once
        tmp = self.stats_file.with_name(self.stats_file.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            self.stats_file.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(doc))
            os.replace(tmp, self.stats_file)
        except OSError as exc:
            log.warning("live stats file not written: %s", exc)

    # ------------------------------------------------------------------ ending

    def _halt_worker(self) -> None:
        with self._lock:
            self._stop_requested = True
            self._wake.notify_all()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join()

    def finish(self) -> SessionResult | None:
        """Stop processing and build the session's result (None if no frame was processed).

        Angles are recomputed from the zero-lag filtered pose series (as for an upload); the reps
        are the ones counted live, i.e. what the trainer saw; the models assess the whole set as
        for an upload (per-rep verdicts, corrected poses, session scores)."""
        from physio_core.kinematics import compute_angles
        from physio_core.pipeline import LOW_COVERAGE, add_assessment, smooth_sequence

        self._halt_worker()
        self._stop_assessor()
        with self._lock:
            self._stopped = True
            if not self._poses:
                return None
            seq, _ = self._series_locked(0)
            backend, started = self._backend, self._started_at or datetime.now(UTC)
        self._close_recorder()
        n_person = int(seq.valid.sum())
        filtered = smooth_sequence(seq) if n_person >= 2 else seq
        reps = list(self._counter.finish()) if self._counter is not None else []
        warnings: list[str] = []
        if n_person == 0:
            warnings.append("No person was found during the live session.")
        elif n_person < LOW_COVERAGE * len(seq):
            warnings.append(f"The person was in view in only {n_person / len(seq):.0%} of the "
                            "processed frames: angles and reps may be incomplete.")
        if self._record_failure is not None:
            warnings.append(self._record_failure)
        # to the last frame's end, one usual frame's interval after it, as the Duration shown reads it
        lasted = recording_duration_s(seq.times, seq.fps) or 0.0
        result = SessionResult(
            pose=filtered,
            angles=compute_angles(filtered),
            reps=reps,
            fps=float(seq.fps),
            frames=len(seq),
            frames_with_person=n_person,
            backend=backend,
            exercise=self.config.exercise or "auto",
            source="live",
            started_at=started,
            ended_at=started + timedelta(seconds=float(seq.times[0]) + lasted),
            warnings=warnings,
        )
        if n_person >= 2:
            add_assessment(result, self.settings.model_dir)
        return result

    def stop(self) -> LiveOutcome:
        """End the session: stop the worker, build the result and store it."""
        result = self.finish()
        self._stop_storer()
        video = self._video_path
        from physio_core.store.codec import KIND_VIDEO

        extra = {KIND_VIDEO: {"path": [str(video)]}} if video is not None else None
        outcome = LiveOutcome(result, None, video_path=video)
        if result is None:
            with self._lock:
                received, error = self._received, self._error
            outcome.message = ("Nothing was recorded: no camera frame reached the server." if not received else
                               f"Nothing was recorded: the analysis of the camera frames did not start ({error}).")
            self._drop_empty_row()
            self._write_stats(force=True, extra={"stored_session_id": None})
            return outcome
        writer = self._storage()
        if writer is None:
            outcome.message = "Not stored: no database or no athlete chosen."
            ended = False
        else:  # the row; None: the database is away; False: it can never be stored
            ended = self._end_writer(writer, result, extra, outcome)
        if ended is False:
            if video is not None:  # no session would ever show it
                self._discard_video()
                outcome.video_path = None
                outcome.message += " The recorded video was deleted with it."
        elif ended is not None:
            outcome.session_id, outcome.replaced_id = writer.session_id, writer.replaced_id
            outcome.message = f"Session {outcome.session_id} saved."
            if writer.replaced_id is not None:
                # (SQLite may give the new row the deleted one's number)
                which = ("It" if writer.replaced_id == writer.session_id
                         else f"Session {writer.replaced_id}")
                outcome.message += (f" {which} was deleted while it was recording, so the whole "
                                    "recording was saved again.")
            if video is not None:
                recordings.release(video)  # its row names it now
        else:
            outcome.kept_pending = True
            outcome.message = ("The database is unavailable: the session is kept and will be "
                               "saved when it is back.")
        self._write_stats(force=True, extra={"stored_session_id": outcome.session_id})
        return outcome

    def _drop_empty_row(self) -> None:
        """Delete the row ``start()`` opened for a session into which nothing came (STOP before the
        first frame): it would be listed as a session with nothing recorded. Left to that listing
        while the database is away."""
        from physio_core.store import delete_session
        from physio_core.store.db import StorageUnavailable

        with self._lock:
            writer = self._writer
        if writer is None or writer.session_id is None or self._flushed or writer.pending:
            return
        try:
            delete_session(self.engine, writer.session_id)
        except StorageUnavailable as exc:
            log.warning("empty live session %s not deleted: %s", writer.session_id, exc)

    @staticmethod
    def _end_writer(writer: LiveSessionWriter, result: SessionResult, extra: dict | None,
                    outcome: LiveOutcome) -> Any:
        """``writer.end``'s row (None: the database is away), or False when the session can no
        longer be stored (its athlete was deleted, or the viewer lost access to them while it
        recorded), with the reason in ``outcome.message``."""
        try:
            return writer.end(result, extra_data=extra)
        except _refusals() as exc:
            outcome.refused, outcome.message = True, _refusal(exc)
            return False

    def retry_save(self) -> int | None:
        """Try again to store a session kept at ``stop()``; its id, or None (then
        ``refused_reason`` says why when the database is back but refuses it)."""
        with self._lock:
            writer = self._writer
        self.refused_reason = None
        try:
            if writer is None or not writer.flush() or writer.ended is None:
                return None
        except _refusals() as exc:
            self.refused_reason = _refusal(exc)
            return None
        if self._video_path is not None:
            recordings.release(self._video_path)
        self._write_stats(force=True, extra={"stored_session_id": writer.session_id})
        return writer.session_id

    def close(self) -> None:
        """Stop the worker without storing anything (e.g. the page discards the session)."""
        self._halt_worker()
        self._stop_assessor()
        self._stop_storer()
        with self._lock:
            self._stopped = True
        self._close_recorder()

    @property
    def worker_alive(self) -> bool:
        with self._lock:
            return self._worker is not None and self._worker.is_alive()

    def wait_assessed(self, timeout: float | None = None) -> bool:
        """Block until every rep handed to the models so far has its verdict; True if so."""
        with self._lock:
            assessor = self._assessor
        if assessor is None:
            return True
        try:
            assessor.submit(lambda: None).result(timeout)
        except RuntimeError:  # shut down meanwhile: nothing is waiting any more
            return True
        except TimeoutError:
            return False
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the worker has ended by itself (idle timeout); True if it has."""
        with self._lock:
            worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True


# ---------------------------------------------------------------------- benchmark


def benchmark_live(
    frames: Sequence[np.ndarray],
    seconds: float = 10.0,
    *,
    camera_fps: float = 30.0,
    settings: Settings | None = None,
    warmup_s: float = 2.0,
) -> dict[str, float]:
    """Feed RGB frames (looped) to a LiveSession at ``camera_fps`` for ``seconds`` through the
    same callback streamlit-webrtc calls (``av.VideoFrame`` in yuv420p, as a WebRTC decoder
    gives them) and measure the live path.

    Returns fps (annotated frames per second), latency_ms_median / latency_ms_p95 (frame arrival
    -> annotated frame ready), dropped (frames replaced by a newer one before being processed),
    received, processed, with_person, backend. The first ``warmup_s``, and any time after them
    until the first frame is processed (model loading), are fed but not counted.
    """
    import av

    if not len(frames):
        raise ValueError("benchmark_live needs at least one frame")
    vframes = [av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24").reformat(
        format="yuv420p") for f in frames]
    session = LiveSession(LiveConfig(idle_timeout_s=60.0), settings=settings)
    session.stats_file = None  # never write the debug file from a benchmark
    period = 1.0 / camera_fps
    try:
        base: LiveSnapshot | None = None
        start = time.monotonic()
        measured_from = None
        i = 0
        while True:
            now = time.monotonic()
            # the window opens once the model has answered: loading it may take longer than warmup_s
            if base is None and now - start >= warmup_s and (snap := session.snapshot()).frames_processed:
                base, measured_from = snap, now
            elif base is None and now - start >= warmup_s + 120:
                raise RuntimeError("the live path processed no frame in two minutes")
            if measured_from is not None and now - measured_from >= seconds:
                break
            session.video_frame_callback(vframes[i % len(vframes)])
            i += 1
            if (err := session.snapshot().error if i % 30 == 0 else None):
                raise RuntimeError(err)
            next_at = start + i * period
            time.sleep(max(0.0, next_at - time.monotonic()))
        end = session.snapshot()
        elapsed = time.monotonic() - measured_from
    finally:
        session.close()
    assert base is not None
    processed = end.frames_processed - base.frames_processed
    lat = session.latencies_ms(base.frames_processed)
    return {
        "fps": round(processed / elapsed, 2),
        "latency_ms_median": round(float(np.median(lat)), 2) if len(lat) else float("nan"),
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 2) if len(lat) else float("nan"),
        "dropped": end.frames_dropped - base.frames_dropped,
        "received": end.frames_received - base.frames_received,
        "processed": processed,
        "with_person": end.frames_with_person - base.frames_with_person,
        "camera_fps": camera_fps,
        "seconds": round(elapsed, 2),
        "backend": end.backend,
        "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
    }


__all__ = [
    "AngleStat", "DEFAULT_TRACKED_ANGLES", "LiveConfig", "LiveOutcome", "LiveSession",
    "LiveSnapshot", "NO_PERSON_MESSAGE", "PARTIAL_BODY_MESSAGE", "RepVerdict", "benchmark_live",
    "tracked_angles",
]
