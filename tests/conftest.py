"""Shared pytest fixtures. Each area keeps its fixtures in its own clearly marked block."""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


# ============================================================================================
# storage fixtures (owner: storage, physio_core/store) — real SQLite files and real PostgreSQL
# ============================================================================================
# PostgreSQL tests run in a fresh database per test (CREATE DATABASE test_<random>, dropped
# after). They are skipped only when the server is unreachable AND the CI variable is unset.

PG_ADMIN_URL = os.environ.get(
    "PHYSIO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of the test PostgreSQL server, or skip (fail under CI) if it is down."""
    import psycopg

    try:
        with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), connect_timeout=3):
            pass
    except psycopg.OperationalError as err:
        msg = f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({str(err).strip().splitlines()[0]})"
        if os.environ.get("CI"):
            pytest.fail(msg + " and CI is set: the storage tests must run on Postgres")
        pytest.skip(msg + "; start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start")
    return PG_ADMIN_URL


class PgDatabases:
    """Hands out names of scratch databases on the test server and drops them all afterwards."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.urls: dict[str, str] = {}

    def reserve(self) -> tuple[str, str]:
        """A fresh name and its URL; the database does not exist yet."""
        from sqlalchemy.engine import make_url

        name = f"test_{uuid.uuid4().hex[:16]}"
        self.urls[name] = make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)
        return name, self.urls[name]

    def create(self, name: str) -> None:
        _pg_admin(f'CREATE DATABASE "{name}"')

    def new(self) -> str:
        name, url = self.reserve()
        self.create(name)
        return url

    def drop_all(self) -> None:
        from physio_core.store import dispose_engines

        for name, url in self.urls.items():
            dispose_engines(url)  # close our pooled connections first
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_databases(pg_server: str) -> Iterator[PgDatabases]:
    dbs = PgDatabases(pg_server)
    yield dbs
    dbs.drop_all()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an EMPTY database (no tables), on each backend in turn."""
    from physio_core.store import dispose_engines

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'physiotrack.db'}"
        yield url
        dispose_engines(url)
    else:
        dbs: PgDatabases = request.getfixturevalue("pg_databases")
        yield dbs.new()


@pytest.fixture
def db_engine(db_url: str):
    """An engine on a freshly migrated database (``init_db``), on each backend in turn."""
    from physio_core.store import init_db

    return init_db(db_url)


@pytest.fixture
def clinic_of_four(db_engine):
    """An athlete and their trainer, another athlete and a trainer of neither, on each backend:
    (engine, ids by "athlete", "other", "trainer", "stranger")."""
    from physio_core.store import assign_athlete, create_user

    athlete = create_user(db_engine, "ana@clinic.org", "Ana", "athlete", password="ana-password-1")
    other = create_user(db_engine, "ben@clinic.org", "Ben", "athlete", password="ben-password-1")
    trainer = create_user(db_engine, "tom@clinic.org", "Tom", "trainer", password="tom-password-1")
    stranger = create_user(db_engine, "sue@clinic.org", "Sue", "trainer", password="sue-password-1")
    assign_athlete(db_engine, trainer.id, athlete.id)
    return db_engine, {"athlete": athlete.id, "other": other.id, "trainer": trainer.id, "stranger": stranger.id}


def _knee_angle(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """Included knee angle in degrees (180 = straight), the simple 3-point definition."""
    a, b = hip - knee, ankle - knee
    cos = np.einsum("ti,ti->t", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def build_uiprmd_session_result(
    movement: int = 1, subject: int = 1, episodes: tuple[int, ...] = (1, 2, 3), correct: bool = True,
    gap_frames: int = 4, started_at: datetime | None = None,
):
    """A realistic SessionResult: consecutive UI-PRMD repetitions of one subject joined into one
    recording, with ``gap_frames`` of "no person" (NaN) between them, knee angles, one Rep per
    file, and a few metrics/feedback/warnings. Skips when the dataset is absent."""
    from physio_core.datasets.uiprmd import list_reps
    from physio_core.results import AngleSeries, Rep, SessionResult
    from physio_core.skeleton import N_JOINTS, J, PoseSequence

    root = SHARED_DATASETS / "ui-prmd"
    if not root.is_dir():
        pytest.skip(f"UI-PRMD not found at {root}")
    files = [r for r in list_reps(root)
             if r.movement == movement and r.subject == subject and r.correct == correct
             and r.episode in episodes]
    assert len(files) == len(episodes), f"missing UI-PRMD files for {movement=} {subject=} {episodes=}"
    seqs = [f.load() for f in sorted(files, key=lambda f: f.episode)]
    fps = seqs[0].fps

    joints, conf, roots, spans = [], [], [], []
    n = 0
    for k, seq in enumerate(seqs):
        if k:
            joints.append(np.full((gap_frames, N_JOINTS, 3), np.nan))
            conf.append(np.zeros((gap_frames, N_JOINTS)))
            roots.append(np.full((gap_frames, 3), np.nan))
            n += gap_frames
        joints.append(seq.joints)
        conf.append(seq.confidence)
        roots.append(seq.root)
        spans.append((n, n + len(seq) - 1))
        n += len(seq)
    joints_a = np.concatenate(joints)
    times = np.arange(n) / fps
    # a plausible 2D overlay: orthographic projection onto a 640x480 image
    kp2d = np.stack([320 + 400 * joints_a[..., 0], 240 - 400 * joints_a[..., 1]], axis=-1)
    pose = PoseSequence(joints_a, np.concatenate(conf), times, fps, np.concatenate(roots), kp2d)

    names = ("left_knee", "right_knee")
    values = np.stack([
        _knee_angle(joints_a[:, J.L_HIP], joints_a[:, J.L_KNEE], joints_a[:, J.L_ANKLE]),
        _knee_angle(joints_a[:, J.R_HIP], joints_a[:, J.R_KNEE], joints_a[:, J.R_ANKLE]),
    ], axis=1)
    angles = AngleSeries(names, values, times)

    reps = []
    for i, (a, b) in enumerate(spans, start=1):
        knee = values[a : b + 1, 1]
        reps.append(Rep(
            index=i, start_frame=a, end_frame=b, start_s=float(times[a]), end_s=float(times[b]),
            angle="right_knee", rom_deg=float(knee.max() - knee.min()), min_deg=float(knee.min()),
            max_deg=float(knee.max()), peak_s=float(times[a + int(np.argmin(knee))]),
        ))
    started = started_at or datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    return SessionResult(
        pose=pose, angles=angles, reps=reps, fps=fps, frames=n,
        frames_with_person=int(pose.valid.sum()), backend="uiprmd-kinect",
        exercise=files[0].movement_name, source=f"upload:{files[0].positions_path.name}",
        started_at=started, ended_at=started + timedelta(seconds=n / fps),
        metrics={"stability_score": 0.82, "balance_score": 0.74, "injury_risk": float("nan"),
                 "asymmetry_deg": np.float64(3.25), "tempo_s": 2.4},
        feedback=["knees track over the toes", "depth below parallel on every rep"],
        warnings=[f"no person in view for {gap_frames} frames between reps"],
    )


@pytest.fixture
def uiprmd_session_result():
    return build_uiprmd_session_result()


@pytest.fixture
def make_uiprmd_session_result() -> Callable[..., object]:
    return build_uiprmd_session_result


def uiprmd_set(picks: list[tuple[str, int, bool]], rng: int = 0):
    """UI-PRMD reps joined with pauses into one continuous set, as a camera would see them.
    ``picks``: (movement name, subject, correct) per rep; each pick takes that subject's next
    unused episode. Returns (PoseSequence, rep frame bounds, correct flags). Skips without the
    dataset."""
    from physio_core.datasets.continuous import concatenate_reps
    from physio_core.datasets.uiprmd import list_reps

    root = SHARED_DATASETS / "ui-prmd"
    if not root.is_dir():
        pytest.skip(f"UI-PRMD not found at {root}")
    pools: dict[tuple, Iterator] = {}
    every = list_reps(root)
    chosen = []
    for movement, subject, ok in picks:
        key = (movement, subject, ok)
        if key not in pools:
            pools[key] = iter(sorted((r for r in every if (r.movement_name, r.subject, r.correct) == key),
                                     key=lambda r: r.episode))
        chosen.append(next(pools[key]))
    seq, bounds = concatenate_reps([r.load() for r in chosen], rng=rng)
    return seq, bounds, [r.correct for r in chosen]


def held_still(pose: np.ndarray, seconds: float, seed: int):
    """A real rest pose held for ``seconds`` at 30 fps, seen through the tracker noise the
    models train with (physio_core.ml.data.Augment: white noise, slow drift, a camera tilt)."""
    return _through_tracker_noise(np.repeat(pose[None], int(seconds * 30), 0), seed)


def _through_tracker_noise(joints: np.ndarray, seed: int):
    """``joints`` at 30 fps through ``ml.data.Augment``'s noise, as a PoseSequence."""
    from physio_core.ml.data import Augment
    from physio_core.skeleton import PoseSequence

    joints = Augment()(joints, np.random.default_rng(seed), time_warp=False)
    n = len(joints)
    return PoseSequence(joints, np.ones((n, joints.shape[1])), np.arange(n) / 30.0, 30.0)


def subject5_squats(order: str = "ccIccI"):
    """Subject 5's UI-PRMD deep squats joined with pauses, in ``order`` (c = correct,
    I = INCORRECT, episodes taken in turn): (PoseSequence, rep frame bounds, correct flags).
    Skips without the dataset."""
    return uiprmd_set([("deep_squat", 5, k == "c") for k in order])


@pytest.fixture(scope="session")
def assessed_squat_result():
    """Subject 5's UI-PRMD deep squats (three correct, three incorrect) as one set, analysed and
    assessed by the shipped models as an upload is (finish_sequence): per-rep verdicts and
    corrected poses. Skips without the dataset or the weights."""
    from physio_core.pipeline import finish_sequence

    if not (Path(__file__).resolve().parents[1] / "models" / "stability.joblib").is_file():
        pytest.skip("trained weights not in models/")
    seq, _, _ = subject5_squats("cccIII")
    result = finish_sequence(seq, backend="uiprmd-kinect", exercise="deep_squat",
                             source="upload:squats", smooth=False,
                             started_at=datetime(2026, 11, 3, 9, 30, tzinfo=UTC))
    assert result.exercise_label == "deep_squat" and result.rep_count >= 4
    assert [a["rep"] for a in result.rep_assessments] == [r.index for r in result.reps]
    assert sorted(result.corrected_poses) == [r.index for r in result.reps]
    assert {a["mistake"] for a in result.rep_assessments} == {"correct", "incorrect"}
    return result


@pytest.fixture(scope="session")
def auto_squat_result():
    """The same squats analysed on "Detect automatically": the models name the exercise."""
    from physio_core.pipeline import finish_sequence

    if not (Path(__file__).resolve().parents[1] / "models" / "stability.joblib").is_file():
        pytest.skip("trained weights not in models/")
    seq, _, _ = subject5_squats("cccIII")
    result = finish_sequence(seq, backend="uiprmd-kinect", exercise=None, source="upload:squats",
                             smooth=False, started_at=datetime(2026, 11, 10, 9, 30, tzinfo=UTC))
    assert result.exercise == "auto" and result.exercise_label == "deep_squat"
    return result

# ====================================== end of storage fixtures ================================


# ============================================================================================
# video fixtures (owner: recorded-video path, physio_core/video.py + pipeline.py)
# ============================================================================================

TEST_CLIP = Path(__file__).resolve().parent / "data" / "sports2d_demo.mp4"  # see data/SOURCE.md


def make_no_person_clip(path: Path, frames: int = 20) -> Path:
    """A short H.264 clip of a moving colour gradient: a valid video with nobody in it."""
    from fractions import Fraction

    import av

    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=15)
        st.width, st.height, st.pix_fmt = 320, 240, "yuv420p"
        yy, xx = np.mgrid[0:240, 0:320]
        for i in range(frames):
            img = np.stack([(xx + 8 * i) % 256, yy % 256, np.full_like(xx, 90)], -1).astype(np.uint8)
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 15)
            for pkt in st.encode(f):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


@pytest.fixture
def no_person_clip(tmp_path: Path) -> Path:
    return make_no_person_clip(tmp_path / "empty_room.mp4")

# ======================================= end of video fixtures ================================


# ============================================================================================
# accounts / progress fixtures (owner: accounts, physio_core/auth.py, progress.py, exports.py)
# ============================================================================================

SEED_PASSWORDS = {"admin": "admin-password-1", "trainer": "trainer-password-1",
                  "athlete": "athlete-password-1"}


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The app's own database as its pages open it: SQLite in a fresh data folder, with the
    environment's database, first-admin and sign-up variables unset, run from the project's root."""
    from physio_core.config import get_settings
    from physio_core.store import dispose_engines, init_db

    for var in ("DATABASE_URL", "PHYSIO_DATABASE_URL", "PHYSIO_ADMIN_EMAIL", "PHYSIO_ADMIN_PASSWORD",
                "PHYSIO_ALLOW_SIGNUP"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PHYSIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    get_settings.cache_clear()
    yield init_db()
    dispose_engines()
    get_settings.cache_clear()


def page_as(engine, email: str, password: str, page: str, **query):
    """An AppTest of ``page`` (a path) for the user of ``email``, logged in as the app's shell logs
    in, with ``query`` as the address's parameters; not run yet."""
    from streamlit.testing.v1 import AppTest

    from physio_core.auth import login

    session = login(engine, email, password)
    at = AppTest.from_file(page, default_timeout=240)
    at.session_state["auth_token"] = session.token
    at.session_state["user_id"] = session.user.id
    at.session_state["user_role"] = session.user.role.value
    for k, v in query.items():
        at.query_params[k] = str(v)
    return at


def seed_progress_world(engine, *, weeks: int = 6, day0: datetime | None = None) -> dict[str, int]:
    """Accounts and six weeks of real UI-PRMD sessions for one athlete, as the progress page
    shows them. Returns the ids: admin, trainer, athlete (all with logins, see SEED_PASSWORDS),
    other_trainer, other_athlete.

    Each week: a deep squat visit (the subject's incorrect recordings the first two weeks, the
    correct ones after), and a hurdle step every other week. Angles are the 23 kinematics angles
    of the real poses; reps are the builder's (one per UI-PRMD file, on the right knee). The
    stability / balance / injury-risk scores are seeded numbers (the scoring model is not part
    of these tests): stability and balance rise, risk falls, as for an athlete who improves; the
    reps judged incorrect are those of the incorrect recordings.
    """
    from physio_core.kinematics import compute_angles
    from physio_core.store import Role, assign_athlete, create_user, get_or_create_athlete, save_session_result
    from physio_core.store.access import set_rom_target

    day0 = day0 or datetime(2026, 9, 7, 9, 0, tzinfo=UTC)  # a Monday
    admin = create_user(engine, "admin@clinic.org", "Admin", Role.ADMIN, SEED_PASSWORDS["admin"])
    trainer = create_user(engine, "coach@clinic.org", "Carla Coach", Role.TRAINER, SEED_PASSWORDS["trainer"])
    athlete = create_user(engine, "ana@clinic.org", "Ana Lopez", Role.ATHLETE, SEED_PASSWORDS["athlete"])
    assign_athlete(engine, trainer.id, athlete.id)
    other_trainer = create_user(engine, "other@clinic.org", "Otto Other", Role.TRAINER, "other-password-1")
    other_athlete = get_or_create_athlete(engine, "Ben Other", other_trainer.id)

    def session(movement: int, correct: bool, episodes: tuple[int, ...], when: datetime, k: int):
        r = build_uiprmd_session_result(movement=movement, episodes=episodes, correct=correct,
                                        started_at=when)
        r.angles = compute_angles(r.pose)
        for rep in r.reps:
            rep.angle = "knee_angle_r"
        progress = k / max(1, weeks - 1)
        r.metrics = {"stability_score": round(0.58 + 0.27 * progress, 3),
                     "balance_score": round(0.62 + 0.2 * progress, 3),
                     "injury_risk": round(0.42 - 0.3 * progress, 3),
                     # the recordings' own labels, as the mistake model would judge them
                     "reps_judged": float(len(r.reps)), "reps_incorrect": 0.0 if correct else float(len(r.reps))}
        return r

    for k in range(weeks):
        week = day0 + timedelta(weeks=k)
        squat = session(1, k >= 2, (1 + k % 5, 1 + (k + 1) % 5, 1 + (k + 2) % 5), week, k)
        save_session_result(engine, squat, athlete.id, trainer.id)
        if k % 2 == 1:
            hurdle = session(2, True, (1 + k % 5, 1 + (k + 1) % 5), week + timedelta(days=3, hours=8), k)
            save_session_result(engine, hurdle, athlete.id, trainer.id)
    save_session_result(engine, session(1, True, (1,), day0, 0), other_athlete.id, other_trainer.id)
    set_rom_target(engine, trainer.id, athlete.id, "knee_angle_r", 120.0, "deep_squat")
    set_rom_target(engine, trainer.id, athlete.id, "hip_flexion_r", 100.0)
    return {"admin": admin.id, "trainer": trainer.id, "athlete": athlete.id,
            "other_trainer": other_trainer.id, "other_athlete": other_athlete.id}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "restarts_postgres: stops and starts the PostgreSQL server; always runs last")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tests that restart the server go last, so they never cut other tests' connections
    items[:] = sorted(items, key=lambda it: it.get_closest_marker("restarts_postgres") is not None)


# ====================================== end of accounts / progress fixtures ====================


def one_way(a: np.ndarray, b: np.ndarray, seconds: float, seed: int):
    """A slow one-way move from real pose ``a`` to real pose ``b`` (a straight blend, no return),
    ``seconds`` at 30 fps, through the same tracker noise as ``held_still``."""
    w = np.linspace(0.0, 1.0, int(seconds * 30))[:, None, None]
    return _through_tracker_noise((1 - w) * a[None] + w * b[None], seed)


def one_way_moves(seconds: float = 8.0):
    """Ten slow one-way moves between real poses: movement m's rest pose (subject m % 8 + 1) to
    the middle of that subject's first rep of movement m + 3, through ``one_way``'s noise."""
    from physio_core.ml.data import CLASS_NAMES, N_MOVEMENTS

    moves = []
    for m in range(N_MOVEMENTS):
        s = m % 8 + 1
        start, _, _ = uiprmd_set([(CLASS_NAMES[m], s, True)])
        other, bounds, _ = uiprmd_set([(CLASS_NAMES[(m + 3) % N_MOVEMENTS], s, True)])
        moves.append(one_way(start.joints[0], other.joints[sum(bounds[0]) // 2], seconds, seed=m))
    return moves


# ---------------------------------------------------------------- video files


def write_clip(dst: Path, frames: Iterable[np.ndarray], fps: int = 30, *, codec: str = "libx264",
               setup: Callable[[object], None] | None = None) -> Path:
    """Encode RGB frames (all of the first one's size) into ``dst``; ``setup(stream)`` adds what a
    device writes beside the pictures (display rotation, pixel aspect)."""
    import av

    frames = iter(frames)
    first = next(frames)
    with av.open(str(dst), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = "yuv420p"
        if setup is not None:
            setup(stream)
        for rgb in itertools.chain([first], frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def write_anamorphic_clip(dst: Path, frames: list[np.ndarray], pixel_aspect: Fraction, fps: int = 30) -> Path:
    """How a camcorder stores non-square pixels: each picture squeezed to ``1 / pixel_aspect``
    of its width, plus the sample aspect ratio telling players to stretch it back."""
    import av

    height, width = frames[0].shape[:2]
    stored_width = round(width / pixel_aspect / 2) * 2
    squeezed = (av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        width=stored_width, height=height, interpolation="AREA").to_ndarray() for rgb in frames)
    return write_clip(dst, squeezed, fps,
                      setup=lambda stream: setattr(stream.codec_context, "sample_aspect_ratio", pixel_aspect))


def write_interlaced_clip(dst: Path, fields: list[np.ndarray], fps: int = 15) -> Path:
    """How an interlaced camcorder (1080i, DV) stores motion: each frame weaves two pictures
    taken one field apart, and the encoder marks the frames interlaced. PyAV's frames carry no
    field order, so libx264 writes bottom field first (as DV does): ``fields[2k]`` goes on the
    odd (bottom) lines and ``fields[2k + 1]`` on the even ones."""
    import av

    def woven() -> Iterator[np.ndarray]:
        for first, second in zip(fields[0::2], fields[1::2]):
            frame = second.copy()
            frame[1::2] = first[1::2]
            yield frame

    def interlaced(stream) -> None:
        stream.codec_context.flags |= (av.codec.context.Flags.interlaced_dct
                                       | av.codec.context.Flags.interlaced_me)

    return write_clip(dst, woven(), fps, setup=interlaced)


def write_phone_clip(dst: Path, upright: list[np.ndarray], fps: int = 30, rotation: int = 90) -> Path:
    """How a phone stores a portrait clip: landscape frames (the picture turned ``rotation``
    degrees clockwise) plus a display matrix telling players to turn it back (iPhones: -90)."""
    stored = (np.ascontiguousarray(np.rot90(rgb, k=-rotation // 90)) for rgb in upright)
    return write_clip(dst, stored, fps, setup=lambda stream: stream.set_display_rotation(rotation))


def write_tagged_copy(src: Path, dst: Path, tags: dict[str, str]) -> Path:
    """``src``'s video stream copied as it is (no re-encoding) into ``dst`` with the container
    metadata ``tags``, as a phone writes its recording time (mp4 or mov, by ``dst``'s suffix)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "use_metadata_tags"}) as out:
        out.metadata.update(tags)
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        for packet in inp.demux(s_in):
            if packet.dts is None:  # the demuxer's empty end-of-stream packet
                continue
            packet.stream = s_out
            out.mux(packet)
    return dst


def table_rows(engine, tables) -> dict[str, list[tuple]]:
    """Every row of ``tables``, in a stable order, as text: what a migration must leave alone."""
    import sqlalchemy as sa

    out = {}
    with engine.connect() as conn:
        for t in tables:
            cols = [c["name"] for c in sa.inspect(conn).get_columns(t)]
            rows = conn.execute(sa.text(f"SELECT {', '.join(cols)} FROM {t} ORDER BY {', '.join(cols[:3])}")).all()
            out[t] = [tuple(str(v) for v in r) for r in rows]
    return out


# Streamlit's template's colours, which only its page replaces
STREAMLIT_PLACEHOLDER = re.compile(r"#0000[0-4]\d\b")


@pytest.fixture
def streamlit_plotly_default():
    """Plotly's default template as it is inside the app: Streamlit's, set on importing st."""
    import plotly.io as pio
    from streamlit.elements.lib.streamlit_plotly_theme import configure_streamlit_plotly_theme

    before = pio.templates.default
    configure_streamlit_plotly_theme()
    yield
    pio.templates.default = before


def session_ids(table) -> list[int]:
    """The session numbers of the Sessions page's table, from its "session" link column."""
    return [int(u.rsplit("=", 1)[1]) for u in table["session"]]
