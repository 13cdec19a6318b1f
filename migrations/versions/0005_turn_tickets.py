"""Turn tickets: the per-user rate limit, counted in the database so it holds across instances.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "turn_tickets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_turn_tickets_user_at", "turn_tickets", ["team_id", "user_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_turn_tickets_user_at", table_name="turn_tickets")
    op.drop_table("turn_tickets")
