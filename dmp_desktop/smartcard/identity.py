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

from asn1crypto import core
from cryptography import x509
from cryptography.x509.oid import NameOID

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

PRODUCT_CATEGORY_OID = "1.2.250.1.71.1.2.5"
STAFF_PROFESSION_LABEL = "Personnel de structure"


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


def _extension_value(cert: x509.Certificate, oid: str) -> bytes | None:
    try:
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid))
    except (x509.ExtensionNotFound, ValueError):
        return None
    value = ext.value
    return value.value if isinstance(value, x509.UnrecognizedExtension) else None


def cps_extensions(cert: x509.Certificate) -> CpsExtensions:
    """Read the three extensions; a malformed one reads as absent."""
    category = profession = None
    specialties: tuple[str, ...] = ()
    raw = _extension_value(cert, PRODUCT_CATEGORY_OID)
    if raw is not None:
        try:
            octets = core.OctetString.load(raw, strict=True).native
            if isinstance(octets, bytes) and len(octets) == 1:
                category = f"{octets[0]:02X}"
        except (ValueError, TypeError):
            category = None
    raw = _extension_value(cert, PROFESSION_OID)
    if raw is not None:
        try:
            number = core.Integer.load(raw, strict=True).native
            if isinstance(number, int) and 0 < number < 1000:
                profession = f"{number:02d}"
        except (ValueError, TypeError):
            profession = None
    raw = _extension_value(cert, SPECIALTY_OID)
    if raw is not None:
        try:
            specialties = tuple(
                str(code).strip() for code in _Specialties.load(raw, strict=True).native
            )
        except (ValueError, TypeError):
            specialties = ()
    return CpsExtensions(category, profession, specialties)


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    attrs = name.get_attributes_for_oid(oid)
    if not attrs:
        return None
    value = attrs[0].value
    text = value if isinstance(value, str) else value.decode("utf-8", "replace")
    return text.strip() or None


def is_staff_national_id(national_id: str) -> bool:
    """A structure staff member's id (CPE): ``<structure id>/<local id>``."""
    return "/" in national_id


def _specialty_for(profession_code: str, candidates: tuple[str, ...]) -> str | None:
    for code in candidates:
        if official_label(profession_code, code) is not None:
            return code
    return None


def practitioner_from_certificate(
    cert: x509.Certificate, info_ps: bytes | None = None
) -> Practitioner:
    """The card holder: identity, profession, specialty (``info_ps``: ``CPS_INFO_PS``)."""
    subject = cert.subject
    national_id = _first(subject, NameOID.COMMON_NAME)
    family = _first(subject, NameOID.SURNAME)
    given = _first(subject, NameOID.GIVEN_NAME)
    if not national_id or not family or not given:
        raise CardNotRecognisedError()
    title = _first(subject, NameOID.TITLE)
    extensions = cps_extensions(cert)
    code = extensions.profession_code
    if code is not None and code not in PROFESSIONS:
        raise UnknownProfessionError(title, code)
    if code is None:
        code = profession_code_for_title(title)
    structure_id = _first(subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    structure_name = _first(subject, NameOID.ORGANIZATION_NAME)
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
