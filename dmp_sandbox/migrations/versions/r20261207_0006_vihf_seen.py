"""VIHF assertions already accepted, shared by every host process (replay refused across workers).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 03:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vihf_seen",
        sa.Column("assertion_id", sa.String(length=256), primary_key=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_vihf_seen_expires_at", "vihf_seen", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_vihf_seen_expires_at", table_name="vihf_seen")
    op.drop_table("vihf_seen")
