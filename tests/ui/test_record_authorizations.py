"""The authorisations list (TD1.6) as a Qt model: checked by pytest-qt's model tester,
the médecin traitant first and marked, blocked professionals flagged, sorting and
filtering by the proxy; the dialog's block / unblock follow the médecin traitant's rules."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from dmp_desktop.dmp.td16 import PatientAuthorization
from dmp_desktop.ui.authorizations_model import (
    ENTRY_ROLE,
    AccessFilter,
    AuthorizationsModel,
    AuthorizationsProxy,
    Column,
)
from dmp_desktop.ui.record_panel import AuthorizationsDialog
from dmp_sandbox.demo import demo_ins

LEA = demo_ins("2070585756270")
DURAND = PatientAuthorization(
    "899700433153",
    "DURAND",
    "MARIE",
    "VALIDE",
    treating_physician=True,
    specialty_labels=("Médecine générale",),
    start=dt.datetime(2025, 1, 10, 9, 30),
)
MARTIN = PatientAuthorization(
    "899700433160", "MARTIN", "PAUL", "VALIDE", start=dt.datetime(2026, 3, 2, 14, 0)
)
BERNARD = PatientAuthorization(
    "899700433177", "BERNARD", "ALAIN", "INTERDIT", start=dt.datetime(2024, 6, 1)
)
ITEMS = [BERNARD, MARTIN, DURAND]


def names(proxy: AuthorizationsProxy) -> list[str]:
    return [proxy.data(proxy.index(row, int(Column.NAME))) for row in range(proxy.rowCount())]


def test_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = AuthorizationsModel()
    model.set_items(ITEMS)
    qtmodeltester.check(model, force_py=True)
    model.set_items([MARTIN])
    model.clear()
    assert model.rowCount() == 0


def test_proxy_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = AuthorizationsModel()
    model.set_items(ITEMS)
    proxy = AuthorizationsProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)
    proxy.set_access(AccessFilter.BLOCKED)
    proxy.sort(int(Column.SINCE), Qt.SortOrder.DescendingOrder)
    proxy.set_text("zzz")
    model.set_items([MARTIN, DURAND])


def test_treating_physician_first_and_marked_blocked_flagged() -> None:
    model = AuthorizationsModel()
    model.set_items(ITEMS)
    rows = [
        [model.data(model.index(r, c)) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]
    assert rows == [
        ["DURAND Marie", "Médecine générale", "Autorisé", "★ Médecin traitant", "10/01/2025"],
        ["MARTIN Paul", "—", "Autorisé", "", "02/03/2026"],
        ["BERNARD Alain", "—", "Bloqué par le patient", "", "01/06/2024"],
    ]
    first = model.index(0, int(Column.NAME))
    assert model.data(first, Qt.ItemDataRole.FontRole).bold()
    assert "médecin traitant DMP" in model.data(first, Qt.ItemDataRole.ToolTipRole)
    blocked = model.index(2, int(Column.ACCESS))
    assert model.data(blocked, Qt.ItemDataRole.ForegroundRole) is not None
    assert "même en urgence" in model.data(blocked, Qt.ItemDataRole.ToolTipRole)
    assert model.data(first, ENTRY_ROLE) is DURAND
    assert model.headerData(int(Column.TREATING), Qt.Orientation.Horizontal) == (
        "Médecin traitant DMP"
    )


def test_proxy_sorts_and_filters() -> None:
    model = AuthorizationsModel()
    model.set_items(ITEMS)
    proxy = AuthorizationsProxy()
    proxy.setSourceModel(model)
    proxy.sort(int(Column.SINCE), Qt.SortOrder.AscendingOrder)
    assert names(proxy) == ["BERNARD Alain", "DURAND Marie", "MARTIN Paul"]
    proxy.sort(int(Column.NAME), Qt.SortOrder.AscendingOrder)
    assert names(proxy) == ["BERNARD Alain", "DURAND Marie", "MARTIN Paul"]
    proxy.set_access(AccessFilter.BLOCKED)
    assert names(proxy) == ["BERNARD Alain"]
    proxy.set_access(AccessFilter.AUTHORISED)
    proxy.set_text("mart")
    assert names(proxy) == ["MARTIN Paul"]
    proxy.set_text("899700433153")
    assert names(proxy) == ["DURAND Marie"]
    assert proxy.entry_at(proxy.index(0, 0)) is DURAND


def select(dialog: AuthorizationsDialog, national_id: str) -> None:
    row = dialog.model.row_of(national_id)
    dialog.table.setCurrentIndex(dialog.proxy.mapFromSource(dialog.model.index(row, 0)))


def test_only_the_treating_physician_may_block(qtbot: QtBot) -> None:
    other = AuthorizationsDialog(LEA, "MOREAU Léa", treating=False)
    qtbot.addWidget(other)
    other.set_items(ITEMS)
    select(other, MARTIN.national_id)
    assert not other.block_button.isEnabled()
    assert "Seul le médecin traitant DMP" in other.block_button.toolTip()

    dialog = AuthorizationsDialog(LEA, "MOREAU Léa", treating=True)
    qtbot.addWidget(dialog)
    assert "MOREAU Léa" in dialog.windowTitle()
    dialog.set_items(ITEMS)
    assert "3 professionnel(s)" in dialog.notice.text()
    select(dialog, DURAND.national_id)
    assert not dialog.block_button.isEnabled()
    assert dialog.block_button.toolTip() == "Le médecin traitant DMP ne peut pas être bloqué."
    select(dialog, MARTIN.national_id)
    assert dialog.block_button.isEnabled() and not dialog.unblock_button.isEnabled()
    with qtbot.waitSignal(dialog.blockRequested) as asked:
        dialog.block_button.click()
    assert asked.args == [MARTIN, True]
    select(dialog, BERNARD.national_id)
    assert dialog.unblock_button.isEnabled() and not dialog.block_button.isEnabled()
    with qtbot.waitSignal(dialog.blockRequested) as asked:
        dialog.unblock_button.click()
    assert asked.args == [BERNARD, False]
    dialog.show_error("Le DMP a refusé l'accès à ce dossier.")
    assert "refusé" in dialog.notice.text()
