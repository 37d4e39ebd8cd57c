"""The record's life over mutual TLS: the real DmpClient against the training host.

TD1.1 creation (adult, minor, already there), TD1.4 closure, TD1.2
reactivation, TD1.6 list of authorisations.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator

import httpx
import pytest

from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.td11 import (
    ConsentError,
    CreationConsent,
    LegalRepresentative,
    PatientIdentity,
)
from dmp_desktop.domain import DmpState, Ins, Practitioner
from dmp_desktop.errors import DmpServiceError, describe
from dmp_sandbox.demo import demo_ins, demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN
from tests.host.wire import ClientIdentity, client_context, make_identity

DR_DURAND = Practitioner(
    DURAND, "DURAND", "MARIE", "Médecin", profession_code="10", structure_id="499700433153007"
)
DR_MARTIN = Practitioner(
    MARTIN, "MARTIN", "PAUL", "Médecin", profession_code="10", structure_id="499700433153007"
)
P = {p.key: p for p in demo_patients()}
ADULT = PatientIdentity("Petit", "Hugo", "M", dt.date(1985, 3, 14))
CHILD = PatientIdentity(
    "Petit", "Louise", "F", dt.date.today().replace(year=dt.date.today().year - 8, day=1)
)
CONSENT = CreationConsent(True, mobile="+33611223344", email="hugo.petit@example.org")


@pytest.fixture(scope="module")
def records_host(
    training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHost]:
    db = tmp_path_factory.mktemp("records-db") / "host.db"
    with run_in_thread(training_env, f"sqlite:///{db}", seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def martin_identity(training_env: TrainingEnv, identity_dir: object) -> ClientIdentity:
    return make_identity(training_env.pki, identity_dir, MARTIN, family="MARTIN", given="PAUL")  # type: ignore[arg-type]


def client(
    host: RunningHost, env: TrainingEnv, identity: ClientIdentity, who: Practitioner = DR_DURAND
) -> DmpClient:
    settings = dataclasses.replace(env.client_settings(), host_url=host.url)
    http = httpx.Client(verify=client_context(env.pki.trust_roots, identity), timeout=30)
    return DmpClient(http, settings, who)


def patient_row(host: RunningHost, ins: Ins) -> dict[str, object]:
    with host.store.session() as session:
        patient = host.store.find_patient(session, ins.value, ins.oid)
        assert patient is not None
        return {
            "state": patient.state,
            "minor": patient.is_minor,
            "online": patient.internet_account_open,
            "mobile": patient.mobile,
            "representative": patient.legal_representative,
            "bdg": patient.opposition_bris_de_glace,
            "c15": patient.opposition_centre_15,
            "reason": patient.closure_reason,
        }


def outbox_texts(host: RunningHost, ins: Ins) -> list[str]:
    return [m.text for m, _, _ in host.store.outbox(ins_value=ins.value, ins_root=ins.oid)]


def test_create_an_adults_dmp_then_found(
    records_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> None:
    ins = demo_ins("1850375123456")
    consent = dataclasses.replace(CONSENT, opposition_centre_15=True)
    with client(records_host, training_env, durand) as dmp:
        assert dmp.test_existence(ins).state is DmpState.NONE
        result = dmp.create_dmp(ins, ADULT, consent)
        assert result.patient_status == "active" and result.dmp_id
        status = dmp.test_existence(ins)
        assert status.state is DmpState.ACTIVE and status.patient_family_name == "PETIT"
        with pytest.raises(DmpServiceError) as info:
            dmp.create_dmp(ins, ADULT, consent)
        # The mobile given at creation opened the online access (TD1.5a says so).
        with pytest.raises(DmpServiceError) as opened:
            dmp.create_online_access(ins, "SMS", "+33611223344")
        dmp.update_otp_channel(ins, "EMAIL", "lea.petit@example.org")
    assert info.value.code == "DMPFound"
    assert "déjà un DMP" in describe(info.value)
    assert opened.value.code == "DMPPatientAccessExists"
    row = patient_row(records_host, ins)
    assert row == {
        "state": DmpState.ACTIVE,
        "minor": False,
        "online": True,
        "mobile": "+33611223344",
        "representative": None,
        "bdg": False,
        "c15": True,
        "reason": None,
    }
    created = outbox_texts(records_host, ins)[0]
    assert created.startswith("Votre DMP a été créé")
    assert re.search(
        r"identifiant [a-z]{4}\d{4}\. Code de première connexion envoyé "
        r"par SMS au \+3 •• •• •• 44 et par courriel à h•••@example\.org : \d{6}",
        created,
    ), created
    traces = [t for t in records_host.store.traces() if t.patient_ins == ins.value]
    assert [(t.transaction, t.result) for t in traces if t.transaction == "TD1.1"] == [
        ("TD1.1", "CREE"),
        ("TD1.1", "DMPFound"),
    ]


def test_create_a_minors_dmp_without_online_access(
    records_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> None:
    ins = demo_ins("2180575123457")
    consent = dataclasses.replace(
        CONSENT,
        legal_representative=LegalRepresentative("Petit", "Hugo", True, relationship="FTH"),
    )
    with client(records_host, training_env, durand) as dmp:
        with pytest.raises(ConsentError):  # nothing sent without the representative's consent
            dmp.create_dmp(ins, CHILD, CONSENT)
        dmp.create_dmp(ins, CHILD, consent)
        assert dmp.test_existence(ins).minor is True
        (representative,) = dmp.get_admin_data(ins).legal_representatives
    assert representative.relationship == "FTH"  # kept from the creation (TD1.3a)
    row = patient_row(records_host, ins)
    assert (row["minor"], row["online"], row["mobile"]) == (True, False, None)
    assert row["representative"] == "PETIT HUGO"
    assert "mineur" in outbox_texts(records_host, ins)[0]


def test_no_consent_nothing_is_sent(
    records_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> None:
    before = records_host.store.last_trace_id()
    with client(records_host, training_env, durand) as dmp, pytest.raises(ConsentError):
        dmp.create_dmp(demo_ins("1850375123499"), ADULT, CreationConsent(False))
    assert records_host.store.last_trace_id() == before


def test_close_then_closed_then_reactivate(
    records_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> None:
    emma = P["mineur"].ins
    with client(records_host, training_env, durand) as dmp:
        result = dmp.close_dmp(emma, "Chevalier", "Emma", reason_text="Demande de la famille")
        assert result.patient_status == "terminated"
        status = dmp.test_existence(emma)
        assert status.state is DmpState.CLOSED
        assert status.closure_reason == "FERMETURE_DEMANDE_PATIENT"
        assert status.closure_date == dt.date.today() or status.closure_date is not None
        with pytest.raises(DmpServiceError) as info:
            dmp.close_dmp(emma, "Chevalier", "Emma")
        assert info.value.code == "DMPClosed"
        assert dmp.reactivate_dmp(emma, "Chevalier", "Emma").patient_status == "active"
        assert dmp.test_existence(emma).state is DmpState.ACTIVE
    texts = outbox_texts(records_host, emma)
    assert any(t.startswith("Votre DMP a été fermé") for t in texts)
    assert any(t.startswith("Votre DMP a été réactivé") for t in texts)
    transactions = [
        t.transaction for t in records_host.store.traces() if t.patient_ins == emma.value
    ]
    assert transactions[-5:] == ["TD1.4", "TD0.2", "TD1.4", "TD1.2", "TD0.2"]


def test_close_needs_an_authorisation(
    records_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> None:
    lefebvre = P["actif-sans-autorisation"].ins
    roussel = P["sans-dmp"].ins
    with client(records_host, training_env, durand) as dmp:
        with pytest.raises(DmpServiceError) as info:
            dmp.close_dmp(lefebvre, "Lefebvre", "Julien")
        assert info.value.code == "DMPAccessDenied"
        with pytest.raises(DmpServiceError) as info:
            dmp.close_dmp(roussel, "Roussel", "Lucas")
        assert info.value.code == "DMPNotFound"
    assert patient_row(records_host, lefebvre)["state"] is DmpState.ACTIVE


def test_list_authorizations(
    records_host: RunningHost,
    training_env: TrainingEnv,
    durand: ClientIdentity,
    martin_identity: ClientIdentity,
) -> None:
    lea = P["actif-autorise"].ins
    with client(records_host, training_env, martin_identity, DR_MARTIN) as dmp:
        dmp.set_authorization(lea)  # Dr Martin authorises himself (seen by the host)
    with client(records_host, training_env, durand) as dmp:
        items = dmp.list_authorizations(lea)
        by_id = {a.national_id: a for a in items}
        assert by_id[DURAND].status == "VALIDE" and by_id[DURAND].treating_physician
        assert by_id[MARTIN].status == "VALIDE" and not by_id[MARTIN].treating_physician
        assert (by_id[MARTIN].family_name, by_id[MARTIN].given_name) == ("MARTIN", "PAUL")
        assert dmp.list_authorizations(lea, "INTERDITE") == []
        with pytest.raises(DmpServiceError) as info:
            dmp.list_authorizations(P["actif-sans-autorisation"].ins)
        assert info.value.code == "DMPAccessDenied"
