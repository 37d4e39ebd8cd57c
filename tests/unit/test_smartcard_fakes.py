"""A fake PKCS#11 module for the card states SoftHSM cannot show (rule 10).

SoftHSM never locks a PIN, never sets the final-try flag, has no PIN-pad
reader, no "no reader" state, and its tokens cannot be pulled out. This
module imitates python-pkcs11's objects (``lib``, ``Slot``, ``Token``,
``Session``, keys and objects) closely enough to drive the *real*
:class:`~dmp_desktop.smartcard.card.CardManager` through those states; the
keys are real RSA keys and sign for real. The tests at the bottom check the
fake against what SoftHSM does, so that it cannot drift from the real thing.
"""

from __future__ import annotations

import datetime as dt
import functools
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, Mechanism, ObjectClass, TokenFlag
from pkcs11.exceptions import (
    DeviceRemoved,
    FunctionNotSupported,
    NoEvent,
    PinIncorrect,
    PinLocked,
    SessionHandleInvalid,
    TokenNotPresent,
)

from dmp_desktop.net.keys import hash_algorithm, parse_digest_info
from dmp_desktop.smartcard.card import AUTH_CERT_LABEL, SIGN_CERT_LABEL, CardManager
from dmp_desktop.smartcard.card_data import ACTIVITY_LABELS, INFO_PS_LABEL
from dmp_sandbox.cards import (
    Situation,
    certificate_extensions,
    encode_activity,
    encode_info_ps,
)

CPS3_MECHANISMS = frozenset({Mechanism.RSA_PKCS, Mechanism.SHA256_RSA_PKCS})
CPS4_MECHANISMS = CPS3_MECHANISMS | {Mechanism.RSA_PKCS_PSS, Mechanism.SHA256_RSA_PKCS_PSS}


@functools.cache
def _rsa_key(n: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def cps_certificate(
    key: rsa.RSAPrivateKey,
    national_id: str,
    family: str,
    given: str,
    title: str = "Médecin",
    *,
    profession_code: str | None = "10",
    specialty: str | None = None,
) -> x509.Certificate:
    """A self-signed certificate laid out like an IGC-Santé card's (subject and extensions)."""
    subject = x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.TITLE, title)]),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.GIVEN_NAME, given),
                    x509.NameAttribute(NameOID.SURNAME, family),
                    x509.NameAttribute(NameOID.COMMON_NAME, national_id),
                ]
            ),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
    )
    for extension in certificate_extensions(profession_code, specialty):
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(key, hashes.SHA256())


DEFAULT_SITUATION = Situation("499700433153007", "CABINET DE TEST", "SA07")


@dataclass
class FakeKey:
    key: rsa.RSAPrivateKey
    allowed: list[Mechanism]
    card: FakeCard
    generation: int

    def __getitem__(self, attribute: Attribute) -> Any:
        if attribute == Attribute.ALLOWED_MECHANISMS:
            return list(self.allowed)
        raise KeyError(attribute)

    def sign(self, data: bytes, mechanism: Mechanism, mechanism_param: Any = None) -> bytes:
        self.card.check(self.generation)
        if mechanism not in self.allowed:
            raise pkcs11.exceptions.MechanismInvalid()
        if mechanism == Mechanism.RSA_PKCS:
            name, digest = parse_digest_info(data)
            return self.key.sign(digest, padding.PKCS1v15(), Prehashed(hash_algorithm(name)))
        if mechanism == Mechanism.SHA256_RSA_PKCS:
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        if mechanism == Mechanism.RSA_PKCS_PSS:
            _hash, _mgf, salt = mechanism_param
            algorithm = hashes.SHA256()
            return self.key.sign(
                data, padding.PSS(padding.MGF1(algorithm), salt), Prehashed(algorithm)
            )
        raise pkcs11.exceptions.MechanismInvalid()


@dataclass
class FakeCard:
    """The state of one card: PIN counter, objects, keys; may be in a reader or not."""

    label: str
    pin: str
    certificate: x509.Certificate | None = None
    key: rsa.RSAPrivateKey | None = None
    tries: int = 3
    serial: str = "0001"
    cps4: bool = False
    info_ps: bytes | None = None
    # CPS_ACTIVITY_nn_PS values (private: listed only once logged in).
    activities: tuple[bytes, ...] = ()
    reader: FakeReader | None = None
    generation: int = 0  # bumped at each insertion: old session handles go stale
    logins: list[object] = field(default_factory=list)  # what C_Login received (PIN or marker)

    def check(self, generation: int | None = None) -> None:
        if self.reader is None:
            raise DeviceRemoved()
        if generation is not None and generation != self.generation:
            raise SessionHandleInvalid()

    @property
    def flags(self) -> int:
        flags = TokenFlag.TOKEN_INITIALIZED | TokenFlag.LOGIN_REQUIRED
        flags |= TokenFlag.USER_PIN_INITIALIZED
        if self.tries <= 0:
            flags |= TokenFlag.USER_PIN_LOCKED
        elif self.tries == 1:
            flags |= TokenFlag.USER_PIN_FINAL_TRY | TokenFlag.USER_PIN_COUNT_LOW
        elif self.tries == 2:
            flags |= TokenFlag.USER_PIN_COUNT_LOW
        if self.reader is not None and self.reader.keypad:
            flags |= TokenFlag.PROTECTED_AUTHENTICATION_PATH
        return int(flags)

    @property
    def mechanisms(self) -> frozenset[Mechanism]:
        return CPS4_MECHANISMS if self.cps4 else CPS3_MECHANISMS

    def objects(self, generation: int, logged_in: bool = False) -> list[dict[Attribute, Any]]:
        found: list[dict[Attribute, Any]] = []
        if self.certificate is not None:
            der = self.certificate.public_bytes(Encoding.DER)
            for label, key_id in ((AUTH_CERT_LABEL, b"\x10\x02"), (SIGN_CERT_LABEL, b"\x10\x01")):
                found.append(
                    {
                        Attribute.CLASS: ObjectClass.CERTIFICATE,
                        Attribute.LABEL: label,
                        Attribute.VALUE: der,
                        Attribute.ID: key_id,
                    }
                )
        if self.info_ps is not None:
            found.append(
                {
                    Attribute.CLASS: ObjectClass.DATA,
                    Attribute.LABEL: INFO_PS_LABEL,
                    Attribute.VALUE: self.info_ps,
                }
            )
        if logged_in:
            for label, value in zip(ACTIVITY_LABELS, self.activities, strict=False):
                found.append(
                    {
                        Attribute.CLASS: ObjectClass.DATA,
                        Attribute.LABEL: label,
                        Attribute.VALUE: value,
                    }
                )
        return found


def doctor_card(
    label: str = "CPS3-LEROY",
    pin: str = "1234",
    *,
    national_id: str = "899700433177",
    family: str = "LEROY",
    given: str = "CLAIRE",
    specialty: str | None = None,
    serial: str = "0001",
    tries: int = 3,
    cps4: bool = False,
    situations: tuple[Situation, ...] = (DEFAULT_SITUATION,),
) -> FakeCard:
    key = _rsa_key(0)
    return FakeCard(
        label=label,
        pin=pin,
        certificate=cps_certificate(key, national_id, family, given, specialty=specialty),
        key=key,
        tries=tries,
        serial=serial,
        cps4=cps4,
        info_ps=encode_info_ps(national_id, "10", specialty),
        activities=tuple(encode_activity(s) for s in situations),
    )


def foreign_card(label: str = "CARTE-BANCAIRE", serial: str = "9999") -> FakeCard:
    """A smart card that is not a CPS card: no CPS certificate."""
    return FakeCard(label=label, pin="0000", serial=serial)


@dataclass
class FakeReader:
    slot_id: int
    description: str = "Lecteur de test"
    keypad: bool = False  # PIN-pad reader (protected authentication path)
    card: FakeCard | None = None
    keypad_input: queue.Queue[str] = field(default_factory=queue.Queue)


class FakeObject(dict[Attribute, Any]):
    pass


class FakeSession:
    def __init__(self, card: FakeCard, logged_in: bool) -> None:
        self.card = card
        self.generation = card.generation
        self.logged_in = logged_in
        self.closed = False

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def token(self) -> FakeToken:
        self.card.check(self.generation)
        assert self.card.reader is not None
        return FakeToken(self.card, self.card.reader)

    def get_objects(self, template: dict[Attribute, Any]) -> Iterator[FakeObject]:
        self.card.check(self.generation)
        for obj in self.card.objects(self.generation, self.logged_in):
            if all(obj.get(k) == v for k, v in template.items()):
                yield FakeObject(obj)

    def get_key(self, object_class: ObjectClass, id: bytes) -> FakeKey:
        self.card.check(self.generation)
        if not self.logged_in or self.card.key is None:
            raise pkcs11.exceptions.NoSuchKey()
        allowed = sorted(self.card.mechanisms - {Mechanism.SHA256_RSA_PKCS_PSS})
        return FakeKey(self.card.key, allowed, self.card, self.generation)

    def close(self) -> None:
        self.closed = True


class FakeToken:
    """A snapshot of the card's token info, as python-pkcs11's Token is."""

    def __init__(self, card: FakeCard, reader: FakeReader) -> None:
        self._card = card
        self._reader = reader
        self.label = card.label
        self.serial = card.serial.encode("ascii")
        self.flags = card.flags

    def open(self, user_pin: object = None, rw: bool = False) -> FakeSession:
        card = self._card
        card.check()
        if user_pin is None:
            return FakeSession(card, logged_in=False)
        card.logins.append(user_pin)
        if card.tries <= 0:
            raise PinLocked()
        if user_pin is pkcs11.PROTECTED_AUTH:
            if not self._reader.keypad:
                raise pkcs11.exceptions.ArgumentsBad()
            typed = self._reader.keypad_input.get(timeout=10)  # the user types on the reader
            card.check()
        else:
            typed = str(user_pin)
        if typed != card.pin:
            card.tries -= 1
            raise PinIncorrect()
        card.tries = 3
        return FakeSession(card, logged_in=True)


class FakeSlot:
    def __init__(self, lib: FakeLib, reader: FakeReader) -> None:
        self._lib = lib
        self._reader = reader
        self.slot_id = reader.slot_id
        self.slot_description = reader.description

    def get_token(self) -> FakeToken:
        self._lib.record()
        card = self._reader.card
        if card is None:
            raise TokenNotPresent()
        return FakeToken(card, self._reader)

    def get_mechanisms(self) -> frozenset[Mechanism]:
        card = self._reader.card
        if card is None:
            raise TokenNotPresent()
        return card.mechanisms


class FakeLib:
    """The fake middleware: readers, cards going in and out, slot events.

    ``events``: ``"unsupported"`` (CKR_FUNCTION_NOT_SUPPORTED), ``"silent"``
    (CKR_NO_EVENT forever, like SoftHSM) or ``"reported"`` (each insertion or
    removal queues an event, consumed the way python-pkcs11 0.10 does it).
    """

    def __init__(self, readers: list[FakeReader] | None = None, events: str = "silent") -> None:
        self.readers = list(readers or [])
        self.events = events
        self._pending = 0
        self._lock = threading.Lock()
        self.threads: set[str] = set()
        self.listings = 0
        self.event_queries = 0

    def record(self) -> None:
        self.threads.add(threading.current_thread().name)

    def _event(self) -> None:
        with self._lock:
            self._pending += 1

    def insert(self, card: FakeCard, slot_id: int = 0) -> None:
        reader = next(r for r in self.readers if r.slot_id == slot_id)
        card.reader = reader
        card.generation += 1
        reader.card = card
        self._event()

    def remove(self, slot_id: int = 0) -> FakeCard | None:
        reader = next(r for r in self.readers if r.slot_id == slot_id)
        card, reader.card = reader.card, None
        if card is not None:
            card.reader = None
        self._event()
        return card

    def get_slots(self, token_present: bool = False) -> list[FakeSlot]:
        self.record()
        if token_present:
            self.listings += 1
        return [FakeSlot(self, r) for r in self.readers if not token_present or r.card is not None]

    def wait_for_slot_event(self, blocking: bool = True) -> object:
        self.record()
        self.event_queries += 1
        if blocking or self.events == "unsupported":
            raise FunctionNotSupported()
        if self.events == "silent":
            raise NoEvent()
        with self._lock:
            if self._pending == 0:
                raise NoEvent()
            self._pending -= 1
        raise TypeError  # python-pkcs11 0.10: the event is consumed, its Slot not built


def fake_module(directory: Path) -> str:
    """A file standing for the middleware (the manager checks that it exists)."""
    path = directory / "libcps3_pkcs11_lux.so"
    path.write_bytes(b"fake PKCS#11 module")
    return str(path)


def fake_loader(lib: FakeLib, module: str) -> Callable[[str], FakeLib]:
    """What ``pkcs11.lib`` would be if ``module`` were this fake middleware."""

    def load(path: str) -> FakeLib:
        if path != module:
            raise OSError("no such module")
        return lib

    return load


# --- the fake agrees with SoftHSM where both can answer ------------------------------------


def test_fake_flags_follow_the_pkcs11_meaning() -> None:
    card = doctor_card(tries=1)
    reader = FakeReader(0, keypad=True)
    lib = FakeLib([reader])
    lib.insert(card)
    flags = lib.get_slots(token_present=True)[0].get_token().flags
    assert flags & TokenFlag.USER_PIN_FINAL_TRY and flags & TokenFlag.PROTECTED_AUTHENTICATION_PATH
    assert not flags & TokenFlag.USER_PIN_LOCKED


def test_fake_and_softhsm_answer_slot_events_alike(card_manager: CardManager) -> None:
    """SoftHSM: CKR_NO_EVENT to the non-blocking form, CKR_FUNCTION_NOT_SUPPORTED to the
    blocking one (asked on the card thread, like every PKCS#11 call)."""

    def answers(lib: Any) -> tuple[str, str]:
        names = []
        for blocking in (False, True):
            try:
                lib.wait_for_slot_event(blocking=blocking)
                names.append("event")
            except (NoEvent, FunctionNotSupported) as exc:
                names.append(type(exc).__name__)
        return names[0], names[1]

    card_manager.load()
    softhsm = card_manager.thread.call(lambda: answers(card_manager._load()))
    fake = answers(FakeLib([FakeReader(0)], events="silent"))
    assert softhsm == fake == ("NoEvent", "FunctionNotSupported")
