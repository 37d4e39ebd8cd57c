"""Shared fixtures: one training environment (test PKI + SoftHSM cards) per test run.

SoftHSM reads SOFTHSM2_CONF when the PKCS#11 library is first initialised, and
python-pkcs11 caches the library per path for the whole process: the session
fixture below must create the cards before any test loads the library.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from dmp_desktop.smartcard import CardManager
    from dmp_sandbox.training import TrainingEnv

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The training world's actors (demo documents, the patient's space, the Assurance Maladie):
# registered with the host's tools, as the dmp-sandbox command does (dmp_actors.cli).
import dmp_actors  # noqa: F401

# The shared reference material (../shared next to the checkout; DMP_SHARED_DIR overrides it).
SHARED_ENV = "DMP_SHARED_DIR"
SHARED = Path(os.environ.get(SHARED_ENV) or Path(__file__).resolve().parents[1].parent / "shared")
REFERENCE_DATA = SHARED / "reference-data"
DMP_MESSAGES = REFERENCE_DATA / "dmp-messages" / "dmp-lps-exemples-messages-v02.05.00"
DMP_SCHEMAS = REFERENCE_DATA / "xds-schemas" / "dmp-annexe-wsdl-schema" / "schema"
CDA_KIT = SHARED / "cda-kit"
if os.environ.get(SHARED_ENV):  # the client's kit lookup follows the override
    os.environ.setdefault("DMP_CDA_KIT", str(CDA_KIT))


def in_ci() -> bool:
    """CI=true (or 1, yes): what would only be skipped on a developer's machine fails."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def shared_missing(what: object) -> NoReturn:
    """The shared material ``what`` is absent: skip, or under CI=true fail the test."""
    if in_ci():
        pytest.fail(
            f"official DMP material not present ({what}): CI=true needs ../shared "
            f"(or {SHARED_ENV}); a conformance check must not vanish silently",
            pytrace=False,
        )
    pytest.skip(f"official DMP material not present ({what}): conformance test skipped")


def require_shared(path: Path = REFERENCE_DATA) -> Path:
    """``path`` in the shared material; skip (CI=true: fail) with a clear reason when absent."""
    if not path.exists():
        shared_missing(path)
    return path


# One run of the CDA kit compiles the CI-SIS schematrons: about 20 s on a quiet machine,
# over 120 s (the suite's hang guard) on a loaded one. Tests that run it get this bound.
KIT_TIMEOUT = 900
needs_cda_kit_time = pytest.mark.timeout(KIT_TIMEOUT)


def require_cda_kit() -> Path:
    """The ANS CDA validation kit's script (see :func:`require_shared`)."""
    return require_shared(CDA_KIT / "validate-cda")


@pytest.fixture(scope="session")
def softhsm_available() -> None:
    from dmp_desktop.settings import SOFTHSM_MODULE

    if not Path(SOFTHSM_MODULE).exists() or shutil.which("softhsm2-util") is None:
        pytest.fail("SoftHSM2 is not installed: run the README's test command, which installs it")


@pytest.fixture(scope="session")
def training_env(
    tmp_path_factory: pytest.TempPathFactory, softhsm_available: None
) -> Iterator[TrainingEnv]:
    """PKI + SoftHSM test cards (see dmp_sandbox.training.DEMO_CARDS)."""
    from dmp_sandbox.training import init_training_env

    root = tmp_path_factory.mktemp("training")
    env = init_training_env(root, port=0)
    os.environ["SOFTHSM2_CONF"] = str(env.softhsm_conf)
    yield env


@pytest.fixture(scope="session")
def rogue_pki(tmp_path_factory: pytest.TempPathFactory) -> object:
    """A second hierarchy with the same names but other keys: an unknown CA."""
    from dmp_sandbox.pki import init_pki

    return init_pki(tmp_path_factory.mktemp("rogue-pki"))


@pytest.fixture(scope="session")
def card_manager(training_env: TrainingEnv) -> Iterator[CardManager]:
    """One PKCS#11 card manager over the SoftHSM test cards, shared by the run."""
    from dmp_desktop.settings import SOFTHSM_MODULE
    from dmp_desktop.smartcard import CardManager

    manager = CardManager([SOFTHSM_MODULE])
    yield manager
    manager.close()


HOST_DATABASE_ENV = "DMP_TEST_POSTGRES_URL"
# A PostgreSQL server for the PostgreSQL-only tests (postgres_db_url) without
# moving the training hosts to it: scripts/test.sh sets it (not the above) for
# the run on SQLite, then runs tests/e2e again with DMP_TEST_POSTGRES_URL.
POSTGRES_SERVER_ENV = "DMP_TEST_POSTGRES_SERVER"


@pytest.fixture
def host_db_url(tmp_path: Path) -> Iterator[str]:
    """The database URL for one training host started by a test.

    SQLite in the test's directory by default. When ``DMP_TEST_POSTGRES_URL``
    names a PostgreSQL server (``postgresql+psycopg://user@/postgres?host=...``),
    each test gets a fresh database on it, dropped afterwards, so the same
    end-to-end suite runs on both engines.
    """
    admin_url = os.environ.get(HOST_DATABASE_ENV)
    if not admin_url:
        yield f"sqlite:///{tmp_path}/host.db"
        return
    with fresh_postgres_database(admin_url) as url:
        yield url


@pytest.fixture(scope="module")
def module_host_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host_db_url`` for a training host shared by a test module (module-scoped fixtures)."""
    admin_url = os.environ.get(HOST_DATABASE_ENV)
    if not admin_url:
        yield f"sqlite:///{tmp_path_factory.mktemp('host-db')}/host.db"
        return
    with fresh_postgres_database(admin_url) as url:
        yield url


@pytest.fixture
def postgres_db_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server given (else skip), whatever host_db_url gives."""
    admin_url = os.environ.get(POSTGRES_SERVER_ENV) or os.environ.get(HOST_DATABASE_ENV)
    if not admin_url:
        pytest.skip(
            f"neither {POSTGRES_SERVER_ENV} nor {HOST_DATABASE_ENV} set: "
            "no PostgreSQL server to test against"
        )
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    with fresh_postgres_database(admin_url) as url:
        yield url


@contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """Create an empty database on the server, yield its URL, drop it afterwards."""
    import uuid

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


@pytest.fixture(scope="session")
def reference_index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A terminology index holding the official CIM-10 and BDPM (and a CCAM extract)."""
    from tests.support.vocabulary import build_reference_index

    return build_reference_index(tmp_path_factory.mktemp("vocabulary") / "terminology.sqlite")


@pytest.fixture(autouse=True)
def _no_installed_vocabulary_left_behind() -> Iterator[None]:
    """A test that configures the installed vocabulary (the CLI does) does not leak it."""
    yield
    from dmp_desktop.terminology import vocabulary

    vocabulary.use_index(None)
