"""``dmp authorize`` / ``dmp list`` / ``dmp get`` end to end: a SoftHSM card, the training
host on loopback over real mutual TLS, the real ``dmp`` command in a subprocess.

The host's registry is seeded with documents (store API) for the demo patients;
everything else is the real wire: ITI-18 with the VIHF, ITI-43 over MTOM,
TD0.3, and the host's own access rules and traces.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dmp_desktop.cda.level1 import Level1Document, wrap_pdf
from dmp_desktop.domain.document import DocumentStatus
from dmp_sandbox.demo import DemoPatient, demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.store import Store, utcnow
from dmp_sandbox.training import TrainingEnv
from tests.support.cda_samples import minimal_pdf, sample_author, sample_patient
from tests.support.cli import client_config, run_dmp

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p for p in demo_patients()}
DURAND = ("CPS3-DURAND", "1234")
MARTIN = ("CPS4-MARTIN", "4321")
BERNARD = ("CPE-BERNARD", "1111")
PDF = minimal_pdf("Compte rendu de consultation de formation")
CDA = wrap_pdf(
    Level1Document(
        patient=sample_patient(),
        author=sample_author(),
        effective_time=dt.datetime(2026, 1, 15, 10, 30, tzinfo=dt.UTC),
        type_code="11488-4",
        title="Compte rendu de consultation",
    ),
    PDF,
)
# Unique ids of the documents seeded here (the demo seeds documents of its own: ignored).
P = "1.2.250.1.999.4242."
REASON = "Patient inconscient aux urgences, antécédents inconnus"


def _author(national_id: str = "899700433160", family: str = "MARTIN") -> dict[str, Any]:
    return {
        "national_id": national_id,
        "family_name": family,
        "given_name": "Paul",
        "role": "",
        "specialty_code": "G15_10/SM26",
        "specialty_display": "Médecin - Qualifié en Médecine Générale (SM)",
        "specialty_scheme": "1.2.250.1.213.1.1.4.5",
        "institution": "CABINET DE FORMATION",
        "institution_id": "499700433160001",
    }


def seed_document(
    store: Store,
    patient: DemoPatient,
    unique_id: str,
    content: bytes,
    *,
    days_ago: int = 30,
    status: DocumentStatus = DocumentStatus.APPROVED,
    flags: tuple[str, ...] = (),
    class_code: str = "10",
    title: str = "Compte rendu de consultation",
) -> None:
    """One document in the host's registry and repository, as an upload would leave it."""
    when = utcnow() - dt.timedelta(days=days_ago)
    confidentiality = [{"code": "N", "scheme": "2.16.840.1.113883.5.25", "display": "Normal"}]
    confidentiality += [
        {"code": flag, "scheme": "1.2.250.1.213.1.1.4.13", "display": flag} for flag in flags
    ]
    with store.session() as session:
        record = store.find_patient(session, patient.ins.value, patient.ins.oid)
        assert record is not None
        store.add_document(
            session,
            record,
            content,
            entry_uuid=f"urn:uuid:{uuid.uuid4()}",
            unique_id=unique_id,
            status=status.value,
            mime_type="text/xml",
            title=title,
            type_code="11488-4",
            type_scheme="2.16.840.1.113883.6.1",
            type_display="CR de consultation",
            class_code=class_code,
            class_scheme="1.2.250.1.213.1.1.4.1",
            class_display="Compte rendu" if class_code == "10" else "Document du patient",
            format_code="urn:ihe:iti:xds-sd:pdf:2008",
            format_scheme="1.3.6.1.4.1.19376.1.2.3",
            format_display="PDF",
            creation_time=when,
            service_start=when,
            service_stop=when,
            authors=[_author()],
            confidentiality=confidentiality,
        )


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        lea = PATIENTS["actif-autorise"]
        seed_document(running.store, lea, P + "1", CDA, days_ago=20)
        seed_document(running.store, lea, P + "2", b"old", days_ago=3 * 365)
        seed_document(running.store, lea, P + "3", b"arch", status=DocumentStatus.ARCHIVED)
        seed_document(running.store, lea, P + "4", b"masked", flags=("MASQUE_PS",))
        seed_document(running.store, lea, P + "5", b"hidden", flags=("INVISIBLE_PATIENT",))
        seed_document(running.store, lea, P + "6", b"mine", class_code="90", title="Mes notes")
        julien = PATIENTS["actif-sans-autorisation"]
        seed_document(running.store, julien, P + "8.1", b"urgent", days_ago=5)
        bernard = PATIENTS["autorisation-expiree"]
        seed_document(running.store, bernard, P + "9.1", b"bernard", days_ago=5)
        yield running


@pytest.fixture(scope="module")
def config(
    training_env: TrainingEnv, host: RunningHost, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("cli-documents-config") / "settings.json"
    return client_config(training_env, host.url, path)


def dmp(
    config: Path, *args: str, card: tuple[str, str] = DURAND, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_dmp(config, *args, card=card, stdin=stdin)


def list_json(config: Path, key: str, *options: str) -> list[dict[str, Any]]:
    result = dmp(config, "list", "--ins", PATIENTS[key].ins.value, "--json", *options)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return [d for d in data if d["unique_id"].startswith(P)]


def test_default_list_is_active_documents_of_the_last_two_years(
    config: Path, host: RunningHost
) -> None:
    before = host.store.last_trace_id()
    docs = list_json(config, "actif-autorise")
    # Not the 3-year-old one, not the archived one; the masked one only on request.
    assert {d["unique_id"] for d in docs} == {
        P + "1",
        P + "5",
        P + "6",
    }
    by_id = {d["unique_id"]: d for d in docs}
    assert by_id[P + "5"]["invisible_to_patient"] is True
    assert by_id[P + "6"]["patient_authored"] is True
    first = by_id[P + "1"]
    assert first["status"] == "approved"
    assert first["size"] == len(CDA)
    assert first["authors"][0]["name"] == "Paul MARTIN"
    assert first["type"]["code"] == "11488-4"
    traces = host.store.traces(after_id=before)
    assert [(t.transaction, t.professional_national_id, t.outcome) for t in traces] == [
        ("TD3.1", "899700433153", "OK")
    ]


def test_widened_list_shows_everything_the_user_asks_for(config: Path) -> None:
    docs = list_json(config, "actif-autorise", "--all-dates", "--archived", "--masked")
    assert {d["unique_id"] for d in docs} == {f"{P}{i}" for i in range(1, 7)}
    statuses = {d["unique_id"]: d["status"] for d in docs}
    assert statuses[P + "3"] == "archived"
    masked = next(d for d in docs if d["unique_id"] == P + "4")
    assert masked["masked"] is True


def test_text_listing_marks_what_the_doctor_must_see(config: Path) -> None:
    result = dmp(config, "list", "--ins", PATIENTS["actif-autorise"].ins.value)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.match(r"\d+ documents \(depuis le \d\d/\d\d/\d{4}\) :\n", out)
    lines = out.splitlines()
    own = lines.index(f"    id : {P}6") - 1
    assert lines[own].endswith(
        "| Mes notes | Paul MARTIN (Médecin - Qualifié en Médecine Générale (SM))"
        " [ajouté par le patient]"
    )
    hidden = lines.index(f"    id : {P}5") - 1
    assert lines[hidden].endswith("[invisible pour le patient]")
    assert f"    id : {P}4" not in lines  # masked: not asked for
    # The period's hint, as the window says it (usecases.consultation.older_documents_fr):
    # the command searched 2 years only, so it cannot count older ones (no extra search).
    assert lines[-1] == (
        "Les documents de plus de 2 ans n'ont pas été recherchés : --all-dates pour toutes "
        "les dates."
    )
    widened = dmp(config, "list", "--ins", PATIENTS["actif-autorise"].ins.value, "--all-dates")
    assert "n'ont pas été recherchés" not in widened.stdout


def test_get_writes_the_document_and_its_pdf(config: Path, tmp_path: Path) -> None:
    cda, pdf = tmp_path / "document.xml", tmp_path / "document.pdf"
    pdf.write_bytes(b"old")
    pdf.chmod(0o644)  # an older, world-readable file is overwritten and made private
    result = dmp(
        config,
        "get",
        "--ins",
        PATIENTS["actif-autorise"].ins.value,
        "--id",
        P + "1",
        "-o",
        str(cda),
        "--extract",
        str(pdf),
    )
    assert result.returncode == 0, result.stderr
    assert cda.read_bytes() == CDA  # over MTOM, checked against the registry's size and hash
    assert pdf.read_bytes() == PDF
    assert "application/pdf" in result.stdout
    # Health data: readable by the owner only (issue 13).
    assert (cda.stat().st_mode & 0o777, pdf.stat().st_mode & 0o777) == (0o600, 0o600)


def test_get_an_unknown_document(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.xml"
    result = dmp(
        config,
        "get",
        "--ins",
        PATIENTS["actif-autorise"].ins.value,
        "--id",
        "1.2.3",
        "-o",
        str(out),
    )
    assert result.returncode == 1
    assert "Aucun document de ce DMP ne porte cet identifiant" in result.stderr
    assert not out.exists()


def test_list_without_authorisation_is_refused_with_the_hosts_reason(config: Path) -> None:
    result = dmp(config, "list", "--ins", PATIENTS["actif-sans-autorisation"].ins.value)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-2:] == [
        "Le DMP a refusé l'accès à ce dossier.",
        "Motif donné par le DMP : Vous n'êtes pas autorisé à accéder à ce DMP : demandez au "
        "patient son accord puis enregistrez l'autorisation.",
    ]


def test_a_secretary_is_told_why_she_cannot_read_the_record(config: Path) -> None:
    result = dmp(config, "list", "--ins", PATIENTS["actif-autorise"].ins.value, card=BERNARD)
    assert result.returncode == 1
    assert "Le DMP a refusé l'accès à ce dossier." in result.stderr
    assert (
        "Motif donné par le DMP : Un personnel de structure (secrétariat) ne peut ni "
        "rechercher ni consulter les documents du DMP" in result.stderr
    )


def test_break_glass_reaches_the_host_trace(config: Path, host: RunningHost) -> None:
    before = host.store.last_trace_id()
    result = dmp(
        config,
        "-v",
        "list",
        "--ins",
        PATIENTS["actif-sans-autorisation"].ins.value,
        "--json",
        "--emergency",
        "bris_de_glace",
        "--reason",
        REASON,
    )
    assert result.returncode == 0, result.stderr
    found = [d["unique_id"] for d in json.loads(result.stdout)]
    assert P + "8.1" in found
    assert f"ACCÈS EN MODE BRIS DE GLACE — motif : {REASON}" in result.stderr
    # TD0.2 first: the emergency access is opened only where the rule allows it.
    status, trace = host.store.traces(after_id=before)
    assert (status.transaction, status.purpose) == ("TD0.2", None)
    assert (trace.transaction, trace.purpose, trace.reason) == ("TD3.1", "bris_de_glace", REASON)
    # Rule 7: the log lines carry neither the reason, nor the INS, nor a name.
    patient = PATIENTS["actif-sans-autorisation"]
    logs = "\n".join(
        line for line in result.stderr.splitlines() if " DEBUG " in line or " INFO " in line
    )
    assert logs
    for secret in (REASON, patient.ins.value, patient.family_name.upper(), "1234"):
        assert secret not in logs, secret


@pytest.mark.parametrize("purpose", ["bris_de_glace", "centre_15"])
def test_emergency_needs_a_reason(config: Path, purpose: str) -> None:
    result = dmp(
        config,
        "list",
        "--ins",
        PATIENTS["actif-sans-autorisation"].ins.value,
        "--emergency",
        purpose,
    )
    assert result.returncode == 2
    assert "exige son motif" in result.stderr


def test_authorize_asks_for_the_patient_consent(config: Path, host: RunningHost) -> None:
    before = host.store.last_trace_id()
    result = dmp(
        config,
        "authorize",
        "--ins",
        PATIENTS["autorisation-expiree"].ins.value,
        stdin="non\n",
    )
    assert result.returncode == 2
    assert "Le patient consent-il" in result.stderr
    assert "Rien n'a été modifié" in result.stderr
    assert host.store.traces(after_id=before) == []  # nothing sent, not even the card asked


def test_authorize_then_list(config: Path, host: RunningHost) -> None:
    ins = PATIENTS["autorisation-expiree"].ins.value
    refused = dmp(config, "list", "--ins", ins)
    assert refused.returncode == 1, refused.stdout
    before = host.store.last_trace_id()
    result = dmp(config, "authorize", "--ins", ins, stdin="oui\n1234\n")
    assert result.returncode == 0, result.stderr
    assert "Autorisation d'accès au DMP enregistrée." in result.stdout
    traces = host.store.traces(after_id=before)
    assert [(t.transaction, t.outcome) for t in traces] == [("TD0.3", "OK")]
    assert [d["unique_id"] for d in list_json(config, "autorisation-expiree")] == [P + "9.1"]
    revoked = dmp(config, "authorize", "--ins", ins, "--revoke", "--yes")
    assert revoked.returncode == 0, revoked.stderr
    assert dmp(config, "list", "--ins", ins).returncode == 1


# --- usage errors, in process: refused before the card is even asked for -------------------------


def _main(config: Path, *args: str) -> tuple[int, str]:
    import io

    from dmp_desktop.cli.main import Io, main

    err = io.StringIO()
    code = main(
        ["--config", str(config), *args],
        io=Io(io.StringIO(), err, io.StringIO("")),
        open_dmp=_never,
    )
    return code, err.getvalue()


def _never(*_: object) -> object:  # pragma: no cover - must not be reached
    raise AssertionError("the DMP must not be contacted")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("list", "--reason", "x"), "Un motif ne s'indique que pour un accès en urgence"),
        (("list", "--type", "11488-4^1.2"), "Code de type de document invalide"),
        (("list", "--emergency", "bris_de_glace", "--reason", "x" * 501), "ne peut pas dépasser"),
        (("list", "--emergency", "bris_de_glace", "--reason", "ab"), "trop court"),
        (("list", "--emergency", "centre_15", "--reason", "ab"), "trop court"),
        (("get", "--id", "1.2", "-o", "/nonexistent-dir/doc.xml"), "n'existe pas"),
        (("get", "--id", "1.2", "-o", "."), "est un dossier"),
    ],
)
def test_usage_errors(config: Path, args: tuple[str, ...], message: str) -> None:
    ins = PATIENTS["actif-autorise"].ins.value
    code, err = _main(config, args[0], "--ins", ins, *args[1:])
    assert code == 2
    assert message in err


def test_invalid_ins_and_date(config: Path) -> None:
    code, err = _main(config, "list", "--ins", "207058575627098")
    assert (code, "clé" in err) == (2, True)
    code, _ = _main(
        config, "list", "--ins", PATIENTS["actif-autorise"].ins.value, "--since", "hier"
    )
    assert code == 2
