"""Uploads waiting for the DMP: the status-bar indicator and the "Envois en attente" panel.

Every upload goes to the encrypted outbox before it is sent, and stays there
until the DMP confirmed it. The indicator ("2 envois en attente") shows how
many are left; the panel lists them — pending, or sent without confirmation
(the connection dropped, the card was pulled out, the application stopped) —
with "Reprendre" (sent again only after the DMP was asked whether it already
has the document) and "Abandonner" (after a confirmation naming the document).

The parapheur: with a doctor's card, the uploads the secretariat prepared for
him are announced in the status bar (:class:`ToSignBanner`, « 2 envois
préparés par le secrétariat attendent votre signature ») and listed at the top
of the panel for review, with « Signer » (his card signs them all at once; the
secretariat's session sends them) and « Signer et envoyer ».
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.alimentation import OutboxItem, OutboxState
from dmp_desktop.dates import fr_date, fr_time
from dmp_desktop.services.alimentation import (
    AlimentationService,
    item_patient_text,
    item_state_text,
    to_sign_text,
)
from dmp_desktop.ui.confirm import open_confirmation
from dmp_desktop.ui.style import Tone, make_primary, scaled_font, set_tone

AnyIndex = QModelIndex | QPersistentModelIndex
ItemRole = int(Qt.ItemDataRole.UserRole) + 1
SortRole = int(Qt.ItemDataRole.UserRole) + 2


def _tr(text: str) -> str:
    return QCoreApplication.translate("OutboxPanel", text)


def pending_text(count: int) -> str:
    if count == 1:
        return _tr("1 envoi en attente")
    return _tr("{n} envois en attente").format(n=count)


class OutboxColumn(enum.IntEnum):
    CREATED = 0
    PATIENT = 1
    TITLE = 2
    TYPE = 3
    STATE = 4


_HEADERS = {
    OutboxColumn.CREATED: lambda: _tr("Préparé le"),
    OutboxColumn.PATIENT: lambda: _tr("Patient"),
    OutboxColumn.TITLE: lambda: _tr("Document"),
    OutboxColumn.TYPE: lambda: _tr("Type"),
    OutboxColumn.STATE: lambda: _tr("État"),
}


class OutboxModel(QAbstractTableModel):
    """One row per outbox item."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[OutboxItem] = []
        self._sending: frozenset[str] = frozenset()

    def set_items(self, items: Sequence[OutboxItem]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def set_sending(self, sending: frozenset[str]) -> None:
        self._sending = frozenset(sending)
        if self._items:
            top = self.index(0, int(OutboxColumn.STATE))
            bottom = self.index(len(self._items) - 1, int(OutboxColumn.STATE))
            self.dataChanged.emit(top, bottom)

    def clear(self) -> None:
        self._sending = frozenset()
        self.set_items([])

    @property
    def items(self) -> list[OutboxItem]:
        return list(self._items)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(OutboxColumn)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation is not Qt.Orientation.Horizontal or not 0 <= section < len(OutboxColumn):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return _HEADERS[OutboxColumn(section)]()
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.parent().isValid():
            return None
        row, col = index.row(), index.column()
        if not (0 <= row < len(self._items) and 0 <= col < len(OutboxColumn)):
            return None
        item = self._items[row]
        column = OutboxColumn(col)
        if role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.AccessibleTextRole,
        ):
            return self._text(item, column)
        if role == SortRole:
            if column is OutboxColumn.CREATED:
                return item.created_at.isoformat()
            return self._text(item, column).casefold()
        if role == ItemRole:
            return item
        if role == Qt.ItemDataRole.ForegroundRole and column is OutboxColumn.STATE:
            if item.state is OutboxState.SENT_UNCONFIRMED and item.id not in self._sending:
                return Qt.GlobalColor.darkYellow
        return None

    def _text(self, item: OutboxItem, column: OutboxColumn) -> str:
        if column is OutboxColumn.CREATED:
            return f"{fr_date(item.created_at)} {fr_time(item.created_at)}"
        if column is OutboxColumn.PATIENT:
            return item_patient_text(item)
        if column is OutboxColumn.TITLE:
            return item.title
        if column is OutboxColumn.TYPE:
            return item.type_code.display or item.type_code.code
        return item_state_text(item, item.id in self._sending)


class OutboxProxy(QSortFilterProxyModel):
    """Oldest first by default; sortable on every column."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)
        self.setDynamicSortFilter(True)
        self.sort(int(OutboxColumn.CREATED), Qt.SortOrder.AscendingOrder)

    def item_at(self, index: AnyIndex) -> OutboxItem | None:
        if not index.isValid():
            return None
        value = self.data(index, ItemRole)
        return value if isinstance(value, OutboxItem) else None


class OutboxIndicator(QToolButton):
    """The status-bar button: "2 envois en attente"; hidden when nothing waits."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outboxIndicator")
        self.setAutoRaise(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setStyleSheet(
            "QToolButton#outboxIndicator { color: #6b4200; background: #fff4d6;"
            " border: 1px solid #e8c36a; border-radius: 9px; padding: 1px 10px; }"
        )
        self.count = 0
        self.set_state(0, 0)

    def set_state(self, count: int, sending: int) -> None:
        self.count = count
        if count == 0:
            self.setText("")
            self.hide()
            return
        text = pending_text(count)
        if sending:
            text += " " + _tr("(envoi en cours)")
        self.setText("⇪ " + text)
        self.setToolTip(_tr("Voir les envois en attente : reprendre ou abandonner"))
        self.setAccessibleName(text)
        self.show()


class ToSignBanner(QToolButton):
    """The status-bar button of a doctor's card: what the secretariat prepared for him to
    sign (opens the panel); hidden when nothing waits."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toSignBanner")
        self.setAutoRaise(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setStyleSheet(
            "QToolButton#toSignBanner { color: #4a2377; background: #f1e8fb;"
            " border: 1px solid #c9a9ea; border-radius: 9px; padding: 1px 10px; }"
        )
        self.count = 0
        self.set_count(0)

    def set_count(self, count: int) -> None:
        self.count = count
        if count == 0:
            self.setText("")
            self.hide()
            return
        text = to_sign_text(count)
        self.setText("✍ " + text)
        self.setToolTip(_tr("Relire et signer les envois préparés par le secrétariat"))
        self.setAccessibleName(text)
        self.show()


class OutboxPanel(QDialog):
    """The uploads waiting for the DMP's confirmation, with "Reprendre" and "Abandonner"."""

    def __init__(self, service: AlimentationService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outboxPanel")
        self.setWindowTitle(self.tr("Envois en attente"))
        self.setMinimumSize(760, 360)
        self.service = service
        self.confirm_box: QMessageBox | None = None

        title = QLabel(self.tr("Envois en attente"), self)
        title.setFont(scaled_font(self, 1.25, bold=True))
        explanation = QLabel(
            self.tr(
                "Ces documents n'ont pas encore été confirmés par le DMP. « Reprendre » vérifie "
                "d'abord si le DMP les a déjà reçus : un document n'est jamais envoyé deux fois."
            ),
            self,
        )
        explanation.setWordWrap(True)
        explanation.setStyleSheet("color: palette(placeholder-text);")
        self.notice = QLabel(self)
        self.notice.setObjectName("outboxNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        set_tone(self.notice, Tone.INFO, "")
        self.empty_label = QLabel(
            self.tr("Aucun envoi en attente : tous vos documents ont été reçus par le DMP."),
            self,
        )
        self.empty_label.setObjectName("outboxEmpty")
        self.model = OutboxModel(self)
        self.proxy = OutboxProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(self)
        self.table.setObjectName("outboxTable")
        self.table.setAccessibleName(self.tr("Envois en attente"))
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(int(OutboxColumn.CREATED), Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.detail = QLabel(self)
        self.detail.setObjectName("outboxDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        set_tone(self.detail, Tone.WARNING, "")

        self.resume_button = QPushButton(self.tr("&Reprendre l'envoi"), self)
        self.resume_button.setObjectName("outboxResume")
        make_primary(self.resume_button)
        self.discard_button = QPushButton(self.tr("A&bandonner…"), self)
        self.discard_button.setObjectName("outboxDiscard")
        self.discard_button.setAutoDefault(False)
        # The patient objects to a document still waiting (as ``dmp outbox --object``): the
        # objection is recorded, the file refused from now on in both doors, the item removed.
        self.withdraw_button = QPushButton(self.tr("Le patient s'&oppose…"), self)
        self.withdraw_button.setObjectName("outboxWithdraw")
        self.withdraw_button.setAutoDefault(False)
        self.withdraw_button.setToolTip(
            self.tr("Enregistrer l'opposition du patient : ce document ne sera jamais envoyé")
        )
        close = QPushButton(self.tr("&Fermer"), self)
        close.setAutoDefault(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.discard_button)
        buttons.addWidget(self.withdraw_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.resume_button)

        # The parapheur: what the secretariat prepared for this doctor, to review and sign.
        self.sign_box = QGroupBox(self.tr("À signer"), self)
        self.sign_box.setObjectName("outboxToSign")
        self.sign_label = QLabel(self.sign_box)
        self.sign_label.setObjectName("outboxToSignText")
        self.sign_label.setWordWrap(True)
        self.sign_model = OutboxModel(self)
        self.sign_proxy = OutboxProxy(self)
        self.sign_proxy.setSourceModel(self.sign_model)
        self.sign_table = QTableView(self.sign_box)
        self.sign_table.setObjectName("outboxToSignTable")
        self.sign_table.setAccessibleName(self.tr("Envois à signer"))
        self.sign_table.setModel(self.sign_proxy)
        self.sign_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.sign_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sign_table.setTabKeyNavigation(False)
        self.sign_table.verticalHeader().hide()
        self.sign_table.horizontalHeader().setStretchLastSection(True)
        self.sign_button = QPushButton(self.tr("&Signer"), self.sign_box)
        self.sign_button.setObjectName("outboxSign")
        self.sign_button.setToolTip(
            self.tr("Votre carte signe tous ces envois ; le secrétariat les enverra")
        )
        self.sign_send_button = QPushButton(self.tr("Signer et en&voyer"), self.sign_box)
        self.sign_send_button.setObjectName("outboxSignSend")
        self.sign_send_button.setAutoDefault(False)
        sign_buttons = QHBoxLayout()
        sign_buttons.addStretch(1)
        sign_buttons.addWidget(self.sign_button)
        sign_buttons.addWidget(self.sign_send_button)
        sign_layout = QVBoxLayout(self.sign_box)
        sign_layout.addWidget(self.sign_label)
        sign_layout.addWidget(self.sign_table, 1)
        sign_layout.addLayout(sign_buttons)
        self.sign_box.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.sign_box, 1)
        layout.addWidget(explanation)
        layout.addWidget(self.notice)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)
        layout.addLayout(buttons)

        self.sign_button.clicked.connect(lambda: self.sign_all(send=False))
        self.sign_send_button.clicked.connect(lambda: self.sign_all(send=True))
        service.toSignChanged.connect(self.set_to_sign)
        service.signingDone.connect(self._on_signed)
        self.resume_button.clicked.connect(self.resume_current)
        self.discard_button.clicked.connect(self.ask_discard)
        self.withdraw_button.clicked.connect(self.ask_withdraw)
        close.clicked.connect(self.close)
        self.table.activated.connect(lambda _i: self.resume_current())
        self.table.selectionModel().currentRowChanged.connect(lambda *_a: self._update())
        service.outboxChanged.connect(self.set_items)
        service.sendingChanged.connect(self._on_sending)
        service.uploadFailed.connect(self._on_failed)
        service.uploadSucceeded.connect(self._on_succeeded)
        self.set_items(service.items)
        self.set_to_sign(service.to_sign)

    # -- the parapheur ----------------------------------------------------------------------
    def set_to_sign(self, items: Sequence[OutboxItem]) -> None:
        self.sign_model.set_items(items)
        self.sign_table.resizeColumnsToContents()
        count = len(items)
        if count:
            self.sign_label.setText(
                to_sign_text(count)
                + self.tr(
                    " : relisez-les (patient, document, type), puis signez-les en une fois "
                    "avec votre carte."
                )
            )
        self.sign_box.setVisible(bool(count))
        self._update_sign()

    def _update_sign(self) -> None:
        ready = self.sign_model.rowCount() > 0 and not self.service.signing
        self.sign_button.setEnabled(ready)
        self.sign_send_button.setEnabled(ready)

    def sign_all(self, send: bool) -> bool:
        """Sign, with this doctor's card, exactly the uploads shown for review."""
        ids = [item.id for item in self.sign_model.items]
        started = self.service.sign_all(send=send, item_ids=ids)
        if started:
            set_tone(
                self.notice,
                Tone.INFO,
                self.tr("Signature et envoi en cours…") if send else self.tr("Signature en cours…"),
            )
        self._update_sign()
        return started

    def _on_signed(self, results: Sequence[tuple[OutboxItem, object]], send: bool) -> None:
        failed = [r for _i, r in results if isinstance(r, Exception)]
        done = len(results) - len(failed)
        if send:
            text = self.tr("{n} envoi(s) signé(s) et reçu(s) par le DMP.").format(n=done)
        else:
            text = self.tr(
                "{n} envoi(s) signé(s) : le secrétariat les enverra avec sa carte."
            ).format(n=done)
        if failed:
            from dmp_desktop.errors import describe

            text += " " + self.tr("Non abouti : {why}").format(
                why=" ".join(dict.fromkeys(describe(e) for e in failed))
            )
        set_tone(self.notice, Tone.ERROR if failed else Tone.OK, text)
        self._update_sign()

    # -- content ----------------------------------------------------------------------------
    def set_items(self, items: Sequence[OutboxItem]) -> None:
        current = self.current_item()
        keep = current.id if current is not None else None
        self.model.set_items(items)
        self.model.set_sending(self.service.sending)
        self.table.resizeColumnsToContents()
        rows = self.proxy.rowCount()
        target = 0
        for row in range(rows):
            found = self.proxy.item_at(self.proxy.index(row, 0))
            if found is not None and found.id == keep:
                target = row
        if rows:
            self.table.selectRow(target)
        self._update()

    def _on_sending(self, sending: frozenset[str]) -> None:
        self.model.set_sending(sending)
        self._update()

    def _on_failed(self, item: object, message: str) -> None:
        if isinstance(item, OutboxItem) and self.isVisible():
            set_tone(self.notice, Tone.ERROR, message)
        self._update()

    def _on_succeeded(self, item: OutboxItem, _entry: object) -> None:
        if self.isVisible():
            set_tone(
                self.notice,
                Tone.OK,
                self.tr("« {title} » a été reçu par le DMP.").format(title=item.title),
            )

    def current_item(self) -> OutboxItem | None:
        return self.proxy.item_at(self.table.currentIndex())

    def _update(self) -> None:
        empty = self.model.rowCount() == 0
        self.empty_label.setVisible(empty)
        self.table.setVisible(not empty)
        item = self.current_item()
        sending = item is not None and item.id in self.service.sending
        awaiting = item is not None and item.awaiting_signature
        self.resume_button.setEnabled(item is not None and not sending and not awaiting)
        self.discard_button.setEnabled(item is not None and not sending)
        self.withdraw_button.setEnabled(item is not None and not sending)
        if item is None:
            set_tone(self.detail, Tone.WARNING, "")
            return
        error = self.service.last_error(item.id)
        if sending:
            set_tone(self.detail, Tone.INFO, self.tr("Envoi en cours…"))
        elif error:
            set_tone(self.detail, Tone.WARNING, error)
        elif item.awaiting_signature:
            set_tone(
                self.detail,
                Tone.INFO,
                self.tr(
                    "Préparé pour {signer} : il partira quand {signer} l'aura signé avec sa "
                    "carte (sa carte dans le lecteur, « Envois en attente »)."
                ).format(signer=item.signer_name),
            )
        elif item.state is OutboxState.SENT_UNCONFIRMED:
            set_tone(
                self.detail,
                Tone.WARNING,
                self.tr(
                    "Envoyé sans confirmation du DMP (connexion interrompue, carte retirée ou "
                    "logiciel fermé). « Reprendre » vérifie d'abord s'il a été reçu."
                ),
            )
        elif item.attempts:
            set_tone(
                self.detail,
                Tone.WARNING,
                self.tr("Le dernier essai n'a pas abouti : « Reprendre » pour réessayer."),
            )
        else:
            set_tone(self.detail, Tone.INFO, self.tr("Pas encore envoyé."))

    # -- actions ----------------------------------------------------------------------------
    def resume_current(self) -> bool:
        item = self.current_item()
        if item is None or item.id in self.service.sending or item.awaiting_signature:
            return False
        set_tone(self.notice, Tone.INFO, "")
        return self.service.send(item)

    def ask_discard(self) -> QMessageBox | None:
        """Abandon an upload, after a confirmation that names the document."""
        item = self.current_item()
        if item is None or item.id in self.service.sending:
            return None
        text = self.tr(
            "Abandonner l'envoi de « {title} » ({patient}) ? Le document ne sera pas envoyé au DMP."
        ).format(title=item.title, patient=item_patient_text(item))
        unconfirmed = item.state is OutboxState.SENT_UNCONFIRMED

        def discard() -> None:
            self.service.discard(item)
            set_tone(
                self.notice,
                Tone.INFO,
                self.tr("« {title} » a été retiré des envois en attente.").format(title=item.title),
            )

        return open_confirmation(
            self,
            title=self.tr("Abandonner l'envoi"),
            text=text,
            detail=self.tr(
                "Il a peut-être déjà été reçu par le DMP : vérifiez la liste des documents "
                "du patient."
            )
            if unconfirmed
            else None,
            yes=self.tr("&Abandonner l'envoi"),
            keep=self.tr("&Garder"),
            destructive=True,
            on_yes=discard,
            hold=self._hold_confirmation,
        )

    def _hold_confirmation(self, box: QMessageBox | None) -> None:
        self.confirm_box = box

    def ask_withdraw(self) -> QMessageBox | None:
        """The patient objects to a waiting upload: confirmed first (naming the document and
        the patient), then the objection is recorded and the upload removed."""
        item = self.current_item()
        if item is None or item.id in self.service.sending:
            return None
        text = self.tr(
            "Le patient ({patient}) s'oppose à l'envoi de « {title} » dans son DMP ? "
            "L'opposition est enregistrée : ce document ne sera pas envoyé, ni maintenant ni "
            "plus tard."
        ).format(title=item.title, patient=item_patient_text(item))
        unconfirmed = item.state is OutboxState.SENT_UNCONFIRMED

        def withdraw() -> None:
            if self.service.withdraw(item):
                set_tone(
                    self.notice,
                    Tone.INFO,
                    self.tr(
                        "Opposition du patient enregistrée : « {title} » est retiré des envois "
                        "en attente et ne sera pas envoyé."
                    ).format(title=item.title),
                )

        return open_confirmation(
            self,
            title=self.tr("Opposition du patient"),
            text=text,
            detail=self.tr(
                "Il a peut-être déjà été reçu par le DMP : vérifiez la liste des documents "
                "du patient, et supprimez-le s'il y est."
            )
            if unconfirmed
            else None,
            yes=self.tr("&Enregistrer l'opposition"),
            keep=self.tr("&Garder l'envoi"),
            destructive=True,
            on_yes=withdraw,
            hold=self._hold_confirmation,
        )

    def clear(self) -> None:
        """The session ended: nothing of the patients stays."""
        if self.confirm_box is not None:
            self.confirm_box.reject()
            self.confirm_box = None
        self.model.clear()
        self.set_to_sign([])
        set_tone(self.notice, Tone.INFO, "")
        set_tone(self.detail, Tone.WARNING, "")
        self._update()


__all__ = [
    "OutboxColumn",
    "OutboxIndicator",
    "OutboxModel",
    "OutboxPanel",
    "OutboxProxy",
    "ToSignBanner",
    "pending_text",
]
