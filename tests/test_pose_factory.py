"""Choosing the pose backend from the settings."""

from __future__ import annotations

import numpy as np
import pytest

from physio_core.config import Settings
from physio_core.pose.base import PoseBackendUnavailable, PoseEstimator
from physio_core.pose.embedded import EmbeddedPoseEstimator
from physio_core.pose.factory import available_backends, get_estimator


def test_default_is_the_embedded_backend_and_it_runs():
    est = get_estimator(Settings(pose_backend="embedded"))
    try:
        assert isinstance(est, EmbeddedPoseEstimator) and isinstance(est, PoseEstimator)
        assert est.detect(np.zeros((240, 320, 3), np.uint8), 0.0) == []
    finally:
        est.close()


def test_backend_name_is_case_and_space_tolerant():
    est = get_estimator(Settings(pose_backend=" Embedded "))
    est.close()
    assert est.name == "mediapipe"


def test_unknown_backend_gets_a_one_line_message_naming_the_choices():
    with pytest.raises(PoseBackendUnavailable) as err:
        get_estimator(Settings(pose_backend="openpose"))
    msg = str(err.value)
    assert "openpose" in msg and "embedded" in msg and "mmpose" in msg and "\n" not in msg


def test_mmpose_either_starts_or_says_how_to_install_it_in_one_line():
    """Here mmpose is usually absent or incomplete (no mmcv, no GPU): the factory must turn
    that into PoseBackendUnavailable; available_backends must agree with get_estimator."""
    reasons = available_backends(Settings())
    assert set(reasons) == {"embedded", "mmpose"} and reasons["embedded"] is None
    try:
        est = get_estimator(Settings(pose_backend="mmpose"))
    except PoseBackendUnavailable as err:
        msg = str(err)
        # one line that says what to do: install the extra, or (installed here) the setting to change
        assert "\n" not in msg.strip()
        assert "install" in msg.lower() or "PHYSIO_" in msg
        assert reasons["mmpose"] == msg
    else:
        try:
            assert isinstance(est, PoseEstimator)
        finally:
            est.close()
        assert reasons["mmpose"] is None
