"""Load test of the training host: concurrent professionals searching, retrieving, uploading.

Run on demand (not collected by pytest)::

    .venv/bin/python tests/bench/bench_load.py [--db sqlite|postgresql|both]
        [--professionals 50] [--iterations 4] [--postgres-url URL] [--mix consult]
        [--workers 1 2 4] [--think 10] [--processes 2]

``--db postgresql`` (or ``both``, the default) needs a PostgreSQL server:
``--postgres-url`` or ``DMP_TEST_POSTGRES_URL`` (an administrator URL such as
``postgresql+psycopg://postgres@/postgres?host=/socket/dir&port=5432``; the
bench creates and drops its own database there). Without one, the bench starts
a throwaway server the way the test command does (``scripts/bootstrap.sh``).

What it does, for each database:

1. A test PKI in a temporary directory and ``--professionals`` professionals,
   each with a software client certificate and key issued by the test persons
   CA (like a CPS card's authentication certificate, distinct RPPS
   ``8997009000NN``) and a signature certificate for the XAdES submission
   signature. SoftHSM cards would work as well but take about a second each
   to create and serialise every signature on one PKCS#11 thread: software
   keys keep the load on the host, not on the client's token.
2. The demo patients are loaded and every professional is authorised on the
   three active adult records (setup, not measured).
3. The host runs in a separate process (its own interpreter, as in
   production), on loopback with mutual TLS. Each professional is a thread
   with the real client (:class:`dmp_desktop.dmp.client.DmpClient` over httpx,
   its own kept-alive connection, a fresh VIHF with each request) and does
   ``--iterations`` rounds of: search (TD3.1, ITI-18), retrieve one document
   found (TD3.2, ITI-43), upload a new CDA level-1 document (TD2.1, ITI-41 over
   MTOM, XAdES-signed). All professionals start together (a barrier).
   With ``--think S`` each professional works like a doctor between patients
   (the load model of docs/performance.md): he starts at a random instant within
   the first S seconds, then pauses a random think time (exponential, mean S
   seconds, seeded per professional) after each consultation. ``--think 0``
   (the default) is the closed loop: every professional sends his next request
   as soon as the previous one is answered — a stress test, not a practice.
   With ``--processes K`` the professionals are spread over K generator
   processes (fork, one thread per professional in each): in a practice each
   professional works on his own computer, and fifty clients in one interpreter
   wait for each other's turn at its lock, time the host is not to blame for.
   Each generator process's setup is frozen out of its garbage collector
   (``gc.freeze``) before the first request, for the same reason.
4. It reports throughput and p50 / p99 latency per operation (with several
   workers, also how many of the professionals' connections each worker holds,
   read with ``ss``), and asserts that no request failed and that the host
   wrote exactly one trace row per request.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import multiprocessing
import multiprocessing.connection
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from dmp_desktop.alimentation import build, doctypes  # noqa: E402
from dmp_desktop.alimentation.request import UploadRequest  # noqa: E402
from dmp_desktop.dmp.client import DmpClient  # noqa: E402
from dmp_desktop.domain.document import DocumentQuery  # noqa: E402
from dmp_desktop.domain.practitioner import Practitioner  # noqa: E402
from dmp_sandbox.demo import demo_patients, seed_demo  # noqa: E402
from dmp_sandbox.pki import init_pki  # noqa: E402
from dmp_sandbox.store import AuthorizationStatus, Store, Trace  # noqa: E402
from dmp_sandbox.training import TrainingEnv  # noqa: E402
from tests.host.test_alimentation_wire import (  # noqa: E402
    Author,
    FileSigner,
    make_signer,
    new_uid,
    patient_identity,
)
from tests.host.wire import ClientIdentity, client_context, make_identity  # noqa: E402

STRUCTURE_ID = "499700433153007"
STRUCTURE_NAME = "CABINET MEDICAL FORMATION"
PATIENT_KEYS = ("actif-autorise", "actif-sans-autorisation", "autorisation-expiree")
OPERATIONS = {"feed": ("search", "retrieve", "upload"), "consult": ("status", "search", "retrieve")}
NOT_SENT = "nothing found to retrieve (request not sent)"


@dataclasses.dataclass(frozen=True)
class Professional:
    practitioner: Practitioner
    identity: ClientIdentity
    signer: FileSigner


def new_training_env(root: Path) -> TrainingEnv:
    """A training environment and its test PKI under ``root`` (the benches' setup)."""
    env = TrainingEnv(root / "training", port=0)
    env.root.mkdir()
    init_pki(env.pki.root)
    return env


def make_professionals(env: TrainingEnv, directory: Path, count: int) -> list[Professional]:
    pros = []
    for i in range(count):
        national_id = f"8997009{i:05d}"
        family, given = f"CHARGE{i:02d}", "TEST"
        identity = make_identity(
            env.pki, directory, national_id, family=family, given=given, structure_id=STRUCTURE_ID
        )
        signer = make_signer(env.pki, Author(national_id, family, given))
        practitioner = Practitioner(
            national_id,
            family,
            given,
            "Médecin",
            profession_code="10",
            structure_id=STRUCTURE_ID,
            structure_name=STRUCTURE_NAME,
        )
        pros.append(Professional(practitioner, identity, signer))
    return pros


def prepare_database(url: str, pros: list[Professional]) -> None:
    """Demo data, and every professional authorised on the three active adult records."""
    patients = {p.key: p for p in demo_patients()}
    with Store(url) as store:
        seed_demo(store)
        with store.session() as session:
            for key in PATIENT_KEYS:
                ins = patients[key].ins
                patient = store.find_patient(session, ins.value, ins.oid)
                assert patient is not None
                for pro in pros:
                    store.set_authorization(
                        session, patient, pro.practitioner.national_id, AuthorizationStatus.VALIDE
                    )


def _host_process(root: str, url: str, conn: multiprocessing.connection.Connection) -> None:
    from dmp_sandbox.server import run_in_thread

    with run_in_thread(TrainingEnv(Path(root), port=0), url) as host:
        conn.send(host.url)
        conn.recv()  # stop


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_HOST_PIDS: list[int] = []  # the running host's process (its workers are its children)
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> tuple[dict[int, int], dict[int, float], dict[int, str]]:
    """Every process of this machine: its parent, its CPU seconds so far, its name (Linux)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                head, tail = stat.read().rsplit(")", 1)
        except (OSError, ValueError):
            continue
        fields = tail.split()
        pid = int(entry)
        names[pid] = head.split("(", 1)[1]
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return parents, times, names


def _cpu_of_database() -> float:
    """CPU seconds used so far by the PostgreSQL server processes of this machine."""
    _, times, names = _processes()
    return sum(seconds for pid, seconds in times.items() if names[pid].startswith("postgres"))


def _cpu_of_tree(root: int) -> float:
    """CPU seconds (user + system) used so far by ``root`` and its live descendants (Linux)."""
    parents, times, _ = _processes()
    total = 0.0
    for pid, seconds in times.items():
        ancestor = pid
        while ancestor not in (root, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == root:
            total += seconds
    return total


def _connections_per_worker(port: int) -> list[int] | None:
    """How many established connections each host process holds on ``port`` (``ss``).

    Where a professional's connection lands decides which worker serves all of his
    requests: a 29 / 21 split made one worker's professionals wait longer and set
    the p99. The workers now take turns (dmp_sandbox.balance): 25 / 25 expected.
    None when ``ss`` (iproute2) is not there or shows no owner.
    """
    try:
        out = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    counts: dict[str, int] = {}
    for pid in re.findall(r"pid=(\d+)", out):
        counts[pid] = counts.get(pid, 0) + 1
    return sorted(counts.values(), reverse=True) or None


class _Split:
    """:func:`_connections_per_worker`, read once a little after the start (a timer)."""

    def __init__(self, port: int, after: float) -> None:
        self.counts: list[int] | None = None
        self._timer = threading.Timer(after, self._read, args=(port,))
        self._timer.daemon = True

    def _read(self, port: int) -> None:
        self.counts = _connections_per_worker(port)

    def start(self) -> _Split:
        self._timer.start()
        return self

    def cancel(self) -> None:
        self._timer.cancel()


def _sample_split(host_url: str, workers: int) -> _Split:
    """With several workers, read how the professionals' connections fell (2 s in)."""
    split = _Split(int(host_url.rsplit(":", 1)[1].rstrip("/")), after=2.0)
    return split.start() if workers > 1 else split


@contextmanager
def workers_process(env: TrainingEnv, url: str, workers: int) -> Iterator[str]:
    """``dmp-sandbox serve --workers N``: gunicorn's master and N aiohttp workers."""
    from dmp_sandbox.server import wait_ready

    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "dmp-sandbox"),
        "serve",
        "--dir",
        str(env.root),
        "--db",
        url,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_ready("127.0.0.1", port, 60):
            raise RuntimeError("the training host did not start")
        time.sleep(1.0 + 0.5 * workers)  # every worker booted (the master listens first)
        _HOST_PIDS[:] = [process.pid]
        yield f"https://localhost:{port}"
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def host_process(env: TrainingEnv, url: str, workers: int = 0) -> Iterator[str]:
    """The host in its own process: in-process aiohttp (``workers=0``) or gunicorn workers."""
    if workers:
        with workers_process(env, url, workers) as host_url:
            yield host_url
        return
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_host_process, args=(str(env.root), url, child), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the training host did not start")
        _HOST_PIDS[:] = [process.pid]
        yield parent.recv()
    finally:
        parent.send("stop")
        process.join(30)


def freeze_setup_heap() -> None:
    """The generator's setup (PKI, clients, schemas) kept out of its collector's way.

    Fifty professionals share one interpreter here, where in a practice each has
    his own: a full collection walking the setup's objects stalls all of them
    at once (up to 115 ms measured), a pause no real client causes to others.
    """
    gc.collect()
    gc.freeze()


@dataclasses.dataclass
class Sample:
    operation: str
    seconds: float
    error: str | None = None
    first: bool = False  # the professional's first request (it opens the connection)


def professional_run(
    pro: Professional,
    env: TrainingEnv,
    host_url: str,
    index: int,
    iterations: int,
    barrier: _Start,
    samples: list[Sample],
    mix: str = "feed",
    think: float = 0.0,
) -> None:
    settings = dataclasses.replace(env.client_settings(), host_url=host_url)
    http = httpx.Client(verify=client_context(env.pki.trust_roots, pro.identity), timeout=120)
    patients = {p.key: p for p in demo_patients()}
    mine: list[Sample] = []

    def timed(operation: str, fn: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        try:
            result = fn(*args)
        except Exception as exc:
            mine.append(Sample(operation, time.perf_counter() - start, repr(exc)))
            return None
        mine.append(Sample(operation, time.perf_counter() - start))
        return result

    pause = random.Random(index)  # noqa: S311 - think times, the same at every run

    with DmpClient(http, settings, pro.practitioner) as dmp:
        barrier.wait()
        if think > 0:
            time.sleep(pause.uniform(0, think))  # doctors do not start together
        for round_ in range(iterations):
            if think > 0 and round_ > 0:
                time.sleep(pause.expovariate(1 / think))  # the next patient
            demo = patients[PATIENT_KEYS[(index + round_) % len(PATIENT_KEYS)]]
            if mix == "consult":  # a consultation: TD0.2, the list, one document
                timed("status", dmp.test_existence, demo.ins)
            entries = timed("search", dmp.find_documents, DocumentQuery(demo.ins))
            if entries:
                timed("retrieve", dmp.retrieve_document, entries[(index + round_) % len(entries)])
            else:
                mine.append(Sample("retrieve", 0.0, NOT_SENT))
            if mix == "feed":
                timed("upload", upload, dmp, pro, demo.ins, round_)
    if mine:
        mine[0].first = True  # it opened the connection (TLS handshake)
    samples.extend(mine)


def upload(dmp: DmpClient, pro: Professional, ins: object, round_: int) -> str:
    now = dt.datetime.now(dt.UTC)
    req = UploadRequest(
        patient=ins,  # type: ignore[arg-type]
        source=f"Note de charge {round_}\n\nExamen clinique sans particularité.".encode(),
        filename="note.txt",
        media_type="text/plain",
        type_code=doctypes.type_code("11488-4"),
        service_date=now.date(),
        title=f"Note de charge {round_}",
        masked=False,
        invisible_patient=False,
        invisible_legal_reps=False,
        identity=patient_identity(ins),  # type: ignore[arg-type]
    )
    provider = build.author_provider(pro.practitioner, dmp.settings)
    built = build.build_document(req, provider, unique_id=new_uid(), now=now)
    submission = build.build_submission(
        req,
        built,
        author=dmp.author_values(),
        structure=build.structure_info(provider),
        submission_unique_id=new_uid(),
        signature_unique_id=new_uid(),
        source_id=dmp.lps_oid,
        submission_time=now,
    )
    return dmp.upload_document(submission, pro.signer)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


def count_traces(url: str, after_id: int) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            count = connection.scalar(select(func.count(Trace.id)).where(Trace.id > after_id)) or 0
            last = connection.scalar(select(func.coalesce(func.max(Trace.id), 0))) or 0
    finally:
        engine.dispose()
    return count, last


class _Start:
    """Where a professional waits before his first request: all ready, then one signal."""

    def __init__(self, ready: threading.Barrier, go: threading.Event) -> None:
        self._ready, self._go = ready, go

    def wait(self) -> None:
        self._ready.wait()
        self._go.wait()


def _start_professionals(
    pros: list[Professional],
    indexes: list[int],
    env: TrainingEnv,
    host_url: str,
    iterations: int,
    start: _Start,
    samples: list[Sample],
    mix: str,
    think: float,
) -> list[threading.Thread]:
    threads = [
        threading.Thread(
            target=professional_run,
            args=(pros[i], env, host_url, i, iterations, start, samples, mix, think),
            name=f"pro-{i}",
        )
        for i in indexes
    ]
    for thread in threads:
        thread.start()
    return threads


def _generator_process(
    pros: list[Professional],
    indexes: list[int],
    env: TrainingEnv,
    host_url: str,
    iterations: int,
    everyone: Any,
    results: Any,
    mix: str,
    think: float,
) -> None:
    """One of the load generator's processes: its professionals, one thread each."""
    go = threading.Event()
    ready = threading.Barrier(len(indexes) + 1)
    samples: list[Sample] = []
    threads = _start_professionals(
        pros, indexes, env, host_url, iterations, _Start(ready, go), samples, mix, think
    )
    ready.wait()
    freeze_setup_heap()
    everyone.wait()
    cpu = time.process_time()
    go.set()
    for thread in threads:
        thread.join()
    results.put((time.process_time() - cpu, samples))


def _generator_shape(processes: int, professionals: int) -> str:
    if processes == 1:
        return f"this process, {professionals} threads"
    return f"{processes} processes, {professionals} threads in all"


def run_one(
    label: str,
    url: str,
    env: TrainingEnv,
    pros: list[Professional],
    iterations: int,
    *,
    mix: str = "feed",
    workers: int = 0,
    prepare: bool = True,
    think: float = 0.0,
    processes: int = 1,
) -> dict[str, object]:
    if prepare:
        prepare_database(url, pros)
    _, before = count_traces(url, 0)
    samples: list[Sample] = []
    operations = OPERATIONS[mix]
    with host_process(env, url, workers) as host_url:
        host_pid = _HOST_PIDS[0]
        groups = [list(range(len(pros)))[k::processes] for k in range(processes)]
        if processes == 1:
            go = threading.Event()
            ready = threading.Barrier(len(pros) + 1)
            threads = _start_professionals(
                pros, groups[0], env, host_url, iterations, _Start(ready, go), samples, mix, think
            )
            ready.wait()
            freeze_setup_heap()
            start = time.perf_counter()
            client_cpu, host_cpu = time.process_time(), _cpu_of_tree(host_pid)
            database_cpu = _cpu_of_database()
            split = _sample_split(host_url, workers)
            go.set()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - start
            client_cpu = time.process_time() - client_cpu
        else:
            ctx = multiprocessing.get_context("fork")  # the professionals' keys stay in memory
            everyone = ctx.Barrier(processes + 1)
            results = ctx.Queue()
            children = [
                ctx.Process(
                    target=_generator_process,
                    args=(pros, group, env, host_url, iterations, everyone, results, mix, think),
                    daemon=True,
                )
                for group in groups
            ]
            for child in children:
                child.start()
            everyone.wait()
            split = _sample_split(host_url, workers)
            start = time.perf_counter()
            host_cpu = _cpu_of_tree(host_pid)
            database_cpu = _cpu_of_database()
            client_cpu = 0.0
            for _ in children:
                cpu, theirs = results.get(timeout=3600)
                client_cpu += cpu
                samples.extend(theirs)
            elapsed = time.perf_counter() - start
            for child in children:
                child.join(30)
        host_cpu = _cpu_of_tree(host_pid) - host_cpu
        database_cpu = _cpu_of_database() - database_cpu
        split.cancel()
    added, _ = count_traces(url, before)
    failures = [s for s in samples if s.error is not None]
    sent = sum(1 for s in samples if s.error != NOT_SENT)
    model = f"think time {think:g} s" if think > 0 else "closed loop"
    print(
        f"\n== {label}: {len(pros)} professionals x {iterations} rounds, {model}, "
        f"{elapsed:.1f} s, load average {os.getloadavg()[0]:.2f}"
    )
    heads = ("requests", "req/s", "p50 ms", "p99 ms", "max ms")
    print(f"{'operation':<10} " + " ".join(f"{h:>8}" for h in heads))
    all_ok = [s.seconds for s in samples if s.error is None]
    report: dict[str, object] = {
        "elapsed": elapsed,
        "requests": len(samples),
        "throughput": len(all_ok) / elapsed,
        "p50": percentile(all_ok, 0.50),
        "p99": percentile(all_ok, 0.99),
    }
    for op in operations:
        times = [s.seconds for s in samples if s.operation == op and s.error is None]
        print(
            f"{op:<10} {len(times):>8} {len(times) / elapsed:>7.1f} "
            f"{percentile(times, 0.50) * 1000:>8.0f} {percentile(times, 0.99) * 1000:>8.0f} "
            f"{max(times, default=0) * 1000:>8.0f}"
        )
    all_times = [s.seconds for s in samples if s.error is None]
    print(
        f"{'all':<10} {len(all_times):>8} {len(all_times) / elapsed:>7.1f} "
        f"{percentile(all_times, 0.50) * 1000:>8.0f} {percentile(all_times, 0.99) * 1000:>8.0f} "
        f"{max(all_times, default=0) * 1000:>8.0f}"
    )
    later = [s.seconds for s in samples if s.error is None and not s.first]
    firsts = [s.seconds for s in samples if s.error is None and s.first]
    print(
        f"  the {len(firsts)} first requests (each opens its connection: TLS handshake) "
        f"p50 {percentile(firsts, 0.50) * 1000:.0f} ms, max {max(firsts, default=0) * 1000:.0f} ms;"
        f" the {len(later)} others p50 {percentile(later, 0.50) * 1000:.0f} ms, "
        f"p99 {percentile(later, 0.99) * 1000:.0f} ms"
    )
    report["p99_later"] = percentile(later, 0.99)
    if split.counts:
        print(
            "  connections held by each worker (ss, 2 s into the run): "
            + " / ".join(str(n) for n in split.counts)
        )
    print(
        f"CPU during the run: load generator ({_generator_shape(processes, len(pros))}) "
        f"{client_cpu:.1f} s = {client_cpu / elapsed:.2f} core, "
        f"{client_cpu / max(sent, 1) * 1000:.1f} ms a request; host {host_cpu:.1f} s = "
        f"{host_cpu / elapsed:.2f} core, {host_cpu / max(sent, 1) * 1000:.1f} ms a request; "
        f"database server {database_cpu:.1f} s = {database_cpu / elapsed:.2f} core, "
        f"{database_cpu / max(sent, 1) * 1000:.1f} ms a request"
    )
    whole = (client_cpu + host_cpu + database_cpu) / max(sent, 1)
    cores = os.cpu_count() or 1
    bound = (
        f", so {len(pros)} requests always in flight wait at least "
        f"{len(pros) * whole / cores * 1000:.0f} ms on average (Little's law)"
        if think == 0
        else ""
    )
    print(
        f"  all three: {whole * 1000:.1f} ms of CPU a request; on {cores} cores at most "
        f"{cores / whole:.0f} req/s{bound}"
    )
    report["cpu_per_request"] = whole
    report["client_cpu_per_request"] = client_cpu / max(sent, 1)
    report["host_cpu_per_request"] = host_cpu / max(sent, 1)
    print(f"failed requests: {len(failures)}; trace rows added: {added} for {sent} requests")
    for failure in failures[:5]:
        print(f"  {failure.operation}: {failure.error}")
    assert not failures, f"{len(failures)} requests failed"
    assert added == sent == len(pros) * iterations * len(operations), (added, sent)
    return report


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"dmp_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def postgres_server(given: str | None) -> Iterator[str]:
    """``given``, or a throwaway server started like the test command does."""
    if given:
        yield given
        return
    script = (
        f'source "{ROOT}/scripts/bootstrap.sh"; start_test_postgres >&2; trap - EXIT; '
        'echo "$DMP_TEST_POSTGRES_URL"; echo "$DMP_TEST_PG_DIR"'
    )
    out = subprocess.run(
        ["bash", "-c", script], check=True, capture_output=True, text=True
    ).stdout.split()
    url, directory = out[-2], out[-1]
    try:
        yield url
    finally:
        ctl = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1])
        command = [str(ctl), "-D", f"{directory}/data", "-m", "immediate", "-w", "stop"]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=False, capture_output=True)
        subprocess.run(["rm", "-rf", directory], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--professionals", type=int, default=50)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--postgres-url", default=os.environ.get("DMP_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--mix",
        choices=("feed", "consult"),
        default="feed",
        help="feed: search, retrieve, upload; consult: status (TD0.2), list (ITI-18), get (ITI-43)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="*",
        default=[],
        help="PostgreSQL: run the host as `dmp-sandbox serve --workers N` for each N given "
        "(gunicorn), after one professional alone (the reference)",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean think time in seconds between a professional's consultations "
        "(exponential; 0: closed loop)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="load generator processes the professionals are spread over (each of his own "
        "thread); in a practice each professional has his own computer",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dmp-bench-load-") as tmp:
        root = Path(tmp)
        env = new_training_env(root)
        started = time.perf_counter()
        pros = make_professionals(env, root / "identities", args.professionals)
        print(
            f"{len(pros)} professionals (software keys from the test PKI) in "
            f"{time.perf_counter() - started:.1f} s; host: {os.cpu_count()} CPU; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        if args.workers:
            with (
                postgres_server(args.postgres_url) as server,
                postgres_database(server) as url,
            ):
                prepare_database(url, pros)
                alone = run_one(
                    "one professional alone, 1 worker",
                    url,
                    env,
                    pros[:1],
                    args.iterations * 5,
                    mix=args.mix,
                    workers=1,
                    prepare=False,
                )
                results = []
                for workers in args.workers:
                    report = run_one(
                        f"PostgreSQL, {workers} worker(s)",
                        url,
                        env,
                        pros,
                        args.iterations,
                        mix=args.mix,
                        workers=workers,
                        prepare=False,
                        think=args.think,
                        processes=args.processes,
                    )
                    results.append((workers, report))
            model = f"think time {args.think:g} s" if args.think > 0 else "closed loop"
            print(
                f"\n{args.mix}, {len(pros)} professionals x {args.iterations} rounds, {model}, "
                "PostgreSQL:"
            )
            print(
                f"  one professional alone: p50 {float(alone['p50']) * 1000:.0f} ms, "  # type: ignore[arg-type]
                f"p99 {float(alone['p99']) * 1000:.0f} ms"  # type: ignore[arg-type]
            )
            for workers, report in results:
                print(
                    f"  {workers} worker(s): {float(report['throughput']):.1f} req/s, "  # type: ignore[arg-type]
                    f"p50 {float(report['p50']) * 1000:.0f} ms, "  # type: ignore[arg-type]
                    f"p99 {float(report['p99']) * 1000:.0f} ms"  # type: ignore[arg-type]
                )
            return 0
        if args.db in ("sqlite", "both"):
            run_one(
                "SQLite",
                f"sqlite:///{root / 'host.db'}",
                env,
                pros,
                args.iterations,
                mix=args.mix,
                think=args.think,
            )
        if args.db in ("postgresql", "both"):
            with (
                postgres_server(args.postgres_url) as server,
                postgres_database(server) as url,
            ):
                run_one(
                    "PostgreSQL", url, env, pros, args.iterations, mix=args.mix, think=args.think
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
