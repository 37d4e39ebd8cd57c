"""``dmp upload`` / ``replace`` / ``mask`` / ``unmask`` / ``archive`` / ``delete`` / ``outbox`` /
``vsm send`` end to end: SoftHSM cards (the signature key signs the submission), the training
host on loopback over real mutual TLS, the real ``dmp`` command in a subprocess.

An upload whose answer is lost is made for real: a TCP relay between the
command and the host passes the whole request through, then cuts the
connection when the host starts answering (after it stored the document).

The tests that need the host's alimentation (ITI-41 / ITI-57 handlers) skip
while the host has none; the CDA kit check runs regardless.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from dmp_desktop.alimentation import build
from dmp_desktop.domain.summary import summary_to_json
from dmp_desktop.settings import Settings, save_settings
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.conftest import needs_cda_kit_time, require_cda_kit
from tests.support.cda_samples import minimal_summary, sample_author
from tests.unit.test_alimentation_support import identity, request

pytestmark = pytest.mark.e2e

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")
DURAND = ("CPS3-DURAND", "1234")
MARTIN = ("CPS4-MARTIN", "4321")
# A PDF big enough that its request dwarfs the TLS handshake (see Relay).
PDF = b"%PDF-1.4\n% compte rendu de formation\n" + b"% " + b"x" * 120_000 + b"\n%%EOF\n"
VISIBLE = ("--not-masked", "--visible-patient", "--visible-legal-reps")
IDENTITY = (
    "--birth-name",
    LEA.family_name.upper(),
    "--given-names",
    LEA.given_name.upper(),
    "--birth-date",
    LEA.birth_date.isoformat(),
    "--sex",
    LEA.gender,
    "--birthplace",
    "85756",
)




@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


def _settings(training_env: TrainingEnv, url: str, data: Path) -> Settings:
    return dataclasses.replace(training_env.client_settings(), host_url=url, data_dir=str(data))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-alimentation-data")


@pytest.fixture(scope="module")
def config(
    training_env: TrainingEnv,
    host: RunningHost,
    data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    path = tmp_path_factory.mktemp("cli-alimentation-config") / "settings.json"
    save_settings(_settings(training_env, host.url, data_dir), path)
    return path


def dmp(
    config: Path, *args: str, card: tuple[str, str] = DURAND, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DMP_DESKTOP_CONFIG": str(config),
        # No system keyring here: the training-mode key file encrypts the outbox.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    command = [sys.executable, "-m", "dmp_desktop", "cli", *args]
    if args[0] not in ("types",):  # the outbox too: it is the card holder's
        command += ["--card", card[0], "--pin-stdin"]
    return subprocess.run(
        command,
        input=stdin if stdin is not None else card[1] + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )


def upload(config: Path, path: Path, *extra: str, visibility: tuple[str, ...] = VISIBLE) -> str:
    result = dmp(
        config,
        "upload",
        str(path),
        "--ins",
        LEA.ins.value,
        "--type",
        "11488-4",
        *visibility,
        *IDENTITY,
        "--json",
        *extra,
    )
    assert result.returncode == 0, result.stderr
    unique_id = json.loads(result.stdout)["unique_id"]
    assert isinstance(unique_id, str)
    return unique_id


def listing(config: Path, *options: str, card: tuple[str, str] = DURAND) -> dict[str, Any]:
    result = dmp(
        config, "list", "--ins", LEA.ins.value, "--json", "--all-dates", *options, card=card
    )
    assert result.returncode == 0, result.stderr
    return {d["unique_id"]: d for d in json.loads(result.stdout)}


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "compte-rendu.pdf"
    path.write_bytes(PDF)
    return path


# --- upload, list, get ---------------------------------------------------------------------------


def test_upload_then_list_then_get_the_same_bytes(config: Path, pdf: Path, tmp_path: Path) -> None:
    unique_id = upload(config, pdf, "--title", "CR de consultation du 12 mars")
    found = listing(config)[unique_id]
    assert found["title"] == "CR de consultation du 12 mars"
    assert found["type"]["code"] == "11488-4" and found["class"]["code"] == "10"
    assert found["format"]["code"] == "urn:ihe:iti:xds-sd:pdf:2008"
    assert found["authors"][0]["national_id"] == "899700433153"
    assert (found["masked"], found["invisible_to_patient"]) == (False, False)
    cda, extracted = tmp_path / "doc.xml", tmp_path / "doc.pdf"
    result = dmp(
        config,
        "get",
        "--ins",
        LEA.ins.value,
        "--id",
        unique_id,
        "-o",
        str(cda),
        "--extract",
        str(extracted),
    )
    assert result.returncode == 0, result.stderr
    assert extracted.read_bytes() == PDF
    assert b"2.16.840.1.113883.2.8.2.1" in cda.read_bytes()


def test_image_and_text_are_sent_as_level1_documents(config: Path, tmp_path: Path) -> None:
    png = tmp_path / "photo.png"
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 30, 30)).save(buffer, "PNG")
    png.write_bytes(buffer.getvalue())
    text = tmp_path / "note.txt"
    text.write_text("Consultation de suivi : tension normale.\n", encoding="utf-8")
    for path, media in ((png, "application/pdf"), (text, "text/plain")):
        unique_id = upload(config, path)
        out, payload = tmp_path / f"{path.stem}.xml", tmp_path / f"{path.stem}.bin"
        result = dmp(
            config,
            "get",
            "--ins",
            LEA.ins.value,
            "--id",
            unique_id,
            "-o",
            str(out),
            "--extract",
            str(payload),
        )
        assert result.returncode == 0, result.stderr
        assert media in result.stdout
    assert payload.read_bytes() == text.read_bytes()


def test_visibility_is_never_implied(config: Path, pdf: Path) -> None:
    result = dmp(
        config,
        "upload",
        str(pdf),
        "--ins",
        LEA.ins.value,
        "--type",
        "11488-4",
        "--masked",
        *IDENTITY,
    )
    assert result.returncode == 2
    assert "la visibilité du document doit être choisie explicitement" in result.stderr
    forbidden = dmp(
        config,
        "upload",
        str(pdf),
        "--ins",
        LEA.ins.value,
        "--type",
        "11488-4",
        "--masked",
        "--invisible-patient",
        "--visible-legal-reps",
        *IDENTITY,
    )
    assert forbidden.returncode == 2
    assert "le DMP refuse cette combinaison" in forbidden.stderr


# --- replace, mask, archive, delete --------------------------------------------------------------


def test_replace_makes_the_old_one_deprecated(config: Path, pdf: Path, tmp_path: Path) -> None:
    old = upload(config, pdf)
    corrected = tmp_path / "corrige.pdf"
    corrected.write_bytes(PDF.replace(b"formation", b"formation corrige"))
    result = dmp(
        config,
        "replace",
        "--id",
        old,
        str(corrected),
        "--ins",
        LEA.ins.value,
        "--type",
        "11488-4",
        *VISIBLE,
        *IDENTITY,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    new = json.loads(result.stdout)["unique_id"]
    docs = listing(config, "--deprecated")
    assert docs[old]["status"] == "deprecated"
    assert docs[new]["status"] == "approved"
    assert old not in listing(config)


def test_mask_then_unmask(config: Path, pdf: Path) -> None:
    unique_id = upload(config, pdf)
    masked = dmp(config, "mask", "--ins", LEA.ins.value, "--id", unique_id)
    assert masked.returncode == 0, masked.stderr
    assert "masqué aux professionnels" in masked.stdout
    assert listing(config, "--masked")[unique_id]["masked"] is True
    assert unique_id not in listing(config)  # masked: shown on request only
    unmasked = dmp(config, "unmask", "--ins", LEA.ins.value, "--id", unique_id)
    assert unmasked.returncode == 0, unmasked.stderr
    assert listing(config)[unique_id]["masked"] is False


def test_archive(config: Path, pdf: Path) -> None:
    unique_id = upload(config, pdf)
    result = dmp(config, "archive", "--ins", LEA.ins.value, "--id", unique_id)
    assert result.returncode == 0, result.stderr
    assert unique_id not in listing(config)
    assert listing(config, "--archived")[unique_id]["status"] == "archived"


def test_delete_by_the_author_only(config: Path, pdf: Path) -> None:
    unique_id = upload(config, pdf)
    granted = dmp(config, "authorize", "--ins", LEA.ins.value, "--yes", card=MARTIN)
    assert granted.returncode == 0, granted.stderr
    refused = dmp(config, "delete", "--ins", LEA.ins.value, "--id", unique_id, "--yes", card=MARTIN)
    assert refused.returncode == 1
    assert "Seul l'auteur du document peut supprimer ce document" in refused.stderr
    assert unique_id in listing(config)
    asked = dmp(config, "delete", "--ins", LEA.ins.value, "--id", unique_id, stdin="non\n")
    assert asked.returncode == 2 and unique_id in listing(config)
    deleted = dmp(config, "delete", "--ins", LEA.ins.value, "--id", unique_id, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert unique_id not in listing(config, "--archived", "--deprecated", "--masked")


# --- nothing lost, nothing twice -----------------------------------------------------------------


class Relay:
    """A TCP relay to the host that loses the answer of the first big request.

    Bytes go both ways untouched (TLS runs end to end) until the client has
    sent more than ``threshold`` bytes (far more than a TLS handshake: the
    request itself); the next bytes from the host (its answer, written once
    the document is stored) are dropped and both connections closed.
    """

    def __init__(self, upstream: tuple[str, int], threshold: int = 60_000) -> None:
        self.upstream = upstream
        self.threshold = threshold
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.cut = threading.Event()
        self.threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            sent = [0]
            for source, target, counts in ((client, upstream, True), (upstream, client, False)):
                thread = threading.Thread(
                    target=self._pump,
                    args=(source, target, counts, sent, client, upstream),
                    daemon=True,
                )
                thread.start()
                self.threads.append(thread)

    def _pump(
        self,
        source: socket.socket,
        target: socket.socket,
        from_client: bool,
        sent: list[int],
        client: socket.socket,
        upstream: socket.socket,
    ) -> None:
        try:
            while data := source.recv(65536):
                if from_client:
                    sent[0] += len(data)
                elif sent[0] > self.threshold and not self.cut.is_set():
                    self.cut.set()  # the host answered a stored upload: lose it
                    raise OSError("answer dropped")
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def close(self) -> None:
        self.server.close()
        for thread in self.threads:
            thread.join(timeout=10)


def test_an_interrupted_upload_is_resumed_without_duplicate(
    training_env: TrainingEnv,
    host: RunningHost,
    config: Path,
    data_dir: Path,
    pdf: Path,
    tmp_path: Path,
) -> None:
    from urllib.parse import urlsplit

    from sqlalchemy import func, select

    from dmp_sandbox.store import DocumentRecord

    target = urlsplit(host.url)
    relay = Relay((target.hostname or "127.0.0.1", target.port or 443))
    try:
        relayed = tmp_path / "relayed.json"
        url = f"{target.scheme}://{target.hostname}:{relay.port}"
        save_settings(_settings(training_env, url, data_dir), relayed)
        before = host.store.last_trace_id()
        result = dmp(
            relayed,
            "upload",
            str(pdf),
            "--ins",
            LEA.ins.value,
            "--type",
            "11488-4",
            "--title",
            "Envoi interrompu",
            *VISIBLE,
            *IDENTITY,
        )
        assert relay.cut.is_set()
    finally:
        relay.close()
    assert result.returncode == 4, result.stderr
    assert "L'envoi au DMP n'a pas pu être confirmé" in result.stderr
    assert "dmp outbox --resume" in result.stderr
    waiting = dmp(config, "outbox", "--json")
    (item,) = json.loads(waiting.stdout)
    assert item["state"] == "sent_unconfirmed" and item["title"] == "Envoi interrompu"
    uploads = [t for t in host.store.traces(after_id=before) if t.transaction == "TD2.1"]
    assert len(uploads) == 1  # the host got it and stored it

    resumed = dmp(config, "outbox", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert item["unique_id"] in resumed.stdout
    assert json.loads(dmp(config, "outbox", "--json").stdout) == []
    uploads = [t for t in host.store.traces(after_id=before) if t.transaction == "TD2.1"]
    assert len(uploads) == 1  # checked by unique id, never sent again
    with host.store.session() as session:
        count = session.scalar(
            select(func.count())
            .select_from(DocumentRecord)
            .where(DocumentRecord.unique_id == item["unique_id"])
        )
    assert count == 1
    assert listing(config)[item["unique_id"]]["title"] == "Envoi interrompu"


def test_patient_objection_means_never_sent(
    training_env: TrainingEnv,
    host: RunningHost,
    config: Path,
    data_dir: Path,
    pdf: Path,
    tmp_path: Path,
) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: the DMP cannot be reached
    unreachable = tmp_path / "unreachable.json"
    save_settings(_settings(training_env, f"https://localhost:{port}", data_dir), unreachable)
    result = dmp(
        unreachable,
        "upload",
        str(pdf),
        "--ins",
        LEA.ins.value,
        "--type",
        "11488-4",
        *VISIBLE,
        *IDENTITY,
    )
    assert result.returncode == 4, result.stderr
    (item,) = json.loads(dmp(config, "outbox", "--json").stdout)
    objected = dmp(config, "outbox", "--object", item["id"])
    assert objected.returncode == 0 and "ne sera pas envoyé" in objected.stdout
    before = host.store.last_trace_id()
    resumed = dmp(config, "outbox", "--resume")
    assert resumed.returncode == 0 and "Aucun envoi en attente" in resumed.stdout
    # The objection is remembered (by the file's hash): the same file is refused from now on.
    again = dmp(
        config, "upload", str(pdf), "--ins", LEA.ins.value, "--type", "11488-4", *VISIBLE, *IDENTITY
    )
    assert again.returncode == 1 and "s'est opposé" in again.stderr
    assert host.store.traces(after_id=before) == []
    assert json.loads(dmp(config, "outbox", "--json").stdout) == []


# --- the VSM -------------------------------------------------------------------------------------


def test_vsm_send_replaces_my_previous_vsm(config: Path, tmp_path: Path) -> None:
    summary = minimal_summary()
    summary.patient = identity(
        LEA.ins,
        birth_family_name=LEA.family_name.upper(),
        birth_given_names=[LEA.given_name.upper()],
        birthplace_code="85756",
    )
    source = tmp_path / "summary.json"
    source.write_text(summary_to_json(summary), encoding="utf-8")
    sent = []
    for _ in range(2):
        result = dmp(
            config, "vsm", "send", "--from", str(source), "--ins", LEA.ins.value, *VISIBLE, "--json"
        )
        assert result.returncode == 0, result.stderr
        sent.append(json.loads(result.stdout)["unique_id"])
    docs = listing(config, "--deprecated")
    assert docs[sent[0]]["status"] == "deprecated"
    assert docs[sent[1]]["status"] == "approved"
    assert docs[sent[1]]["type"]["code"] == "SYNTH"
    assert docs[sent[1]]["format"]["code"] == "urn:asip:ci-sis:vsm:2012"


# --- the CDA kit (no host needed) ----------------------------------------------------------------


@needs_cda_kit_time
def test_level1_documents_pass_the_official_cda_kit() -> None:
    from dmp_desktop.cda.validation import validate_documents

    require_cda_kit()
    png, tiff = io.BytesIO(), io.BytesIO()
    Image.new("RGBA", (64, 48), (10, 120, 200, 128)).save(png, "PNG")
    pages = [Image.new("L", (50, 70), 200), Image.new("L", (50, 70), 90)]
    pages[0].save(tiff, "TIFF", save_all=True, append_images=pages[1:])
    now = dt.datetime(2026, 3, 12, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    documents = {}
    for name, source in (
        ("pdf.xml", b"%PDF-1.4\n%%EOF\n"),
        ("png.xml", png.getvalue()),
        ("tiff.xml", tiff.getvalue()),
        ("text.xml", "Compte rendu : examen normal.\nÀ revoir dans un an.".encode()),
    ):
        built = build.build_document(
            request(source=source), sample_author(), unique_id="2.25.5", now=now
        )
        documents[name] = built.content
    report = validate_documents(documents, profile="n1")
    failures = [(f.path, f.errors) for f in report.files if not f.passed]
    assert report.passed, failures
