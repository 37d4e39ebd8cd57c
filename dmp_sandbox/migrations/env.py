"""Alembic environment of the training host (see dmp_sandbox.migrations).

Online only: the connection comes from ``config.attributes["connection"]``
(what :class:`dmp_sandbox.store.Store` passes) or is opened from the
``sqlalchemy.url`` option (the ``alembic`` command line, for autogenerate).
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from dmp_sandbox.store import Base, UtcDateTime

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render the models' own types with plain SQLAlchemy ones (revisions never import models)."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime()"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        # SQLite alters tables by copying them (batch mode); see docs/database.md.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported")
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: give sqlalchemy.url or a connection")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


run()
