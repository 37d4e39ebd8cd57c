"""Card states the SoftHSM token cannot produce (fake card manager, rule 10):
last PIN try, locked card, card pulled out while logged in; plus the missing
middleware (real CardManager pointed at a path that does not exist)."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.app import build_app
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import DmpServiceError, HostUnreachableError
from dmp_desktop.services.card_service import CardState
from dmp_desktop.services.dmp_service import ConnectionState
from dmp_desktop.settings import Settings
from dmp_desktop.ui.main_window import MainWindow
from tests.ui.conftest import WindowFactory, visible_texts
from tests.ui.fakes import (
    DURAND,
    MARTIN,
    PATIENT_FAMILY,
    PATIENT_GIVEN,
    PATIENT_INS,
    FakeCard,
    FakeCardManager,
    FakeDmp,
    ui_settings,
)


def wait_pin_dialog(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.pin_dialog is not None and window.pin_dialog.isVisible())


def log_in(qtbot: QtBot, window: MainWindow, pin: str = "1234") -> None:
    wait_pin_dialog(qtbot, window)
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, pin)
    with qtbot.waitSignal(window.card_service.loggedIn):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def check_patient(qtbot: QtBot, window: MainWindow, ins: str = PATIENT_INS) -> None:
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, ins)
    with qtbot.waitSignal(window.dmp_service.statusReady):
        qtbot.keyClick(edit, Qt.Key.Key_Return)


def test_single_card_asks_for_the_pin_at_once(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    wait_pin_dialog(qtbot, window)
    dialog = window.pin_dialog
    assert dialog is not None
    assert dialog.holder_label.text() == "Dr Marie DURAND · Médecin"
    assert "Essais restants : 3 sur 3" in dialog.tries_label.text()
    assert not dialog.final_try
    assert dialog.pin_edit.echoMode() is dialog.pin_edit.EchoMode.Password
    assert window.top_bar.training_badge.isVisible()
    assert window.top_bar.training_badge.text() == "MODE FORMATION"


def test_last_try_shows_a_strong_red_warning(
    qtbot: QtBot,
    make_window: WindowFactory,
    fake_cards: FakeCardManager,
    fake_dmp: FakeDmp,
    durand_card: FakeCard,
) -> None:
    durand_card.tries = 2
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    wait_pin_dialog(qtbot, window)
    first = window.pin_dialog
    assert first is not None and first.tries_left == 2
    qtbot.keyClicks(first.pin_edit, "0000")
    with qtbot.waitSignal(window.card_service.pinRequested) as asked:
        qtbot.keyClick(first.pin_edit, Qt.Key.Key_Return)
    assert asked.args is not None and asked.args[1] == 1
    dialog = window.pin_dialog
    assert dialog is not None and dialog is not first
    assert dialog.final_try
    assert dialog.tries_label.property("tone") == "danger"
    assert "DERNIER ESSAI" in dialog.tries_label.text()
    assert "PUK" in dialog.tries_label.text()
    assert "#b3261e" in dialog.tries_label.styleSheet()
    assert "il ne vous reste qu'un essai" in dialog.error_label.text()


def test_locked_card_explains_the_puk(
    qtbot: QtBot,
    make_window: WindowFactory,
    fake_cards: FakeCardManager,
    fake_dmp: FakeDmp,
    durand_card: FakeCard,
) -> None:
    durand_card.tries = 0
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    qtbot.waitUntil(lambda: window.card_service.state is CardState.LOCKED)
    assert window.stack.currentWidget() is window.card_screen
    assert window.card_screen.title_label.text() == "Carte bloquée…"
    assert "PUK" in window.card_screen.detail_label.text()
    assert window.top_bar.state_label.text() == "Carte CPS bloquée"
    assert window.pin_dialog is None
    assert not window.act_login.isEnabled()


def test_wrong_pin_on_last_try_locks_the_card(
    qtbot: QtBot,
    make_window: WindowFactory,
    fake_cards: FakeCardManager,
    fake_dmp: FakeDmp,
    durand_card: FakeCard,
) -> None:
    durand_card.tries = 1
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    wait_pin_dialog(qtbot, window)
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, "0000")
    with qtbot.waitSignal(window.card_service.loginFailed):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.card_service.state is CardState.LOCKED)
    assert window.pin_dialog is None
    assert "PUK" in window.card_screen.notice_label.text()
    assert window.card_screen.title_label.text() == "Carte bloquée…"


def test_card_removed_leaves_no_patient_data_on_screen(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    log_in(qtbot, window)
    check_patient(qtbot, window)
    on_screen = "\n".join(visible_texts(window))
    assert PATIENT_FAMILY in on_screen and PATIENT_INS in on_screen

    fake_cards.remove(1)
    with qtbot.waitSignal(window.card_service.sessionEnded) as ended:
        window.card_service.poll_now()
    assert ended.args is not None and "retirée" in ended.args[0]

    assert window.stack.currentWidget() is window.card_screen
    assert "retirée" in window.card_screen.notice_label.text()
    texts = "\n".join(visible_texts(window))
    for secret in (PATIENT_INS, PATIENT_INS[:13], PATIENT_FAMILY, PATIENT_GIVEN, "12/05/1984"):
        assert secret not in texts
    edit = window.workspace.patient_pane.ins_edit
    assert edit.text() == "" and not edit.isUndoAvailable()
    assert window.workspace.status_panel.shown_status is None
    assert window.top_bar.practitioner_label.text() == ""
    assert window.dmp_service.connection_state is ConnectionState.OFF
    qtbot.waitUntil(lambda: fake_dmp.clients[0].closed)
    qtbot.waitUntil(lambda: window.card_service.state is CardState.NO_CARD)
    assert window.card_screen.title_label.text() == "Insérez votre carte CPS dans le lecteur"


def test_logout_clears_the_patient(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    log_in(qtbot, window)
    check_patient(qtbot, window)
    with qtbot.waitSignal(window.card_service.sessionEnded):
        window.act_logout.trigger()
    assert PATIENT_FAMILY not in "\n".join(visible_texts(window))
    qtbot.waitUntil(lambda: fake_cards.sessions[0].closed)
    qtbot.waitUntil(lambda: window.card_service.state is CardState.CARD_PRESENT)
    assert window.pin_dialog is None  # closing the session does not re-ask the PIN
    assert window.act_login.isEnabled()


def test_status_shows_in_plain_french_and_the_dmp_runs_off_the_ui_thread(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    log_in(qtbot, window)
    assert window.top_bar.practitioner_label.text() == "Dr Marie DURAND · Médecin"
    check_patient(qtbot, window)
    panel = window.workspace.status_panel
    assert panel.identity_label.text() == "LEGRAND Jeanne"
    assert panel.birth_label.text() == "née le 12/05/1984"
    assert panel.summary_label.text().startswith("✔ La patiente a un DMP actif.")  # the DMP says F
    assert "Vous avez une autorisation d'accès valide." in panel.summary_label.text()
    assert panel.authorization_value.text() == "valide"
    assert panel.treating_value.text().startswith("oui")
    assert panel.minor_value.text() == "non"
    assert window.connection_label.text() == "● Connecté au DMP"
    assert window.host_label.text() == "Hôte : formation (localhost:8443)"
    ins, purpose, thread = fake_dmp.calls[0]
    assert ins.value == PATIENT_INS and purpose == "normal"
    assert thread is not threading.main_thread()
    assert fake_dmp.factory_threads[0] is not threading.main_thread()
    assert fake_dmp.clients[0].session is fake_cards.sessions[0]


def test_dmp_refusal_and_unreachable_host_in_french(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    log_in(qtbot, window)
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, PATIENT_INS)
    fake_dmp.error = DmpServiceError(
        "DMPAccessDenied",
        "Une secrétaire ne peut pas consulter ce DMP : demandez à un médecin du cabinet.",
    )
    with qtbot.waitSignal(window.dmp_service.statusFailed):
        qtbot.mouseClick(window.workspace.patient_pane.check_button, Qt.MouseButton.LeftButton)
    error = window.workspace.status_panel.error_label
    assert error.text() == (
        "✖ Le DMP a refusé l'accès à ce dossier.\n"
        "Motif donné par le DMP : Une secrétaire ne peut pas consulter ce DMP : demandez à "
        "un médecin du cabinet."
    )
    assert error.property("tone") == "error"

    fake_dmp.error = HostUnreachableError("connexion refusée")
    with qtbot.waitSignal(window.dmp_service.statusFailed):
        window.act_check.trigger()
    assert "Impossible de joindre le DMP" in error.text()
    assert window.connection_label.text() == "✖ DMP injoignable"


def test_slow_check_shows_progress_and_cancel_closes_the_connection(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    log_in(qtbot, window)
    fake_dmp.gate = threading.Event()
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, PATIENT_INS)
    with qtbot.waitSignal(window.runner.progressShown, timeout=3000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
        assert window.workspace.status_panel.busy_label.isVisible()  # feedback at once
    assert window.progress.isVisible()
    assert window.progress.label.text() == "Vérification du DMP du patient…"
    with qtbot.waitSignal(window.dmp_service.busyChanged):
        qtbot.mouseClick(window.progress.cancel_button, Qt.MouseButton.LeftButton)
    assert not window.progress.isVisible()
    qtbot.waitUntil(lambda: fake_dmp.clients[0].closed)
    with qtbot.assertNotEmitted(window.dmp_service.statusReady, wait=100):
        fake_dmp.gate.set()
    assert window.workspace.status_panel.shown_status is None
    assert window.workspace.status_panel.empty_label.isVisible()
    # The next question opens a new connection.
    fake_dmp.gate = None
    with qtbot.waitSignal(window.dmp_service.statusReady):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert len(fake_dmp.clients) == 2


def test_several_cards_let_the_user_choose(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    fake_cards.insert(FakeCard("CPS4-MARTIN", MARTIN, "4321", slot_id=2))
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    screen = window.card_screen
    qtbot.waitUntil(lambda: screen.model.rowCount() == 2)
    assert window.pin_dialog is None
    assert screen.title_label.text() == "Plusieurs cartes sont insérées"
    assert screen.card_list.isVisible()
    screen.card_list.setCurrentIndex(screen.model.index(1, 0))
    assert window.card_service.selected_card is not None
    assert window.card_service.selected_card.token_label == "CPS4-MARTIN"
    assert screen.login_button.isEnabled()
    with qtbot.waitSignal(window.card_service.pinRequested):
        qtbot.mouseClick(screen.login_button, Qt.MouseButton.LeftButton)
    dialog = window.pin_dialog
    assert dialog is not None and dialog.holder_label.text() == "Dr Paul MARTIN · Médecin"


def test_missing_middleware_names_the_path(qtbot: QtBot) -> None:
    settings = Settings(pkcs11_module="/opt/absent/libcps3_pkcs11_lux.so", training_mode=False)
    window = build_app(settings, dmp_factory=FakeDmp().factory)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.card_service.state is CardState.NO_MIDDLEWARE)
    assert window.card_screen.title_label.text() == "Logiciel de la carte CPS introuvable…"
    assert "/opt/absent/libcps3_pkcs11_lux.so" in window.card_screen.detail_label.text()
    assert not window.top_bar.training_badge.isVisible()
    assert window.host_label.text().startswith("Hôte : production")


def test_card_pulled_out_while_the_pin_dialog_is_open(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    wait_pin_dialog(qtbot, window)
    fake_cards.remove(1)
    with qtbot.waitSignal(window.card_service.stateChanged):
        window.card_service.poll_now()
    assert window.card_service.state is CardState.NO_CARD
    assert window.pin_dialog is None
    # Inserted again: the PIN is asked again, without a click.
    fake_cards.insert(FakeCard("CPS3-DURAND", DURAND, "1234"))
    with qtbot.waitSignal(window.card_service.pinRequested):
        window.card_service.poll_now()
    wait_pin_dialog(qtbot, window)


def test_the_top_bar_names_each_card_in_the_readers(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    """A CPS and a secretary's CPE in the readers: the top bar names both kinds (not
    « Carte CPS insérée »); the card logged in is named by its own kind."""
    secretary = Practitioner(
        national_id="3499700433153007/SEC0001",
        family_name="BERNARD",
        given_name="SOPHIE",
        profession="Secrétaire médicale",
    )
    fake_cards.insert(FakeCard("CPE-BERNARD", secretary, "1111", slot_id=2))
    window = make_window(ui_settings(), fake_cards, fake_dmp, poll_interval_ms=100)
    qtbot.waitUntil(lambda: window.card_screen.model.rowCount() == 2)
    label = window.top_bar.state_label
    qtbot.waitUntil(lambda: "2 cartes insérées (1 CPE, 1 CPS)" in label.text())
    assert "non connecté" in label.text()
    fake_cards.insert(FakeCard("CPS4-MARTIN", MARTIN, "4321", slot_id=3))
    qtbot.waitUntil(lambda: "3 cartes insérées (1 CPE, 2 CPS)" in label.text())
    fake_cards.remove(1)
    fake_cards.remove(3)
    qtbot.waitUntil(lambda: label.text() == "Carte CPE insérée · non connecté")
    log_in(qtbot, window, "1111")  # the only card left asks for its PIN at once
    qtbot.waitUntil(lambda: label.text() == "✔ Carte CPE connectée")
