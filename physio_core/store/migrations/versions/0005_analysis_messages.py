"""The scoring's own messages get their own feedback kind, ``analysis``.

A session's warnings were one kind, ``warning``: those about its recording ("Another person was
detected at 5.6–6.7 s…") and those of its scoring ("Most reps look like…"). Scoring a stored
session again must replace the second and keep the first, which could only be told apart by how
the messages begin. This revision widens the check on ``feedback.kind`` and moves the stored
scoring messages to ``analysis``, told apart by the beginnings every earlier version wrote.
Downgrade moves them back to ``warning``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

Self-contained like 0001: no imports from the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# 0001 named its check twice over (its name went through the naming convention); this revision
# names it as the models do, and its downgrade puts 0001's name back
CHECK, CHECK_0001 = "ck_feedback_kind", "ck_feedback_ck_feedback_kind"
# how the rep counter's and the models' messages began up to this revision (physio_core.assess,
# physio_core.pipeline); the recording's never begin so
SCORING_BEGINNINGS = ("Rep ", "No known exercise was recognised", "Most reps look like", "The angles of '",
                      "The exercise assessment could not be made", "The exercise models are not available",
                      "Model '")

feedback = sa.table("feedback", sa.column("kind", sa.String), sa.column("text", sa.Text))


def _check(name: str, kinds: tuple[str, ...]) -> None:
    """The check on ``feedback.kind``, whatever its name, replaced by one allowing ``kinds``."""
    present = [c["name"] for c in sa.inspect(op.get_bind()).get_check_constraints("feedback")
               if "kind" in c["sqltext"]]
    with op.batch_alter_table("feedback") as batch:
        for old in present:
            batch.drop_constraint(op.f(old), type_="check")
        batch.create_check_constraint(op.f(name), "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")")


def upgrade() -> None:
    _check(CHECK, ("system", "trainer", "warning", "analysis"))
    scoring = sa.or_(*(feedback.c.text.startswith(b, autoescape=True) for b in SCORING_BEGINNINGS))
    op.execute(feedback.update().where(feedback.c.kind == "warning", scoring).values(kind="analysis"))


def downgrade() -> None:
    op.execute(feedback.update().where(feedback.c.kind == "analysis").values(kind="warning"))
    _check(CHECK_0001, ("system", "trainer", "warning"))
