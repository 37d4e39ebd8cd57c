"""A card with several practice situations: the window asks which one, remembers it.

Real CardManager over a fake token (the same objects as a real card:
``CPS_ACTIVITY_nn_PS`` behind the PIN) and a stub DMP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.settings import Settings, load_settings
from dmp_desktop.smartcard import CardManager
from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.cards import Situation
from tests.ui.conftest import WindowFactory
from tests.ui.consultation_fakes import ConsultationDmp
from tests.ui.fakes import ui_settings
from tests.unit.test_smartcard_fakes import (
    FakeLib,
    FakeReader,
    doctor_card,
    fake_loader,
    fake_module,
)

PIN = "2468"
CABINET = Situation("499700433177001", "CABINET DR LEROY", "SA07")
CENTRE = Situation("1690009998", "CENTRE HOSPITALIER DE FORMATION", "SA01")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(ui_settings(), data_dir=str(tmp_path / "data"), structure_id="")


@pytest.fixture
def lib() -> FakeLib:
    fake = FakeLib([FakeReader(0, "Lecteur du cabinet")])
    fake.insert(doctor_card(pin=PIN, specialty="SM26", situations=(CABINET, CENTRE)))
    return fake


@pytest.fixture
def manager(lib: FakeLib, tmp_path: Path) -> Iterator[CardManager]:
    module = fake_module(tmp_path)
    manager = CardManager([module], loader=fake_loader(lib, module))
    yield manager
    manager.close()


def type_pin(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.pin_dialog is not None and window.pin_dialog.isVisible())
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, PIN)
    qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)


def test_the_window_asks_which_situation_and_remembers_it(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    manager: CardManager,
    tmp_path: Path,
) -> None:
    window = make_window(settings, manager, ConsultationDmp())
    window.settings_file = tmp_path / "settings.json"
    type_pin(qtbot, window)
    qtbot.waitUntil(lambda: window.situation_dialog is not None)
    dialog = window.situation_dialog
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    assert texts == [
        "CABINET DR LEROY (499700433177001) — Cabinet individuel",
        "CENTRE HOSPITALIER DE FORMATION (1690009998) — Etablissement public de santé",
    ]
    assert window.card_service.session is None  # nothing opens before the choice
    dialog.list.setCurrentRow(1)
    with qtbot.waitSignal(window.card_service.loggedIn) as logged:
        qtbot.keyClick(dialog.list, Qt.Key.Key_Return)
    practitioner = logged.args[0]
    assert (practitioner.structure_id, practitioner.activity_sector) == ("1690009998", "SA01")
    assert practitioner.structure_name == "CENTRE HOSPITALIER DE FORMATION"
    assert settings.structure_id == "1690009998"
    qtbot.waitUntil(lambda: (tmp_path / "settings.json").is_file())
    assert load_settings(tmp_path / "settings.json").structure_id == "1690009998"


def test_the_remembered_situation_is_used_without_asking(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, manager: CardManager
) -> None:
    settings.structure_id = CABINET.structure_id
    window = make_window(settings, manager, ConsultationDmp())
    with qtbot.waitSignal(window.card_service.loggedIn) as logged:
        type_pin(qtbot, window)
    assert logged.args[0].structure_id == CABINET.structure_id
    assert window.situation_dialog is None


def test_declining_the_choice_opens_no_session(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, manager: CardManager
) -> None:
    window = make_window(settings, manager, ConsultationDmp())
    type_pin(qtbot, window)
    qtbot.waitUntil(lambda: window.situation_dialog is not None)
    with qtbot.waitSignal(window.card_service.loginFailed) as failed:
        window.situation_dialog.reject()
    assert "situation d'exercice" in failed.args[0]
    assert window.card_service.session is None
    assert window.stack.currentWidget() is window.card_screen
