"""The registry, repository and outbox in the host's store; portability to PostgreSQL.

The schema is compiled for the PostgreSQL dialect in every run. With
``DMP_TEST_POSTGRES_URL`` set (``postgresql+psycopg://user@/db?host=/socket/dir&port=5432``,
an empty database the test may fill), the store, the demo data and a consultation also
run on a real PostgreSQL server.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateIndex, CreateTable

from dmp_sandbox.__main__ import main
from dmp_sandbox.demo import demo_patients, seed_demo
from dmp_sandbox.store import Base, DocumentRecord, Store, SubmissionSetRecord, Trace, utcnow
from dmp_sandbox.training import TrainingEnv
from tests.conftest import needs_cda_kit_time, require_cda_kit
from tests.host.conftest import DURAND
from tests.host.wire import ClientIdentity

PG_ENV = "DMP_TEST_POSTGRES_URL"
LEA = demo_patients()[0].ins


@pytest.fixture
def store() -> Iterator[Store]:
    with Store("sqlite://") as memory:
        yield memory


def test_schema_compiles_for_postgresql() -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    ddl = []
    for table in Base.metadata.sorted_tables:
        ddl.append(str(CreateTable(table).compile(dialect=dialect)))
        ddl.extend(str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes)
    text = "\n".join(ddl)
    assert "BYTEA" in text  # document contents
    assert "JSON" in text  # authors, confidentiality codes
    for sqlite_only in ("AUTOINCREMENT", "BLOB", "DATETIME", "PRAGMA", "WITHOUT ROWID"):
        assert sqlite_only not in text
    tables = {t.name for t in Base.metadata.sorted_tables}
    assert {"documents", "document_contents", "submission_sets", "outbox"} <= tables


def test_documents_in_the_store(store: Store) -> None:
    seed_demo(store)
    with store.session() as session:
        patient = store.find_patient(session, LEA.value, LEA.oid)
        assert patient is not None
        docs = session.scalars(
            select(DocumentRecord).where(DocumentRecord.patient_id == patient.id)
        ).all()
        assert 25 <= len(docs) <= 40  # with her structured documents (dmp_actors)
        creation = [d.creation_time for d in docs]
        assert max(creation) - min(creation) > dt.timedelta(days=900)  # about three years
        assert len({a["national_id"] for d in docs for a in d.authors}) >= 8
        assert len({d.authors[0].get("specialty_code") for d in docs}) >= 8
        assert {d.class_code for d in docs} >= {"10", "11", "90"}
        for doc in docs:
            data = store.document_content(session, doc)
            assert len(data) == doc.size and data.startswith(b"<?xml")
            submission = session.get(SubmissionSetRecord, doc.submission_set_id)
            assert submission is not None and submission.patient_id == patient.id
            assert submission.submission_time == doc.submission_time
        replaced = next(d for d in docs if d.replaced_by_uuid)
        replacement = next(d for d in docs if d.entry_uuid == replaced.replaced_by_uuid)
        assert replaced.status.endswith("Deprecated") and replacement.replaces_uuid == (
            replaced.entry_uuid
        )
        assert replacement.set_id == replaced.set_id and replacement.cda_version == 2
    # The unique id is unique per patient.
    with pytest.raises(IntegrityError), store.session() as session:
        patient = store.find_patient(session, LEA.value, LEA.oid)
        assert patient is not None
        first = session.scalars(
            select(DocumentRecord).where(DocumentRecord.patient_id == patient.id)
        ).first()
        assert first is not None
        fields = {
            c.name: getattr(first, c.name)
            for c in DocumentRecord.__table__.columns
            if c.name not in ("id", "entry_uuid", "lid", "patient_id", "size", "hash_sha1")
        }
        store.add_document(session, patient, b"<x/>", entry_uuid="urn:uuid:autre", **fields)


def test_reseeding_resets_documents_and_outbox(store: Store) -> None:
    seed_demo(store)
    with store.session() as session:
        patient = store.find_patient(session, LEA.value, LEA.oid)
        assert patient is not None
        count = len(session.scalars(select(DocumentRecord.id)).all())
        store.notify_patient(session, patient, "BRIS_DE_GLACE", "Un accès…")
    assert len(store.outbox(ins_value=LEA.value)) == 1
    seed_demo(store)
    assert store.outbox(ins_value=LEA.value) == []
    with store.session() as session:
        assert len(session.scalars(select(DocumentRecord.id)).all()) == count


def test_an_older_database_gets_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "ancienne.db"
    with sqlite3.connect(path) as db:  # the traces table as the first version made it
        db.execute(
            "CREATE TABLE traces (id INTEGER NOT NULL PRIMARY KEY, at DATETIME NOT NULL, "
            "professional_national_id VARCHAR(64), patient_ins VARCHAR(15), "
            'patient_ins_root VARCHAR(64), service VARCHAR(32), "transaction" VARCHAR(16), '
            "action VARCHAR(255), outcome VARCHAR(64) NOT NULL, result VARCHAR(64), "
            "http_status INTEGER NOT NULL, message_id VARCHAR(255), remote_address VARCHAR(64))"
        )
        db.execute(
            "INSERT INTO traces (at, outcome, http_status) "
            "VALUES ('2026-01-02 03:04:05', 'OK', 200)"
        )
    db.close()
    with Store(f"sqlite:///{path}") as upgraded:
        columns = {c["name"] for c in inspect(upgraded.engine).get_columns("traces")}
        assert {"purpose", "reason", "document_count", "document_unique_id"} <= columns
        upgraded.add_trace(outcome="OK", http_status=200, purpose="normal", document_count=3)
        rows = upgraded.traces()
        assert [(r.outcome, r.document_count) for r in rows] == [("OK", None), ("OK", 3)]
        assert isinstance(rows[1], Trace)


def test_outbox_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'hote.db'}"
    with Store(url) as store:
        seed_demo(store)
        with store.session() as session:
            patient = store.find_patient(session, LEA.value, LEA.oid)
            assert patient is not None
            store.notify_patient(
                session,
                patient,
                "BRIS_DE_GLACE",
                "Un accès en mode bris de glace a eu lieu le 01/02/2026 à 10:00 "
                "par Dr Marie DURAND, motif : essai.",
                at=dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.UTC),
            )
    assert main(["outbox", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "1 notification(s)" in out
    assert f"01/02/2026 10:00  INS {LEA.value}  [bris de glace]  Un accès" in out
    assert main(["outbox", "--db", url, "--patient", demo_patients()[1].ins.value]) == 0
    assert "Aucune notification pour ce patient." in capsys.readouterr().out
    spaced = " ".join((LEA.value[:1], LEA.value[1:3], LEA.value[3:]))
    assert main(["outbox", "--db", url, "--patient", spaced]) == 0
    assert "motif : essai." in capsys.readouterr().out
    assert main(["outbox", "--db", url, "--patient", "123"]) == 2
    assert "INS invalide" in capsys.readouterr().err
    assert main(["outbox", "--dir", str(tmp_path / "absent")]) == 2
    assert "introuvable" in capsys.readouterr().err


# --- a real PostgreSQL server, when one is given ------------------------------------------------


@pytest.fixture
def pg_store(postgres_db_url: str) -> Iterator[Store]:
    # A fresh database on the server of DMP_TEST_POSTGRES_URL (tests/conftest.py).
    with Store(postgres_db_url) as pg:
        yield pg


def test_postgresql_store_and_consultation(
    pg_store: Store, training_env: TrainingEnv, durand: ClientIdentity
) -> None:
    from dmp_sandbox.server import run_in_thread
    from tests.host.test_consultation import LEA_APPROVED
    from tests.host.test_consultation_wire import (
        document_uid,
        find,
        find_request,
        retrieve,
        retrieve_request,
        tls,
    )

    seed_demo(pg_store)
    seed_demo(pg_store)  # idempotent there too
    with run_in_thread(training_env, store=pg_store) as host:
        client = tls(host, training_env, durand)
        reason = "Essai PostgreSQL"
        answer = find(
            client, find_request(DURAND, LEA.value, purpose="bris_de_glace", reason=reason)
        )
        assert len(answer.objects) == LEA_APPROVED
        uid = document_uid(host, LEA.value, "vsm")
        got = retrieve(client, retrieve_request(DURAND, LEA.value, uid))
        with pg_store.session() as session:
            patient = pg_store.find_patient(session, LEA.value, LEA.oid)
            assert patient is not None
            doc = pg_store.find_document(session, patient, uid)
            assert doc is not None
            assert got.documents[uid] == pg_store.document_content(session, doc)
    # Durand is Léa's médecin traitant herself: one notice, to the patient, without the reason.
    notices = [m for m, _, _ in pg_store.outbox(ins_value=LEA.value)]
    assert [(m.kind, m.recipient_national_id, m.reason) for m in notices] == [
        ("BRIS_DE_GLACE", None, None)
    ]
    traces = pg_store.traces()
    assert traces[-2].reason == reason
    assert [(t.transaction, t.document_count) for t in traces[-2:]] == [
        ("TD3.1", LEA_APPROVED),
        ("TD3.2", 1),
    ]
    assert traces[-1].at <= utcnow()


# --- the demo documents against the official CDA kit (slow: opt-in) ---------------------------


@pytest.mark.skipif(
    not os.environ.get("DMP_SLOW_TESTS"),
    reason="DMP_SLOW_TESTS not set: one validate-cda run takes about 13 s "
    "(the CDA builders themselves are checked by tests/unit/test_cda_conformance.py)",
)
@needs_cda_kit_time
def test_demo_documents_pass_the_cda_kit(store: Store) -> None:
    from dmp_desktop.cda.validation import validate_documents

    require_cda_kit()
    seed_demo(store)
    with store.session() as session:
        documents = {
            f"{doc.unique_id}.xml": store.document_content(session, doc)
            for doc in session.scalars(select(DocumentRecord))
        }
    report = validate_documents(documents, profile="auto")
    failed = {f.path: [str(e) for e in f.errors][:3] for f in report.files if not f.passed}
    assert report.passed and not failed, failed
    assert len(report.files) == len(documents) == 30
