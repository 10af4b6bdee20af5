"""Small signal helpers shared by the IMU features, rep counter and stability score."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, filtfilt, find_peaks

from physio_core.imu.io import DEFAULT_RATE_HZ, ImuSeries


def uniform(series: ImuSeries, rate_hz: float = DEFAULT_RATE_HZ) -> ImuSeries:
    """The series on a uniform grid at ``rate_hz`` (unchanged when it already is)."""
    if len(series) > 2:
        dt = np.diff(series.times)
        if abs(np.median(dt) - 1.0 / rate_hz) < 1e-6 and np.ptp(dt) < 1e-6:
            return series
    return series.resample(rate_hz)


def lowpass(x: np.ndarray, cutoff_hz: float, rate_hz: float, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0 (short inputs are returned as they are)."""
    b, a = butter(order, cutoff_hz / (rate_hz / 2.0))
    padlen = 3 * max(len(a), len(b))
    if len(x) <= padlen:
        return np.asarray(x, dtype=float).copy()
    return filtfilt(b, a, x, axis=0)


def principal_axis(x: np.ndarray) -> np.ndarray:
    """Unit vector of largest variance of (T, 3) samples."""
    c = x - x.mean(axis=0)
    if not np.any(c):
        return np.array([1.0, 0.0, 0.0])
    return np.linalg.svd(c, full_matrices=False)[2][0]


def autocorr_period(
    y: np.ndarray, rate_hz: float, min_s: float, max_s: float
) -> tuple[float | None, float]:
    """Strongest autocorrelation peak with lag in [min_s, max_s]: (period_s, correlation).

    The autocorrelation is the unbiased estimate normalised to 1 at lag 0; (None, 0.0) when the
    signal is flat or too short to hold two periods.
    """
    y = np.asarray(y, dtype=float) - np.mean(y)
    n = len(y)
    if n < 4 or not np.any(y):
        return None, 0.0
    ac = np.correlate(y, y, mode="full")[n - 1:] / np.arange(n, 0, -1)
    ac = ac / ac[0]
    lo, hi = max(1, int(min_s * rate_hz)), min(int(max_s * rate_hz), n // 2)
    if hi - lo < 3:
        return None, 0.0
    peaks, _ = find_peaks(ac[lo:hi + 1])
    if len(peaks) == 0:
        return None, 0.0
    k = peaks[np.argmax(ac[lo:hi + 1][peaks])] + lo
    return k / rate_hz, float(ac[k])
