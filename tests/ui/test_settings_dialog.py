"""Paramètres (Ctrl+,): middleware with "Tester" (on the card thread), DMP address (https
only), authentication mode with the structure's PKCS#12 (passphrase to the keyring
only), messages next to the fields, saved with save_settings."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from dmp_desktop.services.card_service import CardBackend, CardState
from dmp_desktop.settings import SOFTHSM_MODULE, Settings, load_settings
from dmp_desktop.smartcard import CardManager
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.settings_dialog import SettingsDialog
from dmp_sandbox.structures import CreatedStructure, StructureSpec, create_structure
from dmp_sandbox.training import TrainingEnv
from tests.e2e.test_structure_mode import MemoryKeyring
from tests.ui.conftest import WindowFactory
from tests.ui.fakes import FakeDmp, ui_settings
from tests.unit.test_smartcard_fakes import (
    FakeLib,
    FakeReader,
    doctor_card,
    fake_loader,
    fake_module,
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "settings.json"
    monkeypatch.setenv("DMP_DESKTOP_CONFIG", str(path))
    return path


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    import keyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(scope="module")
def structure(
    training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> CreatedStructure:
    return create_structure(
        StructureSpec("499700433153007", "CABINET MEDICAL FORMATION"),
        training_env.pki,
        tmp_path_factory.mktemp("settings-p12") / "cabinet.p12",
    )


def open_dialog(qtbot: QtBot, window: MainWindow, *, first: bool = True) -> SettingsDialog:
    """Ctrl+, once the window is settled (the PIN dialog, modal, is closed first)."""
    service = window.card_service
    qtbot.waitUntil(lambda: service.state is not CardState.STARTING)
    if first and len(service.cards) == 1 and service.state is CardState.CARD_PRESENT:
        qtbot.waitUntil(lambda: window.pin_dialog is not None)
    if window.pin_dialog is not None:
        window.pin_dialog.reject()
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None)
    window.raise_()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    assert window.act_settings.shortcut() == QKeySequence("Ctrl+,")
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.findChild(SettingsDialog) is not None)
    dialog = window.findChild(SettingsDialog)
    assert isinstance(dialog, SettingsDialog)
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def save(qtbot: QtBot, dialog: SettingsDialog) -> None:
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)


def test_test_button_lists_the_cards_from_the_card_thread(
    qtbot: QtBot,
    make_window: WindowFactory,
    real_card_manager: CardBackend,
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[str] = []
    original = CardManager._list_cards

    def spy(self: CardManager) -> object:
        threads.append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(CardManager, "_list_cards", spy)
    window = make_window(ui_settings(), real_card_manager, FakeDmp())
    dialog = open_dialog(qtbot, window)
    assert dialog.module_edit.text() == ""
    assert "libcps3_pkcs11" in dialog.module_edit.toolTip()  # the Cryptolib by default
    dialog.module_edit.setText(SOFTHSM_MODULE)
    threads.clear()
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    message = dialog.module_message
    qtbot.waitUntil(lambda: message.text().startswith("✔ Module chargé"))
    assert "Cartes détectées (4)" in message.text()  # with the SAMU regulator (CPS3-REGULATEUR)
    assert "Dr Marie DURAND · Médecin généraliste (CPS3-DURAND)" in message.text()
    assert threads and all(name.startswith("pkcs11") for name in threads)
    assert dialog.test_button.isEnabled()


def test_test_button_names_what_is_wrong(
    qtbot: QtBot, make_window: WindowFactory, real_card_manager: CardBackend, tmp_path: Path
) -> None:
    window = make_window(ui_settings(), real_card_manager, FakeDmp())
    dialog = open_dialog(qtbot, window)
    dialog.module_edit.setText(str(tmp_path / "absent.so"))
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.module_message.text() == "✖ Fichier introuvable : vérifiez le chemin du module."
    broken = tmp_path / "libcps3_pkcs11_lux.so"
    broken.write_bytes(b"not a library")
    dialog.module_edit.setText(str(broken))
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ne peut pas être chargé" in dialog.module_message.text())
    assert dialog.module_message.property("tone") == "error"


def test_host_must_be_https(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: CardBackend, config: Path
) -> None:
    window = make_window(ui_settings(), fake_cards, FakeDmp())
    dialog = open_dialog(qtbot, window)
    assert dialog.host_edit.text() == "https://localhost:8443"
    assert not dialog.host_message.isVisible()
    dialog.host_edit.setText("http://dmp.example.fr")
    assert dialog.host_message.isVisible()
    assert "https://" in dialog.host_message.text()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert dialog.save_message.text() == "✖ Corrigez les champs signalés."
    assert not config.exists()
    dialog.host_edit.setText("https://")
    assert "nom du serveur" in dialog.host_message.text()
    dialog.host_edit.setText("https://dmp.formation.example:9443")
    assert not dialog.host_message.isVisible()
    save(qtbot, dialog)
    assert load_settings(config).host_url == "https://dmp.formation.example:9443"
    assert window.settings.host_url == "https://dmp.formation.example:9443"


def test_structure_mode_passphrase_goes_to_the_keyring_only(
    qtbot: QtBot,
    make_window: WindowFactory,
    fake_cards: CardBackend,
    config: Path,
    structure: CreatedStructure,
    memory_keyring: MemoryKeyring,
) -> None:
    window = make_window(ui_settings(), fake_cards, FakeDmp())
    dialog = open_dialog(qtbot, window)
    assert dialog.card_radio.isChecked() and not dialog.structure_panel.isEnabled()
    dialog.structure_radio.setChecked(True)
    assert dialog.structure_panel.isEnabled()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "Indiquez le fichier PKCS#12" in dialog.p12_message.text()

    dialog.p12_edit.setText(str(structure.p12_path))
    qtbot.keyClicks(dialog.passphrase_edit, "pas-le-bon")
    with qtbot.waitSignal(dialog.save_button.clicked):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "mot de passe incorrect" in dialog.passphrase_message.text())
    assert dialog.passphrase_edit.text() == ""  # never kept in the field
    assert memory_keyring.values == {} and not config.exists()

    qtbot.keyClicks(dialog.passphrase_edit, structure.passphrase)
    save(qtbot, dialog)
    assert list(memory_keyring.values.values()) == [structure.passphrase]
    saved = config.read_text(encoding="utf-8")
    assert structure.passphrase not in saved
    values = json.loads(saved)
    assert values["auth_mode"] == "INDIRECTE_RENFORCEE"
    assert values["structure_p12"] == str(structure.p12_path)
    assert window.settings.auth_mode == "INDIRECTE_RENFORCEE"

    # Opened again: the keyring already holds it, nothing to type.
    qtbot.waitUntil(lambda: window.findChild(SettingsDialog) is None)  # deleted on close
    again = open_dialog(qtbot, window, first=False)
    assert again.structure_radio.isChecked()
    qtbot.waitUntil(lambda: "trousseau" in again.passphrase_edit.placeholderText())
    save(qtbot, again)
    assert list(memory_keyring.values.values()) == [structure.passphrase]


def test_a_missing_pkcs12_is_said_next_to_its_field(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: CardBackend, config: Path
) -> None:
    window = make_window(ui_settings(), fake_cards, FakeDmp())
    dialog = open_dialog(qtbot, window)
    dialog.structure_radio.setChecked(True)
    dialog.p12_edit.setText("/nulle/part/cabinet.p12")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.p12_message.text() == (
        "✖ Fichier introuvable : vérifiez le chemin du fichier PKCS#12."
    )
    assert not config.exists()


def test_another_module_is_loaded_at_once(
    qtbot: QtBot, make_window: WindowFactory, config: Path, tmp_path: Path
) -> None:
    """Saving a new middleware path re-reads the readers with it (no restart)."""
    lib = FakeLib([FakeReader(0)])
    lib.insert(doctor_card())
    module = fake_module(tmp_path)
    missing = str(tmp_path / "absent" / "libcps3_pkcs11_lux.so")
    manager = CardManager([missing], loader=fake_loader(lib, module))
    try:
        settings = dataclasses.replace(ui_settings(), pkcs11_module=missing)
        window = make_window(settings, manager, FakeDmp())
        screen = window.card_screen
        qtbot.waitUntil(lambda: window.card_service.state is CardState.NO_MIDDLEWARE)
        assert screen.settings_button.isVisible()
        qtbot.mouseClick(screen.settings_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.findChild(SettingsDialog) is not None)
        dialog = window.findChild(SettingsDialog)
        assert isinstance(dialog, SettingsDialog)
        dialog.module_edit.setText(module)
        with qtbot.waitSignal(window.card_service.pinRequested, timeout=5000):
            save(qtbot, dialog)
        assert manager.module_candidates == [module]
        assert load_settings(config).pkcs11_module == module
        assert not screen.settings_button.isVisible()
    finally:
        manager.close()


def test_every_field_has_a_label_and_an_accessible_name(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: CardBackend, config: Path
) -> None:
    window = make_window(ui_settings(), fake_cards, FakeDmp())
    dialog = open_dialog(qtbot, window)
    for edit in (dialog.module_edit, dialog.host_edit, dialog.p12_edit, dialog.passphrase_edit):
        assert edit.accessibleName()
    assert dialog.passphrase_edit.echoMode() is dialog.passphrase_edit.EchoMode.Password
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert not config.exists()


def test_settings_saved_are_what_load_reads(config: Path) -> None:
    """Round trip through the file, the structure path included."""
    from dmp_desktop.settings import save_settings

    settings = Settings(auth_mode="INDIRECTE_RENFORCEE", structure_p12="/x/cabinet.p12")
    save_settings(settings, config)
    assert load_settings(config) == settings
