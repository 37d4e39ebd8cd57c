"""``dmp-sandbox patient …`` on the training host's database, seen through the real
DmpClient over mutual TLS: blocking (never the médecin traitant), masking, emergency
choices, the access history and the patient's own closure."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.domain import Authorization, DmpState, Practitioner
from dmp_sandbox.__main__ import main
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.store import DocumentRecord
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN
from tests.host.wire import ClientIdentity, client_context, make_identity

P = {p.key: p.ins for p in demo_patients()}
LEA, LEFEBVRE = P["actif-autorise"], P["actif-sans-autorisation"]
DR_DURAND = Practitioner(
    DURAND, "DURAND", "MARIE", "Médecin", profession_code="10", structure_id="499700433153007"
)
DR_MARTIN = Practitioner(
    MARTIN, "MARTIN", "PAUL", "Médecin", profession_code="10", structure_id="499700433153007"
)


@pytest.fixture(scope="module")
def patient_host(
    training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningHost, str]]:
    db = tmp_path_factory.mktemp("patient-cli-db") / "host.db"
    url = f"sqlite:///{db}"
    with run_in_thread(training_env, url, seed=True) as running:
        yield running, url


def client(
    host: RunningHost, env: TrainingEnv, identity: ClientIdentity, who: Practitioner
) -> DmpClient:
    settings = dataclasses.replace(env.client_settings(), host_url=host.url)
    http = httpx.Client(verify=client_context(env.pki.trust_roots, identity), timeout=30)
    return DmpClient(http, settings, who)


def run(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    code = main(["patient", *argv, "--db", url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_block_unblock_and_the_treating_physician(
    patient_host: tuple[RunningHost, str],
    training_env: TrainingEnv,
    durand: ClientIdentity,
    identity_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host, url = patient_host
    martin = make_identity(training_env.pki, identity_dir, MARTIN, family="MARTIN", given="PAUL")
    with client(host, training_env, martin, DR_MARTIN) as dmp:
        assert dmp.test_existence(LEA).authorization is Authorization.NON_EXISTE
        code, out, _ = run(capsys, url, "block", "--ins", LEA.value, "--ps", MARTIN)
        assert code == 0 and "MARTIN" in out and "bloqué" in out
        assert dmp.test_existence(LEA).authorization is Authorization.INTERDIT
        # Dr Durand is Moreau Léa's médecin traitant DMP: she cannot be blocked.
        code, _, err = run(capsys, url, "block", "--ins", LEA.value, "--ps", DURAND)
        assert code == 1 and "médecin traitant" in err
        code, out, _ = run(capsys, url, "unblock", "--ins", LEA.value, "--ps", MARTIN)
        assert code == 0 and "débloqué" in out
        assert dmp.test_existence(LEA).authorization is Authorization.NON_EXISTE
    with client(host, training_env, durand, DR_DURAND) as dmp:
        assert dmp.test_existence(LEA).authorization is Authorization.VALIDE


def test_mask_emergency_history_and_close(
    patient_host: tuple[RunningHost, str],
    training_env: TrainingEnv,
    identity_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host, url = patient_host
    with host.store.session() as session:
        patient = host.store.find_patient(session, LEFEBVRE.value, LEFEBVRE.oid)
        assert patient is not None
        doc = session.scalars(
            select(DocumentRecord).where(DocumentRecord.patient_id == patient.id)
        ).first()
        assert doc is not None
        unique_id = doc.unique_id
        was_masked = "MASQUE_PS" in doc.confidentiality_codes()
    first, second = (
        ("unmask-document", "mask-document")
        if was_masked
        else (
            "mask-document",
            "unmask-document",
        )
    )
    for action in (first, second):
        code, out, _ = run(capsys, url, action, "--ins", LEFEBVRE.value, "--id", unique_id)
        assert code == 0, out
    with host.store.session() as session:
        owner = host.store.find_patient(session, LEFEBVRE.value, LEFEBVRE.oid)
        assert owner is not None
        doc = host.store.find_document(session, owner, unique_id)
        assert doc is not None and ("MASQUE_PS" in doc.confidentiality_codes()) is was_masked
    code, _, err = run(capsys, url, "mask-document", "--ins", LEFEBVRE.value, "--id", "1.2.3")
    assert code == 1 and "introuvable" in err

    code, out, _ = run(
        capsys,
        url,
        "emergency",
        "--ins",
        LEFEBVRE.value,
        "--bris-de-glace",
        "no",
        "--centre-15",
        "yes",
    )
    assert code == 0 and "bris de glace) : refusé" in out
    with host.store.session() as session:
        patient = host.store.find_patient(session, LEFEBVRE.value, LEFEBVRE.oid)
        assert patient is not None
        assert (patient.opposition_bris_de_glace, patient.opposition_centre_15) == (True, False)

    martin = make_identity(training_env.pki, identity_dir, MARTIN, family="MARTIN", given="PAUL")
    with client(host, training_env, martin, DR_MARTIN) as dmp:
        dmp.test_existence(LEFEBVRE)
        code, out, _ = run(capsys, url, "history", "--ins", LEFEBVRE.value)
        assert code == 0
        assert "Dr Paul MARTIN (899700433160) a vérifié l'existence de votre DMP." in out
        assert "Vous avez masqué un document aux professionnels." in out
        assert "Vous avez modifié vos choix d'accès en urgence." in out
        assert LEFEBVRE.value not in out.split("\n", 1)[1]  # no INS in the lines

        code, out, _ = run(capsys, url, "close", "--ins", LEFEBVRE.value, "--reason", "Je déménage")
        assert code == 0 and "fermé" in out
        status = dmp.test_existence(LEFEBVRE)
        assert status.state is DmpState.CLOSED
        assert status.closure_reason == "FERMETURE_DEMANDE_PATIENT"
    code, _, err = run(capsys, url, "block", "--ins", LEFEBVRE.value, "--ps", DURAND)
    assert code == 1 and "fermé" in err
    code, _, err = run(capsys, url, "history", "--ins", "123")
    assert code == 1 and "INS invalide" in err
