"""Real inputs to mutate: the CNAM's official answers, the training host's answers, CDA documents.

- :func:`official_answers`: the answers of ``dmp-lps-exemples-messages``
  (empty when the shared material is absent).
- :func:`host_answers`: answers of the real training-host logic
  (:class:`dmp_sandbox.host.DmpHost` over a seeded SQLite store) to requests
  built by the real client (:class:`dmp_desktop.dmp.client.DmpClient`); the
  HTTP hop between them is an in-memory httpx transport, nothing else is
  replaced. TD3.2 answers are MTOM messages.
- :func:`cda_documents`: a full VSM, level-1 PDF and text documents, and
  the demo patients' documents.
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from dmp_desktop.cda.level1 import Level1Document, wrap_pdf, wrap_text
from dmp_desktop.cda.samples import full_summary, minimal_pdf, minimal_summary
from dmp_desktop.cda.vsm import build_vsm
from dmp_desktop.dmp import xds
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.settings import Settings
from dmp_sandbox.auth import CertIdentity
from dmp_sandbox.demo import demo_patients, seed_demo
from dmp_sandbox.host import DmpHost, TraceContext
from dmp_sandbox.soap import FaultCode, SoapFault, fault_envelope
from dmp_sandbox.store import Store
from tests.conftest import DMP_MESSAGES

DURAND = Practitioner(
    national_id="899700433153",
    family_name="DURAND",
    given_name="MARIE",
    profession="Médecin",
    profession_code="10",
)
STRUCTURE_ID = "499700433153007"
SOAP_CT = "application/soap+xml; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer as the client receives it."""

    name: str
    transaction: str  # TD0.2, TD0.3, TD3.1, TD3.2, TD2.1, TD3.3, fault
    status: int
    content_type: str
    body: bytes = dataclasses.field(repr=False)


_OFFICIAL = {
    "TD0.2 - Test d'existence_réponse.xml": "TD0.2",
    "TD0.3 - Mise à jour de l'autorisation_réponse.xml": "TD0.3",
    "TD3.1 - Recherche de document_réponse.xml": "TD3.1",
    "TD3.2 - Consultation d'un document_réponse.xml": "TD3.2",
    "TD2.1 - Alimentation_réponse.xml": "TD2.1",
    "TD3.3c - Supprimer un document_réponse.xml": "TD3.3",
    "TD3.3d - Archiver un document_réponse.xml": "TD3.3",
}


def official_answers() -> list[Answer]:
    """The official answers (HTTP 200, SOAP 1.2), or [] without the shared material."""
    if not DMP_MESSAGES.exists():
        return []
    return [
        Answer(f"officiel {name}", transaction, 200, SOAP_CT, (DMP_MESSAGES / name).read_bytes())
        for name, transaction in _OFFICIAL.items()
        if (DMP_MESSAGES / name).exists()
    ]


def _identity(practitioner: Practitioner) -> CertIdentity:
    return CertIdentity(
        national_id=practitioner.national_id,
        family_name=practitioner.family_name,
        given_name=practitioner.given_name,
        profession=practitioner.profession or "",
        structure_id=STRUCTURE_ID,
    )


class _Recorder:
    """An in-memory httpx transport to a DmpHost; keeps every answer."""

    def __init__(self, host: DmpHost, identity: CertIdentity) -> None:
        self.host = host
        self.identity = identity
        self.answers: list[tuple[str, int, str, bytes]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        service = urlsplit(str(request.url)).path.rsplit("/", 1)[-1]
        trace = TraceContext()
        answer = self.host.handle(
            service, request.headers.get("content-type"), request.read(), self.identity, trace
        )
        self.answers.append(
            (trace.transaction or "?", answer.status, answer.content_type, answer.body)
        )
        return httpx.Response(
            answer.status, headers={"Content-Type": answer.content_type}, content=answer.body
        )


def record_host_answers(directory: Path) -> tuple[list[Answer], list[tuple[str, bytes]]]:
    """Run a short consultation against the host logic: its answers, the documents read."""
    store = Store(f"sqlite:///{directory / 'seeds.db'}")
    documents: list[tuple[str, bytes]] = []
    try:
        seed_demo(store)
        recorder = _Recorder(DmpHost(store), _identity(DURAND))
        settings = Settings(
            host_url="https://dmp.formation.test",
            ins_kind="TEST_NIR",
            structure_id=STRUCTURE_ID,
        )
        http = httpx.Client(transport=httpx.MockTransport(recorder))
        with DmpClient(http, settings, DURAND) as client:
            for patient in demo_patients():
                client.test_existence(patient.ins)
            lea = next(p for p in demo_patients() if p.key == "actif-autorise").ins
            entries = client.find_documents(xds.default_query(lea, datetime.now(UTC).date()))
            for entry in entries[:8]:
                document = client.retrieve_document(entry)
                documents.append((f"démo {entry.title}", document.content))
            client.set_authorization(lea, grant=True)
    finally:
        store.close()
    answers = [
        Answer(f"hôte {i} {transaction}", transaction, status, content_type, body)
        for i, (transaction, status, content_type, body) in enumerate(recorder.answers)
    ]
    for code in (FaultCode.AUTHENTICATION, FaultCode.ACCESS_DENIED, FaultCode.INTERNAL):
        fault = SoapFault(code, "Refus de l'hôte de formation.")
        answers.append(
            Answer(
                f"hôte faute {code.value}",
                "fault",
                fault.http_status,
                SOAP_CT,
                fault_envelope(fault, "urn:uuid:00000000-0000-4000-8000-000000000000"),
            )
        )
    return answers, documents


@functools.cache
def _recorded() -> tuple[tuple[Answer, ...], tuple[tuple[str, bytes], ...]]:
    with tempfile.TemporaryDirectory(prefix="dmp-seeds-") as folder:
        answers, documents = record_host_answers(Path(folder))
    return tuple(answers), tuple(documents)


def host_answers() -> tuple[Answer, ...]:
    """:func:`record_host_answers` once per process (in a temporary folder)."""
    return _recorded()[0]


def _level1(type_code: str, title: str) -> Level1Document:
    summary = minimal_summary()
    return Level1Document(
        summary.patient,
        summary.author,
        summary.effective_time,
        type_code,
        title=title,
        document_id="1.2.250.1.999.3.1",
        set_id="1.2.250.1.999.3",
    )


@functools.cache
def cda_documents() -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) of CDA documents: ours and the demo's (as the host returns them)."""
    docs: list[tuple[str, bytes]] = [
        ("vsm complet", build_vsm(full_summary())),
        ("vsm minimal", build_vsm(minimal_summary())),
        ("niveau 1 pdf", wrap_pdf(_level1("11488-4", "Compte rendu"), minimal_pdf())),
        ("niveau 1 texte", wrap_text(_level1("11490-0", "Lettre"), "Lettre de liaison.\n")),
    ]
    docs.extend((name, data) for name, data in _recorded()[1] if data.lstrip()[:1] == b"<")
    return tuple(docs)
