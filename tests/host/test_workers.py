"""`dmp-sandbox serve --workers N`: gunicorn's master and N aiohttp workers on PostgreSQL.

The workers are real processes (the master's children); requests spread over
them still carry the professional's TLS client certificate to the host (each
trace names the professional); SIGTERM stops everything cleanly; SQLite is
refused with a French message (one writer: one process).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from dmp_sandbox.__main__ import main
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import wait_ready
from dmp_sandbox.store import Store
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND
from tests.host.wire import ClientIdentity, TlsClient, client_context, td02_request

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def test_several_workers_on_postgresql(
    training_env: TrainingEnv, durand: ClientIdentity, postgres_db_url: str
) -> None:
    assert main(["seed", "--demo", "--db", postgres_db_url]) == 0
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dmp_sandbox", "serve", "--dir", str(training_env.root),
         "--db", postgres_db_url, "--port", str(port), "--workers", "2", "--access-log"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )  # fmt: skip
    try:
        assert wait_ready("127.0.0.1", port, 60)
        context = client_context(training_env.pki.trust_roots, durand)
        ins = demo_patients()[0].ins.value
        for _ in range(6):  # new connections: the master hands them to either worker
            reply = TlsClient(port, context).post(td02_request(DURAND, ins)[0])
            assert reply.status == 200
        # The same request (the same VIHF) again on new connections, whichever worker
        # gets them: accepted once, then refused as replayed (ids in the database).
        replayed = td02_request(DURAND, ins)[0]
        statuses = [TlsClient(port, context).post(replayed).status for _ in range(6)]
        assert statuses[0] == 200 and all(status != 200 for status in statuses[1:]), statuses
        workers = _children(proc.pid)
        assert len(workers) == 2, workers
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "2 processus" in out and "arrêté" in out
    assert ins not in err  # no patient data in the logs
    assert (out + err).count("POST /si-dmp-server/v2/services/patients") == 12  # --access-log
    with Store(postgres_db_url) as store:
        traces = store.traces()
    assert len(traces) == 12
    accepted = [t for t in traces if t.outcome == "OK"]
    assert len(accepted) == 7 and {t.professional_national_id for t in accepted} == {DURAND}
    assert sorted(t.result for t in traces if t.outcome != "OK") == ["VIHF_REJOUE"] * 5


def test_several_workers_need_postgresql(
    training_env: TrainingEnv, tmp_path: Path, capsys: object
) -> None:
    db = f"sqlite:///{tmp_path / 'one.db'}"
    code = main(["serve", "--dir", str(training_env.root), "--db", db, "--workers", "2"])
    assert code == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "PostgreSQL" in err and "SQLite" in err


def test_each_worker_listens_on_its_own_socket(training_env: TrainingEnv) -> None:
    """SO_REUSEPORT: the kernel spreads the connections over the workers.

    On one shared socket the first worker awake accepted all the connections
    waiting (42 of 50 professionals on one of two workers in the load bench).
    """
    from dmp_sandbox.workers import gunicorn_options

    options = gunicorn_options(training_env.pki, "127.0.0.1", 8443, 2)
    assert options["reuse_port"] is True and options["workers"] == 2
    assert options["accesslog"] is None  # serve --access-log turns it on
    assert gunicorn_options(training_env.pki, "127.0.0.1", 8443, 2, access_log=True)["accesslog"]
    # A free port (0) would be a different one in each worker: one shared socket then.
    assert gunicorn_options(training_env.pki, "127.0.0.1", 0, 2)["reuse_port"] is False


_WORKER_PROBE = """
import asyncio, gc, json
from aiohttp import web
from dmp_sandbox import workers
from dmp_sandbox.server import EXECUTOR_KEY

async def probe():
    app = await workers.host_app()
    before = gc.get_freeze_count()
    runner = web.AppRunner(app)  # as gunicorn's aiohttp worker runs it
    await runner.setup()
    print(json.dumps({
        "frozen_before": before,
        "frozen": gc.get_freeze_count(),
        "threads": app[EXECUTOR_KEY]._max_workers,
    }))
    await runner.cleanup()

asyncio.run(probe())
"""


def test_a_worker_freezes_its_startup_heap_and_works_on_one_thread(
    training_env: TrainingEnv, postgres_db_url: str
) -> None:
    """What a worker loaded at start-up is kept out of the cyclic collector's walks
    (gc.freeze: a full collection no longer stalls its requests for 70-180 ms), and
    it gives the host's work one thread (its requests queue in order; the processes
    share the cores instead of threads fighting over one interpreter lock)."""
    import json
    import os

    from dmp_sandbox.workers import ENV_DB, ENV_PKI

    Store(postgres_db_url).close()  # migrated, as serve_workers does before the workers
    env = {**os.environ, ENV_DB: postgres_db_url, ENV_PKI: str(training_env.pki.root)}
    done = subprocess.run(
        [sys.executable, "-c", _WORKER_PROBE],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    probe = json.loads(out.strip().splitlines()[-1])
    assert probe["frozen_before"] == 0
    assert probe["frozen"] > 10_000  # the modules, the schemas, the mappings
    assert probe["threads"] == 1
