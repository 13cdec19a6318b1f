"""Recovery keeps what it needs in the database: the language the reply was written in.

Crash recovery used to find a half-written reply by its cursor glyph and read blocks back by an
emoji prefix; it now finds the message by the recorded ts (or by its Stop button, which carries
the turn id) and answers in the reply's own language, stored here. Nullable: replies written
before this revision fall back to the configured default language.

Revision ID: 0009_recovery
Revises: 0008_feedback
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_recovery"
down_revision: str | None = "0008_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.add_column(sa.Column("lang", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("lang")
