"""PhysioTrack: the Streamlit app shell (navigation + the athlete picker shared by all pages).

    streamlit run app.py
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages._shared import athlete_picker, get_engine, navigation_spec

ROOT = Path(__file__).resolve().parent

st.set_page_config(page_title="PhysioTrack", page_icon=":material/accessibility_new:", layout="wide")


def _live_placeholder() -> None:
    st.title("Live session")
    st.info("The live camera session is not installed in this build yet. "
            "Use **Upload analysis** with a recorded video meanwhile.")


def _pages() -> dict[str, list]:
    groups: dict[str, list] = {}
    for spec in navigation_spec(ROOT):
        target = str(spec.path) if spec.path is not None else _live_placeholder
        groups.setdefault(spec.group, []).append(
            st.Page(target, title=spec.title, icon=spec.icon, url_path=spec.url_path,
                    default=spec.default)
        )
    return groups


page = st.navigation(_pages())
with st.sidebar:
    st.markdown("### PhysioTrack")
athlete_picker(get_engine())
page.run()
