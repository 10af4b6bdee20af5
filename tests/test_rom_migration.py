"""Migration 0006: the stored ranges of motion are recomputed round the circle, and the angles
measured in only part of the frames are noted (``rom_gaps``), from each ended session's stored
angle series; downgrade writes the plain spans back."""

from __future__ import annotations

import json

import numpy as np
import sqlalchemy as sa

from physio_core import pipeline, store
from physio_core.store import codec


def _extra(engine, sid: int) -> dict:
    with engine.connect() as conn:
        extra = conn.execute(sa.text("SELECT extra FROM performance_metrics WHERE session_id = :s"),
                             {"s": sid}).scalar_one()
    return extra if isinstance(extra, dict) else json.loads(extra)


def _set_extra(engine, sid: int, extra: dict) -> None:
    from physio_core.store.models import PerformanceMetrics

    with engine.begin() as conn:
        conn.execute(sa.update(PerformanceMetrics.__table__).where(
            PerformanceMetrics.__table__.c.session_id == sid).values(extra=extra))


def _plain_spans(angles) -> dict[str, float]:
    """The ranges as the code before 0006 stored them: 1st..99th percentile, on the line."""
    out = {}
    for name in angles.names:
        v = angles[name][np.isfinite(angles[name])]
        if v.size >= 2:
            out[name] = round(float(np.percentile(v, 99) - np.percentile(v, 1)), codec.ANGLE_DECIMALS)
    return out


def test_stored_ranges_go_round_the_circle_and_back(db_url):
    from conftest import uiprmd_set

    engine = store.make_engine(db_url)
    try:
        # stored by this code, at head, then the database taken back to 0005 (this code's models
        # have columns 0005 has not)
        store.upgrade(engine)
        athlete = store.get_or_create_athlete(engine, "Ana")
        # real hurdle steps with the arms held behind (shoulder flexion passes its wrap) and a
        # sideways arm raise (shoulder flexion undefined mid-rep)
        sids = {}
        for movement, correct in (("hurdle_step", False), ("standing_shoulder_abduction", True)):
            seq, _, _ = uiprmd_set([(movement, 5, correct)] * 3, rng=3)
            res = pipeline.finish_sequence(seq, backend="uiprmd-kinect", exercise=movement, source="t",
                                           smooth=False, assess=False)
            sids[movement] = store.save_session_result(engine, res, athlete.id)
        angles_of = {sid: store.get_session_detail(engine, sid).to_result().angles for sid in sids.values()}
        store.downgrade(engine, "0005")
        # as the code before 0006 stored them
        before = {}
        for movement, sid in sids.items():
            angles = angles_of[sid]
            extra = {k: v for k, v in _extra(engine, sid).items() if k != "rom_gaps"}
            extra["rom_deg"] = _plain_spans(angles)
            _set_extra(engine, sid, extra)
            before[movement] = (extra, angles)
        assert before["hurdle_step"][0]["rom_deg"]["shoulder_flexion_l"] > 300

        store.upgrade(engine)
        assert store.current_revision(engine) == "0012"
        for movement, sid in sids.items():
            old, angles = before[movement]
            new = _extra(engine, sid)
            assert new["rom_deg"] == codec.angle_ranges(angles)  # as the app stores a session now
            assert sorted(new.get("rom_gaps", [])) == sorted(codec.angle_gaps(angles))
            assert {k: v for k, v in new.items() if k not in ("rom_deg", "rom_gaps")} == \
                {k: v for k, v in old.items() if k != "rom_deg"}  # nothing else touched
        assert _extra(engine, sids["hurdle_step"])["rom_deg"]["shoulder_flexion_l"] < 120
        assert "shoulder_flexion_r" in _extra(engine, sids["standing_shoulder_abduction"])["rom_gaps"]

        store.downgrade(engine, "0005")
        for movement, sid in sids.items():
            assert _extra(engine, sid) == before[movement][0]
    finally:
        engine.dispose()
