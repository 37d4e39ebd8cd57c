"""TD2.1 (ITI-41): the submission the client builds and how it travels (MTOM, XAdES)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import httpx
import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ebrs, iti41, mtom, ns, rim, xds
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.feed_errors import DocumentStatusError, NotAuthorError
from dmp_desktop.dmp.xmlutil import qn
from dmp_desktop.domain.document import Code, DocumentStatus
from dmp_desktop.errors import CardNotRecognisedError, DmpProtocolError, DmpServiceError
from tests.unit.test_alimentation_support import (
    BASE,
    SOAP_CT,
    FakeDmp,
    SoftSigner,
    message_id,
    registry_response,
)
from tests.unit.test_dmp_support import INS, doctor, settings

RIM = f"{{{ebrs.RIM}}}"
CDA = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>CR</title></ClinicalDocument>"
WHEN = dt.datetime(2026, 3, 12, 9, 45, tzinfo=dt.UTC)


def submission(**changes: object) -> iti41.Submission:
    client = DmpClient(httpx.Client(), settings(), doctor())
    meta = iti41.DocumentMetadata(
        unique_id="2.25.1001",
        patient=INS,
        title="Compte rendu de consultation",
        type_code=Code(
            "11488-4", "CR ou fiche de consultation ou de visite", "2.16.840.1.113883.6.1"
        ),
        class_code=Code("10", "Compte rendu", "1.2.250.1.213.1.1.4.1"),
        format_code=Code("urn:ihe:iti:xds-sd:pdf:2008", "PDF", "1.3.6.1.4.1.19376.1.2.3"),
        creation_time=WHEN,
        service_start=dt.date(2026, 3, 10),
        confidentiality=iti41.confidentiality_codes(
            masked=True, invisible_patient=False, invisible_legal_reps=True
        ),
        source_patient_info=iti41.source_patient_info("MOREAU", ["LÉA"], dt.date(2007, 5, 25), "F"),
    )
    values: dict[str, object] = {
        "unique_id": "2.25.1000",
        "source_id": client.lps_oid,
        "submission_time": WHEN,
        "author": client.author_values(),
        "structure": iti41.StructureInfo(
            "499700433153007",
            "CABINET MEDICAL FORMATION",
            Code("SA07", "Cabinet individuel", "1.2.250.1.71.4.2.4"),
            Code("AMBULATOIRE", "Ambulatoire", "1.2.250.1.213.1.1.4.9"),
        ),
        "document": meta,
        "content": CDA,
        "signature_unique_id": "2.25.1002",
    }
    values.update(changes)
    client.close()
    return iti41.Submission(**values)  # type: ignore[arg-type]


def _objects(body: etree._Element) -> etree._Element:
    return body.find(f"{{{ebrs.LCM}}}SubmitObjectsRequest/{RIM}RegistryObjectList")


def _codes(eo: etree._Element, scheme: str) -> list[tuple[str, str]]:
    return [
        (c.get("nodeRepresentation"), ebrs.slot_value(c, "codingScheme") or "")
        for c in eo.findall(f"{RIM}Classification")
        if c.get("classificationScheme") == scheme
    ]


def test_the_document_entry_says_what_the_professional_chose() -> None:
    body, parts = iti41.build_request(submission(), b"<Signature/>")
    objects = _objects(body)
    (package,) = objects.findall(f"{RIM}RegistryPackage")
    assert package.get("id") == "SubmissionSet01"
    eos = {eo.get("id"): eo for eo in objects.findall(f"{RIM}ExtrinsicObject")}
    assert set(eos) == {"Document01", "Signature01"}
    doc = eos["Document01"]
    assert doc.get("mimeType") == "text/xml"
    assert _codes(doc, xds.CLASS_CONFIDENTIALITY) == [
        ("N", "2.16.840.1.113883.5.25"),
        ("MASQUE_PS", "1.2.250.1.213.1.1.4.13"),
        ("INVISIBLE_REPRESENTANTS_LEGAUX", "1.2.250.1.213.1.1.4.13"),
    ]
    assert _codes(doc, xds.CLASS_CLASS_CODE) == [("10", "1.2.250.1.213.1.1.4.1")]
    assert _codes(doc, xds.CLASS_TYPE_CODE) == [("11488-4", "2.16.840.1.113883.6.1")]
    slots = ebrs.all_slots(doc)
    assert slots["serviceStartTime"] == ["20260310000000"]
    assert slots["creationTime"] == ["20260312094500"]
    assert slots["sourcePatientId"] == [INS.cx()]
    assert slots["sourcePatientInfo"] == ["PID-5|MOREAU^LÉA^^^^^L", "PID-7|20070525", "PID-8|F"]
    assert slots["legalAuthenticator"] == [
        "899700433153^MARTIN^Claire^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
    ]
    author = doc.find(f"{RIM}Classification[@classificationScheme='{xds.CLASS_AUTHOR}']")
    assert ebrs.all_slots(author) == {
        "authorPerson": ["899700433153^MARTIN^Claire^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"],
        "authorInstitution": [
            "CABINET MEDICAL FORMATION^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^499700433153007"
        ],
        "authorSpecialty": [
            "G15_10/SM26^Médecin - Qualifié en Médecine Générale (SM)^1.2.250.1.213.1.1.4.5"
        ],
    }
    # Every classification / identifier names its object (lcm.xsd requires it).
    for el in objects.iter(f"{RIM}Classification"):
        assert el.get("classifiedObject") in ("SubmissionSet01", "Document01", "Signature01")
    for el in objects.iter(f"{RIM}ExternalIdentifier"):
        assert el.get("registryObject") in ("SubmissionSet01", "Document01", "Signature01")
    assocs = [
        (a.get("associationType").rsplit(":", 1)[-1], a.get("sourceObject"), a.get("targetObject"))
        for a in objects.findall(f"{RIM}Association")
    ]
    assert assocs == [
        ("HasMember", "SubmissionSet01", "Document01"),
        ("HasMember", "SubmissionSet01", "Signature01"),
        ("signs", "Signature01", "SubmissionSet01"),
    ]
    documents = body.findall(f"{{{xds.XDSB}}}Document")
    assert [d.get("id") for d in documents] == ["Document01", "Signature01"]
    assert [p.data for p in parts] == [CDA, b"<Signature/>"]
    includes = [d.find(f"{{{ns.XOP}}}Include").get("href") for d in documents]
    assert includes == [mtom.cid_href(p.content_id) for p in parts]


def test_a_replacement_carries_the_rplc_association() -> None:
    body, _ = iti41.build_request(
        submission(replaces_entry_uuid="urn:uuid:0badcafe-0000-4000-8000-000000000001"),
        b"<Signature/>",
    )
    rplc = [
        a
        for a in _objects(body).findall(f"{RIM}Association")
        if a.get("associationType") == rim.ASSOC_RPLC
    ]
    assert [(a.get("sourceObject"), a.get("targetObject")) for a in rplc] == [
        ("Document01", "urn:uuid:0badcafe-0000-4000-8000-000000000001")
    ]
    assert rplc[0].find(f"{RIM}Slot") is None


def test_upload_travels_as_mtom_signed_on_the_card(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeDmp()
    signer = SoftSigner()
    caplog.set_level(logging.DEBUG)
    with fake.client() as client:
        assert client.upload_document(submission(), signer) == "2.25.1001"
    (request,) = fake.requests
    assert str(request.url) == BASE + "repository"
    content_type = request.headers["content-type"]
    assert content_type.startswith('multipart/related; type="application/xop+xml"')
    assert 'start-info="application/soap+xml"' in content_type
    assert f'action="{iti41.ACTION}"' in content_type
    message = mtom.parse_mtom(content_type, request.content)
    envelope = xmlsafe.parse(message.root)
    assert envelope.find(f".//{{{ns.WSA}}}Action").text == iti41.ACTION
    assert envelope.find(f".//{{{ns.WSSE}}}Security/{{{ns.SAML2}}}Assertion") is not None
    assert fake.documents["2.25.1001"].content == CDA
    (verified,) = fake.signatures
    assert verified.certificate == signer.sign_certificate
    logs = caplog.text
    assert "TD2.1" in logs
    for secret in (INS.value, "MOREAU", "Compte rendu"):
        assert secret not in logs


def test_refusal_and_odd_answers() -> None:
    fake = FakeDmp(next_upload=["XDSRegistryMetadataError"])
    with fake.client() as client, pytest.raises(DmpServiceError) as caught:
        client.upload_document(submission(), SoftSigner())
    assert caught.value.code == "XDSRegistryMetadataError"
    assert fake.documents == {}

    def wrong_action(request: httpx.Request) -> httpx.Response:
        message = mtom.parse_mtom(request.headers["content-type"], request.content)
        answer = registry_response(message_id(message.root), action="urn:ihe:iti:2007:Other")
        return httpx.Response(200, content=answer, headers=SOAP_CT)

    with (
        DmpClient(
            httpx.Client(transport=httpx.MockTransport(wrong_action)), settings(), doctor()
        ) as client,
        pytest.raises(DmpProtocolError),
    ):
        client.upload_document(submission(), SoftSigner())


def test_no_signature_key_means_nothing_is_sent() -> None:
    fake = FakeDmp()
    signer = SoftSigner()
    signer.sign_certificate = None
    with fake.client() as client, pytest.raises(CardNotRecognisedError):
        client.upload_document(submission(), signer)
    assert fake.requests == []


def test_replace_only_my_active_documents() -> None:
    from tests.unit.test_alimentation_support import Stored

    fake = FakeDmp()
    fake.documents["1.2.3"] = Stored(
        "1.2.3",
        "urn:uuid:0badcafe-0000-4000-8000-000000000009",
        b"x",
        "11488-4",
        (),
        author="899700433160^MARTIN^Paul^^^^^^&amp;1.2.250.1.71.4.2.1&amp;ISO^D^^^IDNPS",
    )
    with fake.client() as client:
        theirs = client.find_by_unique_id(INS, "1.2.3")
        assert theirs is not None
        with pytest.raises(NotAuthorError):
            client.replace_document(theirs, submission(), SoftSigner())
        mine = dataclasses.replace(
            theirs, authors=(dataclasses.replace(theirs.authors[0], national_id="899700433153"),)
        )
        archived = dataclasses.replace(mine, status=DocumentStatus.ARCHIVED)
        with pytest.raises(DocumentStatusError):
            client.replace_document(archived, submission(), SoftSigner())
        assert client.replace_document(mine, submission(), SoftSigner()) == "2.25.1001"
    assert fake.documents["1.2.3"].status == DocumentStatus.DEPRECATED.value
    body = xmlsafe.parse(
        mtom.parse_mtom(fake.requests[-1].headers["content-type"], fake.requests[-1].content).root
    )
    targets = [
        a.get("targetObject")
        for a in body.iter(qn(ebrs.RIM, "Association"))
        if a.get("associationType") == rim.ASSOC_RPLC
    ]
    assert targets == [mine.entry_uuid]
