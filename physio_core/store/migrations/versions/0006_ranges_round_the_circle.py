"""Recompute the stored ranges of motion round the circle, and note the angles with gaps.

A session stores the range of every angle (``performance_metrics.extra["rom_deg"]``), which
Progress and the session comparison read. It was the plain 1st..99th percentile span, so a planar
shoulder angle that passes its wrap (an arm held behind the back reads -89 and then 270) stored
a range of up to 359 deg for a movement of a few. This revision recomputes, from every ended
session's stored angle series, the ranges of the angles that passed a wrap as
``physio_core.kinematics.robust_range`` does (the span on the circle; the others are left as
stored) and stores ``rom_gaps``: the angles measured in fewer than 95 % of the frames with a
person (``kinematics.FULLY_MEASURED``), which Progress ranks last. Downgrade writes the plain
spans of those angles back and drops ``rom_gaps``. Sessions are converted one at a time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

Self-contained like 0001: no imports from the app (the unpacking and the range are written out
here, as the app computed them at this revision).
"""

from __future__ import annotations

import base64
import logging
import time
import zlib

import numpy as np
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

DECIMALS = 2  # the stored ranges' (physio_core.store.codec.ANGLE_DECIMALS)
FULLY_MEASURED = 0.95
CUTS = (-90.0, 0.0, 90.0, 180.0)
# an angle whose span on the circle is smaller than on the line passed a wrap (without one the
# two are the same numbers, up to floating point)
WRAPPED_DEG = 1e-6

log = logging.getLogger("alembic.runtime.migration")

_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
metrics = sa.table("performance_metrics", sa.column("id", sa.Integer), sa.column("session_id", sa.Integer),
                   sa.column("extra", _json))
sensor_data = sa.table("sensor_data", sa.column("session_id", sa.Integer), sa.column("kind", sa.String),
                       sa.column("seq", sa.Integer), sa.column("payload", _json))


def _unpack(value) -> np.ndarray:
    if isinstance(value, dict):  # payload version 2 (0003)
        dtype = np.dtype(value["dtype"])
        ints = np.frombuffer(zlib.decompress(base64.b64decode(value["zlib"])), dtype)
        out = ints / 10.0 ** value["decimals"]
        out[ints == np.iinfo(dtype).min] = np.nan
        return out.reshape(value["shape"])
    return np.array(value, dtype=np.float64)  # version 1 lists, None -> NaN


def _span(v: np.ndarray, circle: bool) -> float:
    if not circle:
        lo, hi = np.percentile(v, [1.0, 99.0])
        return float(hi - lo)
    return float(min(np.subtract(*np.percentile((v - c) % 360.0, [99.0, 1.0])) for c in CUTS))


def _ranges(doc: dict, stored: dict[str, float], circle: bool) -> tuple[dict[str, float], list[str]]:
    """The stored ranges with those of the angles that pass a wrap replaced by their span on the
    circle (``circle``) or on the line (downgrade); the others are left as stored (the series is
    rounded, so a span recomputed from it can differ in the last decimal). And the angles with gaps."""
    names = list(doc["meta"]["names"])
    values = _unpack(doc["series"]["values"]).reshape(-1, len(names))
    finite = np.isfinite(values)
    person = finite.any(axis=1)
    rom, gaps = dict(stored), []
    for i, name in enumerate(names):
        col = values[finite[:, i], i]
        if name in rom and col.size >= 2:
            line, round_ = _span(col, False), _span(col, True)
            if line - round_ > WRAPPED_DEG:
                rom[name] = round(round_ if circle else line, DECIMALS)
        share = finite[person, i].mean() if person.any() else 0.0
        if 0 < share < FULLY_MEASURED:
            gaps.append(name)
    return rom, gaps


def _convert(circle: bool) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(metrics.c.id, metrics.c.session_id).order_by(metrics.c.id)).all()
    started = last_report = time.monotonic()
    for done, (row_id, session_id) in enumerate(rows):
        if time.monotonic() - last_report > 10:
            log.info("recomputed the ranges of %d of %d sessions (%.0f s)", done, len(rows), time.monotonic() - started)
            last_report = time.monotonic()
        extra = bind.execute(sa.select(metrics.c.extra).where(metrics.c.id == row_id)).scalar_one()
        if not isinstance(extra, dict) or not isinstance(extra.get("rom_deg"), dict):
            continue
        docs = bind.execute(sa.select(sensor_data.c.payload).where(
            sensor_data.c.session_id == session_id, sensor_data.c.kind == "angles")).scalars().all()
        if len(docs) != 1:  # no series, or a live session's chunks (its ranges come when it ends)
            continue
        rom, gaps = _ranges(docs[0], extra["rom_deg"], circle)
        new = {k: v for k, v in extra.items() if k != "rom_gaps"}
        new["rom_deg"] = rom
        if circle and gaps:
            new["rom_gaps"] = gaps
        if new != extra:
            bind.execute(metrics.update().where(metrics.c.id == row_id).values(extra=new))


def upgrade() -> None:
    _convert(circle=True)


def downgrade() -> None:
    _convert(circle=False)
