"""The resume point: sealed by the card's deterministic signature, opened only by the same card."""

from __future__ import annotations

import hashlib

from dmp_desktop.services.session_resume import RESUME_WINDOW_S, ResumePoint, SessionSeal

POINT = ResumePoint("284057512345672", "1.2.250.1.213.1.4.10", ("1.2.3", "1.2.4"), "1.2.4")


class Card:
    """Signs like a card's RSA PKCS#1 v1.5 key: deterministic per card."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def sign_auth_pkcs1(self, digest_info: bytes) -> bytes:
        return hashlib.sha512(self.secret + digest_info).digest()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_same_card_opens_its_point_once_and_nothing_readable_stays() -> None:
    seal = SessionSeal()
    seal.arm(seal.derive(Card(b"durand")))
    seal.seal(POINT)
    assert not seal.armed and seal.has_point
    held = repr(vars(seal)).encode() + b"".join(
        v
        for v in vars(seal._sealed).values()
        if isinstance(v, bytes)  # type: ignore[arg-type]
    )
    assert b"284057512345672" not in held and b"1.2.4" not in held
    assert seal.open(seal.derive(Card(b"durand"))) == POINT
    assert seal.open(seal.derive(Card(b"durand"))) is None  # once


def test_another_card_or_a_late_return_opens_nothing() -> None:
    seal = SessionSeal()
    seal.arm(seal.derive(Card(b"durand")))
    seal.seal(POINT)
    assert seal.open(seal.derive(Card(b"martin"))) is None
    assert not seal.has_point  # someone else is at the desk: gone

    clock = Clock()
    seal = SessionSeal(clock=clock)
    seal.arm(seal.derive(Card(b"durand")))
    seal.seal(POINT)
    clock.now += RESUME_WINDOW_S + 1
    assert seal.open(seal.derive(Card(b"durand"))) is None


def test_nothing_sealed_without_a_key_or_a_point() -> None:
    seal = SessionSeal()
    seal.seal(POINT)  # never armed (the card could not sign)
    assert not seal.has_point
    seal.arm(seal.derive(Card(b"durand")))
    seal.seal(None)  # a logout, or no patient on screen
    assert not seal.has_point and not seal.armed
