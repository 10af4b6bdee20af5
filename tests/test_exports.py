"""Exports of a real UI-PRMD session: long CSV, JSON, OpenSim .mot / .trc, printable HTML."""

from __future__ import annotations

import html
import io
import json

import numpy as np
import pandas as pd
import pytest

from physio_core import exports
from physio_core.skeleton import JOINT_NAMES, J
from physio_core.store import (
    Role,
    add_feedback,
    create_user,
    get_or_create_athlete,
    get_session_detail,
    save_session_result,
    set_session_notes,
)


@pytest.fixture(scope="module")
def result():
    from conftest import build_uiprmd_session_result

    return build_uiprmd_session_result(episodes=(1, 2))


def test_long_csv_holds_every_measured_value_and_nothing_else(result):
    df = pd.read_csv(io.BytesIO(exports.long_csv(result, 42)))
    assert list(df.columns) == ["session", "frame", "time", "measure", "value"]
    assert (df["session"] == 42).all()

    n_angles = np.isfinite(result.angles.values).sum()
    n_coords = np.isfinite(result.pose.joints).sum()
    n_conf = (result.pose.confidence > 0).sum()
    assert len(df) == n_angles + n_coords + n_conf

    by = df.set_index(["frame", "measure"])["value"]
    f = 30
    assert by[(f, "right_knee_deg")] == pytest.approx(result.angles["right_knee"][f], rel=1e-5)
    assert by[(f, "r_knee_y_m")] == pytest.approx(result.pose.joints[f, J.R_KNEE, 1], rel=1e-5, abs=1e-6)
    assert df.loc[df["frame"] == f, "time"].unique() == pytest.approx([result.pose.times[f]], abs=1e-6)
    gap = int(np.flatnonzero(~result.pose.valid)[0])  # the "no person" frames between reps
    assert not df.loc[df["frame"] == gap, "measure"].str.endswith("_m").any()


def test_mot_round_trips_the_angles(result):
    data = exports.mot(result.angles, name="squat")
    text = data.decode()
    assert text.startswith("squat\nversion=1\n") and "inDegrees=yes\nendheader\n" in text
    meta, df = exports.read_mot(data)
    assert int(meta["nRows"]) == len(result.angles.times) == len(df)
    assert int(meta["nColumns"]) == len(df.columns) == 1 + len(result.angles.names)
    assert list(df.columns) == ["time", *result.angles.names]
    np.testing.assert_allclose(df["time"], result.angles.times, atol=1e-6)
    np.testing.assert_allclose(df[list(result.angles.names)].to_numpy(), result.angles.values,
                               atol=1e-6, equal_nan=True)
    unmeasured = int(np.isnan(result.angles.values).sum())
    assert unmeasured > 0 and text.count("\tNaN") == unmeasured  # OpenSim's missing value
    assert "\t\t" not in text and "\t\n" not in text  # never an empty field


def test_trc_uses_opensim_axes_and_leaves_gaps_empty(result):
    data = exports.trc(result.pose, name="squat.trc")
    lines = data.decode().split("\n")
    assert lines[0] == "PathFileType\t4\t(X/Y/Z)\tsquat.trc"
    meta, markers, xyz = exports.read_trc(data)
    assert markers == list(JOINT_NAMES)
    assert int(meta["NumFrames"]) == len(result.pose) and int(meta["NumMarkers"]) == len(JOINT_NAMES)
    assert meta["Units"] == "m" and float(meta["DataRate"]) == pytest.approx(result.fps, abs=0.01)

    valid = result.pose.valid
    assert np.isnan(xyz[~valid]).all()
    v = xyz[valid]
    # OpenSim: +Y up, +Z the subject's right, +X forward
    assert (v[:, J.HEAD, 1] > v[:, J.PELVIS, 1] + 0.3).all()
    assert (v[:, J.R_HIP, 2] > 0).all() and (v[:, J.L_HIP, 2] < 0).all()
    canonical = result.pose.joints[valid]
    np.testing.assert_allclose(v[..., 0], canonical[..., 2], atol=1e-6)
    np.testing.assert_allclose(v[..., 2], -canonical[..., 0], atol=1e-6)


def test_trc_data_rate_is_the_rate_of_its_time_column(result):
    """An unfinished live session's stored chunks carry the nominal live rate, while their frames'
    times are the real ones: the .trc's DataRate is that of its Time column, not the nominal one."""
    from dataclasses import replace

    from physio_core.live import LiveConfig

    slower = replace(result.pose, fps=LiveConfig().nominal_fps, times=result.pose.times * 2.5)  # 12 fps
    data = exports.trc(slower)
    meta, _, _ = exports.read_trc(data)
    times = [float(line.split("\t")[1]) for line in data.decode().split("\n")[6:] if line]
    assert float(meta["DataRate"]) == pytest.approx((len(times) - 1) / (times[-1] - times[0]), abs=0.01)
    assert float(meta["DataRate"]) == pytest.approx(result.fps / 2.5, abs=0.01) != LiveConfig().nominal_fps


def test_json_is_strict_and_complete(result):
    doc = json.loads(exports.json_bytes(result))
    assert doc["format"] == "physiotrack-session" and doc["session"] is None
    assert doc["rep_count"] == result.rep_count == len(doc["reps"])
    assert doc["metrics"]["injury_risk"] is None  # NaN becomes null, never invalid JSON
    s = doc["series"]
    assert len(s["joints_m"]) == len(result.pose) and len(s["joints_m"][0]) == len(JOINT_NAMES)
    assert s["angles_deg"]["right_knee"][30] == pytest.approx(result.angles["right_knee"][30], abs=1e-3)
    gap = int(np.flatnonzero(~result.pose.valid)[0])
    assert s["joints_m"][gap][0] == [None, None, None]


def test_stored_session_exports_include_notes_feedback_and_charts(db_engine, result):
    trainer = create_user(db_engine, "coach@clinic.org", "Coach", Role.TRAINER)
    athlete = get_or_create_athlete(db_engine, "Ana <script>alert(1)</script>", trainer.id)
    sid = save_session_result(db_engine, result, athlete.id, trainer.id)
    set_session_notes(db_engine, sid, "left knee caves on rep 2")
    add_feedback(db_engine, sid, "push the knees out", author_id=trainer.id, rep_index=2)
    detail = get_session_detail(db_engine, sid)
    stored = detail.to_result()

    files = {e.file_name: e for e in exports.session_exports(
        stored, session_id=sid, session=detail.session, feedback=detail.feedback)}
    assert set(files) == {f"session_{sid}{x}" for x in (".csv", ".json", ".mot", ".trc", "_report.html")}

    doc = json.loads(files[f"session_{sid}.json"].build())
    assert doc["session"]["id"] == sid and doc["session"]["notes"] == "left knee caves on rep 2"
    assert {"kind": "trainer", "text": "push the knees out"}.items() <= doc["feedback_items"][-1].items()

    page = files[f"session_{sid}_report.html"].build().decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert page.count("Plotly.newPlot") == 2  # angle chart + ROM per rep
    # plotly.js is inlined (megabytes), not fetched from a CDN: the file works offline
    assert 'src="https://cdn.plot.ly' not in page and len(page) > 3_000_000
    assert "Trainer (rep 2): push the knees out" in page and "left knee caves on rep 2" in page
    reps_html = page.split("<h2>Repetitions")[1].split("</table>")[0]
    assert reps_html.count("<tr>") == 1 + stored.rep_count
    for rep in stored.reps:  # each column to its own decimals, as on the page
        assert f"<td class=\"\">{rep.start_s:.2f}</td>" in reps_html
        assert f"<td class=\"\">{rep.rom_deg:.1f}</td>" in reps_html
    assert "@media print" in page

    csv = pd.read_csv(io.BytesIO(files[f"session_{sid}.csv"].build()))
    assert (csv["session"] == sid).all() and len(csv) > 1000


def test_the_printable_report_tells_the_time_on_the_viewers_clock(result):
    """The session page hands the viewer's zone to the report: 09:00 UTC is 18:00 in Tokyo."""
    from dataclasses import replace
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    filmed = replace(result, started_at=datetime(2026, 9, 1, 9, 0, tzinfo=UTC))
    meta = "<p class='meta'>2026-09-01 {} · exercise:"
    files = {e.label: e for e in exports.session_exports(filmed, session_id=1, tz=ZoneInfo("Asia/Tokyo"))}
    assert meta.format("18:00 (Asia/Tokyo)") in files["Printable report (HTML)"].build().decode()
    assert meta.format("09:00 (UTC)") in exports.html_report(filmed, include_plotlyjs=False).decode()
    # the data files keep UTC
    assert json.loads(files["Full session (JSON)"].build())["started_at"].startswith("2026-09-01T09:00:00")
    # the exercise named as in a sentence of the pages, not by its key ("auto")
    assert "· exercise: deep squat ·" in exports.html_report(filmed, include_plotlyjs=False).decode()
    unnamed = replace(filmed, exercise="auto", exercise_label=None)
    assert "· exercise: not recognised ·" in exports.html_report(unnamed, include_plotlyjs=False).decode()


def test_the_printable_reports_charts_make_room_for_their_axis_labels(result):
    """The pages' tight chart margins rely on Streamlit's template to fit the tick labels and
    axis titles; written into a file, each chart makes that room itself (they were cut off)."""
    from physio_core import report

    fig = report.angles_figure(result.angles, result.reps, height=360)
    exports._chart_writer(False)(fig)
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert axis.automargin is True


def test_the_printable_report_holds_the_models_verdicts_and_corrections(assessed_squat_result):
    """Subject 5's squats (three correct, three incorrect): the report names the exercise, gives
    each rep's verdict and shows every rep judged incorrect against its correction, at the frame
    where the two differ most."""
    from physio_core import report

    r = assessed_squat_result
    page = exports.html_report(r, include_plotlyjs=False).decode()
    assert "Exercise<b>Deep squat</b>" in page
    assert r.models and f"pose backend: uiprmd-kinect · models: {r.models}</p>" in page  # which weights judged
    verdicts = [a["mistake"] for a in assessed_squat_result.rep_assessments]
    assert f"Correct reps<b>{verdicts.count('correct')} of {len(verdicts)}</b>" in page
    reps_html = page.split("<h2>Repetitions")[1].split("</table>")[0]
    # the page's columns, each rep's stability among them; what every rep shares is said once
    # above the table, as on the page
    assert ">verdict</th>" in reps_html and ">stability</th>" in reps_html and ">injury risk</th>" in reps_html
    assert "<p class='meta'>All 6 reps counted on the knee angle (L), recognised as deep squat.</p>" in reps_html
    assert ">angle</th>" not in reps_html and "recognised as</th>" not in reps_html
    for a in r.rep_assessments:
        assert f'<td class="">{a["stability_score"]:.2f}</td>' in reps_html
    verdicts = [a["mistake"] for a in r.rep_assessments]
    assert reps_html.count('<td class="l">incorrect (') == verdicts.count("incorrect") > 0
    assert reps_html.count('<td class="l">correct (') == verdicts.count("correct")
    corrections = page.split("<h2>Corrections</h2>")[1]
    wrong = [a["rep"] for a in r.rep_assessments if a["mistake"] == "incorrect"]
    # each one twice: the 3D replay, and the same frame flat from the front and the side (which
    # prints where WebGL may not; the replay is left off paper)
    assert corrections.count("Plotly.newPlot") == 2 * min(len(wrong), exports.MAX_CORRECTIONS_SHOWN)
    assert corrections.count(json.dumps("from the front")) == min(len(wrong), exports.MAX_CORRECTIONS_SHOWN)
    assert corrections.count("<div class='noprint'>") == min(len(wrong), exports.MAX_CORRECTIONS_SHOWN)
    for i in wrong[:exports.MAX_CORRECTIONS_SHOWN]:
        rep = next(x for x in r.reps if x.index == i)
        fixed = r.corrected_poses[i]
        k = report.worst_correction_frame(r.pose, rep, fixed)
        # that frame is at least as far from the correction as the rep's middle frame
        def off(j: int) -> float:
            return float(np.nanmean(np.linalg.norm(r.pose.joints[rep.start_frame + j] - fixed.joints[j], axis=1)))
        assert off(k) >= off(len(fixed) // 2)
        assert json.dumps(f"Rep #{i} ({rep.start_s:.1f}–{rep.end_s:.1f} s)") in corrections
    # each replays in the file without starting by itself: it opens (and prints) at that frame
    shown = min(len(wrong), exports.MAX_CORRECTIONS_SHOWN)
    assert "Plotly.animate" not in corrections and corrections.count(json.dumps("▶ Play")) == shown


def test_a_rep_is_drawn_flat_from_the_front_and_the_side(assessed_squat_result):
    """The printable views of a rep's worst frame: from the front the athlete's (left, up), from
    the side their (forward, up), metres alike on both axes; the bones into a joint more than
    8 cm from the correction drawn thick."""
    from physio_core import report
    from physio_core.skeleton import BONES

    r = assessed_squat_result
    i = next(a["rep"] for a in r.rep_assessments if a["mistake"] == "incorrect")
    rep, fixed = next(x for x in r.reps if x.index == i), r.corrected_poses[i]
    k = report.worst_correction_frame(r.pose, rep, fixed)
    a, c = r.pose.joints[rep.start_frame + k], fixed.joints[k]
    fig = report.correction_views_figure(a, c, title="Rep")
    front = [t for t in fig.data if t.xaxis == "x"]
    side = [t for t in fig.data if t.xaxis == "x2"]
    assert [t.name for t in front] == [t.name for t in side] == ["correction", "athlete", "athlete"]
    off = np.linalg.norm(a - c, axis=1) > 0.08
    assert off.any() and not off.all()
    for view, across in ((front, 0), (side, 2)):
        green, red, thick = view
        points = {(round(x, 3), round(y, 3)) for x, y in zip(red.x + thick.x, red.y + thick.y) if x is not None}
        assert points == {(round(float(a[j, across]), 3), round(float(a[j, 1]), 3))
                          for bone in BONES for j in bone}
        ends = {(round(x, 3), round(y, 3)) for x, y in zip(thick.x, thick.y) if x is not None}
        assert {(round(float(a[b, across]), 3), round(float(a[b, 1]), 3)) for _, b in BONES if off[b]} <= ends
        assert max(green.line.width, red.line.width) < thick.line.width
    for axis in ("yaxis", "yaxis2"):  # a metre is as long across as up
        assert fig.layout[axis].scaleratio == 1 and fig.layout[axis].scaleanchor in ("x", "x2")
    widths = [fig.layout[x].range[1] - fig.layout[x].range[0] for x in ("xaxis", "xaxis2")]
    assert widths[0] == pytest.approx(widths[1])


def test_a_rep_replays_against_its_correction(assessed_squat_result):
    """The correction view of a rep judged incorrect holds every frame of the rep, athlete and
    correction, in a box that fits them all, and opens where the two differ most."""
    import plotly.graph_objects as go

    from physio_core import report

    r = assessed_squat_result
    i = next(a["rep"] for a in r.rep_assessments if a["mistake"] == "incorrect")
    rep, fixed = next(x for x in r.reps if x.index == i), r.corrected_poses[i]
    fig = report.rep_correction_figure(r.pose, rep, fixed)
    n = min(len(fixed), len(r.pose) - rep.start_frame)
    assert len(fig.frames) == n and n > 30
    k = report.worst_correction_frame(r.pose, rep, fixed)
    assert fig.layout.sliders[0].active == k and fig.data == fig.frames[k].data
    for j in (0, k, n - 1):  # each frame is that frame's two poses, as the one-frame view draws them
        one = report.correction_figure(r.pose.joints[rep.start_frame + j], fixed.joints[j])
        assert json.loads(go.Figure(fig.frames[j].data).to_json())["data"] == json.loads(one.to_json())["data"]
    # the box holds the lowest and highest joint of every frame (plot z is the skeleton's up)
    ups = np.concatenate([r.pose.joints[rep.start_frame:rep.start_frame + n, :, 1].ravel(),
                          fixed.joints[:n, :, 1].ravel()])
    lo, hi = fig.layout.scene.zaxis.range
    assert lo <= np.nanmin(ups) and hi >= np.nanmax(ups)
    # played at the recording's speed, frame by frame
    play = fig.layout.updatemenus[0].buttons[0]
    assert play.label == "▶ Play" and play.args[1]["frame"]["duration"] == pytest.approx(1000 / r.fps, rel=0.05)
    assert [s.label for s in fig.layout.sliders[0].steps][:2] == ["0.00 s", f"{1 / r.fps:.2f} s"]


def test_long_csv_values_round_like_six_significant_digits():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(20000) * 10.0 ** rng.integers(-7, 7, 20000)
    printed = np.array(["%.6g" % v for v in x], dtype=float)
    ours = exports._significant(x)
    # the same decimal except at an exact tie in the 7th digit
    assert (ours == printed).mean() > 0.999
    np.testing.assert_allclose(ours, printed, rtol=1.01e-5)
    zero, gap, tiny = exports._significant(np.array([0.0, np.nan, 5e-320]))
    assert zero == 0.0 and np.isnan(gap) and tiny == 5e-320


def test_long_csv_of_a_long_session_with_an_odd_id(result):
    import dataclasses

    late = dataclasses.replace(result, pose=dataclasses.replace(result.pose, times=result.pose.times + 3600.0),
                               angles=dataclasses.replace(result.angles, times=result.angles.times + 3600.0))
    df = pd.read_csv(io.BytesIO(exports.long_csv(late, "clinic, room 2")))
    assert (df["session"] == "clinic, room 2").all()
    assert len(df) == len(exports.long_frame(late, 0))
    times = df.groupby("frame")["time"].first()
    # an hour in, frames 1/fps apart keep their own times (to the microsecond)
    np.testing.assert_allclose(times.to_numpy(), late.pose.times[times.index], atol=1e-6)
    assert times.is_unique


def test_the_printable_report_colours_its_lines_as_the_page_does(assessed_squat_result,
                                                                 streamlit_plotly_default):
    """Streamlit's template colours are placeholders its page swaps for the theme's; written
    into a file as they were, every angle line was black and the legend told none apart."""
    import conftest
    from physio_core import report

    fig = report.angles_figure(assessed_squat_result.angles, assessed_squat_result.reps)
    assert len(fig.data) >= 2
    doc = exports.html_report(assessed_squat_result, include_plotlyjs=False).decode()
    assert not conftest.STREAMLIT_PLACEHOLDER.findall(doc)
    exports._chart_writer(False)(fig)
    # the lines take the page's colours in the page's order, one colour each
    colours = [fig.layout.template.layout.colorway[k] for k in range(len(fig.data))]
    assert colours[:2] == ["#0068c9", "#83c9ff"] and len(set(colours)) == len(colours)
    assert f'"colorway":["{colours[0]}","{colours[1]}"' in doc


def test_a_stored_sessions_report_names_each_rep_once(db_engine, assessed_squat_result):
    """The analysis' per-rep feedback is stored with its rep and already begins "Rep N:"; the
    report wrote "Rep 1: Rep 1: correct (73%)..." as it prefixed every rep's line again."""
    from physio_core.assess import rep_feedback

    trainer = create_user(db_engine, "coach@clinic.org", "Coach", Role.TRAINER)
    athlete = get_or_create_athlete(db_engine, "Ana", trainer.id)
    sid = save_session_result(db_engine, assessed_squat_result, athlete.id, trainer.id)
    detail = get_session_detail(db_engine, sid)
    page = exports.html_report(detail.to_result(), session=detail.session, feedback=detail.feedback,
                               include_plotlyjs=False).decode()
    feedback = page.split("<h2>Feedback</h2>")[1]
    for row in assessed_squat_result.rep_assessments:
        line = rep_feedback(row)
        assert line.startswith(f"Rep {row['rep']}: ") and f"<li class='system'>{html.escape(line)}</li>" in feedback
    assert "Rep 1: Rep 1" not in feedback
