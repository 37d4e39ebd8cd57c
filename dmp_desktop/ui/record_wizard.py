"""« Créer le DMP » (TD1.1): a short keyboard-driven wizard.

Pages, each answered explicitly (Entrée goes on once the page is complete):

1. the patient's identity (the INS traits; sex prefilled from the NIR), and
   whether they are a minor (derived from the birth date, which TD1.1 carries
   and the DMP checks);
2. the consent: the patient's (an explicit checkbox, never preselected), or for
   a minor the legal representative's consent and identity (name, first name,
   relationship);
3. the two emergency choices, each a question with two answers and none
   preselected: bris de glace, and the centre 15 (SAMU);
4. the patient's own online access (adults only): optional mobile and e-mail,
   checked as typed, with what it means to leave them out;
5. the summary, then « Créer le DMP ».

The wizard sends nothing itself: on the last page it emits
:attr:`RecordWizard.sendRequested` with the identity and the consent, and stays
open until :meth:`creation_failed` (the French message is shown, the user may go
back and fix) or :meth:`creation_succeeded` (it closes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from dmp_desktop.dates import fr_date, or_none, paris_today, parse_fr_date
from dmp_desktop.dmp.td11 import (
    CreationConsent,
    LegalRepresentative,
    PatientIdentity,
    is_minor,
)
from dmp_desktop.domain.admin_data import check_email, check_mobile
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import InvalidContactError, describe
from dmp_desktop.ui.style import Tone, scaled_font, set_tone

PAGE_IDENTITY, PAGE_CONSENT, PAGE_REPRESENTATIVE, PAGE_EMERGENCY, PAGE_ONLINE, PAGE_SUMMARY = range(
    6
)
RELATIONSHIPS = (("MTH", "Mère"), ("FTH", "Père"), ("GUARD", "Tuteur ou tutrice"))
_MAX_NAME = 100


def parse_birth_date(text: str) -> dt.date | None:
    """JJ/MM/AAAA (or JJMMAAAA, JJ-MM-AAAA, JJ.MM.AAAA) -> date; None when invalid."""
    raw = text.strip()
    for sep in ("-", "."):
        raw = raw.replace(sep, "/")
    if "/" not in raw and len(raw) == 8 and raw.isdigit():
        raw = f"{raw[:2]}/{raw[2:4]}/{raw[4:]}"
    value = or_none(parse_fr_date, raw)
    if value is None or value.year < 1890 or value > paris_today():
        return None
    return value


def gender_from_ins(ins: Ins) -> str | None:
    """The sex a NIR / NIA encodes in its first digit (1 male, 2 female), if any."""
    first = ins.value[:1]
    return {"1": "M", "2": "F"}.get(first)


class _Page(QWizardPage):
    """A page whose completeness is a function; Entrée goes on once it holds."""

    def __init__(self, title: str, subtitle: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.complete: Callable[[], bool] = lambda: True
        self.next_id: Callable[[], int] | None = None

    def isComplete(self) -> bool:
        return self.complete()

    def nextId(self) -> int:
        if self.next_id is not None:
            return self.next_id()
        return super().nextId()

    def changed(self) -> None:
        self.completeChanged.emit()


class _Choice(QGroupBox):
    """A question with two answers, none preselected (keyboard: Tab then arrows / Alt+key)."""

    def __init__(
        self, title: str, question: str, yes: str, no: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(title, parent)
        text = QLabel(question, self)
        text.setWordWrap(True)
        self.accept_button = QRadioButton(yes, self)
        self.oppose_button = QRadioButton(no, self)
        for button in (self.accept_button, self.oppose_button):
            button.setAccessibleDescription(question)
        self.group = QButtonGroup(self)
        self.group.addButton(self.accept_button)
        self.group.addButton(self.oppose_button)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.accept_button)
        layout.addWidget(self.oppose_button)

    def answered(self) -> bool:
        return self.accept_button.isChecked() or self.oppose_button.isChecked()

    def opposed(self) -> bool:
        return self.oppose_button.isChecked()


class RecordWizard(QWizard):
    """See the module docstring."""

    sendRequested = Signal(object, object)  # PatientIdentity, CreationConsent

    def __init__(
        self,
        ins: Ins,
        *,
        today: dt.date | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("recordWizard")
        self.ins = ins
        self._today = today or paris_today()
        self._sending = False
        self._created = False
        self.setWindowTitle(self.tr("Créer le DMP du patient"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.setButtonText(QWizard.WizardButton.BackButton, self.tr("< &Précédent"))
        self.setButtonText(QWizard.WizardButton.NextButton, self.tr("&Suivant >"))
        self.setButtonText(QWizard.WizardButton.FinishButton, self.tr("&Créer le DMP"))
        self.setButtonText(QWizard.WizardButton.CancelButton, self.tr("Annuler"))
        self.setMinimumSize(640, 520)
        self._build_identity()
        self._build_consent()
        self._build_representative()
        self._build_emergency()
        self._build_online()
        self._build_summary()
        self.setStartId(PAGE_IDENTITY)
        self.currentIdChanged.connect(self._on_page)

    # -- pages --------------------------------------------------------------------------
    def _build_identity(self) -> None:
        page = _Page(
            self.tr("Identité du patient"),
            self.tr(
                "Vérifiez l'identité du patient telle qu'elle figure sur sa pièce d'identité "
                "(traits INS). INS : {ins}"
            ).format(ins=self.ins.value),
            self,
        )
        self.family_edit = QLineEdit(page)
        self.family_edit.setObjectName("wizardFamily")
        self.given_edit = QLineEdit(page)
        self.given_edit.setObjectName("wizardGiven")
        for edit in (self.family_edit, self.given_edit):
            edit.setMaxLength(_MAX_NAME)
        self.gender_combo = QComboBox(page)
        self.gender_combo.setObjectName("wizardGender")
        for code, label in (
            ("", self.tr("— choisir —")),
            ("F", self.tr("Féminin")),
            ("M", self.tr("Masculin")),
            ("U", self.tr("Indéterminé")),
        ):
            self.gender_combo.addItem(label, code)
        hint = gender_from_ins(self.ins)
        if hint is not None:
            self.gender_combo.setCurrentIndex(self.gender_combo.findData(hint))
        self.birth_edit = QLineEdit(page)
        self.birth_edit.setObjectName("wizardBirth")
        self.birth_edit.setPlaceholderText(self.tr("JJ/MM/AAAA"))
        self.birth_edit.setMaxLength(10)
        self.minor_label = QLabel(page)
        self.minor_label.setObjectName("wizardMinor")
        self.minor_label.setWordWrap(True)
        form = QFormLayout(page)
        for text, field, name in (
            (self.tr("&Nom de naissance :"), self.family_edit, self.tr("Nom de naissance")),
            (self.tr("&Prénom :"), self.given_edit, self.tr("Prénom")),
            (self.tr("&Sexe :"), self.gender_combo, self.tr("Sexe")),
            (self.tr("&Date de naissance :"), self.birth_edit, self.tr("Date de naissance")),
        ):
            caption = QLabel(text, page)
            caption.setBuddy(field)
            field.setAccessibleName(name)
            form.addRow(caption, field)
        form.addRow(self.minor_label)
        page.complete = lambda: self.identity() is not None
        page.next_id = lambda: PAGE_REPRESENTATIVE if self.minor else PAGE_CONSENT
        for edit in (self.family_edit, self.given_edit, self.birth_edit):
            edit.textChanged.connect(self._identity_changed)
        self.gender_combo.currentIndexChanged.connect(self._identity_changed)
        self.identity_page = page
        self.setPage(PAGE_IDENTITY, page)
        self._identity_changed()

    def _build_consent(self) -> None:
        page = _Page(
            self.tr("Consentement du patient"),
            self.tr("Le DMP n'est créé qu'avec le consentement du patient."),
            self,
        )
        information = QLabel(
            self.tr(
                "Informez d'abord le patient du fonctionnement du DMP et de ses droits : "
                "masquer un document, bloquer un professionnel, s'opposer à l'accès en "
                "urgence, fermer son DMP."
            ),
            page,
        )
        information.setWordWrap(True)
        self.consent_check = QCheckBox(
            self.tr("Le patient a été informé et &consent à la création de son DMP"), page
        )
        self.consent_check.setObjectName("wizardConsent")
        layout = QVBoxLayout(page)
        layout.addWidget(information)
        layout.addSpacing(8)
        layout.addWidget(self.consent_check)
        layout.addStretch(1)
        page.complete = self.consent_check.isChecked
        page.next_id = lambda: PAGE_EMERGENCY
        self.consent_check.toggled.connect(page.changed)
        self.consent_page = page
        self.setPage(PAGE_CONSENT, page)

    def _build_representative(self) -> None:
        page = _Page(
            self.tr("Patient mineur : représentant légal"),
            self.tr(
                "Pour un patient mineur, c'est son représentant légal qui consent à la création "
                "du DMP. Le mineur n'a pas d'accès en ligne à son DMP."
            ),
            self,
        )
        self.rep_family_edit = QLineEdit(page)
        self.rep_family_edit.setObjectName("wizardRepFamily")
        self.rep_given_edit = QLineEdit(page)
        self.rep_given_edit.setObjectName("wizardRepGiven")
        for edit in (self.rep_family_edit, self.rep_given_edit):
            edit.setMaxLength(_MAX_NAME)
        self.rep_relation_combo = QComboBox(page)
        self.rep_relation_combo.setObjectName("wizardRepRelation")
        self.rep_relation_combo.addItem(self.tr("— choisir —"), "")
        for code, label in RELATIONSHIPS:
            self.rep_relation_combo.addItem(self.tr(label), code)
        self.rep_consent_check = QCheckBox(
            self.tr("Le représentant légal a été informé et c&onsent à la création du DMP"),
            page,
        )
        self.rep_consent_check.setObjectName("wizardRepConsent")
        form = QFormLayout(page)
        for text, field, name in (
            (self.tr("&Nom :"), self.rep_family_edit, self.tr("Nom du représentant légal")),
            (self.tr("&Prénom :"), self.rep_given_edit, self.tr("Prénom du représentant légal")),
            (self.tr("&Lien avec le patient :"), self.rep_relation_combo, self.tr("Lien")),
        ):
            caption = QLabel(text, page)
            caption.setBuddy(field)
            field.setAccessibleName(name)
            form.addRow(caption, field)
        form.addRow(self.rep_consent_check)
        page.complete = lambda: self.representative() is not None
        page.next_id = lambda: PAGE_EMERGENCY
        for edit in (self.rep_family_edit, self.rep_given_edit):
            edit.textChanged.connect(page.changed)
        self.rep_relation_combo.currentIndexChanged.connect(page.changed)
        self.rep_consent_check.toggled.connect(page.changed)
        self.representative_page = page
        self.setPage(PAGE_REPRESENTATIVE, page)

    def _build_emergency(self) -> None:
        page = _Page(
            self.tr("Accès en urgence"),
            self.tr(
                "Posez les deux questions au patient (ou à son représentant légal) ; il pourra "
                "changer d'avis à tout moment dans son espace santé."
            ),
            self,
        )
        self.bris_de_glace = _Choice(
            self.tr("Accès en mode bris de glace"),
            self.tr(
                "En cas d'urgence, un professionnel de santé sans autorisation peut consulter "
                "le DMP ; l'accès est tracé et le patient en est informé."
            ),
            self.tr("Le patient l'&accepte"),
            self.tr("Le patient s'y &oppose"),
            page,
        )
        self.bris_de_glace.setObjectName("wizardBrisDeGlace")
        self.centre_15 = _Choice(
            self.tr("Accès par le centre 15 (SAMU)"),
            self.tr(
                "Lors d'un appel d'urgence, le médecin régulateur du centre 15 peut consulter "
                "le DMP."
            ),
            self.tr("Le patient l'acc&epte"),
            self.tr("Le patient s'y opp&ose"),
            page,
        )
        self.centre_15.setObjectName("wizardCentre15")
        layout = QVBoxLayout(page)
        layout.addWidget(self.bris_de_glace)
        layout.addWidget(self.centre_15)
        layout.addStretch(1)
        page.complete = lambda: self.bris_de_glace.answered() and self.centre_15.answered()
        page.next_id = lambda: PAGE_SUMMARY if self.minor else PAGE_ONLINE
        for choice in (self.bris_de_glace, self.centre_15):
            choice.group.buttonToggled.connect(lambda *_a: page.changed())
        self.emergency_page = page
        self.setPage(PAGE_EMERGENCY, page)

    def _build_online(self) -> None:
        page = _Page(
            self.tr("Accès en ligne du patient (facultatif)"),
            self.tr("Pour que le patient consulte lui-même son DMP en ligne."),
            self,
        )
        self.online_explanation = QLabel(
            self.tr(
                "Avec un mobile ou une adresse électronique, le patient reçoit ses codes "
                "d'accès et consulte lui-même son DMP en ligne (Mon espace santé). Sans eux, "
                "le patient ne peut voir son DMP que par l'intermédiaire d'un professionnel "
                "de santé."
            ),
            page,
        )
        self.online_explanation.setWordWrap(True)
        self.mobile_edit = QLineEdit(page)
        self.mobile_edit.setObjectName("wizardMobile")
        self.mobile_edit.setPlaceholderText(self.tr("06 12 34 56 78"))
        self.email_edit = QLineEdit(page)
        self.email_edit.setObjectName("wizardEmail")
        self.email_edit.setPlaceholderText(self.tr("prenom.nom@exemple.fr"))
        self.mobile_edit.setMaxLength(20)
        self.email_edit.setMaxLength(254)
        self.online_feedback = QLabel(page)
        self.online_feedback.setObjectName("wizardOnlineFeedback")
        self.online_feedback.setWordWrap(True)
        form = QFormLayout(page)
        form.addRow(self.online_explanation)
        for text, field, name in (
            (self.tr("&Mobile :"), self.mobile_edit, self.tr("Mobile du patient")),
            (self.tr("&Courriel :"), self.email_edit, self.tr("Courriel du patient")),
        ):
            caption = QLabel(text, page)
            caption.setBuddy(field)
            field.setAccessibleName(name)
            form.addRow(caption, field)
        form.addRow(self.online_feedback)
        page.complete = lambda: not self._contact_problems()
        page.next_id = lambda: PAGE_SUMMARY
        for edit in (self.mobile_edit, self.email_edit):
            edit.textChanged.connect(self._contacts_changed)
        self.online_page = page
        self.setPage(PAGE_ONLINE, page)
        self._contacts_changed()

    def _build_summary(self) -> None:
        page = _Page(
            self.tr("Récapitulatif"),
            self.tr("Vérifiez avec le patient, puis créez son DMP (Entrée)."),
            self,
        )
        self.summary_label = QLabel(page)
        self.summary_label.setObjectName("wizardSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setFont(scaled_font(page, 1.05))
        self.send_status = QLabel(page)
        self.send_status.setObjectName("wizardSendStatus")
        self.send_status.setWordWrap(True)
        self.send_status.setTextFormat(Qt.TextFormat.PlainText)
        set_tone(self.send_status, Tone.INFO, "")
        layout = QVBoxLayout(page)
        layout.addWidget(self.summary_label)
        layout.addStretch(1)
        layout.addWidget(self.send_status)
        page.complete = lambda: not self._sending
        page.next_id = lambda: -1
        page.validatePage = self._send  # type: ignore[method-assign]
        self.summary_page = page
        self.setPage(PAGE_SUMMARY, page)

    # -- values -------------------------------------------------------------------------
    def birth_date(self) -> dt.date | None:
        return parse_birth_date(self.birth_edit.text())

    @property
    def minor(self) -> bool:
        birth = self.birth_date()
        return birth is not None and is_minor(birth, self._today)

    def identity(self) -> PatientIdentity | None:
        family = " ".join(self.family_edit.text().split())
        given = " ".join(self.given_edit.text().split())
        gender = str(self.gender_combo.currentData() or "")
        birth = self.birth_date()
        if not family or not given or not gender or birth is None:
            return None
        return PatientIdentity(family, given, gender, birth)

    def representative(self) -> LegalRepresentative | None:
        family = " ".join(self.rep_family_edit.text().split())
        given = " ".join(self.rep_given_edit.text().split())
        relation = str(self.rep_relation_combo.currentData() or "")
        if not (family and given and relation and self.rep_consent_check.isChecked()):
            return None
        return LegalRepresentative(family, given, True, relationship=relation)

    def _contact_problems(self) -> list[str]:
        problems = []
        for text, check in (
            (self.mobile_edit.text(), check_mobile),
            (self.email_edit.text(), check_email),
        ):
            if text.strip():
                try:
                    check(text)
                except InvalidContactError as exc:
                    problems.append(describe(exc))
        return problems

    def consent(self) -> CreationConsent | None:
        """What the patient agreed to, once every page is answered (else None)."""
        if self.identity() is None:
            return None
        if not (self.bris_de_glace.answered() and self.centre_15.answered()):
            return None
        representative = None
        mobile = email = None
        if self.minor:
            representative = self.representative()
            if representative is None:
                return None
            given = True
        else:
            given = self.consent_check.isChecked()
            if not given or self._contact_problems():
                return None
            if self.mobile_edit.text().strip():
                mobile = check_mobile(self.mobile_edit.text())
            if self.email_edit.text().strip():
                email = check_email(self.email_edit.text())
        return CreationConsent(
            consent_given=given,
            opposition_bris_de_glace=self.bris_de_glace.opposed(),
            opposition_centre_15=self.centre_15.opposed(),
            mobile=mobile,
            email=email,
            legal_representative=representative,
        )

    # -- feedback -----------------------------------------------------------------------
    def _identity_changed(self, *_args: object) -> None:
        birth = self.birth_date()
        if self.birth_edit.text().strip() and birth is None:
            set_tone(
                self.minor_label,
                Tone.ERROR,
                self.tr("Date de naissance invalide : saisissez-la au format JJ/MM/AAAA."),
            )
        elif birth is not None and self.minor:
            set_tone(
                self.minor_label,
                Tone.INFO,
                self.tr(
                    "Patient mineur : son représentant légal consent à sa place, et le mineur "
                    "n'aura pas d'accès en ligne à son DMP."
                ),
            )
        else:
            set_tone(self.minor_label, Tone.NEUTRAL, "")
        self.identity_page.changed()

    def _contacts_changed(self, *_args: object) -> None:
        problems = self._contact_problems()
        if problems:
            set_tone(self.online_feedback, Tone.ERROR, "\n".join(problems))
        elif self.mobile_edit.text().strip() or self.email_edit.text().strip():
            set_tone(
                self.online_feedback,
                Tone.OK,
                self.tr("Le patient pourra consulter son DMP en ligne."),
            )
        else:
            set_tone(
                self.online_feedback,
                Tone.WARNING,
                self.tr(
                    "Sans mobile ni courriel, le patient ne pourra voir son DMP que par "
                    "l'intermédiaire d'un professionnel de santé."
                ),
            )
        self.online_page.changed()

    def summary_text(self) -> str:
        identity = self.identity()
        consent = self.consent()
        if identity is None or consent is None:
            return ""
        gender = {"F": self.tr("féminin"), "M": self.tr("masculin")}.get(
            identity.gender, self.tr("indéterminé")
        )
        if identity.gender == "F":
            who = self.tr("Patiente : {family} {given}, sexe {gender}, née le {birth}")
        elif identity.gender == "M":
            who = self.tr("Patient : {family} {given}, sexe {gender}, né le {birth}")
        else:
            who = self.tr("Patient : {family} {given}, sexe {gender}, né(e) le {birth}")
        lines = [
            who.format(
                family=identity.family_name.upper(),
                given=identity.given_name.title(),
                gender=gender,
                birth=fr_date(identity.birth_date),
            ),
            self.tr("INS : {ins}").format(ins=self.ins.value),
        ]
        rep = consent.legal_representative
        if rep is not None:
            relation = dict(RELATIONSHIPS).get(rep.relationship or "", "")
            lines.append(
                self.tr(
                    "Patient mineur : consentement de son représentant légal, {family} {given} "
                    "({relation})"
                ).format(
                    family=rep.family_name.upper(),
                    given=rep.given_name.title(),
                    relation=self.tr(relation).lower(),
                )
            )
        else:
            lines.append(self.tr("Consentement du patient : recueilli"))

        def word(opposed: bool) -> str:
            return self.tr("le patient s'y oppose") if opposed else self.tr("accepté")

        lines.append(
            self.tr("Accès en mode bris de glace : {answer}").format(
                answer=word(consent.opposition_bris_de_glace)
            )
        )
        lines.append(
            self.tr("Accès par le centre 15 (SAMU) : {answer}").format(
                answer=word(consent.opposition_centre_15)
            )
        )
        if rep is not None:
            lines.append(self.tr("Accès en ligne : aucun (patient mineur)"))
        elif consent.mobile or consent.email:
            channels = ", ".join(c for c in (consent.mobile, consent.email) if c)
            lines.append(
                self.tr("Accès en ligne du patient : oui ({channels})").format(channels=channels)
            )
        else:
            lines.append(
                self.tr(
                    "Accès en ligne : aucun — le patient verra son DMP par l'intermédiaire "
                    "d'un professionnel"
                )
            )
        return "\n".join(lines)

    def _on_page(self, page_id: int) -> None:
        if page_id == PAGE_SUMMARY:
            self.summary_label.setText(self.summary_text())
            set_tone(self.send_status, Tone.INFO, "")
        first: dict[int, QWidget] = {
            PAGE_IDENTITY: self.family_edit,
            PAGE_CONSENT: self.consent_check,
            PAGE_REPRESENTATIVE: self.rep_family_edit,
            PAGE_EMERGENCY: self.bris_de_glace.accept_button,
            PAGE_ONLINE: self.mobile_edit,
            PAGE_SUMMARY: self.button(QWizard.WizardButton.FinishButton),
        }
        widget = first.get(page_id)
        if widget is not None:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- sending ------------------------------------------------------------------------
    def _send(self) -> bool:
        """Finish pressed: ask for the creation; the wizard stays until the DMP answers."""
        if self._created:
            return True  # the DMP said yes: the wizard may close
        identity, consent = self.identity(), self.consent()
        if identity is None or consent is None or self._sending:
            return False
        self._sending = True
        self.summary_page.changed()
        self.button(QWizard.WizardButton.BackButton).setEnabled(False)
        set_tone(self.send_status, Tone.INFO, self.tr("Création du DMP en cours…"))
        self.sendRequested.emit(identity, consent)
        return False

    @property
    def sending(self) -> bool:
        return self._sending

    def creation_failed(self, message: str) -> None:
        self._sending = False
        self.summary_page.changed()
        self.button(QWizard.WizardButton.BackButton).setEnabled(True)
        set_tone(self.send_status, Tone.ERROR, message)

    def creation_succeeded(self) -> None:
        self._sending = False
        self._created = True
        self.accept()

    def forget(self) -> None:
        """Nothing of the patient left in the widgets (session ended)."""
        for edit in self.findChildren(QLineEdit):
            edit.setText("")
        for label in self.findChildren(QLabel):
            label.setText("")


__all__ = ["RecordWizard", "gender_from_ins", "parse_birth_date"]
