"""The JSON layout of stored series (no database needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from physio_core.results import AngleSeries
from physio_core.skeleton import N_JOINTS, PoseSequence
from physio_core.store import codec


def test_lists_round_and_carry_nan_as_null():
    a = np.array([[0.12345, np.nan], [-np.inf, 2.0]])
    out = codec.to_list(a, 3)
    assert out == [[0.123, None], [None, 2.0]]
    json.dumps(out, allow_nan=False)  # valid JSON: no NaN left
    back = codec.from_list(out, (2,))
    assert back.shape == (2, 2) and np.isnan(back[0, 1]) and np.isnan(back[1, 0])
    assert codec.from_list([], (N_JOINTS, 3)).shape == (0, N_JOINTS, 3)


def test_pose_chunks_merge_to_the_whole():
    rng = np.random.default_rng(0)
    t = 12
    joints = rng.normal(scale=0.4, size=(t, N_JOINTS, 3))
    joints[5] = np.nan
    pose = PoseSequence(joints, np.where(np.isnan(joints[..., 0]), 0.0, 0.9), np.arange(t) / 25, 25.0,
                        rng.normal(size=(t, 3)))
    merged = codec.merge([codec.encode_pose(pose.slice(0, 5)), codec.encode_pose(pose.slice(5, t))])
    whole = codec.decode_pose(merged)
    np.testing.assert_allclose(whole.joints, joints, atol=5e-4 + 1e-12, equal_nan=True)
    np.testing.assert_array_equal(whole.valid, pose.valid)
    assert whole.keypoints_2d is None and whole.fps == 25.0


def test_merge_refuses_chunks_with_different_angle_names():
    a = codec.encode_angles(AngleSeries(("left_knee",), np.zeros((3, 1)), np.arange(3.0)))
    b = codec.encode_angles(AngleSeries(("right_knee",), np.zeros((3, 1)), np.arange(3.0, 6.0)))
    with pytest.raises(ValueError, match="metadata"):
        codec.merge([a, b])


def test_angle_ranges_ignore_a_single_glitch_frame():
    t = np.arange(300) / 30
    knee = 120 + 50 * np.cos(2 * np.pi * t / 2.5)  # 70..170 degrees
    knee[137] = 400.0  # one-frame tracking glitch
    hip = np.full_like(t, np.nan)
    ranges = codec.angle_ranges(AngleSeries(("knee", "hip"), np.stack([knee, hip], 1), t))
    assert set(ranges) == {"knee"}  # an angle never measured has no range
    assert 95 < ranges["knee"] <= 100.5
