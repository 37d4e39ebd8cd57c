"""Card certificate -> Practitioner, as IGC-Santé issues CPS/CPE certificates.

Subject: ``C=FR, title=<profession label>, CN=<idNat>+SN=<NOM>+GN=<PRÉNOM>``
(the official TD2.1 example's card certificate: ``CN=899900063480``,
``title=Médecin``). IGC-Santé adds private extensions, the same codes the
DMP wants in the VIHF (as on that certificate):

- ``1.2.250.1.71.1.2.5`` TRE_G01 product category, OCTET STRING of one byte
  read as two hex digits: ``00`` CPx card, ``80`` CPx test card, ``83`` test
  software certificate…;
- ``1.2.250.1.71.1.2.7`` TRE_G15 profession, INTEGER (``10`` médecin);
- ``1.2.250.1.71.4.2.5`` TRE_R01 specialty, SEQUENCE OF UTF8String
  (``SM26`` qualifié en médecine générale).

The profession comes from the extension, else from the title (any G15
label, accents and case aside). A card whose profession is unknown raises
:class:`UnknownProfessionError` — never read as a staff card. Structure
staff (CPE) are recognised by their national id, which is their structure's
(``<Struct_IdNat>/<local id>``), with no profession. The specialty comes from
the extension, else from ``CPS_INFO_PS`` (:mod:`.card_data`), and is kept
only when the J01 value set knows it for that profession. The structure is
not in a card certificate: it is the practice situation chosen among the
card's ``CPS_ACTIVITY_nn_PS`` (:func:`with_situation`); an ``O``/``OU`` in
the subject (structure certificates, older layouts) is read as a default.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asn1crypto import core
from asn1crypto import x509 as asn1_x509

from dmp_desktop.domain.practitioner import (
    PROFESSION_OID,
    PROFESSIONS,
    SPECIALTY_OID,
    Practitioner,
    profession_code_for_title,
)
from dmp_desktop.errors import CardNotRecognisedError, UnknownProfessionError
from dmp_desktop.smartcard.card_data import PracticeSituation, specialty_from_info_ps
from dmp_desktop.smartcard.specialties import official_label

if TYPE_CHECKING:
    from cryptography import x509

PRODUCT_CATEGORY_OID = "1.2.250.1.71.1.2.5"
STAFF_PROFESSION_LABEL = "Personnel de structure"

# Subject attribute types (X.520).
_COMMON_NAME = "2.5.4.3"
_SURNAME = "2.5.4.4"
_GIVEN_NAME = "2.5.4.42"
_TITLE = "2.5.4.12"
_ORGANIZATION = "2.5.4.10"
_ORGANIZATIONAL_UNIT = "2.5.4.11"


class _Specialties(core.SequenceOf):
    _child_spec = core.UTF8String


@dataclass(frozen=True)
class CpsExtensions:
    """The IGC-Santé private extensions of a card certificate (None: absent or unreadable)."""

    product_category: str | None = None  # "00", "80", "83"... (TRE_G01)
    profession_code: str | None = None  # TRE_G15
    specialty_codes: tuple[str, ...] = ()  # TRE_R01

    @property
    def test_product(self) -> bool:
        """A test card or certificate (TRE_G01 codes 8x)."""
        return bool(self.product_category and self.product_category.startswith("8"))


class _Read:
    """The parts of a card certificate read here: subject attributes and extension values."""

    def __init__(self, cert: bytes | x509.Certificate) -> None:
        der = cert if isinstance(cert, bytes) else _der_of(cert)
        try:
            tbs = asn1_x509.Certificate.load(der, strict=True)["tbs_certificate"]
            self.subject: list[tuple[str, Any]] = [
                (attr["type"].dotted, attr["value"].native)
                for rdn in tbs["subject"].chosen
                for attr in rdn
            ]
            extensions = tbs["extensions"]
            found = [
                (ext["extn_id"].dotted, ext["extn_value"].contents)
                for ext in (extensions if isinstance(extensions, asn1_x509.Extensions) else ())
            ]
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError("unreadable certificate") from exc
        ids = [oid for oid, _value in found]
        # A repeated extension is ambiguous: read as absent (RFC 5280 forbids it).
        self.extensions = {oid: value for oid, value in found if ids.count(oid) == 1}

    def first(self, oid: str) -> str | None:
        for attr_oid, value in self.subject:
            if attr_oid == oid:
                text = value if isinstance(value, str) else bytes(value).decode("utf-8", "replace")
                return text.strip() or None
        return None


def _der_of(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def cps_extensions(cert: bytes | x509.Certificate) -> CpsExtensions:
    """Read the three extensions; a malformed one reads as absent (``cert``: DER or
    cryptography's; :class:`ValueError` when the certificate itself is unreadable)."""
    return _extensions_of(_Read(cert))


def _extensions_of(read: _Read) -> CpsExtensions:
    category = profession = None
    specialties: tuple[str, ...] = ()
    raw = read.extensions.get(PRODUCT_CATEGORY_OID)
    if raw is not None:
        try:
            octets = core.OctetString.load(raw, strict=True).native
            if isinstance(octets, bytes) and len(octets) == 1:
                category = f"{octets[0]:02X}"
        except (ValueError, TypeError):
            category = None
    raw = read.extensions.get(PROFESSION_OID)
    if raw is not None:
        try:
            number = core.Integer.load(raw, strict=True).native
            if isinstance(number, int) and 0 < number < 1000:
                profession = f"{number:02d}"
        except (ValueError, TypeError):
            profession = None
    raw = read.extensions.get(SPECIALTY_OID)
    if raw is not None:
        try:
            specialties = tuple(
                str(code).strip() for code in _Specialties.load(raw, strict=True).native
            )
        except (ValueError, TypeError):
            specialties = ()
    return CpsExtensions(category, profession, specialties)


def is_staff_national_id(national_id: str) -> bool:
    """A structure staff member's id (CPE): ``<structure id>/<local id>``."""
    return "/" in national_id


def _specialty_for(profession_code: str, candidates: tuple[str, ...]) -> str | None:
    for code in candidates:
        if official_label(profession_code, code) is not None:
            return code
    return None


def practitioner_from_certificate(
    cert: bytes | x509.Certificate, info_ps: bytes | None = None
) -> Practitioner:
    """The card holder: identity, profession, specialty (``info_ps``: ``CPS_INFO_PS``).

    ``cert``: DER, or cryptography's; :class:`ValueError` when it cannot be read.
    """
    read = _Read(cert)
    national_id = read.first(_COMMON_NAME)
    family = read.first(_SURNAME)
    given = read.first(_GIVEN_NAME)
    if not national_id or not family or not given:
        raise CardNotRecognisedError()
    title = read.first(_TITLE)
    extensions = _extensions_of(read)
    code = extensions.profession_code
    if code is not None and code not in PROFESSIONS:
        raise UnknownProfessionError(title, code)
    if code is None:
        code = profession_code_for_title(title)
    structure_id = read.first(_ORGANIZATIONAL_UNIT)
    structure_name = read.first(_ORGANIZATION)
    if code is None:
        if not is_staff_national_id(national_id):
            raise UnknownProfessionError(title)
        return Practitioner(
            national_id=national_id,
            family_name=family,
            given_name=given,
            profession=title or STAFF_PROFESSION_LABEL,
            profession_code=None,
            structure_id=structure_id,
            structure_name=structure_name,
        )
    candidates = extensions.specialty_codes
    from_card = specialty_from_info_ps(info_ps)
    if from_card is not None:
        candidates = (*candidates, from_card)
    specialty = _specialty_for(code, candidates)
    return Practitioner(
        national_id=national_id,
        family_name=family,
        given_name=given,
        profession=PROFESSIONS[code],
        profession_code=code,
        specialty_code=specialty,
        specialty_label=official_label(code, specialty) if specialty else None,
        structure_id=structure_id,
        structure_name=structure_name,
    )


def with_situation(practitioner: Practitioner, situation: PracticeSituation) -> Practitioner:
    """The holder acting in ``situation`` (structure and activity sector of the card)."""
    return dataclasses.replace(
        practitioner,
        structure_id=situation.structure_id,
        structure_name=situation.structure_name or practitioner.structure_name,
        activity_sector=situation.activity_sector,
    )


__all__ = [
    "PRODUCT_CATEGORY_OID",
    "CpsExtensions",
    "cps_extensions",
    "is_staff_national_id",
    "practitioner_from_certificate",
    "with_situation",
]
