"""The outbox in the window: a refused upload waits, visible in the status bar and the
"Envois en attente" panel; "Reprendre" never sends twice (the DMP is asked first);
"Abandonner" asks first; progress after half a second with "Annuler"; after a removed
card the next login shows what was left; another professional never sees it."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from dmp_desktop.alimentation import OutboxItem, OutboxState, UploadRequest, type_code
from dmp_desktop.domain.summary import Gender, PatientIdentity
from dmp_desktop.errors import DmpServiceError, TimeoutError_
from dmp_desktop.settings import Settings
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.outbox_panel import OutboxModel, OutboxPanel, OutboxProxy, pending_text
from dmp_desktop.ui.style import Tone
from tests.ui.conftest import WindowFactory, visible_texts
from tests.ui.consultation_fakes import AUTHORISED
from tests.ui.fakes import MARTIN, FakeCard, FakeCardManager
from tests.ui.test_upload_support import (
    PDF,
    AlimentationDmp,
    alimentation_settings,
    answer,
    choose_type,
    drop_files,
    log_in,
    ready_window,
    write,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return alimentation_settings(tmp_path)


@pytest.fixture
def dmp(settings: Settings) -> AlimentationDmp:
    return AlimentationDmp(settings)


def send_one(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, name: str = "cr.pdf", *, wait: bool = True
) -> None:
    drop_files(window, write(tmp_path, name, PDF + name.encode()))
    dialog = window.alimentation.upload_dialog
    assert dialog is not None
    choose_type(qtbot, dialog, "11488")
    answer(dialog, False, False, False)
    service = window.alimentation.service
    if wait:
        with qtbot.waitSignal(service.uploadFailed, timeout=5000):
            dialog.send_button.click()
        qtbot.waitUntil(
            lambda: len(service.items) == 1 and service.items[0].attempts == 1, timeout=5000
        )
        qtbot.waitUntil(window.alimentation.indicator.isVisible, timeout=5000)
    else:
        dialog.send_button.click()


def open_panel(window: MainWindow) -> OutboxPanel:
    window.alimentation.indicator.click()
    panel = window.alimentation.panel
    assert panel is not None and panel.isVisible()
    return panel


def test_a_refused_upload_waits_and_is_resumed(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    dmp.upload_error = DmpServiceError("DMPAccessDenied")
    send_one(qtbot, window, tmp_path)
    indicator = window.alimentation.indicator
    assert indicator.isVisible() and pending_text(1) in indicator.text()
    notice = window.workspace.documents_pane.list_page.notice_label.text()
    assert "n'a pas été enregistré" in notice and "envois en attente" in notice

    panel = open_panel(window)
    assert panel.model.rowCount() == 1
    row = [panel.proxy.index(0, c).data() for c in range(panel.proxy.columnCount())]
    assert row[1] == "LEGRAND Jeanne"
    assert row[2].startswith("CR ou fiche de consultation")
    assert row[4] == "en attente (dernier essai refusé)"
    assert "Reprendre" in panel.detail.text()
    assert panel.resume_button.isEnabled()

    dmp.upload_error = None
    service = window.alimentation.service
    with qtbot.waitSignal(service.uploadSucceeded, timeout=5000):
        panel.resume_button.click()
    qtbot.waitUntil(lambda: service.items == [] and panel.empty_label.isVisible(), timeout=5000)
    assert not indicator.isVisible()
    assert "a été reçu par le DMP" in panel.notice.text()
    assert len(dmp.uploads) == 1
    qtbot.waitUntil(lambda: window.workspace.documents_pane.list_page.current_entry() is not None)


def test_a_notice_never_hides_what_waits(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    """The status bar hides its normal widgets while it shows a notice: the outbox's
    indicator is not one of them, whatever the order the failure's notice and the outbox's
    reload arrive in (under load the reload can come first)."""
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    dmp.upload_error = DmpServiceError("DMPAccessDenied")
    send_one(qtbot, window, tmp_path)
    indicator = window.alimentation.indicator
    window.alimentation.notify(Tone.ERROR, "« cr.pdf » n'a pas été enregistré")
    assert window.statusBar().currentMessage()  # the notice is shown…
    assert indicator.isVisible()  # …and what waits stays in sight


def test_the_indicator_sits_left_of_the_hosts_name_without_a_qt_warning(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
    qtlog: object,
) -> None:
    """The outbox indicator is a permanent status-bar widget put left of the host's name,
    the way Qt takes it (no « insertPermanentWidget: Index out of range » at start)."""
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    dmp.upload_error = DmpServiceError("DMPAccessDenied")
    send_one(qtbot, window, tmp_path)
    indicator, host = window.alimentation.indicator, window.host_label
    assert indicator.isVisible() and host.isVisible()
    assert indicator.geometry().right() < host.geometry().left()
    messages = [m.message for m in qtlog.records]  # type: ignore[attr-defined]
    assert not [m for m in messages if "insertPermanentWidget" in m], messages


def test_a_lost_answer_is_never_sent_twice(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    dmp.lose_answer = True  # stored, then the connection drops
    send_one(qtbot, window, tmp_path)
    service = window.alimentation.service
    assert service.items[0].state is OutboxState.SENT_UNCONFIRMED
    panel = open_panel(window)
    assert panel.proxy.index(0, 4).data() == "envoyé, réception non confirmée"
    assert "n'a pas pu être confirmé" in (service.last_error(service.items[0].id) or "")

    with qtbot.waitSignal(service.uploadSucceeded, timeout=5000):
        panel.resume_button.click()
    assert len(dmp.uploads) == 1  # found by its unique id: not sent again
    assert dmp.lookups[-1] == dmp.uploads[0].document.unique_id
    qtbot.waitUntil(lambda: service.items == [], timeout=5000)


def test_abandon_asks_first_and_names_the_document(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    dmp.upload_error = DmpServiceError("DMPAccessDenied")
    send_one(qtbot, window, tmp_path)
    panel = open_panel(window)
    box = panel.ask_discard()
    assert box is not None
    assert "Abandonner l'envoi de « CR ou fiche de consultation" in box.text()
    assert "LEGRAND Jeanne" in box.text()
    keep = next(b for b in box.buttons() if b.text() == "&Garder")
    assert box.defaultButton() is keep
    keep.click()
    assert len(window.alimentation.service.items) == 1

    box = panel.ask_discard()
    assert box is not None
    discard = next(b for b in box.buttons() if b.text() == "&Abandonner l'envoi")
    service = window.alimentation.service
    discard.click()
    qtbot.waitUntil(lambda: service.items == [], timeout=10000)
    qtbot.waitUntil(lambda: not window.alimentation.indicator.isVisible(), timeout=5000)
    assert not window.alimentation.indicator.isVisible()
    assert "retiré des envois en attente" in panel.notice.text()
    assert len(list((Path(settings.data_dir or "") / "outbox").glob("outbox-*"))) == 0


def test_the_patient_objects_to_a_waiting_upload(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    """« Le patient s'oppose… » in the panel (as ``dmp outbox --object``): asked first, then
    the objection recorded, the upload gone, and that file refused from now on."""
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    dmp.upload_error = DmpServiceError("DMPAccessDenied")
    send_one(qtbot, window, tmp_path, "bilan.pdf")
    service = window.alimentation.service
    panel = open_panel(window)
    assert panel.withdraw_button.isEnabled()
    box = panel.ask_withdraw()
    assert box is not None
    assert "s'oppose à l'envoi de « CR ou fiche de consultation" in box.text()
    assert "LEGRAND Jeanne" in box.text()
    keep = next(b for b in box.buttons() if b.text() == "&Garder l'envoi")
    assert box.defaultButton() is keep  # Entrée keeps the upload
    keep.click()
    assert len(service.items) == 1

    box = panel.ask_withdraw()
    assert box is not None
    record = next(b for b in box.buttons() if b.text() == "&Enregistrer l'opposition")
    with qtbot.waitSignal(service.objectionRecorded, timeout=5000):
        record.click()
    while service.items:  # the outbox is read again after the change (a read under way first)
        with qtbot.waitSignal(service.outboxChanged, timeout=5000):
            pass
    assert service.items == [] and panel.empty_label.isVisible()
    assert "Opposition du patient enregistrée" in panel.notice.text()
    assert dmp.uploads == []
    panel.close()

    # The same file dropped again: refused, saying why (the objection is kept).
    drop_files(window, tmp_path / "bilan.pdf")
    assert window.alimentation.upload_dialog is None
    refusal = window.alimentation.message_box
    assert refusal is not None
    assert "Le patient s'est opposé à l'envoi de ce document" in refusal.text()
    refusal.close()


def test_progress_after_half_a_second_and_cancel_keeps_it_in_the_outbox(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    gate = threading.Event()
    dmp.upload_gate = gate
    service = window.alimentation.service
    with qtbot.waitSignal(window.runner.progressShown, timeout=5000) as shown:
        send_one(qtbot, window, tmp_path, wait=False)
    op = shown.args[0]
    assert op.label == "Envoi du document au DMP"
    assert window.progress.isVisible() and window.progress.cancel_button.isVisible()
    # In the outbox already, before the DMP answers.
    qtbot.waitUntil(lambda: len(service.items) == 1, timeout=5000)
    assert window.alimentation.indicator.isVisible()
    assert "envoi en cours" in window.alimentation.indicator.text()

    dmp.upload_error = TimeoutError_()  # the connection closed under the request
    with qtbot.waitSignal(service.uploadFailed, timeout=5000) as failed:
        window.progress.cancel_button.click()
    assert "Envoi interrompu" in failed.args[1]
    gate.set()
    qtbot.waitUntil(
        lambda: bool(service.items) and service.items[0].state is OutboxState.SENT_UNCONFIRMED,
        timeout=5000,
    )
    assert dmp.uploads == []

    # The card is pulled out: nothing of the patient stays, the upload stays on disk.
    panel = open_panel(window)
    with qtbot.waitSignal(window.card_service.sessionEnded, timeout=5000):
        fake_cards.remove(1)
        window.card_service.poll_now()
    assert not panel.isVisible() and panel.model.rowCount() == 0
    assert not window.alimentation.indicator.isVisible()
    texts = "\n".join(visible_texts(window))
    assert "LEGRAND" not in texts and "CR ou fiche de consultation" not in texts
    assert len(list((Path(settings.data_dir or "") / "outbox").glob("outbox-*"))) == 1


def test_the_next_login_shows_what_was_left(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    durand_card: FakeCard,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    dmp.lose_answer = True
    send_one(qtbot, window, tmp_path)
    dmp.uploads.clear()
    dmp.remove(AUTHORISED, window.alimentation.service.items[0].unique_id)  # never arrived
    with qtbot.waitSignal(window.card_service.sessionEnded, timeout=5000):
        fake_cards.remove(1)
        window.card_service.poll_now()
    assert window.alimentation.panel is None or not window.alimentation.panel.isVisible()

    fake_cards.insert(durand_card)
    window.card_service.poll_now()
    service = window.alimentation.service
    with qtbot.waitSignal(service.pendingAtLogin, timeout=5000):
        log_in(qtbot, window)
    panel = window.alimentation.panel
    assert panel is not None and panel.isVisible()
    assert panel.model.rowCount() == 1
    assert panel.proxy.index(0, 4).data() == "envoyé, réception non confirmée"
    assert "Reprendre" in panel.detail.text()
    with qtbot.waitSignal(service.uploadSucceeded, timeout=5000):
        panel.resume_button.click()
    assert len(dmp.uploads) == 1  # asked first (not found), then sent once
    assert dmp.lookups


def test_another_professional_never_sees_my_outbox(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    dmp.upload_error = DmpServiceError("DMPAccessDenied")
    send_one(qtbot, window, tmp_path)
    with qtbot.waitSignal(window.card_service.sessionEnded, timeout=5000):
        fake_cards.remove(1)
        window.card_service.poll_now()
    fake_cards.insert(FakeCard("CPS4-MARTIN", MARTIN, "4321"))
    window.card_service.poll_now()
    service = window.alimentation.service
    with qtbot.waitSignal(service.outboxChanged, timeout=5000) as changed:
        log_in(qtbot, window, "4321")
    assert changed.args[0] == []
    assert not window.alimentation.indicator.isVisible()
    panel = window.alimentation.show_outbox()
    assert panel is not None and panel.model.rowCount() == 0
    assert panel.empty_label.isVisible()


# -- the model ---------------------------------------------------------------------------
def _item(n: int, state: OutboxState = OutboxState.PENDING) -> OutboxItem:
    ins = AUTHORISED
    identity = PatientIdentity(ins, "LEGRAND", ["JEANNE"], date(1984, 5, 12), Gender.FEMALE)
    when = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=n)
    req = UploadRequest(
        patient=ins,
        source=PDF,
        filename=f"{n}.pdf",
        media_type=None,
        type_code=type_code("11488-4"),
        service_date=date(2026, 3, 1),
        title=f"Document {n}",
        masked=False,
        invisible_patient=False,
        invisible_legal_reps=False,
        identity=identity,
    )
    return OutboxItem(f"id{n}", state, req, f"1.2.3.{n}", when, when, attempts=n % 2)


def test_outbox_model_passes_the_model_tester(qtbot: QtBot, qtmodeltester: ModelTester) -> None:
    model = OutboxModel()
    model.set_items([_item(3), _item(1, OutboxState.SENT_UNCONFIRMED), _item(2)])
    qtmodeltester.check(model, force_py=True)
    model.set_sending(frozenset({"id2"}))
    model.set_items([_item(4)])
    model.clear()


def test_outbox_proxy_sorts_and_passes_the_model_tester(
    qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    model = OutboxModel()
    model.set_items([_item(3), _item(1, OutboxState.SENT_UNCONFIRMED), _item(2)])
    proxy = OutboxProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)
    assert [proxy.index(r, 2).data() for r in range(3)] == [
        "Document 1",
        "Document 2",
        "Document 3",
    ]
    model.set_sending(frozenset({"id2"}))
    assert proxy.index(1, 4).data() == "envoi en cours…"
    assert proxy.index(0, 4).data() == "envoyé, réception non confirmée"
    assert proxy.index(2, 4).data() == "en attente (dernier essai refusé)"
    proxy.sort(2, Qt.SortOrder.DescendingOrder)
    assert proxy.index(0, 2).data() == "Document 3"
    model.clear()
    assert proxy.rowCount() == 0


def test_pending_text_counts_in_french() -> None:
    assert pending_text(1) == "1 envoi en attente"
    assert pending_text(3) == "3 envois en attente"
