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

    def summary_fr(self) -> str:
        """One plain French sentence a doctor reads at a glance (translated, see messages)."""
        if self.state is DmpState.NONE:
            return text("status.none")
        if self.state is DmpState.CLOSED:
            if self.closure_date:
                return text("status.closed_on", date=fr_date(self.closure_date))
            return text("status.closed")
        parts = [text("status.active"), authorization_text(self.authorization)]
        if self.treating_physician:
            parts.append(text("status.treating_physician"))
        if self.minor:
            parts.append(text("status.minor"))
        return " ".join(p for p in parts if p)


_AUTHORIZATION_IDS: dict[Authorization, str] = {
    Authorization.VALIDE: "status.authorization.valid",
    Authorization.NON_EXISTE: "status.authorization.none",
    Authorization.EXPIRE: "status.authorization.expired",
    Authorization.INTERDIT: "status.authorization.blocked",
}


def authorization_text(authorization: Authorization | None) -> str:
    """What the professional's authorisation means, in one French sentence ("" if unknown)."""
    message_id = _AUTHORIZATION_IDS.get(authorization) if authorization else None
    return text(message_id) if message_id else ""
