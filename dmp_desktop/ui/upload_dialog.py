"""The upload dialog: what is sent, to whom, by whom, and who may see it — checked at a glance.

A doctor drops a file (or presses Ctrl+U), checks the document type (the
most used ones come first; type a few letters to search the J07 value set),
answers the three visibility questions and sends. Nothing about visibility
is ever preselected: "Envoyer" stays disabled until each of the three
questions has an answer, and the pair the DMP forbids (masked from
professionals and invisible to the patient) is refused next to the
questions. The patient and the author are shown, not typed: the patient's
traits come from the DMP's answer for this INS, the author from the card.

The dialog builds an :class:`~dmp_desktop.alimentation.UploadRequest`; it
sends nothing itself. "Le patient s'oppose à l'envoi" closes it with
:attr:`UploadDialog.OBJECTION` as result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QCoreApplication, QDate, Qt, Signal
from PySide6.QtGui import QFocusEvent, QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.alimentation import (
    IMAGE_TYPES,
    MEDIA_CDA,
    MEDIA_PDF,
    MEDIA_TEXT,
    UploadRequest,
    check_upload,
    class_for_type,
    professional_types,
    search_types,
    type_code,
)
from dmp_desktop.alimentation.convert import check_source
from dmp_desktop.alimentation.doctypes import for_professionals, is_known_type
from dmp_desktop.alimentation.request import MAX_TITLE
from dmp_desktop.dates import fr_date, paris_today
from dmp_desktop.dmp.feed_errors import problem_fr
from dmp_desktop.domain.document import Code, DocumentEntry
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import PatientIdentity
from dmp_desktop.services.alimentation import UploadContext, Visibility
from dmp_desktop.smartcard.specialties import headline
from dmp_desktop.ui.style import Tone, make_primary, scaled_font, set_tone

CodeRole = int(Qt.ItemDataRole.UserRole) + 1


def _tr(text: str) -> str:
    return QCoreApplication.translate("UploadDialog", text)


# Where each problem code of the core shows in the dialog.
FIELD_OF_PROBLEM: dict[str, str] = {
    "empty_file": "file",
    "blank_text": "file",
    "file_too_large": "file",
    "unsupported_format": "file",
    "media_type_mismatch": "file",
    "corrupt_image": "file",
    "image_too_large": "file",
    "not_pdf": "file",
    "unreadable_text": "file",
    "not_a_vsm": "file",
    "ins_not_qualified": "patient",
    "identity_mismatch": "patient",
    "birthplace_missing": "patient",
    "unknown_type": "type",
    "type_not_for_professionals": "type",
    "title_missing": "title",
    "title_too_long": "title",
    "date_in_future": "date",
    "date_too_old": "date",
    "forbidden_visibility": "visibility",
    "on_behalf_of_missing": "author",
    "on_behalf_of_staff": "author",
    "on_behalf_of_not_staff": "author",
}


# Types a practice sends most, ranked right after the doctor's own usual ones when searching.
COMMON_TYPES = (
    "11488-4",  # CR ou fiche de consultation ou de visite
    "11490-0",  # lettre de liaison
    "11502-2",  # CR d'examens biologiques
    "18748-4",  # CR d'imagerie médicale
    "57833-6",  # prescription de produits de santé
    "CERT_DECL",  # certificat, déclaration
    "15507-7",  # CR de passage aux urgences
    "11506-3",  # suivi de soins par auxiliaire médical
)


def type_text(code: Code) -> str:
    """How a type reads in the list: its label, then its code."""
    return f"{code.display} ({code.code})"


def size_text(size: int) -> str:
    if size < 1024:
        return _tr("{n} octets").format(n=size)
    if size < 1024 * 1024:
        return _tr("{n} Ko").format(n=max(1, round(size / 1024)))
    return _tr("{n} Mo").format(n=f"{size / (1024 * 1024):.1f}".replace(".", ","))


def kind_text(media: str) -> str:
    if media == MEDIA_PDF:
        return _tr("document PDF")
    if media in IMAGE_TYPES:
        name = media.split("/")[1].upper()
        return _tr("image {format}, convertie en PDF à l'envoi").format(format=name)
    if media == MEDIA_TEXT:
        return _tr("texte")
    if media == MEDIA_CDA:
        return _tr("document CDA")
    return media


class TypePicker(QComboBox):
    """The document type: the doctor's usual types first, then every J07 type; type to search.

    The search (code or words of the label, accents and case ignored, "compte
    rendu" or "CR") is :func:`dmp_desktop.alimentation.search_types`.
    """

    typeChanged = Signal(object)  # Code | None

    def __init__(self, favourites: Sequence[str] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("typePicker")
        self.setEditable(True)
        self.edit = QLineEdit(self)
        self.setLineEdit(self.edit)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMaxVisibleItems(16)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(40)
        self.favourites = [
            type_code(c) for c in favourites if is_known_type(c) and for_professionals(c)
        ]
        for code in self.favourites:
            self.addItem("★ " + type_text(code), code.code)
            self.setItemData(
                self.count() - 1,
                self.tr("Un de vos types habituels"),
                Qt.ItemDataRole.ToolTipRole,
            )
        if self.favourites:
            self.insertSeparator(self.count())
        for code in professional_types():
            self.addItem(type_text(code), code.code)
        self.suggestions = QStandardItemModel(self)
        self.completer_ = QCompleter(self.suggestions, self)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setMaxVisibleItems(12)
        self.setCompleter(self.completer_)
        edit = self.edit
        edit.setPlaceholderText(
            self.tr("Tapez pour chercher : « consultation », « biologie », « 11488 »…")
        )
        edit.setClearButtonEnabled(True)
        edit.textEdited.connect(self._on_edited)
        edit.textChanged.connect(lambda _t: self._resolve())
        self.completer_.activated.connect(self._on_completion)
        self.currentIndexChanged.connect(lambda _i: self._resolve())
        self._current: Code | None = None
        self.setCurrentIndex(-1)
        edit.setText("")

    @property
    def code(self) -> Code | None:
        return self._current

    def set_type(self, code: str | None) -> None:
        """Show ``code`` as the chosen type (None: nothing chosen)."""
        if code is None:
            self.setCurrentIndex(-1)
            self.edit.setText("")
        else:
            index = self.findData(code)
            if index < 0:
                return
            self.setCurrentIndex(index)
            self.edit.setText(self.itemText(index))
        self._resolve()

    def _matches(self, text: str) -> list[Code]:
        found = search_types(text)
        usual = [c.code for c in self.favourites]
        ranked = usual + [c for c in COMMON_TYPES if c not in usual]

        def rank(code: Code) -> int:
            return ranked.index(code.code) if code.code in ranked else len(ranked)

        return sorted(found, key=rank)  # stable: the search's own order within a rank

    def _on_edited(self, text: str) -> None:
        self.suggestions.clear()
        if not text.strip():
            return
        for code in self._matches(text)[:50]:
            item = QStandardItem(type_text(code))
            item.setData(code.code, CodeRole)
            item.setEditable(False)
            self.suggestions.appendRow(item)
        if self.suggestions.rowCount():
            self.completer_.complete()

    def _on_completion(self, text: str) -> None:
        for row in range(self.suggestions.rowCount()):
            item = self.suggestions.item(row)
            code = item.data(CodeRole)
            if item.text() == text and isinstance(code, str):
                self.set_type(code)
                return

    def commit_text(self) -> None:
        """The text typed names one type only (its code, or a single match): choose it."""
        if self._current is not None:
            return
        text = self.edit.text().strip()
        if not text:
            return
        found = self._matches(text)
        exact = [c for c in found if c.code.casefold() == text.casefold()]
        if exact or len(found) == 1:
            self.set_type((exact or found)[0].code)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.commit_text()

    def _resolve(self) -> None:
        text = self.edit.text().strip()
        chosen: Code | None = None
        if text:
            for index in range(self.count()):
                value = self.itemData(index)
                if isinstance(value, str) and self.itemText(index).lstrip("★ ") == text.lstrip(
                    "★ "
                ):
                    chosen = type_code(value)
                    break
        if chosen != self._current:
            self._current = chosen
            self.typeChanged.emit(chosen)


class VisibilityChoices(QGroupBox):
    """The three visibility questions, two answers each, none preselected."""

    changed = Signal()

    def __init__(
        self,
        *,
        minor: bool,
        current: Visibility | None = None,
        parent: QWidget | None = None,
        female: bool = False,
    ) -> None:
        super().__init__(self.tr("Visibilité du document — à choisir à chaque envoi"), parent)
        self.setObjectName("visibilityChoices")
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(0, 1)
        self.groups: dict[str, QButtonGroup] = {}
        self.yes: dict[str, QRadioButton] = {}
        self.no: dict[str, QRadioButton] = {}
        self.questions: dict[str, QLabel] = {}
        minor_text = (
            self.tr(
                "Patient mineur : ses représentants légaux (parents, tuteur) ne verront pas ce "
                "document. À choisir notamment si le mineur a demandé le secret."
            )
            if minor
            else self.tr(
                "Ne concerne que les patients mineurs : cette patiente est majeure, la réponse "
                "est sans effet pour elle (répondez « Non » en général)."
            )
            if female
            else self.tr(
                "Ne concerne que les patients mineurs : ce patient est majeur, la réponse est "
                "sans effet pour lui (répondez « Non » en général)."
            )
        )
        rows = (
            (
                "masked",
                self.tr("&Masqué aux professionnels de santé ?"),
                self.tr("masqué aux professionnels"),
                self.tr(
                    "Seuls vous, la patiente et son médecin traitant DMP le verront ; les autres "
                    "professionnels ne le verront pas."
                )
                if female
                else self.tr(
                    "Seuls vous, le patient et son médecin traitant DMP le verront ; les autres "
                    "professionnels ne le verront pas."
                ),
            ),
            (
                "invisible_patient",
                self.tr("Invisible pour la &patiente ?")
                if female
                else self.tr("Invisible pour le &patient ?"),
                self.tr("invisible pour la patiente")
                if female
                else self.tr("invisible pour le patient"),
                self.tr(
                    "La patiente ne le verra pas dans Mon espace santé tant que vous ne l'aurez "
                    "pas rendu visible (par exemple avant une consultation d'annonce)."
                )
                if female
                else self.tr(
                    "Le patient ne le verra pas dans Mon espace santé tant que vous ne l'aurez "
                    "pas rendu visible (par exemple avant une consultation d'annonce)."
                ),
            ),
            (
                "invisible_legal_reps",
                self.tr("Invisible pour les &représentants légaux ?"),
                self.tr("invisible pour les représentants légaux"),
                minor_text,
            ),
        )
        row = 0
        for key, question, short, explanation in rows:
            label = QLabel(question, self)
            label.setFont(scaled_font(self, 1.0, bold=True))
            holder = QWidget(self)  # each pair apart: exclusive within, arrows stay inside
            pair = QHBoxLayout(holder)
            pair.setContentsMargins(0, 0, 0, 0)
            yes = QRadioButton(self.tr("Oui"), holder)
            no = QRadioButton(self.tr("Non"), holder)
            yes.setObjectName(f"{key}Yes")
            no.setObjectName(f"{key}No")
            yes.setAccessibleName(self.tr("{what} : oui").format(what=short))
            no.setAccessibleName(self.tr("{what} : non").format(what=short))
            pair.addWidget(yes)
            pair.addWidget(no)
            group = QButtonGroup(self)
            group.setExclusive(True)
            group.addButton(yes)
            group.addButton(no)
            group.buttonToggled.connect(lambda _b, _on: self.changed.emit())
            label.setBuddy(yes)
            note = QLabel(explanation, self)
            note.setObjectName(f"{key}Note")
            note.setWordWrap(True)
            note.setStyleSheet("color: palette(placeholder-text);")
            grid.addWidget(label, row, 0)
            grid.addWidget(holder, row, 1, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(note, row + 1, 0, 1, 2)
            grid.setRowMinimumHeight(row + 2, 6)
            row += 3
            self.groups[key] = group
            self.yes[key] = yes
            self.no[key] = no
            self.questions[key] = label
        self.message = QLabel(self)
        self.message.setObjectName("visibilityMessage")
        self.message.setWordWrap(True)
        set_tone(self.message, Tone.ERROR, "")
        grid.addWidget(self.message, row, 0, 1, 2)
        if current is not None:
            self._check(current)

    def answer(self, key: str) -> bool | None:
        if self.yes[key].isChecked():
            return True
        if self.no[key].isChecked():
            return False
        return None

    def unanswered(self) -> list[str]:
        return [key for key in self.groups if self.answer(key) is None]

    def visibility(self) -> Visibility | None:
        """The three answers, or None while one is missing."""
        masked = self.answer("masked")
        patient = self.answer("invisible_patient")
        legal = self.answer("invisible_legal_reps")
        if masked is None or patient is None or legal is None:
            return None
        return Visibility(masked, patient, legal)

    @property
    def forbidden(self) -> bool:
        return self.answer("masked") is True and self.answer("invisible_patient") is True

    def set_message(self, text: str) -> None:
        set_tone(self.message, Tone.ERROR, text)

    def first_button(self) -> QRadioButton:
        return self.yes["masked"]

    def propose(self, current: Visibility) -> bool:
        """Check ``current``'s answers if none is answered yet (never overrides a choice)."""
        if len(self.unanswered()) != len(self.groups):
            return False
        self._check(current)
        return True

    def _check(self, current: Visibility) -> None:
        for key, value in (
            ("masked", current.masked),
            ("invisible_patient", current.invisible_patient),
            ("invisible_legal_reps", current.invisible_legal_reps),
        ):
            (self.yes if value else self.no)[key].setChecked(True)


def visibility_of(entry: DocumentEntry) -> Visibility:
    """The three answers a document was sent with (what a new version is proposed)."""
    return Visibility(
        entry.masked_from_professionals,
        entry.invisible_to_patient,
        entry.invisible_to_legal_reps,
    )


def fit_wrapped_labels(dialog: QDialog) -> None:
    """Give every word-wrapped label the height its text needs at its width, then the
    dialog the height of its content (a top-level window ignores height-for-width)."""
    layout = dialog.layout()
    if layout is None:
        return
    layout.activate()
    for label in dialog.findChildren(QLabel):
        if label.wordWrap() and label.width() > 0:
            label.setMinimumHeight(label.heightForWidth(label.width()))
    layout.activate()
    dialog.resize(dialog.width(), max(dialog.height(), layout.minimumSize().height()))


def _message_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    set_tone(label, Tone.ERROR, "")
    return label


def _with_message(widget: QWidget, message: QLabel, parent: QWidget) -> QWidget:
    holder = QWidget(parent)
    column = QVBoxLayout(holder)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    column.addWidget(widget)
    column.addWidget(message)
    return holder


class UploadDialog(QDialog):
    """Check and complete what will be sent; "Envoyer" once the three questions are answered."""

    OBJECTION = 2  # result code: the patient objects to the sending

    def __init__(
        self,
        context: UploadContext,
        *,
        data: bytes | None,
        filename: str,
        media_type: str | None = None,
        replaces: DocumentEntry | None = None,
        favourites: Sequence[str] = (),
        vsm_identity: PatientIdentity | None = None,
        vsm_title: str = "",
        today: date | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("uploadDialog")
        self.setModal(True)
        self.setMinimumWidth(720)
        self.context = context
        self.data = data
        self.filename = filename
        self.replaces = replaces
        self.vsm = vsm_identity is not None
        self._vsm_identity = vsm_identity
        self.today = today or paris_today()
        self._title_auto = True
        self._setting_title = False
        self.media = MEDIA_CDA if self.vsm else media_type
        self._file_problems: list[str] = []
        if data is not None and not self.vsm:
            self.media, self._file_problems = check_source(data, media_type)

        if self.vsm:
            heading_text = self.tr("Envoyer la synthèse médicale (VSM) au DMP")
        elif replaces is not None:
            heading_text = self.tr("Remplacer un document par une nouvelle version")
        else:
            heading_text = self.tr("Envoyer un document au DMP")
        self.setWindowTitle(heading_text)
        heading = QLabel(heading_text, self)
        heading.setFont(scaled_font(self, 1.3, bold=True))

        # -- patient (shown, from the DMP's answer) --
        patient_box = QFrame(self)
        patient_box.setObjectName("uploadPatient")
        patient_box.setStyleSheet(
            "#uploadPatient { background: palette(alternate-base); border: 1px solid "
            "palette(mid); border-radius: 6px; }"
        )
        self.patient_label = QLabel(patient_box)
        self.patient_label.setObjectName("uploadPatientName")
        self.patient_label.setFont(scaled_font(self, 1.2, bold=True))
        self.patient_label.setTextFormat(Qt.TextFormat.PlainText)
        self.patient_label.setText(context.patient_name or self.tr("Patient sans nom"))
        self.patient_details = QLabel(patient_box)
        self.patient_details.setObjectName("uploadPatientDetails")
        self.patient_details.setTextFormat(Qt.TextFormat.PlainText)
        self.patient_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.patient_details.setText(self._patient_details())
        self.birthplace_edit = QLineEdit(patient_box)
        self.birthplace_edit.setObjectName("birthplaceEdit")
        self.birthplace_edit.setMaxLength(5)
        self.birthplace_edit.setMaximumWidth(110)
        self.birthplace_edit.setPlaceholderText("69383")
        self.birthplace_edit.setText(context.birthplace_guess or "")
        self.birthplace_edit.setAccessibleName(self.tr("Lieu de naissance (code INSEE)"))
        self.birthplace_edit.setToolTip(
            self.tr(
                "Code INSEE de la commune de naissance (99xxx pour un pays étranger), "
                "tel que le téléservice INSi l'a retourné. Prérempli d'après le NIR."
            )
        )
        birthplace_label = QLabel(self.tr("Lieu de &naissance (code INSEE) :"), patient_box)
        birthplace_label.setBuddy(self.birthplace_edit)
        self.patient_message = _message_label(patient_box)
        patient_layout = QGridLayout(patient_box)
        patient_layout.setContentsMargins(12, 8, 12, 8)
        patient_layout.addWidget(self.patient_label, 0, 0, 1, 3)
        patient_layout.addWidget(self.patient_details, 1, 0, 1, 3)
        patient_layout.addWidget(birthplace_label, 2, 0)
        patient_layout.addWidget(self.birthplace_edit, 2, 1)
        patient_layout.setColumnStretch(2, 1)
        patient_layout.addWidget(self.patient_message, 3, 0, 1, 3)
        if self.vsm:
            birthplace_label.hide()
            self.birthplace_edit.hide()

        # -- the document --
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setVerticalSpacing(8)
        self.file_label = QLabel(self)
        self.file_label.setObjectName("uploadFile")
        self.file_label.setTextFormat(Qt.TextFormat.PlainText)
        self.file_label.setWordWrap(self.vsm)
        self.file_label.setText(self._file_text())
        self.file_label.setToolTip(self.file_label.text())
        self.file_message = _message_label(self)
        form.addRow(
            QLabel(self.tr("Fichier :"), self),
            _with_message(self.file_label, self.file_message, self),
        )
        if replaces is not None:
            self.replaces_label = QLabel(self)
            self.replaces_label.setObjectName("uploadReplaces")
            self.replaces_label.setWordWrap(True)
            self.replaces_label.setTextFormat(Qt.TextFormat.PlainText)
            set_tone(
                self.replaces_label,
                Tone.INFO,
                self.tr(
                    "Remplace « {title} » : l'ancienne version deviendra obsolète (remplacée) "
                    "dans le DMP."
                ).format(title=replaces.title),
            )
            form.addRow(QLabel(self.tr("Remplace :"), self), self.replaces_label)

        self.type_picker = TypePicker(favourites, self)
        self.type_picker.setAccessibleName(self.tr("Type de document"))
        self.type_picker.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.class_label = QLabel(self)
        self.class_label.setObjectName("uploadClass")
        self.class_label.setStyleSheet("color: palette(placeholder-text);")
        self.type_message = _message_label(self)
        type_holder = QWidget(self)
        type_column = QVBoxLayout(type_holder)
        type_column.setContentsMargins(0, 0, 0, 0)
        type_column.setSpacing(2)
        type_column.addWidget(self.type_picker)
        type_column.addWidget(self.class_label)
        type_column.addWidget(self.type_message)
        type_caption = QLabel(self.tr("&Type de document :"), self)
        type_caption.setBuddy(self.type_picker)
        form.addRow(type_caption, type_holder)

        self.date_edit = QDateEdit(self)
        self.date_edit.setObjectName("serviceDate")
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("dd/MM/yyyy")
        self.date_edit.setMinimumDate(QDate(1900, 1, 1))
        self.date_edit.setMaximumDate(QDate(self.today.year, self.today.month, self.today.day))
        self.date_edit.setDate(QDate(self.today.year, self.today.month, self.today.day))
        self.date_edit.setAccessibleName(self.tr("Date de l'acte"))
        self.date_message = _message_label(self)
        date_caption = QLabel(self.tr("&Date de l'acte :"), self)
        date_caption.setBuddy(self.date_edit)
        date_row = QHBoxLayout()
        date_row.setContentsMargins(0, 0, 0, 0)
        date_row.addWidget(self.date_edit)
        date_row.addStretch(1)
        date_widget = QWidget(self)
        date_widget.setLayout(date_row)
        form.addRow(date_caption, _with_message(date_widget, self.date_message, self))

        self.title_edit = QLineEdit(self)
        self.title_edit.setObjectName("uploadTitle")
        self.title_edit.setMaxLength(MAX_TITLE + 20)
        self.title_edit.setAccessibleName(self.tr("Titre du document"))
        self.title_message = _message_label(self)
        title_caption = QLabel(self.tr("T&itre :"), self)
        title_caption.setBuddy(self.title_edit)
        form.addRow(title_caption, _with_message(self.title_edit, self.title_message, self))

        self.author_label = QLabel(self)
        self.author_label.setObjectName("uploadAuthor")
        self.author_label.setTextFormat(Qt.TextFormat.PlainText)
        self.author_label.setText(self._author_text())
        self.author_message = _message_label(self)
        # A staff card (secretary) sends for one of the practice's professionals:
        # chosen explicitly, never preselected.
        self.on_behalf_combo: QComboBox | None = None
        if context.practitioner.is_staff:
            combo = QComboBox(self)
            combo.setObjectName("uploadOnBehalfOf")
            combo.setAccessibleName(self.tr("Pour le compte de"))
            combo.setPlaceholderText(self.tr("Choisissez le professionnel auteur du document"))
            for professional in context.professionals:
                combo.addItem(professional.display_line, professional.national_id)
            combo.setCurrentIndex(-1)
            combo.currentIndexChanged.connect(lambda _i: self.refresh())
            self.on_behalf_combo = combo
            caption = QLabel(self.tr("Pour le &compte de :"), self)
            caption.setBuddy(combo)
            self.author_label.setText(self._author_text())
            form.addRow(caption, _with_message(combo, self.author_message, self))
            form.addRow(QLabel(self.tr("Envoyé par :"), self), self.author_label)
        else:
            form.addRow(
                QLabel(self.tr("Auteur :"), self),
                _with_message(self.author_label, self.author_message, self),
            )

        # -- visibility --
        # A new version is proposed the visibility of the one it replaces (still to confirm);
        # a VSM, that of the author's previous VSM once found (propose_replaced).
        previous = visibility_of(replaces) if replaces is not None else None
        female = (context.status.patient_gender or "").upper() == "F"
        self.choices = VisibilityChoices(
            minor=context.minor, current=previous, parent=self, female=female
        )

        # -- buttons --
        self.objection_button = QPushButton(
            self.tr("La patiente s'&oppose à l'envoi")
            if female
            else self.tr("Le patient s'&oppose à l'envoi"),
            self,
        )
        self.objection_button.setObjectName("objectionButton")
        self.objection_button.setAutoDefault(False)
        self.objection_button.setToolTip(
            self.tr(
                "Enregistre l'opposition du patient sur cet ordinateur : ce fichier ne sera "
                "jamais envoyé dans son DMP."
            )
        )
        self.objection_button.setVisible(not self.vsm)
        self.cancel_button = QPushButton(self.tr("Annuler"), self)
        self.cancel_button.setObjectName("uploadCancel")
        self.cancel_button.setAutoDefault(False)
        self.send_button = QPushButton(self.tr("&Envoyer au DMP"), self)
        self.send_button.setObjectName("uploadSend")
        make_primary(self.send_button)
        self.send_button.setDefault(True)
        self.hint_label = QLabel(self)
        self.hint_label.setObjectName("uploadHint")
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet("color: palette(placeholder-text);")
        buttons = QHBoxLayout()
        buttons.addWidget(self.objection_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.send_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.setSpacing(10)
        layout.addWidget(heading)
        layout.addWidget(patient_box)
        layout.addLayout(form)
        layout.addWidget(self.choices)
        layout.addWidget(self.hint_label)
        layout.addLayout(buttons)

        # -- starting values --
        if self.vsm:
            self.type_picker.set_type("SYNTH")
            self.type_picker.setEnabled(False)
            self.date_edit.setEnabled(False)
            self.title_edit.setText(vsm_title or self.tr("Synthèse médicale"))
            self.title_edit.setReadOnly(True)
            self._title_auto = False
        elif replaces is not None:
            if is_known_type(replaces.type_code.code):
                self.type_picker.set_type(replaces.type_code.code)
            self._set_title(replaces.title)
            self._title_auto = False
        elif self.type_picker.favourites:
            self.type_picker.set_type(self.type_picker.favourites[0].code)

        self.type_picker.typeChanged.connect(self._on_type_changed)
        self.date_edit.dateChanged.connect(self._on_date_changed)
        self.title_edit.textEdited.connect(self._on_title_edited)
        self.birthplace_edit.textEdited.connect(lambda _t: self.refresh())
        self.choices.changed.connect(self.refresh)
        self.send_button.clicked.connect(self.try_accept)
        self.cancel_button.clicked.connect(self.reject)
        self.objection_button.clicked.connect(self._on_objection)
        self._on_type_changed(self.type_picker.code)
        self.setTabOrder(self.type_picker, self.date_edit)
        self.setTabOrder(self.date_edit, self.title_edit)
        self.setTabOrder(self.title_edit, self.birthplace_edit)
        self.setTabOrder(self.birthplace_edit, self.choices.yes["masked"])
        self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        fit_wrapped_labels(self)

    # -- shown texts ------------------------------------------------------------------------
    def _patient_details(self) -> str:
        status = self.context.status
        parts: list[str] = []
        if status.patient_birth_date is not None:
            when = fr_date(status.patient_birth_date)
            gender = (status.patient_gender or "").upper()
            if gender == "F":
                parts.append(self.tr("née le {date}").format(date=when))
            elif gender == "M":
                parts.append(self.tr("né le {date}").format(date=when))
            else:
                parts.append(self.tr("date de naissance : {date}").format(date=when))
        parts.append(self.tr("INS {ins}").format(ins=status.ins.value))
        if self.context.minor:
            parts.append(self.tr("patient mineur"))
        return " · ".join(parts)

    def _file_text(self) -> str:
        if self.vsm:
            return self.tr(
                "La synthèse rédigée dans l'éditeur (document CDA structuré) ; elle remplace "
                "votre synthèse précédente si le DMP en contient une."
            )
        size = len(self.data) if self.data is not None else 0
        details = [size_text(size)]
        if self.media:
            details.insert(0, kind_text(self.media))
        return f"{self.filename} — {', '.join(details)}"

    def _author_text(self) -> str:
        practitioner = self.context.practitioner
        text = headline(practitioner)
        if self.context.structure_name:
            text += " — " + self.context.structure_name
        if practitioner.is_staff:
            text += " " + self.tr("(personnel de structure)")
        return text

    # -- changes ----------------------------------------------------------------------------
    def _set_title(self, text: str) -> None:
        self._setting_title = True
        try:
            self.title_edit.setText(text)
        finally:
            self._setting_title = False

    def _auto_title(self) -> None:
        code = self.type_picker.code
        if not self._title_auto or code is None:
            return
        when = self.service_date()
        self._set_title(self.tr("{type} du {date}").format(type=code.display, date=fr_date(when)))

    def _on_type_changed(self, code: Code | None) -> None:
        if code is None:
            self.class_label.setText("")
        else:
            self.class_label.setText(
                self.tr("Catégorie : {category}").format(category=class_for_type(code.code).display)
            )
        self._auto_title()
        self.refresh()

    def _on_date_changed(self, _date: QDate) -> None:
        self._auto_title()
        self.refresh()

    def _on_title_edited(self, _text: str) -> None:
        if not self._setting_title:
            self._title_auto = False
        self.refresh()

    def _on_objection(self) -> None:
        self.done(self.OBJECTION)

    # -- checks -----------------------------------------------------------------------------
    def service_date(self) -> date:
        value = self.date_edit.date().toPython()
        return value if isinstance(value, date) else self.today

    def identity(self) -> PatientIdentity | None:
        if self._vsm_identity is not None:
            return self._vsm_identity
        return self.context.identity(self.birthplace_edit.text())

    def field_problems(self) -> dict[str, list[str]]:
        """French messages per field (file, patient, type, title, date, visibility)."""
        codes: list[str] = list(self._file_problems)
        identity = self.identity()
        if identity is None:
            codes.append("ins_not_qualified")
        elif not identity.birthplace_code:
            codes.append("birthplace_missing")
        code = self.type_picker.code
        if code is not None and not for_professionals(code.code):
            codes.append("type_not_for_professionals")
        title = self.title_edit.text().strip()
        if not title:
            codes.append("title_missing")
        elif len(title) > MAX_TITLE:
            codes.append("title_too_long")
        if self.service_date() > self.today:
            codes.append("date_in_future")
        if self.choices.forbidden:
            codes.append("forbidden_visibility")
        out: dict[str, list[str]] = {}
        if self.on_behalf_combo is not None and not self.context.professionals:
            out["author"] = [
                self.tr(
                    "Aucun professionnel du cabinet n'est renseigné dans les paramètres : un "
                    "secrétariat envoie pour le compte d'un professionnel. Demandez à "
                    "l'administrateur de compléter la liste des professionnels du cabinet."
                )
            ]
        elif self.on_behalf_combo is not None and self.on_behalf_of() is None:
            codes.append("on_behalf_of_missing")
        if not self.context.structure_id or not self.context.structure_name:
            out.setdefault("author", []).append(
                self.tr(
                    "Votre structure (identifiant et nom) n'est pas connue : renseignez-la dans "
                    "les paramètres (Ctrl+,), elle figure dans l'en-tête du document."
                )
            )
        for problem in codes:
            out.setdefault(FIELD_OF_PROBLEM.get(problem, "file"), []).append(problem_fr(problem))
        if code is None:
            out.setdefault("type", []).append(
                self.tr("Choisissez le type du document dans la liste (tapez pour chercher).")
            )
        return out

    def refresh(self) -> None:
        problems = self.field_problems()
        self._show(problems)
        missing = self.choices.unanswered()
        ready = not problems and not missing
        self.send_button.setEnabled(ready)
        if missing:
            count = len(missing)
            hint = (
                self.tr("Pour envoyer, répondez à la question de visibilité restante.")
                if count == 1
                else self.tr("Pour envoyer, répondez aux {n} questions de visibilité.").format(
                    n=count
                )
            )
        elif problems:
            hint = self.tr("Corrigez ce qui est signalé pour pouvoir envoyer.")
        else:
            hint = self.tr("Prêt : « Envoyer au DMP » (Entrée).")
        self.hint_label.setText(hint)
        self.send_button.setToolTip("" if ready else hint)

    def _show(self, problems: dict[str, list[str]]) -> None:
        for key, label in (
            ("file", self.file_message),
            ("patient", self.patient_message),
            ("type", self.type_message),
            ("title", self.title_message),
            ("date", self.date_message),
            ("author", self.author_message),
        ):
            set_tone(label, Tone.ERROR, "\n".join(problems.get(key, [])))
        typed = bool(self.type_picker.edit.text().strip())
        if "type" in problems and not typed and self.type_picker.code is None:
            set_tone(self.type_message, Tone.NEUTRAL, problems["type"][0])
        self.choices.set_message("\n".join(problems.get("visibility", [])))

    def propose_replaced(self, previous: DocumentEntry) -> bool:
        """Propose the visibility of the document this one replaces, found after the dialog
        opened (a VSM: the author's previous VSM); never overrides an answer already given."""
        if not self.choices.propose(visibility_of(previous)):
            return False
        self.choices.setToolTip(
            self.tr(
                "Réponses proposées : celles de « {title} », que cet envoi remplace (à confirmer)."
            ).format(title=previous.title)
        )
        return True

    # -- the result -------------------------------------------------------------------------
    def visibility(self) -> Visibility | None:
        return self.choices.visibility()

    def on_behalf_of(self) -> Practitioner | None:
        """The professional a staff card sends for (None: none chosen, or not a staff card)."""
        combo = self.on_behalf_combo
        if combo is None or combo.currentIndex() < 0:
            return None
        national_id = combo.currentData()
        return next((p for p in self.context.professionals if p.national_id == national_id), None)

    def request(self) -> UploadRequest:
        """What the doctor checked (file mode); raises ValueError while something is missing."""
        code = self.type_picker.code
        visibility = self.visibility()
        if self.data is None or code is None or visibility is None:
            raise ValueError("incomplete upload")
        return UploadRequest(
            patient=self.context.ins,
            source=self.data,
            filename=self.filename,
            media_type=None,
            type_code=code,
            service_date=self.service_date(),
            title=" ".join(self.title_edit.text().split()),
            masked=visibility.masked,
            invisible_patient=visibility.invisible_patient,
            invisible_legal_reps=visibility.invisible_legal_reps,
            replaces=self.replaces,
            identity=self.identity(),
            on_behalf_of=self.on_behalf_of(),
        )

    def clear(self) -> None:
        """Forget the patient and the file (the card left): no name, INS or title remains."""
        self.data = None
        for label in self.findChildren(QLabel):
            label.setText("")
        for edit in self.findChildren(QLineEdit):
            edit.setText("")

    def try_accept(self) -> bool:
        """Accept when everything is answered and the core finds nothing to say."""
        self.type_picker.commit_text()
        self.refresh()
        if not self.send_button.isEnabled():
            return False
        if not self.vsm:
            problems = check_upload(
                self.request(), today=self.today, holder=self.context.practitioner
            )
            if problems:
                grouped: dict[str, list[str]] = {}
                for problem in problems:
                    grouped.setdefault(FIELD_OF_PROBLEM.get(problem, "file"), []).append(
                        problem_fr(problem)
                    )
                self._show(grouped)
                self.send_button.setEnabled(False)
                return False
        self.accept()
        return True


class VisibilityDialog(QDialog):
    """« Modifier la visibilité… »: the three questions about a document already in the DMP."""

    def __init__(self, entry: DocumentEntry, *, minor: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("visibilityDialog")
        self.setWindowTitle(self.tr("Modifier la visibilité"))
        self.setModal(True)
        self.setMinimumWidth(600)
        self.entry = entry
        heading = QLabel(self.tr("Visibilité de « {title} »").format(title=entry.title), self)
        heading.setFont(scaled_font(self, 1.15, bold=True))
        heading.setWordWrap(True)
        heading.setTextFormat(Qt.TextFormat.PlainText)
        self.choices = VisibilityChoices(
            minor=minor,
            current=visibility_of(entry),
            parent=self,
        )
        self.choices.setTitle(self.tr("Visibilité du document"))
        self.ok_button = QPushButton(self.tr("&Enregistrer"), self)
        self.ok_button.setObjectName("visibilityOk")
        make_primary(self.ok_button)
        self.ok_button.setDefault(True)
        cancel = QPushButton(self.tr("Annuler"), self)
        cancel.setAutoDefault(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.ok_button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.choices)
        layout.addLayout(buttons)
        self.choices.changed.connect(self.refresh)
        self.ok_button.clicked.connect(self.try_accept)
        cancel.clicked.connect(self.reject)
        self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        fit_wrapped_labels(self)

    def refresh(self) -> None:
        forbidden = self.choices.forbidden
        self.choices.set_message(problem_fr("forbidden_visibility") if forbidden else "")
        self.ok_button.setEnabled(self.choices.visibility() is not None and not forbidden)

    def visibility(self) -> Visibility | None:
        return self.choices.visibility()

    def try_accept(self) -> bool:
        self.refresh()
        if not self.ok_button.isEnabled():
            return False
        self.accept()
        return True


__all__ = [
    "FIELD_OF_PROBLEM",
    "TypePicker",
    "UploadDialog",
    "VisibilityChoices",
    "VisibilityDialog",
    "kind_text",
    "size_text",
    "type_text",
]
