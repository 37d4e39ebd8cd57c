"""The training host's database: patients, professionals, authorisations, traces.

SQLAlchemy 2 ORM over any database URL. SQLite (``sqlite:///<path>``, or
``sqlite://`` in memory) is the default; PostgreSQL works as well
(``postgresql+psycopg://user:password@host/dbname``, with the ``postgres``
extra installed): the schema uses only portable types (strings, integers,
booleans, dates, timestamps stored as naive UTC), no SQLite-only feature and
no database-side enum, so that new states can be added without a migration
of constraints.

The schema is created at start-up (``create_all``); later features (documents,
registry, habilitation requests...) add tables next to these ones.
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine, make_url
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

__all__ = [
    "Authorization",
    "AuthorizationStatus",
    "Base",
    "DmpState",
    "Patient",
    "Professional",
    "Store",
    "Trace",
    "utcnow",
]


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


def _is_memory_sqlite(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


class Store:
    """The host's database behind a database URL (see the module docstring)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
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
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_on_connect)
        # SQLite has one writer at a time; serialising our own accesses avoids
        # "database is locked" and makes the in-memory database thread-safe.
        self._lock: threading.RLock | None = threading.RLock() if self.is_sqlite else None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

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

    # --- patients ----------------------------------------------------------
    def find_patient(self, session: Session, ins_value: str, ins_root: str) -> Patient | None:
        return session.scalars(
            select(Patient).where(Patient.ins_value == ins_value, Patient.ins_root == ins_root)
        ).one_or_none()

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
            select(Authorization).where(
                Authorization.patient_id == patient.id,
                Authorization.professional_national_id == national_id,
            )
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

    def traces(self, *, after_id: int = 0) -> list[Trace]:
        with self.session() as session:
            return list(
                session.scalars(select(Trace).where(Trace.id > after_id).order_by(Trace.id))
            )

    def last_trace_id(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.coalesce(func.max(Trace.id), 0))) or 0


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Per-connection setting of the SQLite driver (not SQL schema): enforce foreign keys.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
