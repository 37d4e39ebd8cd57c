"""Fixtures of the host tests: one training host on a free port, file-key TLS clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.conftest import DMP_SCHEMAS
from tests.host.wire import ClientIdentity, TlsClient, client_context, make_identity

DURAND = "899700433153"
MARTIN = "899700433160"
STAFF = "3499700433153007/SEC0001"
SCHEMA_1308 = DMP_SCHEMAS / "HL7V3" / "NE2009" / "multicacheschemas" / "PRPA_IN201308UV02.xsd"


@pytest.fixture(scope="session")
def host(
    training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHost]:
    """The training host with the demo patients, on its own database file."""
    db = tmp_path_factory.mktemp("host-db") / "host.db"
    with run_in_thread(training_env, f"sqlite:///{db}", seed=True) as running:
        yield running


@pytest.fixture(scope="session")
def identity_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("client-identities")


@pytest.fixture(scope="session")
def durand(training_env: TrainingEnv, identity_dir: Path) -> ClientIdentity:
    return make_identity(training_env.pki, identity_dir, DURAND)


@pytest.fixture(scope="session")
def staff(training_env: TrainingEnv, identity_dir: Path) -> ClientIdentity:
    return make_identity(
        training_env.pki,
        identity_dir,
        STAFF,
        family="BERNARD",
        given="SOPHIE",
        title="Secrétaire médicale",
    )


@pytest.fixture(scope="session")
def client(host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity) -> TlsClient:
    """Dr Durand's TLS client (certificate from the test persons CA, key in a file)."""
    return TlsClient(host.port, client_context(training_env.pki.trust_roots, durand))


@pytest.fixture(scope="session")
def schema_1308() -> etree.XMLSchema | None:
    """The official PRPA_IN201308UV02 schema, when the shared material is present."""
    if not SCHEMA_1308.exists():
        return None
    return etree.XMLSchema(etree.parse(str(SCHEMA_1308)))


@pytest.fixture(autouse=True, scope="session")
def _default_upload_signatures(training_env: TrainingEnv) -> None:
    """TD2.1 requests built by the tests are signed by their author's certificate by default."""
    from tests.host import test_alimentation_wire

    if not test_alimentation_wire.AUTO_PKI:
        test_alimentation_wire.AUTO_PKI.append(training_env.pki)
