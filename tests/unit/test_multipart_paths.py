"""One strict multipart reader on every path: a truncated body is refused everywhere.

The answer is a real MTOM message (built by dmp/mtom.py, as the DMP and the
training host send it); each path is first shown to accept it whole, so the
refusals below cannot come from a message that was never readable.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from dmp_desktop.dmp import mtom, ns, xds
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.soap import read_http_response
from dmp_desktop.domain import DmpState
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from tests.unit.test_dmp_soap import RELATES, td02_answer
from tests.unit.test_dmp_support import INS, doctor, settings
from tests.unit.test_dmp_xds import CONTENT, retrieve_response
from tests.unit.test_dmp_xds_client import _entry, _message_id

CID = "b857abb7-a2c3-4db8-bd69-d5ff76826e72-2@urn:ihe:iti:xds-b:2007"
FAULT = (
    b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
    b"<soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value><soap:Subcode>"
    b"<soap:Value>DMPAccessDenied</soap:Value></soap:Subcode></soap:Code>"
    b'<soap:Reason><soap:Text xml:lang="fr">Acces refuse</soap:Text></soap:Reason>'
    b"</soap:Fault></soap:Body></soap:Envelope>"
)


def _mtom(envelope: bytes, *parts: mtom.MimePart) -> tuple[str, bytes]:
    return mtom.build_mtom(envelope, list(parts), action=xds.ACTION_RETRIEVE_RESPONSE)


def _cuts(body: bytes) -> list[bytes]:
    """Truncations: inside the closing delimiter, just before it, inside the last part."""
    closing = body.rindex(b"--MIMEBoundary_")
    return [body[:-3], body[:closing], body[: closing - 10], body[: len(body) // 2]]


def _client(answer: Callable[[httpx.Request], tuple[int, str, bytes]]) -> DmpClient:
    def handler(request: httpx.Request) -> httpx.Response:
        status, content_type, body = answer(request)
        return httpx.Response(status, content=body, headers={"Content-Type": content_type})

    return DmpClient(httpx.Client(transport=httpx.MockTransport(handler)), settings(), doctor())


# --- the reader under the SOAP layer ------------------------------------------------------------


def test_soap_reader_success_path() -> None:
    content_type, body = _mtom(td02_answer())
    assert read_http_response(200, content_type, body, relates_to=RELATES).body is not None
    for cut in _cuts(body):
        with pytest.raises(DmpProtocolError):
            read_http_response(200, content_type, cut, relates_to=RELATES)


def test_soap_reader_fault_path() -> None:
    content_type, body = _mtom(FAULT)
    with pytest.raises(DmpServiceError):
        read_http_response(500, content_type, body)
    for cut in _cuts(body):
        # A truncated fault is not read as a refusal: the answer is unreadable.
        with pytest.raises(DmpProtocolError):
            read_http_response(500, content_type, cut)


# --- the client: a plain SOAP transaction and an MTOM one ---------------------------------------


def test_client_soap_transaction_path() -> None:
    truncation: list[int | None] = [None]

    def answer(request: httpx.Request) -> tuple[int, str, bytes]:
        content_type, body = _mtom(td02_answer(relates_to=_message_id(request)))
        cut = truncation[0]
        return 200, content_type, body if cut is None else _cuts(body)[cut]

    with _client(answer) as client:
        assert client.test_existence(INS).state is DmpState.ACTIVE
        for index in range(4):
            truncation[0] = index
            with pytest.raises(DmpProtocolError):
                client.test_existence(INS)


def test_client_mtom_transaction_path() -> None:
    entry = _entry()
    truncation: list[int | None] = [None]

    def answer(request: httpx.Request) -> tuple[int, str, bytes]:
        include = f'<xop:Include xmlns:xop="{ns.XOP}" href="{mtom.cid_href(CID)}"/>'
        envelope = retrieve_response(include, relates_to=_message_id(request))
        content_type, body = _mtom(envelope, mtom.MimePart(CID, CONTENT))
        cut = truncation[0]
        return 200, content_type, body if cut is None else _cuts(body)[cut]

    with _client(answer) as client:
        assert client.retrieve_document(entry).content == CONTENT
        for index in range(4):
            truncation[0] = index
            with pytest.raises(DmpProtocolError):
                client.retrieve_document(entry)


def test_client_fault_path() -> None:
    truncation: list[int | None] = [None]

    def answer(request: httpx.Request) -> tuple[int, str, bytes]:
        content_type, body = _mtom(FAULT)
        cut = truncation[0]
        return 400, content_type, body if cut is None else _cuts(body)[cut]

    with _client(answer) as client:
        with pytest.raises(DmpServiceError):
            client.test_existence(INS)
        for index in range(4):
            truncation[0] = index
            with pytest.raises(DmpProtocolError):
                client.test_existence(INS)
