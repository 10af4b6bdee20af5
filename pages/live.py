"""Live session: the athlete's webcam with the skeleton, angles and rep counter drawn on it.

The frame work runs in physio_core.live.LiveSession (its own worker thread); this page only
lays out the camera component and reads snapshots of the session. STOP (the camera's own
button) ends the session, stores it and links to its detail page.

ICE servers come from settings (PHYSIO_ICE_SERVERS, a JSON list): empty for local use, a
STUN/TURN list for deployment, e.g.
  PHYSIO_ICE_SERVERS='[{"urls": ["stun:stun.example.org:3478"]},
                       {"urls": ["turn:turn.example.org:3478?transport=udp",
                                 "turns:turn.example.org:5349"],
                        "username": "physio", "credential": "secret"}]'
Users behind NAT (phones on mobile data, most offices) need the TURN entry.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from pages._auth import require_login
from pages._shared import (
    current_athlete_id,
    db_error_here,
    exercise_choice,
    felt_after_save,
    get_engine,
    link_to_session,
    local_time,
    MORNING_NOTICE,
    morning_pain_form,
    programme_now,
    REPS_ASKED_HELP,
    show_table,
    shown_time,
    text_metric,
    tile_row,
    viewer_id,
    viewer_tz,
    wrapping_columns,
)
from physio_core import report
from physio_core.assess import UNSURE_BELOW, Recognition, warm_up
from physio_core.config import get_settings
from physio_core.kinematics import unwrapped
from physio_core.live import LiveConfig, LiveOutcome, LiveSession, LiveSnapshot
from physio_core.names import in_sentence
from physio_core.reps import EXERCISES as REP_EXERCISES
from physio_core.skeleton import N_JOINTS
from physio_core.spoken import Announcer, rep_goals

log = logging.getLogger("physiotrack.live")

SESSION_KEY = "live_session"  # the LiveSession armed for (or running) the current stream
PLAYING_KEY = "live_was_playing"  # the stream was playing on the previous run
OUTCOME_KEY = "live_outcome"  # the LiveOutcome of the last STOP
PREVIOUS_KEY = "live_previous"  # the stopped LiveSession whose outcome is shown
ANNOUNCER_KEY = "live_announcer"  # the Announcer of the stream playing: what it has said aloud
PENDING_KEY = "live_pending"  # [(LiveSession, LiveOutcome)] stopped while the database was away, oldest first
EXERCISES = ["auto", *REP_EXERCISES]
CAMERAS = {"Front (selfie)": "user", "Back": "environment"}
SET_MARKS = 20  # the last reps whose mistake check the last-rep panel lists

TRANSLATIONS = {
    "device_access_denied": (
        "The browser blocked the camera. Allow camera access for this site (camera icon in the "
        "address bar, or the phone's settings) and press START again."
    ),
    "device_not_available": "No camera was found on this device. Plug one in and press START.",
    "media_api_not_available": (
        "This browser cannot use the camera here. Open the app over https (or on localhost) "
        "in a recent Chrome, Firefox or Safari."
    ),
    "device_ask_permission": "Allow the camera in the browser's prompt to start the session.",
}


def _recognised(r: Recognition | None) -> str:
    if r is None:
        return "–"
    if r.exercise == "other":
        return "No known exercise"
    guess = "?" if r.unsure else ""
    return f"{report.pretty_exercise(r.exercise, short=True)}{guess} ({r.confidence:.0%})"


def _looks_like(snap: LiveSnapshot) -> str:
    """The exercise named is most likely not the one being done (``LiveSnapshot.looks_like``)."""
    named = in_sentence(snap.exercise)
    seen = f"{in_sentence(snap.looks_like.exercise)} ({snap.looks_like.confidence:.0%})"
    fix = ("If it is, press STOP, pick it above and START again; the stopped session can be scored "
           "again as it on its page.")
    if snap.rep_count == 0:
        return f"No rep of {named} counted yet: the movement looks like {seen}. {fix}"
    return f"The movement looks like {seen}, not {named}: its reps are counted and scored as {named}. {fix}"


def _fmt(v: float, unit: str = "") -> str:
    return "–" if v != v else f"{v:.0f}{unit}"  # NaN -> dash


def _arm(config: LiveConfig, engine) -> LiveSession:
    """The session for the next START (re-armed when the choices change before it starts)."""
    session: LiveSession | None = st.session_state.get(SESSION_KEY)
    if session is not None and session.snapshot().frames_received == 0 and session.config != config:
        session.close()
        session = None
    if session is None or session.snapshot().state == "stopped":
        session = LiveSession(config, engine=engine)
        st.session_state[SESSION_KEY] = session
    return session


def _angle_chart(snap: LiveSnapshot) -> go.Figure:
    fig = go.Figure(go.Scatter(x=list(snap.chart_times), y=unwrapped(list(snap.chart_values)),
                               mode="lines", line={"width": 3}))
    fig.update_layout(
        height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title=report.pretty_angle(snap.principal_angle or "") + " (°)",
        xaxis_title="time (s)", yaxis_title=None, showlegend=False,
    )
    return fig


def _read_programme(engine, athlete_id: int | None) -> tuple[list, list] | None:
    """The athlete's programme items and sessions, read once a run for the lines below; None
    without an athlete, a database or a current programme."""
    if engine is None or athlete_id is None:
        return None
    from physio_core.store import progress_for_athlete
    from physio_core.store.access import programme as programme_of

    try:
        items = programme_of(engine, athlete_id, viewer_id=viewer_id())
        if not any(it.ended_at is None for it in items):
            return None
        return items, progress_for_athlete(engine, athlete_id, viewer_id=viewer_id())
    except Exception:  # the counter works without it; the page says elsewhere when the database is away
        log.warning("could not read the programme", exc_info=True)
        return None


def _read_targets(engine, athlete_id: int | None) -> list:
    """The athlete's range-of-motion targets, read once a run; none without an athlete or a database."""
    if engine is None or athlete_id is None:
        return []
    from physio_core.store.access import rom_targets

    try:
        return rom_targets(engine, athlete_id, viewer_id=viewer_id())
    except Exception:  # the counter works without them; the page says elsewhere when the database is away
        log.warning("could not read the range-of-motion targets", exc_info=True)
        return []


def _range_words(v, targets, exercise: str) -> str:
    """The rep's range of its counted angle and of each angle with a target that concerns it:
    "Knee angle (R) 104° · Knee angle (L) 92° of the 110° target"."""
    goals = rep_goals(v, targets, exercise)
    shown = ([v.angle] if v.angle and v.angle not in goals else []) + list(goals)
    parts = []
    for angle in (a for a in shown if a in v.ranges):
        text = f"{report.pretty_angle(angle)} {v.ranges[angle]:.0f}°"
        if angle in goals:
            text += f" of the {goals[angle]:.0f}° target" + (" ✓" if v.ranges[angle] >= goals[angle] else "")
        parts.append(text)
    return " · ".join(parts)


def _programme_now(engine, athlete_id: int | None, exercise: str, read: tuple[list, list] | None = None):
    """``programme_now`` for this page: None without an athlete, an exercise, a database or a
    programme. ``read``: ``_read_programme``'s, where read already."""
    if engine is None or athlete_id is None or exercise == "auto":
        return None
    try:
        if read is not None:
            return programme_now(engine, athlete_id, exercise, rows=read[1], items=read[0])
        return programme_now(engine, athlete_id, exercise)
    except Exception:  # the counter works without it
        log.warning("could not read the programme", exc_info=True)
        return None


def _today_line(read: tuple[list, list] | None) -> str | None:
    """What the athlete's programme asks today (``programme.today_words``); None without it."""
    if read is None:
        return None
    from datetime import datetime

    from physio_core import programme

    items, rows = read
    return programme.today_words(programme.this_week(items, rows, datetime.now(viewer_tz()).date(), viewer_tz()))


def _programme_words(now) -> str:
    """Above the camera: what the programme asks of the exercise, how far today and this week
    have got, and the trainer's note."""
    from physio_core import programme

    said = [f"Programme: {programme.plan_words(now.item)}", f"this week {now.week_words()}"]
    if (day := programme.day_words(now)) is not None:
        said.append(day)
    if (today := programme.sets_words(now)) is not None:
        said.append(f"today {today}")
    return " · ".join(said) + (f". *{now.item.note}*" if now.item.note else ".")


def _good_rep(engine, athlete_id: int | None, exercise: str) -> tuple[str, str] | None:
    """The athlete's own rep of ``exercise`` to copy (``handout.example_rep``: one the models
    judged correct, if any) drawn, and its words; read once per athlete and exercise, and again
    after each set saved here (its rep may be the one to copy now)."""
    if engine is None or athlete_id is None or exercise == "auto":
        return None
    saved = getattr(st.session_state.get(OUTCOME_KEY), "session_id", None)
    key = f"live_good_rep_{athlete_id}_{exercise}_{saved}"
    if key not in st.session_state:
        from physio_core import handout, keyposes
        from physio_core.store import progress_for_athlete

        try:
            rows = progress_for_athlete(engine, athlete_id, exercise, viewer_id=viewer_id())
            example = handout.example_rep(engine, rows, viewer_id())
        except Exception:  # the counter works without it
            log.warning("could not read the athlete's reps", exc_info=True)
            return None
        st.session_state[key] = None if example is None else (keyposes.poses_svg(example), example.words)
    return st.session_state[key]


MORNING_DAYS_READ = 50  # the latest sessions read to know whether yesterday was a training day


def _morning_prompt(engine, athlete_id: int | None) -> None:
    """The morning after a training day, before the set: how much it hurts on waking (the
    pain-monitoring model, ``felt.morning_note``). Read once a day per athlete; asked until said."""
    if engine is None or athlete_id is None:
        return
    from datetime import datetime

    from physio_core import felt
    from physio_core.store import list_sessions
    from physio_core.store.access import morning_pain

    today = datetime.now(viewer_tz()).date()
    key = f"live_morning_asked_{athlete_id}_{today}"
    if said := st.session_state.pop(MORNING_NOTICE, None):
        st.session_state[key] = False
        st.success(said)
        try:  # too much by the pain-monitoring model: said before the set, not only on Progress
            note = felt.morning_note(morning_pain(engine, athlete_id, viewer_id=viewer_id()), today)
        except Exception:
            log.warning("could not read the athlete's mornings", exc_info=True)
            return
        if note is not None and not note[1]:
            st.warning(note[0])
        return
    if key not in st.session_state:
        try:
            recent = list_sessions(engine, athlete_id=athlete_id, viewer_id=viewer_id(), limit=MORNING_DAYS_READ)
            mornings = morning_pain(engine, athlete_id, viewer_id=viewer_id())
        except Exception:  # the counter works without it
            log.warning("could not read the athlete's sessions", exc_info=True)
            return
        st.session_state[key] = felt.morning_asked([local_time(r.started_at).date() for r in recent], mornings, today)
    if st.session_state[key]:
        st.caption("Yesterday was a training day: how much does it hurt this morning, on waking? Training may "
                   f"hurt up to {felt.MORNING_LIMIT}/10, but it should have settled by the next morning.")
        morning_pain_form(engine, athlete_id, key="live_morning", pick_day=False)


def _reps_asked(now) -> int | None:
    """The reps a set the athlete's programme asks of this exercise, None when it says none."""
    return None if now is None else now.item.reps_per_set


# Run in the page itself (st.html, no iframe): Chrome speaks only in a frame the user has clicked
# in, and the page's widgets are clicks there. The script runs again only when the words change;
# each key is said once all the same, and window.__physioSaid lists what was said.
_SAY_JS = """<script>
(() => {  // a scope of its own: the page runs this again for each new utterance
  const said = %s;
  window.__physioSaid = window.__physioSaid || [];
  if (window.__physioSaid.some(s => s.key === said.key)) return;
  window.__physioSaid.push(said);
  try {
    const u = new SpeechSynthesisUtterance(said.text);
    // an English voice, one of the device's own where it has one (others are network voices)
    const en = speechSynthesis.getVoices().filter(v => v.lang.startsWith("en"));
    u.voice = en.find(v => v.localService) || en[0] || null;
    u.lang = u.voice ? u.voice.lang : "en";
    u.rate = 1.1;
    speechSynthesis.speak(u);
    said.spoken = true;
  } catch (e) { said.error = String(e); }
})();
</script>"""


def _say_aloud(snap: LiveSnapshot, reps_asked: int | None, targets, exercise: str) -> None:
    """Say what is new in ``snap`` (``physio_core.spoken``) through the browser's voice."""
    announcer = st.session_state.get(ANNOUNCER_KEY)
    if announcer is None:
        announcer = st.session_state[ANNOUNCER_KEY] = Announcer(reps_asked, targets, exercise)
    announcer.next_words(snap)
    if (said := announcer.last) is not None:
        # the latest words stay drawn: the script runs, and speaks, only when they change
        st.html(_SAY_JS % json.dumps({"key": said.key, "text": said.text}), unsafe_allow_javascript=True)


def _panels(session: LiveSession, reps_asked: int | None = None, say: bool = False, targets=()) -> None:
    snap = session.snapshot()
    if snap.error:
        st.error(snap.error)
    if snap.message:
        st.warning(snap.message, icon=":material/accessibility_new:")
    if snap.recording_problem:
        st.warning(snap.recording_problem, icon=":material/videocam_off:")
    if snap.looks_like is not None:
        st.warning(_looks_like(snap), icon=":material/help:")
    row = tile_row()
    if reps_asked:
        row.metric("Reps", f"{snap.rep_count} of {reps_asked}", help=REPS_ASKED_HELP)
    else:
        row.metric("Reps", snap.rep_count)
    started = snap.frames_processed > 0  # before the first frame: dashes, not "0%" of nobody found
    row.metric("Processed fps", f"{snap.fps:.1f}" if started else "–")
    row.metric("Latency", _fmt(snap.latency_ms, " ms"),
               help=f"95th percentile {_fmt(snap.latency_p95_ms, ' ms')}; frames dropped "
                    f"{snap.frames_dropped} of {snap.frames_received}")
    share = snap.frames_with_person / snap.frames_processed if snap.frames_processed else 0.0
    row.metric("Person found", f"{share:.0%}" if started else "–", help=f"{snap.frames_processed} frames analysed")
    # a metric tile would cut the exercise's name beside the video ("Shoulder…"): this one wraps
    if snap.exercise != "auto":
        text_metric("Exercise", report.pretty_exercise(snap.exercise, short=True),
                    help=report.pretty_exercise(snap.exercise))
    else:
        cfg = session.config
        r = snap.recognised
        full = "" if r is None or r.exercise == "other" else f"{report.pretty_exercise(r.exercise)}. "
        text_metric("Exercise (recognised)", _recognised(r),
                    help=f"{full}Recognised by the exercise classifier from the last "
                         f"{cfg.recognise_window_s:g} s, every {cfg.recognise_every_s:g} s. "
                         f"A question mark: less than {UNSURE_BELOW:.0%} sure, a guess. "
                         "Pick the exercise above to fix it.")
    for line in snap.feedback:
        st.info(line)
    _last_rep(snap, session.config.mirror, targets, session.config.exercise)
    if snap.angles:
        rows = [{"angle": report.pretty_angle(n), "now (°)": round(a.current), "min (°)": round(a.min),
                 "max (°)": round(a.max)} for n, a in snap.angles.items()]
        show_table(rows, width="stretch")
    if snap.chart_times:
        st.plotly_chart(_angle_chart(snap), width="stretch", key="live_chart")
    elif snap.frames_processed == 0:
        st.caption("Press START: the panels fill in as soon as frames arrive.")
    if say:
        _say_aloud(snap, reps_asked, targets, session.config.exercise)


def _pose_now(session: LiveSession) -> None:
    """The person's 3D skeleton as it is now, under the video: turned by hand, it stays turned
    while it moves (``uirevision``). An empty box while nobody is in view, so that nothing under
    it moves."""
    snap = session.snapshot()
    nobody = snap.pose_joints is None
    fig = report.skeleton_figure(np.full((N_JOINTS, 3), np.nan) if nobody else snap.pose_joints,
                                 None if nobody else snap.pose_confidence, height=340,
                                 title="3D pose now" + (": nobody in view" if nobody else ""),
                                 mirrored=session.config.mirror)
    fig.update_layout(uirevision="live_pose")
    st.plotly_chart(fig, width="stretch", key="live_pose_3d")


def _rep_mark(v) -> str:
    """One rep's mistake check as a coloured mark: ":green[#3 ✓]"."""
    return f":green[#{v.rep}\u00a0✓]" if v.mistake == "correct" else f":red[#{v.rep}\u00a0✗]"


def _last_rep(snap: LiveSnapshot, mirrored: bool, targets=(), exercise: str = "auto") -> None:
    """The models' verdict on the newest counted rep, with its corrected pose, and the tally of
    the set's verdicts so far."""
    v = snap.last_rep
    if v is None:
        st.caption("Each rep's mistake check, stability and injury risk appear here once it is counted.")
        return
    st.markdown(f"**Last rep: #{v.rep}**"
                + (f" · {report.pretty_exercise(v.exercise)}" if v.exercise else "") + f" · {v.tempo()}")
    if ranges := _range_words(v, targets, exercise):
        st.markdown(f"**Range:** {ranges}", help="The rep's range of motion of the angle it was counted on, and of "
                    "each angle the trainer set a target for (Progress), held against it (✓: reached)")
    row = tile_row()
    row.metric("Mistake check", v.mistake or "–", help=None if v.mistake_confidence is None
               else f"model confidence {v.mistake_confidence:.0%}")
    row.metric("Stability", "–" if v.stability_score is None else f"{v.stability_score:.2f}", help="0–1")
    row.metric("Injury risk", "–" if v.injury_risk is None else f"{v.injury_risk:.2f}", help="0–1")
    row.metric("Correct so far", f"{snap.reps_correct} of {snap.reps_judged}" if snap.reps_judged else "–",
               help="The set's reps the mistake model judged correct, of those it has judged")
    judged = snap.judged
    if len(judged) > 1:
        st.markdown("**Each rep:** " + " ".join(_rep_mark(x) for x in judged[-SET_MARKS:]),
                    help="The mistake check of each rep judged so far (✓ correct, ✗ incorrect)"
                    + (f", the last {SET_MARKS}" if len(judged) > SET_MARKS else ""))
    if v.correction:
        st.markdown(f"**Correction:** {v.correction}")
    if v.reason:
        st.caption(v.reason)
    if v.stability_score is None and v.mistake is None:
        st.caption("Not a movement the models know: pick the exercise to have each rep scored.")
    if v.corrected is not None:
        k = v.worst_frame()
        # as the preview beside it: a mirror image when the preview is mirrored
        st.plotly_chart(report.correction_figure(v.athlete.joints[k], v.corrected.joints[k], height=320,
                                                 title=report.correction_title(v.rep, v.mistake),
                                                 mirrored=mirrored, green=report.green_name(v.mistake)),
                        width="stretch", key="live_correction")


def _left_running(engine, athlete_id: int) -> None:
    """Point to the athlete's earlier live sessions that were never ended (their page was closed
    without STOP): their reps reach the progress charts only once ended."""
    from physio_core.store import list_sessions

    try:
        rows = list_sessions(engine, viewer_id=st.session_state.get("user_id"), athlete_id=athlete_id,
                             status="active", limit=20)
    except Exception:  # the page works without the database; it says so elsewhere
        log.warning("could not look for sessions left running", exc_info=True)
        return
    left = [r for r in rows if r.left_running()]
    if not left:
        return
    which = ", ".join(f"#{r.id} ({shown_time(r.started_at)})" for r in left[:3])
    many = (f"{len(left)} earlier live sessions that were" if len(left) > 1
            else "an earlier live session that was")
    st.info(f"{left[0].athlete_name} has {many} never ended: {which}. "
            f"Open {'each' if len(left) > 1 else 'it'} and press **End and analyse** to file its reps.")
    for r in left[:3]:
        link_to_session(r.id)


def _sets_hint(session_id: int, result) -> str | None:
    """A session that changed exercise, or rested 20 s between sets: which sets it holds, and
    where to split it (looked for once per session saved)."""
    key = f"live_sets_{session_id}"
    if key not in st.session_state:
        from physio_core.sets import find_sets

        try:
            st.session_state[key] = find_sets(result.pose)
        except Exception:  # the session is saved; the hint can go
            log.warning("looking for the sets of session %s failed", session_id, exc_info=True)
            st.session_state[key] = []
    spans = st.session_state[key]
    if len(spans) < 2:
        return None
    from physio_core.sets import clock

    sets = ", ".join(f"{report.pretty_exercise(sp.exercise, short=True)} {clock(sp.start_s)}–{clock(sp.end_s)}"
                     for sp in spans)
    return (f"This session holds {len(spans)} sets ({sets}); it was counted as one exercise. Its trainer can "
            "split it into sessions of one set each, each counted on its own exercise: **Split into sets** "
            "on its page.")


def _retry_pending() -> list[int]:
    """Try again to store the sets kept while the database was away (``PENDING_KEY``); the ids of
    those stored now, which leave the list."""
    saved, left = [], []
    for kept, outcome in st.session_state.get(PENDING_KEY, []):
        sid = kept.retry_save()
        if sid is None:
            left.append((kept, outcome))
        else:
            outcome.session_id, outcome.kept_pending = sid, False
            saved.append(sid)
    st.session_state[PENDING_KEY] = left
    return saved


def _show_pending(shown: LiveOutcome | None) -> None:
    """The earlier sets of this page still kept for the database (the one whose outcome is shown
    says so itself), so that a set stopped while it was away is not lost from sight by the next."""
    for sid in st.session_state.pop("live_pending_saved", []):
        st.success(f"Session #{sid}, kept while the database was away, is saved now.")
        link_to_session(sid)
    earlier = [o for _, o in st.session_state.get(PENDING_KEY, []) if o is not shown]
    if not earlier:
        return
    when = ", ".join(shown_time(o.result.started_at) for o in earlier)
    st.warning(f"{len(earlier)} earlier set{'s' if len(earlier) > 1 else ''} of this page (started {when}) "
               "still wait for the database: kept here, and saved as soon as it is back (at the next STOP, or "
               "with the button).")
    if st.button("Retry saving the earlier sets", key="live_retry_pending"):
        st.session_state["live_pending_saved"] = _retry_pending()
        st.rerun()


def _show_outcome(outcome: LiveOutcome, athlete_id: int | None) -> None:
    if outcome.session_id is not None:
        reps = outcome.result.rep_count if outcome.result else 0
        st.success(f"Session #{outcome.session_id} saved ({reps} reps).")
        if outcome.replaced_id is not None:
            st.info(f"Session #{outcome.replaced_id} was deleted while it was recording, so the whole "
                    f"recording was saved again as #{outcome.session_id}.")
        link_to_session(outcome.session_id)
        if outcome.result is not None and (said := _sets_hint(outcome.session_id, outcome.result)):
            st.info(said)
        felt_after_save(outcome.session_id, athlete_id)
    elif outcome.refused:
        st.warning(outcome.message)
    elif outcome.kept_pending:
        st.warning(outcome.message)
        previous: LiveSession | None = st.session_state.get(PREVIOUS_KEY)
        if previous is not None and st.button("Retry saving", key="live_retry"):
            sid = previous.retry_save()
            if sid is not None:
                outcome.session_id, outcome.kept_pending = sid, False
                st.session_state[PENDING_KEY] = [p for p in st.session_state.get(PENDING_KEY, [])
                                                 if p[1] is not outcome]
                st.rerun()
            st.error(previous.refused_reason
                     or "The database is still unavailable; the session stays kept in memory.")
    elif outcome.message:
        st.info(outcome.message)
    if outcome.result is not None:
        for w in outcome.result.all_warnings:
            st.warning(w)


# ------------------------------------------------------------------ the page

st.title("Live session")
st.caption("Film the athlete with this device's camera: skeleton, joint angles and reps live.")

settings = get_settings()
engine = get_engine()
require_login(engine)  # without a database the session is kept in memory
# the engine made before the database went away (the login check just failed on it, the banner says
# why): its reads are skipped, not failed again; the session keeps it, to be saved once it is back
reads = None if st.session_state.get("db_error") else engine
warm_up(settings.model_dir)  # load the models now, not while the stream is being set up
athlete_id = current_athlete_id()
was_playing = bool(st.session_state.get(PLAYING_KEY))
programme_read = _read_programme(reads, athlete_id)
if (today_asked := _today_line(programme_read)) is not None:
    st.markdown(f"**Today's programme:** {today_asked}.")

c_ex, c_cam, c_opts = st.columns([2, 2, 2])
exercise = c_ex.selectbox("Exercise", EXERCISES, format_func=exercise_choice, key="live_exercise",
                          disabled=was_playing)
camera = c_cam.radio("Camera", list(CAMERAS), horizontal=True, key="live_camera",
                     disabled=was_playing, help="Front or back camera on phones and tablets; "
                     "on a computer use the SELECT DEVICE button under the video.")
mirror = c_opts.checkbox("Mirror the preview", value=CAMERAS[camera] == "user", key="live_mirror",
                         disabled=was_playing)
record = c_opts.checkbox("Record video", value=False, key="live_record", disabled=was_playing,
                         help="Off: only the pose data (skeleton, angles, reps) is stored. "
                              "On: the raw video is stored too; the session's page plays it and "
                              "deleting the session deletes it.")
say = c_opts.checkbox("Say reps aloud", value=False, key="live_say",
                      help="This device says each rep's number as it is counted, the main correction "
                           "of a rep judged incorrect (\"hips lower\"), \"target reached\" the first time a rep "
                           "reaches the trainer's range-of-motion target, \"set done\" at the reps the "
                           "programme asks and \"step back\" when the athlete has been out of view for "
                           "1.5 s, so the athlete need not watch the screen. The browser speaks, in a voice "
                           "of the device where it has one.")
# under the exercise while streaming too (the picker is locked then): what went above the camera
# would move it when it came or went
# read above; without a programme there is nothing to read again
planned = _programme_now(reads, athlete_id, exercise, programme_read) if programme_read is not None else None
if planned is not None:
    c_ex.caption(_programme_words(planned))
if (good := _good_rep(reads, athlete_id, exercise)) is not None:
    with c_ex.expander("Your rep to copy"):
        st.image(good[0], caption=good[1], width="stretch")
if reads is None:
    st.info(db_error_here("The session is analysed but not saved while the database cannot be used"))
elif athlete_id is None:
    st.info("Pick or add an athlete in the sidebar to save the session; the analysis works "
            "without one.")
else:
    # shown while playing too: an element appearing or going before the camera would move it
    _left_running(reads, athlete_id)

config = LiveConfig(exercise=exercise, athlete_id=athlete_id,
                    viewer_id=st.session_state.get("user_id"), record_video=record,
                    mirror=mirror)
session = _arm(config, engine)

# the panels go under the video where beside it they would be narrow (their 3D view cuts its box)
left, right = wrapping_columns("live_video_and_panels", (420, 360))
with left:
    ctx = webrtc_streamer(
        key="live-camera",
        mode=WebRtcMode.SENDRECV,
        rtc_configuration={"iceServers": settings.ice_servers},
        media_stream_constraints={
            "video": {"facingMode": {"ideal": CAMERAS[camera]},
                      "width": {"ideal": 640}, "height": {"ideal": 480}},
            "audio": False,
        },
        video_frame_callback=session.video_frame_callback,
        async_processing=True,
        translations=TRANSLATIONS,
        video_html_attrs={"autoPlay": True, "controls": False, "muted": True,
                          "style": {"width": "100%"}},
    )
    st.caption("The whole body should be in view, feet included. Video is processed on the "
               "server and not stored unless **Record video** is ticked.")
playing = bool(ctx.state.playing)
if not playing:
    with left:
        _morning_prompt(reads, athlete_id)
if playing:
    with left:
        st.fragment(_pose_now, run_every=0.5)(session)

if playing:
    if not was_playing:
        st.session_state.pop(OUTCOME_KEY, None)
        st.session_state.pop(ANNOUNCER_KEY, None)  # a new set: its count is said from 1
        session.start()  # opens the session row; frames are kept even if this fails
    st.session_state[PLAYING_KEY] = True
elif was_playing:
    # STOP pressed (or the stream ended, e.g. the page was left): end and store the session
    st.session_state[PLAYING_KEY] = False
    with st.spinner("Saving the session…"):
        # the sets kept while the database was away first: they are older
        st.session_state["live_pending_saved"] = _retry_pending() if st.session_state.get(PENDING_KEY) else []
        st.session_state[OUTCOME_KEY] = stopped = session.stop()
    if stopped.kept_pending:
        st.session_state[PENDING_KEY] = [*st.session_state.get(PENDING_KEY, []), (session, stopped)]
    st.session_state[PREVIOUS_KEY] = session
    session = _arm(config, engine)
    st.rerun()  # re-render with the fresh session's callback and enabled controls

with right:
    outcome = st.session_state.get(OUTCOME_KEY)
    previous = st.session_state.get(PREVIOUS_KEY)
    if not playing:
        _show_pending(outcome)
    if outcome is not None and previous is not None and not playing:
        _show_outcome(outcome, previous.config.athlete_id)
        same = (previous.config.athlete_id, previous.config.exercise) == (athlete_id, exercise)
        _panels(previous, _reps_asked(planned if same else _programme_now(
            reads, previous.config.athlete_id, previous.config.exercise)),
                targets=_read_targets(reads, previous.config.athlete_id))
    else:
        st.fragment(_panels, run_every=0.5 if playing else None)(
            session, _reps_asked(planned), say and playing, _read_targets(reads, athlete_id))
