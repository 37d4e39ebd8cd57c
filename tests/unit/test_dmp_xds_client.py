"""DmpClient.find_documents / retrieve_document over httpx.MockTransport."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import httpx
import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ebrs, mtom, ns, xds
from dmp_desktop.dmp.client import ATTR_EMERGENCY_REASON, DmpClient
from dmp_desktop.dmp.vihf import ATTR_PURPOSE_OF_USE, parse_vihf
from dmp_desktop.domain.document import DocumentEntry, DocumentQuery, DocumentStatus
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from tests.unit.test_dmp_support import INS, doctor, settings
from tests.unit.test_dmp_xds import (
    CONTENT,
    extrinsic_object,
    query_response,
    registry_error_list,
    retrieve_response,
)

Handler = Callable[[httpx.Request], httpx.Response]
BASE = "https://dmp.test:8443/si-dmp-server/v2/services/"
SOAP_CT = {"Content-Type": "application/soap+xml; charset=utf-8"}


def _message_id(request: httpx.Request) -> str:
    found = re.search(rb"<MessageID[^>]*>([^<]+)</MessageID>", request.content)
    assert found is not None
    return found.group(1).decode()


def _client(handler: Handler) -> DmpClient:
    return DmpClient(httpx.Client(transport=httpx.MockTransport(handler)), settings(), doctor())


def _vihf_of(request: httpx.Request) -> etree._Element:
    return xmlsafe.parse(request.content).find(f".//{{{ns.WSSE}}}Security/{{{ns.SAML2}}}Assertion")


def _find(
    *objects: str, query: DocumentQuery | None = None, **kwargs: object
) -> tuple[list[DocumentEntry], list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = query_response(*objects, relates_to=_message_id(request))
        return httpx.Response(200, content=body, headers=SOAP_CT)

    with _client(handler) as client:
        entries = client.find_documents(query or DocumentQuery(patient=INS), **kwargs)  # type: ignore[arg-type]
    return entries, seen


def _entry(**changes: object) -> DocumentEntry:
    entries, _ = _find(extrinsic_object(**changes))  # type: ignore[arg-type]
    return entries[0]


# --- find_documents -------------------------------------------------------------------------------


def test_find_documents_posts_the_stored_query() -> None:
    entries, (request,) = _find(
        extrinsic_object(unique_id="1.1"),
        extrinsic_object(unique_id="1.2", confidentiality=("MASQUE_PS",)),
    )
    assert [e.unique_id for e in entries] == ["1.1"]  # masked: not asked for
    assert str(request.url) == BASE + "registry"
    assert request.headers["content-type"] == (
        'application/soap+xml; charset=utf-8; action="urn:ihe:iti:2007:RegistryStoredQuery"'
    )
    envelope = xmlsafe.parse(request.content)
    action = envelope.find(f"{{{ns.SOAP12}}}Header/{{{ns.WSA}}}Action")
    assert action.text == xds.ACTION_FIND
    body = envelope.find(f"{{{ns.SOAP12}}}Body/{{{ebrs.QUERY}}}AdhocQueryRequest")
    assert body is not None
    claims = parse_vihf(_vihf_of(request))
    assert claims.patient_ins() == INS
    assert claims.purpose_of_use == "normal"
    assert claims.attribute(ATTR_EMERGENCY_REASON) is None


def test_masked_documents_when_asked() -> None:
    entries, _ = _find(
        extrinsic_object(unique_id="1.2", confidentiality=("MASQUE_PS",)),
        query=DocumentQuery(patient=INS, include_masked=True),
    )
    assert [e.unique_id for e in entries] == ["1.2"]


def test_query_documents_keeps_warnings() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = query_response(
            extrinsic_object(),
            status=ebrs.STATUS_PARTIAL_SUCCESS,
            errors=registry_error_list(("XDSRegistryBusy", "partiel", "Warning")),
            relates_to=_message_id(request),
        )
        return httpx.Response(200, content=body, headers=SOAP_CT)

    with _client(handler) as client:
        result = client.query_documents(DocumentQuery(patient=INS))
    assert len(result.entries) == 1
    assert [w.code for w in result.warnings] == ["XDSRegistryBusy"]


@pytest.mark.parametrize("purpose", ["bris_de_glace", "centre_15"])
def test_emergency_reason_goes_into_the_vihf(purpose: str) -> None:
    _, (request,) = _find(
        extrinsic_object(), purpose=purpose, reason="  Patient inconscient\n aux urgences "
    )
    assertion = _vihf_of(request)
    claims = parse_vihf(assertion)
    assert claims.purpose_of_use == purpose
    assert claims.attribute(ATTR_EMERGENCY_REASON) == "Patient inconscient aux urgences"
    names = [a.get("Name") for a in assertion.iter(f"{{{ns.SAML2}}}Attribute")]
    assert names[names.index(ATTR_PURPOSE_OF_USE) + 1] == ATTR_EMERGENCY_REASON


def test_centre_15_without_reason_sends_none() -> None:
    _, (request,) = _find(extrinsic_object(), purpose="centre_15")
    assert parse_vihf(_vihf_of(request)).attribute(ATTR_EMERGENCY_REASON) is None


def test_reason_is_not_sent_for_normal_access() -> None:
    _, (request,) = _find(extrinsic_object(), reason="curiosité")
    assert parse_vihf(_vihf_of(request)).attribute(ATTR_EMERGENCY_REASON) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"purpose": "bris_de_glace"}, "reason"),
        ({"purpose": "bris_de_glace", "reason": "   "}, "reason"),
        ({"purpose": "bris_de_glace", "reason": "x" * 501}, "500"),
        ({"purpose": "curiosity"}, "purpose"),
    ],
)
def test_invalid_emergency_requests_are_not_sent(kwargs: dict[str, str], message: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover - never called
        seen.append(request)
        return httpx.Response(500)

    with _client(handler) as client, pytest.raises(ValueError, match=message):
        client.find_documents(DocumentQuery(patient=INS), **kwargs)  # type: ignore[arg-type]
    assert seen == []


def test_registry_refusal_is_a_service_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = query_response(
            status=ebrs.STATUS_FAILURE,
            errors=registry_error_list(("DMPAccessDenied", "Accès refusé", "Error")),
            relates_to=_message_id(request),
        )
        return httpx.Response(200, content=body, headers=SOAP_CT)

    with _client(handler) as client, pytest.raises(DmpServiceError) as raised:
        client.find_documents(DocumentQuery(patient=INS))
    assert raised.value.code == "DMPAccessDenied"


def test_answer_about_another_request_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = query_response(relates_to="urn:uuid:someone-else")
        return httpx.Response(200, content=body, headers=SOAP_CT)

    with _client(handler) as client, pytest.raises(DmpProtocolError, match="another request"):
        client.find_documents(DocumentQuery(patient=INS))


# --- retrieve_document ----------------------------------------------------------------------------


def _retrieving(answer: Callable[[httpx.Request], httpx.Response]) -> tuple[bytes, httpx.Request]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    entry = _entry()
    with _client(handler) as client:
        document = client.retrieve_document(entry)
    assert (document.unique_id, document.repository_id) == (entry.unique_id, entry.repository_id)
    return document.content, seen[0]


def _mtom_answer(request: httpx.Request, content: bytes = CONTENT) -> httpx.Response:
    cid = "b857abb7-a2c3-4db8-bd69-d5ff76826e72-2@urn:ihe:iti:xds-b:2007"
    include = f'<xop:Include xmlns:xop="{ns.XOP}" href="{mtom.cid_href(cid)}"/>'
    envelope = retrieve_response(include, relates_to=_message_id(request))
    content_type, body = mtom.build_mtom(
        envelope, [mtom.MimePart(cid, content)], action=xds.ACTION_RETRIEVE_RESPONSE
    )
    return httpx.Response(200, content=body, headers={"Content-Type": content_type})


def test_retrieve_over_mtom() -> None:
    content, request = _retrieving(_mtom_answer)
    assert content == CONTENT
    assert str(request.url) == BASE + "repository"
    assert 'action="urn:ihe:iti:2007:RetrieveDocumentSet"' in request.headers["content-type"]
    body = xmlsafe.parse(request.content).find(
        f"{{{ns.SOAP12}}}Body/{{{xds.XDSB}}}RetrieveDocumentSetRequest"
    )
    assert body.findtext(f"{{{xds.XDSB}}}DocumentRequest/{{{xds.XDSB}}}DocumentUniqueId") == (
        "1.2.250.1.999.1.1.42"
    )
    assert parse_vihf(_vihf_of(request)).patient_ins() == INS


def test_retrieve_inline_base64() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = retrieve_response(
            base64.b64encode(CONTENT).decode(), relates_to=_message_id(request)
        )
        return httpx.Response(200, content=body, headers=SOAP_CT)

    assert _retrieving(answer)[0] == CONTENT


def test_retrieve_with_emergency_reason() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _mtom_answer(request)

    entry = _entry()
    with _client(handler) as client:
        client.retrieve_document(entry, purpose="bris_de_glace", reason="Coma")
    claims = parse_vihf(_vihf_of(seen[0]))
    assert (claims.purpose_of_use, claims.attribute(ATTR_EMERGENCY_REASON)) == (
        "bris_de_glace",
        "Coma",
    )


def test_retrieved_bytes_must_match_the_registry() -> None:
    entry = _entry()

    def handler(request: httpx.Request) -> httpx.Response:
        return _mtom_answer(request, content=CONTENT.upper())

    with _client(handler) as client, pytest.raises(DmpProtocolError, match="hash"):
        client.retrieve_document(entry)


def test_document_missing_from_the_answer() -> None:
    entry = _entry()

    def handler(request: httpx.Request) -> httpx.Response:
        body = retrieve_response("QUJD", unique_id="9.9.9", relates_to=_message_id(request))
        return httpx.Response(200, content=body, headers=SOAP_CT)

    with _client(handler) as client, pytest.raises(DmpProtocolError, match="missing"):
        client.retrieve_document(entry)


def test_unknown_document() -> None:
    entry = _entry()

    def handler(request: httpx.Request) -> httpx.Response:
        body = retrieve_response(
            "",
            status=ebrs.STATUS_FAILURE,
            errors=registry_error_list(("XDSDocumentUniqueIdError", "inconnu", "Error")),
            relates_to=_message_id(request),
        )
        return httpx.Response(200, content=body, headers=SOAP_CT)

    with _client(handler) as client, pytest.raises(DmpServiceError) as raised:
        client.retrieve_document(entry)
    assert raised.value.code == "XDSDocumentUniqueIdError"


def test_soap_fault_over_mtom_call() -> None:
    entry = _entry()
    fault = b"""<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>
<soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value><soap:Subcode>
<soap:Value>DMPAccessDenied</soap:Value></soap:Subcode></soap:Code>
<soap:Reason><soap:Text xml:lang="fr">Acces refuse</soap:Text></soap:Reason></soap:Fault>
</soap:Body></soap:Envelope>"""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, content=fault, headers=SOAP_CT)

    with _client(handler) as client, pytest.raises(DmpServiceError, match="DMPAccessDenied"):
        client.retrieve_document(entry)


def test_broken_mtom_answer() -> None:
    entry = _entry()

    def handler(request: httpx.Request) -> httpx.Response:
        response = _mtom_answer(request)
        truncated = response.content[: len(response.content) - 20]
        return httpx.Response(200, content=truncated, headers=dict(response.headers))

    with _client(handler) as client, pytest.raises(DmpProtocolError, match="truncated"):
        client.retrieve_document(entry)


def test_statuses_of_the_query_reach_the_wire() -> None:
    query = DocumentQuery(
        patient=INS, statuses=frozenset({DocumentStatus.APPROVED, DocumentStatus.ARCHIVED})
    )
    entries, (request,) = _find(
        extrinsic_object(unique_id="1.1", status=DocumentStatus.ARCHIVED.value), query=query
    )
    assert [e.status for e in entries] == [DocumentStatus.ARCHIVED]
    assert b"StatusType:Archived" in request.content


# --- a long list, streamed ------------------------------------------------------------------------


class _Pieces(httpx.SyncByteStream):
    """An answer delivered in small pieces, as the network does; counts what was read."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size, self.read = data, size, 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        for start in range(0, len(self.data), self.size):
            self.read += min(self.size, len(self.data) - start)
            yield self.data[start : start + self.size]


def test_a_long_list_is_read_as_it_arrives(monkeypatch: pytest.MonkeyPatch) -> None:
    """Larger than the cap of whole answers (lowered here), read piece by piece."""
    monkeypatch.setattr(xmlsafe, "MAX_XML_BYTES", 64 * 1024)
    objects = [
        extrinsic_object(unique_id=f"1.2.{n}", entry_uuid=f"urn:uuid:{n}") for n in range(150)
    ]
    streams: list[_Pieces] = []

    def handler(request: httpx.Request) -> httpx.Response:
        stream = _Pieces(query_response(*objects, relates_to=_message_id(request)), 1500)
        streams.append(stream)
        return httpx.Response(200, stream=stream, headers=SOAP_CT)

    with _client(handler) as client:
        entries = client.find_documents(DocumentQuery(patient=INS))
    assert [e.unique_id for e in entries] == [f"1.2.{n}" for n in range(150)]
    assert streams[0].read == len(streams[0].data) > xmlsafe.MAX_XML_BYTES


def test_a_fault_on_a_list_is_a_service_error_whatever_the_status() -> None:
    fault = (
        b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
        b"<soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value><soap:Subcode>"
        b"<soap:Value>DMPAccessDenied</soap:Value></soap:Subcode></soap:Code><soap:Reason>"
        b'<soap:Text xml:lang="fr">refus</soap:Text></soap:Reason></soap:Fault>'
        b"</soap:Body></soap:Envelope>"
    )
    for status in (200, 500):
        with _client(lambda _r, s=status: httpx.Response(s, content=fault, headers=SOAP_CT)) as c:
            with pytest.raises(DmpServiceError) as raised:
                c.find_documents(DocumentQuery(patient=INS))
        assert raised.value.code == "DMPAccessDenied"


def test_a_list_in_a_multipart_answer_is_read_too() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        envelope = query_response(extrinsic_object(), relates_to=_message_id(request))
        content_type, body = mtom.build_mtom(envelope, [], action=xds.ACTION_FIND_RESPONSE)
        return httpx.Response(200, content=body, headers={"Content-Type": content_type})

    with _client(handler) as client:
        assert len(client.find_documents(DocumentQuery(patient=INS))) == 1
