"""A recording of several sets, found and analysed set by set (physio_core.sets), on real UI-PRMD
reps joined into sets as a camera would see them, and on the real test clip."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import uiprmd_set
from physio_core.datasets.continuous import concatenate_reps
from physio_core.pipeline import analyze_video, finish_sequence
from physio_core.sets import REST_S, SetSpan, clock, find_sets, sets_or_whole, split_sets

CLIP = Path(__file__).resolve().parent / "data" / "sports2d_demo.mp4"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def session(first: tuple[str, int, bool, int], second: tuple[str, int, bool, int], rest_s: float, seed: int):
    """Two real sets of one subject, (movement, subject, correct, reps) each, with ``rest_s`` of
    standing between them. Returns the recording analysed as one, and the true (start, end)
    times of every rep, in the recording."""
    a, a_reps, _ = uiprmd_set([first[:3]] * first[3], rng=seed)
    b, b_reps, _ = uiprmd_set([second[:3]] * second[3], rng=seed + 1)
    seq, (at_a, at_b) = concatenate_reps([a, b], pause_s=(rest_s, rest_s), lead_s=(1.0, 1.0), rng=seed)
    true = [(float(seq.times[at + lo]), float(seq.times[at + hi]))
            for at, reps in ((at_a[0], a_reps), (at_b[0], b_reps)) for lo, hi in reps]
    return finish_sequence(seq, backend="uiprmd-kinect", smooth=False, started_at=T0, source="gym.mp4"), true


@pytest.fixture(scope="module")
def squats_then_abductions():
    # set 2 starts 1.5 s after set 1's last frame: no rest to cut at, the sets touch
    return session(("deep_squat", 3, True, 6), ("standing_shoulder_abduction", 3, True, 7), 1.5, seed=1)


def test_two_exercises_are_two_sets_each_counted_on_its_own(squats_then_abductions):
    whole, true = squats_then_abductions
    sets = split_sets(whole)
    assert [s.session_exercise for s in sets] == ["deep_squat", "standing_shoulder_abduction"]
    assert abs(sets[0].rep_count - 6) <= 1 and abs(sets[1].rep_count - 7) <= 1
    # each set is analysed as its own exercise: the recording as one is not (one exercise for both)
    assert whole.session_exercise in ("deep_squat", "standing_shoulder_abduction")
    assert all(r.exercise == "auto" for r in sets)
    assert all(r.exercise_label == r.session_exercise and r.rep_assessments for r in sets)
    # the cut lies between the squats' end and the abductions' start: no rep cut in two
    squats_end, abductions_start = true[5][1], true[6][0]
    cut = float(sets[1].pose.times[0])
    assert squats_end <= cut <= abductions_start
    assert float(sets[0].pose.times[-1]) < cut


def test_a_set_keeps_the_recordings_times_and_says_where_it_lies(squats_then_abductions):
    whole, _ = squats_then_abductions
    sets = split_sets(whole)
    for k, r in enumerate(sets, 1):
        start, end = float(r.pose.times[0]), float(r.pose.times[-1])
        i = int(np.searchsorted(whole.pose.times, start))
        np.testing.assert_allclose(r.pose.joints, whole.pose.joints[i:i + len(r.pose)])
        assert r.started_at == T0 + timedelta(seconds=start - float(whole.pose.times[0]))
        assert r.source == f"gym.mp4 · set {k} of 2 ({clock(start)}–{clock(end)})"
        assert all(start <= rep.start_s < rep.end_s <= end for rep in r.reps)


def test_a_rest_splits_one_exercise_into_sets_and_is_in_neither():
    whole, true = session(("side_lunge", 6, True, 7), ("side_lunge", 6, False, 6), 30.0, seed=3)
    spans = find_sets(whole.pose)
    assert [s.exercise for s in spans] == ["side_lunge", "side_lunge"]
    rest = (true[6][1], true[7][0])  # the first set's last rep ends, the second's first begins
    assert rest[1] - rest[0] > REST_S
    assert spans[0].start_s <= true[0][0] and spans[0].end_s < rest[0] + 2.0
    assert spans[1].start_s > rest[1] - 2.0 and spans[1].end_s >= true[-1][1] - 0.5
    sets = split_sets(whole)
    assert [abs(r.rep_count - n) <= 1 for r, n in zip(sets, (7, 6))] == [True, True]
    # named, the exercise is the user's, and the rest still splits it
    named = finish_sequence(whole.pose, backend="uiprmd-kinect", exercise="side_lunge", smooth=False)
    assert [r.exercise for r in split_sets(named)] == ["side_lunge", "side_lunge"]


def test_pauses_shorter_than_a_rest_keep_one_set():
    whole, _ = session(("sit_to_stand", 4, True, 5), ("sit_to_stand", 4, True, 5), 6.0, seed=5)
    spans = find_sets(whole.pose)
    assert [s.exercise for s in spans] == ["sit_to_stand"]
    assert split_sets(whole) == [whole]


def same_analysis(a, b) -> None:
    assert (a.reps, a.exercise_label, a.metrics, a.feedback) == (b.reps, b.exercise_label, b.metrics, b.feedback)
    assert (a.rep_assessments, a.all_warnings, a.models) == (b.rep_assessments, b.all_warnings, b.models)
    assert (a.source, a.started_at, a.ended_at, a.exercise) == (b.source, b.started_at, b.ended_at, b.exercise)
    np.testing.assert_array_equal(a.pose.joints, b.pose.joints)


def assessed_lengths(monkeypatch) -> list[int]:
    """The frames of every pose the models are asked to assess from now on (the real models run)."""
    import physio_core.assess as assess

    asked, real = [], assess.assess_session
    monkeypatch.setattr(assess, "assess_session", lambda pose, *a, **k: asked.append(len(pose)) or real(pose, *a, **k))
    return asked


def test_a_recording_split_into_sets_is_assessed_set_by_set_not_whole(squats_then_abductions, monkeypatch):
    """The upload's path: the recording counted but not assessed, then each set assessed. The
    sets are those of the recording assessed whole, and the models never assess the whole."""
    whole, _ = squats_then_abductions
    bare = finish_sequence(whole.pose, backend="uiprmd-kinect", smooth=False, started_at=T0, source="gym.mp4",
                           scored=False)
    assert bare.exercise_label is None and not bare.rep_assessments
    expected = split_sets(whole)
    asked = assessed_lengths(monkeypatch)
    sets = sets_or_whole(bare)
    assert len(sets) == len(expected) == 2
    for got, want in zip(sets, expected):
        same_analysis(got, want)
    assert asked == [len(s.pose) for s in sets]


def test_a_recording_of_one_set_is_assessed_whole_once(monkeypatch):
    whole, _ = session(("sit_to_stand", 4, True, 5), ("sit_to_stand", 4, True, 5), 6.0, seed=5)
    assert whole.exercise_label == "sit_to_stand" and whole.rep_assessments
    bare = finish_sequence(whole.pose, backend="uiprmd-kinect", smooth=False, started_at=T0, source="gym.mp4",
                           scored=False)
    assert bare.reps == whole.reps  # counted with the models already
    asked = assessed_lengths(monkeypatch)
    (one,) = sets_or_whole(bare)
    same_analysis(one, whole)
    assert bare.exercise_label is None and not bare.feedback  # a copy is assessed
    assert asked == [len(whole.pose)]


def test_a_named_exercise_is_split_by_rests_only(squats_then_abductions):
    """The user said what the whole recording is: two exercises without a rest stay one set."""
    whole, _ = squats_then_abductions
    named = finish_sequence(whole.pose, backend="uiprmd-kinect", exercise="deep_squat", smooth=False)
    assert [s.exercise for s in find_sets(named.pose, "deep_squat")] == ["deep_squat"]
    assert split_sets(named) == [named]


def test_no_sets_without_the_exercise_classifier(squats_then_abductions, tmp_path):
    whole, _ = squats_then_abductions
    assert find_sets(whole.pose, models_dir=tmp_path) == []


def test_the_real_clip_is_one_recording():
    """7.7 s of jumping jacks and a walk: no exercise the models know for a set's length. Counted,
    then assessed whole (the upload's path), it is the clip analysed at once,
    its warnings about the recording (someone else in view, frames without the person) kept."""
    result = analyze_video(CLIP)
    assert len(find_sets(result.pose)) <= 1
    assert split_sets(result) == [result]
    bare = analyze_video(CLIP, scored=False)
    assert bare.exercise_label is None and result.exercise_label is not None
    (one,) = sets_or_whole(bare)
    assert one.warnings and one.warnings == result.warnings
    same_analysis(one, replace(result, started_at=bare.started_at, ended_at=bare.ended_at))


def test_a_sets_annotated_video_is_its_stretch_of_the_video(tmp_path):
    from physio_core.annotate import write_annotated_video

    result = analyze_video(CLIP)
    second = split_sets(result, [SetSpan(0.0, 3.0, "deep_squat", 1.0), SetSpan(4.0, 7.0, "deep_squat", 1.0)])[1]
    made = write_annotated_video(CLIP, second, tmp_path / "set2.mp4")
    with av.open(str(made.path)) as c:
        times = [f.time for f in c.decode(c.streams.video[0])]
    assert made.frames == len(second.pose) == len(times)
    assert times[0] == pytest.approx(0.0, abs=0.01)
    assert times[-1] == pytest.approx(float(second.pose.times[-1] - second.pose.times[0]), abs=0.02)


def test_a_stored_session_is_split_into_its_sets(clinic_of_four, squats_then_abductions):
    """A live session that went from squats to shoulder abductions, stored as one (on SQLite and
    PostgreSQL): staff split it; it becomes the squats, keeping its notes, pain and the trainer's
    general line, and a new session holds the abductions with the trainer's line on its rep."""
    from physio_core.rescore import sets_of_stored, split_stored
    from physio_core.store import AccessDenied, FeedbackKind, get_session_detail, save_session_result
    from physio_core.store.access import add_feedback_as, set_felt_as, set_notes_as

    engine, ids = clinic_of_four
    whole, true = squats_then_abductions
    sid = save_session_result(engine, whole, ids["athlete"], ids["trainer"])
    trainer = ids["trainer"]
    set_notes_as(engine, trainer, sid, "changed exercise half-way")
    set_felt_as(engine, ids["athlete"], sid, 3, 6)
    stored = get_session_detail(engine, sid)
    # analysed as one, the recording is all shoulder abductions: the squats are not counted
    assert stored.session.exercise == "standing_shoulder_abduction"
    assert all(r.start_s > true[5][1] for r in stored.reps)
    # the trainer's line on the third rep it counted
    third = (stored.reps[2].start_s + stored.reps[2].end_s) / 2
    add_feedback_as(engine, trainer, sid, "elbow straight here", rep_index=stored.reps[2].index)
    add_feedback_as(engine, trainer, sid, "good session")

    spans = sets_of_stored(engine, trainer, sid)
    assert [sp.exercise for sp in spans] == ["deep_squat", "standing_shoulder_abduction"]
    with pytest.raises(AccessDenied):
        split_stored(engine, ids["athlete"], sid, spans)
    with pytest.raises(AccessDenied):
        split_stored(engine, ids["stranger"], sid, spans)
    assert get_session_detail(engine, sid).session.rep_count == stored.session.rep_count  # nothing changed

    first, second = split_stored(engine, trainer, sid, spans)
    assert first == sid
    a, b = get_session_detail(engine, first), get_session_detail(engine, second)
    assert (a.session.exercise, b.session.exercise) == ("deep_squat", "standing_shoulder_abduction")
    assert abs(a.session.rep_count - 6) <= 1 and abs(b.session.rep_count - 7) <= 1
    assert b.session.athlete_id == ids["athlete"] and b.session.trainer_id == trainer
    assert a.session.notes == "changed exercise half-way" and (a.session.pain, a.session.effort) == (3, 6)
    assert b.session.notes == "" and b.session.pain is None
    assert a.session.started_at == stored.session.started_at
    assert b.session.started_at == stored.session.started_at + timedelta(
        seconds=float(b.pose.times[0] - stored.pose.times[0]))
    assert len(a.pose) + len(b.pose) <= len(stored.pose)
    lines = {f.text: f for f in a.feedback + b.feedback if f.kind == FeedbackKind.TRAINER}
    assert lines["good session"].session_id == first and lines["good session"].rep_index is None
    moved = lines["elbow straight here"]
    assert moved.session_id == second
    rep = next(r for r in b.reps if r.index == moved.rep_index)
    assert abs((rep.start_s + rep.end_s) / 2 - third) < 3.0
    assert a.metrics is not None and b.metrics is not None and b.rep_assessments


def test_a_trainers_line_on_a_rep_between_sets_goes_to_the_set_nearest_it(clinic_of_four, squats_then_abductions):
    """A rep counted when the session was one, which no set holds (here after the last set, the
    second set made to end before it), takes its trainer's line to the set nearest in time."""
    from physio_core.rescore import sets_of_stored, split_stored
    from physio_core.store import FeedbackKind, get_session_detail, save_session_result
    from physio_core.store.access import add_feedback_as

    engine, ids = clinic_of_four
    whole, _ = squats_then_abductions
    trainer = ids["trainer"]
    sid = save_session_result(engine, whole, ids["athlete"], trainer)
    last = get_session_detail(engine, sid).reps[-1]
    add_feedback_as(engine, trainer, sid, "arms down slowly", rep_index=last.index)
    spans = sets_of_stored(engine, trainer, sid)
    assert [sp.exercise for sp in spans] == ["deep_squat", "standing_shoulder_abduction"]
    assert spans[1].end_s > (last.start_s + last.end_s) / 2
    first, second = split_stored(engine, trainer, sid, [spans[0], replace(spans[1], end_s=last.start_s)])
    assert second != first
    line = next(f for f in get_session_detail(engine, second).feedback if f.kind == FeedbackKind.TRAINER)
    assert line.text == "arms down slowly"
    assert not [f for f in get_session_detail(engine, first).feedback if f.kind == FeedbackKind.TRAINER]


def test_the_set_search_score_says_a_missing_folder(tmp_path, capsys):
    from physio_core.sets import main

    assert main(["--ui-prmd", str(tmp_path / "nowhere")]) == 2
    assert "UI-PRMD folder not found" in capsys.readouterr().err


def test_the_set_search_score_of_one_subject(capsys):
    """``--subjects``: that subject's sets only (``scripts/experiments/sets_loso.py`` runs it on
    weights trained without the subject); the installed weights were trained on it, and the title
    says so."""
    from conftest import SHARED_DATASETS
    from physio_core.sets import main

    root = SHARED_DATASETS / "ui-prmd"
    if not root.is_dir():
        pytest.skip("UI-PRMD not in ../shared")
    assert main(["--ui-prmd", str(root), "--subjects", "99"]) == 2
    assert "no UI-PRMD set of subjects [99]" in capsys.readouterr().err
    assert main(["--ui-prmd", str(root), "--subjects", "3", "--recordings", "2"]) == 0
    out = capsys.readouterr().out
    assert "installed weights, on UI-PRMD subjects they were trained on" in out
    # subject 3's sets: the ten movements, correct and incorrect
    assert "single_sets                  20" in out


def test_a_rest_out_of_view_splits_the_sets():
    """The athlete walks out of view between two sets of squats (no one in the frames for 25 s of
    a 30 s rest): two sets, each counted, and no warning about empty frames."""
    import warnings

    from physio_core.skeleton import PoseSequence

    whole, true = session(("deep_squat", 5, True, 6), ("deep_squat", 5, True, 6), 30.0, seed=7)
    p = whole.pose
    gone = (p.times > true[5][1] + 2.5) & (p.times < true[6][0] - 2.5)
    joints, conf = p.joints.copy(), p.confidence.copy()
    joints[gone], conf[gone] = np.nan, 0.0
    out_of_view = finish_sequence(PoseSequence(joints, conf, p.times, p.fps, p.root), backend="uiprmd-kinect",
                                  smooth=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sets = split_sets(out_of_view)
    assert [r.session_exercise for r in sets] == ["deep_squat", "deep_squat"]
    assert [abs(r.rep_count - 6) <= 1 for r in sets] == [True, True]
    # the time out of view is in neither set
    assert all(r.frames_with_person / r.frames > 0.9 for r in sets)
    assert sets[0].pose.times[-1] < p.times[gone][0] + 1.0 and sets[1].pose.times[0] > p.times[gone][-1] - 1.0


def test_windows_read_in_one_batch_as_one_by_one(squats_then_abductions):
    from physio_core.assess import _windows, get_suite

    whole, _ = squats_then_abductions
    suite = get_suite()
    windows = _windows(whole.pose, whole.pose.fps)[::5]
    batch = suite.classify_windows(windows)
    single = [suite.classify_window(w, whole.pose.fps) for w in windows]
    assert [p.label for p in batch] == [p.label for p in single]
    np.testing.assert_allclose([p.confidence for p in batch], [p.confidence for p in single], atol=1e-5)
    assert {p.label for p in batch} >= {"deep_squat", "standing_shoulder_abduction"}


def test_a_rest_is_found_through_tracker_noise():
    """Two sets of squats 30 s apart seen through a camera tracker's noise (the models' own
    augmentation: 1.5 cm white noise, 1 cm drift, a tilted camera), filtered as an upload is:
    the standing between them is still a rest."""
    from physio_core.ml.data import Augment
    from physio_core.skeleton import PoseSequence

    whole, true = session(("deep_squat", 3, True, 6), ("deep_squat", 3, True, 7), 30.0, seed=1)
    p = whole.pose
    noisy = Augment(mirror_p=0.0)(p.joints, np.random.default_rng(1), mirror=False, time_warp=False)
    seen = finish_sequence(PoseSequence(noisy, p.confidence, p.times, p.fps, p.root), backend="camera")
    spans = find_sets(seen.pose)
    assert [s.exercise for s in spans] == ["deep_squat", "deep_squat"]
    assert spans[0].end_s < true[5][1] + 5.0 and spans[1].start_s > true[6][0] - 5.0
    assert spans[0].end_s < true[6][0] - REST_S and spans[1].start_s > true[5][1] + REST_S


def test_the_other_sets_of_a_recording_are_found_by_their_source():
    from types import SimpleNamespace

    from physio_core.sets import other_sets, set_of

    def row(i, source, hours=0.0):
        return SimpleNamespace(id=i, source=source, started_at=T0 + timedelta(hours=hours))

    this = row(1, "gym.mp4 · set 1 of 3 (0:00–0:29)")
    rows = [this, row(3, "gym.mp4 · set 3 of 3 (1:05–1:40)"), row(2, "gym.mp4 · set 2 of 3 (0:31–0:58)"),
            row(4, "gym.mp4 · set 2 of 2 (0:31–0:58)"),  # another recording of the same name, of 2 sets
            row(5, "gym.mp4 · set 2 of 3 (0:31–0:58)", hours=30),  # the same name filmed days later
            row(6, "other.mp4 · set 2 of 3 (0:31–0:58)"), row(7, "gym.mp4")]
    assert [r.id for r in other_sets(rows, this)] == [2, 3]
    assert set_of("live · set 2 of 2 (0:30–1:03)") == ("live", 2, 2) and set_of("gym.mp4") is None
    assert other_sets(rows, rows[-1]) == []


def test_the_rest_before_each_set():
    from physio_core.sets import rests_before

    assert rests_before([(0.0, 10.0), (25.4, 40.0), (40.0, 50.0), (139.6, 150.0)]) == [None, "0:15", "0:00", "1:30"]
    assert rests_before([]) == [] and rests_before([(3.0, 9.0)]) == [None]
