"""« Données administratives »: identity read-only, contacts checked as typed, saving and the
patient's online access through operations off the UI thread, French errors, minors and
closed records. The DMP client is a fake (its wire is tested against the training host in
tests/host/test_admin_data_*.py and tests/e2e/test_cli_admin_data.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.admin_data import (
    AdministrativeData,
    LegalRepresentativeContact,
    OnlineAccessCredentials,
    PostalAddress,
)
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.errors import DmpServiceError
from dmp_desktop.services.operations import Operation, OperationRunner
from dmp_desktop.ui.admin_data_dialog import AdminDataDialog, open_admin_data_dialog
from tests.ui.conftest import visible_texts

LEA = Ins("207058575627097", InsKind.TEST_NIR)
DATA = AdministrativeData(
    ins=LEA,
    family_name="MOREAU",
    given_name="LÉA",
    gender="F",
    birth_date=dt.date(2007, 5, 25),
    address=PostalAddress(("12 rue des Lilas",), "75011", "Paris"),
)


class FakeClient:
    """What the dialog asks of DmpClient; records the calls and their thread."""

    def __init__(self, data: AdministrativeData) -> None:
        self.data = data
        self.calls: list[tuple[str, Any]] = []
        self.threads: set[str] = set()
        self.fail: DmpServiceError | None = None

    def _called(self, name: str, arg: Any) -> None:
        self.threads.add(threading.current_thread().name)
        self.calls.append((name, arg))
        if self.fail is not None:
            raise self.fail

    def get_admin_data(self, ins: Ins) -> AdministrativeData:
        self._called("get", ins)
        return self.data

    def update_admin_data(self, data: AdministrativeData) -> None:
        self._called("update", data)
        self.data = data

    def create_online_access(self, ins: Ins, kind: str, value: str) -> OnlineAccessCredentials:
        self._called("create", (kind, value))
        return OnlineAccessCredentials("abcd1234", "Xy7!pQ2z")

    def update_otp_channel(
        self, ins: Ins, kind: str, value: str, action: str
    ) -> OnlineAccessCredentials:
        self._called("otp", (kind, value, action))
        return OnlineAccessCredentials(None)

    def renew_online_access(self, ins: Ins) -> OnlineAccessCredentials:
        self._called("renew", ins)
        return OnlineAccessCredentials("abcd1234", "Nw9=kL3m")


class Caller:
    """``DmpService.call`` without a card session: the work runs on a real OperationRunner."""

    def __init__(self, runner: OperationRunner, client: FakeClient) -> None:
        self.runner = runner
        self.client = client

    def call(
        self,
        label: str,
        work: Callable[[Any], Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[BaseException], None],
    ) -> Operation[Any]:
        return self.runner.run(Operation(label, lambda: work(self.client), on_success, on_failure))


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[OperationRunner]:
    runner = OperationRunner()
    yield runner
    runner.shutdown(wait=True)


def open_dialog(
    qtbot: QtBot, runner: OperationRunner, data: AdministrativeData, **kwargs: Any
) -> tuple[AdminDataDialog, FakeClient]:
    client = FakeClient(data)
    dialog = open_admin_data_dialog(None, Caller(runner, client), LEA, **kwargs)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.data is not None and not dialog.busy)
    return dialog, client


def test_identity_read_only_contacts_checked_and_saved(
    qtbot: QtBot, runner: OperationRunner
) -> None:
    dialog, client = open_dialog(qtbot, runner, DATA)
    assert dialog.windowTitle() == "Données administratives"
    assert dialog.family_edit.text() == "MOREAU" and dialog.family_edit.isReadOnly()
    assert dialog.given_edit.isReadOnly() and dialog.birth_edit.text() == "25/05/2007"
    assert dialog.city_edit.text() == "Paris" and not dialog.mobile_edit.isReadOnly()
    assert "qu'avec un professionnel de santé" in dialog.online_help.text()
    assert not dialog.create_button.isEnabled()

    dialog.mobile_edit.setText("01 23 45 67 89")
    assert not dialog.save_button.isEnabled()
    assert "mobile" in dialog.contact_feedback.text()
    assert dialog.mobile_edit.property("invalid") and "06" in dialog.mobile_edit.toolTip()
    dialog.mobile_edit.setText("06 12 34 56 78")
    assert not dialog.mobile_edit.property("invalid") and dialog.mobile_edit.toolTip() == ""
    dialog.email_edit.setText("lea@")
    assert not dialog.save_button.isEnabled() and "électronique" in dialog.contact_feedback.text()
    dialog.email_edit.setText("lea@exemple.fr")
    dialog.centre_15_box.setChecked(True)
    assert dialog.save_button.isEnabled() and dialog.contact_feedback.text() == ""
    assert "SMS ou par courriel" in dialog.online_help.text()

    qtbot.mouseClick(dialog.save_button, qtbot_button())
    qtbot.waitUntil(lambda: "enregistrées" in dialog.status_label.text())
    name, sent = client.calls[-1]
    assert name == "update"
    assert (sent.mobile, sent.email, sent.opposition_centre_15) == (
        "0612345678",
        "lea@exemple.fr",
        True,
    )
    assert sent.family_name == "MOREAU"  # unchanged identity
    assert threading.main_thread().name not in client.threads


def qtbot_button() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_online_access_created_channel_added_and_errors_in_french(
    qtbot: QtBot, runner: OperationRunner
) -> None:
    dialog, client = open_dialog(qtbot, runner, dataclasses.replace(DATA, mobile="0612345678"))
    assert dialog.channel_edit.text() == "0612345678" and dialog.create_button.isEnabled()
    qtbot.mouseClick(dialog.create_button, qtbot_button())
    qtbot.waitUntil(lambda: "abcd1234" in dialog.credentials_label.text())
    assert "Xy7!pQ2z" in dialog.credentials_label.text()
    assert client.calls[-1] == ("create", ("SMS", "0612345678"))

    dialog.channel_combo.setCurrentIndex(1)
    dialog.channel_edit.setText("lea@exemple.fr")
    qtbot.mouseClick(dialog.add_channel_button, qtbot_button())
    qtbot.waitUntil(lambda: "Canal ajouté" in dialog.status_label.text())
    assert client.calls[-1] == ("otp", ("EMAIL", "lea@exemple.fr", "AJOUT"))

    client.fail = DmpServiceError("DMPPatientAccessExists", "")
    qtbot.mouseClick(dialog.create_button, qtbot_button())
    qtbot.waitUntil(lambda: "déjà un accès en ligne" in dialog.status_label.text())
    client.fail = None
    qtbot.mouseClick(dialog.renew_button, qtbot_button())
    qtbot.waitUntil(lambda: "Nw9=kL3m" in dialog.credentials_label.text())
    dialog.close()
    assert dialog.credentials_label.text() == ""


def test_minor_and_closed_record(qtbot: QtBot, runner: OperationRunner) -> None:
    minor = dataclasses.replace(
        DATA,
        legal_representatives=(
            LegalRepresentativeContact("CHEVALIER", "Marc", mobile="0611223344"),
        ),
    )
    dialog, client = open_dialog(qtbot, runner, minor, minor=True)
    assert "Patient mineur" in dialog.online_help.text()
    assert not dialog.create_button.isEnabled() and not dialog.renew_button.isEnabled()
    assert dialog.mobile_edit.text() == "0611223344"  # the legal representative's
    assert any("représentant légal" in t for t in visible_texts(dialog))
    dialog.email_edit.setText("parent@exemple.fr")
    qtbot.mouseClick(dialog.save_button, qtbot_button())
    qtbot.waitUntil(lambda: client.calls[-1][0] == "update" and not dialog.busy)
    sent = client.calls[-1][1]
    assert (sent.mobile, sent.email) == (None, None)
    assert sent.legal_representatives[0].email == "parent@exemple.fr"
    dialog.close()

    closed, _ = open_dialog(qtbot, runner, dataclasses.replace(DATA, status="terminated"))
    assert "fermé" in closed.status_label.text()
    assert closed.mobile_edit.isReadOnly() and not closed.save_button.isEnabled()
    assert not closed.create_button.isEnabled()
