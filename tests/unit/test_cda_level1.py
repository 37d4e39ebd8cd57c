"""Level-1 CDA: a PDF or a text wrapped for the DMP, and unwrapped."""

from __future__ import annotations

import base64

import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.cda import codes
from dmp_desktop.cda.errors import CdaFormatError, EmptyPayloadError, SummaryInvalidError
from dmp_desktop.cda.level1 import (
    FORMAT_CODES,
    Level1Document,
    extract_level1,
    wrap_pdf,
    wrap_text,
)
from tests.conftest import CDA_KIT, require_shared
from tests.support.cda_samples import minimal_pdf, minimal_summary

NS = {"h": codes.NS_HL7}


def document(type_code: str = "11488-4", **kwargs: object) -> Level1Document:
    summary = minimal_summary()
    return Level1Document(
        summary.patient,
        summary.author,
        summary.effective_time,
        type_code,
        document_id="1.2.250.1.999.3.1",
        set_id="1.2.250.1.999.3",
        **kwargs,  # type: ignore[arg-type]
    )


def test_minimal_pdf_is_well_formed() -> None:
    pdf = minimal_pdf()
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert pdf[xref : xref + 4] == b"xref"
    offset = int(pdf[xref:].split(b"\n")[3][:10])
    assert pdf[offset:].startswith(b"1 0 obj")


def test_pdf_round_trip_and_header() -> None:
    pdf = minimal_pdf()
    data = wrap_pdf(document(), pdf)
    assert extract_level1(data) == ("application/pdf", pdf)
    root = xmlsafe.parse(data)
    templates = root.xpath("h:templateId/@root", namespaces=NS)
    assert templates == [
        "2.16.840.1.113883.2.8.2.1",
        "1.2.250.1.213.1.1.1.1",
        "1.3.6.1.4.1.19376.1.2.20",
    ]
    code = root.find("{urn:hl7-org:v3}code")
    assert code is not None
    assert dict(code.attrib) == {
        "code": "11488-4",
        "displayName": "CR ou fiche de consultation ou de visite",
        "codeSystem": "2.16.840.1.113883.6.1",
        "codeSystemName": "LOINC",
    }
    title = root.find("{urn:hl7-org:v3}title")
    assert title is not None and title.text == "CR ou fiche de consultation ou de visite"
    text = root.find("{urn:hl7-org:v3}component/{urn:hl7-org:v3}nonXMLBody/{urn:hl7-org:v3}text")
    assert text is not None
    assert (text.get("mediaType"), text.get("representation")) == ("application/pdf", "B64")
    assert all(len(line) <= 76 for line in (text.text or "").splitlines())
    assert root.xpath("h:legalAuthenticator/h:signatureCode/@code", namespaces=NS) == ["S"]
    assert root.xpath("h:effectiveTime/@value", namespaces=NS) == ["20260312111700+0100"]
    assert FORMAT_CODES["application/pdf"] == "urn:ihe:iti:xds-sd:pdf:2008"


def test_text_round_trip_with_accents() -> None:
    text = "Certificat médical.\nÉlève apte à la pratique du sport, « sans restriction ».\n"
    data = wrap_text(document("CERT_DECL", title="Certificat de non contre-indication"), text)
    assert extract_level1(data) == ("text/plain", text.encode("utf-8"))
    root = xmlsafe.parse(data)
    code = root.find("{urn:hl7-org:v3}code")
    assert code is not None and code.get("codeSystem") == "1.2.250.1.213.1.1.4.12"
    assert code.get("codeSystemName") is None


@pytest.mark.parametrize("payload", [b"", b"   \n"])
def test_empty_pdf_is_refused(payload: bytes) -> None:
    with pytest.raises(EmptyPayloadError):
        wrap_pdf(document(), payload)


@pytest.mark.parametrize("text", ["", " \n\t "])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(EmptyPayloadError):
        wrap_text(document(), text)


def test_not_a_pdf_is_refused() -> None:
    with pytest.raises(CdaFormatError):
        wrap_pdf(document(), b"GIF89a...")


def test_unknown_type_code_and_missing_birthplace_are_refused() -> None:
    with pytest.raises(SummaryInvalidError) as caught:
        wrap_pdf(document("NOT-A-J07-CODE"), minimal_pdf())
    assert [p.path for p in caught.value.problems] == ["type_code"]
    doc = document()
    doc.patient.birthplace_code = None
    with pytest.raises(SummaryInvalidError):
        wrap_pdf(doc, minimal_pdf())


def _with_body(body: bytes) -> bytes:
    data = wrap_text(document(), "x")
    start = data.index(b"<component>")
    return data[:start] + body + b"</ClinicalDocument>\n"


def test_extract_refuses_empty_or_odd_bodies() -> None:
    empty = _with_body(
        b'<component><nonXMLBody><text mediaType="application/pdf" representation="B64">'
        b"</text></nonXMLBody></component>"
    )
    with pytest.raises(EmptyPayloadError):
        extract_level1(empty)
    blank = base64.b64encode(b"   ")
    with pytest.raises(EmptyPayloadError):
        extract_level1(
            _with_body(
                b'<component><nonXMLBody><text representation="B64">'
                + blank
                + b"</text></nonXMLBody></component>"
            )
        )
    corrupt = _with_body(
        b'<component><nonXMLBody><text mediaType="application/pdf" representation="B64">'
        b"%%%notbase64%%%</text></nonXMLBody></component>"
    )
    with pytest.raises(CdaFormatError):
        extract_level1(corrupt)
    reference = _with_body(
        b'<component><nonXMLBody><text mediaType="application/pdf">'
        b'<reference value="file:///etc/passwd"/></text></nonXMLBody></component>'
    )
    with pytest.raises(CdaFormatError):
        extract_level1(reference)
    structured = _with_body(b"<component><structuredBody/></component>")
    with pytest.raises(CdaFormatError):
        extract_level1(structured)


def test_plain_txt_representation_is_read() -> None:
    data = _with_body(
        b'<component><nonXMLBody><text mediaType="text/plain">Bonjour &amp; merci'
        b"</text></nonXMLBody></component>"
    )
    assert extract_level1(data) == ("text/plain", b"Bonjour & merci")


def test_extract_refuses_entities() -> None:
    data = wrap_text(document(), "x")
    hostile = data.replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/hostname">]>',
    )
    with pytest.raises(xmlsafe.UnsafeXmlError):
        extract_level1(hostile)


def test_the_header_is_well_formed_xml_tree() -> None:
    root = xmlsafe.parse(wrap_pdf(document(), minimal_pdf()))
    assert isinstance(root, etree._Element)
    assert root.xpath("count(h:component/h:nonXMLBody)", namespaces=NS) == 1


def test_extract_the_kit_reference_level1_document() -> None:
    path = require_shared(CDA_KIT / "ans" / "ExemplesCDA" / "DOC_NON_STRUCTURE_CDA-R2-N1.xml")
    media_type, payload = extract_level1(path.read_bytes())
    assert media_type == "application/pdf"
    assert payload.startswith(b"%PDF-")
