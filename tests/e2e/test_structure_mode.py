"""Structure mode end to end: the doctor logs in with the SoftHSM card and PIN, the
client connects to the training host over real mutual TLS with the structure's
PKCS#12 (passphrase from the keyring), signs the VIHF with it, and the host accepts
the card holder; then the same in the real window."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator

import keyring
import keyring.backend
import keyring.errors
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.app import build_app
from dmp_desktop.connect import open_dmp
from dmp_desktop.domain import Authorization, DmpState
from dmp_desktop.errors import SettingsError, describe
from dmp_desktop.net.structure import keyring_user, load_passphrase, store_passphrase
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard import CardManager
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.structures import CreatedStructure, StructureSpec, create_structure
from dmp_sandbox.training import TrainingEnv

pytestmark = pytest.mark.e2e

PATIENT = next(p for p in demo_patients() if p.key == "actif-autorise")
DURAND = "899700433153"
STRUCTURE_ID = "499700433153007"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """The system keyring, in memory (tests never touch the real one)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.values.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def structure(
    training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> CreatedStructure:
    directory = tmp_path_factory.mktemp("structure-p12")
    return create_structure(
        StructureSpec(STRUCTURE_ID, "CABINET MEDICAL FORMATION"),
        training_env.pki,
        directory / f"{STRUCTURE_ID}.p12",
    )


@pytest.fixture
def settings(training_env: TrainingEnv, host: RunningHost, structure: CreatedStructure) -> Settings:
    return dataclasses.replace(
        training_env.client_settings(),
        host_url=host.url,
        auth_mode="INDIRECTE_RENFORCEE",
        structure_p12=str(structure.p12_path),
    )


def _card(manager: CardManager, label: str = "CPS3-DURAND") -> object:
    return next(c for c in manager.list_cards() if c.token_label == label)


def test_card_login_then_structure_tls_and_signed_vihf(
    card_manager: CardManager,
    host: RunningHost,
    settings: Settings,
    structure: CreatedStructure,
    memory_keyring: MemoryKeyring,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store_passphrase(structure.p12_path, structure.passphrase)
    entry = ("dmp-desktop", keyring_user(structure.p12_path))
    assert memory_keyring.values == {entry: structure.passphrase}
    assert structure.passphrase not in json.dumps(dataclasses.asdict(settings))
    session = card_manager.login(_card(card_manager), "1234")  # type: ignore[arg-type]
    before = host.store.last_trace_id()
    try:
        with open_dmp(settings, session) as client:
            status = client.test_existence(PATIENT.ins)
    finally:
        session.close()
    assert status.state is DmpState.ACTIVE
    assert status.authorization is Authorization.VALIDE
    traces = host.store.traces(after_id=before)
    assert [(t.transaction, t.outcome, t.professional_national_id) for t in traces] == [
        ("TD0.2", "OK", DURAND)
    ]
    assert host.store.professional(STRUCTURE_ID) is None
    # Rule 7: neither the passphrase, the PIN nor the patient reach the logs.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "structure certificate loaded" in logged
    for secret in (structure.passphrase, "1234", PATIENT.ins.value, PATIENT.family_name):
        assert secret not in logged


def test_passphrase_missing_or_wrong(
    card_manager: CardManager,
    settings: Settings,
    structure: CreatedStructure,
    memory_keyring: MemoryKeyring,
) -> None:
    session = card_manager.login(_card(card_manager), "1234")  # type: ignore[arg-type]
    try:
        with pytest.raises(SettingsError) as missing:
            open_dmp(settings, session)
        assert "Paramètres (Ctrl+,)" in describe(missing.value)
        store_passphrase(structure.p12_path, "pas-le-bon")
        with pytest.raises(SettingsError) as wrong:
            open_dmp(settings, session)
        assert "mot de passe incorrect" in describe(wrong.value)
    finally:
        session.close()
    assert load_passphrase(structure.p12_path) == "pas-le-bon"


def test_no_keyring_says_so(
    card_manager: CardManager, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring.backends.fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: keyring.backends.fail.Keyring())
    session = card_manager.login(_card(card_manager), "1234")  # type: ignore[arg-type]
    try:
        with pytest.raises(SettingsError) as err:
            open_dmp(settings, session)
    finally:
        session.close()
    assert "trousseau" in describe(err.value)


def test_window_in_structure_mode(
    qtbot: QtBot,
    card_manager: CardManager,
    settings: Settings,
    structure: CreatedStructure,
    host: RunningHost,
    memory_keyring: MemoryKeyring,
) -> None:
    store_passphrase(structure.p12_path, structure.passphrase)
    window = build_app(settings, card_manager=card_manager)
    qtbot.addWidget(window)
    window.show()
    screen = window.card_screen
    qtbot.waitUntil(lambda: screen.model.rowCount() >= 3)
    row = next(
        r
        for r in range(screen.model.rowCount())
        if "CPS3-DURAND" in screen.model.data(screen.model.index(r, 0))
    )
    screen.card_list.setCurrentIndex(screen.model.index(row, 0))
    with qtbot.waitSignal(window.card_service.pinRequested):
        qtbot.keyClick(screen.card_list, Qt.Key.Key_Return)
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, "1234")
    with qtbot.waitSignal(window.card_service.loggedIn, timeout=10000):
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)
    assert window.top_bar.practitioner_label.text() == "Dr Marie DURAND · Médecin généraliste"
    before = host.store.last_trace_id()
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, PATIENT.ins.value)
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=15000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    trace = host.store.traces(after_id=before)[0]
    assert (trace.transaction, trace.outcome, trace.professional_national_id) == (
        "TD0.2",
        "OK",
        DURAND,
    )
    with qtbot.waitSignal(window.card_service.sessionEnded):
        window.act_logout.trigger()
