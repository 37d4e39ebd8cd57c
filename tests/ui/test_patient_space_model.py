"""Who added each document, in the list: "Ajouté par le patient", "Assurance Maladie"; the
patient's space (contacts, allergies, directives) easy to find; Qt's model tester watches."""

from __future__ import annotations

from datetime import UTC, date, datetime

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.document import Author, Code, DocumentEntry, DocumentStatus
from dmp_desktop.domain.origin import DocumentOrigin
from dmp_desktop.services.consultation import DocumentList, ListScope, Period
from dmp_desktop.ui.documents_model import (
    Column,
    DocumentsModel,
    DocumentsProxy,
    EntryRole,
    OriginRole,
    distinct_values,
)
from dmp_desktop.ui.documents_pane import DocumentListPage
from tests.ui.consultation_fakes import AUTHORISED, CARDIO_AUTHOR, entry

TODAY = date(2026, 11, 20)
EXP_PATIENT = Code("EXP_PATIENT", "Expression personnelle du patient", "1.2.250.1.213.1.1.4.6")
ALIM_AM = Code("ALIM_AM", "Alimentation automatique (Assurance Maladie)", "1.2.250.1.213.1.1.4.6")
PATIENT = Author(
    national_id="207058575627097", family_name="MOREAU", given_name="Léa", specialty=EXP_PATIENT
)
INSURER = Author(
    national_id="318003502400041/ALIMAM",
    family_name="ASSURANCE MALADIE",
    specialty=ALIM_AM,
    institution="Assurance Maladie",
)
PATIENT_CLASS = ("90", "Autres documents déposés par le patient")


def entries() -> list[DocumentEntry]:
    return [
        entry("c1", "Consultation de cardiologie", days_ago=10, today=TODAY),
        entry(
            "p1",
            "Personnes à prévenir",
            days_ago=30,
            type_code=("FICHE-CONTACTS", "Fiche contacts"),
            class_code=PATIENT_CLASS,
            author=PATIENT,
            today=TODAY,
        ),
        entry(
            "p2",
            "Allergies et intolérances",
            days_ago=31,
            type_code=("DOCPAT08", "Profil médical Mon espace santé"),
            class_code=PATIENT_CLASS,
            author=PATIENT,
            today=TODAY,
        ),
        entry(
            "p3",
            "Directives anticipées",
            days_ago=32,
            type_code=("EXPPAT_3", "Directives anticipées"),
            class_code=PATIENT_CLASS,
            author=PATIENT,
            today=TODAY,
        ),
        entry(
            "p4",
            "Photo de mon carnet de vaccination",
            days_ago=40,
            type_code=("EXPPAT_2", "Autre document du patient"),
            class_code=PATIENT_CLASS,
            author=PATIENT,
            today=TODAY,
        ),
        entry(
            "i1",
            "Historique des soins remboursés",
            days_ago=8,
            type_code=("REMB", "Données de remboursement"),
            class_code=("60", "Données de remboursement"),
            author=INSURER,
            today=TODAY,
        ),
        entry("c2", "Ancien courrier", days_ago=50, author=CARDIO_AUTHOR, today=TODAY),
    ]


def make(qtbot: QtBot) -> tuple[DocumentsModel, DocumentsProxy]:
    model = DocumentsModel()
    proxy = DocumentsProxy()
    proxy.setSourceModel(model)
    ModelTester(qtbot).check(proxy, force_py=True)
    model.set_entries(entries())
    proxy.set_scope(ListScope(Period.ALL, archived=True, deprecated=True), TODAY)
    return model, proxy


def shown(proxy: DocumentsProxy) -> list[str]:
    return sorted(
        proxy.data(proxy.index(row, 0), EntryRole).unique_id  # type: ignore[union-attr]
        for row in range(proxy.rowCount())
    )


def cell(model: DocumentsModel, uid: str, column: Column, role: int = 0) -> object:
    return model.data(model.index(model.row_of(uid), int(column)), role)


def test_who_added_each_document(qtbot: QtBot) -> None:
    model, _proxy = make(qtbot)
    assert cell(model, "p1", Column.AUTHOR) == "Ajouté par le patient"
    assert "ajouté par le patient" in str(cell(model, "p1", Column.FLAGS))
    assert str(cell(model, "p4", Column.TITLE)).startswith("✎ ")
    assert cell(model, "i1", Column.AUTHOR) == "Assurance Maladie"
    assert "Assurance Maladie" in str(cell(model, "i1", Column.FLAGS))
    assert "sans montant" in str(cell(model, "i1", Column.TITLE, Qt.ItemDataRole.ToolTipRole))
    assert cell(model, "c1", Column.AUTHOR) == "Hélène BONNET"
    assert cell(model, "p1", Column.TITLE, OriginRole) is DocumentOrigin.PATIENT
    assert cell(model, "i1", Column.TITLE, OriginRole) is DocumentOrigin.INSURER
    assert cell(model, "c1", Column.TITLE, OriginRole) is DocumentOrigin.PROFESSIONAL
    # Clear French type labels for the patient's space and the care history.
    assert cell(model, "p1", Column.TYPE) == "Personnes à prévenir (contacts d'urgence)"
    assert cell(model, "p2", Column.TYPE) == "Allergies et intolérances (profil médical du patient)"
    assert cell(model, "p3", Column.TYPE) == "Directives anticipées"
    assert cell(model, "i1", Column.TYPE) == "Historique des soins remboursés (Assurance Maladie)"
    # The author filter offers both origins.
    authors = distinct_values(model, Column.AUTHOR)
    assert "Ajouté par le patient" in authors and "Assurance Maladie" in authors


def test_filters_on_origin_and_patient_space(qtbot: QtBot) -> None:
    model, proxy = make(qtbot)
    proxy.set_choice(Column.AUTHOR, "Assurance Maladie")
    assert shown(proxy) == ["i1"]
    proxy.set_choice(Column.AUTHOR, "Ajouté par le patient")
    assert shown(proxy) == ["p1", "p2", "p3", "p4"]
    proxy.set_choice(Column.AUTHOR, None)
    proxy.set_patient_space_only(True)
    assert proxy.patient_space_only
    assert shown(proxy) == ["p1", "p2", "p3", "p4"]
    proxy.set_text_filter("allergies")
    assert shown(proxy) == ["p2"]
    proxy.clear_filters()
    assert not proxy.patient_space_only
    assert len(shown(proxy)) == len(entries())
    model.set_entries(entries()[:2])
    proxy.set_patient_space_only(True)
    assert shown(proxy) == ["p1"]


def test_the_list_page_shows_the_patient_space(qtbot: QtBot) -> None:
    page = DocumentListPage()
    qtbot.addWidget(page)
    listing = DocumentList(
        AUTHORISED,
        tuple(entries()),
        frozenset(),
        ListScope(Period.ALL),
        first_consultation=True,
        last_consultation=datetime(2026, 11, 1, tzinfo=UTC),
    )
    page.show_list(listing)
    page.show()
    text = page.patient_space_label.text()
    assert page.patient_space_label.isVisible()
    for words in ("Personnes à prévenir", "Allergies et intolérances", "Directives anticipées"):
        assert words in text
    assert page.patient_space_check.text() == "&Espace du patient seulement"
    page.patient_space_check.setChecked(True)
    assert page.proxy.rowCount() == 4
    assert "4 affiché(s) sur 7" in page.count_label.text()
    page.clear()
    assert not page.patient_space_check.isChecked()
    assert not page.patient_space_label.isVisible()
    only_doctors = DocumentList(
        AUTHORISED,
        (entries()[0],),
        frozenset(),
        ListScope(Period.ALL),
        first_consultation=True,
        last_consultation=None,
    )
    page.show_list(only_doctors)
    assert not page.patient_space_label.isVisible()
    assert DocumentStatus.APPROVED is entries()[0].status
