"""The training host's database: patients, professionals, authorisations, traces.

SQLAlchemy 2 ORM over any database URL. SQLite (``sqlite:///<path>``, or
``sqlite://`` in memory) is the default; PostgreSQL works as well
(``postgresql+psycopg://user:password@host/dbname``, with the ``postgres``
extra installed): the schema uses only portable types (strings, integers,
booleans, dates, timestamps stored as naive UTC), no SQLite-only feature and
no database-side enum, so that new states can be added without a migration
of constraints.

The schema is managed by Alembic migrations (``dmp_sandbox/migrations``,
see docs/database.md): ``Store`` upgrades the database to the newest revision
at start-up. A database made by ``create_all`` before migrations existed (no
``alembic_version`` table) gets the missing tables and columns (nullable or
defaulted columns only, ``ALTER TABLE ... ADD COLUMN``) and is then stamped
at the newest revision.

The document registry and repository (IHE XDS.b) live here too:

- ``documents``: one row per DocumentEntry (the registry's metadata). The
  XDS uniqueId is unique per patient; the entryUUID is unique; ``lid`` and
  ``version`` are the logical id and metadata version (an ITI-57 update bumps
  the version and keeps the lid); ``replaced_by_uuid`` / ``replaces_uuid``
  link a document and its replacement (RPLC, the old one becomes
  ``Deprecated``). Coded metadata are columns (code, scheme, label); lists
  (authors, confidentiality codes, event codes) are JSON columns.
- ``document_contents``: the repository, the document's bytes (LargeBinary:
  BLOB on SQLite, BYTEA on PostgreSQL), one row per document, loaded only
  when a document is retrieved.
- ``submission_sets``: the submission sets that brought the documents (and
  those of metadata updates), with who sent them and the submission's
  signature.
- ``outbox``: notifications to the patient (emergency accesses...), read with
  ``dmp-sandbox outbox``.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    cast,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from dmp_desktop.domain.dmp_status import DmpState
from dmp_desktop.domain.document import DocumentStatus
from dmp_sandbox.lru import Lru

__all__ = [
    "DMP_REPOSITORY_ID",
    "DOCUMENT_ROW",
    "SNAPSHOTS",
    "Authorization",
    "AuthorizationStatus",
    "Base",
    "DmpState",
    "DocumentContent",
    "DocumentRecord",
    "DocumentSnapshot",
    "DocumentSnapshots",
    "DocumentStatus",
    "OutboxMessage",
    "Patient",
    "Professional",
    "SeenProfessional",
    "Store",
    "SubmissionSetRecord",
    "Trace",
    "utcnow",
]

# The DMP's repository (as in the official TD3.1 / TD3.2 messages).
DMP_REPOSITORY_ID = "1.2.250.1.213.4.1.1.1.2"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime, stored as a naive UTC timestamp (portable)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: give an aware (UTC) datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class AuthorizationStatus(enum.StrEnum):
    """What is stored. ``EXPIRE`` is also derived from a past end date."""

    VALIDE = "VALIDE"
    INTERDIT = "INTERDIT"
    EXPIRE = "EXPIRE"


class Base(DeclarativeBase):
    pass


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("ins_value", "ins_root", name="uq_patients_ins"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ins_value: Mapped[str] = mapped_column(String(15))
    ins_root: Mapped[str] = mapped_column(String(64))
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1))  # M / F / U (HL7 AdministrativeGender)
    is_minor: Mapped[bool] = mapped_column(Boolean, default=False)
    # The DMP itself: none (never created), active, closed.
    dmp_state: Mapped[str] = mapped_column(String(8), default=DmpState.NONE.value)
    dmp_id: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    dmp_created_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
    closure_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    closure_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    closure_text: Mapped[str | None] = mapped_column(String(255), default=None)
    # Patient's choices and account.
    opposition_bris_de_glace: Mapped[bool] = mapped_column(Boolean, default=False)
    opposition_centre_15: Mapped[bool] = mapped_column(Boolean, default=False)
    internet_account_open: Mapped[bool] = mapped_column(Boolean, default=False)
    ens_attached: Mapped[bool] = mapped_column(Boolean, default=False)
    # A minor's secret connection (accesses hidden from the legal representatives).
    secret_connection: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # TD1.1 creation (dmp_sandbox.records): the patient's contacts for the online
    # access (adults only), a minor's legal representative, and the retention
    # purge (dmp_sandbox.purge) that destroyed a long-closed record.
    mobile: Mapped[str | None] = mapped_column(String(64), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    legal_representative: Mapped[str | None] = mapped_column(String(255), default=None)
    # HL7 PersonalRelationshipRoleType given at creation (MTH, FTH, GUARD...).
    legal_representative_relationship: Mapped[str | None] = mapped_column(String(16), default=None)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
    # TD1.3 administrative data (dmp_sandbox.admin_data): home phone, postal
    # address, the legal representative's contacts (a minor's record), and the
    # TD1.5 online access: login (never a password) and one-time-code channels.
    home_phone: Mapped[str | None] = mapped_column(String(64), default=None)
    address_lines: Mapped[str | None] = mapped_column(String(512), default=None)
    postal_code: Mapped[str | None] = mapped_column(String(16), default=None)
    city: Mapped[str | None] = mapped_column(String(100), default=None)
    country: Mapped[str | None] = mapped_column(String(64), default=None)
    legal_representative_mobile: Mapped[str | None] = mapped_column(String(64), default=None)
    legal_representative_email: Mapped[str | None] = mapped_column(String(254), default=None)
    online_login: Mapped[str | None] = mapped_column(String(32), default=None)
    online_access_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
    otp_sms: Mapped[str | None] = mapped_column(String(64), default=None)
    otp_email: Mapped[str | None] = mapped_column(String(254), default=None)

    authorizations: Mapped[list[Authorization]] = relationship(
        back_populates="patient", cascade="all, delete-orphan"
    )

    @property
    def state(self) -> DmpState:
        return DmpState(self.dmp_state)


class Professional(Base):
    """A professional (or structure staff member) known to the host.

    Filled from the TLS client certificate on each authenticated request.
    """

    __tablename__ = "professionals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    national_id: Mapped[str] = mapped_column(String(64), unique=True)
    family_name: Mapped[str] = mapped_column(String(100), default="")
    given_name: Mapped[str] = mapped_column(String(100), default="")
    profession: Mapped[str] = mapped_column(String(100), default="")  # card title
    profession_code: Mapped[str | None] = mapped_column(String(8), default=None)  # G15
    structure_id: Mapped[str | None] = mapped_column(String(64), default=None)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Authorization(Base):
    """A professional's authorisation on a patient's DMP (or the patient's block)."""

    __tablename__ = "authorizations"
    __table_args__ = (
        UniqueConstraint("patient_id", "professional_national_id", name="uq_authorizations"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    professional_national_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(10), default=AuthorizationStatus.VALIDE.value)
    treating_physician: Mapped[bool] = mapped_column(Boolean, default=False)
    start_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    end_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)

    patient: Mapped[Patient] = relationship(back_populates="authorizations")

    def effective_status(self, now: dt.datetime | None = None) -> AuthorizationStatus:
        """The status the DMP reports: a valid authorisation past its end date has expired."""
        status = AuthorizationStatus(self.status)
        now = now or utcnow()
        if status is AuthorizationStatus.VALIDE and self.end_at is not None and self.end_at <= now:
            return AuthorizationStatus.EXPIRE
        return status


class Trace(Base):
    """One row per request reaching the application, accepted or refused."""

    __tablename__ = "traces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    professional_national_id: Mapped[str | None] = mapped_column(
        String(64), default=None, index=True
    )
    patient_ins: Mapped[str | None] = mapped_column(String(15), default=None, index=True)
    patient_ins_root: Mapped[str | None] = mapped_column(String(64), default=None)
    service: Mapped[str | None] = mapped_column(String(32), default=None)
    transaction: Mapped[str | None] = mapped_column(String(16), default=None)  # "TD0.2"
    action: Mapped[str | None] = mapped_column(String(255), default=None)
    # "OK" for an accepted request, else the fault code sent ("DMPAuthenticationError"...).
    outcome: Mapped[str] = mapped_column(String(64))
    # Business result when accepted (TD0.2: "OK/VALIDE", "NF"...).
    result: Mapped[str | None] = mapped_column(String(64), default=None)
    http_status: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str | None] = mapped_column(String(255), default=None)
    remote_address: Mapped[str | None] = mapped_column(String(64), default=None)
    # Consultation (TD3.x): access mode ("normal", "bris_de_glace", "centre_15"),
    # the emergency reason the professional typed, documents returned and, for a
    # retrieval, their unique ids (space-separated).
    purpose: Mapped[str | None] = mapped_column(String(32), default=None)
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    document_count: Mapped[int | None] = mapped_column(Integer, default=None)
    document_unique_id: Mapped[str | None] = mapped_column(String(255), default=None)
    # Structure mode: the structure (Identifiant_Structure of its certificate) the
    # professional acted for, e.g. an establishment's care team (dmp_sandbox.care_team).
    structure_id: Mapped[str | None] = mapped_column(String(64), default=None)


# The trace row of every request (record_request), as one SQL statement.
_TRACE_INSERT = insert(Trace)


class SubmissionSetRecord(Base):
    """An XDS SubmissionSet: what one upload (ITI-41) brought."""

    __tablename__ = "submission_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    unique_id: Mapped[str] = mapped_column(String(128))
    source_id: Mapped[str] = mapped_column(String(128))
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    submission_time: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    title: Mapped[str] = mapped_column(String(255), default="")
    comments: Mapped[str] = mapped_column(Text, default="")
    content_type_code: Mapped[str | None] = mapped_column(String(64), default=None)
    content_type_scheme: Mapped[str | None] = mapped_column(String(64), default=None)
    content_type_display: Mapped[str | None] = mapped_column(String(255), default=None)
    # [{"national_id", "family_name", "given_name", "role", "specialty_code",
    #   "specialty_display", "specialty_scheme", "institution", "institution_id"}]
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Who sent it (an ITI-41 upload or an ITI-57 update), and the submission's
    # XAdES signature (IHE DSG): its unique id, bytes, signer, and whether the
    # host verified it (False only under the test-only bypass).
    submitter_national_id: Mapped[str | None] = mapped_column(String(64), default=None)
    signature_unique_id: Mapped[str | None] = mapped_column(String(128), default=None)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
    signer_national_id: Mapped[str | None] = mapped_column(String(64), default=None)
    signature_verified: Mapped[bool | None] = mapped_column(Boolean, default=None)


class DocumentRecord(Base):
    """One DocumentEntry of the registry (see the module docstring)."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("patient_id", "unique_id", name="uq_documents_unique_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    lid: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # VersionInfo/@versionName
    unique_id: Mapped[str] = mapped_column(String(128))
    repository_id: Mapped[str] = mapped_column(String(64), default=DMP_REPOSITORY_ID)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    submission_set_id: Mapped[int | None] = mapped_column(
        ForeignKey("submission_sets.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(64), default=DocumentStatus.APPROVED.value)
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
    mime_type: Mapped[str] = mapped_column(String(64), default="text/xml")
    title: Mapped[str] = mapped_column(String(255), default="")
    comments: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(16), default="fr-FR")
    type_code: Mapped[str] = mapped_column(String(64))
    type_scheme: Mapped[str] = mapped_column(String(64))
    type_display: Mapped[str] = mapped_column(String(255), default="")
    class_code: Mapped[str] = mapped_column(String(64))
    class_scheme: Mapped[str] = mapped_column(String(64))
    class_display: Mapped[str] = mapped_column(String(255), default="")
    format_code: Mapped[str] = mapped_column(String(128))
    format_scheme: Mapped[str] = mapped_column(String(64))
    format_display: Mapped[str] = mapped_column(String(255), default="")
    facility_type_code: Mapped[str | None] = mapped_column(String(64), default=None)
    facility_type_scheme: Mapped[str | None] = mapped_column(String(64), default=None)
    facility_type_display: Mapped[str | None] = mapped_column(String(255), default=None)
    practice_setting_code: Mapped[str | None] = mapped_column(String(64), default=None)
    practice_setting_scheme: Mapped[str | None] = mapped_column(String(64), default=None)
    practice_setting_display: Mapped[str | None] = mapped_column(String(255), default=None)
    creation_time: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    service_start: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
    service_stop: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
    submission_time: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # See SubmissionSetRecord.authors for the keys.
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"code", "scheme", "display"}]: N/R/V (2.16.840.1.113883.5.25) and the DMP
    # codes MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX.
    confidentiality: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    event_codes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    legal_authenticator: Mapped[str | None] = mapped_column(String(255), default=None)
    source_patient_id: Mapped[str | None] = mapped_column(String(255), default=None)
    source_patient_info: Mapped[list[str]] = mapped_column(JSON, default=list)
    hash_sha1: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    set_id: Mapped[str | None] = mapped_column(String(128), default=None)  # CDA setId
    cda_version: Mapped[int | None] = mapped_column(Integer, default=None)  # CDA versionNumber
    replaced_by_uuid: Mapped[str | None] = mapped_column(String(64), default=None)
    replaces_uuid: Mapped[str | None] = mapped_column(String(64), default=None)

    content: Mapped[DocumentContent] = relationship(
        back_populates="document", cascade="all, delete-orphan", lazy="select"
    )

    @property
    def document_status(self) -> DocumentStatus:
        return DocumentStatus(self.status)

    def confidentiality_codes(self) -> set[str]:
        return {str(c.get("code", "")) for c in self.confidentiality or ()}

    def author_ids(self) -> set[str]:
        return {str(a["national_id"]) for a in self.authors or () if a.get("national_id")}


class DocumentContent(Base):
    """The repository: a document's bytes, apart from its metadata."""

    __tablename__ = "document_contents"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)

    document: Mapped[DocumentRecord] = relationship(back_populates="content")


# The host's hot queries, built once (their SQL is compiled once per engine, and
# nothing is rebuilt per request); the values are bound at each call.
_PATIENT_BY_INS = select(Patient).where(
    Patient.ins_value == bindparam("ins_value"), Patient.ins_root == bindparam("ins_root")
)
_PATIENT_ACCESS = (
    select(Patient, Authorization)
    .outerjoin(
        Authorization,
        and_(
            Authorization.patient_id == Patient.id,
            Authorization.professional_national_id == bindparam("national_id"),
        ),
    )
    .where(Patient.ins_value == bindparam("ins_value"), Patient.ins_root == bindparam("ins_root"))
)
_AUTHORIZATION = select(Authorization).where(
    Authorization.patient_id == bindparam("patient_id"),
    Authorization.professional_national_id == bindparam("national_id"),
)
_DOCUMENT_BY_UNIQUE_ID = select(DocumentRecord).where(
    DocumentRecord.patient_id == bindparam("patient_id"),
    DocumentRecord.unique_id == bindparam("unique_id"),
)
_DOCUMENT_CONTENT = select(DocumentContent.data).where(
    DocumentContent.document_id == bindparam("document_id")
)


# --- documents as snapshots of their row ---------------------------------------------------------
# Every column of the documents table, the JSON ones as their stored text: a row
# read with these is a plain tuple of strings, numbers and dates, equal to
# another exactly when the stored document is (see DocumentSnapshots).
_DOCUMENT_TABLE = DocumentRecord.__table__
_DOCUMENT_JSON = frozenset(c.name for c in _DOCUMENT_TABLE.columns if isinstance(c.type, JSON))
DOCUMENT_ROW = tuple(
    cast(c, Text).label(c.name) if c.name in _DOCUMENT_JSON else c for c in _DOCUMENT_TABLE.columns
)
if {c.name for c in _DOCUMENT_TABLE.columns} != {
    a.key for a in inspect(DocumentRecord).column_attrs
}:  # snapshots are built by name
    raise TypeError("DocumentRecord: its attribute names must be its column names")


@dataclass(frozen=True)
class DocumentSnapshot:
    """One document as read: a detached, read-only DocumentRecord and the row it came from.

    ``key`` (the row, JSON as text) identifies the document's content exactly:
    the host's written entries are kept under it (:func:`dmp_sandbox.xds.serialized_entries`).
    ``doc`` is shared by every request that read the same row: never change it.
    """

    key: tuple[object, ...]
    doc: DocumentRecord


class DocumentSnapshots:
    """Documents read as rows, each row turned into a :class:`DocumentSnapshot` once.

    A consultation reads a patient's documents again and again, mostly
    unchanged: the rows are read with :data:`DOCUMENT_ROW` (no JSON decoding, no
    ORM instance), and a row seen before gives back its snapshot. Any change of
    any column gives another row, hence a new snapshot: nothing stale is
    served. Least recently used rows are dropped beyond ``size``; thread-safe.
    """

    def __init__(self, size: int) -> None:
        self._rows: Lru[DocumentSnapshot] = Lru(size)

    def of(self, rows: Sequence[Sequence[object]]) -> list[DocumentSnapshot]:
        found: list[DocumentSnapshot] = []
        for row in rows:
            key = tuple(row)
            snapshot = self._rows.get(key)
            if snapshot is None:
                snapshot = DocumentSnapshot(key, _detached_document(key))
                self._rows.put(key, snapshot)
            found.append(snapshot)
        return found

    def clear(self) -> None:
        self._rows.clear()


def _detached_document(row: tuple[object, ...]) -> DocumentRecord:
    """A transient DocumentRecord holding ``row``'s values, as the ORM's loading makes one:
    an instance with its state (no ``__init__``: no default applied, no change
    recorded), the values put in its ``__dict__`` (forty times faster than the
    constructor, for lists of thousands)."""
    values: dict[str, Any] = {}
    for column, value in zip(_DOCUMENT_TABLE.columns, row, strict=True):
        if column.name in _DOCUMENT_JSON and value is not None:
            value = json.loads(str(value))
        values[column.name] = value
    doc: DocumentRecord = _DOCUMENT_CLASS.new_instance()
    doc.__dict__.update(values)
    return doc


_DOCUMENT_CLASS = inspect(DocumentRecord).class_manager
SNAPSHOTS = DocumentSnapshots(4096)
_DOCUMENT_AND_CONTENT = (
    select(*DOCUMENT_ROW, DocumentContent.data)
    .join(DocumentContent, DocumentContent.document_id == DocumentRecord.id)
    .where(
        DocumentRecord.patient_id == bindparam("patient_id"),
        DocumentRecord.unique_id == bindparam("unique_id"),
    )
)


class OutboxMessage(Base):
    """A notification to the patient (the DMP would e-mail it or show it online)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))  # "BRIS_DE_GLACE", "CENTRE_15"...
    text: Mapped[str] = mapped_column(Text)
    professional_national_id: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    # None: the patient (or their legal representative); else the professional the notice is
    # for (the médecin traitant DMP told of a break-glass access). Migration 0005.
    recipient_national_id: Mapped[str | None] = mapped_column(String(64), default=None)


class SeenAssertion(Base):
    """A VIHF assertion already accepted, until its validity ends: a replay is refused by
    every host process of the database (:class:`dmp_sandbox.replay.SharedAssertionGuard`,
    used when the host runs several workers). Migration 0006."""

    __tablename__ = "vihf_seen"

    assertion_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class EstablishmentStay(Base):
    """A patient known to a health establishment (a stay): its care team is presumed
    authorised while the stay is open (see :mod:`dmp_sandbox.care_team`)."""

    __tablename__ = "establishment_stays"
    __table_args__ = (
        UniqueConstraint("structure_id", "patient_id", name="uq_establishment_stays"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    structure_id: Mapped[str] = mapped_column(String(64), index=True)
    structure_name: Mapped[str] = mapped_column(String(255), default="")
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    admitted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    discharged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
    # The patient opposed access by the establishment's care team for this stay.
    care_team_opposed: Mapped[bool] = mapped_column(Boolean, default=False)


def _is_memory_sqlite(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


# record_request: a professional's row is refreshed at most this often by one process
# (unless the certificate's fields change); bounded memory for the remembered ones.
SEEN_REFRESH = 60.0
SEEN_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class SeenProfessional:
    """A professional as the TLS certificate (or a structure's signed VIHF) names them."""

    national_id: str
    family_name: str
    given_name: str
    profession: str
    profession_code: str | None
    structure_id: str | None


def _private_file(path: str) -> None:
    """Health data: the SQLite file (and so its -wal/-shm companions) is the owner's only, 0600."""
    if not path or path.startswith("file:"):
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _read_only_on_connect(dbapi_connection: Any, _record: object) -> None:
    """Every transaction of this server connection is read-only (Store.reading()).

    Set on the connection rather than through the URL's ``options``, which a
    deployment may use for its own settings (a search_path).
    """
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute("SET default_transaction_read_only = on")
    finally:
        dbapi_connection.autocommit = autocommit


class Store:
    """The host's database behind a database URL (see the module docstring)."""

    def __init__(self, url: str, *, echo: bool = False, migrate: bool = True) -> None:
        """``migrate=False``: the database is known to be at the newest revision already
        (a worker process of a host whose master migrated it)."""
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        # Parameters (INS, names) never appear in SQLAlchemy's errors or logs.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            # The host works from a worker thread, tests from theirs.
            kwargs["connect_args"] = {"check_same_thread": False}
            if _is_memory_sqlite(url):
                kwargs["poolclass"] = StaticPool  # one connection, one database
            else:
                _private_file(parsed.database or "")
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_on_connect)
        # SQLite has one writer at a time; serialising our own accesses avoids
        # "database is locked" and makes the in-memory database thread-safe.
        self._lock: threading.RLock | None = threading.RLock() if self.is_sqlite else None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Professionals this process recorded lately (record_request): national id ->
        # (what was written, when, monotonic seconds).
        self._seen: dict[str, tuple[SeenProfessional, float]] = {}
        self._seen_lock = threading.Lock()
        self._assertions_checked = 0  # remember_assertion: expired ids purged now and then
        self._remember_statement: Any = None  # remember_assertion, built at first use
        # A write of one statement needs no BEGIN and COMMIT around it: on a server
        # database, one round trip instead of three (every request writes one or two).
        # Its own pool of connections left in autocommit: none switched back and forth.
        self._single_statement: Engine = self._autocommit_engine(kwargs)
        # Reads (reading()): the same, on connections that are read-only as well.
        self._reads: Engine = self._autocommit_engine(kwargs)
        if not self.is_sqlite:
            event.listen(self._reads, "connect", _read_only_on_connect)
        self._read_sessions = sessionmaker(self._reads, expire_on_commit=False)
        if migrate:
            _migrate(self.engine)

    def _autocommit_engine(self, kwargs: dict[str, Any]) -> Engine:
        """A small pool of connections left in autocommit (SQLite: the main engine)."""
        if self.is_sqlite:
            return self.engine
        return create_engine(
            self.url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=4, **kwargs
        )

    def close(self) -> None:
        self.engine.dispose()
        for engine in (self._single_statement, self._reads):
            if engine is not self.engine:
                engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error."""
        if self._lock is not None:
            self._lock.acquire()
        try:
            with self._sessions() as session, session.begin():
                yield session
        finally:
            if self._lock is not None:
                self._lock.release()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit of work that only reads: a request that consults and writes nothing.

        On a server database it runs without BEGIN and COMMIT, two round trips
        fewer. Each statement sees what was committed before it started, which
        is what the statements of a PostgreSQL transaction see anyway at its
        default isolation (READ COMMITTED). Its connections are read-only: a
        write there fails instead of being committed statement by statement.
        On SQLite, a transaction (:meth:`session`).
        """
        if self.is_sqlite:
            with self.session() as session:
                yield session
            return
        with self._read_sessions() as session:
            yield session

    # --- patients ----------------------------------------------------------
    def find_patient(self, session: Session, ins_value: str, ins_root: str) -> Patient | None:
        return session.scalars(
            _PATIENT_BY_INS, {"ins_value": ins_value, "ins_root": ins_root}
        ).one_or_none()

    def find_patient_access(
        self, session: Session, ins_value: str, ins_root: str, national_id: str
    ) -> tuple[Patient | None, Authorization | None]:
        """:meth:`find_patient` and :meth:`find_authorization` in one query (a join)."""
        row = session.execute(
            _PATIENT_ACCESS,
            {"ins_value": ins_value, "ins_root": ins_root, "national_id": national_id},
        ).one_or_none()
        if row is None:
            return None, None
        return row[0], row[1]

    def upsert_patient(
        self, session: Session, ins_value: str, ins_root: str, **fields: Any
    ) -> Patient:
        """Create the patient or update the given fields; returns the (flushed) row."""
        patient = self.find_patient(session, ins_value, ins_root)
        if patient is None:
            patient = Patient(ins_value=ins_value, ins_root=ins_root)
            session.add(patient)
        for name, value in fields.items():
            if not hasattr(Patient, name):
                raise AttributeError(f"unknown patient field: {name}")
            setattr(patient, name, value)
        session.flush()
        return patient

    # --- authorisations ----------------------------------------------------
    def find_authorization(
        self, session: Session, patient: Patient, national_id: str
    ) -> Authorization | None:
        return session.scalars(
            _AUTHORIZATION, {"patient_id": patient.id, "national_id": national_id}
        ).one_or_none()

    def set_authorization(
        self,
        session: Session,
        patient: Patient,
        national_id: str,
        status: AuthorizationStatus,
        *,
        treating_physician: bool = False,
        start_at: dt.datetime | None = None,
        end_at: dt.datetime | None = None,
    ) -> Authorization:
        auth = self.find_authorization(session, patient, national_id)
        if auth is None:
            auth = Authorization(patient_id=patient.id, professional_national_id=national_id)
            session.add(auth)
        auth.status = AuthorizationStatus(status).value
        auth.treating_physician = treating_physician
        auth.start_at = start_at or utcnow()
        auth.end_at = end_at
        session.flush()
        return auth

    def remove_authorizations(self, session: Session, patient: Patient) -> None:
        for auth in list(patient.authorizations):
            session.delete(auth)
        session.flush()

    # --- professionals -----------------------------------------------------
    def seen_professional(
        self,
        national_id: str,
        *,
        family_name: str,
        given_name: str,
        profession: str,
        profession_code: str | None,
        structure_id: str | None,
    ) -> None:
        """Record (or refresh) a professional authenticated by certificate."""
        now = utcnow()
        with self.session() as session:
            pro = session.scalars(
                select(Professional).where(Professional.national_id == national_id)
            ).one_or_none()
            if pro is None:
                pro = Professional(national_id=national_id, first_seen_at=now)
                session.add(pro)
            pro.family_name = family_name
            pro.given_name = given_name
            pro.profession = profession
            pro.profession_code = profession_code
            pro.structure_id = structure_id
            pro.last_seen_at = now

    def professional(self, national_id: str) -> Professional | None:
        with self.session() as session:
            return session.scalars(
                select(Professional).where(Professional.national_id == national_id)
            ).one_or_none()

    # --- traces ------------------------------------------------------------
    def add_trace(self, **fields: Any) -> None:
        with self.session() as session:
            session.add(Trace(**fields))

    def remember_assertion(self, assertion_id: str, until: dt.datetime, now: dt.datetime) -> bool:
        """Remember a VIHF assertion accepted until ``until``; False when one with the same
        id is already remembered and still valid at ``now`` (a replay). Expired ids are
        forgotten on the way (the one asked about at once, the others now and then).

        One statement (every request of a multi-worker host passes here): insert the
        id, or take over its row if that one has expired; a row still valid is left
        as it is and nothing comes back.
        """
        if self._remember_statement is None:
            self._remember_statement = self._build_remember_statement()
        with self._locked(), self._one_statement() as connection:
            self._assertions_checked += 1
            if self._assertions_checked % 1000 == 0:
                connection.execute(delete(SeenAssertion).where(SeenAssertion.expires_at <= now))
            taken = connection.execute(
                self._remember_statement, {"id": assertion_id, "until": until, "now": now}
            ).first()
        return taken is not None

    @contextmanager
    def _one_statement(self) -> Iterator[Connection]:
        """A connection for writes that are each one statement, atomic by themselves
        (autocommit on a server database; a transaction on SQLite)."""
        if self.is_sqlite:
            with self.engine.begin() as connection:
                yield connection
            return
        with self._single_statement.connect() as connection:
            yield connection

    def _build_remember_statement(self) -> Any:
        from sqlalchemy.dialects import postgresql, sqlite

        seen = SeenAssertion
        dialect = sqlite if self.is_sqlite else postgresql
        statement = dialect.insert(seen).values(
            assertion_id=bindparam("id"), expires_at=bindparam("until")
        )
        return statement.on_conflict_do_update(
            index_elements=[seen.assertion_id],
            set_={"expires_at": statement.excluded.expires_at},
            where=seen.expires_at <= bindparam("now", type_=UtcDateTime()),
        ).returning(seen.assertion_id)

    def record_request(self, trace: dict[str, Any], seen: SeenProfessional | None = None) -> None:
        """One request's trace row, and the professional seen, in one transaction.

        The host's write for every request (:func:`dmp_sandbox.server._record`),
        in SQL statements rather than through the ORM's unit of work: the trace
        row is inserted, and the professional's row (:meth:`seen_professional`'s
        fields) upserted in the same commit. When the professional's row needs no
        refresh, the trace row alone is one statement, written in autocommit
        (:meth:`_one_statement`). A professional this process wrote
        with the very same fields less than :data:`SEEN_REFRESH` seconds ago is
        not written again: only ``last_seen_at`` would change, by less than that.
        Nothing is kept in memory before the commit succeeds.
        """
        now = utcnow()
        refresh = seen if seen is not None and not self._seen_recently(seen) else None
        if refresh is None:  # the trace row alone
            with self._locked(), self._one_statement() as connection:
                connection.execute(_TRACE_INSERT, trace)
            return
        with self._locked(), self.engine.begin() as connection:
            connection.execute(self._upsert_professional(refresh, now))
            connection.execute(_TRACE_INSERT, trace)
        with self._seen_lock:
            if len(self._seen) >= SEEN_CACHE_SIZE:
                self._seen.clear()
            self._seen[refresh.national_id] = (refresh, time.monotonic())

    def _seen_recently(self, seen: SeenProfessional) -> bool:
        with self._seen_lock:
            last = self._seen.get(seen.national_id)
        return last is not None and last[0] == seen and time.monotonic() - last[1] < SEEN_REFRESH

    def _upsert_professional(self, seen: SeenProfessional, now: dt.datetime) -> Any:
        fields = {
            "family_name": seen.family_name,
            "given_name": seen.given_name,
            "profession": seen.profession,
            "profession_code": seen.profession_code,
            "structure_id": seen.structure_id,
            "last_seen_at": now,
        }
        if self.is_sqlite:
            from sqlalchemy.dialects import sqlite

            lite = sqlite.insert(Professional).values(
                national_id=seen.national_id, first_seen_at=now, **fields
            )
            return lite.on_conflict_do_update(index_elements=["national_id"], set_=fields)
        from sqlalchemy.dialects import postgresql

        pg = postgresql.insert(Professional).values(
            national_id=seen.national_id, first_seen_at=now, **fields
        )
        return pg.on_conflict_do_update(index_elements=["national_id"], set_=fields)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock is None:
            yield
            return
        with self._lock:
            yield

    def traces(self, *, after_id: int = 0) -> list[Trace]:
        with self.session() as session:
            return list(
                session.scalars(select(Trace).where(Trace.id > after_id).order_by(Trace.id))
            )

    def last_trace_id(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.coalesce(func.max(Trace.id), 0))) or 0

    # --- documents (registry + repository) ---------------------------------
    def add_document(
        self, session: Session, patient: Patient, content: bytes, **fields: Any
    ) -> DocumentRecord:
        """Register a document and store its bytes; size and SHA-1 come from ``content``."""
        fields.setdefault("lid", fields.get("entry_uuid"))
        document = DocumentRecord(
            patient_id=patient.id,
            size=len(content),
            hash_sha1=hashlib.sha1(content, usedforsecurity=False).hexdigest(),
            **fields,
        )
        document.content = DocumentContent(data=content)
        session.add(document)
        session.flush()
        return document

    def find_document(
        self, session: Session, patient: Patient, unique_id: str
    ) -> DocumentRecord | None:
        return session.scalars(
            _DOCUMENT_BY_UNIQUE_ID, {"patient_id": patient.id, "unique_id": unique_id}
        ).one_or_none()

    def document_and_content(
        self, session: Session, patient: Patient, unique_id: str
    ) -> tuple[DocumentSnapshot, bytes] | None:
        """:meth:`find_document` and :meth:`document_content` in one query (TD3.2), the
        document as a read-only snapshot (:class:`DocumentSnapshots`)."""
        row = session.execute(
            _DOCUMENT_AND_CONTENT, {"patient_id": patient.id, "unique_id": unique_id}
        ).one_or_none()
        if row is None:
            return None
        *document, content = row
        return SNAPSHOTS.of([document])[0], content

    def document_content(self, session: Session, document: DocumentRecord) -> bytes:
        return session.scalars(_DOCUMENT_CONTENT, {"document_id": document.id}).one()

    def remove_documents(self, session: Session, patient: Patient) -> None:
        """Every document and submission set of a patient (demo reset)."""
        ids = select(DocumentRecord.id).where(DocumentRecord.patient_id == patient.id)
        session.execute(delete(DocumentContent).where(DocumentContent.document_id.in_(ids)))
        session.execute(delete(DocumentRecord).where(DocumentRecord.patient_id == patient.id))
        session.execute(
            delete(SubmissionSetRecord).where(SubmissionSetRecord.patient_id == patient.id)
        )
        session.flush()

    # --- outbox ------------------------------------------------------------
    def notify_patient(
        self,
        session: Session,
        patient: Patient,
        kind: str,
        text: str,
        *,
        professional_national_id: str | None = None,
        reason: str | None = None,
        at: dt.datetime | None = None,
        recipient_national_id: str | None = None,
    ) -> OutboxMessage:
        message = OutboxMessage(
            patient_id=patient.id,
            kind=kind,
            text=text,
            professional_national_id=professional_national_id,
            reason=reason,
            created_at=at or utcnow(),
            recipient_national_id=recipient_national_id,
        )
        session.add(message)
        session.flush()
        return message

    def clear_outbox(self, session: Session, patient: Patient) -> None:
        session.execute(delete(OutboxMessage).where(OutboxMessage.patient_id == patient.id))
        session.flush()

    def outbox(
        self, *, ins_value: str | None = None, ins_root: str | None = None
    ) -> list[tuple[OutboxMessage, str, str]]:
        """(message, patient INS, INS root), oldest first; one patient's when ``ins_value``."""
        with self.session() as session:
            query = (
                select(OutboxMessage, Patient.ins_value, Patient.ins_root)
                .join(Patient, Patient.id == OutboxMessage.patient_id)
                .order_by(OutboxMessage.created_at, OutboxMessage.id)
            )
            if ins_value is not None:
                query = query.where(Patient.ins_value == ins_value)
                if ins_root is not None:
                    query = query.where(Patient.ins_root == ins_root)
            return [(row[0], row[1], row[2]) for row in session.execute(query)]


def _migrate(engine: Engine) -> None:
    """Bring the database to the newest schema revision (see the module docstring)."""
    from dmp_sandbox import migrations

    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it: dropping the old copy must not
            # cascade to the rows that refer to it (the setting is per connection).
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            tables = set(inspect(connection).get_table_names())
            if "alembic_version" not in tables and tables & set(Base.metadata.tables):
                # Made by create_all before migrations: complete it, then adopt it.
                Base.metadata.create_all(connection)
                _add_missing_columns(connection)
                migrations.stamp(connection, "head")
            else:
                migrations.upgrade(connection, "head")
            connection.commit()
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def _add_missing_columns(connection: Connection) -> None:
    """Add the columns a database made by an earlier version lacks (nullable or defaulted)."""
    inspector = inspect(connection)
    existing_tables = set(inspector.get_table_names())
    statements: list[str] = []
    preparer = connection.dialect.identifier_preparer
    for table in Base.metadata.sorted_tables:
        if table.name not in existing_tables:
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            default = column.default
            scalar = default is not None and default.is_scalar
            if column.primary_key or (not column.nullable and not scalar):
                raise RuntimeError(
                    f"cannot add the required column {table.name}.{column.name} to an "
                    "existing database: recreate it"
                )
            type_sql = column.type.compile(dialect=connection.dialect)
            sql = (
                f"ALTER TABLE {preparer.format_table(table)} "
                f"ADD COLUMN {preparer.format_column(column)} {type_sql}"
            )
            if scalar:
                sql += f" DEFAULT {_sql_literal(default.arg)}"  # type: ignore[union-attr]
            statements.append(sql)
    for sql in statements:
        connection.exec_driver_sql(sql)


def _sql_literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"unsupported default for a new column: {value!r}")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Per-connection setting of the SQLite driver (not SQL schema): enforce foreign keys.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
