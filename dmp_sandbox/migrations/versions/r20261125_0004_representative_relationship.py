"""The legal representative's relationship to a minor (mother, father, guardian).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 22:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "patients",
        sa.Column("legal_representative_relationship", sa.String(length=16), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("legal_representative_relationship")
