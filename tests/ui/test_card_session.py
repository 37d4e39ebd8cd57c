"""The card session in the window, with the real CardManager over a fake token (rule 10:
SoftHSM cannot be pulled out, has no PIN pad, never locks) and a stub DMP.

Pulling the card out ends the session within two seconds (the real one-second
timer, no poll forced): the card screen is back, and no widget, no item model and
nothing the window's objects hold keeps anything of the patient or the PIN.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Iterable, Iterator
from pathlib import Path

import pkcs11
import pytest
from PySide6.QtCore import (
    QAbstractItemModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QObject,
    Qt,
)
from pytestqt.qtbot import QtBot

from dmp_desktop.services.card_service import CardState
from dmp_desktop.services.dmp_service import ConnectionState
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard import CardManager
from dmp_desktop.ui.main_window import MainWindow
from tests.ui.conftest import WindowFactory, visible_texts
from tests.ui.consultation_fakes import AUTHORISED, NAMES, ConsultationDmp
from tests.ui.fakes import ui_settings
from tests.unit.test_smartcard_fakes import (
    FakeCard,
    FakeLib,
    FakeReader,
    doctor_card,
    fake_loader,
    fake_module,
    foreign_card,
)

PIN = "73915842"  # distinctive (8 digits: no chance match in random ids or bytes)
FAMILY, GIVEN, _GENDER = NAMES[AUTHORISED.value]
ROLES = (
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.AccessibleTextRole,
    Qt.ItemDataRole.UserRole,
    Qt.ItemDataRole.UserRole + 1,
    Qt.ItemDataRole.UserRole + 2,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    import dataclasses

    return dataclasses.replace(ui_settings(), data_dir=str(tmp_path / "data"))


@pytest.fixture
def module(tmp_path: Path) -> str:
    return fake_module(tmp_path)


def make_manager(lib: FakeLib, module: str) -> CardManager:
    return CardManager([module], loader=fake_loader(lib, module))


@pytest.fixture
def lib() -> FakeLib:
    return FakeLib([FakeReader(0, "Lecteur du cabinet")])


@pytest.fixture
def manager(lib: FakeLib, module: str) -> Iterator[CardManager]:
    manager = make_manager(lib, module)
    yield manager
    manager.close()
    assert all(name.startswith("pkcs11") for name in lib.threads), lib.threads


def log_in(qtbot: QtBot, window: MainWindow, pin: str = PIN) -> None:
    qtbot.waitUntil(lambda: window.pin_dialog is not None and window.pin_dialog.isVisible())
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, pin)
    with qtbot.waitSignal(window.card_service.loggedIn):
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)


def model_texts(root: QObject) -> list[str]:
    """Every string any item model under ``root`` gives, for the usual roles."""
    texts: list[str] = []

    def walk(model: QAbstractItemModel, parent: QModelIndex) -> None:
        try:
            columns = max(model.columnCount(parent), 1)
        except TypeError:  # list models keep columnCount()/hasChildren() private
            columns = 1
        for row in range(min(model.rowCount(parent), 500)):
            for column in range(columns):
                index = model.index(row, column, parent)
                for role in ROLES:
                    value = model.data(index, role)
                    if value is not None:
                        texts.append(str(value))
            first = model.index(row, 0, parent)
            try:
                nested = model.hasChildren(first)
            except TypeError:
                nested = False
            if nested:
                walk(model, first)

    for model in root.findChildren(QAbstractItemModel):
        walk(model, QModelIndex())
    return texts


_LEAVES = (int, float, complex, bool, type(None), enum.Enum, type, types.ModuleType)
_CODE = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.BuiltinMethodType,
)


def held_strings(
    roots: Iterable[object], limit: int = 200_000, skip: tuple[type, ...] = ()
) -> list[str]:
    """Strings reachable from ``roots`` through attributes, containers, closures and
    Qt children (not through module globals: the test's own constants stay out)."""
    seen: set[int] = set()
    stack = list(roots)
    found: list[str] = []
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            found.append(obj)
        elif isinstance(obj, bytes | bytearray | memoryview):
            found.append(bytes(obj).decode("latin-1"))
        elif isinstance(obj, _LEAVES) or (skip and isinstance(obj, skip)):
            continue
        elif isinstance(obj, _CODE):
            for cell in getattr(obj, "__closure__", None) or ():
                try:
                    stack.append(cell.cell_contents)
                except ValueError:
                    pass
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        else:
            attributes = getattr(obj, "__dict__", None)
            if isinstance(attributes, dict):
                stack.extend(attributes.values())
            for slot in getattr(type(obj), "__slots__", ()):
                if isinstance(slot, str) and hasattr(obj, slot):
                    stack.append(getattr(obj, slot))
            if isinstance(obj, QObject):
                stack.extend(obj.children())
    return found


def window_objects(window: MainWindow) -> list[object]:
    return [window, window.card_service, window.dmp_service, window.runner, window.consultation]


def open_first_document(qtbot: QtBot, window: MainWindow) -> None:
    view = window.workspace.documents_pane.table
    view.setFocus()
    view.selectRow(0)
    with qtbot.waitSignal(window.consultation.documentReady, timeout=5000):
        qtbot.keyClick(view, Qt.Key.Key_Return)


@pytest.mark.parametrize("events", ["silent", "reported"])
def test_pulling_the_card_out_clears_everything_within_two_seconds(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    lib: FakeLib,
    manager: CardManager,
    events: str,
) -> None:
    lib.events = events
    lib.insert(doctor_card(pin=PIN, specialty="SM26"))
    dmp = ConsultationDmp()
    window = make_window(settings, manager, dmp)
    log_in(qtbot, window)
    assert window.top_bar.practitioner_label.text() == "Dr Claire LEROY · Médecin généraliste"
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, AUTHORISED.value)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    open_first_document(qtbot, window)
    assert window.consultation.cached_documents == 1
    shown = "\n".join(visible_texts(window) + model_texts(window))
    assert FAMILY in shown and AUTHORISED.value in shown

    lib.remove(0)  # nothing forces a poll: the watch must see it by itself
    with qtbot.waitSignal(window.card_service.sessionEnded, timeout=10000) as ended:
        pass
    assert ended.args is not None and "retirée" in ended.args[0]
    assert window.stack.currentWidget() is window.card_screen
    assert window.pin_dialog is None
    assert window.dmp_service.connection_state is ConnectionState.OFF
    assert window.consultation.cached_documents == 0
    qtbot.waitUntil(lambda: all(client.closed for client in dmp.clients))
    qtbot.waitUntil(lambda: window.card_service.state is CardState.NO_CARD)
    patient = (AUTHORISED.value, AUTHORISED.value[:13], FAMILY, GIVEN)
    for text in visible_texts(window) + model_texts(window):
        assert not any(secret in text for secret in patient), text
    # Widgets already closed go at the next turn of the event loop: let them go now.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    for text in held_strings(window_objects(window)):
        assert not any(secret in text for secret in (*patient, PIN)), text[:80]

    # The card back in: the PIN is asked at once, and the doctor finds an empty workspace.
    lib.insert(doctor_card(pin=PIN, specialty="SM26"))
    window.card_service.poll_now()  # (insertion by the timer: test_no_reader_then_…)
    log_in(qtbot, window)
    assert window.stack.currentWidget() is window.workspace
    assert window.workspace.patient_pane.ins_edit.text() == ""
    assert window.consultation.ins is None
    assert not any(FAMILY in text for text in visible_texts(window) + model_texts(window))


def test_the_pin_is_not_kept_anywhere_after_login(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, lib: FakeLib, manager: CardManager
) -> None:
    card = doctor_card(pin=PIN)
    lib.insert(card)
    window = make_window(settings, manager, ConsultationDmp())
    log_in(qtbot, window)
    assert card.logins == [PIN]  # it did reach the card...
    card.logins.clear()
    roots = [*window_objects(window), manager]
    # The card knows its own PIN (as a real one does): the fake card is not searched.
    kept = [s for s in held_strings(roots, skip=(FakeLib, FakeCard)) if PIN in s]
    assert not kept  # ...and nothing else kept it


def test_locked_card_is_explained_and_never_tried(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, lib: FakeLib, manager: CardManager
) -> None:
    card = doctor_card(pin=PIN, tries=0)
    lib.insert(card)
    window = make_window(settings, manager, ConsultationDmp())
    qtbot.waitUntil(lambda: window.card_service.state is CardState.LOCKED)
    screen = window.card_screen
    assert screen.title_label.text() == "Carte bloquée…"
    assert "PUK" in screen.detail_label.text()
    assert window.pin_dialog is None
    assert card.logins == []


def test_final_try_warns_then_a_wrong_pin_locks(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, lib: FakeLib, manager: CardManager
) -> None:
    card = doctor_card(pin=PIN, tries=1)
    lib.insert(card)
    window = make_window(settings, manager, ConsultationDmp())
    qtbot.waitUntil(lambda: window.pin_dialog is not None and window.pin_dialog.isVisible())
    dialog = window.pin_dialog
    assert dialog is not None and dialog.final_try
    assert dialog.tries_label.text().startswith("⚠ DERNIER ESSAI")
    qtbot.keyClicks(dialog.pin_edit, "0000")
    with qtbot.waitSignal(window.card_service.loginFailed):
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.card_service.state is CardState.LOCKED)
    assert "PUK" in window.card_screen.notice_label.text()
    assert card.tries == 0


def test_pin_pad_reader_takes_the_code_on_its_keypad(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, module: str
) -> None:
    lib = FakeLib([FakeReader(0, "Lecteur à clavier", keypad=True)])
    card = doctor_card(pin=PIN)
    lib.insert(card)
    manager = make_manager(lib, module)
    try:
        window = make_window(settings, manager, ConsultationDmp())
        qtbot.waitUntil(lambda: window.pin_dialog is not None and window.pin_dialog.isVisible())
        dialog = window.pin_dialog
        assert dialog is not None
        assert dialog.keypad_label.text() == "Saisissez votre code sur le clavier du lecteur."
        assert not dialog.pin_edit.isVisible() and not dialog.ok_button.isVisible()
        qtbot.waitUntil(lambda: dialog.keypad_started)  # the login waits on the reader
        assert window.card_service.state is CardState.LOGGING_IN
        with qtbot.waitSignal(window.card_service.pinRequested) as again:
            lib.readers[0].keypad_input.put("0000")  # a wrong code, typed on the reader
        assert again.args is not None and again.args[1] == 2
        retry = window.pin_dialog
        assert retry is not None and retry is not dialog
        assert "Il vous reste 2 essais" in retry.error_label.text()
        qtbot.waitUntil(lambda: retry.keypad_started)
        with qtbot.waitSignal(window.card_service.loggedIn):
            lib.readers[0].keypad_input.put(PIN)
        assert card.logins == [pkcs11.PROTECTED_AUTH, pkcs11.PROTECTED_AUTH]
        assert window.pin_dialog is None
        assert window.stack.currentWidget() is window.workspace
    finally:
        manager.close()


def test_pin_pad_final_try_waits_for_a_deliberate_start(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, module: str
) -> None:
    lib = FakeLib([FakeReader(0, "Lecteur à clavier", keypad=True)])
    card = doctor_card(pin=PIN, tries=1)
    lib.insert(card)
    manager = make_manager(lib, module)
    try:
        window = make_window(settings, manager, ConsultationDmp())
        qtbot.waitUntil(lambda: window.pin_dialog is not None and window.pin_dialog.isVisible())
        dialog = window.pin_dialog
        assert dialog is not None and dialog.final_try
        assert "DERNIER ESSAI" in dialog.tries_label.text()
        with qtbot.assertNotEmitted(window.card_service.loggedIn, wait=200):
            pass
        assert not dialog.keypad_started and card.logins == []
        assert dialog.ok_button.text() == "&Saisir le code sur le lecteur"
        lib.readers[0].keypad_input.put(PIN)
        with qtbot.waitSignal(window.card_service.loggedIn):
            qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        assert card.logins == [pkcs11.PROTECTED_AUTH]
    finally:
        manager.close()


def test_no_reader_then_a_reader_is_plugged_in(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, module: str
) -> None:
    lib = FakeLib([])
    manager = make_manager(lib, module)
    try:
        window = make_window(settings, manager, ConsultationDmp(), poll_interval_ms=100)
        screen = window.card_screen
        qtbot.waitUntil(lambda: screen.title_label.text() == "Aucun lecteur de cartes détecté")
        assert "Branchez le lecteur" in screen.detail_label.text()
        lib.readers.append(FakeReader(0, "Lecteur USB"))
        lib.insert(doctor_card(pin=PIN))
        with qtbot.waitSignal(window.card_service.pinRequested, timeout=3000):
            pass
    finally:
        manager.close()


def test_a_card_that_is_not_a_cps_card(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, lib: FakeLib, manager: CardManager
) -> None:
    lib.insert(foreign_card())
    window = make_window(settings, manager, ConsultationDmp())
    screen = window.card_screen
    qtbot.waitUntil(lambda: screen.title_label.text() == "Carte non reconnue")
    assert "n'est pas reconnue comme une carte CPS" in screen.detail_label.text()
    assert not screen.login_button.isVisible()
    with qtbot.assertNotEmitted(window.card_service.pinRequested, wait=100):
        window.card_service.poll_now()
    assert window.pin_dialog is None


def test_two_readers_two_cards_the_doctor_chooses(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, module: str
) -> None:
    lib = FakeLib([FakeReader(0, "Lecteur A"), FakeReader(1, "Lecteur B")])
    lib.insert(doctor_card(pin=PIN, serial="1"), slot_id=0)
    lib.insert(
        doctor_card(
            "CPS4-NOEL",
            "4321",
            national_id="899700433184",
            family="NOEL",
            given="HUGO",
            specialty="SM04",
            serial="2",
        ),
        slot_id=1,
    )
    manager = make_manager(lib, module)
    try:
        window = make_window(settings, manager, ConsultationDmp())
        screen = window.card_screen
        qtbot.waitUntil(lambda: screen.model.rowCount() == 2)
        assert screen.title_label.text() == "Plusieurs cartes sont insérées"
        assert window.pin_dialog is None  # no guess: the doctor picks
        screen.card_list.setCurrentIndex(screen.model.index(1, 0))
        with qtbot.waitSignal(window.card_service.pinRequested):
            qtbot.keyClick(screen.card_list, Qt.Key.Key_Return)
        dialog = window.pin_dialog
        assert dialog is not None
        assert dialog.holder_label.text() == "Dr Hugo NOEL · Cardiologue"
        assert "Lecteur B" in dialog.card_label.text()
        log_in(qtbot, window, "4321")
        assert window.top_bar.practitioner_label.text() == "Dr Hugo NOEL · Cardiologue"
    finally:
        manager.close()
