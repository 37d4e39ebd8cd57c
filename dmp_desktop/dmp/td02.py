"""TD0.2 "test d'existence": does the patient have a DMP, and may I access it?

Request: HL7v3 ``PRPA_IN201307UV02`` with reasonCode ``TEST_EXST``, built
exactly like the official example. Answer: ``PRPA_IN201308UV02``, read into
:class:`~dmp_desktop.domain.DmpStatus`.

What the answer carries, and where this module reads it (the training host
imports the constants below and emits exactly these):

* ``acknowledgement/@typeCode``: ``AA`` accepted. ``AE`` / ``AR`` (and
  ``CE`` / ``CR``) raise ``DmpServiceError(code)`` with the code of the first
  ``acknowledgementDetail/code/@code`` (e.g. ``DMPAccessDenied``), else the
  typeCode itself.
* ``controlActProcess/queryAck/queryResponseCode/@code``: ``OK`` patient found,
  ``NF`` no DMP (``DmpState.NONE``); ``QE`` / ``AE`` raise ``DmpServiceError``.
* ``controlActProcess/subject/registrationEvent/subject1/patient``:
  ``id`` (INS, root = INS authority OID; the DMP id 1.2.250.1.213.1.4.2 may
  come too), ``statusCode/@code`` ``active`` -> ``DmpState.ACTIVE``;
  ``terminated`` (emitted by the host, as in the official TD1.4 answer),
  ``nullified`` or ``closed`` -> ``DmpState.CLOSED``; ``patientPerson`` name,
  ``administrativeGenderCode``, ``birthTime``; every
  ``subjectOf/administrativeObservation`` (code -> value) into
  ``DmpStatus.observations``.
* closure of a closed DMP: the date in ``registrationEvent/effectiveTime/@value``
  (HL7 TS, ``YYYYMMDD[hhmmss]``; ``effectiveTime/high/@value`` and the
  observation ``DATE_FERMETURE`` are read too), the reason in
  ``controlActProcess/reasonOf/detectedIssueEvent/code/@code`` (codeSystem
  :data:`OID_CLOSURE_REASON`, e.g. ``FERMETURE_DEMANDE_PATIENT``; its ``text``
  when there is no code; the observation ``MOTIF_FERMETURE`` as a fallback).
* ``attentionLine`` (``keyWordText/@code`` -> ``value``):
  ``AUTORISATION`` (codeSystem 1.2.250.1.213.4.1.2.6.1) = CV ``NON_EXISTE`` |
  ``INTERDIT`` | ``EXPIRE`` | ``VALIDE`` (codeSystem 1.2.250.1.213.4.1.2.6.2);
  ``STATUT_MT`` (1.2.250.1.213.4.1.2.6.3) = BL, the médecin traitant flag.
* minor: from the official answer's own field, the patient's
  ``patientPerson/birthTime``: under :data:`MAJORITY_AGE` on the day of the
  answer. The official answer has no "minor" flag, and no field for a secret
  connection either: that is the professional's declaration in the request
  (the VIHF's confidentiality-code attribute, :mod:`dmp_desktop.dmp.vihf`),
  so ``DmpStatus.secret_connection`` is never read from an answer. The
  keywords :data:`KEYWORD_MINOR` / :data:`KEYWORD_SECRET_CONNECTION` were a
  training-host convention; they are no longer read.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from lxml import etree

from dmp_desktop.dates import hl7_ts, paris_now, paris_today
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.xmlutil import (
    Element,
    attr,
    child,
    children,
    path,
    qn,
    read_hl7_date,
    text,
)
from dmp_desktop.domain import Authorization, DmpState, DmpStatus, Ins, InsError, InsKind
from dmp_desktop.errors import DmpProtocolError, DmpServiceError

# --- constants shared with the training host -------------------------------------------------

INTERACTION_REQUEST = "PRPA_IN201307UV02"
INTERACTION_RESPONSE = "PRPA_IN201308UV02"
REASON_TEST_EXISTENCE = "TEST_EXST"
REASON_TEST_EXISTENCE_LABEL = "Test d'existence de dossier"
DMP_DEVICE_NAME = "DMP"

KEYWORD_AUTHORIZATION = "AUTORISATION"
OID_AUTHORIZATION_KEYWORD = ns.OID_AUTH_KEYWORD  # 1.2.250.1.213.4.1.2.6.1
OID_AUTHORIZATION_VALUE = ns.OID_AUTH_VALUE  # 1.2.250.1.213.4.1.2.6.2
KEYWORD_TREATING_PHYSICIAN = "STATUT_MT"
OID_STATUS_KEYWORD = ns.OID_MT_KEYWORD  # 1.2.250.1.213.4.1.2.6.3
# Former training-host keywords (no official field): not read any more.
KEYWORD_MINOR = "PATIENT_MINEUR"
KEYWORD_SECRET_CONNECTION = "CONNEXION_SECRETE"  # noqa: S105 - not a secret
# Majority in France; the DMP treats a younger patient's record as a minor's.
MAJORITY_AGE = 18

QUERY_FOUND = "OK"
QUERY_NOT_FOUND = "NF"
STATUS_ACTIVE = "active"
STATUS_CLOSED = "terminated"  # what the host emits for a closed DMP
CLOSED_STATUS_CODES = frozenset({"terminated", "nullified", "closed"})
OID_CLOSURE_REASON = ns.OID_CLOSURE_REASON  # 1.2.250.1.213.4.1.2.4
CLOSURE_REASON_PATIENT_REQUEST = "FERMETURE_DEMANDE_PATIENT"
OBSERVATION_CLOSURE_DATE = "DATE_FERMETURE"
OBSERVATION_CLOSURE_REASON = "MOTIF_FERMETURE"

ACK_ERROR_CODES = frozenset({"AE", "AR", "CE", "CR"})


# --- request ---------------------------------------------------------------------------------


def _sub(parent: Element, local: str, **attrs: str) -> Element:
    el = etree.SubElement(parent, qn(ns.HL7, local))
    for key, value in attrs.items():
        el.set(key, value)
    return el


def _device(parent: Element, type_code: str, device_oid: str, name: str) -> None:
    holder = _sub(parent, "receiver" if type_code == "RCV" else "sender", typeCode=type_code)
    device = _sub(holder, "device", classCode="DEV", determinerCode="INSTANCE")
    _sub(device, "id", root=device_oid)
    _sub(device, "softwareName").text = name


def _nil(parent: Element, local: str) -> None:
    el = etree.SubElement(parent, qn(ns.HL7, local), nsmap={"xsi": ns.XSI})
    el.set(qn(ns.XSI, "nil"), "true")


def build_td02_request(
    ins: Ins,
    *,
    sender_oid: str,
    sender_name: str,
    message_id: str | None = None,
    query_id: str | None = None,
    now: datetime | None = None,
) -> Element:
    """The ``PRPA_IN201307UV02`` body, element for element like the official one.

    ``sender_oid`` is this software's OID: message ids use ``<oid>.1.1``, query
    ids ``<oid>.2`` (the layout of the official example).
    """
    now = now or paris_now()
    root = etree.Element(qn(ns.HL7, INTERACTION_REQUEST), nsmap={None: ns.HL7})
    root.set("ITSVersion", "XML_1.0")
    _sub(root, "id", root=f"{sender_oid}.1.1", extension=message_id or str(uuid.uuid4()))
    _sub(root, "creationTime", value=hl7_ts(now))
    _sub(root, "interactionId", root=ns.OID_HL7_INTERACTION, extension=INTERACTION_REQUEST)
    _sub(root, "processingCode", code="D")
    _sub(root, "processingModeCode", code="T")
    _sub(root, "acceptAckCode", code="AL")
    _device(root, "RCV", ns.OID_DMP_DEVICE, DMP_DEVICE_NAME)
    _device(root, "SND", sender_oid, sender_name)
    _nil(root, "attentionLine")
    cap = _sub(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    _sub(
        cap,
        "reasonCode",
        code=REASON_TEST_EXISTENCE,
        codeSystem=ns.OID_TD_REASON,
        displayName=REASON_TEST_EXISTENCE_LABEL,
    )
    query = _sub(cap, "queryByParameter")
    _sub(query, "queryId", root=f"{sender_oid}.2", extension=query_id or str(uuid.uuid4()))
    _sub(query, "statusCode", code="new")
    parameters = _sub(query, "parameterList")
    _nil(parameters, "dataSource")
    patient_id = _sub(parameters, "patientIdentifier")
    _sub(patient_id, "value", root=ins.oid, extension=ins.value)
    _sub(patient_id, "semanticsText").text = "Patient.id"
    return root


# --- answer ----------------------------------------------------------------------------------


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "y", "yes", "oui")


def _value_string(value_el: Element | None) -> str:
    """A readable string for an HL7 ``value`` of any type (BL, CV, TS, ST...)."""
    if value_el is None:
        return ""
    for key in ("value", "code"):
        found = attr(value_el, key)
        if found is not None:
            return found
    return text(value_el) or ""


def _authorization(value_el: Element | None) -> Authorization:
    code = attr(value_el, "code") or text(value_el)
    try:
        return Authorization(code)
    except ValueError:
        raise DmpProtocolError("unknown authorisation code in the answer") from None


def _ack_error(root: Element) -> None:
    for ack in children(root, ns.HL7, "acknowledgement"):
        type_code = (attr(ack, "typeCode") or "").upper()
        if type_code not in ACK_ERROR_CODES:
            continue
        detail = child(ack, ns.HL7, "acknowledgementDetail")
        code = attr(child(detail, ns.HL7, "code"), "code") or type_code
        raise DmpServiceError(code, (text(child(detail, ns.HL7, "text")) or "")[:300])


def _patient_ins(patient: Element, requested: Ins | None) -> Ins:
    """The INS the answer is about; it must be the one asked for."""
    known = {kind.value for kind in InsKind}
    answered: Ins | None = None
    for id_el in children(patient, ns.HL7, "id"):
        root_oid = attr(id_el, "root")
        extension = attr(id_el, "extension")
        if root_oid not in known or not extension:
            continue
        if requested is not None and root_oid != requested.oid:
            continue
        try:
            answered = Ins(extension.strip(), InsKind.from_oid(root_oid))
        except InsError:
            raise DmpProtocolError("the answer carries an invalid INS") from None
        break
    if requested is not None:
        if answered is not None and answered.value != requested.value:
            raise DmpProtocolError("the answer is about another patient")
        return requested
    if answered is None:
        raise DmpProtocolError("the answer does not identify the patient")
    return answered


def _family_name(name_el: Element | None) -> str | None:
    families = children(name_el, ns.HL7, "family")
    for family in families:  # birth name first (qualifier BR), else the first one
        if "BR" in (attr(family, "qualifier") or "").split():
            return text(family)
    return text(families[0]) if families else None


def is_minor(birth: date | None, today: date) -> bool:
    """Under :data:`MAJORITY_AGE` on ``today`` (unknown birth date: not a minor)."""
    if birth is None:
        return False
    try:
        majority = birth.replace(year=birth.year + MAJORITY_AGE)
    except ValueError:  # born on 29 February
        majority = date(birth.year + MAJORITY_AGE, 3, 1)
    return today < majority


def parse_td02_response(
    body: Element, requested: Ins | None = None, today: date | None = None
) -> DmpStatus:
    """Read a ``PRPA_IN201308UV02`` into a DmpStatus (see the module docstring).

    ``requested`` is the INS asked for: an answer about another patient is
    refused, and a "not found" answer (which names nobody) is about it.
    Raises DmpServiceError for a refusal, DmpProtocolError for anything else
    that cannot be read.
    """
    if body is None or body.tag != qn(ns.HL7, INTERACTION_RESPONSE):
        raise DmpProtocolError("answer is not a PRPA_IN201308UV02")
    _ack_error(body)
    cap = child(body, ns.HL7, "controlActProcess")
    response_code = attr(path(cap, ns.HL7, "queryAck", "queryResponseCode"), "code")
    if not response_code:
        raise DmpProtocolError("answer without a query response code")

    lines: dict[str, Element | None] = {}
    for line in children(body, ns.HL7, "attentionLine"):
        keyword = attr(child(line, ns.HL7, "keyWordText"), "code")
        if keyword:
            lines[keyword.strip().upper()] = child(line, ns.HL7, "value")
    authorization = None
    if KEYWORD_AUTHORIZATION in lines:
        authorization = _authorization(lines[KEYWORD_AUTHORIZATION])
    treating = _bool(attr(lines.get(KEYWORD_TREATING_PHYSICIAN), "value"))

    if response_code == QUERY_NOT_FOUND:
        if requested is None:
            raise DmpProtocolError("a not-found answer needs the INS asked for")
        return DmpStatus(ins=requested, state=DmpState.NONE, authorization=authorization)
    if response_code != QUERY_FOUND:
        raise DmpServiceError(response_code)

    event = path(cap, ns.HL7, "subject", "registrationEvent")
    patient = path(event, ns.HL7, "subject1", "patient")
    if patient is None:
        raise DmpProtocolError("found answer without a patient")
    ins = _patient_ins(patient, requested)
    status_code = (attr(child(patient, ns.HL7, "statusCode"), "code") or "").strip()
    if status_code == STATUS_ACTIVE:
        state = DmpState.ACTIVE
    elif status_code in CLOSED_STATUS_CODES:
        state = DmpState.CLOSED
    else:
        raise DmpProtocolError("unknown patient status in the answer")

    observations: dict[str, str] = {}
    for subject_of in children(patient, ns.HL7, "subjectOf"):
        observation = child(subject_of, ns.HL7, "administrativeObservation")
        code = attr(child(observation, ns.HL7, "code"), "code")
        if code:
            observations[code.strip()] = _value_string(child(observation, ns.HL7, "value"))

    closure_date: date | None = None
    closure_reason: str | None = None
    if state is DmpState.CLOSED:
        effective = child(event, ns.HL7, "effectiveTime")
        closure_date = (
            read_hl7_date(attr(effective, "value"))
            or read_hl7_date(attr(child(effective, ns.HL7, "high"), "value"))
            or read_hl7_date(attr(path(patient, ns.HL7, "effectiveTime", "high"), "value"))
            or read_hl7_date(observations.get(OBSERVATION_CLOSURE_DATE))
        )
        issue = path(cap, ns.HL7, "reasonOf", "detectedIssueEvent")
        closure_reason = (
            attr(child(issue, ns.HL7, "code"), "code")
            or text(child(issue, ns.HL7, "text"))
            or observations.get(OBSERVATION_CLOSURE_REASON)
            or None
        )

    person = child(patient, ns.HL7, "patientPerson")
    name_el = child(person, ns.HL7, "name")
    birth = read_hl7_date(attr(child(person, ns.HL7, "birthTime"), "value"))
    return DmpStatus(
        ins=ins,
        state=state,
        authorization=authorization,
        treating_physician=treating,
        minor=is_minor(birth, today or paris_today()),
        closure_date=closure_date,
        closure_reason=closure_reason,
        patient_family_name=_family_name(name_el),
        patient_given_name=text(child(name_el, ns.HL7, "given")),
        patient_birth_date=birth,
        patient_gender=attr(child(person, ns.HL7, "administrativeGenderCode"), "code"),
        observations=observations,
    )
