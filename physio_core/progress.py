"""An athlete's progress over sessions: the data and the Plotly figures of the progress page.

    data = load_progress(engine, athlete_id, viewer_id=me, flt=ProgressFilter(start, end, ("deep_squat",)))
    st.plotly_chart(rom_figure(data.rows, ["knee_angle_r"], data.targets))

Everything reads the summaries stored with each ended session (``repo.progress_for_athlete``):
no series are decoded, so the page stays fast with hundreds of sessions.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from sqlalchemy.engine import Engine

from physio_core.ml.weights import (RECORDED_SINCE, UNRECORDED, judging_weights, older_rules_said,
                                    other_rules_only, read_judged_by, rules_said)
from physio_core import felt
from physio_core.correction_cue import opposite_focus
from physio_core.keyposes import KeyPoses
from physio_core.kinematics import outside_regions
from physio_core.report import LEGEND_BELOW, pretty_angle, pretty_exercise, signed_change
from physio_core.programme import recent_share
from physio_core.reps import ONE_SIDED, trained_regions_of
from physio_core.results import SessionResult
from physio_core.store.access import (AthleteProfileOut, MorningPainOut, ProgrammeItemOut, RomTargetOut,
                                     athlete_profile, athlete_profiles, athletes_for, morning_pain, morning_pains,
                                     programme, programmes, rom_targets)
from physio_core.store.repo import ProgressRow, progress_for_athlete, progress_for_athletes

PALETTE = px.colors.qualitative.Plotly
SCORES = (("correct_share", "Correct reps"), ("stability_score", "Stability"), ("balance_score", "Balance"),
          ("injury_risk", "Injury risk"))
# left/right asymmetry above this share of the mean range is worth a look (a common clinical cut-off)
ASYMMETRY_FLAG_PCT = 10.0
# The angle families whose two sides correct reps move alike, well inside that band: in UI-PRMD's
# correct squats and sit-to-stands the knee's and the hip flexion's symmetry index is 1.5-3.4 %
# (median; 90th percentile 4-7 %), every other angle's 10-80 %, the ankle's and the axial
# rotations' among them (scripts/experiments/symmetry_noise.py). The asymmetry chart draws these
# and the angle the reps were counted on: the others cross the band in correct reps.
SIDES_AGREE = ("knee_angle", "hip_flexion")


@dataclass(frozen=True)
class ProgressFilter:
    start: date | None = None  # inclusive, by the session's date on the rows' clock (load_progress's tz)
    end: date | None = None  # inclusive
    exercises: tuple[str, ...] = ()  # empty: every exercise


@dataclass
class ProgressData:
    athlete_id: int
    rows: list[ProgressRow]  # the sessions that pass the filter, oldest first
    exercises: list[str]  # every exercise of the athlete (for the filter's choices)
    first_date: date | None  # of all the athlete's sessions (for the date inputs' bounds)
    last_date: date | None
    targets: list[RomTargetOut] = field(default_factory=list)
    programme: list[ProgrammeItemOut] = field(default_factory=list)  # current and ended (physio_core.programme)
    profile: AthleteProfileOut = field(default_factory=AthleteProfileOut)  # what the staff said of the athlete
    morning: list[MorningPainOut] = field(default_factory=list)  # the pain the mornings after, every day said

    @property
    def affected_side(self) -> str | None:
        """"left" / "right": the injured side, compared against the other; None: not said."""
        return self.profile.affected_side


def _day(d: datetime) -> date:
    """The day of a row's date, on the clock the rows were read for (``load_progress``'s tz)."""
    return d.date()


def filter_rows(rows: Sequence[ProgressRow], flt: ProgressFilter) -> list[ProgressRow]:
    out = []
    for r in rows:
        if flt.start and _day(r.date) < flt.start:
            continue
        if flt.end and _day(r.date) > flt.end:
            continue
        if flt.exercises and r.exercise not in flt.exercises:
            continue
        out.append(r)
    return out


def on_viewers_clock(rows: Sequence[ProgressRow], tz: tzinfo) -> list[ProgressRow]:
    """``rows`` with their dates on the clock of ``tz`` (the viewer's): the day a session falls on,
    and so its week, depends on it."""
    return [dataclasses.replace(r, date=r.date.astimezone(tz)) for r in rows]


def load_progress(
    engine: Engine, athlete_id: int, *, viewer_id: int | None = None, flt: ProgressFilter | None = None,
    tz: tzinfo = UTC,
) -> ProgressData:
    """The athlete's ended sessions (filtered) and ROM targets; raises AccessDenied when
    ``viewer_id`` may not see the athlete. Dates are on the clock of ``tz`` (the viewer's):
    the day a session falls on, and so its week, depends on it."""
    rows = on_viewers_clock(progress_for_athlete(engine, athlete_id, viewer_id=viewer_id), tz)
    targets = rom_targets(engine, athlete_id, viewer_id=viewer_id)
    return ProgressData(
        athlete_id=athlete_id,
        rows=filter_rows(rows, flt or ProgressFilter()),
        exercises=sorted({r.exercise for r in rows}),
        first_date=_day(rows[0].date) if rows else None,
        last_date=_day(rows[-1].date) if rows else None,
        targets=targets,
        programme=programme(engine, athlete_id, viewer_id=viewer_id),
        profile=athlete_profile(engine, athlete_id, viewer_id=viewer_id),
        morning=morning_pain(engine, athlete_id, viewer_id=viewer_id),
    )


# ------------------------------------------------------------------ the athlete's condition

def _since_span(days: int) -> str:
    """Days for the first two weeks, weeks for the first year (how rehabilitation counts), then months."""
    days = abs(days)
    if days < 14:
        return f"{days} day{'s' * (days != 1)}"
    return f"{days // 7} weeks" if days < 365 else f"{days / 30.44:.0f} months"


def condition_words(profile: AthleteProfileOut, today: date) -> str | None:
    """The condition and how long ago it began, for Progress and the printable report: "ACL
    reconstruction, left knee, on 2026-09-14: 11 weeks ago." None when nothing is said."""
    if profile.since is None:
        return f"{profile.condition}." if profile.condition else None
    what = profile.condition or "Injury or operation"
    days = (today - profile.since).days
    return f"{what}, on {profile.since:%Y-%m-%d}: " + (f"{_since_span(days)} ago." if days > 0 else "today.")


def session_since_words(profile: AthleteProfileOut, day: date) -> str | None:
    """Where a session of ``day`` stands against the injury or operation: "11 weeks after ACL
    reconstruction, left knee (2026-09-14)"; "3 days before …" for one before it. None when
    the day is not said."""
    if profile.since is None:
        return None
    days = (day - profile.since).days
    what = f"{profile.condition or 'the injury or operation'} ({profile.since:%Y-%m-%d})"
    if days == 0:
        return f"the day of {what}"
    return f"{_since_span(days)} {'after' if days > 0 else 'before'} {what}"


# ------------------------------------------------------------------ where the page opens

# A break longer than this between two of an athlete's sessions (a season off; sets imported from
# sensor files recorded years before) squeezes every chart's time axis into two clumps with nothing
# between them: Progress opens on the sessions after the last such break.
LONG_BREAK = timedelta(weeks=26)


@dataclass(frozen=True)
class Opening:
    start: date | None  # the first day Progress shows until Dates is changed
    before: int  # sessions left out, before the last break longer than LONG_BREAK
    note: str  # in words; "" when none is left out


def _span(days: int) -> str:
    months = days / 30.44
    return f"{months:.0f} months" if months < 24 else f"{months / 12:.0f} years"


def opening(rows: Sequence[ProgressRow]) -> Opening:
    """Where Progress's Dates start for ``rows`` (oldest first): at the first session after the last
    break longer than ``LONG_BREAK``, else at the first session."""
    days = [_day(r.date) for r in rows]
    breaks = [k for k in range(1, len(days)) if days[k] - days[k - 1] > LONG_BREAK]
    if not breaks:
        return Opening(days[0] if days else None, 0, "")
    k = breaks[-1]
    earlier = f"{days[0]:%Y-%m-%d}" + ("" if days[0] == days[k - 1] else f" to {days[k - 1]:%Y-%m-%d}")
    note = (f"Opens on {days[k]:%Y-%m-%d}, after a break of {_span((days[k] - days[k - 1]).days)}: "
            f"{'the earlier session' if k == 1 else f'the {k} earlier sessions'} ({earlier}) "
            f"{'is' if k == 1 else 'are'} left out until Dates include {'it' if k == 1 else 'them'}.")
    return Opening(days[k], k, note)


# ------------------------------------------------------------------ derived numbers


def _ok(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def angles_by_range(rows: Sequence[ProgressRow]) -> list[str]:
    """Angles measured in these sessions, the ones that moved most first; an angle measured
    only in part of the frames in some session (``ProgressRow.rom_gaps``) after all the others;
    among each, one of a body part none of the sessions' exercises trains after the others (the
    ankles' tracker noise in an arm raise; ``kinematics.trained_regions``)."""
    best: dict[str, float] = {}
    for r in rows:
        for name, v in r.rom_deg.items():
            if _ok(v):
                best[name] = max(best.get(name, 0.0), v)
    gaps = set().union(*(r.rom_gaps for r in rows))
    trained = frozenset().union(*(trained_regions_of([r.rep_angle] if r.rep_angle else [], r.exercise)
                                  for r in rows))
    return sorted(best, key=lambda n: (n in gaps, outside_regions(n, trained), -best[n], n))


def target_for(targets: Sequence[RomTargetOut], angle: str, exercise: str | None = None) -> float | None:
    """The target of an angle: the exercise's own if there is one, else the any-exercise one."""
    found = {t.exercise: t.target_deg for t in targets if t.angle == angle}
    if exercise and exercise in found:
        return found[exercise]
    return found.get("")


def targets_of(targets: Sequence[RomTargetOut], exercise: str | None,
               rep_angles: Sequence[str] = ()) -> dict[str, float]:
    """The targets that concern a set of ``exercise`` (counted on ``rep_angles``), by angle: those
    set for the exercise, and those set for any exercise on the body parts it trains (a knee
    target says nothing of a shoulder raise)."""
    from physio_core.kinematics import angle_region
    from physio_core.reps import trained_regions_of

    trained = trained_regions_of(rep_angles, exercise) - {"trunk"}
    angles = {t.angle for t in targets
              if (exercise and t.exercise == exercise) or (t.exercise == "" and angle_region(t.angle) in trained)}
    return {a: target_for(targets, a, exercise) for a in sorted(angles)}


def rom_summary(rows: Sequence[ProgressRow], angles: Sequence[str],
                targets: Sequence[RomTargetOut] = (), exercise: str | None = None) -> pd.DataFrame:
    """Per angle over these sessions (oldest first): the first and the latest range of motion,
    the best, the change, the target and the first session that reached it."""
    recs = []
    for name in angles:
        seen = [(r, r.rom_deg[name]) for r in rows if _ok(r.rom_deg.get(name))]
        if not seen:
            continue
        target = target_for(targets, name, exercise)
        reached = next((r.session_id for r, v in seen if target is not None and v >= target), None)
        recs.append({"angle": name, "sessions": len(seen), "first_deg": seen[0][1],
                     "latest_deg": seen[-1][1], "best_deg": max(v for _, v in seen),
                     "change_deg": seen[-1][1] - seen[0][1], "target_deg": target,
                     "reached_in_session": reached})
    return pd.DataFrame(recs, columns=["angle", "sessions", "first_deg", "latest_deg", "best_deg",
                                       "change_deg", "target_deg", "reached_in_session"])


ROM_TABLE_DECIMALS = {"first (°)": 1, "latest (°)": 1, "best (°)": 1, "target (°)": 1}


def rom_summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """``rom_summary`` as the page and the printed report show it."""
    reached = []
    for t, latest, sid in zip(summary["target_deg"], summary["latest_deg"], summary["reached_in_session"]):
        if not _ok(t):
            reached.append("no target")
        elif sid is not None and not pd.isna(sid):
            reached.append(f"yes, session #{int(sid)}")
        else:
            short = t - latest
            reached.append(f"not yet ({short:.0f}° short)" if short >= 0.5 else f"not yet ({short:.1f}° short)")
    first, latest = summary["first_deg"].round(1), summary["latest_deg"].round(1)
    return pd.DataFrame({
        "angle": [pretty_angle(a) for a in summary["angle"]], "sessions": summary["sessions"],
        "first (°)": first, "latest (°)": latest, "best (°)": summary["best_deg"].round(1),
        # the change of the numbers as written beside it (101.8 after 106.8 is -5.0, whatever the
        # second decimals)
        "change (°)": [signed_change(v, 1) for v in latest - first],
        "target (°)": summary["target_deg"], "target reached": reached,
    })


def side_pairs(names: Sequence[str]) -> list[tuple[str, str, str]]:
    """(label, left, right) for angles that exist on both sides: ``x_l``/``x_r`` (kinematics
    names) and ``left_x``/``right_x``."""
    names = set(names)
    pairs = []
    for n in sorted(names):
        if n.endswith("_l") and n[:-2] + "_r" in names:
            pairs.append((pretty_angle(n[:-2]), n, n[:-2] + "_r"))
        elif n.startswith("left_") and "right_" + n[5:] in names:
            pairs.append((n[5:].replace("_", " ").capitalize(), n, "right_" + n[5:]))
    return pairs


def _symmetry_pct(left: float, right: float) -> float:
    """The symmetry index: 100 * (left - right) / mean(left, right), in percent."""
    return 100.0 * (left - right) / ((left + right) / 2)


def _other_side(side: str) -> str:
    return "right" if side == "left" else "left"


LSI_BAND = f"{100 - ASYMMETRY_FLAG_PCT:.0f}–{100 + ASYMMETRY_FLAG_PCT:.0f} %"  # the limb symmetry index's, in words


def lsi_within(pct: float) -> bool:
    """Whether a limb symmetry index (%) is within its band (``LSI_BAND``)."""
    return abs(pct - 100) <= ASYMMETRY_FLAG_PCT


def _lsi_band_words(pct: float) -> str:
    """ "within 90–110 %" / "outside 90–110 %" """
    return f"{'within' if lsi_within(pct) else 'outside'} {LSI_BAND}"


def _lsi_pct(left: float, right: float, affected: str) -> float:
    """The limb symmetry index: the affected side's range in percent of the other side's."""
    mine, other = (left, right) if affected == "left" else (right, left)
    return 100.0 * mine / other if other > 0 else math.nan


_DRAWN_FOR = ("Drawn for the knee, the hip's flexion and the angle the reps were counted on: the other "
              "angles' two sides differ by more than the band even in reps done correctly.")
ASYMMETRY_NOTE = (f"range of motion left minus right, in % of their mean (positive: the left moves "
                  f"more); the band is ±{ASYMMETRY_FLAG_PCT:.0f} %. {_DRAWN_FOR}")


def asymmetry_note(affected: str | None = None) -> str:
    """What ``asymmetry_figure`` draws, in words: the symmetry index, or with an affected side
    the limb symmetry index."""
    if affected is None:
        return ASYMMETRY_NOTE
    return (f"limb symmetry index: the range of motion of the affected side ({affected}) in % of the "
            f"{_other_side(affected)} side's (100 %: the same; under 100 %: the affected side moves less); "
            f"the band is {LSI_BAND}. {_DRAWN_FOR}")


def compared_sides(rows: Sequence[ProgressRow]) -> list[tuple[str, str, str]]:
    """The ``side_pairs`` whose left and right are worth comparing: the families of
    ``SIDES_AGREE`` and the one the reps were counted on, the largest range first."""
    wanted = set(SIDES_AGREE) | {_family(r.rep_angle) for r in rows if r.rep_angle}
    return [(label, left, right) for label, left, right in side_pairs(angles_by_range(rows))
            if _family(left) in wanted]


def _family(name: str) -> str:
    """``knee_angle`` of ``knee_angle_l`` (kinematics' names) or of ``left_knee_angle``."""
    if name.endswith(("_l", "_r")):
        return name[:-2]
    return name.split("_", 1)[1] if name.startswith(("left_", "right_")) else name


def asymmetry_frame(rows: Sequence[ProgressRow], affected: str | None = None) -> pd.DataFrame:
    """Per session and joint pair of ``compared_sides``: left and right range of motion, the
    symmetry index 100 * (left - right) / mean(left, right) in percent (positive: the left moves
    more) and, with the ``affected`` side given, the limb symmetry index 100 * affected / other
    (NaN without)."""
    recs = []
    for label, left, right in compared_sides(rows):
        for r in rows:
            lv, rv = r.rom_deg.get(left), r.rom_deg.get(right)
            if not (_ok(lv) and _ok(rv)) or lv + rv <= 0:
                continue
            recs.append({"session_id": r.session_id, "date": r.date, "exercise": r.exercise,
                         "joint": label, "left_deg": lv, "right_deg": rv,
                         "asymmetry_pct": _symmetry_pct(lv, rv),
                         "lsi_pct": _lsi_pct(lv, rv, affected) if affected else math.nan})
    return pd.DataFrame(recs, columns=["session_id", "date", "exercise", "joint", "left_deg",
                                       "right_deg", "asymmetry_pct", "lsi_pct"])


def one_sided(exercise: str) -> bool:
    """Whether ``exercise`` works one side at a time (``reps.ONE_SIDED``): its sessions' left
    and right differ by design, and ``sides_frame`` compares it, not ``asymmetry_frame``."""
    return exercise in ONE_SIDED


SIDES_COLUMNS = ["session_id", "date", "exercise", "side", "angle", "rom_deg"]
_SUFFIX = {"left": "_l", "right": "_r"}  # a side -> the end of its angles' names


def sides_frame(rows: Sequence[ProgressRow]) -> pd.DataFrame:
    """Per session of a one-sided exercise: the side it worked ("left"/"right": the side of the
    angle its reps were counted on, or, with no rep, the side whose ``reps.ONE_SIDED`` angle moved
    more) and that angle's range of motion. Sessions of other exercises, or without that angle,
    are left out.

    The reps' side first: the idle arm's few compensating swings can span more than the working
    arm's reps (UI-PRMD subject 4's incorrect shoulder extensions)."""
    recs = []
    for r in rows:
        family = ONE_SIDED.get(r.exercise)
        if family is None:
            continue
        ranges = {side: v for side, k in _SUFFIX.items() if _ok(v := r.rom_deg.get(family + k))}
        if not ranges:
            continue
        counted = next((side for side, k in _SUFFIX.items() if (r.rep_angle or "").endswith(k)), None)
        side = counted if counted in ranges else max(ranges, key=ranges.get)
        recs.append({"session_id": r.session_id, "date": r.date, "exercise": r.exercise, "side": side,
                     "angle": family + _SUFFIX[side], "rom_deg": ranges[side]})
    return pd.DataFrame(recs, columns=SIDES_COLUMNS)


def sides_note(rows: Sequence[ProgressRow], exercise: str, affected: str | None = None) -> str:
    """In words, for ``sides_figure``: why the sides are compared across sessions, each side's
    sessions and latest range, and the latest left against the latest right (the symmetry index
    of ``asymmetry_frame``, with its ±ASYMMETRY_FLAG_PCT band; with the ``affected`` side given,
    the limb symmetry index)."""
    df = sides_frame([r for r in rows if r.exercise == exercise])
    name = pretty_exercise(exercise, short=True)
    angle = pretty_angle(ONE_SIDED[exercise]).lower()
    said = (f"{name} works one side at a time, so a session's left and right differ by design. Each "
            f"session is drawn at the range of motion of the side it worked (the side its reps were "
            f"counted on; with no rep, the side whose {angle} moved more).")
    latest: dict[str, float] = {}
    parts = []
    for side in ("left", "right"):
        mine = df[df["side"] == side]
        if mine.empty:
            parts.append(f"no session of the {side} side yet")
            continue
        last = mine.iloc[-1]
        latest[side] = float(last["rom_deg"])
        n = len(mine)
        parts.append(f"{n} session{'s' * (n != 1)} of the {side} side, the latest at {last['rom_deg']:.0f}° "
                     f"(#{last['session_id']})")
    text = "; ".join(parts)
    said += f" {text[0].upper()}{text[1:]}."
    if len(latest) == 2 and affected:
        lsi = _lsi_pct(latest["left"], latest["right"], affected)
        said += (f" The latest affected side ({affected}) against the latest {_other_side(affected)}: {lsi:.0f} % "
                 f"of its range (limb symmetry index), {'within' if lsi_within(lsi) else 'outside'} the {LSI_BAND} "
                 "band.")
    elif len(latest) == 2:
        pct = _symmetry_pct(latest["left"], latest["right"])
        inside = abs(pct) <= ASYMMETRY_FLAG_PCT
        said += (f" The latest left against the latest right: {pct:+.0f} % of their mean, "
                 f"{'within' if inside else 'outside'} the ±{ASYMMETRY_FLAG_PCT:.0f} % band.")
    return said


# the headers sessions_frame's columns are shown under (page and printed report) and the decimals
# of its numbers; the frame keeps its own keys
SESSION_COLUMN_LABELS = {"duration_s": "duration (s)", "mean_rep_rom_deg": "mean rep range (°)",
                         "correct_reps_pct": "correct reps (%)", "injury_risk": "injury risk"}
SESSION_DECIMALS = {"duration_s": 1, "mean_rep_rom_deg": 1, "correct_reps_pct": 0, "stability": 2,
                    "balance": 2, "injury_risk": 2}


def sessions_frame(rows: Sequence[ProgressRow]) -> pd.DataFrame:
    """The session table of the page."""
    return pd.DataFrame([{
        "session": r.session_id, "date": r.date, "exercise": pretty_exercise(r.exercise, short=True),
        "source": "wrist sensor" if r.sensor_set else "video", "reps": r.reps,
        "duration_s": None if r.duration_s is None else round(r.duration_s, 1),
        "mean_rep_rom_deg": None if r.mean_rep_rom_deg is None else round(r.mean_rep_rom_deg, 1),
        "correct_reps_pct": None if r.correct_share is None else round(100 * r.correct_share),
        "stability": r.stability_score, "balance": r.balance_score, "injury_risk": r.injury_risk,
        "pain": r.pain, "effort": r.effort,
    } for r in rows], columns=["session", "date", "exercise", "source", "reps", "duration_s",
                               "mean_rep_rom_deg", "correct_reps_pct", "stability", "balance",
                               "injury_risk", "pain", "effort"])


RECURRING_COLUMNS = ["correction", "reps", "sessions", "first", "last", "other way"]
RECURRING_LEAST_REPS = 2  # a correction asked of fewer reps is not listed (``recurring_only``)


def recurring_corrections(rows: Sequence[ProgressRow]) -> pd.DataFrame:
    """What the corrected pose asked of the reps judged incorrect, session after session: one row
    per joint and direction ("hips lower"), with how many reps and sessions asked it, the dates of
    the first and last, and in how many reps the same joint was asked the other way ("hips
    higher"; the mistake model's corrections can differ rep to rep: one asked both ways is no
    habit to work on), most reps first. Empty when no stored session has any (those analysed
    before the corrections were put in words have none)."""
    seen: dict[str, dict] = {}
    for r in rows:
        for focus, n in (r.metrics.get("correction_focus") or {}).items():
            entry = seen.setdefault(focus, {"correction": focus, "reps": 0, "sessions": 0,
                                            "first": r.date, "last": r.date})
            entry["reps"] += int(n)
            entry["sessions"] += 1
            entry["first"], entry["last"] = min(entry["first"], r.date), max(entry["last"], r.date)
    for entry in seen.values():
        entry["other way"] = seen.get(opposite_focus(entry["correction"]) or "", {}).get("reps", 0)
    table = pd.DataFrame(list(seen.values()), columns=RECURRING_COLUMNS)
    return table.sort_values(["reps", "last"], ascending=[False, False], kind="stable").reset_index(drop=True)


def recurring_only(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The rows of ``recurring_corrections`` asked in ``RECURRING_LEAST_REPS`` reps or more, and a
    sentence on the rest ("" when there is none): a correction asked of one rep is no habit, and on
    the walk's three squat sessions eight of the ten listed were."""
    keep = table["reps"] >= RECURRING_LEAST_REPS
    once = int((~keep).sum())
    note = "" if not once else (f"{once} other correction{'s were' if once > 1 else ' was'} asked of "
                                f"one rep only, and {'are' if once > 1 else 'is'} not listed.")
    return table[keep].reset_index(drop=True), note


@dataclass(frozen=True)
class Summary:
    sessions: int
    reps: int
    active_weeks: int
    first: datetime | None
    last: datetime | None
    # the stability of the last session that has one (a session of no exercise the models know
    # has none), minus that of the first session of the same exercise (scores of different
    # exercises, a squat filmed and a bench press on a wrist sensor, do not compare)
    stability_change: float | None
    stability_exercise: str | None = None  # the exercise of stability_score
    stability_score: float | None = None
    # the share of reps judged correct in the last session that has one (a wrist-sensor set has
    # none), and its change against the first session of that exercise
    correct_share: float | None = None
    correct_change: float | None = None
    correct_exercise: str | None = None
    # the pain the athlete gave for the last session that has one (0-10, physio_core.felt), and
    # its change against the first pain given in the rows, whatever the exercise: it is the
    # athlete's pain, not the exercise's
    pain: int | None = None
    pain_change: int | None = None
    training_days: int = 0  # the days with a session: three sets on a day are one training day


def _change(rows: Sequence[ProgressRow], key: str) -> float | None:
    """The last session's ``key`` minus that of the first session of the same exercise."""
    vals = [getattr(r, key) for r in rows if r.exercise == rows[-1].exercise and _ok(getattr(r, key))]
    return vals[-1] - vals[0] if len(vals) >= 2 and _ok(getattr(rows[-1], key)) else None


def _latest(rows: Sequence[ProgressRow], key: str) -> tuple[float | None, float | None, str | None]:
    """``key`` of the last session that has one, its change (``_change``) and its exercise."""
    scored = [r for r in rows if _ok(getattr(r, key))]
    if not scored:
        return None, None, None
    return getattr(scored[-1], key), _change(scored, key), scored[-1].exercise


def summary(rows: Sequence[ProgressRow]) -> Summary:
    weeks = {tuple(_day(r.date).isocalendar())[:2] for r in rows}
    stability, stability_change, stability_exercise = _latest(rows, "stability_score")
    correct, correct_change, correct_exercise = _latest(rows, "correct_share")
    pains = [r.pain for r in rows if r.pain is not None]
    return Summary(
        sessions=len(rows), reps=sum(r.reps for r in rows), active_weeks=len(weeks),
        training_days=len({_day(r.date) for r in rows}),
        first=rows[0].date if rows else None, last=rows[-1].date if rows else None,
        stability_score=stability, stability_change=stability_change, stability_exercise=stability_exercise,
        correct_share=correct, correct_change=correct_change, correct_exercise=correct_exercise,
        pain=pains[-1] if pains else None, pain_change=pains[-1] - pains[0] if len(pains) >= 2 else None,
    )


# ------------------------------------------------------------------ one session against the one before


def earlier_sessions(rows: Sequence[ProgressRow], this: ProgressRow) -> list[ProgressRow]:
    """The athlete's sessions before ``this`` of the same exercise, filmed or on the wrist
    sensor as it was, newest first (``rows``: the athlete's sessions, oldest first, ``this``
    among them)."""
    at = rows.index(this)
    return [r for r in reversed(rows[:at]) if r.exercise == this.exercise and r.sensor_set == this.sensor_set]


def previous_session(rows: Sequence[ProgressRow], this: ProgressRow) -> ProgressRow | None:
    """The last of ``earlier_sessions``, None if there is none."""
    return next(iter(earlier_sessions(rows, this)), None)


# a change a session comparison calls better or worse is larger than this, by unit: a range of
# motion by 5°, about the least change goniometry measures reliably (and a session's range moves
# a few degrees between sets of one day), a 0-1 score by 0.05, a share of correct reps by any, the
# athlete's pain by 2 points of 10 (the numeric rating scale's least change that matters to
# patients, Farrar et al. 2001)
COMPARE_LEAST = {"°": 5.0, "": 0.05, "%": 0.0, "/10": 1.0}


# a limb symmetry index must come this much nearer 100 % (or go this much farther) to be said better (worse)
LSI_LEAST_PTS = 5.0


def _lsi_of(rows: Sequence[ProgressRow], affected: str) -> tuple[str, list[float]] | None:
    """(joint, the limb symmetry index of each row) of the side pair all ``rows`` share that
    matters most: the family the first row's reps were counted on, else the largest of
    ``compared_sides``. None for an exercise done one side at a time (its sides differ by
    design) or with no pair in common."""
    first = rows[0]
    if one_sided(first.exercise):
        return None
    counted = _family(first.rep_angle) if first.rep_angle else None
    pairs = sorted(compared_sides([first]), key=lambda p: _family(p[1]) != counted)
    for joint, left, right in pairs:
        values = [(r.rom_deg.get(left), r.rom_deg.get(right)) for r in rows]
        if all(_ok(lv) and _ok(rv) and rv > 0 and lv > 0 for lv, rv in values):
            return joint, [_lsi_pct(lv, rv, affected) for lv, rv in values]
    return None


def _session_lsi(this: ProgressRow, before: ProgressRow, affected: str) -> tuple[str, float, float] | None:
    """(joint, LSI now, LSI before) of the two sessions' pair that matters most (``_lsi_of``)."""
    if (found := _lsi_of([this, before], affected)) is None:
        return None
    joint, (now, then) = found
    return joint, now, then


def session_lsi_words(row: ProgressRow, affected: str | None) -> str | None:
    """A session's limb symmetry index in words, for its page and report: "limb symmetry 87 %
    (Knee angle: left, affected, in % of right)"; None without an affected side, for an exercise
    done one side at a time, or with no side pair measured."""
    if affected is None or (found := _lsi_of([row], affected)) is None:
        return None
    joint, (pct,) = found
    return (f"limb symmetry {pct:.0f} % ({joint}: {affected}, affected, in % of {_other_side(affected)}; "
            f"{_lsi_band_words(pct)})")


def session_about(profile: AthleteProfileOut, day: date, row: ProgressRow | None = None,
                  morning: Sequence[MorningPainOut] = ()) -> str | None:
    """What a session's page and report say of it in the athlete's care, beside its time: how long
    after the injury or operation it was, its limb symmetry index (``row``: the session's, when it
    has ended) and the pain of the morning after it (``morning``: the athlete's)."""
    after = next((m for m in morning if m.day == day + timedelta(days=1)), None)
    said = [session_since_words(profile, day), None if row is None else session_lsi_words(row, profile.affected_side),
            None if after is None else f"pain the next morning {after.pain}/10 ({felt.PAIN_WORDS[after.pain]})"]
    return " · ".join(x for x in said if x) or None


def latest_lsi(rows: Sequence[ProgressRow], affected: str) -> tuple[float, str, str] | None:
    """The athlete's latest limb symmetry index: (percent, joint, exercise) of the newest session
    that has one (``_lsi_of``); for an exercise done one side at a time, its latest session of the
    affected side against its latest of the other (as ``sides_note``). None when no session has one."""
    tried: set[str] = set()  # one-sided exercises: their latest session decides, the earlier have less
    for i in range(len(rows) - 1, -1, -1):
        r = rows[i]
        if not one_sided(r.exercise):
            if (found := _lsi_of([r], affected)) is not None:
                return found[1][0], found[0], r.exercise
            continue
        if r.exercise in tried:
            continue
        tried.add(r.exercise)
        sides = sides_frame([x for x in rows[:i + 1] if x.exercise == r.exercise]).groupby("side")["rom_deg"].last()
        if len(sides) == 2 and min(sides) > 0:
            return (_lsi_pct(sides["left"], sides["right"], affected), pretty_angle(ONE_SIDED[r.exercise]),
                    r.exercise)
    return None


def compare_sessions(this: ProgressRow, before: ProgressRow, *, max_angles: int = 4,
                     label: str = "previous", affected: str | None = None) -> pd.DataFrame:
    """``this`` session against ``before`` (its column headed ``label``), one row per measure
    both have: reps, mean rep range, correct reps, the scores, and the range of the angle the reps
    were counted on, its other side's and then the angles that moved most in ``this``. The change
    is that of the numbers as written: 123° against 123° is "±0°", not the "+1°" of 123.4 - 122.6.
    Column "better / worse" says which way the change goes for the athlete where that is plain
    (more correct reps, less injury risk or pain, a larger range of the counted angle) and the change is
    more than ``COMPARE_LEAST``; the count of reps and the range of another angle (a trunk that
    leans more) are left unsaid. With the athlete's ``affected`` side, the last row is the limb
    symmetry index (``_session_lsi``): better when it comes nearer 100 % by more than
    ``LSI_LEAST_PTS``."""
    def fmt(v: float, unit: str, digits: int) -> str:
        return f"{v:.{digits}f}{unit}"

    # (measure, this, before, unit, digits, +1 / -1: more / less is better, 0: neither)
    measures: list[tuple[str, float | None, float | None, str, int, int]] = [
        ("reps", this.reps, before.reps, "", 0, 0),
        ("mean rep range", this.mean_rep_rom_deg, before.mean_rep_rom_deg, "°", 0, +1),
        ("correct reps", None if this.correct_share is None else 100 * this.correct_share,
         None if before.correct_share is None else 100 * before.correct_share, "%", 0, +1),
        ("stability", this.stability_score, before.stability_score, "", 2, +1),
        ("balance", this.balance_score, before.balance_score, "", 2, +1),
        ("injury risk", this.injury_risk, before.injury_risk, "", 2, -1),
        ("pain", this.pain, before.pain, "/10", 0, -1),  # as the athlete said (physio_core.felt)
        ("effort", this.effort, before.effort, "/10", 0, 0),
    ]
    # the angle the reps were counted on and its other side first, as on the progress chart
    counted = default_rom_angles([this], (), this.exercise)
    angles = list(dict.fromkeys(counted + angles_by_range([this])))
    measures += [(f"range: {pretty_angle(a)}", this.rom_deg.get(a), before.rom_deg.get(a), "°", 0,
                  +1 if a in counted else 0) for a in angles[:max_angles]]
    recs = []
    for name, now, then, unit, digits, good in measures:
        if not (_ok(now) and _ok(then)):
            continue
        change = round(now, digits) - round(then, digits)
        least = COMPARE_LEAST.get(unit, 0.0)
        way = "" if not good or abs(change) <= least else ("better" if good * change > 0 else "worse")
        recs.append({"measure": name, "this session": fmt(now, unit, digits),
                     label: fmt(then, unit, digits),
                     "change": signed_change(change, digits, " pts" if unit in ("%", "/10") else unit),
                     "better / worse": way})
    if affected and (lsi := _session_lsi(this, before, affected)) is not None:
        joint, now, then = lsi
        nearer = abs(round(then) - 100) - abs(round(now) - 100)
        recs.append({"measure": f"limb symmetry: {joint}", "this session": f"{now:.0f}%", label: f"{then:.0f}%",
                     "change": signed_change(round(now) - round(then), 0, " pts"),
                     "better / worse": "" if abs(nearer) <= LSI_LEAST_PTS else "better" if nearer > 0 else "worse"})
    return pd.DataFrame(recs, columns=["measure", "this session", label, "change", "better / worse"])


# ------------------------------------------------------------------ in short, in words

def in_short(data: ProgressData, today: date) -> list[str]:
    """Where the athlete stands, a line each, for the top of Progress: the training days (and
    sets, where a day held several), the range of
    the main exercise's counted angle at first and now (against its target), the latest limb
    symmetry index with the affected side said, the share of reps judged correct, and the latest
    morning's pain against the pain-monitoring model. Over all the athlete's sessions."""
    rows = data.rows
    said = []
    s = summary(rows)
    if rows:
        ago = (today - _day(rows[-1].date)).days
        when = "today" if ago == 0 else "yesterday" if ago == 1 else f"{_since_span(ago)} ago"
        days = s.training_days  # a day of several sets is one training day
        sets = f" ({len(rows)} sets)" if len(rows) != days else ""
        said.append(f"{days} training day{'s' * (days != 1)}{sets} since {_day(rows[0].date):%Y-%m-%d}; "
                    f"the latest {when}.")
    # of a known exercise: sessions "Not recognised" may each be another movement, whose ranges
    # do not make one progress
    angle_rows = [r for r in rows if r.rom_deg and r.exercise != "auto"]
    if (main := main_exercise(angle_rows)) is not None:
        ex_rows = [r for r in angle_rows if r.exercise == main]
        counted = next((r.rep_angle for r in reversed(ex_rows) if r.rep_angle), None)
        table = rom_summary(ex_rows, [counted] if counted else [], data.targets, main)
        if not table.empty and len(ex_rows) > 1:
            t = table.iloc[0]
            # the change and the shortfall of the degrees as written: "100° at first, 102° in the
            # latest session (+2°)", not the "+1°" of 101.6 - 100.4
            first, latest, target = round(t["first_deg"]), round(t["latest_deg"]), t["target_deg"]
            line = (f"{pretty_exercise(main, short=True)}, {pretty_angle(counted)}: {first}° of range at first, "
                    f"{latest}° in the latest session ({signed_change(latest - first, 0, '°')})")
            if pd.notna(target) and t["latest_deg"] >= target:
                line += f"; the {target:.0f}° target reached"
            elif pd.notna(target):
                short = round(target) - latest
                # under a degree short, as the range table says it ("0.4° short", not "0° short")
                gap = f"{short}°" if short >= 1 else f"{target - t['latest_deg']:.1f}°"
                line += f"; {gap} short of the {target:.0f}° target"
            said.append(line + ".")
    if data.affected_side and (lsi := latest_lsi(rows, data.affected_side)) is not None:
        pct, joint, exercise = lsi
        said.append(f"Limb symmetry: the {data.affected_side} (affected) side moves {pct:.0f} % of the "
                    f"{_other_side(data.affected_side)}'s range ({joint}, {pretty_exercise(exercise, short=True)}), "
                    f"{_lsi_band_words(pct)}.")
    if s.correct_share is not None:
        line = f"Reps judged correct in the latest judged session: {s.correct_share:.0%}"
        if s.correct_change:
            line += f" ({signed_change(100 * s.correct_change, 0, ' pts')} since the first)"
        said.append(line + ".")
    if (note := felt.morning_note(data.morning, today)) is not None:
        said.append(note[0])
    return said


# ------------------------------------------------------------------ the first session and the latest, drawn

def reps_drawn(engine: Engine, this: ProgressRow, before: ProgressRow, *, viewer_id: int | None = None,
               this_result: SessionResult | None = None,
               tz: tzinfo | None = None) -> tuple[str, KeyPoses, KeyPoses] | None:
    """A typical rep (of median range) of session ``this`` drawn over one of the earlier session
    ``before`` in grey (``keyposes``): the SVG and the two reps (now, then). None when either holds
    no skeleton or no rep. ``this_result``: this session's, where read already; ``tz``: the clock
    the reps' days are told on (default: the rows' own)."""
    from physio_core import keyposes
    from physio_core.store import get_session_detail

    def result(r: ProgressRow) -> SessionResult | None:
        detail = get_session_detail(engine, r.session_id, viewer_id=viewer_id)
        return None if detail is None or detail.pose is None else detail.to_result()

    def day(r: ProgressRow) -> date:
        return _day(r.date if tz is None else r.date.astimezone(tz))

    if (now_result := this_result or result(this)) is None or (then_result := result(before)) is None:
        return None
    pair = keyposes.then_and_now(now_result, this.session_id, day(this), then_result, before.session_id, day(before))
    if pair is None:
        return None
    now, then = pair
    return keyposes.poses_svg(now, under=then), now, then


def first_and_latest(engine: Engine, rows: Sequence[ProgressRow],
                     viewer_id: int | None = None) -> tuple[str, str] | None:
    """A typical rep (of median range) of the first of ``rows`` (one exercise's sessions, oldest
    first) drawn in grey, the latest's over it (``reps_drawn``): the SVG and its caption. None with
    fewer than two sessions, or when either holds no skeleton or no rep."""
    if len(rows) < 2:
        return None
    first, latest = rows[0], rows[-1]
    if (drawn := reps_drawn(engine, latest, first, viewer_id=viewer_id)) is None:
        return None
    svg, now, _ = drawn
    return svg, (
        f"A typical rep (of median range) at its start, turning point and end, from the {now.view}: the first "
        f"session, #{first.session_id} on {_day(first.date):%Y-%m-%d}, in grey, and the latest, "
        f"#{latest.session_id} on {_day(latest.date):%Y-%m-%d}, in colour over it.")


# ------------------------------------------------------------------ all athletes at a glance

ROSTER_WINDOW_DAYS = 28  # "recent" sessions: the last four weeks
MORNING_WINDOW_DAYS = felt.MORNING_RECENT_DAYS  # the roster's morning pain: said in the last week


@dataclass(frozen=True)
class AthleteGlance:
    """One athlete's training in brief, for a trainer's list of athletes."""

    athlete_id: int
    name: str
    sessions: int
    recent_sessions: int  # in the last ROSTER_WINDOW_DAYS days
    last: datetime | None
    days_since: int | None  # since the last session, in whole days (dates on the viewer's clock: roster's tz)
    last_exercise: str | None
    correct_share: float | None  # of the last session the models judged (Summary)
    correct_change: float | None
    stability: float | None  # of the last session that has one (Summary)
    pain: int | None = None  # of the last session that says it (physio_core.felt)
    pain_change: int | None = None  # against the first session in the last ROSTER_WINDOW_DAYS days that says it
    # the programme's planned sessions done over the four whole weeks before this one (None: no plan)
    programme_done: float | None = None
    condition: str = ""  # as the staff said it (``AthleteProfileOut``)
    weeks_since: int | None = None  # whole weeks since the injury or operation (None: its day not said)
    # the latest limb symmetry index (``latest_lsi``) and its joint; None: no affected side, or no session has one
    lsi_pct: float | None = None
    lsi_joint: str | None = None
    morning_pain: int | None = None  # the latest morning's in the last MORNING_WINDOW_DAYS days


def roster(engine: Engine, viewer_id: int, *, today: date | None = None, tz: tzinfo = UTC) -> list[AthleteGlance]:
    """Every athlete the viewer may see (``athletes_for``), with their sessions in brief. Dates are
    on the clock of ``tz`` (the viewer's), as Progress's (``load_progress``): the day a session
    falls on, the days since it and the programme's weeks; ``today``: the day there (default: now)."""
    today = today or datetime.now(tz).date()
    out = []
    athletes = athletes_for(engine, viewer_id)
    history = progress_for_athletes(engine, [a.id for a in athletes], viewer_id=viewer_id)
    plans = programmes(engine, [a.id for a in athletes], viewer_id=viewer_id)
    profiles = athlete_profiles(engine, [a.id for a in athletes], viewer_id=viewer_id)
    mornings = morning_pains(engine, [a.id for a in athletes], viewer_id=viewer_id)
    for a in athletes:
        rows = on_viewers_clock(history[a.id], tz)
        s = summary(rows)
        last = rows[-1] if rows else None
        profile = profiles[a.id]
        lsi = latest_lsi(rows, profile.affected_side) if profile.affected_side else None
        out.append(AthleteGlance(
            athlete_id=a.id, name=a.display_name, sessions=len(rows),
            recent_sessions=sum((today - _day(r.date)).days < ROSTER_WINDOW_DAYS for r in rows),
            last=last.date if last else None, days_since=(today - _day(last.date)).days if last else None,
            last_exercise=last.exercise if last else None, correct_share=s.correct_share,
            correct_change=s.correct_change, stability=s.stability_score, **_pain_glance(rows, today),
            programme_done=recent_share(plans[a.id], rows, today, tz=tz), condition=profile.condition,
            weeks_since=(today - profile.since).days // 7 if profile.since else None,
            lsi_pct=lsi[0] if lsi else None, lsi_joint=lsi[1] if lsi else None,
            morning_pain=next((m.pain for m in reversed(mornings[a.id])
                               if 0 <= (today - m.day).days < MORNING_WINDOW_DAYS), None),
        ))
    return out


def _pain_glance(rows: Sequence[ProgressRow], today: date) -> dict[str, int | None]:
    """The last pain the athlete gave, and its change since the first they gave in the window."""
    said = [r for r in rows if r.pain is not None]
    recent = [r for r in said if (today - _day(r.date)).days < ROSTER_WINDOW_DAYS]
    return {"pain": said[-1].pain if said else None,
            "pain_change": recent[-1].pain - recent[0].pain if len(recent) >= 2 else None}


# what the trainer's list flags (``attention``)
AWAY_DAYS = 14  # no session for more than this
PAIN_RISE = 2  # the pain given rose this much over the last four weeks
PROGRAMME_LOW = 0.5  # less than this share of the planned sessions done


def attention(g: AthleteGlance) -> str:
    """What on the trainer's list asks for them, in a few words, most pressing first: the
    morning pain above the pain-monitoring model's limit, the pain risen, the limb symmetry
    outside its band, the programme not half done, no session for two weeks. "" when nothing."""
    said = []
    if g.morning_pain is not None and g.morning_pain > felt.MORNING_LIMIT:
        said.append(f"morning pain {g.morning_pain}/10")
    if g.pain_change is not None and g.pain_change >= PAIN_RISE:
        said.append(f"pain up {g.pain_change}")
    if g.lsi_pct is not None and not lsi_within(g.lsi_pct):
        said.append(f"limb symmetry {g.lsi_pct:.0f}%")
    if g.programme_done is not None and g.programme_done < PROGRAMME_LOW:
        said.append(f"programme {100 * g.programme_done:.0f}% done")
    if g.days_since is not None and g.days_since > AWAY_DAYS:
        said.append(f"{g.days_since} days without a session")
    return "; ".join(said)


# the trainer's table: what needs them first (who is away, whose pain rises, who skips the
# programme) before its right edge, which a laptop's page already cuts
ROSTER_COLUMNS = ("athlete", "attention", "last session", "days since", "pain (0–10)",
                  f"pain change ({ROSTER_WINDOW_DAYS} days)", "morning pain (0–10)", "programme done (%)",
                  "limb symmetry (%)", "sessions", f"last {ROSTER_WINDOW_DAYS} days", "last exercise",
                  "correct reps (%)", "change (pts)", "stability", "condition", "weeks since")


ROSTER_LSI_HELP = (f"the affected side's range of motion in % of the other side's (band {LSI_BAND}) in the "
                   "latest session that has both sides, on the joint its reps were counted on (else the knee or "
                   "the hip); for an exercise done one side at a time, its latest session of each side. Empty "
                   "until the affected side is set on Progress.")


def roster_frame(glances: Sequence[AthleteGlance]) -> pd.DataFrame:
    """The trainer's table of athletes."""
    def pct(v: float | None) -> int | None:
        return None if v is None else round(100 * v)

    return pd.DataFrame([{
        "athlete": g.name, "attention": attention(g) or None, "sessions": g.sessions,
        f"last {ROSTER_WINDOW_DAYS} days": g.recent_sessions,
        "last session": g.last, "days since": g.days_since,
        "last exercise": pretty_exercise(g.last_exercise, short=True) if g.last_exercise else None,
        "correct reps (%)": pct(g.correct_share), "change (pts)": pct(g.correct_change),
        "stability": g.stability, "pain (0–10)": g.pain, f"pain change ({ROSTER_WINDOW_DAYS} days)": g.pain_change,
        "programme done (%)": pct(g.programme_done),
        "limb symmetry (%)": None if g.lsi_pct is None else round(g.lsi_pct), "morning pain (0–10)": g.morning_pain,
        "condition": g.condition or None, "weeks since": g.weeks_since,
    } for g in glances], columns=list(ROSTER_COLUMNS))


# ------------------------------------------------------------------ figures


def _layout(fig: go.Figure, height: int, y_title: str, x_title: str = "session date",
            *, widen: bool = True) -> go.Figure:
    """Titles, margins and the legend under the plot; ``widen``: sessions all on one day drawn
    on a week (``_widen``)."""
    if widen:
        _widen(fig)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), xaxis_title=x_title,
                      yaxis_title=y_title, hovermode="closest",
                      legend=LEGEND_BELOW)
    return fig


def _widen(fig: go.Figure, unit: pd.Timedelta = pd.Timedelta(days=1),
           bar: pd.Timedelta = pd.Timedelta(hours=8)) -> None:
    """Points all within one ``unit`` (an athlete's first day, or first week on the weekly
    chart): Plotly would zoom the date axis to milliseconds and draw a bar as wide as the chart.
    Show seven units around them instead, bars ``bar`` wide."""
    xs = [pd.Timestamp(x) for t in fig.data if t.x is not None for x in t.x if x is not None]
    if not xs or max(xs) - min(xs) >= unit:
        return
    mid = min(xs) + (max(xs) - min(xs)) / 2
    fig.update_xaxes(range=[mid - 3.5 * unit, mid + 3.5 * unit], tickformat="%b %d")
    fig.update_traces(width=bar.total_seconds() * 1000, selector=dict(type="bar"))  # ms on a date axis


def _whole_ticks(fig: go.Figure, top: float) -> None:
    """Counts on the y axis: whole ticks, never "1.5 sessions"."""
    fig.update_yaxes(dtick=max(1, math.ceil(top / 6)))


def _colours(names: Sequence[str]) -> dict[str, str]:
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


MAX_WEEK_TICKS = 16  # the weekly chart labels every week up to this many


SESSIONS_HELP = ("A session of an exercise is a day with a set of it, as the programme counts them: three sets "
                 "of squats on Monday are one squat session. Point at a bar for its sets and reps.")


def sessions_figure(rows: Sequence[ProgressRow], *, height: int = 300) -> go.Figure:
    """Sessions per week (bars stacked by exercise) with the sets and reps of each week as hover
    text. A session of an exercise is a day with a set of it, as the programme counts them
    (``physio_core.programme``): three sets of squats on Monday are one squat session."""
    fig = go.Figure()
    if rows:
        df = pd.DataFrame({"week": [pd.Timestamp(_day(r.date) - timedelta(days=_day(r.date).weekday()))
                                    for r in rows],
                           "day": [_day(r.date) for r in rows],
                           "exercise": [r.exercise for r in rows], "reps": [r.reps for r in rows]})
        colours = _colours(sorted(df["exercise"].unique()))
        # one width for every week, the narrowest: weeks are bars of one length of time
        bars = _bar_ms(sorted({w.date() for w in df["week"]}), 5.0)
        width = None if bars is None else min(ms for ms, _ in bars)
        per_week = df.groupby(["exercise", "week"]).agg(sessions=("day", "nunique"), sets=("reps", "size"),
                                                        reps=("reps", "sum")).reset_index()
        for ex, w in per_week.groupby("exercise", sort=True):
            fig.add_trace(go.Bar(x=w["week"], y=w["sessions"], name=pretty_exercise(ex, short=True),
                                 marker_color=colours[ex], customdata=w[["sets", "reps"]], width=width,
                                 hovertemplate="week of %{x|%Y-%m-%d}: %{y} sessions (%{customdata[0]} sets), "
                                               "%{customdata[1]} reps<extra></extra>"))
        fig.update_layout(barmode="stack")
        weeks = (df["week"].max() - df["week"].min()).days // 7 + 1
        if weeks <= MAX_WEEK_TICKS:  # a tick on every week
            fig.update_xaxes(tickformat=_day_format([df["week"].min(), df["week"].max()]), dtick=7 * 86400000.0,
                             tick0=df["week"].min())
        # over more weeks Plotly's own date ticks: a tick per week over two years of sessions
        # crowded the axis, and the browser took seconds to lay out their labels
        _whole_ticks(fig, int(per_week.groupby("week")["sessions"].sum().max()))
        _widen(fig, unit=pd.Timedelta(weeks=1), bar=pd.Timedelta(days=5))  # an athlete's first week
    return _layout(fig, height, "sessions", "week", widen=False)  # widened by weeks above


def _noon(d: datetime) -> datetime:
    """A day's bar is centred on the day, not on its midnight, where it straddled two dates."""
    return d.replace(hour=12, minute=0, second=0, microsecond=0)


# the least width of a bar, as a share of its axis (about 5 px on a half-width chart of a tablet)
MIN_BAR_SHARE = 0.015


def _bar_ms(days: Sequence[date], unit_days: float) -> list[tuple[float, bool]] | None:
    """Width (ms on a date axis) of the bar of each of ``days`` (sorted, distinct), a bar that
    stands for one day (``unit_days`` 1) or one week (5 days of its 7): its unit, wider only to
    stay visible over a long span, never so wide it touches a neighbour's bar. Plotly's own width
    is most of the smallest gap: with sessions a week apart, a day's bar was drawn a week wide,
    and two weeks years apart were bars years wide. Each bar is held by its own neighbours only:
    two sessions on following days drew every bar of a year of weekly ones a pixel wide. The span
    counts Plotly's own margin of 0.4 gap either side, which it keeps. Second: whether its
    neighbours held the bar under MIN_BAR_SHARE (days close together on an axis of years). None
    for a single day or week: ``_widen`` sets its bar."""
    if len(days) < 2:
        return None
    gaps = [(b - a).days for a, b in zip(days, days[1:])]
    axis = (days[-1] - days[0]).days + 0.8 * min(gaps)
    out = []
    for k in range(len(days)):
        gap = min(gaps[max(0, k - 1):k + 1])  # to the day before it and the day after it
        out.append((min(0.8 * gap, max(unit_days, MIN_BAR_SHARE * axis)) * 86400 * 1000.0,
                    0.8 * gap < MIN_BAR_SHARE * axis))
    return out


def _day_format(days: Sequence[date]) -> str:
    """Day ticks: with the year when the days are not all in one year ("Jan 11" of which?)."""
    return "%b %d" if days[0].year == days[-1].year else "%b %d, %Y"


MAX_DAY_TICKS = 10  # the reps chart labels each day with a bar up to this many

NO_REPS = "No rep was counted in these sessions."


def has_reps(rows: Sequence[ProgressRow]) -> bool:
    """Whether ``reps_figure`` has a bar to draw: else it is an empty grid, said in words."""
    return any(r.reps for r in rows)


def reps_figure(rows: Sequence[ProgressRow], *, height: int = 300) -> go.Figure:
    """Reps of each session (bars, coloured by exercise), the sessions of one day stacked in one
    bar: several sets filmed the same day, drawn at their own minutes, hid one another."""
    fig = go.Figure()
    colours = _colours(sorted({r.exercise for r in rows}))
    days = sorted({_day(r.date) for r in rows})
    bars = dict(zip(days, _bar_ms(days, 0.8) or ()))  # day -> (width, held thin); {}: a single day
    for ex in colours:
        rs = [r for r in rows if r.exercise == ex]
        width = [bars[_day(r.date)][0] for r in rs] if bars else None
        # the white outline that parts the sessions of one day, only where the bar can carry it:
        # on a bar held thinner (its next day close by, years of axis) it hid the whole bar
        outline = [0 if bars[_day(r.date)][1] else 1 for r in rs] if bars else 1
        fig.add_trace(go.Bar(
            x=[_noon(r.date) for r in rs], y=[r.reps for r in rs], width=width,
            name=pretty_exercise(ex, short=True), marker=dict(color=colours[ex], line=dict(color="white", width=outline)),
            customdata=[[r.session_id, f"{r.date:%Y-%m-%d %H:%M}"] for r in rs],
            hovertemplate="%{y} reps — session #%{customdata[0]}, %{customdata[1]}<extra></extra>",
        ))
    fig.update_layout(barmode="stack")
    if 1 < len(days) <= MAX_DAY_TICKS:  # a tick under each bar, not Plotly's Sundays between them
        fig.update_xaxes(tickvals=sorted({_noon(r.date) for r in rows}), tickformat=_day_format(days))
    elif len(days) > 1 and (days[-1] - days[0]).days < 90:
        fig.update_xaxes(tickformat=_day_format(days))  # day ticks may fall on the bars' noons: "Oct 08", not "12:00"
    if rows:
        per_day: Counter[date] = Counter()
        for r in rows:
            per_day[_day(r.date)] += r.reps
        _whole_ticks(fig, max(per_day.values()))
    fig.update_yaxes(rangemode="nonnegative")  # sessions of no rep drew an axis from -1 rep
    return _layout(fig, height, "reps")


def rom_figure(
    rows: Sequence[ProgressRow],
    angles: Sequence[str],
    targets: Sequence[RomTargetOut] = (),
    *,
    exercise: str | None = None,
    height: int = 380,
) -> go.Figure:
    """Range of motion per angle over the sessions, each with its target as a dashed line."""
    fig = go.Figure()
    colours = _colours(list(angles))
    dates = [r.date for r in rows]
    for name in angles:
        ys = [r.rom_deg.get(name) if _ok(r.rom_deg.get(name)) else None for r in rows]
        if not any(y is not None for y in ys):
            continue
        fig.add_trace(go.Scatter(
            x=dates, y=ys, mode="lines+markers", name=pretty_angle(name), line_color=colours[name],
            customdata=[[r.session_id, r.exercise, r.reps] for r in rows],
            hovertemplate="%{y:.0f}° — session #%{customdata[0]} (%{customdata[1]}, "
                          "%{customdata[2]} reps)<extra></extra>",
        ))
        target = target_for(targets, name, exercise)
        if target is not None and dates:
            fig.add_trace(go.Scatter(
                x=[min(dates), max(dates)], y=[target, target], mode="lines",
                name=f"target {pretty_angle(name)}", line=dict(color=colours[name], dash="dash"),
                hovertemplate=f"target {target:.0f}°<extra></extra>",
            ))
    # from zero: Plotly fits the axis to the data, and four sessions within a degree of one
    # another (114°, 113°) drew a climb and a fall across the whole chart
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, height, "range of motion (°)")


def main_exercise(rows: Sequence[ProgressRow]) -> str | None:
    """The exercise with the most sessions (ties: the latest done)."""
    if not rows:
        return None
    counts = Counter(r.exercise for r in rows)
    last = {r.exercise: i for i, r in enumerate(rows)}
    return max(counts, key=lambda e: (counts[e], last[e]))


def default_rom_angles(rows: Sequence[ProgressRow], targets: Sequence[RomTargetOut], exercise: str) -> list[str]:
    """The angles the range-of-motion chart of ``exercise`` opens with: those with a target, then
    the angle its reps were counted on most often and the same angle of the other side (the two
    that moved most when no rep was counted); four at most. For an exercise done one side at a
    time, the other side only if some session worked it.

    The reps' angle, not the largest range: a planar shoulder angle that leaps across the gap
    where it is undefined (flexion, in a sideways raise) spans more degrees than the angle that
    follows the movement."""
    mine = [r for r in rows if r.exercise == exercise]
    ranked = angles_by_range(mine)
    targeted = [t.angle for t in targets if t.angle in ranked and t.exercise in ("", exercise)]
    counted = Counter(r.rep_angle for r in mine if r.rep_angle in ranked).most_common(1)
    if counted:
        angle = counted[0][0]
        pair = [angle, *(left if angle == right else right
                         for _, left, right in side_pairs(ranked) if angle in (left, right))]
        if one_sided(exercise) and angle.endswith(("_l", "_r")):
            # only the sides its sessions worked: the idle side's line says nothing
            worked = {side[0] for side in sides_frame(mine)["side"]}
            pair = [a for a in pair if a[-1] in worked] or pair
    else:
        pair = ranked[:2]
    return list(dict.fromkeys(targeted + pair))[:4]


def asymmetry_figure(rows: Sequence[ProgressRow], *, affected: str | None = None, height: int = 320) -> go.Figure:
    """Left/right symmetry index over the sessions of each joint ``compared_sides`` keeps, with
    the ±10 % band shaded; with the ``affected`` side given, the limb symmetry index (affected in %
    of the other side) and its band 90–110 %."""
    df = asymmetry_frame(rows, affected)
    column, centre = ("lsi_pct", 100.0) if affected else ("asymmetry_pct", 0.0)
    df = df[df[column].notna()]
    fig = go.Figure()
    fig.add_hrect(y0=centre - ASYMMETRY_FLAG_PCT, y1=centre + ASYMMETRY_FLAG_PCT,
                  fillcolor="rgba(46, 204, 113, 0.12)", line_width=0, layer="below")
    fig.add_hline(y=centre, line_color="#999", line_width=1)
    value = "%{y:.0f}% of the other side" if affected else "%{y:+.0f}%"
    for joint, g in df.groupby("joint", sort=True):
        fig.add_trace(go.Scatter(
            x=g["date"], y=g[column], mode="lines+markers", name=joint,
            customdata=g[["left_deg", "right_deg", "session_id"]].to_numpy(),
            hovertemplate=value + " (left %{customdata[0]:.0f}°, right %{customdata[1]:.0f}°) "
                                  "— session #%{customdata[2]}<extra></extra>",
        ))
    title = f"{affected} (affected) in % of {_other_side(affected)}" if affected else "left − right (% of mean range)"
    fig = _layout(fig, height, title)
    # twice the band at least, so that the band reads as a band and not as the chart's background
    reach = max([2 * ASYMMETRY_FLAG_PCT, *(abs(df[column] - centre) * 1.1)])
    fig.update_yaxes(range=[centre - reach, centre + reach])
    return fig


SIDE_COLOURS = {"left": "#e67e22", "right": "#2e86de"}


def sides_figure(rows: Sequence[ProgressRow], *, affected: str | None = None, height: int = 320) -> go.Figure:
    """A one-sided exercise's sessions: the range of motion of the side each worked
    (``sides_frame``), a line per side, so the two sides compare across sessions (the
    ``affected`` side's named so in the legend)."""
    df = sides_frame(rows)
    fig = go.Figure()
    for side in ("left", "right"):
        g = df[df["side"] == side]
        if g.empty:
            continue
        fig.add_trace(go.Scatter(
            x=g["date"], y=g["rom_deg"], mode="lines+markers",
            name=f"{side} side{' (affected)' if side == affected else ''}",
            line=dict(color=SIDE_COLOURS[side]),
            customdata=[[pretty_angle(a), i] for a, i in zip(g["angle"], g["session_id"])],
            hovertemplate="%{customdata[0]}: %{y:.0f}° — session #%{customdata[1]}<extra></extra>",
        ))
    title = pretty_angle(ONE_SIDED[df["exercise"].iloc[0]]).lower() if not df.empty else "the worked side's angle"
    # from zero, as the range-of-motion chart (``rom_figure``); the legend
    # names the side also when only one has sessions
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(showlegend=True)
    return _layout(fig, height, f"range of motion (°), {title}")


def _weights_of(r: ProgressRow) -> str | None:
    """``weights.judging_weights`` of a session (a wrist-sensor set has no verdicts)."""
    return judging_weights(r.metrics.get("models"), bool(r.metrics.get("reps_judged")) and not r.sensor_set)


def judged_by_other_weights(rows: Sequence[ProgressRow], installed: str | None) -> list[int]:
    """The sessions (ids, oldest first) that other weights than the ``installed`` ones judged (or
    the installed weights under other scoring rules: ``installed`` is ``weights.judged_by``), or
    that do not say which did."""
    return [r.session_id for r in rows if (m := _weights_of(r)) is not None and m != installed]


def weights_note(rows: Sequence[ProgressRow], installed: str | None) -> str | None:
    """A word when the sessions' verdicts and scores come from other model weights than the
    ``installed`` ones (``ml.weights.installed_judged_by``), from several, from the installed
    weights under older scoring rules, or from weights not recorded (verdicts stored before
    RECORDED_SINCE): a step in the charts may then be the models', not the athlete's. None when
    the installed weights under the installed rules judged every session with verdicts."""
    by: dict[str, list[int]] = {}
    for r in rows:
        if (models := _weights_of(r)) is not None:
            by.setdefault(models, []).append(r.session_id)
    if not by or set(by) <= {installed}:
        return None

    def sessions(ids: list[int]) -> str:
        said = ", ".join(f"#{i}" for i in ids[:6])
        return said + (f" and {len(ids) - 6} more" if len(ids) > 6 else "")

    def named(models: str) -> str:
        if models == UNRECORDED:
            return f"weights not recorded (judged before {RECORDED_SINCE})"
        if models == installed:
            return f"{models} (installed now)"
        if other_rules_only(models, installed):
            return f"{models} (the installed weights under {rules_said(read_judged_by(models)[1])})"
        return models

    again = ("Staff can score them again with the installed weights: on each session's page, or all at "
             "once on Progress.")
    others = [m for m in by if m != installed]
    if len(others) == 1 and other_rules_only(others[0], installed):
        # the same weights: only the rules differ, whether or not sessions scored now are shown too
        return (f"Sessions {sessions(by[others[0]])} were scored by {older_rules_said(others[0], installed)}: "
                f"their injury risk and its reasons may differ from a session scored now. {again}")
    if len(by) == 1:
        (models, ids), = by.items()
        if models == UNRECORDED:
            return (f"These sessions do not say which model weights judged them ({sessions(ids)}: judged "
                    f"before {RECORDED_SINCE}), so their verdicts may not be those of the weights installed now "
                    f"({installed}). {again}")
        return (f"These sessions were judged by other model weights ({models} in {sessions(ids)}) than "
                f"the ones installed now ({installed}). {again}")
    parts = [f"{named(models)} in {sessions(ids)}"
             for models, ids in sorted(by.items(), key=lambda kv: (kv[0] != installed, kv[1][0]))]
    what = "model weights and scoring rules" if any(other_rules_only(m, installed) for m in by) else "model weights"
    return (f"These sessions were judged by {len(by)} sets of {what}: "
            f"{'; '.join(parts)}. A change in the scores between them may come from the models, not the "
            f"athlete. {again}")


NO_SCORES = ("No scores yet: correct reps, stability, balance and injury risk are scored for the "
             "movements the models know (or a wrist-sensor set's stability).")


def has_scores(rows: Sequence[ProgressRow]) -> bool:
    """Whether ``scores_figure`` has a line to draw: else it is an empty grid, said in words."""
    return any(_ok(getattr(r, key)) for r in rows for key, _ in SCORES)


SCORES_PANEL_HEIGHT = 180  # px per exercise on the scores chart


def scores_panels(rows: Sequence[ProgressRow]) -> list[tuple[str, bool]]:
    """The panels of ``scores_figure``: (exercise, wrist sensor) with a score, in the order of
    the exercise's first session."""
    out: list[tuple[str, bool]] = []
    for r in rows:
        if (r.exercise, r.sensor_set) not in out and any(_ok(getattr(r, key)) for key, _ in SCORES):
            out.append((r.exercise, r.sensor_set))
    return out


FELT = (("pain", "Pain", "#e74c3c"), ("effort", "Effort", "#2e86de"))
FELT_NOTE = "As the athlete said: pain 0 none … 10 the worst imaginable; effort 0 rest … 10 maximal (Borg CR10)."
NO_FELT = ("No session says how it felt yet: the athlete (or their trainer) gives pain and effort, "
           "0–10, right after a set is saved, or under Notes and feedback on the session's page.")


MORNING_NOTE = ("Pain the morning after: as the athlete said it the next morning, 0–10; the pain-monitoring "
                f"model allows up to {felt.MORNING_LIMIT}/10, settled by the morning and not rising from week to week.")


def has_felt(rows: Sequence[ProgressRow], morning: Sequence[MorningPainOut] = ()) -> bool:
    """Whether any session says how it felt (pain or effort), or any morning its pain."""
    return bool(morning) or any(r.pain is not None or r.effort is not None for r in rows)


def mornings_between(morning: Sequence[MorningPainOut], start: date | None, end: date | None) -> list[MorningPainOut]:
    """The mornings of the days from ``start`` to ``end`` (None: open), and the morning after
    ``end``: it tells how that day's training settled."""
    return [m for m in morning
            if (start is None or m.day >= start) and (end is None or m.day <= end + timedelta(days=1))]


MORNING_HOUR = 7  # a morning's pain is drawn at this hour of its day


def felt_figure(rows: Sequence[ProgressRow], *, morning: Sequence[MorningPainOut] = (),
                height: int = 300) -> go.Figure:
    """Pain (0-10 numeric rating scale) and effort (Borg CR10) of the sessions that say them, one
    line each over the dates, whatever the exercise, and the pain of the mornings after, dotted
    (``physio_core.felt``)."""
    fig = go.Figure()
    tz = rows[0].date.tzinfo if rows else None
    mornings_at = [datetime.combine(m.day, time(MORNING_HOUR), tzinfo=tz) for m in morning]
    if morning:
        fig.add_trace(go.Scatter(
            x=mornings_at, y=[m.pain for m in morning],
            mode="lines+markers", name="Pain next morning", line=dict(color=FELT[0][2], dash="dot"), showlegend=True,
            marker=dict(symbol="diamond"), customdata=[f"{m.day:%Y-%m-%d}" for m in morning],
            hovertemplate="Pain the morning of %{customdata}: %{y}/10<extra></extra>"))
    for key, label, colour in FELT:
        said = [r for r in rows if getattr(r, key) is not None]
        if not said:
            continue
        fig.add_trace(go.Scatter(
            x=[r.date for r in said], y=[getattr(r, key) for r in said], mode="lines+markers", name=label,
            line=dict(color=colour), customdata=[[r.session_id, pretty_exercise(r.exercise, short=True)]
                                                 for r in said],
            hovertemplate=label + " %{y}/10 — session #%{customdata[0]}, %{customdata[1]}<extra></extra>",
        ))
    if morning:  # the model's limit for the morning after
        fig.add_hline(y=felt.MORNING_LIMIT, line=dict(color="#bbbbbb", dash="dash", width=1),
                      annotation_text="the morning's limit", annotation_position="top left",
                      annotation_font=dict(size=11, color="#888888"))
    fig = _layout(fig, height, "0–10")
    fig.update_yaxes(range=[-0.5, 10.5], dtick=2)
    shown = [*(r.date for r in rows), *mornings_at]
    if shown and max(shown) - min(shown) >= timedelta(days=1):
        # the dates of every session (and morning) shown, as the charts around it: pain said in
        # two sessions of ten was drawn across the whole width, its weeks unlike those above it
        pad = (max(shown) - min(shown)) * 0.04
        fig.update_xaxes(range=[min(shown) - pad, max(shown) + pad])
    return fig


def scores_figure(rows: Sequence[ProgressRow], *, panel_height: int = SCORES_PANEL_HEIGHT) -> go.Figure:
    """The share of reps judged correct, stability, balance and injury risk (0-1) over the
    sessions, one panel per exercise on a shared date axis. A line joins one exercise's sessions
    only: a squat's stability and a shoulder abduction's are not steps of one progress, and two
    sessions a day of different exercises drew a saw. A wrist-sensor set's stability (steadiness
    of the bar path) is not the video's (the body's sway and form): its panel is its own, its line
    dotted."""
    from plotly.subplots import make_subplots

    panels = scores_panels(rows)
    titles = [pretty_exercise(ex, short=True) + (" · wrist sensor" if sensor else "") for ex, sensor in panels]
    n = max(1, len(panels))
    height = 140 + panel_height * n
    # 60 px between panels: room for the next panel's title under the x ticks
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, subplot_titles=titles or None,
                        vertical_spacing=60 / height if n > 1 else 0.0)
    colours = {"correct_share": "#8e44ad", "stability_score": "#2e86de", "balance_score": "#10ac84",
               "injury_risk": "#ee5253"}
    in_legend: set[str] = set()
    for i, (exercise, sensor) in enumerate(panels, start=1):
        for key, label in SCORES:
            pts = [r for r in rows if r.exercise == exercise and r.sensor_set == sensor and _ok(getattr(r, key))]
            if not pts:
                continue
            name = f"{label} (wrist sensor)" if sensor else label
            fig.add_trace(go.Scatter(
                x=[r.date for r in pts], y=[getattr(r, key) for r in pts], mode="lines+markers",
                name=name, legendgroup=name, showlegend=name not in in_legend,
                line=dict(color=colours[key], dash="dot" if sensor else "solid"),
                marker_symbol="diamond" if sensor else "circle",
                customdata=[[r.session_id, pretty_exercise(r.exercise, short=True).lower()] for r in pts],
                hovertemplate=f"{name} %{{y:{'.0%' if key == 'correct_share' else '.2f'}}} — "
                              f"session #%{{customdata[0]}} "
                              f"(%{{customdata[1]}})<extra></extra>",
            ), row=i, col=1)
            in_legend.add(name)
    _widen(fig)
    fig.update_yaxes(range=[0, 1.05], nticks=4 if n > 1 else None)
    fig.update_xaxes(title_text="session date", row=n, col=1)
    fig.update_yaxes(title_text="share or score (0–1)" if n == 1 else "0–1")
    # the subplot titles are annotations: smaller than a chart title, as a panel's name should be
    fig.update_annotations(font_size=13)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10),
                      hovermode="closest", legend=LEGEND_BELOW)
    return fig


def exercise_mix_figure(rows: Sequence[ProgressRow], *, height: int = 300) -> go.Figure:
    """Share of sessions per exercise (donut), reps in the hover text."""
    counts = Counter(r.exercise for r in rows)
    reps = Counter()
    for r in rows:
        reps[r.exercise] += r.reps
    names = sorted(counts)
    colours = _colours(names)
    fig = go.Figure(go.Pie(
        labels=[pretty_exercise(n, short=True) for n in names], values=[counts[n] for n in names], hole=0.45,
        marker_colors=[colours[n] for n in names], customdata=[[reps[n]] for n in names], sort=False,
        hovertemplate="%{label}: %{value} sessions, %{customdata[0]} reps<extra></extra>",
    ))
    # the legend below the donut, never over it: Plotly's auto-margin makes room for it there
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.02, x=0))
    return fig

