"""The use case of « L'essentiel » (usecases/essentials.py) and its worker-process functions:
only the listed documents are shown, nothing is retrieved but the unread structured ones and
only when asked, the cache carries facts and « nouveau » from one visit to the next."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
import uuid
from pathlib import Path

from dmp_actors.structured_documents import FORMATS
from dmp_desktop.domain.document import Code, DocumentEntry, RetrievedDocument
from dmp_desktop.essentials import worker
from dmp_desktop.storage.essentials_cache import EssentialsCache
from dmp_desktop.storage.secure import SecureStore
from dmp_desktop.usecases.access import AccessMode
from dmp_desktop.usecases.essentials import (
    EssentialsSession,
    is_structured,
    load_structured,
    source_of,
)
from tests.ui.consultation_fakes import AUTHORISED, DURAND_AUTHOR, entry
from tests.unit.test_structured_documents import NOW, lea_documents

DURAND = "899700433153"


def listed() -> list[tuple[DocumentEntry, bytes]]:
    today = dt.date.today()
    out = []
    for index, doc in enumerate(lea_documents(), 1):
        code, scheme, display = FORMATS[doc.kind]
        e = dataclasses.replace(
            entry(
                f"1.2.250.1.999.6.{index}",
                doc.title,
                days_ago=doc.days_ago + (today - NOW.date()).days,
                author=DURAND_AUTHOR,
            ),
            format_code=Code(code, display, scheme),
        )
        out.append((e, doc.content))
    pdf = entry("1.2.250.1.999.6.99", "Compte rendu (PDF)", days_ago=5)
    out.append((pdf, b"%PDF-1.4"))
    return out


class Reader:
    """A DMP client that hands out documents and counts retrievals (with their purpose)."""

    def __init__(self, documents: list[tuple[DocumentEntry, bytes]]) -> None:
        self.documents = {e.unique_id: (e, c) for e, c in documents}
        self.retrieved: list[tuple[str, str, str | None]] = []

    def retrieve_document(
        self, entry: DocumentEntry, *, purpose: str = "normal", reason: str | None = None
    ) -> RetrievedDocument:
        self.retrieved.append((entry.unique_id, purpose, reason))
        e, content = self.documents[entry.unique_id]
        return RetrievedDocument(e.unique_id, e.repository_id, e.mime_type, content)


def test_structured_documents_are_told_apart() -> None:
    docs = listed()
    assert [is_structured(e) for e, _ in docs] == [True] * len(lea_documents()) + [False]
    source = source_of(docs[0][0])
    assert source.author == "Dr Marie DURAND"
    assert source.title == docs[0][0].title and source.date is not None


def test_only_what_is_asked_is_retrieved_and_only_the_listed_is_shown(tmp_path: Path) -> None:
    docs = listed()
    entries = [e for e, _ in docs]
    session = EssentialsSession(DURAND, AUTHORISED, None)
    session.open()
    assert session.essentials(entries).lines == ()
    assert len(session.missing(entries)) == len(lea_documents())  # not the PDF
    client = Reader(docs)
    seen: list[str] = []
    count = load_structured(
        client,
        session,
        entries,
        AccessMode("bris_de_glace", "Patiente inconsciente aux urgences"),
        on_document=lambda e, _f: seen.append(e.unique_id),
    )
    assert count == len(lea_documents()) == len(client.retrieved) == len(seen)
    assert {purpose for _, purpose, _ in client.retrieved} == {"bris_de_glace"}
    assert session.missing(entries) == []
    assert load_structured(client, session, entries) == 0  # nothing twice
    full = session.essentials(entries)
    assert any(line.label == "HbA1c" for line in full.lines)
    # a document no longer listed (masked since, out of the period) is not shown
    without_ips = [e for e in entries if "Synthèse" not in e.title]
    labels = {line.label for line in session.essentials(without_ips).lines}
    assert "Personne de confiance : Claire MOREAU" not in labels
    # cancelled between documents: what was read stays read
    other = EssentialsSession(DURAND, AUTHORISED, None)
    other.open()
    calls = iter([False, False, True])
    assert load_structured(client, other, entries, cancelled=lambda: next(calls, True)) == 2


def test_the_next_visit_reads_the_cache_and_marks_what_is_new(tmp_path: Path) -> None:
    key = os.urandom(32)
    docs = listed()
    entries = [e for e, _ in docs]
    first = EssentialsSession(DURAND, AUTHORISED, EssentialsCache(SecureStore(tmp_path, key)))
    first.open()
    for e, content in docs[:-4]:  # not yet the vaccination note nor the IPS-FR
        first.add(e, content)
    assert first.essentials(entries).first_visit
    first.save()
    second = EssentialsSession(DURAND, AUTHORISED, EssentialsCache(SecureStore(tmp_path, key)))
    second.open()
    assert second.known == len(docs) - 4  # from the cache: no retrieval
    again = second.essentials(entries)
    assert not again.first_visit and again.new_lines == []
    for e, content in docs[-4:]:
        second.add(e, content)
    news = {line.label.split(",")[0] for line in second.essentials(entries).new_lines}
    assert "PREVENAR 20" in news and "Personne de confiance : Claire MOREAU" in news
    # another professional on the same computer starts from nothing
    martin = EssentialsSession(
        "899700433160", AUTHORISED, EssentialsCache(SecureStore(tmp_path, key))
    )
    martin.open()
    assert martin.known == 0


def test_worker_functions_keep_sessions_apart_and_answer_with_texts(tmp_path: Path) -> None:
    docs = listed()
    entries = [e for e, _ in docs]
    a, b = uuid.uuid4().hex, uuid.uuid4().hex
    store = (str(tmp_path), os.urandom(32))
    assert worker.open_session(a, DURAND, AUTHORISED, store, dt.date.today(), {"new": "new"}) == 0
    worker.open_session(b, DURAND, AUTHORISED, None)
    worker.set_entries(a, entries)
    worker.set_entries(b, entries)
    worker.add_many(a, docs[:3])
    assert len(worker.missing_ids(a)) == len(lea_documents()) - 3
    assert len(worker.missing_ids(b)) == len(lea_documents())
    essentials, unread, structured, rows = worker.essentials(a)
    assert (unread, structured) == (len(lea_documents()) - 3, len(lea_documents()))
    assert len(rows) == len(essentials.lines) and rows[0].cells[0]
    worker.close(a)
    worker.close(b)
    # what session a read is in the cache, for the next visit
    assert worker.open_session(a, DURAND, AUTHORISED, store) == 3
    worker.close(a)
    # threads of the caller may call at once
    c = uuid.uuid4().hex
    worker.open_session(c, DURAND, AUTHORISED, None)
    worker.set_entries(c, entries)
    threads = [threading.Thread(target=worker.add, args=(c, e, content)) for e, content in docs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert worker.missing_ids(c) == []
    worker.close(c)
