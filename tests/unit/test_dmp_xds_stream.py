"""ITI-18 answers read as they arrive (:class:`xds.FindDocumentsReader`).

The streamed reading must give exactly what the whole-tree reading gives
(:func:`soap.parse_envelope` then :func:`xds.parse_find_documents_response`):
the same entries, or the same typed error, for the official answer and for
every kind of answer the other XDS tests build, whatever the size of the
pieces the network delivers. On top of that it keeps memory bounded: each
entry leaves the tree once read, a list larger than the old 64 MiB cap is
read, and what is not an entry cannot pile up.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ebrs, soap, xds
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.errors import (
    AnswerTooLargeError,
    DmpDesktopError,
    DmpProtocolError,
    DmpServiceError,
    describe,
)
from tests.conftest import DMP_MESSAGES, require_shared
from tests.support import big_answer
from tests.unit.test_dmp_support import INS
from tests.unit.test_dmp_xds import (
    OTHER_INS,
    extrinsic_object,
    query_response,
    registry_error_list,
)

OFFICIAL_INS = Ins(big_answer.OFFICIAL_INS, InsKind.TEST_NIR)


@pytest.fixture(autouse=True, params=["compiled", "lxml"])
def reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with the compiled reader and with the pure-Python one."""
    if request.param == "lxml":
        monkeypatch.setenv("DMP_DESKTOP_PURE_PYTHON", "1")
    elif xds.compiled_reader() is None:
        from tests.unit.test_ebrimscan import _require_compiled

        _require_compiled()
    return str(request.param)


FAULT = """<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>
<soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value><soap:Subcode>
<soap:Value>DMPAccessDenied</soap:Value></soap:Subcode></soap:Code>
<soap:Reason><soap:Text xml:lang="fr">Accès refusé</soap:Text></soap:Reason></soap:Fault>
</soap:Body></soap:Envelope>""".encode()


def _whole(data: bytes, requested: Ins | None, relates_to: str | None) -> object:
    answer = soap.parse_envelope(
        data, expected_action=xds.ACTION_FIND_RESPONSE, relates_to=relates_to
    )
    return xds.parse_find_documents_response(answer.body, requested)


def _streamed(data: bytes, requested: Ins | None, relates_to: str | None, chunk: int) -> object:
    return xds.read_find_documents(
        data,
        requested,
        expected_action=xds.ACTION_FIND_RESPONSE,
        relates_to=relates_to,
        chunk=chunk,
    )


def _outcome(read: Callable[[], object]) -> object:
    try:
        return read()
    except DmpDesktopError as exc:
        return (type(exc).__name__, str(exc))


def _answers() -> dict[str, tuple[bytes, Ins | None, str | None]]:
    failure = registry_error_list(("XDSRegistryError", "Accès refusé", "Error"))
    warning = registry_error_list(("XDSTooManyResults", "beaucoup", "Warning"))
    two = (extrinsic_object(), extrinsic_object(unique_id="1.2.3.4", entry_uuid="urn:uuid:b"))
    return {
        "two entries": (query_response(*two), INS, None),
        "empty": (query_response(), INS, None),
        "masked and patient's own": (
            query_response(extrinsic_object(confidentiality=("MASQUE_PS",), class_code="90")),
            INS,
            None,
        ),
        "warning": (query_response(extrinsic_object(), errors=warning), INS, None),
        "failure": (query_response(status=ebrs.STATUS_FAILURE, errors=failure), INS, None),
        "failure listing another patient": (
            query_response(
                extrinsic_object(ins=OTHER_INS), status=ebrs.STATUS_FAILURE, errors=failure
            ),
            INS,
            None,
        ),
        "another patient": (query_response(extrinsic_object(ins=OTHER_INS)), INS, None),
        "bad date": (query_response(extrinsic_object(service_start="2025-03-19")), INS, None),
        "another patient, wrong RelatesTo": (
            query_response(extrinsic_object(ins=OTHER_INS), relates_to="urn:uuid:other"),
            INS,
            "urn:uuid:mine",
        ),
        "right RelatesTo": (
            query_response(*two, relates_to="urn:uuid:mine"),
            INS,
            "urn:uuid:mine",
        ),
        "fault": (FAULT, INS, None),
        "unknown status": (
            query_response(extrinsic_object()).replace(
                f'status="{ebrs.STATUS_SUCCESS}"'.encode(), b'status="urn:x"'
            ),
            INS,
            None,
        ),
        "not a query response": (
            b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
            b"<soap:Body><x/></soap:Body></soap:Envelope>",
            INS,
            None,
        ),
        "truncated": (query_response(*two)[:-200], INS, None),
        "comments and blanks": (
            query_response(*two).replace(b"<ns4:Name>", b"<!-- c --><ns4:Name>\n  <!-- d -->"),
            INS,
            None,
        ),
        "generated, 50 entries": (big_answer.find_documents_answer(50), OFFICIAL_INS, None),
    }


ANSWERS = _answers()


@pytest.mark.parametrize("name", sorted(ANSWERS))
@pytest.mark.parametrize("chunk", [13, 4096, 1 << 20])
def test_streamed_reading_gives_what_the_whole_tree_gives(name: str, chunk: int) -> None:
    data, requested, relates_to = ANSWERS[name]
    whole = _outcome(lambda: _whole(data, requested, relates_to))
    streamed = _outcome(lambda: _streamed(data, requested, relates_to, chunk))
    assert streamed == whole


def test_the_official_answer_streamed() -> None:
    require_shared(DMP_MESSAGES)
    data = (DMP_MESSAGES / big_answer.OFFICIAL_ANSWER).read_bytes()
    whole = _whole(data, OFFICIAL_INS, None)
    assert isinstance(whole, xds.FindDocumentsResult) and len(whole.entries) == 21
    for chunk in (1, 977, 1 << 16):
        assert _streamed(data, OFFICIAL_INS, None, chunk) == whole


def test_entries_of_one_answer_share_their_codes_and_authors() -> None:
    result = xds.read_find_documents(big_answer.find_documents_answer(42), OFFICIAL_INS)
    first, *others = result.entries
    same_template = others[20]  # entry 21 is made of the same official entry as entry 0
    assert same_template.type_code is first.type_code
    assert same_template.main_author is first.main_author


def test_a_list_larger_than_the_buffered_cap_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 64 MiB cap of whole answers does not apply to a streamed list (here 1 MiB vs 2 MB)."""
    monkeypatch.setattr(xmlsafe, "MAX_XML_BYTES", 1 << 20)
    data = big_answer.find_documents_answer(300)
    assert len(data) > xmlsafe.MAX_XML_BYTES
    result = xds.read_find_documents(data, OFFICIAL_INS)
    assert len(result.entries) == result.total == 300
    assert len({e.unique_id for e in result.entries}) == 300


def test_memory_holds_one_entry_at_a_time() -> None:
    parser = xmlsafe.StreamParser(
        [f"{{{ebrs.RIM}}}ExtrinsicObject"], max_bytes=1 << 30, max_gap=1 << 20
    )
    data = big_answer.find_documents_answer(200)
    largest = 0
    for start in range(0, len(data), 8192):
        for element in parser.feed(data[start : start + 8192]):
            root = element.getroottree().getroot()
            xmlsafe.release(element)
            largest = max(largest, sum(1 for _ in root.iter()))
    root, rest = parser.close()
    assert list(rest) == []
    assert largest < 200  # the envelope, one entry being built, the last one released
    assert sum(1 for _ in root.iter()) < 20


def test_too_many_entries_are_refused_with_a_clear_message() -> None:
    reader = xds.FindDocumentsReader(OFFICIAL_INS, max_entries=30)
    with pytest.raises(AnswerTooLargeError) as raised:
        reader.feed(big_answer.find_documents_answer(31))
    message = describe(raised.value)
    assert "30" in message and "Réduisez la période" in message
    assert "illisible" not in message


def test_what_is_not_an_entry_cannot_pile_up() -> None:
    junk = b"<x/>" * 300_000  # 1.2 MB of elements that are not entries, in the header
    data = query_response(extrinsic_object()).replace(b"<soap:Header>", b"<soap:Header>" + junk)
    reader = xds.FindDocumentsReader(INS, max_entry_bytes=1 << 20)
    with pytest.raises(DmpProtocolError, match="too large"):
        for start in range(0, len(data), 65536):
            reader.feed(data[start : start + 65536])
    # With room for it, the same answer is read (the junk is not an entry).
    assert len(_streamed(data, INS, None, 65536).entries) == 1  # type: ignore[attr-defined]


def test_an_entry_outside_the_list_is_refused() -> None:
    entry = f'<w xmlns:ns4="{ebrs.RIM}">{extrinsic_object()}</w>'.encode()
    data = query_response(extrinsic_object()).replace(b"<soap:Header>", b"<soap:Header>" + entry)
    with pytest.raises(DmpProtocolError, match="outside"):
        xds.read_find_documents(data, INS)


@pytest.mark.parametrize("split", [1, 4, 8])
def test_a_doctype_split_between_two_pieces_is_refused(split: int) -> None:
    data = b'<!DOCTYPE x [<!ENTITY a "b">]>' + query_response(extrinsic_object())
    reader = xds.FindDocumentsReader(INS)
    with pytest.raises(DmpProtocolError, match="DTD"):
        reader.feed(data[:split])
        reader.feed(data[split:])


def test_a_utf16_doctype_is_refused_by_the_parsed_document() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]>'
    data = text.encode("utf-16") + query_response(extrinsic_object()).decode().encode("utf-16")[2:]
    with pytest.raises(DmpProtocolError):
        xds.read_find_documents(data, INS)


def test_the_registry_error_wins_over_an_unreadable_entry() -> None:
    failure = registry_error_list(("XDSRegistryError", "Accès refusé", "Error"))
    data = query_response(
        extrinsic_object(service_start="garbage"), status=ebrs.STATUS_FAILURE, errors=failure
    )
    with pytest.raises(DmpServiceError):
        xds.read_find_documents(data, INS)
