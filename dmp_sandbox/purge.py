"""``dmp-sandbox purge [--now ISO-DATETIME]``: the retention of closed records.

A DMP closed more than :data:`RETENTION_YEARS` years ago (strictly: its
closure date plus 10 years is before today) is destroyed: its documents and
their bytes, its submission sets, authorisations and notifications are
deleted; the patient row keeps no readable field (names, birth date,
contacts, legal representative, closure text, DMP id and INS are replaced by
neutral values; the INS by a random placeholder under a non-INS root, so
that the same INS can open a new DMP); the trace rows about the patient lose
the INS and the emergency reason. The row stays, with ``purged_at``, as the
proof that the purge happened. ``--now`` sets the clock (tests, rehearsals).
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update

from dmp_sandbox.store import (
    Authorization,
    DmpState,
    DocumentContent,
    DocumentRecord,
    EstablishmentStay,
    OutboxMessage,
    Patient,
    SubmissionSetRecord,
    Trace,
    utcnow,
)

if TYPE_CHECKING:
    from dmp_sandbox.store import Store

RETENTION_YEARS = 10
PURGED_ROOT = "purged"  # not an INS authority: never matches a request
PURGED_BIRTH_DATE = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class PurgeCounts:
    records: int = 0
    documents: int = 0
    authorizations: int = 0
    notifications: int = 0
    traces: int = 0


def retention_end(closure: dt.date) -> dt.date:
    try:
        return closure.replace(year=closure.year + RETENTION_YEARS)
    except ValueError:  # 29 February
        return closure.replace(year=closure.year + RETENTION_YEARS, day=28)


def purge(store: Store, now: dt.datetime | None = None) -> PurgeCounts:
    """Destroy every record closed more than 10 years before ``now``."""
    today = (now or utcnow()).date()
    records = documents = authorizations = notifications = traces = 0
    with store.session() as session:
        candidates = session.scalars(
            select(Patient).where(
                Patient.dmp_state == DmpState.CLOSED.value,
                Patient.purged_at.is_(None),
                Patient.closure_date.is_not(None),
            )
        ).all()
        for patient in candidates:
            assert patient.closure_date is not None  # noqa: S101 - filtered above
            if retention_end(patient.closure_date) >= today:
                continue
            records += 1
            doc_ids = select(DocumentRecord.id).where(DocumentRecord.patient_id == patient.id)
            documents += (
                session.scalar(
                    select(func.count())
                    .select_from(DocumentRecord)
                    .where(DocumentRecord.patient_id == patient.id)
                )
                or 0
            )
            session.execute(delete(DocumentContent).where(DocumentContent.document_id.in_(doc_ids)))
            session.execute(delete(DocumentRecord).where(DocumentRecord.patient_id == patient.id))
            session.execute(
                delete(SubmissionSetRecord).where(SubmissionSetRecord.patient_id == patient.id)
            )
            authorizations += (
                session.scalar(
                    select(func.count())
                    .select_from(Authorization)
                    .where(Authorization.patient_id == patient.id)
                )
                or 0
            )
            session.execute(delete(Authorization).where(Authorization.patient_id == patient.id))
            notifications += (
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.patient_id == patient.id)
                )
                or 0
            )
            session.execute(delete(OutboxMessage).where(OutboxMessage.patient_id == patient.id))
            session.execute(
                delete(EstablishmentStay).where(EstablishmentStay.patient_id == patient.id)
            )
            about = (
                Trace.patient_ins == patient.ins_value,
                Trace.patient_ins_root == patient.ins_root,
            )
            traces += session.scalar(select(func.count()).select_from(Trace).where(*about)) or 0
            session.execute(
                update(Trace)
                .where(*about)
                .values(patient_ins=None, patient_ins_root=None, reason=None)
            )
            session.expire(patient, ["authorizations"])
            patient.ins_value = secrets.token_hex(7)[:14] + "P"
            patient.ins_root = PURGED_ROOT
            patient.family_name = ""
            patient.given_name = ""
            patient.birth_date = PURGED_BIRTH_DATE
            patient.gender = "U"
            patient.mobile = patient.email = patient.legal_representative = None
            patient.closure_text = None
            patient.dmp_id = None
            patient.internet_account_open = False
            patient.purged_at = now or utcnow()
    return PurgeCounts(records, documents, authorizations, notifications, traces)


def _iso(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "date invalide : format ISO attendu, par ex. 2036-05-01T12:00:00+02:00"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add_location: Callable[[argparse.ArgumentParser], None],
    open_store: Callable[[argparse.Namespace], Store],
) -> None:
    parser = commands.add_parser(
        "purge", help="détruire les DMP fermés depuis plus de 10 ans (durée de conservation)"
    )
    parser.add_argument(
        "--now", type=_iso, metavar="DATE-HEURE", help="date et heure de référence (ISO 8601)"
    )
    add_location(parser)

    def command(args: argparse.Namespace) -> int:
        with open_store(args) as store:
            counts = purge(store, args.now)
        if not counts.records:
            print("Aucun DMP fermé depuis plus de 10 ans : rien n'a été détruit.", flush=True)
            return 0
        print(
            f"{counts.records} DMP détruit(s) : {counts.documents} document(s), "
            f"{counts.authorizations} autorisation(s), {counts.notifications} notification(s) "
            f"supprimés ; {counts.traces} trace(s) anonymisée(s).",
            flush=True,
        )
        return 0

    parser.set_defaults(func=command)
