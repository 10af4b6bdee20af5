"""How a set felt, as the athlete says it: pain and effort, each a whole number 0..10.

- **Pain**: the 0-10 numeric rating scale (NRS): 0 no pain, 10 the worst pain imaginable; 1-3 is
  usually read as mild, 4-6 moderate, 7-10 severe.
- **Effort**: Borg's CR10 scale of perceived exertion in Foster's wording for a training session
  (session RPE): 0 rest, 3 moderate, 5 hard, 7 very hard, 10 maximal.

Stored on the session (``sessions.pain`` / ``sessions.effort``, None: not asked); the athlete or
their staff sets them right after the set is saved, or later on the session's page.
"""

from __future__ import annotations

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
