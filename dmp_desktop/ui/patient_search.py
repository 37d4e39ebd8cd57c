"""Finding the patient in the window: the matches under the patient field, and the INSi search.

* :class:`CandidatesModel` / :class:`MatchesList`: the patients the field
  designates (recent patients first, then the DMP's), one line each, keyboard
  first: Down from the field enters the list, Enter opens the patient,
  Escape (or Up on the first line) goes back to the field.
* :class:`InsiSearchDialog`: the search by identity traits (INSi, then the
  DMP): birth name, birth first names, sex, birth date, birthplace; answers
  ``00`` (the qualified identity, « Ouvrir ce patient »), ``01`` / ``02``
  (what to try, the focus on the trait to complete).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.dates import fr_date
from dmp_desktop.identity.traits import InsIdentity, TraitsError, TraitsQuery
from dmp_desktop.ui.style import Tone, make_primary, scaled_font, set_tone
from dmp_desktop.usecases.patients import Candidate, PatientQuery, TraitsSearch, parse_date_text

ModelIndex = QModelIndex | QPersistentModelIndex


def tr(text: str) -> str:
    return QCoreApplication.translate("PatientSearch", text)


def born_text(identity: InsIdentity) -> str:
    when = fr_date(identity.traits.birth_date)
    if identity.traits.sex == "F":
        return tr("née le {date}").format(date=when)
    if identity.traits.sex == "M":
        return tr("né le {date}").format(date=when)
    return tr("né(e) le {date}").format(date=when)


def _dmp_text(state: str | None) -> str:
    if state == "active":
        return tr("DMP actif")
    if state in ("terminated", "closed"):
        return tr("DMP fermé")
    return ""


def candidate_text(candidate: Candidate) -> str:
    """Two lines: who (name, birth name, birth), then INS, DMP, source and qualification."""
    identity = candidate.identity
    who = [identity.display_name]
    if identity.birth_name_line:
        who.append(identity.birth_name_line)
    who.append(born_text(identity))
    what = [tr("INS {ins}").format(ins=identity.ins.value)]
    dmp = _dmp_text(candidate.dmp_state)
    if dmp:
        what.append(dmp)
    if identity.qualified:
        what.append(tr("identité qualifiée"))
    if candidate.recent:
        what.append(tr("récent"))
    if candidate.differs_from_insi:
        what.append(tr("ATTENTION : INS différent de l'INSi"))
    return ", ".join(who) + "\n" + " · ".join(what)


class CandidatesModel(QAbstractListModel):
    """The matches offered; the last row, when shown, asks INSi (:data:`INSI_ROW`)."""

    CandidateRole = Qt.ItemDataRole.UserRole + 1
    INSI_ROW = "insi"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[Candidate] = []
        self._insi_row = False

    def set_candidates(self, items: list[Candidate], *, insi_row: bool) -> None:
        self.beginResetModel()
        self._items = list(items)
        self._insi_row = insi_row
        self.endResetModel()

    def clear(self) -> None:
        self.set_candidates([], insi_row=False)

    @property
    def candidates(self) -> list[Candidate]:
        return list(self._items)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt API
        if parent.isValid():
            return 0
        return len(self._items) + (1 if self._insi_row else 0)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        row = index.row()
        if row == len(self._items):  # the INSi row
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
                return tr("Rechercher l'INS avec les traits d'identité (téléservice INSi)…")
            if role == self.CandidateRole:
                return self.INSI_ROW
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setItalic(True)
                return font
            return None
        candidate = self._items[row]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return candidate_text(candidate)
        if role == Qt.ItemDataRole.ToolTipRole:
            return candidate_text(candidate)
        if role == self.CandidateRole:
            return candidate
        return None


class MatchesList(QListView):
    """The matches under the patient field: Enter chooses, Escape goes back to the field."""

    chosen = Signal(object)  # Candidate
    insiRequested = Signal()
    backToField = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("patientMatches")
        self.setAccessibleName(tr("Patients correspondants"))
        self.matches_model = CandidatesModel(self)
        self.setModel(self.matches_model)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(True)
        self.setUniformItemSizes(False)
        self.setSpacing(3)
        self.setAlternatingRowColors(True)
        self.activated.connect(self._choose)

    def select_first(self) -> None:
        if self.matches_model.rowCount() > 0:
            self.setCurrentIndex(self.matches_model.index(0))

    def _choose(self, index: QModelIndex) -> None:
        value = self.matches_model.data(index, CandidatesModel.CandidateRole)
        if value == CandidatesModel.INSI_ROW:
            self.insiRequested.emit()
        elif isinstance(value, Candidate):
            self.chosen.emit(value)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self.currentIndex().isValid():
                self._choose(self.currentIndex())
            event.accept()
            return
        if key == Qt.Key.Key_Escape or (key == Qt.Key.Key_Up and self.currentIndex().row() <= 0):
            self.backToField.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def sizeHint(self) -> Any:
        hint = super().sizeHint()
        rows = min(self.matches_model.rowCount(), 6)
        hint.setHeight(max(rows, 1) * (self.fontMetrics().height() * 3 + 8) + 6)
        return hint


class InsiSearchDialog(QDialog):
    """The INSi search by traits (module docstring). ``searchRequested`` asks the service."""

    searchRequested = Signal(object)  # TraitsQuery
    identityChosen = Signal(object)  # InsIdentity (qualified) or a DMP match's identity

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("insiDialog")
        self.setWindowTitle(tr("Rechercher l'INS (téléservice INSi)"))
        self.setModal(True)
        self.search_result: TraitsSearch | None = None

        intro = QLabel(
            tr(
                "Saisissez les traits d'identité tels qu'ils figurent sur la pièce d'identité "
                "du patient : nom de naissance, premier prénom de naissance, sexe et date de "
                "naissance. Le téléservice INSi renvoie l'INS et les traits officiels."
            ),
            self,
        )
        intro.setWordWrap(True)
        self.birth_name = QLineEdit(self)
        self.birth_name.setObjectName("insiBirthName")
        self.given_names = QLineEdit(self)
        self.given_names.setObjectName("insiGivenNames")
        self.given_names.setPlaceholderText(tr("le premier, puis les autres si besoin"))
        self.sex = QComboBox(self)
        self.sex.setObjectName("insiSex")
        self.sex.addItem(tr("Féminin"), "F")
        self.sex.addItem(tr("Masculin"), "M")
        self.birth_date = QLineEdit(self)
        self.birth_date.setObjectName("insiBirthDate")
        self.birth_date.setPlaceholderText(tr("JJ/MM/AAAA"))
        self.birthplace = QLineEdit(self)
        self.birthplace.setObjectName("insiBirthplace")
        self.birthplace.setPlaceholderText(tr("code INSEE, facultatif (99xxx à l'étranger)"))
        self.birthplace.setMaxLength(5)
        form = QFormLayout()
        for caption, field, name in (
            (tr("&Nom de naissance :"), self.birth_name, tr("Nom de naissance")),
            (tr("&Prénom(s) de naissance :"), self.given_names, tr("Prénoms de naissance")),
            (tr("&Sexe :"), self.sex, tr("Sexe")),
            (tr("&Date de naissance :"), self.birth_date, tr("Date de naissance")),
            (tr("&Lieu de naissance :"), self.birthplace, tr("Lieu de naissance, code INSEE")),
        ):
            label = QLabel(caption, self)
            label.setBuddy(field)
            field.setAccessibleName(name)
            form.addRow(label, field)

        self.message = QLabel(self)
        self.message.setObjectName("insiMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.identity_label = QLabel(self)
        self.identity_label.setObjectName("insiIdentity")
        self.identity_label.setWordWrap(True)
        self.identity_label.setTextFormat(Qt.TextFormat.PlainText)
        self.identity_label.setFont(scaled_font(self, 1.05))
        self.identity_label.hide()
        self.dmp_caption = QLabel(tr("Dans le DMP, avec ces traits :"), self)
        self.dmp_caption.hide()
        self.dmp_matches = MatchesList(self)
        self.dmp_matches.setObjectName("insiDmpMatches")
        self.dmp_matches.setAccessibleName(tr("Patients du DMP avec ces traits"))
        self.dmp_matches.hide()
        self.dmp_matches.chosen.connect(lambda c: self._choose(c.identity))
        self.dmp_matches.backToField.connect(lambda: self.birth_name.setFocus())

        self.search_button = QPushButton(tr("&Rechercher"), self)
        self.search_button.setObjectName("insiSearch")
        make_primary(self.search_button)
        self.search_button.setDefault(True)  # Enter anywhere in the form searches
        self.open_button = QPushButton(tr("&Ouvrir ce patient"), self)
        self.open_button.setObjectName("insiOpen")
        self.open_button.hide()
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.search_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        self.search_button.clicked.connect(self.request_search)
        self.open_button.clicked.connect(self._open_qualified)
        for field in (self.birth_name, self.given_names, self.birth_date, self.birthplace):
            field.textEdited.connect(lambda _t: self._results_stale())

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.identity_label)
        layout.addWidget(self.dmp_caption)
        layout.addWidget(self.dmp_matches)
        layout.addWidget(buttons)
        self.resize(620, 420)

    # -- input --------------------------------------------------------------------------
    def prefill(self, query: PatientQuery) -> None:
        """What the patient field had: name, first names, sex, birth date."""
        if query.family_name:
            self.birth_name.setText(query.family_name.upper())
        if query.given_names:
            self.given_names.setText(" ".join(query.given_names).upper())
        if query.sex in ("F", "M"):
            self.sex.setCurrentIndex(self.sex.findData(query.sex))
        if query.birth_date is not None:
            self.birth_date.setText(fr_date(query.birth_date))
        empty = next(
            (f for f in (self.birth_name, self.given_names, self.birth_date) if not f.text()),
            None,
        )
        (empty or self.sex).setFocus()

    def query(self) -> TraitsQuery | None:
        """The traits typed, or None after saying (in French) which one is wrong."""
        birth = parse_date_text(self.birth_date.text())
        if birth is None:
            self._say(Tone.ERROR, tr("Date de naissance : saisissez-la JJ/MM/AAAA."))
            self.birth_date.setFocus()
            return None
        try:
            return TraitsQuery.from_text(
                self.birth_name.text(),
                self.given_names.text(),
                str(self.sex.currentData()),
                birth,
                self.birthplace.text(),
            )
        except TraitsError as exc:
            self._say(Tone.ERROR, exc.message_fr)
            field = {
                "birth_name": self.birth_name,
                "birth_name_long": self.birth_name,
                "given_names": self.given_names,
                "given_names_long": self.given_names,
                "birth_date": self.birth_date,
                "birthplace": self.birthplace,
            }.get(exc.field, self.sex)
            field.setFocus()
            return None

    def request_search(self) -> None:
        query = self.query()
        if query is None:
            return
        self._results_stale()
        self._say(Tone.NEUTRAL, tr("Interrogation du téléservice INSi…"))
        self.search_button.setEnabled(False)
        self.searchRequested.emit(query)

    # -- answers --------------------------------------------------------------------------
    def _say(self, tone: Tone, text: str) -> None:
        set_tone(self.message, tone, text)
        self.message.setAccessibleDescription(text)

    def _results_stale(self) -> None:
        self.search_result = None
        self.identity_label.hide()
        self.open_button.hide()
        self.open_button.setDefault(False)
        self.search_button.setDefault(True)
        self.dmp_matches.hide()
        self.dmp_caption.hide()
        self.dmp_matches.matches_model.clear()

    def show_failure(self, message: str) -> None:
        self.search_button.setEnabled(True)
        self._say(Tone.ERROR, message)

    def show_result(self, result: TraitsSearch) -> None:
        self.search_button.setEnabled(True)
        self.search_result = result
        identity = result.identity
        self.dmp_matches.matches_model.set_candidates(result.dmp, insi_row=False)
        self.dmp_matches.setVisible(bool(result.dmp))
        self.dmp_caption.setVisible(bool(result.dmp))
        self.dmp_caption.setBuddy(self.dmp_matches)
        if identity is not None:
            self._say(
                Tone.OK, tr("Une identité trouvée (00) : INS qualifiée par le téléservice INSi.")
            )
            self.identity_label.setText(identity_lines(identity))
            self.identity_label.show()
            self.open_button.show()
            self.search_button.setDefault(False)
            self.open_button.setDefault(True)
            self.open_button.setFocus()
            return
        self._say(Tone.WARNING, result.advice_fr)
        if result.insi.code == "02":  # the other first names first, then the birthplace
            target = (
                self.birthplace if len(self.given_names.text().split()) > 1 else self.given_names
            )
        else:
            target = self.birth_name
        target.setFocus()
        target.selectAll()

    def _open_qualified(self) -> None:
        if self.search_result is not None and self.search_result.identity is not None:
            self._choose(self.search_result.identity)

    def _choose(self, identity: InsIdentity) -> None:
        self.identityChosen.emit(identity)
        self.accept()


def identity_lines(identity: InsIdentity) -> str:
    """The five strict traits and the INS, one per line (for the window)."""
    traits = identity.traits
    sex = {"F": tr("féminin"), "M": tr("masculin")}.get(traits.sex, tr("inconnu"))
    rows = [
        (tr("INS"), f"{identity.ins.value}"),
        (tr("Nom de naissance"), traits.birth_name.upper()),
        (tr("Prénom(s) de naissance"), traits.given_names_text or "—"),
        (tr("Date de naissance"), fr_date(traits.birth_date)),
        (tr("Sexe"), sex),
        (tr("Lieu de naissance"), traits.birthplace or tr("non connu")),
    ]
    return "\n".join(f"{caption} : {value}" for caption, value in rows)


__all__ = [
    "CandidatesModel",
    "InsiSearchDialog",
    "MatchesList",
    "born_text",
    "candidate_text",
    "identity_lines",
]
