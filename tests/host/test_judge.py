"""Deliberately broken client requests, refused by the host (issue 13: the host as a judge).

Raw requests over real mutual TLS (the client would refuse to send most of them):

- a body that is not valid against the official schema: a SOAP fault naming the schema
  and the problem, before anything else (no VIHF read, nothing stored);
- a submission signature that is cryptographically fine but not valid against the W3C
  XML-DSig schema: the client's own XAdES as it was (``SignatureProperty`` with text
  only), signed with a real signature key — refused by a host checking signatures
  strictly, which proves the host would have caught that client defect;
- a signer who is not the author, an unsigned submission, unique ids that are neither
  OIDs nor UUIDs (``../../../x``, ``1' OR '1'='1``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from lxml import etree

from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND
from tests.host.test_alimentation_wire import (
    DURAND_AUTHOR,
    LEA,
    MARTIN_AUTHOR,
    FileSigner,
    document_count,
    last_trace,
    make_signer,
    new_doc,
    upload,
    upload_request,
)
from tests.host.test_consultation_wire import (
    ACTION_FIND,
    REGISTRY,
    TlsClient,
    assertion,
    content_type,
    find_body,
    tls,
)
from tests.host.wire import ClientIdentity, envelope

DS = "http://www.w3.org/2000/09/xmldsig#"


@pytest.fixture(scope="module")
def strict_host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    """A host checking submission signatures against the XML-DSig schema too."""
    with run_in_thread(
        training_env, module_host_db_url, seed=True, strict_signature_schema=True
    ) as running:
        yield running


@pytest.fixture(scope="module")
def durand_tls(
    strict_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> TlsClient:
    return tls(strict_host, training_env, durand)


@pytest.fixture(scope="module")
def durand_key(training_env: TrainingEnv) -> FileSigner:
    return make_signer(training_env.pki, DURAND_AUTHOR)


def _former_client_signature(data: bytes) -> bytes:
    """The client's XAdES as it was before f22f12b: ``ds:SignatureProperty`` with text only.

    The properties are not covered by SignedInfo: the cryptography is unchanged, the
    signature is only structurally invalid (the W3C XML-DSig schema wants an element there).
    """
    root = etree.fromstring(data)
    for holder in root.iter("SignatureProperties", f"{{{DS}}}SignatureProperties"):
        holder.tag = f"{{{DS}}}SignatureProperties"
        for prop in holder:
            prop.tag = f"{{{DS}}}SignatureProperty"
    assert root.find(f".//{{{DS}}}SignatureProperty") is not None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- the body against the official schema ------------------------------------------------


def test_a_schema_invalid_body_is_refused_first(
    strict_host: RunningHost, durand_tls: TlsClient
) -> None:
    body = find_body(LEA.value)
    body.find(f"{{{body.nsmap['ns3']}}}ResponseOption").set("returnType", "Everything")
    etree.SubElement(body, "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}Intruder")
    token = assertion(DURAND, LEA.value)
    data = envelope(body, token, action=ACTION_FIND)[0]
    before = strict_host.store.last_trace_id()
    reply = durand_tls.post(data, content_type=content_type(ACTION_FIND), path=REGISTRY)
    assert reply.status == 400
    assert reply.fault_code == "DMPInvalidRequest"
    reason = reply.fault_reason or ""
    assert "schéma officiel query.xsd" in reason
    assert "Intruder" in reason or "returnType" in reason
    trace = last_trace(strict_host)
    assert trace.id > before
    assert (trace.transaction, trace.outcome, trace.result) == (
        "TD3.1",
        "DMPInvalidRequest",
        "SCHEMA",
    )


def test_a_schema_invalid_hl7_body_is_refused(
    strict_host: RunningHost, durand_tls: TlsClient
) -> None:
    """TD0.2 with its elements out of order (controlActProcess before the sender)."""
    from tests.host.wire import td02_request

    root = etree.fromstring(td02_request(DURAND, LEA.value)[0])
    payload = root.find(".//{urn:hl7-org:v3}PRPA_IN201307UV02")
    sender = payload.find("{urn:hl7-org:v3}sender")
    payload.remove(sender)
    payload.append(sender)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    reply = durand_tls.post(data)
    assert reply.status == 400 and reply.fault_code == "DMPInvalidRequest"
    assert "PRPA_IN201307UV02.xsd" in (reply.fault_reason or "")


# --- the submission signature ---------------------------------------------------------------


def test_the_clients_former_xades_is_refused_by_a_strict_host(
    strict_host: RunningHost, durand_tls: TlsClient, durand_key: FileSigner
) -> None:
    """Cryptographically valid, structurally invalid: the defect the host let through."""
    from dmp_desktop.dmp.xades import SignedDocument, sign_submission

    doc = new_doc(LEA)
    before = document_count(strict_host)
    signature = sign_submission([SignedDocument(doc.unique_id, doc.content)], durand_key)
    former = _former_client_signature(signature)
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc], signature_bytes=former))
    assert answer.error_code == "DMPDocumentSignatureError", answer.errors
    assert "schéma XML-DSig" in answer.errors[0][1]
    assert last_trace(strict_host).result == "SIGNATURE_SCHEMA"
    assert document_count(strict_host) == before

    # The client's signature as it is now (same SignedInfo, schema-valid) is accepted.
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc], signature_bytes=signature))
    assert answer.ok, answer.errors
    assert document_count(strict_host) == before + 1


def test_a_signature_by_someone_else_than_the_author_is_refused(
    strict_host: RunningHost, durand_tls: TlsClient, training_env: TrainingEnv
) -> None:
    from dmp_desktop.dmp.xades import SignedDocument, sign_submission

    doc = new_doc(LEA)
    martin = make_signer(training_env.pki, MARTIN_AUTHOR)
    signature = sign_submission([SignedDocument(doc.unique_id, doc.content)], martin)
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc], signature_bytes=signature))
    assert answer.error_code == "DMPDocumentSignatureError"
    assert last_trace(strict_host).result == "SIGNATURE_SIGNATAIRE_AUTRE"


def test_a_document_naming_another_author_is_refused(
    strict_host: RunningHost, durand_tls: TlsClient
) -> None:
    """Issue 13: an authorised doctor filed a document naming Dr Durand as its author."""
    doc = new_doc(LEA, MARTIN_AUTHOR)  # authored by Dr Martin, sent (and signed) by Dr Durand
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc], unsigned=True))
    assert answer.error_code == "DMPNotAuthor", answer.errors


@pytest.mark.parametrize(
    "unique_id", ["../../../x", "1' OR '1'='1", "1.2.250.01.5", "urn:oid:1.2.3"]
)
def test_unique_ids_must_be_oids(
    strict_host: RunningHost, durand_tls: TlsClient, unique_id: str
) -> None:
    doc = new_doc(LEA)
    doc.unique_id = unique_id
    before = document_count(strict_host)
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc], unsigned=True))
    assert answer.error_code == "XDSRegistryMetadataError", answer.errors
    assert "OID" in answer.errors[0][1]
    assert document_count(strict_host) == before


def test_a_submission_set_id_must_be_an_oid(
    strict_host: RunningHost, durand_tls: TlsClient
) -> None:
    doc = new_doc(LEA)
    answer = upload(
        durand_tls, upload_request(DURAND, LEA, [doc], set_unique_id="lot'; DROP TABLE x")
    )
    assert answer.error_code == "XDSRegistryMetadataError"


def test_signature_checks_never_log_the_patient(
    strict_host: RunningHost,
    durand_tls: TlsClient,
    durand_key: FileSigner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """signxml logs what it canonicalises at DEBUG: the host keeps it quiet (rule 7)."""
    caplog.set_level(logging.DEBUG)
    doc = new_doc(LEA)
    upload(durand_tls, upload_request(DURAND, LEA, [doc], signer=durand_key))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert LEA.value not in logged and "Canonicalized" not in logged
