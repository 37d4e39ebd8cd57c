"""Care teams in establishments: patients' stays, and the structure in each trace.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 21:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("traces", sa.Column("structure_id", sa.String(length=64), nullable=True))
    op.create_table(
        "establishment_stays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("structure_id", sa.String(length=64), nullable=False),
        sa.Column("structure_name", sa.String(length=255), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("admitted_at", sa.DateTime(), nullable=False),
        sa.Column("discharged_at", sa.DateTime(), nullable=True),
        sa.Column("care_team_opposed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("structure_id", "patient_id", name="uq_establishment_stays"),
    )
    op.create_index(
        "ix_establishment_stays_patient_id", "establishment_stays", ["patient_id"], unique=False
    )
    op.create_index(
        "ix_establishment_stays_structure_id",
        "establishment_stays",
        ["structure_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_establishment_stays_structure_id", table_name="establishment_stays")
    op.drop_index("ix_establishment_stays_patient_id", table_name="establishment_stays")
    op.drop_table("establishment_stays")
    with op.batch_alter_table("traces") as batch:
        batch.drop_column("structure_id")
