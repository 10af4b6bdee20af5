"""Storage: SQLModel tables, Alembic migrations, typed queries.

    from physio_core.store import init_db, save_session_result
    engine = init_db()                      # DATABASE_URL, or SQLite under settings.data_dir
    sid = save_session_result(engine, result, athlete_id=athlete.id)
"""

from physio_core.store.db import (
    SchemaMismatch,
    StorageUnavailable,
    current_revision,
    describe_url,
    dispose_engines,
    downgrade,
    init_db,
    make_engine,
    upgrade,
)
from physio_core.store.models import FeedbackKind, Role, SessionStatus
from physio_core.store.pending import PendingSession, PendingWrites
from physio_core.store.repo import (
    AccessDenied,
    FeedbackOut,
    MetricsOut,
    NotFound,
    ProgressRow,
    SessionDetail,
    SessionRow,
    UserOut,
    add_feedback,
    append_live_data,
    assign_athlete,
    authenticate,
    can_view_athlete,
    count_sessions,
    create_user,
    delete_athlete,
    delete_session,
    end_session,
    get_or_create_athlete,
    get_session_detail,
    get_user,
    get_user_by_email,
    list_athletes,
    list_sessions,
    list_trainers_of,
    list_users,
    progress_for_athlete,
    progress_for_athletes,
    save_imu_session,
    save_session_result,
    session_exercises,
    set_active,
    set_felt,
    set_password,
    set_session_notes,
    start_session,
    unassign_athlete,
)

__all__ = [name for name in dir() if not name.startswith("_")]
