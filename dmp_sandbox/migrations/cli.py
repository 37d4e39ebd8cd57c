"""``dmp-sandbox db``: the schema revision of a host database, its upgrade, new revisions."""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect

from dmp_sandbox import migrations


def current(url: str) -> tuple[str | None, bool]:
    """(revision of the database or None, whether it has the host's tables); no change made."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            return migrations.current_revision(connection), "patients" in tables
    finally:
        engine.dispose()


def new_revision(message: str, rev_id: str | None = None) -> list[Path]:
    """Autogenerate a revision: the models compared with a fresh database at the head."""
    with tempfile.TemporaryDirectory(prefix="dmp-revision-") as tmp:
        engine = create_engine(f"sqlite:///{tmp}/head.db")
        try:
            with engine.begin() as connection:
                migrations.upgrade(connection)
                scripts = command.revision(
                    migrations.config(connection), message=message, autogenerate=True, rev_id=rev_id
                )
        finally:
            engine.dispose()
    if scripts is None:
        return []
    found = scripts if isinstance(scripts, list) else [scripts]
    return [Path(script.path) for script in found if script is not None]
