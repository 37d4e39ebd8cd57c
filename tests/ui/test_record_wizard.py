"""« Créer le DMP »: the wizard alone, driven by the keyboard. Nothing is preselected (the
consent, the two emergency answers), the minor's path asks for the legal representative and
skips the online access, the summary says what will be sent, and the wizard waits for the
DMP's answer (an error keeps it open, in French). The request it leads to is valid against
the official TD1.1 schema."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from dmp_desktop.dmp.td11 import CreationConsent, PatientIdentity, build_td11_request
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.ui.record_wizard import (
    PAGE_CONSENT,
    PAGE_EMERGENCY,
    PAGE_IDENTITY,
    PAGE_ONLINE,
    PAGE_REPRESENTATIVE,
    PAGE_SUMMARY,
    RecordWizard,
    parse_birth_date,
)
from dmp_sandbox.demo import demo_ins
from tests.conftest import DMP_SCHEMAS, require_shared

ROUSSEL = demo_ins("1900675120045")
TODAY = dt.date(2026, 11, 25)


def make(qtbot: QtBot, ins: Ins = ROUSSEL) -> RecordWizard:
    wizard = RecordWizard(ins, today=TODAY)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    return wizard


def enter(qtbot: QtBot, wizard: RecordWizard) -> None:
    focus = wizard.focusWidget() or wizard
    qtbot.keyClick(focus, Qt.Key.Key_Return)


def next_enabled(wizard: RecordWizard) -> bool:
    return wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def fill_identity(qtbot: QtBot, wizard: RecordWizard, birth: str) -> None:
    assert wizard.currentId() == PAGE_IDENTITY
    assert wizard.gender_combo.currentData() == "M"  # from the NIR
    assert not next_enabled(wizard)
    qtbot.keyClicks(wizard.family_edit, "Roussel")
    qtbot.keyClick(wizard.family_edit, Qt.Key.Key_Tab)
    qtbot.keyClicks(wizard.given_edit, "Lucas")
    wizard.birth_edit.setFocus()
    qtbot.keyClicks(wizard.birth_edit, "31/02/1990")
    assert "invalide" in wizard.minor_label.text() and not next_enabled(wizard)
    wizard.birth_edit.setText("")
    qtbot.keyClicks(wizard.birth_edit, birth)
    assert next_enabled(wizard)


def answer_emergency(qtbot: QtBot, wizard: RecordWizard) -> None:
    assert wizard.currentId() == PAGE_EMERGENCY
    buttons = [
        wizard.bris_de_glace.accept_button,
        wizard.bris_de_glace.oppose_button,
        wizard.centre_15.accept_button,
        wizard.centre_15.oppose_button,
    ]
    assert not any(b.isChecked() for b in buttons)  # nothing preselected
    assert not next_enabled(wizard)
    wizard.bris_de_glace.accept_button.setFocus()
    qtbot.keyClick(wizard.bris_de_glace.accept_button, Qt.Key.Key_Space)
    assert not next_enabled(wizard)  # the centre 15 question is still open
    wizard.centre_15.oppose_button.setFocus()
    qtbot.keyClick(wizard.centre_15.oppose_button, Qt.Key.Key_Space)
    assert next_enabled(wizard)


def test_adult_creation_by_keyboard(qtbot: QtBot) -> None:
    wizard = make(qtbot)
    fill_identity(qtbot, wizard, "12/06/1990")
    assert wizard.minor_label.text() == ""
    enter(qtbot, wizard)

    assert wizard.currentId() == PAGE_CONSENT
    assert not wizard.consent_check.isChecked() and not next_enabled(wizard)
    qtbot.keyClick(wizard.consent_check, Qt.Key.Key_Space)
    assert next_enabled(wizard)
    enter(qtbot, wizard)

    answer_emergency(qtbot, wizard)
    enter(qtbot, wizard)

    assert wizard.currentId() == PAGE_ONLINE
    assert "que par l'intermédiaire d'un professionnel" in wizard.online_explanation.text()
    assert "que par l'intermédiaire d'un professionnel" in wizard.online_feedback.text()
    assert next_enabled(wizard)  # optional
    qtbot.keyClicks(wizard.mobile_edit, "01 23")
    assert "mobile invalide" in wizard.online_feedback.text().lower()
    assert not next_enabled(wizard)
    wizard.mobile_edit.setText("06 12 34 56 78")
    wizard.email_edit.setText("lucas.roussel@example.org")
    assert next_enabled(wizard)
    enter(qtbot, wizard)

    assert wizard.currentId() == PAGE_SUMMARY
    summary = wizard.summary_label.text()
    assert "ROUSSEL Lucas" in summary and "12/06/1990" in summary
    assert "bris de glace : accepté" in summary
    assert "centre 15 (SAMU) : le patient s'y oppose" in summary
    assert "0612345678" in summary and "lucas.roussel@example.org" in summary

    with qtbot.waitSignal(wizard.sendRequested) as sent:
        enter(qtbot, wizard)
    identity, consent = sent.args
    assert identity == PatientIdentity("Roussel", "Lucas", "M", dt.date(1990, 6, 12))
    assert consent == CreationConsent(
        consent_given=True,
        opposition_bris_de_glace=False,
        opposition_centre_15=True,
        mobile="0612345678",
        email="lucas.roussel@example.org",
    )
    assert wizard.isVisible() and wizard.sending
    assert not wizard.button(QWizard.WizardButton.FinishButton).isEnabled()

    wizard.creation_failed("Ce patient a déjà un DMP : il n'a pas été créé une seconde fois.")
    assert wizard.isVisible() and not wizard.sending
    assert "déjà un DMP" in wizard.send_status.text()
    assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()

    with qtbot.waitSignal(wizard.finished):
        wizard.creation_succeeded()
    assert wizard.result() == QWizard.DialogCode.Accepted


def test_minor_needs_the_legal_representative_and_has_no_online_access(
    qtbot: QtBot,
) -> None:
    wizard = make(qtbot, demo_ins("2150475120046"))
    assert wizard.gender_combo.currentData() == "F"
    wizard.family_edit.setText("Chevalier")
    wizard.given_edit.setText("Emma")
    wizard.birth_edit.setText("03/04/2015")
    assert wizard.minor and "Patient mineur" in wizard.minor_label.text()
    enter(qtbot, wizard)

    assert wizard.currentId() == PAGE_REPRESENTATIVE
    assert not next_enabled(wizard)
    qtbot.keyClicks(wizard.rep_family_edit, "Chevalier")
    wizard.rep_given_edit.setText("Claire")
    wizard.rep_relation_combo.setCurrentIndex(wizard.rep_relation_combo.findData("MTH"))
    assert not next_enabled(wizard)  # the representative's consent is not given yet
    wizard.rep_consent_check.setChecked(True)
    assert next_enabled(wizard)
    enter(qtbot, wizard)

    answer_emergency(qtbot, wizard)
    enter(qtbot, wizard)
    assert wizard.currentId() == PAGE_SUMMARY  # no online access page for a minor
    summary = wizard.summary_label.text()
    assert "CHEVALIER Claire (mère)" in summary
    assert "Accès en ligne : aucun (patient mineur)" in summary

    consent = wizard.consent()
    assert consent is not None and consent.mobile is None and consent.email is None
    rep = consent.legal_representative
    assert rep is not None and rep.relationship == "MTH" and rep.consent_given

    identity = wizard.identity()
    assert identity is not None
    doctor = Practitioner("899700433153", "DURAND", "MARIE", "Médecin", profession_code="10")
    body = build_td11_request(
        wizard.ins, identity, consent, doctor, sender_oid="1.2.3", sender_name="DMP Desktop"
    )
    schema_path = require_shared(
        DMP_SCHEMAS / "HL7V3" / "NE2009" / "multicacheschemas" / "PRPA_IN201311UV02.xsd"
    )
    schema = etree.XMLSchema(etree.parse(str(schema_path)))
    assert schema.validate(body), schema.error_log
    codes = body.xpath("//*[local-name()='personalRelationship']/*[local-name()='code']/@code")
    assert codes == ["MTH"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12/06/1990", dt.date(1990, 6, 12)),
        ("12061990", dt.date(1990, 6, 12)),
        ("12-06-1990", dt.date(1990, 6, 12)),
        ("1990-06-12", None),
        ("", None),
        ("01/01/1800", None),
    ],
)
def test_birth_dates(text: str, expected: dt.date | None) -> None:
    assert parse_birth_date(text) == expected
