"""Alimentation (TD2.1, TD3.3) against the official material: schemas, CNAM examples, CDA kit.

(a) what the client sends validates against the official schemas (IHE
    XDS.b_DocumentRepository.xsd for ITI-41, ebRS lcm.xsd for ITI-57);
(b) it has the shape of the official requests (TD2.1, TD3.3c, TD3.3d and the
    CNAM masking template): same objects, slots, classifications, identifiers
    and associations;
(c) every official answer (TD2.1, TD3.3c, TD3.3d) reads as success through
    the whole client;
and the level-1 documents pass the official CDA validation kit (in
tests/e2e/test_cli_alimentation.py: the kit takes seconds to start).
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable

import httpx
import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ebrs, mtom, ns, xds
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.domain.document import DocumentEntry, DocumentStatus
from tests.conftest import DMP_MESSAGES, DMP_SCHEMAS, REFERENCE_DATA, require_shared
from tests.unit.test_alimentation_support import SOAP_CT, FakeDmp, SoftSigner, message_id
from tests.unit.test_dmp_iti41 import submission
from tests.unit.test_dmp_support import INS, doctor, settings

RIM = f"{{{ebrs.RIM}}}"
TD21_REQUEST = "TD2.1 - Alimentation_requête.xml"
TD21_RESPONSE = "TD2.1 - Alimentation_réponse.xml"
TD33C_REQUEST = "TD3.3c - Supprimer un document_requête.xml"
TD33C_RESPONSE = "TD3.3c - Supprimer un document_réponse.xml"
TD33D_REQUEST = "TD3.3d - Archiver un document_requête.xml"
TD33D_RESPONSE = "TD3.3d - Archiver un document_réponse.xml"
TD31_RESPONSE = "TD3.1 - Recherche de document_réponse.xml"
TEMPLATES = REFERENCE_DATA / "dmp-messages" / "tlsikit-editeur-templates"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


# --- material -------------------------------------------------------------------------------------


def _official(name: str) -> bytes:
    return require_shared(DMP_MESSAGES / name).read_bytes()


def _schema(relative: str) -> etree.XMLSchema:
    path = require_shared(DMP_SCHEMAS / relative)
    parser = etree.XMLParser(no_network=True, resolve_entities=False)  # trusted local files
    return etree.XMLSchema(etree.parse(str(path), parser))


def _body(envelope: etree._Element) -> etree._Element:
    for ns_uri in (ns.SOAP12, SOAP11):
        body = envelope.find(f"{{{ns_uri}}}Body")
        if body is not None:
            return next(el for el in body if isinstance(el.tag, str))
    raise AssertionError("no SOAP body")


def _official_td21() -> etree._Element:
    """The SOAP envelope of the official TD2.1 request (a MIME message)."""
    raw = _official(TD21_REQUEST)
    start = raw.index(b"<soap:Envelope")
    end = raw.index(b"</soap:Envelope>") + len(b"</soap:Envelope>")
    return xmlsafe.parse(raw[start:end])


def _inline(body: etree._Element) -> etree._Element:
    """The XOP infoset: each xop:Include replaced by base64 (what the schema describes)."""
    clone = copy.deepcopy(body)
    for document in clone.iter(f"{{{xds.XDSB}}}Document"):
        for include in list(document):
            document.remove(include)
        document.text = base64.b64encode(b"content").decode()
    return clone


def _validate(schema: etree.XMLSchema, element: etree._Element) -> None:
    assert schema.validate(etree.ElementTree(copy.deepcopy(element))), "\n".join(
        str(e) for e in schema.error_log
    )


@pytest.fixture(scope="module")
def sent_td21() -> etree._Element:
    """The envelope our client posts for an upload (through MTOM)."""
    fake = FakeDmp()
    with fake.client() as client:
        client.upload_document(submission(), SoftSigner())
    request_ = fake.requests[0]
    message = mtom.parse_mtom(request_.headers["content-type"], request_.content)
    return xmlsafe.parse(message.root)


def _official_entry() -> DocumentEntry:
    """A DocumentEntry of the official TD3.1 answer, read by the client's parser."""
    body = _body(xmlsafe.parse(_official(TD31_RESPONSE)))
    return xds.parse_find_documents_response(body).entries[0]


def _sent(
    action: Callable[[DmpClient, DocumentEntry], object], response: str = TD33D_RESPONSE
) -> etree._Element:
    seen: list[bytes] = []

    def handler(request_: httpx.Request) -> httpx.Response:
        seen.append(request_.content)
        return httpx.Response(
            200, content=_echo(_official(response), request_.content), headers=SOAP_CT
        )

    entry = _official_entry()
    author = doctor(national_id=entry.authors[0].national_id)  # the official entry's author
    with DmpClient(httpx.Client(transport=httpx.MockTransport(handler)), settings(), author) as c:
        action(c, entry)
    return xmlsafe.parse(seen[0])


def _echo(official: bytes, request_: bytes) -> bytes:
    """The official answer relating to our request (its RelatesTo replaced by our MessageID)."""
    ours = message_id(request_).encode()
    return re.sub(rb"(<RelatesTo[^>]*>)[^<]+(<)", rb"\g<1>" + ours + rb"\g<2>", official)


# --- (a) schemas ----------------------------------------------------------------------------------


def test_upload_validates_against_the_repository_schema(sent_td21: etree._Element) -> None:
    _validate(_schema("IHE/XDS.b_DocumentRepository.xsd"), _inline(_body(sent_td21)))
    # and so does the official request (the same check is not too lax)
    _validate(_schema("IHE/XDS.b_DocumentRepository.xsd"), _inline(_body(_official_td21())))


def test_updates_validate_against_lcm() -> None:
    lcm = _schema("ebRS/lcm.xsd")
    mask = _sent(
        lambda c, e: c.update_confidentiality(
            e, masked=True, invisible_patient=False, invisible_legal_reps=False
        )
    )
    _validate(lcm, _body(mask))
    _validate(lcm, _body(_sent(lambda c, e: c.archive_document(e))))


# --- (b) shapes -----------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return etree.QName(tag).localname


def _header_shape(envelope: etree._Element) -> list[tuple[str, tuple[str, ...]]]:
    header = next(el for el in envelope if isinstance(el.tag, str) and _local(el.tag) == "Header")
    return [(_local(h.tag), tuple(sorted(h.attrib))) for h in header if isinstance(h.tag, str)]


def _registry_object(el: etree._Element) -> dict[str, object]:
    return {
        "slots": [s.get("name") for s in el.findall(f"{RIM}Slot")],
        "classifications": [
            c.get("classificationScheme") or c.get("classificationNode")
            for c in el.findall(f"{RIM}Classification")
        ],
        "identifiers": [
            e.get("identificationScheme") for e in el.findall(f"{RIM}ExternalIdentifier")
        ],
    }


def _objects(body: etree._Element) -> etree._Element:
    found = body.find(f".//{RIM}RegistryObjectList")
    assert found is not None
    return found


def _associations(objects: etree._Element) -> list[tuple[str, list[str]]]:
    return [
        (a.get("associationType"), [s.get("name") for s in a.findall(f"{RIM}Slot")])
        for a in objects.findall(f"{RIM}Association")
    ]


def test_upload_has_the_shape_of_the_official_td21(sent_td21: etree._Element) -> None:
    official = _official_td21()
    assert _header_shape(sent_td21) == _header_shape(official)
    ours, theirs = _body(sent_td21), _body(official)
    assert ours.tag == theirs.tag
    assert [el.tag for el in ours] == [el.tag for el in theirs if isinstance(el.tag, str)]
    mine, official_objects = _objects(ours), _objects(theirs)
    assert [el.tag for el in mine] == [el.tag for el in official_objects]
    assert _associations(mine) == _associations(official_objects)
    package = _registry_object(mine.find(f"{RIM}RegistryPackage"))
    assert package == _registry_object(official_objects.find(f"{RIM}RegistryPackage"))
    ours_eo = {eo.get("id"): eo for eo in mine.findall(f"{RIM}ExtrinsicObject")}
    theirs_eo = {eo.get("id"): eo for eo in official_objects.findall(f"{RIM}ExtrinsicObject")}
    document = _registry_object(ours_eo["Document01"])
    official_document = _registry_object(theirs_eo["DocumentME2"])
    assert document["slots"] == official_document["slots"]
    assert document["identifiers"] == official_document["identifiers"]
    # N + the two flags chosen here, where the example has N only.
    assert [c for c in document["classifications"] if c != xds.CLASS_CONFIDENTIALITY] == [
        c for c in official_document["classifications"] if c != xds.CLASS_CONFIDENTIALITY
    ]

    # The signature entry is the official one, code for code.
    def codes(eo: etree._Element) -> list[tuple[str | None, str | None, str | None]]:
        return [
            (
                c.get("classificationScheme"),
                c.get("nodeRepresentation"),
                ebrs.slot_value(c, "codingScheme"),
            )
            for c in eo.findall(f"{RIM}Classification")
            if c.get("classificationScheme") != xds.CLASS_AUTHOR
        ]

    assert codes(ours_eo["Signature01"])[:4] == codes(theirs_eo["Signature01"])[:4]
    ours_sig = sorted(codes(ours_eo["Signature01"]))
    theirs_sig = sorted(
        c
        for c in codes(theirs_eo["Signature01"])
        if c[0] not in (xds.CLASS_FACILITY_TYPE, xds.CLASS_PRACTICE_SETTING)
    )
    assert [
        c for c in ours_sig if c[0] not in (xds.CLASS_FACILITY_TYPE, xds.CLASS_PRACTICE_SETTING)
    ] == theirs_sig
    assert _registry_object(ours_eo["Signature01"])["slots"] == [
        s for s in _registry_object(theirs_eo["Signature01"])["slots"]
    ]


@pytest.mark.parametrize(
    ("example", "action"),
    [
        (TD33D_REQUEST, lambda c, e: c.archive_document(e)),
        (TD33C_REQUEST, lambda c, e: c.delete_document(e)),
    ],
)
def test_status_updates_have_the_shape_of_td33(example: str, action: Callable[..., object]) -> None:
    sent = _sent(action)
    official = xmlsafe.parse(_official(example))
    assert _header_shape(sent) == _header_shape(official)
    ours, theirs = _objects(_body(sent)), _objects(_body(official))
    assert [el.tag for el in ours] == [el.tag for el in theirs]
    assert _registry_object(ours.find(f"{RIM}RegistryPackage")) == _registry_object(
        theirs.find(f"{RIM}RegistryPackage")
    )
    assert _associations(ours) == _associations(theirs)
    (ours_assoc,), (theirs_assoc,) = (
        ours.findall(f"{RIM}Association"),
        theirs.findall(f"{RIM}Association"),
    )
    assert sorted(ours_assoc.attrib) == sorted(theirs_assoc.attrib)
    assert ebrs.slot_value(ours_assoc, "NewStatus") == ebrs.slot_value(theirs_assoc, "NewStatus")


def test_masking_has_the_shape_of_the_cnam_template() -> None:
    sent = _sent(
        lambda c, e: c.update_confidentiality(
            e, masked=True, invisible_patient=False, invisible_legal_reps=False
        )
    )
    template = etree.parse(
        str(require_shared(TEMPLATES / "TLSiKitEditeurTests" / "template_masquage.xml")),
        etree.XMLParser(no_network=True, resolve_entities=False),
    ).getroot()
    ours, theirs = _objects(_body(sent)), _objects(template)
    assert [el.tag for el in ours] == [el.tag for el in theirs if isinstance(el.tag, str)]
    assert _associations(ours) == _associations(theirs)
    eo, official_eo = ours.find(f"{RIM}ExtrinsicObject"), theirs.find(f"{RIM}ExtrinsicObject")
    assert set(official_eo.attrib) <= set(eo.attrib)
    assert eo.get("lid") == _official_entry().extra.get("lid", _official_entry().entry_uuid)
    ours_slots = set(_registry_object(eo)["slots"])  # type: ignore[arg-type]
    assert set(_registry_object(official_eo)["slots"]) <= ours_slots  # type: ignore[arg-type]
    assert eo.find(f"{RIM}VersionInfo") is not None
    flags = [
        c.get("nodeRepresentation")
        for c in eo.findall(f"{RIM}Classification")
        if c.get("classificationScheme") == xds.CLASS_CONFIDENTIALITY
    ]
    assert "MASQUE_PS" in flags
    official_schemes = set(_registry_object(official_eo)["classifications"])  # type: ignore[arg-type]
    assert official_schemes - {xds.CLASS_EVENT_CODE} <= set(_registry_object(eo)["classifications"])  # type: ignore[arg-type]


# --- (c) official answers ------------------------------------------------------------------------


def test_official_td21_answer_reads_as_success() -> None:
    def handler(request_: httpx.Request) -> httpx.Response:
        message = mtom.parse_mtom(request_.headers["content-type"], request_.content)
        return httpx.Response(
            200, content=_echo(_official(TD21_RESPONSE), message.root), headers=SOAP_CT
        )

    with DmpClient(httpx.Client(transport=httpx.MockTransport(handler)), settings(), doctor()) as c:
        assert c.upload_document(submission(), SoftSigner()) == "2.25.1001"


@pytest.mark.parametrize(
    ("response", "action", "status"),
    [
        (TD33C_RESPONSE, lambda c, e: c.delete_document(e), DocumentStatus.DELETED),
        (TD33D_RESPONSE, lambda c, e: c.archive_document(e), DocumentStatus.ARCHIVED),
    ],
)
def test_official_td33_answers_read_as_success(
    response: str, action: Callable[..., DocumentEntry], status: DocumentStatus
) -> None:
    results: list[DocumentEntry] = []

    def handler(request_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=_echo(_official(response), request_.content), headers=SOAP_CT
        )

    entry = _official_entry()
    author = doctor(national_id=entry.authors[0].national_id)
    with DmpClient(httpx.Client(transport=httpx.MockTransport(handler)), settings(), author) as c:
        results.append(action(c, entry))
    assert results[0].status is status
    assert INS.value != ""  # the official entry's patient is the official test INS
