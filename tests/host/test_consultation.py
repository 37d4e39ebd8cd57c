"""Consultation (TD3.1 search, TD3.2 retrieval) against the training host, over mutual TLS.

Each access rule is decided by the host from its own store; each request
leaves a trace row (transaction, outcome, purpose, reason, documents).
"""

from __future__ import annotations

import hashlib
import re

import pytest
from lxml import etree

from dmp_desktop.cda.level1 import extract_level1
from dmp_desktop.cda.vsm import parse_vsm
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost
from dmp_sandbox.store import Trace
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN, STAFF
from tests.host.test_consultation_wire import (
    ACTION_FIND,
    ARCHIVED,
    CONFIDENTIALITY,
    DELETED,
    DEPRECATED,
    FAILURE,
    GET_DOCUMENTS,
    PARTIAL,
    REGULATOR,
    RIM,
    SCHEMA_QUERY,
    SCHEMA_REPOSITORY,
    SECRETARY,
    SUCCESS,
    TlsClient,
    assertion,
    codes,
    consult_host,
    document_uid,
    envelope,
    find,
    find_body,
    find_request,
    martin,
    regulator,
    retrieve,
    retrieve_request,
    schema,
    since,
    tls,
    unique_id,
    validate,
)
from tests.host.wire import ClientIdentity

__all__ = ["consult_host", "martin", "regulator"]  # fixtures

P = {p.key: p.ins.value for p in demo_patients()}
LEA, LEFEBVRE, GIRARD, FAURE = (
    P["actif-autorise"],
    P["actif-sans-autorisation"],
    P["bloque"],
    P["autorisation-expiree"],
)
BLANC, ROUSSEL, EMMA = P["ferme"], P["sans-dmp"], P["mineur"]
LEA_ALL = 32  # documents of Moreau Léa in the demo data (5 from her space and the insurer,
# 10 structured: dmp_actors.structured_documents)
LEA_APPROVED = LEA_ALL - 2  # one archived, one deprecated


@pytest.fixture(scope="module")
def durand_tls(
    consult_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> TlsClient:
    return tls(consult_host, training_env, durand)


@pytest.fixture(scope="module")
def martin_tls(
    consult_host: RunningHost, training_env: TrainingEnv, martin: ClientIdentity
) -> TlsClient:
    return tls(consult_host, training_env, martin)


@pytest.fixture(scope="module")
def regulator_tls(
    consult_host: RunningHost, training_env: TrainingEnv, regulator: ClientIdentity
) -> TlsClient:
    return tls(consult_host, training_env, regulator)


@pytest.fixture(scope="module")
def staff_tls(
    consult_host: RunningHost, training_env: TrainingEnv, staff: ClientIdentity
) -> TlsClient:
    return tls(consult_host, training_env, staff)


@pytest.fixture(scope="module")
def query_xsd() -> etree.XMLSchema | None:
    return schema(SCHEMA_QUERY)


@pytest.fixture(scope="module")
def repository_xsd() -> etree.XMLSchema | None:
    return schema(SCHEMA_REPOSITORY)


def last_trace(host: RunningHost) -> Trace:
    return host.store.traces(after_id=host.store.last_trace_id() - 1)[-1]


def outbox(host: RunningHost, ins: str) -> list[str]:
    """The patient's own notices (not those sent to a professional about them)."""
    return [
        m.text
        for m, _, _ in host.store.outbox(ins_value=ins)
        if m.recipient_national_id is None
    ]


# --- search: who may -----------------------------------------------------------------------------


def test_authorised_treating_physician_lists_active_documents(
    consult_host: RunningHost, durand_tls: TlsClient, query_xsd: etree.XMLSchema | None
) -> None:
    answer = find(durand_tls, find_request(DURAND, LEA))
    assert answer.status == SUCCESS
    validate(query_xsd, answer.body)
    assert len(answer.objects) == LEA_APPROVED
    assert answer.body.get("totalResultCount") == str(LEA_APPROVED)
    assert {eo.get("status") for eo in answer.objects} == {
        "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
    }
    # Newest first; the médecin traitant sees the masked documents.
    titles = answer.titles()
    assert titles[0] == "Compte rendu de passage aux urgences"
    masked = [eo for eo in answer.objects if "MASQUE_PS" in codes(eo, CONFIDENTIALITY)]
    assert len(masked) == 2
    trace = last_trace(consult_host)
    assert (trace.transaction, trace.outcome, trace.service) == ("TD3.1", "OK", "registry")
    assert (trace.professional_national_id, trace.patient_ins) == (DURAND, LEA)
    assert (trace.purpose, trace.reason, trace.document_count) == ("normal", None, LEA_APPROVED)
    assert trace.result == "Success"


def test_statuses_asked_for_are_honoured(durand_tls: TlsClient) -> None:
    everything = find(
        durand_tls,
        find_request(
            DURAND,
            LEA,
            statuses=("urn:oasis:names:tc:ebxml-regrep:StatusType:Approved", ARCHIVED, DEPRECATED),
        ),
    )
    assert len(everything.objects) == LEA_ALL
    archived = find(durand_tls, find_request(DURAND, LEA, statuses=(ARCHIVED,)))
    assert archived.titles() == ["Compte rendu d'imagerie médicale (radiographie du poignet)"]
    deprecated = find(durand_tls, find_request(DURAND, LEA, statuses=(DEPRECATED,)))
    assert [eo.get("status") for eo in deprecated.objects] == [DEPRECATED]
    # Without the status parameter: Approved only.
    default = find(durand_tls, find_request(DURAND, LEA, statuses=()))
    assert len(default.objects) == LEA_APPROVED
    # A deleted document is never listed, even when asked for.
    assert find(durand_tls, find_request(DURAND, LEA, statuses=(DELETED,))).objects == []


def test_time_and_code_filters(durand_tls: TlsClient) -> None:
    two_years = find(
        durand_tls,
        find_request(
            DURAND, LEA, extra=(("$XDSDocumentEntryServiceStartTimeFrom", (since(730),)),)
        ),
    )
    assert len(two_years.objects) == LEA_APPROVED - 1  # the 2023 operation report is older
    assert "Compte rendu opératoire (appendicectomie)" not in two_years.titles()
    last_week = find(
        durand_tls,
        find_request(DURAND, LEA, extra=(("$XDSDocumentEntryCreationTimeFrom", (since(7),)),)),
    )
    assert last_week.titles() == ["Compte rendu de passage aux urgences"]
    before = find(
        durand_tls,
        find_request(DURAND, LEA, extra=(("$XDSDocumentEntryCreationTimeTo", (since(7),)),)),
    )
    assert len(before.objects) == LEA_APPROVED - 1
    biology = find(
        durand_tls,
        find_request(
            DURAND,
            LEA,
            extra=(("$XDSDocumentEntryTypeCode", ("('11502-2^^2.16.840.1.113883.6.1')",)),),
        ),
    )
    assert sorted(biology.titles()) == [
        *["Compte rendu de biologie médicale"] * 7,  # the structured CR-BIO series
        "Résultats de biologie",
        "Résultats de biologie (bilan allergologique)",
    ]
    patient_authored = find(
        durand_tls,
        find_request(
            DURAND, LEA, extra=(("$XDSDocumentEntryClassCode", ("('90^^1.2.250.1.213.1.1.4.1')",)),)
        ),
    )
    assert sorted(patient_authored.titles()) == [
        "Allergies et intolérances",
        "Carnet de suivi de mon asthme",
        "Directives anticipées",
        "Personnes à prévenir",
        "Photo de mon carnet de vaccination",
    ]
    masked = find(
        durand_tls,
        find_request(
            DURAND,
            LEA,
            extra=(
                (
                    "$XDSDocumentEntryConfidentialityCode",
                    ("('MASQUE_PS^^1.2.250.1.213.1.1.4.13')",),
                ),
            ),
        ),
    )
    assert len(masked.objects) == 2
    by_author = find(
        durand_tls,
        find_request(DURAND, LEA, extra=(("$XDSDocumentEntryAuthorPerson", ("'%^ROUX^%'",)),)),
    )
    assert by_author.titles() == ["Compte rendu de consultation de cardiologie"]


def test_object_refs_and_get_documents(consult_host: RunningHost, durand_tls: TlsClient) -> None:
    refs = find(durand_tls, find_request(DURAND, LEA, return_type="ObjectRef"))
    assert len(refs.body.findall(f"{{{RIM}}}RegistryObjectList/{{{RIM}}}ObjectRef")) == LEA_APPROVED
    # GetDocuments names no patient in its parameters: the VIHF's resource-id does.
    uid = document_uid(consult_host, LEA, "cardiologie")
    body = find_body(
        None,
        query_id=GET_DOCUMENTS,
        statuses=(),
        extra=(("$XDSDocumentEntryUniqueId", (f"('{uid}')",)),),
    )
    got = find(durand_tls, envelope(body, assertion(DURAND, LEA), action=ACTION_FIND)[0])
    assert got.unique_ids() == [uid]
    # Another patient's document is not found through this patient.
    body = find_body(
        None,
        query_id=GET_DOCUMENTS,
        statuses=(),
        extra=(("$XDSDocumentEntryUniqueId", (f"('{uid}')",)),),
    )
    got = find(durand_tls, envelope(body, assertion(DURAND, EMMA), action=ACTION_FIND)[0])
    assert got.status == SUCCESS and got.objects == []


def test_documents_invisible_to_others_are_listed_for_professionals(durand_tls: TlsClient) -> None:
    lea = find(durand_tls, find_request(DURAND, LEA))
    invisible = [eo for eo in lea.objects if "INVISIBLE_PATIENT" in codes(eo, CONFIDENTIALITY)]
    assert len(invisible) == 1
    emma = find(durand_tls, find_request(DURAND, EMMA))
    flags = [codes(eo, CONFIDENTIALITY) for eo in emma.objects]
    assert ["N", "INVISIBLE_REPRESENTANTS_LEGAUX"] in flags


@pytest.mark.parametrize(
    ("who", "ins", "code", "context"),
    [
        ("durand", LEFEBVRE, "DMPAccessDenied", "pas autorisé"),
        ("durand", FAURE, "DMPAccessDenied", "expiré"),
        ("durand", GIRARD, "DMPAccessDeniedByExcludedPs", "interdit"),
        ("durand", BLANC, "DMPClosed", "fermé"),
        ("durand", ROUSSEL, "DMPNotFound", "pas de DMP"),
        ("staff", LEA, "DMPAccessDenied", "personnel de structure"),
    ],
)
def test_refusals(
    consult_host: RunningHost,
    durand_tls: TlsClient,
    staff_tls: TlsClient,
    who: str,
    ins: str,
    code: str,
    context: str,
    query_xsd: etree.XMLSchema | None,
) -> None:
    if who == "staff":
        answer = find(staff_tls, find_request(STAFF, ins, role=SECRETARY))
    else:
        answer = find(durand_tls, find_request(DURAND, ins))
    assert (answer.status, answer.error_code) == (FAILURE, code)
    assert context in (answer.error_context or "")
    assert answer.objects == []
    validate(query_xsd, answer.body)
    trace = last_trace(consult_host)
    assert (trace.transaction, trace.outcome, trace.document_count) == ("TD3.1", code, 0)
    assert trace.patient_ins == ins and trace.http_status == 200


@pytest.mark.parametrize(
    ("query", "context"),
    [
        ({"query_id": "urn:uuid:00000000-0000-0000-0000-000000000000"}, "non prise en charge"),
        ({"extra": (("$XDSDocumentEntryInconnu", ("'x'",)),)}, "$XDSDocumentEntryInconnu"),
        ({"extra": (("$XDSDocumentEntryCreationTimeFrom", ("2025-01-01",)),)}, "Date mal formée"),
        ({"statuses": ("urn:statut:inconnu",)}, "Statut"),
        ({"return_type": "RegistryObject"}, "Type de retour"),
    ],
)
def test_malformed_queries(durand_tls: TlsClient, query: dict[str, object], context: str) -> None:
    answer = find(durand_tls, find_request(DURAND, LEA, **query))
    assert (answer.status, answer.error_code) == (FAILURE, "DMPInvalidRequest")
    assert context in (answer.error_context or "")


def test_patient_must_match_the_vihf(durand_tls: TlsClient) -> None:
    answer = find(durand_tls, find_request(DURAND, LEA, vihf_ins=EMMA))
    assert answer.error_code == "DMPInvalidRequest"
    assert "resource-id" in (answer.error_context or "")


def test_purpose_of_use_is_checked(
    consult_host: RunningHost, durand_tls: TlsClient, regulator_tls: TlsClient
) -> None:
    # No official field carries the emergency reason: a break glass without the training
    # attribute Motif_Acces_Urgence is accepted (the reason is the client's rule).
    no_reason = find(regulator_tls, find_request(REGULATOR, LEA, purpose="bris_de_glace"))
    assert no_reason.status == SUCCESS
    assert (last_trace(consult_host).purpose, last_trace(consult_host).reason) == (
        "bris_de_glace",
        None,
    )
    unknown = find(durand_tls, find_request(DURAND, LEA, purpose="curiosite"))
    assert unknown.error_code == "DMPInvalidRequest"


# --- emergency access ---------------------------------------------------------------


def test_break_glass_without_authorisation_and_notification(
    consult_host: RunningHost, durand_tls: TlsClient
) -> None:
    before = outbox(consult_host, FAURE)
    reason = "Patient inconscient aux urgences, recherche d'antécédents"
    answer = find(durand_tls, find_request(DURAND, FAURE, purpose="bris_de_glace", reason=reason))
    assert answer.status == SUCCESS and len(answer.objects) == 3
    trace = last_trace(consult_host)
    assert (trace.purpose, trace.reason, trace.document_count) == ("bris_de_glace", reason, 3)
    messages = outbox(consult_host, FAURE)
    assert len(messages) == len(before) + 1
    assert re.fullmatch(
        r"Un accès en mode bris de glace a eu lieu le \d\d/\d\d/\d{4} à \d\d:\d\d "
        r"par Dr Marie DURAND\.",
        messages[-1],
    ), messages[-1]
    # The reason stays in the access trace: the patient's notice does not copy it.
    assert "inconscient" not in messages[-1]
    # The same emergency session does not notify again, whatever reason it gives.
    uid = document_uid(consult_host, FAURE, "sejour")
    got = retrieve(
        durand_tls, retrieve_request(DURAND, FAURE, uid, purpose="bris_de_glace", reason=reason)
    )
    assert got.status == SUCCESS and list(got.documents) == [uid]
    assert len(outbox(consult_host, FAURE)) == len(before) + 1
    find(durand_tls, find_request(DURAND, FAURE, purpose="bris_de_glace", reason="Autre motif"))
    assert len(outbox(consult_host, FAURE)) == len(before) + 1


def test_break_glass_notifies_the_treating_physician_too(
    consult_host: RunningHost, martin_tls: TlsClient
) -> None:
    """Issue 13: only the patient was told; Léa's médecin traitant is Dr Durand."""
    reason = "Malaise au cabinet, antécédents cardiaques ?"
    before = list(consult_host.store.outbox(ins_value=LEA))
    answer = find(martin_tls, find_request(MARTIN, LEA, purpose="bris_de_glace", reason=reason))
    assert answer.status == SUCCESS
    new = [m for m, _, _ in consult_host.store.outbox(ins_value=LEA)][len(before) :]
    assert sorted((m.kind, m.recipient_national_id or "") for m in new) == [
        ("BRIS_DE_GLACE", ""),
        ("BRIS_DE_GLACE", DURAND),
    ]
    to_durand = next(m for m in new if m.recipient_national_id == DURAND)
    assert "votre patient(e) Léa MOREAU" in to_durand.text
    assert to_durand.text.endswith("par Dr Paul MARTIN.")
    assert all(reason not in m.text and m.reason is None for m in new)
    assert last_trace(consult_host).reason == reason


def test_emergency_access_honours_the_patients_opposition(
    consult_host: RunningHost,
    durand_tls: TlsClient,
    martin_tls: TlsClient,
    regulator_tls: TlsClient,
) -> None:
    before = len(outbox(consult_host, GIRARD)), len(outbox(consult_host, FAURE))
    # Girard opposed break glass: refused to Dr Martin (not blocked).
    opposed = find(martin_tls, find_request(MARTIN, GIRARD, purpose="bris_de_glace", reason="Coma"))
    assert opposed.error_code == "DMPEmergencyAccessOpposed"
    assert "bris de glace" in (opposed.error_context or "")
    # Faure opposed the centre 15: refused; break glass would be accepted.
    centre = find(regulator_tls, find_request(REGULATOR, FAURE, purpose="centre_15"))
    assert centre.error_code == "DMPEmergencyAccessOpposed"
    assert "centre 15" in (centre.error_context or "")
    # A blocked professional is refused even in an emergency.
    blocked = find(durand_tls, find_request(DURAND, GIRARD, purpose="bris_de_glace", reason="Coma"))
    assert blocked.error_code == "DMPAccessDeniedByExcludedPs"
    assert (len(outbox(consult_host, GIRARD)), len(outbox(consult_host, FAURE))) == before


def test_centre_15_without_reason(consult_host: RunningHost, regulator_tls: TlsClient) -> None:
    answer = find(regulator_tls, find_request(REGULATOR, LEA, purpose="centre_15"))
    assert answer.status == SUCCESS
    assert outbox(consult_host, LEA)[-1].endswith("par Dr Claire LEROY.")
    assert "centre de régulation (centre 15)" in outbox(consult_host, LEA)[-1]


def test_centre_15_is_the_samu_regulators_only(
    consult_host: RunningHost, martin_tls: TlsClient
) -> None:
    """Issue 13: a GP without authorisation read a record with « centre 15 »."""
    before = len(outbox(consult_host, LEA))
    answer = find(martin_tls, find_request(MARTIN, LEA, purpose="centre_15"))
    assert answer.error_code == "DMPAccessDenied"
    assert "médecin régulateur" in (answer.error_context or "")
    assert len(outbox(consult_host, LEA)) == before
    trace = consult_host.store.traces(after_id=consult_host.store.last_trace_id() - 1)[-1]
    assert (trace.purpose, trace.outcome) == ("centre_15", "DMPAccessDenied")


def test_masked_documents_only_for_the_treating_physician_and_their_author(
    consult_host: RunningHost, martin_tls: TlsClient
) -> None:
    answer = find(
        martin_tls, find_request(MARTIN, LEA, purpose="bris_de_glace", reason="Malaise grave")
    )
    titles = answer.titles()
    assert "Compte rendu de consultation de psychiatrie" not in titles  # masked, not his
    assert "Compte rendu de consultation (remplacement)" in titles  # masked, his own
    assert len(titles) == LEA_APPROVED - 1
    masked = document_uid(consult_host, LEA, "psychiatrie")
    own = document_uid(consult_host, LEA, "remplacement-martin")
    got = retrieve(
        martin_tls,
        retrieve_request(MARTIN, LEA, masked, purpose="bris_de_glace", reason="Malaise grave"),
    )
    assert (got.status, got.error_codes, got.documents) == (
        FAILURE,
        ["XDSDocumentUniqueIdError"],
        {},
    )
    got = retrieve(
        martin_tls,
        retrieve_request(MARTIN, LEA, own, purpose="bris_de_glace", reason="Malaise grave"),
    )
    assert got.status == SUCCESS and list(got.documents) == [own]


# --- retrieval ------------------------------------------------------------------------


def test_retrieve_returns_the_registered_bytes_over_mtom(
    consult_host: RunningHost, durand_tls: TlsClient, repository_xsd: etree.XMLSchema | None
) -> None:
    listed = {
        eo.find(f"{{{RIM}}}Name/{{{RIM}}}LocalizedString").get("value"): eo
        for eo in find(durand_tls, find_request(DURAND, LEA)).objects
    }
    entry = listed["Compte rendu de consultation de cardiologie"]
    uid = unique_id(entry)

    def slot(name: str) -> str:
        return entry.find(f"{{{RIM}}}Slot[@name='{name}']/{{{RIM}}}ValueList/{{{RIM}}}Value").text

    got = retrieve(durand_tls, retrieve_request(DURAND, LEA, uid))
    assert got.content_type.startswith("multipart/related")
    assert 'type="application/xop+xml"' in got.content_type
    assert got.status == SUCCESS
    data = got.documents[uid]
    assert got.mime_types[uid] == "text/xml"
    assert len(data) == int(slot("size"))
    assert hashlib.sha1(data, usedforsecurity=False).hexdigest() == slot("hash")
    assert slot("repositoryUniqueId") == "1.2.250.1.213.4.1.1.1.2"
    media, pdf = extract_level1(data)
    assert media == "application/pdf" and pdf.startswith(b"%PDF-1.4")
    assert b"Compte rendu de consultation de cardiologie" in pdf
    validate(repository_xsd, got.inline())
    trace = last_trace(consult_host)
    assert (trace.transaction, trace.outcome, trace.service) == ("TD3.2", "OK", "repository")
    assert (trace.document_unique_id, trace.document_count, trace.purpose) == (uid, 1, "normal")
    assert trace.patient_ins == LEA


def test_retrieve_the_summary_and_several_documents(
    consult_host: RunningHost, durand_tls: TlsClient, repository_xsd: etree.XMLSchema | None
) -> None:
    vsm = document_uid(consult_host, LEA, "vsm")
    note = document_uid(consult_host, LEA, "note-patiente")
    got = retrieve(durand_tls, retrieve_request(DURAND, LEA, vsm, note))
    assert got.status == SUCCESS and set(got.documents) == {vsm, note}
    summary = parse_vsm(got.documents[vsm])
    assert [p.cim10 for p in summary.active_problems] == ["E10.9", "J45.0", "J30.1"]
    assert extract_level1(got.documents[note])[0] == "text/plain"
    validate(repository_xsd, got.inline())
    assert last_trace(consult_host).document_unique_id == f"{vsm} {note}"


def test_partial_and_failed_retrievals(
    consult_host: RunningHost, durand_tls: TlsClient, repository_xsd: etree.XMLSchema | None
) -> None:
    known = document_uid(consult_host, LEA, "biologie")
    got = retrieve(durand_tls, retrieve_request(DURAND, LEA, known, "1.2.250.1.999.9.9"))
    assert (got.status, got.error_codes, list(got.documents)) == (
        PARTIAL,
        ["XDSDocumentUniqueIdError"],
        [known],
    )
    validate(repository_xsd, got.inline())
    assert last_trace(consult_host).result == "PartialSuccess"
    other = retrieve(durand_tls, retrieve_request(DURAND, LEA, known, repository="1.2.3.4"))
    assert (other.status, other.error_codes) == (FAILURE, ["XDSUnknownRepositoryId"])
    assert other.content_type.startswith("application/soap+xml")
    validate(repository_xsd, other.response)
    assert last_trace(consult_host).outcome == "XDSUnknownRepositoryId"
    # Another patient's document is not reachable through this patient.
    emma_doc = document_uid(consult_host, EMMA, "pediatrie")
    cross = retrieve(durand_tls, retrieve_request(DURAND, LEA, emma_doc))
    assert cross.error_codes == ["XDSDocumentUniqueIdError"]


@pytest.mark.parametrize(
    ("who", "ins", "code"),
    [
        ("staff", LEA, "DMPAccessDenied"),
        ("durand", GIRARD, "DMPAccessDeniedByExcludedPs"),
        ("durand", LEFEBVRE, "DMPAccessDenied"),
        ("durand", BLANC, "DMPClosed"),
        ("durand", None, "DMPInvalidRequest"),
    ],
)
def test_retrieve_refusals(
    consult_host: RunningHost,
    durand_tls: TlsClient,
    staff_tls: TlsClient,
    who: str,
    ins: str | None,
    code: str,
) -> None:
    target = ins or LEA
    uid = document_uid(consult_host, target, "biologie" if target != BLANC else "consultation")
    if who == "staff":
        got = retrieve(staff_tls, retrieve_request(STAFF, ins, uid, role=SECRETARY))
    else:
        got = retrieve(durand_tls, retrieve_request(DURAND, ins, uid))
    assert (got.status, got.error_codes, got.documents) == (FAILURE, [code], {})
    trace = last_trace(consult_host)
    assert (trace.transaction, trace.outcome, trace.document_count) == ("TD3.2", code, 0)


def test_every_search_and_retrieval_is_traced(
    consult_host: RunningHost, durand_tls: TlsClient
) -> None:
    first = consult_host.store.last_trace_id()
    find(durand_tls, find_request(DURAND, LEA))
    find(durand_tls, find_request(DURAND, GIRARD))
    retrieve(durand_tls, retrieve_request(DURAND, LEA, document_uid(consult_host, LEA, "vsm")))
    rows = consult_host.store.traces(after_id=first)
    assert [(r.transaction, r.outcome) for r in rows] == [
        ("TD3.1", "OK"),
        ("TD3.1", "DMPAccessDeniedByExcludedPs"),
        ("TD3.2", "OK"),
    ]
    assert all(r.professional_national_id == DURAND and r.message_id for r in rows)
