"""Certificate subject -> Practitioner (CPS layout: C=FR, title=..., CN=idNat+SN=..+GN=..)."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

from dmp_desktop.domain.practitioner import PROFESSION_CODES, Practitioner
from dmp_desktop.errors import CardNotRecognisedError


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    attrs = name.get_attributes_for_oid(oid)
    if not attrs:
        return None
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def practitioner_from_certificate(cert: x509.Certificate) -> Practitioner:
    subject = cert.subject
    national_id = _first(subject, NameOID.COMMON_NAME)
    family = _first(subject, NameOID.SURNAME)
    given = _first(subject, NameOID.GIVEN_NAME)
    title = _first(subject, NameOID.TITLE) or ""
    if not national_id or not family or not given:
        raise CardNotRecognisedError()
    structure_id = _first(subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    structure_name = _first(subject, NameOID.ORGANIZATION_NAME)
    return Practitioner(
        national_id=national_id,
        family_name=family,
        given_name=given,
        profession=title or "Personnel de structure",
        profession_code=PROFESSION_CODES.get(title),
        structure_id=structure_id,
        structure_name=structure_name,
    )
