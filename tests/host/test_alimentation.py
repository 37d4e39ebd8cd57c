"""TD2.1 (ITI-41 over MTOM) against the training host, over mutual TLS.

Who may upload what, the metadata and content checks, replacement (RPLC), and the
trace of every request, accepted or refused. Nothing is stored unless all is accepted.
"""

from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import select

from dmp_sandbox.server import RunningHost
from dmp_sandbox.store import DocumentRecord
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN, STAFF
from tests.host.test_alimentation_wire import (
    ACTION_ITI41_RESPONSE,
    BLANC,
    DEPRECATED,
    DURAND_AUTHOR,
    EMMA,
    FAILURE,
    FAURE,
    GIRARD,
    LEA,
    LEFEBVRE,
    MARTIN_AUTHOR,
    REPOSITORY,
    ROUSSEL,
    SECRETARY,
    SIGNS,
    Answer,
    Author,
    FileSigner,
    cda,
    document_count,
    durand_signer,
    feed_host,
    last_trace,
    martin_signer,
    new_doc,
    new_uid,
    rs_schema,
    sha1,
    stored,
    submission_of,
    upload,
    upload_request,
    validate_rs,
)
from tests.host.test_consultation_wire import (
    APPROVED,
    CONFIDENTIALITY,
    SUCCESS,
    TlsClient,
    codes,
    find,
    find_request,
    martin,
    retrieve,
    retrieve_request,
    tls,
)
from tests.host.wire import SOAP, ClientIdentity

__all__ = ["durand_signer", "feed_host", "martin", "martin_signer"]  # fixtures


@pytest.fixture(scope="module")
def durand_tls(
    feed_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> TlsClient:
    return tls(feed_host, training_env, durand)


@pytest.fixture(scope="module")
def martin_tls(
    feed_host: RunningHost, training_env: TrainingEnv, martin: ClientIdentity
) -> TlsClient:
    return tls(feed_host, training_env, martin)


@pytest.fixture(scope="module")
def staff_tls(
    feed_host: RunningHost, training_env: TrainingEnv, staff: ClientIdentity
) -> TlsClient:
    return tls(feed_host, training_env, staff)


@pytest.fixture(scope="module")
def rs_xsd() -> etree.XMLSchema | None:
    return rs_schema()


def refused(
    host: RunningHost, answer: Answer, code: str, *, before: int, context: str | None = None
) -> None:
    """A Failure answer with ``code``, traced as such, and nothing stored."""
    assert answer.status == FAILURE, answer.errors
    assert answer.error_code == code, answer.errors
    if context is not None:
        assert context in answer.errors[0][1]
    trace = last_trace(host)
    assert (trace.transaction, trace.outcome) == ("TD2.1", code)
    assert trace.result is not None and trace.result != "Success"
    assert document_count(host) == before


# --- accepted ------------------------------------------------------------------------------------


def test_signed_upload_is_registered_stored_and_traced(
    feed_host: RunningHost,
    durand_tls: TlsClient,
    durand_signer: FileSigner,
    rs_xsd: etree.XMLSchema | None,
) -> None:
    doc = new_doc(LEA)
    request = upload_request(DURAND, LEA, [doc], signer=durand_signer)
    answer = upload(durand_tls, request)
    assert answer.ok, answer.errors
    assert answer.action == ACTION_ITI41_RESPONSE
    assert answer.body.attrib == {"status": SUCCESS}
    validate_rs(rs_xsd, answer)

    trace = last_trace(feed_host)
    assert (trace.transaction, trace.outcome, trace.result) == ("TD2.1", "OK", "Success")
    assert (trace.document_count, trace.document_unique_id) == (1, doc.unique_id)
    assert (trace.patient_ins, trace.professional_national_id) == (LEA.value, DURAND)
    assert trace.purpose == "normal"

    record = stored(feed_host, doc.unique_id)
    assert record.status == APPROVED and record.version == 1 and record.lid == record.entry_uuid
    assert record.confidentiality == ("N",) and record.authors == (DURAND,)
    package = submission_of(feed_host, doc.unique_id)
    assert package.unique_id == request.set_unique_id
    assert package.submitter_national_id == DURAND
    assert package.signature_unique_id == request.signature_unique_id
    assert package.signature_verified is True and package.signer_national_id == DURAND
    assert package.signature is not None and package.signature.startswith(b"<?xml")

    # The registry lists it, the repository gives back the very bytes.
    found = find(durand_tls, find_request(DURAND, LEA.value))
    ours = [eo for eo in found.objects if doc.unique_id in etree.tostring(eo).decode()]
    assert len(ours) == 1
    assert ours[0].find(f"{{{found.body.nsmap['ns4']}}}Name")[0].get("value") == doc.title
    assert codes(ours[0], CONFIDENTIALITY) == ["N"]
    assert "Source" not in found.titles()  # the signature is no document to read
    got = retrieve(durand_tls, retrieve_request(DURAND, LEA.value, doc.unique_id))
    assert got.documents == {doc.unique_id: doc.content}


def test_unsigned_upload_is_refused(feed_host: RunningHost, durand_tls: TlsClient) -> None:
    """TD2.1 needs the submission set's XAdES signature (issue 13: it was accepted)."""
    doc = new_doc(LEA)
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc], unsigned=True))
    assert answer.error_code == "DMPDocumentSignatureError", answer.errors
    assert "pas signé" in answer.errors[0][1]
    with feed_host.store.session() as session:
        found = session.scalars(
            select(DocumentRecord).where(DocumentRecord.unique_id == doc.unique_id)
        ).first()
    assert found is None


def test_declared_hash_and_size_of_the_bytes_are_accepted(durand_tls: TlsClient) -> None:
    doc = new_doc(LEA)
    doc.declared_hash = sha1(doc.content).upper()
    doc.declared_size = str(len(doc.content))
    assert upload(durand_tls, upload_request(DURAND, LEA, [doc])).ok


def test_inline_base64_request_is_accepted(feed_host: RunningHost, durand_tls: TlsClient) -> None:
    doc = new_doc(LEA)
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc], inline=True))
    assert answer.ok, answer.errors
    assert stored(feed_host, doc.unique_id).status == APPROVED


def test_two_documents_in_one_submission(
    feed_host: RunningHost, durand_tls: TlsClient, durand_signer: FileSigner
) -> None:
    first, second = new_doc(LEA), new_doc(LEA, entry_id="Document02")
    answer = upload(durand_tls, upload_request(DURAND, LEA, [first, second], signer=durand_signer))
    assert answer.ok, answer.errors
    trace = last_trace(feed_host)
    assert trace.document_count == 2
    assert trace.document_unique_id == f"{first.unique_id} {second.unique_id}"


def test_masked_or_invisible_flags_are_kept(feed_host: RunningHost, durand_tls: TlsClient) -> None:
    masked = new_doc(LEA).with_flags("MASQUE_PS", "INVISIBLE_REPRESENTANTS_LEGAUX")
    assert upload(durand_tls, upload_request(DURAND, LEA, [masked])).ok
    assert stored(feed_host, masked.unique_id).confidentiality == (
        "N",
        "MASQUE_PS",
        "INVISIBLE_REPRESENTANTS_LEGAUX",
    )
    hidden = new_doc(LEA).with_flags("INVISIBLE_PATIENT")
    assert upload(durand_tls, upload_request(DURAND, LEA, [hidden])).ok


# --- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ins", "code", "context"),
    [
        (BLANC, "DMPClosed", "fermé"),
        (ROUSSEL, "DMPNotFound", "pas de DMP"),
        # The words of a feed, not of a consultation (access.professional_grant's refusals).
        (LEFEBVRE, "DMPAccessDenied", "pas autorisé à alimenter ce DMP"),
        (
            FAURE,
            "DMPAccessDenied",
            "expiré : demandez au patient son accord puis renouvelez "
            "l'autorisation avant d'envoyer le document",
        ),
        (GIRARD, "DMPAccessDeniedByExcludedPs", "vous ne pouvez ni y déposer ni y modifier"),
    ],
)
def test_refusals_by_the_patient_record(
    feed_host: RunningHost, durand_tls: TlsClient, ins: object, code: str, context: str
) -> None:
    before = document_count(feed_host)
    doc = new_doc(ins)  # type: ignore[arg-type]
    answer = upload(durand_tls, upload_request(DURAND, ins, [doc]))  # type: ignore[arg-type]
    refused(feed_host, answer, code, before=before, context=context)


def test_emergency_upload_follows_the_consultation_rules(
    feed_host: RunningHost, durand_tls: TlsClient
) -> None:
    before = document_count(feed_host)
    # Blocked stays blocked; an opposed mode is refused.
    answer = upload(
        durand_tls,
        upload_request(
            DURAND, GIRARD, [new_doc(GIRARD)], purpose="bris_de_glace", reason="Urgence vitale"
        ),
    )
    refused(feed_host, answer, "DMPAccessDeniedByExcludedPs", before=before)
    answer = upload(
        durand_tls,
        upload_request(DURAND, FAURE, [new_doc(FAURE)], purpose="centre_15", reason="SAMU"),
    )
    refused(feed_host, answer, "DMPAccessDenied", before=before)  # not a SAMU regulator
    # Without authorisation, in break glass with a reason: accepted, traced, patient told.
    doc = new_doc(LEFEBVRE)
    answer = upload(
        durand_tls,
        upload_request(
            DURAND, LEFEBVRE, [doc], purpose="bris_de_glace", reason="Patient inconscient"
        ),
    )
    assert answer.ok, answer.errors
    trace = last_trace(feed_host)
    assert (trace.purpose, trace.reason, trace.outcome) == (
        "bris_de_glace",
        "Patient inconscient",
        "OK",
    )
    messages = [m.text for m, _, _ in feed_host.store.outbox(ins_value=LEFEBVRE.value)]
    assert any("bris de glace" in m for m in messages)
    assert not any("Patient inconscient" in m for m in messages)  # the reason: trace only


def test_secretary_uploads_for_an_authorised_doctor_of_the_practice(
    feed_host: RunningHost, staff_tls: TlsClient, durand_tls: TlsClient
) -> None:
    doc = new_doc(LEA, DURAND_AUTHOR)
    answer = upload(staff_tls, upload_request(STAFF, LEA, [doc], role=SECRETARY))
    assert answer.ok, answer.errors
    trace = last_trace(feed_host)
    assert (trace.professional_national_id, trace.outcome) == (STAFF, "OK")
    assert submission_of(feed_host, doc.unique_id).submitter_national_id == STAFF
    assert stored(feed_host, doc.unique_id).authors == (DURAND,)


@pytest.mark.parametrize(
    ("ins", "author", "extra", "code"),
    [
        # Dr Durand has no authorisation on Lefebvre's DMP.
        (LEFEBVRE, DURAND_AUTHOR, {}, "DMPAccessDenied"),
        # Another practice's doctor.
        (
            LEA,
            Author(DURAND, "DURAND", "MARIE", "AUTRE CABINET", "499700000000001"),
            {},
            "DMPAccessDenied",
        ),
        # The patient blocked the author.
        (GIRARD, DURAND_AUTHOR, {}, "DMPAccessDeniedByExcludedPs"),
        # No emergency access for a secretary.
        (LEA, DURAND_AUTHOR, {"purpose": "bris_de_glace", "reason": "Urgence"}, "DMPAccessDenied"),
    ],
)
def test_secretary_refusals(
    feed_host: RunningHost,
    staff_tls: TlsClient,
    ins: object,
    author: Author,
    extra: dict[str, str],
    code: str,
) -> None:
    before = document_count(feed_host)
    doc = new_doc(ins, author)  # type: ignore[arg-type]
    request = upload_request(STAFF, ins, [doc], role=SECRETARY, **extra)  # type: ignore[arg-type]
    refused(feed_host, upload(staff_tls, request), code, before=before)


# --- metadata and content ------------------------------------------------------------------------


def test_duplicate_unique_id_is_refused_as_ihe_says(
    feed_host: RunningHost, durand_tls: TlsClient
) -> None:
    doc = new_doc(LEA)
    assert upload(durand_tls, upload_request(DURAND, LEA, [doc])).ok
    before = document_count(feed_host)
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc]))
    refused(feed_host, answer, "XDSDuplicateUniqueIdInRegistry", before=before)
    assert answer.errors[0][2] == doc.unique_id  # location
    # The same unique id in another patient's DMP is a duplicate too (registry-wide).
    other = new_doc(EMMA)
    other.unique_id = doc.unique_id
    answer = upload(durand_tls, upload_request(DURAND, EMMA, [other]))
    refused(feed_host, answer, "XDSDuplicateUniqueIdInRegistry", before=before)
    # Twice in one message.
    a, b = new_doc(LEA), new_doc(LEA, entry_id="Document02")
    b.unique_id = a.unique_id
    answer = upload(durand_tls, upload_request(DURAND, LEA, [a, b]))
    refused(feed_host, answer, "XDSRegistryDuplicateUniqueIdInMessage", before=before)
    # A submission set sent twice.
    again = upload_request(DURAND, LEA, [new_doc(LEA)])
    assert upload(durand_tls, again).ok
    before = document_count(feed_host)
    answer = upload(
        durand_tls, upload_request(DURAND, LEA, [new_doc(LEA)], set_unique_id=again.set_unique_id)
    )
    refused(feed_host, answer, "XDSDuplicateUniqueIdInRegistry", before=before)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"declared_hash": "0" * 40}, "XDSRepositoryMetadataError"),
        ({"declared_size": "12"}, "XDSRepositoryMetadataError"),
        ({"content": b""}, "DMPInvalidDocument"),
        ({"content": b"   \n"}, "DMPInvalidDocument"),
        ({"content": b"%PDF-1.4 not xml"}, "DMPInvalidDocument"),
        ({"content": b"<html xmlns='urn:x'/>"}, "DMPInvalidDocument"),
        ({"mime_type": "application/pdf"}, "XDSRegistryMetadataError"),
        ({"with_title": False}, "XDSRegistryMetadataError"),
        ({"class_code": ("", "", "1.2.250.1.213.1.1.4.1")}, "XDSRegistryMetadataError"),
        ({"confidentiality": ()}, "XDSRegistryMetadataError"),
        (
            {"confidentiality": (("N", "2.16.840.1.113883.5.25"), ("R", "2.16.840.1.113883.5.25"))},
            "XDSRegistryMetadataError",
        ),
    ],
)
def test_metadata_and_content_refusals(
    feed_host: RunningHost, durand_tls: TlsClient, change: dict[str, object], code: str
) -> None:
    before = document_count(feed_host)
    doc = new_doc(LEA)
    for name, value in change.items():
        setattr(doc, name, value)
    refused(feed_host, upload(durand_tls, upload_request(DURAND, LEA, [doc])), code, before=before)


def test_masked_and_invisible_to_the_patient_is_refused(
    feed_host: RunningHost, durand_tls: TlsClient
) -> None:
    before = document_count(feed_host)
    doc = new_doc(LEA).with_flags("MASQUE_PS", "INVISIBLE_PATIENT")
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc]))
    refused(feed_host, answer, "DMPForbiddenConfidentiality", before=before, context="MASQUE_PS")
    assert answer.errors[0][2] == doc.unique_id


def test_patient_must_be_the_same_everywhere(feed_host: RunningHost, durand_tls: TlsClient) -> None:
    before = document_count(feed_host)
    # The VIHF names another patient.
    answer = upload(durand_tls, upload_request(DURAND, LEA, [new_doc(LEA)], vihf_ins=LEFEBVRE))
    refused(feed_host, answer, "XDSPatientIdDoesNotMatch", before=before, context="VIHF")
    # The entry names another patient than the submission set.
    doc = new_doc(LEA)
    doc.patient = LEFEBVRE
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc]))
    refused(feed_host, answer, "XDSPatientIdDoesNotMatch", before=before)
    # The CDA header is about someone else.
    uid = new_uid()
    doc = new_doc(LEA)
    doc.unique_id, doc.content = uid, cda(LEFEBVRE, DURAND_AUTHOR, uid)
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc]))
    refused(feed_host, answer, "XDSPatientIdDoesNotMatch", before=before, context="recordTarget")


def test_documents_and_metadata_must_pair_up(feed_host: RunningHost, durand_tls: TlsClient) -> None:
    before = document_count(feed_host)
    answer = upload(
        durand_tls, upload_request(DURAND, LEA, [new_doc(LEA)], drop_parts=("Document01",))
    )
    refused(feed_host, answer, "XDSMissingDocument", before=before)
    answer = upload(
        durand_tls,
        upload_request(DURAND, LEA, [new_doc(LEA)], extra_parts={"Document09": b"<x/>"}),
    )
    refused(feed_host, answer, "XDSMissingDocumentMetadata", before=before)


def test_unsupported_shapes_are_invalid_requests(
    feed_host: RunningHost, durand_tls: TlsClient
) -> None:
    before = document_count(feed_host)

    def add_association(root: etree._Element) -> None:
        objects = root.find(".//{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}RegistryObjectList")
        etree.SubElement(
            objects,
            "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}Association",
            associationType="urn:ihe:iti:2007:AssociationType:XFRM",
            id="assoc99",
            sourceObject="Document01",
            targetObject="urn:uuid:00000000-0000-4000-8000-000000000000",
        )

    answer = upload(durand_tls, upload_request(DURAND, LEA, [new_doc(LEA)], mutate=add_association))
    refused(feed_host, answer, "DMPInvalidRequest", before=before)
    assert SIGNS  # the signature's association is tested with signatures


def test_malformed_mtom_is_a_fault(feed_host: RunningHost, durand_tls: TlsClient) -> None:
    request = upload_request(DURAND, LEA, [new_doc(LEA)])
    reply = durand_tls.post(
        request.body[: len(request.body) // 2], content_type=request.content_type, path=REPOSITORY
    )
    assert reply.status == 400
    assert reply.fault_code == "DMPInvalidRequest"
    assert last_trace(feed_host).transaction == "TD2.1"


# --- replacement (RPLC) --------------------------------------------------------------------------


def test_author_replaces_her_document(
    feed_host: RunningHost, durand_tls: TlsClient, durand_signer: FileSigner
) -> None:
    first = new_doc(LEA)
    assert upload(durand_tls, upload_request(DURAND, LEA, [first], signer=durand_signer)).ok
    old = stored(feed_host, first.unique_id)
    second = new_doc(LEA, title="Note de consultation (corrigée)")
    answer = upload(
        durand_tls,
        upload_request(
            DURAND, LEA, [second], signer=durand_signer, replaces={"Document01": old.entry_uuid}
        ),
    )
    assert answer.ok, answer.errors
    new = stored(feed_host, second.unique_id)
    old = stored(feed_host, first.unique_id)
    assert old.status == DEPRECATED and old.replaced_by == new.entry_uuid
    assert new.status == APPROVED and new.replaces == old.entry_uuid
    # Replacing it again is refused: it is no longer active.
    before = document_count(feed_host)
    third = new_doc(LEA)
    answer = upload(
        durand_tls, upload_request(DURAND, LEA, [third], replaces={"Document01": old.entry_uuid})
    )
    refused(feed_host, answer, "XDSRegistryMetadataError", before=before, context="remplacé")


def test_replacement_refusals(
    feed_host: RunningHost,
    durand_tls: TlsClient,
    martin_tls: TlsClient,
    martin_signer: FileSigner,
) -> None:
    # Dr Martin writes in Lefebvre's DMP (he is authorised there).
    martins = new_doc(LEFEBVRE, MARTIN_AUTHOR)
    answer = upload(martin_tls, upload_request(MARTIN, LEFEBVRE, [martins], signer=martin_signer))
    assert answer.ok, answer.errors
    target = stored(feed_host, martins.unique_id).entry_uuid
    before = document_count(feed_host)
    # Another patient's document.
    answer = upload(
        durand_tls, upload_request(DURAND, LEA, [new_doc(LEA)], replaces={"Document01": target})
    )
    refused(feed_host, answer, "XDSPatientIdDoesNotMatch", before=before)
    # Unknown document.
    answer = upload(
        durand_tls,
        upload_request(
            DURAND,
            LEA,
            [new_doc(LEA)],
            replaces={"Document01": "urn:uuid:0b6c2c84-0f1c-4a8e-9d7e-3d1f5f2b9a11"},
        ),
    )
    refused(feed_host, answer, "XDSDocumentUniqueIdError", before=before)
    # Someone else's document (a demo document of Léa's record, by another author).
    with feed_host.store.session() as session:
        from sqlalchemy import select

        from dmp_sandbox.store import DocumentRecord, Patient

        lea_id = session.scalars(select(Patient.id).where(Patient.ins_value == LEA.value)).one()
        others = [
            d
            for d in session.scalars(
                select(DocumentRecord).where(
                    DocumentRecord.patient_id == lea_id, DocumentRecord.status == APPROVED
                )
            )
            if DURAND not in d.author_ids() and "MASQUE_PS" not in d.confidentiality_codes()
        ]
        foreign = others[0].entry_uuid
    answer = upload(
        durand_tls, upload_request(DURAND, LEA, [new_doc(LEA)], replaces={"Document01": foreign})
    )
    refused(feed_host, answer, "DMPNotAuthor", before=before, context="auteur")
    assert stored(feed_host, others[0].unique_id).status == APPROVED


def test_refusal_answers_have_the_registry_error_shape(
    durand_tls: TlsClient, rs_xsd: etree.XMLSchema | None
) -> None:
    answer = upload(durand_tls, upload_request(DURAND, BLANC, [new_doc(BLANC)]))
    validate_rs(rs_xsd, answer)
    error = answer.body[0][0]
    assert etree.QName(answer.body[0]).localname == "RegistryErrorList"
    assert error.get("severity") == "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
    assert answer.envelope.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault") is None
    assert MARTIN_AUTHOR.national_id not in error.get("codeContext")


def test_a_lost_race_is_still_a_duplicate(
    feed_host: RunningHost, durand_tls: TlsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two uploads of one document at once: the database's constraint answers for the second."""
    from dmp_sandbox import alimentation

    doc = new_doc(LEA)
    assert upload(durand_tls, upload_request(DURAND, LEA, [doc])).ok
    before = document_count(feed_host)
    monkeypatch.setattr(alimentation, "check_registry_duplicates", lambda *args: None)
    answer = upload(durand_tls, upload_request(DURAND, LEA, [doc]))
    refused(feed_host, answer, "XDSDuplicateUniqueIdInRegistry", before=before)


def test_one_document_is_replaced_once(feed_host: RunningHost, durand_tls: TlsClient) -> None:
    first = new_doc(LEA)
    assert upload(durand_tls, upload_request(DURAND, LEA, [first])).ok
    target = stored(feed_host, first.unique_id).entry_uuid
    before = document_count(feed_host)
    a, b = new_doc(LEA), new_doc(LEA, entry_id="Document02")
    request = upload_request(
        DURAND, LEA, [a, b], replaces={"Document01": target, "Document02": target}
    )
    refused(feed_host, upload(durand_tls, request), "DMPInvalidRequest", before=before)
    assert stored(feed_host, first.unique_id).status == APPROVED
