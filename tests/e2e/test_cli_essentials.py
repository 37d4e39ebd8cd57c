"""``dmp essentials`` end to end: a SoftHSM card, the training host over real mutual TLS, the real
``dmp`` command in a subprocess, Léa MOREAU's structured documents in the host's registry.

Nothing is retrieved without ``--load`` (the host's traces say so); with it, every unread
structured document is retrieved once, and the next run prints the same « L'essentiel »
from the encrypted cache, without retrieving anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dmp_actors.structured_documents import FORMATS, lea_structured
from dmp_desktop.settings import save_settings
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.store import Store, utcnow
from dmp_sandbox.training import TrainingEnv
from tests.support.cli import run_dmp
from tests.unit.test_structured_documents import PATIENT, PROVIDERS

pytestmark = pytest.mark.e2e

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")
P = "1.2.250.1.999.4343."


def _author(key: str) -> dict[str, Any]:
    practitioner = PROVIDERS[key].practitioner
    return {
        "national_id": practitioner.national_id,
        "family_name": practitioner.family_name,
        "given_name": practitioner.given_name,
        "role": "",
        "specialty_code": f"G15_10/{practitioner.specialty_code}",
        "specialty_display": "",
        "specialty_scheme": "1.2.250.1.213.1.1.4.5",
        "institution": practitioner.structure_name or "",
        "institution_id": practitioner.structure_id,
    }


def seed_structured(store: Store) -> list[str]:
    """Léa's structured demo documents in the registry, as an upload would leave them."""
    now = utcnow()
    ids: dict[str, str] = {}

    def uid(key: str) -> str:
        return ids.setdefault(key, f"{P}{len(ids) + 1}")

    docs = lea_structured(PATIENT, PROVIDERS, now, uid)
    with store.session() as session:
        record = store.find_patient(session, LEA.ins.value, LEA.ins.oid)
        assert record is not None
        for doc in docs:
            when = now - dt.timedelta(days=doc.days_ago)
            code, scheme, display = FORMATS[doc.kind]
            unique_id = uid(doc.key)
            store.add_document(
                session,
                record,
                doc.content,
                entry_uuid=f"urn:uuid:{uuid.uuid4()}",
                unique_id=unique_id,
                mime_type="text/xml",
                title=doc.title,
                type_code=doc.type_code,
                type_scheme="2.16.840.1.113883.6.1",
                type_display=doc.title,
                class_code="10",
                class_scheme="1.2.250.1.213.1.1.4.1",
                class_display="Compte rendu",
                format_code=code,
                format_scheme=scheme,
                format_display=display,
                creation_time=when,
                service_start=when,
                service_stop=when,
                authors=[_author(doc.author)],
                confidentiality=[
                    {"code": "N", "scheme": "2.16.840.1.113883.5.25", "display": "Normal"}
                ],
            )
    return list(ids.values())


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        running.seeded_ids = seed_structured(running.store)  # type: ignore[attr-defined]
        yield running


@pytest.fixture(scope="module")
def config(
    training_env: TrainingEnv, host: RunningHost, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    folder = tmp_path_factory.mktemp("cli-essentials-config")
    settings = dataclasses.replace(
        training_env.client_settings(), host_url=host.url, data_dir=str(folder / "data")
    )
    save_settings(settings, folder / "settings.json")  # its own encrypted cache
    return folder / "settings.json"


def essentials(config: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return run_dmp(config, "essentials", "--ins", LEA.ins.value, *options)


def retrievals(host: RunningHost, after: int) -> list[str]:
    return [t.transaction for t in host.store.traces(after_id=after) if t.transaction == "TD3.2"]


def _lines(data: dict[str, Any], category: str) -> list[dict[str, Any]]:
    for group in data["categories"]:
        if group["category"] == category:
            return list(group["lines"])
    return []


def test_nothing_is_retrieved_until_asked_then_the_cache_gives_the_same(
    config: Path, host: RunningHost
) -> None:
    before = host.store.last_trace_id()
    first = essentials(config, "--json")
    assert first.returncode == 0, first.stderr
    unread = json.loads(first.stdout)
    assert retrievals(host, before) == []  # no silent download
    seeded = len(host.seeded_ids)  # type: ignore[attr-defined]
    assert unread["unread_structured_documents"] >= seeded
    assert not any(
        line["source"]["unique_id"].startswith(P)
        for group in unread["categories"]
        for line in group["lines"]
    )

    before = host.store.last_trace_id()
    loaded = essentials(config, "--load", "--json")
    assert loaded.returncode == 0, loaded.stderr
    data = json.loads(loaded.stdout)
    assert len(retrievals(host, before)) == unread["unread_structured_documents"]
    assert data["unread_structured_documents"] == 0
    results = {line["label"]: line for line in _lines(data, "results")}
    hba1c = results["HbA1c"]
    assert hba1c["detail"] == "6,9 %" and hba1c["trend"] == "down"
    assert [v["value"] for v in hba1c["values"]] == [8.6, 8.4, 8.1, 7.9, 7.4, 7.1, 6.9]
    assert results["Créatininémie"]["trend"] == "stable"
    conflicts = [
        (line["label"].split(" ")[0], line["status"], line["source"]["title"])
        for group in data["categories"]
        for line in group["lines"]
        if "conflict" in line
    ]
    assert ("SINGULAIR", "active", "Synthèse médicale (diabétologie)") in conflicts
    assert ("SINGULAIR", "stopped", "Lettre de liaison à la sortie — endocrinologie") in conflicts
    assert (
        "Amoxicilline",
        "resolved",
        "Lettre de liaison à la sortie — endocrinologie",
    ) in conflicts
    glargine = next(
        line for line in _lines(data, "treatments") if line["label"].startswith("LANTUS")
    )
    assert glargine["source"]["author"] == "Dr Élise VIDAL"

    before = host.store.last_trace_id()
    again = essentials(config, "--json")
    assert again.returncode == 0, again.stderr
    assert retrievals(host, before) == []
    cached = json.loads(again.stdout)
    assert cached["categories"] == data["categories"]  # same content, nothing new since
    assert not cached["first_visit"]


def test_text_output_names_sources_conflicts_and_trends(config: Path) -> None:
    result = essentials(config, "--load")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Résultats usuels\n" in out
    assert "  • HbA1c — 4548-4 — 6,9 % — " in out and "↘ en baisse" in out
    assert "      valeurs : 8,6 → 8,4 → 8,1 → 7,9 → 7,4 → 7,1 → 6,9 %" in out
    assert "  ! SINGULAIR 10 mg, comprimé pelliculé" in out
    assert "Sources discordantes : en cours" in out
    assert "      source : Synthèse médicale (diabétologie) — Dr Élise VIDAL, " in out
    assert "Documents structurés lus : " in out

