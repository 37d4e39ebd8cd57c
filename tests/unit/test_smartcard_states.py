"""The real CardManager through the states only a fake token can show (rule 10):
final try, locked card, card pulled out, PIN-pad reader, no reader, a card that
is not a CPS card, a middleware that will not load."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pkcs11
import pytest

from dmp_desktop.errors import (
    CardNotRecognisedError,
    CardRemovedError,
    MiddlewareLoadError,
    NoReaderError,
    PinIncorrectError,
    PinLockedError,
    describe,
)
from dmp_desktop.smartcard import CardManager, PinState
from dmp_sandbox.cards import encode_info_ps
from tests.unit.test_smartcard_fakes import (
    FakeLib,
    FakeReader,
    doctor_card,
    fake_loader,
    fake_module,
    foreign_card,
)

DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420") + bytes(32)


@pytest.fixture
def lib() -> FakeLib:
    return FakeLib([FakeReader(0, "Lecteur A"), FakeReader(1, "Lecteur B (clavier)", keypad=True)])


@pytest.fixture
def module(tmp_path: Path) -> str:
    return fake_module(tmp_path)


@pytest.fixture
def manager(lib: FakeLib, module: str) -> Iterator[CardManager]:
    manager = CardManager([module], loader=fake_loader(lib, module))
    yield manager
    manager.close()
    assert lib.threads and all(name.startswith("pkcs11") for name in lib.threads)


def test_tries_left_are_known_before_the_pin_is_typed(lib: FakeLib, manager: CardManager) -> None:
    lib.insert(doctor_card(tries=1))
    (card,) = manager.list_cards()
    assert card.pin_state is PinState.FINAL_TRY and card.pin_state.tries_left == 1
    assert card.holder is not None and card.holder.display_name == "Dr Claire LEROY"
    assert card.reader == "Lecteur A" and not card.protected_auth


def test_wrong_pins_count_down_then_lock(lib: FakeLib, manager: CardManager) -> None:
    fake = doctor_card()
    lib.insert(fake)
    (card,) = manager.list_cards()
    with pytest.raises(PinIncorrectError) as first:
        manager.login(card, "0000")
    assert (first.value.tries_left, first.value.final_try) == (2, False)
    with pytest.raises(PinIncorrectError) as second:
        manager.login(card, "0000")
    assert (second.value.tries_left, second.value.final_try) == (1, True)
    assert "il ne vous reste qu'un essai" in describe(second.value)
    assert manager.pin_state(card) is PinState.FINAL_TRY
    with pytest.raises(PinLockedError) as locked:
        manager.login(card, "0000")
    assert "PUK" in describe(locked.value)
    assert manager.pin_state(card) is PinState.LOCKED


def test_a_locked_card_is_not_even_tried(lib: FakeLib, manager: CardManager) -> None:
    fake = doctor_card(tries=0)
    lib.insert(fake)
    (card,) = manager.list_cards()
    assert card.pin_state is PinState.LOCKED
    with pytest.raises(PinLockedError):
        manager.login(card, "1234")
    assert fake.logins == []  # no C_Login: a locked card must not be hammered


def test_right_pin_on_the_final_try_resets_the_counter(lib: FakeLib, manager: CardManager) -> None:
    lib.insert(doctor_card(tries=1, specialty="SM04"))
    (card,) = manager.list_cards()
    session = manager.login(card, "1234")
    try:
        assert manager.pin_state(card) is PinState.OK
        assert session.practitioner.specialty_code == "SM04"
        assert session.supports_pss is False
    finally:
        session.close()


def test_pin_pad_reader_logs_in_without_a_typed_pin(lib: FakeLib, manager: CardManager) -> None:
    fake = doctor_card()
    lib.insert(fake, slot_id=1)
    (card,) = manager.list_cards()
    assert card.protected_auth
    reader = lib.readers[1]
    logged: list[object] = []
    worker = threading.Thread(target=lambda: logged.append(manager.login(card, None)))
    worker.start()
    reader.keypad_input.put("1234")  # typed on the reader's own keypad
    worker.join(10)
    assert fake.logins == [pkcs11.PROTECTED_AUTH]  # no PIN crossed the computer
    session = logged[0]
    session.close()  # type: ignore[attr-defined]


def test_pin_pad_wrong_code_counts_like_a_typed_one(lib: FakeLib, manager: CardManager) -> None:
    lib.insert(doctor_card(), slot_id=1)
    (card,) = manager.list_cards()
    lib.readers[1].keypad_input.put("9999")
    with pytest.raises(PinIncorrectError) as err:
        manager.login(card, None)
    assert err.value.tries_left == 2


def test_removed_card_ends_the_session(lib: FakeLib, manager: CardManager) -> None:
    lib.insert(doctor_card())
    (card,) = manager.list_cards()
    session = manager.login(card, "1234")
    assert session.is_alive()
    lib.remove(0)
    assert not session.is_alive()
    assert session.closed
    with pytest.raises(CardRemovedError):
        session.sign_auth_pkcs1(DIGEST_INFO)
    assert manager.list_cards() == []
    assert not manager.is_present(card)
    # The same card back in: a new session, the old one stays dead.
    lib.insert(doctor_card())
    (again,) = manager.list_cards()
    second = manager.login(again, "1234")
    try:
        assert second.is_alive() and not session.is_alive()
    finally:
        second.close()


def test_card_pulled_out_during_a_signature(lib: FakeLib, manager: CardManager) -> None:
    lib.insert(doctor_card())
    (card,) = manager.list_cards()
    session = manager.login(card, "1234")
    lib.remove(0)
    with pytest.raises(CardRemovedError):
        session.sign_auth_pkcs1(DIGEST_INFO)
    assert session.closed


def test_no_reader_is_said_so(manager: CardManager, lib: FakeLib) -> None:
    lib.readers.clear()
    with pytest.raises(NoReaderError) as err:
        manager.list_cards()
    assert describe(err.value).startswith("Aucun lecteur de carte n'est détecté")


def test_a_card_that_is_not_a_cps_card(lib: FakeLib, manager: CardManager) -> None:
    lib.insert(foreign_card())
    (card,) = manager.list_cards()
    assert not card.recognised and card.holder is None
    with pytest.raises(CardNotRecognisedError) as err:
        manager.login(card, "0000")
    assert "n'est pas reconnue comme une carte CPS" in describe(err.value)


def test_several_readers_and_cards(lib: FakeLib, manager: CardManager) -> None:
    lib.insert(doctor_card(serial="0001"), slot_id=0)
    lib.insert(
        doctor_card("CPS4-NOEL", "4321", national_id="899700433184", family="NOEL", serial="2"),
        slot_id=1,
    )
    cards = manager.list_cards()
    assert [(c.slot_id, c.token_label) for c in cards] == [(0, "CPS3-LEROY"), (1, "CPS4-NOEL")]
    session = manager.login(cards[1], "4321")
    try:
        assert session.practitioner.family_name == "NOEL"
        assert session.card.reader == "Lecteur B (clavier)"
    finally:
        session.close()


def test_public_objects_are_read_once_per_card(lib: FakeLib, manager: CardManager) -> None:
    fake = doctor_card()  # the specialty only in CPS_INFO_PS, not in the certificate
    fake.info_ps = encode_info_ps("899700433177", "10", "SM26")
    lib.insert(fake)
    first = manager.list_cards()
    fake.info_ps = None  # were the card read again, the specialty would vanish
    assert manager.list_cards() == first
    assert first[0].holder is not None and first[0].holder.specialty_code == "SM26"
    lib.remove(0)
    assert manager.list_cards() == []
    lib.insert(fake)  # back in: read afresh
    (again,) = manager.list_cards()
    assert again.holder is not None and again.holder.specialty_code is None


def test_a_module_that_will_not_load_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "libcps3_pkcs11_lux.so"
    broken.write_bytes(b"not a shared object")
    manager = CardManager([str(broken)])
    try:
        with pytest.raises(MiddlewareLoadError) as err:
            manager.list_cards()
        message = describe(err.value)
        assert str(broken) in message and "ne peut pas être chargé" in message
    finally:
        manager.close()


def test_switching_module(lib: FakeLib, manager: CardManager, module: str) -> None:
    lib.insert(doctor_card())
    assert len(manager.list_cards()) == 1
    manager.set_module_candidates(["/nowhere/libcps3_pkcs11_lux.so"])
    assert manager.module_candidates == ["/nowhere/libcps3_pkcs11_lux.so"]
    with pytest.raises(Exception, match="nowhere"):
        manager.list_cards()
    manager.set_module_candidates([module])
    assert len(manager.list_cards()) == 1
