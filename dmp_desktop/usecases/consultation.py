"""Listing and opening the patient's documents (TD3.1, TD3.2), once for both doors.

* :class:`ListScope` is what the professional asked to see. The default is
  the DMP's requirement: active documents of the last 2 years; widening the
  period, adding archived, replaced (deprecated) or — médecin traitant only —
  masked documents, or narrowing to some document types, is the user's choice.
* :func:`list_documents` asks the DMP with the access mode (normal or
  emergency) and returns the entries de-duplicated by unique id, newest first.
* :func:`find_document` looks a document up by its unique id (every status,
  every date, masked included), :func:`open_document` retrieves its bytes.
* :func:`older_documents` says what the period leaves out from what is already
  in hand — never by a search of its own: each TD3.1 is an access traced in the
  patient's record, and widening beyond the first 2 years is the user's choice.
  The exact count when the list in hand covers every date (the doctor widened
  earlier), else that the older documents were not searched
  (:func:`older_documents_fr`).
"""

from __future__ import annotations

import enum
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Protocol

from dmp_desktop.dates import fr_date, paris_today
from dmp_desktop.domain.document import (
    Code,
    DocumentEntry,
    DocumentQuery,
    DocumentStatus,
    RetrievedDocument,
)
from dmp_desktop.domain.patient import Ins
from dmp_desktop.usecases.access import NORMAL_ACCESS, AccessMode
from dmp_desktop.usecases.errors import DocumentNotFoundError, InvalidFilterError

ALL_LISTED_STATUSES = frozenset(
    {DocumentStatus.APPROVED, DocumentStatus.ARCHIVED, DocumentStatus.DEPRECATED}
)


class Period(enum.Enum):
    TWO_YEARS = 2
    FIVE_YEARS = 5
    ALL = 0

    def since(self, today: date) -> date | None:
        if self is Period.ALL:
            return None
        try:
            return today.replace(year=today.year - self.value)
        except ValueError:  # 29 February
            return today.replace(year=today.year - self.value, day=28)

    def covers(self, other: Period) -> bool:
        if self is Period.ALL:
            return True
        return other is not Period.ALL and self.value >= other.value


DEFAULT_PERIOD = Period.TWO_YEARS


def entry_date(entry: DocumentEntry) -> datetime | None:
    """The date a doctor sorts by: the act (service start), else the document's creation."""
    return entry.service_start or entry.creation_time or entry.submission_time


def _sort_key(entry: DocumentEntry) -> datetime:
    moment = entry_date(entry)
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def newest_first(entries: Iterable[DocumentEntry]) -> list[DocumentEntry]:
    return sorted(entries, key=_sort_key, reverse=True)


def type_filter(raw: str) -> Code:
    """A document type typed as a filter (LOINC or CI-SIS code), or InvalidFilterError."""
    code = raw.strip()
    if not code or any(ch in code for ch in "^'(),&") or any(ch.isspace() for ch in code):
        raise InvalidFilterError(raw)
    return Code(code)


@dataclass(frozen=True)
class ListScope:
    """What the professional asked to see.

    ``since`` (a date typed by the user) overrides ``period``; ``types``
    narrows the list to some document types.
    """

    period: Period = DEFAULT_PERIOD
    archived: bool = False
    deprecated: bool = False
    masked: bool = False  # médecin traitant only
    since: date | None = None
    types: tuple[Code, ...] = ()

    def statuses(self) -> frozenset[DocumentStatus]:
        statuses = {DocumentStatus.APPROVED}
        if self.archived:
            statuses.add(DocumentStatus.ARCHIVED)
        if self.deprecated:
            statuses.add(DocumentStatus.DEPRECATED)
        return frozenset(statuses)

    def start(self, today: date) -> date | None:
        """The oldest date listed (None: every date)."""
        return self.since if self.since is not None else self.period.since(today)

    def _covers_dates(self, other: ListScope) -> bool:
        if self.since is None and other.since is None:
            return self.period.covers(other.period)
        if self.since is None and self.period is Period.ALL:
            return True
        return (self.since, self.period) == (other.since, other.period)

    def covers(self, other: ListScope) -> bool:
        """A list loaded for ``self`` holds everything ``other`` shows (filtered locally)."""
        types_ok = not self.types or (bool(other.types) and set(self.types) >= set(other.types))
        return (
            self._covers_dates(other)
            and self.statuses() >= other.statuses()
            and self.masked == other.masked
            and types_ok
        )

    def widened(self, other: ListScope) -> ListScope:
        """The smallest scope covering both (masked documents: as ``other`` asks)."""
        if self._covers_dates(other):
            period, since = self.period, self.since
        elif other._covers_dates(self):
            period, since = other.period, other.since
        else:
            period, since = Period.ALL, None
        types = tuple(dict.fromkeys(self.types + other.types)) if self.types and other.types else ()
        return ListScope(
            period,
            self.archived or other.archived,
            self.deprecated or other.deprecated,
            other.masked,
            since,
            types,
        )

    def without_masked(self) -> ListScope:
        return ListScope(self.period, self.archived, self.deprecated, False, self.since, self.types)

    def query(self, ins: Ins, today: date) -> DocumentQuery:
        return DocumentQuery(
            patient=ins,
            since=self.start(today),
            statuses=self.statuses(),
            include_masked=self.masked,
            type_codes=self.types,
        )

    def accepts(self, entry: DocumentEntry, today: date | None = None) -> bool:
        if entry.status not in self.statuses():
            return False
        if self.types and entry.type_code.code not in {t.code for t in self.types}:
            return False
        since = self.start(today or paris_today())
        when = entry_date(entry)
        return since is None or when is None or when.date() >= since


DEFAULT_SCOPE = ListScope()


class DocumentSource(Protocol):
    def find_documents(
        self, query: DocumentQuery, *, purpose: str = "normal", reason: str | None = None
    ) -> Sequence[DocumentEntry]: ...


class DocumentReader(DocumentSource, Protocol):
    def retrieve_document(
        self, entry: DocumentEntry, *, purpose: str = "normal", reason: str | None = None
    ) -> RetrievedDocument: ...


def unique_by_id(entries: Iterable[DocumentEntry]) -> dict[str, DocumentEntry]:
    """De-duplicated by unique id (the last one wins), in the order met."""
    found: dict[str, DocumentEntry] = {}
    for entry in entries:
        found[entry.unique_id] = entry
    return found


def list_documents(
    client: DocumentSource,
    ins: Ins,
    scope: ListScope = DEFAULT_SCOPE,
    access: AccessMode = NORMAL_ACCESS,
    *,
    today: date | None = None,
) -> list[DocumentEntry]:
    """TD3.1: the documents ``scope`` covers, de-duplicated by unique id, newest first."""
    query = scope.query(ins, today or paris_today())
    entries = client.find_documents(query, purpose=access.purpose, reason=access.reason)
    return newest_first(unique_by_id(entries).values())


@dataclass(frozen=True)
class OlderDocuments:
    """What is known, without asking the DMP, of the documents a period leaves out.

    ``count``: documents in hand the period hides (they pass every other filter);
    ``searched``: the scope the list in hand was searched for, when it does not reach
    every date (older documents than its start were never searched); None when it does:
    ``count`` is then exact.
    """

    count: int
    searched: ListScope | None = None

    @property
    def exact(self) -> bool:
        return self.searched is None


@dataclass(frozen=True)
class HeldDates:
    """The dates of the list in hand, sorted per status: how many documents a period leaves
    out is then a binary search, not a pass over thousands of entries on the window's
    thread (built with the list, off it). A type filter (rare) counts ``entries`` instead."""

    by_status: dict[DocumentStatus, tuple[date, ...]] = field(default_factory=dict)
    entries: tuple[DocumentEntry, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[DocumentEntry]) -> HeldDates:
        held = tuple(entries)
        dates: dict[DocumentStatus, list[date]] = {}
        for entry in held:
            when = entry_date(entry)
            if when is not None:  # a document without a date is shown by every period
                dates.setdefault(entry.status, []).append(when.date())
        return cls({k: tuple(sorted(v)) for k, v in dates.items()}, held)

    def left_out(self, shown: ListScope, today: date) -> int:
        """How many of these ``shown`` would list but for its period."""
        since = shown.start(today)
        if since is None:
            return 0
        if shown.types:
            every_date = replace(shown, period=Period.ALL, since=None)
            return sum(
                1
                for e in self.entries
                if every_date.accepts(e, today) and not shown.accepts(e, today)
            )
        return sum(
            bisect_left(self.by_status.get(status, ()), since) for status in shown.statuses()
        )


def older_documents(
    held: HeldDates,
    loaded: ListScope | None,
    shown: ListScope,
    today: date | None = None,
) -> OlderDocuments | None:
    """The documents ``shown``'s period leaves out of the list in hand (``held``, searched
    for ``loaded``); None when ``shown`` covers every date. No search is made: when
    ``loaded`` does not reach every date, the older ones stay unknown."""
    today = today or paris_today()
    if shown.start(today) is None:
        return None
    if loaded is None:
        return OlderDocuments(0, shown)
    every_date = replace(shown, period=Period.ALL, since=None)
    reaches_every_date = loaded.start(today) is None and loaded.covers(every_date)
    return OlderDocuments(held.left_out(shown, today), None if reaches_every_date else loaded)


def _older_than_fr(scope: ListScope) -> str:
    if scope.since is not None:
        return f"antérieurs au {fr_date(scope.since)}"
    return f"de plus de {scope.period.value} ans"


def older_documents_fr(older: OlderDocuments, widen: str) -> str:
    """The period's hint, the same for both doors; ``widen``: how this door shows every
    date (« Ctrl+Shift+T pour toutes les périodes », « --all-dates … »)."""
    n = older.count
    hidden = (
        "1 document plus ancien n'est pas affiché"
        if n == 1
        else f"{n} documents plus anciens ne sont pas affichés"
    )
    if older.searched is None:
        if n == 0:
            return "Aucun document plus ancien dans ce DMP."
        return f"{hidden} : {widen}."
    unsearched = f"les documents {_older_than_fr(older.searched)} n'ont pas été recherchés"
    if n == 0:
        return f"{unsearched[0].upper()}{unsearched[1:]} : {widen}."
    return f"{hidden}, et {unsearched} : {widen}."


def find_document(
    client: DocumentSource, ins: Ins, unique_id: str, access: AccessMode = NORMAL_ACCESS
) -> DocumentEntry:
    """The document of this DMP with this unique id (any status, any date, masked included).

    The unique id alone does not say which repository holds the document: the
    registry is asked first. Raises :class:`DocumentNotFoundError`.
    """
    wanted = unique_id.strip()
    if not wanted:
        raise DocumentNotFoundError()
    query = DocumentQuery(patient=ins, statuses=ALL_LISTED_STATUSES, include_masked=True)
    for entry in client.find_documents(query, purpose=access.purpose, reason=access.reason):
        if entry.unique_id == wanted:
            return entry
    raise DocumentNotFoundError()


def open_document(
    client: DocumentReader, entry: DocumentEntry, access: AccessMode = NORMAL_ACCESS
) -> RetrievedDocument:
    """TD3.2: the document's bytes, with the access mode of the consultation."""
    return client.retrieve_document(entry, purpose=access.purpose, reason=access.reason)


__all__ = [
    "ALL_LISTED_STATUSES",
    "DEFAULT_SCOPE",
    "HeldDates",
    "ListScope",
    "OlderDocuments",
    "Period",
    "entry_date",
    "find_document",
    "list_documents",
    "newest_first",
    "older_documents",
    "older_documents_fr",
    "open_document",
    "type_filter",
    "unique_by_id",
]
