"""The professional authenticated by the card."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# G15 (TRE_G15-ProfessionSante, OID 1.2.250.1.71.1.2.7): code -> label, as the J01
# value set of the CI-SIS writes them (the VIHF role's displayName).
PROFESSIONS: dict[str, str] = {
    "10": "Médecin",
    "21": "Pharmacien",
    "26": "Audioprothésiste",
    "28": "Opticien-Lunetier",
    "31": "Assistant dentaire",
    "32": "Physicien médical",
    "35": "Aide-soignant",
    "36": "Ambulancier",
    "37": "Auxiliaire de puériculture",
    "38": "Préparateur en pharmacie hospitalière",
    "39": "Préparateur en pharmacie (officine)",
    "40": "Chirurgien-Dentiste",
    "50": "Sage-Femme",
    "60": "Infirmier",
    "69": "Infirmier psychiatrique",
    "70": "Masseur-Kinésithérapeute",
    "80": "Pédicure-Podologue",
    "81": "Orthoprothésiste",
    "82": "Podo-Orthésiste",
    "83": "Orthopédiste-Orthésiste",
    "84": "Oculariste",
    "85": "Epithésiste",
    "86": "Technicien de laboratoire médical",
    "91": "Orthophoniste",
    "92": "Orthoptiste",
    "94": "Ergothérapeute",
    "95": "Diététicien",
    "96": "Psychomotricien",
    "98": "Manipulateur ERM",
}
# Card title (certificate "title" attribute) -> G15 code, for the labels above.
PROFESSION_CODES: dict[str, str] = {label: code for code, label in PROFESSIONS.items()}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("-", " ").split()).casefold()


_BY_FOLDED_TITLE = {_fold(label): code for code, label in PROFESSIONS.items()}
# Feminine and short forms a card title may carry.
_BY_FOLDED_TITLE.update(
    {
        _fold(alias): code
        for alias, code in (
            ("Médecin", "10"),
            ("Pharmacienne", "21"),
            ("Chirurgien Dentiste", "40"),
            ("Chirurgienne-Dentiste", "40"),
            ("Sage Femme", "50"),
            ("Infirmière", "60"),
            ("Masseuse-Kinésithérapeute", "70"),
            ("Masseur Kinésithérapeute", "70"),
            ("Pédicure Podologue", "80"),
            ("Opticien Lunetier", "28"),
            ("Diététicienne", "95"),
            ("Psychomotricienne", "96"),
            ("Orthophoniste", "91"),
        )
    }
)


def profession_code_for_title(title: str | None) -> str | None:
    """The G15 code of a card title ("Médecin", "infirmière"...); None when unknown."""
    if not title or not title.strip():
        return None
    return _BY_FOLDED_TITLE.get(_fold(title))


PROFESSION_OID = "1.2.250.1.71.1.2.7"
SPECIALTY_OID = "1.2.250.1.71.4.2.5"
NON_PS_ROLE_OID = "1.2.250.1.213.1.1.4.6"


@dataclass(frozen=True)
class Practitioner:
    """Identity read from the card's authentication certificate."""

    national_id: str
    family_name: str
    given_name: str
    profession: str
    profession_code: str | None = None
    specialty_code: str | None = None
    specialty_label: str | None = None
    structure_id: str | None = None
    structure_name: str | None = None
    # Activity sector (J02, e.g. "SA07") of the practice situation in use (card data).
    activity_sector: str | None = None

    @property
    def rpps(self) -> str | None:
        if self.national_id.startswith("8") and len(self.national_id) == 12:
            return self.national_id[1:]
        return None

    @property
    def is_staff(self) -> bool:
        """A structure-staff card (secretary): can feed a DMP, never read it."""
        return self.profession_code is None

    @property
    def card_kind(self) -> str:
        """The card's family as professionals name it: « CPS », or « CPE » for structure staff.

        A secretary's card is a CPE (carte de personnel d'établissement), not a
        CPS. (CPF and CPA cards cannot be told apart from what the certificate
        gives us: they read as CPS or CPE by their profession.)
        """
        return "CPE" if self.is_staff else "CPS"

    @property
    def display_name(self) -> str:
        given = self.given_name.title()
        family = self.family_name.upper()
        if self.profession_code == "10":
            return f"Dr {given} {family}"
        return f"{given} {family}"

    @property
    def display_line(self) -> str:
        return f"{self.display_name}, {self.profession.lower()}"
