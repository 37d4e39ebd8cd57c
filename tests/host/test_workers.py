"""`dmp-sandbox serve --workers N`: gunicorn's master and N aiohttp workers on PostgreSQL.

The workers are real processes (the master's children); requests spread over
them still carry the professional's TLS client certificate to the host (each
trace names the professional); SIGTERM stops everything cleanly; SQLite is
refused with a French message (one writer: one process).
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

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
        # Thirty professionals connect together and stay connected (keep-alive): each
        # worker takes its turn, 15 and 15. With a random spread this even split comes
        # one time in seven; the first worker awake took 42 of 50 on a plain socket.
        held = _both_workers_accepting(port, context, workers)
        try:
            held += _hold_connections(port, context, 28)
            split = _wait_established(workers, port, 30)
            assert sorted(split.values()) == [15, 15], split
        finally:
            for connection in held:
                connection.close()
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


def _wait_established(pids: list[int], port: int, total: int) -> dict[int, int]:
    deadline = time.monotonic() + 30
    split = _established(pids, port)
    while sum(split.values()) < total and time.monotonic() < deadline:
        time.sleep(0.05)
        split = _established(pids, port)
    return split


def _both_workers_accepting(
    port: int, context: ssl.SSLContext, pids: list[int]
) -> list[ssl.SSLSocket]:
    """Two connections held, one by each worker: both accept by now.

    The host answers as soon as one worker accepts; the other may still be
    starting (importing, opening its database pool) and takes no connection yet.
    Two connections opened together land one on each once both accept.
    """
    for _attempt in range(300):
        # The connections before these are closed on the host's side too: the workers'
        # counts are theirs to compare (a count not yet lowered would tip the split).
        for _wait in range(200):
            if not sum(_established(pids, port, any_state=True).values()):
                break
            time.sleep(0.05)
        held = _hold_connections(port, context, 2)
        if sorted(_wait_established(pids, port, 2).values()) == [1, 1]:
            return held
        for connection in held:
            connection.close()
        time.sleep(0.2)  # the closed ones leave the first worker's count
    pytest.fail("the second worker never accepted a connection")


def _hold_connections(port: int, context: ssl.SSLContext, count: int) -> list[ssl.SSLSocket]:
    """``count`` TLS connections opened at once (threads), left open."""

    def connect(_: int) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        return context.wrap_socket(raw, server_hostname="localhost")

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(connect, range(count)))


def test_several_workers_need_postgresql(
    training_env: TrainingEnv, tmp_path: Path, capsys: object
) -> None:
    db = f"sqlite:///{tmp_path / 'one.db'}"
    code = main(["serve", "--dir", str(training_env.root), "--db", db, "--workers", "2"])
    assert code == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "PostgreSQL" in err and "SQLite" in err


def test_the_workers_share_one_socket(training_env: TrainingEnv) -> None:
    """Not SO_REUSEPORT (the kernel would spread the connections at random): one
    socket, from which each worker accepts in turn (dmp_sandbox.balance)."""
    from dmp_sandbox.workers import gunicorn_options

    options = gunicorn_options(training_env.pki, "127.0.0.1", 8443, 2)
    assert options["reuse_port"] is False and options["workers"] == 2
    assert options["accesslog"] is None  # serve --access-log turns it on
    assert gunicorn_options(training_env.pki, "127.0.0.1", 8443, 2, access_log=True)["accesslog"]


def _established(pids: list[int], port: int, *, any_state: bool = False) -> dict[int, int]:
    """How many established connections to ``port`` each process holds (read in /proc).

    ``any_state``: every connection not yet closed by the process (CLOSE_WAIT too).
    """
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            state = fields[3]
            wanted = state != "0A" if any_state else state == "01"  # not LISTEN / ESTABLISHED
            if wanted and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])  # this side is the host's, on its port
    held: dict[int, int] = {}
    for pid in pids:
        count = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                count += 1
        held[pid] = count
    return held


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
