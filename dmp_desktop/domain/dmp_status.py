"""The answer to TD0.2: does the patient have a DMP, may I access it?"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from dmp_desktop.dates import fr_date
from dmp_desktop.domain.patient import Ins
from dmp_desktop.messages import text


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

    @property
    def is_female(self) -> bool:
        """The DMP gives the administrative sex F (the words then agree: « la patiente »)."""
        return (self.patient_gender or "").upper() == "F"

    def summary_fr(self, *, staff: bool = False) -> str:
        """One plain French sentence a doctor reads at a glance (translated, see messages).

        Words agree with the patient's sex when the DMP gives it; ``staff`` (a
        secretary's card): what she may do instead of a consent to ask for.
        """
        female = self.is_female
        if self.state is DmpState.NONE:
            return text("status.none.f" if female else "status.none")
        if self.state is DmpState.CLOSED:
            if self.closure_date:
                return text(
                    "status.closed_on.f" if female else "status.closed_on",
                    date=fr_date(self.closure_date),
                )
            return text("status.closed.f" if female else "status.closed")
        parts = [
            text("status.active.f" if female else "status.active"),
            text("status.staff") if staff else authorization_text(self.authorization, female),
        ]
        if self.treating_physician and not staff:
            parts.append(text("status.treating_physician"))
        if self.minor:
            parts.append(text("status.minor.f" if female else "status.minor"))
        return " ".join(p for p in parts if p)


_AUTHORIZATION_IDS: dict[Authorization, str] = {
    Authorization.VALIDE: "status.authorization.valid",
    Authorization.NON_EXISTE: "status.authorization.none",
    Authorization.EXPIRE: "status.authorization.expired",
    Authorization.INTERDIT: "status.authorization.blocked",
}


_AUTHORIZATION_IDS_F: dict[Authorization, str] = {
    Authorization.VALIDE: "status.authorization.valid",
    Authorization.NON_EXISTE: "status.authorization.none.f",
    Authorization.EXPIRE: "status.authorization.expired.f",
    Authorization.INTERDIT: "status.authorization.blocked.f",
}


def authorization_text(authorization: Authorization | None, female: bool = False) -> str:
    """What the professional's authorisation means, in one French sentence ("" if unknown)."""
    ids = _AUTHORIZATION_IDS_F if female else _AUTHORIZATION_IDS
    message_id = ids.get(authorization) if authorization else None
    return text(message_id) if message_id else ""
