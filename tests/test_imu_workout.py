"""A wrist-sensor recording of a whole workout: its sets found, each analysed on its own.

Workouts are real MetaMotion sets joined as a sensor records them: rests (a real rest recording,
moving about, or standing still) before, between and after, every part joined by a turn of the
wrist.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from physio_core.imu import ImuSeries, list_sets
from physio_core.imu.classifier import LiftClassifier
from physio_core.imu.evaluate import DEFAULT_DIR as DATA
from physio_core.imu.evaluate import held_still, join
from physio_core.imu.reps import count_reps
from physio_core.imu.workout import evaluate, find_lift_sets, main, split_workout
from physio_core.sets import set_of

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"MetaMotion data set not found at {DATA}")


@pytest.fixture(scope="module")
def loaded():
    return {s.label: (s, s.load()) for s in list_sets(DATA)}


@pytest.fixture(scope="module")
def classifier():
    return LiftClassifier.load()


def _rest(loaded, seconds: float, start_s: float = 0.0) -> ImuSeries:
    r = loaded["A-rest-standing"][1].resample(25.0)
    a, n = int(start_s * 25), int(seconds * 25)
    return ImuSeries(r.times[a:a + n], r.acc[a:a + n], r.gyr[a:a + n])


def test_a_workout_of_three_lifts_is_three_sets(loaded, classifier):
    rng = np.random.default_rng(0)
    labels = ["C-dead-medium", "C-row-medium", "C-bench-heavy1"]
    parts = [_rest(loaded, 15.0), loaded[labels[0]][1], held_still(20.0, [0.3, -0.9, 0.1], rng),
             loaded[labels[1]][1], _rest(loaded, 20.0, 15.0), loaded[labels[2]][1], held_still(10.0, [0, -1, 0], rng)]
    workout = join(parts)
    workout.meta["start_epoch_s"] = 1_547_000_000.0
    sets = split_workout(workout, classifier)
    assert [(w.result.lift, w.index, w.of) for w in sets] == [("dead", 1, 3), ("row", 2, 3), ("bench", 3, 3)]
    # where each set was put: the parts before it and a one-second turn per join
    put = np.cumsum([0.0] + [p.duration_s + 0.04 + 1.0 for p in parts])
    for w, k in zip(sets, (1, 3, 5)):
        s, x = loaded[labels[(k - 1) // 2]]
        assert w.result.rep_count == count_reps(x, s.lift).count == s.expected_reps
        # the set found holds the set, give or take a window's span, in the recording's times
        assert put[k] - 4.5 <= w.series.times[0] and w.series.times[-1] <= put[k + 1] + 4.5
        assert w.result.reps.reps[0].start_s >= put[k] - 1.0 and w.result.reps.reps[-1].end_s <= put[k + 1]
        # its clock begins when it did
        assert w.series.meta["start_epoch_s"] == pytest.approx(1_547_000_000.0 + w.series.times[0])
        assert set_of(w.source("gym.csv")) == ("gym.csv", w.index, 3)
    assert sets[1].label.startswith("2 · Barbell row · ") and sets[1].label.endswith(" · 10 reps")


def test_two_sets_of_one_named_lift_are_split_by_their_rest(loaded, classifier):
    s, x = loaded["C-row-heavy"]
    rest = _rest(loaded, 25.0, 5.0)
    sets = split_workout(join([x, rest, x]), classifier, lift="row")
    assert [(w.result.lift, w.result.rep_count, w.result.prediction) for w in sets] == [("row", 5, None)] * 2
    # a short pause is not a rest: one set of both
    pause = held_still(4.0, [0.2, -0.9, 0.3], np.random.default_rng(1))
    assert split_workout(join([x, pause, x]), classifier, lift="row") == []
    spans = find_lift_sets(join([x, pause, x]), classifier, lift="row")
    assert len(spans) == 1 and spans[0].lift == "row"


def test_one_set_or_none_is_no_workout(loaded, classifier):
    s, x = loaded["C-dead-medium"]
    assert split_workout(x, classifier) == []
    assert [sp.lift for sp in find_lift_sets(x, classifier)] == ["dead"]
    # standing about and standing still hold no set
    rest = loaded["A-rest-standing"][1]
    assert find_lift_sets(rest, classifier) == []
    still = held_still(60.0, [0.1, -1.0, 0.2], np.random.default_rng(2))
    assert find_lift_sets(still, classifier) == []
    assert find_lift_sets(ImuSeries(np.arange(50) / 25.0, np.tile([0, 0, 1.0], (50, 1))), classifier) == []


def test_evaluate_and_its_cli(tmp_path, capsys):
    res = evaluate(DATA, workouts=6)
    assert res["workouts"] == 6 and len(res["workouts_detail"]) == 6
    assert {r["between"] for r in res["workouts_detail"]} == {"moving", "still"}
    assert res["workouts_split_right"] >= 0.8 and res["lifts_right"] >= 0.9 and res["reps_within1"] >= 0.6
    assert main([str(DATA), "--workouts", "2", "--json", str(tmp_path / "w.json")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert "workouts_detail" not in printed and printed["workouts"] == 2
    assert len(json.loads((tmp_path / "w.json").read_text())["workouts_detail"]) == 2
    assert main([str(tmp_path)]) == 2
    assert "no participant" in capsys.readouterr().err


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    """The settings' database: a SQLite file of this test's own; restored afterwards."""
    from physio_core.config import get_settings
    from physio_core.store import dispose_engines

    monkeypatch.delenv("PHYSIO_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    yield tmp_path / "cli.db"
    dispose_engines()
    get_settings.cache_clear()


def test_analyze_cli_reads_a_workout_set_by_set(loaded, tmp_path, capsys, cli_db):
    from physio_core.imu import write_imu_csv
    from physio_core.imu.analyze import main as analyze_main
    from physio_core.store import init_db, list_sessions

    rng = np.random.default_rng(4)
    workout = join([loaded["C-dead-medium"][1], held_still(25.0, [0.3, -0.9, 0.1], rng), loaded["C-row-medium"][1]])
    write_imu_csv(workout, tmp_path / "friday.csv")
    assert analyze_main([str(tmp_path / "friday.csv"), "--sets", "--save", "--athlete", "Cli"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(s["set"], s["lift"], s["rep_count"]) for s in out["sets"]] == [(1, "dead", 10), (2, "row", 10)]
    assert out["sets"][0]["end_s"] < out["sets"][1]["start_s"]
    assert [set_of(s["source"]) for s in out["sets"]] == [("friday", 1, 2), ("friday", 2, 2)]
    stored = list_sessions(init_db())
    assert cli_db.is_file()
    assert sorted(r.id for r in stored) == sorted(s["session_id"] for s in out["sets"])
    # a recording of one set is one item; without --sets the JSON is the set's analysis, as before
    write_imu_csv(loaded["C-row-medium"][1], tmp_path / "row.csv")
    assert analyze_main([str(tmp_path / "row.csv"), "--sets"]) == 0
    [one] = json.loads(capsys.readouterr().out)["sets"]
    assert (one["set"], one["lift"], one["rep_count"], one["source"]) == (1, "row", 10, "row")
    assert analyze_main([str(tmp_path / "row.csv")]) == 0
    assert json.loads(capsys.readouterr().out)["rep_count"] == 10


def test_a_set_partly_misread_as_another_lift_stays_one_set(classifier):
    """The benchmark's synthetic workout (three sets of 10 even reps, standing still between): the
    classifier, which never saw such a signal, reads part of the first set as a row. A stretch read
    as another lift for less than MIN_SET_S between two runs of one lift is a misreading."""
    from physio_core.bench import synthetic_workout

    workout = synthetic_workout()
    labels, _ = classifier.predict_windows(workout)
    assert len(set(labels) - {"rest"}) > 1  # more than one lift read in it
    sets = split_workout(workout, classifier)
    assert [w.result.rep_count for w in sets] == [10, 10, 10]
    assert len({w.result.lift for w in sets}) == 1
    assert all(a.span.end_s <= b.span.start_s for a, b in zip(sets, sets[1:]))


def test_held_out_workouts_are_split_by_classifiers_that_never_saw_their_participant(capsys):
    """``--cv``: each participant's workouts are split by a classifier fitted on the others'
    recordings. The two rest recordings are participant A's, so A's classifier knows no rest."""
    from physio_core.imu.evaluate import held_out_classifiers
    from physio_core.imu.io import list_sets

    loaded = [(s, s.load()) for s in list_sets(DATA)]
    classifiers = held_out_classifiers([s for s, _ in loaded], [x for _, x in loaded])
    lifts = {s.lift for s, _ in loaded}
    assert set(classifiers) == {s.participant for s, _ in loaded}
    for p, clf in classifiers.items():
        assert set(clf.labels) == {s.lift for s, _ in loaded if s.participant != p} <= lifts
    assert "rest" not in classifiers["A"].labels and "rest" in classifiers["B"].labels

    assert main([str(DATA), "--workouts", "4", "--cv"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["classifier"] == "leave-one-participant-out refits" and printed["workouts"] == 4
    assert all(0.0 <= printed[k] <= 1.0 for k in ("workouts_split_right", "lifts_right", "reps_within1"))
