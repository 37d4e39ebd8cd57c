"""Freshness and single use of the VIHF: a captured assertion cannot be played again.

The host checks every VIHF, whatever the authentication mode:

- its ``IssueInstant`` must be present and within :data:`MAX_SKEW` (5 minutes)
  of the host clock; an assertion dated further in the future is refused
  (a client clock running ahead must be fixed, not trusted);
- it is valid until ``Conditions/@NotOnOrAfter`` when the assertion has
  one, else until ``IssueInstant`` + :data:`MAX_SKEW`; a ``NotBefore`` in the
  future (beyond the same tolerance) is refused too; whatever the assertion
  says, it is never valid longer than :data:`MAX_LIFETIME` after its
  ``IssueInstant``;
- its ``ID`` is remembered until the end of that validity: the same ID again
  within that time is a replay and is refused. After it, the assertion is
  refused as expired anyway, so forgetting the ID is safe.

The client builds one assertion per request (a fresh ``ID`` and the current
time), so an honest client never meets these refusals unless its clock is
more than five minutes off.

Seen IDs are kept in memory, one :class:`AssertionGuard` per process
(:data:`GUARD`, shared by every host the process runs: IDs are random UUIDs);
a host run as several worker processes keeps them in its database instead
(:class:`SharedAssertionGuard`, table ``vihf_seen``), so that a replay reaching
another worker is refused too;
memory is bounded by :data:`MAX_ENTRIES` (expired IDs are dropped first, then
the oldest, with a warning: at the training host's load this never happens).

Each refusal is a SOAP authentication fault whose reason says what to do, and
leaves its cause in the trace row (``result`` = ``VIHF_REJOUE``,
``VIHF_EXPIRE``, ``VIHF_FUTUR``, ``VIHF_HORODATAGE`` or ``VIHF_SANS_ID``).
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

from dmp_sandbox.soap import FaultCode, SoapFault
from dmp_sandbox.wire import SAML2

if TYPE_CHECKING:
    from dmp_sandbox.host import TraceContext
    from dmp_sandbox.store import Store

log = logging.getLogger("dmp_sandbox.replay")

MAX_SKEW = dt.timedelta(minutes=5)
MAX_LIFETIME = dt.timedelta(hours=1)
MAX_ENTRIES = 200_000
MAX_ID_LENGTH = 256

Clock = Callable[[], dt.datetime]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AssertionRefused(Exception):
    """Why an assertion is refused: a short code for the trace (``reason``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_MESSAGES = {
    "rejoue": (
        "Jeton VIHF déjà utilisé : chaque requête doit porter un jeton neuf. "
        "Renvoyez la requête depuis le logiciel."
    ),
    "expire": (
        "Jeton VIHF expiré (émis il y a plus de 5 minutes) : vérifiez l'horloge du poste, "
        "puis renvoyez la requête."
    ),
    "futur": (
        "Jeton VIHF daté dans le futur : l'horloge du poste est en avance ; mettez-la "
        "à l'heure, puis renvoyez la requête."
    ),
    "horodatage": "Jeton VIHF sans date d'émission (IssueInstant) lisible.",
    "sans_id": "Jeton VIHF sans identifiant (ID) utilisable.",
}


@dataclass(frozen=True)
class AssertionTimes:
    """What a VIHF says about itself: its ID and its validity."""

    assertion_id: str
    issue_instant: dt.datetime
    not_before: dt.datetime | None = None
    not_on_or_after: dt.datetime | None = None


def _instant(value: str | None) -> dt.datetime | None:
    """An xs:dateTime (UTC when it names no zone); AssertionRefused when unreadable."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise AssertionRefused("horodatage") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def read_times(assertion: etree._Element) -> AssertionTimes:
    """ID, IssueInstant and Conditions of a ``saml2:Assertion`` element."""
    assertion_id = (assertion.get("ID") or "").strip()
    if not assertion_id or len(assertion_id) > MAX_ID_LENGTH:
        raise AssertionRefused("sans_id")
    issued = _instant(assertion.get("IssueInstant"))
    if issued is None:
        raise AssertionRefused("horodatage")
    conditions = assertion.find(f"{{{SAML2}}}Conditions")
    not_before = not_after = None
    if conditions is not None:
        not_before = _instant(conditions.get("NotBefore"))
        not_after = _instant(conditions.get("NotOnOrAfter"))
    return AssertionTimes(assertion_id, issued, not_before, not_after)


class AssertionGuard:
    """Checks freshness and remembers the IDs of the assertions accepted (thread-safe)."""

    def __init__(
        self,
        *,
        clock: Clock = _now,
        max_skew: dt.timedelta = MAX_SKEW,
        max_lifetime: dt.timedelta = MAX_LIFETIME,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._clock = clock
        self._skew = max_skew
        self._lifetime = max_lifetime
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._expiry: dict[str, dt.datetime] = {}
        self._heap: list[tuple[dt.datetime, str]] = []  # (expiry, id), soonest first

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def seen(self, assertion_id: str) -> bool:
        """Whether ``assertion_id`` is remembered (and not yet expired)."""
        with self._lock:
            expiry = self._expiry.get(assertion_id)
            return expiry is not None and expiry > self._clock()

    def valid_until(self, times: AssertionTimes) -> dt.datetime:
        """End of the validity (exclusive): NotOnOrAfter, else IssueInstant + skew; capped."""
        end = times.not_on_or_after or times.issue_instant + self._skew
        return min(end, times.issue_instant + self._lifetime)

    def check(self, times: AssertionTimes) -> None:
        """Accept the assertion once (remembering its ID) or raise AssertionRefused."""
        now = self._clock()
        if times.issue_instant > now + self._skew:
            raise AssertionRefused("futur")
        if times.not_before is not None and times.not_before > now + self._skew:
            raise AssertionRefused("futur")
        until = self.valid_until(times)
        if now >= until:
            raise AssertionRefused("expire")
        self._remember(times.assertion_id, until, now)

    def _remember(self, assertion_id: str, until: dt.datetime, now: dt.datetime) -> None:
        """Remember ``assertion_id`` until ``until``, or refuse it as a replay."""
        with self._lock:
            self._purge(now)
            known = self._expiry.get(assertion_id)
            if known is not None and known > now:
                raise AssertionRefused("rejoue")
            if len(self._expiry) >= self._max_entries:
                self._evict_oldest()
            self._expiry[assertion_id] = until
            heapq.heappush(self._heap, (until, assertion_id))

    def clear(self) -> None:
        with self._lock:
            self._expiry.clear()
            self._heap.clear()

    def _purge(self, now: dt.datetime) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            until, assertion_id = heapq.heappop(heap)
            if self._expiry.get(assertion_id) == until:
                del self._expiry[assertion_id]

    def _evict_oldest(self) -> None:
        log.warning(
            "VIHF replay memory full (%d ids): the soonest to expire is dropped", len(self._expiry)
        )
        while self._heap:
            until, assertion_id = heapq.heappop(self._heap)
            if self._expiry.get(assertion_id) == until:
                del self._expiry[assertion_id]
                return


class SharedAssertionGuard(AssertionGuard):
    """The same checks, the ids remembered in the database (table ``vihf_seen``): every
    host process of that database refuses a replay, whichever received the assertion
    first. Used by the host's workers (:mod:`dmp_sandbox.workers`), where the
    per-process memory would let a replay through on another worker."""

    def __init__(self, store: Store, *, clock: Clock = _now) -> None:
        super().__init__(clock=clock)
        self._store = store

    def _remember(self, assertion_id: str, until: dt.datetime, now: dt.datetime) -> None:
        if not self._store.remember_assertion(assertion_id, until, now):
            raise AssertionRefused("rejoue")


GUARD = AssertionGuard()


def check_assertion(
    assertion: etree._Element,
    trace: TraceContext | None = None,
    guard: AssertionGuard | None = None,
) -> None:
    """The host's check of one VIHF (see the module docstring); SoapFault when refused."""
    try:
        (guard or GUARD).check(read_times(assertion))
    except AssertionRefused as refused:
        if trace is not None:
            trace.result = f"VIHF_{refused.reason.upper()}"
        log.info("VIHF refused: %s", refused.reason)
        raise SoapFault(FaultCode.AUTHENTICATION, _MESSAGES[refused.reason]) from None


__all__ = [
    "GUARD",
    "MAX_ENTRIES",
    "MAX_LIFETIME",
    "MAX_SKEW",
    "AssertionGuard",
    "AssertionRefused",
    "AssertionTimes",
    "SharedAssertionGuard",
    "check_assertion",
    "read_times",
]
