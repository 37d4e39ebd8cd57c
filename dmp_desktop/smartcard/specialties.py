"""Specialty codes (R01) as the DMP wants them and as a doctor reads them.

Two labels for one code: the official one, written in the VIHF role
(``displayName="Qualifié en Médecine Générale (SM)"``, as in the official
examples), taken from the J01 table of :mod:`dmp_desktop.cda.valuesets`; and
the words a doctor uses for a colleague ("Médecin généraliste",
"Cardiologue"), shown in the window: ``Dr Marie DURAND · Médecin généraliste``.
"""

from __future__ import annotations

from dmp_desktop.cda.valuesets import AUTHOR_SPECIALTIES
from dmp_desktop.domain.practitioner import Practitioner

# How doctors name the most common specialties (R01 codes of médecins, G15 10).
_DOCTOR_WORDS: dict[str, str] = {
    "SM26": "Médecin généraliste",
    "SM53": "Médecin généraliste",
    "SM54": "Médecin généraliste",
    "SM02": "Anesthésiste-réanimateur",
    "SM04": "Cardiologue",
    "SM15": "Dermatologue",
    "SM16": "Endocrinologue",
    "SM18": "Gériatre",
    "SM19": "Gynécologue médical",
    "SM20": "Gynécologue-obstétricien",
    "SM21": "Hématologue",
    "SM24": "Gastro-entérologue",
    "SM25": "Médecin du travail",
    "SM27": "Interniste",
    "SM30": "Néphrologue",
    "SM32": "Neurologue",
    "SM34": "ORL",
    "SM36": "Oncologue médical",
    "SM38": "Ophtalmologiste",
    "SM39": "ORL",
    "SM40": "Pédiatre",
    "SM41": "Pneumologue",
    "SM42": "Psychiatre",
    "SM44": "Radiologue",
    "SM48": "Rhumatologue",
    "SM57": "Allergologue",
}
_DOCTOR = "10"


def official_label(profession_code: str | None, specialty_code: str | None) -> str | None:
    """The J01 label without its profession prefix: 'Qualifié en Médecine Générale (SM)'."""
    if not profession_code or not specialty_code:
        return None
    label = AUTHOR_SPECIALTIES.get(f"G15_{profession_code}/{specialty_code}")
    if label is None:
        return None
    profession = AUTHOR_SPECIALTIES.get(f"G15_{profession_code}")
    prefix = f"{profession} - " if profession else ""
    return label[len(prefix) :] if prefix and label.startswith(prefix) else label


def with_specialty(practitioner: Practitioner, specialty_code: str | None) -> Practitioner:
    """The practitioner with the specialty read from the card (unknown codes are kept)."""
    if not specialty_code:
        return practitioner
    from dataclasses import replace

    label = official_label(practitioner.profession_code, specialty_code)
    return replace(practitioner, specialty_code=specialty_code, specialty_label=label)


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def occupation(practitioner: Practitioner) -> str:
    """'Médecin généraliste', 'Cardiologue', 'Médecin, chirurgie vasculaire' or the profession."""
    code = practitioner.specialty_code
    if not code:
        return practitioner.profession
    if practitioner.profession_code == _DOCTOR and code in _DOCTOR_WORDS:
        return _DOCTOR_WORDS[code]
    label = practitioner.specialty_label or official_label(practitioner.profession_code, code)
    if not label:
        return practitioner.profession
    plain = label.rsplit(" (", 1)[0] if label.endswith(")") else label
    return f"{practitioner.profession}, {_lower_first(plain)}"


def headline(practitioner: Practitioner) -> str:
    """How the window names the professional: 'Dr Marie DURAND · Médecin généraliste'."""
    return f"{practitioner.display_name} · {occupation(practitioner)}"
