"""« Situation d'exercice » : which of the card's practices the professional acts for today.

A CPS card can hold several practice situations (``CPS_ACTIVITY_nn_PS``: a
practice, a health centre, a hospital…); the DMP wants the structure of the
one in use. Shown after the PIN when the card holds several and the settings
do not name one of them; the choice is remembered (settings ``structure_id``)
and offered first next time.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.cda import valuesets
from dmp_desktop.smartcard.card_data import PracticeSituation
from dmp_desktop.ui.style import make_primary


def situation_text(situation: PracticeSituation) -> str:
    sector = valuesets.FACILITY_TYPES.get(situation.activity_sector or "", "")
    name = situation.structure_name or situation.structure_id
    extra = f" — {sector}" if sector else ""
    return f"{name} ({situation.structure_id}){extra}"


class SituationDialog(QDialog):
    """Lists the situations; ``chosen`` gives the structure id, or None when declined."""

    chosen = Signal(object)  # str | None

    def __init__(
        self,
        situations: tuple[PracticeSituation, ...],
        preferred: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Situation d'exercice"))
        self.setModal(True)
        self.setMinimumWidth(520)
        self._answered = False
        intro = QLabel(
            self.tr(
                "Votre carte CPS comporte plusieurs situations d'exercice. "
                "Choisissez celle où vous exercez aujourd'hui : le DMP enregistre vos "
                "accès et vos documents au nom de cette structure."
            ),
            self,
        )
        intro.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setObjectName("situationList")
        self.list.setAccessibleName(self.tr("Situations d'exercice de la carte"))
        intro.setBuddy(self.list)
        for situation in situations:
            item = QListWidgetItem(situation_text(situation), self.list)
            item.setData(Qt.ItemDataRole.UserRole, situation.structure_id)
        preferred_row = next(
            (i for i, s in enumerate(situations) if s.structure_id == preferred), 0
        )
        self.list.setCurrentRow(preferred_row)
        self.list.itemActivated.connect(lambda _item: self.accept())
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(self.tr("&Choisir"))
        make_primary(ok)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Annuler"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.list.setFocus()

    def selected_structure(self) -> str | None:
        item = self.list.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def done(self, result: int) -> None:
        if not self._answered:
            self._answered = True
            accepted = result == QDialog.DialogCode.Accepted
            self.chosen.emit(self.selected_structure() if accepted else None)
        super().done(result)
