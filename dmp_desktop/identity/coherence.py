"""Identity coherence: what is sent must name the patient of the INS, trait for trait.

Before anything leaves for the DMP, the traits written in the document (the
CDA header's ``recordTarget``: VSM, level-1 wrapping, imported CDA) and in
the XDS metadata (``patientId``, ``sourcePatientInfo`` PID-5/7/8) are
compared with the patient's INS identity (from INSi, or the DMP's TD0.2
answer). The first difference refuses the sending with
:class:`IdentityMismatchError`, which names the trait and where it differs.

Comparison rules (RNIV): traits are compared normalised (upper case, no
diacritics, single spaces; hyphens and apostrophes kept, see
:func:`~dmp_desktop.identity.traits.normalize_trait`).

* INS: same value and same assigning authority.
* birth name: equal.
* birth first names: when the reference lists them all (INSi), the document's
  list must be the same; else (the DMP gives only the first one) the
  reference's names must open the document's list.
* birth date, sex: equal (``U`` is no sex: it never equals ``F`` or ``M``).
* birthplace: equal when both are known; a document without it, when the
  reference knows it, differs too (the CDA header requires it with an INS).

Plain Python, no Qt.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol

from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dates import fr_date, or_none, parse_hl7_date
from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_desktop.domain.summary import PatientIdentity
from dmp_desktop.errors import DmpDesktopError
from dmp_desktop.identity.traits import (
    IdentityTraits,
    InsIdentity,
    normalize_sex,
    normalize_trait,
)
from dmp_desktop.messages import Msg, msg, render

HL7 = "urn:hl7-org:v3"
_NS = {"h": HL7}


class Trait(enum.Enum):
    """The traits compared, with the words a doctor reads."""

    INS = "INS"
    BIRTH_NAME = "birth_name"
    GIVEN_NAMES = "given_names"
    BIRTH_DATE = "birth_date"
    SEX = "sex"
    BIRTHPLACE = "birthplace"

    @property
    def label_fr(self) -> str:
        return _TRAIT_FR[self]


_TRAIT_FR = {
    Trait.INS: "l'INS",
    Trait.BIRTH_NAME: "le nom de naissance",
    Trait.GIVEN_NAMES: "le(s) prénom(s) de naissance",
    Trait.BIRTH_DATE: "la date de naissance",
    Trait.SEX: "le sexe",
    Trait.BIRTHPLACE: "le lieu de naissance",
}


class Where(enum.Enum):
    """Which part of what is sent carries the differing trait."""

    CDA_HEADER = "cda"
    XDS_METADATA = "xds"
    FORM = "form"

    @property
    def label_fr(self) -> str:
        return {
            Where.CDA_HEADER: "l'en-tête CDA du document (recordTarget)",
            Where.XDS_METADATA: "les métadonnées XDS de l'envoi",
            Where.FORM: "les traits saisis",
        }[self]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class TraitMismatch:
    """One trait that differs: what the document says, what the INS identity says."""

    trait: Trait
    where: Where
    found: str
    expected: str

    def message_fr(self) -> str:
        return f"{_upper_first(self.clause_fr())}."

    def clause_fr(self) -> str:
        return (
            f"{self.trait.label_fr} de {self.where.label_fr} ne correspond pas "
            "à l'identité INS du patient"
        )

    def values_fr(self) -> str:
        """The two values (shown to the professional, never logged)."""
        found = self.found or "absent"
        return f"{self.where.label_fr} : « {found} » ; identité INS : « {self.expected} »"


class IdentityMismatchError(DmpDesktopError):
    """What is about to be sent names another patient than the INS: nothing was sent.

    ``mismatches`` lists every differing trait (the first one is named in the
    message). The values are kept for the professional's eyes only
    (:meth:`details_fr`); the exception's ``str`` carries only trait names.
    """

    def __init__(self, mismatches: Sequence[TraitMismatch]) -> None:
        super().__init__(", ".join(f"{m.where.value}:{m.trait.value}" for m in mismatches))
        self.mismatches = tuple(mismatches)

    @property
    def first(self) -> TraitMismatch:
        return self.mismatches[0]

    def message(self) -> Msg:
        first = self.first
        clause = msg(
            "identity.clause",
            trait=msg(f"identity.trait.{first.trait.value}"),
            where=msg(f"identity.where.{first.where.value}"),
        )
        others = len({m.trait for m in self.mismatches} - {first.trait})
        if others > 0:
            return msg("identity.mismatch_more", clause=clause, others=others)
        return msg("identity.mismatch", clause=clause)

    def message_fr(self) -> str:
        return render(self.message())

    def details_fr(self) -> list[str]:
        return [f"{_upper_first(m.trait.label_fr)} — {m.values_fr()}" for m in self.mismatches]


# --- the comparison ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatedIdentity:
    """The identity as a document or the metadata state it (any part may be missing)."""

    ins: Ins | None
    birth_name: str | None
    given_names: tuple[str, ...]
    birth_date: date | None
    sex: str | None
    birthplace: str | None = None
    # False where the carrier has no birthplace at all (XDS sourcePatientInfo):
    # then the birthplace is not compared.
    has_birthplace: bool = True


def compare(reference: InsIdentity, stated: StatedIdentity, where: Where) -> list[TraitMismatch]:
    """Every trait of ``stated`` that differs from the INS identity ``reference``."""
    out: list[TraitMismatch] = []
    traits = reference.traits

    def differ(trait: Trait, found: str, expected: str) -> None:
        out.append(TraitMismatch(trait, where, found, expected))

    ins = reference.ins
    if stated.ins is None or stated.ins.value != ins.value or stated.ins.oid != ins.oid:
        found = f"{stated.ins.value} ({stated.ins.oid})" if stated.ins else ""
        differ(Trait.INS, found, f"{ins.value} ({ins.oid})")
    if normalize_trait(stated.birth_name) != normalize_trait(traits.birth_name):
        differ(Trait.BIRTH_NAME, stated.birth_name or "", traits.birth_name)
    if not _given_names_agree(traits, stated.given_names):
        differ(Trait.GIVEN_NAMES, " ".join(stated.given_names), traits.given_names_text)
    if stated.birth_date != traits.birth_date:
        found = fr_date(stated.birth_date) if stated.birth_date else ""
        differ(Trait.BIRTH_DATE, found, fr_date(traits.birth_date))
    sex = normalize_sex(stated.sex)
    if sex == "U" or sex != normalize_sex(traits.sex):
        differ(Trait.SEX, stated.sex or "", traits.sex)
    if stated.has_birthplace and traits.birthplace:
        if normalize_trait(stated.birthplace) != normalize_trait(traits.birthplace):
            differ(Trait.BIRTHPLACE, stated.birthplace or "", traits.birthplace)
    return out


def _given_names_agree(reference: IdentityTraits, stated: Sequence[str]) -> bool:
    expected = [normalize_trait(g) for g in reference.given_names if g.strip()]
    found = normalize_trait(" ".join(stated)).split()
    expected_words = " ".join(expected).split()
    if not expected_words:
        return True  # nothing to compare with (never happens with INSi or TD0.2)
    if reference.given_names_complete:
        return found == expected_words
    return found[: len(expected_words)] == expected_words


def check(reference: InsIdentity, stated: Iterable[tuple[StatedIdentity, Where]]) -> None:
    """Raise :class:`IdentityMismatchError` listing every difference, if any."""
    mismatches: list[TraitMismatch] = []
    for identity, where in stated:
        mismatches.extend(compare(reference, identity, where))
    if mismatches:
        raise IdentityMismatchError(mismatches)


# --- reading what is sent ----------------------------------------------------------------------

_INS_ROOTS = {kind.value for kind in InsKind}


def _first(node: etree._Element | None, path: str) -> etree._Element | None:
    if node is None:
        return None
    found = node.xpath(path, namespaces=_NS)
    return found[0] if isinstance(found, list) and found else None


def _text(node: etree._Element | None) -> str:
    return " ".join((node.text or "").split()) if node is not None else ""


def _date8(value: str | None) -> date | None:
    return or_none(parse_hl7_date, value)


def stated_in_cda(document: bytes | etree._Element) -> StatedIdentity:
    """The patient as a CDA header's ``recordTarget/patientRole`` states it.

    The INS is the ``id`` under an INS authority (1.2.250.1.213.1.4.8–11);
    names: ``family[@qualifier='BR']`` (else the first ``family``), the
    ``given`` without qualifier (all birth first names), else
    ``given[@qualifier='BR']``; ``birthTime``, ``administrativeGenderCode``,
    ``birthplace/place/addr/county``. A document that cannot be read states
    nothing (every trait then differs).
    """
    if isinstance(document, bytes):
        try:
            root = xmlsafe.parse(document)
        except xmlsafe.UnsafeXmlError:
            return StatedIdentity(None, None, (), None, None)
    else:
        root = document
    role = _first(root, "h:recordTarget/h:patientRole")
    ins: Ins | None = None
    for ident in role.xpath("h:id", namespaces=_NS) if role is not None else []:
        oid, extension = ident.get("root"), (ident.get("extension") or "").strip()
        if oid in _INS_ROOTS and extension:
            try:
                ins = Ins(extension, InsKind.from_oid(oid))
            except InsError:
                ins = None
            break
    patient = _first(role, "h:patient")
    name = _first(patient, "h:name")
    family = _text(_first(name, "h:family[@qualifier='BR']")) or _text(_first(name, "h:family"))
    all_given = _text(_first(name, "h:given[not(@qualifier)]"))
    first_given = _text(_first(name, "h:given[@qualifier='BR']"))
    given = all_given or first_given
    birth = _first(patient, "h:birthTime")
    gender = _first(patient, "h:administrativeGenderCode")
    county = _text(_first(patient, "h:birthplace/h:place/h:addr/h:county"))
    return StatedIdentity(
        ins=ins,
        birth_name=family or None,
        given_names=tuple(given.split()),
        birth_date=_date8(birth.get("value") if birth is not None else None),
        sex=gender.get("code") if gender is not None else None,
        birthplace=county or None,
    )


def _hl7_unescape(value: str) -> str:
    return (
        value.replace("\\S\\", "^")
        .replace("\\T\\", "&")
        .replace("\\R\\", "~")
        .replace("\\F\\", "|")
        .replace("\\E\\", "\\")
    )


def stated_in_metadata(patient: Ins, source_patient_info: Sequence[str]) -> StatedIdentity:
    """The patient as XDS metadata state it: ``patientId`` and ``sourcePatientInfo``.

    ``PID-5|NOM^PRÉNOMS^^^^^L`` (birth name, first names), ``PID-7|AAAAMMJJ``,
    ``PID-8|F``. The metadata have no birthplace.
    """
    values: dict[str, str] = {}
    for raw in source_patient_info:
        key, sep, value = raw.partition("|")
        if sep and key.strip() not in values:
            values[key.strip()] = value.strip()
    family, given = "", ""
    if "PID-5" in values:
        parts = values["PID-5"].split("^")
        family = _hl7_unescape(parts[0]) if parts else ""
        given = _hl7_unescape(parts[1]) if len(parts) > 1 else ""
    return StatedIdentity(
        ins=patient,
        birth_name=family or None,
        given_names=tuple(given.split()),
        birth_date=_date8(values.get("PID-7")),
        sex=values.get("PID-8"),
        has_birthplace=False,
    )


def check_sending(
    reference: InsIdentity,
    *,
    patient: Ins,
    cda: bytes | etree._Element | None,
    source_patient_info: Sequence[str] = (),
) -> None:
    """Check a sending: the CDA header (when there is one) and the XDS metadata.

    Raises :class:`IdentityMismatchError`; returns None when everything agrees.
    """
    stated: list[tuple[StatedIdentity, Where]] = []
    if cda is not None:
        stated.append((stated_in_cda(cda), Where.CDA_HEADER))
    stated.append((stated_in_metadata(patient, source_patient_info), Where.XDS_METADATA))
    check(reference, stated)


class UploadRequestLike(Protocol):
    """What :func:`check_request` reads of an ``alimentation.UploadRequest``."""

    @property
    def patient(self) -> Ins: ...

    @property
    def identity(self) -> PatientIdentity | None: ...

    @property
    def media_type(self) -> str | None: ...

    def data(self) -> bytes: ...


_SEX_OF_GENDER = {"F": "F", "M": "M", "UN": "U"}


def stated_by_document_patient(patient: PatientIdentity) -> StatedIdentity:
    """The traits a header built from ``patient`` states (level-1 wrapping, VSM)."""
    return StatedIdentity(
        ins=patient.ins,
        birth_name=patient.birth_family_name,
        given_names=tuple(" ".join(patient.birth_given_names).split()),
        birth_date=patient.birth_date,
        sex=_SEX_OF_GENDER.get(patient.gender.value, "U"),
        birthplace=patient.birthplace_code,
    )


def check_request(reference: InsIdentity, request: UploadRequestLike) -> None:
    """Check an upload before it is queued: what its header and metadata will say.

    A CDA sent as it is (the VSM, an imported CDA) is checked by its own
    ``recordTarget``; any other document gets a header built from
    ``request.identity``, which is checked; the metadata (``patientId`` and
    ``sourcePatientInfo``) come from ``request.patient`` and
    ``request.identity``. Raises :class:`IdentityMismatchError`.
    """
    from dmp_desktop.alimentation.convert import MEDIA_CDA, check_source

    stated: list[tuple[StatedIdentity, Where]] = []
    data = request.data()
    media, _problems = check_source(data, request.media_type)
    identity = request.identity
    if media == MEDIA_CDA:
        stated.append((stated_in_cda(data), Where.CDA_HEADER))
    elif identity is not None:
        stated.append((stated_by_document_patient(identity), Where.CDA_HEADER))
    if identity is not None:
        traits = stated_by_document_patient(identity)
        metadata = replace(traits, ins=request.patient, birthplace=None, has_birthplace=False)
    else:
        metadata = StatedIdentity(request.patient, None, (), None, None, has_birthplace=False)
    stated.append((metadata, Where.XDS_METADATA))
    check(reference, stated)


__all__ = [
    "IdentityMismatchError",
    "StatedIdentity",
    "Trait",
    "TraitMismatch",
    "UploadRequestLike",
    "Where",
    "check",
    "check_request",
    "check_sending",
    "compare",
    "stated_by_document_patient",
    "stated_in_cda",
    "stated_in_metadata",
]
