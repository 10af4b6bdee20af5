"""The app shell's login gate under AppTest: nothing but the login page before logging in, the
pages by role after, log out back to the login page (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import SEED_PASSWORDS, SHARED_DATASETS, seed_progress_world

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


@pytest.fixture
def seeded(app_db):
    return app_db, seed_progress_world(app_db)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def log_in(at: AppTest, email: str, password: str) -> AppTest:
    at.text_input(key="login_email").input(email)
    at.text_input(key="login_password").input(password)
    next(b for b in at.button if b.label == "Log in").click()
    return run(at)


def test_only_the_login_page_before_logging_in(seeded):
    at = run(AppTest.from_file(APP, default_timeout=240))
    assert [t.value for t in at.title] == ["PhysioTrack"]
    assert not at.sidebar.selectbox  # no athlete picker, no pages
    # a page asked for directly (AppTest runs its script alone, without the shell's gate) guards
    # itself as well: Session detail showed every session's
    for name in sorted(p.stem for p in (ROOT / "pages").glob("[!_]*.py") if p.stem != "login"):
        at.switch_page(f"pages/{name}.py")
        run(at)
        assert [w.value for w in at.warning] == ["Please log in first."], name
        assert not at.get("plotly_chart") and not at.metric and not at.selectbox and not at.dataframe, name
    at.switch_page("app.py")
    run(at)

    log_in(at, "coach@clinic.org", "wrong password")
    assert [e.value for e in at.error] == ["Wrong e-mail or password."]


def test_trainer_logs_in_sees_progress_and_logs_out(seeded):
    engine, ids = seeded
    at = run(AppTest.from_file(APP, default_timeout=240))
    log_in(at, "coach@clinic.org", SEED_PASSWORDS["trainer"])
    assert any("Carla Coach" in c.value for c in at.sidebar.caption)
    # the sidebar offers the trainer's own athletes only
    picker = at.sidebar.selectbox(key="athlete_select")
    assert picker.options == ["Ana Lopez"]

    at.switch_page("pages/progress.py")
    run(at)
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Sessions"], metrics["Correct reps"]) == ("9", "100%")
    # the last hurdle step's correct share is the first one's: no change, not a green rise
    tiles = {m.label: m for m in at.metric}
    flat, rise = tiles["Correct reps"].proto, tiles["Stability"].proto
    assert (flat.delta, flat.direction, flat.color) == ("±0 pts", flat.NONE, flat.GRAY)
    assert (rise.delta, rise.direction, rise.color) == ("+0.22", rise.UP, rise.GREEN)
    assert len(at.get("plotly_chart")) == 6

    at.switch_page("pages/admin.py")
    run(at)
    assert at.title[0].value == "My athletes"

    at.switch_page("app.py")
    run(at)
    next(b for b in at.sidebar.button if b.label == "Log out").click()
    run(at)
    assert [t.value for t in at.title] == ["PhysioTrack"] and "auth_token" not in at.session_state


def test_a_link_with_an_athlete_opens_their_progress(seeded):
    """The admin's "Training at a glance" links to progress?athlete=ID: the app shell's sidebar
    picks that athlete (AppTest runs a switched-to page without the shell, so the link's query
    is run on the landing page here; the page it names only reads the sidebar's choice)."""
    engine, ids = seeded
    at = run(AppTest.from_file(APP, default_timeout=240))
    log_in(at, "admin@clinic.org", SEED_PASSWORDS["admin"])
    assert at.session_state["athlete_id"] == ids["athlete"]  # the first athlete
    at.switch_page("pages/admin.py")
    run(at)
    glance = at.dataframe[0].value
    assert list(glance.columns[:2]) == ["athlete", "progress"]  # the link stays in view on a phone
    links = glance.set_index("athlete")["progress"]
    assert links["Ben Other"] == f"progress?athlete={ids['other_athlete']}"

    at.switch_page("app.py")
    at.query_params["athlete"] = str(ids["other_athlete"])
    run(at)
    assert at.session_state["athlete_id"] == ids["other_athlete"]
    assert at.sidebar.selectbox[0].value == ids["other_athlete"]
    assert "athlete" not in at.query_params  # used once: the sidebar decides from then on
    at.switch_page("pages/progress.py")
    run(at)
    assert "Ben Other" in at.caption[0].value
    assert {m.label: m.value for m in at.metric}["Sessions"] == "1"

    # an athlete the viewer may not see is ignored: the trainer keeps their own
    at2 = run(AppTest.from_file(APP, default_timeout=240))
    log_in(at2, "coach@clinic.org", SEED_PASSWORDS["trainer"])
    at2.query_params["athlete"] = str(ids["other_athlete"])
    run(at2)
    assert at2.session_state["athlete_id"] == ids["athlete"] and not at2.error
    # and the page says so: a reader of the link would take the trainer's athlete for the one linked
    assert [w.value for w in at2.warning] == [
        f"The link names an athlete ({ids['other_athlete']}) who is not among yours; showing **Ana Lopez** instead."]


def test_athlete_lands_on_own_progress_and_cannot_manage(seeded, assessed_squat_result):
    from dataclasses import replace

    from physio_core.store import save_session_result

    engine, ids = seeded
    at = run(AppTest.from_file(APP, default_timeout=240))
    log_in(at, "ana@clinic.org", SEED_PASSWORDS["athlete"])
    assert at.title[0].value == "Progress"
    assert {m.label: m.value for m in at.metric}["Reps"] == "24"
    assert at.session_state["athlete_id"] == ids["athlete"]
    assert not [f for f in at.get("expander") if "targets" in f.label]  # trainers set targets
    # the squats' left against right; a hurdle step (one leg steps) side against side
    assert at.selectbox(key="progress_rom_exercise").value == "deep_squat"
    assert "Left / right asymmetry" in [h.value for h in at.subheader]
    at.selectbox(key="progress_rom_exercise").set_value("hurdle_step")
    run(at)
    heads = [h.value for h in at.subheader]
    assert "Left side / right side" in heads and "Left / right asymmetry" not in heads
    assert any(c.value.startswith("Hurdle step works one side at a time") for c in at.caption)
    # her sessions were judged before the weights were recorded: said in plain words, with what she can do
    # (before: "model weights ... (3b54aa04ae9e+r2). Staff can score them again ... on Progress")
    said = [i.value for i in at.info if "another version of PhysioTrack's models" in i.value]
    assert said == ["Some of these sessions were scored by another version of PhysioTrack's models or scoring "
                    "rules, so a change in their scores may come from that, not from you. Your trainer, or an "
                    "administrator, can score them again."]
    # a session whose verdicts do not say which weights gave them (stored before 2026-12-05)
    older = save_session_result(engine, replace(assessed_squat_result, models=None), ids["athlete"])
    at.switch_page("pages/session_detail.py")
    at.query_params["id"] = str(older)
    run(at)
    assert [i.value for i in at.info if "another version" in i.value] == [
        "This session was scored by another version of PhysioTrack's models or scoring rules, so its scores may "
        "differ from a session scored now. Your trainer, or an administrator, can score it again."]
    # a wrist-sensor set whose lift other weights recognised (the classifier retrained since)
    from physio_core.imu import list_sets
    from physio_core.imu.analyze import analyze_imu
    from physio_core.imu.classifier import LiftClassifier
    from physio_core.store.repo import save_imu_session

    older_lifts = LiftClassifier.load()
    older_lifts.fingerprint = "0123456789ab"
    series = next(s for s in list_sets(SHARED_DATASETS / "metamotion-imu") if s.lift == "bench").load()
    imu_set = save_imu_session(engine, series, analyze_imu(series, classifier=older_lifts), ids["athlete"])
    at.query_params["id"] = str(imu_set)
    run(at)
    assert [i.value for i in at.info if "lift model" in i.value] == [
        "The lift was recognised by another version of PhysioTrack's lift model, which may name another lift "
        "than the current one. Your trainer, or an administrator, can have it recognised again."]
    at.switch_page("pages/admin.py")
    run(at)
    assert [e.value for e in at.error] == ["Your account may not open this page."]
    assert not at.title


def test_a_setting_that_cannot_be_used_stops_the_app_with_its_name(seeded, monkeypatch):
    from physio_core.config import get_settings

    monkeypatch.setenv("PHYSIO_MAX_UPLOAD_MB", "1 GB")
    get_settings.cache_clear()
    at = run(AppTest.from_file(APP, default_timeout=240))
    [err] = [e.value for e in at.error]
    assert "PHYSIO_MAX_UPLOAD_MB='1 GB'" in err and "valid integer" in err and "restart" in err
    assert not at.text_input  # no login form over a half-configured app


def test_a_database_damaged_while_logged_in_is_named_in_the_banner(seeded, monkeypatch):
    """The SQLite file overwritten under the running app (a restore gone wrong): the logged-in
    trainer stays in, and the banner names the file and what to do, and that analyses go on.
    Before, SQLite's "file is not a database" came as SQLAlchemy's error, with a link to its
    documentation."""
    from physio_core.config import get_settings

    engine, _ = seeded
    at = run(AppTest.from_file(APP, default_timeout=240))
    log_in(at, "coach@clinic.org", SEED_PASSWORDS["trainer"])
    assert not at.warning
    path = get_settings().data_dir / "physiotrack.db"
    assert path.is_file()
    engine.dispose()  # the next query opens the file again, as a new server process would
    with path.open("r+b") as f:  # overwritten in place: the same file, other bytes
        f.write(bytes(range(256)) * 16)
    run(at)
    assert [t.value for t in at.title] != ["PhysioTrack"]  # still logged in
    [banner] = [w.value for w in at.warning if w.value.startswith("The database")]
    assert banner.startswith(f"The database (SQLite file {path}) cannot be read: ")
    assert "Restore it from a backup" in banner and banner.endswith("Analyses still work but are not saved.")
    assert "sqlalche" not in banner
    # the sidebar's athlete picker does not try the file again: it points to the banner, which alone
    # gives the reason (before, the sidebar said it again beside it, and a page of stored data a third time)
    assert [w.value for w in at.sidebar.warning] == [
        "No athletes to pick while the database cannot be used: the message at the top of the page says why."]
    reason = banner.rsplit(" Analyses", 1)[0]
    assert sum(reason in w.value for w in [*at.warning, *at.error, *at.info]) == 1
    # every page (AppTest runs its script alone, without the banner: the page gives the reason): no
    # traceback (before, the pages of stored data and the live page stopped on the login check's error)
    stored = f"This page shows what is stored, and the database cannot be used now. {reason}"
    for name in ("sessions", "progress", "session_detail", "account"):
        at.switch_page(f"pages/{name}.py")
        run(at)
        assert [e.value for e in at.error] == [stored], name
    # the trainer's menu title and what the page does (before: no title, and "shows what is stored")
    at.switch_page("pages/admin.py")
    run(at)
    assert [t.value for t in at.title] == ["My athletes"]
    assert [e.value for e in at.error] == [stored.replace("shows", "manages")]
    import streamlit_webrtc.component

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)  # renders in AppTest
    at.switch_page("pages/live.py")
    run(at)
    assert not at.error and [t.value for t in at.title] == ["Live session"]  # the camera works unsaved
    # and says so, with the trainer's athlete still picked (before: nothing, or "Pick or add an
    # athlete in the sidebar to save the session" when none was)
    assert [i.value for i in at.info] == [
        f"The session is analysed but not saved while the database cannot be used. {reason}"]


def test_a_database_gone_while_logged_in_is_said_once(seeded, monkeypatch):
    """The app pointed at a server that does not answer (a restart with another DATABASE_URL,
    the server down at the start) while a trainer's login is still valid in the browser session:
    the banner gives the reason, the sidebar points to it instead of repeating it."""
    from physio_core.config import get_settings

    at = run(AppTest.from_file(APP, default_timeout=240))
    log_in(at, "coach@clinic.org", SEED_PASSWORDS["trainer"])
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/physio")  # nothing there
    get_settings.cache_clear()
    run(at)
    [banner] = [w.value for w in at.warning if "127.0.0.1:1" in w.value]  # the sidebar's included
    assert banner.startswith("The database (PostgreSQL at 127.0.0.1:1/physio) cannot be reached")
    assert [w.value for w in at.sidebar.warning] == [
        "No athletes to pick while the database cannot be used: the message at the top of the page says why."]
    assert not at.error


class _Relay:
    """A TCP relay to the PostgreSQL test server that can stop relaying: from then on it closes
    its connections and each new one at once, as a server that goes away under the app would
    (and counts the new ones: the app's attempts). With no ``target``, it never relays."""

    def __init__(self, target: tuple[str, int] | None) -> None:
        import socket
        import threading

        self.target, self.relaying, self.refused, self.open = target, target is not None, 0, []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:  # closed
                return
            if not self.relaying:
                self.refused += 1  # before the close: the client, seeing the close, may read the count at once
                conn.close()
                continue
            upstream = socket.create_connection(self.target)
            self.open += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            b.close()

    def stop_relaying(self) -> None:
        import socket

        self.relaying = False
        for s in self.open:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.stop_relaying()
        self.server.close()


def test_a_database_server_that_hangs_up_is_tried_once_a_run(seeded, monkeypatch):
    """The app shell, the page and its parts each ask for the database; once it could not be opened,
    the rest of the run does not try it again. Before, each page run tried twice or more, and a
    server that does not answer makes each try wait out the connect timeout (5 s)."""
    from physio_core.config import get_settings
    from physio_core.store import StorageUnavailable, init_db

    server = _Relay(None)  # a PostgreSQL port whose server closes each connection at once
    url = f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/physio"
    try:
        with pytest.raises(StorageUnavailable):
            init_db(url)
        one_try = server.refused  # connections one attempt opens (libpq may try with and without SSL)
        assert one_try >= 1
        at = run(AppTest.from_file(APP, default_timeout=240))
        log_in(at, "coach@clinic.org", SEED_PASSWORDS["trainer"])
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        for runs in (1, 2):  # the trainer's start page (Upload analysis), run again
            run(at)
            assert [w.value for w in at.warning if w.value.startswith("The database (PostgreSQL")], runs
            assert server.refused == one_try * (1 + runs), runs
    finally:
        server.close()


def test_a_database_gone_after_the_start_is_tried_once_a_run(pg_databases, tmp_path, monkeypatch):
    """The server goes away under a logged-in trainer (the engine was made before): the shell's
    login check finds it, and the athlete picker, the page and the hourly sweep of recordings do
    not try again. Before, each page run tried three times (four with the sweep due), and a server
    that does not answer makes each try wait out the connect timeout (5 s)."""
    import os
    import time

    from sqlalchemy.engine import make_url

    from physio_core import recordings
    from physio_core.config import get_settings
    from physio_core.store import dispose_engines, init_db

    url = pg_databases.new()
    seed_progress_world(init_db(url))
    dispose_engines(url)
    server = make_url(url)
    relay = _Relay((server.host, server.port))
    via = server.set(port=relay.port).render_as_string(hide_password=False)
    for var in ("PHYSIO_DATABASE_URL", "PHYSIO_ADMIN_EMAIL", "PHYSIO_ADMIN_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", via)
    monkeypatch.setenv("PHYSIO_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        at = run(AppTest.from_file(APP, default_timeout=240))
        log_in(at, "coach@clinic.org", SEED_PASSWORDS["trainer"])
        relay.stop_relaying()
        orphan = recordings.recording_dir() / "live_20261201T080000_0.mp4"  # two days old, named by no session
        orphan.parent.mkdir(parents=True, exist_ok=True)
        orphan.write_bytes(b"\0")
        os.utime(orphan, (time.time() - 48 * 3600,) * 2)
        recordings._last_sweep.clear()  # an hour on: the sweep is due
        for runs in (1, 2):  # the trainer's start page (Upload analysis), run again
            run(at)
            assert relay.refused == runs, runs  # one attempt a run: the shell's login check
            [banner] = [w.value for w in at.warning if w.value.startswith("The database (PostgreSQL")]
            assert "Analyses still work" in banner
            assert [w.value for w in at.sidebar.warning] == [
                "No athletes to pick while the database cannot be used: the message at the top of the page says why."]
            assert [t.value for t in at.title] == ["Upload analysis"] and not at.error  # the page works unsaved
        assert orphan.is_file()  # which recordings sessions name is not known: none deleted
    finally:
        relay.close()
        dispose_engines(via)
        get_settings.cache_clear()
