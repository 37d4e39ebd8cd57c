"""TD1.5a/b/d: the patient's own online access to their DMP.

Service ``patientsSpecific`` (namespace ``urn:si-dmp-patients``). The official
WSDL ``PatientsSpecific.wsdl`` v1.0.2 (2024) no longer describes these
operations (its readme says they were removed); it keeps the types
``PatientAccessResponse`` (login, password, status, context),
``otpChannelTypeEnum`` (``SMS`` / ``EMAIL``) and ``actionTypeEnum``
(``AJOUT`` / ``MODIFICATION`` / ``SUPPRESSION``). The bodies below are those
of the official examples, element for element; the patient is the VIHF's
resource-id (as TD1.6)::

    TD1.5a  action urn:si-dmp-patients:PatientSpecificEndPoint:createPatientAccess
            <createPatientAccess xmlns="urn:si-dmp-patients">
              <type>SMS</type><canal>0606060606</canal>
            </createPatientAccess>
    TD1.5b  action ...:patientOTPUpdate
            <patientOTPUpdate xmlns="urn:si-dmp-patients">
              <type>EMAIL</type><canal>mon.email@mail.fr</canal><action>AJOUT</action>
            </patientOTPUpdate>
    TD1.5d  action ...:updatePatientAccess
            <updatePatientAccess xmlns="urn:si-dmp-patients"/>

Answers: ``<op>Response/output`` with ``login``, ``password`` (TD1.5a and
TD1.5d: the patient's login and a temporary password), ``status``
(``DMPOk``, else a ``DMP*`` code -> ``DmpServiceError``) and ``context``. The
official TD1.5d answer's WS-Addressing action is
``...:updatePatientAccess:Fault:SoapFault`` although its body is a normal
answer: both that and ``...:updatePatientAccessResponse`` are accepted.

The temporary password is a secret for the patient: it is returned to the
caller once and never logged.
"""

from __future__ import annotations

from lxml import etree

from dmp_desktop.dmp.xmlutil import Element, child, qn, text
from dmp_desktop.domain.admin_data import (
    OTP_EMAIL,
    OTP_SMS,
    OnlineAccessCredentials,
    check_email,
    check_mobile,
)
from dmp_desktop.errors import DmpProtocolError, DmpServiceError

PATIENTS_NS = "urn:si-dmp-patients"
SERVICE = "patientsSpecific"
_ENDPOINT = "urn:si-dmp-patients:PatientSpecificEndPoint"
ACTION_CREATE = f"{_ENDPOINT}:createPatientAccess"
ACTION_CREATE_RESPONSE = f"{ACTION_CREATE}Response"
ACTION_OTP = f"{_ENDPOINT}:patientOTPUpdate"
ACTION_OTP_RESPONSE = f"{ACTION_OTP}Response"
ACTION_UPDATE = f"{_ENDPOINT}:updatePatientAccess"
ACTION_UPDATE_RESPONSE = f"{ACTION_UPDATE}Response"
# What the official TD1.5d answer carries (see the module docstring).
ACTION_UPDATE_RESPONSE_OFFICIAL = f"{ACTION_UPDATE}:Fault:SoapFault"
ACTION_UPDATE_RESPONSES = frozenset({ACTION_UPDATE_RESPONSE, ACTION_UPDATE_RESPONSE_OFFICIAL})

CHANNEL_TYPES = (OTP_SMS, OTP_EMAIL)
OTP_ADD = "AJOUT"
OTP_MODIFY = "MODIFICATION"
OTP_REMOVE = "SUPPRESSION"
OTP_ACTIONS = (OTP_ADD, OTP_MODIFY, OTP_REMOVE)
STATUS_OK = "DMPOK"
_MAX_FIELD = 255


def check_channel(channel_type: str, value: str) -> str:
    """The channel value normalised (mobile for SMS, e-mail for EMAIL)."""
    if channel_type == OTP_SMS:
        return check_mobile(value)
    if channel_type == OTP_EMAIL:
        return check_email(value)
    raise ValueError(f"unknown OTP channel type: {channel_type}")


def _root(local: str) -> Element:
    return etree.Element(qn(PATIENTS_NS, local), nsmap={None: PATIENTS_NS})


def _field(parent: Element, local: str, value: str) -> None:
    etree.SubElement(parent, qn(PATIENTS_NS, local)).text = value


def build_create_request(channel_type: str, value: str) -> Element:
    """TD1.5a body; the channel is checked first (``InvalidContactError``)."""
    value = check_channel(channel_type, value)
    root = _root("createPatientAccess")
    _field(root, "type", channel_type)
    _field(root, "canal", value)
    return root


def build_otp_request(channel_type: str, value: str, action: str = OTP_ADD) -> Element:
    """TD1.5b body: add, change or remove one-time-code channel ``value``."""
    if action not in OTP_ACTIONS:
        raise ValueError(f"unknown OTP channel action: {action}")
    value = check_channel(channel_type, value)
    root = _root("patientOTPUpdate")
    _field(root, "type", channel_type)
    _field(root, "canal", value)
    _field(root, "action", action)
    return root


def build_update_request() -> Element:
    """TD1.5d body (empty, as the official example)."""
    return _root("updatePatientAccess")


def _text(el: Element | None, local: str) -> str:
    return (text(child(el, PATIENTS_NS, local)) or "").strip()[:_MAX_FIELD]


def parse_access_response(body: Element, operation: str) -> OnlineAccessCredentials:
    """Read ``<operation>Response/output``; a status other than DMPOk raises DmpServiceError."""
    if body is None or body.tag != qn(PATIENTS_NS, f"{operation}Response"):
        raise DmpProtocolError(f"answer is not a {operation}Response")
    output = child(body, PATIENTS_NS, "output")
    if output is None:
        raise DmpProtocolError(f"{operation}Response without output")
    status = _text(output, "status")
    if not status:
        raise DmpProtocolError(f"{operation}Response without a status")
    context = _text(output, "context")
    if status.upper() != STATUS_OK:
        raise DmpServiceError(status[:120], context)
    return OnlineAccessCredentials(
        login=_text(output, "login") or None,
        temporary_password=_text(output, "password") or None,
        status=status,
        context=context,
    )


def parse_create_response(body: Element) -> OnlineAccessCredentials:
    return parse_access_response(body, "createPatientAccess")


def parse_otp_response(body: Element) -> OnlineAccessCredentials:
    return parse_access_response(body, "patientOTPUpdate")


def parse_update_response(body: Element) -> OnlineAccessCredentials:
    return parse_access_response(body, "updatePatientAccess")


__all__ = [
    "ACTION_CREATE",
    "ACTION_OTP",
    "ACTION_UPDATE",
    "CHANNEL_TYPES",
    "OTP_ACTIONS",
    "build_create_request",
    "build_otp_request",
    "build_update_request",
    "parse_create_response",
    "parse_otp_response",
    "parse_update_response",
]
