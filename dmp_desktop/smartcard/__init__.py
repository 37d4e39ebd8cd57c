"""The CPS card through PKCS#11. Every PKCS#11 call runs on :class:`CardThread`."""

from dmp_desktop.smartcard.card import CardInfo, CardManager, CardSession, PinState
from dmp_desktop.smartcard.identity import practitioner_from_certificate
from dmp_desktop.smartcard.thread import CardThread

__all__ = [
    "CardInfo",
    "CardManager",
    "CardSession",
    "CardThread",
    "PinState",
    "practitioner_from_certificate",
]
