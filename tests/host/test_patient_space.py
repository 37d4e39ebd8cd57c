"""The patient's own space (dmp-sandbox patient add-document / emergency-contact / allergy /
directives / copy) on the training host's store, seen by a professional through TD3.1 over real
mutual TLS with the patient-authored marks; the copy of the record and the traces."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from dmp_desktop.cda.level1 import extract_level1
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.domain import Practitioner
from dmp_desktop.domain.document import DocumentQuery, DocumentStatus
from dmp_desktop.domain.origin import DocumentOrigin, in_patient_space, origin_of, type_label
from dmp_sandbox.__main__ import main
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.patient_cli import history
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import MARTIN
from tests.host.wire import client_context, make_identity

PATIENTS = {p.key: p.ins for p in demo_patients()}
LEA, LEFEBVRE, BLANC, EMMA = (
    PATIENTS["actif-autorise"],
    PATIENTS["actif-sans-autorisation"],
    (PATIENTS["ferme"]),
    PATIENTS["mineur"],
)
DR_MARTIN = Practitioner(
    MARTIN, "MARTIN", "PAUL", "Médecin", profession_code="10", structure_id="499700433153007"
)


@pytest.fixture(scope="module")
def space_host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def dr_martin(
    space_host: RunningHost, training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DmpClient]:
    identity = make_identity(training_env.pki, tmp_path_factory.mktemp("martin"), MARTIN)
    settings = dataclasses.replace(training_env.client_settings(), host_url=space_host.url)
    http = httpx.Client(verify=client_context(training_env.pki.trust_roots, identity), timeout=30)
    with DmpClient(http, settings, DR_MARTIN) as client:
        yield client


def patient(host: RunningHost, *args: str) -> int:
    return main(["patient", *args, "--db", host.store.url])


def _photo(path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 180, 150)).save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def test_the_patient_adds_and_the_doctor_sees_it_marked(
    space_host: RunningHost,
    dr_martin: DmpClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ins = LEFEBVRE.value
    before = space_host.store.last_trace_id()
    photo = _photo(tmp_path / "ordonnance.png")
    assert patient(space_host, "add-document", "--ins", ins, "--file", str(photo), "--title",
                   "Ordonnance papier de 2019") == 0  # fmt: skip
    assert "ajouté par le patient" in capsys.readouterr().out
    assert patient(space_host, "emergency-contact", "--ins", ins, "--name", "Marc LEFEBVRE",
                   "--relationship", "fils", "--phone", "06 11 22 33 44") == 0  # fmt: skip
    assert patient(space_host, "allergy", "--ins", ins, "--agent", "Aspirine",
                   "--reaction", "œdème des lèvres") == 0  # fmt: skip
    assert patient(space_host, "allergy", "--ins", ins, "--agent", "Gluten",
                   "--intolerance") == 0  # fmt: skip
    assert "2 au total" in capsys.readouterr().out
    assert patient(space_host, "directives", "--ins", ins, "--text",
                   "Pas de réanimation prolongée sans espoir d'amélioration.") == 0  # fmt: skip

    query = DocumentQuery(LEFEBVRE, statuses=frozenset(DocumentStatus))
    entries = dr_martin.find_documents(query)
    mine = {
        e.title: e
        for e in entries
        if origin_of(e) is DocumentOrigin.PATIENT and e.status is DocumentStatus.APPROVED
    }
    assert set(mine) == {
        "Ordonnance papier de 2019",
        "Personnes à prévenir",
        "Allergies et intolérances",
        "Directives anticipées",
    }
    for entry in mine.values():
        assert entry.patient_authored and in_patient_space(entry)
        author = entry.main_author
        assert author is not None and author.specialty is not None
        assert (author.specialty.code, author.national_id) == ("EXP_PATIENT", ins)
        assert entry.facility_type is not None and entry.facility_type.code == "EXP_PATIENT"
    assert type_label(mine["Directives anticipées"]) == "Directives anticipées"
    assert mine["Personnes à prévenir"].type_code.code == "FICHE-CONTACTS"
    # The second allergy made a new version; the first one is deprecated.
    allergies = [e for e in entries if e.type_code.code == "DOCPAT08"]
    assert sorted(e.status.name for e in allergies) == ["APPROVED", "DEPRECATED"]
    current = mine["Allergies et intolérances"]
    media, text = extract_level1(dr_martin.retrieve_document(current).content)
    assert media == "text/plain"
    assert "Allergie : Aspirine — réaction : œdème des lèvres" in text.decode()
    assert "Intolérance : Gluten" in text.decode()
    media, pdf = extract_level1(
        dr_martin.retrieve_document(mine["Ordonnance papier de 2019"]).content
    )
    assert media == "application/pdf" and pdf.startswith(b"%PDF-")

    traces = space_host.store.traces(after_id=before)
    patient_actions = [t.action for t in traces if t.transaction == "PATIENT"]
    assert patient_actions == [
        "add-document",
        "emergency-contact",
        "allergy",
        "allergy",
        "directives",
    ]
    lines = history(space_host.store, LEFEBVRE)
    assert any("Vous avez enregistré vos directives anticipées" in line for line in lines)
    assert any("Vous avez ajouté une personne à prévenir" in line for line in lines)


def test_the_copy_of_the_record(
    space_host: RunningHost, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "copie.zip"
    before = space_host.store.last_trace_id()
    assert patient(space_host, "copy", "--ins", LEA.value, "--out", str(out)) == 0
    assert str(out) in capsys.readouterr().out
    assert (out.stat().st_mode & 0o777) == 0o600  # health data: the owner only
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        index = json.loads(archive.read("index.json"))
        text = archive.read("index.txt").decode()
    titles = [d["titre"] for d in index["documents"]]
    # Masked from professionals: the patient sees it; invisible to the patient: left out.
    assert "Compte rendu de consultation de psychiatrie" in titles
    assert "Compte rendu d'anatomie et de cytologie pathologiques" not in titles
    assert "Prescription de kinésithérapie respiratoire" not in titles  # deprecated
    for title in ("Directives anticipées", "Historique des soins remboursés"):
        assert title in titles
    by_title = {d["titre"]: d for d in index["documents"]}
    assert by_title["Photo de mon carnet de vaccination"]["auteur"] == "vous-même"
    assert by_title["Historique des soins remboursés"]["auteur"] == "Assurance Maladie"
    for entry in index["documents"]:
        assert set(entry["fichiers"]) <= names
        assert len(entry["fichiers"]) == 2  # the CDA and what a person opens
    assert any(n.endswith(".pdf") for n in names) and any(n.endswith(".html") for n in names)
    assert "Copie du DMP de Léa MOREAU" in text
    trace = space_host.store.traces(after_id=before)[-1]
    assert (trace.transaction, trace.action, trace.document_count) == (
        "PATIENT",
        "copy",
        len(titles),
    )
    # Never overwritten.
    assert patient(space_host, "copy", "--ins", LEA.value, "--out", str(out)) == 1
    assert "existe déjà" in capsys.readouterr().err


def test_refusals_in_french(
    space_host: RunningHost, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("pas une photo", encoding="utf-8")
    assert patient(space_host, "add-document", "--ins", LEA.value, "--file", str(text_file),
                   "--title", "Notes") == 1  # fmt: skip
    assert "photo (JPEG, PNG, TIFF) ou un PDF" in capsys.readouterr().err
    assert patient(space_host, "emergency-contact", "--ins", BLANC.value, "--name", "X Y",
                   "--relationship", "sœur", "--phone", "0611223344") == 1  # fmt: skip
    assert "fermé" in capsys.readouterr().err
    assert patient(space_host, "emergency-contact", "--ins", LEA.value, "--name", "X Y",
                   "--relationship", "sœur", "--phone", "appelez-moi") == 1  # fmt: skip
    assert "téléphone invalide" in capsys.readouterr().err
    # The demo's contacts are there already: the same one twice changes nothing.
    assert patient(space_host, "emergency-contact", "--ins", LEA.value, "--name", "Paul MOREAU",
                   "--relationship", "père", "--phone", "06 12 34 56 78") == 1  # fmt: skip
    assert "rien n'a changé" in capsys.readouterr().err


def _copy_titles(host: RunningHost, tmp_path: Path, name: str, *extra: str) -> list[str]:
    out = tmp_path / name
    assert patient(host, "copy", "--ins", EMMA.value, "--out", str(out), *extra) == 0
    with zipfile.ZipFile(out) as archive:
        return [d["titre"] for d in json.loads(archive.read("index.json"))["documents"]]


def test_a_minors_copy_never_shows_the_representative_what_is_hidden_from_them(
    space_host: RunningHost, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13: a document invisible to the legal representatives was in their copy."""
    secret = "Compte rendu de consultation (confidentielle)"
    titles = _copy_titles(space_host, tmp_path, "representant.zip")
    assert "Compte rendu de consultation de pédiatrie" in titles
    assert secret not in titles
    # Emma's record has no secret connection (the seed): no access of her own.
    out = tmp_path / "emma.zip"
    code = patient(
        space_host, "copy", "--ins", EMMA.value, "--out", str(out), "--minor-own-access"
    )
    assert code != 0 and not out.exists()
    assert "connexion secrète" in capsys.readouterr().err
    # With a secret connection, the minor's own copy has it (and the representative's still not).
    with space_host.store.session() as session:
        record = space_host.store.find_patient(session, EMMA.value, EMMA.oid)
        assert record is not None
        record.secret_connection = True
    try:
        assert secret in _copy_titles(space_host, tmp_path, "emma.zip", "--minor-own-access")
        assert secret not in _copy_titles(space_host, tmp_path, "representant-2.zip")
    finally:
        with space_host.store.session() as session:
            record = space_host.store.find_patient(session, EMMA.value, EMMA.oid)
            assert record is not None
            record.secret_connection = False
