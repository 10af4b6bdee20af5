"""Sessions brought in from another PhysioTrack: an athlete's archive (the progress page's
**All data (ZIP)**, ``physio_core.archive``) or one session's **Full session (JSON)**.

    contents = read_archive(zip_bytes)          # or read_upload(data, name): a ZIP or one JSON
    report = import_sessions(engine, contents.sessions, athlete_id, viewer_id=me, targets=contents.targets,
                             programme=contents.programme)

A video session comes back from its JSON: its 3D skeleton (canonical, metres), the exercise it
was analysed as, its times, notes, the recording's warnings and the trainers' lines. Its reps,
angles, verdicts, scores and corrections are made again from that skeleton by the installed
models (as **Score again** does): the archive's own verdicts are those of the other clinic's
weights. A wrist-sensor set comes back from its raw series (CSV) and is analysed again as the
lift it was filed under. A session already there (same start and source for the athlete) is
left alone, so an import that stopped half-way (a dropped database) can simply be run again.

From the command line (the database of DATABASE_URL, else the app's SQLite file):

    python -m physio_core.imports FILE [FILE ...] [--athlete NAME]

imports each archive (.zip) or session (.json) for the athlete it names (or NAME), found by name
or created. Exit 2 for a file that is not an export (nothing of it stored), 5 when the database
cannot be reached.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.engine import Engine

from physio_core import felt as felt_scale
from physio_core.programme import DAY_NAMES
from physio_core.results import SessionResult, on_clock
from physio_core.skeleton import JOINT_NAMES, PoseSequence

if TYPE_CHECKING:
    from physio_core.store.access import AthleteProfileOut, MorningPainOut

SESSION_FORMAT = "physiotrack-session"
# an archive whose files would unpack to more than this is refused before anything is read
MAX_UNPACKED_BYTES = 4 * 1024**3


class ImportFormatError(ValueError):
    """The file is not something PhysioTrack exported, or it is damaged; the message says which."""


@dataclass
class ImportedSession:
    """One session read from an export, not stored yet."""

    label: str  # how the import report names it: "session #12 (2026-11-03 09:30, deep squat)"
    started_at: datetime | None
    source: str
    exercise: str  # what it was analysed as ("auto": recognised by the models)
    notes: str = ""
    felt: tuple[int | None, int | None] = (None, None)  # pain, effort (physio_core.felt)
    backend: str = ""
    pose: PoseSequence | None = None  # a video session's skeleton
    warnings: list[str] = field(default_factory=list)  # the recording's, kept
    trainer_lines: list[tuple[str, int | None, str | None]] = field(default_factory=list)  # text, rep, written
    imu: Any | None = None  # a wrist-sensor set's ImuSeries
    lift: str | None = None  # the lift the set was filed under
    # where it comes from: the file, its id and athlete there, the weights that judged it there,
    # and its own import record when it had been imported there too ("earlier")
    origin: dict[str, Any] = field(default_factory=dict)
    # an archive's video session is read from its JSON when it is imported, not before: a long
    # session's JSON is tens of MB, and the archive may hold hundreds
    loader: Callable[[], ImportedSession] | None = field(default=None, repr=False)

    def loaded(self) -> ImportedSession:
        """This session with its skeleton read (raises ImportFormatError for a damaged one)."""
        if self.loader is None:
            return self
        s = self.loader()
        s.label = self.label
        s.origin = {**s.origin, **self.origin}  # the archive's file name and row
        return s

    def analyse(self) -> SessionResult:
        """A video session's analysis, made again from its skeleton by the installed models."""
        from physio_core.pipeline import score_again

        if self.pose is None or int(self.pose.valid.sum()) < 2:
            raise ValueError("nobody is in its skeleton")
        return score_again(self.pose.at_measured_rate(), self.exercise, backend=self.backend or "imported",
                           source=self.source, started_at=self.started_at, warnings=self.warnings)


@dataclass(frozen=True)
class ImportedTarget:
    angle: str
    exercise: str  # "" = any exercise
    target_deg: float


@dataclass(frozen=True)
class ImportedProgrammeItem:
    exercise: str
    sessions_per_week: int
    reps_per_set: int | None
    note: str
    started_at: datetime
    ended_at: datetime | None  # None: in the programme now
    sets_per_session: int | None = None  # older archives have none
    days: tuple[int, ...] = ()  # nor these: the days of the week it is planned on (0 Monday)


@dataclass
class ArchiveContents:
    athlete: str | None  # whose archive it is, as it says
    sessions: list[ImportedSession]
    skipped: list[str] = field(default_factory=list)  # what holds no data to import, and why
    targets: list[ImportedTarget] = field(default_factory=list)  # the range-of-motion targets
    programme: list[ImportedProgrammeItem] = field(default_factory=list)  # current and ended items
    profile: AthleteProfileOut | None = None  # what the staff said of the athlete; None: not in the archive
    morning: list[MorningPainOut] = field(default_factory=list)  # the pain of the mornings after

    @property
    def holds_more(self) -> bool:
        """Whether it holds more than sessions: targets, a programme, the condition, mornings' pain."""
        return bool(self.targets or self.programme or (self.profile is not None and self.profile.said)
                    or self.morning)


@dataclass
class ImportReport:
    imported: list[int] = field(default_factory=list)  # the new sessions' ids
    already: list[str] = field(default_factory=list)  # labels of sessions the athlete has already
    failed: list[str] = field(default_factory=list)  # "label: reason"
    targets: int = 0  # range-of-motion targets set
    programme: int = 0  # programme items added
    profile: list[str] = field(default_factory=list)  # what of the athlete's profile was set here, in words
    morning: int = 0  # mornings' pain added

    @property
    def set_more(self) -> bool:
        return bool(self.targets or self.programme or self.profile or self.morning)

    def summary(self) -> str:
        parts = [f"{len(self.imported)} session{'s' * (len(self.imported) != 1)} imported"]
        if not (self.imported or self.already or self.failed) and self.set_more:
            parts = []  # an archive of an athlete without a session yet: say only what it held
        if self.targets:
            parts.append(f"{self.targets} range-of-motion target{'s' * (self.targets != 1)} set")
        if self.programme:
            parts.append(f"{self.programme} programme item{'s' * (self.programme != 1)} added")
        if self.profile:
            parts.append(" and ".join(self.profile) + " set")
        if self.morning:
            parts.append(f"the pain of {self.morning} morning{'s' * (self.morning != 1)} after added")
        if self.already:
            parts.append(f"{len(self.already)} already there, left alone")
        if self.failed:
            parts.append(f"{len(self.failed)} could not be imported")
        return "; ".join(parts) + "."


def _when(text: str | None) -> datetime | None:
    if not text or not isinstance(text, str):
        return None
    try:
        return on_clock(datetime.fromisoformat(text), UTC)
    except ValueError:
        return None


def _time_said(value: Any, where: str) -> datetime | None:
    """A time an export wrote (ISO 8601); None where it says none. One it cannot read is refused:
    the time is how a session is known again (an import run twice stores it once)."""
    if value in (None, ""):
        return None
    if (t := _when(value)) is None:
        raise ImportFormatError(f"{where} is not a time such as 2026-11-03T09:30:00+00:00: {value!r}")
    return t


def _times_in_order(times: np.ndarray, name: str) -> None:
    """A skeleton's frame times: every one a number, none before the one ahead of it, not all the same."""
    missing = np.flatnonzero(~np.isfinite(times))
    if missing.size:
        raise ImportFormatError(f"{name}: pose_time_s[{missing[0]}] is not a time ({times[missing[0]]}; "
                                f"{missing.size} of the {len(times)} are not)")
    back = np.flatnonzero(np.diff(times) < 0)
    if back.size:
        i = int(back[0]) + 1
        raise ImportFormatError(f"{name}: pose_time_s goes back at [{i}] ({times[i]:g} s after {times[i - 1]:g} s); "
                                "a session's frame times increase")
    if not times[-1] > times[0]:
        raise ImportFormatError(f"{name}: pose_time_s does not increase (every frame at {times[0]:g} s)")


def _label(sid: Any, started: datetime | None, exercise: Any) -> str:
    when = f"{started:%Y-%m-%d %H:%M}, " if started else ""
    return f"session #{sid} ({when}{str(exercise).replace('_', ' ')})"


def _array(series: dict, key: str, name: str) -> np.ndarray:
    if key not in series:
        raise ImportFormatError(f"{name}: its series has no {key!r}")
    try:
        return np.asarray(series[key], dtype=np.float64)  # JSON null -> NaN
    except (TypeError, ValueError) as exc:
        raise ImportFormatError(f"{name}: {key!r} is not an array of numbers ({exc})") from None


def read_session_json(data: bytes, name: str = "session.json") -> ImportedSession:
    """A **Full session (JSON)** export (``exports.json_bytes``) as a session to import."""
    return _session_from_doc(_json_doc(data, name), name)


def _json_doc(data: bytes, name: str) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFormatError(f"{name} is not JSON ({exc})") from None


def _session_from_doc(doc: Any, name: str) -> ImportedSession:
    if not isinstance(doc, dict) or doc.get("format") != SESSION_FORMAT:
        raise ImportFormatError(f"{name} is not a PhysioTrack session: the session page's "
                                "'Full session (JSON)' download is")
    series = doc.get("series")
    if not isinstance(series, dict):
        raise ImportFormatError(f"{name} holds no series (the summary JSON has none; the "
                                "'Full session (JSON)' download has them)")
    if series.get("joint_names") != list(JOINT_NAMES):
        raise ImportFormatError(f"{name}: its skeleton's joints are not PhysioTrack's "
                                f"({series.get('joint_names')})")
    joints = _array(series, "joints_m", name)
    conf = _array(series, "confidence", name)
    times = _array(series, "pose_time_s", name)
    n, k = len(times), len(JOINT_NAMES)
    if joints.shape != (n, k, 3) or conf.shape != (n, k) or n < 2:
        raise ImportFormatError(f"{name}: the skeleton's arrays do not fit together (joints "
                                f"{joints.shape}, confidence {conf.shape}, {n} times)")
    _times_in_order(times, name)
    fps = doc.get("fps")
    fps = float(fps) if isinstance(fps, (int, float)) and fps > 0 else 30.0
    pose = PoseSequence(joints, np.nan_to_num(conf), times, fps)
    meta = doc.get("session")
    if meta is None:  # an analysis that was never saved has no session
        meta = {}
    elif not isinstance(meta, dict):
        raise ImportFormatError(f"{name}: its 'session' is not an object ({type(meta).__name__})")
    started = _time_said(meta.get("started_at") or doc.get("started_at"), f"{name}: started_at")
    exercise = str(doc.get("exercise") or meta.get("exercise") or "auto")
    items = [f for f in doc.get("feedback_items") or [] if isinstance(f, dict)]
    origin = {"file": name, "session_id": meta.get("id"), "athlete": meta.get("athlete"),
              "judged_by": doc.get("models") if isinstance(doc.get("models"), str) else None,
              "earlier": meta.get("imported") if isinstance(meta.get("imported"), dict) else None}
    return ImportedSession(
        label=_label(meta.get("id", "?"), started, meta.get("exercise") or exercise),
        started_at=started,
        source=str(meta.get("source") or doc.get("source") or ""),
        exercise=exercise,
        notes=str(meta.get("notes") or ""),
        felt=_felt(meta.get("pain"), meta.get("effort")),
        backend=str(doc.get("backend") or ""),
        pose=pose,
        warnings=[str(f["text"]) for f in items if f.get("kind") == "warning" and f.get("text")],
        trainer_lines=_trainer_lines(items),
        origin=origin,
    )


def _felt(pain: Any, effort: Any) -> tuple[int | None, int | None]:
    """Pain and effort as an export wrote them (JSON numbers, or a CSV's text; missing in exports
    made before 2026-12-06): a whole number 0..10 each, else None (not asked)."""
    def one(v: Any) -> int | None:
        try:
            n = int(str(v).strip()) if v not in (None, "") and not isinstance(v, bool) else None
        except ValueError:
            return None
        return n if n is not None and n in felt_scale.SCALE else None
    return one(pain), one(effort)


def _trainer_lines(items: Any) -> list[tuple[str, int | None, str | None]]:
    """The trainers' lines of an export's ``feedback_items``: (text, rep, when written)."""
    return [(str(f["text"]), f.get("rep_index"), f.get("created_at"))
            for f in items or [] if isinstance(f, dict) and f.get("kind") == "trainer" and f.get("text")]


_ATHLETE = re.compile(r"^PhysioTrack: everything stored about (.+), as of ")


def read_archive(data: bytes, name: str = "archive.zip") -> ArchiveContents:
    """An athlete's archive (``archive.athlete_archive``, named ``name``): every session that holds
    data, oldest first; a session it cannot read is refused with its reason, not skipped in silence."""
    from physio_core.imu.io import ImuFormatError, read_imu_csv

    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImportFormatError("the file is not a ZIP archive") from None
    with z:
        names = set(z.namelist())
        if "sessions.csv" not in names:
            raise ImportFormatError("the ZIP file is not a PhysioTrack athlete archive (it has no sessions.csv)")
        if sum(i.file_size for i in z.infolist()) > MAX_UNPACKED_BYTES:
            raise ImportFormatError(f"the archive unpacks to more than {MAX_UNPACKED_BYTES / 1024**3:.0f} GB")
        readme = _read(z, "README.txt").decode("utf-8", "replace") if "README.txt" in names else ""
        m = _ATHLETE.match(readme)
        rows = _table(_read(z, "sessions.csv"), "sessions.csv", needs=("id",))
        out = ArchiveContents(m[1] if m else None, [])
        if "targets.csv" in names:  # archives made before 2026-12-05 have none
            out.targets = _targets(_read(z, "targets.csv"))
        if "programme.csv" in names:  # archives made before 2026-12-06 have none
            out.programme = _programme(_read(z, "programme.csv"))
        if "athlete.csv" in names:  # older archives have none
            out.profile = _profile(_read(z, "athlete.csv"))
        if "morning_pain.csv" in names:  # nor this
            out.morning = _morning(_read(z, "morning_pain.csv"))
        for line, row in rows:
            sid = (row.get("id") or "").strip()
            if not sid:
                raise ImportFormatError(f"sessions.csv, line {line}: the id is empty")
            started = _time_said(row.get("started_at_utc"), f"sessions.csv, line {line}: started_at_utc")
            label = _label(sid, started, row.get("exercise") or "auto")
            folder = f"session_{sid}/"
            origin = {"file": name, "session_id": int(sid) if str(sid).isdigit() else sid, "athlete": out.athlete}
            if f"{folder}{sid}.json" in names:
                out.sessions.append(ImportedSession(
                    label=label, started_at=started, source=row.get("source") or "",
                    exercise=row.get("exercise") or "auto", notes=row.get("notes") or "",
                    felt=_felt(row.get("pain"), row.get("effort")),
                    loader=_json_loader(data, f"{folder}{sid}.json"), origin=origin))
            elif f"{folder}{sid}_imu.csv" in names:
                try:
                    series = read_imu_csv(_read(z, f"{folder}{sid}_imu.csv"), f"{sid}_imu.csv")
                except ImuFormatError as exc:
                    raise ImportFormatError(f"{label}: {exc}") from None
                try:
                    analysis = (json.loads(_read(z, f"{folder}{sid}_imu.json"))
                                if f"{folder}{sid}_imu.json" in names else {})
                except ValueError as exc:
                    raise ImportFormatError(f"{label}: its analysis is not JSON ({exc})") from None
                meta = analysis.get("session") if isinstance(analysis, dict) else None
                if not isinstance(analysis, dict) or not isinstance(meta, (dict, type(None))):
                    raise ImportFormatError(f"{label}: its analysis ({sid}_imu.json) is not a PhysioTrack "
                                            "sensor set's")
                meta = meta or {}  # archives made before 2026-12-05 have none
                out.sessions.append(ImportedSession(
                    label=label, started_at=_time_said(meta.get("started_at"), f"{sid}_imu.json: started_at")
                    or started,
                    source=row.get("source") or "", exercise=row.get("exercise") or "auto",
                    notes=row.get("notes") or "", felt=_felt(row.get("pain"), row.get("effort")),
                    imu=series, lift=analysis.get("lift"),
                    trainer_lines=_trainer_lines(analysis.get("feedback_items")),
                    origin={**origin, "earlier": meta.get("imported") if isinstance(meta.get("imported"), dict)
                            else None}))
            else:
                out.skipped.append(f"{label}: no recorded data (created, never recorded)")
    out.sessions.sort(key=lambda s: s.started_at or datetime.min.replace(tzinfo=UTC))
    return out


def _table(data: bytes, member: str, needs: Sequence[str] = ()) -> list[tuple[int, dict[str, str]]]:
    """One of an archive's tables, as (line, row) with the columns named in lower case: UTF-8 (a
    BOM is fine), separated by ',' or, as a spreadsheet may save it again, ';' or tabs. A table
    that does not read, has a column twice, or has rows but not a column of ``needs`` is refused."""
    from physio_core.imu.io import column_separator

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ImportFormatError(f"{member} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                                "save it as CSV UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=column_separator(data))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        rows = [(reader.line_num, cells) for cells in reader if any(c.strip() for c in cells)]
    except csv.Error as exc:
        raise ImportFormatError(f"{member}, line {reader.line_num}: does not read as a table ({exc})") from None
    if twice := sorted({h for h in header if h and header.count(h) > 1}):
        raise ImportFormatError(f"{member} has the column {twice[0]} twice")
    for line, cells in rows:
        if len(cells) > len(header):  # an unquoted decimal comma, or a cell split in two
            raise ImportFormatError(f"{member}, line {line}: {len(cells)} cells under {len(header)} columns")
    if rows and (missing := [c for c in needs if c not in header]):
        raise ImportFormatError(f"{member} has no column {', '.join(missing)} (its columns: {', '.join(header)})")
    return [(line, dict(zip(header, cells))) for line, cells in rows]


def _cell(row: dict[str, str], column: str, where: str, read: Callable[[str], Any] = str, what: str = "",
          *, needed: bool = False) -> Any:
    """``row``'s ``column`` as ``read`` makes it; None where it is empty (refused when ``needed``),
    refused as not ``what`` where ``read`` cannot make it."""
    text = (row.get(column) or "").strip()
    if not text:
        if needed:
            raise ImportFormatError(f"{where}: {column} is empty")
        return None
    try:
        return read(text)
    except ValueError:
        raise ImportFormatError(f"{where}: {column} is not {what}: {text!r}") from None


def _number(text: str) -> float:
    v = float(text.replace(",", "."))  # a decimal comma, as a spreadsheet may write it
    if not np.isfinite(v):
        raise ValueError(text)
    return v


def _targets(data: bytes) -> list[ImportedTarget]:
    out = []
    for line, row in _table(data, "targets.csv", needs=("angle", "target_deg")):
        where = f"targets.csv, line {line}"
        out.append(ImportedTarget(_cell(row, "angle", where, needed=True), (row.get("exercise") or "").strip(),
                                  _cell(row, "target_deg", where, _number, "a number", needed=True)))
    return out


def _day_numbers(text: str) -> tuple[int, ...]:
    names = [d.lower() for d in DAY_NAMES]
    return tuple(names.index(d.lower()) for d in text.split())  # ValueError: a day it does not name


def _programme(data: bytes) -> list[ImportedProgrammeItem]:
    out = []
    for line, row in _table(data, "programme.csv", needs=("exercise", "sessions_per_week", "started_at_utc")):
        where = f"programme.csv, line {line}"
        started = _time_said(row.get("started_at_utc"), f"{where}: started_at_utc")
        if started is None:
            raise ImportFormatError(f"{where}: started_at_utc is empty")
        out.append(ImportedProgrammeItem(
            _cell(row, "exercise", where, needed=True),
            _cell(row, "sessions_per_week", where, int, "a whole number", needed=True),
            _cell(row, "reps_per_set", where, int, "a whole number"), row.get("note") or "", started,
            _time_said(row.get("ended_at_utc"), f"{where}: ended_at_utc"),
            _cell(row, "sets_per_session", where, int, "a whole number"),
            _cell(row, "days", where, _day_numbers, f"days of the week ({' '.join(DAY_NAMES)})") or ()))
    return out


def _profile(data: bytes) -> AthleteProfileOut:
    from physio_core.store.access import AthleteProfileOut

    rows = _table(data, "athlete.csv")
    row = rows[0][1] if rows else {}
    side = (row.get("affected_side") or "").strip().lower() or None
    if side not in (None, "left", "right"):
        raise ImportFormatError(f"athlete.csv: the affected side is left, right or empty, not {side!r}")
    try:
        since = date.fromisoformat(row["since"].strip()) if (row.get("since") or "").strip() else None
    except ValueError:
        raise ImportFormatError(f"athlete.csv: since is a day (YYYY-MM-DD) or empty, not {row['since']!r}") from None
    return AthleteProfileOut(side, " ".join((row.get("condition") or "").split()), since)


def _morning(data: bytes) -> list[MorningPainOut]:
    from physio_core.store.access import MorningPainOut

    out = []
    for line, row in _table(data, "morning_pain.csv", needs=("day", "pain")):
        where = f"morning_pain.csv, line {line}"
        out.append(MorningPainOut(_cell(row, "day", where, date.fromisoformat, "a day (YYYY-MM-DD)", needed=True),
                                  _cell(row, "pain", where, int, "a whole number (0-10)", needed=True)))
    return out


def _read(z: zipfile.ZipFile, name: str) -> bytes:
    """A member of the archive; one that is damaged, encrypted or packed by a method this Python
    cannot unpack (Deflate64) is refused, named."""
    try:
        return z.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError) as exc:  # RuntimeError: also NotImplementedError
        raise ImportFormatError(f"{name} cannot be read from the archive ({exc})") from None


def _json_loader(archive: bytes, name: str) -> Callable[[], ImportedSession]:
    def load() -> ImportedSession:
        with zipfile.ZipFile(io.BytesIO(archive)) as z:
            return read_session_json(_read(z, name), name)
    return load


def read_upload(data: bytes, name: str) -> ArchiveContents:
    """What the import box was given: an athlete's archive (.zip) or one session's JSON."""
    if name.lower().endswith(".json"):
        doc = _json_doc(data, name)
        s = _session_from_doc(doc, name)
        return ArchiveContents((doc.get("session") or {}).get("athlete"), [s])
    return read_archive(data, name)


def _key(started: datetime | None, source: str) -> tuple[str, str]:
    if started is None:
        return ("", source)
    return (on_clock(started, UTC).strftime("%Y-%m-%d %H:%M:%S"), source)


def origin_record(origin: dict[str, Any], by: str | None, now: datetime | None = None) -> dict[str, Any]:
    """What an imported session keeps of where it came from (``SessionRow.imported``): when it
    was imported and by whom (None: the command line), the file, the session's id and athlete
    there, the weights that judged it there, and its import record there, if it had one."""
    return {"imported_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"), "by": by,
            "file": origin.get("file"), "session_id": origin.get("session_id"),
            "athlete": origin.get("athlete"), "judged_by": origin.get("judged_by"),
            "earlier": origin.get("earlier")}


def origin_sentence(record: dict[str, Any], *, sensor_set: bool = False,
                    when: Callable[[datetime], str] = lambda t: f"{t:%Y-%m-%d %H:%M} UTC") -> str:
    """An imported session's origin in words, for its page and its report ("Imported on …");
    ``when`` writes a time (the viewer's clock on the page)."""
    def at(rec: dict[str, Any]) -> str:
        t = _when(rec.get("imported_at"))
        return f" on {when(t)}" if t else ""

    where = f" from {record['file']}" if record.get("file") else ""
    sid, athlete = record.get("session_id"), record.get("athlete")
    of = f" of {athlete}" if athlete else ""
    there = f"session #{sid}{of}" if sid is not None else (f"a session{of}" if of else "")
    text = (f"Imported{at(record)}{' by ' + record['by'] if record.get('by') else ''}{where}"
            + (f" ({there} there)" if there else "") + ". ")
    if sensor_set:
        text += "Its lift, reps and stability were made again here from its raw sensor series"
    else:
        text += ("Its reps, verdicts, scores and corrections were made again here from its skeleton, "
                 "by the models installed then")
        if record.get("judged_by"):
            text += f"; there, weights {record['judged_by']} had judged it"
    text += "."
    if isinstance(earlier := record.get("earlier"), dict):
        text += (f" It had come there from another PhysioTrack too{at(earlier)}"
                 + (f", from {earlier['file']}" if earlier.get("file") else "") + ".")
    return text


def _import_programme(engine: Engine, items: Sequence[ImportedProgrammeItem], athlete_id: int,
                      viewer_id: int | None, report: ImportReport) -> None:
    """The archive's programme items, with their own dates; left alone: one the athlete has
    already (same exercise and start), and a current one where the athlete has a current item
    of that exercise here (the programme here stands)."""
    from physio_core.store import access

    here = access.programme(engine, athlete_id, viewer_id=viewer_id)
    have = {(it.exercise, it.started_at) for it in here}
    current = {it.exercise for it in here if it.ended_at is None}
    for it in items:
        if (it.exercise, it.started_at) in have or (it.ended_at is None and it.exercise in current):
            continue
        try:  # an archive made before 2026-12-07 may ask up to 14 sessions a week: a week counts 7
            access.set_programme_item(engine, viewer_id, athlete_id, it.exercise, min(it.sessions_per_week, 7),
                                      it.reps_per_set, it.note, started_at=it.started_at, ended_at=it.ended_at,
                                      sets_per_session=it.sets_per_session, days=it.days)
        except ValueError as exc:
            report.failed.append(f"the programme's {it.exercise}: {exc}")
            continue
        report.programme += 1


def _import_profile(engine: Engine, profile: AthleteProfileOut, athlete_id: int, viewer_id: int | None,
                    report: ImportReport) -> None:
    from physio_core.store import access

    here = access.athlete_profile(engine, athlete_id, viewer_id=viewer_id)
    if profile.affected_side and here.affected_side is None:
        access.set_affected_side(engine, viewer_id, athlete_id, profile.affected_side)
        report.profile.append(f"the affected side ({profile.affected_side})")
    if (profile.condition or profile.since) and not (here.condition or here.since):
        try:
            access.set_condition(engine, viewer_id, athlete_id, profile.condition, profile.since)
        except ValueError as exc:
            report.failed.append(f"the condition: {exc}")
        else:
            report.profile.append("the condition")


def _import_morning(engine: Engine, morning: Sequence[MorningPainOut], athlete_id: int, viewer_id: int | None,
                    report: ImportReport) -> None:
    """The mornings' pain of days the athlete has none for here."""
    from physio_core.store import access

    have = {m.day for m in access.morning_pain(engine, athlete_id, viewer_id=viewer_id)}
    for m in morning:
        if m.day in have:
            continue
        try:
            access.set_morning_pain(engine, viewer_id, athlete_id, m.day, m.pain)
        except ValueError as exc:
            report.failed.append(f"the pain of the morning of {m.day:%Y-%m-%d}: {exc}")
            continue
        report.morning += 1


def import_sessions(engine: Engine, sessions: Sequence[ImportedSession], athlete_id: int, *,
                    viewer_id: int | None = None, targets: Sequence[ImportedTarget] = (),
                    programme: Sequence[ImportedProgrammeItem] = (), profile: AthleteProfileOut | None = None,
                    morning: Sequence[MorningPainOut] = (),
                    progress: Callable[[int, int, str], None] | None = None) -> ImportReport:
    """Store ``sessions`` for ``athlete_id``, each analysed again, one by one (each its own
    transaction); as ``viewer_id`` (who must be staff allowed to record for the athlete; None:
    a trusted caller, the command line). The trainers' lines come back as trainer feedback,
    said to be imported and when they were written. A session the athlete already has (same
    start and source) is left alone, as is a target the athlete has for the same angle and
    exercise (``targets``: the archive's), and of the athlete's ``profile`` the affected side
    where the athlete has none here, the condition and its day where neither is said here, and
    the pain of the mornings (``morning``) the athlete has said none for here. A
    database that goes away raises ``StorageUnavailable`` after the sessions stored so far;
    running the import again stores the rest."""
    from physio_core.imu.analyze import analyze_imu
    from physio_core.imu.io import LABELS
    from physio_core.store import StorageUnavailable, access, codec, repo

    by = repo.get_user(engine, viewer_id) if viewer_id is not None else None
    n = repo.count_sessions(engine, athlete_id=athlete_id)
    have = {_key(r.started_at, r.source) for r in repo.list_sessions(engine, athlete_id=athlete_id, limit=max(1, n))}
    report = ImportReport()
    if targets:
        have_targets = {(t.angle, t.exercise) for t in access.rom_targets(engine, athlete_id, viewer_id=viewer_id)}
        for t in targets:
            if (t.angle, t.exercise) in have_targets:
                continue
            try:
                access.set_rom_target(engine, viewer_id, athlete_id, t.angle, t.target_deg, t.exercise)
            except ValueError as exc:
                report.failed.append(f"the {t.angle} target: {exc}")
                continue
            report.targets += 1
    if programme:
        _import_programme(engine, programme, athlete_id, viewer_id, report)
    if profile is not None and profile.said:
        _import_profile(engine, profile, athlete_id, viewer_id, report)
    if morning:
        _import_morning(engine, morning, athlete_id, viewer_id, report)
    for k, s in enumerate(sessions):
        if progress is not None:
            progress(k, len(sessions), s.label)
        if _key(s.started_at, s.source) in have:
            report.already.append(s.label)
            continue
        try:
            s = s.loaded()
            # the trainers' lines are stored with their session, in its transaction: a database
            # that drops between the two cannot leave a session without them, which a second run
            # would then skip as already there
            lines = [(f"(imported; written {written[:10]}) {text}" if written else f"(imported) {text}",
                      rep if isinstance(rep, int) else None) for text, rep, written in s.trainer_lines]
            provenance = {codec.KIND_IMPORTED: origin_record(s.origin, by.display_name if by else None)}
            if s.imu is not None:
                result = analyze_imu(s.imu, lift=s.lift if s.lift in LABELS else None)
                if viewer_id is None:
                    sid = repo.save_imu_session(engine, s.imu, result, athlete_id, source=s.source,
                                                started_at=s.started_at, notes=s.notes, trainer_lines=lines,
                                                extra_data=provenance, felt=s.felt)
                else:
                    sid = access.save_imu_as(engine, viewer_id, s.imu, result, athlete_id, source=s.source,
                                             started_at=s.started_at, notes=s.notes, trainer_lines=lines,
                                             extra_data=provenance, felt=s.felt)
            else:
                result = s.analyse()
                if viewer_id is None:
                    sid = repo.save_session_result(engine, result, athlete_id, notes=s.notes, trainer_lines=lines,
                                                   extra_data=provenance, felt=s.felt)
                else:
                    sid = access.save_result_as(engine, viewer_id, result, athlete_id, notes=s.notes,
                                                trainer_lines=lines, extra_data=provenance, felt=s.felt)
        except StorageUnavailable:
            raise  # the sessions stored so far stay; the next run stores the rest
        except (ValueError, RuntimeError) as exc:  # a damaged series, a skeleton nobody is in
            report.failed.append(f"{s.label}: {exc}")
            continue
        report.imported.append(sid)
        have.add(_key(s.started_at, s.source))
    return report


EXIT_FORMAT, EXIT_STORAGE = 2, 5


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m physio_core.imports",
                                 description="Import athletes' archives or sessions from another PhysioTrack.")
    ap.add_argument("files", nargs="+", type=Path, help="an archive (.zip) or a session's JSON (.json)")
    ap.add_argument("--athlete", default=None, help="the athlete to file them under (default: as each file names them)")
    args = ap.parse_args(argv)
    from sqlalchemy.exc import SQLAlchemyError

    from physio_core.store import StorageUnavailable, get_or_create_athlete, init_db

    contents = []
    for f in args.files:
        try:
            contents.append(read_upload(f.read_bytes(), f.name))
        except (OSError, ImportFormatError) as exc:
            print(f"error: {f}: {exc}", file=sys.stderr)
            return EXIT_FORMAT
        if not (args.athlete or contents[-1].athlete):
            print(f"error: {f} does not name its athlete: give --athlete NAME", file=sys.stderr)
            return EXIT_FORMAT
    try:
        engine = init_db()
        for f, c in zip(args.files, contents):
            athlete = get_or_create_athlete(engine, args.athlete or c.athlete)
            report = import_sessions(engine, c.sessions, athlete.id, targets=c.targets, programme=c.programme,
                                     profile=c.profile, morning=c.morning,
                                     progress=lambda k, n, label: print(f"  {label} ({k + 1} of {n})", flush=True))
            print(f"{f}: {athlete.display_name} (#{athlete.id}): {report.summary()}")
            for line in [*c.skipped, *report.failed]:
                print(f"  not imported: {line}")
    except (StorageUnavailable, SQLAlchemyError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_STORAGE
    return 0


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
