"""« Données administratives »: read and edit a patient's DMP administrative data (TD1.3)
and manage the patient's own online access (TD1.5).

The identity traits come from the INS and are shown read-only; the contacts are
checked as they are typed (a French mobile, an e-mail, a phone, a postal code)
and « Enregistrer » stays disabled while one is invalid. Every exchange runs
off the UI thread through the service's ``call`` (``DmpService.call``), and
the outcome comes back on the UI thread; errors are shown in French
(``errors.describe``). The temporary password of a new online access is shown
once in the dialog, to hand to the patient; it is never logged.

Entry point for the window: :func:`open_admin_data_dialog`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.dates import fr_date
from dmp_desktop.dmp import td15
from dmp_desktop.domain.admin_data import (
    OTP_EMAIL,
    OTP_SMS,
    AdministrativeData,
    OnlineAccessCredentials,
    PostalAddress,
    check_email,
    check_mobile,
    check_phone,
    check_postal_code,
)
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import InvalidContactError, describe
from dmp_desktop.messages import text
from dmp_desktop.services.operations import ClientCaller, Operation
from dmp_desktop.ui.style import Tone, make_primary, scaled_font, set_tone
from dmp_desktop.ui.vsm_fields import set_invalid

__all__ = ["AdminDataDialog", "ClientCaller", "open_admin_data_dialog"]


_CHECKS: dict[str, Callable[[str], str]] = {
    "mobile": check_mobile,
    "email": check_email,
    "home_phone": check_phone,
    "postal_code": check_postal_code,
}


class AdminDataDialog(QDialog):
    """The patient's administrative data and online access (see the module docstring)."""

    def __init__(
        self,
        service: ClientCaller,
        ins: Ins,
        *,
        minor: bool = False,
        online_access: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("adminDataDialog")
        # TD1.5 exists only with the training host (« Formation »); on the real DMP the
        # patient activates Mon espace santé themselves.
        self._online_access = online_access
        self.setWindowTitle(self.tr("Données administratives"))
        self.setMinimumWidth(560)
        self._service = service
        self._ins = ins
        self._minor = minor
        self._data: AdministrativeData | None = None
        self._operation: Operation[Any] | None = None

        title = QLabel(self.tr("Données administratives du DMP"), self)
        title.setFont(scaled_font(self, 1.2, bold=True))
        self.status_label = QLabel(self)
        self.status_label.setObjectName("adminDataStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # Identity: from the INS, read-only.
        identity = QGroupBox(self.tr("Identité (issue de l'INS, non modifiable ici)"), self)
        identity_form = QFormLayout(identity)
        self.family_edit = self._read_only(self.tr("Nom"))
        self.given_edit = self._read_only(self.tr("Prénom"))
        self.gender_edit = self._read_only(self.tr("Sexe"))
        self.birth_edit = self._read_only(self.tr("Date de naissance"))
        for label, edit in (
            (self.tr("Nom :"), self.family_edit),
            (self.tr("Prénom :"), self.given_edit),
            (self.tr("Sexe :"), self.gender_edit),
            (self.tr("Date de naissance :"), self.birth_edit),
        ):
            identity_form.addRow(label, edit)

        # Contacts and address: editable, checked as typed.
        contacts = QGroupBox(
            self.tr("Coordonnées du représentant légal")
            if minor
            else self.tr("Coordonnées et adresse"),
            self,
        )
        form = QFormLayout(contacts)
        self.mobile_edit = self._editable(form, self.tr("&Mobile :"), "mobile", "06 12 34 56 78")
        self.email_edit = self._editable(
            form, self.tr("&Courriel :"), "email", "prenom.nom@exemple.fr"
        )
        self.phone_edit = self._editable(
            form, self.tr("&Téléphone fixe :"), "home_phone", "01 23 45 67 89"
        )
        self.street_edit = self._editable(form, self.tr("&Adresse :"), None, "12 rue des Lilas")
        self.postal_edit = self._editable(form, self.tr("Code &postal :"), "postal_code", "75011")
        self.city_edit = self._editable(form, self.tr("&Ville :"), None, "Paris")
        self.country_edit = self._editable(form, self.tr("Pa&ys :"), None, "France")
        self.contact_feedback = QLabel(self)
        self.contact_feedback.setObjectName("contactFeedback")
        self.contact_feedback.setWordWrap(True)
        form.addRow(self.contact_feedback)

        choices = QGroupBox(self.tr("Accès en urgence"), self)
        choices_layout = QVBoxLayout(choices)
        self.bris_de_glace_box = QCheckBox(
            self.tr("Le patient s'oppose à l'accès en mode « bris de glace »"), choices
        )
        self.centre_15_box = QCheckBox(
            self.tr("Le patient s'oppose à l'accès par le centre 15 (régulation)"), choices
        )
        choices_layout.addWidget(self.bris_de_glace_box)
        choices_layout.addWidget(self.centre_15_box)

        # The patient's own online access (TD1.5).
        online = QGroupBox(self.tr("Accès en ligne du patient"), self)
        online_layout = QVBoxLayout(online)
        self.online_help = QLabel(online)
        self.online_help.setObjectName("onlineHelp")
        self.online_help.setWordWrap(True)
        online_layout.addWidget(self.online_help)
        row = QHBoxLayout()
        self.channel_combo = QComboBox(online)
        self.channel_combo.addItem(self.tr("SMS (mobile)"), OTP_SMS)
        self.channel_combo.addItem(self.tr("Courriel"), OTP_EMAIL)
        self.channel_combo.setAccessibleName(self.tr("Canal des codes à usage unique"))
        self.channel_edit = QLineEdit(online)
        self.channel_edit.setObjectName("channelEdit")
        self.channel_edit.setAccessibleName(self.tr("Mobile ou courriel du patient"))
        row.addWidget(self.channel_combo)
        row.addWidget(self.channel_edit, 1)
        online_layout.addLayout(row)
        buttons_row = QHBoxLayout()
        self.create_button = QPushButton(self.tr("C&réer l'accès en ligne"), online)
        self.add_channel_button = QPushButton(self.tr("A&jouter ce canal"), online)
        self.renew_button = QPushButton(self.tr("Re&nouveler les identifiants"), online)
        for button in (self.create_button, self.add_channel_button, self.renew_button):
            buttons_row.addWidget(button)
        online_layout.addLayout(buttons_row)
        self.credentials_label = QLabel(online)
        self.credentials_label.setObjectName("credentialsLabel")
        self.credentials_label.setWordWrap(True)
        self.credentials_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        online_layout.addWidget(self.credentials_label)

        self.buttons = QDialogButtonBox(self)
        self.save_button = QPushButton(self.tr("&Enregistrer"), self)
        make_primary(self.save_button)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setText(self.tr("Fermer"))
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        for widget in (title, self.status_label, identity, contacts, choices, online):
            layout.addWidget(widget)
        layout.addWidget(self.buttons)

        self.save_button.clicked.connect(self.save)
        self.create_button.clicked.connect(self.create_access)
        self.add_channel_button.clicked.connect(self.add_channel)
        self.renew_button.clicked.connect(self.renew_access)
        self.channel_combo.currentIndexChanged.connect(self._channel_type_changed)
        self.channel_edit.textChanged.connect(self._refresh)
        self._set_editable(False)
        self._refresh()

    # -- building ----------------------------------------------------------------------------
    def _read_only(self, name: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setReadOnly(True)
        edit.setAccessibleName(name)
        edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        return edit

    def _editable(
        self, form: QFormLayout, label: str, check: str | None, example: str
    ) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setPlaceholderText(self.tr("Ex. : {example}").format(example=example))
        edit.setAccessibleName(label.replace("&", "").rstrip(" :"))
        edit.setProperty("check", check)
        edit.textChanged.connect(self._refresh)
        title = QLabel(label, self)
        title.setBuddy(edit)
        form.addRow(title, edit)
        return edit

    def _edits(self) -> dict[str, QLineEdit]:
        return {
            "mobile": self.mobile_edit,
            "email": self.email_edit,
            "home_phone": self.phone_edit,
            "postal_code": self.postal_edit,
        }

    # -- state -------------------------------------------------------------------------------
    @property
    def data(self) -> AdministrativeData | None:
        return self._data

    @property
    def busy(self) -> bool:
        return self._operation is not None and not self._operation.done

    def _set_editable(self, on: bool) -> None:
        for edit in (
            self.mobile_edit,
            self.email_edit,
            self.phone_edit,
            self.street_edit,
            self.postal_edit,
            self.city_edit,
            self.country_edit,
        ):
            edit.setReadOnly(not on)
        self.bris_de_glace_box.setEnabled(on)
        self.centre_15_box.setEnabled(on)

    def _invalid_fields(self) -> list[str]:
        wrong = []
        for field, edit in self._edits().items():
            value = edit.text().strip()
            if value:
                try:
                    _CHECKS[field](value)
                except InvalidContactError:
                    wrong.append(field)
        return wrong

    def _edited(self) -> AdministrativeData | None:
        """The data as typed (normalised), or None when something is invalid or unloaded."""
        if self._data is None or self._invalid_fields():
            return None

        def value(edit: QLineEdit) -> str | None:
            return edit.text().strip() or None

        street = self.street_edit.text().strip()
        data = dataclasses.replace(
            self._data,
            mobile=value(self.mobile_edit),
            email=value(self.email_edit),
            home_phone=value(self.phone_edit),
            address=PostalAddress(
                lines=(street,) if street else (),
                postal_code=self.postal_edit.text().strip(),
                city=self.city_edit.text().strip(),
                country=self.country_edit.text().strip(),
            ),
            opposition_bris_de_glace=self.bris_de_glace_box.isChecked(),
            opposition_centre_15=self.centre_15_box.isChecked(),
        )
        if self._minor and data.legal_representatives:
            # A minor's contacts are the legal representative's (the host stores them so).
            rep = dataclasses.replace(
                data.legal_representatives[0], mobile=data.mobile, email=data.email
            )
            data = dataclasses.replace(
                data,
                mobile=None,
                email=None,
                legal_representatives=(rep, *data.legal_representatives[1:]),
            )
        try:
            return data.checked()
        except InvalidContactError:
            return None

    def _refresh(self) -> None:
        loaded = self._data is not None
        closed = loaded and self._data is not None and self._data.closed
        wrong = self._invalid_fields()
        for field, edit in self._edits().items():  # marked while wrong, cleared once corrected
            set_invalid(edit, field in wrong, describe(InvalidContactError(field)))
        if wrong:
            set_tone(self.contact_feedback, Tone.ERROR, describe(InvalidContactError(wrong[0])))
        else:
            self.contact_feedback.clear()
        editable = loaded and not closed and not self.busy
        self.save_button.setEnabled(editable and not wrong)
        has_contact = bool(self.mobile_edit.text().strip() or self.email_edit.text().strip())
        if not self._online_access:
            self.online_help.setText(text("dmp.online_access_by_patient"))
        elif self._minor:
            self.online_help.setText(
                self.tr(
                    "Patient mineur : pas d'accès en ligne à son DMP. Son représentant légal "
                    "y accède avec son propre compte."
                )
            )
        elif has_contact:
            self.online_help.setText(
                self.tr(
                    "Le patient peut consulter son DMP en ligne : les codes à usage unique "
                    "lui sont envoyés par SMS ou par courriel."
                )
            )
        else:
            self.online_help.setText(
                self.tr(
                    "Sans téléphone mobile ni adresse électronique, le patient ne peut voir "
                    "son DMP qu'avec un professionnel de santé."
                )
            )
        channel_ok = self._channel() is not None
        online_ok = (
            self._online_access and loaded and not closed and not self._minor and not self.busy
        )
        for widget in (
            self.create_button,
            self.add_channel_button,
            self.renew_button,
            self.channel_combo,
            self.channel_edit,
        ):
            widget.setVisible(self._online_access)
        self.create_button.setEnabled(online_ok and channel_ok)
        self.add_channel_button.setEnabled(online_ok and channel_ok)
        self.renew_button.setEnabled(online_ok)
        self.channel_combo.setEnabled(online_ok)
        self.channel_edit.setEnabled(online_ok)

    def _channel(self) -> tuple[str, str] | None:
        channel_type = self.channel_combo.currentData()
        try:
            return channel_type, td15.check_channel(channel_type, self.channel_edit.text())
        except InvalidContactError:
            return None

    def _channel_type_changed(self) -> None:
        if self._data is not None:
            default = self._data.mobile if self.channel_combo.currentData() == OTP_SMS else None
            self.channel_edit.setText(default or self._data.email or "")
        self._refresh()

    def _show_status(self, tone: Tone, text: str) -> None:
        set_tone(self.status_label, tone, text)

    # -- exchanges ---------------------------------------------------------------------------
    def _run(
        self,
        label: str,
        work: Callable[[Any], Any],
        done: Callable[[Any], None],
    ) -> None:
        def failed(exc: BaseException) -> None:
            self._operation = None
            self._show_status(Tone.ERROR, describe(exc))
            self._refresh()

        def succeeded(result: Any) -> None:
            self._operation = None
            done(result)
            self._refresh()

        op = self._service.call(label, work, succeeded, failed)
        if op is None:
            self._show_status(
                Tone.ERROR, self.tr("Connectez-vous avec votre carte CPS pour accéder au DMP.")
            )
            return
        self._operation = op
        self._refresh()

    def load(self) -> None:
        """TD1.3a: read the administrative data."""
        ins = self._ins
        self._show_status(Tone.INFO, self.tr("Lecture des données administratives…"))
        self._run(
            self.tr("Lecture des données administratives"),
            lambda client: client.get_admin_data(ins),
            self._loaded,
        )

    def _loaded(self, data: AdministrativeData) -> None:
        self._data = data
        self.family_edit.setText(data.family_name)
        self.given_edit.setText(data.given_name)
        self.gender_edit.setText(
            {"M": self.tr("Masculin"), "F": self.tr("Féminin")}.get(data.gender, self.tr("Inconnu"))
        )
        self.birth_edit.setText(fr_date(data.birth_date) if data.birth_date else "")
        mobile, email = data.mobile, data.email
        if self._minor and data.legal_representatives:
            mobile = data.legal_representatives[0].mobile
            email = data.legal_representatives[0].email
        self.mobile_edit.setText(mobile or "")
        self.email_edit.setText(email or "")
        self.phone_edit.setText(data.home_phone or "")
        self.street_edit.setText(", ".join(data.address.lines))
        self.postal_edit.setText(data.address.postal_code)
        self.city_edit.setText(data.address.city)
        self.country_edit.setText(data.address.country)
        self.bris_de_glace_box.setChecked(data.opposition_bris_de_glace)
        self.centre_15_box.setChecked(data.opposition_centre_15)
        self.channel_combo.setCurrentIndex(0 if data.mobile or not data.email else 1)
        self._channel_type_changed()
        if data.closed:
            self._set_editable(False)
            self._show_status(
                Tone.WARNING,
                self.tr(
                    "Le DMP de ce patient est fermé : ses données administratives ne sont "
                    "plus modifiables. Réactivez-le pour les changer."
                ),
            )
        else:
            self._set_editable(True)
            self.status_label.clear()

    def save(self) -> None:
        """TD1.3b: send the edited data."""
        data = self._edited()
        if data is None or self.busy:
            return
        self._show_status(Tone.INFO, self.tr("Enregistrement…"))

        def saved(_result: object) -> None:
            self._data = data
            self._show_status(
                Tone.OK,
                self.tr("Données administratives enregistrées. Le patient en est informé."),
            )

        self._run(
            self.tr("Modification des données administratives"),
            lambda client: client.update_admin_data(data),
            saved,
        )

    def _show_credentials(self, result: OnlineAccessCredentials, what: str) -> None:
        self._show_status(Tone.OK, what)
        self.credentials_label.setText(
            self.tr(
                "Identifiant : {login}\nMot de passe provisoire : {password}\n"
                "Remettez-les au patient ; il changera ce mot de passe à sa première "
                "connexion. Ils ne seront plus affichés après la fermeture."
            ).format(login=result.login or "—", password=result.temporary_password or "—")
        )

    def create_access(self) -> None:
        """TD1.5a with the chosen channel."""
        channel = self._channel()
        if channel is None or self.busy:
            return
        ins = self._ins
        self._run(
            self.tr("Création de l'accès en ligne"),
            lambda client: client.create_online_access(ins, *channel),
            lambda result: self._show_credentials(
                result,
                self.tr("Accès en ligne créé : un code de vérification a été envoyé au patient."),
            ),
        )

    def add_channel(self) -> None:
        """TD1.5b: add the chosen channel."""
        channel = self._channel()
        if channel is None or self.busy:
            return
        ins = self._ins
        self._run(
            self.tr("Ajout d'un canal de codes à usage unique"),
            lambda client: client.update_otp_channel(ins, *channel, td15.OTP_ADD),
            lambda _result: self._show_status(
                Tone.OK, self.tr("Canal ajouté : un code de vérification y a été envoyé.")
            ),
        )

    def renew_access(self) -> None:
        """TD1.5d: new credentials for the existing access."""
        if self.busy:
            return
        ins = self._ins
        self._run(
            self.tr("Renouvellement des identifiants"),
            lambda client: client.renew_online_access(ins),
            lambda result: self._show_credentials(
                result, self.tr("Nouveaux identifiants d'accès en ligne.")
            ),
        )

    def done(self, result: int) -> None:
        if self._operation is not None and not self._operation.done:
            self._operation.cancel()
        self._operation = None
        self.credentials_label.clear()  # the temporary password does not outlive the dialog
        super().done(result)


def open_admin_data_dialog(
    parent: QWidget | None,
    service: ClientCaller,
    ins: Ins,
    *,
    minor: bool = False,
    online_access: bool = True,
) -> AdminDataDialog:
    """Open « Données administratives » for ``ins`` (window-modal) and start reading.

    ``service`` is the window's ``DmpService`` (anything with its ``call``);
    ``minor``: the patient is a minor (from TD0.2), so no online access of their own;
    ``online_access``: TD1.5 is offered (« Formation » profile only).
    """
    dialog = AdminDataDialog(service, ins, minor=minor, online_access=online_access, parent=parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    dialog.load()
    return dialog
