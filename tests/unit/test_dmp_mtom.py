"""MTOM/XOP: building, reading, and refusing hostile multipart bodies."""

from __future__ import annotations

import base64

import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import mtom, ns
from dmp_desktop.dmp.mtom import MimePart, build_mtom, element_bytes, parse_mtom, xop_include
from dmp_desktop.errors import DmpProtocolError

PDF = b"%PDF-1.4\r\n--not-a-boundary\r\n\x00\x01\x02\xff binary \r\n\r\n%%EOF"
ENVELOPE = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
    b'<Document xmlns="urn:test"><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include"'
    b' href="cid:doc-1%40example.org"/></Document></soap:Body></soap:Envelope>'
)
CT = 'multipart/related; type="application/xop+xml"; boundary="b1"; start="<root@x>"'


def _raw(*parts: bytes, boundary: bytes = b"b1", close: bool = True) -> bytes:
    body = b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts)
    return body + (b"--" + boundary + b"--\r\n" if close else b"")


ROOT_PART = (
    b'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\n'
    b"Content-Transfer-Encoding: binary\r\nContent-ID: <root@x>\r\n\r\n" + ENVELOPE
)


def _doc_part(cid: bytes = b"doc-1@example.org", data: bytes = PDF, extra: bytes = b"") -> bytes:
    return (
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
        + extra
        + b"Content-ID: <"
        + cid
        + b">\r\n\r\n"
        + data
    )


def _document(message: mtom.MtomMessage) -> bytes:
    root = xmlsafe.parse(message.root)
    return element_bytes(root.find(".//{urn:test}Document"), message)


# --- round trip -----------------------------------------------------------------------------------


def test_build_then_parse_round_trip() -> None:
    envelope = etree.Element("{urn:test}Envelope")
    document = etree.SubElement(envelope, "{urn:test}Document")
    cid = mtom.new_content_id()
    xop_include(document, cid)
    content_type, body = build_mtom(
        etree.tostring(envelope), [MimePart(cid, PDF)], action="urn:ihe:iti:2007:Act"
    )
    assert mtom.media_type(content_type) == "multipart/related"
    assert 'type="application/xop+xml"' in content_type
    assert 'start-info="application/soap+xml"' in content_type
    assert 'action="urn:ihe:iti:2007:Act"' in content_type
    message = parse_mtom(content_type, body)
    assert mtom.media_type(message.root_content_type) == "application/xop+xml"
    assert list(message.parts) == [cid]
    assert _document(message) == PDF


def test_official_shape_with_percent_encoded_cid() -> None:
    """The official TD3.2 answer references ``cid:…-2@urn%3Aihe%3Aiti%3Axds-b%3A2007``."""
    cid = "b857abb7-a2c3-4db8-bd69-d5ff76826e72-2@urn:ihe:iti:xds-b:2007"
    assert (
        mtom.cid_href(cid)
        == "cid:b857abb7-a2c3-4db8-bd69-d5ff76826e72-2@urn%3Aihe%3Aiti%3Axds-b%3A2007"
    )
    envelope = ENVELOPE.replace(b"doc-1%40example.org", mtom.cid_href(cid)[4:].encode())
    root = ROOT_PART.replace(ENVELOPE, envelope)
    message = parse_mtom(CT, _raw(root, _doc_part(cid.encode())))
    assert _document(message) == PDF


def test_lf_line_ends_preamble_epilogue_and_folded_headers() -> None:
    body = (
        b"This is a preamble.\n--b1\nContent-Type: application/xop+xml;\n"
        b'\ttype="application/soap+xml"\n'
        b"Content-ID: <root@x>\n\n"
        + ENVELOPE
        + b"\n--b1\n"
        + b"Content-ID: <doc-1@example.org>\n\n"
        + PDF
        + b"\n--b1--\nepilogue"
    )
    message = parse_mtom(CT, body)
    assert _document(message) == PDF


def test_root_is_the_first_part_without_start() -> None:
    ct = 'multipart/related; type="application/xop+xml"; boundary="b1"'
    message = parse_mtom(ct, _raw(ROOT_PART, _doc_part()))
    assert message.root == ENVELOPE


def test_base64_transfer_encoding_is_decoded() -> None:
    encoded = base64.encodebytes(PDF)
    part = _doc_part(data=encoded).replace(b"binary", b"base64")
    assert _document(parse_mtom(CT, _raw(ROOT_PART, part))) == PDF


def test_inline_base64_without_mtom() -> None:
    el = etree.fromstring(f"<Document>{base64.b64encode(PDF).decode()}\n</Document>")
    assert element_bytes(el) == PDF


def test_empty_document_part() -> None:
    assert _document(parse_mtom(CT, _raw(ROOT_PART, _doc_part(data=b"")))) == b""


def test_build_refuses_header_injection_and_duplicates() -> None:
    with pytest.raises(ValueError, match="line breaks"):
        build_mtom(ENVELOPE, [MimePart("a@b\r\nX-Evil: 1", PDF)])
    with pytest.raises(ValueError, match="duplicate"):
        build_mtom(ENVELOPE, [MimePart("a@b", PDF), MimePart("a@b", PDF)])
    with pytest.raises(ValueError, match="boundary"):
        build_mtom(ENVELOPE, [], boundary='bad"boundary')


# --- hostile or broken input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ('multipart/related; type="application/xop+xml"', _raw(ROOT_PART), "boundary"),
        ('multipart/related; boundary="' + "x" * 71 + '"', _raw(ROOT_PART), "boundary"),
        ('multipart/related; boundary="bad\\"q"', _raw(ROOT_PART), "boundary"),
        ("application/soap+xml", _raw(ROOT_PART), "not multipart"),
        (CT, b"no delimiter at all", "without its boundary"),
        (CT, _raw(ROOT_PART, _doc_part(), close=False), "truncated"),
        (CT, b"--b1\r\n" + ROOT_PART, "truncated"),
        (CT, _raw(ROOT_PART).replace(b"--b1\r\n", b"--b1garbage\r\n", 1), "delimiter"),
        (CT, _raw(_doc_part(b"other@x"), _doc_part()), "root part"),
        (CT, _raw(ROOT_PART, _doc_part(), _doc_part()), "duplicate Content-ID"),
        (CT, _raw(ROOT_PART, ROOT_PART), "two root parts"),
        (CT, _raw(ROOT_PART, b"Content-ID <x>\r\n\r\nabc"), "header"),
        (CT, _raw(ROOT_PART, b"Content-ID: <x>\r\nContent-ID: <y>\r\n\r\nabc"), "repeated"),
        (CT, _raw(ROOT_PART, b"X: " + b"a" * 20000 + b"\r\n\r\nabc"), "too large"),
        (CT, _raw(ROOT_PART, b"Content-ID: <x>\r\nabc"), "no blank line"),
        (
            CT,
            _raw(ROOT_PART, _doc_part(extra=b"").replace(b"binary", b"quoted-printable")),
            "transfer encoding",
        ),
        (CT, _raw(ROOT_PART, _doc_part(data=b"!!!").replace(b"binary", b"base64")), "base64"),
        (CT, _raw(ROOT_PART.replace(b"application/xop+xml", b"image/png")), "not XML"),
    ],
)
def test_malformed_multipart_is_refused(content_type: str, body: bytes, message: str) -> None:
    with pytest.raises(DmpProtocolError, match=message):
        parse_mtom(content_type, body)


def test_too_many_parts_are_refused() -> None:
    parts = [_doc_part(f"p{i}@x".encode()) for i in range(mtom.MAX_PARTS + 1)]
    with pytest.raises(DmpProtocolError, match="too many parts"):
        parse_mtom(CT, _raw(ROOT_PART, *parts))


def test_missing_referenced_part() -> None:
    message = parse_mtom(CT, _raw(ROOT_PART, _doc_part(b"someone-else@x")))
    with pytest.raises(DmpProtocolError, match="missing"):
        _document(message)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (f'<D><xop:Include xmlns:xop="{ns.XOP}" href="http://evil/x"/></D>', "reference"),
        (f'<D><xop:Include xmlns:xop="{ns.XOP}"/></D>', "without href"),
        (f'<D>QUJD<xop:Include xmlns:xop="{ns.XOP}" href="cid:doc-1@example.org"/></D>', "mixed"),
        (
            f'<D><xop:Include xmlns:xop="{ns.XOP}" href="cid:a"/>'
            f'<xop:Include xmlns:xop="{ns.XOP}" href="cid:b"/></D>',
            "unexpected",
        ),
        ("<D><other/></D>", "unexpected"),
        ("<D>not base64 at all!</D>", "base64"),
    ],
)
def test_bad_binary_elements(xml: str, message: str) -> None:
    included = parse_mtom(CT, _raw(ROOT_PART, _doc_part()))
    with pytest.raises(DmpProtocolError, match=message):
        element_bytes(etree.fromstring(xml), included)


def test_xop_include_outside_mtom_is_refused() -> None:
    el = etree.fromstring(
        f'<D><xop:Include xmlns:xop="{ns.XOP}" href="cid:doc-1@example.org"/></D>'
    )
    with pytest.raises(DmpProtocolError, match="not MTOM"):
        element_bytes(el, None)
