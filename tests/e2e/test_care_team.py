"""Care team in an establishment, end to end: two doctors log in with their own SoftHSM
CPS card and PIN, the client connects with the establishment's certificate (structure
mode, sector SA01) to the training host over real mutual TLS; both are presumed
authorised for a patient in a stay there, each is traced individually with the
establishment, and the one the patient blocks (``dmp-sandbox patient block``) is refused."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import keyring
import pytest

from dmp_desktop.connect import open_dmp
from dmp_desktop.domain import Authorization
from dmp_desktop.domain.document import DocumentQuery
from dmp_desktop.errors import DmpServiceError, describe
from dmp_desktop.net.structure import store_passphrase
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard import CardManager
from dmp_sandbox import care_team
from dmp_sandbox.__main__ import main as sandbox_main
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.structures import CreatedStructure, StructureSpec, create_structure
from dmp_sandbox.training import TrainingEnv
from tests.e2e.test_structure_mode import MemoryKeyring

pytestmark = pytest.mark.e2e

FAURE = next(p for p in demo_patients() if p.key == "autorisation-expiree")
ESTABLISHMENT = care_team.TRAINING_ESTABLISHMENT_ID
CARDS = {"899700433153": ("CPS3-DURAND", "1234"), "899700433160": ("CPS4-MARTIN", "4321")}
DURAND, MARTIN = CARDS


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def establishment(
    training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> CreatedStructure:
    return create_structure(
        StructureSpec(ESTABLISHMENT, care_team.TRAINING_ESTABLISHMENT_NAME),
        training_env.pki,
        tmp_path_factory.mktemp("care-team-e2e-p12") / f"{ESTABLISHMENT}.p12",
    )


@pytest.fixture
def settings(
    training_env: TrainingEnv, host: RunningHost, establishment: CreatedStructure
) -> Iterator[Settings]:
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        store_passphrase(establishment.p12_path, establishment.passphrase)
        yield dataclasses.replace(
            training_env.client_settings(),
            host_url=host.url,
            auth_mode="INDIRECTE_RENFORCEE",
            structure_p12=str(establishment.p12_path),
            activity_sector=care_team.TRAINING_ESTABLISHMENT_SECTOR,
        )
    finally:
        keyring.set_keyring(previous)


def consult(
    manager: CardManager, settings: Settings, national_id: str
) -> tuple[Authorization | None, int | DmpServiceError]:
    """Log in with the professional's own card, then TD0.2 and TD3.1 on the patient."""
    label, pin = CARDS[national_id]
    card = next(c for c in manager.list_cards() if c.token_label == label)
    session = manager.login(card, pin)
    try:
        assert session.practitioner.national_id == national_id
        with open_dmp(settings, session) as client:
            status = client.test_existence(FAURE.ins)
            try:
                found: int | DmpServiceError = len(
                    client.find_documents(DocumentQuery(patient=FAURE.ins))
                )
            except DmpServiceError as exc:
                found = exc
    finally:
        session.close()
    return status.authorization, found


def sandbox(host: RunningHost, *argv: str) -> int:
    url = host.store.engine.url.render_as_string(hide_password=False)
    return sandbox_main([*argv, "--db", url])


def test_two_members_traced_individually_and_a_blocked_one_refused(
    card_manager: CardManager,
    host: RunningHost,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Not in a stay: neither doctor has an authorisation of their own.
    assert consult(card_manager, settings, MARTIN)[0] is Authorization.NON_EXISTE
    assert sandbox(host, "establishment", "admit", "--ins", FAURE.ins.value) == 0
    assert "sans autorisation individuelle" in capsys.readouterr().out

    before = host.store.last_trace_id()
    for national_id in (DURAND, MARTIN):
        authorization, found = consult(card_manager, settings, national_id)
        assert authorization is Authorization.VALIDE
        assert isinstance(found, int) and found > 0
    rows = [
        (t.transaction, t.outcome, t.professional_national_id, t.structure_id)
        for t in host.store.traces(after_id=before)
    ]
    assert rows == [
        ("TD0.2", "OK", DURAND, ESTABLISHMENT),
        ("TD3.1", "OK", DURAND, ESTABLISHMENT),
        ("TD0.2", "OK", MARTIN, ESTABLISHMENT),
        ("TD3.1", "OK", MARTIN, ESTABLISHMENT),
    ]

    # The patient blocks Dr Martin in her own space: refused inside the establishment too.
    assert sandbox(host, "patient", "block", "--ins", FAURE.ins.value, "--ps", MARTIN) == 0
    capsys.readouterr()
    authorization, refused = consult(card_manager, settings, MARTIN)
    assert authorization is Authorization.INTERDIT
    assert isinstance(refused, DmpServiceError)
    assert refused.code == "DMPAccessDeniedByExcludedPs"
    assert describe(refused).startswith("Le patient vous a bloqué")
    authorization, found = consult(card_manager, settings, DURAND)
    assert authorization is Authorization.VALIDE and isinstance(found, int)
    last = host.store.traces(after_id=host.store.last_trace_id() - 3)
    assert [(t.outcome, t.professional_national_id, t.structure_id) for t in last] == [
        ("DMPAccessDeniedByExcludedPs", MARTIN, ESTABLISHMENT),
        ("OK", DURAND, ESTABLISHMENT),
        ("OK", DURAND, ESTABLISHMENT),
    ]
    # The patient's access history names each doctor and the establishment.
    assert sandbox(host, "patient", "history", "--ins", FAURE.ins.value) == 0
    history = [line.split("  ", 1)[1] for line in capsys.readouterr().out.splitlines()[1:]]
    where = f"au sein de {care_team.TRAINING_ESTABLISHMENT_NAME}"
    assert history[-5:] == [
        "Vous avez bloqué un professionnel.",
        f"Dr Paul MARTIN ({MARTIN}), {where}, a vérifié l'existence de votre DMP.",
        f"Dr Paul MARTIN ({MARTIN}), {where}, a consulté la liste de vos documents — refusé.",
        f"Dr Marie DURAND ({DURAND}), {where}, a vérifié l'existence de votre DMP.",
        f"Dr Marie DURAND ({DURAND}), {where}, a consulté la liste de vos documents.",
    ]


def test_a_card_connection_gets_no_presumption(
    card_manager: CardManager, host: RunningHost, settings: Settings
) -> None:
    """Direct mode (the card's own TLS) claiming an establishment's sector: refused."""
    direct = dataclasses.replace(settings, auth_mode="DIRECTE", structure_p12="")
    assert sandbox(host, "establishment", "admit", "--ins", FAURE.ins.value) == 0
    authorization, refused = consult(card_manager, direct, DURAND)
    assert authorization is Authorization.EXPIRE
    assert isinstance(refused, DmpServiceError) and refused.code == "DMPAccessDenied"
    trace = host.store.traces(after_id=host.store.last_trace_id() - 1)[-1]
    assert (trace.professional_national_id, trace.structure_id) == (DURAND, None)
