"""Window features for lift recognition from a wrist IMU (25 Hz, acc in g, gyr in deg/s)."""

from __future__ import annotations

import numpy as np

from physio_core.imu.io import DEFAULT_RATE_HZ, ImuSeries
from physio_core.imu.signal import lowpass, principal_axis, uniform

WINDOW_S = 4.0
STEP_S = 1.0
_BAND_HZ = (0.15, 3.0)  # where rep rhythms live


def window_starts(n: int, rate_hz: float, window_s: float = WINDOW_S, step_s: float = STEP_S) -> list[int]:
    w, step = int(round(window_s * rate_hz)), max(1, int(round(step_s * rate_hz)))
    if n <= w:
        return [0]
    return list(range(0, n - w + 1, step))


def _dominant(y: np.ndarray, rate_hz: float) -> tuple[float, float]:
    """Frequency of the strongest in-band spectral peak and its share of in-band power."""
    y = (y - y.mean()) * np.hanning(len(y))
    power = np.abs(np.fft.rfft(y, n=max(256, len(y)))) ** 2
    freqs = np.fft.rfftfreq(max(256, len(y)), d=1.0 / rate_hz)
    band = (freqs >= _BAND_HZ[0]) & (freqs <= _BAND_HZ[1])
    total = power[band].sum()
    if total <= 0:
        return 0.0, 0.0
    k = np.argmax(power[band])
    return float(freqs[band][k]), float(power[band][k] / total)


def _corr3(x: np.ndarray) -> list[float]:
    sd = x.std(axis=0)
    out = []
    for i, j in ((0, 1), (0, 2), (1, 2)):
        out.append(float(np.corrcoef(x[:, i], x[:, j])[0, 1]) if sd[i] > 1e-9 and sd[j] > 1e-9 else 0.0)
    return out


def _block(x: np.ndarray, rate_hz: float, prefix: str) -> dict[str, float]:
    f: dict[str, float] = {}
    mag = np.linalg.norm(x, axis=1)
    for k, ax in enumerate("xyz"):
        v = x[:, k]
        f[f"{prefix}_{ax}_mean"] = float(v.mean())
        f[f"{prefix}_{ax}_std"] = float(v.std())
        f[f"{prefix}_{ax}_p10"] = float(np.percentile(v, 10))
        f[f"{prefix}_{ax}_p90"] = float(np.percentile(v, 90))
    f[f"{prefix}_mag_mean"] = float(mag.mean())
    f[f"{prefix}_mag_std"] = float(mag.std())
    f[f"{prefix}_mag_range"] = float(np.percentile(mag, 95) - np.percentile(mag, 5))
    for name, c in zip(("xy", "xz", "yz"), _corr3(x)):
        f[f"{prefix}_corr_{name}"] = c
    axis = principal_axis(x)
    for k, ax in enumerate("xyz"):
        f[f"{prefix}_pc1_abs_{ax}"] = float(abs(axis[k]))
    pc = (x - x.mean(axis=0)) @ axis
    f[f"{prefix}_pc1_std"] = float(pc.std())
    f[f"{prefix}_pc1_freq"], f[f"{prefix}_pc1_peak_share"] = _dominant(pc, rate_hz)
    f[f"{prefix}_mag_freq"], f[f"{prefix}_mag_peak_share"] = _dominant(mag, rate_hz)
    return f


def window_features(acc: np.ndarray, gyr: np.ndarray | None, rate_hz: float) -> dict[str, float]:
    """Features of one window; gyroscope features only when ``gyr`` is given."""
    f = _block(acc, rate_hz, "acc")
    g = acc.mean(axis=0)
    g = g / (np.linalg.norm(g) + 1e-9)  # the wrist's orientation relative to gravity
    for k, ax in enumerate("xyz"):
        f[f"grav_{ax}"] = float(g[k])
    jerk = np.diff(acc, axis=0) * rate_hz
    f["acc_jerk_rms"] = float(np.sqrt((jerk**2).sum(axis=1).mean())) if len(jerk) else 0.0
    if gyr is not None:
        f.update(_block(gyr, rate_hz, "gyr"))
    return f


def series_windows(
    series: ImuSeries, use_gyr: bool = True, window_s: float = WINDOW_S, step_s: float = STEP_S
) -> tuple[list[str], np.ndarray]:
    """(feature names, (W, F) matrix) of the overlapping windows of a series."""
    s = uniform(series, DEFAULT_RATE_HZ)
    rate = DEFAULT_RATE_HZ
    if use_gyr and s.gyr is None:
        raise ValueError("this series has no gyroscope; use the accelerometer-only features")
    # a gentle low-pass keeps the rhythm and drops wrist tremor and sensor noise
    acc = lowpass(s.acc, 5.0, rate)
    gyr = lowpass(s.gyr, 5.0, rate) if use_gyr else None
    w = int(round(window_s * rate))
    rows, names = [], None
    for a in window_starts(len(s), rate, window_s, step_s):
        f = window_features(acc[a:a + w], None if gyr is None else gyr[a:a + w], rate)
        names = names or list(f)
        rows.append([f[n] for n in names])
    return names, np.asarray(rows, dtype=float)
