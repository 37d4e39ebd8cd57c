"""The training host in several worker processes: gunicorn's master, aiohttp's gunicorn worker.

One Python process uses one core for the host's own work (XML, signatures,
SQL). With PostgreSQL the host can run several processes: ``dmp-sandbox serve
--workers N`` hands the listening socket to gunicorn (the maintained pre-fork
process manager: it starts, watches and restarts the workers, and stops them
gracefully on SIGTERM) with aiohttp's own gunicorn worker class, so each
worker runs the very application of :func:`dmp_sandbox.server.create_app` on
its own event loop, with its own database connections.

The host must know each caller's TLS client certificate (it identifies the
professional from it): aiohttp's server keeps the ``ssl_object`` of each
connection, which the application reads (``server._peer_identity``). The
worker's TLS context is the host's own (:func:`server.server_ssl_context`:
TLS 1.2 minimum, ECDHE with AEAD ciphers, a client certificate required and
verified against the test IGC-Santé CAs), not gunicorn's generic one.

SQLite stays the embedded default in a single process (one writer at a time):
several workers need PostgreSQL. The schema is brought to its newest revision
once, by the master, before any worker starts.
"""

from __future__ import annotations

import logging
import os
import ssl
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.worker import GunicornWebWorker
from gunicorn.app.base import BaseApplication

from dmp_sandbox import balance, replay
from dmp_sandbox.pki import PkiPaths

log = logging.getLogger("dmp_sandbox.workers")

# What the master tells its workers (they are forked: the environment is theirs too).
ENV_DB = "DMP_SANDBOX_DB_URL"
ENV_PKI = "DMP_SANDBOX_PKI_DIR"


class HostWorker(GunicornWebWorker):
    """aiohttp's gunicorn worker with the host's TLS context (see the module docstring).

    Its listening socket is served by :func:`host_runner`'s balanced site
    (:mod:`dmp_sandbox.balance`), not by the site aiohttp's worker would make.
    """

    listeners: list[Any]

    @staticmethod
    def _create_ssl_context(cfg: Any) -> ssl.SSLContext:
        from dmp_sandbox.server import server_ssl_context

        return server_ssl_context(cfg.certfile, cfg.keyfile, cfg.ca_certs)

    def run(self) -> None:
        global _WORKER
        # aiohttp's worker makes a site for each socket it is given: none, the
        # runner's balanced site serves them.
        self.listeners = list(self.sockets)
        self.sockets: list[Any] = []
        _WORKER = self
        super().run()


_WORKER: HostWorker | None = None  # this process's worker (gunicorn forks one per process)


# Threads each worker gives the host's work (database, XML). One: a worker's requests
# queue in order for its thread and the processes share the cores, instead of
# several threads of one process taking the interpreter lock from each other and
# from the event loop. Measured with 50 professionals in a closed loop on two
# workers (tests/bench/bench_load.py, four interleaved rounds): p99 409 ms with
# one thread against 512 ms with four, for the same throughput.
WORKER_THREADS = 1


async def host_app() -> web.Application:
    """One worker's application: its own store (database engine) over the shared database."""
    from dmp_sandbox.server import create_app, freeze_startup_heap
    from dmp_sandbox.store import Store

    store = Store(os.environ[ENV_DB], migrate=False)
    # A replayed VIHF may reach another worker than the first time: ids in the database.
    replay.GUARD = replay.SharedAssertionGuard(store)
    app = create_app(store, workers=WORKER_THREADS, pki=PkiPaths(Path(os.environ[ENV_PKI])))

    async def close_store(_app: web.Application) -> None:
        store.close()

    app.on_cleanup.append(close_store)

    async def freeze_heap(_app: web.Application) -> None:
        freeze_startup_heap()

    app.on_startup.append(freeze_heap)
    return app


async def host_runner() -> web.AppRunner:
    """What gunicorn's aiohttp worker runs: :func:`host_app` behind a balanced site.

    The runner is made with the worker's settings, as aiohttp's worker makes its
    own (keep-alive, access log, shutdown time); on setup it starts a
    :class:`balance.BalancedSite` on each of the worker's sockets.
    """
    worker = _WORKER
    shares = balance.SHARES
    if worker is None or shares is None:
        raise RuntimeError("host_runner runs in a HostWorker started by serve_workers")
    cfg = worker.cfg
    app = await host_app()
    slot = shares.claim()
    if slot is None:  # more workers than rows: should not happen (twice the workers)
        raise RuntimeError("no row left in the workers' shares")
    ctx = worker._create_ssl_context(cfg) if cfg.is_ssl else None
    return _BalancedRunner(
        app,
        listeners=worker.listeners,
        ssl_context=ctx,
        shares=shares,
        slot=slot,
        logger=worker.log,
        keepalive_timeout=cfg.keepalive,
        access_log=worker.log.access_log if cfg.accesslog else None,
        access_log_format=worker._get_valid_log_format(cfg.access_log_format),
        shutdown_timeout=cfg.graceful_timeout / 100 * 95,
    )


class _BalancedRunner(web.AppRunner):
    def __init__(
        self,
        app: web.Application,
        *,
        listeners: list[Any],
        ssl_context: ssl.SSLContext | None,
        shares: balance.Shares,
        slot: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self._listeners = listeners
        self._ssl = ssl_context
        self._shares = shares
        self._slot = slot

    async def setup(self) -> None:
        await super().setup()
        for listener in self._listeners:
            site = balance.BalancedSite(
                self, listener.sock, ssl_context=self._ssl, shares=self._shares, slot=self._slot
            )
            await site.start()

    async def cleanup(self) -> None:
        try:
            await super().cleanup()
        finally:
            self._shares.release(self._slot)


class HostApplication(BaseApplication):
    """gunicorn, configured from code (no configuration file)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return host_runner


def serve_workers(
    db_url: str,
    pki: PkiPaths,
    host: str,
    port: int,
    workers: int,
    *,
    access_log: bool = False,
) -> None:
    """Run the host in ``workers`` processes until SIGINT or SIGTERM (PostgreSQL only)."""
    if db_url.startswith("sqlite"):
        raise ValueError("several workers need PostgreSQL (SQLite: one process)")
    from dmp_sandbox.store import Store

    Store(db_url).close()  # migrations, once, before the workers start
    os.environ[ENV_DB] = db_url
    os.environ[ENV_PKI] = str(pki.root)
    # Made by the master, inherited by every worker it forks (a restarted one too).
    balance.SHARES = balance.Shares(slots=2 * workers)
    try:
        HostApplication(gunicorn_options(pki, host, port, workers, access_log=access_log)).run()
    except SystemExit as stop:  # gunicorn's master exits once its workers are stopped
        if stop.code not in (0, None):
            raise


def gunicorn_options(
    pki: PkiPaths, host: str, port: int, workers: int, *, access_log: bool = False
) -> dict[str, Any]:
    """gunicorn's settings for :func:`serve_workers`."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": f"{HostWorker.__module__}.{HostWorker.__qualname__}",
        "certfile": str(pki.host_cert),
        "keyfile": str(pki.host_key),
        "ca_certs": str(pki.client_cas),
        "cert_reqs": ssl.CERT_REQUIRED,
        "graceful_timeout": 10,
        "timeout": 120,
        "keepalive": 75,
        # One listening socket shared by the workers, each accepting only while it
        # holds no more connections than the others (dmp_sandbox.balance). Not
        # SO_REUSEPORT: the kernel would spread the connections at random (29 / 21,
        # 33 / 17 of 50 measured), and the busier worker sets the p99.
        "reuse_port": False,
        "accesslog": "-" if access_log else None,
        "proc_name": "dmp-sandbox",
        "control_socket_disable": True,  # no control socket in the home directory
    }


__all__ = [
    "ENV_DB",
    "ENV_PKI",
    "HostApplication",
    "HostWorker",
    "gunicorn_options",
    "host_app",
    "host_runner",
    "serve_workers",
]
