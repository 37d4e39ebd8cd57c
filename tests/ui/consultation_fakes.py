"""A stub DMP for the consultation window tests: per-patient status, documents, contents.

It answers like the training host would (authorisation recorded by TD0.3 shows
at the next TD0.2, searches honour the period / statuses / masked choice) and
records every call with its purpose of use, reason and thread. The documents
are real: PDF, level-1 CDA (PDF and text), a VSM, PNG/JPEG/TIFF images.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QColor, QImage

from dmp_desktop.cda.level1 import Level1Document, wrap_pdf, wrap_text
from dmp_desktop.cda.vsm import build_vsm
from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.document import (
    Author,
    Code,
    Confidentiality,
    DocumentEntry,
    DocumentQuery,
    DocumentStatus,
    RetrievedDocument,
)
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.settings import Settings
from tests.support.cda_samples import full_summary, minimal_pdf, sample_author, sample_patient
from tests.ui.fakes import FakeDmp, FakeDmpClient, make_ins

REPOSITORY = "1.2.250.1.213.1.1.1.9"
LOINC = "2.16.840.1.113883.6.1"
CLASS_OID = "1.2.250.1.213.1.1.4.1"
SPECIALTY_OID = "1.2.250.1.71.4.2.5"

# Patients (test INS, fictitious names).
AUTHORISED = Ins(make_ins("2840575123456"), InsKind.TEST_NIR)  # VALIDE, médecin traitant
UNAUTHORISED = Ins(make_ins("1821169383112"), InsKind.TEST_NIR)  # NON_EXISTE
EXPIRED = Ins(make_ins("1490113055087"), InsKind.TEST_NIR)  # EXPIRE
BLOCKED = Ins(make_ins("2750733063210"), InsKind.TEST_NIR)  # INTERDIT
NOT_TREATING = Ins(make_ins("1900675120045"), InsKind.TEST_NIR)  # VALIDE, not médecin traitant

NAMES = {
    AUTHORISED.value: ("LEGRAND", "Jeanne", "F"),
    UNAUTHORISED.value: ("LEFEBVRE", "Julien", "M"),
    EXPIRED.value: ("FAURE", "Bernard", "M"),
    BLOCKED.value: ("GIRARD", "Nathalie", "F"),
    NOT_TREATING.value: ("ROUSSEL", "Lucas", "M"),
}

DURAND_AUTHOR = Author(
    national_id="899700433153",
    family_name="DURAND",
    given_name="Marie",
    role="Médecin",
    specialty=Code("SM26", "Médecine générale", SPECIALTY_OID),
)
CARDIO_AUTHOR = Author(
    national_id="899700433177",
    family_name="BONNET",
    given_name="Hélène",
    role="Médecin",
    specialty=Code("SM04", "Cardiologie et maladies vasculaires", SPECIALTY_OID),
)
RADIO_AUTHOR = Author(
    national_id="899700433184",
    family_name="PETIT",
    given_name="Marc",
    role="Médecin",
    specialty=Code("SM44", "Radiodiagnostic et imagerie médicale", SPECIALTY_OID),
)
PATIENT_AUTHOR = Author(family_name="LEGRAND", given_name="Jeanne", role="Patient")


@functools.cache  # the same bytes every time: made once per test session
def png_bytes(fmt: str = "PNG", width: int = 64, height: int = 48) -> bytes:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#3070b0"))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, fmt):
        raise RuntimeError(f"cannot write {fmt}")
    return bytes(QByteArray(buffer.data()).data())


def _level1(type_code: str, title: str) -> Level1Document:
    return Level1Document(
        patient=sample_patient(),
        author=sample_author(),
        effective_time=datetime(2026, 2, 3, 9, 30, tzinfo=UTC),
        type_code=type_code,
        title=title,
    )


def entry(
    uid: str,
    title: str,
    *,
    ins: Ins = AUTHORISED,
    days_ago: int = 30,
    type_code: tuple[str, str] = ("11488-4", "CR ou fiche de consultation ou de visite"),
    class_code: tuple[str, str] = ("10", "Compte rendu"),
    author: Author = CARDIO_AUTHOR,
    status: DocumentStatus = DocumentStatus.APPROVED,
    flags: tuple[Confidentiality, ...] = (),
    mime: str = "text/xml",
    submitted_days_ago: int | None = None,
    today: date | None = None,
) -> DocumentEntry:
    now = datetime.combine(today or date.today(), datetime.min.time(), UTC) + timedelta(hours=10)
    when = now - timedelta(days=days_ago)
    submitted = now - timedelta(
        days=submitted_days_ago if submitted_days_ago is not None else days_ago
    )
    return DocumentEntry(
        entry_uuid=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_OID, uid)}",
        unique_id=uid,
        repository_id=REPOSITORY,
        patient=ins,
        title=title,
        type_code=Code(type_code[0], type_code[1], LOINC),
        class_code=Code(class_code[0], class_code[1], CLASS_OID),
        format_code=Code("urn:ihe:iti:xds-sd:pdf:2008", "PDF", "1.3.6.1.4.1.19376.1.2.3"),
        mime_type=mime,
        creation_time=when,
        service_start=when,
        submission_time=submitted,
        authors=(author,),
        confidentiality=(
            Code("N", "Normal", "2.16.840.1.113883.5.25"),
            *(Code(f.value, f.value, "1.2.250.1.213.1.1.4.13") for f in flags),
        ),
        status=status,
    )


@functools.cache
def _sample_vsm() -> bytes:
    """The sample summary's CDA, built once per test session (bytes: nothing can change it)."""
    return build_vsm(full_summary())


@functools.cache
def _sample_letter() -> bytes:
    return wrap_pdf(_level1("11490-0", "Lettre de liaison"), minimal_pdf("Lettre de liaison"))


@functools.cache
def _sample_notes() -> bytes:
    return wrap_text(_level1("11506-3", "Notes de suivi"), "Tension 13/8.\nPoids stable.")


def standard_documents(ins: Ins = AUTHORISED) -> list[tuple[DocumentEntry, bytes]]:
    """A realistic DMP: PDF, CDA level 1 (PDF, text), a VSM, an image, older and special ones."""
    return [
        (
            entry(
                "1.2.250.1.999.1.1",
                "Consultation de cardiologie",
                ins=ins,
                days_ago=20,
                mime="application/pdf",
            ),
            minimal_pdf("Consultation de cardiologie : echographie normale"),
        ),
        (
            entry(
                "1.2.250.1.999.1.2",
                "Lettre de liaison",
                ins=ins,
                days_ago=60,
                type_code=("11490-0", "Lettre de liaison à la sortie d'un établissement de soins"),
                author=DURAND_AUTHOR,
            ),
            _sample_letter(),
        ),
        (
            entry(
                "1.2.250.1.999.1.3",
                "Volet de synthèse médicale",
                ins=ins,
                days_ago=90,
                type_code=("SYNTH", "Synthèse"),
                class_code=("60", "Synthèse"),
                author=DURAND_AUTHOR,
            ),
            _sample_vsm(),
        ),
        (
            entry(
                "1.2.250.1.999.1.4",
                "Radiographie du thorax",
                ins=ins,
                days_ago=200,
                type_code=("18748-4", "CR d'imagerie médicale"),
                class_code=("30", "Imagerie médicale"),
                author=RADIO_AUTHOR,
                mime="image/png",
            ),
            png_bytes("PNG", 320, 240),
        ),
        (
            entry(
                "1.2.250.1.999.1.5",
                "Notes de suivi",
                ins=ins,
                days_ago=900,
                type_code=("11506-3", "CR ou fiche de suivi de soins par auxiliaire médical"),
                author=DURAND_AUTHOR,
            ),
            _sample_notes(),
        ),
        (
            entry(
                "1.2.250.1.999.1.6",
                "Mes directives anticipées",
                ins=ins,
                days_ago=100,
                type_code=("EXPPAT_3", "Directives anticipées"),
                class_code=("90", "Expression personnelle du patient"),
                author=PATIENT_AUTHOR,
                mime="application/pdf",
            ),
            minimal_pdf("Directives anticipees"),
        ),
        (
            entry(
                "1.2.250.1.999.1.7",
                "Échographie abdominale 2019",
                ins=ins,
                days_ago=6 * 365,
                type_code=("18748-4", "CR d'imagerie médicale"),
                class_code=("30", "Imagerie médicale"),
                author=RADIO_AUTHOR,
                mime="image/jpeg",
            ),
            png_bytes("JPEG", 200, 150),
        ),
        (
            entry(
                "1.2.250.1.999.1.8",
                "Consultation de cardiologie (version 1)",
                ins=ins,
                days_ago=25,
                status=DocumentStatus.DEPRECATED,
                mime="application/pdf",
            ),
            minimal_pdf("Version 1"),
        ),
        (
            entry(
                "1.2.250.1.999.1.9",
                "Bilan biologique 2022",
                ins=ins,
                days_ago=3 * 365,
                type_code=("11502-2", "CR d'examens biologiques"),
                class_code=("20", "Biologie"),
                status=DocumentStatus.ARCHIVED,
                mime="image/tiff",
            ),
            png_bytes("TIFF", 100, 80),
        ),
        (
            entry(
                "1.2.250.1.999.1.10",
                "Consultation de psychiatrie",
                ins=ins,
                days_ago=40,
                flags=(Confidentiality.MASKED_PS,),
                mime="application/pdf",
            ),
            minimal_pdf("Document masque"),
        ),
    ]


@dataclasses.dataclass
class PatientRecord:
    authorization: Authorization
    treating_physician: bool = False
    state: DmpState = DmpState.ACTIVE
    documents: dict[str, tuple[DocumentEntry, bytes]] = dataclasses.field(default_factory=dict)
    duplicate_first: bool = False  # answer the first document twice (de-duplication)


class ConsultationClient(FakeDmpClient):
    owner: ConsultationDmp

    def test_existence(self, ins: Ins, purpose: str = "normal") -> DmpStatus:
        self.owner.calls.append((ins, purpose, threading.current_thread()))
        if self.owner.error is not None:
            raise self.owner.error
        record = self.owner.patients[ins.value]
        family, given, gender = NAMES.get(ins.value, ("DUPONT", "Anne", "F"))
        return DmpStatus(
            ins=ins,
            state=record.state,
            authorization=record.authorization,
            treating_physician=record.treating_physician,
            patient_family_name=family,
            patient_given_name=given,
            patient_birth_date=date(1984, 5, 12),
            patient_gender=gender,
        )

    def set_authorization(
        self, ins: Ins, *, grant: bool = True, treating_physician: bool = False
    ) -> None:
        self.owner.authorizations.append(
            (ins, grant, treating_physician, threading.current_thread())
        )
        record = self.owner.patients[ins.value]
        if record.authorization is Authorization.INTERDIT:
            from dmp_desktop.errors import DmpServiceError

            raise DmpServiceError("DMPAccessDeniedByExcludedPs")
        record.authorization = Authorization.VALIDE if grant else Authorization.NON_EXISTE
        record.treating_physician = treating_physician or record.treating_physician

    def find_documents(
        self, query: DocumentQuery, *, purpose: str = "normal", reason: str | None = None
    ) -> list[DocumentEntry]:
        self.owner.finds.append((query, purpose, reason, threading.current_thread()))
        if self.owner.find_gate is not None:
            self.owner.find_gate.wait(10)
        if self.owner.error is not None:
            raise self.owner.error
        record = self.owner.patients[query.patient.value]
        allowed = record.authorization is Authorization.VALIDE or (
            purpose != "normal" and record.authorization is not Authorization.INTERDIT
        )
        if not allowed:
            from dmp_desktop.errors import DmpServiceError

            raise DmpServiceError("DMPAccessDenied")
        out = []
        for doc, _content in record.documents.values():
            if doc.status not in query.statuses:
                continue
            if doc.masked_from_professionals and not query.include_masked:
                continue
            when = doc.service_start or doc.creation_time
            if query.since is not None and when is not None and when.date() < query.since:
                continue
            out.append(doc)
        if record.duplicate_first and out:
            out.append(out[0])
        return out

    def retrieve_document(
        self, entry: DocumentEntry, *, purpose: str = "normal", reason: str | None = None
    ) -> RetrievedDocument:
        self.owner.retrievals.append((entry.unique_id, purpose, reason, threading.current_thread()))
        if self.owner.retrieve_gate is not None:
            self.owner.retrieve_gate.wait(10)
        record = self.owner.patients[entry.patient.value]
        doc, content = record.documents[entry.unique_id]
        return RetrievedDocument(entry.unique_id, entry.repository_id, doc.mime_type, content)


class ConsultationDmp(FakeDmp):
    def __init__(self) -> None:
        super().__init__()
        self.patients: dict[str, PatientRecord] = {
            AUTHORISED.value: PatientRecord(Authorization.VALIDE, treating_physician=True),
            UNAUTHORISED.value: PatientRecord(Authorization.NON_EXISTE),
            EXPIRED.value: PatientRecord(Authorization.EXPIRE),
            BLOCKED.value: PatientRecord(Authorization.INTERDIT),
            NOT_TREATING.value: PatientRecord(Authorization.VALIDE),
        }
        for ins, record in (
            (i, self.patients[i.value])
            for i in (AUTHORISED, UNAUTHORISED, EXPIRED, BLOCKED, NOT_TREATING)
        ):
            for doc, content in standard_documents(ins):
                record.documents[doc.unique_id] = (doc, content)
        self.authorizations: list[tuple[Ins, bool, bool, threading.Thread]] = []
        self.finds: list[tuple[DocumentQuery, str, str | None, threading.Thread]] = []
        self.retrievals: list[tuple[str, str, str | None, threading.Thread]] = []
        self.find_gate: threading.Event | None = None
        self.retrieve_gate: threading.Event | None = None

    def factory(self, settings: Settings, session: object) -> ConsultationClient:
        self.factory_threads.append(threading.current_thread())
        client = ConsultationClient(self, session)
        self.clients.append(client)
        return client

    def add(self, ins: Ins, doc: DocumentEntry, content: bytes) -> None:
        self.patients[ins.value].documents[doc.unique_id] = (doc, content)

    def remove(self, ins: Ins, unique_id: str) -> None:
        del self.patients[ins.value].documents[unique_id]

    def replace(self, ins: Ins, doc: DocumentEntry) -> None:
        record = self.patients[ins.value]
        _old, content = record.documents[doc.unique_id]
        record.documents[doc.unique_id] = (doc, content)
