"""Consultation on the host: TD3.1 (ITI-18 stored query) and TD3.2 (ITI-43 retrieval).

Access is decided by :mod:`dmp_sandbox.access` from the store; refusals are
answered as XDS errors (``status`` Failure + ``RegistryErrorList``, HTTP 200),
not as SOAP faults, as an XDS registry and repository do. Every request's
trace row (written by the server) gets the access mode, the emergency reason,
the number of documents returned and, for a retrieval, their unique ids.

An emergency access (break glass or centre 15) that is granted writes a
notification to the patient's outbox: "Un accès en mode bris de glace a eu
lieu le … par Dr …". A break glass also notifies the patient's médecin
traitant DMP (outbox row with ``recipient_national_id``). The reason typed
by the professional stays in the access trace only: no notice copies it.
One notification covers a whole emergency session: the same professional,
patient and mode within :data:`NOTIFICATION_WINDOW` do not write another one.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from lxml import etree
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from dmp_desktop.domain.document import DocumentStatus
from dmp_desktop.domain.patient import Ins
from dmp_sandbox import xds
from dmp_sandbox.access import AccessMode, AccessRequest, Grant, grant_consultation, read_access
from dmp_sandbox.access import vihf_patient as _vihf_patient
from dmp_sandbox.mtom import MimePart, new_content_id
from dmp_sandbox.soap import OperationAnswer
from dmp_sandbox.store import (
    DMP_REPOSITORY_ID,
    DOCUMENT_ROW,
    SNAPSHOTS,
    Authorization,
    AuthorizationStatus,
    DocumentRecord,
    DocumentSnapshot,
    OutboxMessage,
    Store,
    utcnow,
)

if TYPE_CHECKING:
    from dmp_sandbox.host import OperationContext, TraceContext

NOTIFICATION_WINDOW = dt.timedelta(hours=12)
XDS_CID_DOMAIN = "urn:ihe:iti:xds-b:2007"  # Content-IDs like the official TD3.2 answer
_PARIS = ZoneInfo("Europe/Paris")

NOTIFICATION_KINDS = {
    AccessMode.BREAK_GLASS: ("BRIS_DE_GLACE", "en mode bris de glace"),
    AccessMode.CENTRE_15: ("CENTRE_15", "par le centre de régulation (centre 15)"),
}


def _start(ctx: OperationContext) -> AccessRequest:
    request = read_access(ctx.identity, ctx.vihf)
    ctx.trace.purpose = request.mode.value
    ctx.trace.reason = request.reason
    return request


def _refused(trace: TraceContext, error: xds.XdsError) -> None:
    trace.outcome = error.code
    trace.result = "Failure"
    trace.document_count = 0


def _same_patient(vihf_ins: Ins | None, ins: Ins) -> None:
    if vihf_ins is not None and (vihf_ins.value, vihf_ins.oid) != (ins.value, ins.oid):
        raise xds.invalid(
            "Le patient désigné par le jeton VIHF (resource-id) n'est pas celui de la requête."
        )


def _patient_of_vihf(ctx: OperationContext) -> Ins:
    ins = _vihf_patient(ctx.vihf)
    if ins is None:
        raise xds.invalid(
            "Le jeton VIHF doit désigner le patient (attribut resource-id) pour cette transaction."
        )
    return ins


# A patient's documents of some statuses, newest first, as rows (built once; see _candidates).
_DOCUMENTS = (
    select(*DOCUMENT_ROW)
    .where(
        DocumentRecord.patient_id == bindparam("patient_id"),
        DocumentRecord.status.in_(bindparam("statuses", expanding=True)),
    )
    .order_by(DocumentRecord.creation_time.desc(), DocumentRecord.id)
)


def _candidates(
    session: Session, grant: Grant, wanted: xds.DocumentFilter
) -> list[DocumentSnapshot]:
    """The documents the query asks for and the grant lets see, as read-only snapshots."""
    statuses = sorted(set(wanted.statuses) - {DocumentStatus.DELETED.value})
    query = _DOCUMENTS
    if wanted.unique_ids:
        query = query.where(DocumentRecord.unique_id.in_(wanted.unique_ids))
    if wanted.entry_uuids:
        query = query.where(DocumentRecord.entry_uuid.in_(wanted.entry_uuids))
    rows = session.execute(query, {"patient_id": grant.patient.id, "statuses": statuses}).all()
    return [
        found
        for found in SNAPSHOTS.of(rows)
        if xds.document_matches(found.doc, wanted) and grant.sees(found.doc)
    ]


def find_documents(ctx: OperationContext) -> etree._Element | OperationAnswer:
    """TD3.1: FindDocuments (and GetDocuments) under the access rules."""
    try:
        query = xds.read_stored_query(ctx.request.payload)
        if query.query_id == xds.FIND_DOCUMENTS:
            wanted = xds.read_find_documents(query)
            ins = wanted.patient or _patient_of_vihf(ctx)
            _same_patient(_vihf_patient(ctx.vihf), ins)
        elif query.query_id == xds.GET_DOCUMENTS:
            wanted = xds.read_get_documents(query)
            ins = _patient_of_vihf(ctx)
        else:
            raise xds.invalid(
                "Requête enregistrée non prise en charge (FindDocuments ou GetDocuments)."
            )
        ctx.trace.patient_ins, ctx.trace.patient_ins_root = ins.value, ins.oid
        request = _start(ctx)
        store = ctx.store
        with _unit_of_work(store, request) as session:
            grant = grant_consultation(store, session, ins, request)
            found = _candidates(session, grant, wanted)
            patient = grant.patient
            cx = xds.patient_cx(patient.ins_value, patient.ins_root, patient.dmp_created_at)
            if request.mode.emergency:
                notify_emergency(store, session, grant)
    except xds.XdsError as error:
        _refused(ctx.trace, error)
        return xds.query_response(error=error)
    ctx.trace.document_count = len(found)
    ctx.trace.result = "Success"
    if query.return_type == "ObjectRef":
        return xds.query_response([xds.object_ref(each.doc) for each in found])
    return xds.entries_answer(found, cx)


def _unit_of_work(store: Store, request: AccessRequest) -> AbstractContextManager[Session]:
    """An emergency access writes the patient's notice with what it reads; any other only reads."""
    return store.session() if request.mode.emergency else store.reading()


def retrieve_documents(ctx: OperationContext) -> OperationAnswer:
    """TD3.2: RetrieveDocumentSet, each document as an MTOM part."""
    try:
        requests = xds.read_retrieve(ctx.request.payload)
        ins = _patient_of_vihf(ctx)
        ctx.trace.patient_ins, ctx.trace.patient_ins_root = ins.value, ins.oid
        request = _start(ctx)
        store = ctx.store
        parts: list[xds.RetrievedPart] = []
        attachments: list[MimePart] = []
        errors: list[xds.XdsError] = []
        with _unit_of_work(store, request) as session:
            grant = grant_consultation(store, session, ins, request)
            for item in requests:
                if item.repository_id != DMP_REPOSITORY_ID:
                    errors.append(
                        xds.XdsError(
                            xds.XDS_UNKNOWN_REPOSITORY,
                            "Entrepôt de documents inconnu du DMP.",
                            item.repository_id,
                        )
                    )
                    continue
                found = store.document_and_content(session, grant.patient, item.unique_id)
                if found is None or not grant.sees(found[0].doc):
                    errors.append(
                        xds.XdsError(
                            xds.XDS_UNKNOWN_DOCUMENT,
                            "Document introuvable dans ce DMP, ou qui ne vous est pas accessible.",
                            item.unique_id,
                        )
                    )
                    continue
                snapshot, content = found
                content_id = new_content_id(XDS_CID_DOMAIN)
                parts.append(xds.RetrievedPart(item, snapshot.doc.mime_type, content_id))
                attachments.append(MimePart(content_id, content))
            if parts and request.mode.emergency:
                notify_emergency(store, session, grant)
    except xds.XdsError as error:
        _refused(ctx.trace, error)
        return OperationAnswer(xds.retrieve_response([], [error]))
    ctx.trace.document_count = len(parts)
    ctx.trace.document_unique_id = " ".join(p.request.unique_id for p in parts) or None
    if not parts:
        ctx.trace.outcome = errors[0].code
        ctx.trace.result = "Failure"
    else:
        ctx.trace.result = "PartialSuccess" if errors else "Success"
    return OperationAnswer(xds.retrieve_response(parts, errors), attachments)


def notification_text(request: AccessRequest, at: dt.datetime) -> str:
    """The patient's notice: who, when, in which mode; never the reason typed.

    The reason (which may hold health information) stays in the access trace,
    which the patient reads in their access history.
    """
    _, wording = NOTIFICATION_KINDS[request.mode]
    local = at.astimezone(_PARIS)
    return (
        f"Un accès {wording} a eu lieu le {local:%d/%m/%Y} à {local:%H:%M} "
        f"par {request.display_name}."
    )


def treating_physician_text(request: AccessRequest, patient_name: str, at: dt.datetime) -> str:
    """The médecin traitant's notice of a break-glass access to their patient's record."""
    local = at.astimezone(_PARIS)
    return (
        f"Un accès en mode bris de glace au DMP de votre patient(e) {patient_name} a eu lieu "
        f"le {local:%d/%m/%Y} à {local:%H:%M} par {request.display_name}."
    )


def treating_physicians(session: Session, patient_id: int) -> list[str]:
    """The national ids of the patient's médecin traitant DMP (a valid authorisation)."""
    rows = session.scalars(
        select(Authorization).where(
            Authorization.patient_id == patient_id, Authorization.treating_physician.is_(True)
        )
    )
    return [
        row.professional_national_id
        for row in rows
        if row.effective_status() is AuthorizationStatus.VALIDE
    ]


def notify_emergency(store: Store, session: Session, grant: Grant) -> OutboxMessage | None:
    """Tell the patient (and, for a break glass, the médecin traitant) of an emergency access.

    One notice per emergency session: the same professional, patient and mode
    within :data:`NOTIFICATION_WINDOW` write no other one. The reason is not
    copied into any notice (it is in the trace row of each request).
    """
    request = grant.request
    kind, _ = NOTIFICATION_KINDS[request.mode]
    now = utcnow()
    recent = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.patient_id == grant.patient.id,
            OutboxMessage.kind == kind,
            OutboxMessage.professional_national_id == request.national_id,
            OutboxMessage.recipient_national_id.is_(None),
            OutboxMessage.created_at >= now - NOTIFICATION_WINDOW,
        )
        .order_by(OutboxMessage.id.desc())
    ).first()
    if recent is not None:
        return None
    message = store.notify_patient(
        session,
        grant.patient,
        kind,
        notification_text(request, now),
        professional_national_id=request.national_id,
        at=now,
    )
    if request.mode is AccessMode.BREAK_GLASS:
        patient = grant.patient
        name = f"{patient.given_name.title()} {patient.family_name.upper()}".strip()
        for physician in treating_physicians(session, patient.id):
            if physician == request.national_id:
                continue  # the médecin traitant's own break glass: nobody else to tell
            store.notify_patient(
                session,
                patient,
                kind,
                treating_physician_text(request, name, now),
                professional_national_id=request.national_id,
                at=now,
                recipient_national_id=physician,
            )
    return message
