"""Whole-pipeline benchmark on this machine: ``python -m physio_core.bench``.

    python -m physio_core.bench [--json FILE] [--repeat N] [--quick] [--pose-only]
                                [--mmpose-device DEVICE ...]

Prints one table (median and min–max spread over ``--repeat`` runs) and the machine it ran on:

- pose:   frames per second of the embedded backend (and MMPose where it starts; on CUDA when
          the machine has it) on 640×480 frames letterboxed from the real test clip;
- core:   per-frame time after pose, the live worker's stages (skeleton conversion, person
          tracking, One-Euro filter, 23 angles, streaming rep counter): median and p95;
- models: the learned models' work, which runs off the frame path on the live session's second
          thread: the exercise recognised from the last 3 s (twice a second with the exercise
          on "auto") and one counted rep's assessment (mistake GCN with correction, stability);
- upload: ``analyze_video`` on a 30 fps video (the clip looped to ~23 s) in a child process,
          as a multiple of real time, and the peak summed RSS of that child and its pose workers;
          then the annotated video of that upload (``write_annotated_video``), as a multiple of
          real time;
- live:   ``live.benchmark_live``: processed fps and latency of the live path fed at 30 fps;
- db:     finished sessions (a 60 s pose series each) stored per second into a temporary
          Postgres database (n/a with the reason when unreachable), SQLite alongside.
- report: a stored 10-min session as its page uses it: read back, its charts, its report's
          three downloads and its five exports (ms each; the files are built when clicked).

``--json FILE`` writes the headline figures under the contract keys (``JSON_KEYS``) plus the
full detail. ``--quick`` is a seconds-long smoke run (tiny inputs, one repeat): its figures
are not meaningful. ``--pose-only`` times the pose backends alone (a GPU host's MMPose on
CUDA needs neither MediaPipe nor the rest of the app). Nothing here asserts a speed: the goals
are shown, not enforced.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEST_CLIP = PROJECT_ROOT / "tests" / "data" / "sports2d_demo.mp4"
BENCH_SIZE = (640, 480)  # (width, height)
CAMERA_FPS = 30.0
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

JSON_KEYS = (
    "pose_fps", "core_ms_median", "upload_realtime_factor", "live_fps", "peak_rss_mb",
    "db_sessions_per_s",
)  # fmt: skip

# goals on the 2-core CPU reference machine: (key, comparison, value)
GOALS: dict[str, tuple[str, float]] = {
    "live_fps": (">=", 25.0),
    "upload_realtime_factor": (">=", 2.0),
    "core_ms_median": ("<=", 2.0),
    "peak_rss_mb": ("<=", 1536.0),
}


# ---------------------------------------------------------------------------- result types


@dataclass
class Figure:
    """One row of the table: every run's value, summarised as median and min–max."""

    name: str
    unit: str
    runs: list[float] = field(default_factory=list)
    key: str | None = None  # the JSON contract key this row feeds, if any
    note: str = ""
    na_reason: str | None = None  # set when the figure could not be measured here

    @property
    def median(self) -> float | None:
        return float(statistics.median(self.runs)) if self.runs and self.na_reason is None else None

    @property
    def spread(self) -> tuple[float, float] | None:
        return (min(self.runs), max(self.runs)) if self.runs and self.na_reason is None else None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["median"], d["spread"] = self.median, self.spread
        return d


@dataclass
class MachineInfo:
    cpu: str
    cores: int
    ram_gib: float
    python: str
    torch: str
    mediapipe: str
    load_avg_start: tuple[float, float, float]
    cuda: str | None

    def line(self) -> str:
        la = ", ".join(f"{x:.2f}" for x in self.load_avg_start)
        gpu = f", GPU {self.cuda}" if self.cuda else ", no CUDA"
        return (f"{self.cpu}, {self.cores} cores, {self.ram_gib:.1f} GiB RAM{gpu}; Python "
                f"{self.python}, torch {self.torch}, mediapipe {self.mediapipe}; "
                f"load average at start {la}")


# ---------------------------------------------------------------------------- machine


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def machine_info() -> MachineInfo:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) / 2**20
                break
    except OSError:
        pass
    from physio_core.pipeline import usable_cores

    cores = usable_cores()
    cuda = None
    try:
        import torch

        if torch.cuda.is_available():
            cuda = torch.cuda.get_device_name(0)
    except Exception:  # a broken torch must not stop the benchmark
        pass
    return MachineInfo(cpu, cores, ram, platform.python_version(), _version("torch"),
                       _version("mediapipe"), tuple(os.getloadavg()), cuda)


# ---------------------------------------------------------------------------- inputs


def letterbox_frames(path: Path, size: tuple[int, int] = BENCH_SIZE, limit: int | None = None
                     ) -> list[np.ndarray]:
    """The clip's frames scaled to fit ``size`` (aspect kept) and centred on black, RGB uint8."""
    import av

    w, h = size
    out: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            s = min(w / frame.width, h / frame.height)
            fw, fh = int(frame.width * s) // 2 * 2, int(frame.height * s) // 2 * 2
            rgb = frame.to_ndarray(width=fw, height=fh, format="rgb24", interpolation="AREA")
            canvas = np.zeros((h, w, 3), np.uint8)
            y0, x0 = (h - fh) // 2, (w - fw) // 2
            canvas[y0:y0 + fh, x0:x0 + fw] = rgb
            out.append(canvas)
            if limit is not None and len(out) >= limit:
                break
    if not out:
        raise RuntimeError(f"no frame could be decoded from {path}")
    return out


def write_looped_video(src: Path, dst: Path, loops: int, max_frames: int | None = None) -> float:
    """Re-encode ``src`` ``loops`` times at 30 fps (H.264), every other pass played backwards so
    that the motion never jumps (a cut would make the tracker lose the person and leave the
    rest of the video without poses); returns the duration (s)."""
    import av

    n = 0
    with av.open(str(src)) as inp:
        frames = [f.to_ndarray(format="rgb24") for f in inp.decode(inp.streams.video[0])]
    if max_frames is not None:
        frames = frames[:max_frames]
    h, w = frames[0].shape[:2]
    with av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=int(CAMERA_FPS))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        for k in range(loops):
            for rgb in (frames if k % 2 == 0 else frames[::-1]):
                for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                    out.mux(packet)
                n += 1
        for packet in stream.encode():
            out.mux(packet)
    return n / CAMERA_FPS


# ---------------------------------------------------------------------------- pose


def _pose_fps_once(est: Any, frames: Sequence[np.ndarray], warmup: int) -> tuple[float, float]:
    """Frames per second of the estimator ``est`` over ``frames`` (after ``warmup`` frames),
    and the people it returned per frame; closes ``est``."""
    try:
        for i, f in enumerate(frames[:warmup]):
            est.detect(f, i / CAMERA_FPS)
        people = 0
        t0 = time.perf_counter()
        for i, f in enumerate(frames, start=warmup):
            people += len(est.detect(f, i / CAMERA_FPS))
        return len(frames) / (time.perf_counter() - t0), people / len(frames)
    finally:
        est.close()


def _time_backend(fig: Figure, settings: Any, frames: Sequence[np.ndarray], repeat: int,
                  warmup: int) -> tuple[list[str], float] | None:
    """``repeat`` runs of the pose backend ``settings`` names, each on a fresh estimator, into
    ``fig.runs``; returns the models it left with random weights and the people it returned per
    frame, or None (the reason in ``fig.na_reason``) when the backend cannot start here."""
    from physio_core.pose.base import PoseBackendUnavailable
    from physio_core.pose.factory import get_estimator

    random: list[str] = []
    people = []
    for _ in range(repeat):
        try:
            est = get_estimator(settings)
        except PoseBackendUnavailable as exc:
            fig.na_reason = str(exc).splitlines()[0][:160]
            return None
        random = getattr(est, "random_weights", [])
        fps, per_frame = _pose_fps_once(est, frames, warmup)
        fig.runs.append(fps)
        people.append(per_frame)
    return random, statistics.mean(people)


MMPOSE_STAGES = (("detector", "person detector"), ("pose2d", "2D pose"), ("lifter", "3D lifter"),
                  ("rest", "rest of the frame"))


def mmpose_stage_figures(settings: Any, frames: Sequence[np.ndarray], warmup: int) -> list[Figure]:
    """Where an MMPose frame's time goes, from one more run that times each stage: a row per
    stage, its median and range over the frames it ran on ("rest": conversion, tracking and
    the Python between the stages). Empty when the backend cannot start."""
    from physio_core.pose.base import PoseBackendUnavailable
    from physio_core.pose.factory import get_estimator

    try:
        est = get_estimator(settings)
    except PoseBackendUnavailable:
        return []
    try:
        for i, f in enumerate(frames[:warmup]):
            est.detect(f, i / CAMERA_FPS)
        est.stage_ms = []
        for i, f in enumerate(frames, start=warmup):
            est.detect(f, i / CAMERA_FPS)
        per_frame = est.stage_ms
    finally:
        est.close()
    for ms in per_frame:
        ms["rest"] = ms["frame"] - sum(v for k, v in ms.items() if k != "frame")
    device = settings.mmpose_device
    figs = []
    for stage, label in MMPOSE_STAGES:
        runs = [ms[stage] for ms in per_frame if stage in ms]
        fig = Figure(f"MMPose ({device}) stage: {label}", "ms", runs=runs)
        fig.note = f"ran on {len(runs)} of {len(per_frame)} frames; median and range over them"
        if not runs:
            fig.na_reason = "it ran on no frame"
        figs.append(fig)
    return figs


def bench_pose(frames: Sequence[np.ndarray], repeat: int, warmup: int,
               mmpose_devices: Sequence[str] | None = None) -> list[Figure]:
    """The embedded backend's fps, then MMPose's on each of ``mmpose_devices`` (default: the
    CPU, and the first GPU where torch sees one)."""
    from physio_core.config import get_settings

    settings = get_settings()
    size = f"{BENCH_SIZE[0]}×{BENCH_SIZE[1]}, {len(frames)} frames a run"
    embedded = Figure("pose fps, embedded (MediaPipe, complexity 1)", "fps", key="pose_fps",
                      note=size)
    _time_backend(embedded, settings.model_copy(update={"pose_backend": "embedded"}), frames,
                  repeat, warmup)
    figs = [embedded]

    if mmpose_devices is None:
        mmpose_devices = ["cpu"] + (["cuda:0"] if machine_info().cuda else [])
    for device in mmpose_devices:
        fig = Figure(f"pose fps, MMPose ({device})", "fps", note=size)
        mm = settings.model_copy(update={"pose_backend": "mmpose", "mmpose_device": device})
        figs.append(fig)
        timed = _time_backend(fig, mm, frames, repeat, warmup)
        if timed is None:
            break  # not installed: no point trying the other device
        random, people = timed
        fig.note += f", {people:.1f} people a frame"
        if mm.mmpose_det_every > 1:
            fig.note += f", detector on 1 frame in {mm.mmpose_det_every}"
        if not mm.mmpose_fuse_conv_bn:
            fig.note += ", batch norms not fused"
        if random:
            # allowed by PHYSIO_MMPOSE_ALLOW_RANDOM_WEIGHTS: the speed holds, the poses do not
            fig.note += f", random weights ({', '.join(random)})"
        figs += mmpose_stage_figures(mm, frames, warmup)
    return figs


# ---------------------------------------------------------------------------- core after pose


def mediapipe_landmarks(frames: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """MediaPipe's raw (world, image) landmark arrays per frame (None: nobody found), with the
    embedded backend's options, so the core stages can be timed without pose in the loop."""
    from mediapipe.python.solutions import pose as mp_pose

    from physio_core.pose.converters import mediapipe_landmarks_array

    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    with mp_pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                      enable_segmentation=False) as pose:
        for f in frames:
            r = pose.process(f)
            if r.pose_landmarks is None or r.pose_world_landmarks is None:
                out.append(None)
            else:
                out.append((mediapipe_landmarks_array(r.pose_world_landmarks.landmark),
                            mediapipe_landmarks_array(r.pose_landmarks.landmark)))
    return out


def load_models() -> tuple[Any | None, str]:
    """The learned models' runtime facade (``physio_core.ml.runtime.ModelSuite``) and a note
    saying which models it holds; (None, reason) when that module is absent or fails."""
    try:
        from physio_core.ml.runtime import ModelSuite
    except ImportError as exc:
        return None, f"no ml runtime ({exc})"
    try:
        suite = ModelSuite.load()
    except Exception as exc:  # broken weights must not stop the benchmark
        return None, f"ml runtime failed to load: {type(exc).__name__}: {exc}"[:120]
    loaded = sorted(set(("classifier", "rep", "stability", "gcn", "judge")) - set(suite.missing))
    return suite, "models: " + (", ".join(loaded) if loaded else "none trained yet (features only)")


CORE_STAGES = ("conversion", "tracking", "filter", "angles", "reps")


def _core_once(landmarks: Sequence[tuple[np.ndarray, np.ndarray] | None],
               frames: Sequence[np.ndarray]) -> np.ndarray:
    """Per-frame stage times (n_frames, len(CORE_STAGES)) in ms, as the live worker runs them."""
    from physio_core.filters import OneEuroFilter
    from physio_core.kinematics import ANGLE_NAMES, compute_angles_frame
    from physio_core.pose.converters import mediapipe_to_canonical
    from physio_core.pose.tracking import PersonTracker
    from physio_core.reps import StreamingRepCounter
    from physio_core.skeleton import N_JOINTS

    tracker = PersonTracker()
    one_euro = OneEuroFilter(min_cutoff=1.0, beta=0.3)  # the live session's settings
    counter = StreamingRepCounter(CAMERA_FPS, ANGLE_NAMES)  # exercise "auto": every angle
    no_pose = np.full((N_JOINTS, 3), np.nan)
    times = np.zeros((len(landmarks), len(CORE_STAGES)))
    clock = time.perf_counter
    w, h = BENCH_SIZE
    for i, (lm, frame) in enumerate(zip(landmarks, frames)):
        t = i / CAMERA_FPS
        c0 = clock()
        cands = [] if lm is None else [mediapipe_to_canonical(lm[0], lm[1], (w, h))]
        c1 = clock()
        pose = tracker.update(cands, frame).pose
        c2 = clock()
        if pose is not None:
            joints = one_euro(pose.joints.reshape(-1), t).reshape(N_JOINTS, 3)
            c3 = clock()
            angles = compute_angles_frame(joints, pose.confidence)
        else:
            c3 = clock()
            joints = no_pose
            angles = np.full(len(ANGLE_NAMES), np.nan)
        c4 = clock()
        counter.update(angles, t, joints)
        c5 = clock()
        times[i] = np.diff([c0, c1, c2, c3, c4, c5]) * 1e3
    return times


def bench_core(landmarks, frames, repeat: int) -> tuple[list[Figure], dict[str, float]]:
    med = Figure("core after pose, median per frame", "ms", key="core_ms_median")
    p95 = Figure("core after pose, p95 per frame", "ms")
    med.note = "conversion+tracking+filter+angles+reps (the live worker's frame path)"
    p95.note = "no model runs on the frame path (see the models rows)"
    stage_medians = []
    for _ in range(repeat):
        per = _core_once(landmarks, frames)
        total = per.sum(axis=1)
        med.runs.append(float(np.median(total)))
        p95.runs.append(float(np.percentile(total, 95)))
        stage_medians.append(np.median(per, axis=0))
    breakdown = dict(zip(CORE_STAGES, np.median(stage_medians, axis=0).round(4).tolist()))
    return [med, p95], breakdown


def bench_models(poses: Sequence[Any], repeat: int) -> list[Figure]:
    """The models' calls on the live session's second thread, timed one by one on the test
    clip's poses: the exercise recognised from each window the live session would send (its
    ``LiveConfig`` length and spacing) and the assessment of each rep the offline counter finds
    (as if the exercise were picked, so every model runs)."""
    from physio_core.assess import assess_one_rep, recognise_window
    from physio_core.live import LiveConfig
    from physio_core.pipeline import finish_sequence, smooth_sequence
    from physio_core.report import rep_correction_figure
    from physio_core.skeleton import PoseSequence

    rec = Figure("models: exercise recognition, per reading", "ms",
                 note="last 3 s, twice a second; live session's second thread")
    rep = Figure("models: rep assessment, per rep", "ms",
                 note="mistake GCN + correction, stability; once a rep, second thread")
    replay = Figure("report: one rep replayed against its correction", "ms",
                    note="a rep against its correction, every frame, to JSON (picking a rep)")
    suite, note = load_models()
    if suite is None:
        rec.na_reason = rep.na_reason = replay.na_reason = note
        return [rec, rep, replay]
    seq = PoseSequence.from_frames(list(poses), np.arange(len(poses)) / CAMERA_FPS, CAMERA_FPS)
    live = LiveConfig()
    win, step = int(live.recognise_window_s * CAMERA_FPS), int(live.recognise_every_s * CAMERA_FPS)
    windows = [seq.slice(e - win, e) for e in range(win, len(seq) + 1, step)]
    reps = finish_sequence(seq, backend="mediapipe", source="bench", assess=False).reps
    rep_poses = [smooth_sequence(seq.slice(r.start_frame, r.end_frame + 1)) for r in reps]
    if not windows:
        rec.na_reason = "the clip is shorter than one window"
    if not rep_poses:
        rep.na_reason = replay.na_reason = "no rep counted in the clip"
    if windows:
        recognise_window(windows[0])  # models loaded before timing
    clock = time.perf_counter
    for _ in range(repeat):
        t = []
        for w in windows:
            c0 = clock()
            recognise_window(w)
            t.append((clock() - c0) * 1e3)
        rec.runs.append(float(np.median(t)) if t else float("nan"))
        t, shown = [], []
        for r, rp in zip(reps, rep_poses):
            c0 = clock()
            assessed = assess_one_rep(rp, "deep_squat")
            t.append((clock() - c0) * 1e3)
            if assessed is not None and assessed[1] is not None:
                c0 = clock()
                rep_correction_figure(seq, r, assessed[1]).to_json()  # as the report draws a picked rep
                shown.append((clock() - c0) * 1e3)
        rep.runs.append(float(np.median(t)) if t else float("nan"))
        replay.runs.append(float(np.median(shown)) if shown else float("nan"))
    rec.note += f"; {note}"
    return [rec, rep, replay]


def bench_sets(result, repeat: int) -> list[Figure]:
    """The set search (``physio_core.sets.find_sets``) along a recording: what Split into sets
    adds to an upload, and what Look for sets costs on a session's page."""
    from physio_core.sets import find_sets

    fig = Figure(f"sets: set search, {len(result.pose) / CAMERA_FPS:.0f} s recording", "ms",
                 note="the exercise read in 3 s windows 1.5 s apart, rests found; once per upload")
    suite, note = load_models()
    if suite is None:
        fig.na_reason = note
        return [fig]
    find_sets(result.pose)  # models loaded before timing
    for _ in range(repeat):
        c0 = time.perf_counter()
        find_sets(result.pose)
        fig.runs.append((time.perf_counter() - c0) * 1e3)
    return [fig]


def synthetic_workout(sets: int = 3, reps: int = 10, period_s: float = 2.5, rest_s: float = 30.0):
    """A wrist-IMU workout at 25 Hz: ``sets`` sets of ``reps`` reps (0.3 g along gravity, a
    ``period_s`` rhythm), standing still ``rest_s`` before, between and after them."""
    from physio_core.imu.io import ImuSeries

    rng = np.random.default_rng(0)
    rate = 25.0
    still = np.zeros(int(rest_s * rate))
    lift = 0.3 * np.sin(2 * np.pi * np.arange(int(reps * period_s * rate)) / (period_s * rate))
    along = np.concatenate([still] + [np.concatenate([lift, still]) for _ in range(sets)])
    acc = np.c_[np.zeros_like(along), -(1.0 + along), 0.1 * along] + rng.normal(0, 0.01, (len(along), 3))
    gyr = np.c_[20 * np.gradient(along), np.zeros_like(along), np.zeros_like(along)] + rng.normal(0, 1, (len(along), 3))
    return ImuSeries(np.arange(len(along)) / rate, acc, gyr)


def bench_imu(repeat: int) -> list[Figure]:
    """The wrist-sensor page: one set analysed (lift, reps, stability), and a workout split into
    its sets, each analysed (synthetic recordings: the time depends on their length, not on what
    they hold)."""
    from physio_core.imu.analyze import analyze_imu
    from physio_core.imu.classifier import LiftClassifier
    from physio_core.imu.workout import split_workout

    workout = synthetic_workout()
    one = synthetic_workout(sets=1, rest_s=5.0)
    single = Figure(f"IMU: one set analysed, {one.duration_s:.0f} s", "ms",
                    note="set found, lift recognised, reps counted, stability")
    split = Figure(f"IMU: workout split, {workout.duration_s / 60:.0f} min, 3 sets", "ms",
                   note="windows read, sets found, each analysed; once per upload")
    clf = LiftClassifier.load()
    split_workout(workout, clf)  # first call's imports before timing
    for _ in range(repeat):
        c0 = time.perf_counter()
        analyze_imu(one, classifier=clf)
        c1 = time.perf_counter()
        split_workout(workout, clf)
        c2 = time.perf_counter()
        single.runs.append((c1 - c0) * 1e3)
        split.runs.append((c2 - c1) * 1e3)
    return [single, split]


# ---------------------------------------------------------------------------- upload


def _tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants (the upload's pose workers)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            status = (d / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(d.name)
        parents[pid] = int(fields.get("PPid", "0").strip() or 0)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sum(rss.get(p, 0) for p in tree)


class _TreeRssSampler:
    """Peak of the summed RSS of this process and its children, sampled every 50 ms.

    Linux's ru_maxrss (and so RUSAGE_CHILDREN in the parent) keeps the RSS of the process that
    forked it across exec and never sums concurrent children, so the upload's real footprint
    (parent + two pose workers) is sampled instead."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)

    def _run(self, interval_s: float) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, _tree_rss_kib(os.getpid()))
            self._stop.wait(interval_s)

    def __enter__(self) -> "_TreeRssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, _tree_rss_kib(os.getpid()))


def _upload_child(video: str, prewarmed: bool = False) -> None:
    """Child process body: analyse one video, print the figures as one JSON line.

    The timing is that of a warm server process (the library's modules already imported, as
    they are once the app has served a page); loading the pose model is counted, since every
    upload creates its own estimator. ``prewarmed``: first what the upload page does while a
    file is picked (the pose processes and the learned models loaded), then time the video alone."""
    import physio_core.filters  # noqa: F401  (scipy.signal alone takes ~1-3 s to import)
    import physio_core.kinematics  # noqa: F401
    import physio_core.reps  # noqa: F401
    from physio_core import pipeline
    from physio_core.pipeline import analyze_video
    from physio_core.video import probe_video

    duration = probe_video(video).duration_s
    if prewarmed:
        from physio_core.assess import warm_up

        loading = warm_up()
        pipeline.prewarm_pose_workers(wait=True)
        loading.join()
        t0 = time.perf_counter()
        analyze_video(video)
        print(json.dumps({"wall_s": time.perf_counter() - t0, "duration_s": duration}))
        return
    with _TreeRssSampler() as rss:
        t0 = time.perf_counter()
        result = analyze_video(video)
        wall = time.perf_counter() - t0
    rss_kib = rss.peak_kib
    t0 = time.perf_counter()
    analyze_video(video)  # the next video of a batch: the pose processes are kept, their model loaded
    next_wall = time.perf_counter() - t0
    from physio_core.annotate import write_annotated_video

    with tempfile.TemporaryDirectory(prefix="physio-bench-") as tmp:
        t0 = time.perf_counter()
        write_annotated_video(video, result, Path(tmp) / "annotated.mp4")
        annotated_s = time.perf_counter() - t0
    print(json.dumps({"wall_s": wall, "duration_s": duration, "frames": result.frames,
                      "frames_with_person": result.frames_with_person,
                      "reps": result.rep_count, "rss_mb": rss_kib / 1024, "annotated_s": annotated_s,
                      "next_wall_s": next_wall}))


def bench_upload(video: Path, repeat: int) -> tuple[list[Figure], dict[str, Any]]:
    factor = Figure("upload analysis speed", "× real time", key="upload_realtime_factor")
    rss = Figure("upload analysis peak RSS", "MiB", key="peak_rss_mb",
                 note="analyze_video process + its pose workers, summed")
    again = Figure("upload analysis speed, next video", "× real time", key="upload_next_realtime_factor",
                   note="the same video again in that process: pose processes kept, model loaded")
    opened = Figure("upload analysis speed, page opened first", "× real time",
                    key="upload_prewarmed_realtime_factor",
                    note="a fresh process: pose processes and models loaded first, as the upload page does "
                         "while a file is picked; timed from Analyse")
    annotated = Figure("annotated video speed", "× real time",
                       note="write_annotated_video of that upload: decode, draw, H.264 encode")
    detail: dict[str, Any] = {}

    def child(*extra: str) -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, "-m", "physio_core.bench", "--upload-child", str(video), *extra],
            capture_output=True, text=True, cwd=PROJECT_ROOT,
        )
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            raise RuntimeError(f"upload analysis failed: {tail}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    for _ in range(repeat):
        out = child()
        warm = child("--prewarmed")
        opened.runs.append(warm["duration_s"] / warm["wall_s"])
        factor.runs.append(out["duration_s"] / out["wall_s"])
        rss.runs.append(out["rss_mb"])
        again.runs.append(out["duration_s"] / out["next_wall_s"])
        annotated.runs.append(out["duration_s"] / out["annotated_s"])
        detail = out
    factor.note = f"{detail['duration_s']:.1f} s video at 30 fps, {detail['frames']} frames"
    return [factor, opened, again, rss, annotated], detail


# ---------------------------------------------------------------------------- live


def bench_live(frames: Sequence[np.ndarray], repeat: int, seconds: float, warmup_s: float
               ) -> tuple[list[Figure], list[dict[str, Any]]]:
    from physio_core.live import benchmark_live

    fps = Figure("live processed fps", "fps", key="live_fps",
                 note=f"{BENCH_SIZE[0]}×{BENCH_SIZE[1]} fed at {CAMERA_FPS:.0f} fps, newest frame wins")
    lat = Figure("live added latency, median", "ms", note="frame arrival → annotated frame")
    lat95 = Figure("live added latency, p95", "ms")
    runs = []
    for _ in range(repeat):
        out = benchmark_live(frames, seconds=seconds, camera_fps=CAMERA_FPS, warmup_s=warmup_s)
        runs.append(out)
        fps.runs.append(float(out["fps"]))
        lat.runs.append(float(out["latency_ms_median"]))
        lat95.runs.append(float(out["latency_ms_p95"]))
    return [fps, lat, lat95], runs


# ---------------------------------------------------------------------------- database


def realistic_result(poses: Sequence[Any], seconds: float = 60.0):
    """A finished SessionResult of ``seconds`` built from real poses (looped) of the test clip,
    filtered, with its 23 angles and reps, as the upload path stores it."""
    from physio_core.pipeline import finish_sequence
    from physio_core.skeleton import PoseSequence

    n = int(seconds * CAMERA_FPS)
    looped = [poses[i % len(poses)] for i in range(n)]
    seq = PoseSequence.from_frames(looped, np.arange(n) / CAMERA_FPS, CAMERA_FPS)
    return finish_sequence(seq, backend="mediapipe", source="bench")


def _store_rate(url: str, result, sessions: int) -> float:
    from physio_core.store import create_user, init_db, save_session_result

    engine = init_db(url)
    athlete = create_user(engine, None, f"bench athlete {uuid.uuid4().hex[:6]}", "athlete")
    save_session_result(engine, result, athlete.id)  # first write warms the pool and caches
    t0 = time.perf_counter()
    for _ in range(sessions):
        save_session_result(engine, result, athlete.id)
    return sessions / (time.perf_counter() - t0)


def _roster_ms(url: str, athletes: int, sessions_each: int, repeat: int) -> list[float]:
    """Milliseconds for an administrator's roster (My athletes / Administration, on every rerun)
    over ``athletes`` athletes with ``sessions_each`` ended sessions each, stored directly (not
    through save_session_result: only the session and metrics rows are read)."""
    from sqlmodel import Session

    from physio_core import progress
    from physio_core.store import Role, create_user, init_db
    from physio_core.store.models import PerformanceMetrics, SessionRecord

    engine = init_db(url)
    tag = uuid.uuid4().hex[:6]
    admin = create_user(engine, f"bench-admin-{tag}@bench.test", "Bench admin", Role.ADMIN)
    ids = [create_user(engine, None, f"bench roster {tag} {i}", Role.ATHLETE).id for i in range(athletes)]
    day0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
    with Session(engine) as s:
        for athlete_id in ids:
            for k in range(sessions_each):
                rec = SessionRecord(athlete_id=athlete_id, exercise="deep_squat", source="bench",
                                    started_at=day0 + timedelta(days=k), status="ended", rep_count=10,
                                    ended_at=day0 + timedelta(days=k, minutes=1))
                s.add(rec)
                s.flush()
                s.add(PerformanceMetrics(session_id=rec.id, stability_score=0.8, balance_score=0.7,
                                         injury_risk=0.2, extra={"rom_deg": {"knee_angle_r": 110.0},
                                                                 "correct_share": 0.8}))
        s.commit()
    progress.roster(engine, admin.id)  # warm the pool
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        progress.roster(engine, admin.id)
        runs.append(1000 * (time.perf_counter() - t0))
    return runs


def _pg_admin_url() -> str:
    from physio_core.config import get_settings

    url = os.environ.get("PHYSIO_BENCH_PG_URL") or get_settings().database_url or ""
    return url if url.startswith("postgresql") else DEFAULT_PG_ADMIN_URL


def bench_db(result, repeat: int, sessions: int, roster: tuple[int, int]) -> list[Figure]:
    from sqlalchemy.engine import make_url

    from physio_core.store import dispose_engines

    pg = Figure("database, Postgres", "sessions/s", key="db_sessions_per_s",
                note=f"{result.frames / result.fps:.0f} s pose series each, {sessions} a run")
    pg_roster = Figure("roster, Postgres", "ms", note=f"{roster[0]} athletes × {roster[1]} sessions, admin's view")
    admin = make_url(_pg_admin_url())
    name = f"bench_{uuid.uuid4().hex[:12]}"
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        import psycopg

        conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # unreachable, no rights...: report it, do not fail the bench
        pg.na_reason = f"Postgres at {admin.host}:{admin.port} unreachable: " + (
            str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        pg_roster.na_reason = pg.na_reason
    else:
        try:
            for _ in range(repeat):
                pg.runs.append(_store_rate(url, result, sessions))
            pg_roster.runs = _roster_ms(url, *roster, repeat)
        finally:
            dispose_engines(url)
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    lite = Figure("database, SQLite (file)", "sessions/s", note=pg.note)
    lite_roster = Figure("roster, SQLite (file)", "ms", note=pg_roster.note)
    with tempfile.TemporaryDirectory(prefix="physio-bench-") as tmp:
        lite_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        try:
            for _ in range(repeat):
                lite.runs.append(_store_rate(lite_url, result, sessions))
            lite_roster.runs = _roster_ms(lite_url, *roster, repeat)
        finally:
            dispose_engines(lite_url)
    return [pg, lite, pg_roster, lite_roster]


# ---------------------------------------------------------------------------- session report


def bench_report(result, repeat: int) -> list[Figure]:
    """What the session page does with a long stored session (``result``): read it back
    (``get_session_detail`` from a SQLite file, as on every full rerun of the page), build the
    report's charts (angles with every rep shaded, ROM per rep, as Plotly JSON), and build its
    three downloads (angles CSV, summary JSON, 3D joints CSV: built when clicked); then the
    session's own five beside them (long CSV, full JSON, OpenSim .mot and .trc, printable HTML),
    also built when clicked; and the athlete's All data (ZIP), which holds all of these once more."""
    from physio_core import exports, report
    from physio_core.archive import athlete_archive
    from physio_core.store import create_user, dispose_engines, get_session_detail, init_db, save_session_result

    seconds = result.frames / result.fps
    length = f"{seconds / 60:.0f}-min" if seconds >= 60 else f"{seconds:.0f} s"
    note = f"{length} session, {result.frames} frames, {len(result.reps)} reps"
    read = Figure("session report: read back (SQLite)", "ms", note=note)
    charts = Figure("session report: charts", "ms", note="angles (every rep shaded) + ROM per rep, to JSON")
    downloads = Figure("session report: downloads", "ms", note="angles CSV + summary JSON + 3D joints CSV")
    exported = Figure("session report: exports", "ms", note="long CSV + JSON + .mot + .trc + HTML report")
    archived = Figure("athlete archive (ZIP)", "ms", note=f"All data (ZIP) of an athlete with this one {length} session")
    archive_mb = Figure("athlete archive size", "MB", note="the same ZIP, plotly.min.js (1.5 MB) included")
    with tempfile.TemporaryDirectory(prefix="physio-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'report.db'}"
        try:
            engine = init_db(url)
            athlete = create_user(engine, None, "bench athlete", "athlete").id
            sid = save_session_result(engine, result, athlete)
            for _ in range(repeat):
                t0 = time.perf_counter()
                back = get_session_detail(engine, sid).to_result()
                read.runs.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                report.angles_figure(back.angles, back.reps, valid=back.pose.valid,
                                     assessments=back.rep_assessments).to_json()
                report.reps_figure(back.reps, back.rep_assessments).to_json()
                charts.runs.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                report.angles_csv(back.angles)
                report.summary_json(back, include_series=True)
                report.pose_csv(back.pose)
                downloads.runs.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                for export in exports.session_exports(back, session_id=sid):
                    export.build()
                exported.runs.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                size = len(athlete_archive(engine, athlete))
                archived.runs.append((time.perf_counter() - t0) * 1000)
                archive_mb.runs.append(size / 1e6)
        finally:
            dispose_engines(url)
    return [read, charts, downloads, exported, archived, archive_mb]


# ---------------------------------------------------------------------------- report


def _fmt(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}" if abs(x) < 1000 else f"{x:.0f}"


def _goal_text(fig: Figure) -> tuple[str, str]:
    if fig.key not in GOALS:
        return "", ""
    op, value = GOALS[fig.key]
    goal = f"{op} {value:g}"
    if fig.median is None:
        return goal, "n/a"
    ok = fig.median >= value if op == ">=" else fig.median <= value
    return goal, "met" if ok else "MISSED"


def render_table(figs: Sequence[Figure], machine: MachineInfo, command: str) -> str:
    rows = [("figure", "median", "spread (min–max)", "unit", "goal", "", "notes")]
    for f in figs:
        spread = "n/a" if f.spread is None else f"{_fmt(f.spread[0])}–{_fmt(f.spread[1])}"
        goal, status = _goal_text(f)
        rows.append((f.name, _fmt(f.median), spread, f.unit, goal, status,
                     f.na_reason or f.note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [f"$ {command}", f"machine: {machine.line()}"]
    for k, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "  " + r[-1])
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 5)
    return "\n".join(lines)


def headline(figs: Sequence[Figure]) -> dict[str, float | None]:
    by_key = {f.key: f for f in figs if f.key}
    return {k: (None if k not in by_key or by_key[k].median is None
                else round(by_key[k].median, 3)) for k in JSON_KEYS}


# ---------------------------------------------------------------------------- main


@dataclass(frozen=True)
class Plan:
    repeat: int
    pose_frames: int | None  # None: the whole clip
    warmup: int
    upload_loops: int
    upload_max_frames: int | None
    live_seconds: float
    live_warmup_s: float
    db_sessions: int
    db_series_s: float
    roster: tuple[int, int]  # athletes, ended sessions each
    report_s: float  # length of the stored session the report rows read back and draw
    pose_only: bool = False
    mmpose_devices: tuple[str, ...] | None = None  # None: the CPU, and CUDA where present


def make_plan(quick: bool, repeat: int | None, pose_only: bool = False,
              mmpose_devices: Sequence[str] | None = None) -> Plan:
    devices = tuple(mmpose_devices) if mmpose_devices else None
    if quick:
        return Plan(repeat or 1, 12, 3, 1, 30, 1.0, 1.5, 2, 10.0, (3, 2), 20.0, pose_only, devices)
    return Plan(repeat or 3, None, 10, 3, None, 10.0, 3.0, 10, 60.0, (200, 40), 600.0, pose_only,
                devices)


def run(plan: Plan, progress: Callable[[str], None] = lambda s: None
        ) -> tuple[MachineInfo, list[Figure], dict[str, Any]]:
    machine = machine_info()
    figs: list[Figure] = []
    detail: dict[str, Any] = {}

    progress("decoding test frames")
    frames = letterbox_frames(TEST_CLIP, limit=plan.pose_frames)

    progress("pose backends")
    figs += bench_pose(frames, plan.repeat, plan.warmup, plan.mmpose_devices)
    if plan.pose_only:
        return machine, figs, detail

    progress("core after pose")
    landmarks = mediapipe_landmarks(frames)
    core, detail["core_stage_ms_median"] = bench_core(landmarks, frames, plan.repeat)
    figs += core
    from physio_core.pose.converters import mediapipe_to_canonical

    poses = [None if lm is None else mediapipe_to_canonical(lm[0], lm[1], BENCH_SIZE)
             for lm in landmarks]
    progress("models (second thread)")
    figs += bench_models(poses, plan.repeat)

    progress("upload analysis (child process)")
    with tempfile.TemporaryDirectory(prefix="physio-bench-") as tmp:
        video = Path(tmp) / "upload.mp4"
        write_looped_video(TEST_CLIP, video, plan.upload_loops, plan.upload_max_frames)
        upload, detail["upload"] = bench_upload(video, plan.repeat)
    figs += upload

    progress("live path")
    live, detail["live_runs"] = bench_live(frames, plan.repeat, plan.live_seconds, plan.live_warmup_s)
    figs += live

    progress("database")
    figs += bench_db(realistic_result(poses, plan.db_series_s), plan.repeat, plan.db_sessions, plan.roster)

    progress("session report")
    figs += bench_report(realistic_result(poses, plan.report_s), plan.repeat)

    progress("set search")
    figs += bench_sets(realistic_result(poses, 60.0), plan.repeat)

    progress("wrist sensor")
    figs += bench_imu(plan.repeat)
    return machine, figs, detail


def _finite(obj: Any) -> Any:
    """NaN/inf -> None, so the file is strict JSON."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m physio_core.bench",
        description="Whole-pipeline figures on this machine (median and spread over runs).",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--repeat", type=int, default=None, metavar="N",
                        help="runs per figure (default 3; 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="a seconds-long smoke run on tiny inputs (figures not meaningful)")
    parser.add_argument("--pose-only", action="store_true",
                        help="time the pose backends alone (MMPose on a GPU host)")
    parser.add_argument("--mmpose-device", action="append", metavar="DEVICE",
                        help="time MMPose on this torch device (repeatable; default: cpu, and "
                             "cuda:0 where torch sees a GPU)")
    parser.add_argument("--upload-child", metavar="VIDEO", help=argparse.SUPPRESS)
    parser.add_argument("--prewarmed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.upload_child:
        _upload_child(args.upload_child, prewarmed=args.prewarmed)
        return 0
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not TEST_CLIP.is_file():
        print(f"error: the test clip {TEST_CLIP} is missing", file=sys.stderr)
        return 2

    command = "python -m physio_core.bench " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:]))
    machine, figs, detail = run(make_plan(args.quick, args.repeat, args.pose_only, args.mmpose_device),
                                progress=lambda s: print(f"… {s}", file=sys.stderr, flush=True))
    print(render_table(figs, machine, command.strip()))
    if args.json:
        doc: dict[str, Any] = headline(figs)
        doc["quick"] = args.quick
        doc["machine"] = asdict(machine)
        doc["figures"] = [f.as_dict() for f in figs]
        doc["detail"] = detail
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(_finite(doc), indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
