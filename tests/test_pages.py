"""The app shell and its pages under Streamlit's AppTest, on a fresh SQLite database.

The upload flow runs the real test clip (tests/data/SOURCE.md) through the real page: upload,
analyse, report, save, then reads the session back on the detail / sessions / progress pages.
"""

from __future__ import annotations

import io
import json
import math
import numbers
import re
import time
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from conftest import session_ids
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
TEST_CLIP = ROOT / "tests" / "data" / "sports2d_demo.mp4"  # see tests/data/SOURCE.md
APP = str(ROOT / "app.py")
# the app has a login gate: these tests log in as the first admin, created from the environment
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@physio.test", "admin-password-for-tests"


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    """Settings pointing at an empty data folder (SQLite there); restored afterwards."""
    from physio_core.config import get_settings
    from physio_core.store import dispose_engines

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("PHYSIO_DATABASE_URL", raising=False)
    monkeypatch.setenv("PHYSIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PHYSIO_ADMIN_EMAIL", ADMIN_EMAIL)
    monkeypatch.setenv("PHYSIO_ADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.chdir(ROOT)
    get_settings.cache_clear()
    yield tmp_path / "data"
    dispose_engines()
    get_settings.cache_clear()


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.json  # nothing drawn by accident (Streamlit draws a bare expression)
    at.text_input(key="login_email").input(ADMIN_EMAIL)
    at.text_input(key="login_password").input(ADMIN_PASSWORD)
    next(b for b in at.button if b.label == "Log in").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def add_athlete(at: AppTest, name: str) -> None:
    at.sidebar.text_input[0].input(name)
    next(b for b in at.sidebar.button if b.label == "Add athlete").click()
    at.run()
    assert not at.exception


def elements(at: AppTest, kind: str) -> list:
    return list(at.get(kind))


def shown_table(element) -> dict[str, list[str]]:
    """An st.dataframe as the browser writes it: under its column config's labels, numbers in
    their column's format (else Python's shortest form, as Streamlit's), a missing value as the
    table's placeholder (Streamlit's own: "None")."""
    config = json.loads(element.proto.columns or "{}")
    missing = element.proto.placeholder if element.proto.HasField("placeholder") else "None"
    out = {}
    for col, values in element.value.items():
        fmt = config.get(col, {}).get("type_config", {}).get("format") or ""

        def text(v):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                return missing
            if fmt.startswith("%") and isinstance(v, numbers.Real) and not isinstance(v, bool):
                return fmt % v
            return str(v)

        out[config.get(col, {}).get("label") or col] = [text(v) for v in values]
    return out


def upload_and_analyse(at: AppTest, name: str, data: bytes) -> None:
    at.file_uploader[0].upload(name, data, "video/mp4")
    at.run()
    next(b for b in at.button if b.label == "Analyse").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_every_page_renders_on_an_empty_database(app_env):
    at = new_app()
    assert [t.value for t in at.title] == ["Upload analysis"]
    assert at.sidebar.subheader[0].value == "Athlete"
    expected = {
        "pages/sessions.py": "Sessions",
        "pages/session_detail.py": "Session detail",
        "pages/progress.py": "Progress",
        "pages/upload.py": "Upload analysis",
        "pages/imu.py": "Sensor set (IMU)",
    }
    limits = {"pages/upload.py": 1024, "pages/imu.py": 64}
    for page, title in expected.items():
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        assert not at.json, page
        assert at.title[0].value == title
        if page in limits:  # the widget's own "... MB per file" is the page's limit
            assert at.file_uploader[0].proto.max_upload_size_mb == limits.pop(page)
    assert not limits


def test_navigation_has_a_live_entry_that_picks_up_the_page_file(tmp_path):
    from pages._shared import navigation_spec

    (tmp_path / "pages").mkdir()
    specs = {s.title: s for s in navigation_spec(tmp_path)}
    assert list(specs) == ["Live session", "Upload analysis", "Sensor set (IMU)", "Sessions", "Session detail",
                           "Progress"]
    assert specs["Live session"].path is None  # placeholder drawn by the app shell
    assert specs["Upload analysis"].default
    live = tmp_path / "pages" / "live.py"
    live.write_text("import streamlit as st\nst.title('Live session')\n")
    assert {s.title: s for s in navigation_spec(tmp_path)}["Live session"].path == live
    # the real tree: every page file the navigation names exists
    assert all(s.path is None or s.path.is_file() for s in navigation_spec())


def test_upload_flow_on_the_real_clip(app_env):
    from physio_core import pipeline

    if pipeline._kept is not None:  # another test's pose processes
        pipeline._retire(pipeline._kept)
    at = new_app()
    # the page loads the pose processes while a file is picked, and the video runs on them
    workers = pipeline._kept
    assert workers is not None and len(workers.loading) == 2
    add_athlete(at, "Jumper")
    upload_and_analyse(at, "jumping.mp4", TEST_CLIP.read_bytes())
    assert pipeline._kept is workers and {f.result() for f in workers.loading} <= set(workers.pool._processes)
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["Saved as session #1."]
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Reps"]) >= 2
    assert metrics["Pose backend"] == "mediapipe"
    assert 60 <= int(metrics["Person found"].rstrip("%")) <= 100
    # the models' assessment: exercise label; scores in [0, 1] only for a movement they know
    assert metrics["Exercise"]
    scored = metrics["Exercise"] != "No known exercise"
    if scored:
        assert 0.0 <= float(metrics["Injury risk"]) <= 1.0
    else:
        assert not {"Stability", "Balance", "Injury risk", "Correct reps"} & set(metrics)  # no empty tiles
        # its help names it as the tile does, not "Other (model confidence 80%)"
        assert next(m for m in at.metric if m.label == "Exercise").help.startswith("No known exercise (model")
        assert any("No known exercise" in w.value for w in at.warning)
        # the rep picker says why a rep has no verdict, not a bare "?"
        picker = at.selectbox(key="upload_corr_rep")
        assert picker.options and all(o.endswith(" · not judged") for o in picker.options)
        assert any(c.value.startswith("Not judged: ") for c in at.caption)
    # frame with the skeleton drawn, 3D view + angle chart + rep chart (+ a rep's corrected
    # pose when scored), four downloads: a printable report too, also when it could not be saved
    assert len(elements(at, "image")) == 1
    assert len(elements(at, "plotly_chart")) == (4 if scored else 3)
    labels = [d.proto.label for d in elements(at, "download_button")]
    assert labels == ["Angles (CSV)", "Summary (JSON)", "3D joints (CSV)", "Printable report (HTML)"]
    assert any("person" in w.value for w in at.warning)

    # scrub to a frame in the middle of the first jumping jack
    at.slider(key="upload_frame").set_value(25)
    at.run()
    assert not at.exception
    assert elements(at, "image")[0].captions[0].startswith("frame 25 ·")

    # the annotated video, made on request: played on the page and offered as a download
    assert not elements(at, "video")
    at.button(key="upload_annotate").click()
    at.run()
    assert not at.exception and not at.error
    annotated = at.session_state["upload_annotated"]["data"]
    with av.open(io.BytesIO(annotated)) as c:
        assert sum(1 for _ in c.decode(c.streams.video[0])) == 230  # every frame of the clip
    assert len(elements(at, "video")) == 1
    labels = [d.proto.label for d in elements(at, "download_button")]
    assert labels[-1] == "Annotated video (MP4)"
    at.slider(key="upload_frame").set_value(30)
    at.run()
    assert len(elements(at, "video")) == 1  # kept while the same analysis is shown

    # the stored session reads back on the other pages
    at.switch_page("pages/session_detail.py")
    at.query_params["id"] = "1"
    at.run()
    assert not at.exception and not at.error
    # analysed on auto: filed under the exercise the models recognised, if any, and named so
    from physio_core.report import pretty_exercise
    from physio_core.store import get_session_detail, init_db

    saved = get_session_detail(init_db(), 1)
    assert saved.session.exercise == (saved.exercise_label if scored else "auto")
    filed = pretty_exercise(saved.exercise_label) if scored else "Not recognised"
    assert at.subheader[0].value == f"#1 · Jumper · {filed}"
    stored = {m.label: m.value for m in at.metric}
    assert stored["Reps"] == metrics["Reps"]
    # the same model report as right after the analysis (it is stored with the session)
    assert (stored["Exercise"], stored.get("Injury risk")) == (metrics["Exercise"], metrics.get("Injury risk"))
    # 3D, angles, reps (+ the corrected pose when scored); no video stored
    assert len(elements(at, "plotly_chart")) == (4 if scored else 3)

    at.switch_page("pages/sessions.py")
    at.run()
    assert not at.exception
    df = at.dataframe[0].value
    assert list(df["session"]) == ["session_detail?id=1"] and "athlete" not in df.columns  # the one picked in the sidebar
    assert df["exercise"][0] == (pretty_exercise(saved.exercise_label, short=True) if scored else "Not recognised")
    assert df.columns[0] == "session" and df.columns[-1] == "source"
    if scored:  # the models' verdicts and stability, as the session stored them
        said = [a["mistake"] for a in saved.rep_assessments]
        assert df["correct reps"][0] == f"{said.count('correct')} of {len(said)}"
        assert df["stability"][0] == pytest.approx(saved.metrics.stability_score)
    at.toggle[0].set_value(False)  # everybody's sessions: each row names its athlete
    at.run()
    assert list(at.dataframe[0].value["athlete"]) == ["Jumper"]

    at.switch_page("pages/progress.py")
    at.run()
    assert not at.exception and not at.info
    # sessions/week, reps, ROM vs target, asymmetry, exercise mix, and the scores once there are
    # any (a clip of no known exercise has none: said in words, not an empty chart)
    assert len(elements(at, "plotly_chart")) == (6 if scored else 5)
    from physio_core.progress import NO_SCORES

    assert any(c.value == NO_SCORES for c in at.caption) != scored
    # its range of motion opens on the angle the reps were counted on, both sides (for the
    # jumping jacks shoulder abduction, not shoulder flexion and its larger, gap-leaping range)
    rep_angle = saved.reps[0].angle
    other = rep_angle[:-1] + {"r": "l", "l": "r"}[rep_angle[-1]]
    shown = at.multiselect(key=f"progress_angles_{saved.session.exercise}").value
    assert shown[-2:] == [rep_angle, other] and (scored or rep_angle.startswith("shoulder_abduction"))
    assert [d.proto.label for d in elements(at, "download_button")] == ["Progress report (HTML)", "All data (ZIP)"]


def test_an_uploads_reps_read_against_the_programme_of_the_athlete_picked(app_env):
    from pages._shared import REPS_ASKED_HELP
    from physio_core.store import init_db
    from physio_core.store.access import set_programme_item

    at = new_app()
    add_athlete(at, "Jumper")
    set_programme_item(init_db(), None, at.session_state["athlete_id"], "standing_shoulder_abduction", 3, 12)
    at.selectbox(key="upload_exercise").set_value("standing_shoulder_abduction")
    upload_and_analyse(at, "jumping.mp4", TEST_CLIP.read_bytes())
    tile = next(m for m in at.metric if m.label == "Reps")
    count, asked = tile.value.split(" of ")
    assert asked == "12" and int(count) >= 2 and tile.help == REPS_ASKED_HELP
    add_athlete(at, "No Programme")  # the report stays; this athlete's programme asks nothing
    assert next(m for m in at.metric if m.label == "Reps").value == count


def test_an_upload_is_dated_when_it_was_filmed(app_env, tmp_path):
    """A phone's clip uploaded days later is filed on the day it was filmed (its file says when),
    so the progress charts put it in its week; a clip whose file does not say is dated now."""
    from datetime import UTC, datetime

    from conftest import write_tagged_copy
    from physio_core.store import get_session_detail, init_db

    at = new_app()
    add_athlete(at, "Jumper")
    clip = write_tagged_copy(TEST_CLIP, tmp_path / "phone.mp4", {"creation_time": "2026-11-02T09:15:00Z"})
    upload_and_analyse(at, "phone.mp4", clip.read_bytes())
    assert [s.value for s in at.success] == ["Saved as session #1."]
    assert any(c.value == "Dated 2026-11-02 09:15 (UTC): when it was filmed, as the video file says."
               for c in at.caption), [c.value for c in at.caption]
    saved = get_session_detail(init_db(), 1).session
    assert saved.started_at == datetime(2026, 11, 2, 9, 15, tzinfo=UTC)
    assert (saved.ended_at - saved.started_at).total_seconds() == pytest.approx(230 / 30, abs=0.05)

    before = datetime.now(UTC)
    upload_and_analyse(at, "jumping.mp4", TEST_CLIP.read_bytes())
    assert [s.value for s in at.success] == ["Saved as session #2."]
    assert any(c.value.endswith("the time of the analysis, since the video file does not say when it "
                                "was filmed.") for c in at.caption)
    assert get_session_detail(init_db(), 2).session.started_at >= before.replace(microsecond=0)
    # the second against the first, both of no exercise the models know (and in plain words)
    at.switch_page("pages/session_detail.py")
    at.query_params["id"] = "2"
    at.run()
    from physio_core.report import pretty_exercise

    filed = get_session_detail(init_db(), 2).session.exercise
    kind = ("sessions with no exercise recognised" if filed == "auto"
            else f"{pretty_exercise(filed, short=True).lower()} sessions")
    assert [e.label for e in at.expander if e.label.startswith("Against")] == [f"Against earlier {kind} (1)"]


def test_a_new_analysis_of_the_same_upload_drops_the_old_annotated_video(app_env):
    """The annotated video shows one analysis: analysing the file again as another exercise
    (other reps, verdicts) offers a new one instead of playing the old one."""
    at = new_app()
    upload_and_analyse(at, "jumping.mp4", TEST_CLIP.read_bytes())
    at.button(key="upload_annotate").click()
    at.run()
    assert len(elements(at, "video")) == 1
    at.selectbox(key="upload_exercise").set_value("deep_squat")
    next(b for b in at.button if b.label == "Analyse").click()
    at.run()
    assert not at.exception and not at.error
    assert at.session_state["upload_result"]["result"].exercise == "deep_squat"
    assert not elements(at, "video") and at.button(key="upload_annotate")
    assert "upload_annotated" not in at.session_state


def test_a_new_analysis_opens_its_report_at_the_start_not_where_the_last_one_was_left(app_env):
    """Frame, angles and rep picked in one report do not carry over to the next analysis: it
    opens on its first frame with a person, its own principal angles and its first wrong rep."""
    from physio_core import report

    at = new_app()
    upload_and_analyse(at, "jumping.mp4", TEST_CLIP.read_bytes())
    at.slider(key="upload_frame").set_value(150)
    before = at.session_state["upload_result"]["result"]
    at.multiselect(key="upload_angles").set_value(list(before.angles.names[-1:]))
    at.run()
    assert at.multiselect(key="upload_angles").value == list(before.angles.names[-1:])
    last = before.rep_assessments[-1]["rep"]
    at.selectbox(key="upload_corr_rep").set_value(last)
    at.run()
    assert at.slider(key="upload_frame").value == 150
    assert at.selectbox(key="upload_corr_rep").value == last

    at.selectbox(key="upload_exercise").set_value("deep_squat")
    next(b for b in at.button if b.label == "Analyse").click()
    at.run()
    assert not at.exception and not at.error
    result = at.session_state["upload_result"]["result"]
    assert result.exercise == "deep_squat"
    assert at.slider(key="upload_frame").value == int(np.flatnonzero(result.pose.valid)[0])
    assert at.multiselect(key="upload_angles").value == report.principal_angles(
        result.angles, result.reps, result.pose.valid, exercise="deep_squat")
    wrong = [a["rep"] for a in result.rep_assessments if a.get("mistake") == "incorrect"]
    first = wrong[0] if wrong else result.rep_assessments[0]["rep"]
    assert at.selectbox(key="upload_corr_rep").value == first != last


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("notes.mp4", b"not a video at all\n" * 100, "cannot be analysed"),
        ("cut.mp4", TEST_CLIP.read_bytes()[:3000], "cannot be analysed"),
    ],
)
def test_upload_bad_files_show_a_clear_error(app_env, name, data, message):
    at = new_app()
    upload_and_analyse(at, name, data)
    assert len(at.error) == 1 and message in at.error[0].value
    assert not at.success and not elements(at, "plotly_chart")


def test_upload_no_person(app_env, no_person_clip):
    at = new_app()
    upload_and_analyse(at, "empty_room.mp4", no_person_clip.read_bytes())
    assert len(at.error) == 1 and "No person was found" in at.error[0].value


def test_upload_too_large(app_env, monkeypatch):
    from physio_core.config import get_settings

    monkeypatch.setenv("PHYSIO_MAX_UPLOAD_MB", "0")
    get_settings.cache_clear()
    at = new_app()
    upload_and_analyse(at, "jumping.mp4", TEST_CLIP.read_bytes())
    assert len(at.error) == 1 and "the limit is 0 MB" in at.error[0].value
    assert not list((app_env / "uploads").glob("*"))  # refused before anything was written


def test_any_page_visit_deletes_videos_no_report_needs_any_more(app_env):
    """A browser closed on its report leaves its video behind: past PHYSIO_UPLOAD_KEEP_HOURS
    (12 h) the next visit of any page (here the login page) deletes it; a newer one stays for
    its report. A live recording whose session was never stored goes once a day old."""
    import os
    import time

    uploads, videos = app_env / "uploads", app_env / "videos"
    uploads.mkdir(parents=True)
    videos.mkdir()
    stale, recent = uploads / "0123456789ab_last_week.mp4", uploads / "ba9876543210_this_morning.mp4"
    orphan, fresh = videos / "live_20261125T101500_7f01.mp4", videos / "live_20261202T081500_7f02.mp4"
    for f, age_h in ((stale, 7 * 24), (recent, 3), (orphan, 7 * 24), (fresh, 3)):
        f.write_bytes(TEST_CLIP.read_bytes())
        os.utime(f, (time.time() - age_h * 3600,) * 2)
    AppTest.from_file(APP, default_timeout=240).run()  # not logged in yet
    assert not stale.exists() and recent.exists()
    assert not orphan.exists() and fresh.exists()
    at = new_app()
    assert [t.value for t in at.title] == ["Upload analysis"]
    assert "only while its report is open (at most 12 h)" in at.caption[0].value


def test_upload_that_cannot_be_written_on_the_server(app_env):
    at = new_app()
    (app_env / "uploads").write_text("a file where the uploads folder should be")
    upload_and_analyse(at, "jumping.mp4", TEST_CLIP.read_bytes())
    assert len(at.error) == 1 and "could not be written on the server" in at.error[0].value
    assert "PHYSIO_DATA_DIR" in at.error[0].value
    assert at.file_uploader[0].value is not None  # the file is still there to try again


def test_sessions_page_pages_through_more_than_it_shows_at_once(app_env):
    from datetime import UTC, datetime, timedelta

    from physio_core.store import get_or_create_athlete, init_db, start_session

    engine = init_db()
    athlete = get_or_create_athlete(engine, "Regular")
    day0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
    ids = [start_session(engine, athlete.id, exercise="deep_squat", started_at=day0 + timedelta(days=d))
           for d in range(205)]
    at = new_app()
    at.switch_page("pages/sessions.py")
    at.run()
    assert not at.exception
    assert session_ids(at.dataframe[0].value)[:2] == ids[::-1][:2] and len(at.dataframe[0].value) == 200
    assert at.caption[-1].value == "Sessions 1–200 of 205."
    at.number_input(key="sessions_page").set_value(2)
    at.run()
    assert session_ids(at.dataframe[0].value) == ids[4::-1]  # the five oldest
    assert at.caption[-1].value == "Sessions 201–205 of 205."
    at.switch_page("pages/session_detail.py")
    at.run()
    assert not at.exception
    assert len(next(s for s in at.selectbox if s.label == "Session").options) == 200
    assert "The newest 200 of 205 sessions" in " ".join(c.value for c in at.caption)


def test_stored_sessions_detail_and_progress(app_env, make_uiprmd_session_result):
    """Real UI-PRMD squats saved twice for one athlete, read back by the pages."""
    from physio_core.store import get_or_create_athlete, init_db, save_session_result

    engine = init_db()
    athlete = get_or_create_athlete(engine, "Squatter")
    ids = [save_session_result(engine, make_uiprmd_session_result(episodes=eps), athlete.id)
           for eps in ((1, 2, 3), (4, 5, 6))]

    at = new_app()
    assert at.sidebar.selectbox[0].value == athlete.id
    at.switch_page("pages/session_detail.py")
    at.query_params["id"] = str(ids[1])
    at.run()
    assert not at.exception and not at.error
    assert at.subheader[0].value == f"#{ids[1]} · Squatter · Deep squat"
    assert {m.label: m.value for m in at.metric}["Reps"] == "3"
    # against the first session: same reps, the angles' ranges of the other recordings
    assert any(e.label == "Against earlier deep squat sessions (1)" for e in at.expander)
    assert any(c.value.startswith(f"Compared with #{ids[0]} on ") for c in at.caption)
    versus = at.dataframe[0].value.set_index("measure")
    assert versus.loc["reps"].tolist() == ["3", "3", "±0", ""]  # a count of reps is neither better nor worse
    assert any(m.startswith("range: ") for m in versus.index)
    assert at.dataframe[1].value["rep"].tolist() == [1, 2, 3]

    at.query_params["id"] = "999"
    at.run()
    assert "does not exist" in at.error[0].value

    at.switch_page("pages/progress.py")
    at.run()
    assert not at.exception and not at.error
    fig = elements(at, "plotly_chart")[0]
    assert fig.proto.spec.count('"x"') >= 1
    rom, sessions = (d.value for d in at.dataframe)
    # each session's number links to its page
    assert sessions["session"].tolist() == [f"session_detail?id={i}" for i in ids]
    link = json.loads(at.dataframe[1].proto.columns)["session"]
    assert link["type_config"]["type"] == "link"
    assert [re.fullmatch(link["type_config"]["display_text"], u)[1] for u in sessions["session"]] == [str(i) for i in ids]
    # the range-of-motion summary: one row per angle drawn, over both sessions
    assert len(rom) == len(at.multiselect(key="progress_angles_deep_squat").value) >= 1
    assert (rom["sessions"] == 2).all()
    # as the browser writes them: "–" where there is no target and no score, readable headers,
    # a column's numbers to the same decimals
    rom, sessions = (shown_table(d) for d in at.dataframe)
    one_decimal = re.compile(r"^\d+\.\d$")
    assert set(rom["target (°)"]) == {"–"} and all(one_decimal.match(v) for v in rom["best (°)"])
    assert not any("_" in header for header in sessions), list(sessions)
    assert set(sessions["injury risk"]) == {"–"}
    assert all(one_decimal.match(v) for v in sessions["duration (s)"] + sessions["mean rep range (°)"])


def test_session_detail_shows_the_stored_model_report(app_env, assessed_squat_result):
    """A stored, assessed session reads back with the same per-rep verdicts and corrected-pose
    view as the upload page shows right after the analysis."""
    from physio_core import report
    from physio_core.store import get_or_create_athlete, init_db, save_session_result

    result = assessed_squat_result
    engine = init_db()
    sid = save_session_result(engine, result, get_or_create_athlete(engine, "Squatter").id)

    at = new_app()
    at.switch_page("pages/session_detail.py")
    at.query_params["id"] = str(sid)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Exercise"] == "Deep squat"
    tile = next(m for m in at.metric if m.label == "Exercise")
    assert tile.help.startswith("Deep squat (model confidence ")
    assert tile.help.endswith(f"; assessed by model weights {result.models}")
    assert not [i for i in at.info if "other model weights" in i.value]  # the installed ones assessed it
    assert float(metrics["Injury risk"]) == pytest.approx(result.metrics["injury_risk"], abs=0.005)
    verdicts = [a["mistake"] for a in result.rep_assessments]
    assert metrics["Correct reps"] == f"{verdicts.count('correct')} of {len(verdicts)}"
    assert 0 < verdicts.count("correct") < len(verdicts)  # the set mixes correct and incorrect reps
    table = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    by_rep = {a["rep"]: a for a in result.rep_assessments}
    assert table["rep"].tolist() == [r.index for r in result.reps]
    assert table["verdict"].tolist() == [f"{by_rep[k]['mistake']} ({by_rep[k]['mistake_confidence']:.0%})"
                                         for k in table["rep"]]
    # every rep was counted on one angle and recognised as the squat: said once, above the table,
    # which leaves its room to the reasons
    counted = report.pretty_angle(result.reps[0].angle)
    assert {r.angle for r in result.reps} == {result.reps[0].angle}
    assert {a["exercise"] for a in result.rep_assessments} == {"deep_squat"}
    assert f"All 6 reps counted on the {counted[0].lower() + counted[1:]}, recognised as deep squat." in [
        c.value for c in at.caption]
    assert not {"angle", "recognised as"} & set(table.columns)
    assert list(table.columns[:4]) == ["rep", "verdict", "injury risk", "reason"]  # what a tablet shows
    shown = shown_table(next(d for d in at.dataframe if "verdict" in d.value.columns))
    assert shown["injury risk"] == [f"{by_rep[k]['injury_risk']:.2f}" for k in table["rep"]]
    assert shown["start (s)"] == [f"{r.start_s:.2f}" for r in result.reps]
    assert shown["range (°)"] == [f"{r.rom_deg:.1f}" for r in result.reps]
    # each rep's tempo: to its turning point and back, as long as the rep together
    for down, up, whole in zip(shown["to turn (s)"], shown["back (s)"], shown["duration (s)"]):
        assert float(down) + float(up) == pytest.approx(float(whole)) and float(down) > 0 and float(up) > 0
    # per-rep picker + the corrected pose beside the athlete's: 3D, angles, reps, correction
    bad = next(a["rep"] for a in result.rep_assessments if a["mistake"] == "incorrect")
    assert bad != result.reps[0].index  # the view opens on the first rep judged incorrect
    assert at.selectbox(key=f"session{sid}_corr_rep").value == bad
    at.selectbox(key=f"session{sid}_corr_rep").set_value(result.reps[0].index)
    at.run()
    assert any(m.value.startswith("**correct**") for m in at.markdown)
    # a rep judged correct has nothing to correct: its title does not call the model's pose one
    ok = next(c.proto.spec for c in elements(at, "plotly_chart") if c.proto.id.endswith(f"session{sid}_corr_3d"))
    assert f"Rep #{result.reps[0].index} (correct): you (red) vs model (green)" in ok and "vs correction" not in ok
    # nor do its legends, nor the line under it
    flat_ok = next(c.proto.spec for c in elements(at, "plotly_chart") if c.proto.id.endswith(f"session{sid}_corr_flat"))
    for spec in (ok, flat_ok):
        assert {t.get("name") for t in json.loads(spec)["data"]} - {None} == {"model", "athlete"}
    assert "Opens where you are farthest from the model; ▶ Play replays the rep." in [c.value for c in at.caption]
    at.selectbox(key=f"session{sid}_corr_rep").set_value(bad)
    at.run()
    assert not at.exception
    assert any(m.value.startswith("**incorrect**") for m in at.markdown)
    charts = elements(at, "plotly_chart")
    assert len(charts) == 5
    correction = next(c.proto.spec for c in charts if c.proto.id.endswith(f"session{sid}_corr_3d"))
    assert f"Rep #{bad}: you (red) vs correction (green)" in correction
    # under it the same moment flat, from the front and the side, as physios look at a pose
    flat = json.loads(next(c.proto.spec for c in charts if c.proto.id.endswith(f"session{sid}_corr_flat")))
    assert [a["text"] for a in flat["layout"]["annotations"]] == ["from the front", "from the side"]
    assert {t["name"] for t in flat["data"]} == {"correction", "athlete"} and "title" not in flat["layout"]
    # the correction in words, under the verdict
    worded = next(k for k, a in by_rep.items() if "correction" in a)
    at.selectbox(key=f"session{sid}_corr_rep").set_value(worded)
    at.run()
    assert f"**Correction:** {by_rep[worded]['correction']}" in [m.value for m in at.markdown]


def test_a_session_assessed_by_other_weights_says_so(app_env, assessed_squat_result):
    """Weights retrained since a session was assessed: its page says whose verdicts it shows,
    and that Score again gives the installed weights' (which it does)."""
    from dataclasses import replace

    from physio_core.store import get_or_create_athlete, get_session_detail, init_db, save_session_result

    engine = init_db()
    older = replace(assessed_squat_result, models="0123456789ab")
    sid = save_session_result(engine, older, get_or_create_athlete(engine, "Squatter").id)
    at = new_app()
    at.switch_page("pages/session_detail.py")
    at.query_params["id"] = str(sid)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    said = [i.value for i in at.info if "other model weights" in i.value]
    assert len(said) == 1 and "(0123456789ab)" in said[0] and f"({assessed_squat_result.models})" in said[0]
    assert "**Score again**" in said[0]
    at.selectbox(key=f"score_again_exercise_{sid}").set_value("deep_squat")
    next(b for b in at.button if b.label == "Score again").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert get_session_detail(engine, sid).models == assessed_squat_result.models
    assert not [i for i in at.info if "other model weights" in i.value]
    # verdicts stored before the weights were recorded: said too
    unsaid = save_session_result(engine, replace(assessed_squat_result, models=None), get_or_create_athlete(
        engine, "Squatter").id)
    at.query_params["id"] = str(unsaid)
    at.run()
    assert [i.value for i in at.info if i.value.startswith("This session does not say which model weights")]
    # the installed weights under older scoring rules (a rule in code changed since): said as such
    from physio_core.ml.weights import read_judged_by

    weights, rules = read_judged_by(assessed_squat_result.models)
    assert rules >= 2
    old_rules = save_session_result(engine, replace(assessed_squat_result, models=weights),
                                    get_or_create_athlete(engine, "Squatter").id)
    at.query_params["id"] = str(old_rules)
    at.run()
    said = [i.value for i in at.info if "scoring rules" in i.value]
    assert len(said) == 1 and said[0].startswith("Scored by the installed weights under older scoring rules 1 ")
    assert f"this version's scoring rules {rules} (since" in said[0] and "**Score again**" in said[0]
    assert not [i for i in at.info if "other model weights" in i.value]


def test_progress_counts_the_corrections_that_come_back(app_env, assessed_squat_result):
    """Two stored sessions of real squats judged by the models: Progress lists what their
    corrections asked, joint by joint, over both sessions. The first was judged by other
    weights than the installed ones: Progress says so, as does its printable report."""
    from collections import Counter
    from dataclasses import replace
    from datetime import timedelta

    from physio_core.store import get_or_create_athlete, init_db, save_session_result

    result = assessed_squat_result
    asked = Counter(f for a in result.rep_assessments for f in a.get("correction_focus", ()))
    assert asked and all(a.get("mistake") == "incorrect" for a in result.rep_assessments if "correction_focus" in a)
    engine = init_db()
    athlete = get_or_create_athlete(engine, "Squatter")
    ids = [save_session_result(engine, replace(result, started_at=result.started_at + timedelta(weeks=week),
                                               models=models), athlete.id)
           for week, models in ((0, "0123456789ab"), (1, result.models))]

    at = new_app()
    at.switch_page("pages/progress.py")
    at.query_params["athlete"] = str(athlete.id)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    weights = f"{result.models} (installed now) in #{ids[1]}; 0123456789ab in #{ids[0]}."
    assert [i.value for i in at.info if weights in i.value]
    assert "Recurring corrections" in [h.value for h in at.subheader]
    table = next(d.value for d in at.dataframe if "correction" in d.value.columns)
    assert dict(zip(table["correction"], table["reps"])) == {k: 2 * n for k, n in asked.items()}
    assert set(table["sessions"]) == {2}
    assert list(table["reps"]) == sorted(table["reps"], reverse=True)
    # with the reps that asked each joint the other way, as the table's own rule counts them
    from physio_core.correction_cue import opposite_focus

    by_focus = dict(zip(table["correction"], table["reps"]))
    assert list(table["other way"]) == [by_focus.get(opposite_focus(f), 0) for f in table["correction"]]

    # and the printable progress report, under the exercise picked for the range of motion
    from physio_core import exports
    from physio_core.store import progress_for_athlete

    doc = exports.progress_report_html(progress_for_athlete(engine, athlete.id), athlete="Squatter",
                                       rom_exercise="deep_squat", angles=["knee_angle_r"]).decode()
    assert "<h2>Recurring corrections · Deep squat</h2>" in doc and weights in doc
    for focus, n in asked.items():
        assert f">{focus}</td><td class=\"\">{2 * n}</td><td class=\"\">2</td>" in doc.replace("'", '"')


def test_progress_opens_after_a_long_break(app_env, assessed_squat_result):
    """A set recorded years before the others (a sensor file's own date) squeezed every chart's
    time axis into two clumps; Progress opens on the sessions after the break and says what it
    left out, until Dates include it."""
    from dataclasses import replace
    from datetime import timedelta

    from physio_core.store import get_or_create_athlete, init_db, save_session_result

    engine = init_db()
    athlete = get_or_create_athlete(engine, "Returner")
    first = assessed_squat_result.started_at
    when = [first - timedelta(days=7 * 365), first, first + timedelta(weeks=1)]
    ids = [save_session_result(engine, replace(assessed_squat_result, started_at=t), athlete.id) for t in when]

    at = new_app()
    at.switch_page("pages/progress.py")
    at.query_params["athlete"] = str(athlete.id)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    dates = at.date_input(key="progress_dates")
    assert tuple(dates.value) == (first.date(), (first + timedelta(weeks=1)).date())
    assert dates.min == when[0].date()  # still there to pick
    said = f"Opens on {first:%Y-%m-%d}, after a break of 7 years: the earlier session ({when[0]:%Y-%m-%d})"
    assert [c for c in at.caption if c.value.startswith(said)]
    assert next(m for m in at.metric if m.label == "Sessions").value == "2"
    # widened, the earlier session is counted and the note is gone
    dates.set_value((when[0].date(), dates.value[1])).run()
    tile = next(m for m in at.metric if m.label == "Sessions")
    assert tile.value == "3" and tile.help.endswith("on 3 training days")
    assert not [c for c in at.caption if c.value.startswith("Opens on")]
    assert len(ids) == 3


def test_every_exercise_has_a_name_that_fits_its_metric_tile():
    """Streamlit cuts a metric's value that is wider than its tile ("standing sh…"); the report's
    tiles wrap onto another line on a narrow page, but one alone on its line still cuts a name
    wider than the page; 20 characters fit. The progress charts' legends use the same names."""
    from physio_core.report import pretty_exercise as exercise_name
    from physio_core.ml.data import CLASS_NAMES

    short = [exercise_name(n, short=True) for n in CLASS_NAMES]
    assert max(map(len, short)) <= 20, short
    assert len(set(short)) == len(CLASS_NAMES)
    assert exercise_name("standing_shoulder_internal_external_rotation") == \
        "Standing shoulder internal external rotation"
    assert exercise_name("standing_shoulder_scaption", short=True) == "Shoulder scaption"


def test_the_app_server_skips_streamlits_full_gc_after_each_run():
    """The live page's panels rerun twice a second; Streamlit's default full gc.collect() after
    each run held the GIL ~0.2 s each time (torch and MediaPipe loaded), stalling the WebRTC
    event loop until Chromium dropped the camera stream (found with py-spy on a busy CPU)."""
    import subprocess
    import sys

    probe = ("from streamlit import config; config.get_config_options(force_reparse=True); "
             "print(config.get_option('runner.postScriptGC'))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[-1] == "False"


# ------------------------------------------------------------------ the wrist-IMU page

IMU_DATA = ROOT.parent / "shared" / "datasets" / "metamotion-imu"


def imu_files(lift: str) -> tuple[int, list[tuple[str, bytes, str]]]:
    """A real MetaMotion set's expected reps and its two files, gyroscope first."""
    from physio_core.imu import list_sets

    if not IMU_DATA.is_dir():
        pytest.skip(f"MetaMotion data set not found at {IMU_DATA}")
    s = next(s for s in list_sets(IMU_DATA) if s.lift == lift and s.category == "medium")
    return s.expected_reps, [(p.name, p.read_bytes(), "text/csv") for p in (s.gyr_path, s.acc_path)]


def analyse_imu_upload(at: AppTest, files) -> None:
    at.switch_page("pages/imu.py")
    at.run()
    assert at.title[0].value == "Sensor set (IMU)"
    at.file_uploader(key="imu_files").set_value(files)
    at.run()
    next(b for b in at.button if b.label == "Analyse").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_imu_page_analyses_an_uploaded_pair_and_saves_it(app_env):
    from physio_core.store import codec, get_session_detail, init_db

    from physio_core.store.access import set_programme_item

    expected, files = imu_files("bench")
    at = new_app()
    add_athlete(at, "Bencher")
    set_programme_item(init_db(), None, at.session_state["athlete_id"], "bench_press", 3)
    analyse_imu_upload(at, files)
    assert not at.error, [e.value for e in at.error]
    # recorded in 2019, as its file says: no word on this week's programme
    assert not [i.value for i in at.info if "of the programme this week" in i.value]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Lift"] == "Bench press"
    assert abs(int(metrics["Reps"]) - expected) <= 1
    assert [s.value for s in at.success] == ["Saved as session #1."]
    stored = get_session_detail(init_db(), 1)
    assert stored.session.rep_count == int(metrics["Reps"]) and codec.KIND_IMU in stored.data
    assert (stored.session.pain, stored.session.effort) == (None, None)
    # how the set felt, asked under the saved set, kept on the session
    at.selectbox(key="felt_now_pain_1").set_value(0)
    at.selectbox(key="felt_now_effort_1").set_value(8)
    next(b for b in at.button if b.label == "Save how it felt").click()
    at.run()
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == [
        "Saved as session #1.", "Saved how session #1 felt: pain 0/10 (no pain), effort 8/10 (very hard)."]
    felt_row = get_session_detail(init_db(), 1).session
    assert (felt_row.pain, felt_row.effort) == (0, 8)
    reps = at.dataframe[0].value
    assert list(reps.columns) == ["rep", "start (s)", "duration (s)", "peak at (s)", "amplitude (g)"]
    assert reps["rep"].tolist() == list(range(1, int(metrics["Reps"]) + 1))
    assert ((reps["start (s)"] < reps["peak at (s)"]) & (reps["amplitude (g)"] > 0)).all()
    labels = [d.proto.label for d in elements(at, "download_button")]
    assert labels == ["Sensor data (CSV)", "Analysis (JSON)", "Printable report (HTML)"]

    # the stored session shows the same set on the detail page, its files in the same row
    # (not its printable report under a second heading)
    at.switch_page("pages/session_detail.py")
    at.query_params["id"] = "1"
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert at.subheader[0].value.endswith("Bench press")
    again = {m.label: m.value for m in at.metric}
    assert (again["Lift"], again["Reps"]) == (metrics["Lift"], metrics["Reps"])
    labels = [d.proto.label for d in elements(at, "download_button")]
    assert labels == ["Sensor data (CSV)", "Analysis (JSON)", "Printable report (HTML)"]
    assert "Exports" not in [h.value for h in at.subheader]
    assert at.date_input(key="filmed_day_1").label == "Recorded on"  # a sensor set is not filmed
    # it names the lift classifier's weights, the installed ones: nothing to say about them
    from physio_core.ml.weights import installed_lift_fingerprint

    assert stored.imu_analysis["lift_prediction"]["weights"] == installed_lift_fingerprint() is not None
    assert not [i.value for i in at.info if "lift-classifier weights" in i.value]
    # recognised by other weights (the classifier retrained since): its page says so
    from physio_core.imu.analyze import analyze_imu
    from physio_core.imu.classifier import LiftClassifier
    from physio_core.store.repo import rescore_imu_session

    older = LiftClassifier.load()
    older.fingerprint = "0123456789ab"
    rescore_imu_session(init_db(), 1, analyze_imu(stored.imu_series, classifier=older))
    at.run()
    assert [i.value for i in at.info if "lift-classifier weights" in i.value] == [
        f"The lift was recognised by other lift-classifier weights (0123456789ab), not the ones installed now "
        f"({installed_lift_fingerprint()}). Staff can recognise it again: **Score again as another lift**, "
        "Detect automatically."]

    # on the athlete's progress: its reps and stability, and no empty joint-angle charts
    at.switch_page("pages/progress.py")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    progress = {m.label: m.value for m in at.metric}
    assert (progress["Sessions"], progress["Reps"], progress["Stability"]) == \
        ("1", metrics["Reps"], metrics["Stability"])
    assert any("wrist-sensor sets" in c.value for c in at.caption)
    # sessions, reps, scores, pain and effort (said under the saved set), mix; no ROM
    assert len(elements(at, "plotly_chart")) == 5

    # named as another lift on its page: counted and scored again from the stored sensor data
    at.switch_page("pages/session_detail.py")
    at.query_params["id"] = "1"
    at.run()
    at.selectbox(key="score_again_lift_1").set_value("squat")
    next(b for b in at.button if b.label == "Score again").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    squat = analyze_imu(stored.imu_series, lift="squat")
    again = get_session_detail(init_db(), 1)
    assert (again.session.exercise, again.session.rep_count) == ("barbell_squat", squat.rep_count)
    assert at.success[0].value == f"Session #1 scored again, as barbell squat: {squat.rep_count} reps."
    assert at.subheader[0].value.endswith("Barbell squat"), at.subheader[0].value
    assert {m.label: m.value for m in at.metric}["Reps"] == str(squat.rep_count)


def test_imu_page_counts_only_the_set_of_a_longer_recording(app_env, tmp_path):
    """The sensor ran while the lifter stood for 8 s before the set (then turned the wrist to the
    bar) and for 8 s after it: the reps are the set's, and the page says what was left out."""
    from physio_core.imu import list_sets, write_imu_csv
    from physio_core.imu.evaluate import held_still, join
    from physio_core.imu.reps import count_reps

    if not IMU_DATA.is_dir():
        pytest.skip(f"MetaMotion data set not found at {IMU_DATA}")
    s = next(s for s in list_sets(IMU_DATA) if s.label == "C-dead-medium")
    x = s.load()
    rng = np.random.default_rng(1)
    recording = join([held_still(8.0, [0.2, -0.9, 0.3], rng), x, held_still(8.0, [-0.6, 0.1, -0.8], rng)])
    write_imu_csv(recording, tmp_path / "session.csv")
    at = new_app()
    add_athlete(at, "Lifter")
    analyse_imu_upload(at, [("session.csv", (tmp_path / "session.csv").read_bytes(), "text/csv")])
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Lift"], metrics["Reps"]) == ("Deadlift", str(count_reps(x, "dead").count))
    counted = count_reps(recording, "dead")
    after = recording.times[-1] - counted.set_end_s
    [said] = [c.value for c in at.caption if c.value.startswith("Reps are counted in the set")]
    assert said == (f"Reps are counted in the set ({counted.set_start_s:.0f}–{counted.set_end_s:.0f} s), "
                    f"not in the {counted.set_start_s:.0f} s before it or the {after:.0f} s after it "
                    "(standing, moving about, taking or racking the bar).")
    assert 7 <= counted.set_start_s <= 11
    # the printable report says it too
    from physio_core import exports
    from physio_core.store import get_session_detail, init_db

    stored = get_session_detail(init_db(), 1)
    page = exports.imu_html_report(stored.imu_series, stored.imu_analysis).decode()
    assert "Reps are counted in the set" in page and "not the set" in page


def test_imu_page_splits_a_workout_into_sets_and_saves_each(app_env, tmp_path):
    """One sensor file of a whole workout: a deadlift set, a rest, a row set. Each set is saved as
    a session of its own, dated by its offset in the recording, and the page shows the one picked."""
    from physio_core.imu import list_sets, write_imu_csv
    from physio_core import felt
    from physio_core.imu.evaluate import held_still, join
    from physio_core.store import get_session_detail, init_db, list_sessions

    if not IMU_DATA.is_dir():
        pytest.skip(f"MetaMotion data set not found at {IMU_DATA}")
    loaded = {s.label: s.load() for s in list_sets(IMU_DATA)}
    rng = np.random.default_rng(3)
    workout = join([held_still(6.0, [0.2, -0.9, 0.3], rng), loaded["C-dead-medium"],
                    held_still(25.0, [-0.6, 0.1, -0.8], rng), loaded["C-row-medium"]])
    write_imu_csv(workout, tmp_path / "monday.csv")
    at = new_app()
    add_athlete(at, "Lifter")
    analyse_imu_upload(at, [("monday.csv", (tmp_path / "monday.csv").read_bytes(), "text/csv")])
    assert not at.error, [e.value for e in at.error]
    assert at.checkbox(key="imu_split").value  # on by default
    assert at.subheader[0].value == "Workout — monday"
    assert any(i.value.startswith("This recording holds 2 sets.") for i in at.info)
    table = next(d.value for d in at.dataframe if "lift" in d.value.columns)
    assert table[["set", "lift", "reps"]].values.tolist() == [[1, "Deadlift", 10], [2, "Barbell row", 10]]
    # 25 s held still and two turns of the wrist between the last deadlift and the first row
    rest = table["rest before"].tolist()
    assert pd.isna(rest[0]) and 25 <= int(rest[1][:-3]) * 60 + int(rest[1][-2:]) <= 31
    assert table["session"].tolist() == ["#1", "#2"]
    rows = sorted(list_sessions(init_db()), key=lambda r: r.id)
    assert [(r.exercise, r.rep_count) for r in rows] == [("deadlift", 10), ("barbell_row", 10)]
    assert [r.source.split(" (")[0] for r in rows] == ["monday · set 1 of 2", "monday · set 2 of 2"]
    # the row set began after the deadlift set, the rest and two turns of the wrist (to within a
    # 4 s window at either set's start)
    gap = (rows[1].started_at - rows[0].started_at).total_seconds()
    assert abs(gap - (loaded["C-dead-medium"].duration_s + 25.0 + 2.0)) <= 5.0
    second = get_session_detail(init_db(), 2)
    assert second.imu_series.times[0] > 30  # the set keeps the recording's times
    # the picker shows one set's report at a time
    picks = at.radio(key="imu_set").options
    assert [p.split(" · ")[:2] for p in picks] == [["1", "Deadlift"], ["2", "Barbell row"]]
    assert all(p.endswith(" · 10 reps") for p in picks)
    at.radio(key="imu_set").set_value(2)
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Lift"], metrics["Reps"]) == ("Barbell row", "10")
    assert [s.value for s in at.success] == ["Saved as session #2."]
    # how the workout felt is asked once: the answer goes to the other set too, which had none
    def felt_of() -> list[tuple]:
        return [(r.session.pain, r.session.effort) for r in (get_session_detail(init_db(), k) for k in (1, 2))]

    def say_felt(sid: int, pain: int, effort: int) -> str:
        at.selectbox(key=f"felt_now_pain_{sid}").set_value(pain)
        at.selectbox(key=f"felt_now_effort_{sid}").set_value(effort)
        next(b for b in at.button if b.label == "Save how it felt").click()
        at.run()
        assert not at.error, [e.value for e in at.error]
        return at.success[-1].value

    also = at.checkbox(key="felt_now_others_2")
    assert also.value and also.label == "The same for the recording's other set, where not said yet"
    assert say_felt(2, 3, 7) == f"Saved how session #2 felt: {felt.in_words(3, 7)}. The same for session #1."
    assert felt_of() == [(3, 7), (3, 7)]
    # set 1 said otherwise: its own answer; set 2 keeps the one it was given
    at.radio(key="imu_set").set_value(1)
    at.run()
    assert say_felt(1, 5, 8) == f"Saved how session #1 felt: {felt.in_words(5, 8)}. Session #2 had its own already."
    assert felt_of() == [(5, 8), (3, 7)]
    at.radio(key="imu_set").set_value(2)
    at.run()
    # unticked, the recording is one set, saved as one session
    at.checkbox(key="imu_split").uncheck()
    next(b for b in at.button if b.label == "Analyse").click()
    at.run()
    assert at.subheader[0].value == "Set — monday" and len(list_sessions(init_db())) == 3
    # a set's page links to the workout's other sets
    at.switch_page("pages/session_detail.py")
    at.query_params["id"] = "2"
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert "Set 2 of 2 of monday; its other sets:" in [c.value for c in at.caption]


def test_imu_page_says_why_a_file_cannot_be_read_and_saves_nothing(app_env):
    from physio_core.store import init_db, list_sessions

    at = new_app()
    add_athlete(at, "Bencher")
    analyse_imu_upload(at, [("knee_angles.csv", b"frame,knee\n1,170\n2,160\n", "text/csv")])
    [error] = [e.value for e in at.error]
    assert error.startswith("This file cannot be read: knee_angles.csv: missing column(s) time_s, "
                            "acc_x, acc_y, acc_z") and "found frame, knee" in error
    assert not at.success and not at.metric
    assert list_sessions(init_db()) == []


def test_sessions_page_imports_another_clinics_archive(app_env, assessed_squat_result):
    """Staff import an athlete's archive on Sessions: the sessions are analysed again, filed
    under the athlete named, and listed; a second import stores nothing twice; a file that is
    not an export is refused with its reason."""
    from physio_core import background
    from physio_core.archive import athlete_archive
    from physio_core.store import (get_or_create_athlete, get_user_by_email, init_db, list_sessions,
                                   save_session_result)

    engine = init_db()
    old = get_or_create_athlete(engine, "Ana Lopez")
    there = save_session_result(engine, assessed_squat_result, old.id, notes="left knee sore")
    archive = athlete_archive(engine, old.id)

    at = new_app()
    at.switch_page("pages/sessions.py")
    at.run()
    at.file_uploader(key="import_file").set_value([("ana.zip", b"not a zip", "application/zip")])
    at.run()
    assert any("ana.zip cannot be imported: the file is not a ZIP archive" in e.value for e in at.error)
    at.file_uploader(key="import_file").set_value([("physiotrack_2.zip", archive, "application/zip")])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="import_athlete").value == "Ana Lopez"  # as the archive names them
    at.text_input(key="import_athlete").input("Ana Lopez (moved)")
    admin = get_user_by_email(engine, ADMIN_EMAIL)
    started = time.monotonic()
    next(b for b in at.button if b.label == "Import 1 session").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    said = [s.value for s in at.success]  # said at once when the import ended before the page was drawn
    # the import runs on a thread of its own: the page says how far it has got, and can be left
    job = background.current(("import", admin.id))
    assert said or (job.label == "physiotrack_2.zip" and job.meta["athlete"] == "Ana Lopez (moved)")
    if job is not None and not job.finished:
        assert any(c.value.startswith("You can leave this page: the import goes on") for c in at.caption)
        assert any(b.disabled for b in at.button if b.label == "Import 1 session")  # one at a time
    at.switch_page("pages/progress.py")
    at.run()
    background.wait(("import", admin.id), 300)
    assert time.monotonic() - started < 300
    at.switch_page("pages/sessions.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    said += [s.value for s in at.success]
    assert said == ["Ana Lopez (moved): 1 session imported."]
    assert background.current(("import", admin.id)) is None  # said once
    moved = next(a for a in list_sessions(engine) if a.athlete_name == "Ana Lopez (moved)")
    assert moved.rep_count == assessed_squat_result.rep_count and moved.notes == "left knee sore"
    from pages._shared import ATHLETE_KEY

    assert at.session_state[ATHLETE_KEY] == moved.athlete_id  # the sidebar picks the athlete
    table = next(d.value for d in at.dataframe if "reps" in d.value.columns)
    table = table.set_index(pd.Index(session_ids(table)))
    assert table.loc[moved.id, "status"] == "ended · imported"
    assert moved.from_import and not next(r for r in list_sessions(engine) if r.id == there).from_import
    at.file_uploader(key="import_file").set_value([("physiotrack_2.zip", archive, "application/zip")])
    at.run()
    at.text_input(key="import_athlete").input("Ana Lopez (moved)")
    next(b for b in at.button if b.label == "Import 1 session").click()
    at.run()
    said = [i.value for i in at.info]  # said at once when the import ended before the page was drawn
    background.wait(("import", admin.id), 300)
    at.run()
    said += [i.value for i in at.info]
    assert [i for i in said if "already there" in i] == [
        "Ana Lopez (moved): 0 sessions imported; 1 already there, left alone."]
    # the session's page says where it came from
    at.switch_page("pages/session_detail.py")
    at.query_params["id"] = str(moved.id)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    said = [c.value for c in at.caption if c.value.startswith("Imported on ")]
    assert len(said) == 1 and f" from physiotrack_2.zip (session #{there} of Ana Lopez there)." in said[0]


def test_sessions_page_imports_an_archive_with_a_programme_and_no_session(app_env):
    """An athlete whose programme was set before their first session moves clinics: the archive
    holds no session, and the page still offers to import the programme, the targets and the
    condition (here the affected side only)."""
    from physio_core import background
    from physio_core.archive import athlete_archive
    from physio_core.store import access, get_or_create_athlete, get_user_by_email, init_db, list_athletes

    engine = init_db()
    old = get_or_create_athlete(engine, "Noor Haddad")
    access.set_programme_item(engine, None, old.id, "deep_squat", 3, 12, "knees out")
    access.set_rom_target(engine, None, old.id, "knee_flexion_r", 110.0, "deep_squat")
    access.set_affected_side(engine, None, old.id, "left")
    archive = athlete_archive(engine, old.id)

    at = new_app()
    at.switch_page("pages/sessions.py")
    at.run()
    at.file_uploader(key="import_file").set_value([("noor.zip", archive, "application/zip")])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.value == "Noor Haddad's archive: 0 sessions with data, 1 range-of-motion target, "
               "1 programme item, the condition (left side)." for m in at.markdown)
    at.text_input(key="import_athlete").input("Noor Haddad (moved)")
    next(b for b in at.button if b.label == "Import the programme, the targets and the condition").click()
    at.run()
    # with no session to analyse the import can end before the page's own rerun after the click,
    # which then says how it ended: what either run says, once
    said = [s.value for s in at.success]
    background.wait(("import", get_user_by_email(engine, ADMIN_EMAIL).id), 300)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert said + [s.value for s in at.success] == [
        "Noor Haddad (moved): 1 range-of-motion target set; 1 programme item added; the affected side (left) set."], \
        ([i.value for i in at.info], [w.value for w in at.warning], [e.value for e in at.error])
    moved = next(a for a in list_athletes(engine) if a.display_name == "Noor Haddad (moved)")
    [item] = access.programme(engine, moved.id)
    assert (item.exercise, item.sessions_per_week, item.reps_per_set, item.note) == ("deep_squat", 3, 12, "knees out")
    assert [(t.angle, t.target_deg) for t in access.rom_targets(engine, moved.id)] == [("knee_flexion_r", 110.0)]
    assert access.affected_side(engine, moved.id) == "left"


# the app's server process importing an archive, stopped for good after its first session
# (a restart, a crash): the import's thread goes with it
_SERVER_STOPPED_MID_IMPORT = """
import os, sys, threading
from physio_core import background
from physio_core.imports import import_sessions, read_archive
from physio_core.store import init_db
archive, admin_id, athlete_id, athlete, trace_dir = sys.argv[1:]
engine = init_db()
contents = read_archive(open(archive, "rb").read(), "ana.zip")
def work(progress):
    def step(k, n, label):
        progress(k, n, label)
        if k == 1:
            os._exit(0)
    return import_sessions(engine, contents.sessions, int(athlete_id), viewer_id=int(admin_id), progress=step)
background.start(("import", int(admin_id)), work, label="ana.zip",
                 meta={"athlete_id": int(athlete_id), "athlete": athlete}, trace_dir=trace_dir)
threading.Event().wait(600)
"""


def test_sessions_page_says_an_import_the_server_stopped_and_the_rest_comes_in_again(
        app_env, assessed_squat_result):
    """A restart half-way through an import: the Sessions page says where it stopped, once,
    and the file imported again adds the rest."""
    import subprocess
    import sys
    from dataclasses import replace
    from datetime import timedelta

    from physio_core import background
    from physio_core.archive import athlete_archive
    from physio_core.store import get_or_create_athlete, get_user_by_email, init_db, list_sessions, save_session_result

    engine = init_db()
    old = get_or_create_athlete(engine, "Ana Lopez")
    for week in (0, 1):
        save_session_result(engine, replace(assessed_squat_result, started_at=assessed_squat_result.started_at
                                            + timedelta(weeks=week)), old.id)
    archive = app_env / "ana.zip"
    archive.write_bytes(athlete_archive(engine, old.id))
    at = new_app()  # the first admin is made at start-up
    admin = get_user_by_email(engine, ADMIN_EMAIL)
    moved = get_or_create_athlete(engine, "Ana Lopez (moved)")
    from physio_core.config import get_settings

    trace_dir = get_settings().data_dir / "jobs"
    server = subprocess.run([sys.executable, "-c", _SERVER_STOPPED_MID_IMPORT, str(archive), str(admin.id),
                             str(moved.id), moved.display_name, str(trace_dir)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert server.returncode == 0, server.stderr
    assert len(list_sessions(engine, athlete_id=moved.id)) == 1  # the first one was stored

    at.switch_page("pages/sessions.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    said = [w.value for w in at.warning if w.value.startswith("The import of ana.zip")]
    assert len(said) == 1, [w.value for w in at.warning]
    assert said[0].startswith("The import of ana.zip for Ana Lopez (moved) stopped at ")
    assert "(2 of 2): the server stopped or restarted" in said[0] and "Import the file again" in said[0]
    at.run()
    assert not [w for w in at.warning if w.value.startswith("The import of")]  # said once

    at.file_uploader(key="import_file").set_value([("ana.zip", archive.read_bytes(), "application/zip")])
    at.run()
    at.text_input(key="import_athlete").input("Ana Lopez (moved)")
    next(b for b in at.button if b.label == "Import 2 sessions").click()
    at.run()
    said = [s.value for s in at.success]
    background.wait(("import", admin.id), 300)
    at.run()
    said += [s.value for s in at.success]
    assert said == ["Ana Lopez (moved): 1 session imported; 1 already there, left alone."]
    assert len(list_sessions(engine, athlete_id=moved.id)) == 2


def test_progress_scores_again_the_sessions_other_weights_judged(app_env, assessed_squat_result):
    """Staff score every session that other weights judged again from Progress, in one click:
    then the installed weights judged them all, and Progress has nothing more to say."""
    from dataclasses import replace
    from datetime import timedelta

    from physio_core import background
    from physio_core.store import (get_or_create_athlete, get_session_detail, get_user_by_email, init_db,
                                   save_session_result)

    result = assessed_squat_result
    engine = init_db()
    athlete = get_or_create_athlete(engine, "Squatter")
    ids = [save_session_result(engine, replace(result, started_at=result.started_at + timedelta(weeks=week),
                                               models=models), athlete.id)
           # other weights; the installed weights under the scoring rules before their version 2
           for week, models in ((0, "0123456789ab"), (1, result.models.partition("+")[0]), (2, result.models))]
    at = new_app()
    at.switch_page("pages/progress.py")
    at.query_params["athlete"] = str(athlete.id)
    at.run()
    next(b for b in at.button if b.label == "Score 2 sessions again with the installed weights").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # on a thread of its own: the page says so while it runs, and can be left
    said = [s.value for s in at.success]  # at once when it ended before the page was drawn
    admin = get_user_by_email(engine, ADMIN_EMAIL)
    job = background.current(("rescore", admin.id))
    if job is not None and not job.finished:
        assert any(c.value.startswith("You can leave this page: the sessions are scored") for c in at.caption)
    background.wait(("rescore", admin.id), 300)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    said += [s.value for s in at.success]
    assert said == ["Squatter: 2 sessions scored again with the installed weights."]
    assert background.current(("rescore", admin.id)) is None
    assert [get_session_detail(engine, i).models for i in ids] == [result.models] * 3
    at.run()  # AppTest keeps the elements of the run that st.rerun cut short until the next one
    assert not [i.value for i in at.info if "model weights" in i.value]
    assert not [b for b in at.button if "again with the installed weights" in b.label]


def test_an_upload_of_two_sets_shows_and_saves_each_set(app_env, tmp_path):
    """A video of squats then shoulder abductions (real UI-PRMD sets joined as a camera would see
    them; no real video of two exercises ships): the report picks a set, and each is saved as a
    session of its own exercise and reps."""
    from conftest import uiprmd_set
    from pages.upload import SET_KEY, SPLIT_HELP
    from physio_core.datasets.continuous import concatenate_reps
    from physio_core.pipeline import finish_sequence
    from physio_core.sets import clock, split_sets
    from physio_core.store import get_session_detail, init_db
    from physio_core.store.access import set_programme_item

    squats, _, _ = uiprmd_set([("deep_squat", 3, True)] * 6, rng=1)
    raises, _, _ = uiprmd_set([("standing_shoulder_abduction", 3, True)] * 7, rng=2)
    seq, _ = concatenate_reps([squats, raises], pause_s=(1.5, 1.5), rng=1)
    whole = finish_sequence(seq, backend="uiprmd-kinect", smooth=False, source="gym.mp4")
    sets = split_sets(whole)
    assert len(sets) == 2

    at = new_app()
    assert at.checkbox(key="upload_split").value is True and at.checkbox(key="upload_split").help == SPLIT_HELP
    add_athlete(at, "Two Sets")
    set_programme_item(init_db(), None, at.session_state["athlete_id"], "deep_squat", 3, 8)
    at.session_state["upload_result"] = {
        "result": whole, "video": tmp_path / "gone.mp4", "name": "gym.mp4", "session_id": None,
        "file_id": "gym", "filmed": False, "sets": [{"result": r, "session_id": None} for r in sets]}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("This video holds 2 sets" in i.value for i in at.info)
    table = shown_table(next(d for d in at.dataframe if "correct reps" in d.value.columns))
    assert table["exercise"] == ["Deep squat", "Shoulder abduction"]
    assert table["reps"] == [str(r.rep_count) for r in sets]
    assert table["correct reps"] == [f"{r.metrics['reps_judged'] - r.metrics['reps_incorrect']:.0f} of "
                                     f"{r.metrics['reps_judged']:.0f}" for r in sets]
    assert table["stability"] == [f"{r.metrics['stability_score']:.2f}" for r in sets]
    # the rest before the abductions: from the last squat's end to the first abduction's start
    assert table["rest before"] == ["–", clock(sets[1].reps[0].start_s - sets[0].reps[-1].end_s)]
    assert table["session"] == ["not saved", "not saved"]  # put in the page's state unsaved
    picker = at.radio(key=SET_KEY)
    assert list(picker.options) == [
        f"{k} · {name} · {clock(r.pose.times[0])}–{clock(r.pose.times[-1])} · {r.rep_count} reps"
        for k, (name, r) in enumerate(zip(("Deep squat", "Shoulder abduction"), sets), 1)]
    assert clock(sets[0].pose.times[0]) == "0:00" and clock(sets[1].pose.times[-1]).startswith("1:")
    # each set's reps against the programme's of its exercise: only the squats' asks 8 a set
    shown = [f"{sets[0].rep_count} of 8", str(sets[1].rep_count)]
    assert next(m for m in at.metric if m.label == "Reps").value == shown[0]
    ids = []
    for k in (1, 2):
        at.radio(key=SET_KEY).set_value(k).run()
        assert next(m for m in at.metric if m.label == "Reps").value == shown[k - 1]
        next(b for b in at.button if b.label == "Save session").click().run()
        assert not at.exception, [e.value for e in at.exception]
        ids.append(at.session_state["upload_result"]["sets"][k - 1]["session_id"])
        assert any(s.value == f"Saved as session #{ids[-1]}." for s in at.success)
    table = shown_table(next(d for d in at.dataframe if "correct reps" in d.value.columns))
    assert table["session"] == [f"#{i}" for i in ids]
    engine = init_db()
    stored = [get_session_detail(engine, i).session for i in ids]
    assert [s.exercise for s in stored] == ["deep_squat", "standing_shoulder_abduction"]
    assert [s.rep_count for s in stored] == [r.rep_count for r in sets]
    assert [s.source for s in stored] == [r.source for r in sets]
    assert stored[0].source.startswith("gym.mp4 · set 1 of 2 (0:00–")
