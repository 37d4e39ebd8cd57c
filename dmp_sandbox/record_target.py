"""TD2.1: the CDA header (``recordTarget``) must not contradict the identity of its INS.

A document is filed under an INS (the XDS ``patientId``, already required to
be the header's INS). The host then compares the header's patient with what
it knows of that INS: the DMP's record (the traits given at creation, TD1.1,
those TD0.2 answers), completed by the identity base of its INSi
(:mod:`dmp_sandbox.identity_base`: all the birth first names, the
birthplace) when the base names the same person. The
document's ``sourcePatientInfo`` (PID-5 name, PID-7 birth date, PID-8 sex)
is compared the same way when present.

"Contradict" (compared in upper case without diacritics):

* birth name: ``family[@qualifier='BR']`` (else the first ``family``) differs;
* first names: the first first name differs (``given[@qualifier='BR']``,
  else the first word of the ``given`` without qualifier), or, when the
  header lists several and the base knows them all, the list differs;
* birth date (``birthTime``, its first 8 digits) differs, or is absent;
* sex (``administrativeGenderCode``) is not the identity's (``UN`` included);
* birthplace (``birthplace/place/addr/county``), when both are known, differs.

A contradiction refuses the whole submission with the XDS error
``XDSPatientIdDoesNotMatch``, whose context names the trait and where it
differs, never a value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lxml import etree

from dmp_sandbox import identity_base
from dmp_sandbox.identity_base import fold
from dmp_sandbox.store import Patient
from dmp_sandbox.xds import XdsError
from dmp_sandbox.xmlparse import parse_xml

HL7 = "urn:hl7-org:v3"
XDS_PATIENT_MISMATCH = "XDSPatientIdDoesNotMatch"

TRAIT_FR = {
    "birth_name": "le nom de naissance",
    "given_names": "le(s) prénom(s) de naissance",
    "birth_date": "la date de naissance",
    "sex": "le sexe",
    "birthplace": "le lieu de naissance",
}


@dataclass(frozen=True)
class KnownIdentity:
    """What the host knows of the patient of an INS."""

    birth_name: str
    given_names: tuple[str, ...]
    complete_given_names: bool
    sex: str
    birth_date: dt.date
    birthplace: str | None


def known_identity(patient: Patient) -> KnownIdentity:
    """The DMP's record of the patient, completed by the INSi base when both agree.

    The record (traits given at the DMP's creation, what TD0.2 answers) is the
    identity of the INS; the INSi base adds the full list of birth first
    names and the birthplace when it names the same person (same birth name,
    first first name, sex and birth date).
    """
    record = KnownIdentity(
        patient.family_name,
        tuple(patient.given_name.split()),
        False,
        patient.gender,
        patient.birth_date,
        None,
    )
    person = identity_base.by_ins(patient.ins_value, patient.ins_root)
    if person is None or _contradictions(
        record,
        person.birth_name,
        list(person.given_names[:1]),
        person.birth_date,
        person.sex,
        None,
    ):
        return record
    return KnownIdentity(
        person.birth_name,
        person.given_names,
        True,
        person.sex,
        person.birth_date,
        person.birthplace,
    )


def _h(local: str) -> str:
    return f"{{{HL7}}}{local}"


def _text(el: etree._Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def _date8(value: str | None) -> dt.date | None:
    raw = (value or "").strip()[:8]
    try:
        return dt.datetime.strptime(raw, "%Y%m%d").date() if len(raw) == 8 else None
    except ValueError:
        return None


def _contradictions(
    known: KnownIdentity,
    birth_name: str,
    given: list[str],
    birth_date: dt.date | None,
    sex: str,
    birthplace: str | None,
) -> list[str]:
    out: list[str] = []
    if fold(birth_name) != fold(known.birth_name):
        out.append("birth_name")
    stated = [fold(g) for g in given]
    expected = [fold(g) for g in " ".join(known.given_names).split()]
    if not stated or stated[:1] != expected[:1]:
        out.append("given_names")
    elif len(stated) > 1 and known.complete_given_names and stated != expected:
        out.append("given_names")
    if birth_date != known.birth_date:
        out.append("birth_date")
    if sex.upper() != known.sex.upper():
        out.append("sex")
    if birthplace and known.birthplace and fold(birthplace) != fold(known.birthplace):
        out.append("birthplace")
    return out


def header_contradictions(root: etree._Element, known: KnownIdentity) -> list[str]:
    """The traits of the CDA header's ``recordTarget`` that contradict ``known``."""
    patient = root.find(f"{_h('recordTarget')}/{_h('patientRole')}/{_h('patient')}")
    name = patient.find(_h("name")) if patient is not None else None
    family = ""
    given: list[str] = []
    if name is not None:
        families = name.findall(_h("family"))
        birth = [f for f in families if "BR" in (f.get("qualifier") or "").split()]
        family = _text((birth or families or [None])[0])
        all_given = [g for g in name.findall(_h("given")) if not g.get("qualifier")]
        first = [g for g in name.findall(_h("given")) if "BR" in (g.get("qualifier") or "").split()]
        if all_given:
            given = _text(all_given[0]).split()
        elif first:
            given = _text(first[0]).split()
    birth_time = patient.find(_h("birthTime")) if patient is not None else None
    gender = patient.find(_h("administrativeGenderCode")) if patient is not None else None
    county = (
        patient.find(f"{_h('birthplace')}/{_h('place')}/{_h('addr')}/{_h('county')}")
        if patient is not None
        else None
    )
    return _contradictions(
        known,
        family,
        given,
        _date8(birth_time.get("value") if birth_time is not None else None),
        (gender.get("code") or "") if gender is not None else "",
        _text(county) or None,
    )


def check_document(patient: Patient, content: bytes, location: str) -> None:
    """Refuse (XdsError) a document whose header contradicts the identity of its INS.

    ``content`` is a CDA document the submission checks already read as one.
    """
    known = known_identity(patient)
    root = parse_xml(content)
    traits = header_contradictions(root, known)
    if traits:
        named = ", ".join(TRAIT_FR[t] for t in traits)
        verb = "contredisent" if len(traits) > 1 else "contredit"
        raise XdsError(
            XDS_PATIENT_MISMATCH,
            f"Identité incohérente : {named} de l'en-tête CDA (recordTarget) {verb} "
            "l'identité de l'INS sous lequel le document est déposé. Rien n'a été enregistré.",
            location,
        )


__all__ = [
    "XDS_PATIENT_MISMATCH",
    "KnownIdentity",
    "check_document",
    "header_contradictions",
    "known_identity",
]
