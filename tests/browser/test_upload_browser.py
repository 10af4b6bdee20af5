"""The upload page end to end in a real headless Chromium (scripts/screenshot_upload.py).

Starts ``streamlit run app.py`` on an empty data folder, adds an athlete, uploads the real test
clip (tests/data/SOURCE.md) through the page's file input, clicks Analyse, scrubs to frame 25
and checks what the browser shows: saved session, metrics, the overlay frame (an image that
actually loaded), the 3D / angle / rep charts; downloads the angles, summary and 3D joints (files
built on the click); then makes the annotated video and plays it. The screenshot is kept in
$PHYSIO_BROWSER_ARTIFACTS (default: pytest's temporary folder).
Debian packages: chromium, chromium-driver.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "tests" / "data" / "sports2d_demo.mp4"


def _load_script():
    spec = importlib.util.spec_from_file_location("screenshot_upload", ROOT / "scripts" / "screenshot_upload.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _needs_browser(shot) -> None:
    missing = [p for p in (shot.CHROMIUM, shot.CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        reason = f"{missing} missing (apt-get install -y chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; the browser test must run in CI")
        pytest.skip(reason)


def test_upload_report_in_chromium(tmp_path):
    shot = _load_script()
    _needs_browser(shot)
    out_dir = Path(os.environ.get("PHYSIO_BROWSER_ARTIFACTS", tmp_path))
    res = shot.capture(CLIP, out_dir / "upload_report.png", frame=25, timeout_s=240, annotated=True,
                       downloads=tmp_path / "downloads")
    assert res.errors == []
    assert res.success_text == "Saved as session #1."
    assert int(res.metrics["Reps"]) >= 2
    assert res.metrics["Pose backend"] == "mediapipe"
    assert res.image_captions == ["frame 25 · 0.83 s"]
    # angles, 3D skeleton, ROM per rep, and a rep's corrected pose when the exercise is known
    assert res.plotly_charts == (3 if res.metrics["Exercise"] == "No known exercise" else 4)
    frame, pose = res.boxes["frame"], res.boxes["pose"]
    assert pose[0] >= frame[2] and pose[1] < frame[3]  # the 3D pose beside the frame
    # the downloads, as the browser saved them: every analysed frame, the reps the page showed
    files = res.downloads
    assert [p.name for p in files.values()] == ["sports2d_demo_angles.csv", "sports2d_demo_summary.json",
                                                "sports2d_demo_joints.csv", "sports2d_demo_report.html"]
    page = files["Printable report (HTML)"].read_text()
    assert "<title>Upload · sports2d_demo.mp4</title>" in page and f"Reps<b>{res.metrics['Reps']}</b>" in page
    joints = pd.read_csv(files["3D joints (CSV)"])
    assert len(joints) == 230 and {"time_s", "head_x", "r_knee_z", "l_ankle_conf"} <= set(joints.columns)
    angles = pd.read_csv(files["Angles (CSV)"])
    assert len(angles) == 230 and "knee_angle_r" in angles.columns
    summary = json.loads(files["Summary (JSON)"].read_text())
    assert len(summary["reps"]) == int(res.metrics["Reps"]) and len(summary["series"]["time_s"]) == 230
    # the annotated video plays in the browser: the whole clip, at the analysed size
    played = res.annotated_video
    assert played["error"] is None and played["readyState"] >= 3, played
    assert abs(played["duration"] - 230 / 30) < 0.1 and played["videoWidth"] == 640
    assert played["currentTime"] > 0.5  # it ran, not just loaded
    png = res.png.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 100_000


def test_on_a_tablet_the_3d_pose_goes_under_the_frame(tmp_path):
    """At 1024 px with the sidebar open the column beside the frame is about 210 px: there the 3D
    view (whose field of view is fixed vertically) cut the sides of its box. It now goes under
    the frame, as wide as the page."""
    shot = _load_script()
    _needs_browser(shot)
    res = shot.capture(CLIP, tmp_path / "upload_1024.png", frame=25, width=1024, height=2600, timeout_s=240)
    assert res.errors == [] and res.image_captions == ["frame 25 · 0.83 s"]
    frame, pose = res.boxes["frame"], res.boxes["pose"]
    assert pose[1] >= frame[3]  # under the frame
    assert pose[2] - pose[0] >= 0.95 * (frame[2] - frame[0]) and pose[2] - pose[0] >= 360, res.boxes
