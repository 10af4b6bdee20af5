"""Migration 0005: a stored session's scoring messages become feedback of kind ``analysis``, apart
from the warnings about its recording, so that scoring it again replaces only them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from physio_core.store import (
    Role,
    create_user,
    current_revision,
    downgrade,
    get_or_create_athlete,
    get_session_detail,
    make_engine,
    save_session_result,
    upgrade,
)

RECORDING = [
    "Another person was detected at 5.6–6.7 s and ignored (the followed person was out of view or hidden).",
    "The person was found in only 41% of the frames: angles and reps may be incomplete.",
    "No person was found during the live session.",
]
SCORING = [
    "Most reps look like deep squat, not standing shoulder abduction: they were scored as asked.",
    "No known exercise was recognised: stability, injury risk and mistakes are scored only for ...",
    "Rep 3 could not be assessed: shapes do not match",
    "Model 'gcn' unavailable: part of the assessment is missing.",
    "The angles of 'deep_squat' could not be measured: no reps counted.",
    "The exercise models are not available: no scores or mistakes.",
    "The exercise assessment could not be made (out of memory).",
]


def _kinds(engine, sid: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.text("SELECT kind, text FROM feedback WHERE session_id = :s ORDER BY id"), {"s": sid})]


def _insert(engine, sid: int, kind: str, text: str = "x", author_id: int | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO feedback (session_id, kind, text, author_id, created_at) "
                             "VALUES (:s, :k, :t, :a, CURRENT_TIMESTAMP)"),
                     {"s": sid, "k": kind, "t": text, "a": author_id})


def test_stored_scoring_messages_move_to_their_own_kind_and_back(db_url, make_uiprmd_session_result):
    engine = make_engine(db_url)
    try:
        # the session is stored by this code, at head, and the database taken back to 0004: the
        # models of this code have columns 0004 has not
        upgrade(engine)
        trainer = create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, "coach-password")
        athlete = get_or_create_athlete(engine, "Ana", trainer.id)
        result = make_uiprmd_session_result(episodes=(1,))
        result.warnings, result.analysis_warnings = [], []
        sid = save_session_result(engine, result, athlete.id, trainer.id)
        downgrade(engine, "0004")
        # as the code before 0005 stored them: every message of both origins as a warning
        for text in (RECORDING[0], SCORING[0], RECORDING[1], *SCORING[1:], RECORDING[2]):
            _insert(engine, sid, "warning", text)
        _insert(engine, sid, "trainer", "Rep 2 looks fine to me", trainer.id)  # a person's, kept
        before = _kinds(engine, sid)
        with pytest.raises(sa.exc.IntegrityError):
            _insert(engine, sid, "analysis")

        upgrade(engine)
        assert current_revision(engine) == "0012"
        after = _kinds(engine, sid)
        assert [t for _, t in after] == [t for _, t in before]  # same rows, same order
        assert {t for k, t in after if k == "analysis"} == set(SCORING)
        assert {t for k, t in after if k == "warning"} == set(RECORDING)
        assert [t for k, t in after if k == "trainer"] == ["Rep 2 looks fine to me"]
        back = get_session_detail(engine, sid).to_result()
        assert back.warnings == [RECORDING[0], RECORDING[1], RECORDING[2]]
        assert back.analysis_warnings == [SCORING[0], *SCORING[1:]]
        _insert(engine, sid, "analysis")
        with pytest.raises(sa.exc.IntegrityError):
            _insert(engine, sid, "bogus")

        downgrade(engine, "0004")
        assert [(k, t) for k, t in _kinds(engine, sid)][:len(before)] == before
        with pytest.raises(sa.exc.IntegrityError):
            _insert(engine, sid, "analysis")
    finally:
        engine.dispose()
