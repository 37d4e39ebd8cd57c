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
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from dmp_desktop.cda.level1 import Level1Document, wrap_pdf, wrap_text
from dmp_desktop.cda.vsm import build_vsm
from dmp_desktop.dmp import xds
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.mtom import MimePart, build_mtom
from dmp_desktop.domain.document import DocumentEntry
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.settings import Settings
from dmp_sandbox.auth import CertIdentity
from dmp_sandbox.demo import demo_patients, seed_demo
from dmp_sandbox.host import DmpHost, TraceContext
from dmp_sandbox.soap import FaultCode, SoapFault, fault_envelope
from dmp_sandbox.store import Store
from tests.conftest import DMP_MESSAGES, in_ci, shared_missing
from tests.support.cda_samples import full_summary, minimal_pdf, minimal_summary

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


_XOP_HREF = re.compile(rb'Include href="cid:([^"]+)"')


def _as_mtom(envelope: bytes) -> tuple[str, bytes]:
    """The official TD3.2 answer is the root of an MTOM message: give it its part back."""
    found = _XOP_HREF.search(envelope)
    assert found is not None
    part = MimePart(unquote(found.group(1).decode()), b"%PDF-1.4\n% document\n", "application/pdf")
    return build_mtom(envelope, [part], action=xds.ACTION_RETRIEVE_RESPONSE)


def official_answers() -> list[Answer]:
    """The official answers (HTTP 200, SOAP 1.2; TD3.2 in MTOM), or [] without the material."""
    if not DMP_MESSAGES.exists():
        if in_ci():
            shared_missing(DMP_MESSAGES)
        return []
    answers = []
    for name, transaction in _OFFICIAL.items():
        if not (DMP_MESSAGES / name).exists():
            continue
        content_type, body = SOAP_CT, (DMP_MESSAGES / name).read_bytes()
        if transaction == "TD3.2":
            content_type, body = _as_mtom(body)
        answers.append(Answer(f"officiel {name}", transaction, 200, content_type, body))
    return answers


def _identity(practitioner: Practitioner) -> CertIdentity:
    return CertIdentity(
        national_id=practitioner.national_id,
        family_name=practitioner.family_name,
        given_name=practitioner.given_name,
        profession=practitioner.profession or "",
        structure_id=STRUCTURE_ID,
    )


IDENTITY = _identity(DURAND)  # Dr Durand as the host reads her TLS certificate


class _Recorder:
    """An in-memory httpx transport to a DmpHost; keeps every request and answer."""

    def __init__(self, host: DmpHost, identity: CertIdentity) -> None:
        self.host = host
        self.identity = identity
        self.answers: list[tuple[str, int, str, bytes]] = []
        self.requests: list[Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        service = urlsplit(str(request.url)).path.rsplit("/", 1)[-1]
        trace = TraceContext()
        content_type = request.headers.get("content-type") or ""
        answer = self.host.handle(service, content_type, request.read(), self.identity, trace)
        kind = trace.transaction or "?"
        self.requests.append(Request(f"requête {kind}", service, content_type, request.read()))
        self.answers.append((kind, answer.status, answer.content_type, answer.body))
        return httpx.Response(
            answer.status, headers={"Content-Type": answer.content_type}, content=answer.body
        )


@dataclass(frozen=True)
class Request:
    """One request as the host receives it (built by the real client)."""

    name: str
    service: str
    content_type: str
    body: bytes = dataclasses.field(repr=False)


@dataclass(frozen=True)
class Recording:
    answers: tuple[Answer, ...]
    requests: tuple[Request, ...]
    documents: tuple[tuple[str, bytes], ...]  # (title, bytes) of the documents retrieved
    retrieved: tuple[tuple[DocumentEntry, Answer], ...]  # each TD3.2 answer and its entry


def record_host_answers(directory: Path) -> Recording:
    """Run a short session against the host logic (consultation, authorisation, update)."""
    store = Store(f"sqlite:///{directory / 'seeds.db'}")
    documents: list[tuple[str, bytes]] = []
    retrieved: list[tuple[DocumentEntry, int]] = []
    try:
        seed_demo(store)
        recorder = _Recorder(DmpHost(store), IDENTITY)
        settings = Settings(
            host_url="https://dmp.formation.test",
            ins_kind="TEST_NIR",
            structure_id=STRUCTURE_ID,
            profile="formation",
        )
        http = httpx.Client(transport=httpx.MockTransport(recorder))
        with DmpClient(http, settings, DURAND) as client:
            for patient in demo_patients():
                client.test_existence(patient.ins)
            lea = next(p for p in demo_patients() if p.key == "actif-autorise").ins
            entries = client.find_documents(xds.default_query(lea, datetime.now(UTC).date()))
            for entry in entries[:8]:
                document = client.retrieve_document(entry)
                retrieved.append((entry, len(recorder.answers) - 1))
                documents.append((f"démo {entry.title}", document.content))
            client.set_authorization(lea, grant=True)
            mine = [
                e for e in entries if any(a.national_id == DURAND.national_id for a in e.authors)
            ]
            if mine:
                client.update_confidentiality(
                    mine[0], masked=True, invisible_patient=False, invisible_legal_reps=False
                )
    finally:
        store.close()
    answers = [
        Answer(f"hôte {i} {transaction}", transaction, status, content_type, body)
        for i, (transaction, status, content_type, body) in enumerate(recorder.answers)
    ]
    pairs = tuple((entry, answers[index]) for entry, index in retrieved)
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
    return Recording(tuple(answers), tuple(recorder.requests), tuple(documents), pairs)


@functools.cache
def recording() -> Recording:
    """:func:`record_host_answers` once per process (in a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="dmp-seeds-") as folder:
        return record_host_answers(Path(folder))


def host_answers() -> tuple[Answer, ...]:
    return recording().answers


def host_requests() -> tuple[Request, ...]:
    return recording().requests


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
    docs.extend((name, data) for name, data in recording().documents if data[:1] == b"<")
    return tuple(docs)
