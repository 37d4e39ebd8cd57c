"""The CPS card through PKCS#11. Every PKCS#11 call runs on :class:`CardThread`.

Names are imported when first used (PEP 562): the window's card screen needs
:mod:`.card_info`, not the PKCS#11 library.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp_desktop.smartcard.card import CardInfo, CardManager, CardSession, PinState
    from dmp_desktop.smartcard.identity import practitioner_from_certificate
    from dmp_desktop.smartcard.thread import CardThread

_EXPORTS = {
    "CardInfo": "card",
    "CardManager": "card",
    "CardSession": "card",
    "PinState": "card",
    "practitioner_from_certificate": "identity",
    "CardThread": "thread",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "CardInfo",
    "CardManager",
    "CardSession",
    "CardThread",
    "PinState",
    "practitioner_from_certificate",
]
