"""The host's Alembic migrations against its models (docs/database.md).

A model changed without a revision fails ``test_the_models_match_the_migrations``:
add a revision (``dmp-sandbox db revision -m "..."``) chained after the head.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select

from dmp_sandbox import migrations
from dmp_sandbox.__main__ import main
from dmp_sandbox.store import Base, Patient, Store


def _differences(store: Store) -> list[object]:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_the_models_match_the_migrations(host_db_url: str) -> None:
    # On SQLite, or on PostgreSQL when the test command provides one.
    with Store(host_db_url) as store:
        with store.engine.connect() as connection:
            assert migrations.current_revision(connection) == migrations.head_revision()
        assert _differences(store) == []


def test_the_models_match_the_migrations_on_postgresql(postgres_db_url: str) -> None:
    # Skipped without a PostgreSQL server (scripts/test.sh starts one).
    with Store(postgres_db_url) as store:
        assert _differences(store) == []
    with Store(postgres_db_url) as again:  # the second start finds it at the head
        with again.engine.connect() as connection:
            assert migrations.current_revision(connection) == migrations.head_revision()


def test_one_head_and_a_linear_history() -> None:
    script = ScriptDirectory.from_config(migrations.config())
    assert len(script.get_heads()) == 1, "several heads: chain the new revision after the head"
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert all(not r.is_merge_point for r in revisions)


def test_an_in_memory_database_is_migrated() -> None:
    with Store("sqlite://") as store:
        with store.engine.connect() as connection:
            assert migrations.current_revision(connection) == migrations.head_revision()
            # Foreign keys, off while migrating, are enforced again afterwards.
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert _differences(store) == []


def test_a_migrated_database_is_left_alone_at_the_next_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hote.db'}"
    with Store(url) as store, store.session() as session:
        store.upsert_patient(
            session,
            "1" * 15,
            "1.2.250.1.213.1.4.8",
            family_name="TEST",
            given_name="Un",
            birth_date=dt.date(1980, 1, 1),
            gender="F",
        )
    with Store(url) as again, again.session() as session:
        assert session.scalars(select(Patient.family_name)).all() == ["TEST"]


def test_a_database_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "avant.db"
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)  # what the host did before migrations
    engine.dispose()
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE patients DROP COLUMN purged_at")  # an older model
        db.execute(
            "INSERT INTO patients (ins_value, ins_root, family_name, given_name, birth_date, "
            "gender, is_minor, dmp_state, opposition_bris_de_glace, opposition_centre_15, "
            "internet_account_open, ens_attached, secret_connection, created_at) VALUES "
            "('111111111111111', '1.2.250.1.213.1.4.8', 'ANCIEN', 'Un', '1980-01-01', 'F', "
            "0, 'ACTIVE', 0, 0, 0, 0, 0, '2026-01-02 03:04:05')"
        )
    db.close()
    with Store(f"sqlite:///{path}") as store:
        with store.engine.connect() as connection:
            assert migrations.current_revision(connection) == migrations.head_revision()
        assert "purged_at" in {c["name"] for c in inspect(store.engine).get_columns("patients")}
        with store.session() as session:
            assert session.scalars(select(Patient.family_name)).all() == ["ANCIEN"]


def test_db_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'hote.db'}"
    head = migrations.head_revision()
    assert main(["db", "current", "--db", url]) == 0
    assert "Aucune révision (base vide)" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", url]) == 0
    assert f"Base à jour (révision {head})" in capsys.readouterr().out
    assert main(["db", "current", "--db", url]) == 0
    assert f"Révision {head} (la dernière)" in capsys.readouterr().out
