"""Fakes for what real components cannot show (rule 10): a card on its last PIN
try, a locked card, a card pulled out of the reader; and a stub DMP client for
the window tests that do not need the training host."""

from __future__ import annotations

import dataclasses
import threading
from datetime import date
from typing import Any

from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.patient import Ins, InsKind, nir_key
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import (
    CardRemovedError,
    NoCardError,
    PinFormatError,
    PinIncorrectError,
    PinLockedError,
)
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard.card import PIN_TRIES, CardInfo, PinState
from dmp_desktop.smartcard.thread import CardThread

DURAND = Practitioner(
    national_id="899700433153",
    family_name="DURAND",
    given_name="MARIE",
    profession="Médecin",
    profession_code="10",
)
MARTIN = Practitioner(
    national_id="899700433160",
    family_name="MARTIN",
    given_name="PAUL",
    profession="Médecin",
    profession_code="10",
)


def make_ins(nir13: str = "2840575123456") -> str:
    """A 15-character INS with the right key."""
    return f"{nir13}{nir_key(nir13):02d}"


PATIENT_INS = make_ins()
PATIENT_FAMILY = "LEGRAND"
PATIENT_GIVEN = "Jeanne"


def canned_status(ins: Ins) -> DmpStatus:
    return DmpStatus(
        ins=ins,
        state=DmpState.ACTIVE,
        authorization=Authorization.VALIDE,
        treating_physician=True,
        minor=False,
        patient_family_name=PATIENT_FAMILY,
        patient_given_name=PATIENT_GIVEN,
        patient_birth_date=date(1984, 5, 12),
        patient_gender="F",
    )


def ui_settings() -> Settings:
    return Settings(host_url="https://localhost:8443", training_mode=True, ins_kind="TEST_NIR")


def patient_ins() -> Ins:
    return Ins.parse(PATIENT_INS, InsKind.TEST_NIR)


# -- card ------------------------------------------------------------------------------
@dataclasses.dataclass
class FakeCard:
    label: str
    holder: Practitioner | None
    pin: str
    tries: int = PIN_TRIES
    slot_id: int = 1

    @property
    def pin_state(self) -> PinState:
        return {3: PinState.OK, 2: PinState.COUNT_LOW, 1: PinState.FINAL_TRY}.get(
            self.tries, PinState.LOCKED
        )

    def info(self) -> CardInfo:
        return CardInfo(
            slot_id=self.slot_id,
            reader=f"Lecteur de test {self.slot_id}",
            token_label=self.label,
            serial=f"SERIAL{self.slot_id:04d}",
            pin_state=self.pin_state,
            protected_auth=False,
            holder=self.holder,
        )


class FakeSession:
    def __init__(self, manager: FakeCardManager, card: CardInfo, practitioner: Practitioner):
        self.manager = manager
        self.card = card
        self.practitioner = practitioner
        self.closed = False

    def is_alive(self) -> bool:
        self.manager.check_thread()
        return not self.closed and self.manager.present(self.card)

    # The card's signature key (XAdES): a software key made on first use.
    _soft_signer: Any = None
    signatures = 0

    def _signer(self) -> Any:
        if self._soft_signer is None:
            from tests.unit.test_alimentation_support import SoftSigner

            self._soft_signer = SoftSigner(self.practitioner)
        return self._soft_signer

    @property
    def sign_certificate(self) -> Any:
        return self._signer().sign_certificate

    def sign_with_signature_key(self, data: bytes) -> bytes:
        if self.closed or not self.manager.present(self.card):
            raise CardRemovedError()
        self.signatures += 1
        return bytes(self._signer().sign_with_signature_key(data))

    def close(self) -> None:
        self.manager.check_thread()
        self.closed = True


class FakeCardManager:
    """A CardManager with cards one can insert, pull out, or lock; calls on its thread only."""

    def __init__(self, cards: list[FakeCard]) -> None:
        self.thread = CardThread()
        self._lock = threading.Lock()
        self._cards = {c.slot_id: c for c in cards}
        self.sessions: list[FakeSession] = []
        self.wrong_thread_calls = 0

    def check_thread(self) -> None:
        if not self.thread.is_current:
            self.wrong_thread_calls += 1

    def present(self, card: CardInfo) -> bool:
        with self._lock:
            return card.slot_id in self._cards

    def insert(self, card: FakeCard) -> None:
        with self._lock:
            self._cards[card.slot_id] = card

    def remove(self, slot_id: int = 1) -> None:
        with self._lock:
            self._cards.pop(slot_id, None)

    def list_cards(self) -> list[CardInfo]:
        self.check_thread()
        with self._lock:
            return [c.info() for c in self._cards.values()]

    def pin_state(self, card: CardInfo) -> PinState:
        self.check_thread()
        with self._lock:
            found = self._cards.get(card.slot_id)
        if found is None:
            raise NoCardError()
        return found.pin_state

    def login(self, card: CardInfo, pin: str | None) -> FakeSession:
        self.check_thread()
        with self._lock:
            found = self._cards.get(card.slot_id)
        if found is None:
            raise CardRemovedError()
        if found.tries <= 0:
            raise PinLockedError()
        if pin is None or not 4 <= len(pin) <= 8:
            raise PinFormatError()
        if pin != found.pin:
            found.tries -= 1
            if found.tries <= 0:
                raise PinLockedError()
            raise PinIncorrectError(found.tries, found.tries == 1)
        found.tries = PIN_TRIES
        assert found.holder is not None
        session = FakeSession(self, found.info(), found.holder)
        self.sessions.append(session)
        return session

    def close(self) -> None:
        self.thread.shutdown()


# -- DMP ---------------------------------------------------------------------------------
class FakeDmpClient:
    def __init__(self, owner: FakeDmp, session: object) -> None:
        self.owner = owner
        self.session = session
        self.closed = False

    def test_existence(self, ins: Ins, purpose: str = "normal") -> DmpStatus:
        self.owner.calls.append((ins, purpose, threading.current_thread()))
        if self.owner.gate is not None:
            self.owner.gate.wait(10)
        if self.owner.error is not None:
            raise self.owner.error
        return canned_status(ins)

    def close(self) -> None:
        self.closed = True


class FakeDmp:
    """A DMP client factory with a canned answer (or error), recording its calls."""

    def __init__(self) -> None:
        self.clients: list[FakeDmpClient] = []
        self.calls: list[tuple[Ins, str, threading.Thread]] = []
        self.factory_threads: list[threading.Thread] = []
        self.error: BaseException | None = None
        self.gate: threading.Event | None = None

    def factory(self, settings: Settings, session: object) -> FakeDmpClient:
        self.factory_threads.append(threading.current_thread())
        client = FakeDmpClient(self, session)
        self.clients.append(client)
        return client
