"""The CNAM's official TD2.1, TD3.3c and TD3.3d requests and the masking templates, identities
aside, are accepted by the training host; its answers have the official shape and validate
against the official ebRS schema (rs.xsd).

What is replaced in the official requests, and why:

- identities: the VIHF's NameID (Dr Durand, whose certificate the TLS client presents), and
  in the TD3.3 requests the document they act on (its entryUUID, lid, version, unique id);
  the patient (207058575627097) is the demo patient Moreau Léa already;
- the VIHF's ``ID`` and ``IssueInstant`` (and ``AuthnInstant``): an assertion is fresh and
  used once;
- TD2.1 only: the documents' author (``authorPerson``), who is its sender, becomes the sender
  (the host accepts a professional's own documents only);
- TD2.1 only: its envelope says SOAP 1.1 (``http://schemas.xmlsoap.org/soap/envelope/``)
  while its MTOM root part is ``application/soap+xml`` (SOAP 1.2) and the DMP's repository
  WSDL binds SOAP 1.2 only: the envelope is sent as SOAP 1.2, which the host requires;
- TD2.1 only: its XAdES signature was made with a certificate of the real test IGC-Santé,
  and its manifest names other documents than those sent: it can only be accepted by a host
  started with the test-only ``skip_signature_check`` (and is refused by any other host).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from lxml import etree

from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.conftest import DMP_MESSAGES, REFERENCE_DATA, require_shared
from tests.host.conftest import DURAND
from tests.host.test_alimentation_wire import (
    ACTION_ITI41,
    ACTION_ITI41_RESPONSE,
    ACTION_ITI57,
    ACTION_ITI57_RESPONSE,
    APPROVED,
    ARCHIVED,
    DELETED,
    DURAND_AUTHOR,
    LCM,
    LEA,
    REGISTRY,
    REPOSITORY,
    RIM,
    SCHEMA_RS,
    Answer,
    FileSigner,
    Stored,
    durand_signer,
    feed_host,
    last_trace,
    new_doc,
    stored,
    submission_of,
    update_request,
    upload,
    upload_request,
)
from tests.host.test_consultation_wire import (
    TlsClient,
    content_type,
    retrieve,
    retrieve_request,
    schema,
    tls,
)
from tests.host.wire import SAML, SOAP, WSA, ClientIdentity
from tests.host.wire import TEST_INS_ROOT as TEST_NIR_ROOT

__all__ = ["durand_signer", "feed_host"]  # fixtures

TEMPLATES = REFERENCE_DATA / "dmp-messages" / "tlsikit-editeur-templates"
SOAP11 = b"http://schemas.xmlsoap.org/soap/envelope/"
OFFICIAL_NAME_ID = b"<saml2:NameID>899900063480</saml2:NameID>"
OFFICIAL_DOCUMENT_UID = "1.2.250.1.999.1.1.7898.3.1622814651504"


@pytest.fixture(scope="module")
def rs_xsd() -> etree.XMLSchema:
    require_shared(SCHEMA_RS)
    xsd = schema(SCHEMA_RS)
    assert xsd is not None
    return xsd


@pytest.fixture(scope="module")
def unchecked_host(
    training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHost]:
    """A host started with the test-only bypass of submission signatures."""
    db = tmp_path_factory.mktemp("unchecked-db") / "host.db"
    with run_in_thread(
        training_env, f"sqlite:///{db}", seed=True, skip_signature_check=True
    ) as running:
        # Identities aside: the official document (signed, not to be altered) names the
        # CNAM's test patient of this INS; the DMP record here says who that is (#14).
        with running.store.session() as session:
            patient = running.store.find_patient(session, "207058575627097", TEST_NIR_ROOT)
            assert patient is not None
            patient.family_name, patient.given_name = "PATB-QUATRE", "LAURENCE"
            patient.birth_date = dt.date(1979, 3, 28)
        yield running


def official_bytes(name: str) -> bytes:
    require_shared(DMP_MESSAGES)
    return (DMP_MESSAGES / name).read_bytes()


def official(name: str) -> etree._Element:
    return etree.fromstring(official_bytes(name))


def fresh_assertion(env: etree._Element, national_id: str) -> None:
    """Identities and freshness of the official VIHF (see the module docstring)."""
    assertion = env.find(f".//{{{SAML}}}Assertion")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assertion.set("ID", f"_{uuid.uuid4()}")
    assertion.set("IssueInstant", now)
    for statement in assertion.iter(f"{{{SAML}}}AuthnStatement"):
        statement.set("AuthnInstant", now)
    assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").text = national_id


OFFICIAL_AUTHOR = "899900063480"  # MAX LIBRE, who sent and authored the official TD2.1


def official_td21(national_id: str) -> tuple[str, bytes, str]:
    """(Content-Type, body, MessageID) of the official TD2.1 request, as sent by ``national_id``.

    The MIME framing and the two documents are the official bytes; only the root part's
    envelope changes (module docstring).
    """
    raw = official_bytes("TD2.1 - Alimentation_requête.xml")
    boundary = raw.split(b"\n", 1)[0][2:].strip().decode("ascii")
    head, _, rest = raw.partition(b"\n\n")  # the root part's headers
    root_xml, separator, tail = rest.partition(b"\n--" + boundary.encode("ascii"))
    assert OFFICIAL_NAME_ID in root_xml and SOAP11 in root_xml
    env = etree.fromstring(root_xml.replace(SOAP11, SOAP.encode("ascii")))
    fresh_assertion(env, national_id)
    # The sender is the author (the host requires it): the documents' author becomes the sender.
    for value in env.iter(f"{{{RIM}}}Value"):
        if value.text and value.text.startswith(f"{OFFICIAL_AUTHOR}^"):
            value.text = national_id + value.text[len(OFFICIAL_AUTHOR) :]
    message_id = env.findtext(f"{{{SOAP}}}Header/{{{WSA}}}MessageID")
    body = head + b"\n\n" + etree.tostring(env) + separator + tail
    media_type = (
        f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
        f'start="<rootpart@soapui.org>"; start-info="application/soap+xml"; '
        f'action="{ACTION_ITI41}"'
    )
    return media_type, body, message_id


def official_document() -> bytes:
    """The CDA part of the official TD2.1 request, exactly as sent."""
    raw = official_bytes("TD2.1 - Alimentation_requête.xml")
    boundary = raw.split(b"\n", 1)[0].strip()
    part = raw.split(boundary)[2]
    return part.split(b"\n\n", 1)[1].rsplit(b"\n", 1)[0]


def body_of(envelope: etree._Element) -> etree._Element:
    return envelope.find(f"{{{SOAP}}}Body")[0]


def same_shape(answer: Answer, reference: etree._Element) -> None:
    """Same element, attributes and namespace prefixes as the official answer."""
    assert answer.body.tag == reference.tag
    assert dict(answer.body.attrib) == dict(reference.attrib)
    assert answer.body.nsmap == reference.nsmap
    assert [c.tag for c in answer.body] == [c.tag for c in reference]


@pytest.fixture(scope="module")
def durand_tls(
    feed_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> TlsClient:
    return tls(feed_host, training_env, durand)


def post_answer(client: TlsClient, body: bytes, media_type: str, path: str) -> Answer:
    reply = client.post(body, content_type=media_type, path=path)
    assert reply.status == 200, reply.body[:2000]
    env = reply.xml()
    return Answer(reply, env, body_of(env))


# --- TD2.1 ---------------------------------------------------------------------------------------


def test_official_td21_request_is_accepted_without_its_signature_check(
    unchecked_host: RunningHost,
    training_env: TrainingEnv,
    durand: ClientIdentity,
    rs_xsd: etree.XMLSchema,
) -> None:
    client = tls(unchecked_host, training_env, durand)
    media_type, body, message_id = official_td21(DURAND)
    answer = post_answer(client, body, media_type, REPOSITORY)
    assert answer.ok, answer.errors
    assert answer.action == ACTION_ITI41_RESPONSE
    assert answer.envelope.findtext(f"{{{SOAP}}}Header/{{{WSA}}}RelatesTo") == message_id
    assert rs_xsd.validate(etree.fromstring(etree.tostring(answer.body))), rs_xsd.error_log
    same_shape(answer, body_of(official("TD2.1 - Alimentation_réponse.xml")))

    trace = last_trace(unchecked_host)
    assert (trace.transaction, trace.outcome, trace.result) == (
        "TD2.1",
        "OK",
        "Success/SIGNATURE_NON_VERIFIEE",
    )
    assert trace.document_unique_id == OFFICIAL_DOCUMENT_UID
    package = submission_of(unchecked_host, OFFICIAL_DOCUMENT_UID)
    assert package.signature_verified is False
    assert package.unique_id == "1.2.250.1.999.1.1.7898.1.1622814651504"
    assert package.signature is not None and b"IHEManifest" in package.signature
    record = stored(unchecked_host, OFFICIAL_DOCUMENT_UID)
    assert record.status == APPROVED and record.authors == (DURAND,)
    got = retrieve(client, retrieve_request(DURAND, LEA.value, OFFICIAL_DOCUMENT_UID))
    assert got.documents[OFFICIAL_DOCUMENT_UID] == official_document()

    # Sent again, it is a duplicate (XDSDuplicateUniqueIdInRegistry), as IHE answers.
    media_type, body, _ = official_td21(DURAND)
    again = post_answer(client, body, media_type, REPOSITORY)
    assert again.error_code == "XDSDuplicateUniqueIdInRegistry"
    assert rs_xsd.validate(etree.fromstring(etree.tostring(again.body))), rs_xsd.error_log


def test_official_td21_signature_is_refused_by_a_checking_host(
    feed_host: RunningHost, durand_tls: TlsClient, rs_xsd: etree.XMLSchema
) -> None:
    media_type, body, _ = official_td21(DURAND)
    answer = post_answer(durand_tls, body, media_type, REPOSITORY)
    assert answer.error_code == "DMPDocumentSignatureError", answer.errors
    assert rs_xsd.validate(etree.fromstring(etree.tostring(answer.body))), rs_xsd.error_log
    trace = last_trace(feed_host)
    assert (trace.transaction, trace.outcome) == ("TD2.1", "DMPDocumentSignatureError")
    # It is not even valid against the W3C XML-DSig schema (checked first): its Id
    # "0421d1cc-…" is not an xs:ID (an NCName cannot start with a digit). Its signer's
    # certificate is also one of the real test IGC-Santé, and its manifest covers other
    # documents than those sent.
    assert trace.result == "SIGNATURE_SCHEMA"


# --- TD3.3 ---------------------------------------------------------------------------------------


def durand_document(host: RunningHost, client: TlsClient, signer: FileSigner) -> Stored:
    doc = new_doc(LEA)
    assert upload(client, upload_request(DURAND, LEA, [doc], signer=signer)).ok
    return stored(host, doc.unique_id)


def official_update(name: str, target: str) -> tuple[bytes, str]:
    env = official(name)
    fresh_assertion(env, DURAND)
    association = env.find(f".//{{{RIM}}}Association")
    association.set("targetObject", target)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8"), env.findtext(
        f"{{{SOAP}}}Header/{{{WSA}}}MessageID"
    )


def test_official_td33d_then_td33c_requests_are_accepted(
    feed_host: RunningHost,
    durand_tls: TlsClient,
    durand_signer: FileSigner,
    rs_xsd: etree.XMLSchema,
) -> None:
    doc = durand_document(feed_host, durand_tls, durand_signer)
    for name, status, transaction in (
        ("TD3.3d - Archiver un document", ARCHIVED, "TD3.3d"),
        ("TD3.3c - Supprimer un document", DELETED, "TD3.3c"),
    ):
        body, message_id = official_update(f"{name}_requête.xml", doc.entry_uuid)
        answer = post_answer(durand_tls, body, content_type(ACTION_ITI57), REGISTRY)
        assert answer.ok, answer.errors
        assert answer.action == ACTION_ITI57_RESPONSE
        assert answer.envelope.findtext(f"{{{SOAP}}}Header/{{{WSA}}}RelatesTo") == message_id
        assert rs_xsd.validate(etree.fromstring(etree.tostring(answer.body))), rs_xsd.error_log
        same_shape(answer, body_of(official(f"{name}_réponse.xml")))
        assert stored(feed_host, doc.unique_id).status == status
        trace = last_trace(feed_host)
        assert (trace.transaction, trace.outcome, trace.document_unique_id) == (
            transaction,
            "OK",
            doc.unique_id,
        )


def _in_namespaces(template: etree._Element) -> etree._Element:
    """The TLSiKitEditeur template, written without namespaces, in lcm / rim as it is sent."""
    for el in template.iter():
        if isinstance(el.tag, str) and etree.QName(el).namespace is None:
            el.tag = f"{{{LCM if el is template else RIM}}}{etree.QName(el).localname}"
    return etree.fromstring(etree.tostring(template))


@pytest.mark.parametrize(
    "template",
    ["TLSiKitEditeurTests/template_masquage.xml", "TLSiKitEditeur/template_masquage.xml"],
)
def test_official_masking_templates_are_accepted(
    feed_host: RunningHost,
    durand_tls: TlsClient,
    durand_signer: FileSigner,
    rs_xsd: etree.XMLSchema,
    template: str,
) -> None:
    doc = durand_document(feed_host, durand_tls, durand_signer)
    require_shared(TEMPLATES)
    request = _in_namespaces(etree.fromstring((TEMPLATES / template).read_bytes()))
    assert request.tag == f"{{{LCM}}}SubmitObjectsRequest"
    # Identities: the patient, and the document acted on (lid, version, unique id).
    for ident in request.iter(f"{{{RIM}}}ExternalIdentifier"):
        if ident.get("identificationScheme") in (
            "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446",
            "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427",
        ):
            ident.set("value", f"{LEA.cx()}^^20190404100738")
        elif ident.get("identificationScheme") == "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab":
            ident.set("value", doc.unique_id)
    request.find(f".//{{{RIM}}}ExtrinsicObject").set("lid", doc.lid)
    for slot in request.iter(f"{{{RIM}}}Slot"):
        if slot.get("name") == "PreviousVersion":
            slot.find(f"{{{RIM}}}ValueList/{{{RIM}}}Value").text = str(doc.version)
    answer = post_answer(
        durand_tls, update_request(DURAND, LEA, request), content_type(ACTION_ITI57), REGISTRY
    )
    assert answer.ok, answer.errors
    assert rs_xsd.validate(etree.fromstring(etree.tostring(answer.body))), rs_xsd.error_log
    same_shape(answer, body_of(official("TD3.3d - Archiver un document_réponse.xml")))
    masked = stored(feed_host, doc.unique_id)
    assert masked.confidentiality == ("N", "MASQUE_PS") and masked.version == doc.version + 1
    assert last_trace(feed_host).transaction == "TD3.3a"
    assert DURAND_AUTHOR.national_id in masked.authors
