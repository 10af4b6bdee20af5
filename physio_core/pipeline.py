"""The one orchestration of a recording: frames -> one person's poses -> angles -> reps.

``FrameAnalyzer`` is the per-frame step (pose estimation + following one person) that both the
upload path (``analyze_video``) and the live page use; ``finish_sequence`` turns the collected
poses into a ``SessionResult`` (filtering, angles, reps) for both as well.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import multiprocessing
import multiprocessing.spawn
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
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
# phones' slow-motion and sports modes film at 120-240 fps: pose on more than 60 frames a second
# costs time and storage, not accuracy (the models work at 30 Hz, UI-PRMD's rate)
MAX_ANALYSIS_FPS = 60.0


# a picture whose shorter side has fewer pixels than this is too small for the pose model to find a body
# in (the test clip's jumping man, filling the picture, in H.264: found at 128×96, not at 100×76)
SMALLEST_SIDE = 96
# a frame whose brightest pixels (99th percentile) stay below this has its levels stretched
# before pose estimation: the pose model finds nobody in a dim gym's or an evening's video
DIM_BELOW = 160


def lit_for_pose(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` as the pose model sees it: a dim frame's levels stretched (its 1st-99th percentile
    to 0-200, at most 6x: brighter, the noise made more false detections), any other frame as it
    is. The tracker and the drawn frames keep the original."""
    lo, hi = np.percentile(rgb[::8, ::8], (1, 99))
    if hi >= DIM_BELOW:
        return rgb
    import cv2

    gain = min(6.0, 200.0 / max(hi - lo, 1.0))
    return cv2.convertScaleAbs(rgb, alpha=gain, beta=-lo * gain)


def analysis_step(fps: float) -> int:
    """Analyse one frame in this many: every frame up to 60 fps, 120 fps -> 2, 240 fps -> 4."""
    return max(1, math.ceil(fps / MAX_ANALYSIS_FPS - 0.01))


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
        candidates = self.estimator.detect(lit_for_pose(frame_rgb), time_s)
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
    assess: bool = True,
    scored: bool = True,
) -> SessionResult:
    """Filter a raw pose sequence, compute the 23 angles and count reps -> SessionResult.

    ``assess``: also count a known movement with the learned rep detector, keeping the larger
    count (``assess.count_set``), and add the learned models' exercise label, per-rep scores and
    mistakes (physio_core.assess); missing models leave it out with a warning, never an error.
    Without it the principal-angle counter alone counts every set. ``scored=False`` (with
    ``assess``) counts the reps the same way but leaves out the label, scores and mistakes, for
    ``add_assessment`` to add later as it would have here: for a recording about to be split into
    sets, each assessed on its own (``sets.sets_or_whole``)."""
    from physio_core.assess import count_set
    from physio_core.kinematics import compute_angles

    valid = seq.valid
    n_person = int(valid.sum())
    scoring: list[str] = []
    filtered = smooth_sequence(seq) if smooth and n_person >= 2 else seq
    angles = compute_angles(filtered)
    reps: list[Rep] = []
    if n_person >= 2:
        ex = None if exercise in ("", "auto", None) else exercise
        try:
            reps = count_set(filtered, angles, ex, use_models=assess)
        except ValueError:  # the exercise's angles were never measured
            scoring.append(f"The angles of '{exercise}' could not be measured: no reps counted.")
    started = started_at or datetime.now(UTC)
    duration = float(seq.times[-1] - seq.times[0]) + 1.0 / seq.fps if len(seq) else 0.0
    result = SessionResult(
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
        warnings=list(warnings or []),
        analysis_warnings=scoring,
    )
    if assess and scored and n_person >= 2:
        add_assessment(result)
    return result


def score_again(pose: PoseSequence, exercise: str, *, backend: str, source: str = "",
                started_at: datetime | None = None, warnings: Sequence[str] = ()) -> SessionResult:
    """A stored session's analysis again, as ``exercise`` ("auto": recognised by the models),
    from its stored pose, already filtered when it was first analysed (so not filtered again:
    the angles stay the ones stored). ``warnings``: the session's warnings about its recording
    (``SessionResult.warnings``), kept; the old scoring's messages are made again."""
    return finish_sequence(pose, backend=backend, exercise=exercise, source=source, started_at=started_at,
                           warnings=warnings, smooth=False)


def add_assessment(result: SessionResult, models_dir: str | Path | None = None) -> None:
    """The models' per-rep / per-session assessment into ``result``; a failure is a warning.
    ``result``: one with reps and no assessment yet (``finish_sequence(..., scored=False)``)."""
    import logging

    from physio_core.assess import assess_session

    try:
        a = assess_session(result.pose, result.reps, result.fps, result.exercise, models_dir)
    except Exception as exc:  # a model bug must not cost the user the analysis
        logging.getLogger(__name__).exception("assessment failed")
        result.analysis_warnings.append(f"The exercise assessment could not be made ({exc}).")
        return
    if a is None:
        result.analysis_warnings.append("The exercise models are not available: no scores or mistakes.")
        return
    result.models = a.models
    result.exercise_label = a.exercise
    result.exercise_timeline = a.timeline
    result.rep_assessments = a.reps
    result.corrected_poses = a.corrected
    result.metrics.update(a.metrics)
    result.feedback.extend(a.feedback)
    result.analysis_warnings.extend(a.warnings)


# ------------------------------------------------------------------ recorded video

# videos at least this long are analysed by two pose processes, one per half (when the machine
# has two cores and no estimator is passed in): pose inference is ~85 % of the time
PARALLEL_MIN_S = 6.0
# the halves overlap by this much: the second process's pose model settles there (its first
# frames run the person detector afresh, with no temporal smoothing); its poses are used from
# the end of the overlap on
PARALLEL_OVERLAP_S = 1.0
# both halves' models agree on who is in view when the 2D centres are this close (fraction of
# the person's size) for this long
SAME_PERSON_FRAC = 0.25
AGREE_S = 0.3


@dataclass
class _Segment:
    """The per-frame outcome of analysing a video."""

    poses: list[PoseFrame | None] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    people: list[int] = field(default_factory=list)
    others: list[int] = field(default_factory=list)
    backend: str = ""
    damaged: bool = False


def _analyze_frames(analyzer: FrameAnalyzer, reader, on_frame: Callable[[int], None] | None
                    ) -> _Segment:
    seg = _Segment(backend=analyzer.backend)
    for frame in reader:
        fr = analyzer.process(frame.rgb, frame.time_s, frame.index)
        seg.poses.append(fr.pose)
        seg.times.append(frame.time_s)
        seg.people.append(fr.people_in_view)
        seg.others.append(fr.other_people)
        if on_frame is not None:
            on_frame(len(seg.poses))
    seg.damaged = reader.damaged
    return seg


# set in each pose worker process: the parent's queue of detections, and the "stop" events
# (both workers, the first half's worker)
_worker_queue = None
_worker_stop: tuple = ()
# a pose worker's estimator and the settings it was made with, kept for the worker's next video
_worker_estimator: tuple[Settings, PoseEstimator] | None = None


def _init_worker(detections, stop_all, stop_first) -> None:
    global _worker_queue, _worker_stop
    _worker_queue, _worker_stop = detections, (stop_all, stop_first)


def _estimator_for(settings: Settings) -> PoseEstimator:
    """This worker's estimator for ``settings``: the one of its last video, reset, when that was
    made with the same settings (MediaPipe's takes ~1 s to create, MMPose's longer)."""
    global _worker_estimator
    from physio_core.pose.factory import get_estimator

    if _worker_estimator is not None:
        made_with, estimator = _worker_estimator
        if made_with == settings:
            reset = getattr(estimator, "reset", None)
            if callable(reset):
                reset()
            return estimator
        _worker_estimator = None
        estimator.close()
    estimator = get_estimator(settings)
    _worker_estimator = (settings, estimator)
    return estimator


def _drop_estimator() -> None:
    global _worker_estimator
    if _worker_estimator is not None:
        _worker_estimator[1].close()
        _worker_estimator = None


def _person_patches(frame: np.ndarray, cands: list[PoseFrame]
                    ) -> list[tuple[int, int, np.ndarray]]:
    """The pixels under each candidate (its box and keypoints, clipped to the frame) as
    (y0, x0, patch): all the tracker reads of a frame (a torso colour histogram)."""
    h, w = frame.shape[:2]
    out = []
    for c in cands:
        pts = []
        if c.keypoints_2d is not None:
            kp = np.asarray(c.keypoints_2d, dtype=np.float64)
            pts.append(kp[np.isfinite(kp).all(axis=1)])
        if c.bbox is not None:
            pts.append(np.asarray(c.bbox, dtype=np.float64).reshape(2, 2))
        pts = np.concatenate(pts) if pts else np.empty((0, 2))
        pts = pts[np.isfinite(pts).all(axis=1)]
        if not len(pts):
            continue
        x0, y0 = np.clip(np.floor(pts.min(axis=0)).astype(int) - 1, 0, [w, h])
        x1, y1 = np.clip(np.ceil(pts.max(axis=0)).astype(int) + 2, 0, [w, h])
        if x1 > x0 and y1 > y0:
            out.append((int(y0), int(x0), frame[y0:y1, x0:x1].copy()))
    return out


@dataclass
class _Detected:
    """One frame as a pose worker saw it: the candidates and the pixels under them."""

    index: int
    time_s: float
    candidates: list[PoseFrame]
    patches: list[tuple[int, int, np.ndarray]]


def _detect_part(path: str, start: int, stop: int | None, part: int, max_side: int | None,
                 step: int, settings: Settings, run: int) -> tuple[str, bool]:
    """Pose worker body: this process's estimator on frames [start, stop) (decoded indices);
    sends ``(run, part, _Detected)`` per frame to the parent, then ``(run, part, None)``.
    Returns the backend's name and whether decoding stopped on damaged data."""
    from physio_core.video import EmptyVideoError, VideoReader

    reader = VideoReader(path, max_side=max_side, step=step, settings=settings, start_index=start)
    estimator = _estimator_for(settings)
    try:
        for frame in reader:
            if ((stop is not None and frame.index >= stop) or _worker_stop[0].is_set()
                    or (part == 0 and _worker_stop[1].is_set())):
                break
            cands = estimator.detect(lit_for_pose(frame.rgb), frame.time_s)
            _worker_queue.put((run, part, _Detected(frame.index, frame.time_s, cands,
                                                    _person_patches(frame.rgb, cands))))
    except EmptyVideoError:
        if start == 0:
            raise  # else: the header announced more frames than there are
    except BaseException:
        _drop_estimator()  # its state is unknown: the next video gets a new one
        raise
    finally:
        _worker_queue.put((run, part, None))
    return getattr(estimator, "name", type(estimator).__name__), reader.damaged


def _same_people(a: list[PoseFrame], b: list[PoseFrame]) -> bool:
    """Whether two pose models found the same people in a frame (2D centres within
    ``SAME_PERSON_FRAC`` of the person's size)."""
    ca = [c for c in map(_centre_size, a) if c is not None]
    cb = [c for c in map(_centre_size, b) if c is not None]
    if len(ca) != len(cb):
        return False
    return all(any(np.linalg.norm(x - y) <= SAME_PERSON_FRAC * max(size, 1.0) for y, _ in cb)
               for x, size in ca)


def _centre_size(pose: PoseFrame) -> tuple[np.ndarray, float] | None:
    if pose.keypoints_2d is None:
        return None
    kp = np.asarray(pose.keypoints_2d, dtype=np.float64)
    kp = kp[np.isfinite(kp).all(axis=1)]
    if len(kp) < 3:
        return None
    return kp.mean(axis=0), float(np.linalg.norm(kp.max(axis=0) - kp.min(axis=0)))


class _Detections:
    """The pose workers' frames in video order: the first half's, then the second's from the
    first frame after ``cut`` where both models have found the same people for ``agree``
    frames in a row (a single-person model follows whom its history says: the second half's,
    started afresh, may first pick someone else). Until then the first half's worker goes on.
    Also a ``PoseEstimator`` whose ``detect`` hands out the current frame's candidates."""

    def __init__(self, detections, futures: list[Future], stop_first, run: int, mid: int, cut: int,
                 agree: int, size: tuple[int, int], on_receive: Callable[[int], None] | None
                 ) -> None:
        self._queue = detections
        self._run = run  # kept workers serve one video after another: this video's messages
        self._futures = futures
        self._stop_first = stop_first
        self._mid, self._cut, self._agree = mid, cut, agree
        self._size = size  # (width, height) of the frames
        self._on_receive = on_receive
        self._pending: list[deque[_Detected]] = [deque(), deque()]
        self._ended = [False, False]
        self._count = 0
        self._current: _Detected | None = None
        self.joined_at: int | None = None  # first frame taken from the second worker
        self.name = ""

    def _receive(self) -> None:
        try:
            run, part, item = self._queue.get(timeout=0.1)
        except queue.Empty:
            for f in self._futures:  # a worker that failed sends nothing more
                if f.done() and f.exception() is not None:
                    raise f.exception()
            return
        if run != self._run:
            return
        if item is None:
            self._ended[part] = True
            return
        self._pending[part].append(item)
        self._count += 1
        if self._on_receive is not None:
            self._on_receive(self._count)

    def _next(self, part: int) -> _Detected | None:
        while not self._pending[part]:
            if self._ended[part]:
                return None
            self._receive()
        return self._pending[part].popleft()

    def _second_at(self, index: int) -> _Detected | None:
        """The second worker's frame ``index`` (its earlier frames are dropped)."""
        while True:
            while not self._pending[1]:
                if self._ended[1]:
                    return None
                self._receive()
            item = self._pending[1][0]
            if item.index > index:
                return None
            self._pending[1].popleft()
            if item.index == index:
                return item

    def _frame(self, item: _Detected) -> np.ndarray:
        w, h = self._size
        frame = np.zeros((h, w, 3), np.uint8)
        for y0, x0, patch in item.patches:
            frame[y0:y0 + patch.shape[0], x0:x0 + patch.shape[1]] = patch
        return frame

    def __iter__(self):
        """(index, time_s, frame): the frame is black but for the pixels under the people."""
        agreed = 0
        while (item := self._next(0)) is not None:
            self._current = item
            yield item.index, item.time_s, self._frame(item)
            if item.index < self._mid:
                continue
            other = self._second_at(item.index)
            agreed = agreed + 1 if other is not None and _same_people(
                item.candidates, other.candidates) else 0
            if item.index >= self._cut - 1 and agreed >= self._agree:
                self._stop_first.set()
                self.joined_at = item.index + 1
                break
        if self.joined_at is None:
            return  # the first worker went to the end
        while (item := self._next(1)) is not None:
            self._current = item
            yield item.index, item.time_s, self._frame(item)

    def drain(self) -> None:
        """After a failure: take what the workers still send until they have stopped (a
        process cannot exit while the queue holds data it put)."""
        while not all(self._ended):
            try:
                run, part, item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if all(f.done() for f in self._futures):
                    return
                continue
            if run == self._run and item is None:
                self._ended[part] = True

    def detect(self, frame_rgb: np.ndarray, time_s: float) -> list[PoseFrame]:
        return self._current.candidates if self._current is not None else []

    def close(self) -> None:
        pass


# what a pose worker imports; the fork server imports it once for all later workers (the
# pose workers do not import scipy.signal, 1-3 s in a fresh process: finish_sequence's
# modules are imported lazily, by the parent while the workers load their models)
_WORKER_PRELOAD = ["physio_core.pipeline", "physio_core.video",
                   "physio_core.pose.factory", "physio_core.pose.embedded"]


_starting_workers = threading.local()  # .on: this thread is starting pose worker processes


def _preparation_data(name: str, _stdlib=multiprocessing.spawn.get_preparation_data) -> dict:
    """multiprocessing's set-up data for a new child process, without the parent's main script
    while this thread starts pose workers (``_main_hidden_from_workers``)."""
    data = _stdlib(name)
    if getattr(_starting_workers, "on", False):
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


# the spawn and forkserver starters look the function up in multiprocessing.spawn when they start a child
multiprocessing.spawn.get_preparation_data = _preparation_data


@contextlib.contextmanager
def _main_hidden_from_workers():
    """Start pose workers without re-running the parent's main script in them.

    multiprocessing re-executes ``__main__`` (by path) in every spawned / forkserver child.
    Under Streamlit ``__main__`` is the app script itself (app.py with its login gate and
    database set-up), which must not run in a pose worker; the workers only need
    physio_core.pipeline, whose functions they receive by reference. Per thread, not by
    swapping ``sys.modules["__main__"]``: Streamlit sets that itself on every script run, so
    another session's run while this one started its workers put app.py back in them."""
    _starting_workers.on = True
    try:
        yield
    finally:
        _starting_workers.on = False


def _pose_context():
    # MediaPipe's threads do not survive fork(): fresh interpreters, or forks of a fork server
    # that has imported modules but started no thread
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_WORKER_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


class _PoseWorkers:
    """Two pose worker processes and what they share with the parent."""

    def __init__(self) -> None:
        ctx = _pose_context()
        self.detections, self.stop, self.stop_first = ctx.Queue(), ctx.Event(), ctx.Event()
        self.pool = ProcessPoolExecutor(2, mp_context=ctx, initializer=_init_worker,
                                        initargs=(self.detections, self.stop, self.stop_first))
        self.loading: list[Future] = []  # prewarm_pose_workers' model loads (each returns its pid)

    @property
    def broken(self) -> bool:
        return bool(getattr(self.pool, "_broken", False))  # a worker died (killed while idle)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


_kept: _PoseWorkers | None = None  # the workers kept for the next video
_kept_timer: threading.Timer | None = None
_kept_in_use = threading.Lock()  # one video at a time on the kept workers
_kept_guard = threading.Lock()  # guards _kept and _kept_timer
_runs = itertools.count()


def _take_kept() -> tuple[_PoseWorkers, bool]:
    """Under ``_kept_guard``: the kept workers, their wait stopped; new ones (True) when none
    were kept or one of them died while waiting."""
    global _kept, _kept_timer
    if _kept_timer is not None:
        _kept_timer.cancel()
        _kept_timer = None
    if _kept is not None and _kept.broken:
        _kept.shutdown()
        _kept = None
    fresh = _kept is None
    if fresh:
        _kept = _PoseWorkers()
    return _kept, fresh


def _wait_for_next(workers: _PoseWorkers, keep_s: float) -> None:
    """Under ``_kept_guard``: ``workers`` wait ``keep_s`` for the next video, then retire."""
    global _kept_timer
    _kept_timer = threading.Timer(keep_s, _retire, args=(workers,))
    _kept_timer.daemon = True  # never holds up the interpreter's exit
    _kept_timer.start()


@contextlib.contextmanager
def _pose_workers(keep_s: float):
    """The kept pose workers, kept ``keep_s`` more seconds after this video; while another
    video uses them (two uploads at once), or with ``keep_s`` 0, workers of this video's own."""
    global _kept
    if keep_s <= 0 or not _kept_in_use.acquire(blocking=False):
        workers = _PoseWorkers()
        try:
            yield workers
        finally:
            workers.shutdown()
        return
    try:
        with _kept_guard:
            workers, _ = _take_kept()
        workers.stop.clear()
        workers.stop_first.clear()
        done = False
        try:
            yield workers
            done = True
        finally:
            with _kept_guard:
                if done and not workers.broken:
                    _wait_for_next(workers, keep_s)
                else:  # stopped half-way or failed: fresh workers next time
                    _kept = None
            if not done:
                workers.shutdown()
    finally:
        _kept_in_use.release()


def _load_estimator(settings: Settings) -> int:
    """A kept worker's first task (``prewarm_pose_workers``): its estimator made before any video."""
    _estimator_for(settings)
    return os.getpid()


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def prewarm_pose_workers(settings: Settings | None = None, *, wait: bool = False) -> bool:
    """Start the kept pose workers and load their model before the next video (the upload page
    calls this while the user picks a file): MediaPipe takes about 1 s to load in each process,
    MMPose about 6.5 s on a CPU. Workers already waiting wait ``pose_workers_keep_s`` again from
    now. Never waits for a video that is using them. ``wait``: return once their model has
    loaded (the benchmark times a video from there). Returns whether workers are waiting."""
    settings = settings or get_settings()
    keep_s = settings.pose_workers_keep_s
    if keep_s <= 0 or usable_cores() < 2 or not _kept_in_use.acquire(blocking=False):
        return False
    try:
        with _kept_guard:
            workers, fresh = _take_kept()
            if fresh:
                with _main_hidden_from_workers():  # the processes start in submit(), one task each
                    workers.loading = [workers.pool.submit(_load_estimator, settings) for _ in range(2)]
            _wait_for_next(workers, keep_s)
            loading = list(workers.loading)
    finally:
        _kept_in_use.release()
    if wait:
        for f in loading:
            f.result()
    return True


def _retire(workers: _PoseWorkers) -> None:
    """The kept workers have waited long enough: let them go (their models free the memory)."""
    global _kept
    if not _kept_in_use.acquire(blocking=False):
        return  # a video took them meanwhile; it starts a new wait when it ends
    try:
        with _kept_guard:
            if _kept is not workers:
                return
            _kept = None
        workers.shutdown()
    finally:
        _kept_in_use.release()


def _percent_reporter(
    progress: Callable[[float], None] | None, expected: int
) -> Callable[[int], None] | None:
    """Frames done -> ``progress(fraction)``, called only when the whole percent changes (below
    100: finishing is reported by the caller)."""
    if progress is None:
        return None
    last = -1

    def report(done: int) -> None:
        nonlocal last
        pct = min(99, int(100 * done / expected))
        if pct > last:
            last = pct
            progress(pct / 100)

    return report


def _analyze_parallel(path: Path, reader, max_side: int | None, step: int, settings: Settings,
                      progress: Callable[[float], None] | None) -> _Segment:
    """Pose estimation of the two halves of the video in two processes; this process runs the
    ONE person tracker over every frame in order, as the serial path does, so the followed
    person is the same whichever process found the poses."""
    from physio_core.pose.tracking import PersonTracker
    from physio_core.video import EmptyVideoError

    n = reader.info.frame_count
    overlap = max(1, int(round(PARALLEL_OVERLAP_S * reader.info.fps)))
    mid = n // 2
    cut = mid + overlap  # the earliest join: the second worker starts at mid
    report = _percent_reporter(progress, max(1, -(-(n + overlap) // step)))

    with _pose_workers(settings.pose_workers_keep_s) as workers:
        run = next(_runs)
        args = (max_side, step, settings, run)
        with _main_hidden_from_workers():  # the processes start in submit()
            futures = [workers.pool.submit(_detect_part, str(path), 0, None, 0, *args),
                       workers.pool.submit(_detect_part, str(path), mid, None, 1, *args)]
        source = _Detections(workers.detections, futures, workers.stop_first, run, mid, cut,
                             max(1, int(round(AGREE_S * reader.info.fps / step))),
                             reader.output_size, report)
        import physio_core.reps  # noqa: F401  (for finish_sequence, while the workers start)
        from physio_core.assess import warm_up

        # this process mostly waits for the workers' poses: load the models finish_sequence
        # needs meanwhile (seconds for the first upload of a process), not after them
        warm_up()

        analyzer = FrameAnalyzer(source, tracker=PersonTracker())
        seg = _Segment()
        try:
            for index, time_s, frame in source:
                fr = analyzer.process(frame, time_s, index)
                seg.poses.append(fr.pose)
                seg.times.append(time_s)
                seg.people.append(fr.people_in_view)
                seg.others.append(fr.other_people)
            source.drain()  # the first worker's frames after the join
            names_damaged = [f.result() for f in futures]
        except BaseException:
            workers.stop.set()
            source.drain()
            raise
    if not seg.poses:
        raise EmptyVideoError(f"No frame could be decoded from '{path.name}'.")
    seg.backend = names_damaged[0][0] or names_damaged[1][0]
    seg.damaged = any(d for _, d in names_damaged)
    return seg


def analyze_video(
    path: str | os.PathLike,
    *,
    estimator: PoseEstimator | None = None,
    exercise: str = "auto",
    progress: Callable[[float], None] | None = None,
    settings: Settings | None = None,
    max_side: int | None = DEFAULT_MAX_SIDE,
    step: int | None = None,
    source: str | None = None,
    parallel: bool | None = None,
    scored: bool = True,
) -> SessionResult:
    """Analyse a recorded video of one person exercising.

    Raises FileNotFoundError, physio_core.video.VideoError and its subclasses (not a video,
    damaged, too large, too long, a single frame), PoseBackendUnavailable and NoPersonFound, each
    with a message meant for the user. ``progress(done_fraction)`` is called about a hundred times.

    ``step``: analyse one frame in ``step`` (None: ``analysis_step`` of the clip's frame rate).
    ``parallel``: run pose in two processes, one per half of the video (None: when no
    estimator is passed, the video lasts at least ``PARALLEL_MIN_S`` and two cores are free).
    ``scored``: as ``finish_sequence``'s. False for a video about to be split into sets, each
    assessed on its own (``sets.sets_or_whole``): the whole video's assessment would be thrown away.
    """
    from physio_core.video import VideoError, VideoReader

    settings = settings or get_settings()
    path = Path(path)
    reader = VideoReader(path, max_side=max_side, step=1 if step is None else step, settings=settings)
    if step is None:
        reader.step = step = analysis_step(reader.info.fps)
    expected = max(1, reader.expected_frames)
    fps = reader.info.fps / step
    warnings: list[str] = []

    if parallel is None:
        parallel = (estimator is None and usable_cores() >= 2
                    and reader.info.frame_count >= PARALLEL_MIN_S * reader.info.fps)
    if parallel and estimator is not None:
        raise ValueError("parallel analysis creates its own estimators: pass no estimator")

    if parallel:
        seg = _analyze_parallel(path, reader, max_side, step, settings, progress)
    else:
        analyzer = FrameAnalyzer(estimator, settings=settings)
        if estimator is not None:
            analyzer.reset()  # a caller's estimator may carry state from another video
        try:
            seg = _analyze_frames(analyzer, reader, _percent_reporter(progress, expected))
        finally:
            analyzer.close()
    poses, times, people, others = seg.poses, seg.times, seg.people, seg.others
    name = source or path.name  # the file's name as the user knows it (an upload's is stored under another)
    if len(poses) < 2:  # a still picture: no movement, nor anything a report can scrub through
        raise VideoError(f"'{name}' is too short to analyse: it holds a single frame. Film the whole "
                         "exercise, a few seconds at least.")

    seq = PoseSequence.from_frames(poses, np.asarray(times), fps)
    n_person = int(seq.valid.sum())
    if n_person == 0:
        w, h = reader.info.width, reader.info.height
        w, h = (h, w) if reader.info.rotation in (90, 270) else (w, h)  # as a phone shows it
        raise NoPersonFound(
            f"No person was found in '{name}' ({len(poses)} frames). Film the whole body, "
            "well lit, with the person at least a third of the picture's height."
            + (f" The picture is only {w}×{h} pixels, too few to find a body in: export the video at a "
               "higher resolution." if min(w, h) < SMALLEST_SIDE else "")
        )

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
    # the frames a header announces are an estimate where it gives only the duration (mkv, webm): at a
    # variable frame rate the frames read fall short of it, but they reach the end
    read_s = float(t[-1] - t[0]) + step / reader.info.fps
    if seg.damaged or (len(poses) < 0.9 * reader.expected_frames and read_s < 0.9 * reader.info.duration_s):
        warnings.append(
            f"Only {len(poses)} of the {reader.expected_frames} frames announced by the file "
            "could be read (damaged or cut file): the end is missing."
        )

    result = finish_sequence(
        seq,
        backend=seg.backend,
        exercise=exercise,
        source=source if source is not None else path.name,
        started_at=reader.info.filmed_at,  # else now: a session is dated when it was filmed
        warnings=warnings,
        scored=scored,
    )
    if progress is not None:
        progress(1.0)
    return result
