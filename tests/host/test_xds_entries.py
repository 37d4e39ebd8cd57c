"""The host's TD3.1 entries: built once per row content, copied for each answer.

:func:`dmp_sandbox.xds.extrinsic_object` keeps the entries it built, keyed on
every column of the document's row and the patient's identifier: an answer
gets exactly what building would give, a new element each time, and any change
of the row (status, confidentiality, title...) is seen at once.

The consultation reads the rows as snapshots (:class:`dmp_sandbox.store.DocumentSnapshots`)
and writes each entry's bytes once per row content
(:func:`dmp_sandbox.xds.entries_answer`): the answer must be, byte for byte,
the one its tree gives, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree
from sqlalchemy import inspect, select

import dmp_actors  # noqa: F401 - registers the demo documents
from dmp_sandbox import soap, xds
from dmp_sandbox.demo import seed_demo
from dmp_sandbox.store import DOCUMENT_ROW, SNAPSHOTS, DocumentRecord, DocumentSnapshot, Store

CX = "248039263001064^^^&1.2.250.1.213.1.4.10&ISO^NH^^20240101"


@pytest.fixture
def docs() -> Iterator[list[DocumentRecord]]:
    with Store("sqlite://") as store:
        seed_demo(store)
        with store.session() as session:
            found = list(session.scalars(select(DocumentRecord).order_by(DocumentRecord.id)))
        assert found, "the demo has documents"
        yield found


def _xml(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n")


def test_an_entry_is_what_building_gives(docs: list[DocumentRecord]) -> None:
    for doc in docs:
        first = xds.extrinsic_object(doc, CX)
        again = xds.extrinsic_object(doc, CX)  # from the cache
        assert _xml(first) == _xml(again) == _xml(xds.build_extrinsic_object(doc, CX))
        assert first is not again


def test_each_answer_gets_its_own_element(docs: list[DocumentRecord]) -> None:
    doc = docs[0]
    first = xds.extrinsic_object(doc, CX)
    first.set("status", "tampered")
    etree.SubElement(first, "extra")
    again = xds.extrinsic_object(doc, CX)
    assert again.get("status") == doc.status and again.find("extra") is None


def test_a_changed_row_is_built_again(docs: list[DocumentRecord]) -> None:
    doc = docs[0]
    before = _xml(xds.extrinsic_object(doc, CX))
    doc.status = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
    assert b"Deprecated" in _xml(xds.extrinsic_object(doc, CX))
    doc.title = "Autre titre"
    assert b"Autre titre" in _xml(xds.extrinsic_object(doc, CX))
    # A JSON column changed in place (a list of dicts) counts as well.
    doc.confidentiality = [*doc.confidentiality, {"code": "MASQUE_PS", "scheme": "x"}]
    assert b"MASQUE_PS" in _xml(xds.extrinsic_object(doc, CX))
    doc.confidentiality[-1]["code"] = "INVISIBLE_PATIENT"
    changed = _xml(xds.extrinsic_object(doc, CX))
    assert b"INVISIBLE_PATIENT" in changed and changed != before
    assert changed == _xml(xds.build_extrinsic_object(doc, CX))


def test_the_patient_identifier_is_part_of_the_key(docs: list[DocumentRecord]) -> None:
    doc = docs[0]
    other = "248039263001064^^^&1.2.250.1.213.1.4.10&ISO^NH^^20250101"
    assert b"20240101" in _xml(xds.extrinsic_object(doc, CX))
    assert b"20250101" in _xml(xds.extrinsic_object(doc, other))


def test_an_expired_row_is_read_again_for_the_key() -> None:
    """A row whose attributes were expired (after a commit, a refresh) is loaded for the key."""
    with Store("sqlite://") as store:
        seed_demo(store)
        with store.session() as session:
            doc = session.scalars(select(DocumentRecord).order_by(DocumentRecord.id)).first()
            assert doc is not None
            first = _xml(xds.extrinsic_object(doc, CX))
            session.expire(doc)
            assert "title" not in doc.__dict__
            assert _xml(xds.extrinsic_object(doc, CX)) == first
            doc.title = "Titre changé"
            session.flush()
            session.expire(doc)
            assert b"Titre chang" in _xml(xds.extrinsic_object(doc, CX))


# --- the TD3.1 answer: rows read as snapshots, entries serialized once ---------------------------


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
    again = _answer_spliced(_snapshots(store))  # the same rows: kept bytes
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


def test_the_namespaces_in_scope_are_part_of_the_key() -> None:
    with Store("sqlite://") as store:
        seed_demo(store)
        found = _snapshots(store)[:1]
    rim = xds.RIM
    one = xds.serialized_entries(found, CX, {"ns4": rim})
    other = xds.serialized_entries(found, CX, {"rim": rim})
    assert one.startswith(b"<ns4:ExtrinsicObject ") and other.startswith(b"<rim:ExtrinsicObject ")
    assert b"xmlns" not in one.split(b">", 1)[0]  # declared by the list, not by each entry
