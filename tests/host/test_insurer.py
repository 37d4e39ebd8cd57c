"""The Assurance Maladie (role ALIM_AM) feeds the care history over real mutual TLS, and can
never search nor retrieve: every refusal is traced. A professional then finds the history."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dmp_actors.demo_documents import patient_identity
from dmp_actors.insurer import InsurerSystem, demo_care_history
from dmp_desktop.cda.care_history import INSURER_AUTHOR_ID, build_care_history
from dmp_desktop.dmp import xds as client_xds
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.domain import Practitioner
from dmp_desktop.domain.document import DocumentQuery
from dmp_desktop.domain.origin import DocumentOrigin, origin_of
from dmp_desktop.errors import DmpServiceError
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.store import Trace
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND
from tests.host.wire import ClientIdentity, client_context, make_identity

PATIENTS = {p.key: p for p in demo_patients()}
GIRARD = PATIENTS["bloque"].ins  # a patient whose DMP has no care history in the demo
BLANC = PATIENTS["ferme"].ins
DR_DURAND = Practitioner(
    DURAND, "DURAND", "MARIE", "Médecin", profession_code="10", structure_id="499700433153007"
)


@pytest.fixture(scope="module")
def env_copy(training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory) -> TrainingEnv:
    """The shared environment (PKI), with the insurer's certificate in a directory of ours."""
    root = tmp_path_factory.mktemp("insurer-env")
    (root / "pki").symlink_to(training_env.pki.root)
    return dataclasses.replace(training_env, root=root)


@pytest.fixture(scope="module")
def insurer_host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def insurer(env_copy: TrainingEnv, insurer_host: RunningHost) -> Iterator[InsurerSystem]:
    with InsurerSystem(env_copy, insurer_host.url) as system:
        yield system


def _care_history(host: RunningHost, key: str) -> object:
    ins = PATIENTS[key].ins
    with host.store.session() as session:
        patient = host.store.find_patient(session, ins.value, ins.oid)
        assert patient is not None
        identity = patient_identity(patient)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # An OID (digits only, as XDS requires): the key's bytes as a number.
    uid = f"1.2.250.1.999.4.{now:%Y%m%d%H%M%S}.{int(key.replace('-', '')[:6].encode().hex(), 16)}"
    return demo_care_history(
        identity, now.date(), document_id=uid, set_id=f"{uid}.0", effective_time=now
    )


def _last_trace(host: RunningHost) -> Trace:
    return host.store.traces(after_id=host.store.last_trace_id() - 1)[-1]


def test_the_insurer_feeds_and_a_doctor_finds_it(
    insurer: InsurerSystem, insurer_host: RunningHost, training_env: TrainingEnv, tmp_path: Path
) -> None:
    history = _care_history(insurer_host, "bloque")
    unique_id = insurer.feed(history)  # type: ignore[arg-type]
    trace = _last_trace(insurer_host)
    assert (trace.transaction, trace.outcome) == ("TD2.1", "OK")
    assert trace.professional_national_id == INSURER_AUTHOR_ID
    assert trace.document_unique_id == unique_id
    with insurer_host.store.session() as session:
        patient = insurer_host.store.find_patient(session, GIRARD.value, GIRARD.oid)
        assert patient is not None
        stored = insurer_host.store.find_document(session, patient, unique_id)
        assert stored is not None
        assert (stored.type_code, stored.class_code) == ("REMB", "60")
        assert stored.authors[0]["specialty_code"] == "ALIM_AM"
        content = insurer_host.store.document_content(session, stored)
    assert content == build_care_history(history)  # type: ignore[arg-type]

    # Dr Durand is authorised on this record? Use Léa's médecin traitant on her own record:
    # here the professional search is checked on a record where Durand is authorised.
    identity = make_identity(training_env.pki, tmp_path, DURAND)
    settings = dataclasses.replace(training_env.client_settings(), host_url=insurer_host.url)
    http = httpx.Client(verify=client_context(training_env.pki.trust_roots, identity), timeout=30)
    lea = PATIENTS["actif-autorise"].ins
    with DmpClient(http, settings, DR_DURAND) as doctor:
        entries = doctor.find_documents(DocumentQuery(lea))
    remb = [e for e in entries if e.type_code.code == "REMB"]
    assert len(remb) == 1  # the demo's history of Léa, seeded as the insurer feeds it
    assert origin_of(remb[0]) is DocumentOrigin.INSURER
    assert remb[0].main_author is not None and remb[0].main_author.specialty is not None
    assert remb[0].main_author.specialty.code == "ALIM_AM"


@pytest.mark.parametrize("kind", ["search", "retrieve"])
def test_the_insurer_never_reads(
    insurer: InsurerSystem, insurer_host: RunningHost, kind: str
) -> None:
    lea = PATIENTS["actif-autorise"].ins
    if kind == "search":
        body = client_xds.build_find_documents(DocumentQuery(lea))
        service, action, transaction = "registry", client_xds.ACTION_FIND, "TD3.1"
    else:
        body = client_xds.build_retrieve_documents(
            [("1.2.250.1.213.4.1.1.1.2", "1.2.250.1.999.3.1.1")]
        )
        service, action, transaction = "repository", client_xds.ACTION_RETRIEVE, "TD3.2"
    before = insurer_host.store.last_trace_id()
    with pytest.raises(DmpServiceError) as refused:
        answer = insurer.call(service, action, body, lea)
        if kind == "search":
            client_xds.parse_find_documents_response(answer.body, requested=lea)
        else:
            client_xds.parse_retrieve_response(answer.body)
    assert refused.value.code == "DMPAccessDenied"
    traces = insurer_host.store.traces(after_id=before)
    assert [(t.transaction, t.outcome) for t in traces] == [(transaction, "DMPAccessDenied")]
    assert traces[0].professional_national_id == INSURER_AUTHOR_ID
    assert traces[0].document_count in (None, 0)


def test_the_insurer_cannot_feed_a_closed_record(
    insurer: InsurerSystem, insurer_host: RunningHost
) -> None:
    history = _care_history(insurer_host, "ferme")
    with pytest.raises(DmpServiceError) as refused:
        insurer.feed(history)  # type: ignore[arg-type]
    assert refused.value.code == "DMPClosed"
    assert _last_trace(insurer_host).outcome == "DMPClosed"


def test_nobody_else_may_claim_alim_am(
    insurer_host: RunningHost, training_env: TrainingEnv, durand_identity: ClientIdentity
) -> None:
    """A doctor's card whose VIHF claims the role ALIM_AM is refused and traced."""
    from tests.host.wire import TlsClient, envelope, td02_body, vihf

    lea = PATIENTS["actif-autorise"].ins
    assertion = vihf(DURAND, resource_id=f"{lea.value}^^^&{lea.oid}&ISO^NH")
    for role in assertion.iter("{urn:hl7-org:v3}Role"):  # the profession becomes ALIM_AM
        role.set("code", "ALIM_AM")
        role.set("codeSystem", "1.2.250.1.213.1.1.4.6")
    data, _ = envelope(td02_body(lea.value), assertion)
    client = TlsClient(
        insurer_host.port, client_context(training_env.pki.trust_roots, durand_identity)
    )
    reply = client.post(data)
    assert reply.fault_code == "DMPAuthenticationError"
    trace = _last_trace(insurer_host)
    assert (trace.outcome, trace.result) == ("DMPAuthenticationError", "VIHF_ROLE_ALIM_AM")


@pytest.fixture(scope="module")
def durand_identity(
    training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> ClientIdentity:
    return make_identity(training_env.pki, tmp_path_factory.mktemp("durand-id"), DURAND)


def test_the_insurer_rules(insurer_host: RunningHost) -> None:
    """Never an update, never in emergency, only its own documents; the patient's history."""
    from dmp_sandbox import xds
    from dmp_sandbox.access import AccessMode, AccessRequest
    from dmp_sandbox.auth import CertIdentity
    from dmp_sandbox.insurer import grant_insurer_feed
    from dmp_sandbox.patient_cli import history

    system = CertIdentity(INSURER_AUTHOR_ID, "Maladie", "Assurance", "", "318003502400041")
    normal = AccessRequest(system, AccessMode.NORMAL, None, ("ALIM_AM",))
    own = [{"national_id": INSURER_AUTHOR_ID, "specialty_code": "ALIM_AM"}]
    lea = PATIENTS["actif-autorise"].ins
    store = insurer_host.store
    with store.session() as session:
        assert grant_insurer_feed(store, session, lea, normal, authors=own).patient is not None
        refusals = [
            dict(request=normal, update=True, authors=own),
            dict(
                request=AccessRequest(system, AccessMode.CENTRE_15, None, ("ALIM_AM",)),
                update=False,
                authors=own,
            ),
            dict(
                request=normal,
                update=False,
                authors=[{"national_id": DURAND, "specialty_code": "G15_10/SM26"}],
            ),
        ]
        for case in refusals:
            with pytest.raises(xds.XdsError) as refused:
                grant_insurer_feed(
                    store,
                    session,
                    lea,
                    case["request"],  # type: ignore[arg-type]
                    update=bool(case["update"]),
                    authors=case["authors"],  # type: ignore[arg-type]
                )
            assert refused.value.code == xds.DMP_ACCESS_DENIED
    girard = PATIENTS["bloque"].ins
    lines = history(store, girard)
    assert any("L'Assurance Maladie a ajouté un document" in line for line in lines), lines
