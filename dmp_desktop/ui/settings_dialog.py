"""Paramètres (Ctrl+,): the profile, the card's middleware, the DMP, the software, the proxy.

- "Profil": « Formation » (the training host) or « DMP » (a platform of the
  Assurance Maladie: production or test). Each profile keeps its own address,
  roots and card module (``Settings.with_profile``): switching refills them.
- "Module PKCS#11": empty means the Cryptolib CPS at its usual place for this
  system; "Tester" loads the chosen module on the card thread (never on the
  UI thread) and lists the cards it sees.
- "Adresse du DMP": https only; "Autorités de confiance": a PEM file, empty on
  the production DMP (the IGC-Santé root shipped, its fingerprint shown).
- "Logiciel": the LPS name, version and DMP homologation number the VIHF
  carries (the « DMP » profile cannot be saved without a real number).
- "Proxy": the system's, none, or an explicit ``http://host:port``.
- "Authentification": the card (direct mode) or the structure's certificate
  (indirect reinforced mode: a PKCS#12 file; its passphrase goes to the
  system keyring, never to the settings file).

Problems are shown next to the field concerned. Saving checks the PKCS#12
and stores the passphrase off the UI thread (a keyring may ask to be
unlocked), then writes the settings with :func:`dmp_desktop.settings.save_settings`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.errors import SettingsError, describe
from dmp_desktop.services.operations import Operation, OperationRunner
from dmp_desktop.settings import (
    PLATFORM_PRODUCTION,
    PLATFORM_TEST,
    PRODUCTION_HOST_URL,
    PROFILE_DMP,
    PROFILE_TRAINING,
    Settings,
    default_middleware_paths,
    is_placeholder_homologation,
    save_settings,
)
from dmp_desktop.smartcard.card import CardInfo, CardManager
from dmp_desktop.smartcard.thread import CardThread
from dmp_desktop.ui.card_model import card_holder_text
from dmp_desktop.ui.style import Tone, make_primary, set_tone

if TYPE_CHECKING:
    from dmp_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

AUTH_CARD = "DIRECTE"
AUTH_STRUCTURE = "INDIRECTE_RENFORCEE"
# Fields whose change needs a new DMP client (a new TLS identity, host, roots or route).
_CONNECTION_FIELDS = (
    "profile",
    "dmp_platform",
    "host_url",
    "endpoints",
    "trust_roots",
    "auth_mode",
    "structure_p12",
    "proxy_url",
    "proxy_from_environment",
    "lps_name",
    "lps_version",
    "lps_homologation_id",
)

CardLister = Callable[[list[str]], list[CardInfo]]


def host_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the DMP address (French), or None."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        return QCoreApplication.translate(
            "SettingsDialog", "L'adresse doit commencer par https:// (connexion chiffrée)."
        )
    if not parts.hostname:
        return QCoreApplication.translate(
            "SettingsDialog", "Indiquez le nom du serveur après https://."
        )
    return None


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``applied`` gives (old, new) once saved."""

    applied = Signal(object, object)  # Settings before, Settings after

    def __init__(
        self,
        settings: Settings,
        runner: OperationRunner,
        card_thread: CardThread,
        *,
        path: Path | None = None,
        lister: CardLister | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Paramètres"))
        self.setModal(True)
        self.setMinimumWidth(620)
        self._settings = settings
        self._runner = runner
        self._card_thread = card_thread
        self._path = path
        self._lister = lister or self._list_with_module
        self._test_op: Operation[Any] | None = None
        self._save_op: Operation[Any] | None = None
        self._keyring_op: Operation[Any] | None = None
        self.file_dialog: QFileDialog | None = None

        # -- profile ----------------------------------------------------------------------
        profile_box = QGroupBox(self.tr("Profil"), self)
        self.training_radio = QRadioButton(
            self.tr("&Formation : hôte de formation, cartes de test (rien ne part au DMP)"),
            profile_box,
        )
        self.training_radio.setObjectName("trainingRadio")
        self.dmp_radio = QRadioButton(
            self.tr("&DMP : plateforme de l'Assurance Maladie, cartes CPS réelles"), profile_box
        )
        self.dmp_radio.setObjectName("dmpRadio")
        self.profile_group = QButtonGroup(self)
        self.profile_group.addButton(self.training_radio)
        self.profile_group.addButton(self.dmp_radio)
        self.platform_combo = QComboBox(profile_box)
        self.platform_combo.setObjectName("platformCombo")
        self.platform_combo.addItem(self.tr("Production"), PLATFORM_PRODUCTION)
        self.platform_combo.addItem(self.tr("Plateforme de test"), PLATFORM_TEST)
        self.platform_combo.setAccessibleName(self.tr("Plateforme du DMP"))
        platform_label = QLabel(self.tr("P&lateforme :"), profile_box)
        platform_label.setBuddy(self.platform_combo)
        platform_row = QHBoxLayout()
        platform_row.setContentsMargins(24, 0, 0, 0)
        platform_row.addWidget(platform_label)
        platform_row.addWidget(self.platform_combo, 1)
        profile_layout = QVBoxLayout(profile_box)
        profile_layout.addWidget(self.training_radio)
        profile_layout.addWidget(self.dmp_radio)
        profile_layout.addLayout(platform_row)
        self._profile = settings.profile
        self._platform = settings.dmp_platform
        self.training_radio.setChecked(settings.is_training)
        self.dmp_radio.setChecked(not settings.is_training)
        index = self.platform_combo.findData(settings.dmp_platform)
        self.platform_combo.setCurrentIndex(max(index, 0))

        # -- card middleware --------------------------------------------------------------
        card_box = QGroupBox(self.tr("Carte CPS"), self)
        self.module_edit = QLineEdit(settings.pkcs11_module, card_box)
        self.module_edit.setObjectName("moduleEdit")
        defaults = default_middleware_paths()
        self.module_edit.setPlaceholderText(self.tr("Cryptolib CPS (par défaut)"))
        self.module_edit.setToolTip(
            self.tr("Vide : la Cryptolib CPS à son emplacement habituel ({path})").format(
                path=defaults[0]
            )
        )
        self.module_edit.setAccessibleName(self.tr("Module PKCS#11 de la carte"))
        module_label = QLabel(self.tr("&Module PKCS#11 :"), card_box)
        module_label.setBuddy(self.module_edit)
        self.module_browse = QPushButton(self.tr("&Parcourir…"), card_box)
        self.module_browse.clicked.connect(self._browse_module)
        self.test_button = QPushButton(self.tr("&Tester"), card_box)
        self.test_button.setObjectName("testButton")
        self.test_button.setToolTip(self.tr("Charger ce module et lister les cartes insérées"))
        self.test_button.clicked.connect(self.test_module)
        module_row = QHBoxLayout()
        module_row.addWidget(self.module_edit, 1)
        module_row.addWidget(self.module_browse)
        module_row.addWidget(self.test_button)
        self.module_message = self._message_label(card_box, "moduleMessage")
        card_form = QFormLayout(card_box)
        card_form.addRow(module_label, module_row)
        card_form.addRow("", self.module_message)

        # -- host -------------------------------------------------------------------------
        host_box = QGroupBox(self.tr("DMP"), self)
        self.host_edit = QLineEdit(settings.host_url, host_box)
        self.host_edit.setObjectName("hostEdit")
        self.host_edit.setAccessibleName(self.tr("Adresse du DMP"))
        self.host_edit.setPlaceholderText("https://…")
        host_label = QLabel(self.tr("&Adresse du DMP :"), host_box)
        host_label.setBuddy(self.host_edit)
        self.host_message = self._message_label(host_box, "hostMessage")
        self.host_edit.textChanged.connect(lambda _text: self._check_host())
        self.roots_edit = QLineEdit(settings.trust_roots, host_box)
        self.roots_edit.setObjectName("rootsEdit")
        self.roots_edit.setAccessibleName(self.tr("Fichier des autorités de confiance"))
        roots_label = QLabel(self.tr("Autorités de &confiance :"), host_box)
        roots_label.setBuddy(self.roots_edit)
        self.roots_browse = QPushButton(self.tr("Parco&urir…"), host_box)
        self.roots_browse.clicked.connect(self._browse_roots)
        roots_row = QHBoxLayout()
        roots_row.addWidget(self.roots_edit, 1)
        roots_row.addWidget(self.roots_browse)
        self.roots_message = self._message_label(host_box, "rootsMessage")
        self.roots_edit.textChanged.connect(lambda _text: self._show_roots())
        host_form = QFormLayout(host_box)
        host_form.addRow(host_label, self.host_edit)
        host_form.addRow("", self.host_message)
        host_form.addRow(roots_label, roots_row)
        host_form.addRow("", self.roots_message)

        # -- this software (LPS) ----------------------------------------------------------
        lps_box = QGroupBox(self.tr("Logiciel (identification auprès du DMP)"), self)
        self.lps_name_edit = QLineEdit(settings.lps_name, lps_box)
        self.lps_name_edit.setObjectName("lpsNameEdit")
        self.lps_name_edit.setAccessibleName(self.tr("Nom du logiciel"))
        lps_name_label = QLabel(self.tr("&Nom :"), lps_box)
        lps_name_label.setBuddy(self.lps_name_edit)
        self.lps_version_edit = QLineEdit(settings.lps_version, lps_box)
        self.lps_version_edit.setObjectName("lpsVersionEdit")
        self.lps_version_edit.setAccessibleName(self.tr("Version du logiciel"))
        lps_version_label = QLabel(self.tr("&Version :"), lps_box)
        lps_version_label.setBuddy(self.lps_version_edit)
        self.homologation_edit = QLineEdit(settings.lps_homologation_id, lps_box)
        self.homologation_edit.setObjectName("homologationEdit")
        self.homologation_edit.setAccessibleName(self.tr("Numéro d'homologation DMP"))
        homologation_label = QLabel(self.tr("N° d'&homologation DMP :"), lps_box)
        homologation_label.setBuddy(self.homologation_edit)
        self.homologation_message = self._message_label(lps_box, "homologationMessage")
        self.homologation_edit.textChanged.connect(lambda _text: self._check_homologation())
        lps_form = QFormLayout(lps_box)
        lps_form.addRow(lps_name_label, self.lps_name_edit)
        lps_form.addRow(lps_version_label, self.lps_version_edit)
        lps_form.addRow(homologation_label, self.homologation_edit)
        lps_form.addRow("", self.homologation_message)

        # -- proxy ------------------------------------------------------------------------
        proxy_box = QGroupBox(self.tr("Proxy"), self)
        self.proxy_system_radio = QRadioButton(
            self.tr("Proxy du s&ystème (variables HTTPS_PROXY / NO_PROXY, réglages du poste)"),
            proxy_box,
        )
        self.proxy_none_radio = QRadioButton(self.tr("Aucun proxy (connexion &directe)"), proxy_box)
        self.proxy_explicit_radio = QRadioButton(self.tr("Ce pro&xy :"), proxy_box)
        self.proxy_group = QButtonGroup(self)
        for radio in (self.proxy_system_radio, self.proxy_none_radio, self.proxy_explicit_radio):
            self.proxy_group.addButton(radio)
        self.proxy_edit = QLineEdit(settings.proxy_url, proxy_box)
        self.proxy_edit.setObjectName("proxyEdit")
        self.proxy_edit.setPlaceholderText("http://proxy.cabinet:3128")
        self.proxy_edit.setAccessibleName(self.tr("Adresse du proxy"))
        self.proxy_message = self._message_label(proxy_box, "proxyMessage")
        if settings.proxy_url:
            self.proxy_explicit_radio.setChecked(True)
        elif settings.proxy_from_environment:
            self.proxy_system_radio.setChecked(True)
        else:
            self.proxy_none_radio.setChecked(True)
        proxy_row = QHBoxLayout()
        proxy_row.addWidget(self.proxy_explicit_radio)
        proxy_row.addWidget(self.proxy_edit, 1)
        proxy_layout = QVBoxLayout(proxy_box)
        proxy_layout.addWidget(self.proxy_system_radio)
        proxy_layout.addWidget(self.proxy_none_radio)
        proxy_layout.addLayout(proxy_row)
        proxy_layout.addWidget(self.proxy_message)
        self.proxy_explicit_radio.toggled.connect(lambda _checked: self._update_proxy())
        self.proxy_edit.textChanged.connect(lambda _text: self._check_proxy())

        # -- authentication mode ----------------------------------------------------------
        auth_box = QGroupBox(self.tr("Authentification auprès du DMP"), self)
        self.card_radio = QRadioButton(
            self.tr("Carte &CPS de chaque professionnel (authentification directe)"), auth_box
        )
        self.structure_radio = QRadioButton(
            self.tr("Certificat de la &structure (authentification indirecte renforcée)"),
            auth_box,
        )
        self.auth_group = QButtonGroup(self)
        self.auth_group.addButton(self.card_radio)
        self.auth_group.addButton(self.structure_radio)
        structure_mode = settings.auth_mode == AUTH_STRUCTURE
        self.structure_radio.setChecked(structure_mode)
        self.card_radio.setChecked(not structure_mode)
        explain = QLabel(
            self.tr(
                "Avec le certificat de structure, chaque professionnel se connecte toujours "
                "avec sa carte CPS et son code PIN ; le DMP est joint avec le certificat de "
                "la structure, qui signe le jeton d'identification."
            ),
            auth_box,
        )
        explain.setWordWrap(True)
        explain.setStyleSheet("color: palette(placeholder-text);")

        self.structure_panel = QWidget(auth_box)
        self.p12_edit = QLineEdit(settings.structure_p12, self.structure_panel)
        self.p12_edit.setObjectName("p12Edit")
        self.p12_edit.setAccessibleName(self.tr("Fichier PKCS#12 du certificat de structure"))
        self.p12_edit.setPlaceholderText(self.tr("fichier .p12 ou .pfx"))
        p12_label = QLabel(self.tr("&Fichier PKCS#12 :"), self.structure_panel)
        p12_label.setBuddy(self.p12_edit)
        self.p12_browse = QPushButton(self.tr("Pa&rcourir…"), self.structure_panel)
        self.p12_browse.clicked.connect(self._browse_p12)
        p12_row = QHBoxLayout()
        p12_row.addWidget(self.p12_edit, 1)
        p12_row.addWidget(self.p12_browse)
        self.p12_message = self._message_label(self.structure_panel, "p12Message")
        self.passphrase_edit = QLineEdit(self.structure_panel)
        self.passphrase_edit.setObjectName("passphraseEdit")
        self.passphrase_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase_edit.setAccessibleName(self.tr("Mot de passe du fichier PKCS#12"))
        passphrase_label = QLabel(self.tr("M&ot de passe :"), self.structure_panel)
        passphrase_label.setBuddy(self.passphrase_edit)
        self.passphrase_message = self._message_label(self.structure_panel, "passphraseMessage")
        set_tone(
            self.passphrase_message,
            Tone.INFO,
            self.tr("Gardé dans le trousseau du système, jamais dans le fichier de paramètres."),
        )
        structure_form = QFormLayout(self.structure_panel)
        structure_form.setContentsMargins(24, 0, 0, 0)
        structure_form.addRow(p12_label, p12_row)
        structure_form.addRow("", self.p12_message)
        structure_form.addRow(passphrase_label, self.passphrase_edit)
        structure_form.addRow("", self.passphrase_message)
        auth_layout = QVBoxLayout(auth_box)
        auth_layout.addWidget(self.card_radio)
        auth_layout.addWidget(self.structure_radio)
        auth_layout.addWidget(self.structure_panel)
        auth_layout.addWidget(explain)
        self.card_radio.toggled.connect(lambda _checked: self._update_mode())
        self.p12_edit.editingFinished.connect(self._look_for_passphrase)

        # -- buttons ----------------------------------------------------------------------
        self.save_message = self._message_label(self, "saveMessage")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(self.tr("&Enregistrer"))
        make_primary(self.save_button)
        self.save_button.setDefault(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Annuler"))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        # Three tabs, so that the dialog fits a laptop screen.
        self.tabs = QTabWidget(self)
        pages: list[QWidget] = []
        self.tabs.setObjectName("settingsTabs")
        for title, boxes in (
            (self.tr("Profil et DMP"), (profile_box, host_box, lps_box)),
            (self.tr("Carte CPS"), (card_box, auth_box)),
            (self.tr("Réseau"), (proxy_box,)),
        ):
            page = QWidget(self.tabs)
            page_layout = QVBoxLayout(page)
            for box in boxes:
                page_layout.addWidget(box)
            page_layout.addStretch(1)
            # A page scrolls rather than cut a message when the screen is short (150 %).
            scroll = QScrollArea(self.tabs)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            scroll.setWidget(page)
            self.tabs.addTab(scroll, title)
            pages.append(page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.save_message)
        layout.addWidget(self.buttons)
        self.training_radio.toggled.connect(lambda _checked: self._switch_profile())
        self.platform_combo.currentIndexChanged.connect(lambda _i: self._switch_profile())
        self._update_mode()
        self._update_profile()
        self._update_proxy()
        self._look_for_passphrase()
        (self.training_radio if self.training_radio.isChecked() else self.dmp_radio).setFocus()
        self._fit_screen(pages)

    def _fit_screen(self, pages: list[QWidget]) -> None:
        """Tall enough for the longest page when the screen allows it (else the pages scroll)."""
        hint = self.sizeHint()
        current = self.tabs.currentWidget()
        shown = current.sizeHint().height() if current is not None else 0
        tallest = max(page.sizeHint().height() for page in pages)
        height = hint.height() - shown + tallest + 8
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None:
            height = min(height, screen.height() * 9 // 10)
        self.resize(hint.width(), max(height, hint.height()))

    def show_card_tab(self) -> None:
        """Open on « Carte CPS », the module field focused (the middleware is the problem)."""
        self.tabs.setCurrentIndex(1)
        self.module_edit.setFocus()

    @staticmethod
    def _message_label(parent: QWidget, name: str) -> QLabel:
        label = QLabel(parent)
        label.setObjectName(name)
        label.setWordWrap(True)
        label.hide()
        return label

    @staticmethod
    def _show(label: QLabel, tone: Tone, text: str) -> None:
        set_tone(label, tone, text)
        label.setVisible(bool(text))

    # -- what the form says ---------------------------------------------------------------
    @property
    def auth_mode(self) -> str:
        return AUTH_STRUCTURE if self.structure_radio.isChecked() else AUTH_CARD

    def _update_mode(self) -> None:
        self.structure_panel.setEnabled(self.structure_radio.isChecked())

    @property
    def profile(self) -> str:
        return PROFILE_TRAINING if self.training_radio.isChecked() else PROFILE_DMP

    @property
    def platform(self) -> str:
        return str(self.platform_combo.currentData() or PLATFORM_PRODUCTION)

    def _form_settings(self) -> Settings:
        """The settings as the form says, in the profile the form was showing."""
        return dataclasses.replace(
            self._settings,
            profile=self._profile,
            training_mode=self._profile == PROFILE_TRAINING,
            dmp_platform=self._platform,
            pkcs11_module=self.module_edit.text().strip(),
            host_url=self.host_edit.text().strip(),
            trust_roots=self.roots_edit.text().strip(),
        )

    def _switch_profile(self) -> None:
        """Another profile or platform: keep what the form said, show the other's fields."""
        if (self.profile, self.platform) == (self._profile, self._platform):
            self._update_profile()
            return
        switched = self._form_settings().with_profile(self.profile, self.platform)
        self._settings_profiles = switched.profiles
        self._profile, self._platform = switched.profile, switched.dmp_platform
        self.module_edit.setText(switched.pkcs11_module)
        self.host_edit.setText(switched.host_url)
        self.roots_edit.setText(switched.trust_roots)

        self._update_profile()

    def _update_profile(self) -> None:
        dmp = not self.training_radio.isChecked()
        self.platform_combo.setEnabled(dmp)
        for widget in (self.lps_name_edit, self.lps_version_edit, self.homologation_edit):
            widget.setEnabled(dmp)
        if dmp:
            self.host_edit.setPlaceholderText(
                PRODUCTION_HOST_URL
                if self.platform == PLATFORM_PRODUCTION
                else self.tr("adresse donnée par l'Assurance Maladie")
            )
        else:
            self.host_edit.setPlaceholderText("https://localhost:8443")
        self._show_roots()
        self._check_homologation()

    def _show_roots(self) -> None:
        """Which root is pinned: the file given, or the IGC-Santé root shipped (production)."""
        path = self.roots_edit.text().strip()
        dmp = not self.training_radio.isChecked()
        if path:
            self.roots_edit.setPlaceholderText("")
            if not Path(path).expanduser().is_file():
                self._show(
                    self.roots_message,
                    Tone.ERROR,
                    self.tr("Fichier introuvable : vérifiez le chemin du fichier PEM."),
                )
            else:
                self._show(self.roots_message, Tone.INFO, "")
            return
        if dmp and self.platform == PLATFORM_PRODUCTION:
            from dmp_desktop.net.trust import IGC_SANTE_ROOT_SHA256

            self.roots_edit.setPlaceholderText(self.tr("racine IGC-Santé livrée avec le logiciel"))
            self._show(
                self.roots_message,
                Tone.OK,
                self.tr(
                    "Racine épinglée : AC RACINE IGC-SANTE ELEMENTAIRE (livrée avec DMP "
                    "Desktop), empreinte SHA-256 :\n{first}\n{second}"
                ).format(first=IGC_SANTE_ROOT_SHA256[:47], second=IGC_SANTE_ROOT_SHA256[48:]),
            )
        elif dmp:
            self.roots_edit.setPlaceholderText(self.tr("fichier PEM de la racine de test"))
            self._show(
                self.roots_message,
                Tone.ERROR,
                self.tr(
                    "La plateforme de test demande le fichier de « TEST AC RACINE IGC-SANTE "
                    "ELEMENTAIRE »."
                ),
            )
        else:
            self.roots_edit.setPlaceholderText(self.tr("trust-roots.pem de l'environnement"))
            self._show(
                self.roots_message,
                Tone.INFO,
                self.tr("Racine de test de l'hôte de formation (dmp-sandbox demo init)."),
            )

    def _check_homologation(self) -> bool:
        if self.training_radio.isChecked():
            self._show(
                self.homologation_message,
                Tone.INFO,
                self.tr("En formation, le jeton porte « FORMATION » : rien ne part au DMP."),
            )
            return True
        if is_placeholder_homologation(self.homologation_edit.text()):
            self._show(
                self.homologation_message,
                Tone.ERROR,
                self.tr(
                    "Obligatoire pour le profil DMP : le numéro donné par l'Assurance Maladie "
                    "à l'homologation du logiciel."
                ),
            )
            return False
        self._show(self.homologation_message, Tone.INFO, "")
        return True

    def _update_proxy(self) -> None:
        self.proxy_edit.setEnabled(self.proxy_explicit_radio.isChecked())
        self._check_proxy()

    def _check_proxy(self) -> bool:
        if not self.proxy_explicit_radio.isChecked():
            self._show(self.proxy_message, Tone.INFO, "")
            return True
        parts = urlsplit(self.proxy_edit.text().strip())
        try:
            port_ok = parts.port is not None or bool(parts.hostname)
        except ValueError:
            port_ok = False
        if parts.scheme != "http" or not parts.hostname or not port_ok:
            self._show(
                self.proxy_message,
                Tone.ERROR,
                self.tr("Écrivez le proxy sous la forme http://serveur:port."),
            )
            return False
        self._show(self.proxy_message, Tone.INFO, "")
        return True

    def _module_candidates(self) -> list[str]:
        path = self.module_edit.text().strip()
        return [path] if path else default_middleware_paths()

    def _check_host(self) -> bool:
        problem = host_url_problem(self.host_edit.text())
        self._show(self.host_message, Tone.ERROR, problem or "")
        return problem is None

    def _check_module(self) -> bool:
        path = self.module_edit.text().strip()
        if path and not Path(path).expanduser().is_file():
            self._show(
                self.module_message,
                Tone.ERROR,
                self.tr("Fichier introuvable : vérifiez le chemin du module."),
            )
            return False
        if self.module_message.property("tone") == Tone.ERROR.value:
            self._show(self.module_message, Tone.INFO, "")
        return True

    def _check_p12(self) -> bool:
        if self.auth_mode != AUTH_STRUCTURE:
            self._show(self.p12_message, Tone.INFO, "")
            return True
        path = self.p12_edit.text().strip()
        if not path:
            problem = self.tr("Indiquez le fichier PKCS#12 du certificat de la structure.")
        elif not Path(path).expanduser().is_file():
            problem = self.tr("Fichier introuvable : vérifiez le chemin du fichier PKCS#12.")
        else:
            problem = ""
        self._show(self.p12_message, Tone.ERROR, problem)
        return not problem

    # -- file choosers --------------------------------------------------------------------
    def _choose_file(self, title: str, name_filter: str, target: QLineEdit) -> None:
        start = target.text().strip()
        dialog = QFileDialog(self, title, str(Path(start).parent) if start else "", name_filter)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(target.setText)
        self.file_dialog = dialog
        dialog.open()

    def _browse_module(self) -> None:
        self._choose_file(
            self.tr("Module PKCS#11 de la carte CPS"),
            self.tr("Modules PKCS#11 (*.so *.dylib *.dll);;Tous les fichiers (*)"),
            self.module_edit,
        )

    def _browse_roots(self) -> None:
        self._choose_file(
            self.tr("Autorités de confiance (certificats racines)"),
            self.tr("Certificats PEM (*.pem *.crt *.cer);;Tous les fichiers (*)"),
            self.roots_edit,
        )

    def _browse_p12(self) -> None:
        self._choose_file(
            self.tr("Certificat de la structure"),
            self.tr("Fichiers PKCS#12 (*.p12 *.pfx);;Tous les fichiers (*)"),
            self.p12_edit,
        )

    # -- "Tester" -------------------------------------------------------------------------
    def _list_with_module(self, candidates: list[str]) -> list[CardInfo]:
        """On the card thread: the module as the card service would load it, its cards.

        Never closed: closing a manager ends its thread, and this one is the card
        service's (python-pkcs11 keeps each loaded module for the process anyway).
        """
        return CardManager(candidates, thread=self._card_thread).list_cards()

    def test_module(self) -> None:
        """Load the module off the UI thread and say which cards it sees."""
        if self._test_op is not None and not self._test_op.done:
            return
        if not self._check_module():
            return
        candidates = self._module_candidates()
        self.test_button.setEnabled(False)
        self._show(self.module_message, Tone.INFO, self.tr("Chargement du module…"))
        lister = self._lister
        self._test_op = self._runner.run(
            Operation(
                self.tr("Test du module de la carte CPS"),
                lambda: lister(candidates),
                self._on_tested,
                self._on_test_failed,
                silent=True,
            ),
            submit=self._card_thread.submit,
        )

    def _on_tested(self, cards: list[CardInfo]) -> None:
        self.test_button.setEnabled(True)
        if not cards:
            text = self.tr("Module chargé. Aucune carte n'est insérée pour l'instant.")
        else:
            names = "\n".join(f"• {card_holder_text(c)} ({c.token_label})" for c in cards)
            text = self.tr("Module chargé. Cartes détectées ({n}) :\n{names}").format(
                n=len(cards), names=names
            )
        self._show(self.module_message, Tone.OK, text)

    def _on_test_failed(self, exc: BaseException) -> None:
        self.test_button.setEnabled(True)
        self._show(self.module_message, Tone.ERROR, describe(exc))

    # -- the keyring ------------------------------------------------------------------------
    def _look_for_passphrase(self) -> None:
        """Say whether the keyring already holds the passphrase of this PKCS#12 (off-thread)."""
        path = self.p12_edit.text().strip()
        if not path:
            return
        from dmp_desktop.net.structure import load_passphrase

        def found(passphrase: object) -> None:
            if passphrase and not self.passphrase_edit.text():
                self.passphrase_edit.setPlaceholderText(
                    self.tr("déjà enregistré dans le trousseau système")
                )

        self._keyring_op = self._runner.run(
            Operation(
                self.tr("Lecture du trousseau système"),
                lambda: load_passphrase(path) is not None,
                found,
                lambda _exc: None,
                silent=True,
            )
        )

    # -- saving -----------------------------------------------------------------------------
    def new_settings(self) -> Settings:
        base = self._form_settings()
        explicit = self.proxy_explicit_radio.isChecked()
        return dataclasses.replace(
            base,
            auth_mode=self.auth_mode,
            structure_p12=self.p12_edit.text().strip() if self.auth_mode == AUTH_STRUCTURE else "",
            lps_name=self.lps_name_edit.text().strip(),
            lps_version=self.lps_version_edit.text().strip(),
            lps_homologation_id=self.homologation_edit.text().strip(),
            proxy_url=self.proxy_edit.text().strip() if explicit else "",
            proxy_from_environment=self.proxy_system_radio.isChecked(),
            profiles=getattr(self, "_settings_profiles", base.profiles),
        )

    def save(self) -> None:
        """Check the fields, then the PKCS#12 and the keyring off the UI thread, then save."""
        if self._save_op is not None and not self._save_op.done:
            return
        checks = [
            self._check_module(),
            self._check_host(),
            self._check_p12(),
            self._check_homologation(),
            self._check_proxy(),
        ]
        if not all(checks):
            self._show(self.save_message, Tone.ERROR, self.tr("Corrigez les champs signalés."))
            return
        new = self.new_settings()
        try:
            new.validate()
        except SettingsError as exc:
            self._show(self.save_message, Tone.ERROR, describe(exc))
            return
        # The one place the passphrase lives until the worker takes it (as the PIN).
        box: list[str | None] = [self.passphrase_edit.text() or None]
        self.passphrase_edit.setText("")  # setText also drops the undo history
        path = self._path
        self.buttons.setEnabled(False)  # no cancelling half-way: the keyring may be written
        self._show(self.save_message, Tone.INFO, self.tr("Enregistrement…"))

        def work() -> Settings:
            if new.auth_mode == AUTH_STRUCTURE:
                from dmp_desktop.net.structure import load_structure, store_passphrase

                secret = box.pop()
                load_structure(new.structure_p12, secret)  # opens: right file, right passphrase
                if secret is not None:
                    store_passphrase(new.structure_p12, secret)
                del secret
            box.clear()
            save_settings(new, path)
            return new

        self._save_op = self._runner.run(
            Operation(
                self.tr("Enregistrement des paramètres"),
                work,
                self._on_saved,
                self._on_save_failed,
                cancellable=False,
            )
        )

    def _on_saved(self, new: Settings) -> None:
        old = dataclasses.replace(self._settings)
        for f in dataclasses.fields(Settings):
            setattr(self._settings, f.name, getattr(new, f.name))
        log.info("settings saved")
        self.applied.emit(old, self._settings)
        self.accept()

    def _on_save_failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        message = describe(exc)
        if self.auth_mode == AUTH_STRUCTURE and isinstance(exc, SettingsError):
            self._show(self.passphrase_message, Tone.ERROR, message)
            self._show(self.save_message, Tone.ERROR, self.tr("Corrigez les champs signalés."))
            self.passphrase_edit.setFocus()
        else:
            self._show(self.save_message, Tone.ERROR, message)

    def reject(self) -> None:
        if self._save_op is not None and not self._save_op.done:
            return  # Escape while saving: the outcome is on its way
        super().reject()

    def done(self, result: int) -> None:
        self.passphrase_edit.setText("")
        for op in (self._test_op, self._keyring_op):
            if op is not None and not op.done:
                op.cancel()
        super().done(result)


def apply_settings(window: MainWindow, old: Settings, new: Settings) -> None:
    """Make the running window follow saved settings."""
    window.top_bar.training_badge.setVisible(new.is_training)
    card = window.card_service
    if old.middleware_candidates() != new.middleware_candidates():
        card.reload_middleware(new.middleware_candidates())
    elif card.session is not None and any(
        getattr(old, name) != getattr(new, name) for name in _CONNECTION_FIELDS
    ):
        window.dmp_service.start(card.session)  # a new client: new host or TLS identity


def open_settings_dialog(window: MainWindow, path: Path | None = None) -> SettingsDialog:
    """Show the settings dialog over ``window`` (Ctrl+,)."""
    dialog = SettingsDialog(
        window.settings,
        window.runner,
        window.card_service.card_thread,
        path=path,
        parent=window,
    )
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.applied.connect(lambda old, new: apply_settings(window, old, new))
    dialog.open()
    from dmp_desktop.services.card_service import CardState

    if window.card_service.state is CardState.NO_MIDDLEWARE:
        dialog.show_card_tab()
    return dialog
