"""TD1.4 "fermeture" and TD1.2 "réactivation" of a DMP: ``PRPA_IN201314UV02``.

Service ``patients``, action ``urn:hl7-org:v3:PRPA_IN201314UV02`` (WSDL
operation ``PatientRevise``). The request is built element for element like
the official ``TD1.4 - Fermer_requête.xml``: reasonCode ``FERM`` (close) or
``REAC`` (reactivate) in 1.2.250.1.213.1.1.4.11, ``registrationRequest`` with
the patient (INS, ``statusCode`` ``terminated`` for a closure, ``active`` for
a reactivation, ``patientPerson/name``) and the author; a closure also
carries its reason in ``controlActProcess/reasonOf/detectedIssueEvent``
(code in 1.2.250.1.213.4.1.2.4, e.g. ``FERMETURE_DEMANDE_PATIENT``, and a text).

Answer: ``PRPA_IN201314UV02_Response`` wrapping ``PRPA_IN201315UV02``
(accepted) or ``PRPA_IN201316UV02`` (refused: ``DMPClosed`` when the DMP is
already closed, ``DMPNotFound``…) -> ``DmpServiceError(code)``.
"""

from __future__ import annotations

from dmp_desktop.dmp import ns
from dmp_desktop.dmp.td11 import (
    RegistrationResult,
    author,
    control_act,
    message_header,
    parse_registration_response,
    registration_request,
    sub,
)
from dmp_desktop.dmp.xmlutil import Element
from dmp_desktop.domain import Ins, Practitioner

INTERACTION_REQUEST = "PRPA_IN201314UV02"
INTERACTION_ACCEPTED = "PRPA_IN201315UV02"
INTERACTION_REFUSED = "PRPA_IN201316UV02"
ACTION_REVISE = "urn:hl7-org:v3:PRPA_IN201314UV02"
ACTION_REVISE_RESPONSE = "urn:hl7-org:v3:PRPA_IN201314ResponseUV02"
RESPONSE_WRAPPER = "PRPA_IN201314UV02_Response"

REASON_CLOSE = "FERM"
REASON_CLOSE_LABEL = "Fermeture de dossier"
REASON_REACTIVATE = "REAC"
REASON_REACTIVATE_LABEL = "Réactivation de dossier"
OID_CLOSURE_REASON = ns.OID_CLOSURE_REASON  # 1.2.250.1.213.4.1.2.4
CLOSURE_PATIENT_REQUEST = "FERMETURE_DEMANDE_PATIENT"
CLOSURE_DECEASED = "FERMETURE_DECES"
CLOSURE_OTHER = "FERMETURE_AUTRE"
CLOSURE_REASONS = (CLOSURE_PATIENT_REQUEST, CLOSURE_DECEASED, CLOSURE_OTHER)
STATUS_CLOSED = "terminated"
STATUS_ACTIVE = "active"
_MAX_TEXT = 255


def build_td14_request(
    ins: Ins,
    family_name: str,
    given_name: str,
    practitioner: Practitioner,
    *,
    sender_oid: str,
    sender_name: str,
    close: bool = True,
    reason: str = CLOSURE_PATIENT_REQUEST,
    reason_text: str | None = None,
    gender: str | None = None,
) -> Element:
    """TD1.4 (``close``) or TD1.2 (not ``close``) request body."""
    if close and reason not in CLOSURE_REASONS:
        raise ValueError(f"unknown closure reason: {reason}")
    root = message_header(INTERACTION_REQUEST, sender_oid=sender_oid, sender_name=sender_name)
    cap = control_act(
        root,
        REASON_CLOSE if close else REASON_REACTIVATE,
        REASON_CLOSE_LABEL if close else REASON_REACTIVATE_LABEL,
    )
    request, _patient, _person = registration_request(
        cap, ins, STATUS_CLOSED if close else STATUS_ACTIVE, family_name, given_name, gender
    )
    author(request, practitioner)
    if close:
        issue = sub(
            sub(cap, "reasonOf", typeCode="RSON"),
            "detectedIssueEvent",
            classCode="ALRT",
            moodCode="EVN",
        )
        sub(issue, "code", code=reason, codeSystem=OID_CLOSURE_REASON)
        sub(issue, "text").text = (reason_text or reason).strip()[:_MAX_TEXT] or reason
    return root


def parse_td14_response(body: Element) -> RegistrationResult:
    return parse_registration_response(
        body, RESPONSE_WRAPPER, INTERACTION_ACCEPTED, INTERACTION_REFUSED
    )


__all__ = [
    "ACTION_REVISE",
    "ACTION_REVISE_RESPONSE",
    "CLOSURE_PATIENT_REQUEST",
    "CLOSURE_REASONS",
    "build_td14_request",
    "parse_td14_response",
]
