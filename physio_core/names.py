"""How the app names an exercise: the short names a tile, a chart legend or a sentence uses.

No plotting here: the scoring (``assess``) words its messages with these names too, and runs
where Plotly is not needed.
"""

from __future__ import annotations

# Exercise names short enough for a metric tile or a chart legend (Streamlit cuts a long metric
# value to "standing sh…"; a legend of full names wraps over Plotly's tool bar).
SHORT_EXERCISE = {
    "standing_active_straight_leg_raise": "Straight leg raise",
    "standing_shoulder_abduction": "Shoulder abduction",
    "standing_shoulder_extension": "Shoulder extension",
    "standing_shoulder_internal_external_rotation": "Shoulder rotation",
    "standing_shoulder_scaption": "Shoulder scaption",
    "other": "No known exercise",
}


# a session is filed under "auto" when its exercise was neither named nor recognised by the models
NOT_RECOGNISED = "Not recognised"


def pretty_exercise(name: str, short: bool = False) -> str:
    """'deep_squat' -> 'Deep squat'; with ``short`` 'standing_shoulder_scaption' -> 'Shoulder scaption'."""
    if name == "auto":
        return NOT_RECOGNISED
    if (short or name == "other") and name in SHORT_EXERCISE:  # "other" has no long name
        return SHORT_EXERCISE[name]
    return name.replace("_", " ").capitalize()


def in_sentence(name: str) -> str:
    """An exercise's short name inside a sentence: 'standing_shoulder_abduction' -> 'shoulder
    abduction', 'other' -> 'no exercise the models know'."""
    if name == "other":
        return "no exercise the models know"
    return pretty_exercise(name, short=True).lower()
