"""TD0.5 "recherche d'un patient sans INS": IHE PDQv3 on the DMP's ``patientsPDQ`` service.

Request: HL7v3 ``PRPA_IN201305UV02`` (action ``urn:hl7-org:v3:PRPA_IN201305UV02``),
shaped like the official example (same transmission wrapper, no
``attentionLine``; ``controlActProcess`` with ``code`` PRPA_TE201305UV02 and a
``queryByParameter``) and valid against the official ``PRPA_IN201305UV02.xsd``
(NE2008). The official example asks by birth name only; the parameters,
in the schema's order::

    livingSubjectAdministrativeGender  value/@code F|M           (when known)
    livingSubjectBirthTime             value/@value AAAAMMJJ      (when known)
    livingSubjectName                  value/family (+ given)     (always)

each with its ``semanticsText`` (``LivingSubject.administrativeGender``,
``LivingSubject.birthTime``, ``LivingSubject.name``).

Answer: ``PRPA_IN201306UV02`` (action ``urn:hl7-org:v3:PRPA_IN201306UV02``):
``acknowledgement/typeCode`` AA (else ``DmpServiceError``),
``queryAck/queryResponseCode`` OK (patients found) or NF (none); one
``subject/registrationEvent/subject1/patient`` per patient: ``id``\\ s (INS
under its authority, the DMP id 1.2.250.1.213.1.4.2), ``statusCode``,
``patientPerson/name`` (``family`` qualifier ``BR`` = birth name, ``SP`` =
used name; ``given``; ``prefix``), ``administrativeGenderCode``,
``birthTime``, ``addr`` (city, postal code), and
``subjectOf1/queryMatchObservation`` (the match percentage).

The DMP's answer is the DMP's copy of the identity: never a qualified INS.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from dmp_desktop.dates import hl7_date
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.td11 import message_header, sub
from dmp_desktop.dmp.xmlutil import Element, attr, child, children, path, qn, read_hl7_date, text
from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from dmp_desktop.identity.traits import (
    IdentitySource,
    IdentityTraits,
    InsIdentity,
    normalize_sex,
)

SERVICE = "patientsPDQ"
INTERACTION_REQUEST = "PRPA_IN201305UV02"
INTERACTION_RESPONSE = "PRPA_IN201306UV02"
ACTION = "urn:hl7-org:v3:PRPA_IN201305UV02"
ACTION_RESPONSE = "urn:hl7-org:v3:PRPA_IN201306UV02"
TRIGGER_QUERY = "PRPA_TE201305UV02"
SEMANTICS_GENDER = "LivingSubject.administrativeGender"
SEMANTICS_BIRTH_TIME = "LivingSubject.birthTime"
SEMANTICS_NAME = "LivingSubject.name"
QUERY_FOUND = "OK"
QUERY_NOT_FOUND = "NF"
ACK_ERROR_CODES = frozenset({"AE", "AR", "CE", "CR"})
MAX_RESULTS = 200


@dataclass(frozen=True)
class PdqQuery:
    """What TD0.5 asks: a birth name, and what else is known."""

    family_name: str
    given_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None  # F / M

    def __post_init__(self) -> None:
        if not self.family_name.strip():
            raise ValueError("a TD0.5 search needs a name")


@dataclass(frozen=True)
class PdqMatch:
    """One patient of the answer: the DMP's copy of the identity, and how well it matches."""

    identity: InsIdentity
    dmp_id: str | None = None
    match_percent: int | None = None
    city: str | None = None


def build_request(
    query: PdqQuery, *, sender_oid: str, sender_name: str, now: datetime | None = None
) -> Element:
    """The ``PRPA_IN201305UV02`` body (see the module docstring)."""
    root = message_header(
        INTERACTION_REQUEST, sender_oid=sender_oid, sender_name=sender_name, now=now
    )
    attention = child(root, ns.HL7, "attentionLine")
    if attention is not None:  # the official TD0.5 request has none
        root.remove(attention)
    cap = sub(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    sub(cap, "code", code=TRIGGER_QUERY, codeSystem=ns.OID_HL7_INTERACTION)
    query_el = sub(cap, "queryByParameter")
    sub(query_el, "queryId", root=f"{sender_oid}.2", extension=str(uuid.uuid4()))
    sub(query_el, "statusCode", code="new")
    params = sub(query_el, "parameterList")
    sex = normalize_sex(query.sex) if query.sex else None
    if sex in ("F", "M"):
        gender = sub(params, "livingSubjectAdministrativeGender")
        sub(gender, "value", code=sex, codeSystem="2.16.840.1.113883.5.1")
        sub(gender, "semanticsText").text = SEMANTICS_GENDER
    if query.birth_date is not None:
        birth = sub(params, "livingSubjectBirthTime")
        sub(birth, "value", value=hl7_date(query.birth_date))
        sub(birth, "semanticsText").text = SEMANTICS_BIRTH_TIME
    name = sub(params, "livingSubjectName")
    value = sub(name, "value")
    sub(value, "family").text = " ".join(query.family_name.split()).upper()
    if query.given_name and query.given_name.strip():
        sub(value, "given").text = " ".join(query.given_name.split()).upper()
    sub(name, "semanticsText").text = SEMANTICS_NAME
    return root


# --- the answer --------------------------------------------------------------------------------


def _ack_error(root: Element) -> None:
    for ack in children(root, ns.HL7, "acknowledgement"):
        type_code = attr(child(ack, ns.HL7, "typeCode"), "code") or attr(ack, "typeCode") or ""
        if type_code.upper() in ACK_ERROR_CODES:
            detail = child(ack, ns.HL7, "acknowledgementDetail")
            code = attr(child(detail, ns.HL7, "code"), "code") or type_code.upper()
            raise DmpServiceError(code[:120], (text(child(detail, ns.HL7, "text")) or "")[:300])


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def _match(patient: Element) -> PdqMatch | None:
    known = {kind.value for kind in InsKind}
    ins: Ins | None = None
    dmp_id: str | None = None
    for id_el in children(patient, ns.HL7, "id"):
        root_oid, extension = attr(id_el, "root"), _clean(attr(id_el, "extension"))
        if root_oid == ns.OID_DMP_ID:
            dmp_id = extension[:64] or None
        elif root_oid in known and extension and ins is None:
            try:
                ins = Ins(extension, InsKind.from_oid(root_oid))
            except InsError:
                raise DmpProtocolError("TD0.5 answer with an invalid INS") from None
    person = child(patient, ns.HL7, "patientPerson")
    name_el = child(person, ns.HL7, "name")
    birth_name, used_name, first = "", "", ""
    for family in children(name_el, ns.HL7, "family"):
        qualifiers = (attr(family, "qualifier") or "").split()
        if "BR" in qualifiers and not birth_name:
            birth_name = _clean(text(family))
        elif "SP" in qualifiers and not used_name:
            used_name = _clean(text(family))
        elif not qualifiers and not birth_name:
            birth_name = _clean(text(family))
    given = [_clean(text(g)) for g in children(name_el, ns.HL7, "given") if _clean(text(g))]
    first = given[0] if given else ""
    birth = read_hl7_date(attr(child(person, ns.HL7, "birthTime"), "value"))
    if ins is None or birth is None or not (birth_name or used_name) or not first:
        return None  # an entry that cannot name a patient is left out
    sex = normalize_sex(attr(child(person, ns.HL7, "administrativeGenderCode"), "code"))
    traits = IdentityTraits(
        birth_name=birth_name or used_name,
        given_names=tuple(" ".join(given).split()),
        sex=sex,
        birth_date=birth,
    )
    percent_el = path(patient, ns.HL7, "subjectOf1", "queryMatchObservation", "value")
    percent: int | None = None
    raw = attr(percent_el, "value")
    if raw and raw.strip().isdigit():
        percent = min(int(raw.strip()), 100)
    status = attr(child(patient, ns.HL7, "statusCode"), "code")
    identity = InsIdentity(
        ins,
        traits,
        IdentitySource.DMP,
        qualified=False,
        used_name=used_name if used_name and used_name != birth_name else None,
        dmp_state=(status or "").strip() or None,
    )
    city = _clean(text(path(person, ns.HL7, "addr", "city"))) or None
    return PdqMatch(identity, dmp_id, percent, city)


def parse_response(body: Element) -> list[PdqMatch]:
    """Read a ``PRPA_IN201306UV02``: the patients found (empty for NF)."""
    if body is None or body.tag != qn(ns.HL7, INTERACTION_RESPONSE):
        raise DmpProtocolError("answer is not a PRPA_IN201306UV02")
    _ack_error(body)
    cap = child(body, ns.HL7, "controlActProcess")
    code = attr(path(cap, ns.HL7, "queryAck", "queryResponseCode"), "code")
    if code == QUERY_NOT_FOUND:
        return []
    if code != QUERY_FOUND:
        raise DmpServiceError(code or "TD05")
    matches: list[PdqMatch] = []
    for subject in children(cap, ns.HL7, "subject")[:MAX_RESULTS]:
        patient = path(subject, ns.HL7, "registrationEvent", "subject1", "patient")
        if patient is None:
            continue
        found = _match(patient)
        if found is not None:
            matches.append(found)
    return matches


__all__ = [
    "ACTION",
    "ACTION_RESPONSE",
    "SERVICE",
    "PdqMatch",
    "PdqQuery",
    "build_request",
    "parse_response",
]
