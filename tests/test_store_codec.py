"""The layout of stored series (no database needed)."""

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


def test_packed_arrays_hold_exactly_what_the_lists_held():
    rng = np.random.default_rng(1)
    a = rng.normal(scale=2.0, size=(500, 57))
    a[7] = np.nan
    a[9, 3] = np.inf
    a[11, :5] = [0.0005, -0.0005, 0.0015, 1e-9, -2.675]  # halves and tiny values round as lists do
    for decimals in (0, 1, 3, 4):
        packed = codec.pack(a, decimals)
        assert packed["dtype"] == "<i4" and packed["shape"] == [500, 57]
        np.testing.assert_array_equal(codec.unpack(packed), codec.from_list(codec.to_list(a, decimals), (57,)))
    # beyond int32 in those units, the integers widen instead of wrapping
    big = np.array([3.0e6, -3.0e6, np.nan])
    packed = codec.pack(big, 4)
    assert packed["dtype"] == "<i8"
    np.testing.assert_array_equal(codec.unpack(packed), big)
    assert codec.series_array(codec.pack(np.zeros((0, 57)), 3), (19, 3)).shape == (0, 19, 3)


def _version_1(doc: dict) -> dict:
    """The same payload as the first layout wrote it: every series a JSON list."""
    series = {k: codec.to_list(codec.unpack(v), v["decimals"]) for k, v in doc["series"].items()}
    return json.loads(json.dumps({"v": 1, "meta": doc["meta"], "series": series}, allow_nan=False))


def _pose(t: int, seed: int = 0) -> PoseSequence:
    rng = np.random.default_rng(seed)
    joints = rng.normal(scale=0.4, size=(t, N_JOINTS, 3))
    joints[5] = np.nan
    return PoseSequence(joints, np.where(np.isnan(joints[..., 0]), 0.0, 0.9), np.arange(t) / 25, 25.0,
                        rng.normal(size=(t, 3)), rng.uniform(0, 640, size=(t, N_JOINTS, 2)))


def test_version_1_payloads_decode_and_merge_with_packed_ones():
    pose = _pose(12)
    packed = codec.encode_pose(pose)
    old = _version_1(packed)
    assert isinstance(old["series"]["joints"][0], list) and old["series"]["joints"][5][0] is None
    a, b = codec.decode_pose(packed), codec.decode_pose(old)
    for name in ("joints", "confidence", "times", "root", "keypoints_2d"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    # a live session whose first chunk was stored as lists and the next one packed
    merged = codec.decode_pose(codec.merge([_version_1(codec.encode_pose(pose.slice(0, 5))),
                                            codec.encode_pose(pose.slice(5, 12))]))
    np.testing.assert_array_equal(merged.joints, a.joints)
    angles = AngleSeries(("knee",), np.array([[10.123], [np.nan], [30.0]]), np.arange(3) / 30)
    np.testing.assert_array_equal(codec.decode_angles(_version_1(codec.encode_angles(angles))).values,
                                  codec.decode_angles(codec.encode_angles(angles)).values)


def test_corrected_poses_round_trip_by_rep():
    poses = {2: _pose(6, 1), 5: _pose(9, 2)}
    back = codec.decode_corrected(codec.encode_corrected(poses))
    assert sorted(back) == [2, 5] and [len(back[k]) for k in (2, 5)] == [6, 9]
    np.testing.assert_array_equal(back[5].joints, np.round(poses[5].joints, codec.POSE_DECIMALS))


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
