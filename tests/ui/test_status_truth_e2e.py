"""The window says what is true now, on the real card and the training host (real mutual TLS).

* the period filter says that older documents were not searched, and one key
  (Ctrl+Shift+T) shows them all — Léa's 2024 operative report among them; back to
  2 years, it says exactly how many it hides, from what the window holds (no search);
* « Documents synchronisés à … » belongs to the patient on screen: marked when a
  refresh fails, gone when another patient is shown;
* the doctor's own just-sent document is not « nouveau » for him;
* an upload while the host is down says that nothing was sent, and the outbox
  sends it by itself when the host answers again — once, never twice (an answer
  lost on the way back is resumed by looking the document up by its unique id first).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from dmp_desktop.alimentation import OutboxState
from dmp_desktop.domain.document import DocumentEntry
from dmp_desktop.services.card_service import CardBackend
from dmp_desktop.ui.documents_model import Column
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.usecases.consultation import Period
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.faults import HTTP_503_UNAVAILABLE, HostFaults, When
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.store import DocumentRecord
from dmp_sandbox.training import TrainingEnv
from tests.support.cda_samples import minimal_pdf
from tests.ui.conftest import demo_db_copy, log_in, real_window
from tests.ui.test_upload_support import answer, choose_type, drop_files, write

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p for p in demo_patients()}
LEA = PATIENTS["actif-autorise"]
TIMEOUT = 20000


@pytest.fixture(scope="module")
def faults() -> HostFaults:
    return HostFaults()


@pytest.fixture(scope="module")
def host_db(tmp_path_factory: pytest.TempPathFactory, seeded_demo_db: Path) -> str:
    return demo_db_copy(seeded_demo_db, tmp_path_factory.mktemp("status-truth-host") / "host.db")


@pytest.fixture(scope="module")
def training_host(
    training_env: TrainingEnv, host_db: str, faults: HostFaults
) -> Iterator[RunningHost]:
    with run_in_thread(training_env, host_db, faults=faults) as host:
        yield host


@pytest.fixture
def window(
    qtbot: QtBot,
    training_env: TrainingEnv,
    training_host: RunningHost,
    real_card_manager: CardBackend,
    faults: HostFaults,
    tmp_path: Path,
) -> Iterator[MainWindow]:
    faults.clear()
    yield real_window(
        qtbot,
        training_env,
        training_host.url,
        real_card_manager,
        data_dir=tmp_path,
        size=(1280, 800),
    )
    faults.clear()


def show_patient(qtbot: QtBot, window: MainWindow, key: str, *, listed: bool = True) -> None:
    edit = window.workspace.patient_pane.ins_edit
    edit.setText("")
    qtbot.keyClicks(edit, PATIENTS[key].ins.value)
    signal = window.consultation.documentsReady if listed else window.dmp_service.statusReady
    with qtbot.waitSignal(signal, timeout=TIMEOUT):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    page = window.workspace.documents_pane.list_page
    qtbot.waitUntil(lambda: not page.filling, timeout=TIMEOUT)


def titles(window: MainWindow) -> list[str]:
    proxy = window.workspace.documents_pane.list_page.proxy
    out = []
    for row in range(proxy.rowCount()):
        entry = proxy.entry_at(proxy.index(row, 0))
        assert entry is not None
        out.append(entry.title)
    return out


def registry_searches(host: RunningHost, after: int) -> int:
    """TD3.1 searches the host traced since trace ``after`` (each is an access the patient sees)."""
    return sum(1 for t in host.store.traces(after_id=after) if t.transaction == "TD3.1")


def test_the_period_says_what_it_hides_and_one_key_shows_it(
    qtbot: QtBot, window: MainWindow, training_host: RunningHost
) -> None:
    log_in(qtbot, window)
    before_search = training_host.store.last_trace_id()
    show_patient(qtbot, window, "actif-autorise")
    # One search, bounded to 2 years: nothing asked in the background about older ones.
    assert registry_searches(training_host, before_search) == 1
    page = window.workspace.documents_pane.list_page
    listing = window.consultation.documents
    assert listing is not None and listing.loaded_scope.period is Period.TWO_YEARS
    before = titles(window)
    assert "Compte rendu opératoire (appendicectomie)" not in before  # her 2024 report
    assert page.older_box.isVisible()
    assert page.older_label.text() == (  # not counted: that would be a search of its own
        "Les documents de plus de 2 ans n'ont pas été recherchés : Ctrl+Shift+T pour "
        "toutes les périodes."
    )

    widened = training_host.store.last_trace_id()
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        qtbot.keyClick(
            page.table,
            Qt.Key.Key_T,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    qtbot.waitUntil(lambda: not page.filling, timeout=TIMEOUT)
    assert registry_searches(training_host, widened) == 1  # the doctor's key: one search
    after = titles(window)
    assert len(after) > len(before)
    assert "Compte rendu opératoire (appendicectomie)" in after
    assert page.period_combo.currentData() is Period.ALL
    assert not page.older_box.isVisible()

    # Back to 2 years: filtered from what the window holds, no search, and now the window
    # knows exactly how many older documents the period hides.
    back = training_host.store.last_trace_id()
    page.period_combo.setCurrentIndex(page.period_combo.findData(Period.TWO_YEARS))
    qtbot.waitUntil(lambda: titles(window) == before, timeout=TIMEOUT)
    assert len(after) - len(before) == 1  # her 2024 operative report
    assert page.older_box.isVisible()
    assert page.older_label.text() == (
        "1 document plus ancien n'est pas affiché : Ctrl+Shift+T pour toutes les périodes."
    )
    assert page.older_button.isVisible()
    assert registry_searches(training_host, back) == 0
    # The key widens again from memory, still without a search.
    qtbot.keyClick(
        page.table,
        Qt.Key.Key_T,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: len(titles(window)) == len(after), timeout=TIMEOUT)
    assert not page.older_box.isVisible()
    assert registry_searches(training_host, back) == 0


def test_the_sync_line_belongs_to_the_patient_on_screen(
    qtbot: QtBot, window: MainWindow, faults: HostFaults
) -> None:
    log_in(qtbot, window)
    show_patient(qtbot, window, "actif-autorise")
    sync = window.sync_label
    assert sync.text().startswith("Documents synchronisés à ")
    synced = sync.text().removeprefix("Documents synchronisés à ")

    # F5 while the registry fails: the list stays, the line says it is not refreshed.
    faults.inject(HTTP_503_UNAVAILABLE, service="registry", times=None)
    with qtbot.waitSignal(window.consultation.documentsFailed, timeout=TIMEOUT):
        window.act_refresh.trigger()
    assert sync.text() == f"Liste du DMP de {synced}, non actualisée"
    assert "Documents synchronisés" not in sync.text()
    faults.clear()

    # Another patient (the consent question, no list): nothing synchronised is claimed.
    show_patient(qtbot, window, "actif-sans-autorisation", listed=False)
    qtbot.waitUntil(lambda: window.workspace.documents_pane.consent_page.isVisible())
    assert sync.text() == ""
    # Back to Léa: her own line again.
    show_patient(qtbot, window, "actif-autorise")
    assert sync.text().startswith("Documents synchronisés à ")


def send_upload(qtbot: QtBot, window: MainWindow, tmp_path: Path, name: str) -> None:
    pdf = minimal_pdf(f"Compte rendu ({name})")
    assert drop_files(window, write(tmp_path, f"{name}.pdf", pdf))
    dialog = window.alimentation.upload_dialog
    assert dialog is not None
    # Léa is a woman to the DMP: the dialog's words agree.
    assert dialog.objection_button.text() == "La patiente s'&oppose à l'envoi"
    assert "cette patiente est majeure" in " ".join(
        label.text() for label in dialog.findChildren(QLabel)
    )
    choose_type(qtbot, dialog, "consultation")
    answer(dialog, False, False, False)
    dialog.send_button.click()


def host_copies(host: RunningHost, unique_id: str) -> int:
    """How many documents the host holds with this unique id (whatever the client shows)."""
    with host.store.session() as session:
        return len(
            session.scalars(
                select(DocumentRecord).where(DocumentRecord.unique_id == unique_id)
            ).all()
        )


def listed(window: MainWindow, unique_id: str) -> DocumentEntry | None:
    page = window.workspace.documents_pane.list_page
    return page.proxy.entry_at(page.proxy.index_of(unique_id))


def test_my_own_new_document_is_not_news_to_me(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    log_in(qtbot, window)
    show_patient(qtbot, window, "actif-autorise")
    service = window.alimentation.service
    with qtbot.waitSignal(service.uploadSucceeded, timeout=TIMEOUT) as sent:
        send_upload(qtbot, window, tmp_path, "own")
    entry = sent.args[1]
    qtbot.waitUntil(lambda: listed(window, entry.unique_id) is not None, timeout=TIMEOUT)
    listing = window.consultation.documents
    assert listing is not None and listing.changes is not None
    assert entry.unique_id in listing.changes.added  # the refresh did see it arrive
    assert entry.unique_id not in listing.new_ids
    page = window.workspace.documents_pane.list_page
    index = page.proxy.index_of(entry.unique_id)
    mark = page.proxy.index(index.row(), int(Column.NEW)).data()
    assert not mark  # no « ● » on the doctor's own document
    assert not page.new_label.isVisible() or "1 nouveau" not in page.new_label.text()


def test_an_upload_while_the_host_is_down_waits_and_goes_by_itself(
    qtbot: QtBot,
    window: MainWindow,
    training_env: TrainingEnv,
    training_host: RunningHost,
    host_db: str,
    faults: HostFaults,
    tmp_path: Path,
) -> None:
    log_in(qtbot, window)
    show_patient(qtbot, window, "actif-autorise")
    service = window.alimentation.service
    service.set_resume_interval(300)
    failures: list[str] = []
    service.uploadFailed.connect(lambda _item, message: failures.append(message))
    tries: list[frozenset[str]] = []  # each send of the outbox item starting (then ending)
    service.sendingChanged.connect(lambda sending: tries.append(frozenset(sending)))

    # 1. The host is down: nothing was sent, and the doctor is told so plainly.
    training_host.stop()
    try:
        with qtbot.waitSignal(service.uploadFailed, timeout=TIMEOUT):
            send_upload(qtbot, window, tmp_path, "offline")
        message = failures[0]
        assert "Rien n'a été envoyé" in message
        assert "interrompue pendant" not in message
        assert "partira de lui-même" in message
        qtbot.waitUntil(  # the outbox is read again off the UI thread
            lambda: [i.state for i in service.items] == [OutboxState.PENDING], timeout=TIMEOUT
        )  # never « sent, unconfirmed »: nothing left
        (item,) = service.items
        assert item.id in service.waiting_for_host
        # Two silent tries more, each started and ended: the doctor is told once only.
        told = len(tries)
        qtbot.waitUntil(
            lambda: sum(1 for t in tries[told:] if item.id in t) >= 2 and not tries[-1],
            timeout=TIMEOUT,
        )
        assert len(failures) == 1
    finally:
        # 2. The host answers again (same address, same records): the outbox goes by itself.
        again = run_in_thread(training_env, host_db, port=training_host.port, faults=faults)
    try:
        with qtbot.waitSignal(service.uploadSucceeded, timeout=TIMEOUT) as sent:
            pass
        entry = sent.args[1]
        assert entry.unique_id == item.unique_id
        qtbot.waitUntil(lambda: not service.items, timeout=TIMEOUT)
        assert service.waiting_for_host == frozenset()
        assert host_copies(again, item.unique_id) == 1

        # 3. An answer lost on the way back: resumed by itself, found by its unique id.
        faults.inject(HTTP_503_UNAVAILABLE, when=When.AFTER, service="repository", times=1)
        failures.clear()
        with qtbot.waitSignal(service.uploadSucceeded, timeout=TIMEOUT) as lost:
            send_upload(qtbot, window, tmp_path, "lost-answer")
        assert any("La reprise se fera d'elle-même" in m for m in failures)
        lost_entry = lost.args[1]
        qtbot.waitUntil(lambda: listed(window, lost_entry.unique_id) is not None, timeout=TIMEOUT)
        assert [h.when for h in faults.hits] == [When.AFTER]  # stored, its answer lost
        assert host_copies(again, lost_entry.unique_id) == 1  # resumed: looked up, not resent
    finally:
        again.stop()
