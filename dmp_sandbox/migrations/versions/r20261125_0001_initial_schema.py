"""Initial schema: the host's tables as the models defined them when migrations began.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 21:12:28.320218
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ins_value", sa.String(length=15), nullable=False),
        sa.Column("ins_root", sa.String(length=64), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gender", sa.String(length=1), nullable=False),
        sa.Column("is_minor", sa.Boolean(), nullable=False),
        sa.Column("dmp_state", sa.String(length=8), nullable=False),
        sa.Column("dmp_id", sa.String(length=32), nullable=True),
        sa.Column("dmp_created_at", sa.DateTime(), nullable=True),
        sa.Column("closure_date", sa.Date(), nullable=True),
        sa.Column("closure_reason", sa.String(length=64), nullable=True),
        sa.Column("closure_text", sa.String(length=255), nullable=True),
        sa.Column("opposition_bris_de_glace", sa.Boolean(), nullable=False),
        sa.Column("opposition_centre_15", sa.Boolean(), nullable=False),
        sa.Column("internet_account_open", sa.Boolean(), nullable=False),
        sa.Column("ens_attached", sa.Boolean(), nullable=False),
        sa.Column("secret_connection", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("mobile", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("legal_representative", sa.String(length=255), nullable=True),
        sa.Column("purged_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dmp_id"),
        sa.UniqueConstraint("ins_value", "ins_root", name="uq_patients_ins"),
    )
    op.create_table(
        "professionals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("national_id", sa.String(length=64), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("profession", sa.String(length=100), nullable=False),
        sa.Column("profession_code", sa.String(length=8), nullable=True),
        sa.Column("structure_id", sa.String(length=64), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("national_id"),
    )
    op.create_table(
        "traces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("professional_national_id", sa.String(length=64), nullable=True),
        sa.Column("patient_ins", sa.String(length=15), nullable=True),
        sa.Column("patient_ins_root", sa.String(length=64), nullable=True),
        sa.Column("service", sa.String(length=32), nullable=True),
        sa.Column("transaction", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=64), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("remote_address", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("document_count", sa.Integer(), nullable=True),
        sa.Column("document_unique_id", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_traces_at", "traces", ["at"], unique=False)
    op.create_index("ix_traces_patient_ins", "traces", ["patient_ins"], unique=False)
    op.create_index(
        "ix_traces_professional_national_id", "traces", ["professional_national_id"], unique=False
    )
    op.create_table(
        "authorizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("professional_national_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("treating_physician", sa.Boolean(), nullable=False),
        sa.Column("start_at", sa.DateTime(), nullable=False),
        sa.Column("end_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_id", "professional_national_id", name="uq_authorizations"),
    )
    op.create_index("ix_authorizations_patient_id", "authorizations", ["patient_id"], unique=False)
    op.create_index(
        "ix_authorizations_professional_national_id",
        "authorizations",
        ["professional_national_id"],
        unique=False,
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("professional_national_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"], unique=False)
    op.create_index("ix_outbox_patient_id", "outbox", ["patient_id"], unique=False)
    op.create_table(
        "submission_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_uuid", sa.String(length=64), nullable=False),
        sa.Column("unique_id", sa.String(length=128), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("submission_time", sa.DateTime(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("content_type_code", sa.String(length=64), nullable=True),
        sa.Column("content_type_scheme", sa.String(length=64), nullable=True),
        sa.Column("content_type_display", sa.String(length=255), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("submitter_national_id", sa.String(length=64), nullable=True),
        sa.Column("signature_unique_id", sa.String(length=128), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("signer_national_id", sa.String(length=64), nullable=True),
        sa.Column("signature_verified", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_uuid"),
    )
    op.create_index(
        "ix_submission_sets_patient_id", "submission_sets", ["patient_id"], unique=False
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_uuid", sa.String(length=64), nullable=False),
        sa.Column("lid", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("unique_id", sa.String(length=128), nullable=False),
        sa.Column("repository_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("submission_set_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(), nullable=True),
        sa.Column("mime_type", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("type_code", sa.String(length=64), nullable=False),
        sa.Column("type_scheme", sa.String(length=64), nullable=False),
        sa.Column("type_display", sa.String(length=255), nullable=False),
        sa.Column("class_code", sa.String(length=64), nullable=False),
        sa.Column("class_scheme", sa.String(length=64), nullable=False),
        sa.Column("class_display", sa.String(length=255), nullable=False),
        sa.Column("format_code", sa.String(length=128), nullable=False),
        sa.Column("format_scheme", sa.String(length=64), nullable=False),
        sa.Column("format_display", sa.String(length=255), nullable=False),
        sa.Column("facility_type_code", sa.String(length=64), nullable=True),
        sa.Column("facility_type_scheme", sa.String(length=64), nullable=True),
        sa.Column("facility_type_display", sa.String(length=255), nullable=True),
        sa.Column("practice_setting_code", sa.String(length=64), nullable=True),
        sa.Column("practice_setting_scheme", sa.String(length=64), nullable=True),
        sa.Column("practice_setting_display", sa.String(length=255), nullable=True),
        sa.Column("creation_time", sa.DateTime(), nullable=False),
        sa.Column("service_start", sa.DateTime(), nullable=True),
        sa.Column("service_stop", sa.DateTime(), nullable=True),
        sa.Column("submission_time", sa.DateTime(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("confidentiality", sa.JSON(), nullable=False),
        sa.Column("event_codes", sa.JSON(), nullable=False),
        sa.Column("legal_authenticator", sa.String(length=255), nullable=True),
        sa.Column("source_patient_id", sa.String(length=255), nullable=True),
        sa.Column("source_patient_info", sa.JSON(), nullable=False),
        sa.Column("hash_sha1", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.String(length=128), nullable=True),
        sa.Column("cda_version", sa.Integer(), nullable=True),
        sa.Column("replaced_by_uuid", sa.String(length=64), nullable=True),
        sa.Column("replaces_uuid", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["submission_set_id"], ["submission_sets.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_uuid"),
        sa.UniqueConstraint("patient_id", "unique_id", name="uq_documents_unique_id"),
    )
    op.create_index("ix_documents_creation_time", "documents", ["creation_time"], unique=False)
    op.create_index("ix_documents_lid", "documents", ["lid"], unique=False)
    op.create_index("ix_documents_patient_id", "documents", ["patient_id"], unique=False)
    op.create_table(
        "document_contents",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id"),
    )


def downgrade() -> None:
    op.drop_table("document_contents")
    op.drop_index("ix_documents_patient_id", table_name="documents")
    op.drop_index("ix_documents_lid", table_name="documents")
    op.drop_index("ix_documents_creation_time", table_name="documents")
    op.drop_table("documents")
    op.drop_index("ix_submission_sets_patient_id", table_name="submission_sets")
    op.drop_table("submission_sets")
    op.drop_index("ix_outbox_patient_id", table_name="outbox")
    op.drop_index("ix_outbox_created_at", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_authorizations_professional_national_id", table_name="authorizations")
    op.drop_index("ix_authorizations_patient_id", table_name="authorizations")
    op.drop_table("authorizations")
    op.drop_index("ix_traces_professional_national_id", table_name="traces")
    op.drop_index("ix_traces_patient_ins", table_name="traces")
    op.drop_index("ix_traces_at", table_name="traces")
    op.drop_table("traces")
    op.drop_table("professionals")
    op.drop_table("patients")
