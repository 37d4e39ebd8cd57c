"""Care teams in an establishment (dmp_sandbox.care_team) against the training host, over
real mutual TLS with the real client: the establishment's certificate (structure mode,
signed VIHF, sector SA01) and two doctors of its care team. No SoftHSM card here (the
structure's key does the TLS and signs the VIHF); the card end is tests/e2e/test_care_team.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.domain import Authorization
from dmp_desktop.domain.document import DocumentQuery
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import DmpServiceError, describe
from dmp_desktop.net import make_http_client
from dmp_desktop.net.structure import load_structure
from dmp_sandbox import care_team, patient_cli
from dmp_sandbox.__main__ import main as sandbox_main
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.store import EstablishmentStay, Trace
from dmp_sandbox.structures import StructureSpec, create_structure
from dmp_sandbox.training import TrainingEnv

PATIENTS = {p.key: p for p in demo_patients()}
GIRARD = PATIENTS["bloque"]  # in a stay at the training establishment; blocked Dr Durand
FAURE = PATIENTS["autorisation-expiree"]  # no stay; Dr Durand's authorisation expired
ESTABLISHMENT = care_team.TRAINING_ESTABLISHMENT_ID
MARTIN = Practitioner(
    "899700433160", "MARTIN", "Paul", "Médecin", "10", "SM26", "Qualifié en Médecine Générale (SM)"
)
DURAND = Practitioner(
    "899700433153", "DURAND", "Marie", "Médecin", "10", "SM26", "Qualifié en Médecine Générale (SM)"
)


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def p12(training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    created = create_structure(
        StructureSpec(ESTABLISHMENT, care_team.TRAINING_ESTABLISHMENT_NAME),
        training_env.pki,
        tmp_path_factory.mktemp("care-team-p12") / f"{ESTABLISHMENT}.p12",
    )
    return created.p12_path, created.passphrase


@pytest.fixture
def member(training_env: TrainingEnv, host: RunningHost, p12: tuple[Path, str]) -> Iterator[object]:
    """``member(practitioner, sector="SA01")``: a DmpClient speaking for the establishment."""
    clients: list[DmpClient] = []

    def open_client(practitioner: Practitioner, sector: str = "SA01") -> DmpClient:
        structure = load_structure(p12[0], p12[1])
        settings = dataclasses.replace(
            training_env.client_settings(),
            host_url=host.url,
            auth_mode="INDIRECTE_RENFORCEE",
            structure_p12=str(p12[0]),
            structure_id=structure.structure_id,
            activity_sector=sector,
        )
        client = DmpClient(
            make_http_client(settings, structure.key),
            settings,
            practitioner,
            issuer_dn=structure.subject_dn,
            vihf_signer=structure.key,
        )
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


def _traces(host: RunningHost, after: int) -> list[tuple[str | None, str, str | None, str | None]]:
    rows: list[Trace] = host.store.traces(after_id=after)
    return [(t.transaction, t.outcome, t.professional_national_id, t.structure_id) for t in rows]


def _refusal(client: DmpClient, ins: Ins) -> DmpServiceError:
    with pytest.raises(DmpServiceError) as err:
        client.find_documents(DocumentQuery(patient=ins))
    return err.value


def test_member_is_presumed_authorised_and_traced_individually(
    host: RunningHost, member: object
) -> None:
    before = host.store.last_trace_id()
    martin = member(MARTIN)  # type: ignore[operator]
    status = martin.test_existence(GIRARD.ins)
    assert status.authorization is Authorization.VALIDE
    assert not status.treating_physician
    documents = martin.find_documents(DocumentQuery(patient=GIRARD.ins))
    assert documents
    assert _traces(host, before) == [
        ("TD0.2", "OK", MARTIN.national_id, ESTABLISHMENT),
        ("TD3.1", "OK", MARTIN.national_id, ESTABLISHMENT),
    ]
    # Presumed, not authorised: no authorisation row was written for him (no TD0.3).
    with host.store.session() as session:
        patient = host.store.find_patient(session, GIRARD.ins.value, GIRARD.ins.oid)
        assert patient is not None
        assert host.store.find_authorization(session, patient, MARTIN.national_id) is None


def test_blocked_member_is_refused_inside_the_establishment(
    host: RunningHost, member: object
) -> None:
    before = host.store.last_trace_id()
    durand = member(DURAND)  # type: ignore[operator]
    assert durand.test_existence(GIRARD.ins).authorization is Authorization.INTERDIT
    refusal = _refusal(durand, GIRARD.ins)
    assert refusal.code == "DMPAccessDeniedByExcludedPs"
    assert "bloqué" in describe(refusal)
    assert _traces(host, before) == [
        ("TD0.2", "OK", DURAND.national_id, ESTABLISHMENT),
        ("TD3.1", "DMPAccessDeniedByExcludedPs", DURAND.national_id, ESTABLISHMENT),
    ]


def test_the_stay_decides_and_the_patient_may_oppose(host: RunningHost, member: object) -> None:
    martin = member(MARTIN)  # type: ignore[operator]
    ins = (FAURE.ins.value, FAURE.ins.oid)
    assert martin.test_existence(FAURE.ins).authorization is Authorization.NON_EXISTE
    assert _refusal(martin, FAURE.ins).code == "DMPAccessDenied"

    assert "sans autorisation individuelle" in care_team.admit(host.store, *ins)
    assert martin.find_documents(DocumentQuery(patient=FAURE.ins))

    said = care_team.set_opposition(host.store, *ins, ESTABLISHMENT, True)
    assert "Opposition enregistrée" in said
    assert _refusal(martin, FAURE.ins).code == "DMPAccessDenied"
    assert martin.test_existence(FAURE.ins).authorization is Authorization.NON_EXISTE
    care_team.set_opposition(host.store, *ins, ESTABLISHMENT, False)
    assert martin.find_documents(DocumentQuery(patient=FAURE.ins))

    assert "Sortie enregistrée" in care_team.discharge(host.store, *ins, ESTABLISHMENT)
    assert _refusal(martin, FAURE.ins).code == "DMPAccessDenied"
    with pytest.raises(care_team.StayError):
        care_team.set_opposition(host.store, *ins, ESTABLISHMENT, True)


def test_no_presumption_outside_an_establishment_sector(host: RunningHost, member: object) -> None:
    """The same certificate stating a practice's sector (SA07) gets no presumption."""
    martin = member(MARTIN, "SA07")  # type: ignore[operator]
    assert martin.test_existence(GIRARD.ins).authorization is Authorization.NON_EXISTE
    assert _refusal(martin, GIRARD.ins).code == "DMPAccessDenied"


def test_documents_masked_from_professionals_stay_hidden_from_members(
    host: RunningHost, member: object
) -> None:
    martin = member(MARTIN)  # type: ignore[operator]
    seen = martin.find_documents(DocumentQuery(patient=GIRARD.ins))
    target = seen[0].unique_id
    patient_cli.set_masked(host.store, GIRARD.ins, target, True)
    try:
        after = martin.find_documents(DocumentQuery(patient=GIRARD.ins, include_masked=True))
        assert target not in {d.unique_id for d in after}
        assert len(after) == len(seen) - 1
    finally:
        patient_cli.set_masked(host.store, GIRARD.ins, target, False)


def test_establishment_command(host: RunningHost, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", str(host.store.engine.url.render_as_string(hide_password=False))]
    ins = PATIENTS["actif-sans-autorisation"].ins.value
    assert sandbox_main(["establishment", "admit", "--ins", ins, *db]) == 0
    assert care_team.TRAINING_ESTABLISHMENT_NAME in capsys.readouterr().out
    assert sandbox_main(["establishment", "stays", *db]) == 0
    listed = capsys.readouterr().out
    assert ins in listed and GIRARD.ins.value in listed
    assert sandbox_main(["establishment", "oppose", "yes", "--ins", ins, *db]) == 0
    assert "Opposition enregistrée" in capsys.readouterr().out
    assert sandbox_main(["establishment", "discharge", "--ins", ins, *db]) == 0
    assert "Sortie enregistrée" in capsys.readouterr().out
    assert sandbox_main(["establishment", "oppose", "no", "--ins", ins, *db]) == 1
    assert "admettez-le d'abord" in capsys.readouterr().err
    assert sandbox_main(["establishment", "admit", "--ins", "123", *db]) == 1
    assert "INS invalide" in capsys.readouterr().err
    with host.store.session() as session:
        stays = session.query(EstablishmentStay).count()
    assert stays >= 2


@pytest.mark.parametrize(
    ("authn", "expected"),
    [
        ("urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI", "VALIDE"),
        ("urn:oasis:names:tc:SAML:2.0:ac:classes:Password", "NON_EXISTE"),
    ],
)
def test_only_a_member_logged_in_with_a_card_is_presumed(
    host: RunningHost,
    training_env: TrainingEnv,
    tmp_path_factory: pytest.TempPathFactory,
    authn: str,
    expected: str,
) -> None:
    """The signed VIHF must say the member logged in with a CPS card (SmartcardPKI)."""
    from dmp_desktop.dmp.vihf_signature import sign_vihf
    from tests.host.test_structure_mode import _structure
    from tests.host.wire import SAML, envelope, td02_body, vihf

    establishment = _structure(
        host,
        training_env.pki,
        tmp_path_factory.mktemp("care-team-wire"),
        ESTABLISHMENT,
        care_team.TRAINING_ESTABLISHMENT_NAME,
    )
    assertion = vihf(
        MARTIN.national_id,
        resource_id=f"{GIRARD.ins.value}^^^&{GIRARD.ins.oid}&ISO^NH",
        auth_mode="INDIRECTE_RENFORCEE",
    )
    replacements = {
        "499700433153007": ESTABLISHMENT,
        "SA07^1.2.250.1.71.4.2.4": "SA01^1.2.250.1.71.4.2.4",
    }
    for value in assertion.iter(f"{{{SAML}}}AttributeValue"):
        value.text = replacements.get(value.text or "", value.text)
    assertion.find(f".//{{{SAML}}}AuthnContextClassRef").text = authn
    sign_vihf(assertion, establishment.key)
    data, _ = envelope(td02_body(GIRARD.ins.value), assertion)
    before = host.store.last_trace_id()
    reply = establishment.tls.post(data)
    assert reply.status == 200, reply.body
    (trace,) = host.store.traces(after_id=before)
    assert (trace.professional_national_id, trace.structure_id) == (
        MARTIN.national_id,
        ESTABLISHMENT,
    )
    assert trace.result is not None and trace.result.endswith(expected)
