"""TD1.1 "création d'un DMP": open a patient's record, with their consent.

Service ``patients``, action ``urn:hl7-org:v3:PRPA_IN201311UV02`` (WSDL
``GestionDossierPatientPartage.wsdl``, operation ``PatientAdd``). There is no
official TD1.1 example: the request validates against the official
``PRPA_IN201311UV02.xsd`` and follows the envelope of the official TD1.4 one
(same header, receiver/sender, ``registrationRequest`` with the author);
see docs/wire-conventions.md, "TD1.1 création".

Body, in order::

    PRPA_IN201311UV02
      id / creationTime / interactionId / processing… / receiver (DMP) / sender (LPS)
      controlActProcess
        reasonCode CREA_RD (1.2.250.1.213.1.1.4.11)
        subject/registrationRequest (statusCode active)
          subject1/patient
            id (INS) / statusCode active
            patientPerson: name (family SP, given), administrativeGenderCode, birthTime,
              telecom tel:/mailto: (the patient's online access; adults only),
              guardian (classCode GUARD) / guardianPerson / name  (a minor's legal
              representative)
            providerOrganization xsi:nil
            subjectOf/administrativeObservation (codeSystem 1.2.250.1.213.4.1.2.3, BL):
              CONSENTEMENT_OUVERTURE_DMP (always true), OPPOSITION_BRIS_DE_GLACE,
              OPPOSITION_ACCES_URGENCE (centre 15)
          author/assignedEntity (the professional, as in TD1.4)

Answer: ``PRPA_IN201311UV02_Response`` (``asip:ci-sis:gdp:2010``) wrapping
``PRPA_IN201312UV02`` (accepted, ``acknowledgement`` ``AA``) or
``PRPA_IN201313UV02`` (refused: ``AE`` and ``acknowledgementDetail/code``, e.g.
``DMPFound`` when the patient already has a DMP), read by
:func:`parse_registration_response` which raises ``DmpServiceError(code)``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from dmp_desktop.dates import hl7_date, hl7_ts, paris_now, paris_today
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.xmlutil import Element, attr, child, children, path, qn, text
from dmp_desktop.domain import Ins, Practitioner
from dmp_desktop.errors import DmpProtocolError, DmpServiceError

GDP_NS = "asip:ci-sis:gdp:2010"
SERVICE = "patients"
INTERACTION_REQUEST = "PRPA_IN201311UV02"
INTERACTION_ACCEPTED = "PRPA_IN201312UV02"
INTERACTION_REFUSED = "PRPA_IN201313UV02"
ACTION_CREATE = "urn:hl7-org:v3:PRPA_IN201311UV02"
ACTION_CREATE_RESPONSE = "urn:hl7-org:v3:PRPA_IN201311ResponseUV02"
RESPONSE_WRAPPER = "PRPA_IN201311UV02_Response"

REASON_CREATE = "CREA_RD"
REASON_CREATE_LABEL = "Création de dossier"
OID_CONSENT = ns.OID_CONSENT_OBSERVATION  # 1.2.250.1.213.4.1.2.3
OBS_CONSENT = "CONSENTEMENT_OUVERTURE_DMP"
OBS_OPPOSITION_BRIS_DE_GLACE = "OPPOSITION_BRIS_DE_GLACE"
OBS_OPPOSITION_CENTRE_15 = "OPPOSITION_ACCES_URGENCE"
GUARDIAN_CLASS = "GUARD"
OID_RELATIONSHIP = "2.16.840.1.113883.1.11.19579"  # as TD1.3 (dmp/td13.py)
DMP_DEVICE_NAME = "DMP"
ACK_ERROR_CODES = frozenset({"AE", "AR", "CE", "CR"})
STATUS_FOUND = "DMPFound"

_MAX_FIELD = 100
_MAX_CONTACT = 254


class ConsentError(ValueError):
    """The creation was attempted without the recorded consent (a programming error)."""


@dataclass(frozen=True)
class PatientIdentity:
    """The patient's identity traits sent with the creation (from the INSi)."""

    family_name: str
    given_name: str
    gender: str  # M / F / U
    birth_date: date


@dataclass(frozen=True)
class LegalRepresentative:
    """A minor's legal representative, who consents in the minor's name."""

    family_name: str
    given_name: str
    consent_given: bool
    # HL7 PersonalRelationshipRoleType (MTH mother, FTH father, GUARD guardian…), sent
    # as ``personalRelationship/code`` after the ``guardian`` (docs/wire-conventions.md).
    relationship: str | None = None


@dataclass(frozen=True)
class CreationConsent:
    """What the patient (or a minor's legal representative) agreed to.

    ``consent_given`` must be True, else nothing is sent. ``mobile`` /
    ``email`` open the patient's online access (ignored by the DMP for a
    minor). A minor needs ``legal_representative`` with ``consent_given``.
    """

    consent_given: bool
    opposition_bris_de_glace: bool = False
    opposition_centre_15: bool = False
    mobile: str | None = None
    email: str | None = None
    legal_representative: LegalRepresentative | None = None

    def check(self, minor: bool) -> None:
        if not self.consent_given:
            raise ConsentError("the patient's consent to open a DMP is not recorded")
        if minor:
            rep = self.legal_representative
            if rep is None or not rep.consent_given:
                raise ConsentError("a minor's DMP needs the legal representative's consent")


def is_minor(birth_date: date, today: date | None = None) -> bool:
    today = today or paris_today()
    years = (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )
    return years < 18


@dataclass(frozen=True)
class RegistrationResult:
    """An accepted TD1.1 / TD1.2 / TD1.4 answer."""

    interaction: str
    patient_status: str | None = None  # "active" / "terminated"
    dmp_id: str | None = None


# --- shared HL7 writing ----------------------------------------------------------------------


def sub(parent: Element, local: str, **attrs: str) -> Element:
    el = etree.SubElement(parent, qn(ns.HL7, local))
    for key, value in attrs.items():
        el.set(key, value)
    return el


def _nil(parent: Element, local: str) -> Element:
    el = sub(parent, local)
    el.set(qn(ns.XSI, "nil"), "true")
    return el


def message_header(
    interaction: str, *, sender_oid: str, sender_name: str, now: datetime | None = None
) -> Element:
    """The transmission wrapper of a request, as in the official TD1.4 request."""
    now = now or paris_now()
    root = etree.Element(qn(ns.HL7, interaction), nsmap={None: ns.HL7, "xsi": ns.XSI})
    root.set("ITSVersion", "XML_1.0")
    sub(root, "id", root=f"{sender_oid}.1.1", extension=str(uuid.uuid4()))
    sub(root, "creationTime", value=hl7_ts(now))
    sub(root, "interactionId", root=ns.OID_HL7_INTERACTION, extension=interaction)
    sub(root, "processingCode", code="D")
    sub(root, "processingModeCode", code="T")
    sub(root, "acceptAckCode", code="AL")
    for type_code, oid, name in (
        ("RCV", ns.OID_DMP_DEVICE, DMP_DEVICE_NAME),
        ("SND", sender_oid, sender_name),
    ):
        holder = sub(root, "receiver" if type_code == "RCV" else "sender", typeCode=type_code)
        device = sub(holder, "device", classCode="DEV", determinerCode="INSTANCE")
        sub(device, "id", root=oid)
        sub(device, "softwareName").text = name
    _nil(root, "attentionLine")
    return root


def control_act(root: Element, reason_code: str, reason_label: str) -> Element:
    """``controlActProcess`` with its ``reasonCode`` (TD reasons, 1.2.250.1.213.1.1.4.11)."""
    cap = sub(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    sub(
        cap,
        "reasonCode",
        code=reason_code,
        codeSystem=ns.OID_TD_REASON,
        displayName=reason_label,
    )
    return cap


def registration_request(
    cap: Element,
    ins: Ins,
    status: str,
    family: str,
    given: str,
    gender: str | None,
) -> tuple[Element, Element, Element]:
    """``subject/registrationRequest`` with the patient's INS, status and name.

    Returns ``(registrationRequest, patient, patientPerson)`` for the caller to fill.
    """
    request = sub(
        sub(cap, "subject", typeCode="SUBJ", contextConductionInd="false"),
        "registrationRequest",
        classCode="REG",
        moodCode="RQO",
    )
    sub(request, "statusCode", code="active")
    patient = sub(sub(request, "subject1", typeCode="SBJ"), "patient", classCode="PAT")
    sub(patient, "id", root=ins.oid, extension=ins.value)
    sub(patient, "statusCode", code=status)
    person = sub(patient, "patientPerson", classCode="PSN", determinerCode="INSTANCE")
    person_name(person, family, given, gender)
    return request, patient, person


def person_name(parent: Element, family: str, given: str, gender: str | None = None) -> None:
    name = sub(parent, "name")
    prefix = {"M": "M", "F": "MME"}.get(gender or "")
    if prefix:
        sub(name, "prefix").text = prefix
    sub(name, "family", qualifier="SP").text = family[:_MAX_FIELD].upper()
    sub(name, "given").text = given[:_MAX_FIELD].upper()


def author(parent: Element, practitioner: Practitioner) -> None:
    """``author/assignedEntity``: the professional, as in the official TD1.4 request."""
    entity = sub(sub(parent, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    sub(entity, "id", root=ns.OID_PS_ID, extension=practitioner.national_id)
    if practitioner.specialty_code:
        code = sub(entity, "code", code=practitioner.specialty_code, codeSystem=ns.OID_SPECIALTY)
        if practitioner.specialty_label:
            code.set("displayName", practitioner.specialty_label)
    person = sub(entity, "assignedPerson", classCode="PSN", determinerCode="INSTANCE")
    name = sub(person, "name")
    sub(name, "family").text = practitioner.family_name
    sub(name, "given").text = practitioner.given_name
    if practitioner.structure_id:
        org = sub(entity, "representedOrganization", classCode="ORG", determinerCode="INSTANCE")
        sub(org, "id", root=ns.OID_STRUCTURE_ID, extension=practitioner.structure_id)
        if practitioner.structure_name:
            sub(org, "name").text = practitioner.structure_name
        sub(org, "contactParty", classCode="CON")


def _observation(patient: Element, code: str, flag: bool) -> None:
    obs = sub(
        sub(patient, "subjectOf", typeCode="SBJ"),
        "administrativeObservation",
        classCode="OBS",
        moodCode="EVN",
    )
    sub(obs, "code", code=code, codeSystem=OID_CONSENT)
    value = sub(obs, "value", value="true" if flag else "false")
    value.set(qn(ns.XSI, "type"), "BL")


def build_td11_request(
    ins: Ins,
    identity: PatientIdentity,
    consent: CreationConsent,
    practitioner: Practitioner,
    *,
    sender_oid: str,
    sender_name: str,
    today: date | None = None,
) -> Element:
    """The ``PRPA_IN201311UV02`` body; raises :class:`ConsentError` without consent."""
    minor = is_minor(identity.birth_date, today)
    consent.check(minor)
    root = message_header(INTERACTION_REQUEST, sender_oid=sender_oid, sender_name=sender_name)
    cap = control_act(root, REASON_CREATE, REASON_CREATE_LABEL)
    request, patient, person = registration_request(
        cap, ins, "active", identity.family_name, identity.given_name, identity.gender
    )
    if not minor:
        if consent.mobile:
            # A mobile: use="MC", as the official TD1.3 messages write it.
            sub(
                person,
                "telecom",
                value=f"tel:{consent.mobile.strip()[:_MAX_CONTACT]}",
                use="MC",
            )
        if consent.email:
            sub(person, "telecom", value=f"mailto:{consent.email.strip()[:_MAX_CONTACT]}")
    sub(person, "administrativeGenderCode", code=identity.gender or "U")
    sub(person, "birthTime", value=hl7_date(identity.birth_date))
    rep = consent.legal_representative
    if minor and rep is not None:
        guardian = sub(person, "guardian", classCode=GUARDIAN_CLASS)
        guardian_person = sub(
            guardian, "guardianPerson", classCode="PSN", determinerCode="INSTANCE"
        )
        person_name(guardian_person, rep.family_name, rep.given_name)
        if rep.relationship:
            relation = sub(person, "personalRelationship", classCode="PRS")
            sub(relation, "code", code=rep.relationship[:16], codeSystem=OID_RELATIONSHIP)
            holder = sub(
                relation, "relationshipHolder1", classCode="PSN", determinerCode="INSTANCE"
            )
            person_name(holder, rep.family_name, rep.given_name)
    org = _nil(patient, "providerOrganization")
    org.set("classCode", "ORG")
    org.set("determinerCode", "INSTANCE")
    _observation(patient, OBS_CONSENT, True)
    _observation(patient, OBS_OPPOSITION_BRIS_DE_GLACE, consent.opposition_bris_de_glace)
    _observation(patient, OBS_OPPOSITION_CENTRE_15, consent.opposition_centre_15)
    author(request, practitioner)
    return root


# --- answers ---------------------------------------------------------------------------------


def parse_registration_response(
    body: Element, wrapper: str, accepted: str, refused: str
) -> RegistrationResult:
    """Read a ``…_Response`` wrapper: the accepted interaction, or raise DmpServiceError."""
    if body is None or body.tag != qn(GDP_NS, wrapper):
        raise DmpProtocolError(f"answer is not a {wrapper}")
    inner = next((el for el in body if isinstance(el.tag, str)), None)
    if inner is None or inner.tag not in (qn(ns.HL7, accepted), qn(ns.HL7, refused)):
        raise DmpProtocolError(f"{wrapper} without {accepted} or {refused}")
    for ack in children(inner, ns.HL7, "acknowledgement"):
        type_code = (attr(ack, "typeCode") or "").upper()
        if type_code in ACK_ERROR_CODES:
            detail = child(ack, ns.HL7, "acknowledgementDetail")
            code = attr(child(detail, ns.HL7, "code"), "code") or type_code
            raise DmpServiceError(code[:120], (text(child(detail, ns.HL7, "text")) or "")[:300])
    if inner.tag == qn(ns.HL7, refused):
        raise DmpServiceError("AE")
    patient = path(
        inner, ns.HL7, "controlActProcess", "subject", "registrationEvent", "subject1", "patient"
    )
    dmp_id = None
    for id_el in children(patient, ns.HL7, "id"):
        if attr(id_el, "root") == ns.OID_DMP_ID:
            dmp_id = attr(id_el, "extension")
    return RegistrationResult(
        interaction=accepted,
        patient_status=attr(child(patient, ns.HL7, "statusCode"), "code"),
        dmp_id=dmp_id,
    )


def parse_td11_response(body: Element) -> RegistrationResult:
    return parse_registration_response(
        body, RESPONSE_WRAPPER, INTERACTION_ACCEPTED, INTERACTION_REFUSED
    )


__all__ = [
    "ACTION_CREATE",
    "ACTION_CREATE_RESPONSE",
    "ConsentError",
    "CreationConsent",
    "LegalRepresentative",
    "PatientIdentity",
    "RegistrationResult",
    "build_td11_request",
    "is_minor",
    "parse_td11_response",
]
