"""Test-only fault injection in the training host: answers replaced, delayed or lost on purpose.

A real host sometimes answers HTTP 500 with an HTML page, a SOAP fault the
client cannot read, or nothing useful after having done the work. Tests make
the training host do the same, to prove the client copes (clear message,
nothing lost, nothing sent twice).

Enabled only by an explicit :class:`HostFaults` passed to
:func:`dmp_sandbox.server.run_in_thread` (``faults=``); ``dmp-sandbox serve``
and the demo never install it, and without it the host behaves exactly as
usual. A rule says what to answer (:class:`RawAnswer`), when (before the
request is handled: it is then not processed at all; or after: the request
is processed and committed, and its answer is replaced, as when an answer is
lost on the way back), for which service and SOAP action, how many times,
and optionally after how long. The trace row of a request whose answer was
replaced says so (``outcome`` = ``FAUTE_INJECTEE``, with the real status).

Network faults below HTTP (delays, connections reset in the middle of an
answer) are the business of the test's TCP proxy
(``tests/support/fault_proxy.py``): TLS sits between it and HTTP.
"""

from __future__ import annotations

import asyncio
import email.message
import enum
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

log = logging.getLogger("dmp_sandbox.faults")

SOAP12_XML = "application/soap+xml; charset=utf-8"
OUTCOME = "FAUTE_INJECTEE"


@dataclass(frozen=True)
class RawAnswer:
    """An HTTP answer sent as is, whatever the request."""

    status: int
    body: bytes = field(repr=False)
    content_type: str = "text/html; charset=utf-8"


# What real servers and proxies answer when things go wrong.
HTTP_500_HTML = RawAnswer(
    500,
    b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
    b"<body><h1>Internal Server Error</h1></body></html>",
)
HTTP_500_EMPTY = RawAnswer(500, b"", "text/plain")
HTTP_502_GATEWAY = RawAnswer(502, b"<html><body>Bad Gateway</body></html>")
HTTP_503_UNAVAILABLE = RawAnswer(503, b"Service Unavailable", "text/plain")
MALFORMED_FAULT = RawAnswer(
    500,
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
    b"<soap:Fault><soap:Code><soap:Value>soap:Receiver</soap:Value></soap:Code>"
    b"<soap:Reason><soap:Text>Erreur",
    SOAP12_XML,
)
FAULT_WITHOUT_CODE = RawAnswer(
    500,
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
    b"<soap:Fault/></soap:Body></soap:Envelope>",
    SOAP12_XML,
)
SOAP11_FAULT = RawAnswer(
    500,
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode>"
    b"<faultstring>Internal Error</faultstring></soapenv:Fault></soapenv:Body>"
    b"</soapenv:Envelope>",
    "text/xml; charset=utf-8",
)


class When(enum.Enum):
    BEFORE = "before"  # the request is not processed; the answer stands in for it
    AFTER = "after"  # the request is processed (and committed), then its answer replaced


@dataclass
class _Rule:
    answer: RawAnswer | None  # None: the real answer (delay only)
    when: When
    service: str | None
    action: str | None
    remaining: int | None  # None: every matching request
    delay: float


@dataclass(frozen=True)
class Hit:
    """A request a rule applied to (for the test's assertions)."""

    service: str
    action: str | None
    when: When
    status: int


def _service_and_action(request: web.Request) -> tuple[str, str | None]:
    service = request.path.rstrip("/").rsplit("/", 1)[-1]
    header = request.headers.get("Content-Type")
    if not header:
        return service, None
    msg = email.message.Message()
    msg["Content-Type"] = header
    action = msg.get_param("action")
    return service, action if isinstance(action, str) else None


def _mark_trace(status: int) -> None:
    """Say in the request's trace row that its answer was injected (best effort)."""
    from dmp_sandbox import server  # the trace context lives there (per request)

    try:
        trace, _identity = server._REQUEST_STATE.get()
    except LookupError:
        return
    trace.outcome = OUTCOME
    trace.result = f"HTTP{status}"


class HostFaults:
    """The faults a test wants from the host; thread-safe (rules are set from the test thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._hits: list[Hit] = []

    def inject(
        self,
        answer: RawAnswer | None = None,
        *,
        when: When = When.BEFORE,
        service: str | None = None,
        action: str | None = None,
        times: int | None = 1,
        delay: float = 0.0,
    ) -> None:
        """Answer ``answer`` (or the real answer, ``delay`` seconds late) to matching requests.

        ``service`` (``patients``, ``registry``, ``repository``…) and ``action``
        (the SOAP action of the Content-Type) narrow the requests concerned;
        ``times=None`` applies the rule to every one of them.
        """
        if answer is None and delay <= 0:
            raise ValueError("a fault needs an answer or a delay")
        with self._lock:
            self._rules.append(_Rule(answer, when, service, action, times, delay))

    def clear(self) -> None:
        """Forget every rule and every hit."""
        with self._lock:
            self._rules.clear()
            self._hits.clear()

    @property
    def hits(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    @property
    def pending(self) -> int:
        """Rules that may still apply."""
        with self._lock:
            return len(self._rules)

    def _take(self, service: str, action: str | None) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.service not in (None, service) or rule.action not in (None, action):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                return rule
        return None

    def _hit(self, service: str, action: str | None, when: When, status: int) -> None:
        with self._lock:
            self._hits.append(Hit(service, action, when, status))

    def install(self, app: web.Application) -> None:
        """Add the fault middleware to ``app`` (before it starts; inside the trace middleware).

        The trace is then written by the trace middleware, after this one has
        marked an injected answer (not by the endpoint with its answer).
        """
        from dmp_sandbox.server import RECORD_WITH_ANSWER_KEY

        app.middlewares.append(self._middleware)
        app[RECORD_WITH_ANSWER_KEY] = False

    @web.middleware
    async def _middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        service, action = _service_and_action(request)
        rule = self._take(service, action)
        if rule is None:
            return await handler(request)
        if rule.delay > 0:
            await asyncio.sleep(rule.delay)
        if rule.answer is None:
            response = await handler(request)
            self._hit(service, action, rule.when, response.status)
            return response
        if rule.when is When.AFTER:
            await handler(request)  # the work is done and committed; its answer is lost
        answer = rule.answer
        log.info("injected answer HTTP %d (%s, %s)", answer.status, service, rule.when.value)
        _mark_trace(answer.status)
        self._hit(service, action, rule.when, answer.status)
        return web.Response(
            status=answer.status, body=answer.body, headers={"Content-Type": answer.content_type}
        )


__all__ = [
    "FAULT_WITHOUT_CODE",
    "HTTP_500_EMPTY",
    "HTTP_500_HTML",
    "HTTP_502_GATEWAY",
    "HTTP_503_UNAVAILABLE",
    "MALFORMED_FAULT",
    "OUTCOME",
    "SOAP11_FAULT",
    "Hit",
    "HostFaults",
    "RawAnswer",
    "When",
]
