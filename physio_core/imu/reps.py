"""Rep counting on a wrist IMU: peaks of one low-pass filtered acceleration signal.

For each lift a table gives which 1-D signal carries the reps (the acceleration magnitude, or
the acceleration projected on its principal axis, sign set so that +1 points along gravity),
its low-pass cut-off, which side of the signal peaks once per rep, and the lift's range of rep
periods. The set's own period is estimated by autocorrelation inside that range and the
minimum peak distance is a fraction of it, so a slow and a quick lifter both count right.

A recording is rarely only the set: the sensor runs while the lifter stands, walks to the bar
and takes the grip, and after the set while they rack it and step away. Three things keep that
out of the count:
- the wrist's posture (which way gravity points, held for seconds) is a moving median of the
  acceleration and is taken out before anything is counted, so that turning the wrist to take
  the bar is not a rep and does not become the signal's main axis;
- the set is the longest stretch whose movement stays within 0.1-5 times the recording's
  median energy of movement (time held still left out of that median; standing still is below,
  walking about or re-racking is above), short breaks bridged; its axis, period and peak
  threshold are read there;
- a rep at either end of the set that does not look like the set's typical rep (the 3-D shape
  of its movement) or stands more than two periods apart is not counted.

A set without periodic movement has no reps, whatever the lift. The gate is the autocorrelation
of the posture-free acceleration magnitude (1 Hz low-pass) at its strongest lag between 1 and
6.5 s, over the set, each half and 10 s windows (the best of them, so that a lifter who slows
down late in the set still passes), counting only stretches that move at least 0.065 g (s.d.):
standing and swaying reach 0.81 in a 10 s window but move at most 0.056 g, the lifts' windows at
least 0.074 g. On the MetaMotion sets the lifts reach 0.48 to 1.0 (0.49 with the second half of
each set played 1.5 times slower), the two rest recordings 0.28 and 0.31. The gate is at 0.40.

The table and these thresholds were chosen by looking at the MetaMotion sets of participants A,
B, C, E (the same sets the evaluation reports on), from plateaus of the grid rather than its
single best point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import find_peaks

from physio_core.filters import true_runs
from physio_core.imu.io import DEFAULT_RATE_HZ, ImuSeries
from physio_core.imu.signal import autocorr_period, lowpass, principal_axis, uniform


@dataclass(frozen=True)
class RepParams:
    signal: Literal["magnitude", "principal"]
    cutoff_hz: float
    sign: int  # +1: count maxima of the signal, -1: count minima
    period_s: tuple[float, float]  # typical rep period of the lift (search range)
    prominence: float = 0.35  # fraction of the signal's 5-95 % range
    distance: float = 0.5  # minimum peak distance as a fraction of the set's period
    # a peak closer than close * period to a neighbour and weaker than weak * the median
    # prominence is a bump inside a rep, not a rep; a quicker rep of full size is kept
    close: float = 0.75
    weak: float = 0.6
    min_prominence_g: float = 0.03  # below this a bump is sensor noise


REP_PARAMS: dict[str, RepParams] = {
    "bench": RepParams("magnitude", 0.7, +1, (1.5, 4.5)),
    "squat": RepParams("principal", 1.0, +1, (1.8, 5.0), prominence=0.2),
    "dead": RepParams("principal", 0.5, -1, (1.8, 4.5)),
    "ohp": RepParams("magnitude", 0.7, -1, (1.5, 4.5), prominence=0.2),
    "row": RepParams("principal", 1.0, -1, (1.0, 3.0)),
}
# unknown lift: the broadest setting; also the signal of the periodicity gate
DEFAULT_PARAMS = RepParams("magnitude", 1.0, +1, (1.0, 5.0))
GATE_PERIOD_S = (1.0, 6.5)
MIN_PERIODICITY = 0.40
GATE_WINDOW_S = 10.0  # the gate also reads windows this long, every GATE_STEP_S
GATE_STEP_S = 2.5
MIN_MOTION_G = 0.065  # a stretch moving less (s.d. of the gate signal) is not a set, however regular
POSTURE_PERIODS = 1.5  # the posture is the moving median over this many of the lift's slowest reps
SET_ENERGY_WINDOW_S = 2.0
SET_ENERGY_RANGE = (0.1, 5.0)  # the set's movement energy, relative to the recording's median
STILL_G = 0.03  # a wrist moving less (rms, g) is held still: not part of the recording's median
SET_BREAK_S = 2.0  # a shorter stretch out of that range inside a set is part of it
EDGE_MIN_LIKENESS = 0.2  # an end rep less like the set's typical rep (correlation) is not counted
EDGE_MAX_GAP = 2.0  # nor is one further than this many periods from its neighbour


@dataclass
class ImuRep:
    index: int  # 1-based
    start_s: float
    end_s: float
    peak_s: float
    amplitude_g: float  # peak height above the mean of the two valleys around it

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "duration_s": round(self.duration_s, 3),
            "peak_s": round(self.peak_s, 3),
            "amplitude_g": round(self.amplitude_g, 4),
        }


@dataclass
class RepCount:
    lift: str | None
    reps: list[ImuRep]
    period_s: float | None  # estimated rep period of the set
    periodicity: float  # the gate's autocorrelation (movement_periodicity), 1 = perfectly regular
    times: np.ndarray = field(repr=False)
    signal: np.ndarray = field(repr=False)  # the 1-D signal the reps were counted on (g), over the set
    reason: str = ""
    set_start_s: float = 0.0  # the stretch of the recording taken as the set (the rest is not counted)
    set_end_s: float = 0.0

    @property
    def count(self) -> int:
        return len(self.reps)

    def to_dict(self) -> dict:
        return {
            "lift": self.lift,
            "count": self.count,
            "period_s": None if self.period_s is None else round(self.period_s, 3),
            "periodicity": round(self.periodicity, 3),
            "reason": self.reason,
            "set_start_s": round(self.set_start_s, 3),
            "set_end_s": round(self.set_end_s, 3),
            "reps": [r.to_dict() for r in self.reps],
        }


def _posture(series: ImuSeries, params: RepParams) -> np.ndarray:
    """(T, 3) the acceleration the wrist holds for seconds: gravity in its current posture."""
    n = int(POSTURE_PERIODS * params.period_s[1] * series.rate_hz) | 1
    return median_filter(series.acc, size=(n, 1), mode="nearest")


def _motion(series: ImuSeries, params: RepParams) -> tuple[np.ndarray, np.ndarray]:
    """(posture, low-pass movement around it), both (T, 3) in g."""
    posture = _posture(series, params)
    return posture, lowpass(series.acc - posture, params.cutoff_hz, series.rate_hz)


def rep_signal(series: ImuSeries, params: RepParams) -> np.ndarray:
    """The 1-D signal (g) the reps are counted on, sign applied so that reps are maxima."""
    return _signal(series, params, *_motion(series, params))


def _signal(series: ImuSeries, params: RepParams, posture: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """``rep_signal`` from the series' posture and movement (``_motion``), already at hand."""
    if params.signal == "magnitude":
        y = np.linalg.norm(lowpass(series.acc, params.cutoff_hz, series.rate_hz), axis=1)
        y = y - np.linalg.norm(posture, axis=1)
    else:
        axis = principal_axis(motion)
        if axis @ posture.mean(axis=0) < 0:
            axis = -axis
        y = motion @ axis
    return params.sign * (y - y.mean())


def movement_periodicity(series: ImuSeries) -> float:
    """How periodic the movement is (0 none, 1 perfectly): the gate before any rep is counted."""
    s = uniform(series, DEFAULT_RATE_HZ)
    y = rep_signal(s, DEFAULT_PARAMS)
    n, half = len(y), len(y) // 2
    w, step = int(GATE_WINDOW_S * DEFAULT_RATE_HZ), int(GATE_STEP_S * DEFAULT_RATE_HZ)
    parts = [y, y[:half], y[half:], *(y[i:i + w] for i in range(0, n - w + 1, step))]
    return max((autocorr_period(part, DEFAULT_RATE_HZ, *GATE_PERIOD_S)[1]
                for part in parts if len(part) and part.std() >= MIN_MOTION_G), default=0.0)


def find_set(series: ImuSeries) -> tuple[int, int]:
    """[start, stop) samples of the set in a recording on a uniform grid: the longest stretch
    whose movement energy stays within SET_ENERGY_RANGE of the recording's median."""
    _, motion = _motion(series, DEFAULT_PARAMS)
    k = max(1, int(SET_ENERGY_WINDOW_S * series.rate_hz))
    energy = np.convolve((motion**2).sum(axis=1), np.ones(k) / k, mode="same")
    moving = energy >= STILL_G**2
    if not moving.any():
        return 0, len(series)
    med = np.median(energy[moving])
    runs = true_runs((energy >= SET_ENERGY_RANGE[0] * med) & (energy <= SET_ENERGY_RANGE[1] * med))
    if not runs:
        return 0, len(series)
    merged = [list(runs[0])]
    for a, b in runs[1:]:
        if a - merged[-1][1] <= SET_BREAK_S * series.rate_hz:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    a, b = max(merged, key=lambda r: r[1] - r[0])
    return int(a), int(b)


def set_stretch(series: ImuSeries) -> ImuSeries:
    """The set in a recording (``find_set``), on the counter's uniform grid, in the recording's times."""
    s = uniform(series, DEFAULT_RATE_HZ)
    a, b = find_set(s)
    return ImuSeries(s.times[a:b], s.acc[a:b], None if s.gyr is None else s.gyr[a:b], s.meta)


def count_reps(
    series: ImuSeries, lift: str | None, params: RepParams | None = None
) -> RepCount:
    """Count the reps of one set; ``lift`` (e.g. the classifier's answer) picks the parameters.

    lift "rest" gives no reps.
    """
    rate = DEFAULT_RATE_HZ
    if lift == "rest":
        s = uniform(series, rate)
        return RepCount(lift, [], None, 0.0, s.times, np.zeros(len(s)), "a rest period has no reps")
    s = set_stretch(series)
    where = dict(set_start_s=float(s.times[0]), set_end_s=float(s.times[-1])) if len(s) else {}
    p = params or REP_PARAMS.get(lift or "", DEFAULT_PARAMS)
    posture, motion = _motion(s, p)
    y = _signal(s, p, posture, motion)
    periodicity = movement_periodicity(s)
    if periodicity < MIN_PERIODICITY:
        return RepCount(
            lift, [], None, periodicity, s.times, y,
            f"no regular movement (periodicity {periodicity:.2f} < {MIN_PERIODICITY})", **where,
        )
    period, _ = autocorr_period(y, rate, *p.period_s)
    if period is None:  # too short to hold two reps: assume the lift's middle tempo
        period = float(np.mean(p.period_s))
    span = np.percentile(y, 95) - np.percentile(y, 5)
    peaks, props = find_peaks(
        y,
        prominence=max(p.prominence * span, p.min_prominence_g),
        distance=max(1, int(p.distance * period * rate)),
    )
    peaks = _drop_bumps(peaks, props["prominences"], p.close * period * rate, p.weak)
    reps = _reps_from_peaks(s.times, y, peaks, int(round(period * rate)))
    reps = _trim_edges(reps, motion, s.times, period)
    return RepCount(
        lift, reps, period, periodicity, s.times, y,
        f"{len(reps)} peaks of the {p.signal} signal, period {period:.1f} s", **where,
    )


def _shape(motion: np.ndarray, a: int, b: int, n: int = 32) -> np.ndarray:
    """A rep's 3-D movement resampled to n steps, centred and of unit norm."""
    seg = motion[a:b + 1]
    if len(seg) < 3:
        return np.zeros(3 * n)
    x = np.linspace(0, len(seg) - 1, n)
    v = np.stack([np.interp(x, np.arange(len(seg)), seg[:, k]) for k in range(3)], axis=1).ravel()
    v = v - v.mean()
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v


def _trim_edges(reps: list[ImuRep], motion: np.ndarray, times: np.ndarray, period: float) -> list[ImuRep]:
    """Drop, from either end, reps unlike the set's typical rep or standing apart from the others:
    the wrist turning to take the bar or stepping away after the set."""
    if len(reps) < 3:
        return reps
    at = lambda t: int(np.searchsorted(times, t))  # noqa: E731
    shapes = np.array([_shape(motion, at(r.start_s), at(r.end_s)) for r in reps])
    typical = np.median(shapes, axis=0)
    likeness = shapes @ (typical / max(np.linalg.norm(typical), 1e-9))
    lo, hi = 0, len(reps)
    while hi - lo > 2:
        if likeness[lo] < EDGE_MIN_LIKENESS or reps[lo + 1].peak_s - reps[lo].peak_s > EDGE_MAX_GAP * period:
            lo += 1
        elif likeness[hi - 1] < EDGE_MIN_LIKENESS or reps[hi - 1].peak_s - reps[hi - 2].peak_s > EDGE_MAX_GAP * period:
            hi -= 1
        else:
            break
    kept = reps[lo:hi]
    for i, r in enumerate(kept):
        r.index = i + 1
    return kept


def _drop_bumps(peaks: np.ndarray, prominences: np.ndarray, close_n: float, weak: float) -> np.ndarray:
    """Remove, weakest first, peaks that are both close to a neighbour and weak."""
    keep = list(range(len(peaks)))
    while len(keep) > 2:
        med = np.median(prominences[keep])
        candidates = []
        for i, k in enumerate(keep):
            gaps = [abs(peaks[k] - peaks[keep[j]]) for j in (i - 1, i + 1) if 0 <= j < len(keep)]
            if min(gaps) < close_n and prominences[k] < weak * med:
                candidates.append((prominences[k], i))
        if not candidates:
            break
        keep.pop(min(candidates)[1])
    return peaks[keep]


def _reps_from_peaks(t: np.ndarray, y: np.ndarray, peaks: np.ndarray, period_n: int) -> list[ImuRep]:
    """A rep runs from the valley before its peak to the valley after it."""
    n = len(y)
    valleys = []
    for i, pk in enumerate(peaks):
        lo = peaks[i - 1] if i > 0 else max(0, pk - period_n // 2)
        valleys.append(lo + int(np.argmin(y[lo:pk + 1])))
    if len(peaks):
        last = peaks[-1]
        hi = min(n - 1, last + period_n // 2)
        valleys.append(last + int(np.argmin(y[last:hi + 1])))
    reps = []
    for i, pk in enumerate(peaks):
        a, b = valleys[i], valleys[i + 1]
        reps.append(
            ImuRep(
                index=i + 1, start_s=float(t[a]), end_s=float(t[b]), peak_s=float(t[pk]),
                amplitude_g=float(y[pk] - 0.5 * (y[a] + y[b])),
            )
        )
    return reps
