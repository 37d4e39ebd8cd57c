"""Faults between the client and the DMP: each one gives a clear French message, the client
stays usable, and an upload is never lost nor registered twice.

The client is the real one (``connect.open_dmp``: card-backed mutual TLS on the
SoftHSM card) talking to the real training host through a fault-injecting TCP
proxy (tests/support/fault_proxy.py): host down, connection refused or reset in
the middle of an answer, closed before answering, a broken TLS handshake,
latency. HTTP-level faults (HTTP 500 pages, unreadable SOAP faults, answers
lost after the work was done) come from the host's test-only hook
(dmp_sandbox/faults.py). Only the removal of the card uses a stand-in (a real
card cannot be pulled out in a test).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dmp_desktop.alimentation import Outbox, OutboxState, UploadRequest, UploadUnconfirmedError
from dmp_desktop.alimentation import type_code as j07
from dmp_desktop.connect import open_dmp
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.xds import default_query
from dmp_desktop.domain.summary import Gender, PatientIdentity
from dmp_desktop.errors import (
    CardRemovedError,
    DmpDesktopError,
    DmpProtocolError,
    HostCertificateError,
    HostUnreachableError,
    TimeoutError_,
    describe,
)
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard import CardManager, CardSession
from dmp_desktop.storage import secure
from dmp_desktop.storage.secure import LocalWriteError, SecureStore
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.faults import (
    FAULT_WITHOUT_CODE,
    HTTP_500_EMPTY,
    HTTP_500_HTML,
    HTTP_502_GATEWAY,
    HTTP_503_UNAVAILABLE,
    MALFORMED_FAULT,
    OUTCOME,
    SOAP11_FAULT,
    HostFaults,
    RawAnswer,
    When,
)
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.support.fault_proxy import (
    CloseBeforeAnswer,
    Delay,
    FaultProxy,
    Inject,
    Refuse,
    ResetAfter,
)

pytestmark = pytest.mark.e2e

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")
PDF = b"%PDF-1.4\n% compte rendu de formation\n" + b"% " + b"x" * 60_000 + b"\n%%EOF\n"
ACTION_ITI41 = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"


@pytest.fixture(scope="module")
def faults() -> HostFaults:
    return HostFaults()


@pytest.fixture(scope="module")
def host(
    training_env: TrainingEnv, module_host_db_url: str, faults: HostFaults
) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True, faults=faults) as running:
        yield running


@pytest.fixture(scope="module")
def proxy(host: RunningHost) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", host.port) as running:
        yield running


@pytest.fixture(autouse=True)
def no_leftover_faults(faults: HostFaults, proxy: FaultProxy) -> Iterator[None]:
    yield
    faults.clear()
    proxy.clear()


@pytest.fixture(scope="module")
def session(card_manager: CardManager) -> Iterator[CardSession]:
    card = next(c for c in card_manager.list_cards() if c.token_label == "CPS3-DURAND")
    opened = card_manager.login(card, "1234")
    yield opened
    opened.close()


@pytest.fixture
def settings(training_env: TrainingEnv, proxy: FaultProxy, tmp_path: Path) -> Settings:
    return dataclasses.replace(
        training_env.client_settings(),
        host_url=proxy.url,
        data_dir=str(tmp_path / "data"),
        connect_timeout=5.0,
        read_timeout=10.0,
    )


@pytest.fixture
def client(settings: Settings, session: CardSession) -> Iterator[DmpClient]:
    with open_dmp(settings, session) as opened:
        yield opened


def fails(call: Callable[[], object], expected: type[DmpDesktopError]) -> str:
    """The French message of the typed error ``call`` raises."""
    with pytest.raises(DmpDesktopError) as raised:
        call()
    assert isinstance(raised.value, expected), repr(raised.value)
    message = describe(raised.value)
    assert message and "erreur inattendue" not in message.lower()
    assert "Traceback" not in message and LEA.ins.value not in message
    return message


def still_works(client: DmpClient) -> None:
    """The very same client answers the next question (a fresh connection if needed)."""
    assert client.test_existence(LEA.ins).ins.value == LEA.ins.value


def traces_since(host: RunningHost, first: int) -> list[object]:
    return list(host.store.traces(after_id=first))


# --- the network --------------------------------------------------------------------------------


def test_host_down(settings: Settings, session: CardSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there any more
    down = dataclasses.replace(settings, host_url=f"https://localhost:{port}")
    with open_dmp(down, session) as client:
        message = fails(lambda: client.test_existence(LEA.ins), HostUnreachableError)
    assert message.startswith("Impossible de joindre le DMP")


def test_connection_refused_then_back(
    client: DmpClient, proxy: FaultProxy, host: RunningHost
) -> None:
    first = host.store.last_trace_id()
    proxy.set_mode(Refuse())
    fails(lambda: client.test_existence(LEA.ins), HostUnreachableError)
    assert traces_since(host, first) == []  # nothing reached the host
    still_works(client)


@pytest.mark.parametrize("cut_after", [1, 2000])
def test_connection_reset_in_the_middle_of_an_answer(
    client: DmpClient, proxy: FaultProxy, host: RunningHost, cut_after: int
) -> None:
    query = default_query(LEA.ins, dt.date.today())
    first = host.store.last_trace_id()
    proxy.set_mode(ResetAfter(cut_after))
    message = fails(lambda: client.find_documents(query), HostUnreachableError | DmpProtocolError)
    assert "DMP" in message
    assert f"ResetAfter({cut_after})" in proxy.stats.faults
    rows = traces_since(host, first)
    assert [r.transaction for r in rows] == ["TD3.1"]  # the host did answer, once
    assert client.find_documents(query)  # the next try gets the whole list


@pytest.mark.parametrize("forwarded", [True, False], ids=["traitee", "jamais-recue"])
def test_connection_closed_before_the_answer(
    client: DmpClient, proxy: FaultProxy, host: RunningHost, forwarded: bool
) -> None:
    first = host.store.last_trace_id()
    proxy.set_mode(CloseBeforeAnswer(forward_request=forwarded))
    fails(lambda: client.test_existence(LEA.ins), HostUnreachableError | DmpProtocolError)
    if not forwarded:
        assert traces_since(host, first) == []  # the host never saw the request
    else:
        # The host did get it: wait for its trace, written when the host finds the
        # connection gone (later with several workers, e.g. on PostgreSQL), so that it
        # cannot land in the next test's window.
        deadline = time.monotonic() + 10
        while not traces_since(host, first) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert traces_since(host, first)
    still_works(client)


def test_a_slow_host(client: DmpClient, faults: HostFaults) -> None:
    """The host's own delay (no proxy): the real answer, late."""
    faults.inject(delay=0.3, service="patients")
    still_works(client)
    assert [hit.status for hit in faults.hits] == [200]  # the delayed answer, then the real one


def test_broken_tls_handshake(client: DmpClient, proxy: FaultProxy, host: RunningHost) -> None:
    """Something that is not TLS answers (a captive portal, a misconfigured proxy)."""
    first = host.store.last_trace_id()
    proxy.set_mode(
        Inject(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"), times=1
    )
    message = fails(
        lambda: client.test_existence(LEA.ins), HostUnreachableError | HostCertificateError
    )
    assert "DMP" in message
    assert traces_since(host, first) == []
    still_works(client)


def test_latency_within_the_timeout_is_only_slower(client: DmpClient, proxy: FaultProxy) -> None:
    proxy.set_mode(Delay(1.0))
    still_works(client)
    assert proxy.stats.faults[-1] == "Delay(1.0)"  # the answer was delayed, and still read


def test_latency_beyond_the_timeout_is_a_timeout(
    settings: Settings, session: CardSession, proxy: FaultProxy, host: RunningHost
) -> None:
    """Read timeout 0.4 s, answer 1 s late: the wait is bounded, the message says so."""
    impatient = dataclasses.replace(settings, read_timeout=0.4)
    with open_dmp(impatient, session) as client:
        still_works(client)  # connection up (the handshake is not delayed)
        proxy.set_mode(Delay(1.0))
        # Had the client waited for the late answer, the call would have succeeded.
        message = fails(lambda: client.test_existence(LEA.ins), TimeoutError_)
        assert proxy.stats.faults[-1] == "Delay(1.0)"
        assert message.startswith("Le DMP ne répond pas dans les délais")
        still_works(client)


# --- HTTP answers the client cannot use ---------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (HTTP_500_HTML, DmpProtocolError),
        (HTTP_500_EMPTY, DmpProtocolError),
        (MALFORMED_FAULT, DmpProtocolError),
        (FAULT_WITHOUT_CODE, DmpDesktopError),
        (SOAP11_FAULT, DmpProtocolError),
        (HTTP_502_GATEWAY, HostUnreachableError),
        (HTTP_503_UNAVAILABLE, HostUnreachableError),
        (RawAnswer(200, b"<html>maintenance</html>", "text/html"), DmpProtocolError),
    ],
    ids=[
        "500-html",
        "500-vide",
        "faute-tronquee",
        "faute-sans-code",
        "soap11",
        "502",
        "503",
        "200-html",
    ],
)
def test_unusable_answers_give_a_clear_message(
    client: DmpClient,
    faults: HostFaults,
    host: RunningHost,
    answer: RawAnswer,
    expected: type[DmpDesktopError],
) -> None:
    first = host.store.last_trace_id()
    faults.inject(answer, service="patients")
    fails(lambda: client.test_existence(LEA.ins), expected)
    (row,) = traces_since(host, first)
    assert (row.outcome, row.http_status) == (OUTCOME, answer.status)  # traced as injected
    still_works(client)


# --- uploads: nothing lost, nothing twice --------------------------------------------------------


def _request() -> UploadRequest:
    return UploadRequest(
        patient=LEA.ins,
        source=PDF,
        filename="compte-rendu.pdf",
        media_type=None,
        type_code=j07("11488-4"),
        service_date=dt.date.today(),
        title="Compte rendu de consultation (test de panne)",
        masked=False,
        invisible_patient=False,
        invisible_legal_reps=False,
        identity=PatientIdentity(
            ins=LEA.ins,
            birth_family_name=LEA.family_name.upper(),
            birth_given_names=[LEA.given_name.upper()],
            birth_date=LEA.birth_date,
            gender=Gender.FEMALE,
            birthplace_code="85756",
        ),
    )


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(SecureStore(tmp_path / "outbox", b"k" * 32))


def registered(host: RunningHost, unique_id: str) -> int:
    """How many documents of the host's registry carry ``unique_id``."""
    from sqlalchemy import func, select

    from dmp_sandbox.store import DocumentRecord

    with host.store.session() as db:
        count = db.scalar(
            select(func.count())
            .select_from(DocumentRecord)
            .where(DocumentRecord.unique_id == unique_id)
        )
    return int(count or 0)


def test_upload_answer_replaced_by_a_500_after_the_work(
    client: DmpClient, session: CardSession, faults: HostFaults, host: RunningHost, outbox: Outbox
) -> None:
    """The host registered the document, then answered an HTML 500: resumed, never twice."""
    item = outbox.add(_request())
    faults.inject(HTTP_500_HTML, when=When.AFTER, service="repository", action=ACTION_ITI41)
    with pytest.raises(UploadUnconfirmedError) as lost:
        outbox.send(item, client, session)
    assert "DMP" in describe(lost.value)
    assert [h.when for h in faults.hits] == [When.AFTER]
    assert registered(host, item.unique_id) == 1
    (waiting,) = outbox.items()
    assert waiting.state is OutboxState.SENT_UNCONFIRMED  # kept, visible, nothing lost
    entry = outbox.send(waiting, client, session)  # checks by unique id first
    assert entry.unique_id == item.unique_id
    assert registered(host, item.unique_id) == 1 and outbox.items() == []


def test_upload_answer_cut_by_the_network(
    client: DmpClient, session: CardSession, proxy: FaultProxy, host: RunningHost, outbox: Outbox
) -> None:
    item = outbox.add(_request())
    proxy.set_mode(ResetAfter(200))
    with pytest.raises(UploadUnconfirmedError):
        outbox.send(item, client, session)
    assert registered(host, item.unique_id) == 1
    (waiting,) = outbox.items()
    assert outbox.send(waiting, client, session).unique_id == item.unique_id
    assert registered(host, item.unique_id) == 1 and outbox.items() == []


def test_upload_refused_before_the_work_is_sent_again_once(
    client: DmpClient, session: CardSession, faults: HostFaults, host: RunningHost, outbox: Outbox
) -> None:
    """A 503 before the host looked at it: nothing registered; the next attempt sends it once."""
    item = outbox.add(_request())
    faults.inject(HTTP_503_UNAVAILABLE, service="repository", action=ACTION_ITI41)
    with pytest.raises(UploadUnconfirmedError):
        outbox.send(item, client, session)
    assert registered(host, item.unique_id) == 0
    outbox.send(outbox.items()[0], client, session)
    assert registered(host, item.unique_id) == 1


class _PulledCard:
    """The logged-in card, pulled out of the reader just as the document is to be signed."""

    def __init__(self, session: CardSession) -> None:
        self._session = session
        self.practitioner = session.practitioner
        self.sign_certificate = session.sign_certificate

    def sign_with_signature_key(self, data: bytes) -> bytes:
        raise CardRemovedError()


def test_card_removed_during_an_upload(
    client: DmpClient, session: CardSession, host: RunningHost, outbox: Outbox
) -> None:
    item = outbox.add(_request())
    first = host.store.last_trace_id()
    with pytest.raises(CardRemovedError) as removed:
        outbox.send(item, client, _PulledCard(session))  # type: ignore[arg-type]
    assert describe(removed.value).startswith("La carte CPS a été retirée")
    assert traces_since(host, first) == []  # nothing left the computer
    (waiting,) = outbox.items()
    assert waiting.state is OutboxState.PENDING and waiting.request == item.request
    outbox.send(waiting, client, session)  # card back: sent once
    assert registered(host, item.unique_id) == 1


# --- the local disk -------------------------------------------------------------------------------


def test_a_full_disk_when_an_upload_is_queued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing half-written, a message that says what to do, and it works once space is freed."""
    folder = tmp_path / "outbox"
    outbox = Outbox(SecureStore(folder, b"k" * 32))

    def disk_full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(secure, "atomic_write", disk_full)
    with pytest.raises(LocalWriteError) as full:
        outbox.add(_request())
    assert describe(full.value).startswith("Le disque de l'ordinateur est plein")
    assert outbox.items() == []
    monkeypatch.undo()
    item = outbox.add(_request())
    assert [i.id for i in outbox.items()] == [item.id]
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("code", "reason", "start"),
    [
        (errno.ENOSPC, "full", "Le disque de l'ordinateur est plein"),
        (errno.EDQUOT, "full", "Le disque de l'ordinateur est plein"),
        (errno.EACCES, "denied", "Impossible d'écrire dans le dossier de données"),
        (errno.EROFS, "denied", "Impossible d'écrire dans le dossier de données"),
        (errno.EIO, "failed", "L'enregistrement sur le disque a échoué"),
    ],
)
def test_local_write_errors_are_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, reason: str, start: str
) -> None:
    store = SecureStore(tmp_path, b"k" * 32)
    store.write_bytes("before", b"old")

    def failing(path: Path, data: bytes) -> None:
        raise OSError(code, "disk")

    monkeypatch.setattr(secure, "atomic_write", failing)
    with pytest.raises(LocalWriteError) as failed:
        store.write_bytes("before", b"new")
    assert failed.value.reason == reason
    message = describe(failed.value)
    assert message.startswith(start) and "saisie est conservée" in message
    monkeypatch.undo()
    assert store.read_bytes("before") == b"old"  # the previous version is intact
