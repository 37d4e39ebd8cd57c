"""Privacy: a whole session leaves no health data in the logs nor in any plain file.

The real window, the SoftHSM card (PIN typed), the training host over real
mutual TLS, the root logger at DEBUG into a file: consultation of Moreau Léa
(status, list, two documents opened), emergency access to Faure Bernard's
DMP with its reason, an upload through the window's alimentation service,
a medical summary (VSM) draft typed in the editor. Afterwards:

- the log file holds no INS, no patient name or birth date, no PIN, no
  document title or content, no VIHF (``saml2:Assertion``, the emergency
  reason of ``Motif_Acces_Urgence``);
- every file written under the data folder, the settings folder and the
  temporary folder is either encrypted (the SecureStore format) or free of
  all of the above, and no file name reveals a patient.

The crash handler, installed as the application installs it, shows and logs
no health data either (for the main thread and for worker threads).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from dmp_actors.demo_documents import demo_documents
from dmp_desktop import app as app_module
from dmp_desktop.alimentation import UploadRequest
from dmp_desktop.alimentation import type_code as j07
from dmp_desktop.app import build_app
from dmp_desktop.domain.summary import Gender, PatientIdentity
from dmp_desktop.settings import Settings, save_settings
from dmp_desktop.smartcard import CardManager
from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p for p in demo_patients()}
LEA, FAURE = PATIENTS["actif-autorise"], PATIENTS["autorisation-expiree"]
PIN = "1234"
REASON = "Patiente inconsciente aux urgences, antecedents cardiaques"
UPLOAD_TITLE = "Compte rendu confidentiel de consultation"
UPLOAD_PHRASE = b"Hypertension arterielle decouverte ce jour"
DRAFT_TEXT = "Chutes repetees la nuit"
TIMEOUT = 20000
ENCRYPTED_MAGIC = b"DMPD1"  # dmp_desktop.storage.secure
# Files a session may write in plain text on purpose: not patient data.
# The vocabularies (public code lists) in SQLite, with its write-ahead files while open;
# their content is checked for health data like every other file.
PLAIN_ALLOWED = {
    "local-storage.key",
    "settings.json",
    "terminology.sqlite",
    "terminology.sqlite-wal",
    "terminology.sqlite-shm",
}


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@dataclasses.dataclass
class Places:
    data: Path
    config: Path
    temp: Path
    log: Path


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Places:
    """Every place the software may write to, inside the test's folder."""
    found = Places(tmp_path / "data", tmp_path / "config", tmp_path / "tmp", tmp_path / "log.txt")
    for folder in (found.data, found.config, found.temp):
        folder.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(found.data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(found.config))
    monkeypatch.setenv("XDG_CACHE_HOME", str(found.temp))
    monkeypatch.setenv("DMP_DESKTOP_CONFIG", str(found.config / "dmp-desktop" / "settings.json"))
    monkeypatch.setenv("TMPDIR", str(found.temp))
    monkeypatch.setattr(tempfile, "tempdir", str(found.temp))
    return found


@pytest.fixture
def debug_log(places: Places) -> Iterator[Path]:
    """The root logger at DEBUG, into a file, for the whole test."""
    handler = logging.FileHandler(places.log, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield places.log
    root.removeHandler(handler)
    root.setLevel(previous)
    handler.close()


def secrets() -> list[re.Pattern[bytes]]:
    """What must never appear: identities, PIN, document texts, VIHF."""
    words: list[str] = [REASON, UPLOAD_TITLE, DRAFT_TEXT, UPLOAD_PHRASE.decode()]
    for patient in (LEA, FAURE):
        words += [patient.ins.value, patient.ins.value[:13]]
        words += [patient.birth_date.isoformat(), f"{patient.birth_date:%d/%m/%Y}"]
        words += [f"{patient.birth_date:%Y%m%d}"]
    for key in ("actif-autorise", "autorisation-expiree"):
        for document in demo_documents()[key]:
            words.append(document.title)
            words += [line for line in document.lines if len(line) > 25]
    patterns = [re.compile(re.escape(w.encode("utf-8")), re.IGNORECASE) for w in words]
    for name in (LEA.family_name, LEA.given_name, FAURE.family_name, FAURE.given_name):
        for spelling in {name, name.upper(), "LEA" if name == "Léa" else name}:
            patterns.append(
                re.compile(rb"(?<![A-Za-z])" + re.escape(spelling.encode()) + rb"(?![A-Za-z])")
            )
    patterns.append(re.compile(rb"(?<![0-9A-Za-z])" + PIN.encode() + rb"(?![0-9A-Za-z])"))
    for vihf in (b"saml2:Assertion", b"<saml2:", b"Motif_Acces_Urgence", b"AttributeStatement"):
        patterns.append(re.compile(re.escape(vihf)))
    return patterns


def leaks(data: bytes) -> list[str]:
    return [p.pattern.decode("utf-8", "replace") for p in secrets() if p.search(data)]


def written_files(places: Places) -> list[Path]:
    return sorted(
        p
        for root in (places.data, places.config, places.temp)
        for p in root.rglob("*")
        if p.is_file()
    )


# --- the session --------------------------------------------------------------------------------


def log_in(qtbot: QtBot, window: MainWindow) -> None:
    screen = window.card_screen
    qtbot.waitUntil(lambda: screen.model.rowCount() >= 1)
    rows = range(screen.model.rowCount())
    row = next(r for r in rows if "CPS3-DURAND" in screen.model.data(screen.model.index(r, 0)))
    screen.card_list.setCurrentIndex(screen.model.index(row, 0))
    with qtbot.waitSignal(window.card_service.pinRequested, timeout=10000):
        qtbot.keyClick(screen.card_list, Qt.Key.Key_Return)
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, PIN)
    with qtbot.waitSignal(window.card_service.loggedIn, timeout=10000):
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)


def check(qtbot: QtBot, window: MainWindow, ins: str) -> None:
    edit = window.workspace.patient_pane.ins_edit
    edit.clear()
    qtbot.keyClicks(edit, ins)
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=TIMEOUT):
        qtbot.keyClick(edit, Qt.Key.Key_Return)


def open_row(qtbot: QtBot, window: MainWindow, row: int) -> None:
    view = window.workspace.documents_pane.table
    view.setFocus()
    view.selectRow(row)
    with qtbot.waitSignal(window.consultation.documentReady, timeout=TIMEOUT):
        qtbot.keyClick(view, Qt.Key.Key_Return)


def upload_request() -> UploadRequest:
    pdf = b"%PDF-1.4\n% " + UPLOAD_PHRASE + b"\n" + b"% " + b"x" * 2000 + b"\n%%EOF\n"
    return UploadRequest(
        patient=LEA.ins,
        source=pdf,
        filename="compte-rendu-moreau.pdf",
        media_type=None,
        type_code=j07("11488-4"),
        service_date=dt.date.today(),
        title=UPLOAD_TITLE,
        masked=False,
        invisible_patient=False,
        invisible_legal_reps=False,
        identity=PatientIdentity(
            ins=LEA.ins,
            birth_family_name=LEA.family_name.upper(),
            birth_given_names=[LEA.given_name.upper()],
            birth_date=LEA.birth_date,
            gender=Gender.FEMALE,
            birthplace_code="85756",
        ),
    )


def test_a_whole_session_leaves_no_health_data_behind(
    qtbot: QtBot,
    training_env: TrainingEnv,
    host: RunningHost,
    card_manager: CardManager,
    places: Places,
    debug_log: Path,
) -> None:
    for sample in (LEA.ins.value, "MOREAU", "Léa", PIN, REASON, "<saml2:Assertion ID="):
        assert leaks(f"x {sample} y".encode()), sample  # the detector is not blind
    assert leaks(b"release 2026-11-25 12:34 port 41234 please") == []  # nor trigger-happy
    settings: Settings = dataclasses.replace(
        training_env.client_settings(), host_url=host.url, data_dir=""
    )
    save_settings(settings)  # where the application keeps them ($DMP_DESKTOP_CONFIG)
    window = build_app(settings, card_manager=card_manager)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    log_in(qtbot, window)

    # Consultation: Léa's status, her documents, two of them opened.
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        check(qtbot, window, LEA.ins.value)
    open_row(qtbot, window, 0)
    open_row(qtbot, window, 1)

    # Upload through the window's own service (outbox, XAdES on the card, ITI-41).
    service = window.alimentation.service
    with qtbot.waitSignal(service.uploadSucceeded, timeout=TIMEOUT):
        assert service.submit(upload_request())

    # The medical summary: a draft typed in the editor, saved (encrypted) on disk.
    window.vsm.autosave_ms = 50
    qtbot.keyClick(
        window,
        Qt.Key.Key_S,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    editor = window.vsm.editor
    assert editor is not None and editor.autosaver is not None
    qtbot.waitUntil(lambda: not editor.fetching, timeout=TIMEOUT)
    entry = editor.sections["vigilance_points"].add_entry()
    with qtbot.waitSignal(editor.autosaver.saved, timeout=TIMEOUT):
        qtbot.keyClicks(entry.first_field(), DRAFT_TEXT)

    # Emergency access to Faure Bernard's DMP, with its reason (it travels in the VIHF).
    check(qtbot, window, FAURE.ins.value)
    window.act_emergency.trigger()
    dialog = window.workspace.emergency_dialog
    assert dialog is not None
    dialog.break_glass.click()
    dialog.reason_edit.setPlainText(REASON)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        dialog.ok_button.click()
    open_row(qtbot, window, 0)

    with qtbot.waitSignal(window.card_service.sessionEnded):
        window.act_logout.trigger()
    window.close()

    logged = debug_log.read_bytes()
    assert b"TD3.2" in logged and b"DEBUG" in logged  # the log did capture the session
    assert leaks(logged) == []
    files = written_files(places)
    assert any(p.read_bytes().startswith(ENCRYPTED_MAGIC) for p in files)  # drafts, outbox...
    for path in files:
        name = path.relative_to(places.data.parent).as_posix()
        assert leaks(name.encode()) == [], name
        data = path.read_bytes()
        if data.startswith(ENCRYPTED_MAGIC):
            continue
        assert path.name in PLAIN_ALLOWED or (path.suffix == ".tmp" and not data), name
        assert leaks(data) == [], name


# --- the crash handler --------------------------------------------------------------------------


def test_the_installed_crash_handler_shows_and_logs_no_health_data(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    app_module.install_crash_handler()
    caplog.set_level(logging.DEBUG)
    secret = f"patient {LEA.family_name} {LEA.ins.value} né le {LEA.birth_date}"
    try:
        raise ValueError(secret)
    except ValueError:
        exc_type, exc, tb = sys.exc_info()
    assert exc_type is not None and exc is not None
    sys.excepthook(exc_type, exc, tb)  # the main thread's path
    box = app_module._crash_box
    assert isinstance(box, QMessageBox)
    try:
        qtbot.waitUntil(box.isVisible)
        shown = " ".join((box.windowTitle(), box.text(), box.informativeText(), box.detailedText()))
        assert leaks(shown.encode()) == []
    finally:
        box.done(0)
    threading.excepthook(  # a worker thread's path
        threading.ExceptHookArgs((exc_type, exc, tb, threading.current_thread()))
    )
    logged = caplog.text.encode()
    assert b"ValueError" in logged and leaks(logged) == []
    assert LEA.ins.value not in caplog.text and secret not in caplog.text
