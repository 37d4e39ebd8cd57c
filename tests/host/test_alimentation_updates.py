"""TD3.3 (ITI-57 UpdateDocumentSet) against the training host, over mutual TLS.

Masking and visibility (a new version of the metadata), archive and delete
(UpdateAvailabilityStatus): who may, the version and status checks, all-or-nothing,
and the trace (TD3.3a…d) of every request, refused ones included.
"""

from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import select

from dmp_sandbox.server import RunningHost
from dmp_sandbox.store import DocumentRecord, Patient
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN, STAFF
from tests.host.test_alimentation_wire import (
    ACTION_ITI57_RESPONSE,
    APPROVED,
    ARCHIVED,
    DELETED,
    DEPRECATED,
    DURAND_AUTHOR,
    FAILURE,
    LEA,
    LEFEBVRE,
    MARTIN_AUTHOR,
    SECRETARY,
    Answer,
    FileSigner,
    Stored,
    durand_signer,
    feed_host,
    last_trace,
    metadata_update_body,
    new_doc,
    rs_schema,
    status_update_body,
    stored,
    update,
    update_request,
    upload,
    upload_request,
    validate_rs,
)
from tests.host.test_consultation_wire import (
    SUCCESS,
    TlsClient,
    find,
    find_request,
    martin,
    set_authorization,
    set_authorization_request,
    tls,
)
from tests.host.wire import ClientIdentity

__all__ = ["durand_signer", "feed_host", "martin"]  # fixtures


@pytest.fixture(scope="module")
def durand_tls(
    feed_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> TlsClient:
    return tls(feed_host, training_env, durand)


@pytest.fixture(scope="module")
def martin_tls(
    feed_host: RunningHost, training_env: TrainingEnv, martin: ClientIdentity
) -> TlsClient:
    """Dr Martin, authorised on Léa's DMP (not her médecin traitant)."""
    client = tls(feed_host, training_env, martin)
    status, _ = set_authorization(client, set_authorization_request(MARTIN, LEA.value))
    assert status == "DMPOk"
    return client


@pytest.fixture(scope="module")
def staff_tls(
    feed_host: RunningHost, training_env: TrainingEnv, staff: ClientIdentity
) -> TlsClient:
    return tls(feed_host, training_env, staff)


def durand_document(
    client: TlsClient, signer: FileSigner, host: RunningHost, *flags: str
) -> Stored:
    """A fresh document of Dr Durand in Léa's DMP (as stored)."""
    doc = new_doc(LEA).with_flags(*flags)
    assert upload(client, upload_request(DURAND, LEA, [doc], signer=signer)).ok
    return stored(host, doc.unique_id)


def refused(host: RunningHost, answer: Answer, code: str, transaction: str) -> None:
    assert answer.status == FAILURE, answer.errors
    assert answer.error_code == code, answer.errors
    trace = last_trace(host)
    assert (trace.transaction, trace.outcome, trace.result) == (transaction, code, "Failure")


def mask(national_id: str, doc: Stored, *flags: str) -> bytes:
    author = MARTIN_AUTHOR if national_id == MARTIN else DURAND_AUTHOR
    return update_request(national_id, LEA, metadata_update_body(LEA, author, doc, flags))


def set_status(national_id: str, doc: Stored, original: str, new: str) -> bytes:
    author = MARTIN_AUTHOR if national_id == MARTIN else DURAND_AUTHOR
    body = status_update_body(LEA, author, [(doc.entry_uuid, original, new)])
    return update_request(national_id, LEA, body)


# --- masking and visibility ----------------------------------------------------------------------


def test_author_masks_then_unmasks_her_document(
    feed_host: RunningHost,
    durand_tls: TlsClient,
    martin_tls: TlsClient,
    durand_signer: FileSigner,
) -> None:
    doc = durand_document(durand_tls, durand_signer, feed_host)
    xsd = rs_schema()
    answer = update(durand_tls, mask(DURAND, doc, "MASQUE_PS"))
    assert answer.ok, answer.errors
    assert answer.action == ACTION_ITI57_RESPONSE
    assert answer.body.attrib == {"status": SUCCESS}
    validate_rs(xsd, answer)
    trace = last_trace(feed_host)
    assert (trace.transaction, trace.outcome, trace.result) == ("TD3.3a", "OK", "Success")
    assert (trace.document_unique_id, trace.document_count) == (doc.unique_id, 1)
    masked = stored(feed_host, doc.unique_id)
    assert masked.confidentiality == ("N", "MASQUE_PS")
    assert (masked.version, masked.entry_uuid, masked.lid) == (2, doc.entry_uuid, doc.lid)
    # Dr Martin (authorised, neither author nor médecin traitant) no longer sees it.
    assert doc.unique_id not in find(martin_tls, find_request(MARTIN, LEA.value)).unique_ids()
    assert doc.unique_id in find(durand_tls, find_request(DURAND, LEA.value)).unique_ids()
    # The version read must be the current one.
    answer = update(durand_tls, mask(DURAND, doc))  # doc still says version 1
    refused(feed_host, answer, "XDSMetadataVersionError", "TD3.3a")
    answer = update(durand_tls, mask(DURAND, masked))
    assert answer.ok, answer.errors
    assert stored(feed_host, doc.unique_id).confidentiality == ("N",)
    assert doc.unique_id in find(martin_tls, find_request(MARTIN, LEA.value)).unique_ids()


def test_visibility_to_the_patient_is_td33b(
    feed_host: RunningHost, durand_tls: TlsClient, durand_signer: FileSigner
) -> None:
    doc = durand_document(durand_tls, durand_signer, feed_host, "INVISIBLE_PATIENT")
    answer = update(durand_tls, mask(DURAND, doc))
    assert answer.ok, answer.errors
    assert last_trace(feed_host).transaction == "TD3.3b"
    assert stored(feed_host, doc.unique_id).confidentiality == ("N",)
    # Masked and invisible to the patient together: never.
    now = stored(feed_host, doc.unique_id)
    answer = update(durand_tls, mask(DURAND, now, "MASQUE_PS", "INVISIBLE_PATIENT"))
    refused(feed_host, answer, "DMPForbiddenConfidentiality", "TD3.3a")
    assert stored(feed_host, doc.unique_id) == now


def test_same_codes_change_nothing(
    feed_host: RunningHost, durand_tls: TlsClient, durand_signer: FileSigner
) -> None:
    doc = durand_document(durand_tls, durand_signer, feed_host)
    assert update(durand_tls, mask(DURAND, doc)).ok
    assert stored(feed_host, doc.unique_id) == doc


def test_treating_physician_masks_a_colleagues_document(
    feed_host: RunningHost, durand_tls: TlsClient
) -> None:
    foreign = _foreign_document(feed_host)
    answer = update(durand_tls, mask(DURAND, foreign, "MASQUE_PS"))
    assert answer.ok, answer.errors
    assert "MASQUE_PS" in stored(feed_host, foreign.unique_id).confidentiality


def test_other_professionals_may_not_mask_archive_or_delete(
    feed_host: RunningHost,
    durand_tls: TlsClient,
    martin_tls: TlsClient,
    durand_signer: FileSigner,
) -> None:
    doc = durand_document(durand_tls, durand_signer, feed_host)
    answer = update(martin_tls, mask(MARTIN, doc, "MASQUE_PS"))
    refused(feed_host, answer, "DMPNotAuthor", "TD3.3a")
    assert "auteur" in answer.errors[0][1]
    answer = update(martin_tls, set_status(MARTIN, doc, APPROVED, ARCHIVED))
    refused(feed_host, answer, "DMPNotAuthor", "TD3.3d")
    answer = update(martin_tls, set_status(MARTIN, doc, APPROVED, DELETED))
    refused(feed_host, answer, "DMPNotAuthor", "TD3.3c")
    assert stored(feed_host, doc.unique_id) == doc
    # A masked document of someone else does not exist for him.
    hidden = durand_document(durand_tls, durand_signer, feed_host, "MASQUE_PS")
    answer = update(martin_tls, set_status(MARTIN, hidden, APPROVED, ARCHIVED))
    refused(feed_host, answer, "XDSDocumentUniqueIdError", "TD3.3d")


def test_staff_changes_nothing(
    feed_host: RunningHost,
    durand_tls: TlsClient,
    staff_tls: TlsClient,
    durand_signer: FileSigner,
) -> None:
    doc = durand_document(durand_tls, durand_signer, feed_host)
    request = update_request(
        STAFF,
        LEA,
        status_update_body(LEA, DURAND_AUTHOR, [(doc.entry_uuid, APPROVED, ARCHIVED)]),
        role=SECRETARY,
    )
    refused(feed_host, update(staff_tls, request), "DMPAccessDenied", "TD3.3d")
    assert last_trace(feed_host).professional_national_id == STAFF


# --- archive and delete --------------------------------------------------------------------------


def test_archive_unarchive_then_delete(
    feed_host: RunningHost, durand_tls: TlsClient, durand_signer: FileSigner
) -> None:
    doc = durand_document(durand_tls, durand_signer, feed_host)
    xsd = rs_schema()
    answer = update(durand_tls, set_status(DURAND, doc, APPROVED, ARCHIVED))
    assert answer.ok, answer.errors
    validate_rs(xsd, answer)
    trace = last_trace(feed_host)
    assert (trace.transaction, trace.document_unique_id, trace.result) == (
        "TD3.3d",
        doc.unique_id,
        "Success",
    )
    assert stored(feed_host, doc.unique_id).status == ARCHIVED
    # What the sender read must be the current status.
    answer = update(durand_tls, set_status(DURAND, doc, APPROVED, ARCHIVED))
    refused(feed_host, answer, "XDSMetadataUpdateError", "TD3.3d")
    assert update(durand_tls, set_status(DURAND, doc, ARCHIVED, APPROVED)).ok
    assert update(durand_tls, set_status(DURAND, doc, APPROVED, ARCHIVED)).ok
    answer = update(durand_tls, set_status(DURAND, doc, ARCHIVED, DELETED))
    assert answer.ok, answer.errors
    assert last_trace(feed_host).transaction == "TD3.3c"
    assert stored(feed_host, doc.unique_id).status == DELETED
    # Deleted: gone for everybody, and it never comes back.
    listed = find(
        durand_tls,
        find_request(DURAND, LEA.value, statuses=(APPROVED, ARCHIVED, DEPRECATED, DELETED)),
    )
    assert doc.unique_id not in listed.unique_ids()
    answer = update(durand_tls, set_status(DURAND, doc, DELETED, APPROVED))
    refused(feed_host, answer, "XDSDocumentUniqueIdError", "TD3.3d")


def test_only_the_author_deletes(feed_host: RunningHost, durand_tls: TlsClient) -> None:
    foreign = _foreign_document(feed_host)
    answer = update(durand_tls, set_status(DURAND, foreign, APPROVED, DELETED))
    refused(feed_host, answer, "DMPNotAuthor", "TD3.3c")
    assert "auteur" in answer.errors[0][1]
    # The médecin traitant may archive it, though.
    assert update(durand_tls, set_status(DURAND, foreign, APPROVED, ARCHIVED)).ok


def test_forbidden_transitions(
    feed_host: RunningHost, durand_tls: TlsClient, durand_signer: FileSigner
) -> None:
    doc = durand_document(durand_tls, durand_signer, feed_host)
    answer = update(durand_tls, set_status(DURAND, doc, APPROVED, DEPRECATED))
    refused(feed_host, answer, "XDSMetadataUpdateError", "TD3.3d")
    answer = update(durand_tls, set_status(DURAND, doc, APPROVED, "urn:x:unknown"))
    refused(feed_host, answer, "XDSMetadataUpdateError", "TD3.3")


def test_changes_are_all_or_nothing(
    feed_host: RunningHost, durand_tls: TlsClient, durand_signer: FileSigner
) -> None:
    first = durand_document(durand_tls, durand_signer, feed_host)
    second = durand_document(durand_tls, durand_signer, feed_host)
    body = status_update_body(
        LEA,
        DURAND_AUTHOR,
        [(first.entry_uuid, APPROVED, ARCHIVED), (second.entry_uuid, ARCHIVED, DELETED)],
    )
    answer = update(durand_tls, update_request(DURAND, LEA, body))
    refused(feed_host, answer, "XDSMetadataUpdateError", "TD3.3c")
    assert stored(feed_host, first.unique_id).status == APPROVED
    body = status_update_body(
        LEA,
        DURAND_AUTHOR,
        [(first.entry_uuid, APPROVED, ARCHIVED), (second.entry_uuid, APPROVED, ARCHIVED)],
    )
    assert update(durand_tls, update_request(DURAND, LEA, body)).ok
    trace = last_trace(feed_host)
    assert trace.document_count == 2
    assert trace.document_unique_id == f"{first.unique_id} {second.unique_id}"


def test_request_shape_and_patient_checks(
    feed_host: RunningHost, durand_tls: TlsClient, durand_signer: FileSigner
) -> None:
    doc = durand_document(durand_tls, durand_signer, feed_host)
    # The VIHF names another patient than the submission set.
    body = status_update_body(LEA, DURAND_AUTHOR, [(doc.entry_uuid, APPROVED, ARCHIVED)])
    answer = update(durand_tls, update_request(DURAND, LEFEBVRE, body))
    refused(feed_host, answer, "XDSPatientIdDoesNotMatch", "TD3.3")
    # No change at all.
    empty = status_update_body(LEA, DURAND_AUTHOR, [])
    refused(
        feed_host,
        update(durand_tls, update_request(DURAND, LEA, empty)),
        "DMPInvalidRequest",
        "TD3.3",
    )
    # Not a SubmitObjectsRequest.
    wrong = etree.Element("{urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0}RemoveObjectsRequest")
    refused(
        feed_host,
        update(durand_tls, update_request(DURAND, LEA, wrong)),
        "DMPInvalidRequest",
        "TD3.3",
    )
    assert stored(feed_host, doc.unique_id) == doc


def _foreign_document(host: RunningHost) -> Stored:
    """An active demo document of Léa's by another author, not masked."""
    with host.store.session() as session:
        lea_id = session.scalars(select(Patient.id).where(Patient.ins_value == LEA.value)).one()
        for doc in session.scalars(
            select(DocumentRecord)
            .where(DocumentRecord.patient_id == lea_id, DocumentRecord.status == APPROVED)
            .order_by(DocumentRecord.id)
        ):
            if DURAND not in doc.author_ids() and "MASQUE_PS" not in doc.confidentiality_codes():
                if doc.class_code != "90":
                    unique_id = doc.unique_id
                    break
    return stored(host, unique_id)


def test_emergency_update_follows_the_consultation_rules(
    feed_host: RunningHost, durand_tls: TlsClient, durand_signer: FileSigner
) -> None:
    """Without authorisation on Lefebvre's DMP, in break glass: the author archives her document."""
    doc = new_doc(LEFEBVRE)
    request = upload_request(
        DURAND, LEFEBVRE, [doc], signer=durand_signer, purpose="bris_de_glace", reason="Malaise"
    )
    assert upload(durand_tls, request).ok
    entry = stored(feed_host, doc.unique_id)
    body = status_update_body(LEFEBVRE, DURAND_AUTHOR, [(entry.entry_uuid, APPROVED, ARCHIVED)])
    answer = update(durand_tls, update_request(DURAND, LEFEBVRE, body))
    refused(feed_host, answer, "DMPAccessDenied", "TD3.3d")
    body = status_update_body(LEFEBVRE, DURAND_AUTHOR, [(entry.entry_uuid, APPROVED, ARCHIVED)])
    request = update_request(
        DURAND, LEFEBVRE, body, purpose="bris_de_glace", reason="Suite de la prise en charge"
    )
    assert update(durand_tls, request).ok
    trace = last_trace(feed_host)
    assert (trace.transaction, trace.purpose, trace.reason) == (
        "TD3.3d",
        "bris_de_glace",
        "Suite de la prise en charge",
    )
    messages = [m.text for m, _, _ in feed_host.store.outbox(ins_value=LEFEBVRE.value)]
    assert any("bris de glace" in m for m in messages)
    # The reason is in the trace only, never in the patient's notice (issue 13).
    assert not any("Suite de la prise en charge" in m or "Malaise" in m for m in messages)
