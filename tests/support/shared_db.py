"""One training-host database for a whole test module (the module-scoped twin of the
``host_db_url`` fixture of tests/conftest.py): SQLite in ``directory`` by default, a
fresh PostgreSQL database, dropped afterwards, when ``DMP_TEST_POSTGRES_URL`` is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOST_DATABASE_ENV = "DMP_TEST_POSTGRES_URL"


@contextmanager
def database_url(directory: Path) -> Iterator[str]:
    admin_url = os.environ.get(HOST_DATABASE_ENV)
    if not admin_url:
        yield f"sqlite:///{directory}/host.db"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"dmp_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
