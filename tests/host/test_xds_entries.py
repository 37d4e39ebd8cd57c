"""The host's TD3.1 entries: built once per row content, copied for each answer.

:func:`dmp_sandbox.xds.extrinsic_object` keeps the entries it built, keyed on
every column of the document's row and the patient's identifier: an answer
gets exactly what building would give, a new element each time, and any change
of the row (status, confidentiality, title...) is seen at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree
from sqlalchemy import select

import dmp_actors  # noqa: F401 - registers the demo documents
from dmp_sandbox import xds
from dmp_sandbox.demo import seed_demo
from dmp_sandbox.store import DocumentRecord, Store

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
