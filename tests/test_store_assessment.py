"""The models' report of a session (per-rep verdicts, corrected poses, exercise label) stored and
read back, on a SQLite file AND on PostgreSQL: real UI-PRMD deep squats of subject 5 (three
correct, three incorrect), assessed by the shipped models (conftest: assessed_squat_result)."""

from __future__ import annotations

import numpy as np
import pytest

from physio_core import report
from physio_core.store import (
    FeedbackKind,
    PendingWrites,
    get_or_create_athlete,
    get_session_detail,
    list_sessions,
    progress_for_athlete,
    save_session_result,
)
from physio_core.store import codec
from physio_core.store.live import LiveSessionWriter

POSE_ATOL = 0.5 * 10**-codec.POSE_DECIMALS + 1e-12


def assert_same_report(d, result) -> None:
    """The stored session carries the model report ``result`` had."""
    assert d.exercise_label == result.exercise_label
    assert d.exercise_timeline == result.exercise_timeline
    assert d.models == result.models and d.to_result().models == result.models
    assert d.rep_assessments == result.rep_assessments
    assert sorted(d.corrected_poses) == sorted(result.corrected_poses)
    for k, fixed in result.corrected_poses.items():
        back = d.corrected_poses[k]
        assert back.joints.shape == fixed.joints.shape
        np.testing.assert_allclose(back.joints, fixed.joints, atol=POSE_ATOL)
        np.testing.assert_allclose(back.root, fixed.root, atol=POSE_ATOL, equal_nan=True)
        np.testing.assert_allclose(back.times, fixed.times, atol=1e-4)
    # one feedback line per assessed rep, tied to its rep
    per_rep = {f.rep_index: f for f in d.feedback if f.rep_index is not None}
    assert sorted(per_rep) == [a["rep"] for a in result.rep_assessments]
    for a in result.rep_assessments:
        f = per_rep[a["rep"]]
        assert f.kind == FeedbackKind.SYSTEM
        assert f.text.startswith(f"Rep {a['rep']}: {a['mistake']}") and a["reason"] in f.text
    # the rebuilt result is the one the report pages draw
    back = d.to_result()
    assert back.exercise_label == result.exercise_label
    assert back.rep_assessments == result.rep_assessments and back.feedback == result.feedback
    assert report.reps_table(back.reps, back.rep_assessments).equals(
        report.reps_table(result.reps, result.rep_assessments))


def test_saved_session_keeps_the_models_report(db_engine, assessed_squat_result):
    assessed = assessed_squat_result
    athlete = get_or_create_athlete(db_engine, "Squatter")
    sid = save_session_result(db_engine, assessed, athlete.id)
    d = get_session_detail(db_engine, sid)
    assert_same_report(d, assessed)
    assert not set(d.data) & {codec.KIND_ASSESSMENT, codec.KIND_CORRECTED}  # not "sensor data"
    assert d.metrics.injury_risk == assessed.metrics["injury_risk"]
    assert d.metrics.stability_score == assessed.metrics["stability_score"]
    # the session list carries the verdicts and the stability too
    verdicts = [a["mistake"] for a in assessed.rep_assessments]
    row = list_sessions(db_engine, athlete_id=athlete.id)[0]
    assert (row.reps_correct, row.reps_judged) == (verdicts.count("correct"), len(verdicts))
    assert row.stability_score == pytest.approx(assessed.metrics["stability_score"])
    assert d.session.reps_judged == len(verdicts)


def test_a_session_says_which_weights_assessed_it(db_engine, assessed_squat_result, tmp_path):
    """The models' fingerprint (of the weight files that assessed it) is stored with the session
    and in its JSON; other bytes in one weight file are other weights; a session stored before
    the fingerprint was kept reads None."""
    import json
    import shutil

    from physio_core.config import get_settings
    from physio_core.ml.weights import FILES, SCORING_RULES, installed_judged_by, read_judged_by, weights_fingerprint

    installed = weights_fingerprint(get_settings().model_dir)
    # the weights, and the version of the scoring rules written in code, that scored it
    assert assessed_squat_result.models == installed_judged_by() == f"{installed}+r{SCORING_RULES}"
    assert read_judged_by(assessed_squat_result.models) == (installed, SCORING_RULES) and len(installed) == 12
    assert read_judged_by(installed) == (installed, 1)  # stored before the rules had a version
    sid = save_session_result(db_engine, assessed_squat_result, get_or_create_athlete(db_engine, "Provenance").id)
    back = get_session_detail(db_engine, sid).to_result()
    assert json.loads(report.summary_json(back))["models"] == assessed_squat_result.models

    copy = tmp_path / "models"
    shutil.copytree(get_settings().model_dir, copy)
    assert weights_fingerprint(copy) == installed  # the same bytes elsewhere: the same weights
    (copy / "exercise_classifier.md").write_text("a model card is not weights")
    assert weights_fingerprint(copy) == installed
    gcn = copy / FILES["gcn"]
    gcn.write_bytes(gcn.read_bytes() + b"\0")
    assert weights_fingerprint(copy) not in (installed, None)
    assert weights_fingerprint(tmp_path) is None  # no weights there

    label, timeline, reps, models = codec.decode_assessment(
        {"meta": {"exercise_label": "deep_squat"}, "series": {"timeline": [], "reps": []}})
    assert (label, models) == ("deep_squat", None)


def test_sessions_scored_again_from_their_skeleton_in_one_go(db_engine, assessed_squat_result):
    """``rescore.score_all_again``: each session scored again as it is filed, by the installed
    weights; one with no skeleton is said, not scored, and the others still are."""
    from dataclasses import replace

    from physio_core.rescore import score_all_again
    from physio_core.store import Role, create_user, start_session

    admin = create_user(db_engine, "admin@clinic.org", "Admin", Role.ADMIN, "admin-password-1")
    athlete = get_or_create_athlete(db_engine, "Squatter")
    older = save_session_result(db_engine, replace(assessed_squat_result, models="0123456789ab"), athlete.id)
    empty = start_session(db_engine, athlete.id, exercise="deep_squat", source="manual")
    done, failed = score_all_again(db_engine, admin.id, [empty, older])
    assert done == [older] and len(failed) == 1 and failed[0].startswith(f"#{empty}: ")
    d = get_session_detail(db_engine, older)
    assert d.models == assessed_squat_result.models
    assert [a["mistake"] for a in d.rep_assessments] == [a["mistake"] for a in assessed_squat_result.rep_assessments]


def test_live_writer_and_pending_saves_keep_it(db_engine, assessed_squat_result):
    assessed = assessed_squat_result
    athlete = get_or_create_athlete(db_engine, "Live Squatter")
    writer = LiveSessionWriter(db_engine, athlete.id, exercise="deep_squat")
    assert writer.append(pose=assessed.pose.slice(0, 50), angles=None)
    row = writer.end(assessed)
    assert row is not None
    assert_same_report(get_session_detail(db_engine, row.id), assessed)

    pending = PendingWrites()
    sid = pending.save_or_keep(db_engine, assessed, athlete.id)
    assert sid is not None and sid != row.id
    assert_same_report(get_session_detail(db_engine, sid), assessed)


def test_a_session_on_auto_is_filed_under_the_recognised_exercise(db_engine, assessed_squat_result,
                                                                   auto_squat_result):
    """Progress groups sessions by exercise: squats analysed on auto join the ones named squats;
    a session whose exercise nobody named or recognised stays "auto"."""
    from physio_core.pipeline import finish_sequence

    athlete = get_or_create_athlete(db_engine, "Auto Squatter")
    named = save_session_result(db_engine, assessed_squat_result, athlete.id)
    auto = save_session_result(db_engine, auto_squat_result, athlete.id, exercise="auto")  # as the page
    writer = LiveSessionWriter(db_engine, athlete.id, exercise="auto")
    assert writer.append(pose=auto_squat_result.pose.slice(0, 50), angles=None)
    live = writer.end(auto_squat_result).id
    bare = finish_sequence(auto_squat_result.pose, backend="uiprmd-kinect", exercise=None,
                           smooth=False, assess=False)
    unknown = save_session_result(db_engine, bare, athlete.id)

    filed = {r.id: r.exercise for r in list_sessions(db_engine, athlete_id=athlete.id)}
    # a session the models did not judge has no verdicts in the list
    assert {r.id: r.reps_judged for r in list_sessions(db_engine, athlete_id=athlete.id)}[unknown] is None
    assert filed == {named: "deep_squat", auto: "deep_squat", live: "deep_squat", unknown: "auto"}
    squats = progress_for_athlete(db_engine, athlete.id, exercise="deep_squat")
    assert sorted(r.session_id for r in squats) == sorted([named, auto, live])
    assert get_session_detail(db_engine, auto).exercise_label == "deep_squat"


def test_a_stored_session_scored_again_as_its_real_exercise(db_engine, assessed_squat_result):
    """Squats filed as a shoulder abduction (named wrong, the video gone): Score again as deep squat
    from the stored skeleton gives the squats' reps, verdicts and corrections, files the session
    under deep squat, keeps its video's warning and the trainer's feedback, and drops the old
    scoring's messages. Staff only, and only once the session has ended."""
    from physio_core.pipeline import finish_sequence, score_again
    from physio_core.store import AccessDenied, Role, assign_athlete, create_user
    from physio_core.store.access import add_feedback_as, rescore_session_as, start_session_as

    squats = assessed_squat_result
    seen = "Another person was detected at 1.0–2.0 s and ignored (the followed person was out of view or hidden)."
    wrong = finish_sequence(squats.pose, backend="uiprmd-kinect", exercise="standing_shoulder_abduction",
                            source="upload:squats", smooth=False, started_at=squats.started_at, warnings=[seen])
    # the reps are looked for on the arms: none is counted, and the scoring says what it saw
    assert wrong.reps == [] and any(
        w.startswith("No rep of shoulder abduction was counted, and the movement looks like deep squat")
        for w in wrong.analysis_warnings)
    assert wrong.warnings == [seen]
    # a scoring message however worded (this one, a model missing, was kept by the first Score again)
    wrong.analysis_warnings.append("Model 'gcn' unavailable: part of the assessment is missing.")
    trainer = create_user(db_engine, "coach@clinic.org", "Coach", Role.TRAINER, "coach-password-1")
    athlete = create_user(db_engine, "ana@clinic.org", "Ana", Role.ATHLETE, "athlete-password-1")
    assign_athlete(db_engine, trainer.id, athlete.id)
    sid = save_session_result(db_engine, wrong, athlete.id, trainer.id)
    add_feedback_as(db_engine, trainer.id, sid, "Film from the side next time.")
    before = get_session_detail(db_engine, sid)
    assert before.session.exercise == "standing_shoulder_abduction"

    again = score_again(before.pose.at_measured_rate(), "deep_squat", backend=before.session.backend,
                        source=before.session.source, started_at=before.session.started_at,
                        warnings=before.to_result().warnings)
    with pytest.raises(AccessDenied):  # the athlete reads their sessions, staff score them
        rescore_session_as(db_engine, athlete.id, sid, again)
    row = rescore_session_as(db_engine, trainer.id, sid, again)
    assert (row.exercise, row.rep_count) == ("deep_squat", squats.rep_count)

    d = get_session_detail(db_engine, sid)
    assert [a["mistake"] for a in d.rep_assessments] == [a["mistake"] for a in squats.rep_assessments]
    assert sorted(d.corrected_poses) == sorted(squats.corrected_poses)
    assert [(r.start_frame, r.end_frame) for r in d.reps] == [(r.start_frame, r.end_frame) for r in squats.reps]
    assert [f.text for f in d.feedback if f.kind == FeedbackKind.WARNING] == [seen]
    assert [f.text for f in d.feedback if f.kind == FeedbackKind.ANALYSIS] == squats.analysis_warnings
    assert [f.text for f in d.feedback if f.kind == FeedbackKind.TRAINER] == ["Film from the side next time."]
    assert (d.session.started_at, d.session.ended_at) == (before.session.started_at, before.session.ended_at)
    assert [r.session_id for r in progress_for_athlete(db_engine, athlete.id, exercise="deep_squat")] == [sid]

    live = start_session_as(db_engine, trainer.id, athlete.id, "deep_squat")
    with pytest.raises(ValueError, match="has not ended"):
        rescore_session_as(db_engine, trainer.id, live, again)


def test_the_command_line_scores_again_what_other_weights_judged(db_url, assessed_squat_result):
    """``python -m physio_core.rescore``: after the weights changed, the sessions other weights
    judged are scored again, the others left; ``--every`` scores them all; an athlete nobody
    has is exit 2."""
    import os
    import subprocess
    import sys
    from dataclasses import replace
    from datetime import timedelta
    from pathlib import Path

    from physio_core.store import init_db

    engine = init_db(db_url)
    athlete = get_or_create_athlete(engine, "Squatter")
    r = assessed_squat_result
    older = save_session_result(engine, replace(r, models="0123456789ab"), athlete.id)
    current = save_session_result(engine, replace(r, started_at=r.started_at + timedelta(days=7)), athlete.id)
    ended_before = get_session_detail(engine, current).session

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "physio_core.rescore", *args], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[1], env={**os.environ, "DATABASE_URL": db_url},
                              timeout=600)

    out = cli("squatter")
    assert out.returncode == 0, out.stderr
    assert f"Squatter (#{athlete.id}): 1 session scored again with weights {r.models}" in out.stdout
    assert get_session_detail(engine, older).models == r.models
    assert get_session_detail(engine, current).session == ended_before  # not touched
    out = cli("--all", "--every")
    assert out.returncode == 0 and "2 sessions scored again" in out.stdout
    out = cli("nobody")
    assert out.returncode == 2 and "no athlete 'nobody'" in out.stderr
