"""What the window shows of a card before login: plain values, no PKCS#11.

The card screen, the PIN dialog and the card service import these at the
window's start, before its first paint; the PKCS#11 library (python-pkcs11 and
asn1crypto) is imported with :mod:`.card`, once the card service starts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import CardError

# A CPS card locks after three wrong PINs; PKCS#11 only exposes flags.
PIN_TRIES = 3


class PinState(enum.Enum):
    OK = "ok"
    COUNT_LOW = "count_low"
    FINAL_TRY = "final_try"
    LOCKED = "locked"

    @property
    def tries_left(self) -> int:
        return {
            PinState.OK: PIN_TRIES,
            PinState.COUNT_LOW: PIN_TRIES - 1,
            PinState.FINAL_TRY: 1,
            PinState.LOCKED: 0,
        }[self]


@dataclass(frozen=True)
class CardInfo:
    """A card seen in a reader, before login (nothing secret)."""

    slot_id: int
    reader: str
    token_label: str
    serial: str
    pin_state: PinState
    protected_auth: bool  # PIN-pad reader: the PIN is typed on the reader's keypad
    holder: Practitioner | None
    # False when the token holds no CPS authentication certificate (another card).
    recognised: bool = True
    # Why a card is not recognised, when it says (e.g. an unknown profession).
    problem: CardError | None = None

    @property
    def key(self) -> tuple[int, str]:
        return (self.slot_id, self.serial)


__all__ = ["PIN_TRIES", "CardInfo", "PinState"]
