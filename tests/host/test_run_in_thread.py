"""run_in_thread: the in-process host other tests start."""

from __future__ import annotations

import socket
import threading

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
