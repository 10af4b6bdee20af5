"""Rep counting on one principal angle (or on a learned rep-phase signal), offline and live.

A rep is: leave the rest level -> reach a turning point -> come back to rest. Both counters run
the SAME hysteresis state machine (``_RepMachine``) on a smoothed signal oriented so that a rep
goes up from rest:

* REST: the rest level is the lowest value of the last ``rest_window_s``. The signal leaves rest
  when it rises ``max(leave_min_deg, leave_frac x typical ROM)`` above it.
* MOVING: the highest value so far is the turning point. The rep counts once the signal has come
  back to ``return_frac`` of its excursion (hysteresis: a bounce at the bottom of a squat does not
  count twice) and the excursion is at least ``min_rom_deg`` (and ``rel_rom`` x typical ROM).
  Falling back to rest with a smaller excursion is a false start.
* RETURNING: the rep's end is the first frame within ``bound_frac`` of its ROM above the rest
  level it started from, or, if the signal settles elsewhere (flat for ``settle_s``) or the next
  rep starts first, the first frame within ``bound_frac`` of that new floor. Its start is,
  symmetrically, the last frame within ``bound_frac`` of rest before the climb.

Tracking noise: an excursion no larger than what noise alone makes on that angle family while
the person stands still (``NOISE_FLOOR_DEG``) is not a rep, and neither is one in which no
joint really moves (``MIN_REP_MOTION``: offline ``drop_non_reps``; live, the counter refuses
it when ``update`` is given the poses). A rep must also come back to where it began
(``MAX_REP_GAP`` for the joint that ends farthest, ``MAX_BODY_GAP`` for the body as a whole): a
slow move from one pose to another is not a rep. Live, that is known only at the rep's end, a
moment after it was counted, so such a "rep" is shown briefly and then taken off the count.
``larger_count`` is how the app combines the angle counter's reps with the learned rep
detector's.

Offline (``count_reps``) the signal is smoothed with a zero-phase Butterworth filter, and a final
pass drops reps below ``rel_rom`` x the median ROM of the set (the streaming counter only knows
the reps before). Live (``StreamingRepCounter``) it is smoothed with the causal Butterworth of the
same cut-off and the reported frames are shifted back by the filter's delay, so both give the same
reps within a few frames.
Both count an angle unwrapped (``kinematics.unwrapped``, live ``StreamingUnwrap``): a planar
shoulder angle of an arm taken far behind the back reads -89 deg and then 270 past its wrap,
which is a degree of motion, not a 359 deg rep.

Which way a rep goes (up or down from rest) is known per exercise or found by running both
orientations: the one that completes a rep first is the right one (a set starts at rest).

Seam for a learned rep model: anything implementing ``RepSignal`` (offline) or
``StreamingRepSignal`` (live) turns angles into a rep phase in [0, 1] (0 = rest, 1 = turning
point); pass it as ``signal=`` and the same machine counts on 100 x phase, while ROM / min / max
are still reported in degrees on the principal angle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.signal import butter, find_peaks, group_delay, sos2tf

from physio_core.filters import StreamingLowpass, butter_lowpass, fill_gaps
from physio_core.kinematics import ANGLE_NAMES, StreamingUnwrap, trained_regions, unwrapped
from physio_core.results import AngleSeries, Rep
from physio_core.skeleton import J


@dataclass(frozen=True)
class RepConfig:
    smooth_hz: float = 2.0  # low-pass cut-off of the rep signal (reps are 0.2-1 Hz movements)
    min_rom_deg: float = 15.0  # smallest excursion that can be a rep
    rel_rom: float = 0.4  # ... and at least this fraction of the typical (median) ROM
    leave_min_deg: float = 5.0
    leave_frac: float = 0.2
    return_frac: float = 0.35
    bound_frac: float = 0.1
    min_rep_s: float = 0.5
    settle_s: float = 0.4  # after a rep, the signal flat for this long = back at rest
    rest_window_s: float = 3.0
    max_moving_s: float = 15.0  # a climb that never turns back within this is not a rep
    phase_scale: float = 100.0  # a RepSignal's phase [0, 1] is counted as 0..100 "degrees"
    min_phase_rom: float = 0.4  # with a RepSignal: smallest phase excursion that can be a rep


# exercise -> angle families that carry its reps (``choose_principal_angle`` picks the side) and
# the direction of a rep from rest (+1 angle grows, -1 shrinks, None: found from the data)
EXERCISES: dict[str, tuple[tuple[str, ...], int | None]] = {
    "deep_squat": (("knee_angle",), +1),
    "hurdle_step": (("hip_flexion",), +1),
    "inline_lunge": (("knee_angle",), None),
    "side_lunge": (("knee_angle",), +1),
    "sit_to_stand": (("knee_angle",), None),  # starts seated or standing
    "standing_active_straight_leg_raise": (("hip_flexion",), +1),
    "standing_shoulder_abduction": (("shoulder_abduction",), +1),
    "standing_shoulder_extension": (("shoulder_flexion",), -1),
    "standing_shoulder_internal_external_rotation": (("shoulder_rotation",), None),
    "standing_shoulder_scaption": (("shoulder_abduction", "shoulder_flexion"), +1),
}
# exercises done one side at a time (one leg steps, lunges or rises; one arm moves), with the
# angle family whose larger range in a session tells the side it worked. Their left and right
# differ by design: progress compares the sessions of one side with those of the other
# (``progress.sides_frame``), never a session's left with its right. Deep squat and sit to stand
# use both sides at once. On UI-PRMD a rep's larger range names the side its subject uses in 1261
# of 1280 reps (a session's range, over several reps, is steadier); the inline lunge's knees are
# the closest call (the smaller range 0.64 of the larger, median; scripts/experiments/one_sided.py).
ONE_SIDED: dict[str, str] = {
    "hurdle_step": "hip_flexion",
    "inline_lunge": "knee_angle",
    "side_lunge": "knee_angle",
    "standing_active_straight_leg_raise": "hip_flexion",
    "standing_shoulder_abduction": "shoulder_abduction",
    "standing_shoulder_extension": "shoulder_flexion",
    "standing_shoulder_internal_external_rotation": "shoulder_rotation",
    "standing_shoulder_scaption": "shoulder_abduction",
}


def trained_regions_of(rep_angles: Sequence[str] = (), exercise: str | None = None) -> frozenset[str]:
    """The body parts (``kinematics.REGIONS``) a set trains, with the trunk: those of the angles its
    reps were counted on, else those its exercise's reps are counted on; empty when neither says."""
    return trained_regions(list(rep_angles) or EXERCISES.get(exercise or "", ((),))[0])


EXERCISE_ALIASES = {
    "squat": "deep_squat",
    "lunge": "inline_lunge",
    "shoulder_abduction": "standing_shoulder_abduction",
    "shoulder_extension": "standing_shoulder_extension",
    "shoulder_rotation": "standing_shoulder_internal_external_rotation",
    "scaption": "standing_shoulder_scaption",
    "straight_leg_raise": "standing_active_straight_leg_raise",
}
# Noise floor of three angle families: a person standing still, seen with the tracker noise
# the models train with, reads "reps" on them (knee bend up to 22 deg: an unsigned angle near
# straight only rises with noise; shoulder abduction up to 29; shoulder rotation 42 in 95 %,
# where a forearm near the elbow-flexion threshold swings it), while real reps are larger: of
# 1600 UI-PRMD reps one 18 deg inline lunge is smaller. A rep must exceed it, whoever found it,
# live or offline. Hip and shoulder flexion noise overlaps real reps (some of 14-28 deg) and
# gets no floor; MIN_REP_MOTION drops the rest (scripts/experiments/standing_still.py).
NOISE_FLOOR_DEG: dict[str, float] = {
    "knee_angle": 25.0,
    "shoulder_abduction": 30.0,
    "shoulder_rotation": 35.0,
}
# A rep moves some joint at least this far, in body sizes (torso + thigh + shin, ~1.2 m), i.e.
# about 12 cm, on joint paths low-passed at _MOTION_HZ (``rep_motion``). With the noise floors
# it leaves no rep in the standing-still sequences and drops 2 of the 4144 reps the two counters
# find in the real sets (scripts/experiments/standing_still.py, models/rep_detector.md).
MIN_REP_MOTION = 0.10
_MOTION_HZ = 3.0
# A rep comes back to where it began. A one-way move ends far from its start both in the joint
# that ends farthest, as a fraction of the largest joint's movement (``rep_gap`` above
# MAX_REP_GAP), and in the body as a whole, as a fraction of all joints' movement
# (``rep_body_gap`` above MAX_BODY_GAP). The second keeps real reps in which one joint alone
# ends elsewhere (a tracker jump of a wrist or a knee, a foot left forward). Measured on leave-
# one-subject-out folds (scripts/experiments/round_trip.py, models/rep_detector.md): the app
# counts 4 of 80 slow transitions (38 without), and real sets' exact counts at 1x / 2x / 3x are
# 0.991 / 0.978 / 0.950 (0.984 / 0.975 / 0.944 with the joint gap alone; 0.984 / 0.969 / 0.950
# with no gap check).
MAX_REP_GAP = 0.9
MAX_BODY_GAP = 0.5
_GAP_END_FRAC = 0.1  # a rep's start and end poses: the median of its first / last 10 % of frames
_ROM_MARGIN_S = 0.5
_CHOICE_WINDOW_S = 120.0
# live on "auto": the exercise recognised picks the angle among its own, unless another angle's reps
# score more than twice as well (the reading is then likely wrong; live_auto_counts.py)
SUGGESTION_HOLDS = 0.5
_MIN_FINITE = 0.6  # an angle needs this fraction of finite frames to be a principal angle


def exercise_key(exercise: str | None) -> str | None:
    if exercise is None or exercise in ("", "auto"):
        return None
    key = exercise.strip().lower().replace(" ", "_").replace("-", "_")
    key = EXERCISE_ALIASES.get(key, key)
    return key if key in EXERCISES else None


def _candidates(names: Sequence[str], exercise: str | None) -> list[str]:
    key = exercise_key(exercise)
    if key is not None:
        families = EXERCISES[key][0]
        return [n for n in names if n.rsplit("_", 1)[0] in families or n in families]
    return list(names)


def noise_floor_deg(angle: str) -> float:
    """Excursion of ``angle`` that tracking noise alone reaches (``NOISE_FLOOR_DEG``), 0 if none."""
    return NOISE_FLOOR_DEG.get(angle.rsplit("_", 1)[0], 0.0)


def min_rom_deg(angle: str, cfg: RepConfig | None = None) -> float:
    """Smallest excursion of ``angle`` the principal-angle counter takes for a rep."""
    return max((cfg or RepConfig()).min_rom_deg, noise_floor_deg(angle))


def _robust_range(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return 0.0
    lo, hi = np.percentile(x, [5, 95])
    return float(hi - lo)


def _score(values: np.ndarray) -> np.ndarray:
    """Principal-angle score per column of (T, A): robust range, 0 when mostly NaN."""
    finite = np.isfinite(values).mean(axis=0) if len(values) else np.zeros(values.shape[1])
    rng = np.array([_robust_range(values[:, i]) for i in range(values.shape[1])])
    return np.where(finite >= _MIN_FINITE, rng, 0.0)


def _rep_score(roms: Sequence[float], followed: Sequence[float] | None = None) -> float:
    """How well an angle carries reps: total ROM of its reps x their regularity (1 - CV).

    ``followed``: the share of each rep's ROM that the angle was seen to travel (``_followed``);
    a rep's ROM counts only that much."""
    if len(roms) < 2:
        return 0.0
    r = np.asarray(roms, dtype=np.float64)
    if followed is not None:
        r = r * np.asarray(followed, dtype=np.float64)
    if not r.mean() > 0:
        return 0.0
    return float(r.sum() * max(0.0, 1.0 - r.std() / r.mean()))


def _followed(x: np.ndarray, start: int, end: int, rom: float) -> float:
    """Share of a rep's ROM that the angle ``x`` (raw, NaN where undefined) travels from one
    measured frame to the next, out and back, within frames ``start..end`` (at most 1).

    A planar shoulder angle is undefined while the arm is far out of its plane, so in a jumping
    jack shoulder flexion leaps from ~0 to ~180 deg across a gap on the way up and back down: its
    ROM is large, but hardly any of it is followed, while abduction follows the whole swing."""
    part = x[max(start, 0) : end + 1]
    steps = np.abs(np.diff(part))
    travelled = float(steps[np.isfinite(steps)].sum()) / 2.0
    return min(1.0, travelled / rom) if rom > 0 else 0.0


def _fps_of(angles: AngleSeries) -> float:
    dt = np.diff(angles.times)
    return 1.0 / float(np.median(dt[dt > 0])) if (dt > 0).any() else 30.0


def choose_principal_angle(
    angles: AngleSeries,
    exercise: str | None = None,
    fps: float | None = None,
    config: RepConfig | None = None,
) -> str:
    """The angle that carries the reps.

    Among the candidates (of a known exercise, ``_scored_candidates``: both sides of its angle
    family with the larger robust (5-95 %) range when it is done one side at a time, else the
    side with the larger range; otherwise every angle finite in most frames), the one whose reps (as
    ``count_reps`` finds them on it) have the largest total ROM x regularity (1 - coefficient
    of variation of the reps' ROM): large, repeatable excursions, not a one-off arm drift or a
    jittery ankle. Each rep's ROM counts by the share of it that the angle followed frame to
    frame. The range alone decides when no candidate has reps. In an exercise done one side at a
    time the side is chosen by its reps, not its range: in incorrect shoulder extensions the idle
    arm's few compensating swings can span more than the working arm's ten reps (UI-PRMD
    subject 4). Angles are taken unwrapped (``kinematics.unwrapped``) throughout.
    """
    cands = _candidates(angles.names, exercise)
    if not cands:
        raise ValueError(f"no candidate angle for exercise {exercise!r} in {angles.names}")
    measured = {n: unwrapped(angles[n]) for n in cands}
    ranges = _score(np.column_stack(list(measured.values())))
    if (key := exercise_key(exercise)) is not None:
        keep = _scored_candidates(cands, ranges, key)
        cands, ranges = [cands[i] for i in keep], ranges[keep]
    if len(cands) == 1:
        return cands[0]
    fps = fps or _fps_of(angles)

    def score(name: str) -> float:
        reps = count_reps(angles, name, fps, exercise=exercise, config=config)
        x = measured[name]
        return _rep_score([r.rom_deg for r in reps],
                          [_followed(x, r.start_frame, r.end_frame, r.rom_deg) for r in reps])

    scores = [score(n) if ok else -1.0 for n, ok in zip(cands, ranges > 0)]
    if max(scores) <= 0:
        return cands[int(np.argmax(ranges))]
    return cands[int(np.argmax(scores))]


def _scored_candidates(cands: Sequence[str], ranges: np.ndarray, exercise: str) -> list[int]:
    """Indices of a known exercise's candidate angles among which the reps decide: for one done
    one side at a time (``ONE_SIDED``), both sides of its angle family with the larger range; for
    one done with both sides at once (a squat), the side with the larger range alone. Both knees
    of a squat carry the same reps, and their ranges are the steadier call."""
    best = int(np.argmax(ranges))
    if exercise not in ONE_SIDED:
        return [best]
    family = cands[best].rsplit("_", 1)[0]
    return [i for i, n in enumerate(cands) if n.rsplit("_", 1)[0] == family]


def exercise_polarity(exercise: str | None) -> int | None:
    key = exercise_key(exercise)
    return None if key is None else EXERCISES[key][1]


# ------------------------------------------------------------------------ rep-phase seam


@runtime_checkable
class RepSignal(Protocol):
    """Offline rep-phase model: angles -> (T,) phase in [0, 1], 0 at rest, 1 at the turning
    point (NaN where unknown). A learned rep model implements this to replace the raw angle."""

    name: str

    def phase(self, angles: AngleSeries) -> np.ndarray: ...


@runtime_checkable
class StreamingRepSignal(Protocol):
    """Live rep-phase model: one frame of angles (A,) at time t -> phase in [0, 1] (or NaN)."""

    name: str

    def step(self, values: np.ndarray, t: float) -> float: ...


@dataclass
class AngleRepSignal:
    """The plain angle as a RepSignal: phase = (angle - rest) / ROM with rest and turning levels
    from the 5th / 95th percentiles (oriented by ``polarity``). Mostly a reference
    implementation of the seam; counting on it matches counting on the angle."""

    angle: str
    polarity: int = +1
    name: str = "angle"

    def phase(self, angles: AngleSeries) -> np.ndarray:
        x = self.polarity * angles[self.angle]
        lo, hi = np.nanpercentile(x, [5, 95])
        return np.clip((x - lo) / max(hi - lo, 1e-9), 0.0, 1.0)


# ------------------------------------------------------------------------- state machine


@dataclass
class _Event:
    start: int
    peak: int
    end: int
    rom: float
    # live, while the rep waits for its end: whether the body was already back where the rep began
    # when the signal came back (then it is counted at once, else only once its end is known)
    back: bool = True


@dataclass
class _RepMachine:
    """Hysteresis rep detector on an up-going signal, fed one (frame, value) at a time."""

    cfg: RepConfig
    fps: float
    min_rom: float
    roms: list[float] = field(default_factory=list)
    state: str = "rest"
    # recent signal (for boundaries): buf[:n] holds frames base.. (older ones are dropped while
    # at rest); an array grown by doubling, so a window is a view and not a list copy
    buf: np.ndarray = field(default_factory=lambda: np.empty(256))
    n: int = 0
    base: int = 0
    rest_since: int = 0
    rest: float = np.nan
    peak: float = np.nan
    peak_i: int = 0
    move_i: int = 0
    pending: _Event | None = None
    first_count_frame: int | None = None
    typical_rom: float | None = None  # median of ``roms``, updated when a rep is added
    moved: Callable[[int, int], bool] | None = None  # (start, now): did the body really move?

    def _typical_rom(self) -> float | None:
        return self.typical_rom

    def _leave(self) -> float:
        typ = self._typical_rom()
        return max(self.cfg.leave_min_deg, self.cfg.leave_frac * typ if typ else 0.0)

    def _min_rom(self) -> float:
        typ = self._typical_rom()
        return max(self.min_rom, self.cfg.rel_rom * typ if typ else 0.0)

    def _rest_level(self, i: int) -> float:
        w = self._seg(max(self.rest_since, i + 1 - int(self.cfg.rest_window_s * self.fps)), i)
        if len(w) and np.isfinite(low := w.min()):  # no gap in the window: the common case
            return float(low)
        w = w[np.isfinite(w)]
        return float(w.min()) if len(w) else np.nan

    def _seg(self, lo: int, hi: int | None = None) -> np.ndarray:
        """Signal of frames [lo, hi] (to the last frame if hi is None), lo clipped to base."""
        lo = max(lo, self.base)
        end = self.n if hi is None else min(hi - self.base + 1, self.n)
        return self.buf[lo - self.base : max(end, lo - self.base)]

    def _first_near_floor(self, ev: _Event) -> int:
        """First frame after the peak within bound_frac of the lowest value since the peak."""
        seg = self._seg(ev.peak)
        floor = np.nanmin(seg)
        return ev.peak + int(np.flatnonzero(seg <= floor + self.cfg.bound_frac * ev.rom)[0])

    def _last_within(self, lo: int, hi: int, level: float) -> int:
        """Last frame in [lo, hi] at or below level (lo if none)."""
        lo = max(lo, self.base)
        w = self._seg(lo, hi)
        hit = np.flatnonzero(w <= level)
        return lo + int(hit[-1]) if len(hit) else lo

    def step(self, i: int, y: float) -> _Event | None:
        """Feed frame i (consecutive from 0). Returns a rep when its end becomes known."""
        if self.n == len(self.buf):
            self.buf = np.concatenate([self.buf, np.empty(len(self.buf))])
        self.buf[self.n] = y
        self.n += 1
        if not np.isfinite(y):
            return None
        done = None
        if self.state == "returning":
            ev = self.pending
            seg = self._seg(ev.peak, i)
            floor = float(np.nanmin(seg))
            # frames the signal has stayed within a small tolerance of its floor (a slow drift
            # at rest still counts as settled)
            tol = max(0.5 * self.cfg.leave_min_deg, 0.5 * self.cfg.bound_frac * ev.rom)
            flat = len(seg) - int(np.flatnonzero(seg <= floor + tol)[0])
            if y <= self.rest + self.cfg.bound_frac * ev.rom:  # back at the starting rest level
                ev.end = i
            elif y > floor + self._leave() or flat >= self.cfg.settle_s * self.fps:
                # the next climb began, or the signal settled at a new rest level: the rep ended
                # when it arrived near that floor
                ev.end = self._first_near_floor(ev)
            else:
                return None
            done, self.pending = ev, None
            self.state, self.rest_since = "rest", ev.end
        if self.state == "rest":
            keep = i - 2 * int(self.cfg.rest_window_s * self.fps)
            if keep - self.base > 4 * self.fps * self.cfg.rest_window_s:  # trim now and then
                drop = keep - self.base
                self.buf[: self.n - drop] = self.buf[drop : self.n]
                self.n -= drop
                self.base = keep
            self.rest = self._rest_level(i)
            if y > self.rest + self._leave():
                self.state, self.peak, self.peak_i, self.move_i = "moving", y, i, i
            return done
        # moving
        if y > self.peak:
            self.peak, self.peak_i = y, i
        rom = self.peak - self.rest
        if rom >= self._min_rom() and y <= self.rest + self.cfg.return_frac * rom:
            level = self.rest + self.cfg.bound_frac * rom
            start = self._last_within(self.rest_since, self.peak_i, level)
            if self.moved is not None and not self.moved(start, i):
                self.state, self.rest_since = "rest", i  # tracking noise, not a rep
                return done
            if (i - start) / self.fps >= self.cfg.min_rep_s:
                self.pending = _Event(start, self.peak_i, i, rom)
                self.roms.append(rom)
                self.typical_rom = float(np.median(self.roms))
                if self.first_count_frame is None:
                    self.first_count_frame = i
                self.state = "returning"
                return done
        if y < self.rest + 0.5 * self._leave() and rom < self._min_rom():
            self.state = "rest"  # false start
        elif i - self.move_i > self.cfg.max_moving_s * self.fps:
            # settled at a new level (not a rep): rest from here
            self.state, self.rest_since = "rest", i - int(self.cfg.rest_window_s * self.fps)
        return done

    def flush(self) -> _Event | None:
        """End of data: close a pending rep where it came near its lowest point after the peak."""
        if self.pending is None:
            return None
        ev, self.pending = self.pending, None
        ev.end = self._first_near_floor(ev)
        self.state = "rest"
        return ev


def _run(
    y: np.ndarray, cfg: RepConfig, fps: float, min_rom: float
) -> tuple[list[_Event], _RepMachine]:
    m = _RepMachine(cfg, fps, min_rom)
    events = [e for i, v in enumerate(y) if (e := m.step(i, float(v))) is not None]
    if (e := m.flush()) is not None:
        events.append(e)
    return events, m


def _to_reps(
    events: list[_Event], angle: str, x: np.ndarray, times: np.ndarray, fps: float, shift: int = 0
) -> list[Rep]:
    """Rep records; ROM / min / max are taken over the rep widened by up to ``_ROM_MARGIN_S`` on
    each side (never into the neighbouring reps), so they include the rest level the rep left
    from, not just the 10 %-of-ROM boundary."""
    n = len(x)
    frames = [tuple(min(max(v - shift, 0), n - 1) for v in (e.start, e.peak, e.end))
              for e in events]  # fmt: skip
    margin = int(round(_ROM_MARGIN_S * fps))
    reps = []
    for k, (s, p, t) in enumerate(frames):
        lo = max(s - margin, frames[k - 1][2] if k else 0)
        hi = min(t + margin, frames[k + 1][0] if k + 1 < len(frames) else n - 1)
        seg = x[lo : hi + 1]
        lo_v, hi_v = (float(np.nanmin(seg)), float(np.nanmax(seg))) if np.isfinite(seg).any() else (
            np.nan, np.nan)  # fmt: skip
        reps.append(
            Rep(k + 1, s, t, float(times[s]), float(times[t]), angle, hi_v - lo_v, lo_v, hi_v,
                float(times[p]))  # fmt: skip
        )
    return reps


def _drop_small(events: list[_Event], cfg: RepConfig) -> list[_Event]:
    if not events:
        return events
    typ = float(np.median([e.rom for e in events]))
    return [e for e in events if e.rom >= cfg.rel_rom * typ]


def _orient(y: np.ndarray, cfg: RepConfig, fps: float, polarity: int | None, min_rom: float):
    """Run the machine on y (and -y when the direction is unknown); keep the orientation that
    completes a rep first, as the streaming counter does."""
    options = [polarity] if polarity else [+1, -1]
    best = None
    for pol in options:
        events, m = _run(pol * y, cfg, fps, min_rom)
        first = m.first_count_frame if m.first_count_frame is not None else np.inf
        if best is None or first < best[0]:
            best = (first, pol, events)
    return best[1], best[2]


def count_reps(
    angles: AngleSeries,
    angle: str | None = None,
    fps: float | None = None,
    exercise: str | None = None,
    config: RepConfig | None = None,
    signal: RepSignal | None = None,
) -> list[Rep]:
    """Offline rep counting on the principal angle (chosen by exercise / automatically if None).

    With ``signal`` (e.g. a learned rep model) the boundaries come from its phase and the
    principal angle only supplies ROM / min / max in degrees.
    """
    cfg = config or RepConfig()
    if len(angles.times) < 3:
        return []
    fps = fps or _fps_of(angles)
    name = angle or choose_principal_angle(angles, exercise, fps, cfg)
    x = _smooth(unwrapped(angles[name]), fps, cfg.smooth_hz)
    if signal is not None:
        y = cfg.phase_scale * _smooth(signal.phase(angles), fps, cfg.smooth_hz)
        _, events = _orient(y, cfg, fps, +1, cfg.min_phase_rom * cfg.phase_scale)
    else:
        _, events = _orient(x, cfg, fps, exercise_polarity(exercise), min_rom_deg(name, cfg))
    return _to_reps(_drop_small(events, cfg), name, x, angles.times, fps)


def reps_at(frames: Sequence[tuple[int, int, int]], angles: AngleSeries, angle: str,
            fps: float | None = None) -> list[Rep]:
    """Rep records for reps found elsewhere (e.g. the learned rep detector): (start, peak, end)
    frames each, with ROM / min / max in degrees on ``angle`` as ``count_reps`` reports them."""
    fps = fps or _fps_of(angles)
    x = _smooth(unwrapped(angles[angle]), fps)
    return _to_reps([_Event(s, p, e, 0.0) for s, p, e in frames], angle, x, angles.times, fps)


def larger_count(angle_reps: list[Rep], found: Sequence[tuple[int, int, int]],
                 angles: AngleSeries, angle: str, fps: float | None = None,
                 joints: np.ndarray | None = None) -> list[Rep]:
    """How the app counts a set of a known movement from two counters' reps.

    ``angle_reps`` come from ``count_reps`` on ``angle``; ``found`` are another counter's reps
    (the learned rep detector's (start, peak, end) frames), of which those whose excursion on
    ``angle`` stays within its tracking-noise floor are dropped. With ``joints`` (T, N_JOINTS,
    3), reps of either counter that are not real movement are dropped too (as
    ``drop_non_reps`` drops them). The larger count wins, the angle counter's on a tie."""
    fps = fps or _fps_of(angles)
    floor = noise_floor_deg(angle)
    other = [r for r in reps_at(found, angles, angle, fps)
             if np.isnan(r.rom_deg) or r.rom_deg >= floor]  # NaN: angle not measured there
    if joints is not None:  # one pass over the poses for both counters' reps
        real = _is_rep(_motion_paths(joints, fps), [*angle_reps, *other])
        n = len(angle_reps)
        angle_reps = [r for r, ok in zip(angle_reps, real[:n]) if ok]
        other = [r for r, ok in zip(other, real[n:]) if ok]
    keep = other if len(other) > len(angle_reps) else angle_reps
    return [replace(r, index=k + 1) for k, r in enumerate(keep)]


def drop_non_reps(reps: Sequence[Rep], joints: np.ndarray, fps: float) -> list[Rep]:
    """The reps that are real movement, numbered again from 1: some joint moves at least
    ``MIN_REP_MOTION`` (``rep_motion``) and the body comes back to where it began (``rep_gap``
    at most ``MAX_REP_GAP``, or ``rep_body_gap`` at most ``MAX_BODY_GAP``). Reps where nobody was
    measured are kept."""
    real = _is_rep(_motion_paths(joints, fps), reps)
    return [replace(r, index=k + 1) for k, r in enumerate(r for r, ok in zip(reps, real) if ok)]


def _is_rep(paths: np.ndarray, reps: Sequence[Rep]) -> np.ndarray:
    def real(p: np.ndarray) -> bool:  # NaN (not measured) passes both checks
        return not _spread(p) < MIN_REP_MOTION and _came_back(p)

    return np.array([real(paths[r.start_frame : r.end_frame + 1]) for r in reps], dtype=bool)


def _came_back(paths: np.ndarray) -> bool:
    """Whether a rep's body came back to where it began: not both its joint gap and its body
    gap (``_gaps``) above their limits. NaN (not measured) passes."""
    joint, body = _gaps(paths)
    return not (joint > MAX_REP_GAP and body > MAX_BODY_GAP)


def rep_motion(joints: np.ndarray, reps: Sequence[Rep], fps: float) -> np.ndarray:
    """How far the joint that moves most moves within each rep, in body sizes (torso + thigh +
    shin): joints relative to the pelvis, low-passed at ``_MOTION_HZ`` (tracker jitter is not
    motion; a 3x-speed rep keeps its own), 5th to 95th percentile of each coordinate. NaN
    where nobody was measured."""
    return _measure(_motion_paths(joints, fps), reps, _spread)


def rep_gap(joints: np.ndarray, reps: Sequence[Rep], fps: float) -> np.ndarray:
    """How far the body ends each rep from where it began, over how far it moved within it: the
    largest joint displacement between the rep's start and end poses (median of its first and
    last ``_GAP_END_FRAC`` of measured frames) over the largest joint spread (5th-95th
    percentile) within it, on ``rep_motion``'s paths. About 0 for a rep that returns, about 1
    for a straight one-way move. NaN where fewer than two frames were measured."""
    return _measure(_motion_paths(joints, fps), reps, lambda p: _gaps(p)[0])


def rep_body_gap(joints: np.ndarray, reps: Sequence[Rep], fps: float) -> np.ndarray:
    """``rep_gap`` for the body as a whole: all joints' displacements between the rep's start
    and end poses over all joints' spreads within it. One joint that ends elsewhere while the
    rest come back moves it little."""
    return _measure(_motion_paths(joints, fps), reps, lambda p: _gaps(p)[1])


def _measure(paths: np.ndarray, reps: Sequence[Rep], stat: Callable[[np.ndarray], float]
             ) -> np.ndarray:
    return np.array([stat(paths[r.start_frame : r.end_frame + 1]) for r in reps], dtype=float)


def _motion_paths(joints: np.ndarray, fps: float) -> np.ndarray:
    return _smooth(joints - joints[:, J.PELVIS : J.PELVIS + 1], fps, _MOTION_HZ)


def _spread(paths: np.ndarray) -> float:
    from physio_core.features import body_scale

    finite = np.isfinite(paths)
    if not finite.any():
        return np.nan
    scale = np.nanmedian(body_scale(paths))
    given = finite.any(axis=(0, 2))  # the joints the source gives (MMPose's have no toes)
    paths, finite = paths[:, given], finite[:, given]
    whole = finite.all(axis=(1, 2))  # frames with every joint: percentile's fast path when
    if finite[~whole].any():  # the rest are empty (np.nanpercentile goes joint by joint)
        lo, hi = np.nanpercentile(paths, [5, 95], axis=0)
    else:
        lo, hi = np.percentile(paths[whole], [5, 95], axis=0)
    return float(np.nanmax(np.linalg.norm(hi - lo, axis=-1)) / scale)


def _gaps(paths: np.ndarray) -> tuple[float, float]:
    """(joint gap, body gap) of one rep's paths: see ``rep_gap`` and ``rep_body_gap``."""
    finite = np.isfinite(paths).all(axis=2)  # (frames, joints)
    frames = finite.any(axis=1)
    seen = paths[frames][:, finite[frames].all(axis=0)]  # joints measured in every such frame
    if len(seen) < 2 or seen.shape[1] == 0:
        return np.nan, np.nan
    k = max(1, int(round(_GAP_END_FRAC * len(seen))))
    moved = np.linalg.norm(np.median(seen[-k:], axis=0) - np.median(seen[:k], axis=0), axis=-1)
    lo, hi = np.percentile(seen, [5, 95], axis=0)
    spread = np.linalg.norm(hi - lo, axis=-1)
    if not spread.max() > 0:
        return np.nan, np.nan
    return float(moved.max() / spread.max()), float(moved.sum() / spread.sum())


def _smoothing_hz(cutoff_hz: float, fps: float) -> float:
    # a slow stream (a few processed fps) cannot carry the default cutoff: keep below Nyquist
    return min(cutoff_hz, 0.4 * fps)


def _smooth(x: np.ndarray, fps: float, cutoff_hz: float = RepConfig.smooth_hz) -> np.ndarray:
    """The zero-phase low-pass every offline rep signal goes through (2nd order Butterworth)."""
    return butter_lowpass(x, fps, _smoothing_hz(cutoff_hz, fps), order=2)


def rep_peaks(
    angles: AngleSeries, angle: str, fps: float, rel_prominence: float = 0.3, polarity: int = +1
) -> np.ndarray:
    """Frames of the turning points by ``scipy.signal.find_peaks`` (prominence relative to the
    signal's robust range): an independent cross-check of the state machine."""
    x = polarity * _smooth(unwrapped(angles[angle]), fps)
    x = fill_gaps(x, len(x))
    prom = max(RepConfig.min_rom_deg, rel_prominence * _robust_range(x))
    peaks, _ = find_peaks(np.nan_to_num(x, nan=np.nanmin(x)), prominence=prom,
                          distance=max(1, int(RepConfig.min_rep_s * fps)))  # fmt: skip
    return peaks


# ------------------------------------------------------------------------------- live


class StreamingRepCounter:
    """Causal rep counter fed one frame of angles at a time (the live path).

    With ``angle`` it counts on that angle; with ``exercise`` on that exercise's candidates (both
    sides), otherwise on every angle; it reports the reps of the candidate that the rule of
    ``choose_principal_angle`` prefers on what has been seen (re-chosen every second, over the
    last ``_CHOICE_WINDOW_S``). ``signal`` plugs in a live rep-phase model instead of the angle.
    ``update`` costs about 0.1 ms a frame with an exercise, about 1 ms with none.

    A rep is counted as its signal comes back (before its end is known) only if the body is back
    where the rep began too; else once its end is known and it passes, so that the count on the
    screen does not rise and then fall back when a rep is refused.
    """

    def __init__(
        self,
        fps: float,
        names: Sequence[str] = ANGLE_NAMES,
        angle: str | None = None,
        exercise: str | None = None,
        config: RepConfig | None = None,
        signal: StreamingRepSignal | None = None,
        round_trip: bool = True,
    ):
        self.cfg = config or RepConfig()
        self.fps = float(fps)
        self.round_trip = round_trip
        self.names = tuple(names)
        self.cands = [angle] if angle else _candidates(self.names, exercise)
        self.exercise = exercise_key(exercise)
        if not self.cands:
            raise ValueError(f"no candidate angle for exercise {exercise!r}")
        self._idx = [self.names.index(n) for n in self.cands]
        self._unwrap = StreamingUnwrap()
        self.signal = signal
        pol = +1 if signal is not None else exercise_polarity(exercise)
        self._pols = [pol] if pol else [+1, -1]
        def min_rom(angle: str) -> float:
            if signal is not None:
                return self.cfg.min_phase_rom * self.cfg.phase_scale
            return min_rom_deg(angle, self.cfg)

        # machines[c][k]: candidate c, orientation self._pols[k]
        self._machines = [
            [_RepMachine(self.cfg, self.fps, min_rom(c), moved=self._moved) for _ in self._pols]
            for c in self.cands
        ]
        self._joints: list[np.ndarray] = []  # recent poses given to update (for ``_moved``)
        self._joints_base = 0  # frame index of _joints[0]
        self._events: list[list[list[_Event]]] = [[[] for _ in self._pols] for _ in self.cands]
        # per event, the share of its ROM its angle followed frame to frame (``_followed``)
        self._followed: list[list[list[float]]] = [[[] for _ in self._pols] for _ in self.cands]
        hz = _smoothing_hz(self.cfg.smooth_hz, self.fps)
        self._filter = StreamingLowpass(self.fps, hz, order=2)
        self._sig_filter = StreamingLowpass(self.fps, hz, order=2)
        # the causal filter's delay (frames) at the slow rep frequencies, taken off reported frames
        ba = sos2tf(butter(2, hz, fs=self.fps, output="sos"))
        self.delay = int(round(float(group_delay(ba, w=[0.1], fs=self.fps)[1][0])))
        self._x: list[np.ndarray] = []  # smoothed candidate angles
        self._raw: list[np.ndarray] = []  # candidate angles as measured (unwrapped; NaN where undefined)
        self._times: list[float] = []
        self._choice = 0
        self._finished = False
        self._suggested: list[int] = []  # candidates of the exercise the models recognise (``suggest``)
        self._suggested_key: str | None = None  # and that exercise
        self._suggested_way: int | None = None  # and the orientation (index of _pols) it moves in

    @property
    def angle(self) -> str:
        return self.cands[self._choice]

    def suggest(self, exercise: str | None) -> None:
        """The exercise the models recognise in the stream (live, on "auto"; None: none known).
        The angle is then chosen as if that exercise were named: among its angles (the side by
        reps, as ``_scored_candidates`` says) and the way it moves, so that the live chart opens
        on the knee of a squat, not on whichever angle moved most while the athlete got into
        place, and the count does not hop to an ankle whose noise looks more regular for a while;
        unless another angle's reps score more than 1 / ``SUGGESTION_HOLDS`` times as well. Every
        candidate keeps counting meanwhile: a later exercise's reps are there when it is
        recognised."""
        key = exercise_key(exercise)
        fam = set(_candidates(self.cands, key)) if key is not None else set()
        self._suggested = [c for c, n in enumerate(self.cands) if n in fam and len(fam) < len(self.cands)]
        self._suggested_key = key if self._suggested else None
        pol = exercise_polarity(self._suggested_key)
        self._suggested_way = self._pols.index(pol) if pol in self._pols else None

    def _chosen_orientation(self, c: int) -> int:
        if self._suggested_way is not None and c in self._suggested:
            return self._suggested_way
        firsts = [m.first_count_frame for m in self._machines[c]]
        known = [(f, k) for k, f in enumerate(firsts) if f is not None]
        return min(known)[1] if known else 0

    def update(self, values: np.ndarray, t: float | None = None,
               joints: np.ndarray | None = None) -> int:
        """Feed one frame of angles (len(names),); returns the number of reps counted so far.

        ``joints`` (N_JOINTS, 3) of the same frame (NaN without a person) let the counter refuse
        a rep in which no joint moves ``MIN_REP_MOTION``, as uploads do; give them on every
        frame or never."""
        i = len(self._times)
        t = i / self.fps if t is None else float(t)
        self._times.append(t)
        if joints is not None:
            self._joints.append(np.asarray(joints, dtype=np.float64))
            keep = int(2 * (self.cfg.max_moving_s + self.cfg.rest_window_s) * self.fps)
            if len(self._joints) > 2 * keep:
                del self._joints[:-keep]
                self._joints_base = i + 1 - keep
        v = np.asarray(values, dtype=np.float64)
        measured = self._unwrap(v[self._idx])
        self._raw.append(measured)
        xs = self._filter(measured)
        self._x.append(xs)
        if self.signal is not None:
            ph = self._sig_filter(np.array([self.signal.step(v, t)]))[0]
            ys = np.full(len(self.cands), self.cfg.phase_scale * ph)
        else:
            ys = xs
        for c, machines in enumerate(self._machines):
            for k, m in enumerate(machines):
                had = m.pending
                e = m.step(i, float(self._pols[k] * ys[c]))
                if m.pending is not None and m.pending is not had:
                    m.pending.back = self._came_back(replace(m.pending, end=i))
                if e is not None and self._came_back(e):
                    self._add(c, k, e)
        if len(self.cands) > 1 and i % max(1, int(self.fps)) == 0:
            self._choose()
        return self.count

    def _add(self, c: int, k: int, e: _Event) -> None:
        raw = np.asarray(self._raw[max(e.start, 0) : e.end + 1])
        self._events[c][k].append(e)
        self._followed[c][k].append(_followed(raw[:, c], 0, len(raw) - 1, e.rom) if len(raw) else 0.0)

    def motion_paths(self, start: int, now: int) -> np.ndarray | None:
        """The poses kept from a rep's start (a frame of the filtered signal, ``delay`` behind
        the poses) to now, as the motion checks read them (``_motion_paths``); None without
        poses or with fewer than 3 frames."""
        if not self._joints:
            return None
        lo = max(start - self.delay - self._joints_base, 0)
        window = np.asarray(self._joints[lo : max(now - self._joints_base + 1, 0)])
        return _motion_paths(window, self.fps) if len(window) >= 3 else None

    def _moved(self, start: int, now: int) -> bool:
        """Whether some joint moved ``MIN_REP_MOTION`` from a rep's start to now; True without
        poses."""
        paths = self.motion_paths(start, now)
        return paths is None or not _spread(paths) < MIN_REP_MOTION

    def _came_back(self, e: _Event) -> bool:
        """Whether the body came back to where the rep began, judged as uploads judge it once
        the rep's end is known; True without poses. A one-way move counted as its angle came
        back is taken off the count here."""
        # the poses run ``delay`` frames ahead of the filtered signal the event's frames count
        paths = self.motion_paths(e.start, e.end - self.delay) if self.round_trip else None
        return paths is None or _came_back(paths)

    def _choose(self) -> None:
        # the offline rule on what has been seen: the rep score (within an exercise, among
        # ``_scored_candidates``), the range when nothing has reps
        ranges = _score(np.asarray(self._x[-int(_CHOICE_WINDOW_S * self.fps) :]))

        def score(c: int) -> float:
            k = self._chosen_orientation(c)
            return _rep_score([e.rom for e in self._events[c][k]], self._followed[c][k]) if ranges[c] > 0 else -1.0

        scores = [score(c) for c in range(len(self.cands))]
        sides: Sequence[int] = range(len(self.cands))
        if self.exercise is not None:
            sides = _scored_candidates(self.cands, ranges, self.exercise)
        elif self._suggested_key is not None:
            fam = self._suggested
            sides = [fam[j] for j in _scored_candidates([self.cands[c] for c in fam], ranges[fam], self._suggested_key)]
            if max(scores[c] for c in sides) < SUGGESTION_HOLDS * max(scores):
                sides = range(len(self.cands))  # reps far more regular elsewhere: a reading gone wrong
        scores = [v if c in sides else -1.0 for c, v in enumerate(scores)]
        if max(scores) > 0:
            self._choice = int(np.argmax(scores))
        elif self._suggested and max(ranges[self._suggested]) > 0:
            self._choice = self._suggested[int(np.argmax(ranges[self._suggested]))]
        else:
            self._choice = int(np.argmax(ranges))

    def finish(self) -> list[Rep]:
        """End of the stream: close a rep still waiting for its end; returns all reps."""
        if not self._finished:
            for c, machines in enumerate(self._machines):
                for k, m in enumerate(machines):
                    if (e := m.flush()) is not None and self._came_back(e):
                        self._add(c, k, e)
            self._finished = True
            if len(self.cands) > 1 and self._x:
                self._choose()
        return self.reps

    @property
    def count(self) -> int:
        c = self._choice
        k = self._chosen_orientation(c)
        pending = self._machines[c][k].pending
        return len(self._events[c][k]) + (pending is not None and pending.back)

    @property
    def tally(self) -> tuple[int, int, int]:
        """(angle, direction, reps whose end is known): it changes when a rep ends or the counter
        moves to another angle (or way of counting one), i.e. when ``reps`` may have changed.
        Cheap, unlike ``reps``, so it can be asked every frame (``count`` also counts a rep still
        waiting for its end)."""
        c = self._choice
        k = self._chosen_orientation(c)
        return c, k, len(self._events[c][k])

    @property
    def reps(self) -> list[Rep]:
        """Reps whose end is known, with frames corrected for the filter's delay."""
        if not self._times:
            return []
        c = self._choice
        events = self._events[c][self._chosen_orientation(c)]
        x = np.asarray(self._x)[:, c]
        x = np.concatenate([x[self.delay :], x[-1:].repeat(min(self.delay, len(x)))])
        return _to_reps(events, self.angle, x, np.asarray(self._times), self.fps, self.delay)

