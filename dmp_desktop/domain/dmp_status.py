"""The answer to TD0.2: does the patient have a DMP, may I access it?"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from dmp_desktop.dates import fr_date
from dmp_desktop.domain.patient import Ins


class DmpState(enum.Enum):
    NONE = "none"
    ACTIVE = "active"
    CLOSED = "closed"


class Authorization(enum.Enum):
    NON_EXISTE = "NON_EXISTE"
    INTERDIT = "INTERDIT"
    EXPIRE = "EXPIRE"
    VALIDE = "VALIDE"


@dataclass(frozen=True)
class DmpStatus:
    ins: Ins
    state: DmpState
    authorization: Authorization | None = None
    treating_physician: bool = False
    minor: bool = False
    secret_connection: bool = False
    closure_date: date | None = None
    closure_reason: str | None = None
    patient_family_name: str | None = None
    patient_given_name: str | None = None
    patient_birth_date: date | None = None
    patient_gender: str | None = None
    observations: dict[str, str] = field(default_factory=dict)

    def summary_fr(self) -> str:
        """One plain French sentence a doctor reads at a glance."""
        if self.state is DmpState.NONE:
            return "Ce patient n'a pas de DMP."
        if self.state is DmpState.CLOSED:
            when = f" le {fr_date(self.closure_date)}" if self.closure_date else ""
            return f"Le DMP de ce patient a été fermé{when}."
        parts = ["Le patient a un DMP actif."]
        parts.append(AUTHORIZATION_TEXT.get(self.authorization, ""))
        if self.treating_physician:
            parts.append("Vous êtes son médecin traitant DMP.")
        if self.minor:
            parts.append("Patient mineur : le DMP est géré par ses représentants légaux.")
        return " ".join(p for p in parts if p)


AUTHORIZATION_TEXT: dict[Authorization | None, str] = {
    Authorization.VALIDE: "Vous avez une autorisation d'accès valide.",
    Authorization.NON_EXISTE: (
        "Vous n'avez pas encore d'autorisation d'accès : demandez au patient son consentement."
    ),
    Authorization.EXPIRE: (
        "Votre autorisation d'accès a expiré : demandez à nouveau le consentement du patient."
    ),
    Authorization.INTERDIT: ("Le patient vous a bloqué : vous ne pouvez pas accéder à son DMP."),
    None: "",
}
