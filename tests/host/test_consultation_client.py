"""The client's DmpClient (httpx, file key) consulting the training host: search, retrieve,
authorise, emergency access; the host's refusals arrive as the codes the client explains."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from dmp_actors.structured_documents import FORMATS as STRUCTURED_FORMATS
from dmp_desktop.cda.level1 import extract_level1
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.xds import default_query
from dmp_desktop.domain import Practitioner
from dmp_desktop.domain.document import Confidentiality, DocumentQuery, DocumentStatus
from dmp_desktop.errors import DmpServiceError, describe
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN
from tests.host.test_consultation_wire import consult_host, martin
from tests.host.wire import ClientIdentity, client_context

__all__ = ["consult_host", "martin"]  # fixtures

PATIENTS = {p.key: p.ins for p in demo_patients()}
LEA, GIRARD, FAURE = (
    PATIENTS["actif-autorise"],
    PATIENTS["bloque"],
    PATIENTS["autorisation-expiree"],
)
DR_DURAND = Practitioner(
    DURAND, "DURAND", "MARIE", "Médecin", profession_code="10", structure_id="499700433153007"
)
DR_MARTIN = Practitioner(
    MARTIN, "MARTIN", "PAUL", "Médecin", profession_code="10", structure_id="499700433153007"
)


def _client(
    host: RunningHost, env: TrainingEnv, identity: ClientIdentity, who: Practitioner
) -> DmpClient:
    settings = dataclasses.replace(env.client_settings(), host_url=host.url)
    http = httpx.Client(verify=client_context(env.pki.trust_roots, identity), timeout=30)
    return DmpClient(http, settings, who)


@pytest.fixture(scope="module")
def dr_durand(
    consult_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> Iterator[DmpClient]:
    with _client(consult_host, training_env, durand, DR_DURAND) as client:
        yield client


@pytest.fixture(scope="module")
def dr_martin(
    consult_host: RunningHost, training_env: TrainingEnv, martin: ClientIdentity
) -> Iterator[DmpClient]:
    with _client(consult_host, training_env, martin, DR_MARTIN) as client:
        yield client


def test_first_search_and_reading_every_document(dr_durand: DmpClient) -> None:
    query = dataclasses.replace(
        default_query(LEA), include_masked=True, statuses=frozenset(DocumentStatus)
    )
    entries = dr_durand.find_documents(query)
    titles = {e.title for e in entries}
    # Two years back: the 2023 operation report is not there; the rest is.
    assert "Compte rendu opératoire (appendicectomie)" not in titles
    # 25 from professionals (10 structured: CR-BIO, LDL-SES, VAC-NOTE, IPS-FR), 4 from the
    # patient, 1 from the insurer
    assert len(entries) == 30
    by_title = {e.title: e for e in entries}
    assert by_title["Carnet de suivi de mon asthme"].patient_authored
    assert by_title["Compte rendu de consultation de psychiatrie"].masked_from_professionals
    assert by_title["Compte rendu d'anatomie et de cytologie pathologiques"].invisible_to_patient
    assert by_title["Synthèse médicale"].format_code.code == "urn:asip:ci-sis:vsm:2012"
    cardio = by_title["Compte rendu de consultation de cardiologie"]
    assert cardio.main_author is not None and cardio.main_author.family_name == "ROUX"
    assert cardio.main_author.specialty is not None
    # The archived X-ray is older than two years; the deprecated prescription is recent.
    assert {e.status for e in entries} == {DocumentStatus.APPROVED, DocumentStatus.DEPRECATED}
    for entry in entries:
        document = dr_durand.retrieve_document(entry)  # size and SHA-1 checked by the client
        assert document.unique_id == entry.unique_id
        if entry.format_code.code not in (
            "urn:asip:ci-sis:vsm:2012",
            "urn:asip:ci-sis:cnam-hr:2021",  # the Assurance Maladie's structured history
            *(code for code, _scheme, _label in STRUCTURED_FORMATS.values()),
        ):
            assert extract_level1(document.content)[1]


def test_the_client_hides_masked_documents_unless_asked(dr_durand: DmpClient) -> None:
    entries = dr_durand.find_documents(default_query(LEA))
    assert not any(e.has_flag(Confidentiality.MASKED_PS) for e in entries)
    assert len(entries) == 27  # 29 active documents of the last two years, 2 masked


def test_refusals_are_explained_in_french(dr_durand: DmpClient) -> None:
    with pytest.raises(DmpServiceError) as blocked:
        dr_durand.find_documents(DocumentQuery(GIRARD))
    assert blocked.value.code == "DMPAccessDeniedByExcludedPs"
    assert "bloqué" in describe(blocked.value)
    with pytest.raises(DmpServiceError) as expired:
        dr_durand.find_documents(DocumentQuery(FAURE))
    assert expired.value.code == "DMPAccessDenied"
    with pytest.raises(DmpServiceError) as not_regulator:
        dr_durand.find_documents(DocumentQuery(FAURE), purpose="centre_15")
    assert not_regulator.value.code == "DMPAccessDenied"  # centre 15: the SAMU regulator's


def test_emergency_access_through_the_client(
    consult_host: RunningHost, dr_durand: DmpClient
) -> None:
    reason = "Détresse respiratoire, patient inconscient"
    entries = dr_durand.find_documents(DocumentQuery(FAURE), purpose="bris_de_glace", reason=reason)
    assert len(entries) == 3
    document = dr_durand.retrieve_document(entries[0], purpose="bris_de_glace", reason=reason)
    assert document.content
    messages = [m for m, _, _ in consult_host.store.outbox(ins_value=FAURE.value)]
    assert len(messages) == 1 and messages[0].kind == "BRIS_DE_GLACE"
    assert messages[0].text.endswith("par Dr Marie DURAND.")  # the reason: in the trace only
    assert reason not in messages[0].text
    assert messages[0].created_at > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    rows = consult_host.store.traces()[-2:]
    assert [(r.transaction, r.purpose, r.reason) for r in rows] == [
        ("TD3.1", "bris_de_glace", reason),
        ("TD3.2", "bris_de_glace", reason),
    ]


def test_authorise_then_consult(dr_martin: DmpClient) -> None:
    with pytest.raises(DmpServiceError) as refused:
        dr_martin.find_documents(DocumentQuery(LEA))
    assert refused.value.code == "DMPAccessDenied"
    dr_martin.set_authorization(LEA)
    entries = dr_martin.find_documents(DocumentQuery(LEA, include_masked=True))
    masked = [e.title for e in entries if e.masked_from_professionals]
    assert masked == ["Compte rendu de consultation (remplacement)"]  # his own only
    dr_martin.set_authorization(LEA, grant=False)
    with pytest.raises(DmpServiceError):
        dr_martin.find_documents(DocumentQuery(LEA))
