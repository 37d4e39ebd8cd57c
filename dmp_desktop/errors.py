"""Typed exceptions of the core, and the one place that turns them into French.

The core raises these with data, never with prose meant for the user: each
error says which message of :mod:`dmp_desktop.messages` explains it
(:meth:`DmpDesktopError.message`, a message id and its fields).
:func:`describe` is the single translation point used by the window, the CLI
and the crash handler. No message here may carry health data.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from dmp_desktop.messages import UNEXPECTED, Msg, coded, msg, render


class DmpDesktopError(Exception):
    """Base of every error the application knows how to explain.

    A subclass names its message with ``message_id`` (and its fields with
    :meth:`message_params`), or overrides :meth:`message`.
    """

    message_id: ClassVar[str] = UNEXPECTED

    def message_params(self) -> dict[str, Any]:
        return {}

    def message(self) -> Msg:
        return msg(self.message_id, **self.message_params())


# --- card -----------------------------------------------------------------
class CardError(DmpDesktopError):
    pass


class MiddlewareNotFoundError(CardError):
    def __init__(self, path: str | None) -> None:
        super().__init__(path)
        self.path = path

    def message(self) -> Msg:
        if self.path:
            return msg("card.middleware_missing_at", path=self.path)
        return msg("card.middleware_missing")


class MiddlewareLoadError(MiddlewareNotFoundError):
    """The PKCS#11 module is there but cannot be loaded (damaged, wrong architecture)."""

    def message(self) -> Msg:
        return msg("card.middleware_unloadable", path=self.path or "")


class NoReaderError(CardError):
    message_id = "card.no_reader"


class NoCardError(CardError):
    message_id = "card.no_card"


class CardNotRecognisedError(CardError):
    message_id = "card.not_recognised"


class UnknownProfessionError(CardNotRecognisedError):
    """A professional's card whose profession (G15 code or title) this software does not know.

    ``title``: the card's title attribute, ``code``: the G15 code of its certificate
    extension (either may be None). Never read as a secretary's card.
    """

    def __init__(self, title: str | None, code: str | None = None) -> None:
        super().__init__(title, code)
        self.title = title
        self.code = code

    def message(self) -> Msg:
        if self.code:
            return msg("card.unknown_profession_code", title=self.title or "—", code=self.code)
        return msg("card.unknown_profession", title=self.title or "—")


class SituationChoiceRequiredError(CardError):
    """The card holds several practice situations and none was chosen yet.

    ``choices``: (structure id, structure name) of each situation.
    """

    def __init__(self, choices: tuple[tuple[str, str], ...]) -> None:
        super().__init__(choices)
        self.choices = choices

    def message(self) -> Msg:
        names = ", ".join(f"{name or sid} ({sid})" for sid, name in self.choices)
        return msg("card.situation_required", situations=names)


class PinIncorrectError(CardError):
    def __init__(self, tries_left: int | None, final_try: bool = False) -> None:
        super().__init__(tries_left)
        self.tries_left = tries_left
        self.final_try = final_try

    def message(self) -> Msg:
        if self.tries_left == 1 or self.final_try:
            return msg("card.pin_incorrect_last_try")
        if self.tries_left is not None:
            return msg("card.pin_incorrect_tries", tries=self.tries_left)
        return msg("card.pin_incorrect")


class PinLockedError(CardError):
    message_id = "card.pin_locked"


class PinFormatError(CardError):
    message_id = "card.pin_format"


class CardRemovedError(CardError):
    message_id = "card.removed"


# --- network / TLS ----------------------------------------------------------
class NetworkError(DmpDesktopError):
    message_id = "net.unreachable"


class HostUnreachableError(NetworkError):
    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class HostNotReachedError(HostUnreachableError):
    """No connection could even be opened (refused, no route, no name): nothing was sent.

    A :class:`HostUnreachableError` raised later (a connection dropped in the
    middle of an exchange) leaves it unknown whether the request arrived.
    """


# Why the host's certificate was refused (codes of HostCertificateError.reason).
TLS_NO_CERTIFICATE = "no_certificate"
TLS_EXPIRED = "expired"
TLS_NAME = "name"
TLS_CHAIN = "chain"
TLS_BAD_NAME = "bad_name"
TLS_NEGOTIATION = "negotiation"


class HostCertificateError(NetworkError):
    """The server is not the DMP host we trust (unknown root, wrong name, expired).

    ``reason``: one of the ``TLS_*`` codes; ``detail``: the TLS library's own
    words (English, for the logs), if any.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail

    def message(self) -> Msg:
        reason = coded("tls.reason", self.reason, "tls.reason.chain")
        return msg("net.host_certificate", reason=reason)


class TlsNegotiationError(NetworkError):
    """The server and we share no TLS version or cipher suite (nothing was sent).

    Not a certificate problem: the server's certificate was not even looked at.
    ``reason`` is :data:`TLS_NEGOTIATION` (kept for callers reading it).
    """

    message_id = "net.tls_negotiation"

    def __init__(self, reason: str = TLS_NEGOTIATION) -> None:
        super().__init__(reason)
        self.reason = reason


class ProxyError(NetworkError):
    """The HTTP proxy refused to open the tunnel to the DMP (CONNECT).

    ``status``: the proxy's HTTP status (407: it wants credentials), 0 when it
    could not be reached or did not answer in HTTP.
    """

    def __init__(self, status: int = 0) -> None:
        super().__init__(status)
        self.status = status

    def message(self) -> Msg:
        if self.status == 407:
            return msg("net.proxy_auth")
        if self.status:
            return msg("net.proxy_refused", status=self.status)
        return msg("net.proxy_unreachable")


class ClientCertificateRejectedError(NetworkError):
    message_id = "net.client_certificate_rejected"


class TimeoutError_(NetworkError):
    message_id = "net.timeout"


# --- DMP protocol -----------------------------------------------------------
class DmpProtocolError(DmpDesktopError):
    """The host answered something we cannot read (malformed, hostile, unexpected)."""

    message_id = "dmp.protocol"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_REASON_MAX = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def host_reason(detail: str, code: str = "") -> str | None:
    """The host's own refusal reason, fit to show: one line of prose, bounded; else None.

    A bare code (``DMPAccessDenied``) or an empty text is no reason. Control
    and bidirectional characters are removed (a hostile host cannot reorder
    what the user reads).
    """
    cleaned = " ".join(_CONTROL.sub(" ", detail or "").split())
    if not cleaned or " " not in cleaned or cleaned == code:
        return None
    if len(cleaned) > _REASON_MAX:
        cleaned = cleaned[: _REASON_MAX - 1].rstrip() + "…"
    return cleaned


class AnswerTooLargeError(DmpProtocolError):
    """A list answer holds more documents than the client accepts at once (``limit``)."""

    message_id = "dmp.list_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__("answer too large")
        self.limit = limit

    def message_params(self) -> dict[str, Any]:
        return {"limit": f"{self.limit:,}".replace(",", "\u202f")}  # 100 000


class DmpServiceError(DmpDesktopError):
    """The DMP refused the request with a business code (SOAP fault, HL7 or XDS error).

    ``detail`` is what the host said about it (SOAP ``Reason``, XDS
    ``codeContext``, HL7 acknowledgement text): the training host, like the
    DMP, says there precisely why (« demandez au patient son accord… »), and
    :meth:`message` shows it under our own sentence for the code.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail

    @property
    def host_reason(self) -> str | None:
        return host_reason(self.detail, self.code)

    def message(self) -> Msg:
        base = coded("dmp.code", self.code, "dmp.code.unknown", code=self.code)
        reason = self.host_reason
        if reason is None or reason.casefold() == render(base).casefold():
            return base
        return msg("dmp.refused_with_reason", message=base, reason=reason)


class SettingsError(DmpDesktopError):
    """Settings that cannot be used; ``message_id`` names the ``settings.*`` message."""

    def __init__(self, reason_id: str, **params: Any) -> None:
        super().__init__(reason_id)
        self.reason_id = reason_id
        self.params = params

    def message(self) -> Msg:
        return msg("settings.invalid", reason=msg(self.reason_id, **self.params))


class TrainingOnlyError(DmpDesktopError):
    """A function that exists only with the training host (« Formation » profile).

    ``what``: ``online_access`` (TD1.5, removed from the official WSDL in June
    2024) or ``block_on_behalf`` (the training extension of TD1.6).
    """

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what

    def message(self) -> Msg:
        if self.what == "online_access":
            return msg("dmp.online_access_by_patient")
        return msg("dmp.training_only")


class InvalidContactError(DmpDesktopError):
    """A patient's contact typed by the user is invalid (nothing was sent).

    ``field``: ``mobile``, ``phone``, ``email`` or ``postal_code``.
    """

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field

    def message(self) -> Msg:
        return coded("contact", self.field, "contact.phone")


def describe(exc: BaseException) -> str:
    """A short French message saying what happened and what to do (translated)."""
    if isinstance(exc, DmpDesktopError):
        return render(exc.message())
    return render(msg(UNEXPECTED))
