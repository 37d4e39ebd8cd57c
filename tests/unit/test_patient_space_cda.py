"""The patient's documents and the Assurance Maladie's care history as CDA: they pass the
official validation kit (one run), carry the right author marks, never an amount, and the
viewer renders them readably."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from dmp_desktop.cda import care_history as ch
from dmp_desktop.cda.care_history import (
    ActKind,
    AmountRefusedError,
    CareHistory,
    DispensedMedicine,
    HospitalStay,
    MedicalAct,
    build_care_history,
    looks_like_amount,
)
from dmp_desktop.cda.level1 import MEDIA_PDF, MEDIA_TEXT, extract_level1
from dmp_desktop.cda.patient_space import (
    AllergyNote,
    EmergencyContact,
    PatientDocumentHeader,
    allergies_text,
    build_patient_document,
    contacts_text,
    directives_text,
    read_items,
)
from dmp_desktop.cda.render import render_html
from dmp_desktop.cda.validation import ValidationReport
from dmp_desktop.cda.xmlutil import first
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.domain.summary import Gender, PatientIdentity
from dmp_desktop.xmlsafe import parse
from tests.conftest import require_shared
from tests.support.cda_samples import minimal_pdf

PARIS = dt.timezone(dt.timedelta(hours=1))
AT = dt.datetime(2026, 11, 2, 10, 30, tzinfo=PARIS)
LEA = PatientIdentity(
    Ins("207058575627097", InsKind.TEST_NIR),
    "MOREAU",
    ["LÉA", "CLAIRE"],
    dt.date(2007, 5, 25),
    Gender.FEMALE,
    "85756",
)


def history(**changes: object) -> CareHistory:
    base = CareHistory(
        patient=LEA,
        period_start=dt.date(2024, 11, 2),
        period_end=dt.date(2026, 11, 2),
        effective_time=AT,
        document_id="1.2.250.1.999.3.77.1",
        set_id="1.2.250.1.999.3.77.1.0",
        medicines=(
            DispensedMedicine(
                dt.date(2026, 9, 20),
                "VENTOLINE 100 microgrammes/dose",
                "64720167",
                "R03AC02",
                "Dr Marie DURAND",
                "Pharmacie des Tilleuls",
            ),
        ),
        acts=(
            MedicalAct(dt.date(2026, 9, 1), "Hémogramme", ActKind.BIOLOGY, "1104", "Labo", "Lyon"),
            MedicalAct(dt.date(2025, 9, 4), "Radiographie du thorax", ActKind.IMAGING, "ZBQK002"),
            MedicalAct(dt.date(2026, 3, 1), "Électrocardiographie", ActKind.CARE, "DEQP003"),
        ),
        stays=(HospitalStay(dt.date(2025, 9, 3), dt.date(2025, 9, 6), "Médecine interne", "CHU"),),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def header(type_code: str, title: str, n: int) -> PatientDocumentHeader:
    uid = f"1.2.250.1.999.3.78.{n}"
    return PatientDocumentHeader(LEA, type_code, title, AT, uid, f"{uid}.0")


def documents() -> dict[str, bytes]:
    contacts = [EmergencyContact("Paul MOREAU", "père", "06 12 34 56 78")]
    allergies = [
        AllergyNote("Amoxicilline", "urticaire"),
        AllergyNote("Lactose", intolerance=True),
    ]
    return {
        "remb.xml": build_care_history(history()),
        "remb-empty.xml": build_care_history(history(medicines=(), acts=(), stays=())),
        "contacts.xml": build_patient_document(
            header("FICHE-CONTACTS", "Personnes à prévenir", 1),
            contacts_text(contacts).encode(),
            MEDIA_TEXT,
        ),
        "allergies.xml": build_patient_document(
            header("DOCPAT08", "Allergies et intolérances", 2),
            allergies_text(allergies).encode(),
            MEDIA_TEXT,
        ),
        "directives.xml": build_patient_document(
            header("EXPPAT_3", "Directives anticipées", 3),
            directives_text("Pas d'acharnement thérapeutique.").encode(),
            MEDIA_TEXT,
        ),
        "directives-pdf.xml": build_patient_document(
            header("EXPPAT_3", "Directives anticipées", 4), minimal_pdf("Directives"), MEDIA_PDF
        ),
        "scan.xml": build_patient_document(
            header("EXPPAT_2", "Carnet de vaccination", 5), minimal_pdf("Carnet"), MEDIA_PDF
        ),
    }


@pytest.fixture(scope="module")
def kit_report(cda_kit_batch: tuple[ValidationReport, float, int]) -> ValidationReport:
    """These documents are in the unit tests' one validate-cda run (tests/unit/conftest.py)."""
    return cda_kit_batch[0]


@pytest.mark.parametrize(
    ("name", "profile"),
    [
        ("remb.xml", "generic"),
        ("remb-empty.xml", "generic"),
        ("contacts.xml", "n1"),
        ("allergies.xml", "n1"),
        ("directives.xml", "n1"),
        ("directives-pdf.xml", "n1"),
        ("scan.xml", "n1"),
    ],
)
def test_the_kit_accepts_them(kit_report: ValidationReport, name: str, profile: str) -> None:
    report = kit_report.file(name)
    assert report.profile == profile
    assert report.passed, "\n".join(str(e) for e in report.errors)


def test_patient_author_marks() -> None:
    root = parse(documents()["contacts.xml"])
    author = first(root, "h:author/h:assignedAuthor")
    assert author is not None
    ident, code = first(author, "h:id"), first(author, "h:code")
    assert ident is not None and code is not None
    assert (ident.get("root"), ident.get("extension")) == (LEA.ins.oid, LEA.ins.value)
    assert (code.get("code"), code.get("codeSystem")) == ("EXP_PATIENT", "1.2.250.1.213.1.1.4.6")
    facility = first(
        root, "h:componentOf/h:encompassingEncounter/h:location/h:healthCareFacility/h:code"
    )
    assert facility is not None and facility.get("code") == "EXP_PATIENT"
    assert read_items(documents()["allergies.xml"]) == [
        "Allergie : Amoxicilline — réaction : urticaire",
        "Intolérance : Lactose",
    ]


def test_care_history_header_is_the_insurers() -> None:
    root = parse(documents()["remb.xml"])
    code = first(root, "h:code")
    assert code is not None and code.get("code") == "REMB"
    author = first(root, "h:author/h:assignedAuthor")
    assert author is not None
    assert first(author, "h:code").get("code") == "ALIM_AM"  # type: ignore[union-attr]
    assert first(author, "h:assignedAuthoringDevice/h:softwareName") is not None
    assert first(author, "h:assignedPerson") is None
    period = first(root, "h:documentationOf/h:serviceEvent/h:effectiveTime")
    assert [p.get("value") for p in period] == ["20241102", "20261102"]  # type: ignore[union-attr]
    assert history().first_care_day == dt.date(2025, 9, 3)


AMOUNT_FIELDS = re.compile(r"amount|price|cost|fee|paid|refund|reimburs|montant|tarif|prix")


def test_no_amount_can_appear() -> None:
    # No field of any data type of the history can hold an amount.
    for kind in (CareHistory, DispensedMedicine, MedicalAct, HospitalStay):
        names = [f.name for f in dataclasses.fields(kind)]
        assert not [n for n in names if AMOUNT_FIELDS.search(n)], kind
    # A text that smuggles one in is refused.
    for text in ("Consultation 25,00 €", "montant remboursé : 12", "Tarif 30 EUR", "honoraires"):
        assert looks_like_amount(text)
        bad = history(acts=(MedicalAct(dt.date(2026, 1, 1), text),))
        with pytest.raises(AmountRefusedError):
            build_care_history(bad)
    with pytest.raises(AmountRefusedError):
        build_care_history(
            history(medicines=(DispensedMedicine(dt.date(2026, 1, 1), "X", prescriber="9,99 €"),))
        )
    # And the document built has no currency nor amount word anywhere.
    text = documents()["remb.xml"].decode()
    assert not looks_like_amount(text)
    assert "€" not in text and not re.search(r"\d+,\d\d", text)
    assert not looks_like_amount("VENTOLINE 100 microgrammes/dose")


def test_rendered_readably() -> None:
    page = render_html(documents()["remb.xml"])
    for words in (
        "Données de remboursement",
        "Assurance Maladie",
        "sans aucun montant",
        "Médicaments",
        "VENTOLINE",
        "CIS 64720167",
        "ATC R03AC02",
        "Radiologie",
        "CCAM ZBQK002",
        "Biologie",
        "NABM 1104",
        "Hospitalisations",
        "du 03/09/2025 au 06/09/2025",
    ):
        assert words in page, words
    assert "<table>" in page
    empty = render_html(documents()["remb-empty.xml"])
    assert ch.NO_DATA in empty
    contacts = render_html(documents()["contacts.xml"])
    assert "ajouté par le patient" in contacts
    assert "Paul MOREAU (père) : 06 12 34 56 78" in contacts
    media, payload = extract_level1(documents()["scan.xml"])
    assert media == MEDIA_PDF and payload.startswith(b"%PDF-")


def test_the_viewer_shows_them() -> None:
    from dmp_desktop.domain.document import RetrievedDocument
    from dmp_desktop.services.viewable import ViewKind, prepare

    docs = documents()
    remb = prepare(RetrievedDocument("1", "r", "text/xml", docs["remb.xml"]))
    assert remb.kind is ViewKind.HTML and "Médicaments" in (remb.text or "")
    contacts = prepare(RetrievedDocument("2", "r", "text/xml", docs["contacts.xml"]))
    assert contacts.kind is ViewKind.TEXT and "Paul MOREAU" in (contacts.text or "")
    scan = prepare(RetrievedDocument("3", "r", "text/xml", docs["scan.xml"]))
    assert scan.kind is ViewKind.PDF


def test_the_insurer_request_is_valid_against_the_official_schema() -> None:
    """The ITI-41 body the Assurance Maladie sends (no signature entry) is XDS.b-valid."""
    import copy

    from lxml import etree

    from dmp_actors.insurer import build_feed_request
    from dmp_desktop.dmp import iti41
    from dmp_desktop.dmp.ebrs import RIM
    from dmp_desktop.dmp.xds import XDSB
    from tests.conftest import DMP_SCHEMAS

    path = require_shared(DMP_SCHEMAS / "IHE" / "XDS.b_DocumentRepository.xsd")
    parser = etree.XMLParser(no_network=True, resolve_entities=False)  # trusted local files
    schema = etree.XMLSchema(etree.parse(str(path), parser))
    body, parts = build_feed_request(history(), submission_time=AT, source_id="1.2.250.1.999.4")
    assert len(parts) == 1 and parts[0].data == build_care_history(history())
    ids = {el.get("id") for el in body.iter(f"{{{RIM}}}ExtrinsicObject")}
    assert ids == {iti41.DOCUMENT_ID}
    inline = copy.deepcopy(body)
    for document in inline.iter(f"{{{XDSB}}}Document"):
        for include in list(document):
            document.remove(include)
        document.text = "Y29udGVudA=="
    assert schema.validate(etree.ElementTree(inline)), "\n".join(str(e) for e in schema.error_log)
    text = etree.tostring(body, encoding="unicode")
    assert "ALIM_AM" in text and "REMB" in text and iti41.SIGNATURE_ID not in text
