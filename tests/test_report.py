"""Report figures, tables and exports, and the frame overlay, on real UI-PRMD sessions and
on a real frame of the test clip."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from physio_core import overlay, report
from physio_core.kinematics import ANGLE_NAMES, FULLY_MEASURED, compute_angles, unwrapped
from physio_core.results import SessionResult
from physio_core.skeleton import N_JOINTS, J, PoseFrame
from physio_core.video import read_frame

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "data" / "sports2d_demo.mp4"


@pytest.fixture
def squat_result(uiprmd_session_result) -> SessionResult:
    """Three real UI-PRMD deep squats, with the 23 angles of the canonical kinematics."""
    r = uiprmd_session_result
    r.angles = compute_angles(r.pose)
    return r


def test_reps_table_and_figure(squat_result):
    df = report.reps_table(squat_result.reps)
    assert list(df["rep"]) == [1, 2, 3]
    assert (df["end_s"] > df["start_s"]).all()
    assert (df["rom_deg"] > 30).all()  # deep squats move the knee a lot
    fig = report.reps_figure(squat_result.reps)
    np.testing.assert_allclose(fig.data[0].y, [r.rom_deg for r in squat_result.reps])
    # the median line is named in the legend, not by a label over the bars
    assert fig.data[1].name == f"median {np.median([r.rom_deg for r in squat_result.reps]):.0f}°"
    assert not fig.layout.annotations and not fig.data[0].showlegend
    # the legend says what the bars' colours mean, for the colours drawn
    legend = {t.name: t.marker.color for t in fig.data[2:]}
    assert legend == {"within 15 % of it": report.ROM_NEAR_COLOUR}
    assert set(fig.data[0].marker.color) == {report.ROM_NEAR_COLOUR}
    short = [dataclasses.replace(squat_result.reps[0], rom_deg=0.5 * squat_result.reps[0].rom_deg),
             *squat_result.reps[1:]]
    fig = report.reps_figure(short)
    assert list(fig.data[0].marker.color) == [report.ROM_OFF_COLOUR] + [report.ROM_NEAR_COLOUR] * 2
    assert {t.name: t.marker.color for t in fig.data[2:]} == {
        "within 15 % of it": report.ROM_NEAR_COLOUR, "more than 15 % off": report.ROM_OFF_COLOUR}
    assert report.reps_table([]).empty


def test_angles_figure_shades_every_rep(squat_result):
    r = squat_result
    fig = report.angles_figure(r.angles, r.reps, ["knee_angle_r", "hip_flexion_r"], current_s=2.0)
    assert [t.name for t in fig.data] == ["Knee angle (R)", "Hip flexion (R)"]
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [(s.x0, s.x1) for s in rects] == [(rep.start_s, rep.end_s) for rep in r.reps]
    # each band spans the plot's height, under the curves, its number at its top left
    assert {(s.yref, s.y0, s.y1, s.layer) for s in rects} == {("y domain", 0, 1, "below")}
    notes = fig.layout.annotations
    assert [(a.text, a.x) for a in notes] == [(f"#{rep.index}", rep.start_s) for rep in r.reps]
    assert {(a.yref, a.y, a.xanchor, a.yanchor, a.showarrow) for a in notes} == {("y domain", 1, "left", "top", False)}
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 1 and lines[0].x0 == 2.0


def test_imu_set_figure_shades_every_rep_alternately():
    """An IMU set's reps touch: every other band is lighter, each numbered, peaks marked."""
    t = np.arange(0, 6, 0.02)
    signal = np.sin(2 * np.pi * t / 2)
    reps = [{"index": k + 1, "start_s": 2.0 * k, "end_s": 2.0 * k + 2.0, "peak_s": 2.0 * k + 0.5} for k in range(3)]
    fig = report.imu_set_figure(t, np.c_[signal, np.zeros_like(t), np.ones_like(t)], reps, t, signal)
    assert [(s.x0, s.x1, s.opacity) for s in fig.layout.shapes] == [(0.0, 2.0, 1.0), (2.0, 4.0, 0.45), (4.0, 6.0, 1.0)]
    assert [(a.text, a.x) for a in fig.layout.annotations] == [("#1", 0.0), ("#2", 2.0), ("#3", 4.0)]
    np.testing.assert_allclose(fig.data[-1].y, [1.0, 1.0, 1.0], atol=1e-3)  # the peaks, on the signal


def test_imu_set_figure_greys_what_is_not_the_set():
    t = np.arange(0, 30, 0.04)
    acc = np.c_[np.zeros_like(t), np.zeros_like(t), np.ones_like(t)]
    reps = [{"index": 1, "start_s": 10.0, "end_s": 12.0, "peak_s": 11.0}]
    fig = report.imu_set_figure(t, acc, reps, t, np.zeros_like(t), set_span=(8.5, 29.5))
    # before the set (8.5 s) is greyed and says so; the half second after it is not worth a band
    assert [(s.x0, s.x1, s.fillcolor) for s in fig.layout.shapes] == [
        (10.0, 12.0, report.REP_FILL), (0.0, 8.5, report.OUTSIDE_SET_FILL)]
    assert [a.text for a in fig.layout.annotations] == ["#1", "not the set"]
    counting = {"set_start_s": 8.5, "set_end_s": 20.0}
    assert report.outside_set(t, counting) == pytest.approx((8.5, 9.96))
    assert report.outside_set_words(t, counting) == (
        "Reps are counted in the set (8–20 s), not in the 8 s before it or the 10 s after it "
        "(standing, moving about, taking or racking the bar).")
    assert report.outside_set_words(t, {"set_start_s": 8.5, "set_end_s": 28.5}) == (
        "Reps are counted in the set (8–28 s), not in the 8 s before it (standing, moving about, taking the bar).")
    assert report.outside_set_words(t, {"set_start_s": 1.5, "set_end_s": 20.0}) == (
        "Reps are counted in the set (2–20 s), not in the 10 s after it (racking the bar, standing, moving about).")
    assert report.outside_set_words(t, {"set_start_s": 1.5, "set_end_s": 28.5}) is None
    assert report.outside_set_words(t, {}) is None  # analysed before the counter looked for the set


def test_columns_that_say_the_same_on_every_row_fold_into_one_value():
    table = pd.DataFrame({"rep": [1, 2, 3], "angle": ["Knee angle (L)"] * 3,
                          "recognised as": ["Deep squat", "–", "Deep squat"], "range (°)": [90.0] * 3})
    rest, common = report.fold_common_columns(table, ["angle", "recognised as", "missing"])
    assert common == {"angle": "Knee angle (L)"}  # "range" is not offered, "–" is a value
    assert list(rest.columns) == ["rep", "recognised as", "range (°)"]
    # one rep: its row says it all, nothing folds
    one, said = report.fold_common_columns(table.iloc[:1], ["angle"])
    assert said == {} and list(one.columns) == list(table.columns)


def test_the_charts_show_each_reps_verdict(squat_result):
    """Rep 2 judged incorrect, rep 1 correct, rep 3 not judged (too short for the models)."""
    r = squat_result
    said = [{"rep": 1, "mistake": "correct"}, {"rep": 2, "mistake": "incorrect"}, {"rep": 3, "exercise": "other"}]
    fig = report.angles_figure(r.angles, r.reps, ["knee_angle_r"], assessments=said)
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [s.fillcolor for s in rects] == [report.REP_FILL, report.INCORRECT_REP_FILL, report.REP_FILL]
    assert [a.text for a in fig.layout.annotations] == ["#1", "#2 ✗", "#3"]
    assert [a.font.color for a in fig.layout.annotations] == [None, "#c0392b", None]
    bars = report.reps_figure(r.reps, said).data[0]
    assert list(bars.text) == ["✓", "✗", ""]
    assert [c[2] for c in bars.customdata] == ["<br>judged correct", "<br>judged incorrect", ""]
    assert report.reps_figure(r.reps[:2]).layout.xaxis.type == "category"  # no tick at rep "1.5"
    # the page's table: readable headers and names, the verdicts, nothing for the unjudged rep
    table = report.reps_view_table(r.reps, [*said[:2], {"rep": 3, "exercise": "other", "stability_score": 0.4167,
                                                        "injury_risk": float("nan"), "reason": "fine"}])
    # the verdicts and their reasons first: on a tablet the table shows its first ~500 px
    assert list(table.columns) == ["rep", "verdict", "injury risk", "reason", "stability", "range (°)",
                                   "recognised as", "start (s)", "duration (s)", "to turn (s)", "back (s)", "angle"]
    # the tempo: start to turning point and back, adding up to the duration as written
    for rep, (_, row) in zip(r.reps, table.iterrows()):
        assert row["to turn (s)"] == pytest.approx(round(rep.peak_s, 2) - round(rep.start_s, 2))
        assert row["to turn (s)"] + row["back (s)"] == pytest.approx(row["duration (s)"])
        assert 0 < row["to turn (s)"] < row["duration (s)"]
    # a rep stored without its turning point (older sessions) has no tempo, and says so
    from dataclasses import replace

    blank = report.reps_view_table([replace(r.reps[0], peak_s=None)])
    assert np.isnan(blank["to turn (s)"][0]) and np.isnan(blank["back (s)"][0])
    assert set(table["angle"]) == {report.pretty_angle(r.reps[0].angle)} and "_" not in table["angle"][0]
    assert list(table["verdict"]) == ["correct", "incorrect", "–"]
    assert list(table.iloc[2][["recognised as", "reason"]]) == ["No known exercise", "fine"]
    # scores stay numbers, so that the page's table sorts by them
    assert table["stability"][2] == 0.4167 and np.isnan(table["injury risk"][2])
    assert list(report.reps_view_table(r.reps).columns) == ["rep", "start (s)", "duration (s)", "to turn (s)",
                                                            "back (s)", "angle", "range (°)"]
    # without verdicts, as before
    assert {s.fillcolor for s in report.angles_figure(r.angles, r.reps).layout.shapes if s.type == "rect"} \
        == {report.REP_FILL}


def test_principal_angles_pick_the_moving_joints(squat_result):
    r = squat_result
    r.reps = []  # no rep: purely from the range of motion
    names = report.principal_angles(r.angles, (), r.pose.valid, k=4)
    # a deep squat is knees and hips
    assert {"knee_angle_r", "knee_angle_l"} & set(names)
    ranges = report.angle_ranges(r.angles, r.pose.valid).set_index("angle")
    assert ranges.loc["knee_angle_r", "rom_deg"] > 60
    assert ranges.loc["knee_angle_r", "rom_deg"] > ranges.loc["elbow_flexion_r", "rom_deg"]


def test_principal_angles_leave_an_angle_with_gaps_for_last():
    """In a real sideways arm raise, shoulder flexion is undefined mid-rep and leaps from ~20 to
    ~160 across the gap: its range beats the abduction's, yet the chart opens on the angles
    measured throughout. In a scaption (arm raised in between) flexion is measured throughout
    and stays."""
    from conftest import uiprmd_set
    from physio_core import pipeline

    for mov in ("standing_shoulder_abduction", "standing_shoulder_scaption"):
        seq, _, _ = uiprmd_set([(mov, 3, True)] * 4, rng=1)
        res = pipeline.finish_sequence(seq, backend="uiprmd-kinect", exercise=mov, source="t", smooth=False)
        ranges = report.angle_ranges(res.angles, res.pose.valid).set_index("angle")
        names = report.principal_angles(res.angles, res.reps, res.pose.valid)
        assert names[0] == res.reps[0].angle
        if mov == "standing_shoulder_abduction":
            assert names[0] == "shoulder_abduction_r"
            assert 0.5 <= ranges.loc["shoulder_flexion_r", "measured"] < FULLY_MEASURED
            assert ranges.loc["shoulder_flexion_r", "rom_deg"] > ranges.loc["shoulder_abduction_r", "rom_deg"]
            assert "shoulder_flexion_r" not in names
        else:
            assert ranges.loc["shoulder_flexion_r", "measured"] >= FULLY_MEASURED
            assert "shoulder_flexion_r" in names


def test_principal_angles_open_on_the_body_part_trained():
    """Subject 1's real abductions: the ankles' tracker noise spans 28° and 16°, more than the
    elbow moves (12°), and the chart opened on them. It now opens on the arm and the trunk. Their
    inline lunges, with a stick held behind the back, opened on the shoulders; now on the legs."""
    from conftest import uiprmd_set
    from physio_core import pipeline
    from physio_core.kinematics import angle_region

    seq, _, _ = uiprmd_set([("standing_shoulder_abduction", 1, False)] * 4, rng=1)
    res = pipeline.finish_sequence(seq, backend="uiprmd-kinect", exercise="standing_shoulder_abduction",
                                   source="t", smooth=True)
    ranges = report.angle_ranges(res.angles, res.pose.valid).set_index("angle")
    assert ranges.loc["ankle_angle_r", "rom_deg"] > ranges.loc["elbow_flexion_r", "rom_deg"]
    names = report.principal_angles(res.angles, res.reps, res.pose.valid)
    assert names[0] == "shoulder_abduction_r" and "elbow_flexion_r" in names
    assert {angle_region(n) for n in names} <= {"arm", "trunk"}
    # without reps the session's exercise says which part; without either, as before
    no_reps = report.principal_angles(res.angles, (), res.pose.valid, exercise="standing_shoulder_abduction")
    assert "shoulder_abduction_r" in no_reps and {angle_region(n) for n in no_reps} <= {"arm", "trunk"}
    assert "ankle_angle_r" in report.principal_angles(res.angles, (), res.pose.valid)

    seq, _, _ = uiprmd_set([("inline_lunge", 1, False)] * 4, rng=1)
    res = pipeline.finish_sequence(seq, backend="uiprmd-kinect", exercise="inline_lunge", source="t", smooth=True)
    ranges = report.angle_ranges(res.angles, res.pose.valid).set_index("angle")
    assert ranges.loc["shoulder_rotation_l", "rom_deg"] > ranges.loc["knee_angle_l", "rom_deg"]
    names = report.principal_angles(res.angles, res.reps, res.pose.valid)
    assert {angle_region(n) for n in names} <= {"leg", "trunk"} and "knee_angle_r" in names
    fig = report.angles_figure(res.angles, res.reps, valid=res.pose.valid)
    assert [t.name for t in fig.data][:4] == [report.pretty_angle(n) for n in names]


def test_skeleton_figure_axes(squat_result):
    pose = squat_result.pose
    i = int(np.flatnonzero(pose.valid)[0])
    fig = report.skeleton_figure(pose.joints[i], pose.confidence[i])
    markers = fig.data[-1]
    # canonical +Y (up) is plotted on Plotly's z axis, +Z (forward) on y
    np.testing.assert_allclose(markers.z[list(markers.text).index("head")], pose.joints[i, J.HEAD, 1])
    np.testing.assert_allclose(markers.y[list(markers.text).index("head")], pose.joints[i, J.HEAD, 2])
    assert fig.layout.scene.zaxis.title.text == "up (m)"
    # the athlete's left on the right, as a camera in front sees them; beside a selfie preview
    # (the live page's 3D view) as in a mirror
    assert list(fig.layout.scene.xaxis.range) == [1.0, -1.0]
    mirrored = report.skeleton_figure(pose.joints[i], pose.confidence[i], mirrored=True)
    assert list(mirrored.layout.scene.xaxis.range) == [-1.0, 1.0]
    # a tick every 0.5 m, none at the floor of the box, where it would cover the forward axis's label
    z = fig.layout.scene.zaxis
    assert list(z.tickvals) == [-0.5, 0.0, 0.5, 1.0] and z.range[0] == pytest.approx(-1.05)
    tall = report.skeleton_figure(pose.joints[i] * 1.5, pose.confidence[i]).layout.scene
    assert tall.zaxis.range[0] < -1.1 and tall.zaxis.tickvals[0] == -1.0 and np.all(np.diff(tall.zaxis.tickvals) == 0.5)
    # Plotly's view angle is fixed: the taller box is seen from farther, in proportion
    def distance(scene):
        return np.linalg.norm([scene.camera.eye.x, scene.camera.eye.y, scene.camera.eye.z])

    assert distance(tall) / distance(fig.layout.scene) == pytest.approx(
        tall.aspectratio.z / fig.layout.scene.aspectratio.z)


def _screen_x(fig, point) -> float:
    """Where Plotly's camera puts a data ``point`` (x, y, z) across the view: each axis's range
    is mapped onto the box (a reversed range flips its axis), then projected from the eye
    (positive: right of the view's centre)."""
    scene = fig.layout.scene
    box = np.array([(v - ax.range[0]) / (ax.range[1] - ax.range[0]) - 0.5
                    for v, ax in zip(point, (scene.xaxis, scene.yaxis, scene.zaxis))])
    box *= [scene.aspectratio.x, scene.aspectratio.y, scene.aspectratio.z]
    cam = scene.camera
    eye, centre = (np.array([c.x or 0.0, c.y or 0.0, c.z or 0.0]) for c in (cam.eye, cam.center))
    up = np.array([cam.up.x, cam.up.y, cam.up.z])
    ahead = (centre - eye) / np.linalg.norm(centre - eye)
    right = np.cross(ahead, up)
    return float((box - eye) @ right / ((box - eye) @ ahead))


def test_the_3d_views_show_the_athletes_left_on_the_right_as_a_camera_in_front_does(assessed_squat_result):
    """The views look at the athlete from the front, as the video beside them: the left wrist
    (blue) must show right of the right wrist, not mirrored."""
    r = assessed_squat_result
    i = int(np.flatnonzero(r.pose.valid)[0])
    p = r.pose.joints[i]
    assert p[J.L_WRIST, 0] > p[J.R_WRIST, 0]  # +X is the athlete's left
    assert p[J.L_TOE, 2] > p[J.L_ANKLE, 2] and p[J.R_TOE, 2] > p[J.R_ANKLE, 2]  # and faces +Z

    def as_plotted(j):  # canonical (X, Y up, Z forward) -> Plotly's (x, y, z up)
        return p[j, 0], p[j, 2], p[j, 1]

    rep = next(x for x in r.reps if x.index in r.corrected_poses)
    for fig in (report.skeleton_figure(p, r.pose.confidence[i]),
                report.correction_figure(p, r.corrected_poses[rep.index].joints[0]),
                report.rep_correction_figure(r.pose, rep, r.corrected_poses[rep.index])):
        cam = fig.layout.scene.camera.eye
        assert cam.y > abs(cam.x)  # the eye is in front of the athlete
        assert _screen_x(fig, as_plotted(J.L_WRIST)) > _screen_x(fig, as_plotted(J.R_WRIST))
    # beside a mirrored (selfie) preview, the live page asks for the mirror image
    selfie = report.correction_figure(p, r.corrected_poses[rep.index].joints[0], mirrored=True)
    assert _screen_x(selfie, as_plotted(J.L_WRIST)) < _screen_x(selfie, as_plotted(J.R_WRIST))


def test_csv_and_json_exports(squat_result):
    r = squat_result
    df = pd.read_csv(io.BytesIO(report.angles_csv(r.angles)))
    assert list(df.columns) == ["time_s", *ANGLE_NAMES]
    assert len(df) == len(r.pose)
    np.testing.assert_allclose(df["knee_angle_r"], r.angles["knee_angle_r"], atol=1e-3)
    doc = json.loads(report.summary_json(r, include_series=True))
    for key in ("frames", "fps", "frames_with_person", "rep_count", "reps", "backend"):
        assert key in doc
    assert doc["rep_count"] == 3 == len(doc["reps"])
    assert {"start_s", "end_s", "rom_deg", "angle"} <= set(doc["reps"][0])
    assert doc["metrics"]["injury_risk"] is None  # NaN -> null, never invalid JSON
    assert len(doc["series"]["time_s"]) == len(r.pose)
    joints = pd.read_csv(io.BytesIO(report.pose_csv(r.pose)))
    assert joints.shape == (len(r.pose), 1 + N_JOINTS * 4)
    # metres to 0.1 mm; the frames with no person (the gaps between the recordings) left empty
    np.testing.assert_allclose(joints["r_knee_y"], r.pose.joints[:, J.R_KNEE, 1], atol=5e-5)
    assert joints["r_knee_y"].isna().sum() == (~r.pose.valid).sum() > 0


# ------------------------------------------------------------------ overlay


def _standing_pose(width: int, height: int) -> PoseFrame:
    """A frontal standing figure in the middle of the image (pixels), +Y up in metres."""
    kp = np.array([
        [320, 250], [300, 250], [300, 330], [300, 410], [340, 250], [340, 330], [340, 410],
        [320, 200], [320, 150], [320, 130], [320, 100], [350, 150], [370, 200], [380, 250],
        [290, 150], [270, 200], [260, 250], [345, 420], [295, 420]], float)
    kp[:, 0] *= width / 640
    kp[:, 1] *= height / 480
    joints = np.zeros((N_JOINTS, 3))
    joints[:, 0] = (kp[:, 0] - 320) / 200
    joints[:, 1] = (250 - kp[:, 1]) / 200
    return PoseFrame(joints, np.ones(N_JOINTS), keypoints_2d=kp)


def test_overlay_draws_bones_joints_and_labels():
    frame = np.zeros((480, 640, 3), np.uint8)
    pose = _standing_pose(640, 480)
    out = overlay.draw_pose(frame, pose, angles={"knee_angle_r": 12.0}, rep_count=3)
    assert out is not frame and not frame.any()  # the input is left untouched by default
    kp = pose.keypoints_2d.astype(int)
    # joint dots in the side colours, bones between them
    assert tuple(out[kp[J.L_KNEE, 1], kp[J.L_KNEE, 0]]) == overlay.LEFT_RGB
    assert tuple(out[kp[J.R_KNEE, 1], kp[J.R_KNEE, 0]]) == overlay.RIGHT_RGB
    mid = (kp[J.R_HIP] + kp[J.R_KNEE]) // 2
    assert tuple(out[mid[1], mid[0]]) == overlay.RIGHT_RGB
    mid = (kp[J.SPINE] + kp[J.THORAX]) // 2
    assert tuple(out[mid[1], mid[0]]) == overlay.MID_RGB
    # the HUD band (top-left) and the knee label (left of the right knee) wrote pixels
    assert out[:30, :100].any()
    label = out[kp[J.R_KNEE, 1] - 25 : kp[J.R_KNEE, 1], kp[J.R_KNEE, 0] - 60 : kp[J.R_KNEE, 0] - 5]
    orange = (label[..., 0] > 200) & (label[..., 1] > 80) & (label[..., 2] < 60)
    assert orange.sum() >= 5  # anti-aliased text strokes: orange-ish, not exactly the colour


def test_overlay_skips_unconfident_joints_and_missing_pose():
    frame = np.zeros((480, 640, 3), np.uint8)
    pose = _standing_pose(640, 480)
    pose.confidence[J.L_WRIST] = 0.0
    out = overlay.draw_pose(frame, pose)
    kp = pose.keypoints_2d.astype(int)
    assert not out[kp[J.L_WRIST, 1] + 8, kp[J.L_WRIST, 0]].any()  # below the wrist: nothing
    empty = overlay.draw_pose(frame, None)
    assert not empty.any()


def test_overlay_draws_a_skeleton_without_toes_quietly():
    """MMPose gives no toes (NaN on every frame): the rest is drawn, with no numpy warning."""
    import warnings

    frame = np.zeros((480, 640, 3), np.uint8)
    pose = _standing_pose(640, 480)
    whole = overlay.draw_pose(frame, pose)
    kp = pose.keypoints_2d.astype(int)
    pose.keypoints_2d[[J.L_TOE, J.R_TOE]] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        toeless = overlay.draw_pose(frame, pose)
    assert tuple(toeless[kp[J.L_KNEE, 1], kp[J.L_KNEE, 0]]) == overlay.LEFT_RGB
    assert 0 < (toeless != 0).any(axis=-1).sum() < (whole != 0).any(axis=-1).sum()


def test_overlay_on_real_frame_with_scale():
    rgb = read_frame(CLIP, 40, max_side=360)
    pose = _standing_pose(720, 720)  # keypoints found on the full-size frame
    out = overlay.draw_pose(rgb, pose, kp_scale=0.5, angles=np.full(len(ANGLE_NAMES), 90.0))
    kp = (pose.keypoints_2d * 0.5).astype(int)
    assert tuple(out[kp[J.L_KNEE, 1], kp[J.L_KNEE, 0]]) == overlay.LEFT_RGB
    assert out.shape == rgb.shape and (out != rgb).any(axis=-1).mean() < 0.2


def test_a_change_that_rounds_to_nothing_reads_plus_minus_zero():
    assert report.signed_change(11.4, 0, "°") == "+11°"
    assert report.signed_change(-0.08, 2) == "-0.08"
    assert report.signed_change(-0.6) == "-1"
    # neither "+0 pts" nor a fall of "-0.00" for a score that moved by -0.004
    assert report.signed_change(0.4, 0, " pts") == "±0 pts"
    assert report.signed_change(-0.004, 2) == "±0.00"
    assert report.signed_change(0.0) == "±0"


@pytest.mark.parametrize("shape", [(7,), (5, 3), (4, 19, 3), (0, 19, 3), (3, 0)])
def test_json_arrays_hold_the_rounded_values_with_null_for_gaps(shape):
    from physio_core.store.codec import to_list

    rng = np.random.default_rng(len(shape))
    a = rng.normal(scale=50.0, size=shape)
    if a.size > 2:
        a.reshape(-1)[:: 4] = np.nan
        a.reshape(-1)[1] = np.inf
        a.reshape(-1)[-1] = 1e-9  # rounds to 0
    for decimals in (0, 3, 4):
        text = report.json_array(a, decimals)
        expected = to_list(a, decimals)
        assert json.loads(text) == expected and "nan" not in text.lower() and "inf" not in text.lower()
    assert report.json_array(np.nan, 2) == "null" and report.json_array(3.14159, 2) == "3.14"  # one number


def test_reps_the_models_did_not_judge_are_said_so_once(squat_result):
    """A set of no known exercise: the rep table loses its empty verdict and score columns and
    says why once, in words that read (not "recognised as no known exercise")."""
    reps = squat_result.reps
    assert len(reps) >= 2
    unknown = [{"rep": r.index, "exercise": "other"} for r in reps]
    table, sentence = report.reps_said_once(report.reps_view_table(reps, unknown))
    assert not set(report.JUDGEMENT_COLUMNS) & set(table.columns) and "recognised as" not in table
    angle = report.pretty_angle(reps[0].angle)
    assert sentence == (f"All {len(reps)} reps counted on the {angle[0].lower() + angle[1:]}, "
                        "none recognised as a movement the models know, none judged.")
    # one rep judged: every column stays, the verdicts say which
    some = [{"rep": reps[0].index, "exercise": "deep_squat", "mistake": "correct", "mistake_confidence": 0.8,
             "stability_score": 0.7, "injury_risk": 0.2, "reason": "close to your usual"}] + unknown[1:]
    table, sentence = report.reps_said_once(report.reps_view_table(reps, some))
    assert set(report.JUDGEMENT_COLUMNS) <= set(table.columns) and "recognised as" in table
    assert list(table["verdict"]) == ["correct (80%)"] + ["–"] * (len(reps) - 1)


def test_a_lone_rep_not_judged_is_said_so_in_a_sentence_that_reads(squat_result):
    """A set of one rep of no known exercise: the page and the printed report said "All 1 reps
    none judged."."""
    rep = squat_result.reps[:1]
    table, sentence = report.reps_said_once(report.reps_view_table(rep, [{"rep": rep[0].index, "exercise": "other"}]))
    assert sentence == "The rep was not judged."
    assert not set(report.JUDGEMENT_COLUMNS) & set(table.columns) and len(table) == 1
    assert list(table["recognised as"]) == ["No known exercise"]  # said on its row, as nothing is folded
    # judged, it needs no sentence
    judged = [{"rep": rep[0].index, "exercise": "deep_squat", "mistake": "correct", "mistake_confidence": 0.8}]
    assert report.reps_said_once(report.reps_view_table(rep, judged))[1] is None


def test_the_farthest_frame_from_the_correction_skips_frames_that_cannot_be_compared():
    """The replay opens on the frame where the athlete is farthest from the correction (mean over
    the joints seen in both); a frame with no joint in both is passed over without a warning."""
    import warnings

    corrected = np.zeros((4, 19, 3))
    athlete = corrected.copy()
    athlete[1, :, 0] = 0.10  # 10 cm off everywhere
    athlete[2, :5, 0] = 0.30  # 30 cm off on five joints, the others unseen
    athlete[2, 5:] = np.nan
    athlete[3] = np.nan  # nobody seen
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Mean of empty slice" was printed on stderr
        assert report.farthest_frame(athlete, corrected) == 2
        assert report.farthest_frame(np.full((5, 19, 3), np.nan), np.zeros((5, 19, 3))) == 2  # the middle one


def test_angle_chart_draws_an_angle_across_its_wrap_without_leaps():
    """Subject 5's incorrect hurdle steps hold the arms behind: shoulder flexion reads -89° and
    then 270° past its wrap, which the chart drew as spikes across its height. It now draws
    -91°; the leap across the gap of shoulder flexion in a sideways raise (undefined mid-rep,
    from ~20° to ~160°) is real and stays."""
    from conftest import uiprmd_set
    from physio_core import pipeline

    def drawn(movement, correct, name):
        seq, _, _ = uiprmd_set([(movement, 5, correct)] * 3, rng=2)
        res = pipeline.finish_sequence(seq, backend="uiprmd-kinect", exercise=movement, source="t",
                                       smooth=False, assess=False)
        fig = report.angles_figure(res.angles, res.reps, [name])
        return res.angles, res.angles[name], np.array(fig.data[0].y, dtype=float)

    angles, raw, y = drawn("hurdle_step", False, "shoulder_flexion_l")
    ok = np.isfinite(raw)
    steps = np.abs(np.diff(raw))
    assert np.nanmax(steps) > 300  # the wrap, in the measured angle
    assert np.nanmax(np.abs(np.diff(y))) < 60  # drawn without it
    assert np.array_equal(np.isfinite(y), ok)
    assert np.allclose((y[ok] - raw[ok] + 180.0) % 360.0 - 180.0, 0.0, atol=1e-9)  # the same directions
    assert np.allclose(y[ok & (raw < 180)], raw[ok & (raw < 180)])  # only the wrapped frames moved
    assert y[ok].min() < -90
    # the range table (page, printable report, summary.json) gives the same min and max
    row = report.angle_ranges(angles).set_index("angle").loc["shoulder_flexion_l"]
    assert (row.min_deg, row.max_deg) == (np.nanmin(y), np.nanmax(y))
    assert row.max_deg < 180 and row.max_deg - row.min_deg >= row.rom_deg

    # a jump that is not across the ends of the range is a glitch, drawn as measured (the demo
    # clip's detector, back from another person: -6° then 206°)
    glitch = np.array([np.nan, -6.1, 206.2, 154.1, 93.1, np.nan])
    assert np.array_equal(unwrapped(glitch), glitch, equal_nan=True)

    _, raw, y = drawn("standing_shoulder_abduction", True, "shoulder_flexion_r")
    assert np.array_equal(y, raw, equal_nan=True)  # leaps only across its gaps: drawn as measured
    assert np.nanmax(y) > 150
