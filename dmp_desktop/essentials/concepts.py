"""The usual results a doctor looks for first, by their LOINC codes.

Several LOINC codes name the same thing measured another way or in another
unit (HbA1c in % or in mmol/mol, creatinine in µmol/L or mg/dL, LDL measured
or calculated): they are one concept here, so that a trend follows the
patient and not the laboratory's coding. Codes are facts of LOINC
(loinc.org); the French names are the ones doctors use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Concept:
    key: str
    label: str
    loinc: tuple[str, ...]
    rank: int  # order in the pane


USUAL: tuple[Concept, ...] = (
    Concept("hba1c", "HbA1c", ("4548-4", "17856-6", "59261-8", "4549-2", "41995-2"), 1),
    Concept("creatinine", "Créatininémie", ("2160-0", "14682-9", "38483-4", "59826-8"), 2),
    Concept(
        "egfr",
        "DFG estimé",
        ("62238-1", "98979-8", "77147-7", "33914-3", "48642-3", "48643-1", "50044-7", "69405-9"),
        3,
    ),
    Concept("potassium", "Kaliémie", ("2823-3", "6298-4", "22760-3"), 4),
    Concept("inr", "INR", ("6301-6", "34714-6", "46418-0"), 5),
    Concept("cholesterol", "Cholestérol total", ("2093-3", "14647-2"), 6),
    Concept("ldl", "LDL-cholestérol", ("13457-7", "2089-1", "18262-6", "22748-8", "39469-2"), 7),
    Concept("hdl", "HDL-cholestérol", ("2085-9", "14646-4"), 8),
    Concept("triglycerides", "Triglycérides", ("2571-8", "14927-8"), 9),
    Concept("weight", "Poids", ("29463-7", "3141-9"), 10),
    Concept("bp_systolic", "Pression artérielle systolique", ("8480-6",), 11),
    Concept("bp_diastolic", "Pression artérielle diastolique", ("8462-4",), 12),
)

_BY_LOINC: dict[str, Concept] = {code: c for c in USUAL for code in c.loinc}
_BY_KEY: dict[str, Concept] = {c.key: c for c in USUAL}


def usual_concept(loinc: str | None) -> Concept | None:
    """The usual result this LOINC code measures, if it is one."""
    return _BY_LOINC.get(loinc or "")


def concept_by_key(key: str) -> Concept | None:
    return _BY_KEY.get(key)
