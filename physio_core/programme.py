"""The athlete's programme against what they did: the exercises their trainer set, each so many
sessions a week (and, if said, sets a session and reps a set), counted against the sessions stored.

A session of the programme is a day: each set the app stores (a live session from START to STOP,
an upload, a sensor set) is one set, and the days on which an exercise has at least one are its
sessions. Three sets of squats on Monday are one squat session, of three sets.

A week runs Monday to Sunday on the viewer's clock, as Progress's "Sessions per week". A week is
held to the programme as it stood at the week's end: an exercise put in on Thursday counts for
that week, one taken off on Thursday does not. In the week an exercise is put in, it asks only
what the days left allow, counted from its first day: 5 sessions a week put in on Saturday are
2 that week, Mon/Wed/Fri put in on Thursday is Friday's one (none, put in on Saturday). A session
is a day, so more than 7 sessions a week (an item stored before that) count as 7. An item
changed (3 sessions a week, then 4) is the old item ended and a new one started
(``store.access.set_programme_item``), so past weeks keep the plan they had. A set counts for its
exercise whatever its scores; more sessions than planned count as the plan (a week of 5 squat
sessions for 3 planned is 3 of 3, not 5 of 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import plotly.graph_objects as go

from physio_core.names import pretty_exercise
from physio_core.reps import EXERCISES as MOVEMENTS


def exercises() -> list[str]:
    """What a programme can hold: the movements the camera counts and the wrist sensor's lifts."""
    from physio_core.imu.analyze import EXERCISE_OF_LIFT

    return [*MOVEMENTS, *(e for lift, e in EXERCISE_OF_LIFT.items() if lift != "rest")]


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def mondays(start: date, end: date) -> list[date]:
    """The weeks (their Mondays) from the one holding ``start`` to the one holding ``end``."""
    first, last = monday(start), monday(end)
    return [first + timedelta(weeks=k) for k in range((last - first).days // 7 + 1)]


def _in_force(items: Sequence, at: datetime) -> dict[str, object]:
    """Exercise -> the item in force at ``at`` (started before, not ended by then)."""
    out: dict[str, object] = {}
    for it in sorted(items, key=lambda i: i.started_at):
        if it.started_at <= at and (it.ended_at is None or it.ended_at > at):
            out[it.exercise] = it
    return out


def _week_end(week: date, tz: tzinfo) -> datetime:
    return datetime.combine(week + timedelta(days=7), time(0), tz) - timedelta(microseconds=1)


@dataclass(frozen=True)
class WeekPlan:
    """One exercise of the programme in one week."""

    week: date  # its Monday
    exercise: str
    planned: int  # sessions a week
    done: int  # sessions of the exercise that week: the days with at least one set of it
    sets: int = 0  # the sets of it stored that week

    @property
    def counted(self) -> int:
        return min(self.done, self.planned)


def _first_day(items: Sequence, exercise: str, week: date, tz: tzinfo) -> date:
    """The week's Monday, or, where the exercise was put in the programme during the week (not in
    it at the week's start), the day it was put in."""
    start = datetime.combine(week, time(0), tz)
    if exercise in _in_force(items, start):
        return week
    put_in = [i.started_at for i in items if i.exercise == exercise and start < i.started_at <= _week_end(week, tz)]
    return min(put_in).astimezone(tz).date() if put_in else week


def _planned(item, first: date) -> int:
    """The sessions ``item`` asks of the week from ``first`` on (its Monday: the whole plan): a
    session is a day, so no more than the days left, and with the days said, those left."""
    if item.days:
        return sum(d >= first.weekday() for d in item.days)
    return min(item.sessions_per_week, 7 - first.weekday())


def week_plans(items: Sequence, rows: Sequence, weeks: Sequence[date], tz: tzinfo = UTC) -> list[WeekPlan]:
    """For each week, each exercise the programme held at its end, with the sessions done (in the
    week it was put in, what the days left allow: ``_first_day``, ``_planned``).
    ``items``: ``ProgrammeItemOut``; ``rows``: ``ProgressRow`` (``date`` on the clock of ``tz``)."""
    out = []
    for week in weeks:
        for exercise, it in sorted(_in_force(items, _week_end(week, tz)).items()):
            first = _first_day(items, exercise, week, tz)
            if not (planned := _planned(it, first)):
                continue  # put in after its last day of the week
            sets = [d for d in _days(rows, exercise, tz) if first <= d <= week + timedelta(days=6)]
            out.append(WeekPlan(week, exercise, planned, len(set(sets)), len(sets)))
    return out


def _days(rows: Sequence, exercise: str, tz: tzinfo) -> list[date]:
    """The day of each stored set of ``exercise``, on the clock of ``tz``."""
    return [r.date.astimezone(tz).date() for r in rows if r.exercise == exercise]


def share_done(plans: Sequence[WeekPlan]) -> float | None:
    """The planned sessions done, of those planned (None when nothing was planned)."""
    planned = sum(p.planned for p in plans)
    return sum(p.counted for p in plans) / planned if planned else None


DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def days_words(days: Sequence[int]) -> str:
    """(0, 2, 4) -> "Mon, Wed, Fri"."""
    return ", ".join(DAY_NAMES[d] for d in sorted(days))


@dataclass(frozen=True)
class ItemNow:
    """An exercise of the programme now, with this week's sessions so far."""

    item: object  # ProgrammeItemOut
    done: int  # sessions (days with a set of it) this week, Monday to today
    last_done: date | None  # the last session of the exercise, ever
    sets_today: int = 0  # its sets stored today
    # with the item's days said: whether today is one, and the next one after today
    planned_today: bool | None = None
    next_day: date | None = None
    # the sessions asked of this week: in the week it was put in, what its days left allow (as
    # ``week_plans`` counts it; 0: it starts next week), else the plan's
    planned: int = 0

    def week_words(self) -> str:
        """This week's sessions against the plan: "1 of 2", "2 of 2 ✓", "from next week"."""
        if not self.planned:
            return "from next week"
        return f"{self.done} of {self.planned}" + (" ✓" if self.done >= self.planned else "")


def _next_day(days: Sequence[int], today: date) -> date | None:
    return next((today + timedelta(days=k) for k in range(1, 8) if (today + timedelta(days=k)).weekday() in days),
                None)


def this_week(items: Sequence, rows: Sequence, today: date, tz: tzinfo = UTC) -> list[ItemNow]:
    week = monday(today)
    current = [it for it in items if it.ended_at is None]
    out = []
    for it in sorted(current, key=lambda i: pretty_exercise(i.exercise, short=True)):
        days = _days(rows, it.exercise, tz)
        planned = it.days
        first = _first_day(items, it.exercise, week, tz)  # the week's sets from the day it was put in, as week_plans
        out.append(ItemNow(it, len({d for d in days if first <= d <= today}), max(days) if days else None,
                           days.count(today), today.weekday() in planned if planned else None,
                           _next_day(planned, today) if planned else None, _planned(it, first)))
    return out


def today_words(now: Sequence[ItemNow]) -> str | None:
    """What the programme asks today, for the athlete opening the live page: each exercise
    planned today (or, without days said, with sessions of the week still to do, or a set done
    today) and its sets: "Deep squat 1 of 3 sets, Sit to stand". None when nothing."""
    said = []
    for n in now:
        if n.planned_today is False or (n.planned_today is None and n.done >= n.planned and not n.sets_today):
            continue
        sets = sets_words(n)
        said.append(pretty_exercise(n.item.exercise, short=True) + (f" {sets}" if sets else ""))
    return ", ".join(said) or None


def day_words(now: ItemNow) -> str | None:
    """Where today stands in an item with its days said: "planned today", "next Wed"; None
    without days."""
    if now.planned_today is None:
        return None
    return "planned today" if now.planned_today else f"next {DAY_NAMES[now.next_day.weekday()]}"


def recent_share(items: Sequence, rows: Sequence, today: date, weeks: int = 4, tz: tzinfo = UTC) -> float | None:
    """The share of planned sessions done over the ``weeks`` whole weeks before this one (a
    trainer's list: this week is not over)."""
    this = monday(today)
    return share_done(week_plans(items, rows, [this - timedelta(weeks=k) for k in range(weeks, 0, -1)], tz))


def plan_words(item) -> str:
    """ "3 sessions a week (Mon, Wed, Fri), 3 sets of 10 reps" (or "3 sets", or "10 reps a set",
    as said) """
    per = f"{item.sessions_per_week} session{'s' * (item.sessions_per_week != 1)} a week"
    if days := item.days:
        per += f" ({days_words(days)})"
    sets, reps = item.sets_per_session, item.reps_per_set
    reps_said = f"{reps} rep{'s' * (reps != 1)}"
    if sets and reps:
        return f"{per}, {sets} set{'s' * (sets != 1)} of {reps_said}"
    if sets:
        return f"{per}, {sets} set{'s' * (sets != 1)}"
    return per + (f", {reps_said} a set" if reps else "")


def sets_words(now: ItemNow) -> str | None:
    """Today's sets of the exercise, against the plan where it says how many: "2 of 3 sets";
    None on a day off the plan's days with none done."""
    if now.planned_today is False and not now.sets_today:
        return None
    planned = now.item.sets_per_session
    if planned:
        return f"{now.sets_today} of {planned} sets" + (" ✓" if now.sets_today >= planned else "")
    return f"{now.sets_today} set{'s' * (now.sets_today != 1)}" if now.sets_today else None


def adherence_note(plans: Sequence[WeekPlan]) -> str:
    """What the weekly chart says, in a sentence, with how it counts."""
    share = share_done(plans) or 0.0
    return (f"{share:.0%} of the planned sessions in these weeks were done. A session is a day with at least "
            "one set of the exercise. A week is held to the programme as it stood at the week's end; sessions "
            "beyond the plan count as the plan.")


def adherence_figure(plans: Sequence[WeekPlan], *, height: int = 280) -> go.Figure:
    """The share of the week's planned sessions done, one bar a week; its hover lists each
    exercise's sessions done of planned."""
    weeks = sorted({p.week for p in plans})
    shares, texts, labels = [], [], []
    for w in weeks:
        these = [p for p in plans if p.week == w]
        shares.append(100 * (share_done(these) or 0.0))
        texts.append("<br>".join(f"{pretty_exercise(p.exercise, short=True)}: {p.done} of {p.planned} "
                                 f"({p.sets} set{'s' * (p.sets != 1)})" for p in these))
        # on the bar: a week with nothing done has no bar to see, only its "0 of 3"
        labels.append(f"{sum(p.counted for p in these)} of {sum(p.planned for p in these)}")
    fig = go.Figure(go.Bar(
        x=[datetime.combine(w, time(0)) for w in weeks], y=shares, customdata=texts, width=5 * 86400000.0,
        text=labels, textposition="outside", cliponaxis=False,
        marker_color=["#10ac84" if s >= 100 else "#2e86de" for s in shares],
        hovertemplate="week of %{x|%Y-%m-%d}: %{y:.0f}%<br>%{customdata}<extra></extra>",
    ))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=20, b=10), showlegend=False,
                      xaxis_title="week", yaxis_title="planned sessions done (%)")
    fig.update_yaxes(range=[0, 115], tickvals=[0, 20, 40, 60, 80, 100])
    if len(weeks) <= 12:
        fig.update_xaxes(tickvals=[datetime.combine(w, time(0)) for w in weeks], tickformat="%b %d")
    return fig


# ------------------------------------------------------------------ the load, by the pain-monitoring model

LOAD_WEEKS = 2  # the whole weeks before this one that a step up of the load looks back on
# its form slipped, and the load stays, when the share of its reps judged correct since then fell
# against the LOAD_WEEKS weeks before by more than FORM_DROP and by more than chance would (one-sided
# Fisher's exact test, p < FORM_P). Against the athlete's own earlier weeks, not a fixed share: the
# mistake model calls 13 % of an unseen subject's correct reps incorrect, and more of some
# subjects' (models/mistake_gcn.md), so a fixed share would hold some athletes back for good.
FORM_DROP = 0.10
FORM_P = 0.05


@dataclass(frozen=True)
class LoadAdvice:
    word: str  # "ease", "keep", "may increase"
    why: str


def _judged(rows: Sequence, exercise: str, start: date, end: date | None, tz: tzinfo) -> tuple[int, int]:
    """(correct, judged) reps of the exercise's sets on the days from ``start`` to before ``end``."""
    from physio_core.store.repo import judged_reps

    counts = [judged_reps(r.metrics, r.reps) for r in rows if r.exercise == exercise
              and start <= r.date.astimezone(tz).date() and (end is None or r.date.astimezone(tz).date() < end)]
    return sum(c[0] for c in counts if c), sum(c[1] for c in counts if c)


def form_slipped(exercise: str, rows: Sequence, since: date, tz: tzinfo = UTC) -> tuple[float, float] | None:
    """(share now, share before) of the exercise's reps judged correct, since ``since`` and in the
    ``LOAD_WEEKS`` weeks before it, where it fell by more than ``FORM_DROP`` and by more than chance
    would; None where it did not, or where the models judged no rep in either stretch."""
    from scipy.stats import fisher_exact

    now = _judged(rows, exercise, since, None, tz)
    before = _judged(rows, exercise, since - timedelta(weeks=LOAD_WEEKS), since, tz)
    if not now[1] or not before[1]:
        return None
    share_now, share_before = now[0] / now[1], before[0] / before[1]
    # the fall in whole numbers: 120/150 - 105/150 is 0.1000...09 in floating point, more than 10 points
    if (before[0] * now[1] - now[0] * before[1]) * 100 <= round(FORM_DROP * 100) * before[1] * now[1]:
        return None
    table = [[now[0], now[1] - now[0]], [before[0], before[1] - before[0]]]
    return (share_now, share_before) if fisher_exact(table, alternative="less").pvalue < FORM_P else None


def load_advice(item, rows: Sequence, mornings: Sequence, today: date, tz: tzinfo = UTC,
                items: Sequence | None = None) -> LoadAdvice | None:
    """Whether an exercise's load may go up, by the pain-monitoring model (``physio_core.felt``):
    ease it when the last set of it hurt more than ``felt.SET_LIMIT`` or the latest morning is
    outside the model; it may increase when the exercise was in the programme all of the
    ``LOAD_WEEKS`` whole weeks before this one, every set of it since then that says its pain
    stayed within the limit, every morning since then within the model (``felt.morning_note`` on
    that morning), every planned session of those weeks was done and its form held
    (``form_slipped``); else keep it. None when no pain was said since then: nothing to go on.
    ``rows``: the athlete's ``ProgressRow``s; ``mornings``: their ``MorningPainOut``s; ``items``:
    the athlete's programme, ended items too (default: ``item`` alone), for the weeks before a
    change of the exercise's plan."""
    from physio_core import felt

    since = monday(today) - timedelta(weeks=LOAD_WEEKS)
    pains = [r.pain for r in rows if r.exercise == item.exercise and r.pain is not None
             and r.date.astimezone(tz).date() >= since]
    mornings = sorted(mornings, key=lambda m: m.day)
    recent = [k for k, m in enumerate(mornings) if m.day >= since]
    if not pains and not recent:
        return None
    note = felt.morning_note(mornings, today)
    if pains and pains[-1] > felt.SET_LIMIT:
        return LoadAdvice("ease", f"the last set hurt {pains[-1]}/10, more than the {felt.SET_LIMIT} the "
                                  "pain-monitoring model allows")
    if note is not None and not note[1]:
        return LoadAdvice("ease", "the latest morning's pain is outside the pain-monitoring model")
    # each morning read as it was read that day: above the limit, not settled, or rising
    if any(p > felt.SET_LIMIT for p in pains) or not all(felt.morning_note(mornings[:k + 1], mornings[k].day)[1]
                                                          for k in recent):
        return LoadAdvice("keep", f"a set or a morning of the last {LOAD_WEEKS} weeks was outside the "
                                  "pain-monitoring model")
    mine = [i for i in (items or [item]) if i.exercise == item.exercise] or [item]
    plans = week_plans(mine, rows, [since + timedelta(weeks=k) for k in range(LOAD_WEEKS)], tz)
    if len(plans) < LOAD_WEEKS or item.exercise not in _in_force(mine, datetime.combine(since, time(0), tz)):
        return LoadAdvice("keep", f"pain within the pain-monitoring model; the exercise is in the programme for "
                                  f"less than {LOAD_WEEKS} whole weeks")
    if share_done(plans) < 1:
        return LoadAdvice("keep", "pain within the pain-monitoring model, but not every planned session of the "
                                  f"last {LOAD_WEEKS} weeks was done")
    if (form := form_slipped(item.exercise, rows, since, tz)) is not None:
        return LoadAdvice("keep", f"pain within the pain-monitoring model, but its form slipped: {form[0]:.0%} of "
                                  f"its reps judged correct since {since:%b %d}, against {form[1]:.0%} in the "
                                  f"{LOAD_WEEKS} weeks before")
    return LoadAdvice("may increase", f"pain within the pain-monitoring model and every planned session of "
                                      f"the last {LOAD_WEEKS} weeks done")
