"""Value types of the terminology package: code systems, concepts, import reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class System(Enum):
    """A code system the VSM editor searches, with the OID a CDA document carries.

    ``value`` is the stable key stored in the index. ``SNOMED_ALLERGY`` is the
    subset of SNOMED CT used for the type of an allergy or intolerance entry
    (CI-SIS value set ``JDV_TypeEvenementIndesirablePrevisible_CISIS``): its
    concepts are SNOMED CT codes, so its ``oid`` is SNOMED CT's.
    """

    CIM10 = "cim10"
    CIS = "cis"
    CIP = "cip"
    ATC = "atc"
    CCAM = "ccam"
    SNOMED_ALLERGY = "snomed_allergy"
    SUBSTANCE = "substance"  # a drug substance (DCI) by its ATC code, French name from the BDPM
    ALLERGY_CLASS = "allergy_class"  # a drug class an allergy names (allergy_classes.py)

    @property
    def oid(self) -> str:
        """OID of the code system (the ``codeSystem`` attribute in CDA)."""
        return _OIDS[self]

    @property
    def code_system_name(self) -> str:
        """The ``codeSystemName`` the ANS examples use."""
        return _NAMES[self]

    @property
    def value_set_oid(self) -> str | None:
        """OID of the CI-SIS value set this system stands for, when it is a subset."""
        return _VALUE_SETS.get(self)


_OIDS: dict[System, str] = {
    System.CIM10: "2.16.840.1.113883.6.3",
    System.CIS: "1.2.250.1.213.2.3.1",
    System.CIP: "1.2.250.1.213.2.3.2",
    System.ATC: "2.16.840.1.113883.6.73",
    System.CCAM: "1.2.250.1.215.300.1",
    System.SNOMED_ALLERGY: "2.16.840.1.113883.6.96",
    System.SUBSTANCE: "2.16.840.1.113883.6.73",
    System.ALLERGY_CLASS: "2.16.840.1.113883.6.73",
}

_NAMES: dict[System, str] = {
    System.CIM10: "CIM-10",
    System.CIS: "CIS",
    System.CIP: "CIP",
    System.ATC: "ATC",
    System.CCAM: "CCAM",
    System.SNOMED_ALLERGY: "SNOMED CT",
    System.SUBSTANCE: "ATC",
    System.ALLERGY_CLASS: "ATC",
}

_VALUE_SETS: dict[System, str] = {
    System.SNOMED_ALLERGY: "1.2.250.1.213.1.1.5.794",
}


def display_code(system: System, code: str) -> str:
    """The code as people read it: CIM-10 ``E119`` is shown ``E11.9``.

    The ATIH writes no dot when the fourth character is ``+`` (``T08+0``).
    Other systems are shown as stored.
    """
    if system is System.CIM10 and len(code) > 3 and code[3] != "+":
        return f"{code[:3]}.{code[3:]}"
    return code


@dataclass(frozen=True)
class Concept:
    """One coded entry: ``code`` is canonical (CIM-10 without the dot).

    ``extra`` holds what the source knows beyond the label (ATC code and
    substances of a drug, PMSI type of a CIM-10 code...); it is not part of
    the concept's identity.
    """

    system: System
    code: str
    display: str
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def display_code(self) -> str:
        """The code as shown to the doctor and written in CDA (``E11.9``)."""
        return display_code(self.system, self.code)

    @property
    def oid(self) -> str:
        return self.system.oid


@dataclass(frozen=True)
class SkippedLine:
    """A line an importer could not use: where it is and why (no content kept)."""

    file: str
    line: int
    reason: str


@dataclass(frozen=True)
class ImportReport:
    """What an import did. Counts are per system written to the index."""

    source: str
    imported: Mapping[System, int]
    lines_read: int
    skipped: int
    seconds: float
    skipped_lines: tuple[SkippedLine, ...] = ()
    missing_files: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(self.imported.values())


@dataclass(frozen=True)
class SourceInfo:
    """Where the concepts of one system in the index come from."""

    system: System
    origin: str
    count: int
    skipped: int
    imported_at: str
    starter: bool
