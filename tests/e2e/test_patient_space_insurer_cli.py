"""``dmp-sandbox insurer feed`` end to end: the Assurance Maladie's certificate is made in the
training environment, the care history goes to the running host over mutual TLS under ALIM_AM,
and items holding an amount are refused before anything is sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmp_sandbox.__main__ import main
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.store import DocumentRecord
from dmp_sandbox.training import TrainingEnv

GIRARD = next(p for p in demo_patients() if p.key == "bloque").ins


@pytest.fixture
def env_dir(training_env: TrainingEnv, tmp_path: Path) -> Path:
    root = tmp_path / "env"
    root.mkdir()
    (root / "pki").symlink_to(training_env.pki.root)
    return root


@pytest.fixture
def feed_host(training_env: TrainingEnv, host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, host_db_url, seed=True) as running:
        yield running


def _histories(host: RunningHost) -> list[DocumentRecord]:
    with host.store.session() as session:
        patient = host.store.find_patient(session, GIRARD.value, GIRARD.oid)
        assert patient is not None
        return [
            d
            for d in session.query(DocumentRecord).filter_by(patient_id=patient.id)
            if d.type_code == "REMB"
        ]


def feed(host: RunningHost, env_dir: Path, *extra: str) -> int:
    return main(
        [
            "insurer",
            "feed",
            "--ins",
            GIRARD.value,
            "--dir",
            str(env_dir),
            "--db",
            host.store.url,
            "--url",
            host.url,
            *extra,
        ]
    )


def test_insurer_feed_command(
    feed_host: RunningHost, env_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert feed(feed_host, env_dir) == 0
    assert "Historique des soins remboursés déposé" in capsys.readouterr().out
    p12 = env_dir / "structures" / "assurance-maladie.p12"
    assert p12.is_file() and (p12.stat().st_mode & 0o777) == 0o600
    [stored] = _histories(feed_host)
    assert stored.authors[0]["specialty_code"] == "ALIM_AM"
    trace = feed_host.store.traces()[-1]
    assert (trace.transaction, trace.outcome) == ("TD2.1", "OK")

    items = tmp_path / "items.json"
    items.write_text(
        json.dumps(
            {"acts": [{"date": "2026-01-05", "label": "Consultation, montant remboursé 26,50 €"}]}
        ),
        encoding="utf-8",
    )
    before = feed_host.store.last_trace_id()
    assert feed(feed_host, env_dir, "--items", str(items)) == 1
    assert "jamais de montant" in capsys.readouterr().err
    assert feed_host.store.last_trace_id() == before  # nothing was sent
    assert len(_histories(feed_host)) == 1
