"""The training host's schema migrations (Alembic), run by :class:`dmp_sandbox.store.Store`.

Alembic is configured here, from code: no ``alembic.ini`` is needed at run time.
``upgrade(connection)`` brings a database to the newest revision (head);
see docs/database.md for how to add a revision.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

__all__ = ["MIGRATIONS_DIR", "config", "current_revision", "head_revision", "stamp", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent


def config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic configuration for this package, on ``connection`` (or ``url``)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Revision files are named <date>_<revision>_<slug>.py (docs/database.md).
    cfg.set_main_option("file_template", "r%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("no migration revision found")
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection, revision: str = "head") -> None:
    command.upgrade(config(connection), revision)


def stamp(connection: Connection, revision: str = "head") -> None:
    command.stamp(config(connection), revision)
