"""The documents pane: the consent question, or the sortable, filterable list of documents.

It follows :class:`ConsultationService` (state, list, scope) and sends the
doctor's answers back to it. The pane never records an authorisation by
itself: "Oui" is the only way, and only after a click (or Enter on it).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop import heap
from dmp_desktop.dates import fr_time, utc_now
from dmp_desktop.domain.dmp_status import Authorization
from dmp_desktop.domain.document import DocumentEntry
from dmp_desktop.services.consultation import (
    ConsultationService,
    DocumentList,
    ListScope,
    PaneState,
    Period,
)
from dmp_desktop.services.operations import Operation, OperationRunner
from dmp_desktop.ui.documents_model import (
    FILTER_COLUMNS,
    Column,
    DocumentsModel,
    DocumentsProxy,
    PreparedList,
    Row,
    prepare_list,
)
from dmp_desktop.ui.style import Tone, make_primary, scaled_font, set_tone
from dmp_desktop.ui.widgets import heading
from dmp_desktop.ui.wrapping import keep_wrapped_height
from dmp_desktop.usecases.consultation import OlderDocuments, older_documents_fr

MAX_COLUMN_WIDTH = 180
MAX_TITLE_WIDTH = 340
# Up to this many documents, the list is prepared on the UI thread (a few ms); longer
# ones off it. Either way the model is then filled in one reset, or in batches (the
# first one, then BATCH at a time) when the filter or the order changed meanwhile.
SYNC_ROWS = 400
FIRST_BATCH = 400
BATCH = 1000
FREE_SLICE = 500  # rows of a list let go freed at a time, off the UI thread


def free_rows(rows: list[Row]) -> None:
    """Empty ``rows``, a slice at a time: the rows, and the entries only they still hold,
    are freed here (reference counting frees a slice at once, with the interpreter lock
    held: 20,000 rows and their entries are 20 to 60 ms in one go)."""
    while rows:
        del rows[-FREE_SLICE:]


def new_count_text(count: int) -> str:
    if count == 1:
        return QCoreApplication.translate(
            "DocumentsPane", "● 1 nouveau depuis votre dernière consultation"
        )
    return QCoreApplication.translate(
        "DocumentsPane", "● {n} nouveaux depuis votre dernière consultation"
    ).format(n=count)


class ConsentPage(QWidget):
    """One question, two answers; the médecin traitant choice apart; emergency further apart."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("consentPage")
        self.context_label = QLabel(self)
        self.context_label.setObjectName("consentContext")
        self.context_label.setWordWrap(True)
        self.question_label = QLabel(self)
        self.question_label.setObjectName("consentQuestion")
        self.question_label.setFont(scaled_font(self, 1.35, bold=True))
        self.question_label.setWordWrap(True)
        explanation = self.explanation_label = QLabel(self)
        explanation.setWordWrap(True)
        explanation.setStyleSheet("color: palette(placeholder-text);")
        self.yes_button = QPushButton(self)
        self.yes_button.setObjectName("consentYes")
        make_primary(self.yes_button)
        self.yes_button.setAutoDefault(True)  # Entrée on the focused answer answers
        self.no_button = QPushButton(self.tr("&Non"), self)
        self.no_button.setObjectName("consentNo")
        self.no_button.setMinimumHeight(self.yes_button.minimumHeight())
        self.no_button.setMinimumWidth(120)
        self.no_button.setAutoDefault(True)
        answers = QHBoxLayout()
        answers.addWidget(self.yes_button)
        answers.addWidget(self.no_button)
        answers.addStretch(1)
        self.treating_check = QCheckBox(self)
        self.treating_check.setObjectName("treatingCheck")
        self.busy_label = QLabel(self.tr("Enregistrement de l'autorisation…"), self)
        self.busy_label.setObjectName("consentBusy")
        self.busy_label.hide()
        self.error_label = QLabel(self)
        self.error_label.setObjectName("consentError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        separator = QFrame(self)
        separator.setFrameShape(QFrame.Shape.HLine)
        separator.setFrameShadow(QFrame.Shadow.Sunken)
        emergency_text = self.emergency_label = QLabel(self)
        emergency_text.setWordWrap(True)
        emergency_text.setStyleSheet("color: palette(placeholder-text);")
        self.emergency_button = QPushButton(self.tr("Accès en &urgence…"), self)
        self.emergency_button.setObjectName("emergencyButton")
        self.emergency_button.setAutoDefault(True)
        emergency_row = QHBoxLayout()
        emergency_row.addWidget(emergency_text, 1)
        emergency_row.addWidget(self.emergency_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addWidget(self.context_label)
        layout.addWidget(self.question_label)
        layout.addWidget(explanation)
        layout.addLayout(answers)
        layout.addWidget(self.treating_check)
        layout.addWidget(self.busy_label)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addWidget(separator)
        layout.addLayout(emergency_row)

        self.set_patient_sex(female=False)

    def set_patient_sex(self, *, female: bool) -> None:
        """The words agree with the patient's sex when the DMP gives it (« la patiente »)."""
        if female:
            question = self.tr("La patiente consent-elle à ce que vous accédiez à son DMP ?")
            explanation = self.tr(
                "Votre réponse est enregistrée dans le DMP comme autorisation d'accès. "
                "Ne répondez « Oui » que si la patiente vous a donné son accord."
            )
            yes = self.tr("Oui, la patiente con&sent")
            treating = self.tr("La patiente me désigne aussi comme son &médecin traitant DMP")
            emergency = self.tr(
                "Urgence et patiente hors d'état de consentir ? L'accès en urgence est tracé "
                "et la patiente en est informée."
            )
        else:
            question = self.tr("Le patient consent-il à ce que vous accédiez à son DMP ?")
            explanation = self.tr(
                "Votre réponse est enregistrée dans le DMP comme autorisation d'accès. "
                "Ne répondez « Oui » que si le patient vous a donné son accord."
            )
            yes = self.tr("Oui, le patient con&sent")
            treating = self.tr("Le patient me désigne aussi comme son &médecin traitant DMP")
            emergency = self.tr(
                "Urgence et patient hors d'état de consentir ? L'accès en urgence est tracé "
                "et le patient en est informé."
            )
        self.question_label.setText(question)
        self.explanation_label.setText(explanation)
        self.yes_button.setText(yes)
        self.treating_check.setText(treating)
        self.emergency_label.setText(emergency)

    def reset(self, *, expired: bool, doctor: bool, female: bool = False) -> None:
        self.set_patient_sex(female=female)
        if expired:
            set_tone(
                self.context_label,
                Tone.WARNING,
                self.tr("Votre autorisation d'accès à ce DMP a expiré."),
            )
        else:
            set_tone(
                self.context_label,
                Tone.INFO,
                self.tr("Vous n'avez pas encore d'autorisation d'accès à ce DMP."),
            )
        self.treating_check.setChecked(False)
        self.treating_check.setVisible(doctor)
        self.set_busy(False)
        self.error_label.hide()

    def set_busy(self, busy: bool) -> None:
        self.busy_label.setVisible(busy)
        self.yes_button.setEnabled(not busy)
        self.no_button.setEnabled(not busy)
        self.treating_check.setEnabled(not busy)

    def show_error(self, message: str) -> None:
        set_tone(self.error_label, Tone.ERROR, message)


class MessagePage(QWidget):
    """No DMP, closed, blocked, declined, staff card: what it means and what one can do."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("documentsMessagePage")
        self.title_label = heading("", self, 1.2)
        self.title_label.setObjectName("documentsMessageTitle")
        self.text_label = QLabel(self)
        self.text_label.setObjectName("documentsMessage")
        self.text_label.setWordWrap(True)
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        self.again_button = QPushButton(self.tr("Poser à &nouveau la question"), self)
        self.again_button.setObjectName("askAgainButton")
        self.again_button.setAutoDefault(False)
        self.emergency_button = QPushButton(self.tr("Accès en &urgence…"), self)
        self.emergency_button.setObjectName("declinedEmergencyButton")
        self.emergency_button.setAutoDefault(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.again_button)
        buttons.addStretch(1)
        buttons.addWidget(self.emergency_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addWidget(self.title_label)
        layout.addWidget(self.text_label)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def show_message(
        self, title: str, text: str, tone: Tone, *, again: bool = False, emergency: bool = False
    ) -> None:
        self.title_label.setText(title)
        self.title_label.setVisible(bool(title))
        set_tone(self.text_label, tone, text)
        self.again_button.setVisible(again)
        self.emergency_button.setVisible(emergency)


class _FilterKeys(QObject):
    """Down arrow or Enter in the filter field goes to the list."""

    def __init__(self, target: QTableView, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._target = target

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Return, Qt.Key.Key_Enter):
                focus_list(self._target)
                return True
        return False


def focus_list(table: QTableView) -> None:
    """Give the list the focus, with a current row (the first one if none)."""
    table.setFocus(Qt.FocusReason.ShortcutFocusReason)
    model = table.model()
    if model is None or model.rowCount() == 0:
        return
    if not table.currentIndex().isValid():
        select_row(table, 0)


def select_row(table: QTableView, row: int) -> None:
    model = table.model()
    if model is None or not 0 <= row < model.rowCount():
        return
    index = model.index(row, int(Column.TITLE))
    selection = table.selectionModel()
    selection.setCurrentIndex(
        index,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    table.scrollTo(index)


class DocumentListPage(QWidget):
    """Filters, the table, the counts."""

    filled = Signal()  # the list given to show_list is wholly in the model

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("documentListPage")
        self._generation = 0
        self.filling = False
        self._runner = OperationRunner(self, max_workers=1)
        self.model = DocumentsModel(self)
        self.proxy = DocumentsProxy(self)
        self.proxy.setSourceModel(self.model)

        title = heading(self.tr("Documents du DMP"), self, 1.2)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("documentsCount")
        self.treating_button = QPushButton(self.tr("Se déclarer médecin &traitant…"), self)
        self.treating_button.setObjectName("declareTreatingButton")
        self.treating_button.setAutoDefault(False)
        self.treating_button.hide()
        top = QHBoxLayout()
        top.addWidget(title)
        top.addWidget(self.count_label, 1)
        top.addWidget(self.treating_button)

        self.new_label = QLabel(self)
        self.new_label.setObjectName("newDocumentsLabel")
        self.new_label.setFont(scaled_font(self, 1.05, bold=True))
        self.new_label.hide()
        self.notice_label = QLabel(self)
        self.notice_label.setObjectName("documentsNotice")
        self.notice_label.setWordWrap(True)
        self.notice_label.hide()
        # What the patient's own space holds (contacts, allergies, directives): easy to find.
        self.patient_space_label = QLabel(self)
        self.patient_space_label.setObjectName("patientSpaceLabel")
        self.patient_space_label.setWordWrap(True)
        self.patient_space_label.hide()
        # What the period leaves out, and the one key that shows it (« Tout »).
        self.older_label = QLabel(self)
        self.older_label.setObjectName("olderDocumentsLabel")
        self.older_label.setWordWrap(True)
        self.older_button = QPushButton(self.tr("Tout afficher"), self)
        self.older_button.setObjectName("showAllPeriodsButton")
        self.older_button.setAutoDefault(False)
        self.older_button.setAccessibleName(
            self.tr("Afficher les documents de toutes les périodes")
        )
        self.older_button.clicked.connect(self.widen_period)
        older_row = QHBoxLayout()
        older_row.setContentsMargins(0, 0, 0, 0)
        older_row.addWidget(self.older_label, 1)
        older_row.addWidget(self.older_button)
        self.older_box = QWidget(self)
        self.older_box.setObjectName("olderDocuments")
        self.older_box.setLayout(older_row)
        self.older_box.hide()
        self.loading_label = QLabel(self.tr("Recherche des documents dans le DMP…"), self)
        self.loading_label.setObjectName("documentsLoading")
        self.loading_label.hide()

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("documentsFilter")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setPlaceholderText(self.tr("Titre, type, auteur… (Ctrl+F)"))
        self.filter_edit.setAccessibleName(self.tr("Filtrer la liste des documents"))
        filter_label = QLabel(self.tr("Fi&ltrer :"), self)
        filter_label.setBuddy(self.filter_edit)
        self.period_combo = QComboBox(self)
        self.period_combo.setObjectName("periodCombo")
        self.period_combo.setAccessibleName(self.tr("Période"))
        for text, period in (
            (self.tr("2 ans"), Period.TWO_YEARS),
            (self.tr("5 ans"), Period.FIVE_YEARS),
            (self.tr("Tout"), Period.ALL),
        ):
            self.period_combo.addItem(text, period)
        period_label = QLabel(self.tr("Pé&riode :"), self)
        period_label.setBuddy(self.period_combo)
        row1 = QHBoxLayout()
        row1.addWidget(filter_label)
        row1.addWidget(self.filter_edit, 1)
        row1.addSpacing(8)
        row1.addWidget(period_label)
        row1.addWidget(self.period_combo)

        self.combos: dict[Column, QComboBox] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        for position, (column, everything, name) in enumerate(
            (
                (Column.TYPE, self.tr("Type : tous"), self.tr("Filtrer par type")),
                (Column.AUTHOR, self.tr("Auteur : tous"), self.tr("Filtrer par auteur")),
                (
                    Column.SPECIALTY,
                    self.tr("Spécialité : toutes"),
                    self.tr("Filtrer par spécialité"),
                ),
                (
                    Column.CATEGORY,
                    self.tr("Catégorie : toutes"),
                    self.tr("Filtrer par catégorie"),
                ),
                (Column.STATUS, self.tr("Statut : tous"), self.tr("Filtrer par statut")),
            )
        ):
            combo = QComboBox(self)
            combo.setObjectName(f"{column.name.lower()}Combo")
            combo.setAccessibleName(name)
            combo.setToolTip(name)
            combo.addItem(everything, None)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(12)
            combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.combos[column] = combo
            grid.addWidget(combo, position // 3, position % 3)

        include_label = QLabel(self.tr("Inclure :"), self)
        self.archived_check = QCheckBox(self.tr("arc&hivés"), self)
        self.archived_check.setObjectName("archivedCheck")
        # Short words: beside an open document the list is narrow and must stay whole.
        self.deprecated_check = QCheckBox(self.tr("o&bsolètes"), self)
        self.deprecated_check.setObjectName("deprecatedCheck")
        self.deprecated_check.setToolTip(self.tr("Documents remplacés par une nouvelle version"))
        self.masked_check = QCheckBox(self.tr("&masqués"), self)
        self.masked_check.setObjectName("maskedCheck")
        self.patient_space_check = QCheckBox(self.tr("&Espace du patient seulement"), self)
        self.patient_space_check.setObjectName("patientSpaceCheck")
        self.patient_space_check.setToolTip(
            self.tr(
                "Personnes à prévenir, allergies et intolérances, directives anticipées et "
                "documents ajoutés par le patient"
            )
        )
        row3 = QHBoxLayout()
        row3.addWidget(include_label)
        row3.addWidget(self.archived_check)
        row3.addWidget(self.deprecated_check)
        row3.addWidget(self.masked_check)
        row3.addStretch(1)
        row3.addWidget(self.patient_space_check)

        self.table = QTableView(self)
        self.table.setObjectName("documentsTable")
        self.table.setAccessibleName(self.tr("Documents du patient"))
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(int(Column.DATE), Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(int(Column.NEW), QHeaderView.ResizeMode.Fixed)
        header.resizeSection(int(Column.NEW), self.fontMetrics().horizontalAdvance("●") + 18)
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(28)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)

        hint = QLabel(
            self.tr(
                "Entrée : ouvrir · Alt+↑/↓ : document précédent/suivant · F5 : actualiser · "
                "● nouveau · ✎ ajouté par le patient · glissez un fichier ici pour l'envoyer "
                "au DMP (Ctrl+U)"
            ),
            self,
        )
        hint.setObjectName("documentsHint")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(placeholder-text);")

        # Beside an open document the list is narrow: wrapped texts keep their lines.
        keep_wrapped_height(self.notice_label, hint)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 6)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.new_label)
        layout.addWidget(self.notice_label)
        layout.addWidget(self.patient_space_label)
        layout.addWidget(self.older_box)
        layout.addLayout(row1)
        layout.addLayout(grid)
        layout.addLayout(row3)
        layout.addWidget(self.loading_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)

        self._filter_keys = _FilterKeys(self.table, self)
        self.filter_edit.installEventFilter(self._filter_keys)
        self.filter_edit.textChanged.connect(self.proxy.set_text_filter)
        self.patient_space_check.toggled.connect(self.proxy.set_patient_space_only)
        for column, combo in self.combos.items():
            combo.currentIndexChanged.connect(
                lambda _i, c=column, box=combo: self.proxy.set_choice(c, box.currentData())
            )
        self.proxy.rowsInserted.connect(self.update_counts)
        self.proxy.rowsRemoved.connect(self.update_counts)
        self.proxy.modelReset.connect(self.update_counts)
        self.proxy.layoutChanged.connect(self.update_counts)

    # -- scope ----------------------------------------------------------------------------
    def scope(self) -> ListScope:
        period = self.period_combo.currentData()
        return ListScope(
            period if isinstance(period, Period) else Period.TWO_YEARS,
            self.archived_check.isChecked(),
            self.deprecated_check.isChecked(),
            self.masked_check.isChecked() and self.masked_check.isEnabled(),
        )

    def show_scope(self, scope: ListScope) -> None:
        for widget in (self.period_combo, self.archived_check, self.deprecated_check):
            widget.blockSignals(True)
        self.masked_check.blockSignals(True)
        try:
            self.period_combo.setCurrentIndex(max(0, self.period_combo.findData(scope.period)))
            self.archived_check.setChecked(scope.archived)
            self.deprecated_check.setChecked(scope.deprecated)
            self.masked_check.setChecked(scope.masked)
        finally:
            for widget in (self.period_combo, self.archived_check, self.deprecated_check):
                widget.blockSignals(False)
            self.masked_check.blockSignals(False)

    def allow_masked(self, allowed: bool) -> None:
        self.masked_check.setEnabled(allowed)
        if allowed:
            self.masked_check.setToolTip(
                self.tr(
                    "Documents masqués aux professionnels : visibles par vous seul, "
                    "médecin traitant DMP du patient."
                )
            )
        else:
            self.masked_check.setToolTip(
                self.tr(
                    "Documents masqués aux professionnels : réservé au médecin traitant DMP "
                    "du patient."
                )
            )

    # -- content --------------------------------------------------------------------------
    def show_list(self, listing: DocumentList) -> None:
        """Show ``listing``: at once when short, else prepared off the UI thread (rows,
        order, filters, what is shown), then put in the model in one go; in batches
        (newest first) when the filter or the order changed meanwhile. The window never
        pauses either way."""
        current = self.current_entry()
        keep = current.unique_id if current is not None else None
        self._generation += 1
        generation = self._generation
        entries = listing.entries
        shown = self.proxy.list_filter(choices=self._chosen(), scope=self.scope())

        def prepare() -> PreparedList:
            with heap.kept_out_of_collection():  # rows live as long as the list
                return prepare_list(entries, shown, new_ids=listing.new_ids)

        if len(entries) <= SYNC_ROWS:
            self._fill(generation, listing, prepare(), keep)
            return
        self.filling = True
        self._runner.run(
            Operation(
                self.tr("Préparation de la liste des documents"),
                prepare,
                lambda prepared: self._fill(generation, listing, prepared, keep),
                lambda _exc: self._fill(generation, listing, prepare(), keep),  # re-raises here
                silent=True,
            )
        )

    def _chosen(self) -> dict[Column, str | None]:
        """What each filter combo says (None: « tous »)."""
        return {column: combo.currentData() for column, combo in self.combos.items()}

    def _fill(
        self, generation: int, listing: DocumentList, prepared: PreparedList, keep: str | None
    ) -> None:
        if generation != self._generation:
            return  # another list (or none) replaced this one meanwhile
        rows = prepared.rows
        self.filling = True
        self._refill_combos(prepared)
        choices, scope = self._chosen(), self.scope()
        whole = self.proxy.list_filter(choices=choices, scope=scope) == prepared.shown
        previous = self.model.rows
        if whole:
            # The rows shown were computed for this very filter: one reset, no batch.
            self.proxy.expect(prepared, choices, scope)
            self.model.set_rows(rows, listing.new_ids, prepared.index)
        else:
            self.model.set_rows(rows[:FIRST_BATCH], listing.new_ids)
            self.proxy.set_filters(choices, scope)
        self._let_go(previous)
        self._show_patient_space(prepared.patient_space)
        self._size_columns(prepared)
        if listing.new_count:
            self.new_label.setText(new_count_text(listing.new_count))
            self.new_label.setAccessibleName(self.new_label.text().lstrip("● "))
            self.new_label.show()
        else:
            self.new_label.setText("")
            self.new_label.hide()
        self._append(generation, rows, len(rows) if whole else FIRST_BATCH, keep)

    def show_older(self, older: OlderDocuments | None) -> None:
        """Say what the period leaves out, and the one key that shows every date.

        The count is what the window already holds (the doctor widened earlier for this
        patient), never asked of the DMP: a search the doctor did not ask for is traced
        in the patient's record, and the first automatic search covers at most 2 years
        (a homologation rule). Unknown: the older documents were not searched.
        """
        if older is None:
            self.older_label.setText("")
            self.older_box.hide()
            return
        self.older_label.setText(
            older_documents_fr(older, self.tr("Ctrl+Shift+T pour toutes les périodes"))
        )
        self.older_button.setVisible(not (older.exact and older.count == 0))
        self.older_box.show()

    def widen_period(self) -> bool:
        """« Tout » in the period list (the DMP is asked for the older documents)."""
        index = self.period_combo.findData(Period.ALL)
        if index < 0 or self.period_combo.currentIndex() == index:
            return False
        self.period_combo.setCurrentIndex(index)
        return True

    def _append(self, generation: int, rows: list[Row], start: int, keep: str | None) -> None:
        """The next batch of a long list, then yield to the event loop."""
        if generation != self._generation:
            return
        if start < len(rows):
            self.model.append_rows(rows[start : start + BATCH])
            QTimer.singleShot(0, lambda: self._append(generation, rows, start + BATCH, keep))
            return
        if keep is not None:
            index = self.proxy.index_of(keep)
            if index.isValid():
                select_row(self.table, index.row())
        self.update_counts()
        self.filling = False
        self.filled.emit()

    def _size_columns(self, prepared: PreparedList) -> None:
        """Columns as wide as their longest texts (measured on a few, never on every row)."""
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        bold = QFont(self.table.font())
        bold.setBold(True)
        bold_metrics = QFontMetrics(bold)  # new rows are bold
        padding = 2 * self.table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 12
        for column in Column:
            if column is Column.NEW:
                header.resizeSection(int(column), metrics.horizontalAdvance("●") + 18)
                continue
            title = str(self.model.headerData(int(column), Qt.Orientation.Horizontal) or "")
            width = metrics.horizontalAdvance(title) + 24  # the sort indicator
            for text in prepared.widest.get(column, ()):
                width = max(width, bold_metrics.horizontalAdvance(text) + padding)
            limit = MAX_TITLE_WIDTH if column is Column.TITLE else MAX_COLUMN_WIDTH
            header.resizeSection(int(column), min(width, limit))

    def _refill_combos(self, prepared: PreparedList) -> None:
        """The combos hold the list's values; a choice absent from the list becomes « tous »
        (the proxy is told by the caller)."""
        for column, combo in self.combos.items():
            chosen = combo.currentData()
            combo.blockSignals(True)
            try:
                while combo.count() > 1:
                    combo.removeItem(1)
                for value in prepared.distinct.get(column, ()):
                    combo.addItem(value, value)
                index = combo.findData(chosen) if chosen is not None else 0
                combo.setCurrentIndex(max(0, index))
            finally:
                combo.blockSignals(False)

    def _show_patient_space(self, labels: Sequence[str]) -> None:
        """One line naming what the patient's space holds, for the doctor to find it."""
        if not labels:
            self.patient_space_label.hide()
            self.patient_space_label.setText("")
            return
        self.patient_space_label.setText(
            self.tr("Espace du patient : {items} (Alt+E pour ne voir que ceux-là)").format(
                items=" · ".join(labels)
            )
        )
        self.patient_space_label.show()

    def update_counts(self, *_args: object) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        if total == 0:
            text = self.tr("aucun document")
        elif shown == total:
            text = self.tr("{n} document(s)").format(n=total)
        else:
            text = self.tr("{shown} affiché(s) sur {total}").format(shown=shown, total=total)
        self.count_label.setText(text)

    def set_notice(self, tone: Tone, text: str) -> None:
        set_tone(self.notice_label, tone, text)

    def current_entry(self) -> DocumentEntry | None:
        return self.proxy.entry_at(self.table.currentIndex())

    def _let_go(self, rows: list[Row]) -> None:
        """The rows of a list no longer shown: a long one is freed off the UI thread."""
        if len(rows) <= SYNC_ROWS:
            return  # freed here, at once
        try:
            self._runner.executor.submit(free_rows, rows)
        except RuntimeError:  # the page is closing: freed here
            return

    def settle(self) -> None:
        """Wait until the lists let go are freed (a benchmark's next measure, a test)."""
        try:
            self._runner.executor.submit(lambda: None).result()  # after them: one worker
        except RuntimeError:  # the page is closing
            return

    def clear(self) -> None:
        self._generation += 1  # a list being filled stops here
        self.filling = False
        previous = self.model.rows
        self.model.clear()
        self._let_go(previous)
        self.proxy.clear_filters()
        self.filter_edit.setText("")
        self.patient_space_check.setChecked(False)
        self.patient_space_label.hide()
        for combo in self.combos.values():
            combo.blockSignals(True)
            while combo.count() > 1:
                combo.removeItem(1)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self.show_scope(ListScope())
        self.proxy.set_scope(ListScope())
        self.new_label.setText("")
        self.new_label.hide()
        self.older_label.setText("")
        self.older_box.hide()
        set_tone(self.notice_label, Tone.INFO, "")
        self.loading_label.hide()
        self.treating_button.hide()
        self.update_counts()


class DocumentsPane(QFrame):
    """What the doctor sees of the patient's documents, driven by the consultation service."""

    openRequested = Signal(object, bool)  # DocumentEntry, transient (preview)
    emergencyRequested = Signal()
    treatingRequested = Signal()

    def __init__(self, service: ConsultationService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("documentsPane")
        self.service = service
        self.consent_page = ConsentPage(self)
        self.message_page = MessagePage(self)
        self.list_page = DocumentListPage(self)
        self.stack = QStackedWidget(self)
        for page in (self.message_page, self.consent_page, self.list_page):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.last_list: DocumentList | None = None

        page = self.list_page
        self.consent_page.yes_button.clicked.connect(self._on_yes)
        self.consent_page.no_button.clicked.connect(self._on_no)
        self.consent_page.emergency_button.clicked.connect(self.emergencyRequested)
        self.message_page.emergency_button.clicked.connect(self.emergencyRequested)
        self.message_page.again_button.clicked.connect(service.ask_consent_again)
        page.treating_button.clicked.connect(self.treatingRequested)
        page.table.activated.connect(self._on_activated)
        page.period_combo.currentIndexChanged.connect(self._on_scope_edited)
        for check in (page.archived_check, page.deprecated_check, page.masked_check):
            check.toggled.connect(self._on_scope_edited)

        service.stateChanged.connect(self._on_state)
        service.documentsReady.connect(self._on_documents)
        service.documentsFailed.connect(self._on_documents_failed)
        service.loadingChanged.connect(self._on_loading)
        service.scopeChanged.connect(self._on_scope)
        service.busyChanged.connect(self.consent_page.set_busy)
        service.authorizationFailed.connect(self._on_authorization_failed)
        self._on_state(service.state)

    # -- the doctor's answers ----------------------------------------------------------------
    def _on_yes(self) -> None:
        treating = self.consent_page.treating_check.isVisible() and (
            self.consent_page.treating_check.isChecked()
        )
        self.service.record_consent(treating_physician=treating)

    def _on_no(self) -> None:
        self.service.decline_consent()

    def _on_activated(self, index: QModelIndex) -> None:
        entry = self.list_page.proxy.entry_at(index)
        if entry is not None:
            self.openRequested.emit(entry, False)

    def _on_scope_edited(self, *_args: object) -> None:
        self.service.set_scope(self.list_page.scope())

    # -- the service's answers -------------------------------------------------------------
    def _on_state(self, state: PaneState) -> None:
        page = self.message_page
        status = self.service.status
        female = status is not None and status.is_female
        if state is PaneState.DOCUMENTS:
            self.list_page.allow_masked(self.service.may_see_masked)
            self.list_page.treating_button.setVisible(self.service.may_declare_treating_physician)
            self.stack.setCurrentWidget(self.list_page)
            return
        if state is PaneState.ASK_CONSENT:
            practitioner = self.service.practitioner
            self.consent_page.reset(
                expired=status is not None and status.authorization is Authorization.EXPIRE,
                doctor=practitioner is not None and practitioner.profession_code == "10",
                female=female,
            )
            self.consent_page.emergency_button.setVisible(self.service.may_use_emergency_access)
            self.stack.setCurrentWidget(self.consent_page)
            return
        self.last_list = None
        if state is PaneState.EMPTY:
            self.list_page.clear()
            page.show_message(
                "",
                self.tr(
                    "Les documents du patient s'afficheront ici, dès que son DMP aura été "
                    "vérifié et que vous y aurez accès."
                ),
                Tone.NEUTRAL,
            )
        elif state is PaneState.NO_DMP:
            page.show_message(
                self.tr("Pas de DMP"),
                self.tr("Cette patiente n'a pas de DMP : il n'y a aucun document à consulter.")
                if female
                else self.tr("Ce patient n'a pas de DMP : il n'y a aucun document à consulter."),
                Tone.INFO,
            )
        elif state is PaneState.CLOSED:
            page.show_message(
                self.tr("DMP fermé"),
                self.tr(
                    "Le DMP de cette patiente est fermé : ses documents ne sont plus consultables."
                )
                if female
                else self.tr(
                    "Le DMP de ce patient est fermé : ses documents ne sont plus consultables."
                ),
                Tone.INFO,
            )
        elif state is PaneState.STAFF:
            page.show_message(
                self.tr("Consultation réservée aux professionnels de santé"),
                self.tr(
                    "Votre carte de personnel de structure permet d'alimenter le DMP, "
                    "pas de le consulter."
                ),
                Tone.INFO,
            )
        elif state is PaneState.BLOCKED:
            page.show_message(
                self.tr("Accès refusé par la patiente")
                if female
                else self.tr("Accès refusé par le patient"),
                self.tr(
                    "La patiente vous a bloqué : vous ne pouvez pas consulter son DMP, même en "
                    "urgence. Seule la patiente peut lever ce blocage, depuis Mon espace santé "
                    "ou auprès de sa caisse d'assurance maladie."
                )
                if female
                else self.tr(
                    "Le patient vous a bloqué : vous ne pouvez pas consulter son DMP, même en "
                    "urgence. Seul le patient peut lever ce blocage, depuis Mon espace santé ou "
                    "auprès de sa caisse d'assurance maladie."
                ),
                Tone.ERROR,
            )
        elif state is PaneState.DECLINED:
            page.show_message(
                self.tr("Pas de consentement"),
                self.tr(
                    "Vous avez indiqué que la patiente ne consent pas : rien n'a été "
                    "enregistré et son DMP reste fermé pour vous."
                )
                if female
                else self.tr(
                    "Vous avez indiqué que le patient ne consent pas : rien n'a été enregistré "
                    "et son DMP reste fermé pour vous."
                ),
                Tone.WARNING,
                again=True,
                emergency=self.service.may_use_emergency_access,
            )
        self.stack.setCurrentWidget(page)

    def _on_documents(self, listing: DocumentList) -> None:
        first = self.last_list is None or self.last_list.ins != listing.ins
        self.last_list = listing
        page = self.list_page
        page.show_list(listing)
        page.show_older(self.service.older_documents())
        if listing.tracking_problem:
            page.set_notice(Tone.WARNING, listing.tracking_problem)
        elif listing.changes is not None:
            when = listing.refreshed_at or utc_now()
            page.set_notice(
                Tone.INFO if not listing.changes.empty else Tone.OK,
                self.tr("Liste actualisée à {time} : {changes}.").format(
                    time=fr_time(when), changes=listing.changes.summary_fr()
                ),
            )
        elif listing.first_consultation and first:
            page.set_notice(
                Tone.INFO,
                self.tr(
                    "Première consultation de ce DMP sur ce poste : les nouveaux documents "
                    "seront signalés à partir de la prochaine."
                ),
            )
        elif first:
            page.set_notice(Tone.INFO, "")

    def _on_documents_failed(self, message: str) -> None:
        self.list_page.set_notice(Tone.ERROR, message)

    def _on_loading(self, loading: bool) -> None:
        self.list_page.loading_label.setVisible(loading)

    def _on_scope(self, scope: ListScope) -> None:
        self.list_page.show_scope(scope)
        self.list_page.proxy.set_scope(scope)
        self.list_page.show_older(self.service.older_documents(scope))

    def _on_authorization_failed(self, message: str) -> None:
        if self.stack.currentWidget() is self.consent_page:
            self.consent_page.show_error(message)
        else:
            self.list_page.set_notice(Tone.ERROR, message)

    # -- keyboard -------------------------------------------------------------------------
    @property
    def table(self) -> QTableView:
        return self.list_page.table

    def focus_filter(self) -> bool:
        if self.stack.currentWidget() is not self.list_page:
            return False
        self.list_page.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.list_page.filter_edit.selectAll()
        return True

    def focus_list(self) -> None:
        focus_list(self.list_page.table)

    def widen_period(self) -> bool:
        """Ctrl+Shift+T: every period (only while the list is shown)."""
        if self.stack.currentWidget() is not self.list_page:
            return False
        return self.list_page.widen_period()

    def step(self, delta: int) -> DocumentEntry | None:
        """Move the current row by ``delta`` in the list order; returns the new current entry."""
        table = self.list_page.table
        proxy = self.list_page.proxy
        rows = proxy.rowCount()
        if rows == 0 or self.stack.currentWidget() is not self.list_page:
            return None
        current = table.currentIndex()
        row = current.row() + delta if current.isValid() else (0 if delta > 0 else rows - 1)
        if not 0 <= row < rows:
            return None
        select_row(table, row)
        return proxy.entry_at(proxy.index(row, int(Column.TITLE)))

    def neighbour(self, entry: DocumentEntry, delta: int) -> DocumentEntry | None:
        proxy = self.list_page.proxy
        index = proxy.index_of(entry.unique_id)
        if not index.isValid():
            return None
        row = index.row() + delta
        if not 0 <= row < proxy.rowCount():
            return None
        return proxy.entry_at(proxy.index(row, int(Column.TITLE)))

    def clear(self) -> None:
        self.last_list = None
        self.list_page.clear()
        self.consent_page.reset(expired=False, doctor=False)
        self.message_page.show_message("", "", Tone.NEUTRAL)
        self.stack.setCurrentWidget(self.message_page)


__all__ = ["FILTER_COLUMNS", "DocumentsPane", "new_count_text"]
