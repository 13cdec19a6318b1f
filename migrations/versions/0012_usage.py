"""Token usage by calendar month: per person, channel and assistant, with rollups.

One row per (team, month, user, channel, assistant). ``*`` in user/channel/assistant marks a
rollup row, kept beside the detail so a quota check reads two rows and a workspace keeps its
monthly totals per assistant after the person-level rows are deleted (``RETENTION_DAYS``).

Revision ID: 0012_usage
Revises: 0011_oauth
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_usage"
down_revision: str | None = "0011_oauth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_monthly",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("channel_id", sa.String(32), primary_key=True),
        sa.Column("assistant_id", sa.String(64), primary_key=True),
        sa.Column("enterprise_id", sa.String(32), nullable=True),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_usage_monthly_enterprise", "usage_monthly", ["enterprise_id", "month"])


def downgrade() -> None:
    op.drop_index("ix_usage_monthly_enterprise", table_name="usage_monthly")
    op.drop_table("usage_monthly")
