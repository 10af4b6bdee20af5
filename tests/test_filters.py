"""Filters against known signals: a sine + noise, steps, NaN gaps."""

from __future__ import annotations

import numpy as np
import pytest

from physio_core.filters import (
    OneEuroFilter,
    StreamingLowpass,
    butter_lowpass,
    fill_gaps,
    savgol,
    smooth_angles,
)
from physio_core.results import AngleSeries

FPS = 30.0


def noisy_sine(seed: int = 0, n: int = 600, noise: float = 3.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FPS
    clean = 40.0 * np.sin(2 * np.pi * 0.5 * t) + 60.0  # a 2 s rep cycle, 80 deg range
    return t, clean, clean + rng.normal(0.0, noise, n)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.nanmean(x**2)))


def test_butterworth_removes_noise_without_lag():
    _, clean, noisy = noisy_sine()
    out = butter_lowpass(noisy, FPS, cutoff_hz=2.0)
    assert rms(out - clean) < 0.5 * rms(noisy - clean)
    # zero phase: the best alignment with the clean signal is at lag 0
    lags = range(-5, 6)
    errs = [rms(np.roll(out, k)[10:-10] - clean[10:-10]) for k in lags]
    assert list(lags)[int(np.argmin(errs))] == 0


def test_savgol_removes_noise_and_differentiates():
    t, clean, noisy = noisy_sine(seed=1)
    out = savgol(noisy, FPS, window_s=0.4, polyorder=2)
    assert rms(out - clean) < 0.6 * rms(noisy - clean)
    speed = savgol(clean, FPS, window_s=0.2, polyorder=3, deriv=1)
    true_speed = 40.0 * 2 * np.pi * 0.5 * np.cos(2 * np.pi * 0.5 * t)
    assert rms(speed[5:-5] - true_speed[5:-5]) < 1.0  # deg/s, against a 126 deg/s peak


def test_short_gaps_interpolated_long_gaps_kept():
    _, clean, noisy = noisy_sine(seed=2)
    x = noisy.copy()
    x[100:104] = np.nan  # 4 frames: filled
    x[300:330] = np.nan  # 1 s: kept NaN
    out = butter_lowpass(x, FPS, cutoff_hz=3.0, max_gap_s=0.25)
    assert np.isfinite(out[100:104]).all()
    assert np.abs(out[100:104] - clean[100:104]).max() < 4.0
    assert np.isnan(out[300:330]).all()
    assert np.isfinite(out[:300]).all() and np.isfinite(out[330:]).all()
    assert rms(out[330:] - clean[330:]) < 0.5 * rms(noisy[330:] - clean[330:])
    # leading / trailing gaps are never extrapolated
    y = noisy.copy()
    y[:3] = np.nan
    assert np.isnan(fill_gaps(y, 10)[:3]).all()


def test_filters_work_on_multichannel_arrays():
    _, clean, noisy = noisy_sine(seed=3)
    x = np.stack([noisy, noisy * 0.5, -noisy], axis=1).reshape(-1, 3)
    x[50:53, 1] = np.nan
    out = butter_lowpass(x, FPS, 3.0)
    np.testing.assert_allclose(out[:, 2], -out[:, 0], atol=1e-9)
    joints = np.repeat(x[:, :, None], 3, axis=2)  # (T, 3 joints, 3 coords)
    assert butter_lowpass(joints, FPS, 3.0).shape == joints.shape
    series = AngleSeries(("a", "b", "c"), x, np.arange(len(x)) / FPS)
    sm = smooth_angles(series, FPS, 3.0)
    assert sm.names == series.names and rms(sm["a"] - clean) < rms(noisy - clean)


def test_short_run_between_gaps_is_left_or_filtered_without_error():
    x = np.full(40, np.nan)
    x[10:13] = [1.0, 2.0, 3.0]  # too short to filter: passes unchanged
    x[20:30] = np.linspace(0, 9, 10)
    out = butter_lowpass(x, FPS, 3.0, max_gap_s=0.0)
    np.testing.assert_array_equal(out[10:13], [1.0, 2.0, 3.0])
    assert np.isfinite(out[20:30]).all() and np.isnan(out[:10]).all()


def test_one_euro_reduces_jitter_at_rest_and_bounds_step_lag():
    rng = np.random.default_rng(4)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    n = 120
    x = np.where(np.arange(n) < 60, 0.0, 90.0) + rng.normal(0, 1.0, n)
    out = np.array([f(np.array([v]), i / FPS)[0] for i, v in enumerate(x)])
    assert np.std(out[20:60]) < 0.5 * np.std(x[20:60])  # jitter at rest
    settle = np.flatnonzero(np.abs(out[60:] - 90.0) < 9.0)[0]  # within 10 % of the step
    assert settle <= 3  # frames: the speed term opens the cut-off on fast moves


def test_one_euro_vectorised_and_nan_channels():
    f = OneEuroFilter()
    a = f(np.array([0.0, 5.0, np.nan]), 0.0)
    assert np.isnan(a[2]) and a[0] == 0.0
    b = f(np.array([1.0, np.nan, 7.0]), 1 / FPS)
    assert 0.0 < b[0] < 1.0 and np.isnan(b[1]) and b[2] == 7.0  # channel 2 starts fresh
    c = f(np.array([1.0, 5.0, 7.0]), 2 / FPS)
    assert c[1] == pytest.approx(5.0)  # channel 1 kept its state across the one-frame gap


def test_streaming_lowpass_matches_sosfilt_and_starts_without_transient():
    from scipy.signal import butter, sosfilt, sosfilt_zi

    _, clean, noisy = noisy_sine(seed=5)
    f = StreamingLowpass(FPS, cutoff_hz=3.0, order=2)
    out = np.array([f(np.array([v, 2 * v])) for v in noisy])
    sos = butter(2, 3.0, fs=FPS, output="sos")
    ref, _ = sosfilt(sos, noisy, zi=sosfilt_zi(sos) * noisy[0])
    np.testing.assert_allclose(out[:, 0], ref, atol=1e-9)
    np.testing.assert_allclose(out[:, 1], 2 * ref, atol=1e-9)
    assert rms(out[30:, 0] - np.roll(clean, 3)[30:]) < rms(noisy - clean)  # ~3 frames of lag
    g = StreamingLowpass(FPS, 3.0)
    assert g(np.array(50.0)) == pytest.approx(50.0)  # steady state from the first value
    assert np.isnan(g(np.array(np.nan)))
    assert g(np.array(10.0)) == pytest.approx(10.0)  # restarts after a gap
