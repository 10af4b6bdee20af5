"""Stability of a set from the wrist IMU, in [0, 1], with a short plain reason.

Three parts, each in [0, 1] (1 = steady):
- tempo: rep-to-rep consistency of rep durations, 1 - CV / 0.5 (a 50 % spread scores 0);
- amplitude: rep-to-rep consistency of rep amplitudes on the counting signal, 1 - CV / 0.5;
- path: how much of the movement stays on the bar's main axis. Off-axis ("sway") share of the
  acceleration variance (gravity removed by a 0.2 Hz high-pass of the 3 Hz low-passed signal)
  and jerkiness (RMS jerk relative to a sinusoid at the rep tempo) both lower it.
The score is their mean; the reason names the weakest part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physio_core.imu.io import DEFAULT_RATE_HZ, ImuSeries
from physio_core.imu.reps import RepCount
from physio_core.imu.signal import lowpass, principal_axis, uniform

CV_ZERO = 0.5  # coefficient of variation that scores 0
SWAY_ZERO = 0.7  # off-axis share of variance that scores 0
JERK_ZERO = 6.0  # jerk ratio (1 = pure sinusoid at rep tempo) that scores 0


@dataclass
class Stability:
    score: float | None  # None when there are too few reps to judge
    tempo: float | None
    amplitude: float | None
    path: float | None
    duration_cv: float | None
    amplitude_cv: float | None
    sway_share: float | None
    jerk_ratio: float | None
    reason: str

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _cv(v: np.ndarray) -> float:
    m = float(np.mean(v))
    return float(np.std(v) / abs(m)) if abs(m) > 1e-9 else 1.0


def _unit(x: float, zero_at: float) -> float:
    return float(np.clip(1.0 - x / zero_at, 0.0, 1.0))


def path_metrics(series: ImuSeries, period_s: float | None) -> tuple[float, float]:
    """(sway share of the movement's variance, jerk ratio) over the whole set."""
    s = uniform(series, DEFAULT_RATE_HZ)
    rate = DEFAULT_RATE_HZ
    acc = lowpass(s.acc, 3.0, rate)
    motion = acc - lowpass(acc, 0.2, rate)  # gravity and slow drift of orientation out
    var = motion.var(axis=0).sum()
    if var <= 1e-12:
        return 0.0, 1.0
    axis = principal_axis(motion)
    on = (motion @ axis).var()
    sway = float(1.0 - on / var)
    jerk = np.diff(motion, axis=0) * rate
    rms_jerk = np.sqrt((jerk**2).sum(axis=1).mean())
    rms = np.sqrt(var)
    omega = 2 * np.pi / (period_s if period_s else 3.0)
    return sway, float(rms_jerk / (rms * omega))


def stability(series: ImuSeries, reps: RepCount) -> Stability:
    n = reps.count
    if n < 3:
        return Stability(None, None, None, None, None, None, None, None,
                         f"{n} rep(s) found: at least 3 are needed to judge stability")
    dur = np.array([r.duration_s for r in reps.reps])
    amp = np.array([r.amplitude_g for r in reps.reps])
    dur_cv, amp_cv = _cv(dur), _cv(amp)
    # the bar path over the counted reps, not the walk to the bar before them
    s = uniform(series, DEFAULT_RATE_HZ)
    inside = (s.times >= reps.reps[0].start_s) & (s.times <= reps.reps[-1].end_s)
    sway, jerk = path_metrics(ImuSeries(s.times[inside], s.acc[inside]), reps.period_s)
    parts = {
        "tempo": _unit(dur_cv, CV_ZERO),
        "amplitude": _unit(amp_cv, CV_ZERO),
        "path": 0.5 * (_unit(sway, SWAY_ZERO) + _unit(max(jerk - 1.0, 0.0), JERK_ZERO - 1.0)),
    }
    score = float(np.mean(list(parts.values())))
    weakest = min(parts, key=parts.get)
    if parts[weakest] >= 0.8:
        reason = f"steady set: rep time varies {dur_cv:.0%}, rep size {amp_cv:.0%}"
    elif weakest == "tempo":
        reason = f"uneven tempo: rep durations vary by {dur_cv:.0%} ({dur.min():.1f}-{dur.max():.1f} s)"
    elif weakest == "amplitude":
        reason = f"uneven reps: rep amplitude varies by {amp_cv:.0%} from rep to rep"
    else:
        reason = (f"unsteady bar path: {sway:.0%} of the movement is off its main line, and it is "
                  f"{jerk:.1f}× as jerky as a smooth rep at this pace")
    return Stability(score, parts["tempo"], parts["amplitude"], parts["path"],
                     dur_cv, amp_cv, sway, jerk, reason)
