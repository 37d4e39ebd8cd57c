"""The record's life end to end (issue 7, "Must show"): the real client with the SoftHSM
cards over real mutual TLS to one training host per module, and the ``dmp-sandbox``
commands (patient's space, outbox, purge) on the same database; SQLite by default,
PostgreSQL when DMP_TEST_POSTGRES_URL is set.

Covered: creation of an adult's and a minor's DMP (consent, legal representative,
online access, creation notice), closure and reactivation, purge 10 years after the
closure and not a day before (injectable clock), blocking by the patient (the ``dmp``
command refuses in French), the médecin traitant's protections (cannot be blocked,
still sees masked documents), the emergency access notice in the outbox, and the
access history listing every action of a test, in order, with who and when."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dmp_desktop.alimentation import Outbox, UploadRequest
from dmp_desktop.connect import open_dmp
from dmp_desktop.dmp import td11
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.domain import Authorization, DmpState
from dmp_desktop.domain.document import DocumentQuery
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import DmpDesktopError, DmpServiceError, describe
from dmp_desktop.settings import Settings, save_settings
from dmp_desktop.smartcard import CardManager
from dmp_desktop.smartcard.card import CardSession
from dmp_sandbox.__main__ import main as sandbox_main
from dmp_sandbox.demo import demo_ins, demo_patients
from dmp_sandbox.purge import retention_end
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.support.cli import run_dmp
from tests.unit.test_alimentation_support import identity, request

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p for p in demo_patients()}
LEA = PATIENTS["actif-autorise"]  # Dr Durand is her médecin traitant DMP
LEFEBVRE = PATIENTS["actif-sans-autorisation"]  # no authorisation for Dr Durand
DURAND, MARTIN = "899700433153", "899700433160"
CARDS = {DURAND: ("CPS3-DURAND", "1234"), MARTIN: ("CPS4-MARTIN", "4321")}
DURAND_NAME = f"Dr Marie DURAND ({DURAND})"
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def settings(
    training_env: TrainingEnv, host: RunningHost, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    data = tmp_path_factory.mktemp("record-life-data")
    return dataclasses.replace(
        training_env.client_settings(), host_url=host.url, data_dir=str(data)
    )


@contextmanager
def as_doctor(manager: CardManager, settings: Settings, national_id: str) -> Iterator[DmpClient]:
    """The doctor logs in with their own card and PIN; a DMP client for them."""
    session = _login(manager, national_id)
    try:
        with open_dmp(settings, session) as client:
            yield client
    finally:
        session.close()


def _login(manager: CardManager, national_id: str) -> CardSession:
    label, pin = CARDS[national_id]
    card = next(c for c in manager.list_cards() if c.token_label == label)
    return manager.login(card, pin)


def sandbox(
    host: RunningHost, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    """``dmp-sandbox <argv> --db <the host's database>``: exit code, stdout, stderr."""
    capsys.readouterr()
    code = sandbox_main([*argv, "--db", host.store.engine.url.render_as_string(False)])
    out, err = capsys.readouterr()
    return code, out, err


def dmp_cli(
    settings: Settings, tmp_path: Path, national_id: str, *argv: str
) -> subprocess.CompletedProcess[str]:
    """The real ``dmp`` command in its own process, with the doctor's card and PIN."""
    config = tmp_path / "settings.json"
    save_settings(settings, config)
    keyring = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    return run_dmp(config, *argv, card=CARDS[national_id], env=keyring)


def create(
    client: DmpClient, ins: Ins, family: str, given: str, born: dt.date, **consent: object
) -> None:
    client.create_dmp(
        ins,
        td11.PatientIdentity(family, given, "F", born),
        td11.CreationConsent(consent_given=True, **consent),  # type: ignore[arg-type]
    )


def _request_for(ins: Ins, family: str, given: str, born: dt.date) -> UploadRequest:
    """A PDF report for the patient (the identity traits the INS goes with)."""
    return request(
        patient=ins,
        identity=identity(
            ins, birth_family_name=family, birth_given_names=[given], birth_date=born
        ),
    )


def patient_row(host: RunningHost, ins: Ins) -> dict[str, object]:
    with host.store.session() as session:
        patient = host.store.find_patient(session, ins.value, ins.oid)
        assert patient is not None
        return {
            "state": patient.state.value,
            "minor": patient.is_minor,
            "online": patient.internet_account_open,
            "email": patient.email,
            "mobile": patient.mobile,
            "legal_representative": patient.legal_representative,
        }


# --- creation -------------------------------------------------------------------------------


def test_creation_of_an_adults_and_a_minors_dmp(
    card_manager: CardManager,
    host: RunningHost,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    adult = demo_ins("2860375123401")
    minor = demo_ins("2180575123402")
    minor_birth = dt.date.today() - dt.timedelta(days=365 * 9)
    with as_doctor(card_manager, settings, DURAND) as client:
        assert client.test_existence(adult).state is DmpState.NONE
        create(client, adult, "Petit", "Anne", dt.date(1986, 3, 14), email="anne@example.org")
        adult_status = client.test_existence(adult)
        create(
            client,
            minor,
            "Petit",
            "Louise",
            minor_birth,
            mobile="+33600000000",
            legal_representative=td11.LegalRepresentative("Petit", "Anne", True),
        )
        minor_status = client.test_existence(minor)
    assert (adult_status.state, adult_status.authorization, adult_status.minor) == (
        DmpState.ACTIVE,
        Authorization.VALIDE,
        False,
    )
    assert (minor_status.state, minor_status.minor) == (DmpState.ACTIVE, True)
    adult_row = patient_row(host, adult)
    assert (adult_row["minor"], adult_row["online"], adult_row["email"]) == (
        False,
        True,
        "anne@example.org",
    )
    assert adult_row["legal_representative"] is None
    minor_row = patient_row(host, minor)
    assert minor_row["minor"] is True
    assert minor_row["online"] is False  # a minor gets no online access of their own
    assert minor_row["mobile"] is None
    assert "PETIT ANNE" in str(minor_row["legal_representative"]).upper()
    # The creation notice, in the patient's outbox.
    code, out, _ = sandbox(host, capsys, "outbox", "--patient", adult.value)
    assert code == 0 and "Votre DMP a été créé" in out and "DURAND" in out


# --- closure, reactivation, retention -------------------------------------------------------


def test_closure_reactivation_then_purge_after_ten_years_not_before(
    card_manager: CardManager,
    host: RunningHost,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ins = demo_ins("2570175123403")
    with as_doctor(card_manager, settings, DURAND) as client:
        create(client, ins, "Roy", "Jeanne", dt.date(1957, 1, 9))
        client.close_dmp(ins, "Roy", "Jeanne", reason_text="Demande de la patiente")
        closed = client.test_existence(ins)
        with pytest.raises(DmpServiceError) as refused:
            client.find_documents(DocumentQuery(patient=ins))
    session = _login(card_manager, DURAND)
    try:
        with open_dmp(settings, session) as feeding, pytest.raises(DmpDesktopError) as upload:
            outbox = Outbox.open(settings)
            item = outbox.add(_request_for(ins, "ROY", "JEANNE", dt.date(1957, 1, 9)))
            outbox.send(item, feeding, session)
    finally:
        session.close()
    with as_doctor(card_manager, settings, DURAND) as client:
        client.reactivate_dmp(ins, "Roy", "Jeanne")
        reactivated = client.test_existence(ins)
        client.close_dmp(ins, "Roy", "Jeanne", reason_text="Demande de la patiente")
    assert closed.state is DmpState.CLOSED and closed.closure_date is not None
    assert refused.value.code == "DMPClosed" and "fermé" in describe(refused.value)
    assert "fermé" in describe(upload.value)  # a closed record refuses new documents
    assert reactivated.state is DmpState.ACTIVE

    end = retention_end(closed.closure_date)
    day_before = dt.datetime.combine(end, dt.time(12), tzinfo=PARIS)
    # On the last day of the 10 years, the record is kept (records closed earlier, such
    # as a demo patient's, may go).
    code, _, _ = sandbox(host, capsys, "purge", "--now", day_before.isoformat())
    assert code == 0
    assert patient_row(host, ins)["state"] == closed.state.value
    day_after = day_before + dt.timedelta(days=1)
    code, out, _ = sandbox(host, capsys, "purge", "--now", day_after.isoformat())
    assert code == 0 and out.startswith("1 DMP détruit(s)")
    with host.store.session() as session:
        assert host.store.find_patient(session, ins.value, ins.oid) is None
    with as_doctor(card_manager, settings, DURAND) as client:
        assert client.test_existence(ins).state is DmpState.NONE


# --- the patient's rights -------------------------------------------------------------------


def test_patient_blocks_a_professional_whom_the_dmp_command_then_refuses_in_french(
    card_manager: CardManager,
    host: RunningHost,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ins = demo_ins("1750675123404")
    with as_doctor(card_manager, settings, DURAND) as client:
        create(client, ins, "Noel", "Marc", dt.date(1975, 6, 1))
    code, out, _ = sandbox(host, capsys, "patient", "block", "--ins", ins.value, "--ps", DURAND)
    assert code == 0 and "est bloqué" in out
    listing = dmp_cli(settings, tmp_path, DURAND, "list", "--ins", ins.value)
    assert listing.returncode != 0
    assert "Le patient vous a bloqué : l'accès à son DMP vous est refusé." in listing.stderr
    code, out, _ = sandbox(host, capsys, "patient", "unblock", "--ins", ins.value, "--ps", DURAND)
    assert code == 0 and "débloqué" in out
    with as_doctor(card_manager, settings, DURAND) as client:
        assert client.test_existence(ins).authorization is Authorization.NON_EXISTE


def test_the_treating_physician_cannot_be_blocked_and_still_sees_masked_documents(
    card_manager: CardManager,
    host: RunningHost,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = sandbox(host, capsys, "patient", "block", "--ins", LEA.ins.value, "--ps", DURAND)
    assert code == 1 and "médecin traitant DMP : il ne peut pas être bloqué" in err
    with as_doctor(card_manager, settings, MARTIN) as client:
        client.set_authorization(LEA.ins)  # Léa agreed: Dr Martin is authorised, not treating
        before = {d.unique_id for d in client.find_documents(DocumentQuery(patient=LEA.ins))}
    with as_doctor(card_manager, settings, DURAND) as client:
        entries = client.find_documents(DocumentQuery(patient=LEA.ins))
    target = next(
        e.unique_id
        for e in entries
        if e.unique_id in before and MARTIN not in {a.national_id for a in e.authors}
    )
    code, out, _ = sandbox(
        host, capsys, "patient", "mask-document", "--ins", LEA.ins.value, "--id", target
    )
    assert code == 0 and "Document masqué" in out
    try:
        with as_doctor(card_manager, settings, DURAND) as client:
            treating = client.test_existence(LEA.ins)
            seen = client.find_documents(DocumentQuery(patient=LEA.ins, include_masked=True))
        with as_doctor(card_manager, settings, MARTIN) as client:
            other = client.find_documents(DocumentQuery(patient=LEA.ins, include_masked=True))
    finally:
        sandbox(host, capsys, "patient", "unmask-document", "--ins", LEA.ins.value, "--id", target)
    assert treating.treating_physician
    assert target in {d.unique_id for d in seen}
    assert target not in {d.unique_id for d in other}


def test_the_treating_physician_blocks_on_the_patients_behalf_and_is_never_blocked(
    card_manager: CardManager, host: RunningHost, settings: Settings
) -> None:
    with as_doctor(card_manager, settings, MARTIN) as client:
        client.set_authorization(LEA.ins)
        with pytest.raises(DmpServiceError) as not_treating:
            client.set_professional_blocked(LEA.ins, DURAND, blocked=True)
    with as_doctor(card_manager, settings, DURAND) as client:
        with pytest.raises(DmpServiceError) as himself:
            client.set_professional_blocked(LEA.ins, DURAND, blocked=True)
        client.set_professional_blocked(LEA.ins, MARTIN, blocked=True)
    try:
        with as_doctor(card_manager, settings, MARTIN) as client:
            with pytest.raises(DmpServiceError) as blocked:
                client.find_documents(DocumentQuery(patient=LEA.ins))
    finally:
        with as_doctor(card_manager, settings, DURAND) as client:
            client.set_professional_blocked(LEA.ins, MARTIN, blocked=False)
    assert not_treating.value.code == "DMPAccessDenied"  # only the médecin traitant may
    assert "ne peut pas être bloqué" in describe(himself.value)
    assert blocked.value.code == "DMPAccessDeniedByExcludedPs"
    with as_doctor(card_manager, settings, DURAND) as client:
        assert client.test_existence(LEA.ins).authorization is Authorization.VALIDE


def test_an_emergency_access_is_notified_in_the_outbox(
    card_manager: CardManager,
    host: RunningHost,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reason = "Patient inconscient admis aux urgences"
    with as_doctor(card_manager, settings, DURAND) as client:
        with pytest.raises(DmpServiceError) as normal:
            client.find_documents(DocumentQuery(patient=LEFEBVRE.ins))
        found = client.find_documents(
            DocumentQuery(patient=LEFEBVRE.ins), purpose="bris_de_glace", reason=reason
        )
    assert normal.value.code == "DMPAccessDenied" and found
    code, out, _ = sandbox(host, capsys, "outbox", "--patient", LEFEBVRE.ins.value)
    assert code == 0
    notices = [line for line in out.splitlines() if "[bris de glace]" in line]
    # The patient and their médecin traitant DMP (Dr Martin) are told; the reason stays in
    # the access trace, no notice copies it (issue 13).
    to_patient = [n for n in notices if "médecin traitant" not in n]
    to_physician = [n for n in notices if f"(au médecin traitant {MARTIN})" in n]
    assert len(to_patient) == 1 and len(to_physician) == 1 and len(notices) == 2
    assert all("DURAND" in n and reason not in n for n in notices)
    assert "votre patient(e)" in to_physician[0]
    trace = next(t for t in reversed(host.store.traces()) if t.purpose == "bris_de_glace")
    assert trace.reason == reason
    code, out, _ = sandbox(host, capsys, "patient", "history", "--ins", LEFEBVRE.ins.value)
    assert [line[18:] for line in out.splitlines()[-2:]] == [
        f"{DURAND_NAME} a consulté la liste de vos documents — refusé.",
        f"{DURAND_NAME} a consulté la liste de vos documents (accès en urgence, bris de glace).",
    ]


# --- the access history -----------------------------------------------------------------------

_LINE = re.compile(r"^(\d\d/\d\d/\d{4} \d\d:\d\d)  (.*)$")


def test_the_access_history_lists_every_action_of_the_test_in_order(
    card_manager: CardManager,
    host: RunningHost,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ins = demo_ins("2920775123405")
    started = dt.datetime.now(PARIS).replace(second=0, microsecond=0)
    born = dt.date(1992, 7, 3)
    with as_doctor(card_manager, settings, DURAND) as client:
        create(client, ins, "Vidal", "Chloé", born)
        client.test_existence(ins)
    session = _login(card_manager, DURAND)
    try:
        with open_dmp(settings, session) as client:
            outbox = Outbox.open(settings)
            item = outbox.add(_request_for(ins, "VIDAL", "CHLOÉ", born))
            uploaded = outbox.send(item, client, session)
            entries = client.find_documents(DocumentQuery(patient=ins))
            client.retrieve_document(entries[0])
    finally:
        session.close()
    assert uploaded.unique_id == entries[0].unique_id
    sandbox(
        host, capsys, "patient", "mask-document", "--ins", ins.value, "--id", uploaded.unique_id
    )
    with as_doctor(card_manager, settings, DURAND) as client:  # the author shows it again
        (masked,) = client.find_documents(DocumentQuery(patient=ins, include_masked=True))
        client.update_confidentiality(
            masked, masked=False, invisible_patient=False, invisible_legal_reps=False
        )
    with as_doctor(card_manager, settings, MARTIN) as client:
        with pytest.raises(DmpServiceError):
            client.find_documents(DocumentQuery(patient=ins))
    sandbox(host, capsys, "patient", "block", "--ins", ins.value, "--ps", MARTIN)

    code, out, _ = sandbox(host, capsys, "patient", "history", "--ins", ins.value)
    ended = dt.datetime.now(PARIS)
    assert code == 0
    lines = out.splitlines()
    # Every trace row about this patient is a line of the history.
    traced = [t for t in host.store.traces() if t.patient_ins == ins.value]
    assert len(lines) - 1 == len(traced) == 11
    assert lines[0] == f"Historique des accès à votre DMP ({len(lines) - 1}) :"
    parsed = [_LINE.match(line) for line in lines[1:]]
    assert all(parsed), lines
    for match in parsed:
        assert match is not None
        when = dt.datetime.strptime(match.group(1), "%d/%m/%Y %H:%M").replace(tzinfo=PARIS)
        assert started <= when <= ended
    martin = f"Dr Paul MARTIN ({MARTIN})"
    assert [m.group(2) for m in parsed if m is not None] == [
        f"{DURAND_NAME} a créé votre DMP.",
        f"{DURAND_NAME} a vérifié l'existence de votre DMP.",
        f"{DURAND_NAME} a ajouté un document.",
        # The client's outbox checks the upload landed (find by unique id: TD3.1).
        f"{DURAND_NAME} a consulté la liste de vos documents.",
        f"{DURAND_NAME} a consulté la liste de vos documents.",
        f"{DURAND_NAME} a consulté un document.",
        "Vous avez masqué un document aux professionnels.",
        f"{DURAND_NAME} a consulté la liste de vos documents.",
        f"{DURAND_NAME} a masqué ou démasqué un document.",
        f"{martin} a consulté la liste de vos documents — refusé.",
        "Vous avez bloqué un professionnel.",
    ]
