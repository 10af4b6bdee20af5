"""Wrist-IMU readers: MetaMotion file pairs and a generic CSV -> one uniform ``ImuSeries``.

Generic CSV format (one file per set, header row required, comma separated)::

    time_s,acc_x,acc_y,acc_z[,gyr_x,gyr_y,gyr_z]

``time_s`` in seconds (increasing), ``acc_*`` in g (gravity included), ``gyr_*`` in deg/s.
The three gyroscope columns are optional but come all together.

MetaMotion (MetaWear app export): one set is a pair of files that share the part of the name
before ``_Accelerometer_`` / ``_Gyroscope_``::

    P-LIFT-CATEGORY[extra]_MetaWear_TIMESTAMP_DEVICE_Accelerometer_12.500Hz_1.4.4.csv
    P-LIFT-CATEGORY[extra]_MetaWear_TIMESTAMP_DEVICE_Gyroscope_25.000Hz_1.4.4.csv

with columns ``epoch (ms), time (01:00), elapsed (s), x-axis (g), y-axis (g), z-axis (g)``
(gyroscope: ``x-axis (deg/s)`` ...). The two sensors run at different rates and start a few
hundred ms apart; both are put on one uniform grid (25 Hz by default) over the span they share,
by linear interpolation on the epoch clock.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

DEFAULT_RATE_HZ = 25.0
LIFTS = ("bench", "squat", "dead", "ohp", "row")
LABELS = (*LIFTS, "rest")
# reps per set by the recording protocol of the MetaMotion data set
PROTOCOL_REPS = {"heavy": 5, "medium": 10, "standing": 0, "sitting": 0}

GENERIC_TIME = "time_s"
GENERIC_ACC = ("acc_x", "acc_y", "acc_z")
GENERIC_GYR = ("gyr_x", "gyr_y", "gyr_z")
MM_ACC = ("x-axis (g)", "y-axis (g)", "z-axis (g)")
MM_GYR = ("x-axis (deg/s)", "y-axis (deg/s)", "z-axis (deg/s)")
MM_EPOCH = "epoch (ms)"

PAYLOAD_FORMAT = "physiotrack.imu.v1"
# one set of a wrist sensor is a few hundred kB; anything far larger is the wrong file
MAX_CSV_BYTES = 64 * 2**20
IMU_BACKEND = "wrist-imu"  # a stored session's backend when it holds an IMU set, not a pose


class ImuFormatError(ValueError):
    """A sensor file that cannot be read; the message says what was expected, for the user."""


@dataclass
class ImuSeries:
    """A wrist-IMU recording on one time base.

    times: (T,) seconds from the start; acc: (T, 3) in g, gravity included;
    gyr: (T, 3) in deg/s, or None when the source had no gyroscope.
    """

    times: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.times = np.asarray(self.times, dtype=float)
        self.acc = np.asarray(self.acc, dtype=float)
        if self.gyr is not None:
            self.gyr = np.asarray(self.gyr, dtype=float)
        n = len(self.times)
        if self.acc.shape != (n, 3):
            raise ValueError(f"acc must be ({n}, 3), got {self.acc.shape}")
        if self.gyr is not None and self.gyr.shape != (n, 3):
            raise ValueError(f"gyr must be ({n}, 3), got {self.gyr.shape}")

    def __len__(self) -> int:
        return len(self.times)

    @property
    def duration_s(self) -> float:
        return float(self.times[-1] - self.times[0]) if len(self.times) > 1 else 0.0

    @property
    def rate_hz(self) -> float:
        """Median sampling rate."""
        if len(self.times) < 2:
            return 0.0
        return float(1.0 / np.median(np.diff(self.times)))

    def resample(self, rate_hz: float = DEFAULT_RATE_HZ) -> ImuSeries:
        """Linear interpolation onto a uniform grid starting at the first sample."""
        n = int(np.floor(self.duration_s * rate_hz + 1e-9)) + 1
        grid = self.times[0] + np.arange(n) / rate_hz
        acc = _interp_columns(grid, self.times, self.acc)
        gyr = None if self.gyr is None else _interp_columns(grid, self.times, self.gyr)
        return ImuSeries(grid - grid[0], acc, gyr, {**self.meta, "rate_hz": rate_hz})

    def to_json_payload(self, decimals: int = 4) -> dict[str, Any]:
        """A JSON-able dict of the raw series for the sensor_data table (kind "imu").

        Same layout as the store's codec: ``{"v": 1, "meta": {...}, "series": {...}}`` with
        ``series`` holding ``times`` (s), ``acc`` (rows of 3, g) and, when present, ``gyr``
        (rows of 3, deg/s); chunks of one recording concatenate series by series.
        """

        def rows(a: np.ndarray) -> list[list[float]]:
            return np.round(a, decimals).tolist()

        series: dict[str, list] = {"times": np.round(self.times, 6).tolist(), "acc": rows(self.acc)}
        if self.gyr is not None:
            series["gyr"] = rows(self.gyr)
        meta = {k: _jsonable(v) for k, v in self.meta.items() if k not in ("rate_hz", "start_epoch_s")}
        meta.update(format=PAYLOAD_FORMAT, units={"time": "s", "acc": "g", "gyr": "deg/s"})
        return {"v": 1, "meta": meta, "series": series}

    @classmethod
    def from_json_payload(cls, payload: dict[str, Any]) -> ImuSeries:
        meta = dict(payload.get("meta") or {})
        if meta.get("format") != PAYLOAD_FORMAT or "series" not in payload:
            raise ImuFormatError(
                f"not an IMU payload: meta.format is {meta.get('format')!r}, expected {PAYLOAD_FORMAT!r}"
            )
        s = payload["series"]
        gyr = s.get("gyr")
        meta.pop("format")
        meta.pop("units", None)
        return cls(
            np.asarray(s["times"], dtype=float),
            np.asarray(s["acc"], dtype=float).reshape(-1, 3),
            None if gyr is None else np.asarray(gyr, dtype=float).reshape(-1, 3),
            meta,
        )


def _jsonable(v: Any) -> Any:
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def _interp_columns(grid: np.ndarray, t: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.stack([np.interp(grid, t, values[:, k]) for k in range(values.shape[1])], axis=1)


# ---------------------------------------------------------------------------------- generic CSV

def _expected_generic() -> str:
    return (
        f"expected columns {', '.join((GENERIC_TIME, *GENERIC_ACC))} (acceleration in g) and "
        f"optionally {', '.join(GENERIC_GYR)} (deg/s)"
    )


def column_separator(data: bytes) -> str:
    """The column separator named by the header line: ``,``, else ``;`` (spreadsheets in much of
    Europe, which also write ``,`` as the decimal mark) or a tab."""
    head = data[:4096].split(b"\n", 1)[0]
    for sep in (b",", b";", b"\t"):
        if sep in head:
            return sep.decode()
    return ","


def read_imu_csv(source: str | Path | IO[str] | IO[bytes] | bytes, name: str = "") -> ImuSeries:
    """Read a sensor CSV: the generic format, or a single MetaMotion accelerometer export.

    ``source`` is a path, an open file, or the raw bytes of an upload. Columns may be separated
    by ``,``, ``;`` or tabs, and numbers may use a decimal comma.
    Raises ImuFormatError naming the expected columns when the file does not fit.
    """
    if isinstance(source, (str, Path)):
        name = name or Path(source).name
        data = Path(source).read_bytes()
    elif isinstance(source, bytes):
        data = source
    else:
        raw = source.read()
        data = raw.encode() if isinstance(raw, str) else raw
    try:
        df = pd.read_csv(io.BytesIO(data), sep=column_separator(data))
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise ImuFormatError(f"{name or 'file'}: not a readable CSV ({exc}); {_expected_generic()}")
    df.columns = [str(c).strip() for c in df.columns]
    cols = set(df.columns)
    if {MM_EPOCH, *MM_ACC} <= cols:  # a MetaMotion accelerometer file on its own
        t = _numeric(df, [MM_EPOCH], name)[:, 0]
        meta = {"source": name, "format": "metamotion", "start_epoch_s": float(t.min()) / 1000.0}
        return _finish((t - t.min()) / 1000.0, _numeric(df, list(MM_ACC), name), None, meta)
    missing = [c for c in (GENERIC_TIME, *GENERIC_ACC) if c not in cols]
    if missing:
        raise ImuFormatError(
            f"{name or 'file'}: missing column(s) {', '.join(missing)}; {_expected_generic()}; "
            f"found {', '.join(df.columns) or 'no columns'}"
        )
    gyr_present = [c for c in GENERIC_GYR if c in cols]
    if gyr_present and len(gyr_present) != 3:
        raise ImuFormatError(
            f"{name or 'file'}: gyroscope columns must come as all of {', '.join(GENERIC_GYR)}, "
            f"found only {', '.join(gyr_present)}"
        )
    t = _numeric(df, [GENERIC_TIME], name)[:, 0]
    acc = _numeric(df, list(GENERIC_ACC), name)
    gyr = _numeric(df, list(GENERIC_GYR), name) if gyr_present else None
    return _finish(t, acc, gyr, {"source": name, "format": "generic"})


def write_imu_csv(series: ImuSeries, path: str | Path) -> None:
    """Write the generic CSV format (what read_imu_csv reads back as the same numbers).

    Every number is written as Python writes a float: the shortest text that reads back as it.
    A stored series (times kept to the microsecond, the values to 4 decimals) comes out as
    stored, where six significant digits made 10000.02 s of a long recording 10000 s (rows read
    back as repeats and dropped) and 1234.5678 deg/s 1234.57."""
    data = {GENERIC_TIME: series.times}
    for k, c in enumerate(GENERIC_ACC):
        data[c] = series.acc[:, k]
    if series.gyr is not None:
        for k, c in enumerate(GENERIC_GYR):
            data[c] = series.gyr[:, k]
    pd.DataFrame(data).to_csv(path, index=False)


def _number(column: pd.Series) -> pd.Series:
    if not pd.api.types.is_numeric_dtype(column):  # text: maybe a decimal comma ("0,981")
        column = column.astype(str).str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(column, errors="coerce")


def _numeric(df: pd.DataFrame, cols: list[str], name: str) -> np.ndarray:
    values = df[cols].apply(_number).to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ImuFormatError(
            f"{name or 'file'}: column {cols[col]} has a non-numeric or empty value at data row "
            f"{row + 1} ({int(bad.sum())} bad value(s) in all)"
        )
    return values


# rows out of time order by less than this are put in order (a sensor's packets can come late); a
# bigger step back is two recordings in one file, whose samples sorted together would interleave
MAX_STEP_BACK_S = 0.5


def _step_back(t: np.ndarray, most: float) -> tuple[int, float] | None:
    """(data row, size) of the first step back in time larger than ``most``, or None. A file
    written newest first is read in its own order: its steps forward are the ones that count."""
    d = np.diff(t)
    if len(d) and np.median(d) < 0:
        d = -d
    back = np.flatnonzero(d < -most)
    return None if not back.size else (int(back[0]) + 2, float(-d[back[0]]))


def _refuse_step_back(name: str, column: str, back: tuple[int, float], seconds_per_unit: float) -> None:
    row, size = back
    raise ImuFormatError(
        f"{name}: {column} goes back {size * seconds_per_unit:.2f} s at data row {row}; are two recordings "
        "in one file? A set is one recording, its time increasing"
    )


def _finish(
    t: np.ndarray, acc: np.ndarray, gyr: np.ndarray | None, meta: dict[str, Any]
) -> ImuSeries:
    name = meta.get("source") or "file"
    if len(t) < 2:
        raise ImuFormatError(f"{name}: needs at least 2 samples, found {len(t)}")
    back = _step_back(t, MAX_STEP_BACK_S)
    order = np.argsort(t, kind="stable")
    t, acc = t[order], acc[order]
    gyr = None if gyr is None else gyr[order]
    keep = np.concatenate([[True], np.diff(t) > 0])  # drop repeated timestamps
    if keep.sum() < 2:
        raise ImuFormatError(f"{name}: time column does not increase")
    t, acc = t[keep], acc[keep]
    gyr = None if gyr is None else gyr[keep]
    rate = 1.0 / float(np.median(np.diff(t)))
    if rate < 1.0:
        raise ImuFormatError(
            f"{name}: samples are {1 / rate:g} time units apart; time_s must be in seconds "
            "(milliseconds? divide by 1000)"
        )
    g = float(np.median(np.linalg.norm(acc, axis=1)))
    if g > 4.0:
        raise ImuFormatError(
            f"{name}: the acceleration's typical size is {g:.2f}; acc_x, acc_y, acc_z must be in g "
            "(m/s^2? divide by 9.81)"
        )
    if back is not None:  # after the unit checks: in milliseconds every jitter is a big step
        _refuse_step_back(name, GENERIC_TIME if meta.get("format") == "generic" else "time", back, 1.0)
    return ImuSeries(t - t[0], acc, gyr, meta)


# ------------------------------------------------------------------------------------ MetaMotion

def _read_mm_sensor(source: Path | bytes, name: str, value_cols: tuple[str, ...]
                    ) -> tuple[np.ndarray, np.ndarray]:
    data = source if isinstance(source, bytes) else source.read_bytes()
    try:
        df = pd.read_csv(io.BytesIO(data), sep=column_separator(data))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImuFormatError(f"{name}: not a readable CSV ({exc})")
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in (MM_EPOCH, *value_cols) if c not in df.columns]
    if missing:
        raise ImuFormatError(
            f"{name}: missing MetaMotion column(s) {', '.join(missing)}; expected "
            f"{MM_EPOCH}, {', '.join(value_cols)}"
        )
    t = _numeric(df, [MM_EPOCH], name)[:, 0]  # ms, kept whole so that differences stay exact
    v = _numeric(df, list(value_cols), name)
    if (back := _step_back(t, 1000.0 * MAX_STEP_BACK_S)) is not None:
        _refuse_step_back(name, MM_EPOCH, back, 0.001)
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    keep = np.concatenate([[True], np.diff(t) > 0])
    if keep.sum() < 2:
        raise ImuFormatError(f"{name}: needs at least 2 samples with increasing {MM_EPOCH}")
    return t[keep], v[keep]


def _source(source: str | Path | bytes, name: str, default: str) -> tuple[Path | bytes, str]:
    """A file given as a path or as uploaded bytes, and the name messages call it."""
    if isinstance(source, bytes):
        return source, name or default
    return Path(source), name or Path(source).name


def read_metamotion(
    acc: str | Path | bytes, gyr: str | Path | bytes | None = None, rate_hz: float = DEFAULT_RATE_HZ,
    *, acc_name: str = "", gyr_name: str = "",
) -> ImuSeries:
    """One MetaMotion set (accelerometer file, optional gyroscope file) on a uniform grid.

    Each file is a path or the raw bytes of an upload (then ``acc_name`` / ``gyr_name`` name it
    in messages)."""
    acc, acc_name = _source(acc, acc_name, "accelerometer file")
    ta, acc_raw = _read_mm_sensor(acc, acc_name, MM_ACC)
    meta: dict[str, Any] = {"source": acc_name, "format": "metamotion", "rate_hz": rate_hz}
    if gyr is None:
        t0, t1 = ta[0], ta[-1]
    else:
        gyr, gyr_name = _source(gyr, gyr_name, "gyroscope file")
        tg, gyr_raw = _read_mm_sensor(gyr, gyr_name, MM_GYR)
        t0, t1 = max(ta[0], tg[0]), min(ta[-1], tg[-1])
        if (t1 - t0) / 1000.0 < 1.0 / rate_hz:
            raise ImuFormatError(
                f"{acc_name} and {gyr_name} do not overlap in time; are they one set?"
            )
    grid = np.arange(int(np.floor((t1 - t0) / 1000.0 * rate_hz + 1e-9)) + 1) / rate_hz
    gyr_grid = None if gyr is None else _interp_columns(grid, (tg - t0) / 1000.0, gyr_raw)
    meta["start_epoch_s"] = float(t0) / 1000.0
    return ImuSeries(grid, _interp_columns(grid, (ta - t0) / 1000.0, acc_raw), gyr_grid, meta)


def _mm_kind(data: bytes) -> str:
    """"acc" or "gyr" for a MetaMotion export (by its header), "?" for anything else."""
    first = data[:4096].split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    header = {c.strip().strip('"') for c in first.split(column_separator(data))}
    return "acc" if set(MM_ACC) <= header else "gyr" if set(MM_GYR) <= header else "?"


def read_upload(files: list[tuple[str, bytes]]) -> ImuSeries:
    """The sensor files of one set as a user uploads them: one generic CSV, one MetaMotion
    accelerometer export, or a MetaMotion accelerometer + gyroscope pair (in any order).
    Raises ImuFormatError saying what was expected."""
    if not files:
        raise ImuFormatError("no file: upload a sensor CSV")
    too_big = [n for n, d in files if len(d) > MAX_CSV_BYTES]
    if too_big:
        raise ImuFormatError(f"{too_big[0]} is larger than {MAX_CSV_BYTES // 2**20} MB; "
                             "one set of a wrist sensor is far smaller: is it the right file?")
    if len(files) > 2:
        raise ImuFormatError(f"{len(files)} files: upload one set at a time (one CSV, or a "
                             "MetaMotion accelerometer file with its gyroscope file)")
    kinds = [_mm_kind(d) for _, d in files]
    if len(files) == 1:
        name, data = files[0]
        if kinds[0] == "gyr":
            raise ImuFormatError(f"{name} is a MetaMotion gyroscope file: upload its accelerometer "
                                 "file with it (or alone)")
        return read_imu_csv(data, name)
    if sorted(kinds) != ["acc", "gyr"]:
        raise ImuFormatError(
            "two files must be a MetaMotion pair, one accelerometer export (columns "
            f"{MM_EPOCH}, {', '.join(MM_ACC)}) and one gyroscope export ({MM_EPOCH}, "
            f"{', '.join(MM_GYR)}); found {' and '.join(n for n, _ in files)}")
    (acc_name, acc), (gyr_name, gyr) = files if kinds[0] == "acc" else files[::-1]
    return read_metamotion(acc, gyr, acc_name=acc_name, gyr_name=gyr_name)


_MM_NAME = re.compile(
    r"^(?P<participant>[A-Za-z])-(?P<lift>[a-z]+)-(?P<category>heavy|medium|standing|sitting)"
    r"(?P<extra>[^_]*)_MetaWear_(?P<stamp>[^_]+)_(?P<device>[^_]+)_"
    r"(?P<sensor>Accelerometer|Gyroscope)_(?P<rate>[\d.]+)Hz_(?P<version>.+)\.csv$"
)


@dataclass(frozen=True)
class ImuSet:
    """One MetaMotion set (a file pair) with the labels its file name carries."""

    participant: str
    lift: str  # bench, squat, dead, ohp, row or rest
    category: str  # heavy / medium for lifts, standing / sitting for rest
    label: str  # the set's name as written, e.g. "A-bench-heavy2-rpe8"
    expected_reps: int  # by the protocol: heavy 5, medium 10, rest 0
    acc_path: Path
    gyr_path: Path | None
    recorded: str  # the TIMESTAMP field of the name
    set_number: int | None = None
    rpe: int | None = None

    @property
    def name(self) -> str:
        """Unique id of the set within its folder (the accelerometer file's stem)."""
        return self.acc_path.stem

    def load(self, rate_hz: float = DEFAULT_RATE_HZ) -> ImuSeries:
        series = read_metamotion(self.acc_path, self.gyr_path, rate_hz)
        series.meta.update(
            participant=self.participant, lift=self.lift, category=self.category,
            label=self.label, expected_reps=self.expected_reps,
        )
        return series


def recording_name(path: str | Path) -> str:
    """What a recording is called in the pages and the sessions list: a MetaMotion export's name
    up to "_MetaWear" (participant-lift-category), else the file's name without its extension."""
    stem = Path(path).stem
    return stem.split("_MetaWear_")[0] or stem


def parse_set_name(path: str | Path) -> dict[str, Any] | None:
    """Fields of a MetaMotion file name, or None when the name does not follow the pattern."""
    m = _MM_NAME.match(Path(path).name)
    if not m:
        return None
    d = m.groupdict()
    extra = d["extra"]
    num = re.match(r"^(\d+)", extra)
    rpe = re.search(r"rpe(\d+)", extra)
    d["set_number"] = int(num.group(1)) if num else None
    d["rpe"] = int(rpe.group(1)) if rpe else None
    d["label"] = f"{d['participant']}-{d['lift']}-{d['category']}{extra}"
    return d


def _content_hash(acc_path: Path) -> str:
    # the numbers, not the text: copies of a recording differ in the epoch column and in how
    # the floats are written ("0.010" vs "0.01")
    try:
        df = pd.read_csv(acc_path, usecols=list(MM_ACC))
    except ValueError as exc:  # pandas' parser errors, and columns missing
        reason = " ".join(str(exc).split())  # pandas' messages can end in a newline
        raise ImuFormatError(
            f"{acc_path.name}: not a MetaMotion accelerometer export ({reason}); expected "
            f"{MM_EPOCH}, {', '.join(MM_ACC)}"
        ) from exc
    values = _numeric(df, list(MM_ACC), acc_path.name)  # text or a gap among the numbers: as the loader says it
    return hashlib.sha1(np.round(values * 1000).astype(np.int64).tobytes()).hexdigest()


def list_sets(directory: str | Path, *, dedupe: bool = True) -> list[ImuSet]:
    """Every MetaMotion set in a folder, sorted by participant, lift and recording time.

    With ``dedupe`` (default) a recording stored more than once is kept once: in the
    MetaMotion copy we ship against, ``*_1.4.41.csv`` files repeat ``*_1.4.4.csv`` ones with the
    clock moved by a day, and 17 "E" sets carry exactly the same samples as "A" sets. The first
    copy in name order (A before E, 1.4.4 before 1.4.41) is kept.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"IMU data folder not found: {directory}")
    accs: dict[str, Path] = {}
    gyrs: dict[str, Path] = {}
    fields: dict[str, dict[str, Any]] = {}
    for p in sorted(directory.glob("*.csv")):
        d = parse_set_name(p)
        if d is None:
            continue
        key = p.name.replace("_" + d["sensor"] + "_" + d["rate"] + "Hz_", "_")
        (accs if d["sensor"] == "Accelerometer" else gyrs)[key] = p
        fields.setdefault(key, d)
    sets: list[ImuSet] = []
    for key, acc_path in accs.items():
        d = fields[key]
        lift = d["lift"]
        if lift not in LABELS:
            continue
        sets.append(
            ImuSet(
                participant=d["participant"].upper(), lift=lift, category=d["category"],
                label=d["label"], expected_reps=0 if lift == "rest" else PROTOCOL_REPS[d["category"]],
                acc_path=acc_path, gyr_path=gyrs.get(key), recorded=d["stamp"],
                set_number=d["set_number"], rpe=d["rpe"],
            )
        )
    sets.sort(key=lambda s: (s.participant, s.lift, s.recorded, s.label, s.acc_path.name))
    if not dedupe:
        return sets
    seen: set[str] = set()
    unique: list[ImuSet] = []
    for s in sets:
        h = _content_hash(s.acc_path)
        if h not in seen:
            seen.add(h)
            unique.append(s)
    return unique
