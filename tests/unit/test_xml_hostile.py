"""Hostile XML against every parser, client and host side.

External entities (file and network), parameter entities, external DTDs,
entity bombs (billion laughs, quadratic blow-up), UTF-16 variants that hide
``<!DOCTYPE`` from a byte search, XInclude, stylesheet and schema locations,
very deep nesting, oversized input: each parser refuses with its typed error
(or ignores the construct), quickly, without reading the canary file and
without opening any connection. Hostile constructs are also planted inside
real answers (official and the training host's), requests and CDA documents.

A static check proves there is no other XML parser in the code than
:mod:`dmp_desktop.xmlsafe`.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dmp_desktop import xmlsafe
from dmp_desktop.cda.errors import CdaError
from dmp_desktop.cda.level1 import extract_level1, wrap_pdf
from dmp_desktop.cda.render import render_html
from dmp_desktop.cda.vsm import parse_vsm
from dmp_desktop.dmp import xades, xds
from dmp_desktop.dmp.mtom import MimePart, build_mtom, parse_mtom
from dmp_desktop.dmp.soap import parse_envelope, read_http_response
from dmp_desktop.domain.document import RetrievedDocument
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from dmp_desktop.services.viewable import prepare
from dmp_sandbox.auth import CertIdentity
from dmp_sandbox.host import DmpHost, HostResponse, TraceContext
from dmp_sandbox.store import Store
from dmp_sandbox.xades_verify import SubmissionSignatureError, read_unverified
from tests.support.cda_samples import minimal_pdf, minimal_summary
from tests.support.hostile import (
    CANARY,
    REFUSED_BY_XMLSAFE,
    Listener,
    canary_file,
    hostile_documents,
)
from tests.support.seeds import (
    DURAND,
    SOAP_CT,
    STRUCTURE_ID,
    Answer,
    cda_documents,
    host_answers,
    official_answers,
)

ROOT = Path(__file__).resolve().parents[2]
TYPED = (DmpProtocolError, DmpServiceError, xmlsafe.UnsafeXmlError, CdaError)


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, listener: Listener) -> dict[str, bytes]:
    secret = canary_file(tmp_path_factory.mktemp("canary"))
    return hostile_documents(secret, listener.url)


def _mtom(envelope: bytes) -> tuple[str, bytes]:
    return build_mtom(envelope, [MimePart("doc@dmp.formation", b"%PDF-1.4 x")])


def _read_mtom(envelope: bytes) -> object:
    content_type, body = _mtom(envelope)
    return parse_envelope(parse_mtom(content_type, body).root)


def _read_multipart_as_soap(envelope: bytes) -> object:
    content_type, body = _mtom(envelope)
    return read_http_response(200, content_type, body)


CLIENT_PARSERS: dict[str, Callable[[bytes], object]] = {
    "xmlsafe": xmlsafe.parse,
    "réponse SOAP 200": lambda data: read_http_response(200, SOAP_CT, data),
    "réponse SOAP 500": lambda data: read_http_response(500, SOAP_CT, data),
    "réponse MTOM": _read_mtom,
    "réponse multipart": _read_multipart_as_soap,
    "liste TD3.1 lue en flux": lambda data: xds.read_find_documents(data, chunk=64),
    "rendu CDA": render_html,
    "CDA niveau 1": extract_level1,
    "VSM": parse_vsm,
    "visionneuse": lambda data: prepare(RetrievedDocument("1.2.3", "1.2.3.4", "text/xml", data)),
    "signature XAdES": xades.verify_signed_info,
}


def _call(parse: Callable[[bytes], object], data: bytes) -> str:
    """What came out: the result or the typed error, as text (tests/bench/bench_hostile_xml.py
    measures how long each takes)."""
    try:
        return repr(parse(data))
    except TYPED as exc:
        return f"{type(exc).__name__}: {exc!r} {exc.__cause__!r}"


@pytest.mark.parametrize("parser", sorted(CLIENT_PARSERS))
def test_client_parsers_refuse_hostile_xml(
    parser: str, hostile: dict[str, bytes], listener: Listener
) -> None:
    parse = CLIENT_PARSERS[parser]
    for name, data in hostile.items():
        outcome = _call(parse, data)
        assert CANARY not in outcome, (parser, name)
    assert listener.connections() == 0


@pytest.mark.parametrize("name", sorted(REFUSED_BY_XMLSAFE))
def test_xmlsafe_refuses(name: str, hostile: dict[str, bytes]) -> None:
    with pytest.raises(xmlsafe.UnsafeXmlError):
        xmlsafe.parse(hostile[name])


def test_ignored_constructs_stay_inert(hostile: dict[str, bytes], listener: Listener) -> None:
    """XInclude, stylesheet PIs and schema locations are parsed as plain data, never followed."""
    root = xmlsafe.parse(hostile["xinclude"])
    assert CANARY not in "".join(root.itertext())
    assert len(root) == 2  # the xi:include elements themselves, not what they name
    root = xmlsafe.parse(hostile["stylesheet_pi"])
    assert root.getprevious() is None  # processing instructions are dropped
    xmlsafe.parse(hostile["schema_location"])
    assert listener.connections() == 0


def test_size_is_bounded() -> None:
    with pytest.raises(xmlsafe.UnsafeXmlError, match="too large"):
        xmlsafe.parse(b"<r>" + b"x" * 100 + b"</r>", max_bytes=64)
    big = b"<r>" + b" " * (xmlsafe.MAX_XML_BYTES) + b"</r>"
    with pytest.raises(DmpProtocolError):
        read_http_response(200, SOAP_CT, big)


def test_a_large_level1_document_opens_and_depth_stays_bounded() -> None:
    """A 20 MB PDF in a level-1 CDA is one 27 MB text node: readable, its depth still checked."""
    summary = minimal_summary()
    from dmp_desktop.cda.level1 import Level1Document

    pdf = minimal_pdf() + b"%" + os.urandom(20 * 1024 * 1024)
    doc = Level1Document(summary.patient, summary.author, summary.effective_time, "11488-4")
    cda = wrap_pdf(doc, pdf)
    assert extract_level1(cda) == ("application/pdf", pdf)
    deep = b"<r><t>" + b"x" * 11_000_000 + b"</t>" + b"<a>" * 1000 + b"</a>" * 1000 + b"</r>"
    with pytest.raises(xmlsafe.UnsafeXmlError):
        xmlsafe.parse(deep)
    wide_utf16 = ("<r>" + "x" * 11_000_000 + "</r>").encode("utf-16")
    with pytest.raises(xmlsafe.UnsafeXmlError):  # no second chance without the byte check
        xmlsafe.parse(wide_utf16)


# --- hostile constructs planted in real messages ------------------------------------------------

_TEXT = re.compile(rb">([A-Za-z\xc3][^<>&]{2,})<")


def plant(data: bytes, subset: str, reference: str) -> bytes:
    """``data`` with a DOCTYPE (``subset``) and ``reference`` in place of its first text."""
    doctype = f"<!DOCTYPE x [{subset}]>".encode()
    if data.startswith(b"<?xml"):
        end = data.index(b"?>") + 2
        data = data[:end] + doctype + data[end:]
    else:
        data = doctype + data
    found = _TEXT.search(data)
    assert found is not None
    return data[: found.start(1)] + reference.encode() + data[found.end(1) :]


def _plants(secret: Path, listener: Listener) -> dict[str, tuple[str, str]]:
    return {
        "fichier": (f'<!ENTITY p SYSTEM "{secret.as_uri()}">', "&p;"),
        "réseau": (f'<!ENTITY p SYSTEM "{listener.url}/p">', "&p;"),
        "bombe": (
            '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">',
            "&d;",
        ),
    }


def _answer_reader(answer: Answer) -> Callable[[bytes], object]:
    if answer.content_type.startswith("multipart/"):
        content_type = answer.content_type

        def read(body: bytes) -> object:
            message = parse_mtom(content_type, body)
            return parse_envelope(message.root)

        return read
    return lambda body: read_http_response(answer.status, answer.content_type, body)


def _plant_in_mtom(answer: Answer, subset: str, reference: str) -> bytes:
    message = parse_mtom(answer.content_type, answer.body)
    return answer.body.replace(message.root, plant(message.root, subset, reference), 1)


def test_answers_carrying_entities_are_refused(tmp_path: Path, listener: Listener) -> None:
    secret = canary_file(tmp_path)
    answers = [*official_answers(), *host_answers()]
    assert len(answers) >= 10
    for answer in answers:
        read = _answer_reader(answer)
        try:
            read(answer.body)  # the untouched answer is readable (or a fault)
        except DmpServiceError:
            pass
        for label, (subset, reference) in _plants(secret, listener).items():
            if answer.content_type.startswith("multipart/"):
                body = _plant_in_mtom(answer, subset, reference)
            else:
                body = plant(answer.body, subset, reference)
            with pytest.raises(DmpProtocolError) as refused:
                read(body)
            assert CANARY not in repr(refused.value), (answer.name, label)
    assert listener.connections() == 0


def test_lists_carrying_entities_are_refused_when_streamed(
    tmp_path: Path, listener: Listener
) -> None:
    """The TD3.1 answers (official and the host's) through the streamed list reader."""
    secret = canary_file(tmp_path)
    lists = [a for a in (*official_answers(), *host_answers()) if a.transaction == "TD3.1"]
    assert lists
    for answer in lists:
        assert not answer.content_type.startswith("multipart/")
        for label, (subset, reference) in _plants(secret, listener).items():
            with pytest.raises(DmpProtocolError) as refused:
                xds.read_find_documents(plant(answer.body, subset, reference), chunk=512)
            assert CANARY not in repr(refused.value), (answer.name, label)
    assert listener.connections() == 0


@pytest.mark.parametrize("reader", ["rendu CDA", "CDA niveau 1", "VSM", "visionneuse"])
def test_cda_documents_carrying_entities_are_refused(
    reader: str, tmp_path: Path, listener: Listener
) -> None:
    secret = canary_file(tmp_path)
    read = CLIENT_PARSERS[reader]
    for name, document in cda_documents():
        for label, (subset, reference) in _plants(secret, listener).items():
            outcome = _call(read, plant(document, subset, reference))
            assert outcome.startswith(("UnsafeXmlError", "CdaFormatError")), (name, label, outcome)
            assert CANARY not in outcome
    assert listener.connections() == 0


def test_a_signature_carrying_entities_is_refused(tmp_path: Path) -> None:
    secret = canary_file(tmp_path)
    signature = (
        b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
        b"<ds:Reference>abc</ds:Reference></ds:SignedInfo></ds:Signature>"
    )
    planted = plant(signature, f'<!ENTITY p SYSTEM "{secret.as_uri()}">', "&p;")
    with pytest.raises(xades.XadesError):
        xades.verify_signed_info(planted)
    with pytest.raises(SubmissionSignatureError):
        read_unverified(planted)


# --- the host -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dmp_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DmpHost]:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('hostile-host') / 'host.db'}")
    yield DmpHost(store)
    store.close()


IDENTITY = CertIdentity(
    national_id=DURAND.national_id,
    family_name=DURAND.family_name,
    given_name=DURAND.given_name,
    profession="Médecin",
    structure_id=STRUCTURE_ID,
)
SERVICE_ACTIONS = {
    "patients": "urn:hl7-org:v3:PRPA_IN201307UV02",
    "registry": "urn:ihe:iti:2007:RegistryStoredQuery",
    "repository": "urn:ihe:iti:2007:RetrieveDocumentSet",
    "habilitations": "urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorization",
}


def _handle(host: DmpHost, service: str, content_type: str, body: bytes) -> HostResponse:
    trace = TraceContext()
    answer = host.handle(service, content_type, body, IDENTITY, trace)  # never raises
    assert trace.outcome is not None  # the refusal is traced
    return answer


def test_host_refuses_hostile_requests(
    dmp_host: DmpHost, hostile: dict[str, bytes], listener: Listener
) -> None:
    for service, action in SERVICE_ACTIONS.items():
        content_type = f'application/soap+xml; charset=utf-8; action="{action}"'
        for name, data in hostile.items():
            answer = _handle(dmp_host, service, content_type, data)
            assert answer.status in (400, 413, 500), (service, name)
            assert b"Fault" in answer.body and CANARY.encode() not in answer.body
        for name, data in hostile.items():  # the root part of an MTOM request
            mtom_type, body = _mtom(data)
            answer = _handle(dmp_host, "repository", mtom_type, body)
            assert answer.status in (400, 413), name
    assert listener.connections() == 0


def test_host_refuses_real_requests_carrying_entities(
    dmp_host: DmpHost, tmp_path: Path, listener: Listener
) -> None:
    from tests.host.wire import td02_request

    secret = canary_file(tmp_path)
    request, _ = td02_request(DURAND.national_id, "207058575627097")
    content_type = f'application/soap+xml; charset=utf-8; action="{SERVICE_ACTIONS["patients"]}"'
    for label, (subset, reference) in _plants(secret, listener).items():
        answer = _handle(dmp_host, "patients", content_type, plant(request, subset, reference))
        assert answer.status == 400, label
        assert b"DMPInvalidRequest" in answer.body and CANARY.encode() not in answer.body
    assert listener.connections() == 0


# --- no other parser ----------------------------------------------------------------------------

_PARSING_CALLS = {
    "fromstring",
    "fromstringlist",
    "XML",
    "XMLID",
    "XMLDTDID",
    "HTML",
    "parse",
    "iterparse",
    "XMLParser",
    "XMLPullParser",
    "HTMLParser",
    "ETCompatXMLParser",
}
_FORBIDDEN_MODULES = (
    "xml.etree",
    "xml.dom",
    "xml.sax",
    "xml.parsers",
    "lxml.html",
    "lxml.objectify",
)
_ALLOWED = {"dmp_desktop/xmlsafe.py", "dmp_sandbox/xmlparse.py"}  # the host has its own


def _sources() -> Iterator[Path]:
    for package in ("dmp_desktop", "dmp_sandbox"):
        yield from sorted((ROOT / package).rglob("*.py"))


def _offenders(source: str, relative: str) -> list[str]:
    """Every call of an XML parser, and every import of another XML library, in ``source``."""
    offenders: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in _PARSING_CALLS:
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("etree", "ET", "lxml"):
                offenders.append(f"{relative}:{node.lineno} etree.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(_FORBIDDEN_MODULES):
                offenders.append(f"{relative}:{node.lineno} from {node.module}")
            if node.module in ("lxml", "lxml.etree"):
                names = {alias.name for alias in node.names}
                if names & _PARSING_CALLS:
                    offenders.append(f"{relative}:{node.lineno} {sorted(names)}")
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(_FORBIDDEN_MODULES):
                    offenders.append(f"{relative}:{node.lineno} import {alias.name}")
    return offenders


def test_xmlsafe_is_the_only_xml_parser() -> None:
    offenders: list[str] = []
    for path in _sources():
        relative = path.relative_to(ROOT).as_posix()
        if relative not in _ALLOWED:
            offenders += _offenders(path.read_text(encoding="utf-8"), relative)
    assert offenders == []


def test_the_static_check_would_see_a_straggler() -> None:
    """The check above is not vacuous: it flags the usual ways of parsing XML."""
    sample = (
        "from lxml import etree\n"
        "from lxml.etree import fromstring\n"
        "import xml.dom.minidom\n"
        "from xml.etree import ElementTree as ET\n"
        "etree.fromstring(b'')\n"
        "ET.parse('f.xml')\n"
        "etree.XMLParser(resolve_entities=True)\n"
    )
    assert len(_offenders(sample, "x.py")) == 6
