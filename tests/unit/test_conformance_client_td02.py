"""TD0.2 against the official material: schemas and the CNAM's example messages.

(a) the SOAP body the client sends validates against PRPA_IN201307UV02.xsd;
(b) its envelope has the official request's shape (same elements, same order,
    same attribute names; same VIHF attribute names);
(c) the official answer reads as ACTIVE / VALIDE / médecin traitant;
(d) variants derived from the official answer (NF, INTERDIT, closed, minor and
    secret connection) are schema-valid and read as expected;
(e) the four official VIHF examples read with parse_vihf.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.soap import parse_envelope
from dmp_desktop.dmp.td02 import (
    CLOSURE_REASON_PATIENT_REQUEST,
    KEYWORD_MINOR,
    KEYWORD_SECRET_CONNECTION,
    OID_CLOSURE_REASON,
    STATUS_CLOSED,
    parse_td02_response,
)
from dmp_desktop.dmp.vihf import parse_vihf
from dmp_desktop.domain import Authorization, DmpState, DmpStatus, Ins, InsKind
from dmp_desktop.errors import HostUnreachableError
from tests.conftest import DMP_MESSAGES, DMP_SCHEMAS, require_shared
from tests.unit.test_dmp_support import INS, doctor, settings

REQUEST_EXAMPLE = "TD0.2 - Test d'existence_requête.xml"
RESPONSE_EXAMPLE = "TD0.2 - Test d'existence_réponse.xml"
VIHF_DIR = "Exemples Jeton VIHF"
MULTICACHE = Path("HL7V3") / "NE2009" / "multicacheschemas"
H = "{urn:hl7-org:v3}"
XSI_TYPE = f"{{{ns.XSI}}}type"

# The INS of the official examples (test NIR authority).
OFFICIAL_INS = Ins("207058575627097", InsKind.TEST_NIR)


def _schema(name: str) -> etree.XMLSchema:
    path = require_shared(DMP_SCHEMAS / MULTICACHE / name)
    # Trusted, local schema files (official annex): lxml resolves the includes offline.
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


@pytest.fixture(scope="module")
def request_schema() -> etree.XMLSchema:
    return _schema("PRPA_IN201307UV02.xsd")


@pytest.fixture(scope="module")
def response_schema() -> etree.XMLSchema:
    return _schema("PRPA_IN201308UV02.xsd")


def _official(name: str) -> bytes:
    return require_shared(DMP_MESSAGES / name).read_bytes()


def _body(envelope: etree._Element) -> etree._Element:
    body = envelope.find(f"{{{ns.SOAP12}}}Body")
    assert body is not None
    return next(el for el in body if isinstance(el.tag, str))


def _validate(schema: etree.XMLSchema, element: etree._Element) -> None:
    doc = etree.ElementTree(copy.deepcopy(element))
    assert schema.validate(doc), "\n".join(str(e) for e in schema.error_log)


def _client_request() -> bytes:
    """The exact bytes the client posts for TD0.2 (the answer is irrelevant here)."""
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(503)

    client = DmpClient(httpx.Client(transport=httpx.MockTransport(handler)), settings(), doctor())
    with pytest.raises(HostUnreachableError):  # only the request matters here
        client.test_existence(INS)
    client.close()
    return sent[0]


@pytest.fixture(scope="module")
def sent_envelope() -> etree._Element:
    return xmlsafe.parse(_client_request())


# --- (a) schema ---------------------------------------------------------------------------------


def test_official_request_body_validates(request_schema: etree.XMLSchema) -> None:
    """Sanity: the schema accepts the official example, so a failure below is ours."""
    _validate(request_schema, _body(xmlsafe.parse(_official(REQUEST_EXAMPLE))))


def test_client_request_body_validates_against_official_schema(
    request_schema: etree.XMLSchema, sent_envelope: etree._Element
) -> None:
    _validate(request_schema, _body(sent_envelope))


# --- (b) shape ----------------------------------------------------------------------------------


def _shape(el: etree._Element, depth: int = 0) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(depth, tag, sorted attribute names) of every element, in document order."""
    yield depth, el.tag, tuple(sorted(el.attrib))
    for node in el:
        if isinstance(node.tag, str):
            yield from _shape(node, depth + 1)


def test_body_has_the_official_shape(sent_envelope: etree._Element) -> None:
    official = _body(xmlsafe.parse(_official(REQUEST_EXAMPLE)))
    assert list(_shape(_body(sent_envelope))) == list(_shape(official))


def _header_shape(envelope: etree._Element) -> list[tuple[int, str, tuple[str, ...]]]:
    header = envelope.find(f"{{{ns.SOAP12}}}Header")
    assert header is not None
    shape = []
    for node in header:
        if not isinstance(node.tag, str):
            continue
        if node.tag == f"{{{ns.WSSE}}}Security":
            # The assertion is compared on its own below.
            shape.append((0, node.tag, tuple(sorted(node.attrib))))
            shape.extend((1, child.tag, ()) for child in node if isinstance(child.tag, str))
        else:
            shape.extend(_shape(node))
    return shape


def test_headers_have_the_official_shape(sent_envelope: etree._Element) -> None:
    official = xmlsafe.parse(_official(REQUEST_EXAMPLE))
    assert _header_shape(sent_envelope) == _header_shape(official)
    assert sent_envelope.tag == official.tag
    assert [c.tag for c in sent_envelope] == [c.tag for c in official if isinstance(c.tag, str)]


def test_headers_carry_the_request_addressing(sent_envelope: etree._Element) -> None:
    wsa = f"{{{ns.WSA}}}"
    header = sent_envelope.find(f"{{{ns.SOAP12}}}Header")
    assert header is not None
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", header.findtext(f"{wsa}MessageID") or "")
    assert header.findtext(f"{wsa}To") == "https://dmp.test:8443/si-dmp-server/v2/services/patients"
    assert header.findtext(f"{wsa}Action") == ns.ACTION_TD02
    assert header.find(f"{wsa}Action").get("mustUnderstand") == "true"
    reply_to = header.find(f"{wsa}ReplyTo")
    assert reply_to.get("mustUnderstand") == "true"
    assert reply_to.findtext(f"{wsa}Address") == ns.WSA_ANONYMOUS


def _assertion(envelope: etree._Element) -> etree._Element:
    found = envelope.find(f".//{{{ns.WSSE}}}Security/{{{ns.SAML2}}}Assertion")
    assert found is not None
    return found


def _attribute_names(assertion: etree._Element) -> list[str]:
    return [a.get("Name") for a in assertion.iter(f"{{{ns.SAML2}}}Attribute")]


def test_vihf_has_the_official_shape(sent_envelope: etree._Element) -> None:
    ours = _assertion(sent_envelope)
    official = _assertion(xmlsafe.parse(_official(REQUEST_EXAMPLE)))
    assert [c.tag for c in ours] == [c.tag for c in official]
    assert sorted(ours.attrib) == sorted(official.attrib)
    names = _attribute_names(ours)
    official_names = _attribute_names(official)
    # Same names in the same order as the official direct-mode request: no subject-id
    # (only the indirect tokens carry it; in direct mode the card names the professional).
    assert names == official_names


def test_vihf_coded_values_have_the_official_shape(sent_envelope: etree._Element) -> None:
    def coded(assertion: etree._Element) -> list[tuple[str, tuple[str, ...], str | None]]:
        out = []
        for value in assertion.iter(f"{{{ns.SAML2}}}AttributeValue"):
            for inner in value:
                out.append((inner.tag, tuple(sorted(inner.attrib)), inner.get(XSI_TYPE)))
            if len(value) == 0:
                out.append((value.tag, tuple(sorted(value.attrib)), value.get(XSI_TYPE)))
        return out

    official = _assertion(xmlsafe.parse(_official(REQUEST_EXAMPLE)))
    ours = coded(_assertion(sent_envelope))
    theirs = coded(official)
    assert ours == theirs


def test_client_vihf_reads_back_with_parse_vihf(sent_envelope: etree._Element) -> None:
    claims = parse_vihf(_assertion(sent_envelope))
    assert claims.name_id == "899700433153"
    assert claims.auth_mode == "DIRECTE"
    assert claims.patient_ins() == INS
    assert claims.purpose_of_use == "normal"
    assert claims.role_codes("1.2.250.1.71.1.2.7") == ["10"]
    assert claims.structure_id == "499700433153007"
    assert claims.signed is False


# --- (c) the official answer --------------------------------------------------------------------


def test_official_response_reads_active_valid_treating_physician() -> None:
    answer = parse_envelope(_official(RESPONSE_EXAMPLE), expected_action=ns.ACTION_TD02_RESPONSE)
    status = parse_td02_response(answer.body, requested=OFFICIAL_INS)
    assert status == DmpStatus(
        ins=OFFICIAL_INS,
        state=DmpState.ACTIVE,
        authorization=Authorization.VALIDE,
        treating_physician=True,
        patient_family_name="patb-quatre",
        patient_given_name="LAURENCE",
        patient_birth_date=date(1907, 5, 25),
        patient_gender="M",
        observations={"COMPTE_INTERNET_OUVERT": "true", "RATTACHEMENT_ENS": "false"},
    )


def test_official_response_reads_without_the_requested_ins() -> None:
    answer = parse_envelope(_official(RESPONSE_EXAMPLE))
    assert parse_td02_response(answer.body).ins == OFFICIAL_INS


def test_official_response_through_the_client() -> None:
    """The whole client path, the official answer echoing our message id."""
    official = _official(RESPONSE_EXAMPLE)

    def handler(request: httpx.Request) -> httpx.Response:
        message_id = re.search(rb"<MessageID[^>]*>([^<]+)<", request.content)
        assert message_id is not None
        body = re.sub(
            rb"(<RelatesTo[^>]*>)[^<]+(<)", rb"\g<1>" + message_id.group(1) + rb"\g<2>", official
        )
        return httpx.Response(200, content=body, headers={"Content-Type": ns.SOAP12_CONTENT_TYPE})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with DmpClient(http, settings(), doctor()) as client:
        status = client.test_existence(OFFICIAL_INS)
    assert (status.state, status.authorization, status.treating_physician) == (
        DmpState.ACTIVE,
        Authorization.VALIDE,
        True,
    )


def test_official_consultation_answer_reads_too() -> None:
    """TD1.3a answers with the same interaction (no attention lines)."""
    answer = parse_envelope(_official("TD1.3a - Consultation_réponse.xml"))
    status = parse_td02_response(answer.body, requested=OFFICIAL_INS)
    assert status.state is DmpState.ACTIVE
    assert status.authorization is None
    assert status.observations["OPPOSITION_BRIS_DE_GLACE"] == "false"


# --- (d) variants of the official answer --------------------------------------------------------


def _official_body() -> etree._Element:
    return copy.deepcopy(_body(xmlsafe.parse(_official(RESPONSE_EXAMPLE))))


def _attention(body: etree._Element, keyword: str) -> etree._Element:
    for line in body.findall(f"{H}attentionLine"):
        if line.find(f"{H}keyWordText").get("code") == keyword:
            return line
    raise AssertionError(keyword)


def _patient(body: etree._Element) -> etree._Element:
    found = body.find(
        f"{H}controlActProcess/{H}subject/{H}registrationEvent/{H}subject1/{H}patient"
    )
    assert found is not None
    return found


def _check(schema: etree.XMLSchema, body: etree._Element) -> DmpStatus:
    _validate(schema, body)
    return parse_td02_response(body, requested=OFFICIAL_INS)


def test_variant_not_found(response_schema: etree.XMLSchema) -> None:
    body = _official_body()
    cap = body.find(f"{H}controlActProcess")
    cap.remove(cap.find(f"{H}subject"))
    cap.find(f"{H}queryAck/{H}queryResponseCode").set("code", "NF")
    _attention(body, "AUTORISATION").find(f"{H}value").set("code", "NON_EXISTE")
    body.remove(_attention(body, "STATUT_MT"))
    status = _check(response_schema, body)
    assert status == DmpStatus(
        ins=OFFICIAL_INS, state=DmpState.NONE, authorization=Authorization.NON_EXISTE
    )


@pytest.mark.parametrize("code", ["INTERDIT", "EXPIRE", "NON_EXISTE"])
def test_variant_authorisation(response_schema: etree.XMLSchema, code: str) -> None:
    body = _official_body()
    _attention(body, "AUTORISATION").find(f"{H}value").set("code", code)
    _attention(body, "STATUT_MT").find(f"{H}value").set("value", "false")
    status = _check(response_schema, body)
    assert status.state is DmpState.ACTIVE
    assert status.authorization is Authorization(code)
    assert status.treating_physician is False


def test_variant_closed(response_schema: etree.XMLSchema) -> None:
    body = _official_body()
    _patient(body).find(f"{H}statusCode").set("code", STATUS_CLOSED)
    event = body.find(f"{H}controlActProcess/{H}subject/{H}registrationEvent")
    effective = etree.Element(f"{H}effectiveTime", value="20240315103000")
    event.find(f"{H}statusCode").addnext(effective)
    cap = body.find(f"{H}controlActProcess")
    reason_of = etree.Element(f"{H}reasonOf", typeCode="RSON")
    issue = etree.SubElement(reason_of, f"{H}detectedIssueEvent", classCode="ALRT", moodCode="EVN")
    etree.SubElement(
        issue, f"{H}code", code=CLOSURE_REASON_PATIENT_REQUEST, codeSystem=OID_CLOSURE_REASON
    )
    etree.SubElement(issue, f"{H}text").text = "Fermeture à la demande du patient"
    cap.find(f"{H}queryAck").addprevious(reason_of)
    status = _check(response_schema, body)
    assert status.state is DmpState.CLOSED
    assert status.closure_date == date(2024, 3, 15)
    assert status.closure_reason == CLOSURE_REASON_PATIENT_REQUEST
    assert "fermé le 15/03/2024" in status.summary_fr()


def test_variant_minor_from_birth_time(response_schema: etree.XMLSchema) -> None:
    """A minor is read from the official field (birthTime), not from invented keywords."""
    body = _official_body()
    _patient(body).find(f"{H}patientPerson/{H}birthTime").set("value", "20150101")
    status = _check(response_schema, body)
    assert status.minor is True
    assert status.secret_connection is False  # a request-side declaration, never answered
    assert "Patient mineur" in status.summary_fr()


def test_official_answer_is_an_adult(response_schema: etree.XMLSchema) -> None:
    body = _official_body()
    for keyword in (KEYWORD_MINOR, KEYWORD_SECRET_CONNECTION):  # the former training keywords
        line = copy.deepcopy(_attention(body, "STATUT_MT"))
        line.find(f"{H}keyWordText").set("code", keyword)
        body.find(f"{H}acknowledgement").addprevious(line)
    status = _check(response_schema, body)
    assert (status.minor, status.secret_connection) == (False, False)


# --- (e) the official VIHF examples -------------------------------------------------------------


def _read_vihf_example(name: str) -> etree._Element:
    data = _official(f"{VIHF_DIR}/{name}")
    try:
        return xmlsafe.parse(data)
    except xmlsafe.UnsafeXmlError:
        # Two examples are ISO-8859-1 without an XML declaration (SOURCES.md).
        return xmlsafe.parse(data.decode("iso-8859-1").encode("utf-8"))


@pytest.mark.parametrize(
    ("name", "mode", "signed", "structure", "subject"),
    [
        ("VIHF_DIRECTE_non signé.xml", "DIRECTE", False, "499900063480001", None),
        ("VIHF_DIRECTE_signé.xml", "DIRECTE", True, "499900063480001", None),
        ("VIHF_INDIRECTE_signé.xml", "INDIRECTE", True, "339172288100052", "MAX LIBRE"),
        (
            "VIHF_INDIRECTE_RENFORCEE_signé.xml",
            "INDIRECTE_RENFORCEE",
            True,
            "10B0127189",
            "MAX LIBRE",
        ),
    ],
)
def test_official_vihf_examples_parse(
    name: str, mode: str, signed: bool, structure: str, subject: str | None
) -> None:
    claims = parse_vihf(_read_vihf_example(name))
    assert claims.name_id == "899900063480"
    assert claims.auth_mode == mode
    assert claims.signed is signed
    assert claims.structure_id == structure
    assert claims.subject_name == subject
    assert claims.issuer and claims.issuer.startswith("CN=")
    assert claims.issuer_format == ns.SAML_X509_SUBJECT_NAME
    assert claims.authn_context == ns.AC_SMARTCARD_PKI
    assert claims.role_codes("1.2.250.1.71.1.2.7") == ["10"]
    assert claims.role_codes("1.2.250.1.71.4.2.5") == ["SM26"]
    assert claims.purpose_of_use == "normal"
    assert claims.purpose_code_system == "1.2.250.1.213.1.1.4.248"
    assert (claims.ins_value, claims.ins_root) == ("207058575627097", "1.2.250.1.213.1.4.10")
    assert claims.patient_ins() == OFFICIAL_INS
    assert claims.activity_sector_code == "SA07"
    assert claims.vihf_version == "3.0"
    assert claims.resource_urn == "urn:dmp"
    assert claims.lps_homologation_id == "NumAutorisation"
    assert claims.issue_instant is not None and claims.issue_instant.year in (2019, 2020)


def test_official_request_vihf_parses() -> None:
    claims = parse_vihf(_assertion(xmlsafe.parse(_official(REQUEST_EXAMPLE))))
    assert claims.name_id == "899900063480"
    assert claims.lps_name == "LPS GIE-SV"
    assert claims.attribute("authentification_MODE") == "DIRECTE"
