"""TD0.4 « Liste des DMP autorisés » and TD0.5 « Recherche d'un patient sans INS» on the host.

Read and written with the host's own lxml code; the bodies are validated
against the official schemas before they get here (``PatientsSpecific.wsdl``
for ``patientList``, NE2008 ``PRPA_IN201305UV02.xsd`` for TD0.5).

TD0.4 (``patientsSpecific``, ``patientList``): the active DMPs on which the
professional of the TLS certificate holds a valid authorisation, filtered by
``startDate`` (AAAAMMJJhhmmss, UTC) on ``dateType``: ``LASTAUTORIZATION``
(the authorisation's start) or ``LASTDOC`` (the last document added).
Each ``patientlistData`` carries, as the official answer: the DMP id
(1.2.250.1.213.1.4.2) then the INS, ``lastName``, ``firstName``,
``civility`` (``Mme`` / ``M``: the WSDL has it, the official example not),
``dateOfBirth``, ``MT`` (médecin traitant DMP), ``message`` (false: the
training host has no messaging), ``lastAccessDate`` (this professional's last
accepted request on the record), ``lastUpdateDate`` (the record's last
document change) and ``lastAddDate`` (its last document added); then
``status`` ``DMPOk``.

TD0.5 (``patientsPDQ``, ``PRPA_IN201305UV02``): the patients holding a DMP
(active or closed, not purged) whose name is the ``livingSubjectName``
family (compared in upper case without diacritics), and, when the request
gives them, whose first first name, birth date
(``livingSubjectBirthTime``) and sex (``livingSubjectAdministrativeGender``)
are those. The answer ``PRPA_IN201306UV02`` has the official answer's shape
(``acknowledgement`` AA, one ``registrationEvent`` per patient with the INS
and the DMP id, ``patientPerson`` with ``family`` qualifier ``BR``,
``queryMatchObservation`` 100, the opposition to emergency access, the
``queryAck`` and the request's ``queryByParameter``); at most
:data:`MAX_MATCHES` patients, ``queryResponseCode`` NF when none.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from lxml import etree
from sqlalchemy import func, select

from dmp_sandbox.identity_base import fold
from dmp_sandbox.soap import invalid
from dmp_sandbox.store import (
    AuthorizationStatus,
    DmpState,
    DocumentRecord,
    Patient,
    Trace,
    utcnow,
)

if TYPE_CHECKING:
    from dmp_sandbox.host import OperationContext

PATIENTS_NS = "urn:si-dmp-patients"
HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ACTION_TD04 = "urn:si-dmp-patients:PatientSpecificEndPoint:patientList"
ACTION_TD04_RESPONSE = "urn:si-dmp-patients:PatientSpecificEndPoint:patientListResponse"
ACTION_TD05 = "urn:hl7-org:v3:PRPA_IN201305UV02"
ACTION_TD05_RESPONSE = "urn:hl7-org:v3:PRPA_IN201306UV02"
OID_DMP_ID = "1.2.250.1.213.1.4.2"
OID_DMP_DEVICE = "1.2.250.1.213.4.1.1.1"
OID_HL7_INTERACTION = "2.16.840.1.113883.1.6"
OID_CONSENT_OBSERVATION = "1.2.250.1.213.4.1.2.3"
DATE_TYPES = ("LASTAUTORIZATION", "LASTDOC")
MAX_MATCHES = 50


def _p(local: str) -> str:
    return f"{{{PATIENTS_NS}}}{local}"


def _h(local: str) -> str:
    return f"{{{HL7}}}{local}"


def _ts(value: dt.datetime | None) -> str | None:
    return f"{value.astimezone(dt.UTC):%Y%m%d%H%M%S}" if value is not None else None


def _start_date(raw: str | None) -> dt.datetime:
    value = (raw or "").strip()
    if not value:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    if not value.isdigit() or len(value) not in (8, 12, 14):
        raise invalid("TD0.4 : startDate s'écrit AAAAMMJJhhmmss.")
    try:
        return dt.datetime.strptime(value.ljust(14, "0"), "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        raise invalid("TD0.4 : startDate n'est pas une date.") from None


# --- TD0.4 -------------------------------------------------------------------------------------


def list_authorised(ctx: OperationContext) -> etree._Element:
    """TD0.4: the professional's authorised DMPs (module docstring)."""
    payload = ctx.request.payload
    since = _start_date(payload.findtext(_p("startDate")))
    date_type = (payload.findtext(_p("dateType")) or "LASTAUTORIZATION").strip()
    if date_type not in DATE_TYPES:
        raise invalid("TD0.4 : dateType vaut LASTAUTORIZATION ou LASTDOC.")
    me = ctx.identity.national_id
    now = utcnow()
    response = etree.Element(_p("patientListResponse"), nsmap={"ns1": PATIENTS_NS})
    output = etree.SubElement(response, _p("output"))
    count = 0
    with ctx.store.session() as session:
        patients = session.scalars(
            select(Patient)
            .where(Patient.dmp_state == DmpState.ACTIVE.value, Patient.purged_at.is_(None))
            .order_by(Patient.family_name, Patient.given_name, Patient.id)
        ).all()
        for patient in patients:
            authorization = next(
                (a for a in patient.authorizations if a.professional_national_id == me), None
            )
            if authorization is None or authorization.effective_status(now) is not (
                AuthorizationStatus.VALIDE
            ):
                continue
            added, updated = session.execute(
                select(
                    func.max(DocumentRecord.submission_time),
                    func.max(DocumentRecord.status_changed_at),
                ).where(DocumentRecord.patient_id == patient.id)
            ).one()
            since_value = authorization.start_at if date_type == "LASTAUTORIZATION" else added
            if since_value is None or since_value < since:
                continue
            accessed = session.scalar(
                select(func.max(Trace.at)).where(
                    Trace.professional_national_id == me,
                    Trace.patient_ins == patient.ins_value,
                    Trace.patient_ins_root == patient.ins_root,
                    Trace.outcome == "OK",
                )
            )
            latest = max((d for d in (added, updated) if d is not None), default=None)
            _patient_row(output, patient, authorization.treating_physician, accessed, latest, added)
            count += 1
    etree.SubElement(output, _p("status")).text = "DMPOk"
    ctx.trace.result = f"OK/{count}"
    return response


def _patient_row(
    output: etree._Element,
    patient: Patient,
    treating: bool,
    accessed: dt.datetime | None,
    updated: dt.datetime | None,
    added: dt.datetime | None,
) -> None:
    row = etree.SubElement(output, _p("patientlistData"))
    for value, oid in ((patient.dmp_id, OID_DMP_ID), (patient.ins_value, patient.ins_root)):
        if not value:
            continue
        ident = etree.SubElement(row, _p("patientIdentifier"))
        etree.SubElement(ident, _p("nationalId")).text = value
        etree.SubElement(ident, _p("nationalIdType")).text = oid
    etree.SubElement(row, _p("lastName")).text = patient.family_name.upper()
    etree.SubElement(row, _p("firstName")).text = patient.given_name.upper()
    civility = {"F": "Mme", "M": "M"}.get(patient.gender)
    if civility:  # in the WSDL, not in the official example: gives the sex
        etree.SubElement(row, _p("civility")).text = civility
    etree.SubElement(row, _p("dateOfBirth")).text = f"{patient.birth_date:%Y%m%d}"
    etree.SubElement(row, _p("MT")).text = "true" if treating else "false"
    etree.SubElement(row, _p("message")).text = "false"
    dates: tuple[tuple[str, dt.datetime | None], ...] = (
        ("lastAccessDate", accessed),
        ("lastUpdateDate", updated),
        ("lastAddDate", added),
    )
    for local, moment in dates:
        text = _ts(moment)
        if text is not None:
            etree.SubElement(row, _p(local)).text = text


# --- TD0.5 -------------------------------------------------------------------------------------


class PdqParameters:
    def __init__(
        self,
        family: str,
        given: str | None,
        birth_date: dt.date | None,
        sex: str | None,
    ) -> None:
        self.family = family
        self.given = given
        self.birth_date = birth_date
        self.sex = sex


def read_pdq(payload: etree._Element) -> PdqParameters:
    params = payload.find(
        f"{_h('controlActProcess')}/{_h('queryByParameter')}/{_h('parameterList')}"
    )
    if params is None:
        raise invalid("TD0.5 : parameterList absent.")
    value = params.find(f"{_h('livingSubjectName')}/{_h('value')}")
    family = " ".join((value.findtext(_h("family")) or "").split()) if value is not None else ""
    if not family:
        raise invalid("TD0.5 : le nom (livingSubjectName/value/family) est obligatoire.")
    given = (
        " ".join((value.findtext(_h("given")) or "").split()) or None if value is not None else None
    )
    birth: dt.date | None = None
    birth_el = params.find(f"{_h('livingSubjectBirthTime')}/{_h('value')}")
    if birth_el is not None:
        raw = (birth_el.get("value") or "").strip()
        try:
            birth = dt.datetime.strptime(raw[:8], "%Y%m%d").date()
        except ValueError:
            raise invalid("TD0.5 : livingSubjectBirthTime s'écrit AAAAMMJJ.") from None
    sex_el = params.find(f"{_h('livingSubjectAdministrativeGender')}/{_h('value')}")
    sex = (sex_el.get("code") or "").strip().upper() or None if sex_el is not None else None
    return PdqParameters(family, given, birth, sex)


def _matches(patients: Iterable[Patient], query: PdqParameters) -> list[Patient]:
    family = fold(query.family)
    first = fold(query.given).split()[:1] if query.given else []
    found = []
    for patient in patients:
        if fold(patient.family_name) != family:
            continue
        if first and fold(patient.given_name).split()[:1] != first:
            continue
        if query.birth_date is not None and patient.birth_date != query.birth_date:
            continue
        if query.sex in ("F", "M") and patient.gender != query.sex:
            continue
        found.append(patient)
    return found


def _device(parent: etree._Element, tag: str, type_code: str, oid: str, name: str) -> None:
    holder = etree.SubElement(parent, _h(tag), typeCode=type_code)
    device = etree.SubElement(holder, _h("device"), classCode="DEV", determinerCode="INSTANCE")
    etree.SubElement(device, _h("id"), root=oid)
    etree.SubElement(device, _h("softwareName")).text = name


def search_patients(ctx: OperationContext) -> etree._Element:
    """TD0.5: the DMP's patients matching the query (module docstring)."""
    payload = ctx.request.payload
    query = read_pdq(payload)
    with ctx.store.session() as session:
        candidates = session.scalars(
            select(Patient).where(
                Patient.dmp_state != DmpState.NONE.value, Patient.purged_at.is_(None)
            )
        ).all()
        found = sorted(
            _matches(candidates, query), key=lambda p: (p.family_name, p.given_name, p.id)
        )
        answer = _pdq_answer(payload, found[:MAX_MATCHES], len(found))
    ctx.trace.result = f"{'OK' if found else 'NF'}/{len(found)}"
    return answer


def _pdq_answer(request: etree._Element, patients: list[Patient], total: int) -> etree._Element:
    root = etree.Element(_h("PRPA_IN201306UV02"), nsmap={None: HL7, "xsi": XSI})
    root.set("ITSVersion", "XML_1.0")
    etree.SubElement(root, _h("id"), root=str(uuid.uuid4()))
    etree.SubElement(root, _h("creationTime"), value=f"{utcnow():%Y%m%d%H%M%S}")
    etree.SubElement(
        root, _h("interactionId"), extension="PRPA_IN201306UV02", root=OID_HL7_INTERACTION
    )
    etree.SubElement(root, _h("processingCode"), code="P")
    etree.SubElement(root, _h("processingModeCode"), code="T")
    etree.SubElement(root, _h("acceptAckCode"), code="NE")
    sender = request.find(f"{_h('sender')}/{_h('device')}")
    sender_oid = (
        sender.find(_h("id")).get("root")
        if sender is not None and sender.find(_h("id")) is not None
        else None
    ) or "0"
    sender_name = sender.findtext(_h("softwareName")) if sender is not None else None
    _device(root, "receiver", "RCV", sender_oid, sender_name or "LPS")
    _device(root, "sender", "SND", OID_DMP_DEVICE, "DMP")
    ack = etree.SubElement(root, _h("acknowledgement"))
    etree.SubElement(ack, _h("typeCode"), code="AA")
    target = etree.SubElement(ack, _h("targetMessage"))
    request_id = request.find(_h("id"))
    if request_id is not None:
        target.append(copy.deepcopy(request_id))
    cap = etree.SubElement(root, _h("controlActProcess"), classCode="CACT", moodCode="EVN")
    code = etree.SubElement(
        cap, _h("code"), code="PRPA_TE201306UV02", codeSystem=OID_HL7_INTERACTION
    )
    code.set(f"{{{XSI}}}type", "CS")
    for patient in patients:
        _registration(cap, patient)
    query_ack = etree.SubElement(cap, _h("queryAck"))
    query = request.find(f"{_h('controlActProcess')}/{_h('queryByParameter')}")
    query_id = query.find(_h("queryId")) if query is not None else None
    if query_id is not None:
        query_ack.append(copy.deepcopy(query_id))
    etree.SubElement(query_ack, _h("queryResponseCode"), code="OK" if patients else "NF")
    etree.SubElement(query_ack, _h("resultTotalQuantity"), value=str(total))
    etree.SubElement(query_ack, _h("resultCurrentQuantity"), value=str(len(patients)))
    etree.SubElement(query_ack, _h("resultRemainingQuantity"), value=str(total - len(patients)))
    if query is not None:
        cap.append(copy.deepcopy(query))
    return root


def _registration(cap: etree._Element, patient: Patient) -> None:
    subject = etree.SubElement(cap, _h("subject"), contextConductionInd="false", typeCode="SUBJ")
    event = etree.SubElement(subject, _h("registrationEvent"), classCode="REG", moodCode="EVN")
    etree.SubElement(event, _h("statusCode"), code="active")
    subject1 = etree.SubElement(event, _h("subject1"), typeCode="SBJ")
    person_role = etree.SubElement(subject1, _h("patient"), classCode="PAT")
    etree.SubElement(person_role, _h("id"), extension=patient.ins_value, root=patient.ins_root)
    if patient.dmp_id:
        etree.SubElement(person_role, _h("id"), extension=patient.dmp_id, root=OID_DMP_ID)
    state = "active" if patient.dmp_state == DmpState.ACTIVE.value else "terminated"
    etree.SubElement(person_role, _h("statusCode"), code=state)
    person = etree.SubElement(
        person_role, _h("patientPerson"), classCode="PSN", determinerCode="INSTANCE"
    )
    name = etree.SubElement(person, _h("name"))
    prefix = {"F": "Mme", "M": "M"}.get(patient.gender)
    if prefix:
        etree.SubElement(name, _h("prefix")).text = prefix
    etree.SubElement(name, _h("given")).text = patient.given_name.upper()
    etree.SubElement(name, _h("family"), qualifier="BR").text = patient.family_name.upper()
    etree.SubElement(person, _h("administrativeGenderCode"), code=patient.gender)
    etree.SubElement(person, _h("birthTime"), value=f"{patient.birth_date:%Y%m%d}")
    if patient.city or patient.postal_code:
        addr = etree.SubElement(person, _h("addr"))
        if patient.city:
            etree.SubElement(addr, _h("city")).text = patient.city
        if patient.postal_code:
            etree.SubElement(addr, _h("postalCode")).text = patient.postal_code
    subject_of1 = etree.SubElement(person_role, _h("subjectOf1"), typeCode="SBJ")
    match = etree.SubElement(
        subject_of1, _h("queryMatchObservation"), classCode="COND", moodCode="EVN"
    )
    etree.SubElement(match, _h("code"), code="POURCENTAGE").set(f"{{{XSI}}}type", "CS")
    etree.SubElement(match, _h("value"), value="100").set(f"{{{XSI}}}type", "INT")
    subject_of2 = etree.SubElement(person_role, _h("subjectOf2"), typeCode="SBJ")
    observation = etree.SubElement(
        subject_of2, _h("administrativeObservation"), classCode="OBS", moodCode="EVN"
    )
    etree.SubElement(
        observation,
        _h("code"),
        code="OPPOSITION_ACCES_URGENCE",
        codeSystem=OID_CONSENT_OBSERVATION,
        displayName="opposition au mode Urgence",
    )
    value = etree.SubElement(
        observation, _h("value"), value=str(patient.opposition_centre_15).lower()
    )
    value.set(f"{{{XSI}}}type", "BL")
    custodian = etree.SubElement(event, _h("custodian"), typeCode="CST")
    entity = etree.SubElement(custodian, _h("assignedEntity"), classCode="ASSIGNED")
    etree.SubElement(entity, _h("id"), root=OID_DMP_DEVICE)


__all__ = [
    "ACTION_TD04",
    "ACTION_TD04_RESPONSE",
    "ACTION_TD05",
    "ACTION_TD05_RESPONSE",
    "list_authorised",
    "read_pdq",
    "search_patients",
]
