"""The professional authenticated by the card."""

from __future__ import annotations

from dataclasses import dataclass

# G15 (TRE_G15-ProfessionSante, OID 1.2.250.1.71.1.2.7): card title -> code.
PROFESSION_CODES: dict[str, str] = {
    "Médecin": "10",
    "Pharmacien": "21",
    "Chirurgien-Dentiste": "40",
    "Sage-Femme": "50",
    "Infirmier": "60",
    "Masseur-Kinésithérapeute": "70",
}
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
    def display_name(self) -> str:
        given = self.given_name.title()
        family = self.family_name.upper()
        if self.profession_code == "10":
            return f"Dr {given} {family}"
        return f"{given} {family}"

    @property
    def display_line(self) -> str:
        return f"{self.display_name}, {self.profession.lower()}"
