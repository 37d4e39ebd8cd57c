"""The submission signature of TD2.1 (IHE DSG, XAdES) as the training host checks it.

Signed on the SoftHSM card (its signature key, CPS3-DURAND) or with card-like
certificates whose key is in a file; every refusal is ``DMPDocumentSignatureError`` with
its reason in the trace (``SIGNATURE_<REASON>``), and nothing is stored.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from dmp_desktop.dmp.xades import SignedDocument, sign_submission
from dmp_desktop.smartcard import CardManager, CardSession
from dmp_sandbox.auth import identity_from_der
from dmp_sandbox.host import DmpHost, TraceContext
from dmp_sandbox.pki import PkiPaths, load_cert
from dmp_sandbox.server import RunningHost
from dmp_sandbox.training import TrainingEnv
from dmp_sandbox.xades_verify import SignaturePolicy
from tests.host.conftest import DURAND, STAFF
from tests.host.test_alimentation_wire import (
    APPROVED,
    DURAND_AUTHOR,
    FAILURE,
    LEA,
    MARTIN_AUTHOR,
    SECRETARY,
    Answer,
    FileSigner,
    document_count,
    durand_signer,
    feed_host,
    last_trace,
    make_signer,
    martin_signer,
    new_doc,
    stored,
    submission_of,
    upload,
    upload_request,
)
from tests.host.test_consultation_wire import TlsClient, tls
from tests.host.wire import ClientIdentity

__all__ = ["durand_signer", "feed_host", "martin_signer"]  # fixtures

DS = "http://www.w3.org/2000/09/xmldsig#"


@pytest.fixture(scope="module")
def durand_tls(
    feed_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> TlsClient:
    return tls(feed_host, training_env, durand)


@pytest.fixture(scope="module")
def card(card_manager: CardManager) -> Iterator[CardSession]:
    """Dr Durand's card, logged in: the signature key never leaves it."""
    info = next(c for c in card_manager.list_cards() if c.token_label == "CPS3-DURAND")
    session = card_manager.login(info, "1234")
    yield session
    session.close()


def signature_refused(host: RunningHost, answer: Answer, reason: str, before: int) -> None:
    assert answer.status == FAILURE, answer.errors
    assert answer.error_code == "DMPDocumentSignatureError", answer.errors
    trace = last_trace(host)
    assert (trace.transaction, trace.outcome, trace.result) == (
        "TD2.1",
        "DMPDocumentSignatureError",
        f"SIGNATURE_{reason.upper()}",
    )
    assert document_count(host) == before


def test_signed_on_the_card_is_verified(
    feed_host: RunningHost, durand_tls: TlsClient, card: CardSession
) -> None:
    doc = new_doc(LEA)
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc], signer=card))
    assert answer.ok, answer.errors
    assert stored(feed_host, doc.unique_id).status == APPROVED
    package = submission_of(feed_host, doc.unique_id)
    assert (package.signature_verified, package.signer_national_id) == (True, DURAND)
    assert last_trace(feed_host).result == "Success"


def test_secretary_sends_what_the_doctor_signed(
    feed_host: RunningHost,
    training_env: TrainingEnv,
    staff: ClientIdentity,
    durand_signer: FileSigner,
) -> None:
    doc = new_doc(LEA)
    request = upload_request(STAFF, LEA, [doc], signer=durand_signer, role=SECRETARY)
    answer = upload(tls(feed_host, training_env, staff), request)
    assert answer.ok, answer.errors
    package = submission_of(feed_host, doc.unique_id)
    assert (package.submitter_national_id, package.signer_national_id) == (STAFF, DURAND)


def test_document_changed_after_signing(
    feed_host: RunningHost, durand_tls: TlsClient, durand_signer: FileSigner
) -> None:
    before = document_count(feed_host)
    doc = new_doc(LEA)
    signed = [(doc.unique_id, doc.content)]
    doc.content = doc.content.replace(b"<ClinicalDocument", b"<!-- x --><ClinicalDocument", 1)
    assert doc.content != signed[0][1]
    request = upload_request(DURAND, LEA, [doc], signer=durand_signer, signed_docs=signed)
    signature_refused(feed_host, upload(durand_tls, request), "empreinte", before)


def test_signature_must_cover_exactly_the_documents_sent(
    feed_host: RunningHost, durand_tls: TlsClient, durand_signer: FileSigner
) -> None:
    before = document_count(feed_host)
    doc, other = new_doc(LEA), new_doc(LEA)
    request = upload_request(
        DURAND, LEA, [doc], signer=durand_signer, signed_docs=[(other.unique_id, doc.content)]
    )
    signature_refused(feed_host, upload(durand_tls, request), "document", before)
    second = new_doc(LEA, entry_id="Document02")
    request = upload_request(
        DURAND,
        LEA,
        [doc, second],
        signer=durand_signer,
        signed_docs=[(doc.unique_id, doc.content)],
    )
    signature_refused(feed_host, upload(durand_tls, request), "document", before)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("rogue", "signataire"),  # same names, unknown CA
        ("organisations", "signataire"),  # a structure CA does not issue cards
        ("authentication", "usage"),  # the card's authentication certificate
        ("expired", "signataire_expire"),
        ("colleague", "signataire_autre"),  # Dr Martin's card for Dr Durand's document
    ],
)
def test_who_signed(
    feed_host: RunningHost,
    training_env: TrainingEnv,
    rogue_pki: PkiPaths,
    durand_tls: TlsClient,
    kind: str,
    reason: str,
) -> None:
    pki = training_env.pki
    signer = {
        "rogue": lambda: make_signer(rogue_pki, DURAND_AUTHOR),
        "organisations": lambda: make_signer(pki, DURAND_AUTHOR, issuer="organisations"),
        "authentication": lambda: make_signer(pki, DURAND_AUTHOR, signing=False),
        "expired": lambda: make_signer(
            pki,
            DURAND_AUTHOR,
            not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=30),
            days=10,
        ),
        "colleague": lambda: make_signer(pki, MARTIN_AUTHOR),
    }[kind]()
    before = document_count(feed_host)
    request = upload_request(DURAND, LEA, [new_doc(LEA)], signer=signer)
    signature_refused(feed_host, upload(durand_tls, request), reason, before)


def test_forged_or_unreadable_signatures(
    feed_host: RunningHost, durand_tls: TlsClient, durand_signer: FileSigner
) -> None:
    before = document_count(feed_host)
    doc = new_doc(LEA)
    genuine = sign_submission([SignedDocument(doc.unique_id, doc.content)], durand_signer)
    root = etree.fromstring(genuine)
    value = root.find(f"{{{DS}}}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[10] ^= 0xFF
    value.text = base64.b64encode(bytes(raw)).decode("ascii")
    forged = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    request = upload_request(DURAND, LEA, [doc], signature_bytes=forged)
    signature_refused(feed_host, upload(durand_tls, request), "signature", before)
    for garbage in (b"<not-a-signature/>", b"\x00\x01 binary", b"<!DOCTYPE x><x/>"):
        request = upload_request(DURAND, LEA, [new_doc(LEA)], signature_bytes=garbage)
        signature_refused(feed_host, upload(durand_tls, request), "forme", before)


def test_empty_signature_document(feed_host: RunningHost, durand_tls: TlsClient) -> None:
    before = document_count(feed_host)
    request = upload_request(DURAND, LEA, [new_doc(LEA)], signature_bytes=b"")
    signature_refused(feed_host, upload(durand_tls, request), "forme", before)


def test_a_host_without_its_certificate_authorities_cannot_verify(
    feed_host: RunningHost, durand: ClientIdentity, durand_signer: FileSigner
) -> None:
    """Without the PKI (no trust configured), a signed submission is refused, never waved."""
    host = DmpHost(feed_host.store, signatures=SignaturePolicy(None))
    request = upload_request(DURAND, LEA, [new_doc(LEA)], signer=durand_signer)
    der = load_cert(durand.cert_path).public_bytes(Encoding.DER)
    trace = TraceContext()
    answer = host.handle(
        "repository", request.content_type, request.body, identity_from_der(der), trace
    )
    assert answer.status == 200
    assert (trace.outcome, trace.result) == (
        "DMPDocumentSignatureError",
        "SIGNATURE_NON_VERIFIABLE",
    )
