"""Pack the stored pose and angle series (payload layout version 1 -> 2).

Version 1 held every per-frame series of ``sensor_data.payload`` as JSON lists; parsing them was
most of the time of opening a long session. Version 2 holds the pose, corrected-pose and angle
series as rounded integers, zlib-compressed and base64-encoded (see ``physio_core/store/codec.py``).
The values do not change: version 1 had already rounded them to the same units. Downgrade writes
the lists back. Rows are converted one at a time, so a large database needs no more memory than
its longest session.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Self-contained like 0001: no imports from the app (the packing is written out here).
"""

from __future__ import annotations

import base64
import logging
import time
import zlib

import numpy as np
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_POSE = {"times": 4, "joints": 3, "confidence": 3, "root": 3, "keypoints_2d": 1, "rep": 0}
DECIMALS = {"pose3d": _POSE, "corrected_pose": _POSE, "angles": {"times": 4, "values": 2}}

log = logging.getLogger("alembic.runtime.migration")  # shown by the alembic command line

sensor_data = sa.table(
    "sensor_data", sa.column("id", sa.Integer), sa.column("kind", sa.String), sa.column("payload", sa.JSON)
)


def _pack(values: list, decimals: int) -> dict:
    a = np.array(values, dtype=np.float64)  # None -> NaN
    finite = np.isfinite(a)
    q = np.rint(np.where(finite, a, 0.0) * 10.0**decimals)
    dtype = "<i4" if np.abs(q).max(initial=0.0) < 2**31 - 1 else "<i8"
    ints = q.astype(dtype)
    ints[~finite] = np.iinfo(dtype).min
    return {"decimals": decimals, "dtype": dtype, "shape": list(ints.shape),
            "zlib": base64.b64encode(zlib.compress(ints.tobytes(), 1)).decode("ascii")}


def _unpack(packed: dict) -> list:
    dtype = np.dtype(packed["dtype"])
    ints = np.frombuffer(zlib.decompress(base64.b64decode(packed["zlib"])), dtype)
    out = (ints / 10.0 ** packed["decimals"]).astype(object)
    out[ints == np.iinfo(dtype).min] = None
    return out.reshape(packed["shape"]).tolist()


def _convert(from_version: int, to_version: int, convert) -> None:
    bind = op.get_bind()
    ids = bind.execute(
        sa.select(sensor_data.c.id).where(sensor_data.c.kind.in_(list(DECIMALS))).order_by(sensor_data.c.id)
    ).scalars().all()
    started = last_report = time.monotonic()
    for done, row_id in enumerate(ids):
        if time.monotonic() - last_report > 10:
            log.info("converted %d of %d series rows (%.0f s)", done, len(ids), time.monotonic() - started)
            last_report = time.monotonic()
        kind, doc = bind.execute(
            sa.select(sensor_data.c.kind, sensor_data.c.payload).where(sensor_data.c.id == row_id)
        ).one()
        if doc.get("v") != from_version:
            continue
        series = {k: convert(v, DECIMALS[kind][k]) if k in DECIMALS[kind] else v for k, v in doc["series"].items()}
        bind.execute(
            sensor_data.update().where(sensor_data.c.id == row_id).values(
                payload={**doc, "v": to_version, "series": series})
        )


def upgrade() -> None:
    _convert(1, 2, _pack)


def downgrade() -> None:
    _convert(2, 1, lambda packed, _decimals: _unpack(packed))
