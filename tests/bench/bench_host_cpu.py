"""The training host's CPU for one request of each kind, measured in process.

Run on demand (not collected by pytest)::

    .venv/bin/python tests/bench/bench_host_cpu.py [--db postgresql|sqlite]
        [--calls 500] [--rounds 5] [--cold] [--postgres-url URL]

The closed-loop load bench (``bench_load.py``) reads the host's CPU a request
from ``/proc`` while fifty professionals, the database and the host share the
two cores: a figure that drifts with the machine. This one isolates the host's
own work. A real client (:class:`dmp_desktop.dmp.client.DmpClient`, one
professional of the test PKI, the demo patients) sends a consultation (TD0.2,
TD3.1, TD3.2) to a host in this process; each request the host received is
kept, then given again ``--calls`` times to the host's request handler
(``DmpHost.handle``) followed by its trace row (``server._record``), as the
server does for each request, timed with the process's CPU clock
(``time.process_time``). The VIHF replay memory is left out of the loop (the
same assertion is given again on purpose) and measured on its own: one insert
a request. ``--cold`` empties the host's caches of document rows and entries
before each call: a record whose documents were never listed, or larger than
the caches. Minimum and median over ``--rounds`` rounds.

With ``--db postgresql`` (the default), ``--postgres-url`` or
``DMP_TEST_POSTGRES_URL`` names the server (an administrator URL; the bench
makes and drops its own database), else one is started as the test command
does (``scripts/bootstrap.sh``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dmp_sandbox import host as host_module  # noqa: E402
from dmp_sandbox import replay, server, store, xds  # noqa: E402
from dmp_sandbox.training import TrainingEnv  # noqa: E402
from tests.bench import bench_load  # noqa: E402
from tests.bench.support import load_average  # noqa: E402

Captured = tuple[Any, str, str | None, bytes, Any]  # host, service, content type, body, identity


class _SameAssertionAgain(replay.AssertionGuard):
    """The replay memory's checks without remembering: one request is given many times."""

    def _remember(self, assertion_id: str, until: dt.datetime, now: dt.datetime) -> None:
        return None


def _empty_caches() -> None:
    xds._SERIALIZED.clear()
    store.SNAPSHOTS.clear()


@contextmanager
def _database(kind: str, given: str | None, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'host.db'}"
        return
    with bench_load.postgres_server(given) as url, bench_load.postgres_database(url) as db:
        yield db


def capture_consultation(
    env: TrainingEnv, the_store: store.Store, pro: bench_load.Professional
) -> dict[str, Captured]:
    """One consultation by a real client; the first request of each transaction, as received."""
    captured: dict[str, Captured] = {}
    handle = host_module.DmpHost.handle

    def keep(
        self: Any, service: str, content_type: str | None, body: bytes, identity: Any, trace: Any
    ) -> Any:
        answer = handle(self, service, content_type, body, identity, trace)
        if answer.status == 200 and trace.transaction:
            captured.setdefault(trace.transaction, (self, service, content_type, body, identity))
        return answer

    host_module.DmpHost.handle = keep  # type: ignore[method-assign]
    try:
        with server.run_in_thread(env, store=the_store) as running:
            start = bench_load._Start(threading.Barrier(1), threading.Event())
            start._go.set()
            samples: list[bench_load.Sample] = []
            bench_load.professional_run(pro, env, running.url, 0, 1, start, samples, "consult")
    finally:
        host_module.DmpHost.handle = handle  # type: ignore[method-assign]
    failed = [s for s in samples if s.error]
    if failed or set(captured) != {"TD0.2", "TD3.1", "TD3.2"}:
        raise RuntimeError(f"consultation incomplete: {sorted(captured)} {failed}")
    return captured


def _handled(
    transaction: str, request: Captured, the_store: store.Store, *, cold: bool
) -> Callable[[], None]:
    """One request handled and traced as the server does (the caches emptied first if cold)."""
    host, service, media, body, identity = request

    def one() -> None:
        if cold:
            _empty_caches()
        trace = server.TraceContext(
            remote_address="127.0.0.1", professional_national_id=identity.national_id
        )
        answer = host.handle(service, media, body, identity, trace)
        if answer.status != 200:
            raise RuntimeError(f"{transaction}: HTTP {answer.status}")
        server._record(the_store, trace, identity)

    return one


def cpu_per_call(fn: Callable[[], None], calls: int, rounds: int) -> list[float]:
    per_call = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            fn()
        per_call.append((time.process_time() - started) / calls)
    return per_call


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get("DMP_TEST_POSTGRES_URL"))
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--cold", action="store_true", help="empty the host's caches before each call"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dmp-bench-host-cpu-") as tmp:
        root = Path(tmp)
        env = bench_load.new_training_env(root)
        pro = bench_load.make_professionals(env, root / "identities", 1)[0]
        with _database(args.db, args.postgres_url, root) as url:
            bench_load.prepare_database(url, [pro])
            the_store = store.Store(url, migrate=False)
            captured = capture_consultation(env, the_store, pro)
            guard = replay.GUARD
            replay.GUARD = _SameAssertionAgain()
            gc.collect()
            gc.freeze()
            print(
                f"host CPU a request, in process, {args.db}, {args.calls} calls x {args.rounds} "
                f"rounds{', caches emptied before each call' if args.cold else ''}; "
                f"load average {load_average()}"
            )
            medians = []
            try:
                for transaction, request in sorted(captured.items()):
                    one = _handled(transaction, request, the_store, cold=args.cold)
                    times = cpu_per_call(one, args.calls, args.rounds)
                    medians.append(statistics.median(times))
                    print(
                        f"  {transaction:<6} handle + trace row: min {min(times) * 1e6:6.0f} µs, "
                        f"median {statistics.median(times) * 1e6:6.0f} µs"
                    )
                shared = replay.SharedAssertionGuard(the_store)
                now = dt.datetime.now(dt.UTC)
                counter = iter(range(10**9))

                def remember() -> None:
                    shared._remember(f"bench-{next(counter)}", now + dt.timedelta(minutes=5), now)

                times = cpu_per_call(remember, args.calls, args.rounds)
                print(
                    f"  replay memory insert: min {min(times) * 1e6:6.0f} µs, "
                    f"median {statistics.median(times) * 1e6:6.0f} µs"
                )
                print(
                    "  a consultation's request on average (the three, and the insert): "
                    f"{(statistics.mean(medians) + statistics.median(times)) * 1e6:.0f} µs"
                )
            finally:
                replay.GUARD = guard
                the_store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
