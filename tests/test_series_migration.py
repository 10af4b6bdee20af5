"""Migration 0003 (packed pose and angle series) down and up on a database full of sessions."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import sqlalchemy as sa

from physio_core.results import AngleSeries
from physio_core.store import codec
from physio_core.store import (
    append_live_data,
    current_revision,
    downgrade,
    get_or_create_athlete,
    get_session_detail,
    make_engine,
    save_session_result,
    start_session,
    upgrade,
)


def _payloads(engine) -> dict[tuple[int, str, int], dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, kind, seq FROM sensor_data ORDER BY id")).all()
        table = sa.table("sensor_data", sa.column("id"), sa.column("payload", sa.JSON))
        return {(i, kind, seq): conn.execute(sa.select(table.c.payload).where(table.c.id == i)).scalar_one()
                for i, kind, seq in rows}


def _decoded(engine, sid: int) -> dict[str, np.ndarray]:
    """``_arrays`` of a session decoded by this code's codec straight from its sensor_data rows."""
    table = sa.table("sensor_data", sa.column("session_id"), sa.column("kind"), sa.column("payload", sa.JSON))
    with engine.connect() as conn:
        docs = dict(conn.execute(sa.select(table.c.kind, table.c.payload).where(table.c.session_id == sid)).all())
    return _arrays(SimpleNamespace(pose=codec.decode_pose(docs["pose3d"]), angles=codec.decode_angles(docs["angles"]),
                                   corrected_poses=codec.decode_corrected(docs["corrected_pose"])))


def _arrays(detail) -> dict[str, np.ndarray]:
    out = {f"pose.{a}": getattr(detail.pose, a) for a in ("joints", "confidence", "times", "root")}
    out["angles"] = np.asarray(detail.angles.values)
    for k, p in detail.corrected_poses.items():
        out[f"corrected.{k}"] = p.joints
    return out


def test_stored_series_unpack_on_downgrade_and_pack_again_on_upgrade(db_url, make_uiprmd_session_result):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        assert current_revision(engine) == "0012"
        athlete = get_or_create_athlete(engine, "Ana")
        result = make_uiprmd_session_result(episodes=(1,))
        joints = result.pose.joints.copy()
        joints[20:23] = np.nan  # the athlete out of view for three frames
        pose = dataclasses.replace(result.pose, joints=joints)
        result = dataclasses.replace(result, pose=pose, corrected_poses={0: pose.slice(10, 40),
                                                                         3: pose.slice(50, 70)})
        saved = save_session_result(engine, result, athlete.id)
        live = start_session(engine, athlete.id, None, "auto", backend="embedded", fps=result.fps)
        for lo, hi in ((0, 30), (30, len(pose))):  # a live session's chunks are converted one by one
            angles = AngleSeries(result.angles.names, result.angles.values[lo:hi], result.angles.times[lo:hi])
            append_live_data(engine, live, pose=result.pose.slice(lo, hi), angles=angles)
        packed = _payloads(engine)
        kinds = {kind for _, kind, _ in packed}
        assert {"pose3d", "angles", "reps", "corrected_pose"} <= kinds
        before = {sid: _arrays(get_session_detail(engine, sid)) for sid in (saved,)}
        live_before = get_session_detail(engine, live)

        downgrade(engine, "0002")
        lists = _payloads(engine)
        assert lists.keys() == packed.keys()
        for key, doc in lists.items():
            if key[1] in ("pose3d", "angles", "corrected_pose"):
                assert doc["v"] == 1 and all(isinstance(v, list) for v in doc["series"].values()), key
            else:
                assert doc == packed[key]  # other kinds are left as they were
        joints = lists[next(k for k in lists if k[1] == "pose3d")]["series"]["joints"]
        assert len(joints[0]) == 57 and any(v is None for row in joints for v in row)  # NaN as null
        # this code still reads what the first layout wrote, to the same values (read from the
        # rows as 0002 holds them: this code's models have columns that 0002 has not)
        after_down = _decoded(engine, saved)
        assert after_down.keys() == before[saved].keys()
        for name, a in before[saved].items():
            np.testing.assert_array_equal(after_down[name], a, err_msg=name)

        upgrade(engine)
        assert _payloads(engine) == packed  # packed again, byte for byte what the app wrote
        np.testing.assert_array_equal(get_session_detail(engine, live).pose.joints, live_before.pose.joints)
        assert len(live_before.pose) == len(pose) and np.isnan(live_before.pose.joints[21]).all()
    finally:
        engine.dispose()
