"""« L'essentiel » sessions kept in a worker process (plain Python, no Qt).

Reading CDA documents, aggregating them and writing the encrypted cache are
Python work that holds the interpreter lock; in the window's process it would
compete with the UI thread (issue #19: never a pause of 50 ms). The window's
service therefore keeps its :class:`~dmp_desktop.usecases.essentials.EssentialsSession`
objects here, in a process of their own, and calls these functions through a
process pool; each function is also correct when called in-process (the
fallback when no process can be started, and the tests).

Sessions are named by a key the caller chooses; nothing here is shared with
the caller but what the functions return (pickled): the facts stay in this
process, and only finished :class:`~dmp_desktop.essentials.model.Essentials`
travel back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from dmp_desktop.essentials.text import PHRASES, RowTexts, prepare_rows

if TYPE_CHECKING:  # imported by the worker process (ready()), not by the window's
    from dmp_desktop.domain.document import DocumentEntry
    from dmp_desktop.domain.patient import Ins
    from dmp_desktop.essentials.model import Essentials
    from dmp_desktop.usecases.essentials import EssentialsSession

_SESSIONS: dict[str, EssentialsSession] = {}
_ENTRIES: dict[str, list[DocumentEntry]] = {}  # the list shown, per session (sent once)
_PHRASES: dict[str, dict[str, str]] = {}  # the window's words, translated, per session
_LOCK = threading.Lock()


def background_priority() -> None:
    """In the worker process: yield the processor to the window (lower priority)."""
    try:
        os.nice(10)
    except (AttributeError, OSError):  # not on this system: still correct, less gentle
        pass


def ready() -> bool:
    """Import what the sessions need (the CDA reader, the cache), before the first one."""
    import dmp_desktop.storage.essentials_cache
    import dmp_desktop.usecases.essentials  # noqa: F401

    return True


def open_session(
    key: str,
    professional_id: str,
    ins: Ins,
    store: tuple[str, bytes] | None,
    today: date | None = None,
    phrases: dict[str, str] | None = None,
) -> int:
    """Create (or find) the session ``key``, reading its cache; how many documents it knows.

    ``store`` is the encrypted store's folder and key (None: no cache on this computer).
    """
    with _LOCK:
        session = _SESSIONS.get(key)
        if phrases is not None:
            _PHRASES[key] = {**PHRASES, **phrases}
    if session is not None:
        return _known(session)
    from dmp_desktop.storage.essentials_cache import EssentialsCache
    from dmp_desktop.storage.secure import SecureStore
    from dmp_desktop.usecases.essentials import EssentialsSession

    cache = EssentialsCache(SecureStore(Path(store[0]), store[1])) if store else None
    fixed = today
    session = EssentialsSession(
        professional_id, ins, cache, today=(lambda: fixed) if fixed else date.today
    )
    session.open()
    with _LOCK:
        _SESSIONS.setdefault(key, session)
        return _known(_SESSIONS[key])


def _known(session: EssentialsSession) -> int:
    return session.known


def _session(key: str) -> EssentialsSession:
    with _LOCK:
        session = _SESSIONS.get(key)
    if session is None:
        raise KeyError("no such essentials session")
    return session


def add(key: str, entry: DocumentEntry, content: bytes) -> None:
    """Read a retrieved document into the session."""
    _session(key).add(entry, content)


def add_many(key: str, documents: Sequence[tuple[DocumentEntry, bytes]]) -> None:
    """Several retrieved documents at once (fewer exchanges with the caller)."""
    session = _session(key)
    for entry, content in documents:
        session.add(entry, content)


def set_entries(key: str, entries: Sequence[DocumentEntry]) -> None:
    """The documents listed for the session (sent once per list, not with every call).

    Only the structured ones matter here (the others have nothing to read): the
    window's service sends only those, in pieces (:func:`add_entries`)."""
    with _LOCK:
        _ENTRIES[key] = list(entries)


def add_entries(key: str, entries: Sequence[DocumentEntry]) -> None:
    """More documents of the list given by :func:`set_entries` (a long list, in pieces)."""
    with _LOCK:
        _ENTRIES.setdefault(key, []).extend(entries)


def _entries(key: str) -> list[DocumentEntry]:
    with _LOCK:
        return _ENTRIES.get(key, [])


def missing_ids(key: str) -> list[str]:
    """Unique ids of the listed structured documents not read yet."""
    return [e.unique_id for e in _session(key).missing(_entries(key))]


def essentials(key: str) -> tuple[Essentials, int, int, tuple[RowTexts, ...]]:
    """« L'essentiel » of the listed documents, the unread structured ones, the structured
    ones, and the texts of its lines for the window (in its words)."""
    session = _session(key)
    entries = _entries(key)
    result = session.essentials(entries)
    from dmp_desktop.usecases.essentials import is_structured

    structured = sum(1 for e in entries if is_structured(e))
    with _LOCK:
        phrases = _PHRASES.get(key, PHRASES)
    return result, len(session.missing(entries)), structured, prepare_rows(result, phrases)


def save(key: str) -> None:
    with _LOCK:
        session = _SESSIONS.get(key)
    if session is not None:
        session.save()


def close(key: str) -> None:
    """Save and forget the session (the patient is closed)."""
    with _LOCK:
        session = _SESSIONS.pop(key, None)
        _ENTRIES.pop(key, None)
        _PHRASES.pop(key, None)
    if session is not None:
        session.save()
