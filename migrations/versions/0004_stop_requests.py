"""Stop requests on replies, so a Stop click handled by another instance reaches the streamer.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.add_column(sa.Column("stop_requested_by", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("stop_requested_by")
