"""TD1.6 "liste des PS autorisés ou bloqués": ``listAuthorizationByPatient``.

Service ``habilitations``, action
``urn:si-dmp-habilitations:HabilitationsEndPoint:listAuthorizationByPatient``.
As the official example (``TD1.6 - Liste des PS autorisés ou bloqués_*.xml``,
types of ``Habilitations.wsdl``), the patient is the VIHF's resource id and
the body only says which authorisations are wanted::

    <listAuthorizationByPatient xmlns="urn:si-dmp-habilitations">
      <mode>TOUTE</mode>                       ACTIVE | INTERDITE | TOUTE
    </listAuthorizationByPatient>

The answer lists ``listOfAuthorizationByPatient`` (nationalId, nationalIdType,
firstName, lastName, codeSpeciality*, libSpeciality*, startOfAuthorization,
lastActionDate, ``mode`` ACTIVE | INTERDITE, ``specificRight``
``MEDECIN_TRAITANT``) then ``status`` (``DMPOk``) and ``context``. ``mode``
``ACTIVE`` reads as ``VALIDE``, ``INTERDITE`` as ``INTERDIT``; a valid
authorisation whose end has passed is not listed by the DMP (the WSDL has no
"expired" mode), so :data:`STATUS_EXPIRED` only comes from an unknown mode
the host may add later.

Note: the official example puts the family name "LIBRE" in ``lastName`` and
"MAX" in ``firstName``, the reverse of the TD1.4 example's author (family
MAX, given LIBRE); this module reads the fields by their names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from dmp_desktop.dates import or_none, parse_hl7_ts
from dmp_desktop.dmp.xmlutil import Element, child, children, qn, text
from dmp_desktop.errors import DmpProtocolError, DmpServiceError

HABILITATIONS = "urn:si-dmp-habilitations"
SERVICE = "habilitations"
ACTION_LIST = "urn:si-dmp-habilitations:HabilitationsEndPoint:listAuthorizationByPatient"
ACTION_LIST_RESPONSE = f"{ACTION_LIST}Response"

MODE_ACTIVE = "ACTIVE"
MODE_BLOCKED = "INTERDITE"
MODE_ALL = "TOUTE"
MODES = (MODE_ACTIVE, MODE_BLOCKED, MODE_ALL)
RIGHT_TREATING_PHYSICIAN = "MEDECIN_TRAITANT"
STATUS_VALID = "VALIDE"
STATUS_BLOCKED = "INTERDIT"
STATUS_EXPIRED = "EXPIRE"
STATUS_OK = "DMPOK"
_MAX_ITEMS = 10_000
_MAX_FIELD = 200


@dataclass(frozen=True)
class PatientAuthorization:
    """One professional's authorisation on the patient's DMP."""

    national_id: str
    family_name: str
    given_name: str
    status: str  # VALIDE / INTERDIT / EXPIRE
    treating_physician: bool = False
    national_id_type: str | None = None
    specialties: tuple[str, ...] = ()
    specialty_labels: tuple[str, ...] = ()
    start: datetime | None = None
    last_action: datetime | None = None


def build_list_request(mode: str = MODE_ALL) -> Element:
    if mode not in MODES:
        raise ValueError(f"unknown mode: {mode}")
    root = etree.Element(
        qn(HABILITATIONS, "listAuthorizationByPatient"), nsmap={None: HABILITATIONS}
    )
    etree.SubElement(root, qn(HABILITATIONS, "mode")).text = mode
    return root


def _field(el: Element | None, local: str) -> str:
    return (text(child(el, HABILITATIONS, local)) or "").strip()[:_MAX_FIELD]


def _timestamp(value: str) -> datetime | None:
    return or_none(parse_hl7_ts, value)  # without offset: Paris legal time


def _status(mode: str) -> str:
    return {MODE_ACTIVE: STATUS_VALID, MODE_BLOCKED: STATUS_BLOCKED}.get(
        mode.upper(), STATUS_EXPIRED
    )


def parse_list_response(body: Element) -> list[PatientAuthorization]:
    """Read the answer; a status other than ``DMPOk`` raises ``DmpServiceError``."""
    if body is None or body.tag != qn(HABILITATIONS, "listAuthorizationByPatientResponse"):
        raise DmpProtocolError("answer is not a listAuthorizationByPatientResponse")
    output = child(body, HABILITATIONS, "output")
    status = _field(output, "status")
    if not status:
        raise DmpProtocolError("listAuthorizationByPatientResponse without a status")
    if status.upper() != STATUS_OK:
        raise DmpServiceError(status[:120], _field(output, "context"))
    result: list[PatientAuthorization] = []
    for item in children(output, HABILITATIONS, "listOfAuthorizationByPatient")[:_MAX_ITEMS]:
        national_id = _field(item, "nationalId")
        if not national_id:
            raise DmpProtocolError("an authorisation without a professional id")
        rights = {(text(r) or "").strip() for r in children(item, HABILITATIONS, "specificRight")}
        result.append(
            PatientAuthorization(
                national_id=national_id,
                family_name=_field(item, "lastName"),
                given_name=_field(item, "firstName"),
                status=_status(_field(item, "mode")),
                treating_physician=RIGHT_TREATING_PHYSICIAN in rights,
                national_id_type=_field(item, "nationalIdType") or None,
                specialties=tuple(
                    (text(c) or "")[:_MAX_FIELD]
                    for c in children(item, HABILITATIONS, "codeSpeciality")
                ),
                specialty_labels=tuple(
                    (text(c) or "")[:_MAX_FIELD]
                    for c in children(item, HABILITATIONS, "libSpeciality")
                ),
                start=_timestamp(_field(item, "startOfAuthorization")),
                last_action=_timestamp(_field(item, "lastActionDate")),
            )
        )
    return result


__all__ = [
    "ACTION_LIST",
    "ACTION_LIST_RESPONSE",
    "MODE_ALL",
    "PatientAuthorization",
    "build_list_request",
    "parse_list_response",
]
