"""Feeding the DMP from the window: drop a file, Ctrl+U, the outbox, and what one may do
to a document of the list (replace, mask, visibility, archive, delete).

The main window creates one :class:`DocumentActions`. It owns the
:class:`~dmp_desktop.services.alimentation.AlimentationService`, the actions
(Documents menu, the list's context menu, Ctrl+U and Ctrl+Shift+U), the
status-bar indicator of the outbox, and the dialogs. A file dropped anywhere
on the patient's view (from the file manager) opens the upload dialog for the
patient on screen; so does Ctrl+U after a file chooser.

What the professional may do to a document follows the DMP's rules: replace
and delete are the author's; masking, visibility and archiving belong to the
author and the patient's médecin traitant DMP. Actions that are not allowed
stay visible but disabled, with a tooltip saying why. Each change runs as an
operation (progress after half a second, cancellable) and refreshes the list.

A structure-staff card (secretary) can upload for the practice but never
lists nor reads documents: the documents pane then offers "Envoyer un
document" and the outbox only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.alimentation import OutboxItem
from dmp_desktop.dmp.feed_errors import problem_fr
from dmp_desktop.domain.dmp_status import DmpState
from dmp_desktop.domain.document import DocumentEntry, DocumentStatus
from dmp_desktop.services.alimentation import (
    AlimentationService,
    FileToSend,
    UploadContext,
    Visibility,
    is_author,
    objection_message,
    same_ins,
)
from dmp_desktop.services.card_service import CardState
from dmp_desktop.services.consultation import PaneState
from dmp_desktop.services.operations import Operation
from dmp_desktop.ui.confirm import open_confirmation
from dmp_desktop.ui.outbox_panel import OutboxIndicator, OutboxPanel, ToSignBanner
from dmp_desktop.ui.style import Tone, drop_overlay_css, set_tone
from dmp_desktop.ui.upload_dialog import UploadDialog, VisibilityDialog

if TYPE_CHECKING:
    from dmp_desktop.ui.main_window import MainWindow
    from dmp_desktop.ui.vsm_editor import VsmEditor

log = logging.getLogger(__name__)

FILE_FILTERS = (
    "Documents (*.pdf *.PDF *.jpg *.jpeg *.JPG *.JPEG *.png *.PNG *.tif *.tiff *.TIF *.TIFF "
    "*.txt *.TXT)",
    "Tous les fichiers (*)",
)
NOTICE_MS = 10000


class DropOverlay(QLabel):
    """Over the patient's view while a file is dragged: where it will go."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("dropOverlay")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        # the parent's palette: a style sheet's background becomes this label's own palette
        self.setStyleSheet(drop_overlay_css(parent.palette()))
        self.hide()

    def show_over(self, target: QWidget, text: str) -> None:
        self.setStyleSheet(drop_overlay_css(target.palette()))  # the palette of now
        self.setText(text)
        parent = self.parentWidget()
        top_left = target.mapTo(parent, QPoint(0, 0)) if parent is not None else QPoint(0, 0)
        self.setGeometry(
            top_left.x() + 8, top_left.y() + 8, target.width() - 16, target.height() - 16
        )
        self.raise_()
        self.show()

    def clear_away(self) -> None:
        """Hidden, and no patient name left in it."""
        self.hide()
        self.setText("")


class StaffUploadBox(QWidget):
    """What a secretary's card may do with the patient's DMP: send, and see what waits."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("staffUploadBox")
        text = QLabel(
            self.tr(
                "Vous pouvez envoyer dans ce DMP les documents des professionnels de votre "
                "structure : glissez le fichier ici, ou utilisez le bouton ci-dessous."
            ),
            self,
        )
        text.setWordWrap(True)
        self.upload_button = QPushButton(self.tr("Envoyer un doc&ument…"), self)
        self.upload_button.setObjectName("staffUploadButton")
        self.outbox_button = QPushButton(self.tr("Envois en a&ttente…"), self)
        self.outbox_button.setObjectName("staffOutboxButton")
        self.notice = QLabel(self)
        self.notice.setObjectName("staffNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        set_tone(self.notice, Tone.INFO, "")
        row = QHBoxLayout()
        row.addWidget(self.upload_button)
        row.addWidget(self.outbox_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(text)
        layout.addLayout(row)
        layout.addWidget(self.notice)
        self.hide()


class DocumentActions(QObject):
    """The alimentation side of the main window."""

    def __init__(self, window: MainWindow, service: AlimentationService | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.service = service or AlimentationService(
            window.settings,
            window.dmp_service,
            window.card_service,
            window.consultation,
            window.runner,
            parent=self,
        )
        self.panel: OutboxPanel | None = None
        self._file_op: Operation[FileToSend] | None = None
        self.service.fileReady.connect(self._on_file_ready)
        self.service.fileFailed.connect(self._on_file_failed)
        self.upload_dialog: UploadDialog | None = None
        self.visibility_dialog: VisibilityDialog | None = None
        self.file_dialog: QFileDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self.message_box: QMessageBox | None = None
        self.context_menu: QMenu | None = None
        self._select_after: str | None = None
        self._after_refresh: tuple[Tone, str] | None = None  # said again over "Liste actualisée"
        self._reasons: dict[str, str] = {}

        self._build_actions()
        self.indicator = OutboxIndicator(window)
        # Permanent (left of the host's name): a notice in the status bar hides the normal
        # widgets for its 10 s, and the notice of a failed upload is when the doctor needs it.
        # (Qt's insertPermanentWidget index counts the normal widgets too: the host's name
        # is put back after the indicator instead.)
        bar = window.statusBar()
        bar.removeWidget(window.host_label)
        bar.addPermanentWidget(self.indicator)
        bar.addPermanentWidget(window.host_label)
        window.host_label.show()
        self.indicator.clicked.connect(self.show_outbox)
        self.to_sign_banner = ToSignBanner(window)  # the parapheur: the doctor's card
        window.statusBar().addWidget(self.to_sign_banner)
        self.to_sign_banner.clicked.connect(self.show_outbox)

        workspace = window.workspace
        self.overlay = DropOverlay(workspace)
        workspace.setAcceptDrops(True)
        workspace.installEventFilter(self)

        pane = workspace.documents_pane
        self.staff_box = StaffUploadBox(pane.message_page)
        page_layout = pane.message_page.layout()
        if isinstance(page_layout, QVBoxLayout):
            page_layout.insertWidget(page_layout.count() - 1, self.staff_box)
        self.staff_box.upload_button.clicked.connect(self.act_upload.trigger)
        self.staff_box.outbox_button.clicked.connect(self.show_outbox)

        table = pane.table
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self.show_context_menu)
        table.selectionModel().currentRowChanged.connect(lambda *_a: self.update_actions())
        proxy = pane.list_page.proxy
        for signal in (proxy.modelReset, proxy.layoutChanged, proxy.rowsRemoved):
            signal.connect(lambda *_a: self.update_actions())

        consultation = window.consultation
        consultation.stateChanged.connect(self._on_pane_state)
        consultation.documentsReady.connect(self._on_documents_ready)
        window.card_service.stateChanged.connect(lambda _s: self.update_actions())
        window.card_service.sessionEnded.connect(self._on_session_ended)
        window.stack.currentChanged.connect(self._on_page)

        service = self.service
        service.outboxChanged.connect(self._on_outbox)
        service.sendingChanged.connect(lambda _s: self._on_outbox(service.items))
        service.pendingAtLogin.connect(self._on_pending_at_login)
        service.uploadQueued.connect(self._on_queued)
        service.uploadPrepared.connect(self._on_prepared)
        service.toSignChanged.connect(lambda items: self.to_sign_banner.set_count(len(items)))
        service.uploadSucceeded.connect(self._on_uploaded)
        service.uploadFailed.connect(self._on_upload_failed)
        # Identity coherence: what is sent is checked against the patient on screen.
        service.reference_provider = lambda: window.workspace.current_identity
        service.changeSucceeded.connect(self._on_changed)
        service.changeFailed.connect(self._on_change_failed)
        service.problem.connect(lambda text: self.notify(Tone.ERROR, text))
        self.update_actions()

    # -- actions --------------------------------------------------------------------------
    def _build_actions(self) -> None:
        window = self.window
        self.act_upload = QAction(self.tr("&Envoyer un document…"), window)
        self.act_upload.setShortcut(QKeySequence("Ctrl+U"))
        self.act_upload.setStatusTip(
            self.tr("Envoyer un fichier (PDF, image, texte) dans le DMP du patient affiché")
        )
        self.act_upload.triggered.connect(self.request_upload)
        self.act_outbox = QAction(self.tr("Envois en a&ttente…"), window)
        self.act_outbox.setStatusTip(self.tr("Documents pas encore confirmés par le DMP"))
        self.act_outbox.triggered.connect(self.show_outbox)
        self.act_replace = QAction(self.tr("&Remplacer par une nouvelle version…"), window)
        self.act_replace.setShortcut(QKeySequence("Ctrl+Shift+U"))
        self.act_replace.triggered.connect(self.request_replace)
        self.act_mask = QAction(self.tr("&Masquer aux professionnels…"), window)
        self.act_mask.triggered.connect(self.request_mask)
        self.act_unmask = QAction(self.tr("&Démasquer"), window)
        self.act_unmask.triggered.connect(lambda: self.set_masked(False))
        self.act_visibility = QAction(self.tr("Modifier la &visibilité…"), window)
        self.act_visibility.triggered.connect(self.request_visibility)
        self.act_archive = QAction(self.tr("Arc&hiver…"), window)
        self.act_archive.triggered.connect(self.request_archive)
        self.act_unarchive = QAction(self.tr("Désarc&hiver"), window)
        self.act_unarchive.triggered.connect(self.request_unarchive)
        self.act_delete = QAction(self.tr("&Supprimer…"), window)
        self.act_delete.triggered.connect(self.request_delete)
        self.entry_actions = {
            "replace": self.act_replace,
            "mask": self.act_mask,
            "unmask": self.act_unmask,
            "visibility": self.act_visibility,
            "archive": self.act_archive,
            "unarchive": self.act_unarchive,
            "delete": self.act_delete,
        }
        for action in (self.act_upload, self.act_replace):
            window.addAction(action)  # shortcuts work whichever widget has the focus

    def fill_menu(self, menu: QMenu) -> None:
        """The Documents menu: sending first, then what applies to the selected document."""
        menu.setToolTipsVisible(True)
        menu.addAction(self.act_upload)
        menu.addAction(self.act_outbox)
        menu.addSeparator()
        for action in self.entry_actions.values():
            menu.addAction(action)
        menu.addSeparator()

    def current_entry(self) -> DocumentEntry | None:
        pane = self.window.workspace.documents_pane
        if self.window.consultation.state is not PaneState.DOCUMENTS:
            return None
        return pane.list_page.current_entry()

    def rules(self, entry: DocumentEntry | None) -> dict[str, str | None]:
        """For each document action: None when allowed, else why not (French)."""
        practitioner = self.service.practitioner
        if practitioner is None:
            reason = self.tr("Connectez-vous avec votre carte CPS.")
            return dict.fromkeys(self.entry_actions, reason)
        if practitioner.is_staff:
            reason = self.tr("Réservé aux professionnels de santé.")
            return dict.fromkeys(self.entry_actions, reason)
        if entry is None:
            reason = self.tr("Choisissez d'abord un document dans la liste.")
            return dict.fromkeys(self.entry_actions, reason)
        mine = is_author(entry, practitioner)
        status = self.window.consultation.status
        treating = status is not None and status.treating_physician
        active = entry.status is DocumentStatus.APPROVED
        state = entry.status.label_fr
        out: dict[str, str | None] = {}
        if not mine:
            out["replace"] = self.tr("Seul l'auteur d'un document peut le remplacer.")
        elif not active:
            out["replace"] = self.tr(
                "Seul un document actif peut être remplacé : celui-ci est {state}."
            ).format(state=state)
        else:
            out["replace"] = None
        who = None
        if not (mine or treating):
            who = self.tr("Réservé à l'auteur du document et au médecin traitant DMP du patient.")
        changeable = entry.status in (DocumentStatus.APPROVED, DocumentStatus.ARCHIVED)
        for key in ("mask", "unmask", "visibility"):
            out[key] = who
            if who is None and not changeable:
                out[key] = self.tr(
                    "La visibilité d'un document {state} ne peut plus être changée."
                ).format(state=state)
        if out["mask"] is None and entry.invisible_to_patient:
            out["mask"] = self.tr(
                "Ce document est invisible pour le patient : il ne peut pas être aussi masqué "
                "aux professionnels (le DMP refuse cette combinaison)."
            )
        out["archive"] = who
        if who is None and not active:
            out["archive"] = self.tr(
                "Seul un document actif peut être archivé : celui-ci est {state}."
            ).format(state=state)
        out["unarchive"] = who
        if who is None and entry.status is not DocumentStatus.ARCHIVED:
            out["unarchive"] = self.tr("Ce document n'est pas archivé.")
        out["delete"] = None if mine else self.tr("Seul l'auteur d'un document peut le supprimer.")
        return out

    def update_actions(self) -> None:
        logged_in = self.service.practitioner is not None
        status = self.window.consultation.status
        closed = status is not None and status.state is DmpState.CLOSED
        self.act_upload.setEnabled(logged_in and not closed)
        self.act_upload.setToolTip(
            self.tr(
                "Le DMP de ce patient est fermé : il n'accepte plus de nouveaux documents. "
                "À la demande du patient, réactivez-le (menu Dossier, « Réactiver le DMP… »)."
            )
            if closed
            else self.act_upload.statusTip()
        )
        self.act_outbox.setEnabled(logged_in)
        entry = self.current_entry()
        self._reasons = {k: v for k, v in self.rules(entry).items() if v is not None}
        for key, action in self.entry_actions.items():
            reason = self._reasons.get(key)
            action.setEnabled(reason is None)
            action.setToolTip(reason or action.text().replace("&", "").rstrip("…"))
        masked = entry is not None and entry.masked_from_professionals
        self.act_mask.setVisible(not masked)
        self.act_unmask.setVisible(masked)
        archived = entry is not None and entry.status is DocumentStatus.ARCHIVED
        self.act_archive.setVisible(not archived)
        self.act_unarchive.setVisible(archived)

    def show_context_menu(self, position: QPoint) -> QMenu | None:
        table = self.window.workspace.documents_pane.table
        index = table.indexAt(position)
        if index.isValid():
            table.setCurrentIndex(index)
        self.update_actions()
        menu = QMenu(table)
        menu.setToolTipsVisible(True)
        for action in self.entry_actions.values():
            if action.isVisible():
                menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.act_upload)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.context_menu = menu
        menu.aboutToHide.connect(lambda: setattr(self, "context_menu", None))
        menu.popup(table.viewport().mapToGlobal(position))
        return menu

    # -- feedback -------------------------------------------------------------------------
    def notify(self, tone: Tone, text: str) -> None:
        """Say it where the doctor is looking: next to the list (or the staff box), and below."""
        pane = self.window.workspace.documents_pane
        if pane.stack.currentWidget() is pane.list_page:
            pane.list_page.set_notice(tone, text)
        elif self.staff_box.isVisible():
            set_tone(self.staff_box.notice, tone, text)
        self.window.statusBar().showMessage(text, NOTICE_MS)

    def warn(self, title: str, text: str) -> QMessageBox:
        """A refusal the doctor must not miss (a dropped file that will not be sent)."""
        if self.message_box is not None:
            self.message_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self.window)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r: setattr(self, "message_box", None))
        self.message_box = box
        box.open()
        self.window.statusBar().showMessage(text, NOTICE_MS)
        return box

    # -- uploading ------------------------------------------------------------------------
    def _context(self) -> UploadContext | None:
        context = self.service.context()
        if isinstance(context, str):
            self.warn(self.tr("Envoi impossible"), context)
            return None
        return context

    def request_upload(self) -> QFileDialog | None:
        """Ctrl+U: choose the file, then the upload dialog."""
        if self._context() is None:
            return None
        return self._choose_file(self.tr("Envoyer un document au DMP"), None)

    def _choose_file(self, title: str, replaces: DocumentEntry | None) -> QFileDialog:
        if self.file_dialog is not None:
            self.file_dialog.reject()
        dialog = QFileDialog(self.window, title)
        dialog.setObjectName("uploadFileDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters(list(FILE_FILTERS))
        # « Documents » in the type box, not twelve patterns cut at the box's edge.
        dialog.setOption(QFileDialog.Option.HideNameFilterDetails, True)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.upload_path(Path(path), replaces))
        dialog.finished.connect(lambda _r: setattr(self, "file_dialog", None))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def upload_path(self, path: Path, replaces: DocumentEntry | None = None) -> bool:
        """A file to send (dropped or chosen): read and checked off the UI thread (up to
        20 MB, hashed against the patient's objections), then the upload dialog."""
        context = self._context()
        if context is None:
            return False
        return self._prepare(context, path, replaces)

    def upload_data(
        self,
        context: UploadContext,
        data: bytes,
        filename: str,
        replaces: DocumentEntry | None = None,
    ) -> bool:
        """Bytes to send (already in memory): checked off the UI thread, then the dialog."""
        return self._prepare(context, (data, filename), replaces)

    @property
    def reading_file(self) -> bool:
        """A file is being read and checked (the dialog opens when it is done)."""
        return self._file_op is not None and not self._file_op.done

    def _prepare(
        self,
        context: UploadContext,
        source: Path | tuple[bytes, str],
        replaces: DocumentEntry | None,
    ) -> bool:
        if self._file_op is not None and not self._file_op.done:
            self._file_op.cancel()  # the newest file wins
        self._file_op = self.service.prepare_file(context.ins, source, (context, replaces))
        return True

    def _on_file_failed(self, _ctx: object, message: str) -> None:
        self._file_op = None
        self.warn(self.tr("Fichier non envoyé"), message)

    def _on_file_ready(self, file: FileToSend, ctx: object) -> None:
        self._file_op = None
        if not isinstance(ctx, tuple):
            return
        context, replaces = ctx
        title = self.tr("Fichier non envoyé")
        current = self.window.consultation.ins
        if current is None or not same_ins(current, context.ins):
            return  # the patient changed meanwhile: this file was for another one
        if file.problems:
            text = "\n".join(problem_fr(p) for p in file.problems)
            self.warn(title, self.tr("« {name} » : {why}").format(name=file.filename, why=text))
            return
        if file.objected_at is not None:
            self.warn(title, objection_message(file.objected_at))
            return
        self.close_upload_dialog()
        dialog = UploadDialog(
            context,
            data=file.data,
            filename=file.filename,
            replaces=replaces,
            favourites=self.service.type_ranking(),
            parent=self.window,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda result: self._on_upload_dialog_done(dialog, result))
        self.upload_dialog = dialog
        dialog.open()
        dialog.type_picker.setFocus(Qt.FocusReason.OtherFocusReason)
        dialog.type_picker.edit.selectAll()

    def close_upload_dialog(self, *, forget: bool = False) -> None:
        dialog, self.upload_dialog = self.upload_dialog, None
        if dialog is not None:
            dialog.reject()
            if forget:
                dialog.clear()

    def _on_upload_dialog_done(self, dialog: UploadDialog, result: int) -> None:
        if self.upload_dialog is dialog:
            self.upload_dialog = None
        context = dialog.context
        if result == UploadDialog.OBJECTION and dialog.data is not None:
            name = dialog.filename
            op = self.service.record_objection(context.ins, dialog.data)
            previous = op.on_success

            def recorded(result: None) -> None:
                if previous is not None:
                    previous(result)
                self.notify(
                    Tone.INFO,
                    self.tr(
                        "Opposition du patient enregistrée : « {name} » ne sera jamais envoyé "
                        "dans son DMP."
                    ).format(name=name),
                )

            op.on_success = recorded
            return
        if result != QDialog.DialogCode.Accepted:
            return
        if dialog.vsm:
            return  # handled by send_vsm
        current = self.window.consultation.ins
        if current is None or not same_ins(current, context.ins):
            self.notify(
                Tone.WARNING,
                self.tr("Le patient affiché a changé : le document n'a pas été envoyé."),
            )
            return
        request = dialog.request()
        self.service.submit(request)

    def _on_queued(self, item: OutboxItem) -> None:
        self.notify(
            Tone.INFO,
            self.tr("Envoi de « {title} » au DMP…").format(title=item.title),
        )

    def _on_prepared(self, item: OutboxItem) -> None:
        """A secretary's upload: checked, it waits for the professional's signature."""
        self.notify(
            Tone.INFO,
            self.tr(
                "« {title} » est prêt, à signer par {signer} : il partira quand {signer} "
                "l'aura signé avec sa carte (« Envois en attente »)."
            ).format(title=item.title, signer=item.signer_name),
        )

    def _on_uploaded(self, item: OutboxItem, entry: DocumentEntry) -> None:
        self._select_after = entry.unique_id
        self.notify(
            Tone.OK, self.tr("« {title} » est enregistré dans le DMP.").format(title=item.title)
        )

    def _on_upload_failed(self, item: object, message: str) -> None:
        if isinstance(item, OutboxItem):
            self.notify(
                Tone.ERROR,
                self.tr("« {title} » n'a pas été enregistré : {why}").format(
                    title=item.title, why=message
                ),
            )
        else:
            self.notify(Tone.ERROR, message)

    def _on_documents_ready(self, _listing: object) -> None:
        notice, self._after_refresh = self._after_refresh, None
        if notice is not None:
            self.notify(*notice)
        unique_id, self._select_after = self._select_after, None
        if unique_id is None:
            self.update_actions()
            return
        pane = self.window.workspace.documents_pane
        index = pane.list_page.proxy.index_of(unique_id)
        if index.isValid():
            pane.table.selectRow(index.row())
            pane.table.scrollTo(index)
            entry = pane.list_page.proxy.entry_at(index)
            if entry is not None:
                self.notify(
                    Tone.OK,
                    self.tr(
                        "Votre document « {title} » est enregistré dans le DMP : il est "
                        "sélectionné dans la liste."
                    ).format(title=entry.title),
                )
        self.update_actions()

    # -- outbox ---------------------------------------------------------------------------
    def show_outbox(self) -> OutboxPanel | None:
        if self.service.practitioner is None:
            return None
        if self.panel is None:
            self.panel = OutboxPanel(self.service, self.window)
        self.panel.set_items(self.service.items)
        self.panel.set_to_sign(self.service.to_sign)
        self.panel.show()
        self.panel.raise_()
        self.panel.activateWindow()
        return self.panel

    def _on_outbox(self, items: list[OutboxItem]) -> None:
        self.indicator.set_state(len(items), len(self.service.sending))

    def _on_pending_at_login(self, items: list[OutboxItem]) -> None:
        self.show_outbox()
        self.window.statusBar().showMessage(
            self.tr(
                "Des documents n'ont pas été confirmés par le DMP : reprenez-les ou "
                "abandonnez-les dans « Envois en attente »."
            ),
            NOTICE_MS,
        )

    # -- changes to a document ------------------------------------------------------------
    def _allowed(self, key: str) -> DocumentEntry | None:
        entry = self.current_entry()
        reason = self.rules(entry).get(key)
        if reason is not None:
            self.notify(Tone.WARNING, reason)
            return None
        return entry

    def request_replace(self) -> QFileDialog | None:
        entry = self._allowed("replace")
        if entry is None or self._context() is None:
            return None
        return self._choose_file(
            self.tr("Nouvelle version de « {title} »").format(title=entry.title), entry
        )

    def set_masked(self, masked: bool) -> bool:
        entry = self._allowed("mask" if masked else "unmask")
        if entry is None:
            return False
        return self.service.change_visibility(
            entry,
            Visibility(masked, entry.invisible_to_patient, entry.invisible_to_legal_reps),
        )

    def request_visibility(self) -> VisibilityDialog | None:
        entry = self._allowed("visibility")
        if entry is None:
            return None
        context = self.service.context()
        minor = isinstance(context, UploadContext) and context.minor
        dialog = VisibilityDialog(entry, minor=minor, parent=self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.visibility_dialog = dialog

        def done(result: int) -> None:
            self.visibility_dialog = None
            visibility = dialog.visibility()
            if result == QDialog.DialogCode.Accepted and visibility is not None:
                self.service.change_visibility(entry, visibility)

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def _confirm(
        self, title: str, question: str, detail: str, button: str, on_yes: Callable[[], object]
    ) -> QMessageBox:
        """A confirmation naming the document; « Annuler » is the default answer."""
        return open_confirmation(
            self.window,
            title=title,
            text=question,
            detail=detail,
            yes=button,
            keep=self.tr("Annuler"),
            on_yes=on_yes,
            hold=self._hold_confirmation,
        )

    def _hold_confirmation(self, box: QMessageBox | None) -> None:
        self.confirm_box = box

    def request_mask(self) -> QMessageBox | None:
        """Mask to professionals, after a confirmation saying what it changes."""
        entry = self._allowed("mask")
        if entry is None:
            return None
        return self._confirm(
            self.tr("Masquer le document"),
            self.tr("Masquer « {title} » aux professionnels ?").format(title=entry.title),
            self.tr(
                "Les autres professionnels ne le verront plus ; le patient et son médecin "
                "traitant le verront toujours. Vous pourrez le démasquer."
            ),
            self.tr("&Masquer le document"),
            lambda: self.set_masked(True),
        )

    def request_archive(self) -> QMessageBox | None:
        """Archive, after a confirmation; « Désarchiver » brings it back."""
        entry = self._allowed("archive")
        if entry is None:
            return None
        return self._confirm(
            self.tr("Archiver le document"),
            self.tr("Archiver « {title} » ?").format(title=entry.title),
            self.tr(
                "Il n'apparaîtra plus dans la liste habituelle (cochez « archivés » pour le "
                "revoir). Vous pourrez le désarchiver."
            ),
            self.tr("&Archiver le document"),
            lambda: self.service.archive(entry),
        )

    def request_unarchive(self) -> bool:
        entry = self._allowed("unarchive")
        return entry is not None and self.service.unarchive(entry)

    def request_delete(self) -> QMessageBox | None:
        """Delete (author only), after a confirmation naming the document."""
        entry = self._allowed("delete")
        if entry is None:
            return None
        return open_confirmation(
            self.window,
            icon=QMessageBox.Icon.Warning,
            title=self.tr("Supprimer le document"),
            text=self.tr("Supprimer définitivement « {title} » du DMP du patient ?").format(
                title=entry.title
            ),
            detail=self.tr(
                "Plus personne ne le verra, ni les professionnels ni le patient. La suppression "
                "est définitive."
            ),
            yes=self.tr("&Supprimer le document"),
            keep=self.tr("Annuler"),
            destructive=True,
            on_yes=lambda: self.service.delete(entry),
            hold=self._hold_confirmation,
        )

    def _on_changed(self, action: str, entry: DocumentEntry) -> None:
        if action == "archive":
            text = self.tr(
                "« {title} » est archivé : cochez « archivés » pour le voir dans la liste."
            ).format(title=entry.title)
        elif action == "unarchive":
            text = self.tr("« {title} » est de nouveau actif.").format(title=entry.title)
        elif action == "delete":
            text = self.tr("« {title} » a été supprimé du DMP.").format(title=entry.title)
        else:
            parts = [
                self.tr("masqué aux professionnels")
                if entry.masked_from_professionals
                else self.tr("visible par les professionnels"),
                self.tr("invisible pour le patient")
                if entry.invisible_to_patient
                else self.tr("visible par le patient"),
                self.tr("invisible pour les représentants légaux")
                if entry.invisible_to_legal_reps
                else self.tr("visible par les représentants légaux"),
            ]
            text = self.tr("Visibilité de « {title} » : {what}.").format(
                title=entry.title, what=", ".join(parts)
            )
        self.notify(Tone.OK, text)
        self._after_refresh = (Tone.OK, text)

    def _on_change_failed(self, _action: str, message: str) -> None:
        self.notify(Tone.ERROR, message)

    # -- the VSM --------------------------------------------------------------------------
    def _on_page(self, _index: int) -> None:
        from dmp_desktop.ui.vsm_editor import VsmEditor

        page = self.window.stack.currentWidget()
        if isinstance(page, VsmEditor) and not page.property("alimentationConnected"):
            page.setProperty("alimentationConnected", True)
            page.sendRequested.connect(lambda editor=page: self.send_vsm(editor))

    def send_vsm(self, editor: VsmEditor) -> UploadDialog | None:
        """« Envoyer au DMP » in the VSM editor: the three visibility questions, then send."""
        context = self._context()
        if context is None:
            return None
        title = self.tr("Synthèse non envoyée")
        if not editor.document_ready():
            self.warn(
                title,
                self.tr(
                    "La synthèse contient encore des points à corriger (signalés dans "
                    "l'éditeur) : corrigez-les avant de l'envoyer."
                ),
            )
            return None
        identity = editor.current_header().identity()
        if identity is None or not same_ins(identity.ins, context.ins):
            self.warn(
                title,
                self.tr(
                    "La synthèse ne concerne pas le patient affiché, ou son identité est "
                    "incomplète : vérifiez l'en-tête de la synthèse."
                ),
            )
            return None
        summary = editor.current_summary()
        self.close_upload_dialog()
        dialog = UploadDialog(
            context,
            data=None,
            filename="",
            vsm_identity=identity,
            vsm_title=summary.title,
            parent=self.window,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.upload_dialog = dialog

        def done(result: int) -> None:
            if self.upload_dialog is dialog:
                self.upload_dialog = None
            visibility = dialog.visibility()
            if result == QDialog.DialogCode.Accepted and visibility is not None:
                editor.save_draft_now()
                self.service.send_vsm(identity, summary, visibility)
                self.window.statusBar().showMessage(
                    self.tr("Envoi de la synthèse médicale au DMP…"), NOTICE_MS
                )

        def found(previous: DocumentEntry | None) -> None:
            # the answers of my previous VSM, which this one replaces (still to confirm)
            if previous is not None and self.upload_dialog is dialog:
                dialog.propose_replaced(previous)

        dialog.finished.connect(done)
        dialog.open()
        dialog.choices.first_button().setFocus(Qt.FocusReason.OtherFocusReason)
        self.service.find_my_previous_vsm(identity.ins, found)
        return dialog

    # -- session, drops ---------------------------------------------------------------------
    def _on_pane_state(self, state: PaneState) -> None:
        practitioner = self.service.practitioner
        staff = state is PaneState.STAFF and practitioner is not None
        self.staff_box.setVisible(staff)
        if not staff:
            set_tone(self.staff_box.notice, Tone.INFO, "")
        if state is not PaneState.DOCUMENTS:
            self._select_after = None
            self._after_refresh = None
        self.update_actions()

    def _on_session_ended(self, _reason: str) -> None:
        """Nothing of the patient stays: dialogs closed, panel emptied."""
        self.close_upload_dialog(forget=True)
        for dialog in (
            self.visibility_dialog,
            self.confirm_box,
            self.message_box,
            self.file_dialog,
        ):
            if dialog is not None:
                dialog.close()
                for label in dialog.findChildren(QLabel):
                    label.setText("")
        self.visibility_dialog = None
        self.confirm_box = None
        self.message_box = None
        self.file_dialog = None
        if self.context_menu is not None:
            self.context_menu.close()
        if self.panel is not None:
            self.panel.clear()
            self.panel.hide()
        self.overlay.clear_away()
        self._select_after = None
        self._after_refresh = None
        self.staff_box.hide()
        set_tone(self.staff_box.notice, Tone.INFO, "")
        self.indicator.set_state(0, 0)
        self.update_actions()

    @staticmethod
    def _local_files(event: QDragEnterEvent | QDropEvent) -> list[Path]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.window.workspace:
            return False
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(
            event, QDragEnterEvent | QDropEvent
        ):
            files = self._local_files(event)
            if not files or self.window.card_service.state is not CardState.LOGGED_IN:
                event.ignore()
                return True
            event.acceptProposedAction()
            if kind == QEvent.Type.DragEnter:
                context = self.service.context()
                if isinstance(context, str):
                    text = context
                else:
                    text = self.tr("Déposez le fichier ici pour l'envoyer au DMP de {name}").format(
                        name=context.patient_name or context.ins.value
                    )
                self.overlay.show_over(self.window.workspace.documents_pane, text)
            return True
        if kind == QEvent.Type.DragLeave:
            self.overlay.clear_away()
            return True
        if kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            self.overlay.clear_away()
            files = self._local_files(event)
            if not files:
                event.ignore()
                return True
            event.acceptProposedAction()
            if len(files) > 1:
                self.warn(
                    self.tr("Un fichier à la fois"),
                    self.tr(
                        "Déposez un seul fichier à la fois : chaque document a son type, son "
                        "titre et sa visibilité."
                    ),
                )
                return True
            self.upload_path(files[0])
            return True
        return False


__all__ = ["DocumentActions", "DropOverlay", "StaffUploadBox"]
