"""The medical summary (VSM) editor: a full pane with the sections in the order of the
document, a search field per entry, messages next to the fields and a live preview.

Where it starts from: the doctor's own draft for this patient when there is
one (autosaved about a second after each change, and on close), otherwise the
latest VSM found in the patient's DMP (fetched off the UI thread through an
injected callable), otherwise an empty summary. The preview is the viewer's
rendering of the document being written (:func:`dmp_desktop.cda.vsm.preview_html`).
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.cda.errors import SummaryProblem, problem_message
from dmp_desktop.cda.render import render_html
from dmp_desktop.cda.vsm import build_vsm_tree, check_summary
from dmp_desktop.cda.xmlutil import first, serialize
from dmp_desktop.dates import fr_date, fr_datetime, fr_time, paris_now
from dmp_desktop.domain.summary import CareProvider, Gender, MedicalSummary
from dmp_desktop.errors import DmpDesktopError, describe
from dmp_desktop.messages import render
from dmp_desktop.services.drafts import (
    DraftAutosaver,
    DraftStore,
    PatientHeader,
    VsmDraft,
)
from dmp_desktop.services.operations import Operation, OperationRunner
from dmp_desktop.services.vsm_source import VsmFetcher, next_version
from dmp_desktop.services.vsm_terminology import TerminologyService
from dmp_desktop.ui.style import Tone, paper, scaled_font, set_tone
from dmp_desktop.ui.vsm_fields import (
    QT_TRANSLATE_NOOP,
    CodedField,
    ComboBox,
    DateEdit,
    set_invalid,
)
from dmp_desktop.ui.vsm_sections import (
    AdvanceDirectiveEntry,
    AllergyEntry,
    AllergySection,
    CarePlanEntry,
    ColumnFit,
    ContactBox,
    EntryWidget,
    FamilyEntry,
    FunctionalStatusEntry,
    LifestyleEntry,
    ProblemEntry,
    ResultEntry,
    SectionBox,
    SurgeryEntry,
    TextEntry,
    TreatmentEntry,
    VaccinationEntry,
    VitalSignEntry,
)

log = logging.getLogger(__name__)

REFRESH_MS = 250
MAX_REFRESH_MS = 1500


def _tr(text: str) -> str:
    return QCoreApplication.translate("VsmEditor", text)


# --- messages ------------------------------------------------------------------------------

_LOCAL_REASONS = {
    "bad_date": QT_TRANSLATE_NOOP(
        "VsmEditor", "Date non reconnue : saisissez AAAA, MM/AAAA ou JJ/MM/AAAA."
    ),
    "bad_full_date": QT_TRANSLATE_NOOP(
        "VsmEditor", "Date non reconnue : saisissez la date complète, JJ/MM/AAAA."
    ),
    "bad_number": QT_TRANSLATE_NOOP(
        "VsmEditor", "Nombre non reconnu : saisissez par exemple 12 ou 2,5."
    ),
    "birth_date_required": QT_TRANSLATE_NOOP(
        "VsmEditor", "La date de naissance est obligatoire : saisissez-la (JJ/MM/AAAA)."
    ),
    "gender_required": QT_TRANSLATE_NOOP(
        "VsmEditor", "Le sexe est obligatoire : choisissez-le dans la liste."
    ),
}


def problem_text(problem: SummaryProblem) -> str:
    """The French sentence for one problem, as the CDA layer words it."""
    local = _LOCAL_REASONS.get(problem.reason)
    if local is not None:
        return _tr(local)
    text = render(problem_message(problem))
    if problem.path.startswith(("author.structure", "treating_physician.structure")):
        text += " " + QCoreApplication.translate(
            "VsmEditor",
            "Renseignez l'identifiant et le nom de votre structure dans les paramètres.",
        )
    return text


# Where a problem of the model shows in an entry: model field -> entry field.
_FIELD_OF = {
    "cim10": "label",
    "cim10_label": "label",
    "ccam": "label",
    "ccam_label": "label",
    "agent_cis": "agent",
    "agent_atc": "agent",
    "cis": "name",
    "cip": "name",
    "atc": "name",
    "reason_cim10": "reason",
    "reason_cim10_label": "reason",
    "posology.dose": "dose",
    "posology.dose_max": "dose",
    "posology.dose_unit": "dose_unit",
    "posology.times": "period",
    "posology.period": "period",
    "posology.period_unit": "period",
    "posology.route": "route",
    "posology.duration": "duration",
    "posology.duration_unit": "duration_unit",
    "value": "value",
    "quantity": "value_text",
}
# In a vaccination the product's codes belong to the vaccine field.
_FIELD_OF_IN = {"vaccinations": {"cis": "vaccine", "atc": "vaccine"}, "results": {"unit": "unit"}}


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    entry_title: str
    add_text: str
    empty_text: str
    factory: Callable[[TerminologyService | None, QWidget], EntryWidget]
    box: type[SectionBox] = SectionBox


def _text_entry(caption: str, placeholder: str) -> Callable[..., EntryWidget]:
    def make(search: TerminologyService | None, parent: QWidget) -> EntryWidget:
        return TextEntry(search, parent, caption=_tr(caption), placeholder=_tr(placeholder))

    return make


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "active_problems",
        QT_TRANSLATE_NOOP("VsmEditor", "Pathologies en cours"),
        QT_TRANSLATE_NOOP("VsmEditor", "Pathologie en cours"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter une pathologie en cours"),
        QT_TRANSLATE_NOOP("VsmEditor", "Aucune pathologie en cours saisie."),
        lambda s, p: ProblemEntry(s, p),
    ),
    SectionSpec(
        "medical_history",
        QT_TRANSLATE_NOOP("VsmEditor", "Antécédents médicaux"),
        QT_TRANSLATE_NOOP("VsmEditor", "Antécédent médical"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter un antécédent médical"),
        QT_TRANSLATE_NOOP("VsmEditor", "Aucun antécédent médical saisi."),
        lambda s, p: ProblemEntry(s, p, history=True),
    ),
    SectionSpec(
        "surgical_history",
        QT_TRANSLATE_NOOP("VsmEditor", "Antécédents chirurgicaux"),
        QT_TRANSLATE_NOOP("VsmEditor", "Antécédent chirurgical"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter un antécédent chirurgical"),
        QT_TRANSLATE_NOOP("VsmEditor", "Aucun antécédent chirurgical saisi."),
        lambda s, p: SurgeryEntry(s, p),
    ),
    SectionSpec(
        "allergies",
        QT_TRANSLATE_NOOP("VsmEditor", "Allergies et intolérances"),
        QT_TRANSLATE_NOOP("VsmEditor", "Allergie"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter une allergie ou intolérance"),
        QT_TRANSLATE_NOOP("VsmEditor", "Aucune allergie saisie."),
        lambda s, p: AllergyEntry(s, p),
        AllergySection,
    ),
    SectionSpec(
        "lifestyle",
        QT_TRANSLATE_NOOP("VsmEditor", "Habitus, mode de vie"),
        QT_TRANSLATE_NOOP("VsmEditor", "Habitus"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter un élément du mode de vie"),
        QT_TRANSLATE_NOOP("VsmEditor", "Rien de saisi sur le mode de vie."),
        lambda s, p: LifestyleEntry(s, p),
    ),
    SectionSpec(
        "occupational_risks",
        QT_TRANSLATE_NOOP("VsmEditor", "Facteurs de risque professionnels"),
        QT_TRANSLATE_NOOP("VsmEditor", "Facteur de risque professionnel"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter un facteur de risque professionnel"),
        QT_TRANSLATE_NOOP("VsmEditor", "Aucun facteur de risque professionnel saisi."),
        _text_entry(
            QT_TRANSLATE_NOOP("VsmEditor", "Risque"),
            QT_TRANSLATE_NOOP("VsmEditor", "ex. Exposition à l'amiante (1990-2005)"),
        ),
    ),
    SectionSpec(
        "family_history",
        QT_TRANSLATE_NOOP("VsmEditor", "Antécédents familiaux"),
        QT_TRANSLATE_NOOP("VsmEditor", "Antécédent familial"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter un antécédent familial"),
        QT_TRANSLATE_NOOP("VsmEditor", "Aucun antécédent familial saisi."),
        lambda s, p: FamilyEntry(s, p),
    ),
    SectionSpec(
        "vigilance_points",
        QT_TRANSLATE_NOOP("VsmEditor", "Points de vigilance"),
        QT_TRANSLATE_NOOP("VsmEditor", "Point de vigilance"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter un point de vigilance"),
        QT_TRANSLATE_NOOP("VsmEditor", "Aucun point de vigilance saisi."),
        _text_entry(
            QT_TRANSLATE_NOOP("VsmEditor", "Point"),
            QT_TRANSLATE_NOOP("VsmEditor", "ex. Patient sous anticoagulant : risque hémorragique"),
        ),
    ),
    SectionSpec(
        "treatments",
        QT_TRANSLATE_NOOP("VsmEditor", "Traitements au long cours"),
        QT_TRANSLATE_NOOP("VsmEditor", "Traitement"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter un traitement"),
        QT_TRANSLATE_NOOP("VsmEditor", "Aucun traitement au long cours saisi."),
        lambda s, p: TreatmentEntry(s, p),
    ),
    SectionSpec(
        "vaccinations",
        QT_TRANSLATE_NOOP("VsmEditor", "Vaccinations"),
        QT_TRANSLATE_NOOP("VsmEditor", "Vaccination"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter une vaccination"),
        QT_TRANSLATE_NOOP("VsmEditor", "Aucune vaccination saisie."),
        lambda s, p: VaccinationEntry(s, p),
    ),
    SectionSpec(
        "vital_signs",
        QT_TRANSLATE_NOOP("VsmEditor", "Poids, taille et autres mesures"),
        QT_TRANSLATE_NOOP("VsmEditor", "Mesure"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter une mesure (poids, taille…)"),
        QT_TRANSLATE_NOOP("VsmEditor", "Aucune mesure saisie."),
        lambda s, p: VitalSignEntry(s, p),
    ),
    SectionSpec(
        "functional_status",
        QT_TRANSLATE_NOOP("VsmEditor", "Dépendance, autonomie"),
        QT_TRANSLATE_NOOP("VsmEditor", "Statut fonctionnel"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter une évaluation de l'autonomie"),
        QT_TRANSLATE_NOOP("VsmEditor", "Rien de saisi sur l'autonomie."),
        lambda s, p: FunctionalStatusEntry(s, p),
    ),
    SectionSpec(
        "results",
        QT_TRANSLATE_NOOP("VsmEditor", "Résultats d'examens à retenir"),
        QT_TRANSLATE_NOOP("VsmEditor", "Résultat"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter un résultat"),
        QT_TRANSLATE_NOOP("VsmEditor", "Aucun résultat retenu."),
        lambda s, p: ResultEntry(s, p),
    ),
    SectionSpec(
        "care_plan",
        QT_TRANSLATE_NOOP("VsmEditor", "Plan de soins"),
        QT_TRANSLATE_NOOP("VsmEditor", "Élément du plan de soins"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter un élément au plan de soins"),
        QT_TRANSLATE_NOOP("VsmEditor", "Rien de prévu dans le plan de soins."),
        lambda s, p: CarePlanEntry(s, p),
    ),
    SectionSpec(
        "advance_directives",
        QT_TRANSLATE_NOOP("VsmEditor", "Directives anticipées"),
        QT_TRANSLATE_NOOP("VsmEditor", "Directive anticipée"),
        QT_TRANSLATE_NOOP("VsmEditor", "Ajouter des directives anticipées"),
        QT_TRANSLATE_NOOP("VsmEditor", "Aucune directive anticipée saisie."),
        lambda s, p: AdvanceDirectiveEntry(s, p),
    ),
)
CONTACTS: tuple[tuple[str, str], ...] = (
    ("trusted_person", QT_TRANSLATE_NOOP("VsmEditor", "Personne de confiance")),
    ("legal_representative", QT_TRANSLATE_NOOP("VsmEditor", "Représentant légal")),
    ("emergency_contact", QT_TRANSLATE_NOOP("VsmEditor", "Personne à prévenir en cas d'urgence")),
)


def preview_document(summary: MedicalSummary, *, birth_known: bool = True) -> str:
    """The preview: the bytes the document will be, rendered as the viewer renders a
    retrieved document (``preview_html`` renders the tree: same content, other spacing).

    Runs on a worker. While the birth date is unknown, the stand-in's placeholder
    is removed rather than shown.
    """
    tree = build_vsm_tree(summary, check=False)
    if not birth_known:
        birth = first(tree, "h:recordTarget/h:patientRole/h:patient/h:birthTime")
        parent = birth.getparent() if birth is not None else None
        if birth is not None and parent is not None:
            parent.remove(birth)
    return render_html(serialize(tree))


# --- the patient header ----------------------------------------------------------------------


class PatientHeaderBox(QGroupBox):
    """The INS traits the document needs; what the DMP did not give is asked for here."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Patient (traits de l'INS)"), parent)
        self.setObjectName("vsmPatient")
        self._header: PatientHeader | None = None
        self.ins_label = QLabel(self)
        self.ins_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.family = QLineEdit(self)
        self.given = QLineEdit(self)
        self.given.setPlaceholderText(self.tr("Tous les prénoms de naissance, dans l'ordre"))
        self.birth_date = DateEdit(self, full=True)
        self.gender = ComboBox(self)
        self.gender.addItem(self.tr("— à préciser —"), None)
        self.gender.addItem(self.tr("Féminin"), Gender.FEMALE)
        self.gender.addItem(self.tr("Masculin"), Gender.MALE)
        self.gender.addItem(self.tr("Inconnu"), Gender.UNKNOWN)
        self.birthplace = QLineEdit(self)
        self.birthplace.setMaxLength(5)
        self.birthplace.setPlaceholderText(self.tr("ex. 69383 ; 99xxx pour un pays étranger"))
        self.fields: dict[str, QWidget] = {
            "birth_family_name": self.family,
            "birth_given_names": self.given,
            "birth_date": self.birth_date,
            "gender": self.gender,
            "birthplace_code": self.birthplace,
        }
        self.messages: dict[str, QLabel] = {}
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow(self.tr("INS :"), self.ins_label)
        captions = {
            "birth_family_name": self.tr("&Nom de naissance"),
            "birth_given_names": self.tr("Prénoms de nai&ssance"),
            "birth_date": self.tr("Date de naissance"),
            "gender": self.tr("Sexe"),
            "birthplace_code": self.tr("Lieu de naissance (code &INSEE)"),
        }
        for name, widget in self.fields.items():
            holder = QWidget(self)
            column = QVBoxLayout(holder)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            column.addWidget(widget)
            message = QLabel(holder)
            message.setWordWrap(True)
            message.setTextFormat(Qt.TextFormat.PlainText)
            set_tone(message, Tone.ERROR, "")
            column.addWidget(message)
            self.messages[name] = message
            label = QLabel(captions[name], self)
            label.setBuddy(widget)
            widget.setAccessibleName(captions[name].replace("&", ""))
            form.addRow(label, holder)
        for edit in (self.family, self.given, self.birth_date, self.birthplace):
            edit.textEdited.connect(lambda _t: self.changed.emit())
        self.gender.currentIndexChanged.connect(lambda _i: self.changed.emit())

    def load(self, header: PatientHeader) -> None:
        self._header = header
        self.ins_label.setText(header.ins.value)
        self.family.setText(header.birth_family_name)
        self.given.setText(" ".join(header.birth_given_names))
        self.birth_date.set_full_date(header.birth_date)
        index = self.gender.findData(header.gender) if header.gender is not None else 0
        self.gender.setCurrentIndex(max(index, 0))
        self.birthplace.setText(header.birthplace_code or "")

    def read(self) -> tuple[PatientHeader, list[SummaryProblem]]:
        if self._header is None:
            raise RuntimeError("header not loaded")
        problems: list[SummaryProblem] = []
        try:
            birth = self.birth_date.full_date()
        except ValueError:
            birth = None
            problems.append(SummaryProblem("patient.birth_date", "bad_full_date"))
        else:
            if birth is None:
                problems.append(SummaryProblem("patient.birth_date", "birth_date_required"))
        gender = self.gender.currentData()
        if not isinstance(gender, Gender):
            gender = None
            problems.append(SummaryProblem("patient.gender", "gender_required"))
        header = replace(
            self._header,
            birth_family_name=self.family.text().strip(),
            birth_given_names=self.given.text().split(),
            birth_date=birth,
            gender=gender,
            birthplace_code=self.birthplace.text().strip().upper() or None,
        )
        return header, problems

    def unparsed(self) -> dict[str, str]:
        try:
            self.birth_date.full_date()
        except ValueError:
            return {"patient.birth_date": self.birth_date.text()}
        return {}

    def set_problems(self, problems: dict[str, list[str]]) -> None:
        for name, widget in self.fields.items():
            texts = problems.get(name, [])
            set_invalid(widget, bool(texts), "\n".join(texts))
            set_tone(self.messages[name], Tone.ERROR, "\n".join(texts))

    def focus_chain(self) -> list[QWidget]:
        return list(self.fields.values())


# --- the editor -----------------------------------------------------------------------------


class VsmEditor(QWidget):
    """The editor pane for one patient, written by one professional."""

    closeRequested = Signal()
    importRequested = Signal()
    refreshed = Signal()  # the messages are up to date (the preview follows)
    previewUpdated = Signal()  # the preview shows the summary as it was last refreshed
    started = Signal(str)  # where the content came from: "draft", "dmp", "new", "essentials"
    sendRequested = Signal()  # « Envoyer au DMP »: the window's alimentation sends the VSM
    firstRunImportRequested = Signal()  # « Importer les listes officielles… » (first run)

    def __init__(
        self,
        *,
        header: PatientHeader,
        author: CareProvider,
        runner: OperationRunner,
        terminology: TerminologyService | None,
        drafts: DraftStore | None,
        fetcher: VsmFetcher | None = None,
        drafts_problem: str | None = None,
        autosave_ms: int = 1000,
        refresh_ms: int = REFRESH_MS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("vsmEditor")
        self.author = author
        self.runner = runner
        self.terminology = terminology
        self.drafts = drafts
        self.fetcher = fetcher
        self.origin = "new"
        self.preview_source = ""
        self.problems: list[SummaryProblem] = []
        self._header = header
        self._meta = MedicalSummary(
            patient=header.stand_in(), author=author, effective_time=paris_now()
        )
        self._closed = False
        self._fetch_op: Operation[Any] | None = None
        self._draft_op: Operation[Any] | None = None
        self._fetching = 0
        self._included: dict[str, list[EntryWidget]] = {}
        self._preview_asked = 0
        self._refresh_cost_ms = 0.0
        self._show_cost_ms = 0.0
        self._preview_executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="dmp-preview"
        )

        self._drafts_problem = drafts_problem
        self.autosaver: DraftAutosaver | None = None
        self._loading = True
        self._build()
        self.header_box.load(header)
        self._loading = False
        self._refresh_tab_order()
        if drafts is not None:
            self.autosaver = DraftAutosaver(
                drafts,
                author.practitioner.national_id,
                self.current_draft,
                runner,
                delay_ms=autosave_ms,
                parent=self,
            )
            self.autosaver.saved.connect(self._on_saved)
            self.autosaver.failed.connect(self._on_save_failed)
        self._refresh_ms = refresh_ms
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(refresh_ms)
        self._refresh_timer.timeout.connect(self.refresh)
        self._show_draft_state()

    # -- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        title = QLabel(self.tr("Synthèse médicale (VSM)"), self)
        title.setFont(scaled_font(self, 1.4, bold=True))
        self.patient_label = QLabel(self)
        self.patient_label.setObjectName("vsmPatientName")
        self.patient_label.setFont(scaled_font(self, 1.15, bold=True))
        self.patient_label.setTextFormat(Qt.TextFormat.PlainText)
        self.draft_label = QLabel(self)
        self.draft_label.setObjectName("vsmDraftState")
        self.draft_label.setStyleSheet("color: palette(placeholder-text);")
        self.origin_label = QLabel(self)
        self.origin_label.setObjectName("vsmOrigin")
        self.origin_label.setWordWrap(True)
        self.origin_label.setTextFormat(Qt.TextFormat.PlainText)
        self.vocabulary_offer = QWidget(self)
        self.vocabulary_offer.setObjectName("vocabularyOffer")
        offer_row = QHBoxLayout(self.vocabulary_offer)
        offer_row.setContentsMargins(0, 0, 0, 0)
        self.vocabulary_offer_label = QLabel(
            self.tr(
                "Seul un extrait de la CIM-10 et des médicaments est installé : les codes ne "
                "peuvent pas tous être vérifiés. Importez les listes officielles (quelques "
                "secondes)."
            ),
            self.vocabulary_offer,
        )
        self.vocabulary_offer_label.setWordWrap(True)
        set_tone(self.vocabulary_offer_label, Tone.WARNING, self.vocabulary_offer_label.text())
        self.vocabulary_offer_button = QPushButton(
            self.tr("Importer les &listes officielles…"), self.vocabulary_offer
        )
        self.vocabulary_offer_button.setObjectName("vocabularyOfferButton")
        self.vocabulary_offer_button.clicked.connect(self.firstRunImportRequested)
        offer_row.addWidget(self.vocabulary_offer_label, 1)
        offer_row.addWidget(self.vocabulary_offer_button, 0, Qt.AlignmentFlag.AlignTop)
        self.vocabulary_offer.hide()
        self.global_label = QLabel(self)
        self.global_label.setObjectName("vsmGlobalProblems")
        self.global_label.setWordWrap(True)
        self.global_label.setTextFormat(Qt.TextFormat.PlainText)
        set_tone(self.global_label, Tone.ERROR, "")

        self.refetch_button = QPushButton(self.tr("Repartir du dernier &VSM du DMP"), self)
        self.refetch_button.clicked.connect(self._ask_refetch)
        self.refetch_button.setVisible(self.fetcher is not None)
        self.discard_button = QPushButton(self.tr("A&bandonner le brouillon"), self)
        self.discard_button.clicked.connect(self._ask_discard)
        self.import_button = QPushButton(self.tr("Importer une &terminologie…"), self)
        self.import_button.setToolTip(
            self.tr("Importer la CIM-10 (ATIH) ou la base des médicaments (BDPM)")
        )
        self.import_button.clicked.connect(self.importRequested)
        self.close_button = QPushButton(self.tr("&Retour au dossier"), self)
        self.close_button.setObjectName("vsmClose")
        self.close_button.setToolTip(self.tr("Fermer la synthèse ; le brouillon est enregistré"))
        self.close_button.clicked.connect(self.request_close)
        self.send_button = QPushButton(self.tr("&Envoyer au DMP…"), self)
        self.send_button.setObjectName("vsmSend")
        self.send_button.setToolTip(
            self.tr("Envoyer la synthèse dans le DMP du patient (remplace votre VSM précédent)")
        )
        self.send_button.clicked.connect(self.sendRequested)

        top = QHBoxLayout()
        names = QVBoxLayout()
        names.addWidget(title)
        names.addWidget(self.patient_label)
        names.addWidget(self.draft_label)
        top.addLayout(names, 1)
        for button in (
            self.refetch_button,
            self.discard_button,
            self.import_button,
            self.send_button,
            self.close_button,
        ):
            top.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)

        self.header_box = PatientHeaderBox(self)
        self.header_box.changed.connect(self._on_changed)
        self.sections: dict[str, SectionBox] = {}
        form = QWidget(self)
        form.setObjectName("vsmForm")
        self.form = form
        column = QVBoxLayout(form)
        column.setSpacing(10)
        column.addWidget(self.header_box)
        search = self.terminology
        for spec in SECTIONS:

            def factory(parent: QWidget, spec: SectionSpec = spec) -> EntryWidget:
                return spec.factory(search, parent)

            box = spec.box(
                spec.key,
                _tr(spec.title),
                _tr(spec.entry_title),
                _tr(spec.add_text),
                _tr(spec.empty_text),
                factory,
                form,
            )
            box.changed.connect(self._on_changed)
            box.structureChanged.connect(self._refresh_tab_order)
            shortcut = QShortcut(QKeySequence("Ctrl+Return"), box)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda box=box: box.add_entry())
            self.sections[spec.key] = box
            column.addWidget(box)
        # The patient's people (written in the document's header), after the clinical sections.
        self.contacts: dict[str, ContactBox] = {}
        people = QGroupBox(self.tr("Entourage du patient"), form)
        people_column = QVBoxLayout(people)
        for key, caption in CONTACTS:
            contact = ContactBox(key, _tr(caption), people)
            contact.changed.connect(self._on_changed)
            self.contacts[key] = contact
            people_column.addWidget(contact)
        column.addWidget(people)
        column.addStretch(1)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(form)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        # the form takes the column's width: entries go one field a line when it is narrow
        self.column_fit = ColumnFit(self.scroll_area)
        for section in self.sections.values():
            section.structureChanged.connect(self.column_fit.schedule)

        self.preview = QTextBrowser(self)
        paper(self.preview)  # the document as the recipient reads it: a white page
        self.preview.setObjectName("vsmPreview")
        self.preview.setOpenLinks(False)
        self.preview.setAccessibleName(self.tr("Aperçu de la synthèse"))
        preview_box = QWidget(self)
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.setContentsMargins(0, 0, 0, 0)
        preview_title = QLabel(self.tr("Aperçu (tel que le lira le destinataire)"), preview_box)
        preview_title.setFont(scaled_font(self, 1.0, bold=True))
        preview_layout.addWidget(preview_title)
        preview_layout.addWidget(self.preview, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.scroll_area)
        splitter.addWidget(preview_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([760, 520])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 10)
        layout.addLayout(top)
        layout.addWidget(self.origin_label)
        layout.addWidget(self.vocabulary_offer)
        layout.addWidget(self.global_label)
        layout.addWidget(splitter, 1)
        self._refresh_tab_order()

    def _refresh_tab_order(self) -> None:
        if self._loading:
            return  # once, at the end of the load
        chain: list[QWidget] = self.header_box.focus_chain()
        for box in self.sections.values():
            chain += box.focus_chain()
        for contact in self.contacts.values():
            chain += contact.focus_chain()
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)

    # -- starting point --------------------------------------------------------------------
    def start(self) -> None:
        """Open on the draft, else the latest VSM of the DMP, else an empty summary.

        The draft is read off the UI thread (the keyring, the decryption): the form
        waits, disabled, meanwhile (:attr:`starting`).
        """
        if self._drafts_problem:
            self._set_origin(Tone.WARNING, self._drafts_problem)
        drafts = self.drafts
        if drafts is None:
            self._start_without_draft()
            return
        author, ins = self.author, self._header.ins

        def work() -> tuple[str, VsmDraft | BaseException | None]:
            try:
                drafts.ready()  # the keyring: no store, no drafts (but the editor works)
            except DmpDesktopError as exc:
                return "unavailable", exc
            return "draft", drafts.load(author, ins)

        self.form.setEnabled(False)
        self._set_origin(Tone.INFO, self.tr("Lecture du brouillon…"))
        self._draft_op = self.runner.run(
            Operation(
                self.tr("Lecture du brouillon de la synthèse"),
                work,
                self._on_draft_read,
                self._on_draft_failed,
                silent=True,
            )
        )

    @property
    def starting(self) -> bool:
        """The draft is being read (the editor starts once it is)."""
        return self._draft_op is not None and not self._draft_op.done

    def _on_draft_read(self, found: tuple[str, VsmDraft | BaseException | None]) -> None:
        self._draft_op = None
        if self._closed:
            return
        self.form.setEnabled(True)
        kind, value = found
        if kind == "unavailable" and isinstance(value, BaseException):
            log.warning("drafts unavailable: %s", type(value).__name__)
            self._drafts_problem = self.tr(
                "Les brouillons ne peuvent pas être enregistrés sur cet ordinateur : {why}"
            ).format(why=describe(value))
            if self.autosaver is not None:
                self.autosaver.stop()  # nothing can be saved: stop trying
                self.autosaver = None
            self.drafts = None
            self._set_origin(Tone.WARNING, self._drafts_problem)
            self._show_draft_state()
            self._start_without_draft()
            return
        if isinstance(value, VsmDraft):
            self.load_draft(value)
            if self.isVisible():
                self.focus_first_field()
            return
        self._start_without_draft()

    def _on_draft_failed(self, exc: BaseException) -> None:
        self._draft_op = None
        if self._closed:
            return
        self.form.setEnabled(True)
        log.warning("draft unreadable: %s", type(exc).__name__)
        self._set_origin(
            Tone.WARNING,
            self.tr("Le brouillon enregistré n'a pas pu être relu : {why}").format(
                why=describe(exc)
            ),
        )
        self._start_without_draft()

    def _start_without_draft(self) -> None:
        if self.fetcher is not None and self.fetch():
            return
        self.load_summary(None, "new")

    def fetch(self) -> bool:
        """Ask the DMP for the patient's latest VSM (off the UI thread); False if impossible."""
        if self.fetcher is None:
            return False
        self._fetching += 1
        asked = self._fetching
        op = self.fetcher(
            self._header.ins,
            lambda summary: self._on_fetched(asked, summary),
            lambda exc: self._on_fetch_failed(asked, exc),
        )
        if op is None:
            return False
        if not op.done:
            self._fetch_op = op
            previous = op.on_cancel

            def cancelled() -> None:
                if previous is not None:
                    previous()
                self._on_fetch_cancelled(asked)

            op.on_cancel = cancelled
            self.form.setEnabled(False)
            self._set_origin(Tone.INFO, self.tr("Recherche du dernier VSM du patient dans le DMP…"))
        return True

    @property
    def fetching(self) -> bool:
        """The starting point is being read — the draft (:attr:`starting`) or the DMP's
        latest VSM — off the UI thread; the form waits, disabled."""
        return self.starting or self._fetch_op is not None

    def _fetch_done(self) -> None:
        self._fetch_op = None
        self.form.setEnabled(True)
        if self.isVisible():
            self.focus_first_field()  # the form had no focus while disabled

    def _on_fetched(self, asked: int, summary: MedicalSummary | None) -> None:
        if self._closed or asked != self._fetching:
            return
        self.load_summary(summary, "dmp" if summary is not None else "new")
        self._fetch_done()

    def _on_fetch_failed(self, asked: int, exc: BaseException) -> None:
        if self._closed or asked != self._fetching:
            return
        self.load_summary(None, "new")
        self._fetch_done()
        self._set_origin(
            Tone.WARNING,
            self.tr(
                "Le dernier VSM n'a pas pu être récupéré dans le DMP : {why} "
                "Vous pouvez commencer la synthèse ; elle est enregistrée en brouillon."
            ).format(why=describe(exc)),
        )

    def _on_fetch_cancelled(self, asked: int) -> None:
        if self._closed or asked != self._fetching:
            return
        self.load_summary(None, "new")
        self._fetch_done()

    def load_summary(self, summary: MedicalSummary | None, origin: str) -> None:
        """Start from ``summary`` (a VSM read back from the DMP) or from nothing."""
        header = self._header
        if summary is not None:
            header = header.completed_from(summary.patient)
            base = next_version(summary, self.author)
        else:
            base = MedicalSummary(
                patient=header.stand_in(), author=self.author, effective_time=paris_now()
            )
        self._fill(header, base, {})
        self.origin = origin
        if origin == "dmp" and summary is not None:
            author = summary.author.practitioner
            when = summary.effective_time
            self._set_origin(
                Tone.INFO,
                self.tr(
                    "Prérempli avec le dernier VSM du DMP ({date}, {author}) : "
                    "mettez à jour ce qui a changé."
                ).format(date=fr_date(when), author=_person(author)),
            )
        elif self.fetcher is not None:
            self._set_origin(
                Tone.INFO, self.tr("Aucun VSM dans le DMP de ce patient : nouvelle synthèse.")
            )
        elif not self._drafts_problem:
            self._set_origin(Tone.INFO, self.tr("Nouvelle synthèse."))
        self.started.emit(origin)

    def start_prefilled(self, fill: Callable[[MedicalSummary], MedicalSummary], note: str) -> None:
        """Open on a new summary that ``fill`` completes (« Préparer la synthèse » of L'essentiel).

        Nothing of a draft or of the DMP's last VSM: the doctor chose these lines.
        """
        header = self._header
        drafts = self.drafts
        if drafts is not None:  # the autosaver's store, opened off the UI thread (keyring)
            author_id, ins = self.author.practitioner.national_id, header.ins
            self.runner.run(
                Operation(
                    self.tr("Ouverture des brouillons"),
                    lambda: drafts.name_for(author_id, ins),
                    None,
                    lambda exc: log.warning("drafts unavailable: %s", type(exc).__name__),
                    silent=True,
                )
            )
        base = MedicalSummary(
            patient=header.stand_in(), author=self.author, effective_time=paris_now()
        )
        self._fill(header, fill(base), {})
        self.origin = "essentials"
        self._set_origin(Tone.INFO, note)
        self.started.emit("essentials")

    def load_draft(self, draft: VsmDraft) -> None:
        header = draft.header
        self._fill(header, draft.summary, draft.unparsed)
        self.origin = "draft"
        saved = draft.saved_at
        when = fr_datetime(saved) if saved else ""
        self._set_origin(
            Tone.INFO,
            self.tr("Brouillon du {date} repris : vous reprenez où vous en étiez.").format(
                date=when
            ),
        )
        self.started.emit("draft")

    def _fill(
        self, header: PatientHeader, summary: MedicalSummary, unparsed: dict[str, str]
    ) -> None:
        self._loading = True
        visible = self.form.isVisible()
        if visible:
            self.form.hide()  # showing many new fields at once costs less than one by one
        try:
            self._header = header
            self.header_box.load(header)
            if "patient.birth_date" in unparsed:
                self.header_box.birth_date.setText(unparsed["patient.birth_date"])
            self._meta = replace(summary, effective_time=paris_now(), author=self.author)
            for key, box in self.sections.items():
                per_entry: dict[str, dict[str, str]] = {}
                for path, text in unparsed.items():
                    if path.startswith(f"{key}["):
                        index, _, name = path[len(key) + 1 :].partition("].")
                        per_entry.setdefault(index, {})[name] = text
                box.load(list(getattr(summary, key)), per_entry)
            self._allergy_box().none_known.setChecked(
                summary.no_known_allergies and not summary.allergies
            )
            for key, contact in self.contacts.items():
                contact.load(getattr(summary, key))
        finally:
            self._loading = False
            if visible:
                self.form.show()
        self._refresh_tab_order()
        self.refresh()

    # -- reading the form ------------------------------------------------------------------
    def _collect(
        self,
    ) -> tuple[PatientHeader, MedicalSummary, dict[str, str], list[SummaryProblem]]:
        header, problems = self.header_box.read()
        unparsed = dict(self.header_box.unparsed())
        values: dict[str, list[Any]] = {}
        self._included = {}
        for key, box in self.sections.items():
            rows = box.read()
            self._included[key] = [entry for entry, _ in rows]
            values[key] = [value.value for _, value in rows]
            for i, (_entry, value) in enumerate(rows):
                for name, text in value.unparsed.items():
                    unparsed[f"{key}[{i}].{name}"] = text
                for name, reason in value.problems:
                    problems.append(SummaryProblem(f"{key}[{i}].{name}", reason))
        summary = replace(
            self._meta,
            patient=header.stand_in(),
            author=self.author,
            no_known_allergies=(
                self._allergy_box().none_known.isChecked() and not values["allergies"]
            ),
            active_problems=values["active_problems"],
            medical_history=values["medical_history"],
            surgical_history=values["surgical_history"],
            allergies=values["allergies"],
            lifestyle=values["lifestyle"],
            occupational_risks=values["occupational_risks"],
            family_history=values["family_history"],
            vigilance_points=values["vigilance_points"],
            treatments=values["treatments"],
            vaccinations=values["vaccinations"],
            vital_signs=values["vital_signs"],
            functional_status=values["functional_status"],
            results=values["results"],
            care_plan=values["care_plan"],
            advance_directives=values["advance_directives"],
            trusted_person=self.contacts["trusted_person"].read(),
            legal_representative=self.contacts["legal_representative"].read(),
            emergency_contact=self.contacts["emergency_contact"].read(),
        )
        return header, summary, unparsed, problems

    def _allergy_box(self) -> AllergySection:
        box = self.sections["allergies"]
        if not isinstance(box, AllergySection):
            raise TypeError("allergies")
        return box

    def current_summary(self) -> MedicalSummary:
        """The summary as typed (the patient is a stand-in while the header is incomplete)."""
        return self._collect()[1]

    def current_header(self) -> PatientHeader:
        return self._collect()[0]

    def current_draft(self) -> VsmDraft:
        header, summary, unparsed, _ = self._collect()
        return VsmDraft(header=header, summary=summary, unparsed=unparsed)

    def document_ready(self) -> bool:
        """True when the summary would give a valid VSM (nothing left to correct)."""
        self.refresh()
        return not self.problems

    # -- changes -------------------------------------------------------------------------------
    def _on_changed(self) -> None:
        if self._loading or self._closed:
            return
        if self.autosaver is not None:
            self.autosaver.changed()
            self.draft_label.setText(self.tr("Modifications en cours…"))
        self._refresh_timer.start()

    def refresh(self) -> None:
        """Check the summary, show the messages; the preview is built off the UI thread."""
        self._refresh_timer.stop()
        started = time.perf_counter()
        header, summary, _unparsed, problems = self._collect()
        problems = problems + check_summary(summary)
        self.problems = problems
        self._show_problems(problems)
        self.patient_label.setText(header.display_name)
        self._render_preview(header, summary)
        self._refresh_cost_ms = (time.perf_counter() - started) * 1000
        self._adapt_refresh_interval()
        self.refreshed.emit()

    def _adapt_refresh_interval(self) -> None:
        # A long summary costs more to check and show: wait for a longer pause in the typing.
        spent = self._refresh_cost_ms + self._show_cost_ms
        self._refresh_timer.setInterval(
            max(self._refresh_ms, min(MAX_REFRESH_MS, round(4 * spent)))
        )

    def _show_problems(self, problems: list[SummaryProblem]) -> None:
        per_entry: dict[int, list[tuple[str | None, str]]] = {}
        entries: dict[int, EntryWidget] = {}
        header: dict[str, list[str]] = {}
        section_messages: dict[str, list[str]] = {}
        global_messages: list[str] = []
        for problem in problems:
            text = problem_text(problem)
            path = problem.path
            head, _, rest = path.partition(".")
            if head == "patient":
                header.setdefault(rest.split(".")[0], []).append(text)
                continue
            key, bracket, tail = path.partition("[")
            if bracket and key in self._included:
                index_text, _, field = tail.partition("]")
                field = field.lstrip(".") or "text"
                included = self._included[key]
                if index_text.isdigit() and int(index_text) < len(included):
                    entry = included[int(index_text)]
                    shown = _FIELD_OF_IN.get(key, {}).get(field) or _FIELD_OF.get(field, field)
                    per_entry.setdefault(id(entry), []).append((shown, text))
                    entries[id(entry)] = entry
                    continue
            if path == "no_known_allergies":
                section_messages.setdefault("allergies", []).append(text)
                continue
            if head in self.contacts:
                section_messages.setdefault(head, []).append(text)
                continue
            global_messages.append(text)
        self.header_box.set_problems(header)
        for key, contact in self.contacts.items():
            contact.set_message("\n".join(section_messages.get(key, [])))
        for box in self.sections.values():
            box.set_message("\n".join(section_messages.get(box.key, [])))
            for entry in box.entries:
                entry.set_problems(per_entry.get(id(entry), []))
        set_tone(self.global_label, Tone.ERROR, "\n".join(global_messages))

    def _render_preview(self, header: PatientHeader, summary: MedicalSummary) -> None:
        self._preview_asked += 1
        asked = self._preview_asked
        birth_known = header.birth_date is not None
        op = Operation(
            "Aperçu de la synthèse",
            lambda: preview_document(summary, birth_known=birth_known),
            lambda html: self._show_preview(asked, html),
            lambda exc: self._preview_failed(asked, exc),
            silent=True,
        )
        try:
            self.runner.run(op, submit=self._preview_executor.submit)
        except RuntimeError:  # shutting down
            return

    def _show_preview(self, asked: int, html: str) -> None:
        if self._closed or asked != self._preview_asked:
            return
        if html != self.preview_source:
            started = time.perf_counter()
            self.preview_source = html
            bar = self.preview.verticalScrollBar()
            position = bar.value()
            self.preview.setHtml(html)
            bar.setValue(position)
            self._show_cost_ms = (time.perf_counter() - started) * 1000
            self._adapt_refresh_interval()
        self.previewUpdated.emit()

    def _preview_failed(self, asked: int, exc: BaseException) -> None:
        log.warning("preview failed: %s", type(exc).__name__)
        self._show_preview(asked, "<p>" + self.tr("Aperçu indisponible pour le moment.") + "</p>")

    # -- drafts ---------------------------------------------------------------------------------
    def _show_draft_state(self) -> None:
        if self.autosaver is None:
            self.draft_label.setText(
                self.tr("Brouillon non enregistré (stockage local indisponible).")
            )
        else:
            self.draft_label.setText(self.tr("Enregistrement automatique du brouillon"))

    def _on_saved(self, when: datetime) -> None:
        self.draft_label.setStyleSheet("color: palette(placeholder-text);")
        self.draft_label.setText(
            self.tr("Brouillon enregistré à {time}").format(time=fr_time(when, seconds=True))
        )

    def _on_save_failed(self, message: str) -> None:
        set_tone(
            self.draft_label,
            Tone.ERROR,
            self.tr("Le brouillon n'a pas pu être enregistré : {why}").format(why=message),
        )

    def save_draft_now(self) -> bool:
        return self.autosaver.flush() if self.autosaver is not None else False

    def discard_draft(self) -> None:
        """Delete the draft and start again from the DMP (or from nothing)."""
        if self.autosaver is not None:
            self.autosaver.discard()
        self.draft_label.setText(self.tr("Brouillon abandonné."))
        if not self.fetch():
            self.load_summary(None, "new")

    def _ask_discard(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Abandonner le brouillon"),
            self.tr(
                "Abandonner le brouillon de cette synthèse ? Ce que vous avez saisi "
                "depuis le dernier envoi sera perdu."
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(self.discard_draft)
        box.open()

    def _ask_refetch(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Repartir du dernier VSM du DMP"),
            self.tr(
                "Remplacer ce qui est saisi par le dernier VSM du DMP ? "
                "Le brouillon actuel sera remplacé."
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(self.fetch)
        box.open()

    # -- closing --------------------------------------------------------------------------------
    def request_close(self) -> None:
        """« Retour au dossier »: the draft is saved first; if it cannot be, the pane stays
        open with the message (nothing typed is lost by closing)."""
        if self.autosaver is not None and not self.autosaver.flush():
            return
        self.shutdown()
        self.closeRequested.emit()

    def shutdown(self) -> None:
        """Save the draft now and stop (idempotent); the pane may then be deleted."""
        if self._closed:
            return
        self._refresh_timer.stop()
        if self._fetch_op is not None and not self._fetch_op.done:
            self._fetch_op.on_cancel = None
            self._fetch_op.cancel()
        if self._draft_op is not None and not self._draft_op.done:
            self._draft_op.cancel()  # nothing typed yet: nothing to save
        if self.autosaver is not None:
            self.autosaver.close()
        self._closed = True
        self._preview_executor.shutdown(wait=True, cancel_futures=True)

    def clear(self) -> None:
        """Forget everything on screen (the card was removed, the pane is closing)."""
        self._loading = True
        for edit in self.findChildren(QLineEdit):
            edit.setText("")
        for text in self.findChildren(QPlainTextEdit):
            text.setPlainText("")
        for field in self.findChildren(CodedField):
            field.model.set_concepts([])
        for box in self.sections.values():
            box.clear()
        for label in (
            self.header_box.ins_label,
            self.patient_label,
            self.origin_label,
            self.global_label,
            *self.header_box.messages.values(),
        ):
            label.setText("")
            label.setAccessibleDescription("")
        self.preview.clear()
        self.preview_source = ""

    def _set_origin(self, tone: Tone, text: str) -> None:
        set_tone(self.origin_label, tone, text)

    def focus_first_field(self) -> None:
        for box in self.sections.values():
            if box.entries:
                box.entries[0].first_field().setFocus(Qt.FocusReason.OtherFocusReason)
                return
        self.sections["active_problems"].add_button.setFocus(Qt.FocusReason.OtherFocusReason)


def _person(practitioner: Any) -> str:
    given = str(getattr(practitioner, "given_name", "") or "").title()
    family = str(getattr(practitioner, "family_name", "") or "").upper()
    return f"{given} {family}".strip() or QCoreApplication.translate("VsmEditor", "auteur inconnu")
