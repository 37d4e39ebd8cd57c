"""TD0.4 « Liste des DMP autorisés »: the DMPs on which the professional is authorised.

Service ``patientsSpecific``, action
``urn:si-dmp-patients:PatientSpecificEndPoint:patientList`` (the 2024
``PatientsSpecific.wsdl`` keeps only this operation). Request, as the
official example and valid against the WSDL's schema::

    <patientList xmlns="urn:si-dmp-patients">
      <startDate>AAAAMMJJhhmmss</startDate>
      <dateType>LASTAUTORIZATION | LASTDOC</dateType>
    </patientList>

``startDate`` with ``dateType``: the DMPs whose last authorisation (or last
document added) is after that date.

Answer ``patientListResponse/output``: one ``patientlistData`` per patient
(``patientIdentifier`` nationalId/nationalIdType — the INS under its
authority, and the DMP id 1.2.250.1.213.1.4.2 —, ``lastName``, optional
``patronymicalName``, ``firstName``, ``civility``, ``dateOfBirth``
AAAAMMJJ, ``MT`` (I am the patient's médecin traitant DMP), ``message``,
``lastAccessDate``, ``lastUpdateDate``, ``lastAddDate`` AAAAMMJJhhmmss UTC),
then ``status`` (``DMPOk``, else a refusal code) and an optional ``context``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime

from lxml import etree

from dmp_desktop.dates import or_none, parse_xds_dtm, xds_dtm
from dmp_desktop.dmp.xmlutil import Element, child, children, qn, text
from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from dmp_desktop.identity.traits import IdentitySource, IdentityTraits, InsIdentity, normalize_sex

NS = "urn:si-dmp-patients"
SERVICE = "patientsSpecific"
ACTION = "urn:si-dmp-patients:PatientSpecificEndPoint:patientList"
ACTION_RESPONSE = "urn:si-dmp-patients:PatientSpecificEndPoint:patientListResponse"
STATUS_OK = "DMPOk"
OID_DMP_ID = "1.2.250.1.213.1.4.2"
MAX_PATIENTS = 5000
# The DMP opened in 2011: a start date before it lists every authorised DMP.
EVERYTHING_SINCE = datetime(2010, 1, 1, tzinfo=UTC)


class DateType(enum.StrEnum):
    LAST_AUTHORIZATION = "LASTAUTORIZATION"  # (sic: the WSDL's spelling)
    LAST_DOCUMENT = "LASTDOC"


@dataclass(frozen=True)
class AuthorisedPatient:
    """One row of « Mes patients DMP »."""

    identity: InsIdentity
    dmp_id: str | None
    treating_physician: bool
    new_message: bool
    last_access: datetime | None
    last_update: datetime | None
    last_document: datetime | None
    civility: str | None = None


def _ts(value: datetime) -> str:
    return xds_dtm(value)  # UTC, no offset


def build_request(
    since: datetime = EVERYTHING_SINCE, date_type: DateType = DateType.LAST_AUTHORIZATION
) -> Element:
    root = etree.Element(qn(NS, "patientList"), nsmap={None: NS})
    etree.SubElement(root, qn(NS, "startDate")).text = _ts(since)
    etree.SubElement(root, qn(NS, "dateType")).text = date_type.value
    return root


def _t(el: Element | None, local: str) -> str:
    return " ".join((text(child(el, NS, local)) or "").split())


def _when(value: str) -> datetime | None:
    return or_none(parse_xds_dtm, value)  # UTC, no offset


def _birth(value: str) -> date | None:
    moment = _when(value)
    return moment.date() if moment else None


def _bool(value: str) -> bool:
    return value.strip().lower() in ("true", "1")


def _row(data: Element) -> AuthorisedPatient | None:
    known = {kind.value for kind in InsKind}
    ins: Ins | None = None
    dmp_id: str | None = None
    for ident in children(data, NS, "patientIdentifier"):
        value, oid = _t(ident, "nationalId"), _t(ident, "nationalIdType")
        if oid == OID_DMP_ID:
            dmp_id = value[:64] or None
        elif oid in known and value and ins is None:
            try:
                ins = Ins(value, InsKind.from_oid(oid))
            except InsError:
                raise DmpProtocolError("TD0.4 answer with an invalid INS") from None
    last_name = _t(data, "lastName")
    birth_name = _t(data, "patronymicalName") or last_name
    first = _t(data, "firstName")
    birth = _birth(_t(data, "dateOfBirth"))
    if ins is None or not birth_name or birth is None:
        return None  # a row that cannot name a patient is left out
    civility = _t(data, "civility") or None
    sex = {"MME": "F", "MLLE": "F", "M": "M", "M.": "M", "MR": "M"}.get(
        (civility or "").upper(), normalize_sex(None)
    )
    traits = IdentityTraits(
        birth_name=birth_name,
        given_names=tuple(first.split()),
        sex=sex,
        birth_date=birth,
    )
    used = last_name if last_name and last_name.upper() != birth_name.upper() else None
    identity = InsIdentity(ins, traits, IdentitySource.DMP, qualified=False, used_name=used)
    return AuthorisedPatient(
        identity=identity,
        dmp_id=dmp_id,
        treating_physician=_bool(_t(data, "MT")),
        new_message=_bool(_t(data, "message")),
        last_access=_when(_t(data, "lastAccessDate")),
        last_update=_when(_t(data, "lastUpdateDate")),
        last_document=_when(_t(data, "lastAddDate")),
        civility=civility,
    )


def parse_response(body: Element) -> list[AuthorisedPatient]:
    """The patients of a ``patientListResponse``; a status other than DMPOk raises."""
    if body is None or body.tag != qn(NS, "patientListResponse"):
        raise DmpProtocolError("answer is not a patientListResponse")
    output = child(body, NS, "output")
    status = _t(output, "status")
    if status.upper() != STATUS_OK.upper():
        raise DmpServiceError(status[:120] or "TD04", _t(output, "context")[:300])
    rows: list[AuthorisedPatient] = []
    for data in children(output, NS, "patientlistData")[:MAX_PATIENTS]:
        row = _row(data)
        if row is not None:
            rows.append(row)
    return rows


__all__ = [
    "ACTION",
    "ACTION_RESPONSE",
    "EVERYTHING_SINCE",
    "SERVICE",
    "AuthorisedPatient",
    "DateType",
    "build_request",
    "parse_response",
]
