"""Administrative data (TD1.3) and the patient's online access (TD1.5) on patients.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("home_phone", sa.String(length=64)),
    ("address_lines", sa.String(length=512)),
    ("postal_code", sa.String(length=16)),
    ("city", sa.String(length=100)),
    ("country", sa.String(length=64)),
    ("legal_representative_mobile", sa.String(length=64)),
    ("legal_representative_email", sa.String(length=254)),
    ("online_login", sa.String(length=32)),
    ("online_access_at", sa.DateTime()),
    ("otp_sms", sa.String(length=64)),
    ("otp_email", sa.String(length=254)),
)


def upgrade() -> None:
    for name, type_ in _COLUMNS:
        op.add_column("patients", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        for name, _type in reversed(_COLUMNS):
            batch.drop_column(name)
