"""The host's TD3.1 answer: documents read as row snapshots, each entry written once.

The consultation reads a patient's documents as rows and keeps, per row
content, a read-only snapshot (:class:`dmp_sandbox.store.DocumentSnapshots`)
and the entry's bytes (:func:`dmp_sandbox.xds.serialized_entries`), keyed on
every column of the row, the patient's identifier and the namespaces in scope.
The answer must be, byte for byte, the one its tree gives, on SQLite and on
PostgreSQL, and any change of a row (status, confidentiality, title...) must
be seen at once.
"""

from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import inspect, select

import dmp_actors  # noqa: F401 - registers the demo documents
from dmp_sandbox import soap, xds
from dmp_sandbox.demo import seed_demo
from dmp_sandbox.store import DOCUMENT_ROW, SNAPSHOTS, DocumentRecord, DocumentSnapshot, Store

CX = "248039263001064^^^&1.2.250.1.213.1.4.10&ISO^NH^^20240101"


def _snapshots(store: Store) -> list[DocumentSnapshot]:
    with store.reading() as session:
        rows = session.execute(select(*DOCUMENT_ROW).order_by(DocumentRecord.id)).all()
    return SNAPSHOTS.of(rows)


def _answer_as_tree(docs: list[DocumentRecord]) -> bytes:
    payload = xds.query_response([xds.build_extrinsic_object(doc, CX) for doc in docs])
    return soap.response_envelope(xds.ACTION_ITI18_RESPONSE, payload, "urn:uuid:relates")


def _answer_spliced(found: list[DocumentSnapshot]) -> bytes:
    answer = xds.entries_answer(found, CX)
    return soap.response_envelope(
        xds.ACTION_ITI18_RESPONSE, answer.payload, "urn:uuid:relates", spliced=answer.spliced
    )


def _same_message_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(soap, "new_message_id", lambda: "urn:uuid:fixed")


def _check_spliced_answers(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _same_message_id(monkeypatch)
    SNAPSHOTS.clear()
    found = _snapshots(store)
    with store.session() as session:
        docs = list(session.scalars(select(DocumentRecord).order_by(DocumentRecord.id)))
        assert len(docs) == len(found) > 20, "the demo's documents"
        # A snapshot holds what the ORM reads, column by column (JSON decoded).
        for doc, each in zip(docs, found, strict=True):
            for column in inspect(DocumentRecord).column_attrs:
                assert getattr(each.doc, column.key) == getattr(doc, column.key), column.key
        expected = _answer_as_tree(docs)
    first = _answer_spliced(found)  # entries serialized now
    read_again = _snapshots(store)
    assert all(a is b for a, b in zip(read_again, found, strict=True)), "unchanged rows: kept"
    again = _answer_spliced(read_again)  # the same rows: kept bytes
    assert first == again == expected
    etree.fromstring(first)  # well-formed, one tree
    assert first.count(b"<ns4:ExtrinsicObject ") == len(docs)
    assert b"<?" + soap.SPLICE_TARGET.encode() not in first


def test_a_spliced_answer_is_the_answer_built_as_a_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Store("sqlite://") as store:
        seed_demo(store)
        _check_spliced_answers(store, monkeypatch)


def test_a_spliced_answer_on_postgresql(
    postgres_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(postgres_db_url) as store:
        seed_demo(store)
        _check_spliced_answers(store, monkeypatch)


def test_an_empty_list_has_no_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    _same_message_id(monkeypatch)
    assert _answer_spliced([]) == _answer_as_tree([])
    assert b"<ns4:RegistryObjectList/>" in _answer_spliced([])


def test_a_changed_row_is_a_new_snapshot_and_a_new_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    _same_message_id(monkeypatch)
    with Store("sqlite://") as store:
        seed_demo(store)
        SNAPSHOTS.clear()
        before = _snapshots(store)
        _answer_spliced(before)  # every entry kept
        with store.session() as session:
            doc = session.scalars(select(DocumentRecord).order_by(DocumentRecord.id)).first()
            assert doc is not None
            doc.title = "Titre changé"
            doc.confidentiality = [*doc.confidentiality, {"code": "MASQUE_PS", "scheme": "x"}]
        after = _snapshots(store)
        assert after[0] is not before[0] and after[1] is before[1]
        assert after[0].doc.title == "Titre changé"
        assert "MASQUE_PS" in after[0].doc.confidentiality_codes()
        spliced = _answer_spliced(after)
        assert "Titre changé".encode() in spliced and b"MASQUE_PS" in spliced
        with store.session() as session:
            docs = list(session.scalars(select(DocumentRecord).order_by(DocumentRecord.id)))
            assert spliced == _answer_as_tree(docs)


def test_the_patient_identifier_is_part_of_the_key() -> None:
    with Store("sqlite://") as store:
        seed_demo(store)
        found = _snapshots(store)[:1]
    other = "248039263001064^^^&1.2.250.1.213.1.4.10&ISO^NH^^20250101"
    nsmap = {"ns4": xds.RIM}
    assert b"20240101" in xds.serialized_entries(found, CX, nsmap)
    assert b"20250101" in xds.serialized_entries(found, other, nsmap)


def test_the_namespaces_in_scope_are_part_of_the_key() -> None:
    with Store("sqlite://") as store:
        seed_demo(store)
        found = _snapshots(store)[:1]
    rim = xds.RIM
    one = xds.serialized_entries(found, CX, {"ns4": rim})
    other = xds.serialized_entries(found, CX, {"rim": rim})
    assert one.startswith(b"<ns4:ExtrinsicObject ") and other.startswith(b"<rim:ExtrinsicObject ")
    assert b"xmlns" not in one.split(b">", 1)[0]  # declared by the list, not by each entry
