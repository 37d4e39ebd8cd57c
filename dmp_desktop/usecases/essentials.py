"""« L'essentiel » of a patient's record, once for both doors (the window and ``dmp essentials``).

The rules of the use case (the aggregation's own rules are in
:mod:`dmp_desktop.essentials.aggregate`):

* It is built from the level-3 (structured) documents of the list the
  professional sees — :func:`is_structured` tells them from PDFs in CDA —
  and only from documents already retrieved: those the doctor opened (in
  this visit or an earlier one, kept as facts in the encrypted cache,
  :mod:`dmp_desktop.storage.essentials_cache`). The DMP traces every
  retrieval: nothing is downloaded without the doctor asking, and
  :func:`load_structured` (« charger les documents structurés », ``--load``)
  is that explicit request. :meth:`EssentialsSession.missing` says how many
  are still to be read.
* A document no longer in the list (masked since, archived, outside the
  period asked) is not shown, even if its facts are cached.
* « Nouveau » is measured against the lines recorded at the professional's
  previous visit; this visit's lines are recorded when it is saved.

:class:`EssentialsSession` is thread-safe: the window's service adds
documents from worker threads while the UI thread asks for nothing but
finished :class:`~dmp_desktop.essentials.model.Essentials`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Protocol

from dmp_desktop.dates import paris_today
from dmp_desktop.domain.document import Author, DocumentEntry
from dmp_desktop.domain.origin import type_label
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.summary import PartialDate
from dmp_desktop.essentials.aggregate import build, fingerprints
from dmp_desktop.essentials.model import DocumentFacts, Essentials, Source
from dmp_desktop.essentials.reading import read_document
from dmp_desktop.essentials.structured import is_structured
from dmp_desktop.storage.essentials_cache import EssentialsCache
from dmp_desktop.usecases.access import NORMAL_ACCESS, AccessMode
from dmp_desktop.usecases.consultation import DocumentReader, open_document


class ReadingSession(Protocol):
    """What :func:`load_structured` needs of a session (the window's lives in another process)."""

    def missing(self, entries: Iterable[DocumentEntry]) -> list[DocumentEntry]: ...

    def add(self, entry: DocumentEntry, content: bytes) -> object: ...


def entry_day(entry: DocumentEntry) -> PartialDate | None:
    moment = entry.service_start or entry.creation_time or entry.submission_time
    if moment is None:
        return None
    if moment.tzinfo is not None:
        from zoneinfo import ZoneInfo

        moment = moment.astimezone(ZoneInfo("Europe/Paris"))
    return PartialDate.of(moment.date())


def source_of(entry: DocumentEntry) -> Source:
    """How a line names its document: title, type, author (or structure), date."""
    author = entry.main_author
    who = ""
    if author is not None:
        name = author.display_name
        who = f"Dr {name}" if name and _is_doctor(author) else name
        who = who or author.institution
    return Source(
        unique_id=entry.unique_id,
        title=entry.title or type_label(entry) or "Document",
        type_code=entry.type_code.code,
        type_label=entry.type_code.display,
        author=who,
        date=entry_day(entry),
    )


def _is_doctor(author: Author) -> bool:
    """A physician: profession 10 in the specialty code (J01 ``G15_10/…``) or the role."""
    code = author.specialty.code if author.specialty is not None else ""
    return code.startswith("G15_10") or "médecin" in author.role.lower()


class EssentialsSession:
    """« L'essentiel » of one patient for one professional: facts read, cache, previous visit."""

    def __init__(
        self,
        professional_id: str,
        ins: Ins,
        cache: EssentialsCache | None,
        *,
        today: Callable[[], date] = paris_today,
        reader: Callable[[bytes, Source], DocumentFacts] = read_document,
    ) -> None:
        self.professional_id = professional_id
        self._reader = reader
        self.ins = ins
        self._cache = cache
        self._today = today
        self._lock = threading.Lock()
        self._facts: dict[str, DocumentFacts] = {}
        self._previous: frozenset[str] | None = None
        self._shown: frozenset[str] = frozenset()
        self._dirty = False
        self.opened = False

    # -- the cache (worker threads) ---------------------------------------------------------------
    def attach(self, cache: EssentialsCache | None) -> None:
        """The cache to use, when it could only be opened later (off the UI thread)."""
        if not self.opened:
            self._cache = cache

    def open(self) -> None:
        """Read what earlier visits cached (blocking: file and keyring)."""
        if self._cache is None:
            self.opened = True
            return
        cached = self._cache.load(self.professional_id, self.ins)
        with self._lock:
            for uid, facts in cached.documents.items():
                self._facts.setdefault(uid, facts)
            self._previous = cached.seen
            self.opened = True

    def save(self) -> None:
        """Record the facts read and this visit's lines (for the next visit's « nouveau »)."""
        if self._cache is None:
            return
        with self._lock:
            if not self._dirty:
                return
            documents = dict(self._facts)
            seen = (self._previous or frozenset()) | self._shown
            self._dirty = False
        self._cache.save(self.professional_id, self.ins, documents, seen, datetime.now(UTC))

    # -- documents -----------------------------------------------------------------------------
    @property
    def known(self) -> int:
        """How many documents were read (this visit and earlier ones)."""
        with self._lock:
            return len(self._facts)

    def has(self, unique_id: str) -> bool:
        with self._lock:
            return unique_id in self._facts

    def add(self, entry: DocumentEntry, content: bytes) -> DocumentFacts:
        """Read a retrieved document (any thread); its facts replace earlier ones."""
        facts = self._reader(content, source_of(entry))
        with self._lock:
            self._facts[entry.unique_id] = facts
            self._dirty = True
        return facts

    def missing(self, entries: Iterable[DocumentEntry]) -> list[DocumentEntry]:
        """The structured documents of the list not read yet (newest first as given)."""
        with self._lock:
            return [e for e in entries if is_structured(e) and e.unique_id not in self._facts]

    def essentials(self, entries: Sequence[DocumentEntry]) -> Essentials:
        """« L'essentiel » of the documents of this list that were read."""
        listed = {e.unique_id: e for e in entries}
        with self._lock:
            facts = [
                _with_source(f, listed[uid]) for uid, f in self._facts.items() if uid in listed
            ]
            previous = self._previous
        result = build(facts, previous=previous, today=self._today())
        with self._lock:
            shown = fingerprints(result)
            if shown - self._shown:
                self._shown |= shown
                self._dirty = True
        return result


def _with_source(facts: DocumentFacts, entry: DocumentEntry) -> DocumentFacts:
    """The facts with the registry's current description of their document (title, author...)."""
    source = source_of(entry)
    if source == facts.source:
        return facts
    from dataclasses import replace

    return replace(
        facts,
        source=source,
        statements=facts.statements,
    )


def load_structured(
    client: DocumentReader,
    session: ReadingSession,
    entries: Sequence[DocumentEntry],
    access: AccessMode = NORMAL_ACCESS,
    *,
    on_document: Callable[[DocumentEntry, object], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> int:
    """« Charger les documents structurés »: retrieve (TD3.2) those not read yet; how many read.

    The professional asked for it: each retrieval is traced by the DMP as any
    other. ``on_document`` runs after each one (the window shows lines as they
    come); ``cancelled`` is checked between documents.
    """
    count = 0
    for entry in session.missing(entries):
        if cancelled():
            break
        document = open_document(client, entry, access)
        facts = session.add(entry, document.content)
        count += 1
        if on_document is not None:
            on_document(entry, facts)
    return count


__all__ = [
    "EssentialsSession",
    "ReadingSession",
    "is_structured",
    "load_structured",
    "source_of",
]
