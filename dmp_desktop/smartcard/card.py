"""Finding the CPS card, logging in, reading the certificates, signing.

Public methods block until the card thread has done the work: call them from
a worker (services/, the CLI), never from the UI thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pkcs11
from pkcs11 import Attribute, Mechanism, ObjectClass, TokenFlag
from pkcs11.exceptions import (
    DeviceRemoved,
    NoSuchKey,
    PinIncorrect,
    PinLenRange,
    PinLocked,
    PKCS11Error,
    SessionClosed,
    SessionHandleInvalid,
    TokenNotPresent,
    TokenNotRecognised,
)

from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import (
    CardError,
    CardNotRecognisedError,
    CardRemovedError,
    MiddlewareLoadError,
    MiddlewareNotFoundError,
    NoCardError,
    NoReaderError,
    PinFormatError,
    PinIncorrectError,
    PinLockedError,
)
from dmp_desktop.smartcard import pkcs11_compat  # noqa: F401 - CKA_ALLOWED_MECHANISMS
from dmp_desktop.smartcard.card_data import (
    ACTIVITY_LABELS,
    INFO_PS_LABEL,
    PracticeSituation,
    decode_activity,
)
from dmp_desktop.smartcard.card_info import PIN_TRIES, CardInfo, PinState  # noqa: F401 - re-exported
from dmp_desktop.smartcard.identity import practitioner_from_certificate, with_situation
from dmp_desktop.smartcard.thread import CardThread
from dmp_desktop.smartcard.watch import SlotWatcher

if TYPE_CHECKING:
    from cryptography import x509

log = logging.getLogger(__name__)

AUTH_CERT_LABEL = "Certificat d'Authentification CPS"
SIGN_CERT_LABEL = "Certificat de Signature CPS"
AUTH_KEY_LABEL = "CPS_PRIV_AUT"
SIGN_KEY_LABEL = "CPS_PRIV_SIG"
_REMOVED = (DeviceRemoved, TokenNotPresent, SessionClosed, SessionHandleInvalid)


def pin_state_from_flags(flags: int) -> PinState:
    if flags & TokenFlag.USER_PIN_LOCKED:
        return PinState.LOCKED
    if flags & TokenFlag.USER_PIN_FINAL_TRY:
        return PinState.FINAL_TRY
    if flags & TokenFlag.USER_PIN_COUNT_LOW:
        return PinState.COUNT_LOW
    return PinState.OK


# What the card says about its holder without the PIN: (holder, recognised, problem).
_Peek = tuple[Practitioner | None, bool, CardError | None]


def _decode_serial(serial: bytes | str) -> str:
    if isinstance(serial, bytes):
        return serial.decode("ascii", "replace").strip()
    return str(serial).strip()


class CardManager:
    """Loads the middleware and hands out card sessions; all work on one thread.

    ``loader`` opens a PKCS#11 module by path (``pkcs11.lib``; tests pass a fake
    token for the states a real one cannot show).
    """

    def __init__(
        self,
        module_candidates: Sequence[str],
        thread: CardThread | None = None,
        *,
        loader: Callable[[str], Any] = pkcs11.lib,
    ) -> None:
        self._candidates = list(module_candidates)
        self.thread = thread or CardThread()
        self._loader = loader
        self._lib: Any = None
        self.module_path: str | None = None
        self.watcher = SlotWatcher()
        # Holders read from the cards' public objects, per (slot, serial, label):
        # a real card takes a while to give its certificate, read it once.
        self._peeked: dict[tuple[int, str, str], _Peek] = {}

    @property
    def module_candidates(self) -> list[str]:
        return list(self._candidates)

    # -- middleware -----------------------------------------------------------
    def _load(self) -> Any:
        if self._lib is not None:
            return self._lib
        failed: str | None = None
        for path in self._candidates:
            if path and os.path.exists(path):
                try:
                    self._lib = self._loader(path)
                except (RuntimeError, OSError, PKCS11Error) as exc:
                    log.warning("PKCS#11 module failed to load: %s", type(exc).__name__)
                    failed = failed or path
                    continue
                self.module_path = path
                return self._lib
        if failed is not None:
            raise MiddlewareLoadError(failed)
        raise MiddlewareNotFoundError(self._candidates[0] if self._candidates else None)

    def load(self) -> None:
        self.thread.call(self._load)

    def set_module_candidates(self, module_candidates: Sequence[str]) -> None:
        """Use another PKCS#11 module from now on (the settings changed).

        Sessions opened on the previous module are the caller's to close first.
        """

        def work() -> None:
            self._candidates = list(module_candidates)
            self._lib = None
            self.module_path = None
            self._peeked.clear()
            self.watcher.reset()

        self.thread.call(work)

    # -- discovery ------------------------------------------------------------
    def _list_cards(self) -> list[CardInfo]:
        lib = self._load()
        cards: list[CardInfo] = []
        if not lib.get_slots(token_present=False):
            raise NoReaderError()
        seen: set[tuple[int, str, str]] = set()
        for slot in lib.get_slots(token_present=True):
            try:
                token = slot.get_token()
                if not token.flags & TokenFlag.TOKEN_INITIALIZED:
                    continue  # an empty slot (SoftHSM always offers one)
                serial = _decode_serial(token.serial)
                label = token.label.strip()
                cache_key = (slot.slot_id, serial, label)
                peeked = self._peeked.get(cache_key)
                if peeked is None:
                    peeked = self._peek_holder(token)
                    if peeked is not None:
                        self._peeked[cache_key] = peeked
                holder, recognised, problem = peeked if peeked is not None else (None, True, None)
                seen.add(cache_key)
                cards.append(
                    CardInfo(
                        slot_id=slot.slot_id,
                        reader=slot.slot_description.strip(),
                        token_label=label,
                        serial=serial,
                        pin_state=pin_state_from_flags(token.flags),
                        protected_auth=bool(token.flags & TokenFlag.PROTECTED_AUTHENTICATION_PATH),
                        holder=holder,
                        recognised=recognised,
                        problem=problem,
                    )
                )
            except (*_REMOVED, TokenNotRecognised):
                continue
        for gone in set(self._peeked) - seen:
            del self._peeked[gone]
        return cards

    def list_cards(self) -> list[CardInfo]:
        """Cards present now; the certificates are public, no PIN needed.

        Raises :class:`MiddlewareNotFoundError` / :class:`MiddlewareLoadError`
        when the PKCS#11 module is missing or unusable, :class:`NoReaderError`
        when the middleware sees no reader at all.
        """
        return self.thread.call(self._list_cards)

    def look_needed(self) -> bool:
        """Whether the readers must be looked at now (slot events, else polling).

        Cheap: at most one non-blocking ``C_WaitForSlotEvent`` on the card thread.
        See :mod:`dmp_desktop.smartcard.watch`.
        """

        def work() -> bool:
            try:
                lib = self._load()
            except MiddlewareNotFoundError:
                return True  # let the listing report it
            return self.watcher.should_look(lib)

        return self.thread.call(work)

    @staticmethod
    def _peek_holder(token: Any) -> _Peek | None:
        """(holder, recognised, problem) from the public objects; None when unreadable."""
        try:
            with token.open() as session:
                der = _find_certificate(session, AUTH_CERT_LABEL)
                if der is None:
                    return (None, False, None)
                try:
                    holder = _holder(session, der)
                except ValueError:
                    return (None, False, None)
                except CardNotRecognisedError as exc:
                    return (None, False, exc)
                return (holder, True, None)
        except (*_REMOVED, TokenNotRecognised):
            return None
        except PKCS11Error as exc:
            log.debug("card could not be read: %s", type(exc).__name__)
            return None

    def _find_slot(self, card: CardInfo) -> Any:
        lib = self._load()
        for slot in lib.get_slots(token_present=True):
            if slot.slot_id != card.slot_id:
                continue
            token = slot.get_token()
            if _decode_serial(token.serial) == card.serial:
                return slot
        raise NoCardError()

    def pin_state(self, card: CardInfo) -> PinState:
        """Re-read the flags from a fresh token object (a Token keeps a snapshot)."""

        def work() -> PinState:
            return pin_state_from_flags(self._find_slot(card).get_token().flags)

        return self.thread.call(work)

    def is_present(self, card: CardInfo) -> bool:
        def work() -> bool:
            try:
                self._find_slot(card)
                return True
            except (NoCardError, *_REMOVED):
                return False

        return self.thread.call(work)

    # -- login ----------------------------------------------------------------
    def _login(self, card: CardInfo, pin: str | None) -> CardSession:
        slot = self._find_slot(card)
        token = slot.get_token()
        state = pin_state_from_flags(token.flags)
        if state is PinState.LOCKED:
            raise PinLockedError()
        use_pad = pin is None
        if use_pad and not token.flags & TokenFlag.PROTECTED_AUTHENTICATION_PATH:
            raise PinFormatError()
        if not use_pad and not (4 <= len(pin or "") <= 8):
            raise PinFormatError()
        try:
            session = token.open(user_pin=pkcs11.PROTECTED_AUTH if use_pad else pin)
        except PinIncorrect:
            after = pin_state_from_flags(slot.get_token().flags)
            if after is PinState.LOCKED:
                raise PinLockedError() from None
            raise PinIncorrectError(after.tries_left, after is PinState.FINAL_TRY) from None
        except PinLocked:
            raise PinLockedError() from None
        except PinLenRange:
            raise PinFormatError() from None
        except _REMOVED:
            raise CardRemovedError() from None
        finally:
            pin = None  # drop our reference to the PIN as soon as the call is over
        try:
            return CardSession._open(self, card, slot, session)
        except BaseException:
            session.close()
            raise

    def login(self, card: CardInfo, pin: str | None) -> CardSession:
        """Log in with the PIN (``None`` = PIN-pad reader). Raises typed errors."""
        return self.thread.call(self._login, card, pin, timeout=None)

    def close(self) -> None:
        self.thread.shutdown()


def _read_data_object(session: Any, label: str) -> bytes | None:
    for obj in session.get_objects({Attribute.CLASS: ObjectClass.DATA, Attribute.LABEL: label}):
        return bytes(obj[Attribute.VALUE])
    return None


def _read_optional(session: Any, label: str) -> bytes | None:
    """A data object's value; None when absent or unreadable (never for a removed card)."""
    try:
        return _read_data_object(session, label)
    except (PKCS11Error, KeyError, TypeError) as exc:
        if isinstance(exc, _REMOVED):
            raise
        return None


def _holder(session: Any, certificate: bytes) -> Practitioner:
    """The holder from the authentication certificate and ``CPS_INFO_PS`` (see identity)."""
    return practitioner_from_certificate(certificate, _read_optional(session, INFO_PS_LABEL))


def _situations(session: Any) -> tuple[PracticeSituation, ...]:
    """The practice situations (``CPS_ACTIVITY_nn_PS``, visible after login), in card order."""
    found: list[PracticeSituation] = []
    for index, label in enumerate(ACTIVITY_LABELS, start=1):
        situation = decode_activity(index, _read_optional(session, label))
        if situation is not None and all(s.structure_id != situation.structure_id for s in found):
            found.append(situation)
    return tuple(found)


def _find_certificate(session: Any, label: str) -> bytes | None:
    for obj in session.get_objects(
        {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label}
    ):
        return bytes(obj[Attribute.VALUE])
    return None


def _find_certificate_and_id(session: Any, label: str) -> tuple[bytes, bytes] | None:
    for obj in session.get_objects(
        {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label}
    ):
        return bytes(obj[Attribute.VALUE]), bytes(obj[Attribute.ID])
    return None


class CardSession:
    """A logged-in card: the practitioner, the certificates, and the signing keys.

    The private keys never leave the card; every operation is a PKCS#11 call on
    the card thread.
    """

    def __init__(self) -> None:  # use CardSession._open
        self.manager: CardManager
        self.card: CardInfo
        self._slot: Any
        self._session: Any
        self._auth_key: Any
        self._sign_key: Any
        self.auth_certificate: x509.Certificate
        self.sign_certificate: x509.Certificate | None
        self.practitioner: Practitioner
        # The card's practice situations (structures); the one in use is in practitioner.
        self.situations: tuple[PracticeSituation, ...] = ()
        self.supports_pss: bool
        self.closed = False

    @classmethod
    def _open(cls, manager: CardManager, card: CardInfo, slot: Any, session: Any) -> CardSession:
        self = cls()
        self.manager = manager
        self.card = card
        self._slot = slot
        self._session = session
        found = _find_certificate_and_id(session, AUTH_CERT_LABEL)
        if found is None:
            raise CardNotRecognisedError()
        der, key_id = found
        from cryptography import x509  # for TLS and signatures; listing cards needs none

        self.auth_certificate = x509.load_der_x509_certificate(der)
        try:
            self._auth_key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=key_id)
        except NoSuchKey:
            raise CardNotRecognisedError() from None
        sig = _find_certificate_and_id(session, SIGN_CERT_LABEL)
        self.sign_certificate = None
        self._sign_key = None
        if sig is not None:
            self.sign_certificate = x509.load_der_x509_certificate(sig[0])
            try:
                self._sign_key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=sig[1])
            except NoSuchKey:
                self._sign_key = None
        self.practitioner = _holder(session, der)
        self.situations = _situations(session)
        if len(self.situations) == 1:
            self.practitioner = with_situation(self.practitioner, self.situations[0])
        self.supports_pss = self._detect_pss()
        return self

    @property
    def situation(self) -> PracticeSituation | None:
        """The practice situation in use (None: not chosen yet, or the card has none)."""
        current = self.practitioner.structure_id
        return next((s for s in self.situations if s.structure_id == current), None)

    def choose_situation(self, structure_id: str) -> Practitioner:
        """Act in the card's situation of ``structure_id``; ValueError when the card has none."""
        chosen = next((s for s in self.situations if s.structure_id == structure_id), None)
        if chosen is None:
            raise ValueError("no such practice situation on the card")
        self.practitioner = with_situation(self.practitioner, chosen)
        return self.practitioner

    def _detect_pss(self) -> bool:
        """CPS3 signs with PKCS#1 v1.5 only; CPS4 adds PSS. Ask the token and the key."""
        mechanisms = self._slot.get_mechanisms()
        if Mechanism.RSA_PKCS_PSS not in mechanisms:
            return False
        try:
            allowed = self._auth_key[Attribute.ALLOWED_MECHANISMS]
        except (PKCS11Error, KeyError, TypeError):
            return True  # the key does not restrict its mechanisms
        if not allowed:
            return True
        return int(Mechanism.RSA_PKCS_PSS) in [int(m) for m in allowed]

    @property
    def auth_certificate_der(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return self.auth_certificate.public_bytes(Encoding.DER)

    def _run(self, fn: Any, *args: Any) -> Any:
        if self.closed:
            raise CardRemovedError()

        def guarded() -> Any:
            try:
                return fn(*args)
            except _REMOVED:
                self.closed = True
                raise CardRemovedError() from None

        return self.manager.thread.call(guarded)

    # Raw PKCS#1 v1.5 over an already DER-encoded DigestInfo (CKM_RSA_PKCS).
    def sign_auth_pkcs1(self, digest_info: bytes) -> bytes:
        return bytes(
            self._run(lambda: self._auth_key.sign(digest_info, mechanism=Mechanism.RSA_PKCS))
        )

    def sign_auth_pss(self, digest: bytes, hash_name: str = "sha256", salt_len: int = 32) -> bytes:
        if not self.supports_pss:
            raise CardNotRecognisedError()
        hash_mech, mgf = _PSS_PARAMS[hash_name]
        return bytes(
            self._run(
                lambda: self._auth_key.sign(
                    digest,
                    mechanism=Mechanism.RSA_PKCS_PSS,
                    mechanism_param=(hash_mech, mgf, salt_len),
                )
            )
        )

    def sign_with_signature_key(self, data: bytes) -> bytes:
        """SHA256withRSA (PKCS#1 v1.5) with the card's signature key (XAdES, later)."""
        if self._sign_key is None:
            raise CardNotRecognisedError()
        return bytes(
            self._run(lambda: self._sign_key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
        )

    def is_alive(self) -> bool:
        if self.closed:
            return False

        def work() -> bool:
            try:
                self._session.token  # noqa: B018 - cheap call
                info = self._slot.get_token()
                return _decode_serial(info.serial) == self.card.serial
            except (*_REMOVED, PKCS11Error):
                return False

        alive = bool(self.manager.thread.call(work))
        if not alive:
            self.closed = True
        return alive

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True

        def work() -> None:
            try:
                self._session.close()
            except PKCS11Error:
                pass

        self.manager.thread.call(work)


_PSS_PARAMS: dict[str, tuple[Any, Any]] = {
    "sha256": (Mechanism.SHA256, pkcs11.MGF.SHA256),
    "sha384": (Mechanism.SHA384, pkcs11.MGF.SHA384),
    "sha512": (Mechanism.SHA512, pkcs11.MGF.SHA512),
}
