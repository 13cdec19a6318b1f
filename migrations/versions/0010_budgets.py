"""Slack budgets shared by every instance: one token-bucket row per (method, scope).

Revision ID: 0010_budgets
Revises: 0009_recovery
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_budgets"
down_revision: str | None = "0009_recovery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_budgets",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("stamp", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slack_budgets")
