"""run_in_thread: the in-process host other tests start."""

from __future__ import annotations

import gc
import socket
import threading
import warnings

import pytest

from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND
from tests.host.wire import ClientIdentity, TlsClient, client_context, td02_request


def _host_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "dmp-training-host")


def test_in_memory_host_starts_serves_and_stops(
    training_env: TrainingEnv, durand: ClientIdentity
) -> None:
    threads = _host_threads()
    with run_in_thread(training_env, "sqlite://", seed=True) as running:
        assert running.url == f"https://localhost:{running.port}"
        assert running.service_url() == f"{running.url}/si-dmp-server/v2/services/patients"
        client = TlsClient(running.port, client_context(training_env.pki.trust_roots, durand))
        assert client.post(td02_request(DURAND, demo_patients()[0].ins.value)[0]).status == 200
        assert [t.outcome for t in running.store.traces()] == ["OK"]
        assert _host_threads() == threads + 1
    running.stop()  # idempotent
    assert _host_threads() == threads
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", running.port), timeout=5):
        pass


def test_start_failure_is_raised(training_env: TrainingEnv, host: RunningHost) -> None:
    threads = _host_threads()
    with pytest.raises(OSError):
        run_in_thread(training_env, "sqlite://", port=host.port)  # port taken
    assert _host_threads() == threads


@pytest.mark.parametrize("request_started", [False, True])
def test_stopping_closes_the_connections_left_open(
    training_env: TrainingEnv, durand: ClientIdentity, request_started: bool
) -> None:
    """A kept-alive TLS connection (idle, or mid-request) is closed by the host's stop.

    Left open, its socket outlived the host's loop and a later garbage
    collection warned (ResourceWarning) in whatever test ran next.
    """
    context = client_context(training_env.pki.trust_roots, durand)
    with run_in_thread(training_env, "sqlite://") as running:
        raw = socket.create_connection(("127.0.0.1", running.port), timeout=10)
        tls = context.wrap_socket(raw, server_hostname="localhost")
        if request_started:
            tls.sendall(b"POST /si-dmp-server/v2/services/patients HTTP/1.1\r\n")
        running.store.traces()  # a round trip through the host's store, not a sleep
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc.collect()
        assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
        assert tls.recv(1) == b""  # the host closed its end
    finally:
        tls.close()
