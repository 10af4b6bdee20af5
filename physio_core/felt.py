"""How a set felt, as the athlete says it: pain and effort, each a whole number 0..10.

- **Pain**: the 0-10 numeric rating scale (NRS): 0 no pain, 10 the worst pain imaginable; 1-3 is
  usually read as mild, 4-6 moderate, 7-10 severe.
- **Effort**: Borg's CR10 scale of perceived exertion in Foster's wording for a training session
  (session RPE): 0 rest, 3 moderate, 5 hard, 7 very hard, 10 maximal.

Stored on the session (``sessions.pain`` / ``sessions.effort``, None: not asked); the athlete or
their staff sets them right after the set is saved, or later on the session's page.

- **Pain the morning after** (``morning_pain``: one number a day, on the same 0-10 scale), read
  against the pain-monitoring model (Thomeé 1997; Silbernagel et al. 2007): training may hurt up
  to 5/10, but the pain should have settled by the next morning, and should not rise from week
  to week. ``morning_note`` says where the latest morning stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

SCALE = range(0, 11)
PAIN_WORDS = {0: "no pain", 1: "mild", 2: "mild", 3: "mild", 4: "moderate", 5: "moderate", 6: "moderate",
              7: "severe", 8: "severe", 9: "severe", 10: "worst imaginable"}
EFFORT_WORDS = {0: "rest", 1: "very, very easy", 2: "easy", 3: "moderate", 4: "somewhat hard", 5: "hard",
                6: "hard", 7: "very hard", 8: "very hard", 9: "very hard", 10: "maximal"}


def check(pain: int | None, effort: int | None) -> None:
    """ValueError unless each is None (not asked) or a whole number 0..10."""
    for what, v in (("pain", pain), ("effort", effort)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v not in SCALE):
            raise ValueError(f"{what} is a whole number from 0 to 10 (or not asked), not {v!r}")


def pain_label(v: int | None) -> str:
    return "not asked" if v is None else f"{v} · {PAIN_WORDS[v]}"


def effort_label(v: int | None) -> str:
    return "not asked" if v is None else f"{v} · {EFFORT_WORDS[v]}"


def in_words(pain: int | None, effort: int | None) -> str:
    """"pain 3/10 (mild), effort 7/10 (very hard)"; "" when neither was asked."""
    parts = [f"{what} {v}/10 ({words[v]})" for what, v, words in
             (("pain", pain, PAIN_WORDS), ("effort", effort, EFFORT_WORDS)) if v is not None]
    return ", ".join(parts)


MORNING_LIMIT = 5  # the pain-monitoring model's: more than 5/10 the morning after is too much
SET_LIMIT = 5  # and during the exercise
MORNING_RISE = 2  # up this much on the morning before: the training's pain has not settled
WEEK_RISE = 1.0  # the mean of a week's mornings up this much on the week before's: rising
MORNING_RECENT_DAYS = 7  # a morning said in the last week stands for how the athlete is now


def morning_note(mornings: Sequence, today: date) -> tuple[str, bool] | None:
    """The latest morning pain (``MorningPainOut``s, oldest first) against the pain-monitoring
    model, in words, and whether it stays within it; None without a morning in the last
    ``MORNING_RECENT_DAYS``."""
    if not mornings or (today - mornings[-1].day).days >= MORNING_RECENT_DAYS:
        return None
    last = mornings[-1]
    said = f"Pain on the morning of {last.day:%Y-%m-%d}: {last.pain}/10 ({PAIN_WORDS[last.pain]})"
    before = mornings[-2] if len(mornings) > 1 and (last.day - mornings[-2].day).days <= 7 else None
    if last.pain > MORNING_LIMIT:
        return f"{said}, above the {MORNING_LIMIT}/10 the pain-monitoring model allows: ease the load.", False
    if before is not None and last.pain - before.pain >= MORNING_RISE:
        return (f"{said}, up {last.pain - before.pain} on the morning of {before.day:%Y-%m-%d}: the pain has "
                "not settled by the morning; ease the load."), False
    week = [m.pain for m in mornings if 0 <= (last.day - m.day).days < 7]
    earlier = [m.pain for m in mornings if 7 <= (last.day - m.day).days < 14]
    # the means compared in whole numbers: 8/3 - 5/3 is 0.999... in floating point, not 1
    if earlier and (sum(week) * len(earlier) - sum(earlier) * len(week)) >= WEEK_RISE * len(week) * len(earlier):
        return (f"{said}; this week's mornings average {sum(week) / len(week):.1f}, the week before's "
                f"{sum(earlier) / len(earlier):.1f}: rising from week to week; ease the load."), False
    return f"{said}, within the pain-monitoring model (at most {MORNING_LIMIT}/10, settled, not rising).", True


def morning_asked(trained_days: Sequence[date], mornings: Sequence, today: date) -> bool:
    """Whether to ask for this morning's pain: the athlete trained yesterday and has not said it."""
    return (today - timedelta(days=1)) in set(trained_days) and all(m.day != today for m in mornings)

