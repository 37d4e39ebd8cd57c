"""TD1.3a / TD1.3b: read and update a patient's DMP administrative data.

Service ``patients``. Built element for element like the official examples
(``TD1.3a - Consultation_*.xml``, ``TD1.3b - Modification_*.xml``).

TD1.3a, action ``urn:hl7-org:v3:PRPA_IN201307UV02`` (as TD0.2), reasonCode
``CNSLT_DATA`` (1.2.250.1.213.1.1.4.11) and the INS in
``queryByParameter/parameterList/patientIdentifier/value``. Answer
``PRPA_IN201308UV02``: ``acknowledgement`` ``AA`` (``AE`` + detail code ->
``DmpServiceError``), ``queryAck/queryResponseCode`` ``OK`` (``NF``: no DMP ->
``DmpServiceError("DMPNotFound")``), and
``subject/registrationEvent/subject1/patient``: ``id`` (DMP id 1.2.250.1.213.1.4.2,
INS), ``statusCode``, ``patientPerson`` (``name`` prefix/given/family,
``telecom`` ``tel:`` with ``use`` ``MC`` (mobile) or ``HP`` (home) and
``mailto:``, ``administrativeGenderCode``, ``birthTime``, ``deceasedInd``,
``addr``, ``personalRelationship`` (a minor's legal representative: ``code``,
``addr``, ``telecom``, ``relationshipHolder1/name``)), and the BL
``subjectOf/administrativeObservation`` ``OPPOSITION_BRIS_DE_GLACE`` /
``OPPOSITION_ACCES_URGENCE``.

TD1.3b, action ``urn:hl7-org:v3:PRPA_IN201314UV02`` (as TD1.4), reasonCode
``MODIF_DATA``; ``registrationRequest`` with the whole patient as the DMP
should hold it (identity traits unchanged, contacts, address, legal
representatives, the two oppositions) and the author. Answer
``PRPA_IN201314UV02_Response`` wrapping ``PRPA_IN201315UV02`` (accepted) or
``PRPA_IN201316UV02`` (refused: ``DMPClosed``, ``DMPAccessDenied``...).
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from dmp_desktop.dates import hl7_date
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.td11 import (
    OBS_OPPOSITION_BRIS_DE_GLACE,
    OBS_OPPOSITION_CENTRE_15,
    OID_CONSENT,
    RegistrationResult,
    author,
    control_act,
    message_header,
    parse_registration_response,
    registration_request,
    sub,
)
from dmp_desktop.dmp.td12_14 import INTERACTION_ACCEPTED as REVISE_ACCEPTED
from dmp_desktop.dmp.td12_14 import INTERACTION_REFUSED as REVISE_REFUSED
from dmp_desktop.dmp.td12_14 import RESPONSE_WRAPPER as REVISE_WRAPPER
from dmp_desktop.dmp.xmlutil import Element, attr, child, children, path, qn, read_hl7_date, text
from dmp_desktop.domain import Ins, Practitioner
from dmp_desktop.domain.admin_data import (
    AdministrativeData,
    LegalRepresentativeContact,
    PostalAddress,
)
from dmp_desktop.domain.patient import InsError, InsKind
from dmp_desktop.errors import DmpProtocolError, DmpServiceError

SERVICE = "patients"
READ_REQUEST = "PRPA_IN201307UV02"
READ_RESPONSE = "PRPA_IN201308UV02"
ACTION_READ = "urn:hl7-org:v3:PRPA_IN201307UV02"
ACTION_READ_RESPONSE = "urn:hl7-org:v3:PRPA_IN201308UV02"
UPDATE_REQUEST = "PRPA_IN201314UV02"
ACTION_UPDATE = "urn:hl7-org:v3:PRPA_IN201314UV02"
ACTION_UPDATE_RESPONSE = "urn:hl7-org:v3:PRPA_IN201314ResponseUV02"

REASON_READ = "CNSLT_DATA"
REASON_READ_LABEL = "Consultation des données de gestion de dossier"
REASON_UPDATE = "MODIF_DATA"
REASON_UPDATE_LABEL = "Modification des données de gestion du dossier"
OID_RELATIONSHIP = "2.16.840.1.113883.1.11.19579"
USE_MOBILE = "MC"
USE_HOME = "HP"
QUERY_FOUND = "OK"
QUERY_NOT_FOUND = "NF"
DMP_NOT_FOUND = "DMPNotFound"
ACK_ERROR_CODES = frozenset({"AE", "AR", "CE", "CR"})
OBS_LABELS = {
    OBS_OPPOSITION_BRIS_DE_GLACE: "opposition au mode bris de glace",
    OBS_OPPOSITION_CENTRE_15: "opposition à l'accès au mode urgence",
}

_MAX = 255


# --- TD1.3a request --------------------------------------------------------------------------


def build_read_request(ins: Ins, *, sender_oid: str, sender_name: str) -> Element:
    """The ``PRPA_IN201307UV02`` body with reasonCode ``CNSLT_DATA``."""
    root = message_header(READ_REQUEST, sender_oid=sender_oid, sender_name=sender_name)
    cap = control_act(root, REASON_READ, REASON_READ_LABEL)
    query = sub(cap, "queryByParameter")
    sub(query, "queryId", root=f"{sender_oid}.2", extension=str(uuid.uuid4()))
    sub(query, "statusCode", code="new")
    parameters = sub(query, "parameterList")
    sub(parameters, "dataSource").set(qn(ns.XSI, "nil"), "true")
    patient_id = sub(parameters, "patientIdentifier")
    sub(patient_id, "value", root=ins.oid, extension=ins.value)
    sub(patient_id, "semanticsText").text = "Patient.id"
    return root


# --- TD1.3a answer ---------------------------------------------------------------------------


def _clean(value: str | None) -> str:
    return (value or "").strip()[:_MAX]


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def read_address(addr: Element | None) -> PostalAddress:
    if addr is None:
        return PostalAddress()
    lines = tuple(
        _clean(text(el))
        for el in addr
        if isinstance(el.tag, str)
        and el.tag in (qn(ns.HL7, "streetAddressLine"), qn(ns.HL7, "additionalLocator"))
        and _clean(text(el))
    )
    return PostalAddress(
        lines=lines[:4],
        postal_code=_clean(text(child(addr, ns.HL7, "postalCode"))),
        city=_clean(text(child(addr, ns.HL7, "city"))),
        country=_clean(text(child(addr, ns.HL7, "country"))),
    )


def read_telecoms(holder: Element | None) -> tuple[str | None, str | None, str | None]:
    """(home phone, mobile, e-mail) of the ``telecom`` children (first of each kind)."""
    home = mobile = email = None
    for telecom in children(holder, ns.HL7, "telecom"):
        value = _clean(attr(telecom, "value"))
        uses = set((attr(telecom, "use") or "").split())
        if value.lower().startswith("mailto:"):
            email = email or value[7:].strip() or None
        elif value.lower().startswith("tel:"):
            number = value[4:].strip() or None
            if USE_MOBILE in uses or (not uses and (number or "").startswith(("06", "07"))):
                mobile = mobile or number
            else:
                home = home or number
    return home, mobile, email


def _name(name_el: Element | None) -> tuple[str, str, str | None]:
    families = children(name_el, ns.HL7, "family")
    family = next(
        (f for f in families if "BR" in (attr(f, "qualifier") or "").split()),
        families[0] if families else None,
    )
    return (
        _clean(text(family)),
        _clean(text(child(name_el, ns.HL7, "given"))),
        _clean(text(child(name_el, ns.HL7, "prefix"))) or None,
    )


def _ack_error(root: Element) -> None:
    for ack in children(root, ns.HL7, "acknowledgement"):
        type_code = (attr(ack, "typeCode") or "").upper()
        if type_code in ACK_ERROR_CODES:
            detail = child(ack, ns.HL7, "acknowledgementDetail")
            code = attr(child(detail, ns.HL7, "code"), "code") or type_code
            raise DmpServiceError(code[:120], (text(child(detail, ns.HL7, "text")) or "")[:300])


def _patient_ins(patient: Element, requested: Ins | None) -> tuple[Ins, str | None]:
    known = {kind.value for kind in InsKind}
    found: Ins | None = None
    dmp_id = None
    for id_el in children(patient, ns.HL7, "id"):
        root, extension = attr(id_el, "root"), (attr(id_el, "extension") or "").strip()
        if root == ns.OID_DMP_ID:
            dmp_id = extension[:64] or None
        elif root in known and extension and found is None:
            try:
                found = Ins(extension, InsKind.from_oid(root))
            except InsError:
                raise DmpProtocolError("the answer carries an invalid INS") from None
    if requested is not None:
        if found is not None and (found.value, found.oid) != (requested.value, requested.oid):
            raise DmpProtocolError("the answer is about another patient")
        return requested, dmp_id
    if found is None:
        raise DmpProtocolError("the answer does not identify the patient")
    return found, dmp_id


def parse_read_response(body: Element, requested: Ins | None = None) -> AdministrativeData:
    """Read a TD1.3a ``PRPA_IN201308UV02``; refusals raise ``DmpServiceError``."""
    if body is None or body.tag != qn(ns.HL7, READ_RESPONSE):
        raise DmpProtocolError("answer is not a PRPA_IN201308UV02")
    _ack_error(body)
    cap = child(body, ns.HL7, "controlActProcess")
    code = attr(path(cap, ns.HL7, "queryAck", "queryResponseCode"), "code")
    if code == QUERY_NOT_FOUND:
        raise DmpServiceError(DMP_NOT_FOUND)
    if code != QUERY_FOUND:
        raise DmpServiceError(code or "AE")
    patient = path(cap, ns.HL7, "subject", "registrationEvent", "subject1", "patient")
    if patient is None:
        raise DmpProtocolError("TD1.3a answer without a patient")
    ins, dmp_id = _patient_ins(patient, requested)
    person = child(patient, ns.HL7, "patientPerson")
    family, given, prefix = _name(child(person, ns.HL7, "name"))
    home, mobile, email = read_telecoms(person)
    deceased_el = child(person, ns.HL7, "deceasedInd")
    reps: list[LegalRepresentativeContact] = []
    for rel in children(person, ns.HL7, "personalRelationship")[:4]:
        r_family, r_given, _ = _name(path(rel, ns.HL7, "relationshipHolder1", "name"))
        r_home, r_mobile, r_email = read_telecoms(rel)
        reps.append(
            LegalRepresentativeContact(
                family_name=r_family,
                given_name=r_given,
                relationship=_clean(attr(child(rel, ns.HL7, "code"), "code")) or "GUARD",
                home_phone=r_home,
                mobile=r_mobile,
                email=r_email,
                address=read_address(child(rel, ns.HL7, "addr")),
            )
        )
    observations: dict[str, bool] = {}
    for subject_of in children(patient, ns.HL7, "subjectOf"):
        obs = child(subject_of, ns.HL7, "administrativeObservation")
        obs_code = attr(child(obs, ns.HL7, "code"), "code")
        if obs_code:
            observations[obs_code.strip()] = _bool(attr(child(obs, ns.HL7, "value"), "value"))
    gender = (attr(child(person, ns.HL7, "administrativeGenderCode"), "code") or "U")[:1]
    return AdministrativeData(
        ins=ins,
        family_name=family,
        given_name=given,
        gender=gender.upper() if gender.upper() in ("M", "F") else "U",
        birth_date=read_hl7_date(attr(child(person, ns.HL7, "birthTime"), "value")),
        status=_clean(attr(child(patient, ns.HL7, "statusCode"), "code")) or "active",
        dmp_id=dmp_id,
        prefix=prefix,
        deceased=_bool(attr(deceased_el, "value")) if deceased_el is not None else None,
        home_phone=home,
        mobile=mobile,
        email=email,
        address=read_address(child(person, ns.HL7, "addr")),
        legal_representatives=tuple(reps),
        opposition_bris_de_glace=observations.get(OBS_OPPOSITION_BRIS_DE_GLACE, False),
        opposition_centre_15=observations.get(OBS_OPPOSITION_CENTRE_15, False),
    )


# --- TD1.3b ----------------------------------------------------------------------------------


def write_telecoms(
    holder: Element, home: str | None, mobile: str | None, email: str | None
) -> None:
    if home:
        sub(holder, "telecom", value=f"tel:{home}", use=USE_HOME)
    if mobile:
        sub(holder, "telecom", value=f"tel:{mobile}", use=USE_MOBILE)
    if email:
        sub(holder, "telecom", value=f"mailto:{email}")


def write_address(holder: Element, address: PostalAddress) -> None:
    if address.empty:
        return
    addr = sub(holder, "addr")
    for line in address.lines:
        if line.strip():
            sub(addr, "streetAddressLine").text = line.strip()[:_MAX]
    if address.postal_code:
        sub(addr, "postalCode").text = address.postal_code
    if address.city:
        sub(addr, "city").text = address.city[:_MAX]
    if address.country:
        sub(addr, "country").text = address.country[:_MAX]


def write_observation(patient: Element, code: str, flag: bool) -> None:
    obs = sub(
        sub(patient, "subjectOf", typeCode="SBJ"),
        "administrativeObservation",
        classCode="OBS",
        moodCode="EVN",
    )
    sub(obs, "code", code=code, codeSystem=OID_CONSENT, displayName=OBS_LABELS[code])
    value = sub(obs, "value", value="true" if flag else "false")
    value.set(qn(ns.XSI, "type"), "BL")


def build_update_request(
    data: AdministrativeData,
    practitioner: Practitioner,
    *,
    sender_oid: str,
    sender_name: str,
) -> Element:
    """The ``PRPA_IN201314UV02`` body with reasonCode ``MODIF_DATA``.

    ``data`` is checked first (:meth:`AdministrativeData.checked`): an invalid
    contact raises ``InvalidContactError`` and nothing is built.
    """
    data = data.checked()
    root = message_header(UPDATE_REQUEST, sender_oid=sender_oid, sender_name=sender_name)
    cap = control_act(root, REASON_UPDATE, REASON_UPDATE_LABEL)
    request, patient, person = registration_request(
        cap, data.ins, "active", data.family_name, data.given_name, data.gender
    )
    write_telecoms(person, data.home_phone, data.mobile, data.email)
    sub(person, "administrativeGenderCode", code=data.gender or "U")
    if data.birth_date is not None:
        sub(person, "birthTime", value=hl7_date(data.birth_date))
    write_address(person, data.address)
    for rep in data.legal_representatives:
        rel = sub(person, "personalRelationship", classCode="PRS")
        sub(rel, "code", code=rep.relationship or "GUARD", codeSystem=OID_RELATIONSHIP)
        write_address(rel, rep.address)
        write_telecoms(rel, rep.home_phone, rep.mobile, rep.email)
        holder = sub(rel, "relationshipHolder1", classCode="PSN", determinerCode="INSTANCE")
        name = sub(holder, "name")
        sub(name, "given").text = rep.given_name[:100]
        sub(name, "family").text = rep.family_name[:100]
    write_observation(patient, OBS_OPPOSITION_BRIS_DE_GLACE, data.opposition_bris_de_glace)
    write_observation(patient, OBS_OPPOSITION_CENTRE_15, data.opposition_centre_15)
    author(request, practitioner)
    return root


def parse_update_response(body: Element) -> RegistrationResult:
    """Read the TD1.3b answer (``PRPA_IN201315UV02``, or ``DmpServiceError``)."""
    result = parse_registration_response(body, REVISE_WRAPPER, REVISE_ACCEPTED, REVISE_REFUSED)
    return replace(result, interaction=REVISE_ACCEPTED)


__all__ = [
    "ACTION_READ",
    "ACTION_READ_RESPONSE",
    "ACTION_UPDATE",
    "ACTION_UPDATE_RESPONSE",
    "REASON_READ",
    "REASON_UPDATE",
    "build_read_request",
    "build_update_request",
    "parse_read_response",
    "parse_update_response",
]
