"""The card list is a well-behaved Qt item model (pytest-qt's model tester)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from dmp_desktop.ui.card_model import CardListModel, CardRole
from tests.ui.fakes import DURAND, MARTIN, FakeCard


def test_card_model(qtmodeltester: ModelTester) -> None:
    model = CardListModel()
    locked = FakeCard("CPS4-MARTIN", MARTIN, "4321", tries=0, slot_id=2).info()
    durand = FakeCard("CPS3-DURAND", DURAND, "1234").info()
    model.set_cards([durand, locked])
    qtmodeltester.check(model, force_py=True)
    assert model.data(model.index(0, 0)) == "Dr Marie DURAND · Médecin — CPS3-DURAND"
    assert model.data(model.index(1, 0)).endswith("— bloquée")
    assert model.data(model.index(1, 0), CardRole) == locked
    assert "Lecteur de test 2" in model.data(model.index(1, 0), Qt.ItemDataRole.ToolTipRole)
    assert model.row_of(locked) == 1
    model.set_cards([])
    qtmodeltester.check(model, force_py=True)
