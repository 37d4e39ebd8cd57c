"""One rule, one place: the same scenarios through both doors, their outcomes compared.

Each scenario runs through the ``dmp`` command (a subprocess, the SoftHSM card,
``--pin-stdin``) and through the real window (its services, the same card
logged in on the card screen), against the same training host over real mutual
TLS, with the same local data folder: what one door remembers (the patient's
objection, a pending upload), the other sees. The outcomes compared:

- the emergency reason: missing, too short, long enough, for the bris de glace
  and the centre 15 — refused by both with the same sentence, or accepted by
  both with the same purpose and reason in the host's traces;
- who may open an emergency access (blocked, already authorised);
- the host's own refusal reason (a patient who opposed the centre 15);
- the patient's objection, recorded by either door, refused by both;
- pending uploads: only their author's card sees or discards them;
- « my previous VSM »: each door's VSM replaces the other's, one version chain;
- the record's life: a closure reason too short refused by both with the same
  sentence (nothing sent), a DMP closed by one door reactivated by the other;
- what the DMP's answer means for the card (TD0.2): the same sentence in the status
  panel and ``dmp status`` — the secretary is told she may feed, not read.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.dmp_status import DmpState
from dmp_desktop.domain.document import DocumentStatus
from dmp_desktop.domain.summary import summary_to_json
from dmp_desktop.services.consultation import PaneState
from dmp_desktop.settings import Settings, save_settings
from dmp_desktop.smartcard import CardManager
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.record_panel import CloseRecordDialog
from dmp_desktop.usecases.upload import Visibility, birthplace_from_ins
from dmp_sandbox.demo import DemoPatient, demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.store import DocumentRecord
from dmp_sandbox.training import TrainingEnv
from tests.support.cda_samples import minimal_summary
from tests.ui.conftest import log_in, real_window
from tests.ui.test_upload_support import wait_file_read
from tests.unit.test_alimentation_support import identity

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p for p in demo_patients()}
LEA = PATIENTS["actif-autorise"]  # Dr Durand authorised, médecin traitant
JULIEN = PATIENTS["actif-sans-autorisation"]  # no authorisation for Dr Durand
FAURE = PATIENTS["autorisation-expiree"]  # expired; opposed the centre 15
GIRARD = PATIENTS["bloque"]  # blocked Dr Durand
EMMA = PATIENTS["mineur"]  # a minor, Dr Durand authorised
DURAND = ("CPS3-DURAND", "1234")
MARTIN = ("CPS4-MARTIN", "4321")
SECRETARY = ("CPE-BERNARD", "1111")  # the practice's secretary (structure staff card)
REGULATOR = ("CPS3-REGULATEUR", "1515")  # the training SAMU-Centre 15's regulating physician
# Who may ask for each emergency purpose (the host keeps the centre 15 to a regulator).
EMERGENCY_CARD = {"bris_de_glace": DURAND, "centre_15": REGULATOR}
TIMEOUT = 20000
REASON = "Patient inconscient aux urgences, antécédents inconnus"
PDF = b"%PDF-1.4\n% cross-door\n%%EOF\n"
VISIBLE = ("--not-masked", "--visible-patient", "--visible-legal-reps")


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@dataclasses.dataclass
class Doors:
    """The two doors on one host and one local data folder."""

    training_env: TrainingEnv
    host: RunningHost
    data_dir: Path
    config: Path
    qtbot: QtBot
    card_manager: CardManager

    # -- the command line ---------------------------------------------------------------
    def cli(
        self, *args: str, card: tuple[str, str] = DURAND, config: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "dmp_desktop", "cli", *args]
        command += ["--card", card[0], "--pin-stdin"]
        return subprocess.run(
            command,
            input=card[1] + "\n",
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "DMP_DESKTOP_CONFIG": str(config or self.config),
                "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            },
            timeout=90,
            check=False,
        )

    def unreachable_config(self) -> Path:
        """The same settings and data folder, with a DMP address nothing answers at."""
        closed = socket.create_server(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        path = self.data_dir.parent / f"unreachable-{port}.json"
        save_settings(self.settings(f"https://localhost:{port}"), path)
        return path

    def settings(self, url: str | None = None) -> Settings:
        return dataclasses.replace(
            self.training_env.client_settings(),
            host_url=url or self.host.url,
            data_dir=str(self.data_dir),
        )

    # -- the window ---------------------------------------------------------------------
    def window(self, card: tuple[str, str] = DURAND) -> MainWindow:
        window = real_window(
            self.qtbot,
            self.training_env,
            self.host.url,
            self.card_manager,
            data_dir=self.data_dir,
            size=(1400, 900),
        )
        log_in(self.qtbot, window, card[0], card[1])
        return window

    def check(self, window: MainWindow, patient: DemoPatient) -> None:
        window.consultation.close_patient()
        edit = window.workspace.patient_pane.ins_edit
        edit.setText("")
        self.qtbot.keyClicks(edit, patient.ins.value)
        with self.qtbot.waitSignal(window.dmp_service.statusReady, timeout=TIMEOUT):
            self.qtbot.keyClick(edit, Qt.Key.Key_Return)


@pytest.fixture
def doors(
    qtbot: QtBot,
    training_env: TrainingEnv,
    host: RunningHost,
    card_manager: CardManager,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Doors]:
    # Both doors must find the same local key: the training key file of the data folder
    # (no system keyring), whatever keyring an earlier test of this process set.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    data = tmp_path / "data"
    data.mkdir()
    made = Doors(training_env, host, data, tmp_path / "settings.json", qtbot, card_manager)
    save_settings(made.settings(), made.config)
    yield made
    keyring.set_keyring(previous)


def last_consultation(host: RunningHost, after: int, ins: str) -> tuple[str | None, str | None]:
    found = [
        t
        for t in host.store.traces(after_id=after)
        if t.transaction == "TD3.1" and t.patient_ins == ins
    ]
    assert found, "no TD3.1 reached the host"
    return found[-1].purpose, found[-1].reason


# -- the emergency reason ---------------------------------------------------------------------
@pytest.mark.parametrize("purpose", ["bris_de_glace", "centre_15"])
def test_the_emergency_reason_is_one_rule_in_both_doors(doors: Doors, purpose: str) -> None:
    card = EMERGENCY_CARD[purpose]
    window = doors.window(card)
    for reason in ("", "court", REASON):
        option = ("--reason", reason) if reason else ()
        before = doors.host.store.last_trace_id()
        cli = doors.cli(
            "list", "--ins", JULIEN.ins.value, "--emergency", purpose, *option, card=card
        )
        cli_trace = None
        if cli.returncode == 0:
            cli_trace = last_consultation(doors.host, before, JULIEN.ins.value)

        doors.check(window, JULIEN)
        consultation = window.consultation
        assert consultation.state is PaneState.ASK_CONSENT
        before = doors.host.store.last_trace_id()
        if cli.returncode == 0:  # accepted by the command: the window must list the same way
            with doors.qtbot.waitSignal(consultation.documentsReady, timeout=TIMEOUT):
                assert consultation.start_emergency_access(purpose, reason) is None, reason
            window_trace = last_consultation(doors.host, before, JULIEN.ins.value)
            assert window_trace == cli_trace == (purpose, reason)
        else:  # refused by the command (usage): the window refuses with the same sentence
            assert cli.returncode == 2, (reason, cli.stderr)
            assert consultation.start_emergency_access(purpose, reason) == cli.stderr.strip()
            assert consultation.state is PaneState.ASK_CONSENT
            assert doors.host.store.traces(after_id=before) == []  # nothing sent
    assert cli.returncode == 0  # the long enough reason went through both doors


def test_who_may_open_an_emergency_access_is_one_rule(doors: Doors) -> None:
    window = doors.window()
    for patient, state in ((GIRARD, PaneState.BLOCKED), (LEA, PaneState.DOCUMENTS)):
        cli = doors.cli(
            "list", "--ins", patient.ins.value, "--emergency", "bris_de_glace", "--reason", REASON
        )
        doors.check(window, patient)
        doors.qtbot.waitUntil(lambda s=state: window.consultation.state is s, timeout=TIMEOUT)
        refused = window.consultation.start_emergency_access("bris_de_glace", REASON)
        assert refused is not None
        assert cli.returncode == 1 and cli.stderr.strip() == refused
        assert not window.act_emergency.isEnabled()  # not even offered in the window


@pytest.mark.parametrize(
    ("card", "patient", "words"),
    [
        (DURAND, JULIEN, "régulation"),  # the centre 15 is a regulating physician's access
        (REGULATOR, FAURE, "opposé"),  # this patient opposed the centre 15
    ],
)
def test_the_hosts_refusal_reason_is_shown_by_both(
    doors: Doors, card: tuple[str, str], patient: DemoPatient, words: str
) -> None:
    cli = doors.cli(
        "list",
        "--ins",
        patient.ins.value,
        "--emergency",
        "centre_15",
        "--reason",
        REASON,
        card=card,
    )
    assert cli.returncode == 1
    window = doors.window(card)
    doors.check(window, patient)
    with doors.qtbot.waitSignal(window.consultation.documentsFailed, timeout=TIMEOUT) as failed:
        assert window.consultation.start_emergency_access("centre_15", REASON) is None
    shown = failed.args[0]
    assert "Motif donné par le DMP" in shown and words in shown  # the host's own words
    assert cli.stderr.rstrip().endswith(shown)  # after the banner: the very same message


# -- what the DMP's answer means for this card -------------------------------------------------
@pytest.mark.parametrize(
    ("card", "patient"),
    [
        (SECRETARY, JULIEN),  # feeds the record, never reads it: no consent to ask for
        (DURAND, JULIEN),  # no authorisation: asks for the consent
        (DURAND, GIRARD),  # blocked, a woman: « La patiente vous a bloqué »
    ],
)
def test_the_status_sentence_is_one_rule_in_both_doors(
    doors: Doors, card: tuple[str, str], patient: DemoPatient
) -> None:
    cli = doors.cli("status", "--ins", patient.ins.value, card=card)
    assert cli.returncode == 0, cli.stderr
    told = cli.stdout.splitlines()[0]
    window = doors.window(card)
    doors.check(window, patient)
    shown = window.workspace.status_panel.summary_label.text()
    assert shown.endswith(told), (shown, told)  # the window adds its tone's symbol only
    assert ("consentement" in told) == (card is DURAND and patient is JULIEN)


# -- the patient's objection ----------------------------------------------------------------------
def upload_args(path: Path, patient: DemoPatient) -> tuple[str, ...]:
    return (
        "upload",
        str(path),
        "--ins",
        patient.ins.value,
        "--type",
        "11488-4",
        *VISIBLE,
        "--birth-name",
        patient.family_name.upper(),
        "--given-names",
        patient.given_name.upper(),
        "--birth-date",
        patient.birth_date.isoformat(),
        "--sex",
        patient.gender,
        "--birthplace",
        birthplace_from_ins(patient.ins) or "99100",
    )


def window_refusal(doors: Doors, window: MainWindow, path: Path) -> str:
    """Drop ``path`` on the window: the warning it shows instead of the upload dialog."""
    actions = window.alimentation
    assert actions.upload_path(path)
    wait_file_read(window)
    assert actions.upload_dialog is None
    box = actions.message_box
    assert box is not None
    text = box.text()
    box.close()
    return text


def test_an_objection_recorded_in_the_window_is_refused_by_the_command(
    doors: Doors, tmp_path: Path
) -> None:
    path = tmp_path / "resultats.pdf"
    path.write_bytes(PDF + b"% window objection\n")
    window = doors.window()
    doors.check(window, LEA)
    actions = window.alimentation
    assert actions.upload_path(path)
    wait_file_read(window)
    dialog = actions.upload_dialog
    assert dialog is not None
    with doors.qtbot.waitSignal(actions.service.objectionRecorded, timeout=TIMEOUT):
        dialog.objection_button.click()
    in_window = window_refusal(doors, window, path)
    before = doors.host.store.last_trace_id()
    cli = doors.cli(*upload_args(path, LEA))
    assert cli.returncode == 1
    assert cli.stderr.strip() == in_window
    # Not even the card was needed: nothing of the command reached the host (the window,
    # still open on Léa, may list her documents again meanwhile: TD3.1 is its own).
    from_the_command = [
        t.transaction for t in doors.host.store.traces(after_id=before) if t.transaction != "TD3.1"
    ]
    assert from_the_command == []


def test_an_objection_recorded_by_the_command_is_refused_by_the_window(
    doors: Doors, tmp_path: Path
) -> None:
    path = tmp_path / "courrier.pdf"
    path.write_bytes(PDF + b"% cli objection\n")
    # A pending upload (the DMP could not be reached), withdrawn: the patient objects.
    pending = doors.cli(*upload_args(path, LEA), config=doors.unreachable_config())
    assert pending.returncode == 4, pending.stderr
    (item,) = json.loads(doors.cli("outbox", "--json").stdout)
    withdrawn = doors.cli("outbox", "--object", item["id"])
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert json.loads(doors.cli("outbox", "--json").stdout) == []
    cli = doors.cli(*upload_args(path, LEA))
    assert cli.returncode == 1

    window = doors.window()
    doors.check(window, LEA)
    assert window_refusal(doors, window, path) == cli.stderr.strip()


# -- pending uploads ------------------------------------------------------------------------------
def test_pending_uploads_belong_to_their_authors_card_in_both_doors(
    doors: Doors, tmp_path: Path
) -> None:
    path = tmp_path / "ordonnance.pdf"
    path.write_bytes(PDF + b"% pending\n")
    pending = doors.cli(*upload_args(path, LEA), config=doors.unreachable_config())
    assert pending.returncode == 4
    mine = json.loads(doors.cli("outbox", "--json").stdout)
    assert [i["title"] for i in mine] and len(mine) == 1
    item_id = mine[0]["id"]

    # Dr Martin's card: nothing listed, nothing discarded, in either door.
    assert json.loads(doors.cli("outbox", "--json", card=MARTIN).stdout) == []
    refused = doors.cli("outbox", "--discard", item_id, card=MARTIN)
    assert refused.returncode == 1 and "autre professionnel" in refused.stderr
    martin = doors.window(MARTIN)
    service = martin.alimentation.service
    doors.qtbot.waitUntil(lambda: service.practitioner is not None, timeout=TIMEOUT)
    with doors.qtbot.waitSignal(service.outboxChanged, timeout=TIMEOUT) as changed:
        service.reload_outbox()
    assert changed.args[0] == [] and service.items == []
    martin.close()

    # Dr Durand's card: the same item in both doors; discarded, it is gone from both.
    durand = doors.window()
    service = durand.alimentation.service
    doors.qtbot.waitUntil(lambda: [i.id for i in service.items] == [item_id], timeout=TIMEOUT)
    assert service.items[0].title == mine[0]["title"]
    discarded = doors.cli("outbox", "--discard", item_id)
    assert discarded.returncode == 0
    assert "envoyé" not in discarded.stderr  # never sent: nothing to check in the DMP
    with doors.qtbot.waitSignal(service.outboxChanged, timeout=TIMEOUT):
        service.reload_outbox()
    assert service.items == []


# -- « my previous VSM » ------------------------------------------------------------------------
def vsm_record(host: RunningHost, unique_id: str) -> tuple[str, str | None, int | None]:
    """Status, CDA set id and version number, as the host stored them."""
    with host.store.session() as session:
        record = session.query(DocumentRecord).filter_by(unique_id=unique_id).one()
        return record.status, record.set_id, record.cda_version


def test_each_doors_vsm_replaces_the_others(doors: Doors, tmp_path: Path) -> None:
    summary = minimal_summary()
    summary.patient = identity(
        LEA.ins,
        birth_family_name=LEA.family_name.upper(),
        birth_given_names=[LEA.given_name.upper()],
        birthplace_code=birthplace_from_ins(LEA.ins),
    )
    source = tmp_path / "summary.json"
    source.write_text(summary_to_json(summary), encoding="utf-8")

    def cli_send() -> str:
        sent = doors.cli(
            "vsm", "send", "--from", str(source), "--ins", LEA.ins.value, *VISIBLE, "--json"
        )
        assert sent.returncode == 0, sent.stderr
        return str(json.loads(sent.stdout)["unique_id"])

    first = cli_send()
    window = doors.window()
    doors.check(window, LEA)
    service = window.alimentation.service
    with doors.qtbot.waitSignal(service.uploadSucceeded, timeout=TIMEOUT) as done:
        assert service.send_vsm(summary.patient, summary, Visibility(False, False, False))
    second = done.args[1].unique_id
    third = cli_send()

    chain = [vsm_record(doors.host, uid) for uid in (first, second, third)]
    deprecated, approved = DocumentStatus.DEPRECATED.value, DocumentStatus.APPROVED.value
    assert [status for status, _, _ in chain] == [deprecated, deprecated, approved]
    assert len({set_id for _, set_id, _ in chain}) == 1  # one set, whichever door wrote it
    versions = [version or 0 for _, _, version in chain]  # Léa's demo VSM by Dr Durand first
    assert versions[0] >= 2 and versions == [versions[0], versions[0] + 1, versions[0] + 2]


# -- the record's life -----------------------------------------------------------------------------
def test_the_records_life_is_one_rule_in_both_doors(doors: Doors) -> None:
    short = "  ab   c "  # 8 characters typed, « ab c » once the spaces are collapsed
    before = doors.host.store.last_trace_id()
    cli = doors.cli("close", "--ins", EMMA.ins.value, "--motif", short)
    assert cli.returncode == 2, cli.stderr
    window = doors.window()
    doors.check(window, EMMA)
    status = window.consultation.status
    assert status is not None and status.state is DmpState.ACTIVE
    dialog = CloseRecordDialog(EMMA.ins, "Emma CHEVALIER", window)
    dialog.reason_edit.setText(short)
    assert not dialog.acceptable() and not dialog.close_button.isEnabled()
    dialog.reason_edit.setText("Demande de la famille")
    assert dialog.acceptable()
    dialog.close()
    service = window.record.service
    with doors.qtbot.waitSignal(service.failed, timeout=TIMEOUT) as failed:
        assert service.close(status, reason_text=short)
    assert failed.args == ["close", cli.stderr.strip()]  # the same sentence
    sent = {t.transaction for t in doors.host.store.traces(after_id=before)}
    assert "TD1.4" not in sent  # nothing closed by either door

    closed = doors.cli("close", "--ins", EMMA.ins.value, "--motif", "Demande de la famille")
    assert closed.returncode == 0, closed.stderr
    doors.check(window, EMMA)
    doors.qtbot.waitUntil(
        lambda: (
            window.consultation.status is not None
            and window.consultation.status.state is DmpState.CLOSED
        ),
        timeout=TIMEOUT,
    )
    rules = window.record.rules()
    assert rules["reactivate"] is None and rules["close"] is not None
    with doors.qtbot.waitSignal(service.reactivated, timeout=TIMEOUT):
        assert service.reactivate(window.consultation.status)
    again = doors.cli("reactivate", "--ins", EMMA.ins.value)
    assert again.returncode == 0 and "déjà actif" in again.stdout, again.stderr
