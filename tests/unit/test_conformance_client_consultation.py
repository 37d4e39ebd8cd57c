"""Consultation (TD0.3, TD3.1, TD3.2) against the official material: schemas and CNAM examples.

(a) the bodies the client sends validate against the official schemas (ebRS
    query.xsd, IHE XDS.b_DocumentRepository.xsd, the types of Habilitations.wsdl);
(b) they are the official requests, element for element, when asked the same
    thing; the envelopes and VIHF have the official shape;
(c) every official answer reads into the right values, through the parsers and
    through the whole client (the official answer echoing our message id).
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from urllib.parse import unquote

import httpx
import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ebrs, mtom, ns, td03, xds
from dmp_desktop.dmp.client import ATTR_EMERGENCY_REASON, DmpClient
from dmp_desktop.dmp.soap import parse_envelope
from dmp_desktop.dmp.vihf import ATTR_PURPOSE_OF_USE
from dmp_desktop.domain.document import (
    Code,
    DocumentEntry,
    DocumentQuery,
    DocumentStatus,
    RetrievedDocument,
)
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.errors import DmpProtocolError
from tests.conftest import DMP_MESSAGES, DMP_SCHEMAS, REFERENCE_DATA, require_shared
from tests.unit.test_conformance_client_td02 import _header_shape, _shape
from tests.unit.test_dmp_support import doctor, settings

TD31_REQUEST = "TD3.1 - Recherche de document_requête.xml"
TD31_RESPONSE = "TD3.1 - Recherche de document_réponse.xml"
TD32_REQUEST = "TD3.2 - Consultation d'un document_requête.xml"
TD32_RESPONSE = "TD3.2 - Consultation d'un document_réponse.xml"
TD03_REQUEST = "TD0.3 - Mise à jour de l'autorisation_requête.xml"
TD03_RESPONSE = "TD0.3 - Mise à jour de l'autorisation_réponse.xml"
TEMPLATES = REFERENCE_DATA / "dmp-messages" / "tlsikit-editeur-templates" / "TLSiKitEditeur"
WSDL_DIR = REFERENCE_DATA / "xds-schemas" / "dmp-annexe-wsdl-schema" / "wsdl"

OFFICIAL_INS = Ins("207058575627097", InsKind.TEST_NIR)
OFFICIAL_REPOSITORY = "1.2.250.1.213.4.1.1.1.2"
OFFICIAL_DOCUMENT = "1.2.250.1.999.1.1.7898.1.995657292"
SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
PDF = b"%PDF-1.4\n% official TD3.2 part stand-in\n%%EOF\n"


# --- material -------------------------------------------------------------------------------------


def _official(name: str) -> bytes:
    return require_shared(DMP_MESSAGES / name).read_bytes()


def _trusted_parser() -> etree.XMLParser:
    # Trusted, local schema files (official annex): includes resolve offline.
    return etree.XMLParser(no_network=True, resolve_entities=False)


def _schema(relative: str) -> etree.XMLSchema:
    path = require_shared(DMP_SCHEMAS / relative)
    return etree.XMLSchema(etree.parse(str(path), _trusted_parser()))


@pytest.fixture(scope="module")
def query_schema() -> etree.XMLSchema:
    return _schema("ebRS/query.xsd")


@pytest.fixture(scope="module")
def repository_schema() -> etree.XMLSchema:
    return _schema("IHE/XDS.b_DocumentRepository.xsd")


@pytest.fixture(scope="module")
def habilitations_schema() -> etree.XMLSchema:
    """The schema embedded in Habilitations.wsdl (wsdl:types/xs:schema)."""
    wsdl = etree.parse(str(require_shared(WSDL_DIR / "Habilitations.wsdl")), _trusted_parser())
    (schema,) = wsdl.getroot().iterfind(
        "{http://schemas.xmlsoap.org/wsdl/}types/{http://www.w3.org/2001/XMLSchema}schema"
    )
    return etree.XMLSchema(copy.deepcopy(schema))


def _body(envelope: etree._Element) -> etree._Element:
    body = envelope.find(f"{{{ns.SOAP12}}}Body")
    assert body is not None
    return next(el for el in body if isinstance(el.tag, str))


def _validate(schema: etree.XMLSchema, element: etree._Element) -> None:
    doc = etree.ElementTree(copy.deepcopy(element))
    assert schema.validate(doc), "\n".join(str(e) for e in schema.error_log)


def _canonical(element: etree._Element) -> bytes:
    """Exclusive c14n without indentation: same bytes = same element, attributes, text."""
    clone = copy.deepcopy(element)
    for node in clone.iter():
        if node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    return etree.tostring(clone, method="c14n", exclusive=True)


def _content(element: etree._Element) -> list[tuple[str, list[tuple[str, str]], str]]:
    """Tags (Clark notation), attributes and texts in document order: prefixes ignored."""
    return [
        (node.tag, sorted(node.attrib.items()), (node.text or "").strip())
        for node in element.iter()
        if isinstance(node.tag, str)
    ]


def _own_namespaces(element: etree._Element) -> dict[str | None, str]:
    outer = {ns.SOAP12, ns.XSI, ns.XS}
    return {k: v for k, v in element.nsmap.items() if v not in outer}


def _with_relates_to(official: bytes, request: httpx.Request) -> bytes:
    message_id = re.search(rb"<MessageID[^>]*>([^<]+)<", request.content)
    assert message_id is not None
    return re.sub(
        rb"(<RelatesTo[^>]*>)[^<]+(<)", rb"\g<1>" + message_id.group(1) + rb"\g<2>", official
    )


def _td32_mtom(request: httpx.Request | None, content: bytes = PDF) -> tuple[str, bytes]:
    """The official TD3.2 answer as the root of an MTOM message carrying its part."""
    root = _official(TD32_RESPONSE)
    if request is not None:
        root = _with_relates_to(root, request)
    href = re.search(rb'href="cid:([^"]+)"', root)
    assert href is not None
    cid = unquote(href.group(1).decode())  # the Content-ID the cid: URL names (RFC 2392)
    return mtom.build_mtom(root, [mtom.MimePart(cid, content)], action=xds.ACTION_RETRIEVE_RESPONSE)


class Recorder:
    """An httpx transport answering with one official message; keeps what was sent."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.sent: list[httpx.Request] = []
        self._answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return self._answer(request)

    def client(self) -> DmpClient:
        return DmpClient(httpx.Client(transport=httpx.MockTransport(self)), settings(), doctor())


def _soap_answer(name: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        body = _with_relates_to(_official(name), request)
        return httpx.Response(200, content=body, headers={"Content-Type": ns.SOAP12_CONTENT_TYPE})

    return answer


def _mtom_answer(request: httpx.Request) -> httpx.Response:
    content_type, body = _td32_mtom(request)
    return httpx.Response(200, content=body, headers={"Content-Type": content_type})


@pytest.fixture(scope="module")
def find_exchange() -> tuple[etree._Element, list[DocumentEntry]]:
    """The envelope the client sends for "every active document" and what it reads back."""
    recorder = Recorder(_soap_answer(TD31_RESPONSE))
    with recorder.client() as client:
        entries = client.find_documents(DocumentQuery(patient=OFFICIAL_INS))
    return xmlsafe.parse(recorder.sent[0].content), entries


@pytest.fixture(scope="module")
def official_entries() -> tuple[DocumentEntry, ...]:
    answer = parse_envelope(_official(TD31_RESPONSE), expected_action=xds.ACTION_FIND_RESPONSE)
    return xds.parse_find_documents_response(answer.body, requested=OFFICIAL_INS).entries


def _retrieve_exchange() -> tuple[etree._Element, RetrievedDocument]:
    recorder = Recorder(_mtom_answer)
    entry = _official_entry_without_integrity()
    with recorder.client() as client:
        document = client.retrieve_document(entry)
    return xmlsafe.parse(recorder.sent[0].content), document


def _official_entry_without_integrity() -> DocumentEntry:
    """The TD3.1 entry that TD3.2 retrieves; the official bytes are not public: no size/hash."""
    answer = parse_envelope(_official(TD31_RESPONSE))
    entries = xds.parse_find_documents_response(answer.body, requested=OFFICIAL_INS).entries
    (entry,) = [e for e in entries if e.unique_id == OFFICIAL_DOCUMENT]
    return dataclasses.replace(entry, size=None, hash_sha1=None)


def _authorization_exchange(**kwargs: bool) -> etree._Element:
    recorder = Recorder(_soap_answer(TD03_RESPONSE))
    with recorder.client() as client:
        client.set_authorization(OFFICIAL_INS, **kwargs)
    return xmlsafe.parse(recorder.sent[0].content)


def _assertion(envelope: etree._Element) -> etree._Element:
    found = envelope.find(f".//{{{ns.WSSE}}}Security/{{{ns.SAML2}}}Assertion")
    assert found is not None
    return found


def _attribute_names(envelope: etree._Element) -> list[str]:
    return [a.get("Name") for a in _assertion(envelope).iter(f"{{{ns.SAML2}}}Attribute")]


# --- (a) schemas ----------------------------------------------------------------------------------


def test_official_bodies_validate(
    query_schema: etree.XMLSchema, repository_schema: etree.XMLSchema
) -> None:
    """Sanity: the schemas accept the official examples, so a failure below is ours."""
    _validate(query_schema, _body(xmlsafe.parse(_official(TD31_REQUEST))))
    _validate(query_schema, _body(xmlsafe.parse(_official(TD31_RESPONSE))))
    _validate(repository_schema, _body(xmlsafe.parse(_official(TD32_REQUEST))))


@pytest.mark.parametrize(
    "query",
    [
        DocumentQuery(patient=OFFICIAL_INS),
        xds.default_query(OFFICIAL_INS, today=date(2026, 11, 25)),
        DocumentQuery(
            patient=OFFICIAL_INS,
            since=date(2010, 1, 1),
            until=date(2012, 12, 31),
            statuses=frozenset(DocumentStatus),
            include_masked=True,
            type_codes=(Code("11488-4", scheme=xds.OID_LOINC), Code("SYNTH")),
            class_codes=(Code("10", scheme=xds.OID_CLASS_CODES), Code("90")),
        ),
    ],
    ids=["all dates", "default 2 years", "every filter"],
)
def test_find_request_validates_against_query_xsd(
    query_schema: etree.XMLSchema, query: DocumentQuery
) -> None:
    _validate(query_schema, xds.build_find_documents(query))


def test_sent_find_body_validates(
    query_schema: etree.XMLSchema, find_exchange: tuple[etree._Element, list[DocumentEntry]]
) -> None:
    _validate(query_schema, _body(find_exchange[0]))


def test_retrieve_request_validates_against_the_repository_xsd(
    repository_schema: etree.XMLSchema,
) -> None:
    envelope, _ = _retrieve_exchange()
    _validate(repository_schema, _body(envelope))
    many = xds.build_retrieve_documents([(OFFICIAL_REPOSITORY, "1.2.3"), ("1.2.4", "1.2.5")])
    _validate(repository_schema, many)


def test_official_retrieve_answer_validates_once_its_part_is_inlined(
    repository_schema: etree.XMLSchema,
) -> None:
    """The TD3.2 answer with the part put back inline (XOP decoding) is schema-valid."""
    body = _body(xmlsafe.parse(_official(TD32_RESPONSE)))
    document = body.find(f".//{{{xds.XDSB}}}Document")
    for include in list(document):
        document.remove(include)
    document.text = base64.b64encode(PDF).decode()
    _validate(repository_schema, body)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"treating_physician": True},
        {"grant": False},
        {"grant": False, "treating_physician": True},
    ],
)
def test_set_authorization_validates_against_the_wsdl_types(
    habilitations_schema: etree.XMLSchema, kwargs: dict[str, bool]
) -> None:
    _validate(habilitations_schema, td03.build_set_authorization(**kwargs))


def test_official_habilitations_messages_validate(habilitations_schema: etree.XMLSchema) -> None:
    _validate(habilitations_schema, _body(xmlsafe.parse(_official(TD03_REQUEST))))
    _validate(habilitations_schema, _body(xmlsafe.parse(_official(TD03_RESPONSE))))


# --- (b) the official requests, element for element -----------------------------------------------


def test_find_body_is_the_official_one(
    find_exchange: tuple[etree._Element, list[DocumentEntry]],
) -> None:
    ours = _body(find_exchange[0])
    official = _body(xmlsafe.parse(_official(TD31_REQUEST)))
    assert _canonical(ours) == _canonical(official)
    assert _own_namespaces(ours) == _own_namespaces(official)


def test_find_body_matches_the_cnam_templates() -> None:
    """template_FindDocument.xml (active) and template_FindDocumentCVA.xml (archived)."""
    for name, status in (
        ("template_FindDocument.xml", DocumentStatus.APPROVED),
        ("template_FindDocumentCVA.xml", DocumentStatus.ARCHIVED),
    ):
        template = xmlsafe.parse(require_shared(TEMPLATES / name).read_bytes())
        ours = xds.build_find_documents(
            DocumentQuery(patient=OFFICIAL_INS, statuses=frozenset({status}))
        )
        assert _content(ours) == _content(template), name


def test_default_search_adds_only_the_date_bound(
    find_exchange: tuple[etree._Element, list[DocumentEntry]],
) -> None:
    official = _body(xmlsafe.parse(_official(TD31_REQUEST)))
    ours = xds.build_find_documents(xds.default_query(OFFICIAL_INS, today=date(2026, 11, 25)))
    slot = f"{{{ebrs.RIM}}}AdhocQuery/{{{ebrs.RIM}}}Slot"
    extra = ours.findall(slot)[2:]
    assert [s.get("name") for s in extra] == ["$XDSDocumentEntryServiceStartTimeFrom"]
    for el in extra:
        el.getparent().remove(el)
    assert _canonical(ours) == _canonical(official)


def test_retrieve_body_is_the_official_one() -> None:
    envelope, _ = _retrieve_exchange()
    ours = _body(envelope)
    official = _body(xmlsafe.parse(_official(TD32_REQUEST)))
    assert _canonical(ours) == _canonical(official)
    assert _own_namespaces(ours) == _own_namespaces(official)


def test_set_authorization_body_is_the_official_one() -> None:
    ours = _body(_authorization_exchange())
    official = _body(xmlsafe.parse(_official(TD03_REQUEST)))
    assert _canonical(ours) == _canonical(official)
    assert list(_shape(ours)) == list(_shape(official))


@pytest.mark.parametrize(
    ("example", "exchange", "action", "service"),
    [
        (TD31_REQUEST, "find", xds.ACTION_FIND, "registry"),
        (TD32_REQUEST, "retrieve", xds.ACTION_RETRIEVE, "repository"),
        (TD03_REQUEST, "authorize", td03.ACTION_SET_AUTHORIZATION, "habilitations"),
    ],
)
def test_envelopes_have_the_official_shape(
    find_exchange: tuple[etree._Element, list[DocumentEntry]],
    example: str,
    exchange: str,
    action: str,
    service: str,
) -> None:
    envelope = {
        "find": lambda: find_exchange[0],
        "retrieve": lambda: _retrieve_exchange()[0],
        "authorize": _authorization_exchange,
    }[exchange]()
    official = xmlsafe.parse(_official(example))
    assert _header_shape(envelope) == _header_shape(official)
    header = envelope.find(f"{{{ns.SOAP12}}}Header")
    assert header.findtext(f"{{{ns.WSA}}}Action") == action
    assert header.findtext(f"{{{ns.WSA}}}To") == (
        f"https://dmp.test:8443/si-dmp-server/v2/services/{service}"
    )
    # Same VIHF attributes in the same order (plus the subject-id, as for TD0.2).
    names = [n for n in _attribute_names(envelope) if n != SUBJECT_ID]
    assert names == _attribute_names(official)
    resource = _assertion(envelope).find(
        f".//{{{ns.SAML2}}}Attribute[@Name='urn:oasis:names:tc:xacml:2.0:resource:resource-id']"
    )
    assert resource.findtext(f"{{{ns.SAML2}}}AttributeValue") == OFFICIAL_INS.cx()


def test_emergency_vihf_adds_only_the_reason_after_the_purpose() -> None:
    recorder = Recorder(_soap_answer(TD31_RESPONSE))
    with recorder.client() as client:
        client.find_documents(
            DocumentQuery(patient=OFFICIAL_INS), purpose="bris_de_glace", reason="Coma"
        )
    names = [
        n for n in _attribute_names(xmlsafe.parse(recorder.sent[0].content)) if n != SUBJECT_ID
    ]
    official = _attribute_names(xmlsafe.parse(_official(TD31_REQUEST)))
    at = official.index(ATTR_PURPOSE_OF_USE) + 1
    assert names == [*official[:at], ATTR_EMERGENCY_REASON, *official[at:]]


# --- (c) the official answers ---------------------------------------------------------------------


def test_td31_answer_has_its_21_documents(official_entries: tuple[DocumentEntry, ...]) -> None:
    assert len(official_entries) == 21
    assert len({e.unique_id for e in official_entries}) == 21
    assert all(e.patient == OFFICIAL_INS for e in official_entries)
    assert all(e.status is DocumentStatus.APPROVED for e in official_entries)
    assert all(e.repository_id == OFFICIAL_REPOSITORY for e in official_entries)
    assert all(e.mime_type == "text/xml" and e.language == "fr-FR" for e in official_entries)
    assert all(e.hash_sha1 and len(e.hash_sha1) == 40 for e in official_entries)
    assert all(len(e.authors) == 1 and e.authors[0].national_id for e in official_entries)
    assert all(e.confidentiality[0].code == "N" for e in official_entries)
    assert sum(e.invisible_to_patient for e in official_entries) == 3
    assert not any(e.masked_from_professionals for e in official_entries)
    assert not any(e.patient_authored for e in official_entries)
    assert Counter(e.class_code.code for e in official_entries)["10"] == 11
    assert sum(e.type_code.code == "SYNTH" for e in official_entries) == 1
    assert sum(e.facility_type is not None for e in official_entries) == 21
    assert sum(len(e.event_codes) for e in official_entries) == 20


def test_td31_first_document_in_detail(official_entries: tuple[DocumentEntry, ...]) -> None:
    entry = official_entries[0]
    assert entry.entry_uuid == "urn:uuid:7953af1a-ba1c-11eb-816f-0050569e422e"
    assert entry.unique_id == OFFICIAL_DOCUMENT
    assert entry.title == "Titre du document de TEST KIT EDITEUR CSharp"
    assert entry.comments == "commentaire du document de TEST KIT EDITEUR CSharp"
    assert entry.creation_time == datetime(2010, 3, 19, 18, 32, 44, tzinfo=UTC)
    assert entry.service_start == entry.service_stop == entry.creation_time
    assert entry.size == 2768
    assert entry.hash_sha1 == "af326fb44feb720121d2c277ce10f87407818089"
    assert entry.version == "1"
    assert entry.class_code == Code("10", "Compte rendu", "1.2.250.1.213.1.1.4.1")
    assert entry.type_code == Code(
        "27899-4", "CR d'acte diagnostique (autre)", "2.16.840.1.113883.6.1"
    )
    assert entry.format_code == Code(
        "urn:ihe:iti:xds-sd:text:2008",
        "Document à corps non structuré en texte brut",
        "1.3.6.1.4.1.19376.1.2.3",
    )
    assert entry.facility_type == Code(
        "SA01", "Etablissement public de santé", "1.2.250.1.71.4.2.4"
    )
    assert entry.practice_setting == Code(
        "ETABLISSEMENT", "Etablissement de santé", "1.2.250.1.213.1.1.4.9"
    )
    assert entry.event_codes == (
        Code("H33", "Décollement et déchirement de la rétine", "2.16.840.1.113883.6.3"),
    )
    assert [c.code for c in entry.confidentiality] == ["N", "INVISIBLE_PATIENT"]
    assert entry.invisible_to_patient
    (author,) = entry.authors
    assert (author.national_id, author.family_name, author.given_name) == (
        "899900063480",
        "Kit",
        "Editeur",
    )
    assert author.specialty == Code(
        "G15_10/SM04",
        "Médecin - Cardiologie et maladies vasculaires (SM)",
        "1.2.250.1.213.1.1.4.5",
    )
    assert (author.institution, author.institution_id) == (
        "HOPITAL DES 3 VALLEES00771",
        "10B0127189",
    )
    assert entry.extra["legalAuthenticator"].startswith("00B2800585^OPTOLUNE0058^SEBASTIEN^")
    assert entry.extra["sourcePatientId"] == "0456789999^^^&1.2.250.1.999.1.1.7898.2&ISO^PI"


def test_td31_answer_through_the_client(
    find_exchange: tuple[etree._Element, list[DocumentEntry]],
    official_entries: tuple[DocumentEntry, ...],
) -> None:
    _, entries = find_exchange
    assert entries == list(official_entries)  # nothing masked: nothing filtered out
    hidden = DocumentQuery(patient=OFFICIAL_INS, include_invisible_patient=False)
    assert len(xds.filter_entries(official_entries, hidden)) == 18


def test_td32_answer_reads_the_document() -> None:
    content_type, data = _td32_mtom(None)
    message = mtom.parse_mtom(content_type, data)
    answer = parse_envelope(message.root, expected_action=xds.ACTION_RETRIEVE_RESPONSE)
    result = xds.parse_retrieve_response(answer.body, message)
    assert result.documents == (
        RetrievedDocument(OFFICIAL_DOCUMENT, OFFICIAL_REPOSITORY, "text/xml", PDF),
    )
    assert result.warnings == ()


def test_td32_answer_through_the_client() -> None:
    _, document = _retrieve_exchange()
    assert document == RetrievedDocument(OFFICIAL_DOCUMENT, OFFICIAL_REPOSITORY, "text/xml", PDF)


def test_td32_answer_without_its_part_is_refused() -> None:
    answer = parse_envelope(_official(TD32_RESPONSE))
    with pytest.raises(DmpProtocolError, match="not MTOM"):
        xds.parse_retrieve_response(answer.body)


def test_td03_answer_reads_ok() -> None:
    answer = parse_envelope(
        _official(TD03_RESPONSE), expected_action=td03.ACTION_SET_AUTHORIZATION_RESPONSE
    )
    assert td03.parse_set_authorization_response(answer.body) == td03.SetAuthorizationResult(
        "DMPOk", "Autorisation déjà présente aucune action effectuée"
    )


def test_td03_answer_through_the_client() -> None:
    envelope = _authorization_exchange(treating_physician=True)
    body = _body(envelope)
    assert [c.text for c in body] == ["AJOUT", "MEDECIN_TRAITANT"]


@pytest.mark.parametrize(
    "example",
    [
        "TD2.1 - Alimentation_réponse.xml",
        "TD3.3c - Supprimer un document_réponse.xml",
        "TD3.3d - Archiver un document_réponse.xml",
    ],
)
def test_official_registry_responses_read_as_success(example: str) -> None:
    answer = parse_envelope(_official(example))
    assert answer.body.tag == f"{{{ebrs.RS}}}RegistryResponse"
    assert ebrs.check_response(answer.body) == []
