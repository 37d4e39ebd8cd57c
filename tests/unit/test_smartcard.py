"""The card layer against real SoftHSM test cards (CPS3-like, CPS4-like, staff)."""

from __future__ import annotations

import hashlib
import threading

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from dmp_desktop.errors import (
    MiddlewareNotFoundError,
    NoCardError,
    PinFormatError,
    PinIncorrectError,
    describe,
)
from dmp_desktop.smartcard import CardInfo, CardManager, PinState

SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def _card(manager: CardManager, label: str) -> CardInfo:
    return next(c for c in manager.list_cards() if c.token_label == label)


def test_lists_the_test_cards_with_their_holders(card_manager: CardManager) -> None:
    cards = {c.token_label: c for c in card_manager.list_cards()}
    assert {"CPS3-DURAND", "CPS4-MARTIN", "CPE-BERNARD"} <= set(cards)
    durand = cards["CPS3-DURAND"].holder
    assert durand is not None
    assert durand.display_line == "Dr Marie DURAND, médecin"
    # SoftHSM's empty slot is not offered as a card.
    assert all(c.token_label for c in cards.values())


def test_login_reads_identity_and_mechanisms(card_manager: CardManager) -> None:
    session = card_manager.login(_card(card_manager, "CPS3-DURAND"), "1234")
    try:
        p = session.practitioner
        assert (p.national_id, p.rpps, p.family_name, p.given_name) == (
            "899700433153",
            "99700433153",
            "DURAND",
            "MARIE",
        )
        assert p.profession == "Médecin" and p.profession_code == "10"
        assert p.structure_id == "499700433153007"
        assert not p.is_staff
        assert session.supports_pss is False  # CPS3: PKCS#1 v1.5 only
        assert session.sign_certificate is not None
    finally:
        session.close()


def test_cps4_card_allows_pss_and_signs_on_the_card(card_manager: CardManager) -> None:
    session = card_manager.login(_card(card_manager, "CPS4-MARTIN"), "4321")
    try:
        assert session.supports_pss is True
        public_key = session.auth_certificate.public_key()
        assert isinstance(public_key, rsa.RSAPublicKey)
        digest = hashlib.sha256(b"hello").digest()
        pss = session.sign_auth_pss(digest, "sha256", 32)
        public_key.verify(
            pss, b"hello", padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256()
        )
        v15 = session.sign_auth_pkcs1(SHA256_DIGEST_INFO_PREFIX + digest)
        public_key.verify(v15, b"hello", padding.PKCS1v15(), hashes.SHA256())
    finally:
        session.close()


def test_cps3_key_cannot_sign_pss(card_manager: CardManager) -> None:
    session = card_manager.login(_card(card_manager, "CPS3-DURAND"), "1234")
    try:
        v15 = session.sign_auth_pkcs1(SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(b"x").digest())
        public_key = session.auth_certificate.public_key()
        assert isinstance(public_key, rsa.RSAPublicKey)
        public_key.verify(v15, b"x", padding.PKCS1v15(), hashes.SHA256())
        with pytest.raises(Exception):  # noqa: B017 - any refusal will do, never a signature
            session.sign_auth_pss(hashlib.sha256(b"x").digest())
    finally:
        session.close()


def test_wrong_pin_says_how_many_tries_are_left(card_manager: CardManager) -> None:
    card = _card(card_manager, "CPS4-MARTIN")
    with pytest.raises(PinIncorrectError) as err:
        card_manager.login(card, "0000")
    assert err.value.tries_left == 2
    assert describe(err.value) == "Code PIN incorrect. Il vous reste 2 essais."
    assert card_manager.pin_state(card) is PinState.COUNT_LOW
    # The right PIN afterwards still works (SoftHSM never locks).
    card_manager.login(card, "4321").close()


def test_pin_format_is_checked_before_touching_the_card(card_manager: CardManager) -> None:
    card = _card(card_manager, "CPS3-DURAND")
    with pytest.raises(PinFormatError):
        card_manager.login(card, "12")
    assert card_manager.pin_state(card) is PinState.OK


def test_staff_card_is_recognised_as_staff(card_manager: CardManager) -> None:
    session = card_manager.login(_card(card_manager, "CPE-BERNARD"), "1111")
    try:
        assert session.practitioner.is_staff
        assert session.practitioner.display_name == "Sophie BERNARD"
    finally:
        session.close()


def test_every_pkcs11_call_runs_on_the_card_thread(card_manager: CardManager) -> None:
    seen: set[str] = set()
    card_manager.thread.call(lambda: seen.add(threading.current_thread().name))
    assert len(seen) == 1 and next(iter(seen)).startswith("pkcs11")
    assert not card_manager.thread.is_current


def test_missing_middleware_is_named(tmp_path: object) -> None:
    manager = CardManager(["/nonexistent/libcps3_pkcs11_lux.so"])
    try:
        with pytest.raises(MiddlewareNotFoundError) as err:
            manager.list_cards()
        assert "/nonexistent/libcps3_pkcs11_lux.so" in describe(err.value)
        assert "Cryptolib CPS" in describe(err.value)
    finally:
        manager.close()


def test_removed_card_is_not_found(card_manager: CardManager) -> None:
    card = _card(card_manager, "CPS3-DURAND")
    ghost = CardInfo(
        slot_id=card.slot_id,
        reader=card.reader,
        token_label=card.token_label,
        serial="0000000000000000",
        pin_state=PinState.OK,
        protected_auth=False,
        holder=None,
    )
    assert not card_manager.is_present(ghost)
    with pytest.raises(NoCardError):
        card_manager.login(ghost, "1234")


def test_specialty_is_read_from_the_card_before_and_after_the_pin(
    card_manager: CardManager,
) -> None:
    from dmp_desktop.smartcard.specialties import headline

    card = _card(card_manager, "CPS3-DURAND")
    assert card.holder is not None and card.recognised
    assert card.holder.specialty_code == "SM26"  # CPS_INFO_PS, readable without the PIN
    assert headline(card.holder) == "Dr Marie DURAND · Médecin généraliste"
    session = card_manager.login(card, "1234")
    try:
        p = session.practitioner
        assert (p.specialty_code, p.specialty_label) == (
            "SM26",
            "Qualifié en Médecine Générale (SM)",  # the official VIHF displayName
        )
    finally:
        session.close()


def test_a_card_without_specialty_shows_its_profession(card_manager: CardManager) -> None:
    from dmp_desktop.smartcard.specialties import headline

    holder = _card(card_manager, "CPS4-MARTIN").holder
    assert holder is not None and holder.specialty_code is None
    assert headline(holder) == "Dr Paul MARTIN · Médecin"
    staff = _card(card_manager, "CPE-BERNARD").holder
    assert staff is not None and headline(staff) == "Sophie BERNARD · Secrétaire médicale"


def test_softhsm_cannot_report_slot_events_so_the_readers_are_polled(
    card_manager: CardManager,
) -> None:
    from dmp_desktop.smartcard.watch import WatchMode

    assert all(card_manager.look_needed() for _ in range(8))
    assert card_manager.watcher.mode is not WatchMode.EVENTS


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux", "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so"),
        ("win32", r"C:\Windows\System32\cps3_pkcs11_w64.dll"),
        ("darwin", "/usr/local/lib/libcps3_pkcs11_osx.dylib"),
    ],
)
def test_cryptolib_is_looked_for_where_the_ans_installs_it(platform: str, expected: str) -> None:
    from dmp_desktop.settings import Settings, default_middleware_paths

    assert default_middleware_paths(platform)[0] == expected
    assert Settings(pkcs11_module="/autre/module.so").middleware_candidates() == [
        "/autre/module.so"
    ]
